//! The guest's run loop around host calls: everything the wasm thread decides between the
//! guest and the machine — commands, pause/step/hold, the time scale, waits that end on time
//! and why they woke, flushing output before a wait, and what telemetry goes out when.
//!
//! The shim's `Platform` and its host-call dispatcher are thin wrappers that call
//! [`RunLoop`]'s methods with a [`Port`]; the dispatcher and the platform share one `RunLoop`
//! and never hold it across a call into the guest or into `Host::call`.

use std::cell::Cell;
use std::rc::Rc;

use pollscope_protocol::{Control, FromWasm, Hello, WaitCall, WakeCause};
use pollscope_telemetry::pollables::{self, wait_call};
use pollscope_telemetry::{CallCounts, Recorder, RecorderConfig, Steering, TimeScale};
use pollscope_wasi::{Event, GuestBytes, Host, Stdio, Trap, WaitReason};

use crate::deadline::{DeadlineWaiter, WaitPort};
use crate::output_tail::OutputTail;
use crate::port::{Port, Scheduler};

/// Least real time between two scheduler snapshots taken at idle waits (asked-for ones go
/// out regardless and do not count): a program napping every millisecond would otherwise send
/// one per nap.
pub const SCHEDULER_INTERVAL: u64 = 10_000_000;

/// How a host function relates to waiting (declared by the host's function table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallKind {
    /// It may wait (poll, block, the blocking stream calls): the pollables are looked at
    /// before it with detail on, and each call is timed (others are sampled).
    pub may_wait: bool,
    /// The guest's scheduler is idle when it makes this call (`pollable.block`, `poll`), so its
    /// queues are consistent to read.
    pub idle_point: bool,
}

/// The wasm thread's state between the guest and its machine (see the module doc).
pub struct RunLoop<P, S> {
    /// The thread's machine.
    pub port: P,
    /// Counters always; records while a panel listens with detail.
    pub recorder: Recorder,
    /// The guest's clocks.
    pub time_scale: TimeScale,
    /// Pause, resume, step.
    pub steering: Steering,
    /// The handshake, sent whenever a panel subscribes.
    pub hello: Hello,
    /// The guest's scheduler, when its program shows one.
    pub scheduler: Option<S>,
    calls: Vec<CallKind>,
    /// False with telemetry off: nothing is recorded or posted (clocks still go through the
    /// time scale, steering still holds the guest).
    recording: bool,
    snapshot_wanted: bool,
    scheduler_wanted: bool,
    watch: Rc<Cell<bool>>,
    last_scheduler: u64,
    waiter: DeadlineWaiter,
    /// The newest output, for a panel that joins late (kept while recording).
    tail: OutputTail,
    /// Output written since the last flush, for the listening panel.
    for_panel: OutputTail,
    /// The embedder asked to end the guest ([`Control::Stop`]).
    stopping: bool,
}

impl<P: Port, S: Scheduler> RunLoop<P, S> {
    /// A run loop for the guest `hello` describes, whose host functions (in the Hello's order)
    /// are `calls`, starting at scale 1 with the guest's wall clock at `wall_now`.
    pub fn new(
        port: P,
        hello: Hello,
        calls: Vec<CallKind>,
        wall_now: (u64, u32),
        recording: bool,
    ) -> RunLoop<P, S> {
        let now = port.now();
        let may_wait = calls.iter().map(|c| c.may_wait).collect();
        RunLoop {
            recorder: Recorder::new(RecorderConfig::default(), may_wait, now),
            time_scale: TimeScale::new(now, wall_now),
            steering: Steering::default(),
            hello,
            scheduler: None,
            calls,
            recording,
            snapshot_wanted: false,
            scheduler_wanted: false,
            watch: Rc::new(Cell::new(false)),
            last_scheduler: 0,
            waiter: DeadlineWaiter::default(),
            tail: OutputTail::default(),
            for_panel: OutputTail::default(),
            stopping: false,
            port,
        }
    }

