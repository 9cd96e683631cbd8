//! The recorder the wasm thread owns: counters always, per-event records only while a panel
//! listens with detail, handed out as [`EventBatch`]es.
//!
//! Cost model (issue #4: ≤ 3 % overhead with no panel, ≤ 15 % with one at full detail): with
//! nobody listening a host call is [`Recorder::enter_host_call`] — two counter increments, no
//! clock read, no allocation ([`Recorder::leave_host_call`] is for watched calls). Waits are rare next
//! to host calls and read the clock anyway, so their aggregates (count, time blocked, overshoot
//! histogram) are always kept. Records go to [`EventRing`]s allocated once, so memory stays
//! flat over hours.
//!
//! With detail on, reading the clock twice per host call would cost more than a fast call
//! itself (`performance.now()` from wasm is ~50 ns; `monotonic-clock.now` is ~185 ns in all),
//! so spans are timed for every call that can block or move data (the `always_timed` imports);
//! of the others, the first [`RecorderConfig::span_budget`] calls in each batch and then one in
//! [`RecorderConfig::span_sample`] — a guest making a few calls is seen whole, a hot loop pays
//! a bounded price (each record is also encoded and sent). Counts stay exact. Batches
//! go out at most every [`RecorderConfig::flush_interval`], and before any wait that could
//! outlast that interval — so a sleeping guest never withholds data, while a guest napping
//! for microseconds does not pay a message per nap.

use pollscope_protocol::{
    Dropped, EventBatch, GuestState, HostCallRecord, Pollable, PollableChange, RetiredPollables,
    RingSample, Snapshot, TrapReport, WaitCall, WaitRecord, WaitTotals, WakeCause,
    OVERSHOOT_BUCKETS,
};

use crate::call_counts::CallCounts;
use crate::event_ring::EventRing;
use crate::pollables::PollableTracker;

/// Sizes and rates of a [`Recorder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderConfig {
    /// Wait records kept between batches.
    pub waits: usize,
    /// Host-call records kept between batches.
    pub host_calls: usize,
    /// Pollable changes kept between batches.
    pub pollable_changes: usize,
    /// Ring samples kept between batches.
    pub ring_samples: usize,
    /// Least real time (ns) between two batches, unless a wait could outlast it.
    pub flush_interval: u64,
    /// With detail on, calls of imports that are not always timed get a span while fewer than
    /// this many of them were timed since the last batch…
    pub span_budget: u32,
    /// …and after that one in this many (1: every call).
    pub span_sample: u32,
    /// While the guest runs, host calls between two looks at the clock for a due batch.
    pub flush_check_every: u32,
    /// Least real time (ns) between two ring samples taken at waits (batches always take one).
    pub ring_sample_interval: u64,
}

impl Default for RecorderConfig {
    /// Room for a busy 50 ms (a batch at most 20 times a second) at a few hundred KiB.
    fn default() -> RecorderConfig {
        RecorderConfig {
            waits: 4096,
            host_calls: 16384,
            pollable_changes: 4096,
            ring_samples: 1024,
            flush_interval: 50_000_000,
            span_budget: 256,
            span_sample: 1024,
            flush_check_every: 64,
            ring_sample_interval: 1_000_000,
        }
    }
}

/// What the guest is doing, without allocation (a trap's report is kept beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    InHostCall(u32),
    Waiting(WaitCall, Option<u64>),
    Paused,
    Exited(i32),
    Trapped,
}

/// A wait between [`Recorder::begin_wait`] and [`Recorder::end_wait`].
#[derive(Debug, Clone, Copy)]
struct OpenWait {
    start: u64,
    call: WaitCall,
    deadline: Option<u64>,
    timeout: Option<u64>,
    before: Phase,
}

/// The overshoot bucket of a wait that overshot by `ns`: 0 under 1 µs, then one per power of
/// two of µs, the last open-ended (see [`OVERSHOOT_BUCKETS`]).
pub fn overshoot_bucket(ns: u64) -> usize {
    let us = ns / 1_000;
    let bucket = (u64::BITS - us.leading_zeros()) as usize;
    bucket.min(OVERSHOOT_BUCKETS - 1)
}

