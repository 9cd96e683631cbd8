//! `clocks_sleep`: sleeps of many lengths, each measured with the monotonic clock.
//!
//! Prints one line per sleep, `<label> asked_ns=<n> actual_ns=<n>`, in a fixed order, then
//! `total asked_ns=<n> actual_ns=<n>`. Covers zero and past deadlines (wasmtime's `p2_sleep`)
//! through the raw bindings as well as `std::thread::sleep`, which blocks on a
//! `subscribe-duration` pollable. The test checks every `actual >= asked`.

use std::time::{Duration, Instant};

use wasi::clocks::monotonic_clock;

const MS: u64 = 1_000_000;

fn main() {
    let mut total_asked = 0;
    let mut total_actual = 0;
    let mut report = |label: &str, asked: u64, actual: u64| {
        println!("{label} asked_ns={asked} actual_ns={actual}");
        total_asked += asked;
        total_actual += actual;
    };

    let mut std_sleep = |label: &str, ms: u64| {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(ms));
        let actual = start.elapsed().as_nanos() as u64;
        report(label, ms * MS, actual);
    };
    std_sleep("std-0ms", 0);
    for i in 1..=20 {
        std_sleep(&format!("std-1ms-{i:02}"), 1);
    }
    std_sleep("std-10ms", 10);
    std_sleep("std-250ms", 250);

    // Raw pollables: a zero duration, an instant already past and an instant in the future.
    let start = monotonic_clock::now();
    monotonic_clock::subscribe_duration(0).block();
    report("raw-duration-0", 0, monotonic_clock::now() - start);

    let start = monotonic_clock::now();
    monotonic_clock::subscribe_instant(start - 1).block();
    report("raw-instant-past", 0, monotonic_clock::now() - start);

    let start = monotonic_clock::now();
    monotonic_clock::subscribe_instant(start + 20 * MS).block();
    report("raw-instant-20ms", 20 * MS, monotonic_clock::now() - start);

    let start = monotonic_clock::now();
    monotonic_clock::subscribe_duration(5 * MS).block();
    report("raw-duration-5ms", 5 * MS, monotonic_clock::now() - start);

    println!("total asked_ns={total_asked} actual_ns={total_actual}");
}
