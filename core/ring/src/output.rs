//! Output streams over one ring: consecutive writes of a stream coalesced into packets of up to
//! one MTU, filled in place.

use crate::{Flush, Kind, Producer, SharedMemory};

/// The producer side of a ring that carries byte streams (the wasm thread's stdout and stderr
/// to the page), where writes are small and many.
///
/// Consecutive writes of one stream are gathered in an open packet in the producer's own memory
/// — each written there in place by the caller ([`space`](OutputBatch::space), then
/// [`commit`](OutputBatch::commit)), so bytes copied out of guest memory are copied once more,
/// into the ring, a packet at a time — and the packet goes into the ring when it is full (one
/// MTU), when the other stream writes, or at [`flush`](OutputBatch::flush). A consumer thus
/// handles one packet per 64 KiB of a stream rather than one per write, and the ring costs two
/// shared-memory copies per packet rather than two per write.
///
/// Order is kept: within a stream bytes arrive as written, and stdout and stderr interleave as
/// they were written (a packet is closed before the other stream's bytes go in). A full ring
/// is the producer's backpressure ([`Flush::Blocked`]); nothing is dropped.
#[derive(Debug)]
pub struct OutputBatch<M: SharedMemory> {
    producer: Producer<M>,
    /// The open packet: `open[..open_len]` of stream `open_stream`; one MTU long.
    open: Box<[u8]>,
    open_len: usize,
    open_stream: u16,
    /// Where a write larger than one MTU is filled (it goes into the ring as it is).
    large: Vec<u8>,
    /// Bytes in the ring (or the producer's backlog) not yet published.
    unpublished: usize,
}

impl<M: SharedMemory> OutputBatch<M> {
    /// Batches output into the ring `producer` writes.
    pub fn new(producer: Producer<M>) -> OutputBatch<M> {
        let mtu = producer.mtu();
        OutputBatch {
            producer,
            open: vec![0; mtu].into_boxed_slice(),
            open_len: 0,
            open_stream: 0,
            large: Vec::new(),
            unpublished: 0,
        }
    }

    /// Room for `len` more bytes of `stream`, for the caller to fill and then
    /// [`commit`](OutputBatch::commit) (bytes not committed are never sent). Closes the open
    /// packet first when it belongs to the other stream or cannot take `len` more bytes.
    pub fn space(&mut self, stream: u16, len: usize) -> &mut [u8] {
        if self.open_len > 0
            && (stream != self.open_stream || self.open_len + len > self.open.len())
        {
            self.close();
        }
        if len > self.open.len() {
            self.large.resize(len, 0);
            return &mut self.large[..len];
        }
        self.open_stream = stream;
        &mut self.open[self.open_len..self.open_len + len]
    }

    /// Takes the `len` bytes of `stream` just written into [`space`](OutputBatch::space) (the
    /// same stream and length as asked for there).
    pub fn commit(&mut self, stream: u16, len: usize) {
        if len > self.open.len() {
            self.producer.push(stream, Kind::Data, &self.large[..len]);
            self.unpublished += len;
        } else {
            debug_assert!(self.open_stream == stream && self.open_len + len <= self.open.len());
            self.open_len += len;
            if self.open_len == self.open.len() {
                self.close();
            }
        }
    }

    /// Writes `bytes` of `stream` (space, a copy, commit).
    pub fn write(&mut self, stream: u16, bytes: &[u8]) {
        self.space(stream, bytes.len()).copy_from_slice(bytes);
        self.commit(stream, bytes.len());
    }

    /// Bytes written since the last publish, wherever they are (open packet, ring, backlog).
    pub fn pending(&self) -> usize {
        self.open_len + self.unpublished
    }

    /// Bytes waiting outside the ring for room in it.
    pub fn backlog(&self) -> usize {
        self.producer.backlog()
    }

    /// Closes the open packet and publishes everything written; [`Flush::Blocked`] when the
    /// ring is full: wait as it says, then flush again.
    pub fn flush(&mut self) -> Flush {
        self.close();
        let flush = self.producer.flush();
        if flush == Flush::Done {
            self.unpublished = 0;
        }
        flush
    }

    /// The producer underneath.
    pub fn producer(&self) -> &Producer<M> {
        &self.producer
    }

