//! Telemetry and steering in a real browser, as a panel sees them: the guest is `clocks_naps`
//! (sleeps with `std::thread::sleep`, prints each one's own measurement), subscribed with detail
//! through `pollscope.js`; the page is `bench/pages/bench.js` (row `telemetry`).
//!
//! - the Hello names the imports; every nap is one `pollable-block` wait whose recorded
//!   duration matches the guest's own measurement within 1 ms; the timer pollables appear with
//!   their deadlines; the exported Chrome trace parses and has complete (`"ph":"X"`) events;
//! - a paused guest prints nothing; after a first step (which finishes the nap the pause
//!   interrupted) each step runs exactly one wait and pauses again;
//! - at time scale 0.1 a 100 ms nap takes at least 800 ms of real time (a lower bound: the
//!   scale is applied, nothing is said about speed);
//! - `restart()` resolves the old run's `done` with `restarted` and starts the guest afresh,
//!   subscribed again.
//!
//! Needs `target/web` (`cargo xtask build`), the guests, and Debian's Chromium.

use std::time::Duration;

use pollscope_bench::session::{self, Measurement, Options, Outcome};
use serde_json::{json, Value};

fn session() -> Outcome {
    let mut options = Options::for_repo();
    if let Err(err) = options
        .check_web_dir()
        .and_then(|()| options.check_guest("clocks_naps"))
    {
        panic!("{err:#}");
    }
    options.timeout = Duration::from_secs(120);
    let config = json!({ "rows": ["telemetry"], "reps": 1, "warmup": 0 });
    session::run(&options, &config).unwrap_or_else(|err| panic!("telemetry session: {err:#}"))
}

fn variant<'a>(outcome: &'a Outcome, name: &str) -> &'a Measurement {
    outcome
        .of("telemetry")
        .find(|m| m.variant == name)
        .unwrap_or_else(|| panic!("no telemetry/{name} result: {:?}", outcome.results))
}

/// `actual_ns` of each `nap <i> asked_ns=<n> actual_ns=<n>` line, in order.
fn naps(stdout: &str) -> Vec<u64> {
    stdout
        .lines()
        .filter(|line| line.starts_with("nap "))
        .map(|line| {
            line.rsplit_once("actual_ns=")
                .and_then(|(_, n)| n.parse().ok())
                .unwrap_or_else(|| panic!("bad nap line {line:?}"))
        })
        .collect()
}

fn u64_of(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no `{key}` in {value}"))
}

