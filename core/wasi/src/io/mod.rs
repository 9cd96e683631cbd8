//! `wasi:io`: errors, pollables and streams.

pub mod streams;
