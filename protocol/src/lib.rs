//! Messages that cross a thread or process boundary, versioned.
//!
//! Two encodings:
//!
//! - **Ring bytes** for commands on the ring's control stream: `[PROTOCOL_VERSION, tag,
//!   payload…]`, every command a [`Control`].
//! - **JSON messages** (serde), one enum per direction, tagged by `type`, with the version in
//!   `v`: [`ToWasm`] (page → wasm thread) and [`FromWasm`] (wasm thread → page → panel). See
//!   [`encode_json`] / [`decode_json`].
//!
//! Decoding rejects other versions, unknown tags or types, out-of-range values and trailing
//! bytes with an error — a page may be hostile, and nothing it sends can make the host panic.
//!
//! Compatibility: both ends ship together (the shim and its loader are one build), so a peer of
//! another version is a stale tab or extension; it gets [`DecodeError::Version`] and the
//! [`Hello`] says which version this side speaks. Bump [`PROTOCOL_VERSION`] when an existing
//! message or tag changes meaning or a required field is added; add new tags, message types and
//! optional fields without bumping.
//!
//! | version | change | compatible with |
//! |---|---|---|
//! | 1 | ring tags `pause` (1), `resume` (2) | 1 |
//! | 1 | + ring tags `step` (3), `time-scale` (4), `subscribe` (5), `unsubscribe` (6), `snapshot` (7), `restart` (8); JSON messages [`ToWasm`], [`FromWasm`] (additive) | 1 |
//! | 1 | + [`FromWasm::Scheduler`], [`FromWasm::Asyncify`], optional [`Hello::tinygo`] (additive) | 1 |
//! | 1 | + [`ToWasm::RecordAsyncify`] (loader-only), optional [`Frame::file`] / [`Frame::line`] (additive) | 1 |
//! | 1 | + [`FromWasm::RingError`] (additive) | 1 |
//! | 1 | + ring tag `stop` (9) (additive) | 1 |
//! | 1 | + subscribe's `replay` (ring flag bit 1, optional JSON field); the loader–worker messages of [`worker`] (additive) | 1 |

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt;

mod control;
mod json;
mod scheduler;
mod telemetry;
mod trace;
pub mod worker;

pub use control::{Control, ToWasm, MAX_STDIN_CHUNK, MAX_TIME_SCALE, MIN_TIME_SCALE};
pub use json::{decode_json, decode_value, encode_json, encode_value, Message, MAX_MESSAGE_BYTES};
pub use scheduler::*;
pub use telemetry::*;
pub use trace::{chrome_trace, chrome_trace_from_json, chrome_trace_json};

/// Bump when an existing message changes meaning; add new tags without bumping.
pub const PROTOCOL_VERSION: u8 = 1;

/// Why bytes are not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than two bytes.
    Truncated,
    /// Another protocol version.
    Version(u8),
    /// A tag this version does not define.
    UnknownTag(u8),
    /// Bytes after a complete command.
    Trailing(usize),
    /// A command name that is not one.
    UnknownName(String),
    /// A value outside its allowed range (e.g. a time scale of 100).
    OutOfRange(String),
    /// Bytes or JSON that are not a message of this protocol (the reason, shortened).
    Malformed(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("command truncated"),
            DecodeError::Version(v) => write!(
                f,
                "command of protocol version {v}, expected {PROTOCOL_VERSION}"
            ),
            DecodeError::UnknownTag(tag) => write!(f, "unknown command tag {tag}"),
            DecodeError::Trailing(n) => write!(f, "{n} stray bytes after the command"),
            DecodeError::UnknownName(name) => write!(f, "unknown command `{name}`"),
            DecodeError::OutOfRange(what) => write!(f, "value out of range: {what}"),
            DecodeError::Malformed(why) => write!(f, "malformed message: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}
