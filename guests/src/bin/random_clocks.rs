//! `random_clocks`: `wasi:random/*` and the two clocks, reduced to facts that never vary.
//!
//! Prints the lengths of random draws and whether two draws differ (a 256-bit or 64-bit
//! collision is not going to happen), that the insecure seed is not all zeros, that the wall
//! clock reads after 2020-01-01 and before 2100, that the monotonic clock never goes backwards
//! over many reads, and that both resolutions are between 1 ns and 1 s.

use std::time::{SystemTime, UNIX_EPOCH};

use wasi::clocks::{monotonic_clock, wall_clock};
use wasi::random::{insecure, insecure_seed, random};

/// 2020-01-01T00:00:00Z and 2100-01-01T00:00:00Z, in seconds since the Unix epoch.
const Y2020: u64 = 1_577_836_800;
const Y2100: u64 = 4_102_444_800;

fn main() {
    let lengths: Vec<usize> = [0, 1, 32, 1024]
        .iter()
        .map(|&len| random::get_random_bytes(len).len())
        .collect();
    println!("random bytes lengths: {lengths:?}");
    let (a, b) = (random::get_random_bytes(32), random::get_random_bytes(32));
    println!("random bytes differ: {}", a != b);
    let (a, b) = (random::get_random_u64(), random::get_random_u64());
    println!("random u64 differ: {}", a != b);

    let lengths: Vec<usize> = [0, 1, 32, 1024]
        .iter()
        .map(|&len| insecure::get_insecure_random_bytes(len).len())
        .collect();
    println!("insecure bytes lengths: {lengths:?}");
    let (a, b) = (
        insecure::get_insecure_random_bytes(32),
        insecure::get_insecure_random_bytes(32),
    );
    println!("insecure bytes differ: {}", a != b);
    let (a, b) = (
        insecure::get_insecure_random_u64(),
        insecure::get_insecure_random_u64(),
    );
    println!("insecure u64 differ: {}", a != b);
    println!(
        "insecure seed nonzero: {}",
        insecure_seed::insecure_seed() != (0, 0)
    );

    let now = wall_clock::now();
    println!(
        "wall clock in 2020..2100: {}",
        (Y2020..Y2100).contains(&now.seconds)
    );
    println!(
        "wall clock nanoseconds < 1e9: {}",
        now.nanoseconds < 1_000_000_000
    );
    let std_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    println!(
        "std SystemTime in 2020..2100: {}",
        (Y2020..Y2100).contains(&std_now)
    );
    let res = wall_clock::resolution();
    let res_ns = u128::from(res.seconds) * 1_000_000_000 + u128::from(res.nanoseconds);
    println!(
        "wall clock resolution in 1ns..=1s: {}",
        (1..=1_000_000_000).contains(&res_ns)
    );

    let mut previous = monotonic_clock::now();
    let mut backwards = 0;
    for _ in 0..10_000 {
        let now = monotonic_clock::now();
        if now < previous {
            backwards += 1;
        }
        previous = now;
    }
    println!("monotonic went backwards in 10000 reads: {backwards} times");
    let res = monotonic_clock::resolution();
    println!(
        "monotonic resolution in 1ns..=1s: {}",
        (1..=1_000_000_000).contains(&res)
    );
}
