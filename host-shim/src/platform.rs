//! The browser under the WASI host: the wasm thread's clocks (through the time scale),
//! randomness, output, waits (recorded, steered) and the host-call checkpoint.

use pollscope_protocol::{Control, FromWasm, WaitCall, WakeCause};
use pollscope_runloop::{DeadlineWaiter, WaitPort};
use pollscope_telemetry::pollables::wait_call;
use pollscope_wasi::{Event, Platform, Stdio, WaitReason};
use web_sys::{Crypto, DedicatedWorkerGlobalScope, Performance};

use crate::inbox::Inbox;
use crate::outbox::Outbox;
use crate::telemetry::Shared;

/// `crypto.getRandomValues` fills at most this many bytes per call.
const RANDOM_CHUNK: usize = 65536;

/// The wasm thread's platform.
pub struct BrowserPlatform {
    performance: Performance,
    crypto: Crypto,
    outbox: Outbox,
    inbox: Inbox,
    telemetry: Shared,
    /// False with `telemetry: false`: no wait is recorded and no batch posted (clocks still go
    /// through the time scale, steering still holds the guest).
    recording: bool,
    /// Makes timed waits end on their deadline rather than when `Atomics.wait` wakes.
    waiter: DeadlineWaiter,
}

/// The inbox's sleep and the worker's clock, as the deadline waiter needs them.
struct InboxPort<'a> {
    performance: &'a Performance,
    inbox: &'a mut Inbox,
    deliver: &'a mut dyn FnMut(Event),
}

impl WaitPort for InboxPort<'_> {
    fn now(&mut self) -> u64 {
        (self.performance.now() * 1e6) as u64
    }

    fn sleep(&mut self, timeout: Option<u64>) -> WakeCause {
        self.inbox
            .wait(timeout.map(|ns| ns as f64 / 1e6), self.deliver)
    }

    fn look(&mut self) -> Option<WakeCause> {
        self.inbox.look(self.deliver)
    }
}

impl BrowserPlatform {
    /// The platform of the worker `scope`, fed by `inbox`, sharing `telemetry` with the
    /// dispatcher; `recording` false skips the recorder entirely.
    pub fn new(
        scope: DedicatedWorkerGlobalScope,
        inbox: Inbox,
        telemetry: Shared,
        recording: bool,
    ) -> Result<BrowserPlatform, String> {
        let performance = scope
            .performance()
            .ok_or("this worker has no `performance`")?;
        let crypto = scope.crypto().map_err(|_| "this worker has no `crypto`")?;
        Ok(BrowserPlatform {
            performance,
            crypto,
            outbox: Outbox::new(scope),
            inbox,
            telemetry,
            recording,
            waiter: DeadlineWaiter::default(),
        })
    }

    /// Sleeps in the inbox until the real instant `deadline` (`None`: until woken), ending on
    /// time (see [`DeadlineWaiter`]).
    fn sleep_until(&mut self, deadline: Option<u64>, deliver: &mut dyn FnMut(Event)) -> WakeCause {
        let mut port = InboxPort {
            performance: &self.performance,
            inbox: &mut self.inbox,
            deliver,
        };
        self.waiter.wait_until(&mut port, deadline)
    }

    fn now_ms(&self) -> f64 {
        self.performance.now()
    }

    /// Real monotonic time in ns.
    fn real_now(&self) -> u64 {
        (self.now_ms() * 1e6) as u64
    }

    /// Acts on the commands the inbox decoded: steering, time scale, subscriptions, snapshot
    /// requests (answered by the dispatcher after the current host call). A restart is the
    /// loader's business (it replaces both workers), so the wasm thread ignores it.
    fn apply_controls(&mut self) {
        if !self.inbox.has_controls() {
            return;
        }
        let now = self.real_now();
        let mut telemetry = self.telemetry.borrow_mut();
        for control in self.inbox.take_controls() {
            if telemetry.steering.apply(control) {
                continue;
            }
            match control {
                Control::TimeScale(scale) => {
                    telemetry.time_scale.set_scale(now, scale);
                }
                // Nothing is recorded with telemetry off: a subscriber hears nothing.
                Control::Subscribe { .. } | Control::Unsubscribe | Control::Snapshot
                    if !self.recording => {}
                Control::Subscribe { detail } => {
                    telemetry.recorder.subscribe(detail);
                    let hello = FromWasm::Hello(telemetry.hello.clone());
                    telemetry.post(&hello);
                    telemetry.snapshot_wanted = true;
                    telemetry.scheduler_wanted = true;
                }
                Control::Unsubscribe => telemetry.recorder.unsubscribe(),
                Control::Snapshot => {
                    telemetry.snapshot_wanted = true;
                    telemetry.scheduler_wanted = true;
                }
                _ => {}
            }
        }
        telemetry.update_watch();
    }

