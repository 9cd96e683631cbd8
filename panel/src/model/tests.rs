use pollscope_protocol::*;
use serde_json::json;

use super::*;

fn timer(handle: u32, deadline: u64, created_at: u64) -> Pollable {
    Pollable {
        handle,
        kind: PollableKind::Timer { deadline },
        created_by: "wasi:clocks/monotonic-clock#subscribe-duration".into(),
        created_at,
        polled: 1,
        blocked: 0,
        ready: Some(false),
    }
}

fn wait(start: u64, duration: u64) -> WaitRecord {
    WaitRecord {
        start,
        call: WaitCall::PollableBlock,
        deadline: Some(5_000_000),
        timeout: Some(1_000_000),
        duration,
        wake: WakeCause::Deadline,
    }
}

fn batch(seq: u64, at: u64) -> EventBatch {
    EventBatch {
        seq,
        at,
        wait_totals: WaitTotals::default(),
        ..EventBatch::default()
    }
}

fn encoded(message: &FromWasm) -> serde_json::Value {
    encode_value(message).unwrap()
}

#[test]
fn a_batch_adds_pollables_waits_ring_samples_and_state() {
    let mut model = Model::default();
    let mut events = batch(0, 10_000_000);
    events.state = Some(GuestState::Waiting {
        call: WaitCall::PollableBlock,
        until: Some(5_000_000),
    });
    events.pollable_changes = vec![PollableChange::Upsert(timer(3, 5_000_000, 4_000_000))];
    events.waits = vec![wait(8_000_000, 1_100_000)];
    events.ring_samples = vec![RingSample {
        at: 9_000_000,
        capacity: 1 << 20,
        used: 300,
        high_water: 900,
        ..RingSample::default()
    }];
    events.wait_totals.count = 7;
    let received = model.receive_value(encoded(&FromWasm::Events(events)), 0.0);
    assert_eq!(received, Received::Applied);
    assert_eq!(model.live_pollables(), 1);
    assert_eq!(
        model.pollables[&3].pollable.created_by.split('#').nth(1),
        Some("subscribe-duration")
    );
    assert_eq!(model.waits.len(), 1);
    assert_eq!(model.wait_totals.count, 7);
    assert_eq!(model.ring.last().map(|s| s.high_water), Some(900));
    assert!(matches!(model.state, Some(GuestState::Waiting { .. })));
    // The wait anchored the guest's clock: 1 ms before its 5 ms deadline, at its start.
    assert_eq!(model.clocks.guest_at(8_000_000, 1.0), Some(4_000_000));
}

#[test]
fn dropped_pollables_fade_then_go_and_snapshots_are_the_whole_truth() {
    let mut model = Model::default();
    let mut first = batch(0, 1_000);
    first.pollable_changes = vec![
        PollableChange::Upsert(timer(1, 10, 0)),
        PollableChange::Upsert(timer(2, 20, 0)),
    ];
    model.apply(FromWasm::Events(first), 0.0);
    let mut second = batch(1, 2_000);
    second.pollable_changes = vec![PollableChange::Dropped {
        handle: 1,
        at: 1_500,
    }];
    model.apply(FromWasm::Events(second), 0.0);
    assert_eq!(
        model.pollables[&1].dropped_at,
        Some(1_500),
        "fading, still listed"
    );
    assert_eq!(model.live_pollables(), 1);
    model.apply(FromWasm::Events(batch(2, 1_500 + DROPPED_FADE_NS)), 0.0);
    assert!(!model.pollables.contains_key(&1), "gone after the fade");

    let snapshot = Snapshot {
        at: 2_000 + DROPPED_FADE_NS,
        uptime: 5,
        state: GuestState::Running,
        time_scale: 2.0,
        pollables: vec![timer(9, 1, 0)],
        retired: RetiredPollables {
            held: 4,
            total: 6,
            by_creator: vec![],
        },
        host_calls: vec![3, 4],
        wait_totals: WaitTotals::default(),
        ring: None,
        dropped: Dropped::default(),
    };
    model.apply(FromWasm::Snapshot(snapshot), 0.0);
    assert!(
        model.pollables[&2].dropped_at.is_some(),
        "not in the snapshot: dropped"
    );
    assert_eq!(model.live_pollables(), 1);
    assert_eq!(model.retired.held, 4);
    assert_eq!(model.host_calls_total, 7);
    assert_eq!(model.time_scale, 2.0);
}

#[test]
fn malformed_or_forged_messages_change_nothing_but_the_rejected_count() {
    let mut model = Model::default();
    model.apply(FromWasm::Exit { code: 0 }, 0.0);
    let before = format!("{:?}", model.state);
    for bad in [
        json!({"type": "exit", "code": 99}),
        json!({"v": 2, "type": "exit", "code": 98}),
        json!({"v": 1, "type": "exit", "code": "FORGED"}),
        json!({"v": 1, "type": "<img src=x onerror=alert(1)>"}),
        json!({"v": 1, "type": "output", "stream": "stdout", "data": "FORGED"}),
        json!({"v": 1, "type": "trap", "message": 5}),
        json!("not an object"),
        json!([1, 2, 3]),
    ] {
        assert_eq!(model.receive_value(bad, 0.0), Received::Rejected);
    }
    assert_eq!(model.receive_json(b"{not json", 0.0), Received::Rejected);
    assert_eq!(model.rejected, 9);
    assert_eq!(format!("{:?}", model.state), before);
    assert_eq!(model.console.chunks().count(), 0);
}

