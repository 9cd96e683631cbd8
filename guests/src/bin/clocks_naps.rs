//! `clocks_naps`: `N` sleeps of `MS` milliseconds, each `std::thread::sleep` (one
//! `subscribe-duration` pollable, blocked on) timed with `Instant`, one line after each.
//!
//! Usage: `clocks_naps [N=5] [MS=20]`. Prints `nap <i> asked_ns=<n> actual_ns=<n>` after nap
//! `i` (from 1), then `done`. The telemetry browser test (`bench/tests/telemetry.rs`) matches
//! each line with the wait the host recorded, steps it one nap at a time and slows its clock.

use std::time::{Duration, Instant};

fn arg(index: usize, default: u64) -> u64 {
    pollscope_guests::number_arg(index, default)
}

fn main() {
    let naps = arg(1, 5);
    let asked = Duration::from_millis(arg(2, 20));
    for i in 1..=naps {
        let start = Instant::now();
        std::thread::sleep(asked);
        let actual = start.elapsed();
        println!(
            "nap {i} asked_ns={} actual_ns={}",
            asked.as_nanos(),
            actual.as_nanos()
        );
    }
    println!("done");
}
