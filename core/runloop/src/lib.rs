//! The wasm thread's run loop around host calls, platform-free and tested natively: the browser
//! shim supplies a clock and a sleep primitive (`Atomics.wait` on the ring's wake word) and this
//! crate decides how to use them.
//!
//! - [`DeadlineWaiter`]: waits that end on their deadline, not whenever the platform's timed
//!   sleep happens to wake (issue #16), over the small [`WaitPort`] trait.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod deadline;

pub use deadline::{DeadlineWaiter, WaitPort, MAX_EARLY_NS};
