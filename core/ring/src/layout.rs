//! Where everything lives in the shared buffer.
//!
//! ```text
//! byte 0    word 0..16   configuration, written once by `init` before the ring is shared
//!                        MAGIC, VERSION, CAPACITY, MTU
//! byte 64   word 16..32  written by the producer (its own cache line)
//!                        HEAD, WAKE, WANT_SPACE, HIGH_WATER, PACKETS_IN, BYTES_IN, STALLS
//! byte 128  word 32..48  written by the consumer (its own cache line)
//!                        TAIL, PACKETS_OUT, BYTES_OUT
//! byte 192  DATA_OFFSET  data area, CAPACITY bytes (a power of two), packets 8-byte aligned
//! ```
//!
//! `HEAD` and `TAIL` are free-running `u32` byte counters: the producer has written `HEAD` bytes
//! of packets in total and the consumer has consumed `TAIL`, both modulo 2³². Bytes in use are
//! `HEAD - TAIL` (wrapping); the byte at counter `n` lives at `DATA_OFFSET + (n & (CAPACITY - 1))`.
//! Because `CAPACITY` divides 2³², the counters wrap around without any special case, and a full
//! ring (`HEAD - TAIL == CAPACITY`) is told apart from an empty one (`HEAD == TAIL`) without
//! wasting a slot.
//!
//! The 64-bit counters (`PACKETS_IN`, `BYTES_IN`, `STALLS`, `PACKETS_OUT`, `BYTES_OUT`) take three
//! words each: low half, high half, high half again. Each has a single writer, which stores
//! `hi, lo, hi` (only `lo` when the high half does not change) and readers load them in the
//! opposite order, retrying when the two high halves differ. So a reader on another thread never
//! sees a torn value, without a lock and without the writer ever waiting.

use crate::{Error, SharedMemory};

/// Word: [`MAGIC_VALUE`] once the header is initialized.
pub const MAGIC: usize = 0;
/// Word: [`VERSION_VALUE`], the layout version.
pub const VERSION: usize = 1;
/// Word: size of the data area in bytes, a power of two.
pub const CAPACITY: usize = 2;
/// Word: largest payload of one packet (frame) in bytes.
pub const MTU: usize = 3;

/// Word (producer): total bytes of packets published, modulo 2³².
pub const HEAD: usize = 16;
/// Word (producer; others may add too): bumped after every publish. The consumer's owner waits
/// on it with `Atomics.wait`.
pub const WAKE: usize = 17;
/// Word (producer): 1 while the producer waits for space, so the consumer knows to notify
/// [`TAIL`].
pub const WANT_SPACE: usize = 18;
/// Word (producer): most bytes ever in use, as seen when publishing.
pub const HIGH_WATER: usize = 19;
/// Three words (producer): packets published (`u64`).
pub const PACKETS_IN: usize = 20;
/// Three words (producer): payload bytes published (`u64`).
pub const BYTES_IN: usize = 23;
/// Three words (producer): times the producer found the ring full (`u64`).
pub const STALLS: usize = 26;

/// Word (consumer): total bytes of packets consumed, modulo 2³². A stalled producer waits on it
/// with `Atomics.waitAsync`.
pub const TAIL: usize = 32;
/// Three words (consumer): packets consumed (`u64`).
pub const PACKETS_OUT: usize = 33;
/// Three words (consumer): payload bytes consumed (`u64`).
pub const BYTES_OUT: usize = 36;

/// Number of header words.
pub const HEADER_WORDS: usize = 48;
/// Byte offset of the data area (64-byte aligned).
pub const DATA_OFFSET: usize = HEADER_WORDS * 4;
/// Bytes of a packet header in the data area (length, stream, kind, flags).
pub const PACKET_HEADER: u32 = 8;
/// Packets start on multiples of this in the data area.
pub const PACKET_ALIGN: u32 = 8;

/// `"PSRG"` read as a little-endian word.
pub const MAGIC_VALUE: u32 = u32::from_le_bytes(*b"PSRG");
/// The layout this crate reads and writes.
pub const VERSION_VALUE: u32 = 1;

/// Smallest data area: one packet header plus eight bytes of payload.
pub const MIN_CAPACITY: u32 = 16;
/// Largest data area (1 GiB), so that byte counts fit an `Int32Array` index and `HEAD - TAIL`
/// never becomes ambiguous.
pub const MAX_CAPACITY: u32 = 1 << 30;
/// Data area size used by [`Config::default`] (1 MiB).
pub const DEFAULT_CAPACITY: u32 = 1 << 20;
/// MTU used by [`Config::default`] (64 KiB).
pub const DEFAULT_MTU: u32 = 64 * 1024;

