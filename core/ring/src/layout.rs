//! Where everything lives in the shared buffer.
//!
//! ```text
//! byte 0    word 0..16   configuration, written once by `init` before the ring is shared
//!                        MAGIC, VERSION, CAPACITY, MTU
//! byte 64   word 16..48  written by the producer (cache lines of its own)
//!                        HEAD, WAKE, WANT_SPACE, PRODUCER_SEQ, PRODUCER_SLOTS (2 x 7 words)
//! byte 192  word 48..64  written by the consumer (a cache line of its own)
//!                        TAIL, CONSUMER_SEQ, CONSUMER_SLOTS (2 x 4 words)
//! byte 256  DATA_OFFSET  data area, CAPACITY bytes (a power of two), packets 8-byte aligned
//! ```
//!
//! `HEAD` and `TAIL` are free-running `u32` byte counters: the producer has written `HEAD` bytes
//! of packets in total and the consumer has consumed `TAIL`, both modulo 2³². Bytes in use are
//! `HEAD - TAIL` (wrapping); the byte at counter `n` lives at `DATA_OFFSET + (n & (CAPACITY - 1))`.
//! Because `CAPACITY` divides 2³², the counters wrap around without any special case, and a full
//! ring (`HEAD - TAIL == CAPACITY`) is told apart from an empty one (`HEAD == TAIL`) without
//! wasting a slot.
//!
//! Counters (packets, bytes, stalls, high-water mark) are double-buffered per side so that any
//! thread can read them at any moment without a lock, without tearing a 64-bit value, and
//! without ever waiting for a writer that was descheduled halfway through an update. The side's
//! single writer bumps its sequence word `s` to `s + 1` by first filling slot `(s + 1) & 1`
//! with all of its counters and then storing `s + 1`. A reader loads `s`, reads slot `s & 1`
//! and loads the sequence again: if it is still `s`, nobody touched that slot meanwhile (the
//! writer only rewrites it after storing `s + 1`), so the values are one consistent update.
//! Otherwise the writer finished an update in between, and the reader tries again. 64-bit
//! counters are two words, low half first.

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
/// Word (producer): update count of the producer's counters; slot `seq & 1` is the current one.
pub const PRODUCER_SEQ: usize = 19;
/// First word of the producer's two counter slots, [`PRODUCER_SLOT_WORDS`] words each.
pub const PRODUCER_SLOTS: usize = 20;
/// Words per producer slot: packets in (`u64`), bytes in (`u64`), stalls (`u64`), high water.
pub const PRODUCER_SLOT_WORDS: usize = 7;

/// Word (consumer): total bytes of packets consumed, modulo 2³². A stalled producer waits on it
/// with `Atomics.waitAsync`.
pub const TAIL: usize = 48;
/// Word (consumer): update count of the consumer's counters; slot `seq & 1` is the current one.
pub const CONSUMER_SEQ: usize = 49;
/// First word of the consumer's two counter slots, [`CONSUMER_SLOT_WORDS`] words each.
pub const CONSUMER_SLOTS: usize = 50;
/// Words per consumer slot: packets out (`u64`), bytes out (`u64`).
pub const CONSUMER_SLOT_WORDS: usize = 4;

/// Offset in a slot of the packet count (`u64`, low word first).
pub const SLOT_PACKETS: usize = 0;
/// Offset in a slot of the payload byte count (`u64`, low word first).
pub const SLOT_BYTES: usize = 2;
/// Offset in a producer slot of the stall count (`u64`, low word first).
pub const SLOT_STALLS: usize = 4;
/// Offset in a producer slot of the high-water mark (bytes in use, `u32`).
pub const SLOT_HIGH_WATER: usize = 6;

/// Number of header words.
pub const HEADER_WORDS: usize = 64;
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

/// The counters one side publishes, as written by its single writer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters<const N: usize> {
    seq_word: usize,
    slots: usize,
    seq: u32,
    /// What this writer last stored in each slot, once it has filled that slot itself.
    written: [Option<[u32; N]>; 2],
}

/// Splits a `u64` into the two words of a slot (low first).
pub(crate) fn split(v: u64) -> [u32; 2] {
    [v as u32, (v >> 32) as u32]
}

/// Joins two slot words (low first) into a `u64`.
pub(crate) fn join(words: &[u32]) -> u64 {
    u64::from(words[0]) | (u64::from(words[1]) << 32)
}

