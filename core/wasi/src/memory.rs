//! The guest's linear memory as the host sees it.
//!
//! In the browser every access crosses into JavaScript, so the trait is shaped for few, large
//! copies: read or write a whole record or list at once, never one field at a time.

use std::ops::Range;

use crate::Trap;

/// The bytes `ptr..ptr + len` of a guest memory of `memory_len` bytes, or a trap when any of
/// them is out of bounds.
///
/// The sum is taken in 64 bits: a wasm32 memory can be exactly 4 GiB, so the end of an
/// in-bounds access can be 2^32, and `ptr + len` in `u32` would wrap to a small number and
/// pass a bounds check (or, wrapping to 0, make an empty slice of a non-empty access). Every
/// [`GuestMemory`] implementation checks its accesses with this.
pub fn guest_range(ptr: u32, len: usize, memory_len: u64) -> Result<Range<u64>, Trap> {
    let start = u64::from(ptr);
    // `usize` is at most 64 bits wide, so the length converts; the sum of two values below
    // 2^64 / 2 cannot overflow, but `checked_add` says so without reasoning.
    match u64::try_from(len)
        .ok()
        .and_then(|len| start.checked_add(len))
    {
        Some(end) if end <= memory_len => Ok(start..end),
        _ => Err(Trap::abi(format!(
            "out-of-bounds memory access: {len} bytes at {ptr:#x} (memory is {memory_len:#x} bytes)"
        ))),
    }
}

/// Linear memory and `cabi_realloc` of the guest instance an import was lowered with.
pub trait GuestMemory {
    /// Copies `buf.len()` bytes starting at `ptr` out of guest memory.
    /// Traps when any byte is out of bounds.
    fn read(&self, ptr: u32, buf: &mut [u8]) -> Result<(), Trap>;
    /// Copies `data` into guest memory at `ptr`. Traps when any byte is out of bounds.
    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Trap>;
    /// Calls the guest's `cabi_realloc(old_ptr, old_size, align, new_size)`.
    /// Traps when the guest has no realloc, or it returns a misaligned or out-of-bounds block.
    fn realloc(
        &mut self,
        old_ptr: u32,
        old_size: u32,
        align: u32,
        new_size: u32,
    ) -> Result<u32, Trap>;
}

/// Bytes the guest handed to an import, still in its memory: `len` bytes at `ptr`.
///
/// Output takes them from here to where they go in one copy ([`GuestBytes::copy_to`]); in the
/// browser each copy out of guest memory is a call into JavaScript, and lifting them into a
/// host buffer first cost a zeroed allocation and a second copy per write.
#[derive(Clone, Copy)]
pub struct GuestBytes<'a> {
    memory: &'a dyn GuestMemory,
    ptr: u32,
    len: u32,
    what: &'a str,
}

impl<'a> GuestBytes<'a> {
    /// `len` bytes at `ptr`; `what` names them in a trap ("write contents").
    pub fn new(memory: &'a dyn GuestMemory, ptr: u32, len: u32, what: &'a str) -> GuestBytes<'a> {
        GuestBytes {
            memory,
            ptr,
            len,
            what,
        }
    }

    /// How many bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies them into `dst`, which must be exactly [`len`](GuestBytes::len) long. Traps,
    /// naming what they are, when any byte is out of bounds (`dst` is then unspecified).
    pub fn copy_to(&self, dst: &mut [u8]) -> Result<(), Trap> {
        debug_assert_eq!(dst.len(), self.len());
        self.memory.read(self.ptr, dst).map_err(|mut trap| {
            if let crate::TrapKind::Abi(message) = &mut trap.kind {
                *message = format!("{}: {message}", self.what);
            }
            trap
        })
    }

    /// Copies them into a fresh host buffer. Past 64 KiB the last byte is read first, so a
    /// list that is not there traps before the host allocates for it.
    pub fn lift(&self) -> Result<Vec<u8>, Trap> {
        if self.len > 64 << 10 {
            GuestBytes::new(
                self.memory,
                self.ptr.wrapping_add(self.len - 1),
                1,
                self.what,
            )
            .copy_to(&mut [0])?;
        }
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(self.len()).map_err(|_| {
            Trap::abi(format!(
                "{}: the host cannot allocate {} bytes for a copy of it",
                self.what, self.len
            ))
        })?;
        bytes.resize(self.len(), 0);
        self.copy_to(&mut bytes)?;
        Ok(bytes)
    }
}

