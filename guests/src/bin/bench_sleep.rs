//! `bench_sleep`: many short sleeps, each timed by the guest, for the `sleep` row of
//! `cargo xtask bench` (which compares them with raw `Atomics.wait` in a plain worker).
//!
//! Usage: `bench_sleep [ITERATIONS=200] [MS=1] [SETTLE_MS=0]`.
//!
//! Prints `phase start iterations=<n> asked_ns=<n>`, then sleeps SETTLE_MS (the host flushes
//! output before it waits, so the line reaches the page as this sleep begins and a harness can
//! sample CPU while nothing happens), then sleeps MS milliseconds ITERATIONS times with
//! `std::thread::sleep` (a `subscribe-duration` pollable, blocked on), timing each with
//! `Instant`. Nothing is printed meanwhile: a flush inside the timed phase would be measured.
//! Then `phase end`, another SETTLE_MS sleep, one `sleep asked_ns=<n> actual_ns=<n>` line per
//! sleep in order, and `done`.

use std::time::{Duration, Instant};

fn arg(index: usize, default: u64) -> u64 {
    pollscope_guests::number_arg(index, default)
}

fn main() {
    let iterations = arg(1, 200) as usize;
    let asked = Duration::from_millis(arg(2, 1));
    let settle = Duration::from_millis(arg(3, 0));

    println!(
        "phase start iterations={iterations} asked_ns={}",
        asked.as_nanos()
    );
    std::thread::sleep(settle);
    let mut actual = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        std::thread::sleep(asked);
        actual.push(start.elapsed());
    }
    println!("phase end");
    std::thread::sleep(settle);
    for d in actual {
        println!(
            "sleep asked_ns={} actual_ns={}",
            asked.as_nanos(),
            d.as_nanos()
        );
    }
    println!("done");
}
