//! Why a handle-table operation failed, and the trap the guest gets for it.

use std::fmt;

use crate::Trap;

/// Why a [`ResourceTable`](super::ResourceTable) operation failed (wasmtime's `Full`,
/// `NotPresent`, `WrongType` and `HasChildren`, plus what retiring and a `u32` handle space
/// add). Every case is a bad handle or an exhausted table, which the canonical ABI makes a
/// trap: `?` in a host function turns it into one ([`From<TableError> for Trap`](Trap)) with
/// the message [`Display`](fmt::Display) gives. Type names are short (`Pollable`, not its
/// module path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    /// [`MAX_HANDLES`](super::MAX_HANDLES) live entries already: one more would let a guest
    /// exhaust memory.
    Full {
        /// The limit, `MAX_HANDLES`.
        limit: usize,
    },
    /// Every `u32` handle number is held by the guest (live or retired): none is left to
    /// issue until it drops some.
    Exhausted {
        /// Live entries.
        live: usize,
        /// Retired handles the guest never dropped.
        retired: u64,
    },
    /// No resource has this handle: never issued (0 never is), or dropped.
    NotPresent {
        /// The handle asked for.
        handle: u32,
    },
    /// The handle names a resource of another type.
    WrongType {
        /// The handle asked for.
        handle: u32,
        /// The type it names.
        actual: &'static str,
        /// The type the call needs.
        expected: &'static str,
    },
    /// The handle names a retired resource (its value is gone) where a live one is needed:
    /// a live-only read, a drop that expects a value, or a parent for a new child.
    Retired {
        /// The handle asked for.
        handle: u32,
        /// The retired resource's type.
        type_name: &'static str,
    },
    /// The resource still has children (pollables made from it), so it cannot be dropped.
    HasChildren {
        /// The handle to drop.
        handle: u32,
        /// Its type.
        type_name: &'static str,
        /// How many children are alive.
        children: u32,
    },
}

impl TableError {
    /// [`TableError::WrongType`] for a `T` lookup of a handle holding an `actual` (a full type
    /// name, as `std::any::type_name` gives).
    #[cold]
    pub(super) fn wrong_type<T>(handle: u32, actual: &'static str) -> TableError {
        TableError::WrongType {
            handle,
            actual: short(actual),
            expected: short(std::any::type_name::<T>()),
        }
    }

    /// [`TableError::Retired`] for a handle retired as `type_name` (a full type name).
    #[cold]
    pub(super) fn retired(handle: u32, type_name: &'static str) -> TableError {
        TableError::Retired {
            handle,
            type_name: short(type_name),
        }
    }

    /// [`TableError::HasChildren`] for a handle holding a `type_name` (a full type name).
    #[cold]
    pub(super) fn has_children(handle: u32, type_name: &'static str, children: u32) -> TableError {
        TableError::HasChildren {
            handle,
            type_name: short(type_name),
            children,
        }
    }

    /// [`TableError::NotPresent`].
    #[cold]
    pub(super) fn not_present(handle: u32) -> TableError {
        TableError::NotPresent { handle }
    }
}

/// `Pollable` for `pollscope_wasi::some::module::Pollable`: computed only for errors, never on
/// the hot path.
fn short(type_name: &'static str) -> &'static str {
    type_name.rsplit("::").next().unwrap_or(type_name)
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TableError::Full { limit } => write!(f, "handle table full ({limit} live handles)"),
            TableError::Exhausted { live, retired } => write!(
                f,
                "handle space exhausted: the guest holds all {} handle numbers ({live} live, \
                 {retired} retired and never dropped); drop some to get new ones",
                u32::MAX
            ),
            TableError::NotPresent { handle } => write!(f, "unknown handle {handle}"),
            TableError::WrongType {
                handle,
                actual,
                expected,
            } => write!(f, "handle {handle} is a {actual}, not a {expected}"),
            TableError::Retired { handle, type_name } => write!(
                f,
                "handle {handle} is a retired {type_name}; this call needs a live one"
            ),
            TableError::HasChildren {
                handle,
                type_name,
                children,
            } => write!(
                f,
                "cannot drop {type_name} handle {handle} while {children} resource(s) made from \
                 it are alive"
            ),
        }
    }
}

impl std::error::Error for TableError {}

impl From<TableError> for Trap {
    #[cold]
    fn from(error: TableError) -> Trap {
        Trap::abi(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_HANDLES;

    /// The messages are what the guest sees in its trap; they read as they did when the table
    /// made traps itself.
    #[test]
    fn each_error_becomes_the_trap_the_guest_saw_before() {
        let cases = [
            (
                TableError::Full { limit: MAX_HANDLES },
                format!("handle table full ({MAX_HANDLES} live handles)"),
            ),
            (
                TableError::Exhausted {
                    live: 3,
                    retired: 4,
                },
                "handle space exhausted: the guest holds all 4294967295 handle numbers (3 live, \
                 4 retired and never dropped); drop some to get new ones"
                    .to_string(),
            ),
            (TableError::not_present(7), "unknown handle 7".to_string()),
            (
                TableError::wrong_type::<crate::Trap>(1, "a::b::Stream"),
                "handle 1 is a Stream, not a Trap".to_string(),
            ),
            (
                TableError::retired(2, "a::Pollable"),
                "handle 2 is a retired Pollable; this call needs a live one".to_string(),
            ),
            (
                TableError::has_children(5, "x::InputStream", 2),
                "cannot drop InputStream handle 5 while 2 resource(s) made from it are alive"
                    .to_string(),
            ),
        ];
        for (error, message) in cases {
            assert_eq!(Trap::from(error), Trap::abi(message));
        }
    }
}
