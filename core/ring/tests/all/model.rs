//! Every interleaving of small producer/consumer scenarios, checked by a tiny stateless model
//! checker.
//!
//! Each thread runs the real `Producer`/`Consumer` code over a [`ModelMemory`] that stops at
//! every shared-memory operation and lets a scheduler pick which thread goes next, so one run
//! is one interleaving at the granularity of `Atomics.*` calls and byte copies. The explorer
//! re-runs the scenario depth-first until every schedule has been tried (optionally bounding
//! the number of preemptions, as CHESS does, for the larger scenarios).
//!
//! Memory is sequentially consistent, which is exactly JavaScript's model for `Atomics.*`. That
//! is also why this is not loom: loom treats `SeqCst` accesses as acquire/release and reports
//! false alarms on store-then-load handshakes like the producer's `WANT_SPACE`.
//!
//! `Atomics.wait` is modelled exactly (sleep only while the word holds the value, wake only on
//! a notify of that word, no timeout), so a lost wake-up shows up as a deadlock: a thread
//! asleep with no other thread able to run.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

use pollscope_ring::{
    init, layout, total_bytes, AtomicMemory, Config, Consumer, Flush, Kind, Producer, SharedMemory,
    Snapshot, WaitOn,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Executing between two scheduling points (or not started yet).
    Running,
    /// At a scheduling point, waiting to be picked.
    Ready,
    /// In `Atomics.wait` on this word.
    Blocked(usize),
    Done,
}

/// What a thread will do once picked: the one observable operation before its next scheduling
/// point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Nothing another thread can see.
    Local,
    /// Loads a word (`Atomics.wait` counts as a load of its word).
    Read(usize),
    /// Stores or adds to a word (`Atomics.notify` counts as a store to its word).
    Write(usize),
}

