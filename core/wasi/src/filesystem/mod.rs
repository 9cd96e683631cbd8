//! `wasi:filesystem`: `types` and `preopens` over an in-memory tree.
//!
//! State:
//! - `state`: what `Host` holds, the tree and the preopens
//! - `memfs`: inodes (files, directories, symbolic links) with link counts and timestamps
//! - `path`: resolution relative to a directory, sandboxed as WASI requires
//! - `descriptor`: the `descriptor` and `directory-entry-stream` resources and their
//!   operations as plain Rust
//! - `streams`: the file streams `read-via-stream` and friends hand out
//! - `error`: the `error-code` enum
//! - `export`: the trees of write-back preopens, encoded for the embedder when the guest ends
//!
//! Glue: `types`, `dirs`, `preopens` for the two interfaces (`lift` and `lower` hold the
//! argument lifting and the result layouts).
//!
//! The tree is filled from [`HostConfig`](crate::HostConfig) (`dirs`, `files`, `preopens`)
//! before the guest starts and lives as long as the host.

mod descriptor;
mod dirs;
mod error;
pub(crate) mod export;
#[cfg(test)]
mod guest;
mod lift;
mod lower;
mod memfs;
mod path;
pub(crate) mod preopens;
pub(crate) mod state;
mod streams;
pub(crate) mod types;

pub use export::{
    is_plain_relative_path, ExportedEntry, ExportedKind, ExportedTree, PreopenExport,
};
pub use memfs::{MAX_FS_BYTES, MAX_FS_ENTRIES};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_import_of_both_interfaces_is_implemented() {
        let methods = [
            "read-via-stream",
            "write-via-stream",
            "append-via-stream",
            "advise",
            "sync-data",
            "get-flags",
            "get-type",
            "set-size",
            "set-times",
            "read",
            "write",
            "read-directory",
            "sync",
            "create-directory-at",
            "stat",
            "stat-at",
            "set-times-at",
            "link-at",
            "open-at",
            "readlink-at",
            "remove-directory-at",
            "rename-at",
            "symlink-at",
            "unlink-file-at",
            "is-same-object",
            "metadata-hash",
            "metadata-hash-at",
        ];
        let mut expected: Vec<String> = methods
            .iter()
            .map(|m| format!("[method]descriptor.{m}"))
            .collect();
        expected.extend(
            [
                "[method]directory-entry-stream.read-directory-entry",
                "filesystem-error-code",
                "[resource-drop]descriptor",
                "[resource-drop]directory-entry-stream",
            ]
            .map(String::from),
        );
        for name in &expected {
            let func = crate::resolve("wasi:filesystem/types@0.2.3", name).unwrap();
            assert_eq!(func.support(), crate::Support::Implemented, "{name}");
        }
        assert_eq!(
            types::INTERFACE.funcs.len(),
            expected.len(),
            "no extra functions"
        );
        assert!(crate::resolve("wasi:filesystem/preopens@0.2.0", "get-directories").is_ok());
    }
}
