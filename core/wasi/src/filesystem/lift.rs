//! Lifting the filesystem imports' flat arguments: the descriptor behind a handle, strings,
//! path flags and timestamps. Shared by the glue in `types.rs` and `dirs.rs`.

use super::descriptor::Descriptor;
use super::memfs::{NewTimestamp, Timestamp};
use crate::abi;
use crate::func::Args;
use crate::{GuestMemory, Host, Trap};

pub(crate) fn descriptor(host: &Host, args: Args<'_>, index: usize) -> Result<Descriptor, Trap> {
    Ok(host
        .table
        .get::<Descriptor>(abi::arg_handle(args, index)?)?
        .clone())
}

/// A `string` argument passed as (ptr, len) at `index`.
pub(crate) fn string(
    memory: &dyn GuestMemory,
    args: Args<'_>,
    index: usize,
    what: &str,
) -> Result<String, Trap> {
    abi::lift_string(
        memory,
        abi::arg_u32(args, index)?,
        abi::arg_u32(args, index + 1)?,
        what,
    )
}

/// `path-flags` at `index`: whether to follow a final symbolic link.
pub(crate) fn follow(args: Args<'_>, index: usize) -> Result<bool, Trap> {
    Ok(abi::arg_u32(args, index)? & 1 != 0)
}

/// `new-timestamp` flattened at `index`: case, seconds, nanoseconds.
pub(crate) fn new_timestamp(args: Args<'_>, index: usize) -> Result<NewTimestamp, Trap> {
    Ok(match abi::arg_case(args, index, 3, "new-timestamp")? {
        0 => NewTimestamp::NoChange,
        1 => NewTimestamp::Now,
        _ => NewTimestamp::At(Timestamp {
            seconds: abi::arg_u64(args, index + 1)?,
            nanoseconds: abi::arg_u32(args, index + 2)?,
        }),
    })
}

pub(crate) fn now(host: &mut Host) -> Timestamp {
    Timestamp::from(host.platform.wall_now())
}
