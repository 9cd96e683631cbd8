//! What the fuzz targets share: a byte reader over the input, the guest-facing doubles for
//! the WASI host (a platform with a virtual clock that never sleeps, a guest memory whose
//! `cabi_realloc` may be hostile), and the module surgery the TinyGo target needs (DWARF
//! sections swapped for fuzzed ones).
//!
//! Every target's input format is written so the seed corpus (`cargo run --example seed`)
//! can build real inputs in it: see each `fuzz_targets/*.rs` and `examples/seed.rs`.

use std::cell::Cell;
use std::rc::Rc;

use pollscope_wasi::{guest_range, Event, GuestMemory, Platform, Stdio, Trap, WaitReason};

/// Reads the fuzz input front to back; past its end every read is zero (or empty), so any
/// input is a valid program of reads.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Bytes left.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// The next `n` bytes, or as many as are left.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }

    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        self.array::<2>().map_or(0, u16::from_le_bytes)
    }

    /// The next four bytes, little-endian.
    pub fn u32(&mut self) -> u32 {
        self.array::<4>().map_or(0, u32::from_le_bytes)
    }

    /// The next eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        self.array::<8>().map_or(0, u64::from_le_bytes)
    }

    /// A length-prefixed (u32) chunk.
    pub fn chunk(&mut self) -> &'a [u8] {
        let len = self.u32() as usize;
        self.bytes(len)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.bytes(N);
        let mut out = [0; N];
        out[..bytes.len()].copy_from_slice(bytes);
        (!bytes.is_empty()).then_some(out)
    }
}

/// Appends `value` as an unsigned LEB128.
pub fn write_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads an unsigned LEB128 at `bytes[*at..]`, advancing `at`.
fn read_leb(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// One top-level section of a core module: id, the custom section's name (id 0), and the
/// whole section's bytes (id and size included).
pub struct Section<'a> {
    /// Section id.
    pub id: u8,
    /// The custom section's name; empty for other sections.
    pub name: &'a str,
    /// The section as it sits in the module.
    pub raw: &'a [u8],
    /// The section's contents after its name (custom) or size (others).
    pub payload: &'a [u8],
}

/// The top-level sections of a well-formed core module (`None` if the framing is broken).
pub fn sections(module: &[u8]) -> Option<Vec<Section<'_>>> {
    let mut at = 8;
    let mut out = Vec::new();
    while at < module.len() {
        let start = at;
        let id = module[at];
        at += 1;
        let size = usize::try_from(read_leb(module, &mut at)?).ok()?;
        let end = at.checked_add(size).filter(|&end| end <= module.len())?;
        let (name, payload) = if id == 0 {
            let mut p = at;
            let len = usize::try_from(read_leb(module, &mut p)?).ok()?;
            let name_end = p.checked_add(len).filter(|&e| e <= end)?;
            (
                std::str::from_utf8(&module[p..name_end]).ok()?,
                &module[name_end..end],
            )
        } else {
            ("", &module[at..end])
        };
        out.push(Section {
            id,
            name,
            raw: &module[start..end],
            payload,
        });
        at = end;
    }
    Some(out)
}

/// Appends a custom section called `name` holding `data`.
pub fn push_custom(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut body = Vec::with_capacity(name.len() + data.len() + 5);
    write_leb(&mut body, name.len() as u64);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    out.push(0);
    write_leb(out, body.len() as u64);
    out.extend_from_slice(&body);
}

/// The DWARF sections the TinyGo target's DWARF mode can fill, by the tag byte the input
/// names them with (`tag % len`).
pub const DWARF_SECTIONS: [&str; 12] = [
    ".debug_info",
    ".debug_abbrev",
    ".debug_line",
    ".debug_str",
    ".debug_ranges",
    ".debug_rnglists",
    ".debug_line_str",
    ".debug_addr",
    ".debug_str_offsets",
    ".debug_loc",
    ".debug_loclists",
    ".debug_aranges",
];

/// `module` with its `.debug_*` sections removed (it must be well-formed).
pub fn strip_dwarf(module: &[u8]) -> Vec<u8> {
    let mut out = module[..8].to_vec();
    for section in sections(module).expect("the template module is well-formed") {
        if !(section.id == 0 && section.name.starts_with(".debug_")) {
            out.extend_from_slice(section.raw);
        }
    }
    out
}

/// Guest linear memory for the TinyGo walk: `len` zero bytes below `base`, then `bytes`, so a
/// short input can place data near the (high) addresses TinyGo's globals live at.
pub struct SparseMemory<'a> {
    /// Where `bytes` start.
    pub base: u32,
    /// Memory from `base` on.
    pub bytes: &'a [u8],
}

impl pollscope_tinygo::ReadMemory for SparseMemory<'_> {
    fn read(&self, address: u32, out: &mut [u8]) -> Option<()> {
        let end = u64::from(address) + out.len() as u64;
        if end > u64::from(self.base) + self.bytes.len() as u64 {
            return None;
        }
        for (i, byte) in out.iter_mut().enumerate() {
            let at = u64::from(address) + i as u64;
            *byte = match at.checked_sub(u64::from(self.base)) {
                Some(offset) => self.bytes[offset as usize],
                None => 0,
            };
        }
        Some(())
    }
}