#[test]
fn a_panel_sees_waits_pollables_steering_and_the_time_scale() {
    let outcome = session();

    // Detail: the handshake, the waits against the guest's own measurements, the pollables, the
    // trace.
    let detail = &variant(&outcome, "detail").data;
    let stdout = detail["stdout"].as_str().unwrap_or_default();
    assert_eq!(detail["exitCode"].as_i64(), Some(0), "{stdout}");
    let hello = &detail["hello"];
    let imports: Vec<&str> = hello["component"]["imports"]
        .as_array()
        .unwrap_or_else(|| panic!("no imports in the hello: {hello}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for wanted in [
        "wasi:clocks/monotonic-clock@",
        "wasi:io/poll@",
        "wasi:cli/stdout@",
    ] {
        assert!(
            imports.iter().any(|i| i.starts_with(wanted)),
            "{wanted}… missing from the hello's imports {imports:?}"
        );
    }
    assert!(
        hello["host_functions"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "wasi:io/poll#[method]pollable.block")),
        "{hello}"
    );
    assert!(
        detail["snapshots"].as_u64() >= Some(1),
        "no snapshot on subscribe"
    );

    let measured = naps(stdout);
    assert_eq!(measured.len(), 6, "{stdout}");
    let waits: Vec<&Value> = detail["waits"]
        .as_array()
        .unwrap()
        .iter()
        // A wait the browser ended a hair early is followed by a tiny one for the rest.
        .filter(|w| w["timeout"].as_u64().is_some_and(|t| t > 1_000_000))
        .collect();
    assert_eq!(
        waits.len(),
        6,
        "one wait per nap expected: {}",
        detail["waits"]
    );
    for (wait, actual) in waits.iter().zip(&measured) {
        assert_eq!(wait["call"], "pollable-block", "{wait}");
        assert_eq!(wait["wake"], "deadline", "{wait}");
        let duration = u64_of(wait, "duration");
        // The wait lies inside the guest's measurement (5 µs: performance.now()'s resolution)…
        assert!(
            duration <= actual + 5_000,
            "the recorded wait ({duration} ns) is longer than the guest's nap ({actual} ns): {wait}"
        );
        // …and so does the wait plus the host's work before it (what the timer had already
        // run down when the wait began: 20 ms − timeout). How close the two come is a speed
        // figure (machine load adds milliseconds after a wake), so it is not asserted here.
        let before = 20_000_000u64.saturating_sub(u64_of(wait, "timeout"));
        assert!(
            duration + before <= actual + 5_000,
            "the recorded wait ({duration} ns) and the host work before it ({before} ns) exceed \
             the guest's nap ({actual} ns): {wait}"
        );
        // It ended at its deadline: start + duration reaches the absolute deadline it asked for.
        let (start, deadline) = (u64_of(wait, "start"), u64_of(wait, "deadline"));
        assert!(
            start + duration + 5_000 >= deadline,
            "woke before its deadline: {wait}"
        );
        assert!(wait["deadline"].as_u64().is_some(), "{wait}");
    }
    let timers: Vec<&Value> = detail["pollables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "upsert" && c["kind"]["kind"] == "timer")
        .collect();
    assert!(
        timers.len() >= 5,
        "timer pollables missing: {}",
        detail["pollables"]
    );
    for timer in &timers {
        assert_eq!(
            timer["created_by"], "wasi:clocks/monotonic-clock#subscribe-duration",
            "{timer}"
        );
        let deadline = u64_of(&timer["kind"], "deadline");
        let created = u64_of(timer, "created_at");
        assert!(
            deadline > created && deadline <= created + 20_000_000 + 5_000,
            "a 20 ms nap's timer: {timer}"
        );
    }
    // Each nap blocked on a timer the panel was shown.
    for wait in &waits {
        assert!(
            timers
                .iter()
                .any(|t| t["kind"]["deadline"] == wait["deadline"]),
            "no timer pollable with the deadline of {wait}: {}",
            detail["pollables"]
        );
    }
    let trace: Value = serde_json::from_str(detail["trace"].as_str().unwrap_or_default())
        .unwrap_or_else(|err| panic!("the trace is not JSON ({err}): {}", detail["trace"]));
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    let complete: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert!(
        complete
            .iter()
            .filter(|e| e["name"] == "wait: pollable.block")
            .count()
            >= 5,
        "{trace}"
    );
    assert!(
        complete
            .iter()
            .any(|e| e["name"] == "wasi:io/poll#[method]pollable.block"),
        "{trace}"
    );

    // Steering.
    let steer = &variant(&outcome, "steer").data;
    let stdout = steer["stdout"].as_str().unwrap_or_default();
    let count = |key: &str| u64_of(steer, key);
    assert_eq!(
        count("afterPause"),
        count("pausedAt"),
        "the guest printed while paused:\n{stdout}"
    );
    let (before, after) = (&steer["beforeStep"], &steer["afterStep"]);
    assert!(
        u64_of(before, "lines") <= count("afterPause") + 1,
        "the first step ran on:\n{stdout}"
    );
    assert_eq!(
        u64_of(after, "waits") - u64_of(before, "waits"),
        1,
        "one step, one wait: {}",
        steer["stepWaits"]
    );
    assert_eq!(
        u64_of(after, "lines") - u64_of(before, "lines"),
        1,
        "one step, one nap:\n{stdout}"
    );
    assert_eq!(
        count("held"),
        u64_of(after, "lines"),
        "ran on after the step"
    );
    let step_wait = &steer["stepWaits"][0];
    assert_eq!(
        (&step_wait["call"], &step_wait["wake"]),
        (&json!("pollable-block"), &json!("deadline")),
        "{step_wait}"
    );
    assert_eq!(
        steer["lastState"]["state"], "paused",
        "{}",
        steer["lastState"]
    );

    // Time scale.
    let slow = &variant(&outcome, "time-scale").data;
    let stdout = slow["stdout"].as_str().unwrap_or_default();
    assert_eq!(slow["exitCode"].as_i64(), Some(0), "{stdout}");
    let measured = naps(stdout);
    assert_eq!(measured.len(), 1, "{stdout}");
    assert!(measured[0] >= 100_000_000, "the guest woke early: {stdout}");
    let real: u64 = slow["waits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["call"] == "pollable-block")
        .map(|w| u64_of(w, "duration"))
        .sum();
    assert!(
        real >= 800_000_000,
        "a 100 ms guest nap at 0.1× took only {real} ns of real waiting: {}",
        slow["waits"]
    );
    assert!(
        slow["realMs"].as_f64().unwrap_or_default() >= 800.0,
        "{slow}"
    );
    assert!(
        measured[0] < real,
        "the guest's clock was not slowed: it measured {} ns over {real} ns of real waiting",
        measured[0]
    );

    // Restart.
    let restart = &variant(&outcome, "restart").data;
    assert_eq!(
        (&restart["old"]["restarted"], &restart["old"]["exitCode"]),
        (&json!(true), &Value::Null),
        "{restart}"
    );
    assert!(
        restart["restartedLines"][0]
            .as_str()
            .is_some_and(|l| l.starts_with("nap 1 ")),
        "the restarted guest did not start over: {restart}"
    );
    assert!(
        u64_of(restart, "hellos") > u64_of(restart, "hellosAtRestart"),
        "the restarted guest was not subscribed again: {restart}"
    );
    assert_eq!(restart["last"]["exitCode"], 137, "{restart}");
}
