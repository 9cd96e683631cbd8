//! The run loop against a virtual machine: a clock that moves only when the loop sleeps (or a
//! look costs time), arrivals scheduled at instants, and a log of what the loop did.

use std::cell::Cell;

use pollscope_protocol::{EventBatch, FromWasm, Hello, WaitCall, WakeCause};
use pollscope_wasi::testing::FakePlatform;
use pollscope_wasi::{Event, Host, HostConfig, Stdio, WaitReason};

use super::*;

/// Something the event thread publishes at an instant.
#[derive(Debug, Clone)]
enum Arrival {
    Stdin(&'static [u8]),
    Control(Control),
}

/// What the loop did, in order.
#[derive(Debug, Clone, PartialEq)]
enum Did {
    Flush(usize),
    Sleep(Option<u64>),
    Post(&'static str),
}

#[derive(Default)]
struct FakePort {
    now: Cell<u64>,
    /// Timed sleeps wake this late.
    lateness: u64,
    arrivals: Vec<(u64, Arrival)>,
    controls: Vec<Control>,
    queued: usize,
    /// What `output_space` hands out.
    space: Vec<u8>,
    log: Vec<Did>,
    posted: Vec<FromWasm>,
}

impl FakePort {
    fn new() -> FakePort {
        FakePort {
            now: Cell::new(1_000_000_000),
            ..FakePort::default()
        }
    }

    fn at(mut self, delay: u64, arrival: Arrival) -> FakePort {
        let at = self.now.get() + delay;
        self.arrivals.push((at, arrival));
        self.arrivals.sort_by_key(|(at, _)| *at);
        self
    }

    fn next_arrival(&self) -> Option<u64> {
        self.arrivals.first().map(|(at, _)| *at)
    }

    fn sleeps(&self) -> Vec<Option<u64>> {
        self.log
            .iter()
            .filter_map(|did| match did {
                Did::Sleep(timeout) => Some(*timeout),
                _ => None,
            })
            .collect()
    }
}

impl Port for FakePort {
    fn now(&self) -> u64 {
        self.now.get()
    }

    fn drain(&mut self, deliver: &mut dyn FnMut(Event)) -> bool {
        let mut delivered = false;
        while self.next_arrival().is_some_and(|at| at <= self.now.get()) {
            match self.arrivals.remove(0).1 {
                Arrival::Stdin(bytes) => {
                    deliver(Event::Stdin(bytes.to_vec()));
                    delivered = true;
                }
                Arrival::Control(control) => self.controls.push(control),
            }
        }
        delivered
    }

    fn has_news(&self) -> bool {
        // A look costs a little time, so a loop looking at the clock ends.
        self.now.set(self.now.get() + LOOK_NS);
        self.next_arrival().is_some_and(|at| at <= self.now.get())
    }

    fn sleep(&mut self, timeout: Option<u64>, deliver: &mut dyn FnMut(Event)) -> WakeCause {
        self.log.push(Did::Sleep(timeout));
        if self.drain(deliver) {
            return WakeCause::AlreadyThere;
        }
        if self.has_controls() {
            return WakeCause::Command;
        }
        let wake = timeout.map(|t| self.now.get() + t + self.lateness);
        match (self.next_arrival(), wake) {
            (Some(at), wake) if wake.is_none_or(|wake| at < wake) => {
                self.now.set(at);
                if self.drain(deliver) {
                    WakeCause::RingNotify
                } else {
                    WakeCause::Command
                }
            }
            (_, Some(wake)) => {
                self.now.set(wake);
                WakeCause::Deadline
            }
            (_, None) => panic!("a sleep without timeout and nothing to wake it"),
        }
    }

    fn has_controls(&self) -> bool {
        !self.controls.is_empty()
    }

    fn take_controls(&mut self) -> Vec<Control> {
        std::mem::take(&mut self.controls)
    }

    fn ring_sample(&self, at: u64) -> pollscope_protocol::RingSample {
        pollscope_protocol::RingSample {
            at,
            ..Default::default()
        }
    }

