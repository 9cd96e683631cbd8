//! Canonical ABI helpers for lowered imports: reading the flat arguments, loading and storing
//! whole records in guest memory with bounds and alignment checks, lifting strings and lists,
//! and lowering lists and strings through the guest's `cabi_realloc`.
//!
//! Every guest memory access crosses into JavaScript in the browser, so records are built in a
//! host buffer ([`Lowered`]) and written with one call, and lists are read with one call.
//! Every check that fails traps with a message naming what was accessed and where, as the
//! component model's `CanonicalABI.md` requires (`trap_if`).

// The helper set covers every type the WASI interfaces use; not each one has a caller yet.
#![allow(dead_code)]

use crate::func::Args;
use crate::{GuestMemory, Trap};

/// Largest string the canonical ABI lowers (`MAX_STRING_BYTE_LENGTH`).
pub(crate) const MAX_STRING_BYTE_LENGTH: usize = (1 << 31) - 1;

/// Lists up to this size are read without probing the last byte first.
const PROBE_THRESHOLD: u64 = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Flat arguments

fn arg(args: Args<'_>, index: usize) -> Result<i64, Trap> {
    // Host::call checks the count against the signature; this only guards a registry mistake.
    args.get(index)
        .copied()
        .ok_or_else(|| Trap::abi(format!("missing core argument {index}")))
}

/// An `i32` core argument as unsigned (pointers, lengths, handles, `u32`).
pub(crate) fn arg_u32(args: Args<'_>, index: usize) -> Result<u32, Trap> {
    // The shim widens i32 either way (sign or zero extension); the low 32 bits are the value.
    Ok(arg(args, index)? as u32)
}

/// An `i32` core argument as signed.
pub(crate) fn arg_i32(args: Args<'_>, index: usize) -> Result<i32, Trap> {
    Ok(arg(args, index)? as i32)
}

/// An `i64` core argument as unsigned.
pub(crate) fn arg_u64(args: Args<'_>, index: usize) -> Result<u64, Trap> {
    Ok(arg(args, index)? as u64)
}

/// An `i64` core argument as signed.
pub(crate) fn arg_i64(args: Args<'_>, index: usize) -> Result<i64, Trap> {
    arg(args, index)
}

/// A `u8` carried in an `i32`: the spec's `lift_flat_unsigned` keeps the low bits.
pub(crate) fn arg_u8(args: Args<'_>, index: usize) -> Result<u8, Trap> {
    Ok(arg_u32(args, index)? as u8)
}

/// A `u16` carried in an `i32`.
pub(crate) fn arg_u16(args: Args<'_>, index: usize) -> Result<u16, Trap> {
    Ok(arg_u32(args, index)? as u16)
}

/// A `bool`: any non-zero `i32` is true.
pub(crate) fn arg_bool(args: Args<'_>, index: usize) -> Result<bool, Trap> {
    Ok(arg_u32(args, index)? != 0)
}

/// An `f32` passed as its bit pattern.
pub(crate) fn arg_f32(args: Args<'_>, index: usize) -> Result<f32, Trap> {
    Ok(f32::from_bits(arg_u32(args, index)?))
}

/// An `f64` passed as its bit pattern.
pub(crate) fn arg_f64(args: Args<'_>, index: usize) -> Result<f64, Trap> {
    Ok(f64::from_bits(arg_u64(args, index)?))
}

/// A resource handle (`own` or `borrow`); the table checks that it is live and of the type.
pub(crate) fn arg_handle(args: Args<'_>, index: usize) -> Result<u32, Trap> {
    arg_u32(args, index)
}

/// A variant/enum/result/option discriminant that must be below `cases`.
pub(crate) fn arg_case(args: Args<'_>, index: usize, cases: u32, what: &str) -> Result<u32, Trap> {
    let case = arg_u32(args, index)?;
    check_case(case, cases, what)?;
    Ok(case)
}

/// Traps unless `case < cases` (a lifted discriminant out of range).
pub(crate) fn check_case(case: u32, cases: u32, what: &str) -> Result<(), Trap> {
    if case >= cases {
        return Err(Trap::abi(format!(
            "invalid discriminant {case} for {what} (it has {cases} cases)"
        )));
    }
    Ok(())
}

