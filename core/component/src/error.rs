//! The one error type of this crate: a kind, a message and (usually) a byte offset.

use std::fmt;

/// Why a component cannot be turned into a plan.
///
/// Boxed so that a `Result<_, Error>` stays one word (as wasmparser's `BinaryReaderError`).
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    message: String,
    offset: Option<usize>,
}

/// What class of problem an [`Error`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes do not start with the WebAssembly magic number.
    NotWasm,
    /// A core module was given where a component is expected.
    CoreModule,
    /// The bytes are truncated, malformed or invalid (wasmparser's message).
    Malformed,
    /// The component has no usable `wasi:cli/run` export.
    NoRun,
    /// The component is valid but uses something the shim does not implement.
    Unsupported,
    /// A named limit of [`crate::limits`] was exceeded.
    Limit,
    /// The translator met a state the validator should have ruled out (a bug here).
    Internal,
}

impl Error {
    fn new(kind: ErrorKind, message: String, offset: Option<usize>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message,
                offset,
            }),
        }
    }

    #[cold]
    pub(crate) fn not_wasm() -> Error {
        Error::new(
            ErrorKind::NotWasm,
            "not a WebAssembly binary (no `\\0asm` magic number)".to_string(),
            Some(0),
        )
    }

    #[cold]
    pub(crate) fn core_module() -> Error {
        Error::new(
            ErrorKind::CoreModule,
            "this is a core module, not a component: componentize it with `wasm-tools component \
             new` (TinyGo: build with -target=wasip2; Rust: --target wasm32-wasip2)"
                .to_string(),
            Some(4),
        )
    }

    #[cold]
    pub(crate) fn malformed(err: wasmparser::BinaryReaderError) -> Error {
        Error::new(
            ErrorKind::Malformed,
            err.message().to_string(),
            usize::try_from(err.offset()).ok(),
        )
    }

    #[cold]
    pub(crate) fn no_run(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NoRun, message.into(), None)
    }

    #[cold]
    pub(crate) fn unsupported(offset: usize, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unsupported, message.into(), Some(offset))
    }

    #[cold]
    pub(crate) fn limit(offset: usize, what: &str, max: usize) -> Error {
        Error::new(
            ErrorKind::Limit,
            format!("too many {what}: the limit is {max}"),
            Some(offset),
        )
    }

    #[cold]
    pub(crate) fn internal(offset: usize, message: impl Into<String>) -> Error {
        Error::new(
            ErrorKind::Internal,
            format!("internal error (please report): {}", message.into()),
            Some(offset),
        )
    }

    /// The class of problem.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message without the offset.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Byte offset into the component where the problem is, when there is one place.
    pub fn offset(&self) -> Option<usize> {
        self.inner.offset
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(offset) = self.inner.offset {
            write!(f, " (at offset 0x{offset:x})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("offset", &self.inner.offset)
            .finish()
    }
}

impl std::error::Error for Error {}

impl From<wasmparser::BinaryReaderError> for Error {
    #[cold]
    fn from(err: wasmparser::BinaryReaderError) -> Error {
        Error::malformed(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_appends_hex_offset() {
        let err = Error::unsupported(0x2a, "async canon option");
        assert_eq!(err.to_string(), "async canon option (at offset 0x2a)");
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert_eq!(Error::no_run("none").to_string(), "none");
    }

    #[test]
    fn error_is_one_word() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
