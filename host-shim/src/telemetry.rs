//! The wasm thread's telemetry and steering: one [`Recorder`], [`TimeScale`] and [`Steering`]
//! shared by the dispatcher (host-call counts and spans, pollables, snapshots) and the platform
//! (clocks, waits, holds, batches). Nobody holds the borrow across `Host::call` or a call into
//! the guest; every borrow is a few field updates.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use pollscope_protocol::{encode_json, FromWasm, Hello};
use pollscope_telemetry::{pollables, Recorder, RecorderConfig, Steering, TimeScale};
use pollscope_wasi::Host;
use web_sys::{DedicatedWorkerGlobalScope, Performance};

use crate::tinygo::TinyGo;

/// Least real time between two scheduler snapshots taken at idle waits (asked-for ones go
/// out regardless and do not count): a program napping every millisecond would otherwise send
/// one per nap.
const SCHEDULER_INTERVAL: u64 = 10_000_000;

/// What the dispatcher and the platform share (see [`Shared`]).
pub struct Telemetry {
    /// Counters always; records while a panel listens with detail.
    pub recorder: Recorder,
    /// The guest's clocks.
    pub time_scale: TimeScale,
    /// Pause, resume, step.
    pub steering: Steering,
    /// The handshake, sent whenever a panel subscribes.
    pub hello: Hello,
    /// Per host function: whether it may wait (poll, block, blocking stream calls), so the
    /// dispatcher looks at the pollables before it when detail is on, and the recorder times
    /// every call of it (others are sampled).
    pub may_wait: Vec<bool>,
    /// A snapshot was asked for (or a panel subscribed): the dispatcher builds it after the
    /// current host call, where it can see the host's pollables.
    pub snapshot_wanted: bool,
    /// Per host function: the guest's scheduler is idle when it calls it (`pollable.block`,
    /// `poll`), so its queues are consistent to read.
    pub idle_point: Vec<bool>,
    /// A TinyGo program's scheduler, when the program module shows it.
    pub tinygo: Option<TinyGo>,
    /// A scheduler snapshot was asked for: sent at the next idle point or while paused.
    pub scheduler_wanted: bool,
    /// Whether host calls need the recorder at all (a panel listens, or a snapshot is asked
    /// for): read by the dispatcher without borrowing this; kept current by
    /// [`Telemetry::update_watch`] wherever those change (controls applied, snapshots sent).
    pub watch: Rc<Cell<bool>>,
    last_scheduler: u64,
    performance: Performance,
    scope: DedicatedWorkerGlobalScope,
}

/// The one telemetry state of the wasm thread.
pub type Shared = Rc<RefCell<Telemetry>>;

impl Telemetry {
    /// Fresh telemetry for the guest `hello` describes, at scale 1 from now.
    pub fn new(scope: DedicatedWorkerGlobalScope, hello: Hello) -> Result<Shared, String> {
        let performance = scope
            .performance()
            .ok_or("this worker has no `performance`")?;
        let now_ms = performance.now();
        let real_now = (now_ms * 1e6) as u64;
        let wall_ms = performance.time_origin() + now_ms;
        let seconds = (wall_ms / 1000.0).floor();
        let nanos = (((wall_ms - seconds * 1000.0) * 1e6) as u32).min(999_999_999);
        let may_wait: Vec<bool> = hello
            .host_functions
            .iter()
            .map(|name| {
                name.ends_with("#poll")
                    || name.contains("pollable.block")
                    || name.contains("blocking-")
            })
            .collect();
        let idle_point = hello
            .host_functions
            .iter()
            .map(|name| name.ends_with("#poll") || name.ends_with("[method]pollable.block"))
            .collect();
        Ok(Rc::new(RefCell::new(Telemetry {
            recorder: Recorder::new(RecorderConfig::default(), may_wait.clone(), real_now),
            time_scale: TimeScale::new(real_now, (seconds as u64, nanos)),
            steering: Steering::default(),
            hello,
            may_wait,
            snapshot_wanted: false,
            idle_point,
            tinygo: None,
            scheduler_wanted: false,
            watch: Rc::new(Cell::new(false)),
            last_scheduler: 0,
            performance,
            scope,
        })))
    }

    /// Real monotonic time in ns (`performance.now()`).
    #[inline]
    pub fn real_now(&self) -> u64 {
        (self.performance.now() * 1e6) as u64
    }

    /// Sets [`Telemetry::watch`] after a change to the subscription or the snapshots wanted.
    pub fn update_watch(&self) {
        self.watch
            .set(self.recorder.subscribed() || self.snapshot_wanted || self.scheduler_wanted);
    }

    /// Posts `message` to the page as `{type: "telemetry", json}`.
    pub fn post(&self, message: &FromWasm) {
        if let Ok(json) = encode_json(message) {
            let _ = self.scope.post_message(&crate::js_object(&[
                ("type", "telemetry".into()),
                ("json", json.into()),
            ]));
        }
    }

    /// Posts the records gathered since the last batch (and the asyncify events), when a
    /// panel listens.
    pub fn post_pending(&mut self, now: u64) {
        if !self.recorder.subscribed() {
            return;
        }
        if self.recorder.has_pending() {
            let batch = self.recorder.drain_batch(now);
            self.post(&FromWasm::Events(batch));
        }
        let events = self.tinygo.as_mut().map(TinyGo::take_events);
        if let Some(events) = events.filter(|events| !events.is_empty()) {
            self.post(&FromWasm::Asyncify { events });
        }
    }

    /// Before host function `func` runs: at an idle point of a TinyGo program, with detail
    /// on, its scheduler's queues (at most one per [`SCHEDULER_INTERVAL`] unless asked for).
    pub fn observe_scheduler(&mut self, func: u32) {
        if self.idle_point.get(func as usize).copied().unwrap_or(false) {
            let now = self.real_now();
            let due = now.saturating_sub(self.last_scheduler) >= SCHEDULER_INTERVAL;
            if self.scheduler_wanted || (self.recorder.detail() && due) {
                self.post_scheduler(now);
                self.last_scheduler = now;
            }
        }
    }

    /// Sends the scheduler's queues now, if this is a TinyGo program and a panel listens.
    pub fn post_scheduler(&mut self, now: u64) {
        self.scheduler_wanted = false;
        self.update_watch();
        if !self.recorder.subscribed() {
            return;
        }
        let guest_now = self.time_scale.guest_monotonic(now);
        let snapshot = self
            .tinygo
            .as_ref()
            .and_then(|t| t.snapshot(now, guest_now));
        if let Some(snapshot) = snapshot {
            self.post(&FromWasm::Scheduler(snapshot));
        }
    }

    /// Before host function `func` runs, with detail on: what the guest's pollables look like.
    pub fn observe_pollables(&mut self, host: &Host, func: u32) {
        if !self.may_wait.get(func as usize).copied().unwrap_or(false) {
            return;
        }
        let now = self.real_now();
        let live = pollables::from_host(&host.pollables(), self.time_scale.guest_monotonic(now));
        self.recorder.observe_pollables(now, &live);
    }

    /// Builds and posts the snapshot asked for, if any.
    pub fn answer_snapshot(&mut self, host: &Host) {
        if !std::mem::take(&mut self.snapshot_wanted) {
            return;
        }
        self.update_watch();
        let now = self.real_now();
        let live = pollables::from_host(&host.pollables(), self.time_scale.guest_monotonic(now));
        let retired = pollables::retired_from_host(&host.retired_pollables());
        let snapshot = self
            .recorder
            .snapshot(now, live, retired, self.time_scale.scale());
        self.post(&FromWasm::Snapshot(snapshot));
    }
}