/// A `char` (unicode scalar value) in an `i32`.
pub(crate) fn arg_char(args: Args<'_>, index: usize) -> Result<char, Trap> {
    let code = arg_u32(args, index)?;
    char::from_u32(code).ok_or_else(|| Trap::abi(format!("invalid char {code:#x}")))
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Traps unless `ptr` is a multiple of `align` (a power of two).
pub(crate) fn check_align(ptr: u32, align: u32, what: &str) -> Result<(), Trap> {
    if align > 1 && !ptr.is_multiple_of(align) {
        return Err(Trap::abi(format!(
            "misaligned {what}: {ptr:#x} is not {align}-byte aligned"
        )));
    }
    Ok(())
}

/// Traps unless `len` bytes at `ptr` fit in the 32-bit address space. Whether they fit in the
/// guest's memory is checked by [`GuestMemory`] itself.
pub(crate) fn check_range(ptr: u32, len: u64, what: &str) -> Result<(), Trap> {
    if u64::from(ptr) + len > 1 << 32 {
        return Err(Trap::abi(format!(
            "out-of-bounds {what}: {len} bytes at {ptr:#x} pass the end of the 32-bit address space"
        )));
    }
    Ok(())
}

fn read(memory: &dyn GuestMemory, ptr: u32, buf: &mut [u8], what: &str) -> Result<(), Trap> {
    memory.read(ptr, buf).map_err(|trap| context(trap, what))
}

/// Copies `data` into guest memory at `ptr`; a trap says it was writing `what`.
pub(crate) fn write(
    memory: &mut dyn GuestMemory,
    ptr: u32,
    data: &[u8],
    what: &str,
) -> Result<(), Trap> {
    memory.write(ptr, data).map_err(|trap| context(trap, what))
}

/// Prefixes the memory's own message with what the host was accessing.
fn context(mut trap: Trap, what: &str) -> Trap {
    if let crate::TrapKind::Abi(message) = &mut trap.kind {
        *message = format!("{what}: {message}");
    }
    trap
}

// ---------------------------------------------------------------------------------------------
// Records

/// A record read from guest memory with one access; fields are decoded from the copy.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    bytes: Vec<u8>,
}

impl Loaded {
    fn field<const N: usize>(&self, offset: u32) -> Result<[u8; N], Trap> {
        let start = offset as usize;
        self.bytes
            .get(start..start + N)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Trap::abi(format!("host bug: field at {offset} past a loaded record")))
    }

    /// The record's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `u8` at `offset`.
    pub(crate) fn u8(&self, offset: u32) -> Result<u8, Trap> {
        Ok(self.field::<1>(offset)?[0])
    }

    /// Little-endian `u16` at `offset`.
    pub(crate) fn u16(&self, offset: u32) -> Result<u16, Trap> {
        Ok(u16::from_le_bytes(self.field(offset)?))
    }

    /// Little-endian `u32` at `offset`.
    pub(crate) fn u32(&self, offset: u32) -> Result<u32, Trap> {
        Ok(u32::from_le_bytes(self.field(offset)?))
    }

    /// Little-endian `u64` at `offset`.
    pub(crate) fn u64(&self, offset: u32) -> Result<u64, Trap> {
        Ok(u64::from_le_bytes(self.field(offset)?))
    }

    /// Little-endian `i32` at `offset`.
    pub(crate) fn i32(&self, offset: u32) -> Result<i32, Trap> {
        Ok(i32::from_le_bytes(self.field(offset)?))
    }

    /// Little-endian `i64` at `offset`.
    pub(crate) fn i64(&self, offset: u32) -> Result<i64, Trap> {
        Ok(i64::from_le_bytes(self.field(offset)?))
    }
}

