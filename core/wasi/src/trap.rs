//! Why a host call cannot return normally to the guest.

use std::fmt;

/// A host call that ends the guest instead of returning: a canonical ABI violation, or
/// `wasi:cli/exit.exit`. A WASI error code is *not* a trap: it is lowered as a normal result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// What kind of stop this is.
    pub kind: TrapKind,
    /// The import that trapped, e.g. `wasi:io/poll#[method]pollable.block`, when known.
    pub import: Option<String>,
}

/// The kinds of stop a host call can cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapKind {
    /// The guest called `wasi:cli/exit.exit`; the process ends with this code.
    Exit(i32),
    /// The guest broke the canonical ABI (bad pointer, bad handle, invalid utf-8, …).
    Abi(String),
    /// The embedder asked to end the guest ([`Platform::stop_requested`](crate::Platform::stop_requested)).
    Interrupted,
}

impl Trap {
    /// A canonical ABI violation with a message saying what was wrong and where.
    #[cold]
    pub fn abi(message: impl Into<String>) -> Trap {
        Trap {
            kind: TrapKind::Abi(message.into()),
            import: None,
        }
    }

    /// `wasi:cli/exit.exit(code)`.
    pub fn exit(code: i32) -> Trap {
        Trap {
            kind: TrapKind::Exit(code),
            import: None,
        }
    }

    /// The embedder stopped the guest (a signal, a timeout), at a host call or a wait.
    pub fn interrupted() -> Trap {
        Trap {
            kind: TrapKind::Interrupted,
            import: None,
        }
    }

    /// Names the import the trap happened in, unless already named.
    pub fn in_import(mut self, import: &str) -> Trap {
        if self.import.is_none() {
            self.import = Some(import.to_string());
        }
        self
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            TrapKind::Exit(code) => write!(f, "exit({code})")?,
            TrapKind::Abi(message) => write!(f, "{message}")?,
            TrapKind::Interrupted => f.write_str("interrupted: the embedder stopped the guest")?,
        }
        if let Some(import) = &self.import {
            write!(f, " (in {import})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}
