//! `bench_telemetry_load`: the host-call load of the `telemetry-overhead` row of
//! `cargo xtask bench` — many clock reads and many tiny sleeps, timed by the guest, so the
//! harness can compare the same load with telemetry off, on without a subscriber, and on with a
//! subscriber at full detail.
//!
//! Usage: `bench_telemetry_load [NOWS=1000000] [SLEEPS=100000] [SLEEP_NS=1000]`.
//!
//! Calls `monotonic_clock::now()` NOWS times (folded into a sum), then sleeps SLEEP_NS
//! nanoseconds SLEEPS times with `std::thread::sleep` (a `subscribe-duration` pollable, blocked
//! on), each phase timed as a whole with the monotonic clock, and prints one line:
//! `telemetry-load nows=<n> now_ns=<n> sleeps=<n> sleep_ns=<n> asked_ns=<n> sum=<n>`
//! (`now_ns` and `sleep_ns` are the phases' total elapsed times).

use std::time::Duration;

use wasi::clocks::monotonic_clock::now;

fn arg(index: usize, default: u64) -> u64 {
    pollscope_guests::number_arg(index, default)
}

fn main() {
    let nows = arg(1, 1_000_000);
    let sleeps = arg(2, 100_000);
    let asked = arg(3, 1000);

    let start = now();
    let mut sum = 0u64;
    for _ in 0..nows {
        sum = sum.wrapping_add(now());
    }
    let now_elapsed = now() - start;

    let nap = Duration::from_nanos(asked);
    let start = now();
    for _ in 0..sleeps {
        std::thread::sleep(nap);
    }
    let sleep_elapsed = now() - start;

    println!(
        "telemetry-load nows={nows} now_ns={now_elapsed} sleeps={sleeps} sleep_ns={sleep_elapsed} \
         asked_ns={asked} sum={}",
        sum % 1000
    );
}
