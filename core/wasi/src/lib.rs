//! The WASI 0.2 command world as a platform-free host.
//!
//! Everything a guest import does is decided here and tested natively; the browser shim only
//! supplies guest memory ([`GuestMemory`]) and the platform ([`Platform`]: clocks, randomness,
//! output, and the single blocking wait).
//!
//! The shim resolves each lowered import once with [`resolve`] (which also yields the core
//! signature the import must have) and then calls [`Host::call`] with the flat core arguments,
//! widened to `i64`, exactly as the canonical ABI passes them.

#![deny(missing_docs)]

mod memory;
mod platform;
mod trap;

pub use memory::{GuestMemory, VecMemory};
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

pub use host::{Host, HostConfig};
pub use io::poll::{PollableInfo, PollableKind};
pub use io::streams::{HostInputStream, HostOutputStream, InputStream, OutputStream, StreamError};
pub use registry::{
    all_functions, resolve, split_version, Args, HostFunc, ResolveError, Support, ValType,
};
pub use table::{ResourceTable, MAX_HANDLES};
