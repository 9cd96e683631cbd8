//! The guest's console as state: the stdin buffer the embedder fills and every stdin stream
//! reads, the stdout/stderr streams onto the platform, and the terminal resources, which a
//! browser console never hands out. The glue is in `stdio.rs` and `terminal.rs`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::io::stream::{
    HostInputStream, HostOutputStream, StreamError, TakePieces, BLOCKING_WRITE_LIMIT,
};
use crate::{GuestBytes, Platform, Stdio, Trap};

/// Stdin bytes delivered by the embedder and not yet read: the embedder's buffers themselves,
/// oldest first, never copied into one another. A read takes whole buffers where it can (a
/// `blocking-read` copies each piece straight into the guest's list: one copy per byte, out of
/// the buffer the embedder delivered).
#[derive(Debug, Default)]
pub(crate) struct StdinBuffer {
    chunks: VecDeque<Vec<u8>>,
    /// Bytes of the front chunk already read.
    front_read: usize,
    /// Unread bytes in all chunks.
    len: usize,
    closed: bool,
}

impl StdinBuffer {
    /// Appends bytes the embedder sent (ignored once stdin is closed), keeping its buffer.
    pub(crate) fn push(&mut self, bytes: Vec<u8>) {
        if !self.closed && !bytes.is_empty() {
            self.len += bytes.len();
            self.chunks.push_back(bytes);
        }
    }

    /// Bytes waiting to be read.
    #[cfg(test)]
    pub(crate) fn data_len(&self) -> usize {
        self.len
    }

    /// No more bytes will come; reads return `closed` once the buffer is drained.
    pub(crate) fn close(&mut self) {
        self.closed = true;
    }

    /// The next `n` unread bytes (at most `len` of them), as the slices of the chunks they sit
    /// in, in order.
    fn pieces(&self, n: usize) -> Vec<&[u8]> {
        let mut pieces = Vec::new();
        let (mut chunks, mut skip, mut left) = (self.chunks.iter(), self.front_read, n);
        while left > 0 {
            let chunk = &chunks.next().expect("`len` counts the chunks' bytes")[skip..];
            let piece = &chunk[..chunk.len().min(left)];
            pieces.push(piece);
            left -= piece.len();
            skip = 0;
        }
        pieces
    }

    /// Marks the next `n` unread bytes (at most `len` of them) read, dropping the chunks they
    /// used up.
    fn skip(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let rest = self
                .chunks
                .front()
                .expect("`len` counts the chunks' bytes")
                .len()
                - self.front_read;
            if rest > n {
                self.front_read += n;
                return;
            }
            n -= rest;
            self.chunks.pop_front();
            self.front_read = 0;
        }
    }

    /// Takes up to `max` bytes. A front chunk that is taken whole is handed over as it is, and
    /// the bytes after it are appended to it.
    fn take(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.len);
        let mut bytes = match self.chunks.front() {
            Some(chunk) if self.front_read == 0 && chunk.len() <= n => {
                let chunk = self.chunks.pop_front().expect("a front chunk");
                self.len -= chunk.len();
                chunk
            }
            _ => Vec::with_capacity(n),
        };
        let rest = n - bytes.len();
        bytes.reserve_exact(rest);
        for piece in self.pieces(rest) {
            bytes.extend_from_slice(piece);
        }
        self.skip(rest);
        bytes
    }
}

/// An `input-stream` onto the shared stdin buffer.
pub(crate) struct StdinStream(pub(crate) Rc<RefCell<StdinBuffer>>);

impl HostInputStream for StdinStream {
    fn read(&mut self, len: u64) -> Result<Vec<u8>, StreamError> {
        let mut buffer = self.0.borrow_mut();
        if buffer.len == 0 && buffer.closed {
            return Err(StreamError::Closed);
        }
        Ok(buffer.take(usize::try_from(len).unwrap_or(usize::MAX)))
    }

    fn read_pieces(
        &mut self,
        len: u64,
        take: &mut TakePieces<'_>,
    ) -> Result<Result<(), StreamError>, Trap> {
        let mut buffer = self.0.borrow_mut();
        if buffer.len == 0 && buffer.closed {
            return Ok(Err(StreamError::Closed));
        }
        let n = len.min(buffer.len as u64) as usize;
        take(&buffer.pieces(n))?;
        buffer.skip(n);
        Ok(Ok(()))
    }

    fn ready(&self) -> bool {
        let buffer = self.0.borrow();
        buffer.len > 0 || buffer.closed
    }
}

/// An `output-stream` onto the platform's stdout or stderr.
pub(crate) struct StdioOutput(pub(crate) Stdio);

impl HostOutputStream for StdioOutput {
    fn check_write(&mut self) -> Result<u64, StreamError> {
        // The platform takes every write at once, so the permit never shrinks.
        Ok(BLOCKING_WRITE_LIMIT)
    }

    fn write(&mut self, platform: &mut dyn Platform, bytes: &[u8]) -> Result<(), StreamError> {
        platform.write_output(self.0, bytes);
        Ok(())
    }

    fn write_guest(
        &mut self,
        platform: &mut dyn Platform,
        bytes: GuestBytes<'_>,
    ) -> Result<Result<(), StreamError>, Trap> {
        // Straight from guest memory into the platform's batch: no host buffer per write.
        platform.write_output_guest(self.0, bytes)?;
        Ok(Ok(()))
    }

    fn flush(&mut self, _: &mut dyn Platform) -> Result<(), StreamError> {
        // The bytes are already the platform's; it sends its batch before every wait and when
        // the guest ends, so a flush per TinyGo print would only defeat the batching.
        Ok(())
    }
}

/// The `terminal-input` resource; never created (a browser console is not a terminal).
#[allow(dead_code)] // only its type is used: to look handles up, which always fails
pub(crate) struct TerminalInput;

/// The `terminal-output` resource; never created (a browser console is not a terminal).
#[allow(dead_code)] // only its type is used: to look handles up, which always fails
pub(crate) struct TerminalOutput;