/// Telemetry for one guest run.
#[derive(Debug, Clone)]
pub struct Recorder {
    config: RecorderConfig,
    /// A panel listens (snapshots and batches go out).
    subscribed: bool,
    /// It wants per-event records.
    detail: bool,
    started_at: u64,
    host_calls: CallCounts,
    /// Per import: timed on every call with detail on (it can block or move data).
    always_timed: Vec<bool>,
    /// Spans of other imports left before sampling starts in this batch.
    span_budget_left: u32,
    /// Calls of other imports left until the next sampled span.
    until_sampled_span: u32,
    /// Host calls left until the next look at the clock for a due batch.
    until_flush_check: u32,
    last_ring_sample: u64,
    wait_count: u64,
    blocked: u64,
    overshoot: [u64; OVERSHOOT_BUCKETS],
    waits: EventRing<WaitRecord>,
    host_call_records: EventRing<HostCallRecord>,
    pollable_changes: EventRing<PollableChange>,
    ring_samples: EventRing<RingSample>,
    last_ring: Option<RingSample>,
    pollables: PollableTracker,
    phase: Phase,
    trap: Option<TrapReport>,
    /// The phase last sent in a batch.
    sent_phase: Option<Phase>,
    open_wait: Option<OpenWait>,
    seq: u64,
    last_flush: u64,
}

impl Recorder {
    /// A recorder for a guest whose host functions (the indices of
    /// [`Hello::host_functions`](pollscope_protocol::Hello::host_functions)) are each always
    /// timed with detail on or not (`always_timed`), started at real time `now`, with nobody
    /// listening.
    pub fn new(config: RecorderConfig, always_timed: Vec<bool>, now: u64) -> Recorder {
        Recorder {
            config,
            subscribed: false,
            detail: false,
            started_at: now,
            host_calls: CallCounts::new(always_timed.len()),
            always_timed,
            span_budget_left: config.span_budget,
            until_sampled_span: config.span_sample.max(1),
            until_flush_check: config.flush_check_every,
            last_ring_sample: 0,
            wait_count: 0,
            blocked: 0,
            overshoot: [0; OVERSHOOT_BUCKETS],
            waits: EventRing::new(config.waits),
            host_call_records: EventRing::new(config.host_calls),
            pollable_changes: EventRing::new(config.pollable_changes),
            ring_samples: EventRing::new(config.ring_samples),
            last_ring: None,
            pollables: PollableTracker::default(),
            phase: Phase::Running,
            trap: None,
            sent_phase: None,
            open_wait: None,
            seq: 0,
            last_flush: now,
        }
    }

    /// A panel listens; with `detail` every wait, host call, pollable change and ring sample
    /// is recorded too. The shim then sends a `Hello` and a [`Recorder::snapshot`].
    pub fn subscribe(&mut self, detail: bool) {
        self.subscribed = true;
        self.detail = detail;
        // The next batch carries the state and every live pollable afresh.
        self.sent_phase = None;
        self.pollables.reset();
    }

    /// Nobody listens: back to counters only; records not yet sent are forgotten.
    pub fn unsubscribe(&mut self) {
        self.subscribed = false;
        self.detail = false;
        self.waits.clear();
        self.host_call_records.clear();
        self.pollable_changes.clear();
        self.ring_samples.clear();
        self.pollables.reset();
    }

    /// Whether a panel listens.
    pub fn subscribed(&self) -> bool {
        self.subscribed
    }

    /// Whether per-event records are kept: the shim reads the clock around host calls and
    /// scans pollables only then.
    #[inline]
    pub fn detail(&self) -> bool {
        self.detail
    }

    /// The guest entered host function `import`. Returns whether the shim should time the
    /// call and pass the span to [`Recorder::leave_host_call`]: with detail on, always for an
    /// always-timed import, else within the batch's [`RecorderConfig::span_budget`] and then
    /// for one call in [`RecorderConfig::span_sample`].
    #[inline]
    pub fn enter_host_call(&mut self, import: u32) -> bool {
        self.host_calls.count(import);
        // Only a panel sees the phase: without one the call costs the two counters.
        if self.subscribed && !self.ended() {
            self.phase = Phase::InHostCall(import);
        }
        self.detail && self.span_wanted(import)
    }

