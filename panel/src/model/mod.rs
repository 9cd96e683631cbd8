//! What the panel knows: every `FromWasm` message applied to bounded state. Plain Rust, no
//! browser: the views read it once per animation frame.

pub mod bounded;
pub mod chart;
pub mod clock;
pub mod console;
pub mod flow;
pub mod format;
pub mod histogram;
pub mod program;

use std::collections::BTreeMap;

use pollscope_protocol::{
    decode_json, decode_value, AsyncifyEvent, Dropped, EventBatch, FromWasm, GuestState, Hello,
    HostCallRecord, OutputStream, Pollable, PollableChange, PollableKind, RetiredPollables,
    RingSample, SchedulerSnapshot, Snapshot, WaitRecord, WaitTotals,
};

use bounded::Bounded;
use clock::Clocks;
use console::Console;

/// Waits kept for the timeline and the trace export.
pub const WAIT_HISTORY: usize = 20_000;
/// Host calls kept for the trace export.
pub const HOST_CALL_HISTORY: usize = 20_000;
/// Ring samples kept for the occupancy chart.
pub const RING_HISTORY: usize = 600;
/// Asyncify events kept.
pub const ASYNCIFY_HISTORY: usize = 2_000;
/// Live pollables tracked (a leaking guest cannot grow the panel without bound).
pub const MAX_POLLABLES: usize = 10_000;
/// How long (wasm-thread real ns) a dropped pollable stays, fading, before it goes.
pub const DROPPED_FADE_NS: u64 = 2_000_000_000;

/// Where the panel's page connection stands (set by the host page, see `setConnection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connection {
    /// No Pollscope page yet.
    #[default]
    Waiting,
    /// A page with a guest is connected.
    Connected,
    /// The page watched went away (navigation); waiting for the next.
    Navigated,
    /// The link to the page dropped; the host page reconnects.
    Disconnected,
}

impl Connection {
    /// The state a host page names; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Connection> {
        Some(match name {
            "waiting" => Connection::Waiting,
            "connected" => Connection::Connected,
            "navigated" => Connection::Navigated,
            "disconnected" => Connection::Disconnected,
            _ => return None,
        })
    }

    /// The words the panel shows.
    pub fn label(self) -> &'static str {
        match self {
            Connection::Waiting => "waiting for a Pollscope page",
            Connection::Connected => "connected",
            Connection::Navigated => "page navigated",
            Connection::Disconnected => "disconnected, reconnecting",
        }
    }
}

/// A pollable as the table shows it: live, or dropped and fading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollableRow {
    /// Its newest state.
    pub pollable: Pollable,
    /// When it was dropped (wasm-thread real ns), if it was.
    pub dropped_at: Option<u64>,
}

impl PollableRow {
    /// Whether the guest holds a timer that already fired (at `guest_now`, or as the host last
    /// reported it): TinyGo's idle sleep leaks one such pollable each time, never dropping it.
    pub fn leaked(&self, guest_now: Option<u64>) -> bool {
        if self.dropped_at.is_some() {
            return false;
        }
        match self.pollable.kind {
            PollableKind::Timer { deadline } => {
                self.pollable.ready == Some(true) || guest_now.is_some_and(|now| deadline <= now)
            }
            _ => false,
        }
    }
}

/// Pollables that fired and were never dropped: rows still listed, and the ones the host
/// retired (counted, no longer listed; see [`RetiredPollables`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Leaks {
    /// Listed rows that are leaks ([`PollableRow::leaked`]).
    pub listed: u64,
    /// Retired pollables the guest still holds.
    pub retired: u64,
}

impl Leaks {
    /// All of them.
    pub fn total(self) -> u64 {
        self.listed + self.retired
    }
}

/// Everything the panel shows.
#[derive(Debug, Clone)]
pub struct Model {
    /// The page link.
    pub connection: Connection,
    /// Extra words for the link, e.g. the page's URL.
    pub connection_detail: String,
    /// The handshake.
    pub hello: Option<Hello>,
    /// The guest's newest state.
    pub state: Option<GuestState>,
    /// The time scale in force (from snapshots; the panel's own setting until one comes).
    pub time_scale: f32,
    /// (uptime ns, wasm-thread ns) from the newest snapshot.
    pub uptime: Option<(u64, u64)>,
    /// Pollables by handle.
    pub pollables: BTreeMap<u32, PollableRow>,
    /// Pollables the host retired (never dropped by the guest).
    pub retired: RetiredPollables,
    /// Calls per host function, from the newest snapshot.
    pub host_call_counts: Vec<u64>,
    /// Host calls since the start.
    pub host_calls_total: u64,
    /// Wait aggregates since the start.
    pub wait_totals: WaitTotals,
    /// Recent waits.
    pub waits: Bounded<WaitRecord>,
    /// Recent host calls.
    pub host_calls: Bounded<HostCallRecord>,
    /// Recent ring samples.
    pub ring: Bounded<RingSample>,
    /// Records the host lost to full rings.
    pub dropped: Dropped,
    /// Event batches whose sequence number never arrived.
    pub lost_batches: u64,
    next_seq: Option<u64>,
    /// The newest scheduler snapshot.
    pub scheduler: Option<SchedulerSnapshot>,
    /// Recent asyncify task switches.
    pub asyncify: Bounded<AsyncifyEvent>,
    /// The guest's output.
    pub console: Console,
    /// Messages that did not decode (dropped, never shown).
    pub rejected: u64,
    /// Clock anchors for countdowns.
    pub clocks: Clocks,
    /// Messages applied so far.
    pub received: u64,
}

