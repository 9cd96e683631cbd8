//! `wasi:cli/terminal-*`: a browser console is not a terminal, so every `get-terminal-*`
//! answers `none` (the spec's answer for "not a terminal") and no terminal resource is ever
//! handed out; dropping one therefore always traps as an unknown handle.

use crate::abi::{self, Lowered};
use crate::cli::console::{TerminalInput, TerminalOutput};
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

fn drop_terminal_input(
    host: &mut Host,
    _: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    host.table
        .delete::<TerminalInput>(abi::arg_handle(args, 0)?)?;
    Ok(0)
}

fn drop_terminal_output(
    host: &mut Host,
    _: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    host.table
        .delete::<TerminalOutput>(abi::arg_handle(args, 0)?)?;
    Ok(0)
}

/// `option<own<terminal-*>>` = none: tag 0 @0 (8 bytes, 4-aligned).
fn none(_: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    Lowered::new(8, 4).store(memory, abi::arg_u32(args, 0)?, "retptr")?;
    Ok(0)
}

/// `wasi:cli/terminal-input`.
pub(crate) const TERMINAL_INPUT: InterfaceDef = InterfaceDef {
    name: "wasi:cli/terminal-input",
    funcs: &[FuncDef::new(
        "[resource-drop]terminal-input",
        &[I32],
        &[],
        drop_terminal_input,
    )],
};

/// `wasi:cli/terminal-output`.
pub(crate) const TERMINAL_OUTPUT: InterfaceDef = InterfaceDef {
    name: "wasi:cli/terminal-output",
    funcs: &[FuncDef::new(
        "[resource-drop]terminal-output",
        &[I32],
        &[],
        drop_terminal_output,
    )],
};

/// `wasi:cli/terminal-stdin`.
pub(crate) const TERMINAL_STDIN: InterfaceDef = InterfaceDef {
    name: "wasi:cli/terminal-stdin",
    funcs: &[FuncDef::new("get-terminal-stdin", &[I32], &[], none)],
};

/// `wasi:cli/terminal-stdout`.
pub(crate) const TERMINAL_STDOUT: InterfaceDef = InterfaceDef {
    name: "wasi:cli/terminal-stdout",
    funcs: &[FuncDef::new("get-terminal-stdout", &[I32], &[], none)],
};

/// `wasi:cli/terminal-stderr`.
pub(crate) const TERMINAL_STDERR: InterfaceDef = InterfaceDef {
    name: "wasi:cli/terminal-stderr",
    funcs: &[FuncDef::new("get-terminal-stderr", &[I32], &[], none)],
};

#[cfg(test)]
mod tests {
    use crate::testing::{call, host_with, FakePlatform};

    #[test]
    fn not_a_terminal() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        for (i, name) in ["stdin", "stdout", "stderr"].iter().enumerate() {
            let retptr = 0x20 + 8 * i;
            memory.bytes[retptr] = 0xaa;
            let iface = format!("wasi:cli/terminal-{name}@0.2.0");
            call(
                &mut host,
                &mut memory,
                &iface,
                &format!("get-terminal-{name}"),
                &[retptr as i64],
            )
            .unwrap();
            assert_eq!(memory.bytes[retptr], 0, "none");
        }
        let stdout = call(
            &mut host,
            &mut memory,
            "wasi:cli/stdout@0.2.0",
            "get-stdout",
            &[],
        )
        .unwrap();
        let err = call(
            &mut host,
            &mut memory,
            "wasi:cli/terminal-output@0.2.0",
            "[resource-drop]terminal-output",
            &[stdout],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("is a OutputStream, not a TerminalOutput"),
            "{err}"
        );
    }
}