    /// Posts the pending batch (with a ring sample when detail is on), when a panel listens.
    fn post_pending(&mut self, now: u64) {
        let mut telemetry = self.telemetry.borrow_mut();
        if !telemetry.recorder.subscribed() {
            return;
        }
        if telemetry.recorder.detail() {
            telemetry.recorder.sample_ring(self.inbox.ring_sample(now));
        }
        telemetry.post_pending(now);
    }

    fn paused(&self) -> bool {
        self.telemetry.borrow().steering.paused()
    }

    /// A paused guest stays here, asleep in `Atomics.wait`, until a resume or step (recorded
    /// as a `paused` wait); stdin that arrives meanwhile is delivered but the guest does not
    /// run. Returns whether events were delivered meanwhile.
    fn hold_while_paused(&mut self, deliver: &mut dyn FnMut(Event)) -> bool {
        if !self.paused() {
            return false;
        }
        self.outbox.flush();
        if self.recording {
            // What ran since the last hold (a step's events, its state) goes out before the
            // guest shows as paused again, so a panel sees each step begin and end.
            let now = self.real_now();
            self.post_pending(now);
            self.telemetry
                .borrow_mut()
                .recorder
                .begin_wait(now, WaitCall::Paused, None, None);
            self.post_pending(now);
        }
        let mut delivered = false;
        let mut counting = |event: Event| {
            delivered = true;
            deliver(event);
        };
        while self.paused() {
            self.inbox.wait(None, &mut counting);
            self.apply_controls();
            // Asked for while paused: the scheduler stands still, its queues can be read now.
            let mut telemetry = self.telemetry.borrow_mut();
            if telemetry.scheduler_wanted {
                let now = telemetry.real_now();
                telemetry.post_scheduler(now);
            }
        }
        if self.recording {
            let now = self.real_now();
            self.telemetry
                .borrow_mut()
                .recorder
                .end_wait(now, WakeCause::Command);
        }
        delivered
    }
}

impl Platform for BrowserPlatform {
    fn monotonic_now(&self) -> u64 {
        self.telemetry
            .borrow()
            .time_scale
            .guest_monotonic(self.real_now())
    }

    fn wall_now(&self) -> (u64, u32) {
        self.telemetry
            .borrow()
            .time_scale
            .guest_wall(self.real_now())
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
        self.apply_controls();
    }

    /// One wait: the guest deadline becomes a real timeout through the time scale; a step
    /// under way ends here (held before the wait, which then lasts what remained of it when
    /// the hold began, so a step always shows the wait it runs through); the pending batch
    /// leaves before the guest sleeps past the next flush. A command wakes it (the caller looks again and waits
    /// anew, so a pause holds the guest before that next wait and a new scale applies to it).
    /// A deadline already past is no wait: nothing is recorded and no step ends there.
    fn wait(&mut self, deadline: Option<u64>, reason: WaitReason, deliver: &mut dyn FnMut(Event)) {
        self.outbox.flush();
        let now = self.real_now();
        let timeout = deadline.map(|deadline| {
            self.telemetry
                .borrow()
                .time_scale
                .real_timeout(now, deadline)
        });
        if timeout == Some(0) {
            self.inbox.drain(deliver);
            self.apply_controls();
            return;
        }
        let hold = self.telemetry.borrow_mut().steering.before_wait();
        // Input that arrived during the hold may be what the guest waits for: it looks again.
        if hold && self.hold_while_paused(deliver) {
            return;
        }
        // After a hold the wait lasts what remained when the hold began: its deadline starts now.
        let now = self.real_now();
        let real_deadline = timeout.map(|timeout| now + timeout);
        if !self.recording {
            self.sleep_until(real_deadline, deliver);
            self.apply_controls();
            return;
        }
        let flush = {
            let mut telemetry = self.telemetry.borrow_mut();
            let recorder = &mut telemetry.recorder;
            recorder.begin_wait(now, wait_call(reason), deadline, timeout);
            if recorder.ring_sample_due(now) {
                recorder.sample_ring(self.inbox.ring_sample(now));
            }
            recorder.flush_before_wait(now, timeout)
        };
        if flush {
            self.post_pending(now);
        }
        let wake = self.sleep_until(real_deadline, deliver);
        let end = self.real_now();
        self.telemetry.borrow_mut().recorder.end_wait(end, wake);
        self.apply_controls();
    }

    fn checkpoint(&mut self, deliver: &mut dyn FnMut(Event)) {
        if self.inbox.has_news() {
            self.inbox.drain(deliver);
            self.apply_controls();
        }
        // One borrow for both questions: this runs at every host call.
        let (paused, flush_check) = {
            let mut telemetry = self.telemetry.borrow_mut();
            let flush_check = self.recording && telemetry.recorder.flush_check_due();
            (telemetry.steering.paused(), flush_check)
        };
        if paused {
            self.hold_while_paused(deliver);
        }
        if flush_check {
            let now = self.real_now();
            if self.telemetry.borrow().recorder.flush_due(now) {
                self.post_pending(now);
            }
        }
    }
}
