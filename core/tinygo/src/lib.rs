//! TinyGo's scheduler seen from outside the program, with no change to it.
//!
//! - [`Introspection::read`] takes the program's core module (the component's module 0) and
//!   finds, in its DWARF, the scheduler's globals ([`SCHEDULER_SYMBOLS`]) and the layouts of
//!   the structs they point to ([`SCHEDULER_TYPES`]); nothing about TinyGo's memory layout is
//!   assumed. The name section, element segments, code and DWARF (line tables, subprograms,
//!   inlined subroutines) give a [`Symbolizer`]: Go file:line of an instruction, and for a
//!   goroutine's entry the Go function it runs. DWARF compile units and the `producers`
//!   section give the program's [`language`](Introspection::language).
//! - [`walk`] reads the queues out of guest memory (anything implementing [`ReadMemory`])
//!   into a [`SchedulerSnapshot`](pollscope_protocol::SchedulerSnapshot); every walk is
//!   bounded, and corrupt memory yields problems, never a hang or a panic.
//! - [`instrument`] rewrites the module so every write of asyncify's state global, and the
//!   scheduler's indirect calls of goroutine entries, report to a host import (the asyncify
//!   flight recorder); [`task_switch`] turns a report into a launch, unwind or rewind of the
//!   current goroutine. Only what every asyncified build has is used ([`asyncify`]): TinyGo's
//!   `tinygo_*` task-switch functions do not survive `wasm-opt -Oz`.
//! - [`backtrace`] reconstructs a parked goroutine's call stack from its asyncify save area by
//!   replaying its rewind in a copy ([`instrument_for_replay`]). DWARF and data addresses are
//!   always read from the original module.
//!
//! No file system, no threads: the library builds for `wasm32-unknown-unknown` and runs in
//! the browser shim as well as in the CLI.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::HashMap;

use pollscope_protocol::{TaskLayoutSummary, TinyGoSummary};

pub mod asyncify;
pub mod backtrace;
mod debuginfo;
mod dwarf;
mod instrument;
mod language;
mod layout;
mod module;
mod switches;
mod symbolize;
mod walk;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

pub use asyncify::AsyncifyRuntime;
pub use instrument::{
    decode_hook, instrument, instrument_for_replay, FunctionMap, HookEvent, Instrumentation,
    Instrumented, HOOK_MODULE, HOOK_NAME, REPLAY_TABLE_EXPORT,
};
pub use language::{describe as describe_language, go_source_path, UnitLanguage};
pub use layout::{Field, Location, Piece, StructLayout};
pub use switches::{task_switch, TaskSwitch};
pub use symbolize::{SourceLocation, Symbolizer};
pub use walk::{walk, walk_with_backtraces, ReadMemory, MAX_QUEUE_ITEMS};

/// `runtime.sleepQueue`: `*internal/task.Task`, delta-encoded wake times in `Data`.
pub const SLEEP_QUEUE: &str = "runtime.sleepQueue";
/// `runtime.sleepQueueBaseTime`: int64 ns, the base of the sleep queue's deltas.
pub const SLEEP_QUEUE_BASE_TIME: &str = "runtime.sleepQueueBaseTime";
/// `runtime.runqueue`: `internal/task.Queue{head, tail}`.
pub const RUN_QUEUE: &str = "runtime.runqueue";
/// `runtime.timerQueue`: `*runtime.timerNode`, sorted by `timer.when`.
pub const TIMER_QUEUE: &str = "runtime.timerQueue";
/// `internal/task.currentTask`: `*Task`, nil inside the scheduler.
pub const CURRENT_TASK: &str = "internal/task.currentTask";

/// The scheduler globals, in report order.
pub const SCHEDULER_SYMBOLS: [&str; 5] = [
    SLEEP_QUEUE,
    SLEEP_QUEUE_BASE_TIME,
    RUN_QUEUE,
    TIMER_QUEUE,
    CURRENT_TASK,
];

/// `internal/task.Task`.
pub const TASK_TYPE: &str = "internal/task.Task";
/// `internal/task.Queue`.
pub const QUEUE_TYPE: &str = "internal/task.Queue";
/// `runtime.timerNode`.
pub const TIMER_NODE_TYPE: &str = "runtime.timerNode";
/// `runtime.timer`.
pub const TIMER_TYPE: &str = "runtime.timer";

/// The struct types whose layouts the walk reads.
pub const SCHEDULER_TYPES: [&str; 4] = [TASK_TYPE, QUEUE_TYPE, TIMER_NODE_TYPE, TIMER_TYPE];