    /// Whether the embedder asked to end the guest: the host ends it at its next host call or
    /// after its current wait (`Platform::stop_requested`).
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// Whether anything is recorded at all (the page's `telemetry: false` turns it off).
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Whether host calls need the run loop (a panel listens, or a snapshot is asked for): the
    /// dispatcher reads it without borrowing the run loop.
    pub fn watch(&self) -> Rc<Cell<bool>> {
        self.watch.clone()
    }

    /// The recorder's call counters, which the dispatcher bumps directly for unwatched calls.
    pub fn call_counts(&self) -> CallCounts {
        self.recorder.call_counts()
    }

    /// Real monotonic time, in ns.
    pub fn real_now(&self) -> u64 {
        self.port.now()
    }

    /// The guest's monotonic clock.
    pub fn monotonic_now(&self) -> u64 {
        self.time_scale.guest_monotonic(self.port.now())
    }

    /// The guest's wall clock.
    pub fn wall_now(&self) -> (u64, u32) {
        self.time_scale.guest_wall(self.port.now())
    }

    /// Queues guest output; keeps its newest bytes for panels.
    pub fn write_output(&mut self, stream: Stdio, bytes: &[u8]) {
        self.port.write_output(stream, bytes);
        if self.recording {
            self.tail.push(stream, bytes);
            if self.recorder.subscribed() {
                self.for_panel.push(stream, bytes);
            }
        }
    }

    /// Queues guest output still in guest memory, copied straight into the port's batch (and
    /// from there into the panels' tail). Traps when any byte is out of bounds, queuing none.
    pub fn write_output_guest(&mut self, stream: Stdio, bytes: GuestBytes<'_>) -> Result<(), Trap> {
        let len = bytes.len();
        let space = self.port.output_space(stream, len);
        bytes.copy_to(space)?;
        if self.recording {
            self.tail.push(stream, space);
            if self.recorder.subscribed() {
                self.for_panel.push(stream, space);
            }
        }
        self.port.commit_output(stream, len);
        Ok(())
    }

    /// Sends the queued output on its way, and to a listening panel.
    pub fn flush_output(&mut self) {
        self.port.flush_output();
        self.post_output_for_panel();
    }

    fn post_output_for_panel(&mut self) {
        for message in self.for_panel.take_messages() {
            self.port.post(&message);
        }
    }

    /// Delivers what arrived and acts on the commands among it.
    pub fn poll_events(&mut self, deliver: &mut dyn FnMut(Event)) {
        self.port.drain(deliver);
        self.apply_controls();
    }

    fn update_watch(&self) {
        self.watch
            .set(self.recorder.subscribed() || self.snapshot_wanted || self.scheduler_wanted);
    }

    /// Acts on the commands that arrived: steering, time scale, subscriptions, snapshot
    /// requests (answered after the current host call, where the host's pollables can be
    /// seen). A restart is the page's business (it replaces both workers): ignored here.
    pub fn apply_controls(&mut self) {
        if !self.port.has_controls() {
            return;
        }
        let controls = self.port.take_controls();
        let now = self.port.now();
        for control in controls {
            if self.steering.apply(control) {
                continue;
            }
            match control {
                Control::TimeScale(scale) => {
                    self.time_scale.set_scale(now, scale);
                }
                Control::Stop => {
                    self.stopping = true;
                    // A paused guest goes on, to its end.
                    self.steering.apply(Control::Resume);
                }
                // Nothing is recorded with telemetry off: a subscriber hears nothing.
                Control::Subscribe { .. } | Control::Unsubscribe | Control::Snapshot
                    if !self.recording => {}
                Control::Subscribe { detail, replay } => {
                    self.recorder.subscribe(detail);
                    let hello = FromWasm::Hello(self.hello.clone());
                    self.port.post(&hello);
                    if replay {
                        // What was written before the panel came, then what it writes now.
                        self.for_panel = OutputTail::default();
                        for message in self.tail.messages() {
                            self.port.post(&message);
                        }
                    }
                    self.snapshot_wanted = true;
                    self.scheduler_wanted = true;
                }
                Control::Unsubscribe => {
                    self.recorder.unsubscribe();
                    self.for_panel = OutputTail::default();
                }
                Control::Snapshot => {
                    self.snapshot_wanted = true;
                    self.scheduler_wanted = true;
                }
                _ => {}
            }
        }
        self.update_watch();
    }

