//! `wasi:filesystem` (placeholder until the filesystem lands).

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