// ---------------------------------------------------------------------------------------------
// The WASI host's surroundings

/// Thrown (as a panic payload) by [`FuzzPlatform::wait`] when the guest would wait forever:
/// nothing scripted is left and no deadline was asked for. A real guest hangs there, which is
/// its own doing; the target catches it and ends the input.
#[derive(Debug)]
pub struct Hang;

/// Waits in one host call after which the platform calls it a busy loop (a host bug: every
/// wait either reaches its deadline or delivers an event, so a blocking import settles in a
/// handful of rounds).
pub const MAX_WAITS_PER_CALL: u32 = 1_000;

/// A platform with a virtual clock that never sleeps: a wait jumps to its deadline and
/// delivers the next scripted event; output is counted, not kept.
pub struct FuzzPlatform {
    now: u64,
    rng: u64,
    script: Vec<Event>,
    stdin_closed: bool,
    /// Waits since the last host call began (shared with the target, which resets it).
    pub waits: Rc<Cell<u32>>,
    /// Output bytes seen.
    pub output: Rc<Cell<u64>>,
}

impl FuzzPlatform {
    /// A platform that delivers `script` in order, one event per wait, then closes stdin.
    pub fn new(script: Vec<Event>, seed: u64) -> FuzzPlatform {
        FuzzPlatform {
            now: 0,
            rng: seed,
            script,
            stdin_closed: false,
            waits: Rc::default(),
            output: Rc::default(),
        }
    }

    fn next_event(&mut self) -> Option<Event> {
        if !self.script.is_empty() {
            return Some(self.script.remove(0));
        }
        if !self.stdin_closed {
            self.stdin_closed = true;
            return Some(Event::StdinClosed);
        }
        None
    }
}

impl Platform for FuzzPlatform {
    fn monotonic_now(&self) -> u64 {
        self.now
    }

    fn wall_now(&self) -> (u64, u32) {
        (
            1_700_000_000 + self.now / 1_000_000_000,
            (self.now % 1_000_000_000) as u32,
        )
    }

    fn random_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }

    fn write_output(&mut self, _stream: Stdio, bytes: &[u8]) {
        self.output.set(self.output.get() + bytes.len() as u64);
    }

    fn flush_output(&mut self) {}

    fn poll_events(&mut self, _deliver: &mut dyn FnMut(Event)) {}

    fn wait(&mut self, deadline: Option<u64>, _reason: WaitReason, deliver: &mut dyn FnMut(Event)) {
        let waits = self.waits.get() + 1;
        self.waits.set(waits);
        assert!(
            waits <= MAX_WAITS_PER_CALL,
            "the host waited {waits} times in one call: it busy-loops"
        );
        match (deadline, self.next_event()) {
            (_, Some(event)) => {
                self.now = self.now.saturating_add(1_000);
                deliver(event);
            }
            (Some(deadline), None) => self.now = self.now.max(deadline),
            (None, None) => std::panic::panic_any(Hang),
        }
    }
}

/// How the fuzz guest's `cabi_realloc` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realloc {
    /// A bump allocator, like a well-behaved guest.
    Bump,
    /// Whatever block the input says (may be misaligned, out of bounds, overlapping).
    Hostile(u32),
    /// The import was lowered without a realloc option.
    Missing,
}

/// Guest memory: bounds-checked bytes and a `cabi_realloc` chosen by the input. Like the
/// shim's memory, it checks a returned block's alignment and bounds only when well-behaved
/// (`Bump`): a `Hostile` block goes to the host unchecked, which must trap on it itself.
pub struct FuzzMemory {
    /// The memory's bytes.
    pub bytes: Vec<u8>,
    /// Next free byte of the bump allocator.
    pub next_free: u32,
    /// How `realloc` answers.
    pub realloc: Realloc,
}

impl FuzzMemory {
    /// The host's own range check (`guest_range`), so the fuzzer exercises it too.
    fn range(&self, ptr: u32, len: usize) -> Result<std::ops::Range<usize>, Trap> {
        let range = guest_range(ptr, len, self.bytes.len() as u64)?;
        Ok(range.start as usize..range.end as usize)
    }
}

impl GuestMemory for FuzzMemory {
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

    fn realloc(&mut self, _: u32, _: u32, align: u32, new_size: u32) -> Result<u32, Trap> {
        match self.realloc {
            Realloc::Bump => {
                let align = align.max(1);
                let ptr = self
                    .next_free
                    .checked_next_multiple_of(align)
                    .ok_or_else(|| Trap::abi("cabi_realloc: out of memory"))?;
                self.range(ptr, new_size as usize)?;
                self.next_free = ptr + new_size;
                Ok(ptr)
            }
            Realloc::Hostile(ptr) => Ok(ptr),
            Realloc::Missing => Err(Trap::abi("the import was lowered without a realloc")),
        }
    }
}
