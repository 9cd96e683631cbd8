//! `io_stdout_flood`: writes a lot to stdout, in writes of varying sizes.
//!
//! Usage: `io_stdout_flood [TOTAL_BYTES=1048699]`.
//!
//! Writes TOTAL_BYTES (1 MiB + 123 unless given) of numbered lines to stdout, then prints
//! `bytes=<n> fnv1a64=<16 hex digits>` of what it wrote to stderr, so the test can check that
//! nothing was lost, duplicated or reordered.

use std::io::Write;

const TOTAL: usize = (1 << 20) + 123;

fn main() {
    let total = pollscope_guests::number_arg(1, TOTAL);
    let mut data = Vec::with_capacity(total);
    let mut line = 0;
    while data.len() < total {
        line += 1;
        writeln!(
            data,
            "line {line:06} {}",
            "abcdefghijklmnopqrstuvwxyz".repeat(line % 7)
        )
        .unwrap();
    }
    data.truncate(total);

    // Writes of 1, 2, 4, … 64 KiB bytes, cycling (std's line buffering splits them further).
    let mut stdout = std::io::stdout().lock();
    let mut rest = &data[..];
    let mut size = 1;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        stdout.write_all(chunk).unwrap();
        rest = tail;
        size = if size >= 64 * 1024 { 1 } else { size * 2 };
    }
    stdout.flush().unwrap();
    drop(stdout);

    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    eprintln!("bytes={} fnv1a64={hash:016x}", data.len());
}