    fn span_wanted(&mut self, import: u32) -> bool {
        if self
            .always_timed
            .get(import as usize)
            .copied()
            .unwrap_or(true)
        {
            return true;
        }
        if self.span_budget_left > 0 {
            self.span_budget_left -= 1;
            return true;
        }
        self.until_sampled_span -= 1;
        if self.until_sampled_span == 0 {
            self.until_sampled_span = self.config.span_sample.max(1);
            return true;
        }
        false
    }

    /// The guest left host function `import`, entered while a panel listened; `span` is
    /// (start, end) in real ns when the call was timed.
    #[inline]
    pub fn leave_host_call(&mut self, import: u32, span: Option<(u64, u64)>) {
        if let Phase::InHostCall(_) = self.phase {
            self.phase = Phase::Running;
        }
        if let (true, Some((start, end))) = (self.detail, span) {
            self.host_call_records.push(HostCallRecord {
                import,
                start,
                duration: end.saturating_sub(start),
            });
        }
    }

    /// The shim is about to `Atomics.wait` at real time `now`, in `call`, for the guest's
    /// `deadline` (guest ns), with `timeout` (real ns; `None`: no timeout). A wait with
    /// [`WaitCall::Paused`] puts the guest in [`GuestState::Paused`].
    pub fn begin_wait(
        &mut self,
        now: u64,
        call: WaitCall,
        deadline: Option<u64>,
        timeout: Option<u64>,
    ) {
        if self.ended() {
            return;
        }
        let before = match self.open_wait.take() {
            // A wait never began inside another; if the shim lost an end, the older one's
            // phase is the one to go back to.
            Some(open) => open.before,
            None => self.phase,
        };
        self.open_wait = Some(OpenWait {
            start: now,
            call,
            deadline,
            timeout,
            before,
        });
        self.phase = match call {
            WaitCall::Paused => Phase::Paused,
            call => Phase::Waiting(call, deadline),
        };
    }

    /// The wait begun last ended at real time `now` because of `wake`. Counted always; kept as
    /// a record with detail on. An end without a beginning is ignored.
    pub fn end_wait(&mut self, now: u64, wake: WakeCause) {
        let Some(open) = self.open_wait.take() else {
            return;
        };
        let duration = now.saturating_sub(open.start);
        self.wait_count += 1;
        self.blocked = self.blocked.saturating_add(duration);
        if let (WakeCause::Deadline, Some(timeout)) = (wake, open.timeout) {
            self.overshoot[overshoot_bucket(duration.saturating_sub(timeout))] += 1;
        }
        if self.detail {
            self.waits.push(WaitRecord {
                start: open.start,
                call: open.call,
                deadline: open.deadline,
                timeout: open.timeout,
                duration,
                wake,
            });
        }
        if !self.ended() {
            self.phase = open.before;
        }
    }

    /// The guest exited with `code`. Final: later calls do not change the state.
    pub fn exited(&mut self, code: i32) {
        if !self.ended() {
            self.phase = Phase::Exited(code);
        }
    }

    /// The guest trapped. Final: later calls do not change the state.
    pub fn trapped(&mut self, report: TrapReport) {
        if !self.ended() {
            self.phase = Phase::Trapped;
            self.trap = Some(report);
        }
    }

    fn ended(&self) -> bool {
        matches!(self.phase, Phase::Exited(_) | Phase::Trapped)
    }

    /// The guest's state now.
    pub fn guest_state(&self) -> GuestState {
        match self.phase {
            Phase::Running => GuestState::Running,
            Phase::InHostCall(import) => GuestState::InHostCall { import },
            Phase::Waiting(call, until) => GuestState::Waiting { call, until },
            Phase::Paused => GuestState::Paused,
            Phase::Exited(code) => GuestState::Exited { code },
            Phase::Trapped => GuestState::Trapped(self.trap.clone().unwrap_or(TrapReport {
                message: String::new(),
                frames: Vec::new(),
            })),
        }
    }