/// Reads a `size`-byte record aligned to `align` at `ptr` in one access.
pub(crate) fn load_record(
    memory: &dyn GuestMemory,
    ptr: u32,
    size: u32,
    align: u32,
    what: &str,
) -> Result<Loaded, Trap> {
    check_align(ptr, align, what)?;
    check_range(ptr, u64::from(size), what)?;
    let mut bytes = vec![0; size as usize];
    read(memory, ptr, &mut bytes, what)?;
    Ok(Loaded { bytes })
}

/// A record (or list element array) built in host memory and stored with one access.
///
/// Setters grow the buffer when an offset lies past its end, so they cannot fail; the size
/// given to [`Lowered::new`] is the record's size as the canonical ABI computes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lowered {
    bytes: Vec<u8>,
    align: u32,
}

impl Lowered {
    /// A zeroed record of `size` bytes whose address must be `align`-aligned.
    pub(crate) fn new(size: u32, align: u32) -> Lowered {
        Lowered {
            bytes: vec![0; size as usize],
            align,
        }
    }

    fn put(&mut self, offset: u32, data: &[u8]) -> &mut Lowered {
        let start = offset as usize;
        let end = start + data.len();
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        self.bytes[start..end].copy_from_slice(data);
        self
    }

    /// Stores a `u8` (also bools and discriminants of up to 256 cases).
    pub(crate) fn u8(&mut self, offset: u32, value: u8) -> &mut Lowered {
        self.put(offset, &[value])
    }

    /// Stores a little-endian `u16`.
    pub(crate) fn u16(&mut self, offset: u32, value: u16) -> &mut Lowered {
        self.put(offset, &value.to_le_bytes())
    }

    /// Stores a little-endian `u32` (also pointers, lengths and handles).
    pub(crate) fn u32(&mut self, offset: u32, value: u32) -> &mut Lowered {
        self.put(offset, &value.to_le_bytes())
    }

    /// Stores a little-endian `u64`.
    pub(crate) fn u64(&mut self, offset: u32, value: u64) -> &mut Lowered {
        self.put(offset, &value.to_le_bytes())
    }

    /// Stores a little-endian `i32`.
    pub(crate) fn i32(&mut self, offset: u32, value: i32) -> &mut Lowered {
        self.put(offset, &value.to_le_bytes())
    }

    /// Stores a little-endian `i64`.
    pub(crate) fn i64(&mut self, offset: u32, value: i64) -> &mut Lowered {
        self.put(offset, &value.to_le_bytes())
    }

    /// Stores raw bytes (e.g. a nested record lowered separately).
    pub(crate) fn bytes(&mut self, offset: u32, data: &[u8]) -> &mut Lowered {
        self.put(offset, data)
    }

    /// Stores a `(ptr, len)` pair, as strings and lists are held in records.
    pub(crate) fn ptr_len(&mut self, offset: u32, (ptr, len): (u32, u32)) -> &mut Lowered {
        self.u32(offset, ptr).u32(offset + 4, len)
    }

    /// The bytes built so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Writes the record at `ptr` (e.g. the call's return pointer), checking alignment and
    /// bounds first.
    pub(crate) fn store(
        &self,
        memory: &mut dyn GuestMemory,
        ptr: u32,
        what: &str,
    ) -> Result<(), Trap> {
        check_align(ptr, self.align, what)?;
        check_range(ptr, self.bytes.len() as u64, what)?;
        write(memory, ptr, &self.bytes, what)
    }
}

// ---------------------------------------------------------------------------------------------
// Lifting lists and strings

/// Reads `len` bytes at `ptr`, guarding the host against allocating for a list that is not
/// there: a large list's last byte is read first, so only real guest memory is ever copied.
fn read_bytes(memory: &dyn GuestMemory, ptr: u32, len: u64, what: &str) -> Result<Vec<u8>, Trap> {
    check_range(ptr, len, what)?;
    if len > PROBE_THRESHOLD {
        let mut last = [0u8];
        read(memory, ptr + (len - 1) as u32, &mut last, what)?;
    }
    // On a 32-bit host a 4 GiB list does not fit in usize.
    let size = usize::try_from(len)
        .map_err(|_| Trap::abi(format!("{what}: {len} bytes do not fit in host memory")))?;
    let mut bytes = host_buffer(size, what)?;
    read(memory, ptr, &mut bytes, what)?;
    Ok(bytes)
}

