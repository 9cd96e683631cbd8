//! Reads TinyGo's scheduler queues out of guest memory.
//!
//! Memory is the guest's and may be anything: every list walk stops at a repeated node, a
//! pointer outside memory or misaligned, or [`MAX_QUEUE_ITEMS`], and says why in
//! `problems`. Sleep queue wake times follow TinyGo's `addSleepTask`: each task's `Data` is
//! its delay after the previous one, and the scheduler advances `sleepQueueBaseTime` by the
//! head's `Data` when it wakes it, so task k wakes at base + Σ Data(0..=k).

use std::collections::HashSet;

use pollscope_protocol::{
    Backtrace, Goroutine, SchedulerSnapshot, StackFill, TaskState, TimerEntry,
};

use crate::backtrace::{self, Rewinder};

use crate::layout::StructLayout;
use crate::{
    Introspection, CURRENT_TASK, QUEUE_TYPE, RUN_QUEUE, SLEEP_QUEUE, SLEEP_QUEUE_BASE_TIME,
    TASK_TYPE, TIMER_NODE_TYPE, TIMER_QUEUE, TIMER_TYPE,
};

/// Longest list a walk follows; a real program with more goroutines in one queue is cut
/// short with a problem rather than made to cost unbounded time at every idle wait.
pub const MAX_QUEUE_ITEMS: usize = 4096;

/// Most parked goroutines one snapshot replays for backtraces (each replay re-runs a rewind);
/// the ones after them get a problem instead.
pub const MAX_BACKTRACES: usize = 64;

/// Guest linear memory, read-only.
pub trait ReadMemory {
    /// Fills `out` from `address`; `None` when any byte is outside memory.
    fn read(&self, address: u32, out: &mut [u8]) -> Option<()>;
}

impl ReadMemory for [u8] {
    fn read(&self, address: u32, out: &mut [u8]) -> Option<()> {
        let start = usize::try_from(address).ok()?;
        let bytes = self.get(start..start.checked_add(out.len())?)?;
        out.copy_from_slice(bytes);
        Some(())
    }
}

impl ReadMemory for Vec<u8> {
    fn read(&self, address: u32, out: &mut [u8]) -> Option<()> {
        self.as_slice().read(address, out)
    }
}

struct Reader<'a, M: ?Sized> {
    memory: &'a M,
}