impl<const N: usize> Counters<N> {
    /// The writer's handle on the counters at `seq_word` / `slots`, carrying on from memory.
    pub fn attach(mem: &impl SharedMemory, seq_word: usize, slots: usize) -> Counters<N> {
        Counters {
            seq_word,
            slots,
            seq: mem.load(seq_word),
            written: [None, None],
        }
    }

    /// Publishes `values` as one update.
    ///
    /// Words the slot already holds are not stored again (each store is a call into JS in the
    /// browser; usually only the low halves of the packet and byte counts change). The slot's
    /// contents are known because this is its only writer; until it has filled a slot once, it
    /// stores every word. Skipping a store changes nothing for a reader: once the sequence word
    /// is stored, the slot holds exactly `values` either way.
    pub fn write(&mut self, mem: &impl SharedMemory, values: [u32; N]) {
        let seq = self.seq.wrapping_add(1);
        let slot = (seq & 1) as usize;
        let base = self.slots + slot * N;
        let old = self.written[slot];
        for (i, v) in values.into_iter().enumerate() {
            if old.is_none_or(|old| old[i] != v) {
                mem.store(base + i, v);
            }
        }
        mem.store(self.seq_word, seq);
        self.seq = seq;
        self.written[slot] = Some(values);
    }

    /// Reads the last complete update (see the module docs).
    pub fn read(mem: &impl SharedMemory, seq_word: usize, slots: usize) -> [u32; N] {
        let mut values = [0; N];
        // Each retry means the writer completed an update meanwhile, which takes longer than
        // this read; so retries are rare and short. The cap only guards against a writer
        // scribbling on its sequence word in a loop.
        for _ in 0..1000 {
            let seq = mem.load(seq_word);
            let base = slots + (seq & 1) as usize * N;
            for (i, v) in values.iter_mut().enumerate() {
                *v = mem.load(base + i);
            }
            if mem.load(seq_word) == seq {
                break;
            }
        }
        values
    }
}

/// The producer's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProducerCounters {
    pub packets: u64,
    pub bytes: u64,
    pub stalls: u64,
    pub high_water: u32,
}

impl ProducerCounters {
    pub fn to_words(self) -> [u32; PRODUCER_SLOT_WORDS] {
        let [p0, p1] = split(self.packets);
        let [b0, b1] = split(self.bytes);
        let [s0, s1] = split(self.stalls);
        [p0, p1, b0, b1, s0, s1, self.high_water]
    }

    pub fn read(mem: &impl SharedMemory) -> ProducerCounters {
        let w = Counters::<PRODUCER_SLOT_WORDS>::read(mem, PRODUCER_SEQ, PRODUCER_SLOTS);
        ProducerCounters {
            packets: join(&w[SLOT_PACKETS..]),
            bytes: join(&w[SLOT_BYTES..]),
            stalls: join(&w[SLOT_STALLS..]),
            high_water: w[SLOT_HIGH_WATER],
        }
    }
}

/// The consumer's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ConsumerCounters {
    pub packets: u64,
    pub bytes: u64,
}

impl ConsumerCounters {
    pub fn to_words(self) -> [u32; CONSUMER_SLOT_WORDS] {
        let [p0, p1] = split(self.packets);
        let [b0, b1] = split(self.bytes);
        [p0, p1, b0, b1]
    }

