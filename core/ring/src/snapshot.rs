//! The ring's occupancy and counters, readable from any thread at any time.

use crate::layout::{self, ConsumerCounters, Geometry, ProducerCounters};
use crate::{Error, SharedMemory};

/// The ring's counters at one moment, read without stopping either side.
///
/// Each side's counters come from one update of that side (never torn, 64-bit values
/// included). The consumer's are read before the producer's, so `packets_out <= packets_in`
/// and `bytes_out <= bytes_in` always hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Size of the data area in bytes.
    pub capacity: u32,
    /// Largest payload of one packet.
    pub mtu: u32,
    /// Bytes of the data area in use (packet headers and padding included).
    pub used: u32,
    /// Most bytes ever in use, as seen by the producer when publishing.
    pub high_water: u32,
    /// Packets (frames) published.
    pub packets_in: u64,
    /// Payload bytes published.
    pub bytes_in: u64,
    /// Packets (frames) consumed.
    pub packets_out: u64,
    /// Payload bytes consumed.
    pub bytes_out: u64,
    /// Times the producer found the ring too full for what it had to write.
    pub stalls: u64,
}

impl Snapshot {
    /// Reads the counters of the ring in `mem` (the page does this on its own view of the
    /// buffer; neither side is disturbed).
    pub fn read(mem: &impl SharedMemory) -> Result<Snapshot, Error> {
        Ok(Snapshot::read_attached(mem, Geometry::attach(mem)?))
    }

    pub(crate) fn read_attached(mem: &impl SharedMemory, geo: Geometry) -> Snapshot {
        // Consumer side first: whatever it has counted, the producer counted before.
        let out = ConsumerCounters::read(mem);
        let tail = mem.load(layout::TAIL);
        let into = ProducerCounters::read(mem);
        let head = mem.load(layout::HEAD);
        Snapshot {
            capacity: geo.capacity,
            mtu: geo.mtu,
            // Tail was read first, so head - tail is not negative; it can exceed the capacity
            // only if the consumer moved on in between (or a side wrote nonsense).
            used: head.wrapping_sub(tail).min(geo.capacity),
            high_water: into.high_water.min(geo.capacity),
            packets_in: into.packets,
            bytes_in: into.bytes,
            packets_out: out.packets,
            bytes_out: out.bytes,
            stalls: into.stalls,
        }
    }

    /// Bytes of the data area free.
    pub fn free(&self) -> u32 {
        self.capacity - self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{init, total_bytes, AtomicMemory, Config, Consumer, Kind, Producer};

    #[test]
    fn reads_counters_from_any_handle() {
        let mem = AtomicMemory::new(total_bytes(64));
        assert!(matches!(Snapshot::read(&mem), Err(Error::NotARing { .. })));
        init(
            &mem,
            Config {
                capacity: 64,
                mtu: 16,
            },
        )
        .unwrap();
        assert_eq!(
            Snapshot::read(&mem).unwrap(),
            Snapshot {
                capacity: 64,
                mtu: 16,
                ..Snapshot::default()
            }
        );
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        p.send(1, Kind::Data, &[0; 20]).unwrap();
        p.send(2, Kind::Data, &[0; 3]).unwrap();
        let s = Snapshot::read(&mem).unwrap();
        assert_eq!(
            (s.used, s.free(), s.high_water, s.packets_in, s.bytes_in),
            (24 + 16 + 16, 8, 56, 3, 23)
        );
        c.drain(|_| ()).unwrap();
        let s = Snapshot::read(&mem).unwrap();
        assert_eq!((s.used, s.packets_out, s.bytes_out), (0, 3, 23));
        assert_eq!(s, c.snapshot());
        assert_eq!(s, p.snapshot());
    }

    #[test]
    fn nonsense_counters_stay_in_range() {
        let mem = AtomicMemory::new(total_bytes(64));
        init(
            &mem,
            Config {
                capacity: 64,
                mtu: 16,
            },
        )
        .unwrap();
        mem.store(layout::TAIL, 1000);
        mem.store(layout::PRODUCER_SLOTS + layout::SLOT_HIGH_WATER, u32::MAX);
        let s = Snapshot::read(&mem).unwrap();
        assert_eq!((s.used, s.high_water, s.free()), (64, 64, 0));
    }
}
