//! `wasi:random/insecure-seed`: one 128-bit seed per instance (drawn on first use, then the
//! same on every call, as the spec expects callers to call it once).

use crate::abi::{self, Lowered};
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

fn insecure_seed(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let retptr = abi::arg_u32(args, 0)?;
    let (a, b) = match host.insecure_seed {
        Some(seed) => seed,
        None => {
            let seed = (super::random_u64(host), super::random_u64(host));
            host.insecure_seed = Some(seed);
            seed
        }
    };
    // tuple<u64, u64>: 16 bytes, 8-aligned.
    Lowered::new(16, 8)
        .u64(0, a)
        .u64(8, b)
        .store(memory, retptr, "retptr")?;
    Ok(0)
}

/// `wasi:random/insecure-seed`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:random/insecure-seed",
    funcs: &[FuncDef::new("insecure-seed", &[I32], &[], insecure_seed)],
};

#[cfg(test)]
mod tests {
    use crate::abi;
    use crate::testing::{call, host_with, FakePlatform};

    #[test]
    fn seed_is_stable_per_instance() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let s = "wasi:random/insecure-seed@0.2.0";
        call(&mut host, &mut memory, s, "insecure-seed", &[0x10]).unwrap();
        call(&mut host, &mut memory, s, "insecure-seed", &[0x20]).unwrap();
        let first = abi::load_record(&memory, 0x10, 16, 8, "a").unwrap();
        let second = abi::load_record(&memory, 0x20, 16, 8, "b").unwrap();
        assert_eq!(first.bytes(), second.bytes());
        assert_ne!(first.u64(0).unwrap(), first.u64(8).unwrap());
        assert!(call(&mut host, &mut memory, s, "insecure-seed", &[0x14]).is_err());
    }
}
