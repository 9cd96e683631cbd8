//! What the run loop needs from the thread it runs on: a clock, the inbox's sleep, the outbox
//! and a way to post telemetry. The browser shim implements it with `performance.now()`,
//! `Atomics.wait` on the ring and `postMessage`; tests implement it with a virtual clock.

use pollscope_protocol::{Control, FromWasm, RingSample, WakeCause};
use pollscope_wasi::{Event, Stdio};

/// The wasm thread's machine, as the run loop uses it.
pub trait Port {
    /// Real monotonic time, in ns.
    fn now(&self) -> u64;
    /// Delivers what already arrived (stdin, commands decoded for [`Port::take_controls`]);
    /// returns whether any event was delivered.
    fn drain(&mut self, deliver: &mut dyn FnMut(Event)) -> bool;
    /// Whether something was published since the last drain (one atomic load).
    fn has_news(&self) -> bool;
    /// Sleeps at most `timeout` ns (`None`: until woken), then delivers what arrived and says
    /// why it woke. Commands already waiting end it at once.
    fn sleep(&mut self, timeout: Option<u64>, deliver: &mut dyn FnMut(Event)) -> WakeCause;
    /// Whether commands are waiting for [`Port::take_controls`].
    fn has_controls(&self) -> bool;
    /// Takes the commands that arrived, oldest first.
    fn take_controls(&mut self) -> Vec<Control>;
    /// The ring's counters at real time `at`.
    fn ring_sample(&self, at: u64) -> RingSample;
    /// Queues guest output; the port may send it at once when its batch is large or old.
    fn write_output(&mut self, stream: Stdio, bytes: &[u8]);
    /// Room for `len` more bytes of `stream` at the end of the output batch, for the caller to
    /// fill and then [`commit_output`](Port::commit_output): guest output is copied there
    /// straight from guest memory. Bytes not committed are never sent.
    fn output_space(&mut self, stream: Stdio, len: usize) -> &mut [u8];
    /// Queues the `len` bytes of `stream` just written into [`Port::output_space`], as
    /// [`write_output`](Port::write_output) queues its bytes.
    fn commit_output(&mut self, stream: Stdio, len: usize);
    /// Sends the queued output on its way.
    fn flush_output(&mut self);
    /// Posts a telemetry message to the page.
    fn post(&mut self, message: &FromWasm);
}

/// A guest's scheduler as the run loop shows it (TinyGo's, read from guest memory); `()` for
/// guests without one.
pub trait Scheduler {
    /// Its queues at real time `at` and guest monotonic time `guest_now`, when readable.
    fn snapshot(&self, at: u64, guest_now: u64) -> Option<pollscope_protocol::SchedulerSnapshot>;
    /// Records one task switch the asyncify flight recorder reported (see the shim's hook).
    fn record(&mut self, kind: i32, phase: i32, ptr: i32, at: u64);
    /// The task switches recorded since the last call.
    fn take_events(&mut self) -> Vec<pollscope_protocol::AsyncifyEvent>;
}
