//! `clocks_*` guests: sleeping, and that a sleeping guest costs no CPU.

use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{guest, Invocation};
use pollscope_test_support::procfs;

/// Every sleep lasts at least as long as asked, measured by the guest's own monotonic clock.
/// The only upper bound is a sanity one: a host that forgot a deadline would hang far longer.
#[test]
fn clocks_sleep_waits_at_least_as_long_as_asked() {
    let run = Invocation::new(guest("clocks_sleep")).run();
    if run.code() != 0 {
        run.fail("expected exit code 0");
    }
    let mut labels = vec!["std-0ms".to_string()];
    labels.extend((1..=20).map(|i| format!("std-1ms-{i:02}")));
    labels.extend(
        [
            "std-10ms",
            "std-250ms",
            "raw-duration-0",
            "raw-instant-past",
            "raw-instant-20ms",
            "raw-duration-5ms",
            "total",
        ]
        .map(String::from),
    );

    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != labels.len() {
        run.fail(&format!("expected {} lines: {labels:?}", labels.len()));
    }
    let (mut sum_asked, mut sum_actual) = (0, 0);
    for (line, label) in lines.iter().zip(&labels) {
        let Some((asked, actual)) = parse_sleep(line, label) else {
            run.fail(&format!(
                "line {line:?} is not `{label} asked_ns=<n> actual_ns=<n>`"
            ));
        };
        if label == "total" {
            if (asked, actual) != (sum_asked, sum_actual) {
                run.fail(&format!(
                    "total line {line:?} does not add up: {sum_asked} / {sum_actual}"
                ));
            }
            // Sanity only: 305 ms asked in all; 30 s more means a lost deadline, not slowness.
            if actual > asked + 30_000_000_000 {
                run.fail("slept more than 30 s longer than asked in total");
            }
        } else if actual < asked {
            run.fail(&format!("`{label}` woke early: {actual} ns < {asked} ns"));
        }
        sum_asked += asked;
        sum_actual += actual;
    }
}

fn parse_sleep(line: &str, label: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix(label)?.strip_prefix(" asked_ns=")?;
    let (asked, actual) = rest.split_once(" actual_ns=")?;
    Some((asked.parse().ok()?, actual.parse().ok()?))
}

/// While the guest sleeps, the wasm worker waits in `Atomics.wait` instead of spinning: over a
/// 1 s window in the middle of a 3 s sleep, the CPU time of Chromium's worker threads (in the
/// processes this `pollscope run` started) stays under 10% of the window. A spinning worker would
/// use about 100%. Also checks that `pollscope` leaves none of those processes behind.
#[test]
fn clocks_idle_worker_uses_no_cpu_while_the_guest_sleeps() {
    let mut running = Invocation::new(guest("clocks_idle")).spawn();
    running.wait_for_line("sleeping");
    thread::sleep(Duration::from_millis(500));

    let processes = procfs::descendants(running.pid());
    let before = procfs::threads(&processes);
    let workers: Vec<_> = before
        .iter()
        .filter(|thread| thread.comm.starts_with(procfs::WORKER_THREAD))
        .collect();
    if workers.is_empty() {
        let names: std::collections::BTreeSet<_> =
            before.iter().map(|thread| thread.comm.as_str()).collect();
        panic!(
            "no `{}` thread among the {} processes pollscope (pid {}) started; thread names seen: {names:?}",
            procfs::WORKER_THREAD,
            processes.len(),
            running.pid()
        );
    }
    let start = Instant::now();
    thread::sleep(Duration::from_secs(1));
    let after = procfs::threads(&procfs::descendants(running.pid()));
    let window = start.elapsed();
    if let Some(line) = running.try_line() {
        panic!("the guest printed {line:?} before the 1 s window closed: the window was not inside its sleep");
    }

    let after: Vec<_> = after
        .into_iter()
        .filter(|thread| thread.comm.starts_with(procfs::WORKER_THREAD))
        .collect();
    let (ticks, _) = procfs::cpu_between(&before, &after);
    let cpu = Duration::from_secs_f64(ticks as f64 / procfs::ticks_per_second() as f64);
    assert!(
        cpu < window / 10,
        "worker threads used {cpu:?} of CPU in a {window:?} window while the guest slept (limit 10%): \
         something spins instead of waiting; workers: {workers:?}"
    );

    let run = running.finish();
    run.assert(0, "sleeping\nawake\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut left: Vec<u32> = processes
        .iter()
        .copied()
        .filter(|&pid| procfs::is_alive(pid))
        .collect();
    while !left.is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
        left.retain(|&pid| procfs::is_alive(pid));
    }
    assert!(
        left.is_empty(),
        "processes pollscope started are still running 10 s after it exited: {left:?}"
    );
}

/// `clocks_naps` (the telemetry browser test's guest): one line per nap in order, each at least
/// as long as asked, then `done`.
#[test]
fn clocks_naps_prints_each_nap_after_it() {
    let run = Invocation::new(guest("clocks_naps")).args(["3", "5"]).run();
    if run.code() != 0 {
        run.fail("expected exit code 0");
    }
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != 4 || lines[3] != "done" {
        run.fail("expected three `nap …` lines and `done`");
    }
    for (i, line) in lines[..3].iter().enumerate() {
        let actual = line
            .strip_prefix(&format!("nap {} asked_ns=5000000 actual_ns=", i + 1))
            .and_then(|n| n.parse::<u64>().ok());
        match actual {
            None => run.fail(&format!(
                "line {line:?} is not `nap {} asked_ns=5000000 actual_ns=<n>`",
                i + 1
            )),
            Some(ns) if ns < 5_000_000 => run.fail(&format!("{line:?}: woke before 5 ms")),
            Some(_) => {}
        }
    }
}
