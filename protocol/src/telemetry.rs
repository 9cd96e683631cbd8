//! Wasm thread → page → panel: telemetry, output and the guest's end.
//!
//! Times are nanoseconds on the wasm thread's real monotonic clock (`performance.now()`),
//! except guest deadlines, which are on the guest's (possibly scaled) monotonic clock. Host
//! functions are named by index into [`Hello::host_functions`] (a string table sent once), so
//! per-call records stay a few integers.

use serde::{Deserialize, Serialize};

use crate::{AsyncifyEvent, DecodeError, SchedulerSnapshot, TinyGoSummary};

/// Buckets of [`WaitTotals::overshoot`]: bucket 0 counts overshoots under 1 µs, bucket `i`
/// those in `[2^(i-1), 2^i)` µs, the last one everything from `2^(N-2)` µs (≈ 65 ms) up.
pub const OVERSHOOT_BUCKETS: usize = 18;

/// A message from the wasm side, as JSON: `{"v":1,"type":"exit","code":0}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromWasm {
    /// First message, and again whenever a panel subscribes: who is talking.
    Hello(Hello),
    /// Everything at one instant, on request ([`Control::Snapshot`](crate::Control::Snapshot))
    /// or when a panel subscribes.
    Snapshot(Snapshot),
    /// What happened since the previous batch.
    Events(EventBatch),
    /// Bytes the guest wrote.
    Output {
        /// Which stream.
        stream: OutputStream,
        /// The bytes, in order.
        data: Vec<u8>,
    },
    /// The guest returned from `run` or called `exit`.
    Exit {
        /// Its exit code.
        code: i32,
    },
    /// The guest trapped.
    Trap(TrapReport),
    /// TinyGo's scheduler queues, read at an idle wait or on request while paused.
    Scheduler(SchedulerSnapshot),
    /// Asyncify task switches the flight recorder saw since the previous batch, in order.
    Asyncify {
        /// The events, oldest first.
        events: Vec<AsyncifyEvent>,
    },
    /// The event ring from the page broke (its producer wrote something no producer writes):
    /// the guest's stdin was closed and commands (pause, resume, step, …) no longer reach it.
    /// Sent once, by the page, when the wasm thread reports it.
    RingError {
        /// What was wrong, e.g. `corrupt ring at position 0x40: packet longer than the MTU`.
        reason: String,
    },
}

/// The guest's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputStream {
    /// `wasi:cli/stdout`.
    Stdout,
    /// `wasi:cli/stderr`.
    Stderr,
}

/// The handshake: protocol version and what is running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION) of the sender.
    pub protocol: u8,
    /// The component.
    pub component: ComponentSummary,
    /// The string table for [`HostCallRecord::import`] and [`Snapshot::host_calls`]: each
    /// host function the guest imports, e.g. `wasi:io/poll#poll`.
    pub host_functions: Vec<String>,
    /// What the host found of TinyGo's scheduler; `None` from hosts that do not look.
    #[serde(default)]
    pub tinygo: Option<TinyGoSummary>,
}

/// What `pollscope inspect` knows about a component.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentSummary {
    /// Size in bytes.
    pub size: u64,
    /// Imported instances, e.g. `wasi:io/poll@0.2.0`.
    pub imports: Vec<String>,
    /// Exported instances and functions.
    pub exports: Vec<String>,
    /// The `producers` section: (field, name, version).
    pub producers: Vec<Producer>,
    /// DWARF custom sections are present.
    pub dwarf: bool,
    /// A `name` section is present.
    pub name_section: bool,
    /// Asyncify's exports found (`asyncify_get_state`, …); empty when not asyncified.
    pub asyncify_exports: Vec<String>,
}

/// One `producers` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Producer {
    /// `language`, `processed-by` or `sdk`.
    pub field: String,
    /// E.g. `TinyGo`.
    pub name: String,
    /// E.g. `0.33.0`.
    pub version: String,
}

