//! `bench_instantiate`: a component with about 600 KB of real code, for the `instantiate` row of
//! `cargo xtask bench` (time from the component's bytes to the guest running). The file is
//! larger: like every guest here it keeps std's DWARF and a name section (about 2.6 MB), which a
//! loader only copies past.
//!
//! Usage: `bench_instantiate [SEED=1]`.
//!
//! The bulk is 2048 distinct instances (about 270 B of code each) of one small generic function
//! (a const parameter makes each its own machine code, so nothing is merged or dropped), all
//! reachable through a table.
//! `main` prints `started` first (the harness times up to that line), then calls a few of them
//! and prints `result=<n>`.

use std::hint::black_box;

#[inline(never)]
fn work<const N: u32>(seed: u64) -> u64 {
    let mut x = seed ^ (N as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for i in 0..(N % 7 + 3) {
        x = x.rotate_left(N % 61 + 1) ^ (x >> (N % 13 + 1));
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9 ^ i as u64);
        if x % (N as u64 + 3) == 1 {
            x = x.wrapping_add(N as u64 * 31 + i as u64);
        } else {
            x ^= (N as u64) << (i % 17);
        }
    }
    x
}

macro_rules! row {
    ($hi:expr) => {
        [
            work::<{ $hi * 16 }>,
            work::<{ $hi * 16 + 1 }>,
            work::<{ $hi * 16 + 2 }>,
            work::<{ $hi * 16 + 3 }>,
            work::<{ $hi * 16 + 4 }>,
            work::<{ $hi * 16 + 5 }>,
            work::<{ $hi * 16 + 6 }>,
            work::<{ $hi * 16 + 7 }>,
            work::<{ $hi * 16 + 8 }>,
            work::<{ $hi * 16 + 9 }>,
            work::<{ $hi * 16 + 10 }>,
            work::<{ $hi * 16 + 11 }>,
            work::<{ $hi * 16 + 12 }>,
            work::<{ $hi * 16 + 13 }>,
            work::<{ $hi * 16 + 14 }>,
            work::<{ $hi * 16 + 15 }>,
        ]
    };
}

macro_rules! block {
    ($hi:expr) => {
        [
            row!(($hi * 16)),
            row!(($hi * 16 + 1)),
            row!(($hi * 16 + 2)),
            row!(($hi * 16 + 3)),
            row!(($hi * 16 + 4)),
            row!(($hi * 16 + 5)),
            row!(($hi * 16 + 6)),
            row!(($hi * 16 + 7)),
            row!(($hi * 16 + 8)),
            row!(($hi * 16 + 9)),
            row!(($hi * 16 + 10)),
            row!(($hi * 16 + 11)),
            row!(($hi * 16 + 12)),
            row!(($hi * 16 + 13)),
            row!(($hi * 16 + 14)),
            row!(($hi * 16 + 15)),
        ]
    };
}

type Work = fn(u64) -> u64;

static TABLE: [[[Work; 16]; 16]; 8] = [
    block!(0),
    block!(1),
    block!(2),
    block!(3),
    block!(4),
    block!(5),
    block!(6),
    block!(7),
];

fn main() {
    println!("started");
    let seed: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let table = black_box(&TABLE);
    let mut x = seed;
    for i in 0..64usize {
        let n = (x as usize ^ i.wrapping_mul(2654435761)) % 2048;
        x = table[n / 256][n / 16 % 16][n % 16](x);
    }
    println!("result={}", x % 1_000_000);
}