impl Op {
    /// Whether the order of the two operations can matter.
    fn conflicts(self, other: Op) -> bool {
        match (self, other) {
            (Op::Read(a), Op::Write(b))
            | (Op::Write(a), Op::Read(b))
            | (Op::Write(a), Op::Write(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
struct Choice {
    enabled: Vec<usize>,
    /// The thread that ran the step before (switching away from it while it is enabled is a
    /// preemption).
    prev: Option<usize>,
    chosen: usize,
    /// Threads not to pick here: their next operation commutes with everything explored since
    /// the schedules where they were picked (sleep sets, Godefroid 1996).
    sleep: Vec<usize>,
    /// Every thread's next operation.
    next: Vec<Op>,
}

impl Choice {
    /// The order in which alternatives are explored: carrying on first, then by thread id.
    fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = self
            .prev
            .filter(|p| self.enabled.contains(p))
            .into_iter()
            .collect();
        order.extend(self.enabled.iter().filter(|t| Some(**t) != self.prev));
        order
    }

    fn preempts(&self, chosen: usize) -> bool {
        matches!(self.prev, Some(p) if p != chosen && self.enabled.contains(&p))
    }
}

/// A choice to replay: whom to pick and the sleep set there.
#[derive(Debug, Clone)]
struct Replay {
    chosen: usize,
    sleep: Vec<usize>,
}

struct State {
    status: Vec<Status>,
    next: Vec<Op>,
    granted: Option<usize>,
    current: Option<usize>,
    /// Choices to replay, then carry on without preempting.
    replay: Vec<Replay>,
    trace: Vec<Choice>,
    /// Sleep set handed down to the next choice.
    sleep: Vec<usize>,
    failure: Option<String>,
    /// Every enabled thread is asleep: this schedule only repeats explored ones.
    pruned: bool,
}

struct Scheduler {
    state: Mutex<State>,
    turn: Condvar,
    max_steps: usize,
}

/// Unwinds a thread out of an execution that has failed or been pruned.
struct Aborted;

impl Scheduler {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, st: &mut State, why: String) {
        st.failure.get_or_insert(why);
        self.turn.notify_all();
    }

    /// Picks the next thread to run. Called with no thread running.
    fn decide(&self, st: &mut State) {
        let enabled: Vec<usize> = (0..st.status.len())
            .filter(|&t| st.status[t] == Status::Ready)
            .collect();
        if enabled.is_empty() {
            st.granted = None;
            if st.status.iter().any(|s| *s != Status::Done) {
                let why = format!("deadlock (lost wake-up?): threads {:?}", st.status);
                self.fail(st, why);
            }
            return;
        }
        if st.trace.len() >= self.max_steps {
            self.fail(st, format!("no end after {} steps", self.max_steps));
            return;
        }
        let mut choice = Choice {
            enabled,
            prev: st.current,
            chosen: 0,
            sleep: Vec::new(),
            next: st.next.clone(),
        };
        match st.replay.get(st.trace.len()) {
            Some(r) if choice.enabled.contains(&r.chosen) => {
                choice.chosen = r.chosen;
                choice.sleep = r.sleep.clone();
            }
            Some(r) => {
                let why = format!(
                    "nondeterministic replay: {} not in {:?}",
                    r.chosen, choice.enabled
                );
                self.fail(st, why);
                return;
            }
            None => {
                choice.sleep = std::mem::take(&mut st.sleep);
                let Some(&t) = choice.order().iter().find(|t| !choice.sleep.contains(t)) else {
                    st.pruned = true;
                    st.granted = None;
                    self.turn.notify_all();
                    return;
                };
                choice.chosen = t;
            }
        }
        let op = choice.next[choice.chosen];
        st.sleep = choice
            .sleep
            .iter()
            .copied()
            .filter(|&u| !choice.next[u].conflicts(op))
            .collect();
        st.status[choice.chosen] = Status::Running;
        st.granted = Some(choice.chosen);
        st.current = Some(choice.chosen);
        st.trace.push(choice);
        self.turn.notify_all();
    }

    fn await_turn(&self, mut st: MutexGuard<'_, State>, tid: usize) {
        while st.granted != Some(tid) && st.failure.is_none() && !st.pruned {
            st = self.turn.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.failure.is_some() || st.pruned {
            drop(st);
            panic::resume_unwind(Box::new(Aborted));
        }
    }
}

/// A thread's handle on the scheduler.
#[derive(Clone)]
pub struct Ctx {
    sched: Arc<Scheduler>,
    tid: usize,
}

impl Ctx {
    /// A scheduling point before `op`: another thread may run before this one does it.
    fn step(&self, op: Op) {
        let mut st = self.sched.lock();
        st.status[self.tid] = Status::Ready;
        st.next[self.tid] = op;
        self.sched.decide(&mut st);
        self.sched.await_turn(st, self.tid);
    }

    fn start(&self) {
        let mut st = self.sched.lock();
        st.status[self.tid] = Status::Ready;
        if st.status.iter().all(|s| *s == Status::Ready) {
            self.sched.decide(&mut st);
        }
        self.sched.await_turn(st, self.tid);
    }

    fn finish(&self) {
        let mut st = self.sched.lock();
        st.status[self.tid] = Status::Done;
        if st.failure.is_none() && !st.pruned {
            self.sched.decide(&mut st);
        }
    }

    /// `Atomics.wait(word, value)` without a timeout.
    pub fn wait(&self, mem: &ModelMemory, w: WaitOn) {
        self.step(Op::Read(w.word));
        if mem.inner.load(w.word) != w.value {
            return;
        }
        let mut st = self.sched.lock();
        st.status[self.tid] = Status::Blocked(w.word);
        self.sched.decide(&mut st);
        self.sched.await_turn(st, self.tid);
    }

    fn notify(&self, word: usize) {
        let mut st = self.sched.lock();
        for s in st.status.iter_mut() {
            if *s == Status::Blocked(word) {
                *s = Status::Ready;
            }
        }
    }
}

/// Which side a thread plays, for deciding which operations another thread can observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Producer,
    Consumer,
    /// Only reads snapshots.
    Reader,
}

/// Shared memory that yields to the scheduler before every header-word operation another
/// thread can observe, and checks every data-area copy against the ring's ownership rule.
///
/// Scheduling only at header words is sound because the data area is race-free exactly when
/// the producer writes only outside `[TAIL, HEAD)` and the consumer reads only inside it, which
/// every copy asserts (so a bug that races on data fails the run instead of hiding).
pub struct ModelMemory {
    inner: Arc<AtomicMemory>,
    ctx: Ctx,
    role: Role,
    /// Roles of all threads in the scenario.
    writers: Vec<Role>,
    capacity: u32,
    /// Counters are only read by snapshots; unless a scenario has a reader, stepping on them
    /// would only multiply equivalent schedules.
    counters_shared: bool,
}

impl ModelMemory {
    fn step_if_visible(&self, word: usize, write: bool) {
        let op = if write {
            Op::Write(word)
        } else {
            Op::Read(word)
        };
        let owner = match word {
            // Configuration: written before the threads start, read-only afterwards.
            w if w < 16 => return,
            // Added to by the producer, read by the consumer.
            layout::WAKE => return self.ctx.step(op),
            w if w < layout::TAIL => Role::Producer,
            _ => Role::Consumer,
        };
        let protocol = matches!(word, layout::HEAD | layout::TAIL | layout::WANT_SPACE);
        if !protocol && !self.counters_shared {
            return;
        }
        // A load of a word only this thread writes (or nobody in the scenario writes) sees the
        // same value whatever the others do.
        if !write && (owner == self.role || !self.writers.contains(&owner)) {
            return;
        }
        self.ctx.step(op);
    }

    fn check_data(&self, offset: usize, len: usize) {
        let Some(start) = offset.checked_sub(layout::DATA_OFFSET) else {
            panic!("byte copy into the header at {offset}");
        };
        let head = self.inner.load(layout::HEAD);
        let tail = self.inner.load(layout::TAIL);
        let published = head.wrapping_sub(tail);
        for i in 0..len {
            let at = (start + i) as u32;
            let unread = at.wrapping_sub(tail) & (self.capacity - 1) < published;
            match self.role {
                Role::Producer => assert!(!unread, "producer wrote over unread byte {at}"),
                Role::Consumer => assert!(unread, "consumer read unpublished byte {at}"),
                Role::Reader => panic!("a snapshot reader copied bytes"),
            }
        }
    }
}

impl SharedMemory for ModelMemory {
    fn byte_len(&self) -> usize {
        self.inner.byte_len()
    }
    fn load(&self, word: usize) -> u32 {
        self.step_if_visible(word, false);
        self.inner.load(word)
    }
    fn store(&self, word: usize, value: u32) {
        self.step_if_visible(word, true);
        self.inner.store(word, value)
    }
    fn add(&self, word: usize, value: u32) -> u32 {
        self.step_if_visible(word, true);
        self.inner.add(word, value)
    }
    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        self.check_data(offset, dst.len());
        self.inner.read_bytes(offset, dst)
    }
    fn write_bytes(&self, offset: usize, src: &[u8]) {
        self.check_data(offset, src.len());
        self.inner.write_bytes(offset, src)
    }
    fn notify(&self, word: usize) {
        self.ctx.step(Op::Write(word));
        self.ctx.notify(word);
    }
}

type Body = (Role, Box<dyn FnOnce(ModelMemory) + Send>);

/// One scenario: a ring, one body per thread, and a final check on the ring.
struct Scenario {
    config: Config,
    /// Runs on the fresh ring before the threads start.
    setup: fn(&AtomicMemory),
    bodies: fn() -> Vec<Body>,
    counters_shared: bool,
    /// Runs after every thread has finished.
    check: fn(&AtomicMemory),
}

/// What the explorer found.
#[derive(Debug)]
struct Explored {
    /// Schedules run to the end.
    executions: usize,
    /// Schedules cut short because they only reordered independent operations.
    pruned: usize,
    longest: usize,
}

fn run_once(
    s: &Scenario,
    replay: &[Replay],
    max_steps: usize,
) -> (Vec<Choice>, Option<String>, bool) {
    let mem = Arc::new(AtomicMemory::new(total_bytes(s.config.capacity)));
    init(&*mem, s.config).unwrap();
    (s.setup)(&mem);
    let bodies = (s.bodies)();
    let roles: Vec<Role> = bodies.iter().map(|(role, _)| *role).collect();
    let sched = Arc::new(Scheduler {
        state: Mutex::new(State {
            status: vec![Status::Running; bodies.len()],
            next: vec![Op::Local; bodies.len()],
            granted: None,
            current: None,
            replay: replay.to_vec(),
            trace: Vec::new(),
            sleep: Vec::new(),
            failure: None,
            pruned: false,
        }),
        turn: Condvar::new(),
        max_steps,
    });
    thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .into_iter()
            .enumerate()
            .map(|(tid, (role, body))| {
                let ctx = Ctx {
                    sched: sched.clone(),
                    tid,
                };
                let memory = ModelMemory {
                    inner: mem.clone(),
                    ctx: ctx.clone(),
                    role,
                    writers: roles.clone(),
                    capacity: s.config.capacity,
                    counters_shared: s.counters_shared,
                };
                scope.spawn(move || {
                    let result = panic::catch_unwind(AssertUnwindSafe(|| {
                        ctx.start();
                        body(memory);
                    }));
                    if let Err(payload) = result {
                        if !payload.is::<Aborted>() {
                            let mut st = ctx.sched.lock();
                            let why = format!("thread {tid} panicked: {}", message(&*payload));
                            ctx.sched.fail(&mut st, why);
                        }
                    }
                    ctx.finish();
                })
            })
            .collect();
        for h in handles {
            h.join().expect("bodies' panics are caught");
        }
    });
    let mut st = sched.lock();
    let trace = std::mem::take(&mut st.trace);
    let mut failure = st.failure.take();
    let pruned = st.pruned;
    drop(st);
    if failure.is_none() && !pruned {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| (s.check)(&mem))) {
            failure = Some(format!("final check: {}", message(&*payload)));
        }
    }
    (trace, failure, pruned)
}

fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "?".into())
}

/// Runs `s` under every schedule with at most `bound` preemptions (`None`: all schedules, up
/// to reordering independent operations).
fn explore(s: &Scenario, bound: Option<usize>) -> Result<Explored, String> {
    const MAX_STEPS: usize = 2_000;
    const MAX_RUNS: usize = 100_000;
    let mut replay: Vec<Replay> = Vec::new();
    let mut explored = Explored {
        executions: 0,
        pruned: 0,
        longest: 0,
    };
    loop {
        let (trace, failure, pruned) = run_once(s, &replay, MAX_STEPS);
        if pruned {
            explored.pruned += 1;
        } else {
            explored.executions += 1;
        }
        explored.longest = explored.longest.max(trace.len());
        if let Some(why) = failure {
            let schedule: Vec<usize> = trace.iter().map(|c| c.chosen).collect();
            return Err(format!("{why}\n{explored:?} schedule {schedule:?}"));
        }
        assert!(
            explored.executions + explored.pruned < MAX_RUNS,
            "too many schedules: {explored:?}"
        );
        // Depth-first: the deepest choice with an alternative that is awake and within the
        // bound. The alternative sleeps on whatever was already explored there.
        let mut preemptions: Vec<usize> = Vec::with_capacity(trace.len());
        let mut count = 0;
        for c in &trace {
            preemptions.push(count);
            count += usize::from(c.preempts(c.chosen));
        }
        let next = (0..trace.len()).rev().find_map(|i| {
            let c = &trace[i];
            let order = c.order();
            let at = order.iter().position(|t| *t == c.chosen).unwrap();
            let mut sleep = c.sleep.clone();
            sleep.push(c.chosen);
            order[at + 1..]
                .iter()
                .find(|&&alt| {
                    let n = preemptions[i] + usize::from(c.preempts(alt));
                    !sleep.contains(&alt) && bound.is_none_or(|b| n <= b)
                })
                .map(|&alt| (i, alt, sleep))
        });
        let Some((i, alt, sleep)) = next else {
            return Ok(explored);
        };
        replay = trace[..i]
            .iter()
            .map(|c| Replay {
                chosen: c.chosen,
                sleep: c.sleep.clone(),
            })
            .collect();
        replay.push(Replay { chosen: alt, sleep });
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario pieces.

type Msg = (u16, Kind, Vec<u8>);

fn wait_on(mem: &ModelMemory, w: WaitOn) {
    let ctx = mem.ctx.clone();
    ctx.wait(mem, w);
}

/// Pushes everything, then flushes until done, waiting for space when blocked.
fn push_all(mem: ModelMemory, msgs: Vec<Msg>) {
    let mut p = Producer::new(&mem).unwrap();
    for (stream, kind, data) in &msgs {
        p.push(*stream, *kind, data);
    }
    while let Flush::Blocked(w) = p.flush() {
        wait_on(&mem, w);
    }
}

/// Sends each message as its own batch; whatever does not fit is pushed and flushed.
fn send_each(mem: ModelMemory, msgs: Vec<Msg>) {
    let mut p = Producer::new(&mem).unwrap();
    for (stream, kind, data) in &msgs {
        let n = p.send(*stream, *kind, data).unwrap_or(0);
        if n < data.len() || p.backlog() > 0 {
            p.push(*stream, *kind, &data[n..]);
        }
        while let Flush::Blocked(w) = p.flush() {
            wait_on(&mem, w);
        }
    }
}

/// The documented protocol: read the wake counter, drain, and only then wait.
fn consume(mem: ModelMemory, expected: Vec<Msg>) {
    let mut c = Consumer::new(&mem).unwrap();
    let mut got = Vec::new();
    loop {
        let w = c.prepare_wait();
        c.drain(|p| got.push((p.stream, p.kind, p.payload.to_vec())))
            .unwrap();
        if got.len() == expected.len() {
            break;
        }
        wait_on(&mem, w);
    }
    assert_eq!(got, expected);
}

/// The protocol done wrong: reading the wake counter after draining.
fn consume_reading_wake_late(mem: ModelMemory, expected: Vec<Msg>) {
    let mut c = Consumer::new(&mem).unwrap();
    let mut got = Vec::new();
    loop {
        c.drain(|p| got.push((p.stream, p.kind, p.payload.to_vec())))
            .unwrap();
        if got.len() == expected.len() {
            break;
        }
        let w = c.prepare_wait();
        wait_on(&mem, w);
    }
}

fn all_through(mem: &AtomicMemory) {
    let s = Snapshot::read(mem).unwrap();
    assert_eq!(s.used, 0, "{s:?}");
    assert_eq!((s.packets_in, s.bytes_in), (s.packets_out, s.bytes_out));
    assert_eq!(
        mem.load(layout::WANT_SPACE),
        0,
        "producer left WANT_SPACE armed"
    );
}

fn no_setup(_: &AtomicMemory) {}

/// Two packets that exactly fill [`TINY`].
fn small() -> Vec<Msg> {
    vec![
        (1, Kind::Data, vec![1, 2, 3]),
        (2, Kind::Control, vec![4; 8]),
    ]
}

/// More than the ring holds, split into frames, wrapping, with a zero-length end packet.
fn big() -> Vec<Msg> {
    vec![
        (1, Kind::Data, (0..20).collect()),
        (2, Kind::Control, vec![7; 5]),
        (1, Kind::End, vec![]),
    ]
}

/// 32-byte data area, 8-byte MTU: two full packets fill it.
const TINY: Config = Config {
    capacity: 32,
    mtu: 8,
};

fn check(s: Scenario, bound: Option<usize>, at_least: usize) {
    let explored = explore(&s, bound).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{explored:?}");
    assert!(explored.executions >= at_least, "{explored:?}");
}

#[test]
fn one_batch_all_interleavings() {
    check(
        Scenario {
            config: TINY,
            setup: no_setup,
            bodies: || {
                vec![
                    (Role::Producer, Box::new(|m| push_all(m, small()))),
                    (Role::Consumer, Box::new(|m| consume(m, small()))),
                ]
            },
            counters_shared: false,
            check: all_through,
        },
        None,
        5,
    );
}

#[test]
fn separate_batches_all_interleavings() {
    check(
        Scenario {
            config: TINY,
            setup: no_setup,
            bodies: || {
                vec![
                    (Role::Producer, Box::new(|m| send_each(m, small()))),
                    (Role::Consumer, Box::new(|m| consume(m, small()))),
                ]
            },
            counters_shared: false,
            check: all_through,
        },
        None,
        50,
    );
}

#[test]
fn backpressure_split_and_wrap_with_bounded_preemptions() {
    check(
        Scenario {
            config: TINY,
            setup: no_setup,
            bodies: || {
                vec![
                    (Role::Producer, Box::new(|m| push_all(m, big()))),
                    (Role::Consumer, Box::new(|m| consume(m, big()))),
                ]
            },
            counters_shared: false,
            check: all_through,
        },
        Some(3),
        300,
    );
}

/// 16-byte data area: every frame fills the ring, so each one waits for the last to drain.
const SMALLEST: Config = Config {
    capacity: 16,
    mtu: 8,
};

fn lockstep() -> Vec<Msg> {
    vec![(1, Kind::Data, (0..8).collect()), (1, Kind::End, vec![])]
}

#[test]
fn full_ring_waits_for_space_all_interleavings() {
    check(
        Scenario {
            config: SMALLEST,
            setup: no_setup,
            bodies: || {
                vec![
                    (Role::Producer, Box::new(|m| push_all(m, lockstep()))),
                    (Role::Consumer, Box::new(|m| consume(m, lockstep()))),
                ]
            },
            counters_shared: false,
            check: all_through,
        },
        None,
        100,
    );
}

#[test]
fn checker_finds_the_lost_wake_up_of_a_wrong_protocol() {
    let e = explore(
        &Scenario {
            config: TINY,
            setup: no_setup,
            bodies: || {
                vec![
                    (Role::Producer, Box::new(|m| push_all(m, small()))),
                    (
                        Role::Consumer,
                        Box::new(|m| consume_reading_wake_late(m, small())),
                    ),
                ]
            },
            counters_shared: false,
            check: no_setup,
        },
        None,
    )
    .expect_err("reading WAKE after draining loses wake-ups");
    assert!(e.contains("deadlock"), "{e}");
}

/// The producer's counters start just below a carry of their high half.
fn near_carry(mem: &AtomicMemory) {
    let base = layout::PRODUCER_SLOTS;
    for word in [layout::SLOT_PACKETS, layout::SLOT_BYTES] {
        mem.store(base + word, u32::MAX);
    }
}

#[test]
fn snapshots_are_consistent_and_never_tear() {
    check(
        Scenario {
            config: TINY,
            setup: near_carry,
            bodies: || {
                vec![
                    (
                        Role::Producer,
                        Box::new(|m| {
                            let mut p = Producer::new(&m).unwrap();
                            p.send(0, Kind::Data, &[1]).unwrap();
                            p.send(0, Kind::Data, &[2]).unwrap();
                        }),
                    ),
                    (
                        Role::Reader,
                        Box::new(|m| {
                            let first = Snapshot::read(&m).unwrap();
                            let second = Snapshot::read(&m).unwrap();
                            let base = u64::from(u32::MAX);
                            for s in [first, second] {
                                // One real update: packets and bytes move together (one byte
                                // per packet), and a torn read would be 2^32 off.
                                assert!((base..=base + 2).contains(&s.packets_in), "{s:?}");
                                assert_eq!(s.bytes_in, s.packets_in, "{s:?}");
                                let sent = s.packets_in - base;
                                assert_eq!(u64::from(s.high_water), 16 * sent, "{s:?}");
                                assert!(s.used <= 32 && s.used % 16 == 0, "{s:?}");
                            }
                            assert!(first.packets_in <= second.packets_in);
                        }),
                    ),
                ]
            },
            counters_shared: true,
            check: no_setup,
        },
        None,
        100,
    );
}