/// What the guest is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum GuestState {
    /// Executing its own code.
    Running,
    /// Asleep in `Atomics.wait` inside `call`.
    Waiting {
        /// The call that waits.
        call: WaitCall,
        /// Guest monotonic deadline, or `None` for "until an event".
        until: Option<u64>,
    },
    /// Inside a host function that is not waiting.
    InHostCall {
        /// Index into [`Hello::host_functions`].
        import: u32,
    },
    /// Held by a pause (or a finished step).
    Paused,
    /// Ended with this exit code.
    Exited {
        /// The exit code.
        code: i32,
    },
    /// Ended by a trap.
    Trapped(TrapReport),
}

/// A trap: the message and the wasm frames, innermost first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapReport {
    /// The engine's or the host's message.
    pub message: String,
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
}

/// One wasm stack frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Function name from the name section, when there is one.
    pub name: Option<String>,
    /// Function index within its module.
    pub func: Option<u32>,
    /// Byte offset within its module.
    pub offset: Option<u32>,
    /// Source file, from the module's DWARF line table (a TinyGo program's Go file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based source line, with `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// Which call an `Atomics.wait` happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitCall {
    /// `[method]pollable.block`.
    PollableBlock,
    /// `wasi:io/poll.poll`.
    Poll,
    /// `blocking-read` or `blocking-skip`.
    BlockingRead,
    /// A blocking write or flush.
    BlockingWrite,
    /// Held by a pause or a finished step.
    Paused,
}

/// Why an `Atomics.wait` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WakeCause {
    /// The timeout passed (`"timed-out"`).
    Deadline,
    /// The event thread notified: a packet arrived.
    RingNotify,
    /// It did not sleep: data was already there (`"not-equal"`, or the drain before found some).
    AlreadyThere,
    /// A command arrived (pause, resume, step…).
    Command,
}

/// One `Atomics.wait`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitRecord {
    /// When it began (real ns).
    pub start: u64,
    /// The call it happened in.
    pub call: WaitCall,
    /// The guest's deadline (guest monotonic ns), `None` when waiting for an event only.
    pub deadline: Option<u64>,
    /// The timeout asked of `Atomics.wait` (real ns), `None` for no timeout.
    pub timeout: Option<u64>,
    /// How long it actually took (real ns).
    pub duration: u64,
    /// Why it ended.
    pub wake: WakeCause,
}

/// One host call, when detail is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCallRecord {
    /// Index into [`Hello::host_functions`].
    pub import: u32,
    /// When it began (real ns).
    pub start: u64,
    /// How long it took, waits included (real ns).
    pub duration: u64,
}

/// What a pollable waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PollableKind {
    /// Ready at an absolute guest monotonic deadline (ns).
    Timer {
        /// The deadline.
        deadline: u64,
    },
    /// Ready when this input stream can be read.
    StreamRead {
        /// The stream's handle.
        stream: u32,
    },
    /// Ready when this output stream accepts a write.
    StreamWrite {
        /// The stream's handle.
        stream: u32,
    },
    /// Always ready.
    Ready,
}

/// A live pollable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pollable {
    /// The guest's handle.
    pub handle: u32,
    /// What it waits for.
    pub kind: PollableKind,
    /// The import that made it, e.g. `wasi:clocks/monotonic-clock#subscribe-duration`.
    pub created_by: String,
    /// Guest monotonic time at creation (ns).
    pub created_at: u64,
    /// Times named by `poll` or asked `ready`.
    pub polled: u64,
    /// Times blocked on.
    pub blocked: u64,
    /// Ready now, when known (`None` for streams until the host reports it).
    pub ready: Option<bool>,
}

/// A change to the pollable list since the previous batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum PollableChange {
    /// A new pollable (or one whose counters or readiness changed): its current state.
    Upsert(Pollable),
    /// The guest dropped it (or the host retired it: see [`RetiredPollables`]).
    Dropped {
        /// The handle it had.
        handle: u32,
        /// When the change was seen (real ns).
        at: u64,
    },
}

