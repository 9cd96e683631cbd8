//! Inside a TinyGo program: its scheduler's queues read from guest memory through DWARF, and
//! the asyncify task switches a rewritten module reports.
//!
//! Two clocks, as in the rest of the telemetry: `at` fields are real ns on the wasm thread's
//! monotonic clock; wake and timer times are the guest's (possibly scaled) monotonic ns, which
//! is what TinyGo's `ticks()` reads on wasip2. Goroutine ids are task addresses: stable for a
//! goroutine's life, reused after it ends.

use serde::{Deserialize, Serialize};

/// The scheduler's state at one instant, read while the guest is idle or paused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerSnapshot {
    /// When it was read (real ns).
    pub at: u64,
    /// The guest's monotonic clock then (ns), when the host knew it: countdowns are
    /// `wake_at - guest_now`.
    #[serde(default)]
    pub guest_now: Option<u64>,
    /// `runtime.sleepQueueBaseTime` (guest ns); `None` when optimised away or unreadable.
    pub base_time: Option<u64>,
    /// `internal/task.currentTask`; `None` inside the scheduler (always so at an idle wait).
    pub current: Option<Goroutine>,
    /// `runtime.sleepQueue`, in wake order, each with its absolute [`Goroutine::wake_at`].
    pub sleep_queue: Vec<Goroutine>,
    /// `runtime.runqueue`, head first: who runs next.
    pub run_queue: Vec<Goroutine>,
    /// `runtime.timerQueue`, in firing order.
    pub timers: Vec<TimerEntry>,
    /// What could not be read and why (`sleep queue: cycle at 0x…`, `pointer 0x… outside
    /// memory`, `runtime.sleepQueue optimised away`); the lists above stop where a problem
    /// was found.
    pub problems: Vec<String>,
}

/// One goroutine (an `internal/task.Task`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goroutine {
    /// The task's address in linear memory.
    pub id: u32,
    /// The function it was started with (`go f()`), when the table and DWARF say.
    pub entry: Option<EntryFunc>,
    /// Absolute wake time (guest ns) while in the sleep queue.
    pub wake_at: Option<u64>,
    /// Its asyncify stack pointers, when the task layout has them.
    pub stack: Option<StackFill>,
    /// Where it was found.
    pub state: TaskState,
    /// Its call stack while parked (innermost frame first), reconstructed from its asyncify
    /// save area; `None` when not asked for or not parked.
    #[serde(default)]
    pub backtrace: Option<Backtrace>,
}

/// A parked goroutine's call stack, as its asyncify save area records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backtrace {
    /// Innermost first: where it paused, then each caller up to its entry function.
    pub frames: Vec<StackFrame>,
    /// Why the frames stop short or are missing (a save area that does not decode), when
    /// they do.
    pub problem: Option<String>,
}

/// One frame of a [`Backtrace`]: a call the goroutine is inside of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFrame {
    /// The function (name section) making the call.
    pub function: Option<String>,
    /// Go source file of the call, from DWARF line tables.
    pub file: Option<String>,
    /// Its line.
    pub line: Option<u32>,
    /// Module offset of the call in the program module.
    pub offset: u32,
}

/// Which scheduler list a goroutine was found in: a hint, since a goroutine blocked on a
/// channel is in none and so is not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskState {
    /// `currentTask`: running (or unwinding into the scheduler).
    Running,
    /// In the run queue.
    Runnable,
    /// In the sleep queue.
    Sleeping,
}

/// A goroutine's entry function: `state.entry` (a table index) resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryFunc {
    /// The function table index stored in the task.
    pub table_index: u32,
    /// The function index it names, when the table maps it.
    pub func: Option<u32>,
    /// Its name from the name section: TinyGo's wrapper, e.g. `main.worker$gowrapper`, or
    /// `runtime.run$1$gowrapper` for main's goroutine.
    pub name: Option<String>,
    /// The Go function the goroutine runs, looked through the wrapper (and, for main's
    /// goroutine, the runtime's start-up) to the function it calls or has inlined, e.g.
    /// `main.worker`, `main.main`; `None` when nothing says (a `go` of a func value).
    #[serde(default)]
    pub function: Option<String>,
    /// Go source file of [`EntryFunc::function`]'s declaration (of the entry itself when
    /// that is unknown), from DWARF; the standard library's and TinyGo's own sources as
    /// `$GOROOT/src/…`.
    pub file: Option<String>,
    /// That line.
    pub line: Option<u32>,
}

/// Asyncify's view of a goroutine stack (`state.stackState`): the unwind buffer grows up from
/// the bottom to `asyncifysp`, the C stack down from the top to `csp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFill {
    /// Asyncify data pointer: the end of the saved frames.
    pub asyncifysp: u32,
    /// The saved `__stack_pointer`.
    pub csp: u32,
    /// The stack's lowest address (`canaryPtr`), when the TinyGo version has one.
    pub bottom: Option<u32>,
}

