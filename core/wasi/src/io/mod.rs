//! `wasi:io`: errors, pollables and streams.

pub(crate) mod error;
pub(crate) mod poll;
pub mod streams;
