//! The stream resources: the host side of `input-stream` and `output-stream`
//! ([`HostInputStream`], [`HostOutputStream`]), the table entries behind their handles, the
//! `error` resource a failed operation hands out, and the WIT's size limits.
//!
//! A stream implements only the non-blocking operations and says whether it is ready; every
//! blocking import is written once on top of "ready + non-blocking" (as wasmtime's `wasi-io`
//! does) in the `wasi:io/streams` glue (`io/streams.rs`). Filesystem file streams
//! (`filesystem/streams.rs`) and the console's (`cli/console.rs`) implement these traits.

use crate::{GuestBytes, Platform, Trap};

/// Why a stream operation failed, as `wasi:io/streams.stream-error` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// The stream is closed: no more data will be read or written.
    Closed,
    /// The last operation failed; the text becomes an `own<error>` whose `to-debug-string`
    /// returns it.
    LastOperationFailed(String),
}

/// What [`HostInputStream::read_pieces`] hands the bytes it read to: called once, with the
/// slices they sit in, in order.
pub type TakePieces<'a> = dyn FnMut(&[&[u8]]) -> Result<(), Trap> + 'a;

/// The host side of an `input-stream`.
pub trait HostInputStream: 'static {
    /// Non-blocking: up to `len` bytes available now (empty when none yet). Implementations
    /// may return fewer bytes than asked; the host already caps `len` to a sane read size.
    fn read(&mut self, len: u64) -> Result<Vec<u8>, StreamError>;
    /// [`read`](HostInputStream::read), offering the bytes to `take` as the slices they
    /// already sit in (in order; their total is what was read) instead of one new buffer: the
    /// import copies each straight into the guest's list. A stream that holds its bytes in host
    /// buffers overrides it (stdin does); the default reads into a fresh buffer. The bytes are
    /// read only once `take` returns `Ok`; its trap is passed on.
    fn read_pieces(
        &mut self,
        len: u64,
        take: &mut TakePieces<'_>,
    ) -> Result<Result<(), StreamError>, Trap> {
        match self.read(len) {
            Ok(bytes) => take(&[&bytes]).map(Ok),
            Err(error) => Ok(Err(error)),
        }
    }
    /// Whether `read` would return data or an error right now.
    fn ready(&self) -> bool;
}

/// The host side of an `output-stream`.
pub trait HostOutputStream: 'static {
    /// How many bytes `write` accepts now (0 when not ready), or why none ever will.
    fn check_write(&mut self) -> Result<u64, StreamError>;
    /// Non-blocking write of at most the permit `check_write` gave.
    fn write(&mut self, platform: &mut dyn Platform, bytes: &[u8]) -> Result<(), StreamError>;
    /// [`write`](HostOutputStream::write) of bytes still in guest memory. A stream that can
    /// copy them straight to where they go overrides it (stdout and stderr do: into the
    /// platform's output batch, without a host buffer); the default lifts them first. Traps when
    /// any byte is out of bounds, having written none.
    fn write_guest(
        &mut self,
        platform: &mut dyn Platform,
        bytes: GuestBytes<'_>,
    ) -> Result<Result<(), StreamError>, Trap> {
        let lifted = bytes.lift()?;
        Ok(self.write(platform, &lifted))
    }
    /// Starts flushing what was written; completion shows as `ready`.
    fn flush(&mut self, platform: &mut dyn Platform) -> Result<(), StreamError>;
    /// Whether `check_write` would give a non-zero permit or an error right now.
    fn ready(&self) -> bool {
        true
    }
}

/// The table entry behind an `input-stream` handle.
pub struct InputStream(pub Box<dyn HostInputStream>);

/// The table entry behind an `output-stream` handle.
pub struct OutputStream(pub Box<dyn HostOutputStream>);

/// The table entry behind an `error` handle: the text `to-debug-string` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IoError(pub(crate) String);

/// The most one `read` asks a stream for: bounds the host buffer whatever `len` the guest
/// passes (streams may always return fewer bytes than asked).
pub(crate) const MAX_READ: u64 = 1 << 20;

/// `blocking-write-and-flush` and `blocking-write-zeroes-and-flush` take at most this many
/// bytes per call (the WIT says so; larger calls trap).
pub(crate) const BLOCKING_WRITE_LIMIT: u64 = 4096;
