//! What can go wrong when creating, attaching to or draining a ring.

use std::fmt;

/// A ring could not be created or attached, or its contents are not what a well-behaved
/// producer writes.
///
/// `Corrupt` and `TooLarge` leave the consumer's tail just before the offending packet: every
/// packet before it has been delivered, and draining again reports the same error. The ring
/// cannot go on past a damaged packet (its length cannot be trusted), so its owner should tear
/// it down and report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The capacity is not a power of two in `MIN_CAPACITY..=MAX_CAPACITY`.
    BadCapacity(u32),
    /// The MTU is zero or a packet of that size would not fit the data area.
    BadMtu {
        /// The MTU asked for.
        mtu: u32,
        /// The data area's size.
        capacity: u32,
    },
    /// The shared buffer is smaller than the header plus the data area.
    MemoryTooSmall {
        /// Bytes the ring needs.
        needed: usize,
        /// Bytes the buffer has.
        actual: usize,
    },
    /// The header does not carry this crate's magic and layout version.
    NotARing {
        /// The magic word found.
        magic: u32,
        /// The version word found.
        version: u32,
    },
    /// A header word or a packet header holds something no producer writes.
    Corrupt {
        /// Ring position (free-running byte counter) of the offending packet.
        position: u32,
        /// What was wrong.
        reason: &'static str,
    },
    /// A message split into frames grew past the consumer's reassembly limit.
    TooLarge {
        /// The stream the message was on.
        stream: u16,
        /// The limit, in bytes, on payload held in unfinished messages.
        limit: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadCapacity(c) => write!(
                f,
                "ring capacity {c} is not a power of two between {} and {}",
                crate::layout::MIN_CAPACITY,
                crate::layout::MAX_CAPACITY
            ),
            Error::BadMtu { mtu, capacity } => write!(
                f,
                "ring MTU {mtu} must be between 1 and {} for a capacity of {capacity}",
                capacity.saturating_sub(crate::layout::PACKET_HEADER)
            ),
            Error::MemoryTooSmall { needed, actual } => write!(
                f,
                "shared buffer of {actual} bytes is too small for the ring ({needed} bytes)"
            ),
            Error::NotARing { magic, version } => write!(
                f,
                "shared buffer holds no ring (magic {magic:#010x}, version {version})"
            ),
            Error::Corrupt { position, reason } => {
                write!(f, "corrupt ring at position {position:#x}: {reason}")
            }
            Error::TooLarge { stream, limit } => write!(
                f,
                "message on stream {stream} exceeds the reassembly limit of {limit} bytes"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The ring had no room for any of what was sent. Nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ring is full")
    }
}

impl std::error::Error for Full {}
