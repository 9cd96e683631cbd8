//! `bench_stdin`: stdin throughput through blocking reads, for the `stdin` row of
//! `cargo xtask bench`.
//!
//! Usage: `bench_stdin [BUFFER=65536]`.
//!
//! Prints `ready`, then reads stdin to end-of-file with blocking `read` calls into a
//! BUFFER-byte buffer, adding up the bytes, and prints
//! `stdin bytes=<n> reads=<n> elapsed_ns=<n>` (from the return of the first read that got data
//! to end-of-file, by the guest's monotonic clock).

use std::io::Read;
use std::time::Instant;

fn main() {
    let size: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("BUFFER must be a number, got {text:?}")),
        None => 65536,
    };
    println!("ready");
    let mut buffer = vec![0u8; size.max(1)];
    let mut input = std::io::stdin().lock();
    let mut bytes = 0u64;
    let mut reads = 0u64;
    let mut start = None;
    loop {
        let n = input.read(&mut buffer).expect("reading stdin");
        if n == 0 {
            break;
        }
        start.get_or_insert_with(Instant::now);
        reads += 1;
        bytes += n as u64;
    }
    let elapsed = start.map_or(0, |s| s.elapsed().as_nanos());
    println!("stdin bytes={bytes} reads={reads} elapsed_ns={elapsed}");
}
