//! What TinyGo's DWARF says about its scheduler, as observed in real wasip2 builds
//! (`reference/tinygo.md`): the `internal/task` and `runtime` types with the layouts of TinyGo
//! 0.33 and 0.34, the scheduler's globals (the run queue split into two `DW_OP_piece`s), the
//! compile units' producer and language, and the `producers` section.

use gimli::{DW_ATE_boolean, DW_ATE_signed, DW_ATE_unsigned, DW_LANG_C99};

use super::dwarf::VariableSpec;
use super::dwarf::{member_offset, MemberSpec, StructSpec, TypeSpec, UnitSpec, VarLocation};
use crate::{
    CURRENT_TASK, QUEUE_TYPE, RUN_QUEUE, SLEEP_QUEUE, SLEEP_QUEUE_BASE_TIME, TASK_TYPE,
    TIMER_NODE_TYPE, TIMER_QUEUE, TIMER_TYPE,
};

/// `DW_AT_producer` of TinyGo's units (no version: that is in the producers section).
pub const TINYGO_PRODUCER: &str = "TinyGo";
/// `DW_LANG_C99`: wasi-libc's units, and TinyGo's.
pub const LANG_C99: u16 = DW_LANG_C99.0;
/// TinyGo passes LLVM the enumerator 0xb meaning C99 (LLVM's is 0-based), so its Go units say
/// `DW_LANG_C99`.
pub const TINYGO_LANGUAGE: u16 = LANG_C99;
/// wasi-libc's units in a TinyGo 0.33 build: compiled by the clang inside it (LLVM 18).
pub const CLANG_PRODUCER: &str = "clang version 18.1.2";

/// The `producers` section fields (field, [(name, version)]) of a TinyGo 0.33 build, which
/// wasm-ld merges from its inputs (LLVM writes each object's debug units' languages and its
/// `llvm.ident`): TinyGo's units say `DW_LANG_C99`, so `language: C99`; TinyGo sets
/// `llvm.ident` to `TinyGo version 0.33.0`, and wasi-libc's objects carry clang's.
pub const TINYGO_033_PRODUCERS: &[(&str, &[(&str, &str)])] = &[
    ("language", &[("C99", "")]),
    ("processed-by", &[("TinyGo", "0.33.0"), ("clang", "18.1.2")]),
];
/// The same program built by the TinyGo 0.34 development build (the layout with `canaryPtr`).
pub const TINYGO_034_PRODUCERS: &[(&str, &[(&str, &str)])] = &[
    ("language", &[("C99", "")]),
    (
        "processed-by",
        &[("TinyGo", "0.34.0-dev"), ("clang", "18.1.2")],
    ),
];
/// The same build with `-no-debug`: no debug units, so no `language`, and TinyGo sets its
/// `llvm.ident` only with debug info, which leaves clang alone.
pub const TINYGO_033_NO_DEBUG_PRODUCERS: &[(&str, &[(&str, &str)])] =
    &[("processed-by", &[("clang", "18.1.2")])];

/// Where `internal/task.Task` keeps what the scheduler reads. Offsets of `state`'s fields are
/// from `state`, those of `stackState`'s from `stackState`; [`TaskLayout::offset_of`] gives
/// whole paths from the Task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskLayout {
    /// The Task's size.
    pub size: u32,
    /// `Next *Task`.
    pub next: u32,
    /// `Ptr unsafe.Pointer`.
    pub ptr: u32,
    /// `Data uint64`.
    pub data: u32,
    /// `gcData` (`{stackChain unsafe.Pointer}` on wasm).
    pub gc_data: u32,
    /// `FipsIndicator uint8` before `state`: not TinyGo's (see [`TaskLayout::FIELD_BEFORE_STATE`]).
    pub fips_indicator: Option<u32>,
    /// `state` (asyncify's).
    pub state: u32,
    /// `state`'s size.
    pub state_size: u32,
    /// `state.entry uintptr`: the goroutine's function-table index.
    pub entry: u32,
    /// `state.args unsafe.Pointer`.
    pub args: u32,
    /// `state.stackState`.
    pub stack_state: u32,
    /// `state.launched bool`.
    pub launched: u32,
    /// `stackState`'s size.
    pub stack_state_size: u32,
    /// `stackState.asyncifysp`: asyncify's data pointer.
    pub asyncifysp: u32,
    /// `stackState.csp`: the C stack pointer.
    pub csp: u32,
    /// `stackState.canaryPtr`: the stack's lowest address, in 0.34.
    pub canary_ptr: Option<u32>,
    /// `DeferFrame unsafe.Pointer`.
    pub defer_frame: u32,
}

