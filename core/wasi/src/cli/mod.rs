//! `wasi:cli`: environment, exit, stdio and the terminal interfaces.
//!
//! State: `console.rs` (the stdin buffer, the stdio streams, the terminal resources). Glue, one
//! file per interface or group: `environment.rs`, `exit.rs`, `stdio.rs` (`stdin`, `stdout`,
//! `stderr`), `terminal.rs` (the five `terminal-*` interfaces).

pub(crate) mod console;
pub(crate) mod environment;
pub(crate) mod exit;
pub(crate) mod stdio;
pub(crate) mod terminal;
