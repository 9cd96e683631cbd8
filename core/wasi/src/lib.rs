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
//! One module per WASI package, one file per interface:
//! - `io`: `wasi:io/error`, `wasi:io/poll`, `wasi:io/streams`
//! - `clocks`: `wasi:clocks/monotonic-clock`, `wasi:clocks/wall-clock`
//! - `random`: `wasi:random/random`, `wasi:random/insecure`, `wasi:random/insecure-seed`
//! - `cli`: `wasi:cli/environment`, `exit`, `stdin`, `stdout`, `stderr`, `terminal-input`,
//!   `terminal-output`, `terminal-stdin`, `terminal-stdout`, `terminal-stderr`
//! - `filesystem`: `wasi:filesystem/types`, `wasi:filesystem/preopens`
//! - `sockets`: `wasi:sockets/*`
//!
//! Every import that waits goes through one loop (look, then at most one
//! [`Platform::wait`] with the nearest absolute deadline). [`testing`] has a platform with a
//! virtual clock for native tests.

#![deny(missing_docs)]

mod memory;
mod platform;
mod trap;

pub use memory::{guest_range, GuestMemory, VecMemory};
pub use platform::{Event, Platform, Stdio, WaitReason};
pub use trap::{Trap, TrapKind};

mod abi;
mod cli;
mod clocks;
mod filesystem;
mod host;
mod io;
mod random;
mod registry;
mod sockets;
mod table;
pub mod testing;

pub use filesystem::{MAX_FS_BYTES, MAX_FS_ENTRIES};
pub use host::{Host, HostConfig};
pub use io::poll::{PollableInfo, PollableKind, RetiredPollables, MAX_POLL_LIST};
pub use io::streams::{HostInputStream, HostOutputStream, InputStream, OutputStream, StreamError};
pub use registry::{
    all_functions, resolve, split_version, Args, HostFunc, ResolveError, Support, ValType,
};
pub use table::{Lookup, ResourceTable, RetiredCount, TableError, MAX_HANDLES};
