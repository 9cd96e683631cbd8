//! A parked goroutine's call stack, from its asyncify save area.
//!
//! When a goroutine pauses, Binaryen's asyncify code stores, for each frame from the innermost
//! out, the index of the call it is inside of and then its live locals, growing from the
//! bottom of the goroutine's stack up to `stackState.asyncifysp`. The indices number each
//! function's calls as the pass saw the code *before* `wasm-opt -Oz` ran: TinyGo's builds are
//! optimised after asyncify, and the optimiser inlines functions (tinygo_unwind, Pause,
//! one-caller functions) whose frames stay in the save area while the functions are gone, and
//! how many bytes of locals a frame saved is decided by the pass's liveness analysis. Neither
//! can be reproduced exactly from the output module, so the save area is not decoded by
//! numbering calls: the program's own rewind code decodes it. A copy of the program
//! ([`crate::instrument_for_replay`]) with the guest's memory copied in starts a rewind with
//! the goroutine's `stackState` and calls its entry, exactly as the scheduler resumes it; the
//! rewind code pops the save area frame by frame and makes, in each function, the one call the
//! frame names, until the innermost frame stops the rewind where the goroutine paused. The
//! replay module reports every call made while rewinding and the state write that ends it;
//! those calls, outermost first, are the goroutine's stack, and each call's code offset gives
//! its function (name section) and Go file:line (DWARF line tables).
//!
//! The replay is bounded: at most [`MAX_FRAMES`] calls; a trap, an import called, a rewind
//! that returns without reaching a pause or goes too deep is a named problem in the
//! goroutine's [`Backtrace`], never a panic.

use pollscope_protocol::{Backtrace, StackFrame};

use crate::instrument::{decode_hook, HookEvent};
use crate::Introspection;

/// Calls a replay follows at most before it gives up: deeper stacks are cut with a problem.
pub const MAX_FRAMES: usize = 256;

/// Runs one goroutine's rewind in a copy of the program (see the module docs).
pub trait Rewinder {
    /// With the guest's memory as it is now, starts a rewind whose asyncify data is at
    /// `stack_state` (`{asyncifysp, csp}`: current and end of the save area) and calls table
    /// slot `entry` with `args`, feeding every hook call to a [`Replay`] and stopping the
    /// guest when it says so. Returns the replay, or why the program failed before it ended.
    fn rewind(&mut self, entry: u32, args: u32, stack_state: u32) -> Result<Replay, String>;
}

/// What one replay saw; its [`Replay::on_hook`] decides when the replayed program must stop.
/// A default `Replay` is not armed: it ignores the hook, so the host can start the rewind (a
/// state write, perhaps out of the previous replay's "rewinding") before arming one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Whether hook calls count (see [`Replay::armed`]).
    pub armed: bool,
    /// Module offsets of the calls made while rewinding, outermost first.
    pub calls: Vec<u32>,
    /// Where the rewind ended (the state left "rewinding"), once it has.
    pub ended_at: Option<u32>,
}

/// Why a replayed program must stop now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The rewind reached the place the goroutine paused: the replay is complete.
    Reached,
    /// More than [`MAX_FRAMES`] calls.
    TooDeep,
}

impl Replay {
    /// A replay that records: arm it just before calling the goroutine's entry.
    pub fn armed() -> Replay {
        Replay {
            armed: true,
            ..Replay::default()
        }
    }

    /// One call of the replay module's hook; `Err` when the host must stop the program (a
    /// host function that returns a trap, or a JS function that throws).
    pub fn on_hook(&mut self, event: i32, a: i32, b: i32) -> Result<(), Stop> {
        if !self.armed {
            return Ok(());
        }
        match decode_hook(event, a, b) {
            Some(HookEvent::RewindCall { offset }) => {
                if self.calls.len() == MAX_FRAMES {
                    return Err(Stop::TooDeep);
                }
                self.calls.push(offset);
                Ok(())
            }
            Some(HookEvent::RewindEnd { offset }) => {
                self.ended_at = Some(offset);
                Err(Stop::Reached)
            }
            _ => Ok(()),
        }
    }
}

/// The backtrace a replay (or its failure, `Err(reason)`) gives.
pub fn from_replay(introspection: &Introspection, replay: Result<Replay, String>) -> Backtrace {
    let replay = match replay {
        Ok(replay) => replay,
        Err(reason) => {
            return Backtrace {
                frames: Vec::new(),
                problem: Some(format!("the save area does not decode: {reason}")),
            }
        }
    };
    let problem = match (replay.ended_at, replay.calls.len()) {
        (Some(_), _) => None,
        (None, MAX_FRAMES) => Some(format!(
            "stack cut: the rewind made more than {MAX_FRAMES} calls"
        )),
        (None, _) => Some(
            "the save area does not decode: the rewind returned without reaching a pause".into(),
        ),
    };
    let symbolizer = &introspection.symbolizer;
    let frames = replay
        .calls
        .iter()
        .rev()
        .map(|&offset| {
            let location = symbolizer.location(offset);
            StackFrame {
                function: symbolizer
                    .function_containing(offset)
                    .and_then(|func| symbolizer.function_name(func))
                    .map(str::to_string),
                file: location.as_ref().map(|l| l.file.clone()),
                line: location.map(|l| l.line),
                offset,
            }
        })
        .collect();
    Backtrace { frames, problem }
}
