//! `wasi:cli`: environment, exit, stdio and the terminal interfaces.

pub(crate) mod environment;
pub(crate) mod exit;
pub(crate) mod stdio;
pub(crate) mod terminal;
