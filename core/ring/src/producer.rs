//! The writing side (the event thread).

use std::collections::VecDeque;

use crate::layout::{self, Counters, Geometry, ProducerCounters, PACKET_HEADER};
use crate::packet::Header;
use crate::{Error, Full, Kind, SharedMemory, Snapshot, WaitOn};

/// What [`Producer::flush`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Everything pushed so far is in the ring and published.
    Done,
    /// The ring is full and data is still queued. What fitted is published. Wait until `TAIL`
    /// moves (`Atomics.waitAsync` on the [`WaitOn`]; the consumer notifies it), then flush again.
    Blocked(WaitOn),
}

/// A message, or the rest of one, waiting for room in the ring.
#[derive(Debug)]
struct Queued {
    stream: u16,
    kind: Kind,
    data: Vec<u8>,
    /// Bytes of `data` already in the ring.
    sent: usize,
}

/// The single producer of a ring.
///
/// Writing is split from publishing: packets are copied into free space as they come, and made
/// visible all at once by one `HEAD` store, one `WAKE` increment and one notify (a batch). [`send`]
/// is a batch of one; [`push`] adds to the current batch and [`flush`] publishes it.
///
/// Per stream, bytes reach the consumer in the order they were given, whichever of the two ways
/// they went: [`send`] refuses to overtake queued data.
///
/// Every call into shared memory crosses from wasm into JavaScript in the browser and costs
/// about as much as copying a few hundred bytes, so small packets (headers, and payloads under
/// 4 KiB) are assembled in a staging buffer in the producer's own memory and copied into the
/// ring one contiguous run at a time (at most 64 KiB, two copies where the run wraps), always before the `HEAD` store that publishes them. Larger payloads are copied
/// straight from the caller's slice.
///
/// [`send`]: Producer::send
/// [`push`]: Producer::push
/// [`flush`]: Producer::flush
#[derive(Debug)]
pub struct Producer<M: SharedMemory> {
    mem: M,
    geo: Geometry,
    /// Where the next packet goes (includes written but unpublished packets).
    head: u32,
    /// Last value stored to `HEAD`.
    published: u32,
    /// Last value loaded from `TAIL`.
    tail: u32,
    /// Whether `WANT_SPACE` is 1.
    want_space: bool,
    counters: ProducerCounters,
    /// Whether `counters` changed since they were last published.
    counters_dirty: bool,
    shared_counters: Counters<{ layout::PRODUCER_SLOT_WORDS }>,
    backlog: VecDeque<Queued>,
    backlog_bytes: usize,
    /// Packets written but not yet copied into the ring: ring positions
    /// `stage_at..stage_at + stage.len()`, which always end at `head` between calls.
    stage: Vec<u8>,
    stage_at: u32,
    /// Most bytes staged before they are copied out (`STAGE` but for tests).
    stage_max: usize,
    /// Payloads of at least this many bytes are not staged (`DIRECT` but for tests).
    direct: usize,
}

/// Payloads of at least this many bytes are copied straight into the ring: staging them would
/// cost a copy in wasm as large as the call it saves.
pub(crate) const DIRECT: usize = 4096;
/// Most bytes the producer stages before copying them into the ring.
pub(crate) const STAGE: usize = 64 * 1024;

impl<M: SharedMemory> Producer<M> {
    /// Attaches to the ring in `mem` (initialized with [`init`](crate::init)), carrying on from
    /// its current head and counters.
    ///
    /// There must be one producer per ring at a time. A header whose head and tail are not a
    /// packet boundary within one ring of each other is [`Error::Corrupt`]: free space
    /// computed from them would be nonsense.
    pub fn new(mem: M) -> Result<Producer<M>, Error> {
        let geo = Geometry::attach(&mem)?;
        let head = mem.load(layout::HEAD);
        let tail = mem.load(layout::TAIL);
        let used = head.wrapping_sub(tail);
        if used > geo.capacity || !used.is_multiple_of(layout::PACKET_ALIGN) {
            return Err(Error::Corrupt {
                position: tail,
                reason: "head is not a packet boundary within one ring of the tail",
            });
        }
        Ok(Producer {
            geo,
            head,
            published: head,
            tail,
            want_space: mem.load(layout::WANT_SPACE) != 0,
            counters: ProducerCounters::read(&mem),
            counters_dirty: false,
            shared_counters: Counters::attach(&mem, layout::PRODUCER_SEQ, layout::PRODUCER_SLOTS),
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            stage: Vec::new(),
            stage_at: head,
            stage_max: STAGE,
            direct: DIRECT,
            mem,
        })
    }

