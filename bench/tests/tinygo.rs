//! A TinyGo-shaped program's scheduler, read from its memory through DWARF, and its task
//! switches, recorded by the rewritten module — as the panel's Goroutines and Asyncify views
//! receive them. The guest is `target/fixtures/tinygo_sleepers.wasm` (`cargo xtask fixtures`;
//! the Go program it imitates is `fixtures/tinygo/main.go`): three goroutines sleep 300, 100
//! and 200 ms, main sleeps 1 s, each prints when it wakes. The page is
//! `bench/pages/bench.js` (row `tinygo`), subscribed with detail and the flight recorder on.
//!
//! Needs `target/web` (`cargo xtask build`), the fixtures, and Debian's Chromium.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use pollscope_bench::session::{self, repo_root, Options, Outcome};
use serde_json::{json, Value};

fn outcome() -> &'static Outcome {
    static OUTCOME: OnceLock<Outcome> = OnceLock::new();
    OUTCOME.get_or_init(|| {
        let mut options = Options::for_repo();
        options.guests_dir = repo_root().join("target/fixtures");
        if let Err(err) = options.check_web_dir().and_then(|()| {
            options.check_guest("tinygo_sleepers")?;
            options.check_guest("tinygo_sleepers_nodebug")
        }) {
            panic!("{err:#} (the fixtures: `cargo xtask fixtures`)");
        }
        options.timeout = Duration::from_secs(120);
        let config = json!({ "rows": ["tinygo"], "reps": 1, "warmup": 0 });
        session::run(&options, &config).unwrap_or_else(|err| panic!("tinygo session: {err:#}"))
    })
}

fn variant(name: &str) -> &'static Value {
    let outcome = outcome();
    &outcome
        .of("tinygo")
        .find(|m| m.variant == name)
        .unwrap_or_else(|| panic!("no tinygo/{name} result: {:?}", outcome.results))
        .data
}

fn array<'a>(value: &'a Value, key: &str) -> &'a Vec<Value> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("no `{key}` array in {value}"))
}

fn u64_of(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no `{key}` in {value}"))
}

/// The lines the goroutines print when they wake, in order.
fn wake_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .map(|line| line.split(" slept").next().unwrap_or(line))
        .collect()
}

#[test]
fn the_sleep_queue_lists_goroutines_in_wake_order_with_entries_and_countdowns() {
    let data = variant("sleepers");
    let stdout = data["stdout"].as_str().unwrap_or_default();
    assert_eq!(data["exitCode"].as_i64(), Some(0), "{stdout}");
    assert_eq!(
        wake_lines(stdout),
        ["woke b", "woke c", "woke a", "main done"]
    );

    let tinygo = &data["hello"]["tinygo"];
    assert_eq!(tinygo["dwarf"], json!(true), "{tinygo}");
    assert_eq!(tinygo["instrumentable"], json!(true), "{tinygo}");
    assert_eq!(
        tinygo["symbols_optimised_away"],
        json!(["runtime.timerQueue"]),
        "the fixture has no timers"
    );
    let offsets: Vec<(String, u64)> =
        serde_json::from_value(tinygo["task_layout"]["fields"].clone()).expect("task fields");
    for (field, offset) in [
        ("Next", 0),
        ("Data", 8),
        ("state.entry", 0x14),
        ("DeferFrame", 0x28),
    ] {
        assert!(
            offsets.contains(&(field.to_string(), offset)),
            "{field} at {offset:#x} in {offsets:?}"
        );
    }

    // Snapshots come at the idle `pollable.block`s: all four goroutines asleep, then one
    // fewer after each wake — always the head of the queue, so the queue is the wake order.
    let snapshots = array(data, "schedulers");
    let queues: Vec<&Vec<Value>> = snapshots.iter().map(|s| array(s, "sleep_queue")).collect();
    let first = queues
        .iter()
        .position(|queue| queue.len() == 4)
        .unwrap_or_else(|| panic!("no snapshot with four sleepers: {snapshots:?}"));
    let ids = |queue: &[Value]| -> Vec<u64> { queue.iter().map(|g| u64_of(g, "id")).collect() };
    let order = ids(queues[first]);
    assert_eq!(order.iter().collect::<BTreeSet<_>>().len(), 4, "{order:?}");
    for woken in 1..4 {
        assert!(
            queues[first..]
                .iter()
                .any(|queue| ids(queue) == order[woken..]),
            "no snapshot after {woken} wakes showing {:?}: {snapshots:?}",
            &order[woken..]
        );
    }

    for snapshot in &snapshots[first..] {
        assert!(snapshot["current"].is_null(), "idle: no current task");
        assert!(array(snapshot, "run_queue").is_empty(), "{snapshot}");
        let now = u64_of(snapshot, "guest_now");
        let wakes: Vec<u64> = array(snapshot, "sleep_queue")
            .iter()
            .map(|g| u64_of(g, "wake_at"))
            .collect();
        assert!(wakes.windows(2).all(|w| w[0] <= w[1]), "{wakes:?}");
        assert!(
            wakes.iter().all(|&wake| wake > now),
            "countdowns: {wakes:?} at {now}"
        );
    }

    let names: Vec<(Option<&str>, Option<&str>, Option<u64>)> = queues[first]
        .iter()
        .map(|g| {
            let entry = &g["entry"];
            (
                entry["name"].as_str(),
                entry["file"].as_str(),
                entry["line"].as_u64(),
            )
        })
        .collect();
    for worker in &names[..3] {
        assert_eq!(worker.0, Some("main.worker$gowrapper"), "{names:?}");
        assert!(
            worker.1.is_some_and(|f| f.ends_with("main.go")),
            "{names:?}"
        );
        assert_eq!(
            worker.2,
            Some(8),
            "`go worker(...)` is main.go line 8: {names:?}"
        );
    }
    assert_eq!(
        names[3].0,
        Some("runtime.run$1$gowrapper"),
        "main goroutine: {names:?}"
    );

    // Each goroutine's saved stack lies within its own 64 KiB stack.
    for g in queues[first].iter() {
        let (sp, top) = (
            u64_of(&g["stack"], "asyncifysp"),
            u64_of(&g["stack"], "csp"),
        );
        assert!(
            top - 65536 < sp && sp < top,
            "asyncifysp {sp:#x} csp {top:#x}"
        );
    }
}

