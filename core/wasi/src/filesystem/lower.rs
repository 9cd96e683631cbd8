//! Lowering `result<T, error-code>` and the filesystem records into guest memory.
//!
//! Layouts follow the canonical ABI (a `result`'s payload sits at its largest case alignment
//! after the `u8` tag) and match the `wasip2` crate's generated bindings.

use super::error::ErrorCode;
use super::memfs::{Stat, Timestamp};
use crate::abi::{self, Lowered};
use crate::func::Args;
use crate::{GuestMemory, Trap};

/// Memory shape of one `result<T, error-code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub size: u32,
    pub align: u32,
    /// Offset of the ok payload and of the error code.
    pub payload: u32,
}

/// `result<_, error-code>`.
pub(crate) const UNIT: Shape = Shape {
    size: 2,
    align: 1,
    payload: 1,
};
/// `result<u8-like, error-code>` (`descriptor-flags`, `descriptor-type`).
pub(crate) const BYTE: Shape = UNIT;
/// `result<own<…>, error-code>`.
pub(crate) const HANDLE: Shape = Shape {
    size: 8,
    align: 4,
    payload: 4,
};
/// `result<descriptor-stat, error-code>`: the 96-byte stat at 8.
pub(crate) const STAT: Shape = Shape {
    size: 104,
    align: 8,
    payload: 8,
};
/// `result<filesize, error-code>`.
pub(crate) const FILESIZE: Shape = Shape {
    size: 16,
    align: 8,
    payload: 8,
};
/// `result<metadata-hash-value, error-code>`.
pub(crate) const HASH: Shape = Shape {
    size: 24,
    align: 8,
    payload: 8,
};
/// `result<string, error-code>`.
pub(crate) const STRING: Shape = Shape {
    size: 12,
    align: 4,
    payload: 4,
};
/// `result<tuple<list<u8>, bool>, error-code>`: list @4, bool @12.
pub(crate) const READ: Shape = Shape {
    size: 16,
    align: 4,
    payload: 4,
};
/// `result<option<directory-entry>, error-code>`: option tag @4, type @8, name @12.
pub(crate) const ENTRY: Shape = Shape {
    size: 20,
    align: 4,
    payload: 4,
};

/// The return pointer argument, checked for the shape's alignment before the call does
/// anything, so a bad pointer traps with nothing changed.
pub(crate) fn retptr(args: Args<'_>, index: usize, shape: Shape) -> Result<u32, Trap> {
    let ptr = abi::arg_u32(args, index)?;
    abi::check_align(ptr, shape.align, "retptr")?;
    Ok(ptr)
}

/// Stores `result` at `retptr`: on `Ok`, `fill` writes the payload at `shape.payload`.
pub(crate) fn finish<T>(
    memory: &mut dyn GuestMemory,
    retptr: u32,
    shape: Shape,
    result: Result<T, ErrorCode>,
    fill: impl FnOnce(&mut Lowered, u32, T),
) -> Result<i64, Trap> {
    let mut record = Lowered::new(shape.size, shape.align);
    match result {
        Ok(value) => fill(record.u8(0, 0), shape.payload, value),
        Err(code) => {
            record.u8(0, 1).u8(shape.payload, code as u8);
        }
    }
    record.store(memory, retptr, "retptr")?;
    Ok(0)
}

/// Stores `result<_, error-code>`.
pub(crate) fn finish_unit(
    memory: &mut dyn GuestMemory,
    retptr: u32,
    result: Result<(), ErrorCode>,
) -> Result<i64, Trap> {
    finish(memory, retptr, UNIT, result, |_, _, ()| {})
}

/// Writes `option<datetime>` (always `some`) at `offset`: tag, then seconds @+8, nanos @+16.
fn option_datetime(record: &mut Lowered, offset: u32, t: Timestamp) {
    record
        .u8(offset, 1)
        .u64(offset + 8, t.seconds)
        .u32(offset + 16, t.nanoseconds);
}

/// Writes `descriptor-stat` at `offset`: type @0, link-count @8, size @16, then the three
/// `option<datetime>` (24 bytes each) @24, @48, @72.
pub(crate) fn stat(record: &mut Lowered, offset: u32, stat: Stat) {
    record
        .u8(offset, stat.kind as u8)
        .u64(offset + 8, stat.link_count)
        .u64(offset + 16, stat.size);
    option_datetime(record, offset + 24, stat.atime);
    option_datetime(record, offset + 48, stat.mtime);
    option_datetime(record, offset + 72, stat.ctime);
}

pub(crate) fn store_handle(
    memory: &mut dyn GuestMemory,
    ptr: u32,
    result: Result<u32, ErrorCode>,
) -> Result<i64, Trap> {
    finish(memory, ptr, HANDLE, result, |r, at, handle| {
        r.u32(at, handle);
    })
}

pub(crate) fn store_hash(
    memory: &mut dyn GuestMemory,
    ptr: u32,
    result: Result<(u64, u64), ErrorCode>,
) -> Result<i64, Trap> {
    finish(memory, ptr, HASH, result, |r, at, (lower, upper)| {
        r.u64(at, lower).u64(at + 8, upper);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filesystem::memfs::DescriptorType;
    use crate::VecMemory;

    #[test]
    fn stat_layout_matches_the_bindings() {
        let mut memory = VecMemory::new(256);
        let t = |s| Timestamp {
            seconds: s,
            nanoseconds: s as u32 + 1,
        };
        let value = Stat {
            kind: DescriptorType::RegularFile,
            link_count: 2,
            size: 300,
            atime: t(10),
            mtime: t(20),
            ctime: t(30),
        };
        finish(&mut memory, 8, STAT, Ok(value), stat).unwrap();
        let ret = abi::load_record(&memory, 8, 104, 8, "ret").unwrap();
        // Offsets as the wasip2 bindings read them: tag 0, type 8, links 16, size 24,
        // options at 32/56/80 with seconds +8 and nanoseconds +16.
        assert_eq!(ret.u8(0).unwrap(), 0);
        assert_eq!(ret.u8(8).unwrap(), 6);
        assert_eq!(ret.u64(16).unwrap(), 2);
        assert_eq!(ret.u64(24).unwrap(), 300);
        for (tag, seconds) in [(32, 10), (56, 20), (80, 30)] {
            assert_eq!(ret.u8(tag).unwrap(), 1);
            assert_eq!(ret.u64(tag + 8).unwrap(), seconds);
            assert_eq!(ret.u32(tag + 16).unwrap(), seconds as u32 + 1);
        }
    }

    #[test]
    fn errors_store_the_code_at_the_payload() {
        let mut memory = VecMemory::new(64);
        finish(
            &mut memory,
            16,
            HANDLE,
            Err::<u32, _>(ErrorCode::NoEntry),
            |_, _, _| {},
        )
        .unwrap();
        assert_eq!(&memory.bytes[16..24], &[1, 0, 0, 0, 20, 0, 0, 0]);
        finish_unit(&mut memory, 3, Err(ErrorCode::ReadOnly)).unwrap();
        assert_eq!(&memory.bytes[3..5], &[1, 33]);
        assert!(
            retptr(&[12], 0, STAT).is_err(),
            "misaligned for an 8-aligned result"
        );
        assert_eq!(retptr(&[16], 0, STAT).unwrap(), 16);
    }
}
