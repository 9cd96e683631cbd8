//! `wasi:io`: errors, pollables and streams.
//!
//! State: `pollable.rs` (the pollable resource, readiness, retiring) and `stream.rs` (the stream
//! traits and table entries, the `error` resource). Glue, one file per interface: `error.rs`,
//! `poll.rs`, `streams.rs`.

pub(crate) mod error;
pub(crate) mod poll;
pub(crate) mod pollable;
pub(crate) mod stream;
pub(crate) mod streams;