/// A zeroed host buffer of `size` bytes for a copy of guest data, or a trap naming what it was
/// for when the host cannot allocate it. The shim is built with `panic = "abort"`, where a
/// failed `vec!` kills the worker without a word; a guest can ask for up to 4 GiB at once.
pub(crate) fn host_buffer(size: usize, what: &str) -> Result<Vec<u8>, Trap> {
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(size).map_err(|_| {
        Trap::abi(format!(
            "{what}: the host cannot allocate {size} bytes for a copy of it"
        ))
    })?;
    bytes.resize(size, 0);
    Ok(bytes)
}

/// Lifts a `list<u8>` given as `(ptr, len)`.
pub(crate) fn lift_bytes(
    memory: &dyn GuestMemory,
    ptr: u32,
    len: u32,
    what: &str,
) -> Result<Vec<u8>, Trap> {
    read_bytes(memory, ptr, u64::from(len), what)
}

/// Lifts a utf-8 `string` given as `(ptr, len)`; invalid utf-8 traps.
pub(crate) fn lift_string(
    memory: &dyn GuestMemory,
    ptr: u32,
    len: u32,
    what: &str,
) -> Result<String, Trap> {
    let bytes = read_bytes(memory, ptr, u64::from(len), what)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Trap::abi(format!(
            "{what}: invalid utf-8 at byte {at} of the {len}-byte string at {ptr:#x}"
        ))
    })
}

/// Lifts the raw element bytes of a `list<T>` given as `(ptr, len)`, where each element is
/// `elem_size` bytes aligned to `elem_align`. Decode elements with [`chunks`] or [`Loaded`].
pub(crate) fn lift_list(
    memory: &dyn GuestMemory,
    ptr: u32,
    len: u32,
    elem_size: u32,
    elem_align: u32,
    what: &str,
) -> Result<Vec<u8>, Trap> {
    check_align(ptr, elem_align, what)?;
    read_bytes(memory, ptr, u64::from(len) * u64::from(elem_size), what)
}

