//! `wasi:io/error`: `to-debug-string` and the drop of the `error` resource a failed stream
//! operation hands out (its entry, `IoError`, is in `io/stream.rs`).

use crate::abi::{self, Lowered};
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::io::stream::IoError;
use crate::{GuestMemory, Host, Trap};

fn to_debug_string(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (handle, retptr) = (abi::arg_handle(args, 0)?, abi::arg_u32(args, 1)?);
    abi::check_align(retptr, 4, "retptr")?;
    let text = host.table.get::<IoError>(handle)?.0.clone();
    let string = abi::lower_string(memory, &text, "to-debug-string result")?;
    Lowered::new(8, 4)
        .ptr_len(0, string)
        .store(memory, retptr, "retptr")?;
    Ok(0)
}

fn drop_error(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    host.table.delete::<IoError>(abi::arg_handle(args, 0)?)?;
    Ok(0)
}

/// `wasi:io/error`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:io/error",
    funcs: &[
        FuncDef::new("[resource-drop]error", &[I32], &[], drop_error),
        FuncDef::new(
            "[method]error.to-debug-string",
            &[I32, I32],
            &[],
            to_debug_string,
        ),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, host_with, FakePlatform};

    const ERROR: &str = "wasi:io/error@0.2.0";

    #[test]
    fn debug_string_round_trips_and_drop_frees() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let handle = host
            .table
            .push(IoError("disk on fire: ünïcode".into()))
            .unwrap();
        call(
            &mut host,
            &mut memory,
            ERROR,
            "[method]error.to-debug-string",
            &[handle.into(), 0x40],
        )
        .unwrap();
        let ret = abi::load_record(&memory, 0x40, 8, 4, "ret").unwrap();
        let text =
            abi::lift_string(&memory, ret.u32(0).unwrap(), ret.u32(4).unwrap(), "s").unwrap();
        assert_eq!(text, "disk on fire: ünïcode");
        call(
            &mut host,
            &mut memory,
            ERROR,
            "[resource-drop]error",
            &[handle.into()],
        )
        .unwrap();
        let err = call(
            &mut host,
            &mut memory,
            ERROR,
            "[method]error.to-debug-string",
            &[handle.into(), 0x40],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("unknown handle {handle} (in wasi:io/error#[method]error.to-debug-string)")
        );
    }
}
