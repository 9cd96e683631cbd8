//! `wasi:random/insecure`: same source as `wasi:random/random` (the spec allows a stronger
//! source than asked for).

use crate::abi;
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

fn get_insecure_random_bytes(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (len, retptr) = (abi::arg_u64(args, 0)?, abi::arg_u32(args, 1)?);
    super::random_bytes(host, memory, len, retptr)
}

fn get_insecure_random_u64(
    host: &mut Host,
    _: &mut dyn GuestMemory,
    _: Args<'_>,
) -> Result<i64, Trap> {
    Ok(super::random_u64(host) as i64)
}

/// `wasi:random/insecure`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:random/insecure",
    funcs: &[
        FuncDef::new(
            "get-insecure-random-bytes",
            &[I64, I32],
            &[],
            get_insecure_random_bytes,
        ),
        FuncDef::new(
            "get-insecure-random-u64",
            &[],
            &[I64],
            get_insecure_random_u64,
        ),
    ],
};

#[cfg(test)]
mod tests {
    use crate::abi;
    use crate::testing::{call, host_with, FakePlatform};

    #[test]
    fn insecure_bytes_have_the_asked_length() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let i = "wasi:random/insecure@0.2.0";
        call(
            &mut host,
            &mut memory,
            i,
            "get-insecure-random-bytes",
            &[0, 0x10],
        )
        .unwrap();
        let ret = abi::load_record(&memory, 0x10, 8, 4, "ret").unwrap();
        assert_eq!(ret.u32(4).unwrap(), 0);
        call(
            &mut host,
            &mut memory,
            i,
            "get-insecure-random-bytes",
            &[33, 0x10],
        )
        .unwrap();
        let ret = abi::load_record(&memory, 0x10, 8, 4, "ret").unwrap();
        assert_eq!(ret.u32(4).unwrap(), 33);
        let a = call(&mut host, &mut memory, i, "get-insecure-random-u64", &[]).unwrap();
        assert_ne!(
            a,
            call(&mut host, &mut memory, i, "get-insecure-random-u64", &[]).unwrap()
        );
    }
}
