//! `bench_*` guests: the programs `cargo xtask bench` times. Here only their output format and
//! the lower bound every sleep must respect; the figures themselves belong to the benchmark.

use crate::harness::{guest, Invocation};

/// Five 1 ms sleeps: the phase markers the harness samples CPU on, one line per sleep in the
/// documented format, each at least as long as asked, then `done`.
#[test]
fn bench_sleep_reports_every_sleep_in_its_format() {
    let run = Invocation::new(guest("bench_sleep"))
        .args(["5", "1", "0"])
        .run();
    if run.code() != 0 {
        run.fail("expected exit code 0");
    }
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    let expected_len = 2 + 5 + 1;
    if lines.len() != expected_len
        || lines[0] != "phase start iterations=5 asked_ns=1000000"
        || lines[1] != "phase end"
        || lines[expected_len - 1] != "done"
    {
        run.fail("expected `phase start …`, `phase end`, five `sleep …` lines and `done`");
    }
    for line in &lines[2..7] {
        let actual = line
            .strip_prefix("sleep asked_ns=1000000 actual_ns=")
            .and_then(|n| n.parse::<u64>().ok());
        match actual {
            None => run.fail(&format!(
                "line {line:?} is not `sleep asked_ns=1000000 actual_ns=<n>`"
            )),
            Some(ns) if ns < 1_000_000 => run.fail(&format!("{line:?}: woke before 1 ms")),
            Some(_) => {}
        }
    }
}

/// The value of `key=<number>` in a line of `key=value` words.
fn field(line: &str, key: &str) -> Option<u64> {
    line.split(' ')
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .and_then(|n| n.parse().ok())
}

/// A thousand clock reads: one line, `now iterations=1000 elapsed_ns=… empty_ns=… sum=…`.
#[test]
fn bench_now_reports_its_line() {
    let run = Invocation::new(guest("bench_now")).args(["1000"]).run();
    if run.code() != 0 {
        run.fail("expected exit code 0");
    }
    let stdout = run.stdout();
    let line = stdout.trim_end();
    if stdout.lines().count() != 1
        || !line.starts_with("now iterations=1000 elapsed_ns=")
        || ["elapsed_ns", "empty_ns", "sum"]
            .iter()
            .any(|key| field(line, key).is_none())
    {
        run.fail("expected one line `now iterations=1000 elapsed_ns=<n> empty_ns=<n> sum=<n>`");
    }
}

/// 10000 bytes in 4096-byte writes: exactly that many `x` on stdout; the start marker and the
/// figures on stderr.
#[test]
fn bench_stdout_writes_every_byte_and_reports_on_stderr() {
    let run = Invocation::new(guest("bench_stdout"))
        .args(["10000", "4096"])
        .run();
    if run.code() != 0 {
        run.fail("expected exit code 0");
    }
    let stdout = run.stdout();
    if stdout.len() != 10000 || stdout.bytes().any(|b| b != b'x') {
        run.fail("expected exactly 10000 `x` on stdout");
    }
    let stderr = run.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    if lines.len() != 2
        || lines[0] != "start"
        || !lines[1].starts_with("stdout bytes=10000 chunk=4096 elapsed_ns=")
        || field(lines[1], "elapsed_ns").is_none()
    {
        run.fail("expected `start` and `stdout bytes=10000 chunk=4096 elapsed_ns=<n>` on stderr");
    }
}

/// 100000 bytes of stdin read to end-of-file: `ready`, then the count.
#[test]
fn bench_stdin_counts_every_byte() {
    let run = Invocation::new(guest("bench_stdin"))
        .args(["4096"])
        .stdin(vec![b'a'; 100_000])
        .run();
    if run.code() != 0 {
        run.fail("expected exit code 0");
    }
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != 2
        || lines[0] != "ready"
        || !lines[1].starts_with("stdin bytes=100000 reads=")
        || field(lines[1], "reads").is_none_or(|n| n < 25)
        || field(lines[1], "elapsed_ns").is_none()
    {
        run.fail("expected `ready` and `stdin bytes=100000 reads=<n ≥ 25> elapsed_ns=<n>`");
    }
}

/// The big guest starts, says so first, and finishes its work.
#[test]
fn bench_instantiate_starts_and_finishes() {
    let run = Invocation::new(guest("bench_instantiate"))
        .args(["7"])
        .run();
    if run.code() != 0 {
        run.fail("expected exit code 0");
    }
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != 2 || lines[0] != "started" || field(lines[1], "result").is_none() {
        run.fail("expected `started` and `result=<n>`");
    }
}

/// A thousand clock reads and ten 1 µs sleeps: one line,
/// `telemetry-load nows=1000 now_ns=… sleeps=10 sleep_ns=… asked_ns=1000 sum=…`, the sleeps
/// together at least as long as asked.
#[test]
fn bench_telemetry_load_reports_its_line() {
    let run = Invocation::new(guest("bench_telemetry_load"))
        .args(["1000", "10", "1000"])
        .run();
    if run.code() != 0 {
        run.fail("expected exit code 0");
    }
    let stdout = run.stdout();
    let line = stdout.trim_end();
    if stdout.lines().count() != 1
        || !line.starts_with("telemetry-load nows=1000 now_ns=")
        || field(line, "sleeps") != Some(10)
        || field(line, "asked_ns") != Some(1000)
        || ["now_ns", "sleep_ns", "sum"]
            .iter()
            .any(|key| field(line, key).is_none())
    {
        run.fail(
            "expected one line `telemetry-load nows=1000 now_ns=<n> sleeps=10 sleep_ns=<n> \
             asked_ns=1000 sum=<n>`",
        );
    }
    if field(line, "sleep_ns").is_some_and(|ns| ns < 10 * 1000) {
        run.fail("ten 1 µs sleeps took less than 10 µs");
    }
}
