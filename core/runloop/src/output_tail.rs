//! The newest guest output, kept for panels: what a panel that joins late is shown first, and
//! what goes to a listening panel per flush. Bounded, so a guest writing gigabytes costs a
//! panel at most [`OUTPUT_TAIL_BYTES`] per message.

use std::collections::VecDeque;

use pollscope_protocol::{FromWasm, OutputStream};
use pollscope_wasi::Stdio;

/// Most output bytes kept (and sent to a panel at once): a panel's console shows a bounded
/// tail, and turning a megabyte into JSON per flush would cost the guest more than the panel.
pub const OUTPUT_TAIL_BYTES: usize = 64 << 10;

/// The newest [`OUTPUT_TAIL_BYTES`] of output, as runs of one stream in the order written.
///
/// The bytes sit in one circular buffer and the runs are only lengths, so keeping a write
/// costs a copy of it (at most two, where it wraps) whatever the tail holds: every guest write
/// passes through here while telemetry is on, so this is on the path of all output.
#[derive(Debug, Default)]
pub struct OutputTail {
    /// Circular, [`OUTPUT_TAIL_BYTES`] long once anything was kept (empty before).
    ring: Vec<u8>,
    /// Where the oldest kept byte is in `ring`, and how many are kept.
    start: usize,
    len: usize,
    /// The kept bytes' runs, oldest first; their lengths add up to `len`.
    runs: VecDeque<(OutputStream, usize)>,
}

impl OutputTail {
    /// Keeps the newest bytes of `bytes` (all when they fit), dropping the oldest kept.
    pub fn push(&mut self, stream: Stdio, bytes: &[u8]) {
        let stream = match stream {
            Stdio::Stdout => OutputStream::Stdout,
            Stdio::Stderr => OutputStream::Stderr,
        };
        let bytes = &bytes[bytes.len().saturating_sub(OUTPUT_TAIL_BYTES)..];
        if bytes.is_empty() {
            return;
        }
        if self.ring.is_empty() {
            self.ring = vec![0; OUTPUT_TAIL_BYTES];
        }
        self.drop_oldest((self.len + bytes.len()).saturating_sub(OUTPUT_TAIL_BYTES));
        let at = (self.start + self.len) % OUTPUT_TAIL_BYTES;
        let first = bytes.len().min(OUTPUT_TAIL_BYTES - at);
        self.ring[at..at + first].copy_from_slice(&bytes[..first]);
        self.ring[..bytes.len() - first].copy_from_slice(&bytes[first..]);
        self.len += bytes.len();
        match self.runs.back_mut() {
            Some((last, run)) if *last == stream => *run += bytes.len(),
            _ => self.runs.push_back((stream, bytes.len())),
        }
    }

