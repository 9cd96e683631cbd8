//! Test support: a [`Platform`] with a virtual clock, scripted events and captured output,
//! plus helpers to call host functions by name.
//!
//! [`FakePlatform::wait`](Platform::wait) never sleeps: it flushes output (counted in
//! [`flushes`](FakePlatform::flushes)), as every platform's wait must, then advances virtual
//! time to the deadline (or to the next scripted event, if earlier), records the wait and delivers the
//! events due by then. A `FakePlatform` is a cheap handle onto shared state, so a test keeps a
//! clone to inspect after handing the platform to a [`Host`].
//!
//! Being test support, it panics where a real platform would hang: a wait with no deadline and
//! nothing scripted, or more than [`MAX_WAITS`] waits (a busy loop).

use std::cell::RefCell;
use std::rc::Rc;

use crate::WaitReason;
use crate::{resolve, Event, GuestMemory, Host, HostConfig, Platform, Stdio, Trap, VecMemory};

/// Waits after which the fake assumes the host busy-loops and panics.
pub const MAX_WAITS: usize = 100_000;

/// One call to [`Platform::wait`], as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitRecord {
    /// Virtual time when the wait began.
    pub start: u64,
    /// The deadline asked for (`None`: until an event).
    pub deadline: Option<u64>,
    /// Which guest call waited.
    pub reason: WaitReason,
    /// Virtual time when it returned.
    pub woke_at: u64,
    /// How many events it delivered.
    pub events: usize,
}

#[derive(Debug, Default)]
struct State {
    now: u64,
    wall_base: (u64, u32),
    rng: u64,
    /// Scripted events, ordered by time (ties keep script order).
    script: Vec<(u64, Event)>,
    waits: Vec<WaitRecord>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    writes: Vec<(Stdio, usize)>,
    flushes: usize,
    event_polls: usize,
    /// When the embedder asks to stop the guest (see [`FakePlatform::stop_at`]).
    stop_at: Option<u64>,
}

impl State {
    /// Removes and returns the scripted events due at `now`.
    fn take_due(&mut self) -> Vec<Event> {
        let due = self
            .script
            .iter()
            .take_while(|(at, _)| *at <= self.now)
            .count();
        self.script.drain(..due).map(|(_, event)| event).collect()
    }
}

/// A deterministic platform for native tests (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct FakePlatform(Rc<RefCell<State>>);

impl FakePlatform {
    /// Virtual time 0, wall clock at the Unix epoch, a fixed random seed, nothing scripted.
    pub fn new() -> FakePlatform {
        FakePlatform::default()
    }

    /// Delivers `event` once virtual time reaches `at_ns` (at the next poll or wait).
    pub fn script(&self, at_ns: u64, event: Event) {
        let mut state = self.0.borrow_mut();
        let index = state.script.partition_point(|(at, _)| *at <= at_ns);
        state.script.insert(index, (at_ns, event));
    }

    /// The embedder asks to stop the guest once virtual time reaches `at_ns`; a wait wakes then,
    /// as a command wakes the browser's.
    pub fn stop_at(&self, at_ns: u64) {
        self.0.borrow_mut().stop_at = Some(at_ns);
    }

    /// Moves virtual time forward, as if the guest computed for `ns`.
    pub fn advance(&self, ns: u64) {
        let mut state = self.0.borrow_mut();
        state.now = state.now.saturating_add(ns);
    }

    /// The wall-clock time at virtual time 0; wall time moves with the virtual clock.
    pub fn set_wall(&self, seconds: u64, nanoseconds: u32) {
        self.0.borrow_mut().wall_base = (seconds, nanoseconds);
    }

    /// Current virtual monotonic time in ns.
    pub fn now(&self) -> u64 {
        self.0.borrow().now
    }

    /// Every wait so far, in order.
    pub fn waits(&self) -> Vec<WaitRecord> {
        self.0.borrow().waits.clone()
    }

    /// Everything written to stdout.
    pub fn stdout(&self) -> Vec<u8> {
        self.0.borrow().stdout.clone()
    }

    /// Everything written to stderr.
    pub fn stderr(&self) -> Vec<u8> {
        self.0.borrow().stderr.clone()
    }

    /// Each `write_output` call: which stream and how many bytes (shows chunking).
    pub fn writes(&self) -> Vec<(Stdio, usize)> {
        self.0.borrow().writes.clone()
    }

    /// How many times output was flushed: by the embedder, or by a wait before it slept.
    pub fn flushes(&self) -> usize {
        self.0.borrow().flushes
    }

    /// How many times `poll_events` was called.
    pub fn event_polls(&self) -> usize {
        self.0.borrow().event_polls
    }

    /// Scripted events not delivered yet.
    pub fn pending_events(&self) -> usize {
        self.0.borrow().script.len()
    }
}

impl Platform for FakePlatform {
    fn monotonic_now(&self) -> u64 {
        self.0.borrow().now
    }

    fn wall_now(&self) -> (u64, u32) {
        let state = self.0.borrow();
        let (seconds, nanoseconds) = state.wall_base;
        let total =
            u128::from(seconds) * 1_000_000_000 + u128::from(nanoseconds) + u128::from(state.now);
        (
            (total / 1_000_000_000) as u64,
            (total % 1_000_000_000) as u32,
        )
    }