    /// A look at the event ring; the latest is kept for snapshots, each one recorded with
    /// detail on.
    pub fn sample_ring(&mut self, sample: RingSample) {
        self.last_ring_sample = sample.at;
        self.last_ring = Some(sample);
        if self.detail {
            self.ring_samples.push(sample);
        }
    }

    /// The live pollables at real time `now` (from `Host::pollables`, converted with
    /// [`crate::pollables::from_host`]), in handle order: records what changed since the last
    /// look. Does nothing with detail off — the shim need not even scan then.
    pub fn observe_pollables(&mut self, now: u64, live: &[Pollable]) {
        if !self.detail {
            return;
        }
        let changes = &mut self.pollable_changes;
        self.pollables
            .diff(now, live, &mut |change| changes.push(change));
    }

    /// Whether a ring sample is due at a wait beginning at real time `now` (with detail on,
    /// at most one per [`RecorderConfig::ring_sample_interval`]).
    pub fn ring_sample_due(&self, now: u64) -> bool {
        self.detail && now.saturating_sub(self.last_ring_sample) >= self.config.ring_sample_interval
    }

    /// Called at every host call while the guest runs: whether to read the clock and ask
    /// [`Recorder::flush_due`] — true once per [`RecorderConfig::flush_check_every`] calls
    /// while a panel listens, so the clock is not read per call.
    #[inline]
    pub fn flush_check_due(&mut self) -> bool {
        if !self.subscribed {
            return false;
        }
        self.until_flush_check = self.until_flush_check.saturating_sub(1);
        if self.until_flush_check == 0 {
            self.until_flush_check = self.config.flush_check_every.max(1);
            return true;
        }
        false
    }

    /// Whether a batch should go out at real time `now` while the guest runs: a panel listens
    /// and the flush interval has passed.
    #[inline]
    pub fn flush_due(&self, now: u64) -> bool {
        self.subscribed && now.saturating_sub(self.last_flush) >= self.config.flush_interval
    }

    /// Whether a batch should go out before a wait beginning at real time `now` with real
    /// `timeout` (`None`: until something arrives): something is pending and the wait could
    /// end after the next batch is due — so data waits at most one flush interval.
    pub fn flush_before_wait(&self, now: u64, timeout: Option<u64>) -> bool {
        let due_at = self.last_flush.saturating_add(self.config.flush_interval);
        self.subscribed
            && self.has_pending()
            && timeout.is_none_or(|timeout| now.saturating_add(timeout) >= due_at)
    }

    /// Whether a batch would carry anything: records, or a state change.
    pub fn has_pending(&self) -> bool {
        !(self.waits.is_empty()
            && self.host_call_records.is_empty()
            && self.pollable_changes.is_empty()
            && self.ring_samples.is_empty())
            || self.sent_phase != Some(self.phase)
    }

    /// Everything recorded since the last batch, cut at real time `now`. The rings keep their
    /// allocations.
    pub fn drain_batch(&mut self, now: u64) -> EventBatch {
        let state = (self.sent_phase != Some(self.phase)).then(|| self.guest_state());
        self.sent_phase = Some(self.phase);
        let batch = EventBatch {
            seq: self.seq,
            at: now,
            state,
            waits: self.waits.take(),
            host_calls: self.host_call_records.take(),
            pollable_changes: self.pollable_changes.take(),
            ring_samples: self.ring_samples.take(),
            dropped: self.dropped(),
            wait_totals: self.wait_totals(),
            host_calls_total: self.host_calls.total(),
        };
        self.seq += 1;
        self.last_flush = now;
        self.span_budget_left = self.config.span_budget;
        batch
    }

    /// Everything at real time `now`. The caller supplies what the host knows: live
    /// `pollables`, `retired` ones, and the `time_scale` in force.
    pub fn snapshot(
        &self,
        now: u64,
        pollables: Vec<Pollable>,
        retired: RetiredPollables,
        time_scale: f32,
    ) -> Snapshot {
        Snapshot {
            at: now,
            uptime: self.uptime(now),
            state: self.guest_state(),
            time_scale,
            pollables,
            retired,
            host_calls: self.host_calls.per_import(),
            wait_totals: self.wait_totals(),
            ring: self.last_ring,
            dropped: self.dropped(),
        }
    }

