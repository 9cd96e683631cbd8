//! `wasi:filesystem` (placeholder until the filesystem lands).

// Used by the ABI glue, which lands next.
#[allow(dead_code)]
mod descriptor;
#[allow(dead_code)]
mod error;
#[allow(dead_code)]
mod memfs;
#[allow(dead_code)]
mod path;

use crate::registry::InterfaceDef;

pub(crate) struct FsState;

impl FsState {
    pub(crate) fn new(_: &crate::HostConfig) -> Result<FsState, String> {
        Ok(FsState)
    }
}

/// `wasi:filesystem/types`.
pub(crate) const TYPES: InterfaceDef = InterfaceDef {
    name: "wasi:filesystem/types",
    funcs: &[],
};
/// `wasi:filesystem/preopens`.
pub(crate) const PREOPENS: InterfaceDef = InterfaceDef {
    name: "wasi:filesystem/preopens",
    funcs: &[],
};
