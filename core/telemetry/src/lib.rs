//! Telemetry and steering for one guest run, platform-free (issue #4): what the wasm thread
//! records and decides, tested natively; the shim only reads clocks, waits and posts.
//!
//! - [`Recorder`]: counters always; wait, host-call, pollable-change and ring-sample records in
//!   bounded [`EventRing`]s while a panel listens with detail; the guest's state; batches and
//!   snapshots as `pollscope-protocol` types.
//! - [`TimeScale`]: the guest's clocks at 0.1×–10× real time, continuous across changes, and
//!   guest deadlines back to real timeouts.
//! - [`Steering`]: pause, resume, step.
//! - [`chrome_trace`]: waits and host calls as Chrome trace-event JSON.
//! - [`pollables`]: the host's pollables in protocol form, and their changes.
//! - [`hello()`]: the handshake's component summary and host-function table.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod call_counts;
mod event_ring;
mod hello;
pub mod pollables;
mod recorder;
mod steering;
mod time_scale;

pub use call_counts::CallCounts;
pub use event_ring::EventRing;
pub use hello::hello;
pub use pollables::PollableTracker;
pub use recorder::{overshoot_bucket, Recorder, RecorderConfig};
pub use steering::Steering;
pub use time_scale::TimeScale;
// The trace lives in the protocol crate so the panel can export one without this crate.
pub use pollscope_protocol::{chrome_trace, chrome_trace_json};