/// One `runtime.timerNode` in the timer queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerEntry {
    /// The node's address.
    pub node: u32,
    /// Absolute firing time (guest ns).
    pub when: u64,
    /// Repeat period (ns), 0 for a one-shot timer.
    pub period: u64,
}

/// What an [`AsyncifyEvent`] is: read from asyncify's state changes and the scheduler's
/// calls of goroutine entries, never from TinyGo function names (which `wasm-opt` inlines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AsyncifyKind {
    /// A goroutine's first run: the scheduler calls its entry with asyncify's state normal.
    Launch,
    /// A goroutine pauses: the state goes 0→1 (enter), then 1→0 in the scheduler (leave).
    Unwind,
    /// A paused goroutine resumes: the state goes 0→2 (enter), then 2→0 where it paused
    /// (leave).
    Rewind,
    /// A goroutine's function returned: the scheduler stopped an unwind that never started.
    Exit,
}

/// The start or the end of the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AsyncifyPhase {
    /// It starts (an unwind or rewind begins, a launch calls the entry).
    Enter,
    /// It ends (the scheduler has the goroutine back, or the goroutine runs again).
    Leave,
}

/// One call of the flight recorder's hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncifyEvent {
    /// When (real ns).
    pub at: u64,
    /// Which function.
    pub kind: AsyncifyKind,
    /// Entering or leaving.
    pub phase: AsyncifyPhase,
    /// The goroutine it belongs to (its task address, `internal/task.currentTask` then);
    /// 0 when unknown.
    pub ptr: u32,
    /// `asyncify_get_state()` then: 0 normal, 1 unwinding, 2 rewinding; `None` when unread.
    pub asyncify_state: Option<u32>,
    /// The Go function the goroutine runs (its entry looked through TinyGo's wrapper).
    #[serde(default)]
    pub function: Option<String>,
}

/// What the host found of TinyGo's scheduler in the program module (sent in the Hello).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TinyGoSummary {
    /// The program module has DWARF.
    pub dwarf: bool,
    /// Scheduler globals with an address, e.g. `runtime.sleepQueue`.
    pub symbols_found: Vec<String>,
    /// Scheduler globals present without a location (unused by the program).
    pub symbols_optimised_away: Vec<String>,
    /// `internal/task.Task`'s size and field offsets, when DWARF describes it.
    pub task_layout: Option<TaskLayoutSummary>,
    /// The flight recorder can instrument the module (it has asyncify's runtime:
    /// `asyncify_get_state` and the state global it reads).
    pub instrumentable: bool,
    /// The program's source language as DWARF's compile units and the `producers` section
    /// tell it, e.g. `Go (TinyGo 0.33.0)` (TinyGo's units say `DW_LANG_C99`: the producer and
    /// `processed-by` say Go).
    #[serde(default)]
    pub language: Option<String>,
}

/// `internal/task.Task` as DWARF lays it out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLayoutSummary {
    /// Size in bytes.
    pub size: u32,
    /// (dotted field path, byte offset), e.g. (`state.entry`, 0x14).
    pub fields: Vec<(String, u32)>,
}

#[cfg(test)]
mod tests {
    use crate::*;

    fn goroutine(id: u32, state: TaskState) -> Goroutine {
        Goroutine {
            id,
            entry: Some(EntryFunc {
                table_index: 3,
                func: Some(17),
                name: Some("main.worker$gowrapper".into()),
                function: Some("main.worker".into()),
                file: Some("/src/main.go".into()),
                line: Some(12),
            }),
            wake_at: Some(100_000_000),
            stack: Some(StackFill {
                asyncifysp: 0x2_0010,
                csp: 0x2_fff0,
                bottom: None,
            }),
            state,
            backtrace: Some(Backtrace {
                frames: vec![StackFrame {
                    function: Some("runtime.sleep".into()),
                    file: Some("/src/main.go".into()),
                    line: Some(10),
                    offset: 0x1234,
                }],
                problem: None,
            }),
        }
    }

