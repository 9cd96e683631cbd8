//! The reading side (the wasm thread).

use std::collections::HashMap;

use crate::layout::{self, ConsumerCounters, Counters, Geometry, PACKET_HEADER};
use crate::packet::Header;
use crate::{Error, Kind, Packet, SharedMemory, Snapshot, WaitOn};

/// Default for [`Consumer::with_reassembly_limit`]: 16 MiB.
pub const DEFAULT_REASSEMBLY_LIMIT: usize = 16 << 20;

/// Most published bytes copied into an empty window at once.
const WINDOW: usize = 64 * 1024;
/// Frames of split messages with at least this many bytes of payload are read straight into
/// their message's buffer when they are not in the window already.
const DIRECT: usize = 4096;

/// A message whose frames are still coming.
#[derive(Debug)]
struct Partial {
    kind: Kind,
    /// `buf[..filled]` is the message so far; `buf` never shrinks, so it is zeroed only once.
    buf: Vec<u8>,
    filled: usize,
}

/// The single consumer of a ring.
///
/// Each [`drain`](Consumer::drain) takes every packet published so far, hands complete messages
/// to a callback, stores `TAIL` once, and notifies a producer that asked for space.
///
/// Every call into shared memory crosses from wasm into JavaScript in the browser and costs
/// about as much as copying a few hundred bytes, so the consumer does not read packet by packet:
/// it copies a run of published bytes (up to 64 KiB from the first unread packet, two copies
/// where the run wraps) into a window in its own memory and parses packets from there. A packet
/// that runs past the window's end is completed by copying just its missing bytes onto the
/// window's end, so no byte is copied out of the ring twice. Single-frame messages are handed to
/// the callback straight from the window. Frames of split messages are appended to a buffer per
/// stream: from the window as far as it holds them, the rest of a large one (4 KiB or more)
/// straight from the ring, after which the window fetches only the next header (likely the next
/// large frame's, whose payload then also goes straight into the buffer).
///
/// So every byte is copied out of the shared buffer once (frames of split messages may be
/// copied once more inside wasm), into buffers the consumer keeps and reuses, and draining
/// allocates nothing once those buffers have grown.
#[derive(Debug)]
pub struct Consumer<M: SharedMemory> {
    mem: M,
    geo: Geometry,
    tail: u32,
    counters: ConsumerCounters,
    shared_counters: Counters<{ layout::CONSUMER_SLOT_WORDS }>,
    /// Published bytes copied out of the ring: positions `window_at..window_at + window_len`
    /// in `window[..window_len]` (the vector only grows, so it is zeroed once). Emptied at the
    /// end of every drain, before `TAIL` lets the producer reuse the space.
    window: Vec<u8>,
    window_at: u32,
    window_len: usize,
    /// Most bytes fetched into an empty window (`WINDOW` but for tests).
    window_max: usize,
    /// Frames of split messages this long skip the window (`DIRECT` but for tests).
    direct: usize,
    /// The last frame skipped the window: fetch only the next header, as it is likely the next
    /// large frame's.
    header_only: bool,
    partial: HashMap<u16, Partial>,
    /// Payload bytes held in `partial`.
    pending: usize,
    limit: usize,
    /// The buffer of the last finished multi-frame message, for the next one.
    spare: Vec<u8>,
}

impl<M: SharedMemory> Consumer<M> {
    /// Attaches to the ring in `mem` (initialized with [`init`](crate::init)), carrying on from
    /// its current tail and counters.
    ///
    /// There must be one consumer per ring at a time. Frames of a message left unfinished by a
    /// previous consumer are not reassembled: attach only to a fresh ring or at a message
    /// boundary.
    pub fn new(mem: M) -> Result<Consumer<M>, Error> {
        let geo = Geometry::attach(&mem)?;
        Ok(Consumer {
            geo,
            tail: mem.load(layout::TAIL),
            counters: ConsumerCounters::read(&mem),
            shared_counters: Counters::attach(&mem, layout::CONSUMER_SEQ, layout::CONSUMER_SLOTS),
            window: Vec::new(),
            window_at: 0,
            window_len: 0,
            window_max: WINDOW,
            direct: DIRECT,
            header_only: false,
            partial: HashMap::new(),
            pending: 0,
            limit: DEFAULT_REASSEMBLY_LIMIT,
            spare: Vec::new(),
            mem,
        })
    }