/// Pollables the host retired: ready forever, never dropped by the guest (TinyGo's idle
/// sleeps leak one each), counted rather than listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredPollables {
    /// Retired pollables the guest still holds: never dropped.
    pub held: u64,
    /// Retired since the start, dropped afterwards or not.
    pub total: u64,
    /// `held` per creating import.
    pub by_creator: Vec<(String, u64)>,
}

/// One look at the event ring's header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingSample {
    /// When (real ns).
    pub at: u64,
    /// Capacity in bytes.
    pub capacity: u32,
    /// Bytes in the ring.
    pub used: u32,
    /// Most bytes ever in the ring.
    pub high_water: u32,
    /// Bytes written since the start.
    pub bytes_in: u64,
    /// Bytes read since the start.
    pub bytes_out: u64,
    /// Times the producer found the ring full.
    pub stalls: u64,
}

/// Events lost to full rings, per kind, since the start (a panel that reads too slowly sees
/// how much it missed; memory stays bounded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Wait records.
    pub waits: u64,
    /// Host-call records.
    pub host_calls: u64,
    /// Pollable changes.
    pub pollable_changes: u64,
    /// Ring samples.
    pub ring_samples: u64,
}

/// Wait aggregates since the start, kept even with no panel listening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitTotals {
    /// Waits performed.
    pub count: u64,
    /// Real time spent in them (ns).
    pub blocked: u64,
    /// Overshoot of waits that ended by their deadline, in [`OVERSHOOT_BUCKETS`] buckets.
    pub overshoot: Vec<u64>,
}

impl Default for WaitTotals {
    fn default() -> WaitTotals {
        WaitTotals {
            count: 0,
            blocked: 0,
            overshoot: vec![0; OVERSHOOT_BUCKETS],
        }
    }
}

/// What happened since the previous batch: compact deltas, pushed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    /// Batch number, from 0, so a panel notices a lost batch.
    pub seq: u64,
    /// When it was cut (real ns).
    pub at: u64,
    /// The guest's state when it changed since the previous batch.
    pub state: Option<GuestState>,
    /// Waits that ended.
    pub waits: Vec<WaitRecord>,
    /// Host calls that ended.
    pub host_calls: Vec<HostCallRecord>,
    /// Pollable changes.
    pub pollable_changes: Vec<PollableChange>,
    /// Ring samples.
    pub ring_samples: Vec<RingSample>,
    /// Records lost since the start.
    pub dropped: Dropped,
    /// Wait aggregates since the start.
    pub wait_totals: WaitTotals,
    /// Host calls since the start.
    pub host_calls_total: u64,
}

/// Everything at one instant: pulled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When (real ns).
    pub at: u64,
    /// Real ns since the guest started.
    pub uptime: u64,
    /// The guest's state.
    pub state: GuestState,
    /// The time scale in force.
    pub time_scale: f32,
    /// Live pollables, in handle order.
    pub pollables: Vec<Pollable>,
    /// Retired pollables.
    pub retired: RetiredPollables,
    /// Calls per host function, indexed like [`Hello::host_functions`].
    pub host_calls: Vec<u64>,
    /// Wait aggregates.
    pub wait_totals: WaitTotals,
    /// The ring, when the shim sampled it.
    pub ring: Option<RingSample>,
    /// Records lost since the start.
    pub dropped: Dropped,
}

impl FromWasm {
    /// Checks what serde cannot: histogram shape, the time scale's range.
    pub fn validate(&self) -> Result<(), DecodeError> {
        let totals = match self {
            FromWasm::Events(batch) => &batch.wait_totals,
            FromWasm::Snapshot(snapshot) => {
                crate::control::check_scale(snapshot.time_scale)?;
                &snapshot.wait_totals
            }
            _ => return Ok(()),
        };
        if totals.overshoot.len() != OVERSHOOT_BUCKETS {
            return Err(DecodeError::OutOfRange(format!(
                "{} overshoot buckets, expected {OVERSHOOT_BUCKETS}",
                totals.overshoot.len()
            )));
        }
        Ok(())
    }
}
