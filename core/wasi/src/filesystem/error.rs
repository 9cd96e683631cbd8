//! `wasi:filesystem/types.error-code`, in the WIT's case order (the order is the ABI).

use std::fmt;

/// A filesystem error as the guest sees it; the discriminant is the lowered `u8`.
///
/// Every case is listed so the numbering matches the WIT; the host returns only some.
#[allow(dead_code)] // Cases the in-memory filesystem never produces still fix the numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum ErrorCode {
    Access,
    WouldBlock,
    Already,
    BadDescriptor,
    Busy,
    Deadlock,
    Quota,
    Exist,
    FileTooLarge,
    IllegalByteSequence,
    InProgress,
    Interrupted,
    Invalid,
    Io,
    IsDirectory,
    Loop,
    TooManyLinks,
    MessageSize,
    NameTooLong,
    NoDevice,
    NoEntry,
    NoLock,
    InsufficientMemory,
    InsufficientSpace,
    NotDirectory,
    NotEmpty,
    NotRecoverable,
    Unsupported,
    NoTty,
    NoSuchDevice,
    Overflow,
    NotPermitted,
    Pipe,
    ReadOnly,
    InvalidSeek,
    TextFileBusy,
    CrossDevice,
}

/// Every case, in discriminant order, with its WIT name.
const NAMES: [(ErrorCode, &str); 37] = [
    (ErrorCode::Access, "access"),
    (ErrorCode::WouldBlock, "would-block"),
    (ErrorCode::Already, "already"),
    (ErrorCode::BadDescriptor, "bad-descriptor"),
    (ErrorCode::Busy, "busy"),
    (ErrorCode::Deadlock, "deadlock"),
    (ErrorCode::Quota, "quota"),
    (ErrorCode::Exist, "exist"),
    (ErrorCode::FileTooLarge, "file-too-large"),
    (ErrorCode::IllegalByteSequence, "illegal-byte-sequence"),
    (ErrorCode::InProgress, "in-progress"),
    (ErrorCode::Interrupted, "interrupted"),
    (ErrorCode::Invalid, "invalid"),
    (ErrorCode::Io, "io"),
    (ErrorCode::IsDirectory, "is-directory"),
    (ErrorCode::Loop, "loop"),
    (ErrorCode::TooManyLinks, "too-many-links"),
    (ErrorCode::MessageSize, "message-size"),
    (ErrorCode::NameTooLong, "name-too-long"),
    (ErrorCode::NoDevice, "no-device"),
    (ErrorCode::NoEntry, "no-entry"),
    (ErrorCode::NoLock, "no-lock"),
    (ErrorCode::InsufficientMemory, "insufficient-memory"),
    (ErrorCode::InsufficientSpace, "insufficient-space"),
    (ErrorCode::NotDirectory, "not-directory"),
    (ErrorCode::NotEmpty, "not-empty"),
    (ErrorCode::NotRecoverable, "not-recoverable"),
    (ErrorCode::Unsupported, "unsupported"),
    (ErrorCode::NoTty, "no-tty"),
    (ErrorCode::NoSuchDevice, "no-such-device"),
    (ErrorCode::Overflow, "overflow"),
    (ErrorCode::NotPermitted, "not-permitted"),
    (ErrorCode::Pipe, "pipe"),
    (ErrorCode::ReadOnly, "read-only"),
    (ErrorCode::InvalidSeek, "invalid-seek"),
    (ErrorCode::TextFileBusy, "text-file-busy"),
    (ErrorCode::CrossDevice, "cross-device"),
];

/// Prefix of the `error` text a file stream hands out, so `filesystem-error-code` can tell a
/// filesystem failure from any other stream error (`wasi:io/error` carries only text).
const STREAM_ERROR_PREFIX: &str = "filesystem error ";

impl ErrorCode {
    /// The WIT name, e.g. `no-entry`.
    pub(crate) fn name(self) -> &'static str {
        NAMES[self as usize].1
    }

    /// The text of the `error` resource a file stream returns for this failure.
    pub(crate) fn stream_message(self, detail: &str) -> String {
        format!("{STREAM_ERROR_PREFIX}{}: {detail}", self.name())
    }

    /// The code a file stream's `error` text carries; `None` for any other error's text.
    pub(crate) fn from_stream_message(message: &str) -> Option<ErrorCode> {
        let rest = message.strip_prefix(STREAM_ERROR_PREFIX)?;
        let name = rest.split(':').next()?;
        NAMES
            .iter()
            .find(|(_, candidate)| *candidate == name)
            .map(|(code, _)| *code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminants_follow_the_wit_order() {
        // Positions counted in wasi:filesystem/types.wit's `enum error-code`.
        assert_eq!(ErrorCode::Access as u8, 0);
        assert_eq!(ErrorCode::BadDescriptor as u8, 3);
        assert_eq!(ErrorCode::Exist as u8, 7);
        assert_eq!(ErrorCode::Invalid as u8, 12);
        assert_eq!(ErrorCode::IsDirectory as u8, 14);
        assert_eq!(ErrorCode::Loop as u8, 15);
        assert_eq!(ErrorCode::NoEntry as u8, 20);
        assert_eq!(ErrorCode::NotDirectory as u8, 24);
        assert_eq!(ErrorCode::NotEmpty as u8, 25);
        assert_eq!(ErrorCode::NotPermitted as u8, 31);
        assert_eq!(ErrorCode::ReadOnly as u8, 33);
        assert_eq!(ErrorCode::CrossDevice as u8, 36);
        for (i, (code, _)) in NAMES.iter().enumerate() {
            assert_eq!(*code as usize, i, "{code:?} is out of place in NAMES");
        }
    }

    #[test]
    fn stream_messages_round_trip_and_foreign_text_is_not_a_code() {
        let message = ErrorCode::FileTooLarge.stream_message("write past 4 GiB");
        assert_eq!(message, "filesystem error file-too-large: write past 4 GiB");
        assert_eq!(
            ErrorCode::from_stream_message(&message),
            Some(ErrorCode::FileTooLarge)
        );
        assert_eq!(ErrorCode::from_stream_message("broken pipe"), None);
        assert_eq!(
            ErrorCode::from_stream_message("filesystem error nonsense: x"),
            None
        );
    }
}