    pub fn read(mem: &impl SharedMemory) -> ConsumerCounters {
        let w = Counters::<CONSUMER_SLOT_WORDS>::read(mem, CONSUMER_SEQ, CONSUMER_SLOTS);
        ConsumerCounters {
            packets: join(&w[SLOT_PACKETS..]),
            bytes: join(&w[SLOT_BYTES..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AtomicMemory;

    #[test]
    fn words_do_not_overlap_and_sides_have_their_own_lines() {
        let mut used = [false; HEADER_WORDS];
        let mut take = |w: usize, lines: std::ops::Range<usize>| {
            assert!(lines.contains(&w), "word {w} outside {lines:?}");
            assert!(!used[w], "word {w} used twice");
            used[w] = true;
        };
        for w in [MAGIC, VERSION, CAPACITY, MTU] {
            take(w, 0..16);
        }
        for w in [HEAD, WAKE, WANT_SPACE, PRODUCER_SEQ] {
            take(w, 16..48);
        }
        for w in PRODUCER_SLOTS..PRODUCER_SLOTS + 2 * PRODUCER_SLOT_WORDS {
            take(w, 16..48);
        }
        for w in [TAIL, CONSUMER_SEQ] {
            take(w, 48..64);
        }
        for w in CONSUMER_SLOTS..CONSUMER_SLOTS + 2 * CONSUMER_SLOT_WORDS {
            take(w, 48..64);
        }
        assert_eq!(SLOT_HIGH_WATER + 1, PRODUCER_SLOT_WORDS);
        assert_eq!(SLOT_BYTES + 2, CONSUMER_SLOT_WORDS);
        assert_eq!(DATA_OFFSET % 64, 0);
    }

    #[test]
    fn config_limits() {
        assert_eq!(Config::default().validate(), Ok(()));
        assert_eq!(Config::default().total_bytes(), 256 + (1 << 20));
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
    fn counters_store_only_words_that_changed_in_their_slot() {
        use crate::testing::{count, Counting};
        let mem = Counting::ring(16, 8);
        let mut c = Counters::<CONSUMER_SLOT_WORDS>::attach(&mem, CONSUMER_SEQ, CONSUMER_SLOTS);
        mem.take();
        // Each slot is filled whole the first time.
        c.write(&mem, [1, 0, 10, 0]);
        c.write(&mem, [2, 0, 20, 0]);
        assert_eq!(count(&mem.take()).2, 2 * (CONSUMER_SLOT_WORDS + 1));
        // Then only what differs from the slot's last update, and the sequence word.
        c.write(&mem, [3, 0, 30, 0]);
        assert_eq!(count(&mem.take()).2, 3);
        c.write(&mem, [4, 0, 20, 0]);
        assert_eq!(count(&mem.take()).2, 2);
        c.write(&mem, [4, 0, 20, 0]);
        assert_eq!(count(&mem.take()).2, 3);
        c.write(&mem, [u32::MAX, 7, 20, 0]);
        assert_eq!(count(&mem.take()).2, 3);
        let read = Counters::<CONSUMER_SLOT_WORDS>::read(&mem, CONSUMER_SEQ, CONSUMER_SLOTS);
        assert_eq!(read, [u32::MAX, 7, 20, 0]);
        // A new writer carries on without trusting what it did not write.
        let mut again = Counters::<CONSUMER_SLOT_WORDS>::attach(&mem, CONSUMER_SEQ, CONSUMER_SLOTS);
        mem.take();
        again.write(&mem, [u32::MAX, 7, 20, 0]);
        assert_eq!(count(&mem.take()).2, CONSUMER_SLOT_WORDS + 1);
        let read = Counters::<CONSUMER_SLOT_WORDS>::read(&mem, CONSUMER_SEQ, CONSUMER_SLOTS);
        assert_eq!(read, [u32::MAX, 7, 20, 0]);
    }

    #[test]
    fn counters_alternate_slots_and_carry() {
        let mem = AtomicMemory::new(total_bytes(16));
        let mut c = Counters::<CONSUMER_SLOT_WORDS>::attach(&mem, CONSUMER_SEQ, CONSUMER_SLOTS);
        for (n, v) in [5, u64::from(u32::MAX), 1 << 32, (1 << 32) + 9, 7 << 40]
            .into_iter()
            .enumerate()
        {
            let [lo, hi] = split(v);
            c.write(&mem, [lo, hi, 1, 2]);
            assert_eq!(mem.load(CONSUMER_SEQ), n as u32 + 1);
            let read = Counters::<CONSUMER_SLOT_WORDS>::read(&mem, CONSUMER_SEQ, CONSUMER_SLOTS);
            assert_eq!(join(&read), v);
            assert_eq!(read[2..], [1, 2]);
        }
        // A writer stopped halfway through filling the next slot does not disturb readers.
        let next =
            CONSUMER_SLOTS + CONSUMER_SLOT_WORDS * ((mem.load(CONSUMER_SEQ) as usize + 1) & 1);
        mem.store(next, 0xdead);
        let read = Counters::<CONSUMER_SLOT_WORDS>::read(&mem, CONSUMER_SEQ, CONSUMER_SLOTS);
        assert_eq!(join(&read), 7 << 40);
        // Carrying on after re-attaching.
        let mut again = Counters::<CONSUMER_SLOT_WORDS>::attach(&mem, CONSUMER_SEQ, CONSUMER_SLOTS);
        again.write(&mem, [1, 0, 0, 0]);
        assert_eq!(mem.load(CONSUMER_SEQ), 6);
    }
}
