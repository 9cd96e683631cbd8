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
/// Runs are double-ended so that dropping the oldest bytes costs what is dropped: with a plain
/// `Vec`, every 4 KiB write to a full tail moved the other 60 KiB, 15 times the bytes written.
#[derive(Debug, Default)]
pub struct OutputTail {
    runs: VecDeque<(OutputStream, VecDeque<u8>)>,
    bytes: usize,
}

impl OutputTail {
    /// Keeps the newest bytes of `bytes` (all when they fit), dropping the oldest kept.
    pub fn push(&mut self, stream: Stdio, bytes: &[u8]) {
        let stream = match stream {
            Stdio::Stdout => OutputStream::Stdout,
            Stdio::Stderr => OutputStream::Stderr,
        };
        let bytes = &bytes[bytes.len().saturating_sub(OUTPUT_TAIL_BYTES)..];
        match self.runs.back_mut() {
            Some((last, run)) if *last == stream => run.extend(bytes),
            _ => self
                .runs
                .push_back((stream, bytes.iter().copied().collect())),
        }
        self.bytes += bytes.len();
        while self.bytes > OUTPUT_TAIL_BYTES {
            let (_, oldest) = self.runs.front_mut().expect("bytes are kept in runs");
            let excess = self.bytes - OUTPUT_TAIL_BYTES;
            if oldest.len() > excess {
                oldest.drain(..excess);
                self.bytes -= excess;
            } else {
                self.bytes -= oldest.len();
                self.runs.pop_front();
            }
        }
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// What is kept, as `output` messages in the order written (the tail stays).
    pub fn messages(&self) -> Vec<FromWasm> {
        self.runs
            .iter()
            .map(|(stream, data)| FromWasm::Output {
                stream: *stream,
                data: data.iter().copied().collect(),
            })
            .collect()
    }

    /// What is kept, as `output` messages, leaving the tail empty.
    pub fn take_messages(&mut self) -> Vec<FromWasm> {
        self.bytes = 0;
        self.runs
            .drain(..)
            .map(|(stream, data)| FromWasm::Output {
                stream,
                data: data.into(),
            })
            .collect()
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
}