    fn random_bytes(&mut self, buf: &mut [u8]) {
        // splitmix64: deterministic, and different on every call.
        let mut state = self.0.borrow_mut();
        for chunk in buf.chunks_mut(8) {
            state.rng = state.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }

    fn write_output(&mut self, stream: Stdio, bytes: &[u8]) {
        let mut state = self.0.borrow_mut();
        match stream {
            Stdio::Stdout => state.stdout.extend_from_slice(bytes),
            Stdio::Stderr => state.stderr.extend_from_slice(bytes),
        }
        state.writes.push((stream, bytes.len()));
    }

    fn flush_output(&mut self) {
        self.0.borrow_mut().flushes += 1;
    }

    fn poll_events(&mut self, deliver: &mut dyn FnMut(Event)) {
        let due = {
            let mut state = self.0.borrow_mut();
            state.event_polls += 1;
            state.take_due()
        };
        due.into_iter().for_each(deliver);
    }

    fn wait(&mut self, deadline: Option<u64>, reason: WaitReason, deliver: &mut dyn FnMut(Event)) {
        // As `Platform::wait` requires: batched output goes out before the sleep.
        self.flush_output();
        let due = {
            let mut state = self.0.borrow_mut();
            assert!(
                state.waits.len() < MAX_WAITS,
                "FakePlatform: more than {MAX_WAITS} waits; the host is busy-looping"
            );
            let next_event = [state.script.first().map(|(at, _)| *at), state.stop_at]
                .into_iter()
                .flatten()
                .min();
            let wake = match (deadline, next_event) {
                (Some(d), Some(e)) => d.min(e),
                (Some(d), None) => d,
                (None, Some(e)) => e,
                (None, None) => panic!(
                    "FakePlatform: {reason:?} waits forever with no event scripted (the guest \
                     would hang)"
                ),
            };
            let start = state.now;
            state.now = state.now.max(wake);
            let due = state.take_due();
            let woke_at = state.now;
            state.waits.push(WaitRecord {
                start,
                deadline,
                reason,
                woke_at,
                events: due.len(),
            });
            due
        };
        due.into_iter().for_each(deliver);
    }

    fn stop_requested(&self) -> bool {
        let state = self.0.borrow();
        state.stop_at.is_some_and(|at| state.now >= at)
    }
}

/// A host with [`HostConfig::new("test.wasm")`](HostConfig::new) on a clone of `fake`, and a
/// 64 KiB guest memory whose allocator starts at 32 KiB.
pub fn host_with(fake: &FakePlatform) -> (Host, VecMemory) {
    let host = Host::new(HostConfig::new("test.wasm"), Box::new(fake.clone()))
        .expect("the default config is valid");
    (host, VecMemory::new(1 << 16))
}

/// Resolves `interface`/`name` and calls it, as the shim does.
///
/// Panics when the import does not resolve (a test's typo, not a guest error).
pub fn call(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    interface: &str,
    name: &str,
    args: &[i64],
) -> Result<i64, Trap> {
    let func = resolve(interface, name).unwrap_or_else(|e| panic!("{e}"));
    host.call(func, args, memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_advances_to_the_earlier_of_deadline_and_event() {
        let mut fake = FakePlatform::new();
        fake.script(50, Event::Stdin(b"a".to_vec()));
        fake.script(50, Event::StdinClosed);
        let mut got = Vec::new();
        fake.wait(Some(80), WaitReason::Poll, &mut |e| got.push(e));
        assert_eq!(fake.now(), 50);
        assert_eq!(
            got,
            vec![Event::Stdin(b"a".to_vec()), Event::StdinClosed],
            "script order kept"
        );
        fake.wait(Some(80), WaitReason::Poll, &mut |e| got.push(e));
        assert_eq!(fake.now(), 80);
        // A past deadline returns at once without moving time back.
        fake.wait(Some(10), WaitReason::Poll, &mut |e| got.push(e));
        assert_eq!(fake.now(), 80);
        let waits = fake.waits();
        assert_eq!(
            waits
                .iter()
                .map(|w| (w.start, w.woke_at, w.events))
                .collect::<Vec<_>>(),
            vec![(0, 50, 2), (50, 80, 0), (80, 80, 0)]
        );
        assert_eq!(fake.flushes(), 3, "every wait sends the output first");
    }

    #[test]
    fn poll_events_delivers_only_due_events() {
        let mut fake = FakePlatform::new();
        fake.script(10, Event::StdinClosed);
        let mut n = 0;
        fake.poll_events(&mut |_| n += 1);
        assert_eq!((n, fake.pending_events()), (0, 1));
        fake.advance(10);
        fake.poll_events(&mut |_| n += 1);
        assert_eq!((n, fake.pending_events()), (1, 0));
    }

    #[test]
    #[should_panic(expected = "waits forever")]
    fn waiting_forever_on_nothing_panics_instead_of_hanging() {
        FakePlatform::new().wait(None, WaitReason::BlockingRead, &mut |_| {});
    }
}