impl<M: ReadMemory + ?Sized> Reader<'_, M> {
    fn u32(&self, address: u32) -> Result<u32, String> {
        let mut bytes = [0; 4];
        self.memory
            .read(address, &mut bytes)
            .ok_or_else(|| format!("pointer {address:#x} outside memory"))?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn u64(&self, address: u32) -> Result<u64, String> {
        let mut bytes = [0; 8];
        self.memory
            .read(address, &mut bytes)
            .ok_or_else(|| format!("pointer {address:#x} outside memory"))?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn field_u32(&self, base: u32, offset: u32) -> Result<u32, String> {
        self.u32(
            base.checked_add(offset)
                .ok_or_else(|| format!("pointer {base:#x} + {offset:#x} overflows"))?,
        )
    }

    fn field_u64(&self, base: u32, offset: u32) -> Result<u64, String> {
        self.u64(
            base.checked_add(offset)
                .ok_or_else(|| format!("pointer {base:#x} + {offset:#x} overflows"))?,
        )
    }

    /// Checks a struct pointer before following it: aligned, and the whole struct inside
    /// memory.
    fn check_struct(&self, address: u32, size: u32) -> Result<(), String> {
        if !address.is_multiple_of(4) {
            return Err(format!("misaligned pointer {address:#x}"));
        }
        let last = address
            .checked_add(size.max(1) - 1)
            .ok_or_else(|| format!("pointer {address:#x} outside memory"))?;
        let mut byte = [0];
        self.memory
            .read(last, &mut byte)
            .and(self.memory.read(address, &mut byte))
            .ok_or_else(|| format!("pointer {address:#x} outside memory"))
    }
}

/// A linked list walk: yields node addresses from `head` through `next`, stopping (with a
/// problem prefixed by `what`) at a cycle, a bad pointer or the item limit.
fn follow<M: ReadMemory + ?Sized>(
    reader: &Reader<'_, M>,
    what: &str,
    head: u32,
    node_size: u32,
    next_offset: u32,
    problems: &mut Vec<String>,
) -> Vec<u32> {
    let mut nodes = Vec::new();
    let mut seen = HashSet::new();
    let mut at = head;
    while at != 0 {
        if nodes.len() == MAX_QUEUE_ITEMS {
            problems.push(format!("{what}: stopped after {MAX_QUEUE_ITEMS} items"));
            break;
        }
        if !seen.insert(at) {
            problems.push(format!("{what}: cycle at {at:#x}"));
            break;
        }
        if let Err(problem) = reader.check_struct(at, node_size) {
            problems.push(format!("{what}: {problem}"));
            break;
        }
        nodes.push(at);
        match reader.field_u32(at, next_offset) {
            Ok(next) => at = next,
            Err(problem) => {
                problems.push(format!("{what}: {problem}"));
                break;
            }
        }
    }
    nodes
}

/// The scheduler's state in `memory`, stamped `at` (real ns). `guest_now` is left `None` for
/// the caller that knows the guest clock.
pub fn walk<M: ReadMemory + ?Sized>(
    introspection: &Introspection,
    memory: &M,
    at: u64,
) -> SchedulerSnapshot {
    let mut snapshot = SchedulerSnapshot {
        at,
        ..SchedulerSnapshot::default()
    };
    let problems = &mut snapshot.problems;
    if !introspection.dwarf {
        problems.push(
            "no DWARF: the module was built with -no-debug (or stripped); the scheduler \
             cannot be located"
                .into(),
        );
        return snapshot;
    }
    let reader = Reader { memory };
    let Some(task) = introspection.layout(TASK_TYPE) else {
        problems.push(format!("no layout for {TASK_TYPE} in the DWARF"));
        return snapshot;
    };
    let Some(tasks) = TaskFields::of(task) else {
        problems.push(format!("{TASK_TYPE} has no Next or Data field"));
        return snapshot;
    };
    let goroutine = |id: u32, state: TaskState, wake_at: Option<u64>| Goroutine {
        id,
        entry: tasks
            .entry
            .and_then(|offset| reader.field_u32(id, offset).ok())
            .map(|index| introspection.symbolizer.entry(index)),
        wake_at,
        stack: tasks.stack(&reader, id),
        state,
        backtrace: None,
    };

    let global = |name: &str, problems: &mut Vec<String>| -> Option<u32> {
        let location = introspection.symbol(name);
        let address = location.address_of(0, 4);
        if address.is_none() {
            problems.push(format!("{name}: {}", location.describe()));
        }
        address
    };

    // Sleep queue.
    if let Some(address) = global(SLEEP_QUEUE, problems) {
        snapshot.base_time = introspection
            .symbol(SLEEP_QUEUE_BASE_TIME)
            .address_of(0, 8)
            .and_then(|a| reader.u64(a).ok());
        match reader.u32(address) {
            Ok(head) => {
                let nodes = follow(
                    &reader,
                    "sleep queue",
                    head,
                    tasks.size,
                    tasks.next,
                    problems,
                );
                let mut wake = snapshot.base_time;
                for node in nodes {
                    let delta = reader.field_u64(node, tasks.data).ok();
                    wake = wake.zip(delta).map(|(w, d)| w.wrapping_add(d));
                    snapshot
                        .sleep_queue
                        .push(goroutine(node, TaskState::Sleeping, wake));
                }
            }
            Err(problem) => problems.push(format!("sleep queue: {problem}")),
        }
    }

    // Run queue: a Queue{head, tail} whose fields may live at separate addresses (pieces).
    match introspection.layout(QUEUE_TYPE).and_then(|queue| {
        let location = introspection.symbol(RUN_QUEUE);
        let head = location.address_of(queue.offset("head")?, 4);
        let tail = location.address_of(queue.offset("tail")?, 4);
        Some((location, head, tail))
    }) {
        None => problems.push(format!("no layout for {QUEUE_TYPE} in the DWARF")),
        Some((location, None, _)) => problems.push(format!("{RUN_QUEUE}: {}", location.describe())),
        Some((_, Some(head), tail)) => match reader.u32(head) {
            Ok(first) => {
                let nodes = follow(
                    &reader,
                    "run queue",
                    first,
                    tasks.size,
                    tasks.next,
                    problems,
                );
                let tail = tail.and_then(|t| reader.u32(t).ok());
                if let (Some(tail), Some(last)) = (tail, nodes.last()) {
                    if tail != *last {
                        problems.push(format!(
                            "run queue: tail {tail:#x} is not the last task {last:#x}"
                        ));
                    }
                }
                snapshot.run_queue = nodes
                    .into_iter()
                    .map(|node| goroutine(node, TaskState::Runnable, None))
                    .collect();
            }
            Err(problem) => problems.push(format!("run queue: {problem}")),
        },
    }

    // Timer queue.
    if let Some(address) = global(TIMER_QUEUE, problems) {
        let layouts = introspection
            .layout(TIMER_NODE_TYPE)
            .zip(introspection.layout(TIMER_TYPE));
        match (layouts, reader.u32(address)) {
            (None, _) => problems.push(format!(
                "no layout for {TIMER_NODE_TYPE} or {TIMER_TYPE} in the DWARF"
            )),
            (_, Err(problem)) => problems.push(format!("timer queue: {problem}")),
            (Some((node, timer)), Ok(head)) => {
                snapshot.timers = timers(&reader, node, timer, head, problems);
            }
        }
    }

    // Current task.
    if let Some(address) = global(CURRENT_TASK, problems) {
        match reader.u32(address) {
            Ok(0) => {}
            Ok(task) => match reader.check_struct(task, tasks.size) {
                Ok(()) => snapshot.current = Some(goroutine(task, TaskState::Running, None)),
                Err(problem) => problems.push(format!("current task: {problem}")),
            },
            Err(problem) => problems.push(format!("current task: {problem}")),
        }
    }
    snapshot
}

/// [`walk`], with each parked goroutine's backtrace — every sleeping one, and the runnable
/// ones that have run before (`state.launched`) — replayed by `rewinder` from its asyncify save
/// area (see [`crate::backtrace`]).
pub fn walk_with_backtraces<M: ReadMemory + ?Sized>(
    introspection: &Introspection,
    memory: &M,
    at: u64,
    rewinder: &mut dyn Rewinder,
) -> SchedulerSnapshot {
    let mut snapshot = walk(introspection, memory, at);
    let task = introspection.layout(TASK_TYPE);
    let replay = task.and_then(|task| {
        Some(ReplayFields {
            entry: task.offset("state.entry")?,
            args: task.offset("state.args")?,
            asyncifysp: task.offset("asyncifysp")?,
            csp: task.offset("csp")?,
        })
    });
    let reader = Reader { memory };
    // While a goroutine is unwinding (a step can hold it there) it is already in the sleep
    // queue, but its save area is not written yet: replaying it would read garbage.
    let running = snapshot.current.as_ref().map(|g| g.id);
    // A runnable goroutine is parked too once it has run (woken, not yet resumed); one never
    // launched has no save area.
    let launched = task.and_then(|task| task.offset("launched"));
    let has_run = |id: u32| {
        launched.is_some_and(|offset| {
            let mut flag = [0];
            id.checked_add(offset)
                .and_then(|at| memory.read(at, &mut flag))
                .is_some_and(|()| flag[0] != 0)
        })
    };
    let parked = snapshot
        .sleep_queue
        .iter_mut()
        .chain(snapshot.run_queue.iter_mut().filter(|g| has_run(g.id)));
    for (n, goroutine) in parked.enumerate() {
        let empty_save_area = goroutine
            .stack
            .and_then(|s| Some(s.asyncifysp <= s.bottom?.checked_add(4)?))
            .unwrap_or(false);
        let backtrace = match &replay {
            _ if running == Some(goroutine.id) || empty_save_area => Err(
                "not parked yet: it is still running or unwinding, its save area not written"
                    .to_string(),
            ),
            _ if n >= MAX_BACKTRACES => Err(format!(
                "not replayed: only the first {MAX_BACKTRACES} parked goroutines are"
            )),
            None => Err(format!(
                "{TASK_TYPE} lacks state.entry, state.args or stackState in the DWARF"
            )),
            Some(fields) => fields.replay(introspection, &reader, rewinder, goroutine.id),
        };
        goroutine.backtrace = Some(backtrace.unwrap_or_else(|problem| Backtrace {
            frames: Vec::new(),
            problem: Some(problem),
        }));
    }
    snapshot
}

/// The Task fields a rewind starts from.
struct ReplayFields {
    entry: u32,
    args: u32,
    asyncifysp: u32,
    csp: u32,
}

impl ReplayFields {
    fn replay<M: ReadMemory + ?Sized>(
        &self,
        introspection: &Introspection,
        reader: &Reader<'_, M>,
        rewinder: &mut dyn Rewinder,
        task: u32,
    ) -> Result<Backtrace, String> {
        // Asyncify's data is {current, end}: TinyGo's stackState must be {asyncifysp, csp}.
        if self.csp != self.asyncifysp + 4 {
            return Err(format!(
                "stackState is not asyncify's {{current, end}} (asyncifysp +{:#x}, csp +{:#x})",
                self.asyncifysp, self.csp
            ));
        }
        let entry = reader.field_u32(task, self.entry)?;
        let args = reader.field_u32(task, self.args)?;
        let stack_state = task
            .checked_add(self.asyncifysp)
            .ok_or_else(|| format!("task {task:#x}: stackState overflows"))?;
        Ok(backtrace::from_replay(
            introspection,
            rewinder.rewind(entry, args, stack_state),
        ))
    }
}

fn timers<M: ReadMemory + ?Sized>(
    reader: &Reader<'_, M>,
    node: &StructLayout,
    timer: &StructLayout,
    head: u32,
    problems: &mut Vec<String>,
) -> Vec<TimerEntry> {
    let (Some(next), Some(timer_field), Some(when), Some(period)) = (
        node.offset("next"),
        node.offset("timer"),
        timer.offset("when"),
        timer.offset("period"),
    ) else {
        problems.push("timer layouts lack next/timer/when/period".into());
        return Vec::new();
    };
    let node_size = node.size.unwrap_or(timer_field + 4);
    let mut entries = Vec::new();
    for address in follow(reader, "timer queue", head, node_size, next, problems) {
        let fields = reader.field_u32(address, timer_field).and_then(|t| {
            reader.check_struct(t, timer.size.unwrap_or(period + 8))?;
            Ok((reader.field_u64(t, when)?, reader.field_u64(t, period)?))
        });
        match fields {
            Ok((when, period)) => entries.push(TimerEntry {
                node: address,
                when,
                period,
            }),
            Err(problem) => {
                problems.push(format!("timer queue: {problem}"));
                break;
            }
        }
    }
    entries
}

/// The Task fields the walk reads, with their offsets from DWARF.
struct TaskFields {
    size: u32,
    next: u32,
    data: u32,
    entry: Option<u32>,
    asyncifysp: Option<u32>,
    csp: Option<u32>,
    canary: Option<u32>,
}

impl TaskFields {
    fn of(task: &StructLayout) -> Option<TaskFields> {
        let next = task.offset("Next")?;
        let data = task.offset("Data")?;
        Some(TaskFields {
            size: task.size.unwrap_or(data + 8),
            next,
            data,
            entry: task.offset("state.entry").or_else(|| task.offset("entry")),
            asyncifysp: task.offset("asyncifysp"),
            csp: task.offset("csp"),
            canary: task.offset("canaryPtr"),
        })
    }

    fn stack<M: ReadMemory + ?Sized>(
        &self,
        reader: &Reader<'_, M>,
        task: u32,
    ) -> Option<StackFill> {
        Some(StackFill {
            asyncifysp: reader.field_u32(task, self.asyncifysp?).ok()?,
            csp: reader.field_u32(task, self.csp?).ok()?,
            bottom: self
                .canary
                .and_then(|offset| reader.field_u32(task, offset).ok()),
        })
    }
}
