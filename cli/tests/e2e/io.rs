//! `io_*` guests: stdin (piped, small, absent), stdout volume, and `poll` readiness.

use std::time::Duration;

use crate::data::{fnv1a64, noise};
use crate::harness::{guest, Finished, Invocation};

#[test]
fn io_stdin_reads_several_kb_of_binary_input() {
    // More than one ring packet, every byte value, and no trailing newline.
    let input = noise(48 * 1024 + 7);
    let run = Invocation::new(guest("io_stdin"))
        .stdin(input.clone())
        .run();
    run.assert(
        0,
        &format!("bytes={} fnv1a64={:016x}\n", input.len(), fnv1a64(&input)),
    );
}

#[test]
fn io_stdin_streams_256_mib_whole_and_in_order() {
    // Far more than the ring (1 MiB) and every buffer on the way: the terminal's stdin must
    // stream through the server, the page, the event thread and the ring with backpressure.
    let input = noise(256 << 20);
    let expected = format!("bytes={} fnv1a64={:016x}\n", input.len(), fnv1a64(&input));
    let total = input.len();
    let run = Invocation::new(guest("io_stdin"))
        .flag("--ring-stats")
        .stdin(input)
        .run();
    run.assert(0, &expected);
    // Every byte went through the ring, which filled up and made the event thread wait.
    let stderr = run.stderr();
    let stats = stderr
        .lines()
        .find(|l| l.starts_with("ring: "))
        .unwrap_or_else(|| run.fail("no ring stats"));
    let number = |after: &str| -> u64 {
        let at = stats
            .find(after)
            .unwrap_or_else(|| run.fail(&format!("no `{after}` in {stats}")));
        stats[at + after.len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let capacity = number("capacity ");
    assert!(
        stats.contains(&format!("/ {total} B in, {total} B out")),
        "{stats}"
    );
    assert!(
        number("B out, ") > 0,
        "a 256 MiB input must stall a {capacity} B ring: {stats}"
    );
    assert!(number("high-water ") > capacity / 2, "{stats}");
}

#[test]
fn io_stdin_sees_eof_when_stdin_is_null() {
    let run = Invocation::new(guest("io_stdin")).run();
    run.assert(0, "bytes=0 fnv1a64=cbf29ce484222325\n");
}

#[test]
fn io_stdin_lines_echoes_a_small_line() {
    let run = Invocation::new(guest("io_stdin_lines"))
        .stdin("hello from stdin\n")
        .run();
    run.assert(0, "line 1: \"hello from stdin\"\neof after 1 lines\n");
}

#[test]
fn io_stdin_lines_keeps_empty_and_unterminated_lines() {
    let run = Invocation::new(guest("io_stdin_lines"))
        .stdin("first\n\nthird")
        .run();
    run.assert(
        0,
        "line 1: \"first\"\nline 2: \"\"\nline 3: \"third\"\neof after 3 lines\n",
    );
}

/// Timers fire in deadline order with the indices they had in the `poll` list, stdin stays
/// unready until written, and writing it wakes a `poll` that also holds a 30 s timer. The test
/// writes only after the guest says it is waiting, so the outcome does not depend on timing.
#[test]
fn io_poll_reports_the_right_indices() {
    let mut running = Invocation::new(guest("io_poll")).spawn();
    running.wait_for_line("waiting for stdin");
    running.write_stdin(b"ping\n");
    running.close_stdin();
    let run = running.finish();
    run.assert(
        0,
        concat!(
            "phase 1: 6 pollables\n",
            "ready 2 timer-past\n",
            "ready 5 timer-zero\n",
            "ready 1 timer-50ms\n",
            "ready 4 timer-150ms\n",
            "ready 0 timer-300ms\n",
            "phase 1 done, stdin ready: false\n",
            "waiting for stdin\n",
            "stdin: \"ping\\n\" then eof\n",
        ),
    );
}

#[test]
fn io_stdout_flood_arrives_whole_and_in_order() {
    assert_flood_arrives(Invocation::new(guest("io_stdout_flood")).run(), FLOOD);
}

/// Six times the output ring (4 MiB): the ring wraps, fills while the page relays, and the
/// guest waits for room (backpressure) instead of anything being dropped or reordered.
#[test]
fn io_stdout_flood_past_the_output_ring_arrives_whole_and_in_order() {
    let total = 24 << 20;
    let run = Invocation::new(guest("io_stdout_flood"))
        .args([total.to_string()])
        .run();
    assert_flood_arrives(run, total);
}

fn assert_flood_arrives(run: Finished, total: usize) {
    let expected = flood(total);
    // Not run.assert/fail: they would print a megabyte of stdout.
    let checksum = format!(
        "bytes={} fnv1a64={:016x}\n",
        expected.len(),
        fnv1a64(&expected)
    );
    assert!(
        run.code() == 0 && run.stderr() == checksum,
        "expected exit code 0 and stderr {checksum:?}; got {} and stderr:\n{}",
        run.status,
        run.stderr()
    );
    if run.stdout != expected {
        let at = run
            .stdout
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(run.stdout.len().min(expected.len()));
        panic!(
            "stdout differs from what the guest wrote: {} bytes received, {} written, first difference at byte {at}",
            run.stdout.len(),
            expected.len()
        );
    }
}

/// What `io_stdout_flood` writes by default.
const FLOOD: usize = (1 << 20) + 123;

/// What `io_stdout_flood TOTAL` writes (same generator).
fn flood(total: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(total);
    let mut line = 0;
    while data.len() < total {
        line += 1;
        data.extend(
            format!(
                "line {line:06} {}\n",
                "abcdefghijklmnopqrstuvwxyz".repeat(line % 7)
            )
            .bytes(),
        );
    }
    data.truncate(total);
    data
}

#[test]
fn io_ticker_echoes_a_line_and_ends_at_stdin_eof() {
    let run = Invocation::new(guest("io_ticker"))
        .args(["60000"])
        .stdin("hello\n")
        .run();
    run.assert(
        0,
        "ticker: every 60000 ms; type a line (quit to stop)\necho: hello\nstdin closed\n",
    );
}

#[test]
fn io_ticker_ticks_on_time_while_stdin_stays_open() {
    let mut running = Invocation::new(guest("io_ticker"))
        .args(["20", "3"])
        .spawn();
    running.wait_for_line("ticker: every 20 ms; type a line (quit to stop)");
    let mut ticks = Vec::new();
    while ticks.len() < 3 {
        let line = running
            .next_line(Duration::from_secs(10))
            .expect("a tick within 10 s");
        ticks.push(line);
    }
    for (i, line) in ticks.iter().enumerate() {
        let n = i as u64 + 1;
        let rest = line
            .strip_prefix(&format!("tick {n} at "))
            .unwrap_or_else(|| panic!("{ticks:?}"));
        let ms: u64 = rest.trim_end().trim_end_matches(" ms").parse().unwrap();
        assert!(ms >= 20 * n, "tick {n} came before its deadline: {line}");
    }
    let finished = running.finish();
    assert_eq!(finished.code(), 0, "{}", finished.stderr());
}
