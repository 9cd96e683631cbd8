//! The wasm thread's machine for the run loop (`pollscope_runloop::Port`): `performance.now()`,
//! the ring's inbox (`Atomics.wait`), the output ring (the outbox) and `postMessage`. All
//! decisions are the run loop's; this only reaches the browser.

use pollscope_protocol::worker::FromWasmThread;
use pollscope_protocol::{encode_json, Control, FromWasm, RingSample, WakeCause};
use pollscope_runloop::Port;
use pollscope_wasi::{Event, Stdio};
use web_sys::{DedicatedWorkerGlobalScope, Performance};

use crate::inbox::Inbox;
use crate::messages::{self, Js};
use crate::outbox::Outbox;

/// The worker's clock, inbox, outbox and message port.
pub struct BrowserPort {
    performance: Performance,
    scope: DedicatedWorkerGlobalScope,
    inbox: Inbox,
    outbox: Outbox,
}

impl BrowserPort {
    /// The port of the worker `scope`, fed by `inbox`.
    pub fn new(scope: DedicatedWorkerGlobalScope, inbox: Inbox) -> Result<BrowserPort, String> {
        let performance = scope
            .performance()
            .ok_or("this worker has no `performance`")?;
        Ok(BrowserPort {
            performance,
            outbox: Outbox::new(&scope)?,
            scope,
            inbox,
        })
    }

    /// The wall clock now, as (seconds, nanoseconds) since the Unix epoch.
    pub fn wall_now(&self) -> (u64, u32) {
        let wall_ms = self.performance.time_origin() + self.performance.now();
        let seconds = (wall_ms / 1000.0).floor();
        let nanos = (((wall_ms - seconds * 1000.0) * 1e6) as u32).min(999_999_999);
        (seconds as u64, nanos)
    }
}

impl Port for BrowserPort {
    #[inline]
    fn now(&self) -> u64 {
        (self.performance.now() * 1e6) as u64
    }

    fn drain(&mut self, deliver: &mut dyn FnMut(Event)) -> bool {
        self.inbox.drain(deliver)
    }

    fn has_news(&self) -> bool {
        self.inbox.has_news()
    }

    fn sleep(&mut self, timeout: Option<u64>, deliver: &mut dyn FnMut(Event)) -> WakeCause {
        self.inbox.wait(timeout.map(|ns| ns as f64 / 1e6), deliver)
    }

    fn has_controls(&self) -> bool {
        self.inbox.has_controls()
    }

    fn take_controls(&mut self) -> Vec<Control> {
        self.inbox.take_controls().collect()
    }

    fn ring_sample(&self, at: u64) -> RingSample {
        self.inbox.ring_sample(at)
    }

    fn write_output(&mut self, stream: Stdio, bytes: &[u8]) {
        let now_ms = self.performance.now();
        self.outbox.write(stream, bytes, now_ms);
    }

    fn output_space(&mut self, stream: Stdio, len: usize) -> &mut [u8] {
        self.outbox.space(stream, len)
    }

    fn commit_output(&mut self, stream: Stdio, len: usize) {
        let now_ms = self.performance.now();
        self.outbox.commit(stream, len, now_ms);
    }

    fn flush_output(&mut self) {
        self.outbox.flush();
    }

    fn post(&mut self, message: &FromWasm) {
        post_json(&self.scope, message);
    }
}

/// Posts a `FromWasm` as its protocol JSON text (a `message`): the text travels to a panel
/// unparsed, and the loader parses it once.
pub fn post_json(scope: &DedicatedWorkerGlobalScope, message: &FromWasm) {
    if let Ok(json) = encode_json(message) {
        messages::post(scope, &FromWasmThread::<Js>::Message { json }, &[]);
    }
}
