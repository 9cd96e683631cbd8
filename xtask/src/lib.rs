//! The parts of the build pipeline that the xtask's own integration tests call too (the rest
//! of `cargo xtask` lives in the binary, `main.rs`).

pub mod npm_package;