#[test]
fn lost_batches_are_counted_from_the_sequence_numbers() {
    let mut model = Model::default();
    for seq in [0, 1, 4, 5] {
        model.apply(FromWasm::Events(batch(seq, seq * 10)), 0.0);
    }
    assert_eq!(model.lost_batches, 2);
}

#[test]
fn histories_stay_bounded_at_ten_thousand_events_a_second() {
    let mut model = Model::default();
    // A minute of 10,000 waits and host calls a second, in 100 ms batches.
    for seq in 0..600u64 {
        let mut events = batch(seq, seq * 100_000_000);
        events.waits = (0..1000).map(|i| wait(seq * 100_000_000 + i, 10)).collect();
        events.host_calls = (0..1000)
            .map(|i| HostCallRecord {
                import: 0,
                start: seq * 100_000_000 + i,
                duration: 5,
            })
            .collect();
        events.ring_samples = vec![RingSample {
            at: seq * 100_000_000,
            ..RingSample::default()
        }];
        model.apply(FromWasm::Events(events), 0.0);
    }
    assert_eq!(model.waits.len(), WAIT_HISTORY);
    assert_eq!(model.host_calls.len(), HOST_CALL_HISTORY);
    assert!(model.ring.len() <= RING_HISTORY);
    // The newest are the ones kept.
    assert_eq!(
        model.waits.last().map(|w| w.start),
        Some(599 * 100_000_000 + 999)
    );
}

#[test]
fn the_trace_export_holds_the_kept_waits_and_named_host_calls() {
    let mut model = Model::default();
    model.apply(
        FromWasm::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            component: ComponentSummary::default(),
            host_functions: vec!["wasi:io/poll#[method]pollable.block".into()],
            tinygo: None,
        }),
        0.0,
    );
    let mut events = batch(0, 10);
    events.waits = vec![wait(2_000, 1_000_000)];
    events.host_calls = vec![HostCallRecord {
        import: 0,
        start: 1_000,
        duration: 1_200_000,
    }];
    model.apply(FromWasm::Events(events), 0.0);
    let trace: serde_json::Value = serde_json::from_str(&model.trace_json()).unwrap();
    let names: Vec<&str> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X")
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "wasi:io/poll#[method]pollable.block",
            "wait: pollable.block"
        ]
    );
}

#[test]
fn a_restart_forgets_the_run_but_keeps_the_console() {
    let mut model = Model::default();
    model.apply(
        FromWasm::Output {
            stream: OutputStream::Stdout,
            data: b"tick 1\n".to_vec(),
        },
        0.0,
    );
    let mut events = batch(0, 10);
    events.waits = vec![wait(1, 1)];
    model.apply(FromWasm::Events(events), 0.0);
    model.restart();
    assert!(model.waits.is_empty());
    let text: String = model.console.chunks().map(|c| c.text.as_str()).collect();
    assert!(
        text.starts_with("tick 1\n") && text.contains("restarted"),
        "{text}"
    );
}

#[test]
fn uptime_runs_on_while_the_guest_runs_and_stops_when_it_ends() {
    let mut model = Model::default();
    let snapshot = Snapshot {
        at: 1_000_000_000,
        uptime: 500_000_000,
        state: GuestState::Running,
        time_scale: 1.0,
        pollables: vec![],
        retired: RetiredPollables::default(),
        host_calls: vec![],
        wait_totals: WaitTotals::default(),
        ring: None,
        dropped: Dropped::default(),
    };
    model.apply(FromWasm::Snapshot(snapshot), 100.0);
    assert_eq!(model.uptime_now(100.0), Some(500_000_000));
    assert_eq!(model.uptime_now(350.0), Some(750_000_000));
    let mut last = batch(0, 1_100_000_000);
    last.waits = vec![WaitRecord {
        start: 1_000_000_000,
        deadline: Some(2_000_000_000),
        timeout: Some(50_000_000),
        ..wait(0, 0)
    }];
    model.apply(FromWasm::Events(last), 400.0);
    model.apply(FromWasm::Exit { code: 0 }, 400.0);
    // Stopped at the last message from the guest, however long the panel stays open.
    assert_eq!(model.uptime_now(900.0), Some(600_000_000));
    assert_eq!(model.uptime_now(90_000.0), Some(600_000_000));
    assert_eq!(model.guest_now(90_000.0), Some(2_050_000_000));
}

#[test]
fn connection_states_are_named_as_the_mount_api_says() {
    for name in ["waiting", "connected", "navigated", "disconnected"] {
        assert!(Connection::from_name(name).is_some(), "{name}");
    }
    assert_eq!(Connection::from_name("<b>"), None);
}

