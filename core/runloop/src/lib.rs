//! The wasm thread's run loop around host calls, platform-free and tested natively: the browser
//! shim supplies a clock and a sleep primitive (`Atomics.wait` on the ring's wake word) and this
//! crate decides how to use them.
//!
//! - [`RunLoop`]: commands, pause/step/hold, the time scale, waits and why they woke,
//!   flushing before waits, and the telemetry that goes out, over a [`Port`].
//! - [`DeadlineWaiter`]: waits that end on their deadline, not whenever the platform's timed
//!   sleep happens to wake, over the small [`WaitPort`] trait.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod deadline;
mod output_tail;
mod port;
mod run_loop;

pub use deadline::{DeadlineWaiter, WaitPort, MAX_EARLY_NS};
pub use output_tail::{OutputTail, OUTPUT_TAIL_BYTES};
pub use port::{Port, Scheduler};
pub use run_loop::{CallEntry, CallKind, End, RunLoop, SCHEDULER_INTERVAL};