    fn write_output(&mut self, _: Stdio, bytes: &[u8]) {
        self.queued += bytes.len();
    }

    fn output_space(&mut self, _: Stdio, len: usize) -> &mut [u8] {
        self.space.resize(len, 0);
        &mut self.space
    }

    fn commit_output(&mut self, _: Stdio, len: usize) {
        self.queued += len;
    }

    fn flush_output(&mut self) {
        if self.queued > 0 {
            self.log.push(Did::Flush(std::mem::take(&mut self.queued)));
        }
    }

    fn post(&mut self, message: &FromWasm) {
        let kind = match message {
            FromWasm::Hello(_) => "hello",
            FromWasm::Snapshot(_) => "snapshot",
            FromWasm::Events(_) => "events",
            FromWasm::Scheduler(_) => "scheduler",
            FromWasm::Asyncify { .. } => "asyncify",
            FromWasm::Exit { .. } | FromWasm::Trap(_) => "end",
            _ => "other",
        };
        self.log.push(Did::Post(kind));
        self.posted.push(message.clone());
    }
}

/// What one look at the ring costs on the virtual clock.
const LOOK_NS: u64 = 1_000;

/// Whether `ns` is `expected` give or take a look.
fn about(ns: u64, expected: u64) -> bool {
    ns.abs_diff(expected) <= LOOK_NS
}

const BLOCK: u32 = 0;
const NOW: u32 = 1;

fn run_loop(port: FakePort, recording: bool) -> RunLoop<FakePort, ()> {
    let hello = Hello {
        protocol: pollscope_protocol::PROTOCOL_VERSION,
        component: Default::default(),
        host_functions: vec![
            "wasi:io/poll#[method]pollable.block".into(),
            "wasi:clocks/monotonic-clock#now".into(),
        ],
        tinygo: None,
    };
    let calls = vec![
        CallKind {
            may_wait: true,
            idle_point: true,
        },
        CallKind::default(),
    ];
    RunLoop::new(port, hello, calls, (1_700_000_000, 0), recording)
}

fn host() -> Host {
    Host::new(HostConfig::new("app"), Box::new(FakePlatform::new())).unwrap()
}

/// Every wait the recorder sent, in order.
fn waits(posted: &[FromWasm]) -> Vec<pollscope_protocol::WaitRecord> {
    posted
        .iter()
        .filter_map(|m| match m {
            FromWasm::Events(EventBatch { waits, .. }) => Some(waits.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn ms(n: u64) -> u64 {
    n * 1_000_000
}

#[test]
fn output_goes_out_before_the_guest_sleeps_and_the_wait_ends_on_its_deadline() {
    let mut port = FakePort::new();
    port.lateness = 70_000;
    let mut rl = run_loop(port, false);
    let start = rl.monotonic_now();
    rl.write_output(Stdio::Stdout, b"tick\n");
    rl.wait(Some(start + ms(10)), WaitReason::PollableBlock, &mut |_| {});
    assert_eq!(rl.port.log[0], Did::Flush(5), "flushed first");
    assert!(matches!(rl.port.log[1], Did::Sleep(Some(_))));
    assert_eq!(rl.port.log.len(), 2, "one flush, one sleep");
    // The virtual sleep woke 70 µs late; the loop finished on time by looking at the clock.
    assert!(rl.monotonic_now() >= start + ms(10));
}

#[test]
fn a_deadline_already_past_is_no_wait() {
    let mut rl = run_loop(FakePort::new(), true);
    rl.port.controls.push(Control::Subscribe {
        detail: true,
        replay: false,
    });
    rl.apply_controls();
    let now = rl.monotonic_now();
    rl.wait(Some(now), WaitReason::PollableBlock, &mut |_| {});
    rl.wait(Some(now.saturating_sub(5)), WaitReason::Poll, &mut |_| {});
    assert!(rl.port.sleeps().is_empty());
    rl.post_pending(rl.real_now());
    assert!(waits(&rl.port.posted).is_empty(), "nothing recorded");
}

#[test]
fn wake_causes_deadline_stdin_and_command() {
    let port = FakePort::new()
        .at(ms(5), Arrival::Stdin(b"line\n"))
        .at(ms(20), Arrival::Control(Control::TimeScale(1.0)));
    let mut rl = run_loop(port, true);
    rl.port.controls.push(Control::Subscribe {
        detail: true,
        replay: false,
    });
    rl.apply_controls();
    let mut stdin = Vec::new();
    let mut deliver = |event| stdin.push(event);
    let now = rl.monotonic_now();
    // Woken by stdin at 5 ms, then by a command at 20 ms, then runs to its deadline.
    for _ in 0..3 {
        rl.wait(Some(now + ms(30)), WaitReason::BlockingRead, &mut deliver);
    }
    rl.post_pending(rl.real_now());
    let wakes: Vec<WakeCause> = waits(&rl.port.posted).iter().map(|w| w.wake).collect();
    assert_eq!(
        wakes,
        [
            WakeCause::RingNotify,
            WakeCause::Command,
            WakeCause::Deadline
        ]
    );
    assert_eq!(stdin, [Event::Stdin(b"line\n".to_vec())]);
    assert!(about(rl.monotonic_now() - now, ms(30)));
}

#[test]
fn a_pause_holds_the_guest_at_its_next_host_call_until_resume_and_stdin_still_arrives() {
    let port = FakePort::new()
        .at(0, Arrival::Control(Control::Pause))
        .at(ms(3), Arrival::Stdin(b"typed while paused\n"))
        .at(ms(50), Arrival::Control(Control::Resume));
    let mut rl = run_loop(port, true);
    rl.port.controls.push(Control::Subscribe {
        detail: true,
        replay: false,
    });
    rl.apply_controls();
    rl.write_output(Stdio::Stderr, b"before the pause");
    let mut got = Vec::new();
    rl.checkpoint(&mut |event| got.push(event));
    assert_eq!(got, [Event::Stdin(b"typed while paused\n".to_vec())]);
    assert!(!rl.steering.paused());
    assert!(
        rl.port.log.contains(&Did::Flush(16)),
        "output left before the hold"
    );
    assert!(
        rl.port.sleeps().iter().all(Option::is_none),
        "held without timeout"
    );
    // The hold shows as one `paused` wait, ended by the resume 50 ms later.
    rl.post_pending(rl.real_now());
    let held = waits(&rl.port.posted);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].call, WaitCall::Paused);
    assert_eq!(held[0].wake, WakeCause::Command);
    assert!(about(held[0].duration, ms(50)), "{}", held[0].duration);
}

#[test]
fn a_step_runs_to_the_next_wait_holds_there_then_runs_that_wait_in_full() {
    let port = FakePort::new()
        .at(0, Arrival::Control(Control::Pause))
        .at(ms(1), Arrival::Control(Control::Step))
        .at(ms(100), Arrival::Control(Control::Step));
    let mut rl = run_loop(port, false);
    rl.checkpoint(&mut |_| {});
    assert!(!rl.steering.paused(), "the step lets the guest run");
    // The guest's next wait (10 ms asked) holds it first; the second step releases it and
    // the wait then lasts what remained of it when the hold began: 10 ms, not less.
    let asked = rl.monotonic_now() + ms(10);
    let before = rl.real_now();
    rl.wait(Some(asked), WaitReason::PollableBlock, &mut |_| {});
    let sleeps = rl.port.sleeps();
    assert_eq!(sleeps[..2], [None, None], "held until the second step");
    assert!(sleeps[2].is_some());
    let took = rl.real_now() - before;
    assert!(about(took, ms(99) + ms(10)), "{took}");
    // That step ends at the following wait.
    assert!(rl.steering.before_wait());
}

#[test]
fn a_slowed_guest_sleeps_longer_in_real_time() {
    let port = FakePort::new().at(0, Arrival::Control(Control::TimeScale(0.5)));
    let mut rl = run_loop(port, false);
    rl.checkpoint(&mut |_| {});
    let guest = rl.monotonic_now();
    let real = rl.real_now();
    rl.wait(Some(guest + ms(10)), WaitReason::PollableBlock, &mut |_| {});
    assert!(about(rl.real_now() - real, ms(20)));
    assert!(about(rl.monotonic_now() - guest, ms(10)));
}

#[test]
fn telemetry_off_posts_nothing_even_to_a_subscriber() {
    let port = FakePort::new().at(
        0,
        Arrival::Control(Control::Subscribe {
            detail: true,
            replay: false,
        }),
    );
    let mut rl = run_loop(port, false);
    rl.checkpoint(&mut |_| {});
    let now = rl.monotonic_now();
    rl.wait(Some(now + ms(1)), WaitReason::PollableBlock, &mut |_| {});
    rl.finish(End::Exit(0));
    // Only the end, which the page needs whatever it asked for.
    assert_eq!(rl.port.posted, [FromWasm::Exit { code: 0 }]);
    assert!(!rl.watch().get());
}

#[test]
fn a_subscriber_gets_a_hello_then_a_snapshot_after_the_call_and_the_last_batch_at_the_end() {
    let port = FakePort::new().at(
        0,
        Arrival::Control(Control::Subscribe {
            detail: true,
            replay: false,
        }),
    );
    let mut rl = run_loop(port, true);
    let host = host();
    rl.checkpoint(&mut |_| {});
    assert!(rl.watch().get(), "host calls are watched now");
    assert_eq!(rl.port.log, [Did::Post("hello")]);
    let entry = rl.enter_host_call(&host, NOW);
    rl.leave_host_call(&host, NOW, entry);
    assert!(rl.port.log.contains(&Did::Post("snapshot")));
    let now = rl.monotonic_now();
    let entry = rl.enter_host_call(&host, BLOCK);
    rl.wait(Some(now + ms(1)), WaitReason::PollableBlock, &mut |_| {});
    rl.leave_host_call(&host, BLOCK, entry);
    rl.finish(End::Exit(3));
    let posts = rl.port.log.len();
    assert_eq!(
        rl.port.log[posts - 2..],
        [Did::Post("events"), Did::Post("end")]
    );
    let Some(FromWasm::Events(last)) = rl.port.posted.iter().rev().nth(1) else {
        panic!("no last batch");
    };
    assert_eq!(
        last.state,
        Some(pollscope_protocol::GuestState::Exited { code: 3 })
    );
    assert_eq!(waits(&rl.port.posted).len(), 1);
}

/// The `output` messages posted, as (stream, text).
fn panel_output(posted: &[FromWasm]) -> Vec<(pollscope_protocol::OutputStream, String)> {
    posted
        .iter()
        .filter_map(|m| match m {
            FromWasm::Output { stream, data } => {
                Some((*stream, String::from_utf8_lossy(data).into_owned()))
            }
            _ => None,
        })
        .collect()
}

fn subscribe(rl: &mut RunLoop<FakePort, ()>, replay: bool) {
    rl.port.controls.push(Control::Subscribe {
        detail: false,
        replay,
    });
    rl.apply_controls();
}

#[test]
fn a_listening_panel_gets_the_output_at_each_flush_and_a_late_one_the_newest_first() {
    use pollscope_protocol::OutputStream::{Stderr, Stdout};
    let mut rl = run_loop(FakePort::new(), true);
    rl.write_output(Stdio::Stdout, b"before\n");
    rl.flush_output();
    assert!(panel_output(&rl.port.posted).is_empty(), "nobody listens");

    // A panel joins: what came before it first (after the hello), then output as it flushes.
    subscribe(&mut rl, true);
    assert_eq!(rl.port.log.last(), Some(&Did::Post("other")));
    rl.write_output(Stdio::Stderr, b"warn\n");
    rl.write_output(Stdio::Stdout, b"after\n");
    assert_eq!(panel_output(&rl.port.posted).len(), 1, "not before a flush");
    let now = rl.monotonic_now();
    rl.wait(Some(now + ms(1)), WaitReason::PollableBlock, &mut |_| {});
    assert_eq!(
        panel_output(&rl.port.posted),
        [
            (Stdout, "before\n".to_string()),
            (Stderr, "warn\n".to_string()),
            (Stdout, "after\n".to_string()),
        ]
    );

    // A panel reconnecting (no replay) gets a hello, not the old lines again.
    rl.port.posted.clear();
    subscribe(&mut rl, false);
    assert!(panel_output(&rl.port.posted).is_empty());
}

#[test]
fn output_still_in_guest_memory_is_copied_into_the_batch_and_the_panels_tail_once() {
    use pollscope_protocol::OutputStream::{Stderr, Stdout};
    use pollscope_wasi::{GuestBytes, VecMemory};
    let mut memory = VecMemory::new(256);
    memory.bytes[16..22].copy_from_slice(b"guest\n");
    memory.bytes[32..36].copy_from_slice(b"err\n");
    let mut rl = run_loop(FakePort::new(), true);
    subscribe(&mut rl, false);
    rl.write_output_guest(
        Stdio::Stdout,
        GuestBytes::new(&memory, 16, 6, "write contents"),
    )
    .unwrap();
    // Out of bounds: a trap that names the bytes, and nothing queued or kept.
    let trap = rl
        .write_output_guest(
            Stdio::Stdout,
            GuestBytes::new(&memory, 250, 16, "write contents"),
        )
        .unwrap_err();
    assert!(trap.to_string().contains("write contents"), "{trap}");
    rl.write_output_guest(
        Stdio::Stderr,
        GuestBytes::new(&memory, 32, 4, "write contents"),
    )
    .unwrap();
    assert_eq!(rl.port.space, b"err\n", "copied into the port's space");
    rl.flush_output();
    assert!(
        rl.port.log.contains(&Did::Flush(10)),
        "only what was committed: {:?}",
        rl.port.log
    );
    assert_eq!(
        panel_output(&rl.port.posted),
        [
            (Stdout, "guest\n".to_string()),
            (Stderr, "err\n".to_string()),
        ]
    );
}

#[test]
fn the_end_always_goes_out_last_and_with_no_panel_the_newest_output_before_it() {
    for recording in [true, false] {
        let mut rl = run_loop(FakePort::new(), recording);
        rl.write_output(Stdio::Stdout, b"bye\n");
        rl.finish(End::Exit(3));
        assert_eq!(
            rl.port.log.first(),
            Some(&Did::Flush(4)),
            "output before the end"
        );
        assert!(matches!(
            rl.port.posted.last(),
            Some(FromWasm::Exit { code: 3 })
        ));
        // With telemetry off nothing is kept for panels; on, the tail precedes the end.
        let kept = panel_output(&rl.port.posted);
        assert_eq!(kept.len(), usize::from(recording), "recording {recording}");
    }

    // A panel that listened already has the output: the end follows it directly.
    let mut rl = run_loop(FakePort::new(), true);
    subscribe(&mut rl, false);
    rl.write_output(Stdio::Stdout, b"last\n");
    rl.finish(End::Trap(pollscope_protocol::TrapReport {
        message: "unreachable".into(),
        frames: Vec::new(),
    }));
    assert_eq!(panel_output(&rl.port.posted).len(), 1);
    assert!(matches!(rl.port.posted.last(), Some(FromWasm::Trap(_))));
}

#[test]
fn a_stop_releases_a_paused_guest_and_ends_its_waits_at_once() {
    let port = FakePort::new()
        .at(0, Arrival::Control(Control::Pause))
        .at(ms(50), Arrival::Control(Control::Stop));
    let mut rl = run_loop(port, false);
    // Held at its next host call until the stop comes, which lets it go on to its end.
    rl.checkpoint(&mut |_| {});
    assert!(rl.stopping() && !rl.steering.paused());
    assert!(about(rl.real_now() - 1_000_000_000, ms(50)));
    // Its next wait does not sleep: the host ends the guest when the wait returns.
    let sleeps = rl.port.sleeps().len();
    let now = rl.monotonic_now();
    rl.wait(Some(now + ms(1000)), WaitReason::PollableBlock, &mut |_| {});
    assert_eq!(rl.port.sleeps().len(), sleeps);
}
