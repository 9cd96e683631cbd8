//! What the host needs from the machine it runs on.
//!
//! The browser shim implements this with `performance.now()`, `crypto.getRandomValues`,
//! `postMessage` batches and `Atomics.wait` on the ring's wake word; native tests implement it
//! with a virtual clock.

use crate::{GuestBytes, Trap};

/// The two output streams the platform carries to the embedder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stdio {
    /// `wasi:cli/stdout`.
    Stdout,
    /// `wasi:cli/stderr`.
    Stderr,
}

/// Which guest call a wait happens in (telemetry names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// `[method]pollable.block`.
    PollableBlock,
    /// `wasi:io/poll.poll`.
    Poll,
    /// `[method]input-stream.blocking-read` or `blocking-skip`.
    BlockingRead,
    /// A blocking write or flush on an output stream.
    BlockingWrite,
}

/// Something the embedder delivered while the guest ran or waited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes for the guest's stdin, in order.
    Stdin(Vec<u8>),
    /// The embedder closed stdin: reads return `closed` once the buffer is drained.
    StdinClosed,
}

/// The machine under the host.
pub trait Platform {
    /// Monotonic time in nanoseconds; never goes backwards.
    fn monotonic_now(&self) -> u64;
    /// Wall-clock time as (seconds, nanoseconds) since the Unix epoch.
    fn wall_now(&self) -> (u64, u32);
    /// Resolution of `monotonic_now` in nanoseconds. The default is what browsers give
    /// `performance.now()` in a cross-origin-isolated worker (coarsened to 5 µs).
    fn monotonic_resolution(&self) -> u64 {
        5_000
    }
    /// Resolution of `wall_now` in nanoseconds (default as `monotonic_resolution`, since the
    /// shim derives wall time from `performance.timeOrigin + performance.now()`).
    fn wall_resolution(&self) -> u64 {
        5_000
    }
    /// Fills `buf` with cryptographically secure random bytes.
    fn random_bytes(&mut self, buf: &mut [u8]);
    /// Takes bytes the guest wrote to stdout or stderr. May batch them.
    fn write_output(&mut self, stream: Stdio, bytes: &[u8]);
    /// [`write_output`](Platform::write_output) of bytes still in guest memory: a platform
    /// that batches output copies them straight into its batch (the shim does); the default
    /// lifts them first. Traps when any byte is out of bounds, having taken none.
    fn write_output_guest(&mut self, stream: Stdio, bytes: GuestBytes<'_>) -> Result<(), Trap> {
        let lifted = bytes.lift()?;
        self.write_output(stream, &lifted);
        Ok(())
    }
    /// Sends any batched output on its way. The embedder calls it when the guest ends; before
    /// a wait the platform does it itself (see [`wait`](Platform::wait)).
    fn flush_output(&mut self);
    /// Hands every event that has already arrived to `deliver`, without waiting.
    fn poll_events(&mut self, deliver: &mut dyn FnMut(Event));
    /// Sends any batched output first (a sleeping guest must never hold data back; the host
    /// does not flush before calling this), then waits until the monotonic clock reaches
    /// `deadline` (forever when `None`) or an event arrives, whichever is first, and delivers
    /// the events that arrived. Returns early at any time; the caller re-checks what it waits
    /// for.
    fn wait(&mut self, deadline: Option<u64>, reason: WaitReason, deliver: &mut dyn FnMut(Event));

    /// Called at the start of every host call, before the import runs: where a platform that
    /// can be steered (paused from a debugger) stops the guest. Events that arrive meanwhile go
    /// to `deliver`. The default does nothing.
    fn checkpoint(&mut self, deliver: &mut dyn FnMut(Event)) {
        let _ = deliver;
    }

    /// Whether the embedder asked to end the guest (`pollscope run` on a signal or its
    /// timeout): the host then ends it with [`TrapKind::Interrupted`](crate::TrapKind) at its
    /// next host call or after its current wait, so the guest's end (and what it wrote to
    /// write-back preopens) still reaches the embedder, instead of a killed worker.
    fn stop_requested(&self) -> bool {
        false
    }
}
