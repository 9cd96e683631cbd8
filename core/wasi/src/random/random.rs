//! `wasi:random/random`: cryptographically secure random data.

use crate::abi;
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

fn get_random_bytes(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (len, retptr) = (abi::arg_u64(args, 0)?, abi::arg_u32(args, 1)?);
    super::random_bytes(host, memory, len, retptr)
}

fn get_random_u64(host: &mut Host, _: &mut dyn GuestMemory, _: Args<'_>) -> Result<i64, Trap> {
    Ok(super::random_u64(host) as i64)
}

/// `wasi:random/random`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:random/random",
    funcs: &[
        FuncDef::new("get-random-bytes", &[I64, I32], &[], get_random_bytes),
        FuncDef::new("get-random-u64", &[], &[I64], get_random_u64),
    ],
};

#[cfg(test)]
mod tests {
    use crate::abi;
    use crate::testing::{call, host_with, FakePlatform};

    const RANDOM: &str = "wasi:random/random@0.2.0";

    #[test]
    fn bytes_come_from_the_platform_and_land_in_a_realloc_block() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        call(
            &mut host,
            &mut memory,
            RANDOM,
            "get-random-bytes",
            &[100, 0x10],
        )
        .unwrap();
        let ret = abi::load_record(&memory, 0x10, 8, 4, "ret").unwrap();
        let (ptr, len) = (ret.u32(0).unwrap(), ret.u32(4).unwrap());
        assert_eq!(len, 100);
        let got = abi::lift_bytes(&memory, ptr, len, "b").unwrap();
        let mut expected = FakePlatform::new();
        let mut want = vec![0u8; 100];
        crate::Platform::random_bytes(&mut expected, &mut want);
        assert_eq!(got, want, "the same deterministic source, in order");
        let a = call(&mut host, &mut memory, RANDOM, "get-random-u64", &[]).unwrap();
        let b = call(&mut host, &mut memory, RANDOM, "get-random-u64", &[]).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn large_requests_are_chunked_and_impossible_ones_trap() {
        let fake = FakePlatform::new();
        let (mut host, _) = host_with(&fake);
        let mut memory = crate::VecMemory::new(1 << 19);
        call(
            &mut host,
            &mut memory,
            RANDOM,
            "get-random-bytes",
            &[150_000, 0x10],
        )
        .unwrap();
        let ret = abi::load_record(&memory, 0x10, 8, 4, "ret").unwrap();
        assert_eq!(ret.u32(4).unwrap(), 150_000);
        let tail = abi::lift_bytes(&memory, ret.u32(0).unwrap() + 140_000, 10_000, "b").unwrap();
        assert!(tail.iter().any(|&b| b != 0), "the last chunk was written");
        let err = call(
            &mut host,
            &mut memory,
            RANDOM,
            "get-random-bytes",
            &[1 << 33, 0x10],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("do not fit in guest memory"),
            "{err}"
        );
    }
}