    /// Sets the window's limits (tests only: small ones exercise every path in a small ring).
    #[cfg(test)]
    pub(crate) fn with_window(mut self, window_max: usize, direct: usize) -> Consumer<M> {
        assert!(window_max >= PACKET_HEADER as usize);
        self.window_max = window_max;
        self.direct = direct;
        self
    }

    /// Caps the payload bytes held in unfinished split messages, across all streams (default
    /// [`DEFAULT_REASSEMBLY_LIMIT`]). Past it, [`drain`](Consumer::drain) reports
    /// [`Error::TooLarge`] instead of growing without bound.
    pub fn with_reassembly_limit(mut self, limit: usize) -> Consumer<M> {
        self.limit = limit;
        self
    }

    /// Step 1 of waiting for data: reads the wake counter. Drain after this call, and if there
    /// is nothing to do, sleep with `Atomics.wait(i32, word, value, timeout)`; a publish after
    /// this read changes the counter, so the wait returns at once instead of missing it.
    pub fn prepare_wait(&self) -> WaitOn {
        WaitOn {
            word: layout::WAKE,
            value: self.mem.load(layout::WAKE),
        }
    }

    /// Takes every packet published so far, calling `f` for each complete message in ring order
    /// (split messages once their last frame is in), and returns how many messages it delivered.
    ///
    /// Frames of unfinished messages are consumed into the consumer's buffers, so the ring's
    /// space is freed even while a message larger than the ring is still arriving.
    ///
    /// A packet that no producer writes (bad length, kind or flags; a head that is not a
    /// packet boundary or more than a ring ahead) stops the drain with [`Error::Corrupt`];
    /// everything before it has been delivered and freed, and the next drain stops there again.
    pub fn drain<F: FnMut(Packet<'_>)>(&mut self, mut f: F) -> Result<usize, Error> {
        let head = self.mem.load(layout::HEAD);
        let available = head.wrapping_sub(self.tail);
        if available > self.geo.capacity || !available.is_multiple_of(layout::PACKET_ALIGN) {
            return Err(Error::Corrupt {
                position: self.tail,
                reason: "head is not a packet boundary within one ring of the tail",
            });
        }
        let mut pos = self.tail;
        let mut delivered = 0;
        let (mut packets, mut bytes) = (0u64, 0u64);
        let result = loop {
            if pos == head {
                break Ok(());
            }
            match self.take(pos, head.wrapping_sub(pos), &mut f) {
                Ok((size, len, done)) => {
                    pos = pos.wrapping_add(size);
                    packets += 1;
                    bytes += u64::from(len);
                    delivered += usize::from(done);
                }
                Err(e) => break Err(e),
            }
        };
        // Past the TAIL store below, the producer may overwrite what the window was copied from.
        self.window_len = 0;
        if pos != self.tail {
            self.mem.store(layout::TAIL, pos);
            self.tail = pos;
            // Statistics carried on from the header at attach: wrapping, whatever it held.
            self.counters.packets = self.counters.packets.wrapping_add(packets);
            self.counters.bytes = self.counters.bytes.wrapping_add(bytes);
            self.shared_counters
                .write(&self.mem, self.counters.to_words());
            // After the TAIL store: either the producer armed WANT_SPACE before this load (and
            // is woken), or its own TAIL load after arming sees the new tail.
            if self.mem.load(layout::WANT_SPACE) != 0 {
                self.mem.notify(layout::TAIL);
            }
        }
        result.map(|()| delivered)
    }