/// Total bytes of shared buffer a ring with a data area of `capacity` bytes needs.
pub const fn total_bytes(capacity: u32) -> usize {
    DATA_OFFSET + capacity as usize
}

/// Bytes a packet with `len` bytes of payload takes in the data area (header and padding).
pub(crate) const fn packet_size(len: u32) -> u32 {
    PACKET_HEADER + len.next_multiple_of(PACKET_ALIGN)
}

/// Shape of a ring, fixed when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Size of the data area in bytes: a power of two in
    /// [`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`].
    pub capacity: u32,
    /// Largest payload of one packet; larger messages are split into frames of at most this
    /// many bytes. At least 1 and at most `capacity - 8`, so a full-size packet fits an empty ring.
    pub mtu: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            capacity: DEFAULT_CAPACITY,
            mtu: DEFAULT_MTU,
        }
    }
}

impl Config {
    /// Checks the limits documented on the fields.
    pub fn validate(&self) -> Result<(), Error> {
        let Config { capacity, mtu } = *self;
        if !capacity.is_power_of_two() || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity) {
            return Err(Error::BadCapacity(capacity));
        }
        if mtu == 0 || mtu > capacity - PACKET_HEADER {
            return Err(Error::BadMtu { mtu, capacity });
        }
        Ok(())
    }

    /// Total bytes of shared buffer this ring needs ([`total_bytes`]).
    pub fn total_bytes(&self) -> usize {
        total_bytes(self.capacity)
    }
}

/// Writes a fresh header for an empty ring of shape `config` into `mem`.
///
/// Called once by whoever allocates the buffer (the page), before handing it to the producer and
/// the consumer. The data area is left as it is: nothing reads it before it is written.
pub fn init(mem: &impl SharedMemory, config: Config) -> Result<(), Error> {
    config.validate()?;
    check_size(mem, config.capacity)?;
    for word in 0..HEADER_WORDS {
        mem.store(word, 0);
    }
    mem.store(VERSION, VERSION_VALUE);
    mem.store(CAPACITY, config.capacity);
    mem.store(MTU, config.mtu);
    // Last, so that whoever sees the magic also sees the rest.
    mem.store(MAGIC, MAGIC_VALUE);
    Ok(())
}

fn check_size(mem: &impl SharedMemory, capacity: u32) -> Result<(), Error> {
    let needed = total_bytes(capacity);
    let actual = mem.byte_len();
    if actual < needed {
        return Err(Error::MemoryTooSmall { needed, actual });
    }
    Ok(())
}

/// The shape of an attached ring, read once from the header and trusted from then on (so a
/// later scribble on the configuration words cannot send the ring out of bounds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub capacity: u32,
    pub mtu: u32,
}

impl Geometry {
    /// Reads and checks the configuration words of an initialized ring.
    pub fn attach(mem: &impl SharedMemory) -> Result<Geometry, Error> {
        let magic = mem.load(MAGIC);
        let version = mem.load(VERSION);
        if magic != MAGIC_VALUE || version != VERSION_VALUE {
            return Err(Error::NotARing { magic, version });
        }
        let config = Config {
            capacity: mem.load(CAPACITY),
            mtu: mem.load(MTU),
        };
        config.validate()?;
        check_size(mem, config.capacity)?;
        Ok(Geometry {
            capacity: config.capacity,
            mtu: config.mtu,
        })
    }

    /// Offset of counter position `pos` inside the data area.
    pub fn offset(&self, pos: u32) -> u32 {
        pos & (self.capacity - 1)
    }

    /// Copies `src` into the data area at counter position `pos`, wrapping past the end.
    pub fn write(&self, mem: &impl SharedMemory, pos: u32, src: &[u8]) {
        let offset = self.offset(pos);
        let first = src.len().min((self.capacity - offset) as usize);
        if first > 0 {
            mem.write_bytes(DATA_OFFSET + offset as usize, &src[..first]);
        }
        if first < src.len() {
            mem.write_bytes(DATA_OFFSET, &src[first..]);
        }
    }

    /// Copies bytes at counter position `pos` out of the data area, wrapping past the end.
    pub fn read(&self, mem: &impl SharedMemory, pos: u32, dst: &mut [u8]) {
        let offset = self.offset(pos);
        let first = dst.len().min((self.capacity - offset) as usize);
        if first > 0 {
            mem.read_bytes(DATA_OFFSET + offset as usize, &mut dst[..first]);
        }
        if first < dst.len() {
            mem.read_bytes(DATA_OFFSET, &mut dst[first..]);
        }
    }
}

/// Publishes a single-writer 64-bit counter at `base` that used to hold `old`.
pub(crate) fn store_u64(mem: &impl SharedMemory, base: usize, old: u64, new: u64) {
    let hi = (new >> 32) as u32;
    if hi != (old >> 32) as u32 {
        mem.store(base + 1, hi);
        mem.store(base, new as u32);
        mem.store(base + 2, hi);
    } else {
        mem.store(base, new as u32);
    }
}

