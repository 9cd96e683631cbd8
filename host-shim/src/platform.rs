//! The browser under the WASI host: `Platform` calls go to the wasm thread's run loop
//! (`pollscope_runloop::RunLoop`), which decides about clocks, waits, holds and telemetry;
//! randomness is `crypto.getRandomValues`.

use std::cell::RefCell;
use std::rc::Rc;

use pollscope_runloop::RunLoop;
use pollscope_wasi::{Event, GuestBytes, Platform, Stdio, Trap, WaitReason};
use web_sys::{Crypto, DedicatedWorkerGlobalScope};

use crate::port::BrowserPort;
use crate::tinygo::TinyGo;

/// `crypto.getRandomValues` fills at most this many bytes per call.
const RANDOM_CHUNK: usize = 65536;

/// The wasm thread's run loop, shared by the platform and the host-call dispatcher; nobody
/// holds the borrow across `Host::call` or a call into the guest.
pub type Shared = Rc<RefCell<RunLoop<BrowserPort, TinyGo>>>;

/// The wasm thread's platform.
pub struct BrowserPlatform {
    crypto: Crypto,
    run_loop: Shared,
}

impl BrowserPlatform {
    /// The platform of the worker `scope`, driving `run_loop`.
    pub fn new(
        scope: &DedicatedWorkerGlobalScope,
        run_loop: Shared,
    ) -> Result<BrowserPlatform, String> {
        let crypto = scope.crypto().map_err(|_| "this worker has no `crypto`")?;
        Ok(BrowserPlatform { crypto, run_loop })
    }
}

impl Platform for BrowserPlatform {
    fn monotonic_now(&self) -> u64 {
        self.run_loop.borrow().monotonic_now()
    }

    fn wall_now(&self) -> (u64, u32) {
        self.run_loop.borrow().wall_now()
    }

    fn random_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(RANDOM_CHUNK) {
            // Only fails for chunks over 64 KiB, which chunks_mut rules out.
            let _ = self.crypto.get_random_values_with_u8_array(chunk);
        }
    }

    fn write_output(&mut self, stream: Stdio, bytes: &[u8]) {
        self.run_loop.borrow_mut().write_output(stream, bytes);
    }

    fn write_output_guest(&mut self, stream: Stdio, bytes: GuestBytes<'_>) -> Result<(), Trap> {
        self.run_loop.borrow_mut().write_output_guest(stream, bytes)
    }

    fn flush_output(&mut self) {
        self.run_loop.borrow_mut().flush_output();
    }

    fn poll_events(&mut self, deliver: &mut dyn FnMut(Event)) {
        self.run_loop.borrow_mut().poll_events(deliver);
    }

    fn wait(&mut self, deadline: Option<u64>, reason: WaitReason, deliver: &mut dyn FnMut(Event)) {
        self.run_loop.borrow_mut().wait(deadline, reason, deliver);
    }

    fn checkpoint(&mut self, deliver: &mut dyn FnMut(Event)) {
        self.run_loop.borrow_mut().checkpoint(deliver);
    }

    fn stop_requested(&self) -> bool {
        self.run_loop.borrow().stopping()
    }
}