    /// Posts the records gathered since the last batch (a ring sample first with detail on)
    /// and the task switches, when a panel listens.
    pub fn post_pending(&mut self, now: u64) {
        if !self.recorder.subscribed() {
            return;
        }
        if self.recorder.detail() {
            self.recorder.sample_ring(self.port.ring_sample(now));
        }
        if self.recorder.has_pending() {
            let batch = self.recorder.drain_batch(now);
            self.port.post(&FromWasm::Events(batch));
        }
        self.post_output_for_panel();
        let events = self.scheduler.as_mut().map(S::take_events);
        if let Some(events) = events.filter(|events| !events.is_empty()) {
            self.port.post(&FromWasm::Asyncify { events });
        }
    }

    /// At the start of every host call: news from the ring is delivered and acted on, a paused
    /// guest is held here, and a batch due goes out.
    pub fn checkpoint(&mut self, deliver: &mut dyn FnMut(Event)) {
        if self.port.has_news() {
            self.port.drain(deliver);
            self.apply_controls();
        }
        if self.steering.paused() {
            self.hold_while_paused(deliver);
        }
        if self.recording && self.recorder.flush_check_due() {
            let now = self.port.now();
            if self.recorder.flush_due(now) {
                self.post_pending(now);
            }
        }
    }

    /// A paused guest stays here, asleep, until a resume or step (recorded as a `paused` wait);
    /// stdin that arrives meanwhile is delivered but the guest does not run. Returns whether
    /// events were delivered meanwhile.
    fn hold_while_paused(&mut self, deliver: &mut dyn FnMut(Event)) -> bool {
        if !self.steering.paused() {
            return false;
        }
        self.flush_output();
        if self.recording {
            // What ran since the last hold (a step's events, its state) goes out before the
            // guest shows as paused again, so a panel sees each step begin and end.
            let now = self.port.now();
            self.post_pending(now);
            self.recorder.begin_wait(now, WaitCall::Paused, None, None);
            self.post_pending(now);
        }
        let mut delivered = false;
        let mut counting = |event: Event| {
            delivered = true;
            deliver(event);
        };
        while self.steering.paused() {
            self.port.sleep(None, &mut counting);
            self.apply_controls();
            // Asked for while paused: the scheduler stands still, its queues can be read now.
            if self.scheduler_wanted {
                let now = self.port.now();
                self.post_scheduler(now);
            }
        }
        if self.recording {
            let now = self.port.now();
            self.recorder.end_wait(now, WakeCause::Command);
        }
        delivered
    }

