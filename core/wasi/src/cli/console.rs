//! The guest's console as state: the stdin buffer the embedder fills and every stdin stream
//! reads, the stdout/stderr streams onto the platform, and the terminal resources, which a
//! browser console never hands out. The glue is in `stdio.rs` and `terminal.rs`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::io::stream::{HostInputStream, HostOutputStream, StreamError, BLOCKING_WRITE_LIMIT};
use crate::{GuestBytes, Platform, Stdio, Trap};

/// Stdin bytes delivered by the embedder and not yet read.
#[derive(Debug, Default)]
pub(crate) struct StdinBuffer {
    data: VecDeque<u8>,
    closed: bool,
}

impl StdinBuffer {
    /// Appends bytes the embedder sent (ignored once stdin is closed).
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if !self.closed {
            self.data.extend(bytes);
        }
    }

    /// Bytes waiting to be read.
    #[cfg(test)]
    pub(crate) fn data_len(&self) -> usize {
        self.data.len()
    }

    /// No more bytes will come; reads return `closed` once the buffer is drained.
    pub(crate) fn close(&mut self) {
        self.closed = true;
    }
}

/// An `input-stream` onto the shared stdin buffer.
pub(crate) struct StdinStream(pub(crate) Rc<RefCell<StdinBuffer>>);

impl HostInputStream for StdinStream {
    fn read(&mut self, len: u64) -> Result<Vec<u8>, StreamError> {
        let mut buffer = self.0.borrow_mut();
        if buffer.data.is_empty() && buffer.closed {
            return Err(StreamError::Closed);
        }
        let n = (len.min(buffer.data.len() as u64)) as usize;
        // Copied slice by slice: collecting the drained bytes one at a time cost more than
        // everything else a large stdin read does.
        let (front, back) = buffer.data.as_slices();
        let from_front = n.min(front.len());
        let mut bytes = Vec::with_capacity(n);
        bytes.extend_from_slice(&front[..from_front]);
        bytes.extend_from_slice(&back[..n - from_front]);
        buffer.data.drain(..n);
        Ok(bytes)
    }

    fn ready(&self) -> bool {
        let buffer = self.0.borrow();
        !buffer.data.is_empty() || buffer.closed
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
