//! The flight recorder's reports ([`HookEvent`]) as goroutine task switches.
//!
//! Asyncify's state machine says what happens — 0→1 unwinding starts, 1→0 the scheduler has
//! the goroutine back, 0→2 a rewind starts, 2→0 the goroutine runs again, 0→0 the scheduler
//! stopped an unwind that never began (the goroutine's function returned) — and
//! `internal/task.currentTask`, read from guest memory at the event, says whose: TinyGo's
//! `Task.Resume` sets it before launching or rewinding and clears it only afterwards, and
//! `Pause` runs on the goroutine. A launch is the scheduler's indirect call of the current
//! task's own entry (`state.entry`) while the state is normal: its first run, with nothing to
//! rewind. Nothing here depends on a function name.

use pollscope_protocol::{AsyncifyKind, AsyncifyPhase};

use crate::instrument::HookEvent;
use crate::walk::ReadMemory;
use crate::{Introspection, CURRENT_TASK, TASK_TYPE};

/// Asyncify's states.
const NORMAL: u32 = 0;
const UNWINDING: u32 = 1;
const REWINDING: u32 = 2;

/// One goroutine task switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSwitch {
    /// Launch, unwind, rewind or exit.
    pub kind: AsyncifyKind,
    /// Its start or end.
    pub phase: AsyncifyPhase,
    /// The goroutine (task address); 0 when `currentTask` cannot be read.
    pub task: u32,
    /// The Go function the goroutine runs, when its entry says.
    pub function: Option<String>,
}

/// The task switch `event` reports, with guest memory as it is at the event; `None` for a
/// report that is not one (a scheduler-side indirect call of something else than the current
/// goroutine's entry, a state change asyncify never makes).
pub fn task_switch<M: ReadMemory + ?Sized>(
    introspection: &Introspection,
    memory: &M,
    event: HookEvent,
) -> Option<TaskSwitch> {
    let (kind, phase) = match event {
        HookEvent::StateWrite { old, new } => match (old, new) {
            (NORMAL, UNWINDING) => (AsyncifyKind::Unwind, AsyncifyPhase::Enter),
            (UNWINDING, NORMAL) => (AsyncifyKind::Unwind, AsyncifyPhase::Leave),
            (NORMAL, REWINDING) => (AsyncifyKind::Rewind, AsyncifyPhase::Enter),
            (REWINDING, NORMAL) => (AsyncifyKind::Rewind, AsyncifyPhase::Leave),
            (NORMAL, NORMAL) => (AsyncifyKind::Exit, AsyncifyPhase::Enter),
            _ => return None,
        },
        HookEvent::TaskCall {
            state: NORMAL,
            table_index,
        } => {
            let task = current_task(introspection, memory).filter(|task| *task != 0)?;
            if entry_of(introspection, memory, task)? != table_index {
                return None;
            }
            (AsyncifyKind::Launch, AsyncifyPhase::Enter)
        }
        HookEvent::TaskCall { .. } | HookEvent::RewindCall { .. } | HookEvent::RewindEnd { .. } => {
            return None
        }
    };
    let task = current_task(introspection, memory).unwrap_or(0);
    let function = (task != 0)
        .then(|| entry_of(introspection, memory, task))
        .flatten()
        .and_then(|index| introspection.symbolizer.entry(index).function);
    Some(TaskSwitch {
        kind,
        phase,
        task,
        function,
    })
}

/// `internal/task.currentTask` now.
fn current_task<M: ReadMemory + ?Sized>(introspection: &Introspection, memory: &M) -> Option<u32> {
    let address = introspection.symbol(CURRENT_TASK).address_of(0, 4)?;
    read_u32(memory, address)
}

/// The task's `state.entry` (a function-table index).
fn entry_of<M: ReadMemory + ?Sized>(
    introspection: &Introspection,
    memory: &M,
    task: u32,
) -> Option<u32> {
    let offset = introspection.layout(TASK_TYPE)?.offset("state.entry")?;
    read_u32(memory, task.checked_add(offset)?)
}

fn read_u32<M: ReadMemory + ?Sized>(memory: &M, address: u32) -> Option<u32> {
    let mut bytes = [0; 4];
    memory.read(address, &mut bytes)?;
    Some(u32::from_le_bytes(bytes))
}
