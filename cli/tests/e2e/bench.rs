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
