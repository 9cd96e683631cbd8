//! The guest's linear memory as the host sees it.
//!
//! In the browser every access crosses into JavaScript, so the trait is shaped for few, large
//! copies: read or write a whole record or list at once, never one field at a time.

use crate::Trap;

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

    fn range(&self, ptr: u32, len: usize) -> Result<std::ops::Range<usize>, Trap> {
        let start = ptr as usize;
        match start.checked_add(len) {
            Some(end) if end <= self.bytes.len() => Ok(start..end),
            _ => Err(Trap::abi(format!(
                "out-of-bounds memory access: {len} bytes at {ptr:#x} (memory is {:#x} bytes)",
                self.bytes.len()
            ))),
        }
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
        self.range(ptr, new_size as usize)?;
        self.next_free = ptr + new_size;
        Ok(ptr)
    }
}