#[test]
fn scheduler_snapshots_anchor_the_guest_clock_for_wake_countdowns() {
    let mut model = Model::default();
    let scheduler = SchedulerSnapshot {
        at: 2_000_000_000,
        guest_now: Some(700_000_000),
        sleep_queue: vec![Goroutine {
            id: 0x1_0000,
            entry: None,
            wake_at: Some(900_000_000),
            stack: None,
            state: TaskState::Sleeping,
            backtrace: None,
        }],
        ..SchedulerSnapshot::default()
    };
    model.apply(FromWasm::Scheduler(scheduler), 50.0);
    // 100 ms of panel time later the sleeper is due in 100 ms of guest time.
    let now = model.guest_now(150.0).unwrap();
    let wake = model.scheduler.as_ref().unwrap().sleep_queue[0]
        .wake_at
        .unwrap();
    assert_eq!(clock::countdown(wake, now), 100_000_000);
}

#[test]
fn asyncify_events_are_kept_in_order_and_bounded() {
    let mut model = Model::default();
    let switch = |at| AsyncifyEvent {
        at,
        kind: AsyncifyKind::Unwind,
        phase: AsyncifyPhase::Enter,
        ptr: 0,
        asyncify_state: None,
        function: None,
    };
    for chunk in 0..10u64 {
        let events = (0..ASYNCIFY_HISTORY as u64 / 4)
            .map(|i| switch(chunk * 10_000 + i))
            .collect();
        model.apply(FromWasm::Asyncify { events }, 0.0);
    }
    assert_eq!(model.asyncify.len(), ASYNCIFY_HISTORY);
    let ats: Vec<u64> = model.asyncify.iter().map(|e| e.at).collect();
    assert!(ats.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn timers_that_fired_and_were_never_dropped_count_as_leaks() {
    // TinyGo's idle sleep: one new timer per sleep, blocked on, never dropped. Sleep k starts
    // at k × 100 ms (host and guest clocks 1:1 here, the panel's in ms).
    const SLEEP: u64 = 100_000_000;
    let guest_base = 5_000_000_000;
    let mut model = Model::default();
    for k in 0..5u64 {
        let start = k * SLEEP + 1_000;
        let mut events = batch(k, start);
        let deadline = guest_base + start + SLEEP;
        events.pollable_changes = vec![PollableChange::Upsert(timer(
            k as u32 + 1,
            deadline,
            guest_base + start,
        ))];
        events.waits = vec![WaitRecord {
            start,
            deadline: Some(deadline),
            timeout: Some(SLEEP),
            ..wait(start, 0)
        }];
        model.apply(FromWasm::Events(events), start as f64 / 1e6);
        let mid_sleep = (start + SLEEP / 2) as f64 / 1e6;
        assert_eq!(
            model.leaks(mid_sleep).total(),
            k,
            "during idle sleep {k}: every earlier sleep's timer fired and is still held"
        );
    }
    let after = (5 * SLEEP + 2_000) as f64 / 1e6;
    assert_eq!(
        model.leaks(after),
        Leaks {
            listed: 5,
            retired: 0
        }
    );
    assert!(model
        .pollables
        .values()
        .all(|row| row.leaked(model.guest_now(after))));

    // A timer the guest drops after its sleep (as Rust's std does) is no leak, and the ones
    // the host retired count with the listed ones.
    model.apply(
        FromWasm::Events(EventBatch {
            pollable_changes: vec![PollableChange::Dropped {
                handle: 5,
                at: 5 * SLEEP + 1_500,
            }],
            ..batch(5, 5 * SLEEP + 1_500)
        }),
        after,
    );
    model.retired.held = 3;
    assert_eq!(
        model.leaks(after),
        Leaks {
            listed: 4,
            retired: 3
        }
    );
    assert_eq!(model.leaks(after).total(), 7);

    // Without any clock anchor, the host's own `ready` still marks a fired timer.
    let mut fresh = Model::default();
    let mut fired = timer(1, 10, 5);
    fired.ready = Some(true);
    fresh.apply(
        FromWasm::Events(EventBatch {
            pollable_changes: vec![
                PollableChange::Upsert(fired),
                PollableChange::Upsert(timer(2, 20, 5)),
            ],
            ..batch(0, 7)
        }),
        0.0,
    );
    assert_eq!(fresh.leaks(0.0).listed, 1);
}

#[test]
fn a_ring_error_is_a_console_note_with_its_reason() {
    let mut model = Model::default();
    let json = br#"{"v":1,"type":"ring-error","reason":"corrupt ring at position 0x40: bad kind"}"#;
    assert_eq!(model.receive_json(json, 0.0), Received::Applied);
    let text: String = model.console.chunks().map(|c| c.text.as_str()).collect();
    assert_eq!(
        text,
        "— stdin and commands lost: corrupt ring at position 0x40: bad kind —\n"
    );
}
