//! `wasi:cli/exit`: ends the guest through a [`Trap::exit`] the embedder reports as the
//! process's exit code.

use crate::abi;
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

fn exit(_: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    // result<_, _> flattens to its discriminant: 0 ok → status 0, 1 err → status 1.
    let case = abi::arg_case(args, 0, 2, "exit status result<_, _>")?;
    Err(Trap::exit(case as i32))
}

fn exit_with_code(_: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    Err(Trap::exit(i32::from(abi::arg_u8(args, 0)?)))
}

/// `wasi:cli/exit` (`exit-with-code` is unstable in 0.2.x WIT but bindings import it).
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:cli/exit",
    funcs: &[
        FuncDef::new("exit", &[I32], &[], exit),
        FuncDef::new("exit-with-code", &[I32], &[], exit_with_code),
    ],
};

#[cfg(test)]
mod tests {
    use crate::testing::{call, host_with, FakePlatform};
    use crate::TrapKind;

    const EXIT: &str = "wasi:cli/exit@0.2.0";

    #[test]
    fn exit_codes() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let mut code = |name, arg| {
            call(&mut host, &mut memory, EXIT, name, &[arg])
                .unwrap_err()
                .kind
        };
        assert_eq!(code("exit", 0), TrapKind::Exit(0));
        assert_eq!(code("exit", 1), TrapKind::Exit(1));
        assert!(
            matches!(code("exit", 2), TrapKind::Abi(m) if m.contains("invalid discriminant 2"))
        );
        assert_eq!(code("exit-with-code", 42), TrapKind::Exit(42));
        assert_eq!(code("exit-with-code", 0x1ff), TrapKind::Exit(255));
    }
}