impl Default for Model {
    fn default() -> Model {
        Model {
            connection: Connection::Waiting,
            connection_detail: String::new(),
            hello: None,
            state: None,
            time_scale: 1.0,
            uptime: None,
            pollables: BTreeMap::new(),
            retired: RetiredPollables::default(),
            host_call_counts: Vec::new(),
            host_calls_total: 0,
            wait_totals: WaitTotals::default(),
            waits: Bounded::new(WAIT_HISTORY),
            host_calls: Bounded::new(HOST_CALL_HISTORY),
            ring: Bounded::new(RING_HISTORY),
            dropped: Dropped::default(),
            lost_batches: 0,
            next_seq: None,
            scheduler: None,
            asyncify: Bounded::new(ASYNCIFY_HISTORY),
            console: Console::default(),
            rejected: 0,
            clocks: Clocks::default(),
            received: 0,
        }
    }
}

/// What the panel should do after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Applied.
    Applied,
    /// A Hello: the guest (re)announced itself.
    Hello,
    /// Did not decode: dropped and counted.
    Rejected,
}

impl Model {
    /// Decodes one message (a JSON value) and applies it at panel time `now_ms`; what does not
    /// decode is counted in [`Model::rejected`] and changes nothing else.
    pub fn receive_value(&mut self, value: serde_json::Value, now_ms: f64) -> Received {
        match decode_value::<FromWasm>(value) {
            Ok(message) => self.apply(message, now_ms),
            Err(_) => {
                self.rejected += 1;
                Received::Rejected
            }
        }
    }

    /// As [`Model::receive_value`], from JSON text.
    pub fn receive_json(&mut self, json: &[u8], now_ms: f64) -> Received {
        match decode_json::<FromWasm>(json) {
            Ok(message) => self.apply(message, now_ms),
            Err(_) => {
                self.rejected += 1;
                Received::Rejected
            }
        }
    }

    /// Applies a decoded message.
    pub fn apply(&mut self, message: FromWasm, now_ms: f64) -> Received {
        self.received += 1;
        match message {
            FromWasm::Hello(hello) => {
                self.hello = Some(hello);
                return Received::Hello;
            }
            FromWasm::Snapshot(snapshot) => self.apply_snapshot(snapshot, now_ms),
            FromWasm::Events(batch) => self.apply_batch(batch, now_ms),
            FromWasm::Output { stream, data } => self.console.push(stream, &data),
            FromWasm::Exit { code } => self.state = Some(GuestState::Exited { code }),
            FromWasm::Trap(trap) => self.state = Some(GuestState::Trapped(trap)),
            FromWasm::Scheduler(scheduler) => {
                if let Some(guest_now) = scheduler.guest_now {
                    self.clocks.observe_guest(scheduler.at, guest_now);
                }
                self.clocks.observe_host(scheduler.at, now_ms);
                self.scheduler = Some(scheduler);
            }
            FromWasm::Asyncify { events } => {
                if let Some(last) = events.last() {
                    self.clocks.observe_host(last.at, now_ms);
                }
                self.asyncify.extend(events);
            }
            // The host's word, not the guest's: a note in the console, as a restart is.
            FromWasm::RingError { reason } => self.console.push_text(
                OutputStream::Stderr,
                format!("— stdin and commands lost: {reason} —\n"),
            ),
        }
        Received::Applied
    }

    fn apply_snapshot(&mut self, snapshot: Snapshot, now_ms: f64) {
        self.clocks.observe_host(snapshot.at, now_ms);
        self.state = Some(snapshot.state);
        self.time_scale = snapshot.time_scale;
        self.uptime = Some((snapshot.uptime, snapshot.at));
        // The snapshot is the whole truth: pollables it lacks were dropped.
        for row in self.pollables.values_mut() {
            if row.dropped_at.is_none() {
                row.dropped_at = Some(snapshot.at);
            }
        }
        for pollable in snapshot.pollables {
            self.observe_creation(&pollable, snapshot.at);
            self.upsert(pollable);
        }
        self.retired = snapshot.retired;
        self.host_call_counts = snapshot.host_calls;
        self.host_calls_total = self.host_call_counts.iter().sum();
        self.wait_totals = snapshot.wait_totals;
        if let Some(ring) = snapshot.ring {
            self.push_ring(ring);
        }
        self.dropped = snapshot.dropped;
        self.prune_dropped(snapshot.at);
    }

