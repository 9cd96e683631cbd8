//! Pieces of the `pollscope` command that other tools of this repository reuse (the benchmark
//! and browser-test harnesses start Chromium the same way).

pub mod browser;
pub mod lifetime;
pub mod procfs;