    fn samples() -> Vec<FromWasm> {
        vec![
            FromWasm::Scheduler(SchedulerSnapshot {
                at: 5,
                guest_now: Some(7),
                base_time: Some(1),
                current: None,
                sleep_queue: vec![goroutine(0x1_0000, TaskState::Sleeping)],
                run_queue: vec![goroutine(0x1_0030, TaskState::Runnable)],
                timers: vec![TimerEntry {
                    node: 0x500,
                    when: 9,
                    period: 0,
                }],
                problems: vec!["sleep queue: cycle at 0x10000".into()],
            }),
            FromWasm::Asyncify {
                events: vec![
                    AsyncifyEvent {
                        at: 1,
                        kind: AsyncifyKind::Unwind,
                        phase: AsyncifyPhase::Enter,
                        ptr: 0x1_001c,
                        asyncify_state: Some(0),
                        function: Some("main.worker".into()),
                    },
                    AsyncifyEvent {
                        at: 2,
                        kind: AsyncifyKind::Rewind,
                        phase: AsyncifyPhase::Leave,
                        ptr: 0x1_0014,
                        asyncify_state: None,
                        function: None,
                    },
                ],
            },
            FromWasm::Hello(Hello {
                protocol: PROTOCOL_VERSION,
                component: ComponentSummary::default(),
                host_functions: vec![],
                tinygo: Some(TinyGoSummary {
                    dwarf: true,
                    symbols_found: vec!["runtime.runqueue".into()],
                    symbols_optimised_away: vec!["runtime.sleepQueue".into()],
                    task_layout: Some(TaskLayoutSummary {
                        size: 0x30,
                        fields: vec![("state.entry".into(), 0x14)],
                    }),
                    instrumentable: true,
                    language: Some("Go (TinyGo 0.33.0)".into()),
                }),
            }),
        ]
    }

    #[test]
    fn scheduler_messages_round_trip_as_json() {
        for message in samples() {
            let json = encode_json(&message).unwrap();
            assert_eq!(decode_json::<FromWasm>(json.as_bytes()), Ok(message));
        }
    }

    #[test]
    fn wire_names_are_kebab_case() {
        let json = encode_json(&samples()[1]).unwrap();
        assert!(json.contains(r#""type":"asyncify""#), "{json}");
        assert!(json.contains(r#""kind":"unwind""#), "{json}");
        assert!(json.contains(r#""phase":"enter""#), "{json}");
        let json = encode_json(&samples()[0]).unwrap();
        assert!(json.contains(r#""type":"scheduler""#), "{json}");
        assert!(json.contains(r#""state":"sleeping""#), "{json}");
    }

    #[test]
    fn a_hello_without_tinygo_still_decodes() {
        let old = br#"{"v":1,"type":"hello","protocol":1,"component":{"size":0,"imports":[],"exports":[],"producers":[],"dwarf":false,"name_section":false,"asyncify_exports":[]},"host_functions":[]}"#;
        let FromWasm::Hello(hello) = decode_json::<FromWasm>(old).unwrap() else {
            panic!("not a hello");
        };
        assert_eq!(hello.tinygo, None);
    }

    /// `EntryFunc::function` and `TinyGoSummary::language` came later: a peer that does not
    /// send them is still understood.
    #[test]
    fn entries_without_a_function_and_summaries_without_a_language_still_decode() {
        let old = br#"{"v":1,"type":"scheduler","at":1,"base_time":null,"current":{"id":4,"entry":{"table_index":1,"func":2,"name":"main.worker$gowrapper","file":null,"line":null},"wake_at":null,"stack":null,"state":"running"},"sleep_queue":[],"run_queue":[],"timers":[],"problems":[]}"#;
        let FromWasm::Scheduler(snapshot) = decode_json::<FromWasm>(old).unwrap() else {
            panic!("not a scheduler snapshot");
        };
        let entry = snapshot.current.unwrap().entry.unwrap();
        assert_eq!(entry.name.as_deref(), Some("main.worker$gowrapper"));
        assert_eq!(entry.function, None);
        let old = br#"{"v":1,"type":"hello","protocol":1,"component":{"size":0,"imports":[],"exports":[],"producers":[],"dwarf":false,"name_section":false,"asyncify_exports":[]},"host_functions":[],"tinygo":{"dwarf":true,"symbols_found":[],"symbols_optimised_away":[],"task_layout":null,"instrumentable":false}}"#;
        let FromWasm::Hello(hello) = decode_json::<FromWasm>(old).unwrap() else {
            panic!("not a hello");
        };
        assert_eq!(hello.tinygo.unwrap().language, None);
    }

    #[test]
    fn malformed_scheduler_messages_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (br#"{"v":1,"type":"asyncify"}"#, "missing field"),
            (
                br#"{"v":1,"type":"asyncify","events":[{"at":1,"kind":"yield","phase":"enter","ptr":0,"asyncify_state":null}]}"#,
                "unknown variant",
            ),
            (
                br#"{"v":1,"type":"scheduler","at":1}"#,
                "missing field",
            ),
            (
                br#"{"v":1,"type":"scheduler","at":-1,"base_time":null,"current":null,"sleep_queue":[],"run_queue":[],"timers":[],"problems":[]}"#,
                "invalid value",
            ),
            (
                br#"{"v":1,"type":"scheduler","at":1,"base_time":null,"current":null,"sleep_queue":[{"id":1,"entry":null,"wake_at":null,"stack":null,"state":"zombie"}],"run_queue":[],"timers":[],"problems":[]}"#,
                "unknown variant",
            ),
        ];
        for (bytes, want) in cases {
            let err = decode_json::<FromWasm>(bytes).unwrap_err().to_string();
            assert!(err.contains(want), "{err} lacks {want}");
        }
    }
}