    /// Forgets the oldest `count` kept bytes.
    fn drop_oldest(&mut self, mut count: usize) {
        self.start = (self.start + count) % OUTPUT_TAIL_BYTES;
        self.len -= count;
        while count > 0 {
            let (_, oldest) = self.runs.front_mut().expect("kept bytes are in runs");
            if *oldest > count {
                *oldest -= count;
                return;
            }
            count -= *oldest;
            self.runs.pop_front();
        }
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What is kept, as `output` messages in the order written (the tail stays).
    pub fn messages(&self) -> Vec<FromWasm> {
        let mut at = self.start;
        self.runs
            .iter()
            .map(|&(stream, len)| {
                let mut data = Vec::with_capacity(len);
                let first = len.min(OUTPUT_TAIL_BYTES - at);
                data.extend_from_slice(&self.ring[at..at + first]);
                data.extend_from_slice(&self.ring[..len - first]);
                at = (at + len) % OUTPUT_TAIL_BYTES;
                FromWasm::Output { stream, data }
            })
            .collect()
    }

    /// What is kept, as `output` messages, leaving the tail empty.
    pub fn take_messages(&mut self) -> Vec<FromWasm> {
        let messages = self.messages();
        self.start = 0;
        self.len = 0;
        self.runs.clear();
        messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(messages: &[FromWasm]) -> Vec<(OutputStream, String)> {
        messages
            .iter()
            .map(|m| match m {
                FromWasm::Output { stream, data } => {
                    (*stream, String::from_utf8_lossy(data).into_owned())
                }
                other => panic!("not output: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn keeps_streams_interleaved_as_written() {
        let mut tail = OutputTail::default();
        tail.push(Stdio::Stdout, b"a");
        tail.push(Stdio::Stdout, b"b");
        tail.push(Stdio::Stderr, b"oops");
        tail.push(Stdio::Stdout, b"c");
        assert_eq!(
            text(&tail.messages()),
            [
                (OutputStream::Stdout, "ab".to_string()),
                (OutputStream::Stderr, "oops".to_string()),
                (OutputStream::Stdout, "c".to_string()),
            ]
        );
    }

    #[test]
    fn keeps_only_the_newest_bytes() {
        let mut tail = OutputTail::default();
        tail.push(Stdio::Stderr, b"old");
        tail.push(Stdio::Stdout, &vec![b'x'; OUTPUT_TAIL_BYTES - 1]);
        tail.push(Stdio::Stdout, b"yz");
        let kept = text(&tail.messages());
        assert_eq!(kept.len(), 1, "the stderr run fell out: {:?}", kept[0].0);
        assert_eq!(kept[0].1.len(), OUTPUT_TAIL_BYTES);
        assert!(kept[0].1.ends_with("xyz"));

        let mut huge = OutputTail::default();
        let mut bytes = vec![b'a'; 3 * OUTPUT_TAIL_BYTES];
        *bytes.last_mut().unwrap() = b'!';
        huge.push(Stdio::Stdout, &bytes);
        let kept = text(&huge.take_messages());
        assert_eq!(kept[0].1.len(), OUTPUT_TAIL_BYTES);
        assert!(kept[0].1.ends_with('!'));
        assert!(huge.is_empty());
    }

    #[test]
    fn wraps_around_and_matches_a_plain_model_of_the_newest_bytes() {
        // Writes of many sizes on both streams, well past the tail several times over; after
        // each, the tail is what a plain list of the newest bytes, grouped into runs, says.
        let mut tail = OutputTail::default();
        let mut all: Vec<(OutputStream, u8)> = Vec::new();
        let mut seed = 7u32;
        for i in 0..600u32 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let len = (seed >> 8) as usize % 9000 + usize::from(i.is_multiple_of(50)) * 70_000;
            let stream = if (seed >> 4).is_multiple_of(3) {
                Stdio::Stderr
            } else {
                Stdio::Stdout
            };
            let bytes: Vec<u8> = (0..len).map(|j| (i as usize * 31 + j) as u8).collect();
            tail.push(stream, &bytes);
            let kind = match stream {
                Stdio::Stdout => OutputStream::Stdout,
                Stdio::Stderr => OutputStream::Stderr,
            };
            all.extend(bytes.iter().map(|&b| (kind, b)));
            if i.is_multiple_of(37) || i == 599 {
                let newest = &all[all.len().saturating_sub(OUTPUT_TAIL_BYTES)..];
                let mut expected: Vec<(OutputStream, Vec<u8>)> = Vec::new();
                for &(kind, byte) in newest {
                    match expected.last_mut() {
                        Some((last, run)) if *last == kind => run.push(byte),
                        _ => expected.push((kind, vec![byte])),
                    }
                }
                let got: Vec<(OutputStream, Vec<u8>)> = tail
                    .messages()
                    .into_iter()
                    .map(|m| match m {
                        FromWasm::Output { stream, data } => (stream, data),
                        other => panic!("not output: {other:?}"),
                    })
                    .collect();
                assert_eq!(got, expected, "after write {i}");
            }
        }
        assert!(!tail.take_messages().is_empty());
        assert!(tail.is_empty() && tail.messages().is_empty());
        tail.push(Stdio::Stdout, b"again");
        assert_eq!(
            text(&tail.messages()),
            [(OutputStream::Stdout, "again".to_string())]
        );
    }
}