/// Lifts a `list<u32>` (or a list of handles such as `list<borrow<pollable>>`).
pub(crate) fn lift_u32s(
    memory: &dyn GuestMemory,
    ptr: u32,
    len: u32,
    what: &str,
) -> Result<Vec<u32>, Trap> {
    let bytes = lift_list(memory, ptr, len, 4, 4, what)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Splits lifted list bytes into per-element records.
pub(crate) fn chunks(bytes: Vec<u8>, elem_size: u32) -> impl Iterator<Item = Loaded> {
    let size = elem_size.max(1) as usize;
    let elems: Vec<Loaded> = bytes
        .chunks_exact(size)
        .map(|c| Loaded { bytes: c.to_vec() })
        .collect();
    elems.into_iter()
}

// ---------------------------------------------------------------------------------------------
// Lowering through realloc

/// Allocates `size` bytes aligned to `align` with the guest's `cabi_realloc(0, 0, align, size)`
/// and checks the block it returns (`trap_if` misaligned or out of the address space).
pub(crate) fn alloc(
    memory: &mut dyn GuestMemory,
    align: u32,
    size: u64,
    what: &str,
) -> Result<u32, Trap> {
    if size >= 1 << 32 {
        return Err(Trap::abi(format!(
            "{what}: {size} bytes do not fit in guest memory"
        )));
    }
    let ptr = memory
        .realloc(0, 0, align, size as u32)
        .map_err(|trap| context(trap, what))?;
    check_align(ptr, align, &format!("{what} (block from cabi_realloc)"))?;
    check_range(ptr, size, &format!("{what} (block from cabi_realloc)"))?;
    Ok(ptr)
}

/// Lowers a list whose elements are already encoded back to back in `elems` (`count` elements
/// aligned to `align`): one realloc, one write. Returns `(ptr, len)` with `len` = `count`.
pub(crate) fn lower_list(
    memory: &mut dyn GuestMemory,
    elems: &[u8],
    count: usize,
    align: u32,
    what: &str,
) -> Result<(u32, u32), Trap> {
    let count = u32::try_from(count)
        .map_err(|_| Trap::abi(format!("{what}: {count} elements are too many to lower")))?;
    let ptr = alloc(memory, align, elems.len() as u64, what)?;
    if !elems.is_empty() {
        write(memory, ptr, elems, what)?;
    }
    Ok((ptr, count))
}

/// Lowers a `list<u8>`. Returns `(ptr, len)`.
pub(crate) fn lower_bytes(
    memory: &mut dyn GuestMemory,
    data: &[u8],
    what: &str,
) -> Result<(u32, u32), Trap> {
    lower_list(memory, data, data.len(), 1, what)
}

/// Lowers a utf-8 `string`. Returns `(ptr, len)`.
pub(crate) fn lower_string(
    memory: &mut dyn GuestMemory,
    s: &str,
    what: &str,
) -> Result<(u32, u32), Trap> {
    if s.len() > MAX_STRING_BYTE_LENGTH {
        return Err(Trap::abi(format!(
            "{what}: a {}-byte string is too long",
            s.len()
        )));
    }
    lower_list(memory, s.as_bytes(), s.len(), 1, what)
}

/// Lowers a `list<u32>`. Returns `(ptr, len)`.
pub(crate) fn lower_u32s(
    memory: &mut dyn GuestMemory,
    values: &[u32],
    what: &str,
) -> Result<(u32, u32), Trap> {
    let mut elems = Vec::with_capacity(values.len() * 4);
    for value in values {
        elems.extend_from_slice(&value.to_le_bytes());
    }
    lower_list(memory, &elems, values.len(), 4, what)
}

/// Lowers a `list<string>`: the outer list is allocated first (as the spec's `store_list`
/// does), then each string, then the `{ptr, len}` array is written in one access.
pub(crate) fn lower_strings<S: AsRef<str>>(
    memory: &mut dyn GuestMemory,
    items: &[S],
    what: &str,
) -> Result<(u32, u32), Trap> {
    let outer = alloc(memory, 4, items.len() as u64 * 8, what)?;
    let mut array = Lowered::new(items.len() as u32 * 8, 4);
    for (i, item) in items.iter().enumerate() {
        let lowered = lower_string(memory, item.as_ref(), what)?;
        array.ptr_len(i as u32 * 8, lowered);
    }
    finish_outer(memory, outer, &array, items.len(), what)
}

/// Lowers a `list<tuple<string, string>>` (16-byte elements).
pub(crate) fn lower_string_pairs<A: AsRef<str>, B: AsRef<str>>(
    memory: &mut dyn GuestMemory,
    items: &[(A, B)],
    what: &str,
) -> Result<(u32, u32), Trap> {
    let outer = alloc(memory, 4, items.len() as u64 * 16, what)?;
    let mut array = Lowered::new(items.len() as u32 * 16, 4);
    for (i, (a, b)) in items.iter().enumerate() {
        let a = lower_string(memory, a.as_ref(), what)?;
        let b = lower_string(memory, b.as_ref(), what)?;
        array
            .ptr_len(i as u32 * 16, a)
            .ptr_len(i as u32 * 16 + 8, b);
    }
    finish_outer(memory, outer, &array, items.len(), what)
}

fn finish_outer(
    memory: &mut dyn GuestMemory,
    outer: u32,
    array: &Lowered,
    count: usize,
    what: &str,
) -> Result<(u32, u32), Trap> {
    if !array.as_bytes().is_empty() {
        write(memory, outer, array.as_bytes(), what)?;
    }
    Ok((outer, count as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TrapKind, VecMemory};

    fn message(trap: Trap) -> String {
        match trap.kind {
            TrapKind::Abi(m) => m,
            other => panic!("expected an ABI trap, got {other:?}"),
        }
    }

    #[test]
    fn host_buffers_the_host_cannot_allocate_trap_with_a_name() {
        // More than any allocator gives (past isize::MAX): a named trap, not an abort.
        let err = message(host_buffer(usize::MAX / 2 + 1, "write contents").unwrap_err());
        assert_eq!(
            err,
            format!(
                "write contents: the host cannot allocate {} bytes for a copy of it",
                usize::MAX / 2 + 1
            )
        );
        assert_eq!(host_buffer(3, "x").unwrap(), vec![0; 3]);
    }

    #[test]
    fn flat_arguments_take_the_low_bits() {
        let args = [-1i64, 0x1_0000_0005, 0x1ff, 2, 0x4049_0fdb];
        assert_eq!(arg_u32(&args, 0).unwrap(), u32::MAX);
        assert_eq!(arg_i32(&args, 0).unwrap(), -1);
        assert_eq!(arg_u64(&args, 0).unwrap(), u64::MAX);
        assert_eq!(arg_u32(&args, 1).unwrap(), 5);
        assert_eq!(arg_u8(&args, 2).unwrap(), 0xff);
        assert_eq!(arg_u16(&args, 2).unwrap(), 0x1ff);
        assert!(arg_bool(&args, 3).unwrap());
        assert_eq!(arg_f32(&args, 4).unwrap(), std::f32::consts::PI);
        assert_eq!(arg_case(&args, 3, 3, "t").unwrap(), 2);
        let err = message(arg_case(&args, 3, 2, "result<_, _>").unwrap_err());
        assert_eq!(
            err,
            "invalid discriminant 2 for result<_, _> (it has 2 cases)"
        );
        assert!(arg_u32(&args, 9).is_err());
        assert!(arg_char(&[0xd800], 0).is_err());
        assert_eq!(arg_char(&[0x41], 0).unwrap(), 'A');
    }

    #[test]
    fn record_round_trip_in_one_write() {
        let mut memory = VecMemory::new(256);
        let mut record = Lowered::new(16, 8);
        record.u8(0, 1).u32(4, 0xdead_beef).u64(8, u64::MAX - 1);
        record.store(&mut memory, 16, "retptr").unwrap();
        let loaded = load_record(&memory, 16, 16, 8, "retptr").unwrap();
        assert_eq!(loaded.u8(0).unwrap(), 1);
        assert_eq!(loaded.u32(4).unwrap(), 0xdead_beef);
        assert_eq!(loaded.u64(8).unwrap(), u64::MAX - 1);
        assert_eq!(loaded.i32(4).unwrap(), 0xdead_beef_u32 as i32);
        assert!(
            loaded.u64(12).is_err(),
            "field past the record is an error, not a panic"
        );
        assert_eq!(&memory.bytes[16..20], &[1, 0, 0, 0]);
    }

    #[test]
    fn misaligned_retptr_traps_with_where() {
        let mut memory = VecMemory::new(256);
        let err = message(
            Lowered::new(16, 8)
                .store(&mut memory, 12, "retptr")
                .unwrap_err(),
        );
        assert_eq!(err, "misaligned retptr: 0xc is not 8-byte aligned");
        assert!(
            memory.bytes.iter().all(|&b| b == 0),
            "nothing written on a trap"
        );
    }

    #[test]
    fn out_of_bounds_traps() {
        let mut memory = VecMemory::new(64);
        let err = message(
            Lowered::new(8, 4)
                .store(&mut memory, 60, "retptr")
                .unwrap_err(),
        );
        assert!(err.starts_with("retptr: out-of-bounds"), "{err}");
        let err = message(lift_bytes(&memory, u32::MAX, 2, "write contents").unwrap_err());
        assert!(err.contains("32-bit address space"), "{err}");
        // A huge list is refused before the host allocates for it.
        let err = message(lift_bytes(&memory, 0, u32::MAX, "write contents").unwrap_err());
        assert!(err.starts_with("write contents: out-of-bounds"), "{err}");
    }

    #[test]
    fn strings_lift_with_utf8_validation() {
        let mut memory = VecMemory::new(64);
        memory.bytes[0..6].copy_from_slice("héllo".as_bytes());
        assert_eq!(lift_string(&memory, 0, 6, "path").unwrap(), "héllo");
        memory.bytes[2] = 0xff;
        let err = message(lift_string(&memory, 0, 6, "path").unwrap_err());
        assert_eq!(
            err,
            "path: invalid utf-8 at byte 1 of the 6-byte string at 0x0"
        );
        assert_eq!(lift_string(&memory, 40, 0, "path").unwrap(), "");
    }

    #[test]
    fn lists_lift_checked() {
        let mut memory = VecMemory::new(64);
        memory.bytes[8..16].copy_from_slice(&[3, 0, 0, 0, 9, 0, 0, 0]);
        assert_eq!(lift_u32s(&memory, 8, 2, "in").unwrap(), vec![3, 9]);
        let err = message(lift_u32s(&memory, 9, 2, "in").unwrap_err());
        assert_eq!(err, "misaligned in: 0x9 is not 4-byte aligned");
        let raw = lift_list(&memory, 8, 1, 8, 4, "pairs").unwrap();
        let elems: Vec<Loaded> = chunks(raw, 8).collect();
        assert_eq!(elems.len(), 1);
        assert_eq!(elems[0].u32(4).unwrap(), 9);
    }

    #[test]
    fn strings_and_lists_lower_through_realloc() {
        let mut memory = VecMemory::new(1024);
        let items = ["prog", "", "ärg"];
        let (ptr, len) = lower_strings(&mut memory, &items, "arguments").unwrap();
        assert_eq!(len, 3);
        assert_eq!(ptr % 4, 0);
        let raw = lift_list(&memory, ptr, len, 8, 4, "arguments").unwrap();
        let lifted: Vec<String> = chunks(raw, 8)
            .map(|e| lift_string(&memory, e.u32(0).unwrap(), e.u32(4).unwrap(), "s").unwrap())
            .collect();
        assert_eq!(lifted, items);

        let pairs = [
            ("A".to_string(), "1".to_string()),
            ("BB".to_string(), "22".to_string()),
        ];
        let (ptr, len) = lower_string_pairs(&mut memory, &pairs, "env").unwrap();
        let raw = lift_list(&memory, ptr, len, 16, 4, "env").unwrap();
        let lifted: Vec<(String, String)> = chunks(raw, 16)
            .map(|e| {
                let s = |o| lift_string(&memory, e.u32(o).unwrap(), e.u32(o + 4).unwrap(), "s");
                (s(0).unwrap(), s(8).unwrap())
            })
            .collect();
        assert_eq!(lifted, pairs);

        let (ptr, len) = lower_u32s(&mut memory, &[7, 0, 42], "poll result").unwrap();
        assert_eq!(lift_u32s(&memory, ptr, len, "r").unwrap(), vec![7, 0, 42]);
        let (ptr, len) = lower_bytes(&mut memory, b"xyz", "bytes").unwrap();
        assert_eq!(lift_bytes(&memory, ptr, len, "b").unwrap(), b"xyz");
    }

    /// A realloc that hands back a block at a fixed (possibly bad) address.
    struct BadRealloc(VecMemory, u32);

    impl GuestMemory for BadRealloc {
        fn read(&self, ptr: u32, buf: &mut [u8]) -> Result<(), Trap> {
            self.0.read(ptr, buf)
        }
        fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Trap> {
            self.0.write(ptr, data)
        }
        fn realloc(&mut self, _: u32, _: u32, _: u32, _: u32) -> Result<u32, Trap> {
            Ok(self.1)
        }
    }

    #[test]
    fn bad_realloc_blocks_trap() {
        let mut memory = BadRealloc(VecMemory::new(64), 2);
        let err = message(lower_u32s(&mut memory, &[1], "poll result").unwrap_err());
        assert_eq!(
            err,
            "misaligned poll result (block from cabi_realloc): 0x2 is not 4-byte aligned"
        );
        let mut memory = BadRealloc(VecMemory::new(64), 60);
        let err = message(lower_bytes(&mut memory, &[0; 8], "read result").unwrap_err());
        assert!(err.starts_with("read result: out-of-bounds"), "{err}");
    }
}
