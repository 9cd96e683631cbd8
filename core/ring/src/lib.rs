//! Single-producer single-consumer packet ring over shared memory.
//!
//! The event thread (producer) hands stdin, control commands and later socket data to the wasm
//! thread (consumer) through one `SharedArrayBuffer`. This crate is the whole algorithm; it
//! touches the buffer only through [`SharedMemory`] (word atomics and bulk byte copies), so it
//! runs natively over [`AtomicMemory`] in tests and in the browser over `Int32Array` +
//! `Uint8Array` views.
//!
//! # Shape
//!
//! A header of 32-bit words (positions, wake word, counters; see [`layout`]) followed by a data
//! area of `capacity` bytes (a power of two) holding length-prefixed packets of at most one
//! MTU, each tagged with a stream id and a [`Kind`] (see the `packet` format in [`Packet`]'s
//! module docs, reproduced here):
//!
//! ```text
//! u32 len | u16 stream | u8 kind | u8 flags (bit 0: more frames follow) | payload | pad to 8
//! ```
//!
//! Messages longer than the MTU, or than the room left, are split into frames and joined again
//! by the consumer, per stream; streams may interleave, and nothing within a stream is ever
//! dropped or reordered. A payload that runs past the end of the data area wraps (two copies).
//!
//! # Protocol
//!
//! Creating: the page allocates [`total_bytes`]`(capacity)` bytes of `SharedArrayBuffer`, calls
//! [`init`], and sends the buffer to both workers, which attach with [`Producer::new`] and
//! [`Consumer::new`]. Anyone may read a [`Snapshot`] at any time.
//!
//! Publishing (producer, once per batch): write the packets into free space, store the
//! counters, store `HEAD`, add 1 to `WAKE`, notify `WAKE`.
//!
//! Waiting for data (the consumer's owner), with no lost wake-ups:
//!
//! 1. `let w = consumer.prepare_wait()` reads `WAKE`;
//! 2. `consumer.drain(..)` loads `HEAD` and takes everything up to it;
//! 3. if there is nothing to do, `Atomics.wait(i32, w.word, w.value, timeout)`.
//!
//! If a publish lands after step 1, `WAKE` no longer holds `w.value` and the wait returns at
//! once (or is woken by the notify); if it landed before, step 2 sees its `HEAD`, because
//! `HEAD` is stored before `WAKE` is bumped. Other parties (a pause command from the page, say)
//! may add to `WAKE` and notify it to interrupt a wait the same way.
//!
//! Freeing space (consumer, once per drain): store `TAIL`, store its counters, and if
//! `WANT_SPACE` is set, notify `TAIL`.
//!
//! Waiting for space (producer's owner): [`Producer::flush`] publishes what fitted; if data is
//! still queued it sets `WANT_SPACE`, loads `TAIL`, and returns [`Flush::Blocked`] with that value
//! unless space appeared; the owner waits with `Atomics.waitAsync(i32, TAIL, value)` and flushes
//! again. The consumer stores `TAIL` before loading `WANT_SPACE` and the producer stores
//! `WANT_SPACE` before loading `TAIL`, and `Atomics` are sequentially consistent, so at least
//! one of them sees the other: either the producer sees the new tail, or the consumer sees the
//! flag and notifies. Only the producer writes `WANT_SPACE` (it clears it once its backlog is
//! empty), so a consumer can never clear a request it has not served.
//!
//! All of this is checked exhaustively over small scenarios in `tests/all/model.rs`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod consumer;
mod error;
pub mod layout;
mod memory;
mod output;
mod packet;
mod producer;
mod snapshot;
#[cfg(test)]
mod testing;

pub use consumer::{Consumer, DEFAULT_REASSEMBLY_LIMIT};
pub use error::{Error, Full};
pub use layout::{init, total_bytes, Config};
pub use memory::{AtomicMemory, SharedMemory, WaitResult};
pub use output::OutputBatch;
pub use packet::{Kind, Packet};
pub use producer::{Flush, Producer};
pub use snapshot::Snapshot;

/// A word to wait on and the value it held when checked: wait only while it still holds it
/// (`Atomics.wait(i32, word, value as i32, timeout)` or `Atomics.waitAsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOn {
    /// Index of the word in the buffer's `Int32Array` view.
    pub word: usize,
    /// The value seen; anything else means the awaited event already happened.
    pub value: u32,
}
