//! The WASI 0.2 command world as a platform-free host.
//!
//! Everything a guest import does is decided here and tested natively; the browser shim only
//! supplies guest memory ([`GuestMemory`]) and the platform ([`Platform`]: clocks, randomness,
//! output, and the single blocking wait).
//!
//! The shim resolves each lowered import once with [`resolve`] (which also yields the core
//! signature the import must have) and then calls [`Host::call`] with the flat core arguments,
//! widened to `i64`, exactly as the canonical ABI passes them.
//!
//! # Layout
//!
//! In dependency order, each layer using only the ones above it (no module imports one that
//! imports it back, which `tests/layering.rs` checks):
//! - the machine and the guest: `platform` ([`Platform`]), `memory` ([`GuestMemory`]), `trap`
//!   ([`Trap`]), `config` ([`HostConfig`]);
//! - state: `table` ([`ResourceTable`]), and per package the state its glue works on
//!   (`io/pollable.rs`, `io/stream.rs`, `cli/console.rs`, `filesystem/state.rs` with the
//!   in-memory tree, `sockets/state.rs`);
//! - `host`: [`Host`], which holds that state, and the one blocking loop;
//! - `func`: the vocabulary every interface is written in ([`ValType`], [`Support`],
//!   [`Waits`], [`Args`], the function and interface definitions, [`HostFunc`]) and
//!   [`Host::call`];
//! - `abi`: canonical ABI lifting and lowering;
//! - glue, one module per WASI package and one file per interface (`io`, `clocks`, `random`,
//!   `cli`, `filesystem`, `sockets`): each declares its `INTERFACE` from the vocabulary and
//!   implements it on the state, never importing another package's glue;
//! - `world`: the list of every interface of the `wasi:cli/command@0.2.x` world (its `//!`
//!   names them all, as wasmtime's `p2/mod.rs` does), [`resolve`] and [`all_functions`].
//!
//! Every import that waits goes through one loop (look, then at most one
//! [`Platform::wait`] with the nearest absolute deadline), and says so in its definition
//! ([`HostFunc::waits`]). [`testing`] has a platform with a virtual clock for native tests.

#![deny(missing_docs)]

mod config;
mod memory;
mod platform;
mod trap;

pub use config::{HostConfig, Preopen};
pub use memory::{guest_range, GuestBytes, GuestMemory, VecMemory};
pub use platform::{Event, Platform, Stdio, WaitReason};
pub use trap::{Trap, TrapKind};

mod table;

pub use table::{Lookup, ResourceTable, RetiredCount, TableError, MAX_HANDLES};

mod host;

pub use host::Host;

mod func;

pub use func::{Args, HostFunc, Support, ValType, Waits};

mod abi;
mod cli;
mod clocks;
mod filesystem;
mod io;
mod random;
mod sockets;

pub use filesystem::{
    is_plain_relative_path, ExportedEntry, ExportedKind, ExportedTree, PreopenExport, MAX_FS_BYTES,
    MAX_FS_ENTRIES,
};
pub use io::poll::MAX_POLL_LIST;
pub use io::pollable::{PollableInfo, PollableKind, RetiredPollables};
pub use io::stream::{HostInputStream, HostOutputStream, InputStream, OutputStream, StreamError};

mod world;

pub use world::{all_functions, resolve, split_version, ResolveError};

pub mod testing;
