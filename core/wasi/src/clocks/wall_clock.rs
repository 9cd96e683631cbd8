//! `wasi:clocks/wall-clock`: `now` and `resolution` as `datetime` records.

use crate::abi::{self, Lowered};
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

/// Stores `datetime { seconds: u64 @0, nanoseconds: u32 @8 }` (16 bytes, 8-aligned).
fn store_datetime(
    memory: &mut dyn GuestMemory,
    retptr: u32,
    (seconds, nanoseconds): (u64, u32),
) -> Result<i64, Trap> {
    Lowered::new(16, 8)
        .u64(0, seconds)
        .u32(8, nanoseconds)
        .store(memory, retptr, "datetime retptr")?;
    Ok(0)
}

fn now(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let retptr = abi::arg_u32(args, 0)?;
    store_datetime(memory, retptr, host.platform.wall_now())
}

fn resolution(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let retptr = abi::arg_u32(args, 0)?;
    let ns = host.platform.wall_resolution();
    store_datetime(
        memory,
        retptr,
        (ns / 1_000_000_000, (ns % 1_000_000_000) as u32),
    )
}

/// `wasi:clocks/wall-clock`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:clocks/wall-clock",
    funcs: &[
        FuncDef::new("now", &[I32], &[], now),
        FuncDef::new("resolution", &[I32], &[], resolution),
    ],
};

#[cfg(test)]
mod tests {
    use crate::abi;
    use crate::testing::{call, host_with, FakePlatform};

    const WALL: &str = "wasi:clocks/wall-clock@0.2.0";

    #[test]
    fn datetime_layout() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        fake.set_wall(1_700_000_000, 999_999_000);
        fake.advance(2_000); // wall time moves with the virtual clock
        call(&mut host, &mut memory, WALL, "now", &[0x20]).unwrap();
        let ret = abi::load_record(&memory, 0x20, 16, 8, "ret").unwrap();
        assert_eq!(
            (ret.u64(0).unwrap(), ret.u32(8).unwrap()),
            (1_700_000_001, 1_000)
        );
        call(&mut host, &mut memory, WALL, "resolution", &[0x30]).unwrap();
        let ret = abi::load_record(&memory, 0x30, 16, 8, "ret").unwrap();
        assert_eq!((ret.u64(0).unwrap(), ret.u32(8).unwrap()), (0, 5_000));
        let err = call(&mut host, &mut memory, WALL, "now", &[0x24]).unwrap_err();
        assert!(
            err.to_string().starts_with("misaligned datetime retptr"),
            "{err}"
        );
    }
}