impl TaskLayout {
    /// TinyGo 0.33.0: 0x30 bytes, `state` at 0x14 {entry, args, stackState{asyncifysp, csp},
    /// launched +0x10}, DeferFrame at 0x28.
    pub const TINYGO_033: TaskLayout = TaskLayout {
        size: 0x30,
        next: 0x00,
        ptr: 0x04,
        data: 0x08,
        gc_data: 0x10,
        fips_indicator: None,
        state: 0x14,
        state_size: 0x14,
        entry: 0x00,
        args: 0x04,
        stack_state: 0x08,
        launched: 0x10,
        stack_state_size: 0x08,
        asyncifysp: 0x00,
        csp: 0x04,
        canary_ptr: None,
        defer_frame: 0x28,
    };

    /// The TinyGo 0.34 development build: `stackState.canaryPtr` after `csp` (Task +0x24), so
    /// launched at +0x28 and DeferFrame at +0x2c; still 0x30 bytes.
    pub const TINYGO_034: TaskLayout = TaskLayout {
        state_size: 0x18,
        launched: 0x14,
        stack_state_size: 0x0c,
        canary_ptr: Some(0x08),
        defer_frame: 0x2c,
        ..TaskLayout::TINYGO_033
    };

    /// Not a TinyGo release's: 0.33's with a 1-byte `FipsIndicator` at 0x14 before `state`,
    /// moving `state` and everything after it by 8 (0x38 bytes), a layout no reader may assume.
    pub const FIELD_BEFORE_STATE: TaskLayout = TaskLayout {
        size: 0x38,
        fips_indicator: Some(0x14),
        state: 0x1c,
        defer_frame: 0x30,
        ..TaskLayout::TINYGO_033
    };

    /// The types of package `internal/task` (with the base types and `unsafe.Pointer` the
    /// runtime's refer to): Task laid out as `self`, `*Task`, `gcData`, `state`, `stackState`
    /// and `Queue`.
    pub fn types(&self) -> Vec<TypeSpec> {
        let base = |name: &str, size, encoding| TypeSpec::Base {
            name: name.into(),
            size,
            encoding,
        };
        let structure = |name: &str, size, members| {
            TypeSpec::Struct(StructSpec {
                name: name.into(),
                size,
                typedef: false,
                members,
            })
        };
        let member = MemberSpec::new;
        let mut stack_state = vec![
            member("asyncifysp", self.asyncifysp, "unsafe.Pointer"),
            member("csp", self.csp, "unsafe.Pointer"),
        ];
        if let Some(canary) = self.canary_ptr {
            stack_state.push(member("canaryPtr", canary, "unsafe.Pointer"));
        }
        let mut task = vec![
            member("Next", self.next, "*internal/task.Task"),
            member("Ptr", self.ptr, "unsafe.Pointer"),
            member("Data", self.data, "uint64"),
            member("gcData", self.gc_data, "internal/task.gcData"),
        ];
        if let Some(fips) = self.fips_indicator {
            task.push(member("FipsIndicator", fips, "uint8"));
        }
        task.push(member("state", self.state, "internal/task.state"));
        task.push(member("DeferFrame", self.defer_frame, "unsafe.Pointer"));
        let mut types = vec![
            base("uintptr", 4, DW_ATE_unsigned),
            base("uint64", 8, DW_ATE_unsigned),
            base("bool", 1, DW_ATE_boolean),
            TypeSpec::Pointer {
                name: "unsafe.Pointer".into(),
                to: None,
            },
            structure(TASK_TYPE, self.size, task),
            TypeSpec::Pointer {
                name: "*internal/task.Task".into(),
                to: Some(TASK_TYPE.into()),
            },
            structure(
                "internal/task.gcData",
                4,
                vec![member("stackChain", 0, "unsafe.Pointer")],
            ),
            structure(
                "internal/task.stackState",
                self.stack_state_size,
                stack_state,
            ),
            structure(
                "internal/task.state",
                self.state_size,
                vec![
                    member("entry", self.entry, "uintptr"),
                    member("args", self.args, "unsafe.Pointer"),
                    member("stackState", self.stack_state, "internal/task.stackState"),
                    member("launched", self.launched, "bool"),
                ],
            ),
            structure(
                QUEUE_TYPE,
                QUEUE_SIZE,
                vec![
                    member("head", QUEUE_HEAD, "*internal/task.Task"),
                    member("tail", QUEUE_TAIL, "*internal/task.Task"),
                ],
            ),
        ];
        if self.fips_indicator.is_some() {
            types.push(base("uint8", 1, DW_ATE_unsigned));
        }
        types
    }