    /// Sets the staging limits (tests only: small ones exercise every path in a small ring).
    #[cfg(test)]
    pub(crate) fn with_staging(mut self, stage_max: usize, direct: usize) -> Producer<M> {
        assert!(direct + 2 * PACKET_HEADER as usize <= stage_max);
        self.stage_max = stage_max;
        self.direct = direct;
        self
    }

    /// Writes as much of `payload` as fits now as one message on `stream` (split into frames of
    /// at most one MTU) and publishes it, together with anything pushed before.
    ///
    /// Returns how many bytes went in. When that is less than `payload.len()` the frames written
    /// say "more follows", so the rest must go next on this stream (by `send` or [`push`]).
    /// Returns [`Full`] when nothing went in, which includes queued data still waiting (it goes
    /// first) and, for an empty payload, no room for its header.
    ///
    /// [`push`]: Producer::push
    pub fn send(&mut self, stream: u16, kind: Kind, payload: &[u8]) -> Result<usize, Full> {
        self.write_backlog();
        let result = if !self.backlog.is_empty() {
            Err(Full)
        } else {
            let mut sent = 0;
            let done = self.write_message(stream, kind, payload, &mut sent);
            if done || sent > 0 {
                Ok(sent)
            } else {
                Err(Full)
            }
        };
        if result != Ok(payload.len()) {
            self.stall();
        }
        self.publish();
        result
    }

    /// Queues `payload` as one message on `stream`: it is written into the ring at once if
    /// there is room, and copied aside otherwise. Nothing becomes visible to the consumer until
    /// [`flush`](Producer::flush) (or a [`send`](Producer::send)).
    pub fn push(&mut self, stream: u16, kind: Kind, payload: &[u8]) {
        let mut sent = 0;
        if self.backlog.is_empty() && self.write_message(stream, kind, payload, &mut sent) {
            return;
        }
        self.backlog_bytes += payload.len() - sent;
        self.backlog.push_back(Queued {
            stream,
            kind,
            data: payload[sent..].to_vec(),
            sent: 0,
        });
    }

    /// Writes queued messages while there is room and publishes everything written since the
    /// last publish, with one `HEAD` store, one `WAKE` increment and one notify.
    ///
    /// When data is still queued afterwards, it arms `WANT_SPACE` (so the consumer will notify
    /// `TAIL` when it frees space), counts a stall and returns [`Flush::Blocked`] with the tail
    /// value it saw after arming: wait until `TAIL` differs from it, then flush again.
    pub fn flush(&mut self) -> Flush {
        loop {
            self.write_backlog();
            self.publish();
            let Some(front) = self.backlog.front() else {
                if self.want_space {
                    self.want_space = false;
                    self.mem.store(layout::WANT_SPACE, 0);
                }
                return Flush::Done;
            };
            let needed = if front.sent < front.data.len() {
                PACKET_HEADER + 8
            } else {
                PACKET_HEADER
            };
            if !self.want_space {
                self.want_space = true;
                self.mem.store(layout::WANT_SPACE, 1);
            }
            // Read the tail after arming: if the consumer freed space before it could see the
            // flag, this load sees that space; if not, it will see the flag and notify.
            let seen = self.mem.load(layout::TAIL);
            self.accept_tail(seen);
            if self.free() >= needed {
                continue;
            }
            self.stall();
            self.write_counters();
            return Flush::Blocked(WaitOn {
                word: layout::TAIL,
                value: seen,
            });
        }
    }

    /// The ring's largest packet payload (larger messages are split into frames of this size).
    pub fn mtu(&self) -> usize {
        self.geo.mtu as usize
    }

    /// Payload bytes queued outside the ring.
    pub fn backlog(&self) -> usize {
        self.backlog_bytes
    }