/// Reads a 64-bit counter at `base` without tearing (see the module docs).
pub(crate) fn load_u64(mem: &impl SharedMemory, base: usize) -> u64 {
    // The two high halves differ only while the writer is between its first and last store of a
    // carry, once every 2³² counts; a few retries always suffice unless the writer died right
    // there, and then the first high half goes with the low half more often than not.
    for _ in 0..16 {
        let second = mem.load(base + 2);
        let lo = mem.load(base);
        let first = mem.load(base + 1);
        if first == second {
            return (u64::from(first) << 32) | u64::from(lo);
        }
    }
    (u64::from(mem.load(base + 1)) << 32) | u64::from(mem.load(base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AtomicMemory;

    #[test]
    fn words_do_not_overlap_and_sides_have_their_own_lines() {
        let producer = [HEAD, WAKE, WANT_SPACE, HIGH_WATER];
        let producer64 = [PACKETS_IN, BYTES_IN, STALLS];
        let consumer64 = [PACKETS_OUT, BYTES_OUT];
        let mut used = [false; HEADER_WORDS];
        let mut take = |w: usize| {
            assert!(!used[w], "word {w} used twice");
            used[w] = true;
        };
        for w in [MAGIC, VERSION, CAPACITY, MTU] {
            assert!(w < 16);
            take(w);
        }
        for w in producer {
            assert!((16..32).contains(&w));
            take(w);
        }
        for base in producer64 {
            assert!((16..30).contains(&base));
            (base..base + 3).for_each(&mut take);
        }
        assert_eq!(TAIL, 32);
        take(TAIL);
        for base in consumer64 {
            assert!((32..46).contains(&base));
            (base..base + 3).for_each(&mut take);
        }
        assert_eq!(DATA_OFFSET % 64, 0);
    }

    #[test]
    fn config_limits() {
        assert_eq!(Config::default().validate(), Ok(()));
        assert_eq!(Config::default().total_bytes(), 192 + (1 << 20));
        for bad in [0, 8, 24, 1000, 1 << 31] {
            let c = Config {
                capacity: bad,
                mtu: 1,
            };
            assert_eq!(c.validate(), Err(Error::BadCapacity(bad)));
        }
        let ok = Config {
            capacity: 16,
            mtu: 8,
        };
        assert_eq!(ok.validate(), Ok(()));
        for mtu in [0, 9] {
            let c = Config { capacity: 16, mtu };
            assert_eq!(c.validate(), Err(Error::BadMtu { mtu, capacity: 16 }));
        }
    }

    #[test]
    fn init_checks_size_and_attach_checks_header() {
        let config = Config {
            capacity: 64,
            mtu: 32,
        };
        let small = AtomicMemory::new(total_bytes(64) - 4);
        assert!(matches!(
            init(&small, config),
            Err(Error::MemoryTooSmall { .. })
        ));
        let mem = AtomicMemory::new(total_bytes(64));
        assert!(matches!(
            Geometry::attach(&mem),
            Err(Error::NotARing { magic: 0, .. })
        ));
        init(&mem, config).unwrap();
        let g = Geometry::attach(&mem).unwrap();
        assert_eq!((g.capacity, g.mtu), (64, 32));
        mem.store(MTU, 60);
        assert!(matches!(Geometry::attach(&mem), Err(Error::BadMtu { .. })));
        mem.store(MTU, 32);
        mem.store(CAPACITY, 128);
        assert!(matches!(
            Geometry::attach(&mem),
            Err(Error::MemoryTooSmall { .. })
        ));
    }

    #[test]
    fn wrapping_copies() {
        let mem = AtomicMemory::new(total_bytes(16));
        init(
            &mem,
            Config {
                capacity: 16,
                mtu: 8,
            },
        )
        .unwrap();
        let g = Geometry::attach(&mem).unwrap();
        let src: Vec<u8> = (0..16).collect();
        for pos in [0u32, 5, 12, 15, 16, u32::MAX - 3] {
            g.write(&mem, pos, &src);
            let mut back = [0u8; 16];
            g.read(&mem, pos, &mut back);
            assert_eq!(back.as_slice(), src.as_slice(), "at {pos}");
        }
    }

    #[test]
    fn u64_counters_carry() {
        let mem = AtomicMemory::new(total_bytes(16));
        let mut old = 0;
        for new in [5, u64::from(u32::MAX), 1 << 32, (1 << 32) + 9, 7 << 40] {
            store_u64(&mem, PACKETS_IN, old, new);
            assert_eq!(load_u64(&mem, PACKETS_IN), new);
            old = new;
        }
    }
}
