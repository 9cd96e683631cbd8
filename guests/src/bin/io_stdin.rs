//! `io_stdin`: reads stdin to end of file.
//!
//! Prints `bytes=<n> fnv1a64=<16 hex digits>` (FNV-1a, 64-bit, over every byte read), so the test
//! can check that large and binary input arrives whole and in order.

use std::io::Read;

fn main() {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    println!("bytes={} fnv1a64={hash:016x}", input.len());
}