    /// The ring's counters as they are now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::read_attached(&self.mem, self.geo)
    }

    /// The shared memory the ring lives in.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// Writes queued messages in order while there is room. Does not publish.
    fn write_backlog(&mut self) {
        while let Some(mut q) = self.backlog.pop_front() {
            let before = q.sent;
            let done = self.write_message(q.stream, q.kind, &q.data, &mut q.sent);
            self.backlog_bytes -= q.sent - before;
            if !done {
                self.backlog.push_front(q);
                return;
            }
        }
    }

    /// Writes frames of `data[*sent..]` while there is room; true once the last frame is in.
    fn write_message(&mut self, stream: u16, kind: Kind, data: &[u8], sent: &mut usize) -> bool {
        loop {
            let remaining = data.len() - *sent;
            let mtu = self.geo.mtu as usize;
            let whole = layout::packet_size(remaining.min(mtu) as u32);
            if self.free() < whole {
                self.refresh_tail();
            }
            let free = self.free();
            if free < PACKET_HEADER || (remaining > 0 && free < PACKET_HEADER + 8) {
                return false;
            }
            // `free` is a multiple of 8, so a payload of up to `free - 8` fits with its padding.
            let len = remaining.min(mtu).min((free - PACKET_HEADER) as usize);
            let more = len < remaining;
            self.write_frame(stream, kind, more, &data[*sent..*sent + len]);
            *sent += len;
            if !more {
                return true;
            }
        }
    }

    fn write_frame(&mut self, stream: u16, kind: Kind, more: bool, payload: &[u8]) {
        let len = payload.len() as u32;
        let header = Header {
            len,
            stream,
            kind,
            more,
        };
        let size = layout::packet_size(len) as usize;
        if payload.len() >= self.direct {
            // The header goes out with whatever is staged before it; the payload in one call.
            self.stage(&header.encode());
            self.write_stage();
            self.geo
                .write(&self.mem, self.head.wrapping_add(PACKET_HEADER), payload);
        } else {
            if self.stage.len() + size > self.stage_max {
                self.write_stage();
            }
            self.stage(&header.encode());
            self.stage.extend_from_slice(payload);
            // Padding: never read, but staged so that the run stays contiguous.
            let padded = self.stage.len() + size - PACKET_HEADER as usize - payload.len();
            self.stage.resize(padded, 0);
        }
        self.head = self.head.wrapping_add(size as u32);
        // Statistics carried on from the header at attach: wrapping, whatever it held.
        self.counters.packets = self.counters.packets.wrapping_add(1);
        self.counters.bytes = self.counters.bytes.wrapping_add(u64::from(len));
        self.counters_dirty = true;
    }

    /// Appends `bytes` to the staged run, which starts at `head` if it was empty.
    fn stage(&mut self, bytes: &[u8]) {
        if self.stage.is_empty() {
            self.stage_at = self.head;
        }
        self.stage.extend_from_slice(bytes);
    }

    /// Copies the staged run into the ring (two copies where it wraps).
    fn write_stage(&mut self) {
        if !self.stage.is_empty() {
            self.geo.write(&self.mem, self.stage_at, &self.stage);
            self.stage.clear();
        }
    }

    /// Makes everything written visible and wakes the consumer.
    fn publish(&mut self) {
        if self.head == self.published {
            self.write_counters();
            return;
        }
        // The bytes must be in the ring before the HEAD store reveals them.
        self.write_stage();
        self.refresh_tail();
        let used = self.head.wrapping_sub(self.tail);
        self.counters.high_water = self.counters.high_water.max(used);
        // Counters before HEAD, so a snapshot never shows more packets out than in.
        self.counters_dirty = true;
        self.write_counters();
        self.mem.store(layout::HEAD, self.head);
        self.published = self.head;
        self.mem.add(layout::WAKE, 1);
        self.mem.notify(layout::WAKE);
    }

    fn write_counters(&mut self) {
        if self.counters_dirty {
            self.counters_dirty = false;
            self.shared_counters
                .write(&self.mem, self.counters.to_words());
        }
    }

    fn stall(&mut self) {
        self.counters.stalls = self.counters.stalls.wrapping_add(1);
        self.counters_dirty = true;
    }

    fn refresh_tail(&mut self) {
        let tail = self.mem.load(layout::TAIL);
        self.accept_tail(tail);
    }

    /// Takes a tail loaded from the header, unless it is impossible (a consumer that writes
    /// nonsense gets no more data rather than having unread or unpublished data overwritten).
    fn accept_tail(&mut self, tail: u32) {
        let used = self.head.wrapping_sub(tail);
        let unpublished = self.head.wrapping_sub(self.published);
        if used <= self.geo.capacity
            && used >= unpublished
            && used.is_multiple_of(layout::PACKET_ALIGN)
        {
            self.tail = tail;
        }
    }

    /// Free bytes as of the last tail seen; always a multiple of 8.
    fn free(&self) -> u32 {
        self.geo.capacity - self.head.wrapping_sub(self.tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{init, total_bytes, AtomicMemory, Config, Consumer};

    fn ring(capacity: u32, mtu: u32) -> AtomicMemory {
        let mem = AtomicMemory::new(total_bytes(capacity));
        init(&mem, Config { capacity, mtu }).unwrap();
        mem
    }

    fn drain_all(c: &mut Consumer<&AtomicMemory>) -> Vec<(u16, Kind, Vec<u8>)> {
        let mut out = Vec::new();
        c.drain(|p| out.push((p.stream, p.kind, p.payload.to_vec())))
            .unwrap();
        out
    }

    /// Found by the `ring_consume` fuzz target: a header whose tail was more than a ring
    /// behind its head made `free()` underflow (a panic in debug builds, a huge free count
    /// and overwritten unread data in release) on the first send.
    #[test]
    fn a_header_with_head_and_tail_apart_does_not_attach() {
        for (head, tail) in [(72, 0), (0, 8), (12, 0), (u32::MAX - 7, 64)] {
            let mem = ring(64, 16);
            mem.store(layout::HEAD, head);
            mem.store(layout::TAIL, tail);
            let err = Producer::new(&mem).unwrap_err();
            assert!(
                matches!(err, Error::Corrupt { .. }),
                "{head} {tail}: {err:?}"
            );
        }
        // Within one ring, wrapped around the counter: fine.
        let mem = ring(64, 16);
        mem.store(layout::HEAD, 8);
        mem.store(layout::TAIL, u32::MAX - 7);
        let mut p = Producer::new(&mem).unwrap();
        assert_eq!(p.send(0, Kind::Data, &[1; 8]), Ok(8));
    }

    /// Found by the `ring_consume` fuzz target: counters read at attach from a header holding
    /// `u64::MAX` overflowed on the next stall or packet (a panic in debug builds).
    #[test]
    fn counters_carried_on_from_the_header_wrap() {
        let mem = ring(32, 16);
        let max = ProducerCounters {
            packets: u64::MAX,
            bytes: u64::MAX,
            stalls: u64::MAX,
            high_water: 0,
        };
        Counters::<{ layout::PRODUCER_SLOT_WORDS }>::attach(
            &mem,
            layout::PRODUCER_SEQ,
            layout::PRODUCER_SLOTS,
        )
        .write(&mem, max.to_words());
        let mut consumer_counters = Counters::<{ layout::CONSUMER_SLOT_WORDS }>::attach(
            &mem,
            layout::CONSUMER_SEQ,
            layout::CONSUMER_SLOTS,
        );
        consumer_counters.write(&mem, [u32::MAX; layout::CONSUMER_SLOT_WORDS]);
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        assert_eq!(p.send(0, Kind::Data, &[7; 24]), Ok(16), "a stall");
        assert_eq!(p.send(0, Kind::Data, &[7; 8]), Err(Full));
        assert_eq!(c.drain(|_| {}), Ok(0));
        assert_eq!(p.send(0, Kind::Data, &[7; 8]), Ok(8));
        assert_eq!(c.drain(|_| {}), Ok(1));
        let s = p.snapshot();
        assert_eq!((s.packets_in, s.packets_out, s.stalls), (1, 1, 1));
    }

    #[test]
    fn send_publishes_once_per_call() {
        let mem = ring(64, 16);
        let mut p = Producer::new(&mem).unwrap();
        assert_eq!(p.send(1, Kind::Data, b"abc"), Ok(3));
        assert_eq!(mem.load(layout::HEAD), 16);
        assert_eq!(mem.load(layout::WAKE), 1);
        // Nothing to publish: no wake.
        p.flush();
        assert_eq!(mem.load(layout::WAKE), 1);
    }

    #[test]
    fn pushes_are_one_batch() {
        let mem = ring(256, 16);
        let mut p = Producer::new(&mem).unwrap();
        for i in 0..5u8 {
            p.push(u16::from(i), Kind::Data, &[i; 3]);
        }
        assert_eq!(mem.load(layout::HEAD), 0, "nothing visible before flush");
        assert_eq!(p.flush(), Flush::Done);
        assert_eq!(mem.load(layout::HEAD), 5 * 16);
        assert_eq!(mem.load(layout::WAKE), 1);
        let s = p.snapshot();
        assert_eq!((s.packets_in, s.bytes_in, s.used), (5, 15, 80));
    }

    #[test]
    fn send_returns_full_and_partial_counts() {
        let mem = ring(32, 16);
        let mut p = Producer::new(&mem).unwrap();
        // One MTU frame (24 bytes with its header) fits; the second frame would need 16 more.
        assert_eq!(p.send(0, Kind::Data, &[7; 24]), Ok(16));
        assert_eq!(p.snapshot().used, 24);
        assert_eq!(p.send(0, Kind::Data, &[7; 8]), Err(Full));
        assert_eq!(p.snapshot().stalls, 2);
        let mut c = Consumer::new(&mem).unwrap();
        assert!(drain_all(&mut c).is_empty(), "message is unfinished");
        assert_eq!(p.send(0, Kind::Data, &[7; 8]), Ok(8));
        assert_eq!(drain_all(&mut c), vec![(0, Kind::Data, vec![7; 24])]);
        // Exactly full, then even an empty packet has no room.
        assert_eq!(p.send(1, Kind::Data, &[1; 8]), Ok(8));
        assert_eq!(p.send(1, Kind::Data, &[2; 8]), Ok(8));
        assert_eq!(p.snapshot().used, 32);
        assert_eq!(p.send(1, Kind::End, &[]), Err(Full));
        assert_eq!(drain_all(&mut c).len(), 2);
        assert_eq!(p.send(1, Kind::End, &[]), Ok(0));
        assert_eq!(drain_all(&mut c), vec![(1, Kind::End, vec![])]);
    }

    #[test]
    fn send_does_not_overtake_the_backlog() {
        let mem = ring(32, 16);
        let mut p = Producer::new(&mem).unwrap();
        p.push(0, Kind::Data, &[1; 16]);
        p.push(0, Kind::Data, &[2; 16]);
        assert_eq!(p.backlog(), 16);
        assert!(matches!(p.flush(), Flush::Blocked(_)));
        assert_eq!(p.send(0, Kind::Data, &[3]), Err(Full));
        let mut c = Consumer::new(&mem).unwrap();
        assert_eq!(drain_all(&mut c), vec![(0, Kind::Data, vec![1; 16])]);
        // The queued message takes the freed space; [3] no longer fits behind it.
        assert_eq!(p.send(0, Kind::Data, &[3]), Err(Full));
        assert_eq!(p.backlog(), 0);
        assert_eq!(drain_all(&mut c), vec![(0, Kind::Data, vec![2; 16])]);
        assert_eq!(p.send(0, Kind::Data, &[3]), Ok(1));
        assert_eq!(drain_all(&mut c), vec![(0, Kind::Data, vec![3])]);
    }

    #[test]
    fn blocked_flush_arms_want_space_and_done_disarms() {
        let mem = ring(32, 16);
        let mut p = Producer::new(&mem).unwrap();
        p.push(3, Kind::Control, &[9; 40]);
        let Flush::Blocked(w) = p.flush() else {
            panic!("ring of 32 cannot hold 40")
        };
        assert_eq!(
            w,
            WaitOn {
                word: layout::TAIL,
                value: 0
            }
        );
        assert_eq!(mem.load(layout::WANT_SPACE), 1);
        assert_eq!(p.snapshot().stalls, 1);
        let mut c = Consumer::new(&mem).unwrap();
        let mut got = Vec::new();
        loop {
            c.drain(|pk| got.push(pk.payload.to_vec())).unwrap();
            if p.flush() == Flush::Done {
                break;
            }
        }
        c.drain(|pk| got.push(pk.payload.to_vec())).unwrap();
        assert_eq!(got, vec![vec![9; 40]]);
        assert_eq!(mem.load(layout::WANT_SPACE), 0);
    }

    #[test]
    fn a_nonsense_tail_stops_the_producer_without_overwriting() {
        let mem = ring(64, 16);
        let mut p = Producer::new(&mem).unwrap();
        assert_eq!(p.send(0, Kind::Data, &[1; 8]), Ok(8));
        mem.store(layout::TAIL, 100);
        // As if the tail were still 0: 48 bytes free, two full frames.
        assert_eq!(p.send(0, Kind::Data, &[2; 48]), Ok(32));
        // Ahead of head, unaligned, more than a ring behind, ahead of head again.
        for bad in [100, 3, u32::MAX - 7, 72] {
            mem.store(layout::TAIL, bad);
            assert_eq!(p.send(0, Kind::Data, &[2; 16]), Err(Full), "tail {bad}");
        }
        mem.store(layout::TAIL, 16);
        assert_eq!(p.send(0, Kind::Data, &[2; 16]), Ok(8));
    }

    #[test]
    fn staged_runs_are_written_when_full_and_before_head() {
        use crate::testing::{count, Call, Counting};
        let mem = Counting::ring(256, 16);
        let mut p = Producer::new(&mem).unwrap().with_staging(64, 16);
        for i in 0..10u8 {
            p.push(0, Kind::Data, &[i; 8]);
        }
        // Four 16-byte packets fill the stage; the fifth and ninth send it out.
        assert_eq!(
            mem.take()
                .into_iter()
                .filter(|c| matches!(c, Call::Write(..)))
                .collect::<Vec<_>>(),
            vec![
                Call::Write(layout::DATA_OFFSET, 64),
                Call::Write(layout::DATA_OFFSET + 64, 64)
            ]
        );
        assert_eq!(mem.inner.load(layout::HEAD), 0);
        assert_eq!(p.flush(), Flush::Done);
        let calls = mem.take();
        let write = calls.iter().position(|c| matches!(c, Call::Write(..)));
        let head = calls.iter().position(|c| *c == Call::Store(layout::HEAD));
        assert_eq!(
            calls[write.unwrap()],
            Call::Write(layout::DATA_OFFSET + 128, 32)
        );
        assert!(write < head, "{calls:?}");
        assert_eq!(count(&calls).1, 1);
        // A payload of `direct` bytes or more goes straight in, after its staged header.
        mem.take();
        let mut c = Consumer::new(&mem.inner).unwrap();
        c.drain(|_| ()).unwrap();
        p.push(1, Kind::Data, &[7; 3]);
        p.push(1, Kind::Data, &[8; 16]);
        assert_eq!(p.flush(), Flush::Done);
        let writes: Vec<Call> = mem
            .take()
            .into_iter()
            .filter(|c| matches!(c, Call::Write(..)))
            .collect();
        let at = layout::DATA_OFFSET + 160;
        assert_eq!(
            writes,
            vec![Call::Write(at, 16 + 8), Call::Write(at + 24, 16)]
        );
        let mut got = Vec::new();
        c.drain(|pk| got.push(pk.payload.to_vec())).unwrap();
        assert_eq!(got, vec![vec![7; 3], vec![8; 16]]);
    }

    #[test]
    fn attaching_again_carries_on() {
        let mem = ring(64, 16);
        let mut p = Producer::new(&mem).unwrap();
        p.send(0, Kind::Data, &[1; 5]).unwrap();
        drop(p);
        let mut p = Producer::new(&mem).unwrap();
        p.send(0, Kind::Data, &[2; 5]).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        assert_eq!(drain_all(&mut c).len(), 2);
        assert_eq!(p.snapshot().packets_in, 2);
    }
}