    /// Moves the open packet into the ring (or the producer's backlog, when the ring is full).
    fn close(&mut self) {
        if self.open_len > 0 {
            self.producer
                .push(self.open_stream, Kind::Data, &self.open[..self.open_len]);
            self.unpublished += self.open_len;
            self.open_len = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Call, Counting};
    use crate::{Consumer, WaitOn};

    /// Drains `consumer`, appending (stream, bytes) per packet to `got`.
    fn drain<M: SharedMemory>(consumer: &mut Consumer<M>, got: &mut Vec<(u16, Vec<u8>)>) {
        consumer
            .drain(|packet| got.push((packet.stream, packet.payload.to_vec())))
            .unwrap();
    }

    /// The packets joined per run of one stream.
    fn runs(got: &[(u16, Vec<u8>)]) -> Vec<(u16, Vec<u8>)> {
        let mut runs: Vec<(u16, Vec<u8>)> = Vec::new();
        for (stream, data) in got {
            match runs.last_mut() {
                Some((last, run)) if last == stream => run.extend_from_slice(data),
                _ => runs.push((*stream, data.clone())),
            }
        }
        runs
    }

    #[test]
    fn consecutive_writes_of_a_stream_become_one_packet_of_up_to_one_mtu() {
        let mem = Counting::ring(1 << 20, 64 << 10);
        let mut consumer = Consumer::new(&mem.inner).unwrap();
        let mut batch = OutputBatch::new(Producer::new(&mem).unwrap());
        mem.take();
        // 20 writes of 4 KiB: 16 fill one packet, 4 stay open until the flush.
        for i in 0..20u8 {
            batch.write(1, &[i; 4096]);
        }
        let copies = mem
            .take()
            .iter()
            .filter(|c| matches!(c, Call::Write(..)))
            .count();
        assert!(
            copies <= 2,
            "one full packet: header and payload, not 16 writes ({copies})"
        );
        assert_eq!(batch.pending(), 20 * 4096);
        let mut got = Vec::new();
        drain(&mut consumer, &mut got);
        assert!(got.is_empty(), "nothing is visible before a flush");
        assert_eq!(batch.flush(), Flush::Done);
        assert_eq!(batch.pending(), 0);
        drain(&mut consumer, &mut got);
        let sizes: Vec<usize> = got.iter().map(|(_, data)| data.len()).collect();
        assert_eq!(sizes, [64 << 10, 16 << 10]);
        let all: Vec<u8> = got.iter().flat_map(|(_, data)| data.clone()).collect();
        let expected: Vec<u8> = (0..20u8).flat_map(|i| [i; 4096]).collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn stdout_and_stderr_interleave_as_written() {
        let mem = Counting::ring(1 << 16, 1 << 12);
        let mut consumer = Consumer::new(&mem.inner).unwrap();
        let mut batch = OutputBatch::new(Producer::new(&mem).unwrap());
        let writes: [(u16, &[u8]); 6] = [
            (1, b"out one "),
            (1, b"out two "),
            (2, b"err one "),
            (1, b"out three "),
            (2, b"err two "),
            (2, b"err three"),
        ];
        for (stream, bytes) in writes {
            batch.write(stream, bytes);
        }
        assert_eq!(batch.flush(), Flush::Done);
        let mut got = Vec::new();
        drain(&mut consumer, &mut got);
        assert_eq!(
            got,
            [
                (1, b"out one out two ".to_vec()),
                (2, b"err one ".to_vec()),
                (1, b"out three ".to_vec()),
                (2, b"err two err three".to_vec()),
            ]
        );
    }

    #[test]
    fn space_not_committed_is_never_sent() {
        let mem = Counting::ring(1 << 16, 1 << 12);
        let mut consumer = Consumer::new(&mem.inner).unwrap();
        let mut batch = OutputBatch::new(Producer::new(&mem).unwrap());
        batch.write(1, b"kept ");
        // Filled but not committed (the copy out of guest memory trapped, say).
        batch.space(1, 6).copy_from_slice(b"LOST! ");
        batch.write(1, b"also kept");
        // Asked for on the other stream, then abandoned: the stdout packet was closed, no more.
        batch.space(2, 3).copy_from_slice(b"no!");
        assert_eq!(batch.flush(), Flush::Done);
        let mut got = Vec::new();
        drain(&mut consumer, &mut got);
        assert_eq!(runs(&got), [(1, b"kept also kept".to_vec())]);
    }

    #[test]
    fn a_tiny_ring_applies_backpressure_and_loses_nothing() {
        // 4 KiB of ring, 1 KiB packets: the writes below are 30 times the ring.
        let mem = Counting::ring(1 << 12, 1 << 10);
        let mut consumer = Consumer::new(&mem.inner).unwrap();
        let mut batch = OutputBatch::new(Producer::new(&mem).unwrap());
        let mut written: Vec<(u16, Vec<u8>)> = Vec::new();
        let mut got = Vec::new();
        let mut stalls = 0;
        for i in 0..400u32 {
            let stream = if i % 7 == 3 { 2 } else { 1 };
            // Sizes from 1 byte to 2 KiB (larger than one packet), bytes that say where they are.
            let len = 1 + (i as usize * 37) % 2048;
            let bytes: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
            batch.write(stream, &bytes);
            written.push((stream, bytes));
            // The outbox's rule: flush when the backlog is not empty, and every few writes.
            if batch.backlog() > 0 || i % 5 == 0 {
                while let Flush::Blocked(WaitOn { word, value }) = batch.flush() {
                    stalls += 1;
                    // The page copies out, which moves TAIL.
                    drain(&mut consumer, &mut got);
                    assert_ne!(mem.inner.load(word), value, "draining frees room");
                }
            }
        }
        while let Flush::Blocked(_) = batch.flush() {
            drain(&mut consumer, &mut got);
        }
        drain(&mut consumer, &mut got);
        assert!(stalls > 0, "the ring filled up");
        assert_eq!(batch.pending(), 0);
        assert_eq!(runs(&got), runs(&written));
    }

    #[test]
    fn a_write_larger_than_one_mtu_goes_whole_after_the_open_packet() {
        let mem = Counting::ring(1 << 16, 1 << 10);
        let mut consumer = Consumer::new(&mem.inner).unwrap();
        let mut batch = OutputBatch::new(Producer::new(&mem).unwrap());
        batch.write(1, b"before ");
        let big = vec![7u8; 5000];
        batch.write(1, &big);
        batch.write(1, b" after");
        assert_eq!(batch.flush(), Flush::Done);
        let mut got = Vec::new();
        drain(&mut consumer, &mut got);
        let mut expected = b"before ".to_vec();
        expected.extend_from_slice(&big);
        expected.extend_from_slice(b" after");
        assert_eq!(runs(&got), [(1, expected)]);
    }
}
