//! The browser under the WASI host: the wasm thread's clocks, randomness, output and wait.

use pollscope_wasi::{Event, Platform, Stdio, WaitReason};
use web_sys::{Crypto, DedicatedWorkerGlobalScope, Performance};

use crate::inbox::Inbox;
use crate::outbox::Outbox;

/// `crypto.getRandomValues` fills at most this many bytes per call.
const RANDOM_CHUNK: usize = 65536;

/// The wasm thread's platform.
pub struct BrowserPlatform {
    performance: Performance,
    crypto: Crypto,
    outbox: Outbox,
    inbox: Inbox,
}

impl BrowserPlatform {
    /// The platform of the worker `scope`, fed by `inbox`.
    pub fn new(scope: DedicatedWorkerGlobalScope, inbox: Inbox) -> Result<BrowserPlatform, String> {
        let performance = scope
            .performance()
            .ok_or("this worker has no `performance`")?;
        let crypto = scope.crypto().map_err(|_| "this worker has no `crypto`")?;
        Ok(BrowserPlatform {
            performance,
            crypto,
            outbox: Outbox::new(scope),
            inbox,
        })
    }

    fn now_ms(&self) -> f64 {
        self.performance.now()
    }

    /// A paused guest stays here, asleep in `Atomics.wait`, until a `resume` command; stdin
    /// that arrives meanwhile is delivered but the guest does not run.
    fn hold_while_paused(&mut self, deliver: &mut dyn FnMut(Event)) {
        while self.inbox.paused() {
            self.outbox.flush();
            self.inbox.wait(None, deliver);
        }
    }
}

impl Platform for BrowserPlatform {
    fn monotonic_now(&self) -> u64 {
        (self.now_ms() * 1e6) as u64
    }

    fn wall_now(&self) -> (u64, u32) {
        // timeOrigin + now is wall time with performance.now()'s resolution.
        let ms = self.performance.time_origin() + self.now_ms();
        let seconds = (ms / 1000.0).floor();
        let nanos = ((ms - seconds * 1000.0) * 1e6) as u32;
        (seconds as u64, nanos.min(999_999_999))
    }

    fn random_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(RANDOM_CHUNK) {
            // Only fails for chunks over 64 KiB, which chunks_mut rules out.
            let _ = self.crypto.get_random_values_with_u8_array(chunk);
        }
    }

    fn write_output(&mut self, stream: Stdio, bytes: &[u8]) {
        let now = self.now_ms();
        self.outbox.write(stream, bytes, now);
    }

    fn flush_output(&mut self) {
        self.outbox.flush();
    }

    fn poll_events(&mut self, deliver: &mut dyn FnMut(Event)) {
        self.inbox.drain(deliver);
    }

    fn wait(&mut self, deadline: Option<u64>, _reason: WaitReason, deliver: &mut dyn FnMut(Event)) {
        self.outbox.flush();
        let timeout_ms = deadline.map(|deadline| (deadline as f64 / 1e6 - self.now_ms()).max(0.0));
        if timeout_ms == Some(0.0) {
            self.inbox.drain(deliver);
            return;
        }
        self.inbox.wait(timeout_ms, deliver);
        self.hold_while_paused(deliver);
    }

    fn checkpoint(&mut self, deliver: &mut dyn FnMut(Event)) {
        if self.inbox.has_news() {
            self.inbox.drain(deliver);
        }
        self.hold_while_paused(deliver);
    }
}
