//! `bench_now`: the cost of one `wasi:clocks/monotonic-clock.now` call, for the `now` row of
//! `cargo xtask bench`.
//!
//! Usage: `bench_now [ITERATIONS=1000000]`.
//!
//! Calls `monotonic_clock::now()` ITERATIONS times in a loop (each result folded into a sum so
//! no call can be dropped), then runs the same loop without the call (the loop's own cost), both
//! timed with the monotonic clock itself, and prints one line:
//! `now iterations=<n> elapsed_ns=<n> empty_ns=<n> sum=<n>`.

use std::hint::black_box;

use wasi::clocks::monotonic_clock::now;

fn main() {
    let iterations: u64 = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("ITERATIONS must be a number, got {text:?}")),
        None => 1_000_000,
    };

    let start = now();
    let mut sum = 0u64;
    for _ in 0..iterations {
        sum = sum.wrapping_add(now());
    }
    let elapsed = now() - start;

    let start = now();
    let mut empty = 0u64;
    for i in 0..iterations {
        empty = black_box(empty.wrapping_add(black_box(i)));
    }
    let empty_elapsed = now() - start;

    println!(
        "now iterations={iterations} elapsed_ns={elapsed} empty_ns={empty_elapsed} sum={}",
        sum.wrapping_add(empty) % 1000
    );
}