/// Why a module cannot be introspected at all (missing DWARF is not an error: see
/// [`Introspection::dwarf`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not a core wasm module (a component must be split first).
    #[error("not a core wasm module")]
    NotCoreModule,
    /// The module does not parse.
    #[error("malformed module: {0}")]
    Malformed(#[from] wasmparser::BinaryReaderError),
}

/// What one core module reveals of TinyGo's scheduler.
#[derive(Debug)]
pub struct Introspection {
    /// The module has a `.debug_info` section.
    pub dwarf: bool,
    /// Location of each of [`SCHEDULER_SYMBOLS`] (those absent included).
    pub symbols: Vec<(&'static str, Location)>,
    /// Layouts of [`SCHEDULER_TYPES`] that DWARF describes, by type name.
    pub layouts: HashMap<&'static str, StructLayout>,
    /// Names, table slots and source lines.
    pub symbolizer: Symbolizer,
    /// Exported functions (asyncify's among them).
    pub exports: Vec<String>,
    /// The source language, e.g. `Go (TinyGo 0.33.0)`, from DWARF compile units and the
    /// `producers` section (see [`describe_language`]).
    pub language: Option<String>,
    /// DWARF that did not parse, described; what did parse is still used.
    pub problems: Vec<String>,
    /// Asyncify's runtime (state global, API functions), or why the module has none.
    pub asyncify: Result<AsyncifyRuntime, String>,
}

impl Introspection {
    /// Reads the program's core module. Errors only for bytes that are not a core module;
    /// no DWARF gives an introspection with every symbol [`Location::Absent`].
    pub fn read(module: &[u8]) -> Result<Introspection, Error> {
        let info = module::scan(module)?;
        let asyncify = asyncify::find(module)?;
        let has_dwarf = info.debug_sections.contains_key(".debug_info");
        let dwarf = has_dwarf
            .then(|| dwarf::load(&info.debug_sections))
            .flatten();
        let found = match &dwarf {
            Some(dwarf) => dwarf::read(dwarf, &SCHEDULER_SYMBOLS, &SCHEDULER_TYPES),
            None => dwarf::Found::default(),
        };
        let mut variables = found.variables;
        let mut layouts = found.layouts;
        let mut problems = found.problems;
        let debug = dwarf.as_ref().map(debuginfo::DebugInfo::read);
        let units: Vec<UnitLanguage<'_>> = debug
            .iter()
            .flat_map(|debug| &debug.units)
            .map(|unit| UnitLanguage {
                language: unit.language,
                producer: unit.producer.as_deref(),
            })
            .collect();
        let language = language::describe(&units, &info.producers);
        if let Some(debug) = &debug {
            problems.extend(debug.problems.iter().cloned());
        }
        Ok(Introspection {
            dwarf: has_dwarf,
            symbols: SCHEDULER_SYMBOLS
                .iter()
                .map(|name| (*name, variables.remove(*name).unwrap_or(Location::Absent)))
                .collect(),
            layouts: SCHEDULER_TYPES
                .iter()
                .filter_map(|name| Some((*name, layouts.remove(*name)?)))
                .collect(),
            symbolizer: symbolize::Symbolizer::new(&info, debug, module),
            exports: info.exports,
            language,
            problems,
            asyncify,
        })
    }

    /// Where the scheduler global `name` lives ([`Location::Absent`] for unknown names).
    pub fn symbol(&self, name: &str) -> &Location {
        self.symbols
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&Location::Absent, |(_, location)| location)
    }

    /// The layout of one of [`SCHEDULER_TYPES`].
    pub fn layout(&self, name: &str) -> Option<&StructLayout> {
        self.layouts.get(name)
    }

    /// What a Hello reports. `instrumentable` is whether [`instrument`] finds asyncify's
    /// runtime (every asyncified build has it, whatever was inlined).
    pub fn summary(&self) -> TinyGoSummary {
        let with = |wanted: fn(&Location) -> bool| {
            self.symbols
                .iter()
                .filter(|(_, location)| wanted(location))
                .map(|(name, _)| name.to_string())
                .collect()
        };
        TinyGoSummary {
            dwarf: self.dwarf,
            symbols_found: with(|l| matches!(l, Location::Address(_) | Location::Pieces(_))),
            symbols_optimised_away: with(|l| *l == Location::OptimisedAway),
            task_layout: self.layout(TASK_TYPE).map(|task| TaskLayoutSummary {
                size: task.size.unwrap_or(0),
                fields: task
                    .fields
                    .iter()
                    .map(|f| (f.path.clone(), f.offset))
                    .collect(),
            }),
            instrumentable: self.asyncify.is_ok(),
            language: self.language.clone(),
        }
    }
}