    /// Payload bytes held in unfinished split messages.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The ring's counters as they are now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::read_attached(&self.mem, self.geo)
    }

    /// The shared memory the ring lives in.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// The packet header at `pos`, from the window; when the window does not hold it, the window
    /// is refilled from `pos` with up to `window_max` of the `available` bytes published from
    /// there (only the header after a frame that skipped the window).
    fn header(&mut self, pos: u32, available: u32) -> [u8; PACKET_HEADER as usize] {
        const H: usize = PACKET_HEADER as usize;
        let mut off = pos.wrapping_sub(self.window_at) as usize;
        if off > self.window_len || self.window_len - off < H {
            let want = if self.header_only {
                H
            } else {
                (available as usize).min(self.window_max)
            };
            self.window_at = pos;
            self.window_len = 0;
            self.extend(want);
            off = 0;
        }
        let mut raw = [0; H];
        raw.copy_from_slice(&self.window[off..off + H]);
        raw
    }

    /// Copies the next `n` bytes of the ring onto the end of the window (two copies if they
    /// wrap). They must be published.
    fn extend(&mut self, n: usize) {
        let end = self.window_len + n;
        if self.window.len() < end {
            self.window.resize(end, 0);
        }
        let from = self.window_at.wrapping_add(self.window_len as u32);
        self.geo
            .read(&self.mem, from, &mut self.window[self.window_len..end]);
        self.window_len = end;
    }

    /// Consumes the packet at `pos`, with `available` bytes published from there. Returns its
    /// size in the ring, its payload length, and whether a message was delivered.
    fn take<F: FnMut(Packet<'_>)>(
        &mut self,
        pos: u32,
        available: u32,
        f: &mut F,
    ) -> Result<(u32, u32, bool), Error> {
        let corrupt = |reason| Error::Corrupt {
            position: pos,
            reason,
        };
        let raw = self.header(pos, available);
        let h = Header::decode(raw).map_err(corrupt)?;
        if h.len > self.geo.mtu {
            return Err(corrupt("packet longer than the MTU"));
        }
        let size = layout::packet_size(h.len);
        if size > available {
            return Err(corrupt("packet runs past the head"));
        }
        let at = pos.wrapping_add(PACKET_HEADER);
        let len = h.len as usize;
        // The header is in the window, so the payload starts in it or right at its end.
        let off = at.wrapping_sub(self.window_at) as usize;
        debug_assert!(off <= self.window_len);
        if !h.more && (self.partial.is_empty() || !self.partial.contains_key(&h.stream)) {
            if off + len > self.window_len {
                self.extend(off + len - self.window_len);
            }
            self.header_only = false;
            f(Packet {
                stream: h.stream,
                kind: h.kind,
                payload: &self.window[off..off + len],
            });
            return Ok((size, h.len, true));
        }
        if self.pending + len > self.limit {
            return Err(Error::TooLarge {
                stream: h.stream,
                limit: self.limit,
            });
        }
        let mut have = (self.window_len - off).min(len);
        let direct = have < len && len >= self.direct;
        if !direct && have < len {
            self.extend(off + len - self.window_len);
            have = len;
        }
        let spare = &mut self.spare;
        let partial = self.partial.entry(h.stream).or_insert_with(|| Partial {
            kind: h.kind,
            buf: std::mem::take(spare),
            filled: 0,
        });
        if partial.kind != h.kind {
            return Err(corrupt("packet kind changes within a split message"));
        }
        let end = partial.filled + len;
        if partial.buf.len() < end {
            let grown = end.max(partial.buf.len() * 2).min(self.limit.max(end));
            partial.buf.resize(grown, 0);
        }
        // What the window holds of the payload is copied from it; the rest of a large one
        // straight from the ring.
        let dst = &mut partial.buf[partial.filled..end];
        dst[..have].copy_from_slice(&self.window[off..off + have]);
        if have < len {
            self.geo
                .read(&self.mem, at.wrapping_add(have as u32), &mut dst[have..]);
        }
        self.header_only = direct;
        partial.filled = end;
        self.pending += len;
        if h.more {
            return Ok((size, h.len, false));
        }
        let done = self.partial.remove(&h.stream).expect("entry was just used");
        self.pending -= done.filled;
        f(Packet {
            stream: h.stream,
            kind: done.kind,
            payload: &done.buf[..done.filled],
        });
        if done.buf.len() > self.spare.len() {
            self.spare = done.buf;
        }
        Ok((size, h.len, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::STAGE;
    use crate::testing::{count, Call, Counting};
    use crate::{init, total_bytes, AtomicMemory, Config, Flush, Producer};
    use std::sync::Arc;
    use std::time::Duration;

    type Msg = (u16, Kind, Vec<u8>);

    fn ring(capacity: u32, mtu: u32) -> AtomicMemory {
        let mem = AtomicMemory::new(total_bytes(capacity));
        init(&mem, Config { capacity, mtu }).unwrap();
        mem
    }

    fn drain_all(c: &mut Consumer<&AtomicMemory>) -> Vec<Msg> {
        let mut out = Vec::new();
        c.drain(|p| out.push((p.stream, p.kind, p.payload.to_vec())))
            .unwrap();
        out
    }

    fn bytes(seed: u8, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Pushes everything and drains until it is all through, flushing whenever blocked.
    fn pass(p: &mut Producer<&AtomicMemory>, c: &mut Consumer<&AtomicMemory>, msgs: &[Msg]) {
        for (stream, kind, data) in msgs {
            p.push(*stream, *kind, data);
        }
        let mut got = Vec::new();
        for _ in 0..10_000 {
            let flushed = p.flush();
            got.extend(drain_all(c));
            if flushed == Flush::Done && p.backlog() == 0 && got.len() == msgs.len() {
                break;
            }
        }
        assert_eq!(got, msgs);
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn empty_ring_drains_nothing() {
        let mem = ring(64, 16);
        let mut c = Consumer::new(&mem).unwrap();
        assert_eq!(c.drain(|_| panic!("no packets")), Ok(0));
        assert_eq!(mem.load(layout::TAIL), 0);
        let w = c.prepare_wait();
        assert_eq!((w.word, w.value), (layout::WAKE, 0));
    }

    #[test]
    fn wrap_around_at_every_offset_for_several_sizes() {
        let capacity = 128;
        let mtu = 40;
        for len in [0, 1, 7, 8, 9, 39, 40, 41, 100, 120, 300] {
            for start in (0..capacity).step_by(8) {
                let mem = ring(capacity, mtu);
                let mut p = Producer::new(&mem).unwrap();
                let mut c = Consumer::new(&mem).unwrap();
                // Move head and tail to `start` with empty filler packets.
                for _ in 0..start / 8 {
                    p.push(9, Kind::End, &[]);
                }
                assert_eq!(p.flush(), Flush::Done);
                assert_eq!(drain_all(&mut c).len(), start as usize / 8);
                assert_eq!(mem.load(layout::TAIL), start);
                let msgs = vec![
                    (1, Kind::Data, bytes(1, len)),
                    (2, Kind::Control, bytes(2, len / 2)),
                    (1, Kind::End, vec![]),
                ];
                pass(&mut p, &mut c, &msgs);
                let s = c.snapshot();
                assert_eq!(s.used, 0);
                assert_eq!(s.packets_in, s.packets_out);
                assert_eq!(s.bytes_in, s.bytes_out);
            }
        }
    }

    #[test]
    fn counters_wrap_past_u32_max() {
        let mem = ring(64, 24);
        // Pretend 2^32 - 24 bytes have gone through already.
        mem.store(layout::HEAD, 0u32.wrapping_sub(24));
        mem.store(layout::TAIL, 0u32.wrapping_sub(24));
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        let msgs: Vec<Msg> = (0..20)
            .map(|i| (i % 3, Kind::Data, bytes(i as u8, 20)))
            .collect();
        pass(&mut p, &mut c, &msgs);
        assert_eq!(mem.load(layout::HEAD), 20 * 32 - 24);
    }

    #[test]
    fn exactly_full_then_empty() {
        let mem = ring(64, 24);
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        assert_eq!(p.send(0, Kind::Data, &[1; 24]), Ok(24));
        assert_eq!(p.send(0, Kind::Data, &[2; 24]), Ok(24));
        assert_eq!(mem.load(layout::HEAD), 64);
        assert_eq!(c.snapshot().used, 64);
        assert_eq!(p.send(0, Kind::End, &[]), Err(crate::Full));
        assert_eq!(
            drain_all(&mut c),
            vec![(0, Kind::Data, vec![1; 24]), (0, Kind::Data, vec![2; 24])]
        );
        assert_eq!(c.snapshot().used, 0);
        assert_eq!(c.snapshot().high_water, 64);
        assert!(drain_all(&mut c).is_empty());
    }

    #[test]
    fn zero_length_packets() {
        let mem = ring(64, 16);
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        let msgs: Vec<Msg> = (0..20).map(|i| (i, Kind::End, vec![])).collect();
        pass(&mut p, &mut c, &msgs);
        assert_eq!(c.snapshot().packets_out, 20);
    }

    #[test]
    fn mtu_payload_is_one_frame_and_mtu_plus_one_is_two() {
        let mtu = 64;
        let mem = ring(256, mtu);
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        for (len, frames) in [(63, 1), (64, 1), (65, 2), (128, 2), (129, 3)] {
            let before = c.snapshot().packets_out;
            let data = bytes(len as u8, len);
            assert_eq!(p.send(4, Kind::Data, &data), Ok(len));
            assert_eq!(drain_all(&mut c), vec![(4, Kind::Data, data)]);
            assert_eq!(c.snapshot().packets_out - before, frames, "{len} bytes");
        }
    }

    #[test]
    fn message_larger_than_the_ring_is_reassembled() {
        let mem = ring(64, 24);
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        let msgs = vec![
            (0, Kind::Data, bytes(3, 1000)),
            (1, Kind::Control, bytes(4, 333)),
            (0, Kind::End, vec![]),
        ];
        pass(&mut p, &mut c, &msgs);
    }

    /// Writes packets by hand, as a buggy or hostile producer might.
    struct Raw<'a> {
        mem: &'a AtomicMemory,
        geo: Geometry,
        head: u32,
    }

    impl<'a> Raw<'a> {
        fn new(mem: &'a AtomicMemory) -> Raw<'a> {
            Raw {
                mem,
                geo: Geometry::attach(mem).unwrap(),
                head: mem.load(layout::HEAD),
            }
        }

        fn bytes(&mut self, header: [u8; 8], payload: &[u8], size: u32) -> &mut Self {
            self.geo.write(self.mem, self.head, &header);
            self.geo.write(self.mem, self.head + 8, payload);
            self.head += size;
            self.mem.store(layout::HEAD, self.head);
            self
        }

        fn frame(&mut self, stream: u16, kind: Kind, more: bool, data: &[u8]) -> &mut Self {
            let len = data.len() as u32;
            let h = Header {
                len,
                stream,
                kind,
                more,
            };
            self.bytes(h.encode(), data, layout::packet_size(len))
        }
    }

    #[test]
    fn interleaved_streams_keep_per_stream_order() {
        let mem = ring(512, 16);
        let mut c = Consumer::new(&mem).unwrap();
        let a = bytes(10, 40);
        let b = bytes(20, 30);
        let d = bytes(30, 20);
        let mut w = Raw::new(&mem);
        w.frame(1, Kind::Data, true, &a[..16])
            .frame(2, Kind::Control, true, &b[..10])
            .frame(3, Kind::Data, true, &d[..10])
            .frame(4, Kind::End, false, b"e")
            .frame(1, Kind::Data, true, &a[16..32])
            .frame(2, Kind::Control, true, &b[10..20]);
        let mut got = drain_all(&mut c);
        assert_eq!(got, vec![(4, Kind::End, b"e".to_vec())]);
        assert_eq!(c.pending(), 16 + 10 + 10 + 16 + 10);
        w.frame(3, Kind::Data, false, &d[10..])
            .frame(1, Kind::Data, false, &a[32..])
            .frame(2, Kind::Control, false, &b[20..]);
        got.extend(drain_all(&mut c));
        assert_eq!(
            got,
            vec![
                (4, Kind::End, b"e".to_vec()),
                (3, Kind::Data, d),
                (1, Kind::Data, a),
                (2, Kind::Control, b),
            ]
        );
        assert_eq!(c.pending(), 0);
    }

    fn corrupt(mem: &AtomicMemory) -> Error {
        let mut c = Consumer::new(mem).unwrap();
        let mut got = Vec::new();
        let err = c
            .drain(|p| got.push(p.payload.to_vec()))
            .expect_err("corrupt ring drained cleanly");
        // Everything before the damage is delivered and freed; draining again stops there again.
        assert_eq!(got, vec![b"ok".to_vec()]);
        assert_eq!(mem.load(layout::TAIL), 16);
        assert_eq!(c.drain(|_| panic!("past the damage")), Err(err.clone()));
        assert_eq!(mem.load(layout::TAIL), 16);
        err
    }

    fn reason(e: Error) -> &'static str {
        match e {
            Error::Corrupt {
                position: 16,
                reason,
            } => reason,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn hostile_packet_headers_are_errors() {
        let cases: [([u8; 8], u32, &str); 5] = [
            ([17, 0, 0, 0, 0, 0, 0, 0], 32, "packet longer than the MTU"),
            (
                [255, 255, 255, 255, 0, 0, 0, 0],
                32,
                "packet longer than the MTU",
            ),
            ([16, 0, 0, 0, 0, 0, 0, 0], 16, "packet runs past the head"),
            ([0, 0, 0, 0, 0, 0, 9, 0], 8, "unknown packet kind"),
            ([0, 0, 0, 0, 0, 0, 0, 0x80], 8, "reserved packet flags set"),
        ];
        for (header, size, why) in cases {
            let mem = ring(64, 16);
            Raw::new(&mem)
                .frame(0, Kind::Data, false, b"ok")
                .bytes(header, &[0; 16], size);
            assert_eq!(reason(corrupt(&mem)), why);
        }
    }

    #[test]
    fn hostile_heads_are_errors() {
        for head in [16 + 4, 16 + 72, 8, u32::MAX - 7] {
            let mem = ring(64, 16);
            Raw::new(&mem).frame(0, Kind::Data, false, b"ok");
            let mut c = Consumer::new(&mem).unwrap();
            assert_eq!(drain_all(&mut c), vec![(0, Kind::Data, b"ok".to_vec())]);
            mem.store(layout::HEAD, head);
            let e = c.drain(|_| panic!("nothing valid")).unwrap_err();
            assert_eq!(
                reason(e),
                "head is not a packet boundary within one ring of the tail",
                "head {head}"
            );
        }
    }

    #[test]
    fn kind_change_inside_a_split_message_is_an_error() {
        let mem = ring(64, 16);
        Raw::new(&mem)
            .frame(0, Kind::Data, false, b"ok")
            .frame(1, Kind::Data, true, b"abc")
            .frame(1, Kind::Control, false, b"def");
        let mut c = Consumer::new(&mem).unwrap();
        let mut got = Vec::new();
        let e = c.drain(|p| got.push(p.payload.to_vec())).unwrap_err();
        assert_eq!(got, vec![b"ok".to_vec()]);
        assert!(matches!(
            e,
            Error::Corrupt {
                position: 32,
                reason: "packet kind changes within a split message"
            }
        ));
    }

    #[test]
    fn reassembly_is_bounded() {
        let mem = ring(256, 16);
        let mut w = Raw::new(&mem);
        w.frame(0, Kind::Data, false, b"ok");
        for stream in 0..4 {
            w.frame(stream, Kind::Data, true, &[1; 16]);
        }
        let mut c = Consumer::new(&mem).unwrap().with_reassembly_limit(40);
        let mut got = Vec::new();
        let e = c.drain(|p| got.push(p.payload.to_vec())).unwrap_err();
        assert_eq!(got, vec![b"ok".to_vec()]);
        assert_eq!(
            e,
            Error::TooLarge {
                stream: 2,
                limit: 40
            }
        );
        assert_eq!(c.pending(), 32);
        assert_eq!(mem.load(layout::TAIL), 16 + 2 * 24);
    }

    /// Payload bytes copied out of / into the ring by `calls`.
    fn copied(calls: &[Call]) -> (usize, usize) {
        let mut read = 0;
        let mut written = 0;
        for c in calls {
            match *c {
                Call::Read(_, n) => read += n,
                Call::Write(_, n) => written += n,
                _ => {}
            }
        }
        (read, written)
    }

    /// No two byte copies in `calls` touch the same byte.
    fn assert_disjoint(calls: &[Call]) {
        let mut ranges: Vec<(usize, usize)> = calls
            .iter()
            .filter_map(|c| match *c {
                Call::Read(at, n) | Call::Write(at, n) => Some((at, at + n)),
                _ => None,
            })
            .collect();
        ranges.sort();
        for pair in ranges.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "overlapping copies {calls:?}");
        }
    }

    #[test]
    fn batched_copies_wrap_and_split_at_every_offset() {
        let capacity = 128;
        let mtu = 40;
        // Windows that end inside headers, payloads and padding; direct reads of split frames
        // or none; staging runs cut short or not.
        let windows = [
            (8, 8),
            (16, 16),
            (24, 8),
            (40, 4096),
            (64, 24),
            (WINDOW, DIRECT),
        ];
        let stages = [(24, 8), (48, 16), (STAGE, DIRECT)];
        for len in [0, 1, 7, 8, 9, 39, 40, 41, 100, 300] {
            for (window_max, direct) in windows {
                for (stage_max, stage_direct) in stages {
                    for start in (0..capacity).step_by(8) {
                        let mem = Counting::ring(capacity, mtu);
                        let mut p = Producer::new(&mem)
                            .unwrap()
                            .with_staging(stage_max, stage_direct);
                        let mut c = Consumer::new(&mem).unwrap().with_window(window_max, direct);
                        for _ in 0..start / 8 {
                            p.push(9, Kind::End, &[]);
                        }
                        assert_eq!(p.flush(), Flush::Done);
                        let mut got = Vec::new();
                        c.drain(|p| got.push(p.stream)).unwrap();
                        assert_eq!(got.len(), start as usize / 8);
                        mem.take();
                        let msgs: Vec<Msg> = vec![
                            (1, Kind::Data, bytes(1, len)),
                            (2, Kind::Control, bytes(2, len / 2)),
                            (3, Kind::Data, bytes(3, 5)),
                            (1, Kind::Data, bytes(4, len / 3)),
                            (1, Kind::End, vec![]),
                        ];
                        for (stream, kind, data) in &msgs {
                            p.push(*stream, *kind, data);
                        }
                        let mut got = Vec::new();
                        let (mut read, mut written, mut consumed, mut published) = (0, 0, 0, 0);
                        for _ in 0..10_000 {
                            let head = mem.inner.load(layout::HEAD);
                            let flushed = p.flush();
                            published += mem.inner.load(layout::HEAD).wrapping_sub(head);
                            let (_, w) = copied(&mem.take());
                            written += w;
                            let tail = mem.inner.load(layout::TAIL);
                            c.drain(|p| got.push((p.stream, p.kind, p.payload.to_vec())))
                                .unwrap();
                            consumed += mem.inner.load(layout::TAIL).wrapping_sub(tail);
                            let calls = mem.take();
                            read += copied(&calls).0;
                            assert_disjoint(&calls);
                            if flushed == Flush::Done && got.len() == msgs.len() {
                                break;
                            }
                        }
                        let case = format!("len {len} window {window_max}/{direct} stage {stage_max}/{stage_direct} start {start}");
                        assert_eq!(got, msgs, "{case}");
                        assert_eq!(c.pending(), 0, "{case}");
                        // No byte is copied out of the ring twice (padding may not be at all).
                        assert!(read <= consumed as usize, "{case}");
                        assert!(written <= published as usize, "{case}");
                        assert_eq!(consumed, published, "{case}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_drain_of_small_packets_is_one_copy_or_two_when_wrapped() {
        let mem = Counting::ring(1 << 14, 1024);
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        let data = bytes(7, 256);
        for round in 0..6 {
            for _ in 0..50 {
                p.push(0, Kind::Data, &data);
            }
            assert_eq!(p.flush(), Flush::Done);
            let head = mem.inner.load(layout::HEAD);
            let wrapped = (head & ((1 << 14) - 1)) < 50 * 264;
            let (reads, writes, stores) = count(&mem.take());
            assert_eq!(writes, 1 + usize::from(wrapped), "round {round}");
            // HEAD, and the counters that changed: packets and bytes (low words), sequence
            // (once both slots have been filled).
            assert!(round < 2 || stores <= 4, "round {round}: {stores} stores");
            assert_eq!(reads, 0);
            let mut n = 0;
            c.drain(|pk| {
                assert_eq!(pk.payload, data.as_slice());
                n += 1;
            })
            .unwrap();
            assert_eq!(n, 50);
            let calls = mem.take();
            let (reads, writes, stores) = count(&calls);
            assert_eq!(reads, 1 + usize::from(wrapped), "round {round}: {calls:?}");
            assert_eq!(copied(&calls).0, 50 * 264);
            assert_eq!(writes, 0);
            // TAIL, packets and bytes (low words), sequence.
            assert!(round < 2 || stores <= 4, "round {round}: {stores} stores");
        }
    }

    #[test]
    fn large_payloads_are_copied_once_each_way() {
        let mtu = 64 * 1024;
        let mem = Counting::ring(1 << 18, mtu);
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        let big = bytes(5, mtu as usize);
        for round in 0..10 {
            p.push(0, Kind::Data, &big);
            p.push(0, Kind::Data, &big[..5000]);
            assert_eq!(p.flush(), Flush::Done);
            let calls = mem.take();
            let (_, writes, _) = count(&calls);
            // Header, payload, header, payload (each payload maybe in two where it wraps).
            assert!((4..=6).contains(&writes), "round {round}: {calls:?}");
            assert_eq!(copied(&calls).1, 2 * 8 + mtu as usize + 5000);
            let mut got = Vec::new();
            c.drain(|pk| got.push(pk.payload.len())).unwrap();
            assert_eq!(got, vec![mtu as usize, 5000]);
            let calls = mem.take();
            assert_eq!(
                copied(&calls).0,
                2 * 8 + mtu as usize + 5000,
                "round {round}: {calls:?}"
            );
            assert!(count(&calls).0 <= 4, "round {round}: {calls:?}");
        }
    }

    #[test]
    fn large_frames_of_split_messages_skip_the_window() {
        let mtu = 8192;
        let mem = Counting::ring(1 << 17, mtu);
        let mut p = Producer::new(&mem).unwrap();
        let mut c = Consumer::new(&mem).unwrap();
        let msg = bytes(3, 10 * mtu as usize);
        p.push(4, Kind::Data, &msg);
        assert_eq!(p.flush(), Flush::Done);
        mem.take();
        let mut got = Vec::new();
        c.drain(|pk| got.push(pk.payload.to_vec())).unwrap();
        assert_eq!(got, vec![msg]);
        let calls = mem.take();
        let reads: Vec<usize> = calls
            .iter()
            .filter_map(|c| match c {
                Call::Read(_, n) => Some(*n),
                _ => None,
            })
            .collect();
        // A first window (the first frame and the start of the second), the rest of the
        // second frame, then a header and a payload per frame.
        assert_eq!(reads[0], WINDOW);
        assert!(reads[2..].chunks(2).all(|r| r[0] == 8), "{reads:?}");
        assert_eq!(reads.iter().sum::<usize>(), 10 * (8 + mtu as usize));
    }

    #[test]
    fn notifies_tail_only_when_the_producer_asked() {
        let mem = Arc::new(ring(32, 16));
        let mut p = Producer::new(mem.clone()).unwrap();
        let mut c = Consumer::new(mem.clone()).unwrap();
        p.push(0, Kind::Data, &[5; 64]);
        let Flush::Blocked(w) = p.flush() else {
            panic!("64 bytes do not fit 32")
        };
        let waiter = {
            let mem = mem.clone();
            std::thread::spawn(move || mem.wait(w.word, w.value, Some(Duration::from_secs(20))))
        };
        while mem.load(layout::WANT_SPACE) == 0 {}
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.drain(|_| ()), Ok(0));
        assert_ne!(waiter.join().unwrap(), crate::WaitResult::TimedOut);
    }
}
