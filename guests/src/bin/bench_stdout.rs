//! `bench_stdout`: stdout throughput, for the `stdout` row of `cargo xtask bench`.
//!
//! Usage: `bench_stdout [TOTAL_BYTES=67108864] [CHUNK=4096]`.
//!
//! Prints `start` to stderr and sleeps 1 ms (the host flushes output before it waits, so the
//! line reaches the page as writing begins: a harness can time from it), then writes TOTAL_BYTES
//! bytes of `x` (no newline) to stdout in CHUNK-byte `write_all` calls, then one line to stderr:
//! `stdout bytes=<n> chunk=<n> elapsed_ns=<n>` (from just before the first write to after the
//! flush, by the guest's monotonic clock). A harness counts the stdout bytes on its side and
//! reads the figures from stderr.
//!
//! The writes go straight to descriptor 1, as Go's `os.Stdout.Write` does: Rust's
//! `std::io::stdout()` would first scan each write for a newline (its line buffer), a cost of
//! the guest rather than of the host this measures.

use std::fs::File;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

fn arg(index: usize, default: usize) -> usize {
    pollscope_guests::number_arg(index, default)
}

fn main() {
    let total = arg(1, 64 << 20);
    let chunk = arg(2, 4096).max(1);
    let buffer = vec![b'x'; chunk];
    eprintln!("start");
    std::thread::sleep(Duration::from_millis(1));
    // SAFETY: descriptor 1 is stdout for the whole run, and ManuallyDrop never closes it.
    let mut out = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
    let start = Instant::now();
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk);
        out.write_all(&buffer[..n]).expect("writing stdout");
        left -= n;
    }
    out.flush().expect("flushing stdout");
    let elapsed = start.elapsed();
    eprintln!(
        "stdout bytes={total} chunk={chunk} elapsed_ns={}",
        elapsed.as_nanos()
    );
}