    fn apply_batch(&mut self, batch: EventBatch, now_ms: f64) {
        self.clocks.observe_host(batch.at, now_ms);
        if let Some(expected) = self.next_seq {
            self.lost_batches += batch.seq.saturating_sub(expected);
        }
        self.next_seq = Some(batch.seq + 1);
        if let Some(state) = batch.state {
            self.state = Some(state);
        }
        for wait in &batch.waits {
            if let (Some(deadline), Some(timeout)) = (wait.deadline, wait.timeout) {
                let guest = clock::guest_at_wait_start(deadline, timeout, self.time_scale);
                self.clocks.observe_guest(wait.start, guest);
            }
        }
        self.waits.extend(batch.waits);
        self.host_calls.extend(batch.host_calls);
        for change in batch.pollable_changes {
            match change {
                PollableChange::Upsert(pollable) => {
                    self.observe_creation(&pollable, batch.at);
                    self.upsert(pollable);
                }
                PollableChange::Dropped { handle, at } => {
                    if let Some(row) = self.pollables.get_mut(&handle) {
                        row.dropped_at.get_or_insert(at);
                    }
                }
            }
        }
        for sample in batch.ring_samples {
            self.push_ring(sample);
        }
        self.dropped = batch.dropped;
        self.wait_totals = batch.wait_totals;
        self.host_calls_total = batch.host_calls_total;
        self.prune_dropped(batch.at);
    }

    /// A pollable's creation time is a lower bound on the guest's clock when it was reported.
    fn observe_creation(&mut self, pollable: &Pollable, reported_at: u64) {
        self.clocks
            .observe_guest_at_least(reported_at, pollable.created_at, self.time_scale);
    }

    fn upsert(&mut self, pollable: Pollable) {
        let handle = pollable.handle;
        if !self.pollables.contains_key(&handle) && self.pollables.len() >= MAX_POLLABLES {
            return;
        }
        // A handle reused after a drop is a new pollable.
        self.pollables.insert(
            handle,
            PollableRow {
                pollable,
                dropped_at: None,
            },
        );
    }

    fn prune_dropped(&mut self, now: u64) {
        self.pollables.retain(|_, row| {
            row.dropped_at
                .is_none_or(|at| now.saturating_sub(at) < DROPPED_FADE_NS)
        });
    }

    fn push_ring(&mut self, sample: RingSample) {
        if self.ring.last().is_none_or(|last| sample.at > last.at) {
            self.ring.push(sample);
        }
    }

    /// Forgets the run (the guest restarts): telemetry goes, the console gets a marker.
    pub fn restart(&mut self) {
        let kept = Model {
            connection: self.connection,
            connection_detail: std::mem::take(&mut self.connection_detail),
            hello: self.hello.take(),
            console: std::mem::take(&mut self.console),
            rejected: self.rejected,
            received: self.received,
            ..Model::default()
        };
        *self = kept;
        self.console
            .push_text(OutputStream::Stderr, "— restarted —\n".into());
    }

    /// The pollables the guest leaked so far, at panel time `now_ms`.
    pub fn leaks(&self, now_ms: f64) -> Leaks {
        let guest_now = self.guest_now(now_ms);
        Leaks {
            listed: self
                .pollables
                .values()
                .filter(|row| row.leaked(guest_now))
                .count() as u64,
            retired: self.retired.held,
        }
    }

    /// Live pollables (not dropped).
    pub fn live_pollables(&self) -> usize {
        self.pollables
            .values()
            .filter(|row| row.dropped_at.is_none())
            .count()
    }

    /// The guest exited or trapped.
    pub fn ended(&self) -> bool {
        matches!(
            self.state,
            Some(GuestState::Exited { .. } | GuestState::Trapped(_))
        )
    }

    /// The wasm thread's clock now; once the guest has ended, the time of its last message
    /// (its clocks stopped with it).
    fn host_now(&self, now_ms: f64) -> Option<u64> {
        if self.ended() {
            self.clocks.latest_host()
        } else {
            self.clocks.host_now(now_ms)
        }
    }

    /// The guest's uptime now (ns), extrapolated from the newest snapshot while it runs.
    pub fn uptime_now(&self, now_ms: f64) -> Option<u64> {
        let (uptime, at) = self.uptime?;
        let now = self.host_now(now_ms).unwrap_or(at).max(at);
        Some(uptime + (now - at))
    }

    /// The guest's monotonic clock now, when it can be estimated (frozen once it ended).
    pub fn guest_now(&self, now_ms: f64) -> Option<u64> {
        self.clocks
            .guest_at(self.host_now(now_ms)?, self.time_scale)
    }

    /// Chrome trace-event JSON of the waits and host calls the panel still holds.
    pub fn trace_json(&self) -> String {
        let functions = self
            .hello
            .as_ref()
            .map_or(&[][..], |hello| &hello.host_functions[..]);
        pollscope_protocol::chrome_trace_json(
            functions,
            &self.waits.to_vec(),
            &self.host_calls.to_vec(),
        )
    }
}

#[cfg(test)]
mod tests;