#[test]
fn the_flight_recorder_sees_each_sleep_unwind_and_each_wake_rewind() {
    let data = variant("sleepers");
    let events = array(data, "asyncify");
    let count = |kind: &str, phase: &str, state: u64| {
        events
            .iter()
            .filter(|e| e["kind"] == kind && e["phase"] == phase && e["asyncify_state"] == state)
            .count()
    };
    // time.Sleep unwinds: the write of asyncify's state global that starts the unwind
    // (0 → 1) is reported for each of the four sleeps, entering and leaving it.
    assert_eq!(count("unwind", "enter", 0), 4, "{events:?}");
    assert_eq!(count("unwind", "leave", 1), 4, "{events:?}");
    // Each wake rewinds the goroutine (0 → 2) back into its Pause.
    assert_eq!(count("rewind", "enter", 0), 4, "{events:?}");
    assert_eq!(count("rewind", "leave", 2), 4, "{events:?}");
    // main and the three workers start, and each runs to its end.
    assert_eq!(count("launch", "enter", 0), 4, "{events:?}");
    assert_eq!(count("exit", "enter", 0), 4, "{events:?}");
    let times: Vec<u64> = events.iter().map(|e| u64_of(e, "at")).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in order: {times:?}"
    );
}

#[test]
fn without_dwarf_the_scheduler_view_says_how_to_get_it_and_the_program_runs_the_same() {
    let data = variant("nodebug");
    let stdout = data["stdout"].as_str().unwrap_or_default();
    assert_eq!(data["exitCode"].as_i64(), Some(0), "{stdout}");
    assert_eq!(
        wake_lines(stdout),
        ["woke b", "woke c", "woke a", "main done"]
    );
    assert_eq!(data["hello"]["tinygo"]["dwarf"], json!(false));
    let snapshots = array(data, "schedulers");
    assert!(
        !snapshots.is_empty(),
        "a snapshot still answers the subscription"
    );
    for snapshot in snapshots {
        assert!(array(snapshot, "sleep_queue").is_empty());
        let problems = array(snapshot, "problems");
        assert!(
            problems
                .iter()
                .any(|p| p.as_str().is_some_and(|p| p.contains("no DWARF"))),
            "{problems:?}"
        );
    }
    assert!(
        array(data, "asyncify").is_empty(),
        "the recorder was not asked for"
    );
}

#[test]
fn with_the_recorder_on_a_step_runs_to_the_next_task_switch() {
    let data = variant("stepping");
    let stdout = data["stdout"].as_str().unwrap_or_default();
    assert_eq!(data["exitCode"].as_i64(), Some(0), "{stdout}");
    assert_eq!(
        wake_lines(stdout),
        ["woke b", "woke c", "woke a", "main done"],
        "stepping changes nothing the program does"
    );
    let steps = array(data, "steps");
    for step in steps {
        // A step ends at the first task switch (one event) or, before any, at a wait.
        let events = array(step, "events").len();
        assert!(events <= 1, "one scheduler event per step: {step}");
    }
    let switches = steps
        .iter()
        .filter(|step| array(step, "events").len() == 1)
        .count();
    assert!(switches >= 6, "most steps end at a task switch: {steps:?}");
}
