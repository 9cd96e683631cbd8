//! `fs_big_write`: writes 64 MiB of deterministic bytes (xorshift64, as the e2e `noise`) to
//! `big.bin` in its `--dir` (mounted at `.`) and prints their FNV-1a hash, so the test can
//! check the file on the host after the write-back carried it (issue #12): far past the
//! 1 MiB that other requests to `pollscope run`'s server may carry.

use std::io::Write;

const LEN: usize = 64 << 20;

fn main() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let bytes: Vec<u8> = (0..LEN)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let mut file = std::fs::File::create("big.bin").unwrap();
    file.write_all(&bytes).unwrap();
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    println!("bytes={LEN} fnv1a64={hash:016x}");
}