    /// Real ns since the guest started.
    pub fn uptime(&self, now: u64) -> u64 {
        now.saturating_sub(self.started_at)
    }

    /// Calls per host function, by index.
    pub fn host_call_counts(&self) -> Vec<u64> {
        self.host_calls.per_import()
    }

    /// Host calls since the start.
    pub fn host_calls_total(&self) -> u64 {
        self.host_calls.total()
    }

    /// The call counters, for a dispatcher that counts calls nobody watches itself.
    pub fn call_counts(&self) -> CallCounts {
        self.host_calls.clone()
    }

    /// Wait aggregates since the start.
    pub fn wait_totals(&self) -> WaitTotals {
        WaitTotals {
            count: self.wait_count,
            blocked: self.blocked,
            overshoot: self.overshoot.to_vec(),
        }
    }

    /// Records lost to full rings since the start.
    pub fn dropped(&self) -> Dropped {
        Dropped {
            waits: self.waits.dropped(),
            host_calls: self.host_call_records.dropped(),
            pollable_changes: self.pollable_changes.dropped(),
            ring_samples: self.ring_samples.dropped(),
        }
    }

    /// Room allocated in each ring (waits, host calls, pollable changes, ring samples): fixed
    /// at construction.
    pub fn allocated(&self) -> [usize; 4] {
        [
            self.waits.allocated(),
            self.host_call_records.allocated(),
            self.pollable_changes.allocated(),
            self.ring_samples.allocated(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pollscope_protocol::PollableKind;

    fn recorder() -> Recorder {
        Recorder::new(RecorderConfig::default(), vec![false, false, true], 1_000)
    }

    #[test]
    fn unsubscribed_keeps_counters_but_no_records() {
        let mut rec = recorder();
        assert!(!rec.enter_host_call(1));
        rec.leave_host_call(1, Some((0, 10)));
        rec.enter_host_call(7); // out of the table: counted in the total only
        rec.leave_host_call(7, None);
        rec.begin_wait(2_000, WaitCall::PollableBlock, Some(3_000), Some(1_000));
        rec.end_wait(3_500, WakeCause::Deadline);
        assert_eq!(rec.host_call_counts(), [0, 1, 0]);
        assert_eq!(rec.host_calls_total(), 2);
        let totals = rec.wait_totals();
        assert_eq!((totals.count, totals.blocked), (1, 1_500));
        assert_eq!(totals.overshoot[overshoot_bucket(500)], 1);
        assert!(!rec.flush_due(u64::MAX), "no batches without a panel");
        let batch = rec.drain_batch(4_000);
        assert!(batch.waits.is_empty() && batch.host_calls.is_empty());
    }

    #[test]
    fn detail_records_waits_and_calls_and_the_state_they_pass_through() {
        let mut rec = recorder();
        rec.subscribe(true);
        assert!(rec.enter_host_call(2));
        assert_eq!(rec.guest_state(), GuestState::InHostCall { import: 2 });
        rec.begin_wait(2_000, WaitCall::BlockingRead, None, None);
        assert_eq!(
            rec.guest_state(),
            GuestState::Waiting {
                call: WaitCall::BlockingRead,
                until: None
            }
        );
        rec.end_wait(9_000, WakeCause::RingNotify);
        assert_eq!(rec.guest_state(), GuestState::InHostCall { import: 2 });
        rec.leave_host_call(2, Some((1_500, 9_500)));
        assert_eq!(rec.guest_state(), GuestState::Running);
        rec.begin_wait(10_000, WaitCall::Paused, None, None);
        assert_eq!(rec.guest_state(), GuestState::Paused);
        assert!(rec.has_pending());
        let batch = rec.drain_batch(10_000);
        assert_eq!(batch.seq, 0);
        assert_eq!(batch.state, Some(GuestState::Paused));
        assert_eq!(
            batch.waits,
            [WaitRecord {
                start: 2_000,
                call: WaitCall::BlockingRead,
                deadline: None,
                timeout: None,
                duration: 7_000,
                wake: WakeCause::RingNotify,
            }]
        );
        assert_eq!(
            batch.host_calls,
            [HostCallRecord {
                import: 2,
                start: 1_500,
                duration: 8_000
            }]
        );
        assert_eq!(batch.host_calls_total, 1);
        assert!(!rec.has_pending(), "state already sent, rings empty");
        assert_eq!(rec.drain_batch(11_000).seq, 1);
    }

    #[test]
    fn detail_times_blocking_imports_always_and_samples_the_rest_while_counting_all() {
        let config = RecorderConfig {
            span_budget: 2,
            span_sample: 4,
            ..RecorderConfig::default()
        };
        let mut rec = Recorder::new(config, vec![false, true], 0);
        assert!(!rec.enter_host_call(0), "no detail, no spans");
        rec.subscribe(true);
        let timed: Vec<bool> = (0..10).map(|_| rec.enter_host_call(0)).collect();
        assert_eq!(
            timed,
            [true, true, false, false, false, true, false, false, false, true],
            "the budget, then one in four"
        );
        assert!(
            (0..5).all(|_| rec.enter_host_call(1)),
            "blocking import: every call"
        );
        assert!(rec.enter_host_call(9), "an import the table lacks is timed");
        rec.drain_batch(1);
        assert!(
            rec.enter_host_call(0) && rec.enter_host_call(0),
            "a new batch, a new budget"
        );
        assert!(!rec.enter_host_call(0));
        assert_eq!(rec.host_call_counts(), [14, 5]);
        assert_eq!(rec.host_calls_total(), 20);
    }

    #[test]
    fn batches_go_before_waits_that_could_outlast_the_flush_interval() {
        let mut rec = recorder(); // last flush at 1_000, interval 50 ms
        rec.begin_wait(2_000, WaitCall::PollableBlock, Some(3_000), Some(1_000));
        assert!(!rec.flush_before_wait(2_000, None), "nobody listens");
        rec.subscribe(true);
        assert!(rec.has_pending());
        assert!(!rec.flush_before_wait(2_000, Some(1_000)), "a 1 µs nap");
        assert!(
            rec.flush_before_wait(2_000, Some(50_000_000)),
            "ends past the due time"
        );
        assert!(rec.flush_before_wait(2_000, None), "may never end");
        assert!(rec.flush_before_wait(60_000_000, Some(1)), "already due");
        rec.drain_batch(60_000_000);
        assert!(!rec.flush_before_wait(60_000_001, None), "nothing pending");
    }

    #[test]
    fn the_clock_is_consulted_for_batches_once_per_check_interval_and_ring_samples_are_spaced() {
        let config = RecorderConfig {
            flush_check_every: 3,
            ring_sample_interval: 100,
            ..RecorderConfig::default()
        };
        let mut rec = Recorder::new(config, vec![false], 0);
        assert!(!(0..10).any(|_| rec.flush_check_due()), "nobody listens");
        assert!(!rec.ring_sample_due(1_000), "no detail");
        rec.subscribe(true);
        let checks: Vec<bool> = (0..6).map(|_| rec.flush_check_due()).collect();
        assert_eq!(checks.iter().filter(|&&due| due).count(), 2);
        assert!(rec.ring_sample_due(1_000));
        rec.sample_ring(RingSample {
            at: 1_000,
            ..RingSample::default()
        });
        assert!(!rec.ring_sample_due(1_099));
        assert!(rec.ring_sample_due(1_100));
    }

    #[test]
    fn exit_and_trap_are_final() {
        let mut rec = recorder();
        rec.exited(3);
        rec.enter_host_call(0);
        rec.leave_host_call(0, None);
        rec.begin_wait(1, WaitCall::Poll, None, None);
        rec.trapped(TrapReport {
            message: "late".into(),
            frames: vec![],
        });
        assert_eq!(rec.guest_state(), GuestState::Exited { code: 3 });
        let mut rec = recorder();
        let report = TrapReport {
            message: "unreachable".into(),
            frames: vec![],
        };
        rec.trapped(report.clone());
        rec.exited(0);
        assert_eq!(rec.guest_state(), GuestState::Trapped(report));
    }

    #[test]
    fn unpaired_wait_ends_are_ignored_and_early_wakes_do_not_underflow() {
        let mut rec = recorder();
        rec.end_wait(5, WakeCause::Deadline);
        assert_eq!(rec.wait_totals().count, 0);
        rec.begin_wait(100, WaitCall::Poll, Some(200), Some(1_000_000));
        rec.end_wait(50, WakeCause::Deadline); // clock said earlier: duration 0
        let totals = rec.wait_totals();
        assert_eq!(
            (totals.count, totals.blocked, totals.overshoot[0]),
            (1, 0, 1)
        );
    }

    #[test]
    fn overshoot_buckets_are_powers_of_two_of_microseconds() {
        assert_eq!(overshoot_bucket(0), 0);
        assert_eq!(overshoot_bucket(999), 0);
        assert_eq!(overshoot_bucket(1_000), 1);
        assert_eq!(overshoot_bucket(3_999), 2);
        assert_eq!(overshoot_bucket(4_000), 3);
        assert_eq!(overshoot_bucket(u64::MAX), OVERSHOOT_BUCKETS - 1);
    }

    #[test]
    fn memory_stays_flat_over_a_million_events() {
        let config = RecorderConfig {
            waits: 64,
            host_calls: 64,
            pollable_changes: 64,
            ring_samples: 64,
            flush_interval: 1,
            span_sample: 1,
            ..RecorderConfig::default()
        };
        let mut rec = Recorder::new(config, vec![false; 3], 0);
        rec.subscribe(true);
        let allocated = rec.allocated();
        let pollable = |handle| Pollable {
            handle,
            kind: PollableKind::Ready,
            created_by: "x".into(),
            created_at: 0,
            polled: 0,
            blocked: 0,
            ready: Some(true),
        };
        for i in 0..1_000_000u64 {
            rec.enter_host_call((i % 3) as u32);
            rec.begin_wait(i, WaitCall::PollableBlock, Some(i + 1), Some(1));
            rec.end_wait(i + 2, WakeCause::Deadline);
            rec.leave_host_call((i % 3) as u32, Some((i, i + 3)));
            rec.sample_ring(RingSample {
                at: i,
                ..RingSample::default()
            });
            if i % 1000 == 0 {
                rec.observe_pollables(i, &[pollable((i % 7) as u32)]);
            }
            if i % 250_000 == 0 {
                let batch = rec.drain_batch(i);
                assert!(batch.waits.len() <= 64);
            }
        }
        assert_eq!(rec.allocated(), allocated);
        let dropped = rec.dropped();
        assert!(dropped.waits > 900_000 && dropped.host_calls > 900_000);
        assert_eq!(rec.wait_totals().count, 1_000_000);
        assert_eq!(rec.host_calls_total(), 1_000_000);
    }

    #[test]
    fn unsubscribing_forgets_records_and_flush_is_rate_limited() {
        let mut rec = recorder();
        rec.subscribe(true);
        rec.begin_wait(1_000, WaitCall::Poll, None, None);
        rec.end_wait(2_000, WakeCause::AlreadyThere);
        assert!(!rec.flush_due(1_000 + 49_999_999));
        assert!(rec.flush_due(1_000 + 50_000_000));
        rec.unsubscribe();
        assert!(!rec.subscribed() && !rec.detail());
        rec.subscribe(false);
        let batch = rec.drain_batch(3_000);
        assert!(batch.waits.is_empty());
        assert_eq!(batch.state, Some(GuestState::Running), "sent afresh");
        assert_eq!(batch.wait_totals.count, 1);
        let snapshot = rec.snapshot(5_000, vec![], RetiredPollables::default(), 1.0);
        assert_eq!(
            (snapshot.uptime, snapshot.host_calls.len(), snapshot.ring),
            (4_000, 3, None)
        );
    }
}