/// A `Vec`-backed guest memory with a bump allocator, for native tests.
#[derive(Debug, Clone)]
pub struct VecMemory {
    /// The memory's bytes.
    pub bytes: Vec<u8>,
    /// Next free byte for `realloc`.
    pub next_free: u32,
}

impl VecMemory {
    /// A zeroed memory of `size` bytes whose allocator starts at `size / 2`, leaving the lower
    /// half for the test to place arguments in.
    pub fn new(size: u32) -> VecMemory {
        VecMemory {
            bytes: vec![0; size as usize],
            next_free: size / 2,
        }
    }

    fn range(&self, ptr: u32, len: usize) -> Result<Range<usize>, Trap> {
        let range = guest_range(ptr, len, self.bytes.len() as u64)?;
        // Both ends are at most `bytes.len()`, a usize.
        Ok(range.start as usize..range.end as usize)
    }
}

impl GuestMemory for VecMemory {
    fn read(&self, ptr: u32, buf: &mut [u8]) -> Result<(), Trap> {
        let range = self.range(ptr, buf.len())?;
        buf.copy_from_slice(&self.bytes[range]);
        Ok(())
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Trap> {
        let range = self.range(ptr, data.len())?;
        self.bytes[range].copy_from_slice(data);
        Ok(())
    }

    fn realloc(
        &mut self,
        _old_ptr: u32,
        _old_size: u32,
        align: u32,
        new_size: u32,
    ) -> Result<u32, Trap> {
        let align = align.max(1);
        let ptr = self.next_free.div_ceil(align) * align;
        let range = self.range(ptr, new_size as usize)?;
        // In bounds, so the end fits the memory; a memory of exactly 4 GiB ends past u32.
        self.next_free = u32::try_from(range.end).unwrap_or(u32::MAX);
        Ok(ptr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR_GIB: u64 = 1 << 32;

    #[test]
    fn guest_ranges_are_summed_in_64_bits() {
        // The last byte of a 4 GiB memory: its end is 2^32, which wraps to 0 in u32.
        assert_eq!(
            guest_range(u32::MAX, 1, FOUR_GIB).unwrap(),
            0xffff_ffff..FOUR_GIB
        );
        assert_eq!(
            guest_range(0x8000_0000, 0x8000_0000, FOUR_GIB).unwrap(),
            0x8000_0000..FOUR_GIB
        );
        // In u32 these wrap to 0..1, 0..0x10 and 1: "in bounds" of any memory.
        for (ptr, len) in [(u32::MAX, 2), (0xffff_fff0, 0x20), (2, u32::MAX as usize)] {
            let trap = guest_range(ptr, len, FOUR_GIB).unwrap_err();
            assert!(
                trap.to_string().starts_with("out-of-bounds memory access"),
                "{trap}"
            );
        }
        // A length past 2^32 (a 64-bit host's slice) is out of any wasm32 memory.
        assert!(guest_range(0, (FOUR_GIB + 1) as usize, FOUR_GIB).is_err());
        assert_eq!(guest_range(16, 0, 16).unwrap(), 16..16, "empty at the end");
        assert!(guest_range(17, 0, 16).is_err(), "empty past the end");
    }

    #[test]
    fn vec_memory_traps_on_wrapping_accesses() {
        let mut memory = VecMemory::new(64);
        let mut buf = [0u8; 2];
        assert!(memory.read(u32::MAX, &mut buf).is_err());
        assert!(memory.write(u32::MAX, &buf).is_err());
        assert!(memory.read(62, &mut buf).is_ok());
        assert!(memory.read(63, &mut buf).is_err());
    }
}