    /// The offset of a dotted path in the Task (`state.stackState.csp`), from the types this
    /// layout writes. Panics on a path the Task does not have.
    pub fn offset_of(&self, path: &str) -> u32 {
        member_offset(&self.types(), TASK_TYPE, path)
            .unwrap_or_else(|| panic!("{TASK_TYPE} has no {path}"))
    }
}

/// `internal/task.Queue`: `{head, tail *Task}`.
pub const QUEUE_SIZE: u32 = 0x08;
/// `Queue.head`.
pub const QUEUE_HEAD: u32 = 0x00;
/// `Queue.tail`.
pub const QUEUE_TAIL: u32 = 0x04;

/// `runtime.timerNode`: `{next *timerNode, timer *timer, callback func(*timerNode, int64)}`.
pub const TIMER_NODE_SIZE: u32 = 0x10;
/// `timerNode.next`.
pub const TIMER_NODE_NEXT: u32 = 0x00;
/// `timerNode.timer`.
pub const TIMER_NODE_TIMER: u32 = 0x04;
/// `timerNode.callback` (a func value: `{context, fn}`).
pub const TIMER_NODE_CALLBACK: u32 = 0x08;

/// `runtime.timer`: `{when, period int64, f func(any, uintptr, int64), arg any}`.
pub const TIMER_SIZE: u32 = 0x20;
/// `timer.when`.
pub const TIMER_WHEN: u32 = 0x00;
/// `timer.period`.
pub const TIMER_PERIOD: u32 = 0x08;
/// `timer.f`.
pub const TIMER_F: u32 = 0x10;
/// `timer.arg`.
pub const TIMER_ARG: u32 = 0x18;

/// The types of package `runtime` the scheduler's globals need: `runtime.timeUnit` (int64
/// ns), `runtime.timer`, `runtime.timerNode` and their pointers. They refer to `uintptr` and
/// `unsafe.Pointer` from [`TaskLayout::types`].
pub fn runtime_types() -> Vec<TypeSpec> {
    let member = MemberSpec::new;
    let structure = |name: &str, size, members| {
        TypeSpec::Struct(StructSpec {
            name: name.into(),
            size,
            typedef: false,
            members,
        })
    };
    // A Go func value is {context, fn}; an interface is {typecode, value}.
    let pair = |name: &str, first: &str, second: &str| {
        structure(
            name,
            8,
            vec![
                member(first, 0, "unsafe.Pointer"),
                member(second, 4, "uintptr"),
            ],
        )
    };
    vec![
        TypeSpec::Base {
            name: "int64".into(),
            size: 8,
            encoding: DW_ATE_signed,
        },
        TypeSpec::Typedef {
            name: "runtime.timeUnit".into(),
            to: "int64".into(),
        },
        structure(
            TIMER_TYPE,
            TIMER_SIZE,
            vec![
                member("when", TIMER_WHEN, "int64"),
                member("period", TIMER_PERIOD, "int64"),
                member("f", TIMER_F, "func(any, uintptr, int64)"),
                member("arg", TIMER_ARG, "interface {}"),
            ],
        ),
        TypeSpec::Pointer {
            name: "*runtime.timer".into(),
            to: Some(TIMER_TYPE.into()),
        },
        structure(
            TIMER_NODE_TYPE,
            TIMER_NODE_SIZE,
            vec![
                member("next", TIMER_NODE_NEXT, "*runtime.timerNode"),
                member("timer", TIMER_NODE_TIMER, "*runtime.timer"),
                member(
                    "callback",
                    TIMER_NODE_CALLBACK,
                    "func(*runtime.timerNode, int64)",
                ),
            ],
        ),
        TypeSpec::Pointer {
            name: "*runtime.timerNode".into(),
            to: Some(TIMER_NODE_TYPE.into()),
        },
        pair("func(*runtime.timerNode, int64)", "context", "fn"),
        pair("func(any, uintptr, int64)", "context", "fn"),
        pair("interface {}", "typecode", "value"),
    ]
}

