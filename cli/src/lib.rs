//! Pieces of the `pollscope` command that other tools of this repository reuse (the benchmark
//! and browser-test harnesses start Chromium the same way, and bind the same listener).

pub mod browser;
pub mod lifetime;
pub mod loopback;
pub mod procfs;