    /// One wait of the guest (see `Platform::wait`): output goes out first; the guest deadline
    /// becomes a real one through the time scale; a step under way ends here (held before the
    /// wait, which then lasts what remained of it when the hold began, so a step always shows
    /// the wait it runs through); the pending batch leaves before the guest sleeps past the
    /// next flush; the sleep ends on its deadline ([`DeadlineWaiter`]). A command wakes it (the
    /// caller looks again and waits anew, so a pause holds the guest before that next wait and
    /// a new scale applies to it). A deadline already past is no wait: nothing is recorded
    /// and no step ends there.
    pub fn wait(
        &mut self,
        deadline: Option<u64>,
        reason: WaitReason,
        deliver: &mut dyn FnMut(Event),
    ) {
        self.flush_output();
        if self.stopping {
            return;
        }
        let now = self.port.now();
        let timeout = deadline.map(|deadline| self.time_scale.real_timeout(now, deadline));
        if timeout == Some(0) {
            self.poll_events(deliver);
            return;
        }
        // Input that arrived during the hold may be what the guest waits for: it looks again.
        if self.steering.before_wait() && self.hold_while_paused(deliver) {
            return;
        }
        let now = self.port.now();
        let real_deadline = timeout.map(|timeout| now + timeout);
        if !self.recording {
            self.sleep_until(real_deadline, deliver);
            self.apply_controls();
            return;
        }
        self.recorder
            .begin_wait(now, wait_call(reason), deadline, timeout);
        if self.recorder.ring_sample_due(now) {
            self.recorder.sample_ring(self.port.ring_sample(now));
        }
        if self.recorder.flush_before_wait(now, timeout) {
            self.post_pending(now);
        }
        let wake = self.sleep_until(real_deadline, deliver);
        let end = self.port.now();
        self.recorder.end_wait(end, wake);
        self.apply_controls();
    }

    fn sleep_until(&mut self, deadline: Option<u64>, deliver: &mut dyn FnMut(Event)) -> WakeCause {
        let mut port = Sleeper {
            port: &mut self.port,
            deliver,
        };
        self.waiter.wait_until(&mut port, deadline)
    }

    /// Before host function `func` runs, for a watched call: a snapshot asked for earlier
    /// goes out; the call is counted (and, when timed, the scheduler and the pollables are
    /// looked at).
    pub fn enter_host_call(&mut self, host: &Host, func: u32) -> CallEntry {
        self.answer_snapshot(host);
        let timed = self.recorder.enter_host_call(func);
        if timed || self.scheduler_wanted {
            self.observe_scheduler(func);
        }
        let start = if timed {
            self.observe_pollables(host, func);
            Some(self.port.now())
        } else {
            None
        };
        CallEntry {
            subscribed: self.recorder.subscribed(),
            start,
        }
    }

    /// After a watched host call that [`RunLoop::enter_host_call`] began.
    pub fn leave_host_call(&mut self, host: &Host, func: u32, entry: CallEntry) {
        if entry.subscribed {
            let span = entry.start.map(|start| (start, self.port.now()));
            self.recorder.leave_host_call(func, span);
        }
        self.answer_snapshot(host);
    }

    /// A task switch the asyncify flight recorder saw: recorded (the scheduler keeps a
    /// bounded ring, posted once a panel subscribes); a step under way ends here. Returns
    /// whether the guest must be held (the caller then runs a checkpoint).
    pub fn scheduler_event(&mut self, kind: i32, phase: i32, ptr: i32) -> bool {
        // Not only with detail on: the recorder's rewrite is itself the opt-in, and a
        // restart's first switches (main's launch) come before the panel subscribes again.
        let now = self.port.now();
        if let Some(scheduler) = self.scheduler.as_mut() {
            scheduler.record(kind, phase, ptr, now);
        }
        self.steering.at_scheduler_event()
    }

    /// At an idle point of a program with a scheduler, with detail on: its queues (at most one
    /// per [`SCHEDULER_INTERVAL`] unless asked for).
    fn observe_scheduler(&mut self, func: u32) {
        if !self.call_kind(func).idle_point {
            return;
        }
        let now = self.port.now();
        let due = now.saturating_sub(self.last_scheduler) >= SCHEDULER_INTERVAL;
        if self.scheduler_wanted || (self.recorder.detail() && due) {
            self.post_scheduler(now);
            self.last_scheduler = now;
        }
    }