/// Where a program keeps the scheduler's globals; `None` is a global described without
/// `DW_AT_location` (optimised away: e.g. the sleep queue of a program that never sleeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerGlobals {
    /// `runtime.sleepQueue`.
    pub sleep_queue: Option<u32>,
    /// `runtime.sleepQueueBaseTime`.
    pub sleep_queue_base_time: Option<u32>,
    /// `runtime.runqueue`'s head and tail, each a 4-byte `DW_OP_piece` of its own (LLVM split
    /// the struct global; the halves need not be adjacent).
    pub run_queue: Option<(u32, u32)>,
    /// `runtime.timerQueue`.
    pub timer_queue: Option<u32>,
    /// `internal/task.currentTask`.
    pub current_task: Option<u32>,
}

impl SchedulerGlobals {
    /// The variables of package `runtime` (the queues and the base time) and of package
    /// `internal/task` (`currentTask`), typed with [`runtime_types`] and [`TaskLayout::types`].
    pub fn variables(&self) -> (Vec<VariableSpec>, Vec<VariableSpec>) {
        let at = |address: Option<u32>| address.map_or(VarLocation::None, VarLocation::Address);
        let variable = |name: &str, ty: &str, location| VariableSpec {
            name: name.into(),
            ty: ty.into(),
            external: true,
            location,
        };
        let run_queue = self.run_queue.map_or(VarLocation::None, |(head, tail)| {
            VarLocation::Pieces(vec![(head, 4), (tail, 4)])
        });
        (
            vec![
                variable(SLEEP_QUEUE, "*internal/task.Task", at(self.sleep_queue)),
                variable(
                    SLEEP_QUEUE_BASE_TIME,
                    "runtime.timeUnit",
                    at(self.sleep_queue_base_time),
                ),
                variable(RUN_QUEUE, QUEUE_TYPE, run_queue),
                variable(TIMER_QUEUE, "*runtime.timerNode", at(self.timer_queue)),
            ],
            vec![variable(
                CURRENT_TASK,
                "*internal/task.Task",
                at(self.current_task),
            )],
        )
    }
}

/// A compile unit of Go package `name` as TinyGo writes it: producer `TinyGo`, language C99,
/// compiled in `.`.
pub fn tinygo_unit(name: &str) -> UnitSpec {
    UnitSpec {
        name: name.into(),
        producer: Some(TINYGO_PRODUCER.into()),
        language: Some(TINYGO_LANGUAGE),
        comp_dir: ".".into(),
        ..UnitSpec::default()
    }
}

/// The units of packages `runtime` and `internal/task` with their types (the Task laid out as
/// `task`) and the scheduler's globals at `globals`; add subprograms and lines as needed.
pub fn scheduler_units(task: TaskLayout, globals: &SchedulerGlobals) -> [UnitSpec; 2] {
    let (runtime_variables, task_variables) = globals.variables();
    [
        UnitSpec {
            types: runtime_types(),
            variables: runtime_variables,
            ..tinygo_unit("runtime")
        },
        UnitSpec {
            types: task.types(),
            variables: task_variables,
            ..tinygo_unit("internal/task")
        },
    ]
}
