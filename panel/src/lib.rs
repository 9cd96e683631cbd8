//! The Pollscope panel: live telemetry of a guest and the commands that steer it.
//!
//! Pure logic ([`model`], [`commands`]) is plain Rust and tested natively; the Leptos views
//! and the mount API exist only on `wasm32` (see the crate README for the mount contract).

pub mod commands;
pub mod model;

#[cfg(target_arch = "wasm32")]
mod context;
#[cfg(target_arch = "wasm32")]
mod mount;
#[cfg(target_arch = "wasm32")]
mod views;