    /// Sends the scheduler's queues now, if there is a scheduler and a panel listens.
    fn post_scheduler(&mut self, now: u64) {
        self.scheduler_wanted = false;
        self.update_watch();
        if !self.recorder.subscribed() {
            return;
        }
        let guest_now = self.time_scale.guest_monotonic(now);
        let snapshot = self
            .scheduler
            .as_ref()
            .and_then(|s| s.snapshot(now, guest_now));
        if let Some(snapshot) = snapshot {
            self.port.post(&FromWasm::Scheduler(snapshot));
        }
    }

    /// With detail on, before a call that may wait: what the guest's pollables look like.
    fn observe_pollables(&mut self, host: &Host, func: u32) {
        if !self.call_kind(func).may_wait {
            return;
        }
        let now = self.port.now();
        let live = pollables::from_host(&host.pollables(), self.time_scale.guest_monotonic(now));
        self.recorder.observe_pollables(now, &live);
    }

    /// Builds and posts the snapshot asked for, if any.
    fn answer_snapshot(&mut self, host: &Host) {
        if !std::mem::take(&mut self.snapshot_wanted) {
            return;
        }
        self.update_watch();
        let now = self.port.now();
        let live = pollables::from_host(&host.pollables(), self.time_scale.guest_monotonic(now));
        let retired = pollables::retired_from_host(&host.retired_pollables());
        let snapshot = self
            .recorder
            .snapshot(now, live, retired, self.time_scale.scale());
        self.port.post(&FromWasm::Snapshot(snapshot));
    }

    fn call_kind(&self, func: u32) -> CallKind {
        self.calls.get(func as usize).copied().unwrap_or_default()
    }

    /// The guest ended: records how and, when a panel listens, sends the last batch, then the
    /// output still queued, then the end itself (`exit` or `trap`, always: the page waits for
    /// it). With no panel listening, the newest output goes first, for a panel that opens
    /// after the end.
    pub fn finish(&mut self, end: End) {
        let message = match &end {
            End::Exit(code) => FromWasm::Exit { code: *code },
            End::Trap(report) => FromWasm::Trap(report.clone()),
        };
        match end {
            End::Exit(code) => self.recorder.exited(code),
            End::Trap(report) => self.recorder.trapped(report),
        }
        let now = self.port.now();
        self.post_pending(now);
        self.flush_output();
        if self.recording && !self.recorder.subscribed() {
            for output in self.tail.take_messages() {
                self.port.post(&output);
            }
        }
        self.port.post(&message);
    }
}

/// A watched host call under way (see [`RunLoop::enter_host_call`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallEntry {
    /// A panel listened when it began: its end is recorded.
    subscribed: bool,
    /// When it began, if it is timed.
    start: Option<u64>,
}

/// How a guest ended, for [`RunLoop::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// `exit` or the run export returned.
    Exit(i32),
    /// It trapped.
    Trap(pollscope_protocol::TrapReport),
}

/// A guest without a scheduler view.
impl Scheduler for () {
    fn snapshot(&self, _: u64, _: u64) -> Option<pollscope_protocol::SchedulerSnapshot> {
        None
    }
    fn record(&mut self, _: i32, _: i32, _: i32, _: u64) {}
    fn take_events(&mut self) -> Vec<pollscope_protocol::AsyncifyEvent> {
        Vec::new()
    }
}

/// The port's sleep and clock, as the deadline waiter needs them.
struct Sleeper<'a, P> {
    port: &'a mut P,
    deliver: &'a mut dyn FnMut(Event),
}

impl<P: Port> WaitPort for Sleeper<'_, P> {
    fn now(&mut self) -> u64 {
        self.port.now()
    }

    fn sleep(&mut self, timeout: Option<u64>) -> WakeCause {
        self.port.sleep(timeout, self.deliver)
    }

    fn look(&mut self) -> Option<WakeCause> {
        if !self.port.has_news() {
            return None;
        }
        if self.port.drain(self.deliver) {
            Some(WakeCause::AlreadyThere)
        } else if self.port.has_controls() {
            // Commands end a wait too: the caller acts on them and looks again.
            Some(WakeCause::Command)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests;
