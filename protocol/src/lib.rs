//! Messages that cross a thread boundary, versioned.
//!
//! Today: the commands the page sends the wasm thread over the ring's control stream. A command
//! is `[PROTOCOL_VERSION, tag]`; decoding rejects other versions, unknown tags and trailing bytes
//! with an error — a page may be hostile, and nothing it sends can make the host panic.
//!
//! | version | change |
//! |---|---|
//! | 1 | `pause`, `resume` |

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt;

/// Bump when an existing message changes meaning; add new tags without bumping.
pub const PROTOCOL_VERSION: u8 = 1;

/// A command for the wasm thread, acted on at the guest's next host call or wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Stop the guest at its next host call or wait, and keep it there.
    Pause,
    /// Let a paused guest go on.
    Resume,
}

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
        }
    }
}

impl std::error::Error for DecodeError {}

impl Command {
    fn tag(self) -> u8 {
        match self {
            Command::Pause => 1,
            Command::Resume => 2,
        }
    }

    /// The command's name in the page API (`pause`, `resume`).
    pub fn name(self) -> &'static str {
        match self {
            Command::Pause => "pause",
            Command::Resume => "resume",
        }
    }

    /// The command a page names.
    pub fn from_name(name: &str) -> Result<Command, DecodeError> {
        [Command::Pause, Command::Resume]
            .into_iter()
            .find(|command| command.name() == name)
            .ok_or_else(|| DecodeError::UnknownName(name.chars().take(64).collect()))
    }

    /// The bytes that travel on the ring.
    pub fn encode(self) -> [u8; 2] {
        [PROTOCOL_VERSION, self.tag()]
    }

    /// Reads a command from ring bytes.
    pub fn decode(bytes: &[u8]) -> Result<Command, DecodeError> {
        let (&version, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::Version(version));
        }
        let (&tag, rest) = rest.split_first().ok_or(DecodeError::Truncated)?;
        if !rest.is_empty() {
            return Err(DecodeError::Trailing(rest.len()));
        }
        match tag {
            1 => Ok(Command::Pause),
            2 => Ok(Command::Resume),
            other => Err(DecodeError::UnknownTag(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_round_trips_by_bytes_and_by_name() {
        for command in [Command::Pause, Command::Resume] {
            assert_eq!(Command::decode(&command.encode()), Ok(command));
            assert_eq!(Command::from_name(command.name()), Ok(command));
        }
    }

    #[test]
    fn hostile_bytes_are_errors() {
        assert_eq!(Command::decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(
            Command::decode(&[PROTOCOL_VERSION]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(Command::decode(&[9, 1]), Err(DecodeError::Version(9)));
        assert_eq!(
            Command::decode(&[PROTOCOL_VERSION, 200]),
            Err(DecodeError::UnknownTag(200))
        );
        assert_eq!(
            Command::decode(&[PROTOCOL_VERSION, 1, 0]),
            Err(DecodeError::Trailing(1))
        );
        assert!(Command::from_name("rm -rf").is_err());
        // Every two-byte input decodes or errs; none panics.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ = Command::decode(&[a, b]);
            }
        }
    }
}
