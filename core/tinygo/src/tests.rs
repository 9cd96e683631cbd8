//! Reading TinyGo-shaped modules built by [`crate::testing`]: DWARF lookup, layouts, the
//! symbolizer and queue walks over memory images.

use pollscope_protocol::TaskState;

use crate::testing::{
    append_custom_sections, module_with_functions, scheduler_units, tinygo_unit, write_dwarf,
    DwarfSpec, FunctionSpec, MemoryImage, SchedulerGlobals, TaskLayout, TypeSpec, SOURCE_FILE,
    TABLE_BASE,
};
use crate::*;

/// Addresses the scheduler globals get in [`tinygo_dwarf`].
mod addr {
    /// `runtime.sleepQueue`.
    pub const SLEEP_QUEUE: u32 = 0x1000;
    /// `runtime.sleepQueueBaseTime`.
    pub const BASE_TIME: u32 = 0x1008;
    /// `runtime.runqueue`'s head piece.
    pub const RUN_QUEUE_HEAD: u32 = 0x1010;
    /// `runtime.runqueue`'s tail piece (elsewhere: the pieces are not adjacent).
    pub const RUN_QUEUE_TAIL: u32 = 0x1040;
    /// `runtime.timerQueue`.
    pub const TIMER_QUEUE: u32 = 0x1018;
    /// `internal/task.currentTask`.
    pub const CURRENT_TASK: u32 = 0x101c;
}

/// The five scheduler globals and the struct types as a TinyGo build writes them, with the
/// Task laid out as `task` and named through a typedef (a reader must see through one), in
/// units `main` (which gets the line table), `runtime` and `internal/task`;
/// `sleep_queue_used: false` leaves `runtime.sleepQueue` without a location.
fn tinygo_dwarf(task: TaskLayout, sleep_queue_used: bool) -> DwarfSpec {
    let globals = SchedulerGlobals {
        sleep_queue: sleep_queue_used.then_some(addr::SLEEP_QUEUE),
        sleep_queue_base_time: Some(addr::BASE_TIME),
        run_queue: Some((addr::RUN_QUEUE_HEAD, addr::RUN_QUEUE_TAIL)),
        timer_queue: Some(addr::TIMER_QUEUE),
        current_task: Some(addr::CURRENT_TASK),
    };
    let [runtime, mut task_unit] = scheduler_units(task, &globals);
    for ty in &mut task_unit.types {
        if let TypeSpec::Struct(s) = ty {
            s.typedef |= s.name == TASK_TYPE;
        }
    }
    DwarfSpec::new(vec![tinygo_unit("main"), runtime, task_unit])
}

fn functions() -> Vec<FunctionSpec> {
    [
        "runtime.run",
        "main.sleeper$gowrapper",
        "main.worker$gowrapper",
    ]
    .iter()
    .zip([10, 20, 30])
    .map(|(name, line)| FunctionSpec {
        name: name.to_string(),
        line,
    })
    .collect()
}

fn introspect(dwarf: DwarfSpec) -> Introspection {
    let (module, _) = module_with_functions(&functions(), Some(dwarf));
    Introspection::read(&module).unwrap()
}

#[test]
fn finds_the_five_globals_with_pieces_and_a_missing_location() {
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_033, false));
    assert!(found.dwarf);
    assert_eq!(found.symbol(SLEEP_QUEUE), &Location::OptimisedAway);
    assert_eq!(
        found.symbol(SLEEP_QUEUE_BASE_TIME),
        &Location::Address(addr::BASE_TIME)
    );
    assert_eq!(
        found.symbol(RUN_QUEUE),
        &Location::Pieces(vec![
            Piece {
                offset: 0,
                size: 4,
                address: Some(addr::RUN_QUEUE_HEAD)
            },
            Piece {
                offset: 4,
                size: 4,
                address: Some(addr::RUN_QUEUE_TAIL)
            },
        ])
    );
    assert_eq!(
        found.symbol(TIMER_QUEUE),
        &Location::Address(addr::TIMER_QUEUE)
    );
    assert_eq!(
        found.symbol(CURRENT_TASK),
        &Location::Address(addr::CURRENT_TASK)
    );
    assert_eq!(found.symbol("main.notThere"), &Location::Absent);
    let summary = found.summary();
    assert_eq!(
        summary.symbols_optimised_away,
        vec![SLEEP_QUEUE.to_string()]
    );
    assert_eq!(summary.symbols_found.len(), 4);
    assert!(
        !summary.instrumentable,
        "the test module has no tinygo_* functions"
    );
}

#[test]
fn task_layout_matches_the_observed_tinygo_033_one() {
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_033, true));
    let task = found.layout(TASK_TYPE).unwrap();
    assert_eq!(task.size, Some(0x30));
    let offsets: Vec<(&str, u32)> = [
        "Next",
        "Ptr",
        "Data",
        "gcData",
        "state",
        "state.entry",
        "state.args",
        "state.stackState",
        "state.stackState.asyncifysp",
        "state.stackState.csp",
        "state.launched",
        "DeferFrame",
    ]
    .iter()
    .map(|path| (*path, task.offset(path).unwrap()))
    .collect();
    assert_eq!(
        offsets,
        vec![
            ("Next", 0),
            ("Ptr", 4),
            ("Data", 8),
            ("gcData", 0x10),
            ("state", 0x14),
            ("state.entry", 0x14),
            ("state.args", 0x18),
            ("state.stackState", 0x1c),
            ("state.stackState.asyncifysp", 0x1c),
            ("state.stackState.csp", 0x20),
            ("state.launched", 0x24),
            ("DeferFrame", 0x28),
        ]
    );
    assert_eq!(task.field("Data").unwrap().size, Some(8));
    assert_eq!(task.offset("csp"), Some(0x20), "found by suffix");
    let queue = found.layout(QUEUE_TYPE).unwrap();
    assert_eq!(
        (queue.offset("head"), queue.offset("tail")),
        (Some(0), Some(4))
    );
    let node = found.layout(TIMER_NODE_TYPE).unwrap();
    assert_eq!(
        (
            node.offset("next"),
            node.offset("timer"),
            node.offset("callback")
        ),
        (Some(0), Some(4), Some(8))
    );
    let timer = found.layout(TIMER_TYPE).unwrap();
    assert_eq!(
        (timer.offset("when"), timer.offset("period"), timer.size),
        (Some(0), Some(8), Some(0x20))
    );
}

#[test]
fn task_layout_matches_the_tinygo_034_one_with_its_canary() {
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_034, true));
    let task = found.layout(TASK_TYPE).unwrap();
    assert_eq!(task.size, Some(0x30));
    let offsets: Vec<(&str, Option<u32>)> = [
        "state.entry",
        "state.stackState.asyncifysp",
        "state.stackState.csp",
        "state.stackState.canaryPtr",
        "state.launched",
        "DeferFrame",
    ]
    .iter()
    .map(|path| (*path, task.offset(path)))
    .collect();
    assert_eq!(
        offsets,
        vec![
            ("state.entry", Some(0x14)),
            ("state.stackState.asyncifysp", Some(0x1c)),
            ("state.stackState.csp", Some(0x20)),
            ("state.stackState.canaryPtr", Some(0x24)),
            ("state.launched", Some(0x28)),
            ("DeferFrame", Some(0x2c)),
        ]
    );
}

#[test]
fn an_extra_task_field_moves_offsets_and_they_are_read_not_assumed() {
    let found = introspect(tinygo_dwarf(TaskLayout::FIELD_BEFORE_STATE, true));
    let task = found.layout(TASK_TYPE).unwrap();
    assert_eq!(task.size, Some(0x38));
    assert_eq!(task.offset("FipsIndicator"), Some(0x14));
    assert_eq!(task.offset("state.entry"), Some(0x1c));
    assert_eq!(task.offset("asyncifysp"), Some(0x24));
    assert_eq!(task.offset("DeferFrame"), Some(0x30));
    assert_eq!(task.offset("Next"), Some(0));
}

#[test]
fn dwarf_5_reads_the_same() {
    let mut spec = tinygo_dwarf(TaskLayout::TINYGO_033, true);
    spec.version = 5;
    let found = introspect(spec);
    assert_eq!(
        found.symbol(SLEEP_QUEUE),
        &Location::Address(addr::SLEEP_QUEUE)
    );
    assert_eq!(found.layout(TASK_TYPE).unwrap().offset("csp"), Some(0x20));
    let runtime_run = found.symbolizer.function_index("runtime.run").unwrap();
    assert_eq!(
        found
            .symbolizer
            .function_location(runtime_run)
            .unwrap()
            .line,
        10
    );
}

#[test]
fn without_dwarf_everything_is_absent_and_the_walk_says_why() {
    let (module, _) = module_with_functions(&functions(), None);
    let found = Introspection::read(&module).unwrap();
    assert!(!found.dwarf);
    assert!(found.symbols.iter().all(|(_, l)| *l == Location::Absent));
    assert!(found.layouts.is_empty());
    assert_eq!(
        found.symbolizer.function_name(1),
        Some("main.sleeper$gowrapper"),
        "names survive -no-debug"
    );
    let snapshot = walk(&found, &vec![0u8; 64], 1);
    assert!(
        snapshot.problems[0].contains("-no-debug"),
        "{:?}",
        snapshot.problems
    );
}

#[test]
fn not_a_core_module_is_an_error_not_a_panic() {
    assert!(matches!(
        Introspection::read(b"\0asm\x0d\0\x01\0"),
        Err(Error::NotCoreModule) | Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Introspection::read(b"junk"),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn garbage_debug_sections_do_not_panic() {
    let (module, _) = module_with_functions(&functions(), None);
    let module = append_custom_sections(
        &module,
        &[
            (".debug_info".into(), vec![0xff; 40]),
            (".debug_abbrev".into(), vec![1, 2, 3]),
        ],
    );
    let found = Introspection::read(&module).unwrap();
    assert!(found.dwarf);
    assert!(!found.problems.is_empty());
    assert_eq!(found.symbol(SLEEP_QUEUE), &Location::Absent);
}

#[test]
fn symbolizer_resolves_table_slots_names_and_lines() {
    let (module, first) = module_with_functions(
        &functions(),
        Some(tinygo_dwarf(TaskLayout::TINYGO_033, true)),
    );
    let found = Introspection::read(&module).unwrap();
    let symbols = &found.symbolizer;
    assert!(symbols.has_lines());
    assert_eq!(symbols.table_function(TABLE_BASE + 2), Some(2));
    assert_eq!(symbols.table_function(0), None);
    let entry = symbols.entry(TABLE_BASE + 1);
    assert_eq!(entry.func, Some(1));
    assert_eq!(entry.name.as_deref(), Some("main.sleeper$gowrapper"));
    // The wrapper's name says which function it runs; with no DWARF place for that
    // function, the wrapper's own line.
    assert_eq!(entry.function.as_deref(), Some("main.sleeper"));
    assert_eq!(entry.file.as_deref(), Some(SOURCE_FILE));
    assert_eq!(entry.line, Some(20));
    // A trap frame inside function 2 (its second `nop`), as a module offset.
    let location = symbols.location(first[2] + 1).unwrap();
    assert_eq!((location.file.as_str(), location.line), (SOURCE_FILE, 30));
    assert_eq!(symbols.location(0), None, "before the code section");
}

/// Writes a task at `at` using the offsets the spec declares (not the ones read back).
fn put_task(
    memory: &mut MemoryImage,
    task: &TaskLayout,
    at: u32,
    next: u32,
    data: u64,
    entry: u32,
) {
    memory.put_u32(at + task.offset_of("Next"), next);
    memory.put_u64(at + task.offset_of("Data"), data);
    memory.put_u32(at + task.offset_of("state.entry"), entry);
    memory.put_u32(
        at + task.offset_of("state.stackState.asyncifysp"),
        at + 0x100,
    );
    memory.put_u32(at + task.offset_of("state.stackState.csp"), at + 0x1000);
    if task.canary_ptr.is_some() {
        memory.put_u32(at + task.offset_of("state.stackState.canaryPtr"), at + 0x80);
    }
}

const BASE: u64 = 5_000_000_000;
const MS: u64 = 1_000_000;

/// Three sleepers 100 ms apart (deltas 100, 100, 100 ms), two runnable tasks, one timer.
fn scheduler_memory(task: &TaskLayout) -> MemoryImage {
    let mut memory = MemoryImage::new(0x1_0000);
    let [a, b, c, d, e] = [0x2000, 0x2100, 0x2200, 0x2300, 0x2400];
    memory.put_u32(addr::SLEEP_QUEUE, a);
    memory.put_u64(addr::BASE_TIME, BASE);
    put_task(&mut memory, task, a, b, 100 * MS, TABLE_BASE + 1);
    put_task(&mut memory, task, b, c, 100 * MS, TABLE_BASE + 2);
    put_task(&mut memory, task, c, 0, 100 * MS, TABLE_BASE + 1);
    memory.put_u32(addr::RUN_QUEUE_HEAD, d);
    memory.put_u32(addr::RUN_QUEUE_TAIL, e);
    put_task(&mut memory, task, d, e, 0, TABLE_BASE + 2);
    put_task(&mut memory, task, e, 0, 0, TABLE_BASE + 2);
    // timerNode{next, timer} at 0x3000 → timer{when, period} at 0x3100.
    memory.put_u32(addr::TIMER_QUEUE, 0x3000);
    memory.put_u32(0x3004, 0x3100);
    memory.put_u64(0x3100, BASE + 42);
    memory.put_u64(0x3108, 7);
    memory
}

#[test]
fn walks_sleep_queue_run_queue_and_timers() {
    for layout in [
        TaskLayout::TINYGO_033,
        TaskLayout::TINYGO_034,
        TaskLayout::FIELD_BEFORE_STATE,
    ] {
        let found = introspect(tinygo_dwarf(layout, true));
        let memory = scheduler_memory(&layout);
        let snapshot = walk(&found, &memory.0, 99);
        assert_eq!(snapshot.at, 99);
        assert!(snapshot.problems.is_empty(), "{:?}", snapshot.problems);
        assert_eq!(snapshot.base_time, Some(BASE));
        let sleepers: Vec<(u32, Option<u64>)> = snapshot
            .sleep_queue
            .iter()
            .map(|g| (g.id, g.wake_at))
            .collect();
        assert_eq!(
            sleepers,
            vec![
                (0x2000, Some(BASE + 100 * MS)),
                (0x2100, Some(BASE + 200 * MS)),
                (0x2200, Some(BASE + 300 * MS)),
            ],
            "{layout:?}"
        );
        let first = &snapshot.sleep_queue[0];
        assert_eq!(first.state, TaskState::Sleeping);
        let entry = first.entry.as_ref().unwrap();
        assert_eq!(entry.name.as_deref(), Some("main.sleeper$gowrapper"));
        assert_eq!(entry.line, Some(20));
        let stack = first.stack.unwrap();
        assert_eq!((stack.asyncifysp, stack.csp), (0x2100, 0x3000));
        // Only 0.34 says where the stack ends (canaryPtr).
        assert_eq!(
            stack.bottom,
            layout.canary_ptr.map(|_| 0x2080),
            "{layout:?}"
        );
        let runnable: Vec<u32> = snapshot.run_queue.iter().map(|g| g.id).collect();
        assert_eq!(runnable, vec![0x2300, 0x2400]);
        assert_eq!(
            snapshot.run_queue[0]
                .entry
                .as_ref()
                .unwrap()
                .name
                .as_deref(),
            Some("main.worker$gowrapper")
        );
        assert_eq!(snapshot.timers.len(), 1);
        assert_eq!(
            (
                snapshot.timers[0].node,
                snapshot.timers[0].when,
                snapshot.timers[0].period
            ),
            (0x3000, BASE + 42, 7)
        );
        assert_eq!(snapshot.current, None, "nil at an idle wait");
    }
}

#[test]
fn current_task_is_reported_running() {
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_033, true));
    let mut memory = scheduler_memory(&TaskLayout::TINYGO_033);
    memory.put_u32(addr::CURRENT_TASK, 0x2300);
    let snapshot = walk(&found, &memory.0, 0);
    let current = snapshot.current.unwrap();
    assert_eq!((current.id, current.state), (0x2300, TaskState::Running));
}

#[test]
fn a_cycle_stops_the_walk_with_a_problem() {
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_033, true));
    let task = TaskLayout::TINYGO_033;
    let mut memory = scheduler_memory(&task);
    // The third sleeper points back at the first.
    memory.put_u32(0x2200 + task.offset_of("Next"), 0x2000);
    // The run queue's second task points at itself.
    memory.put_u32(0x2400 + task.offset_of("Next"), 0x2400);
    let snapshot = walk(&found, &memory.0, 0);
    assert_eq!(snapshot.sleep_queue.len(), 3);
    assert_eq!(snapshot.run_queue.len(), 2);
    assert!(
        snapshot
            .problems
            .contains(&"sleep queue: cycle at 0x2000".to_string()),
        "{:?}",
        snapshot.problems
    );
    assert!(
        snapshot
            .problems
            .contains(&"run queue: cycle at 0x2400".to_string()),
        "{:?}",
        snapshot.problems
    );
}

#[test]
fn pointers_past_memory_or_misaligned_are_problems() {
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_033, true));
    let task = TaskLayout::TINYGO_033;
    let mut memory = scheduler_memory(&task);
    memory.put_u32(0x2100 + task.offset_of("Next"), 0xffff_fff0);
    memory.put_u32(addr::RUN_QUEUE_HEAD, 0x2302);
    memory.put_u32(addr::TIMER_QUEUE, 0xfff8); // the node fits, its timer pointer is 0
    memory.put_u32(addr::CURRENT_TASK, 0x1_0000 - 8); // task straddles the end
    let snapshot = walk(&found, &memory.0, 0);
    let problems = snapshot.problems.join("\n");
    assert_eq!(snapshot.sleep_queue.len(), 2, "{problems}");
    assert!(
        problems.contains("sleep queue: pointer 0xfffffff0 outside memory"),
        "{problems}"
    );
    assert!(snapshot.run_queue.is_empty());
    assert!(
        problems.contains("run queue: misaligned pointer 0x2302"),
        "{problems}"
    );
    assert!(
        problems.contains("current task: pointer 0xfff8 outside memory"),
        "{problems}"
    );
    assert!(snapshot.current.is_none());
    assert!(snapshot.timers.is_empty());
    assert!(problems.contains("timer queue:"), "{problems}");
}

#[test]
fn memory_smaller_than_the_globals_is_problems_only() {
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_033, true));
    let snapshot = walk(&found, &vec![0u8; 16], 0);
    assert!(snapshot.sleep_queue.is_empty() && snapshot.run_queue.is_empty());
    assert_eq!(snapshot.problems.len(), 4, "{:?}", snapshot.problems);
    assert!(snapshot
        .problems
        .iter()
        .all(|p| p.contains("outside memory")));
}

#[test]
fn a_long_queue_is_cut_at_the_limit() {
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_033, true));
    let task = TaskLayout::TINYGO_033;
    let count = MAX_QUEUE_ITEMS as u32 + 10;
    let mut memory = MemoryImage::new(0x4000 + 0x30 * count as usize + 0x30);
    memory.put_u32(addr::SLEEP_QUEUE, 0x4000);
    for i in 0..count {
        let at = 0x4000 + 0x30 * i;
        let next = if i + 1 == count { 0 } else { at + 0x30 };
        memory.put_u32(at + task.offset_of("Next"), next);
    }
    let snapshot = walk(&found, &memory.0, 0);
    assert_eq!(snapshot.sleep_queue.len(), MAX_QUEUE_ITEMS);
    assert!(snapshot
        .problems
        .iter()
        .any(|p| p.contains("stopped after")));
}

#[test]
fn an_optimised_away_sleep_queue_is_said_and_the_rest_still_walks() {
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_033, false));
    let memory = scheduler_memory(&TaskLayout::TINYGO_033);
    let snapshot = walk(&found, &memory.0, 0);
    assert!(snapshot.sleep_queue.is_empty());
    assert_eq!(snapshot.run_queue.len(), 2);
    assert_eq!(
        snapshot.problems,
        vec!["runtime.sleepQueue: optimised away".to_string()]
    );
}

#[test]
fn dwarf_writer_output_reads_back_through_gimli() {
    // The shared builder itself: every section it writes is a known DWARF name.
    let sections = write_dwarf(&tinygo_dwarf(TaskLayout::TINYGO_033, true));
    let names: Vec<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&".debug_info") && names.contains(&".debug_abbrev"),
        "{names:?}"
    );
}

mod wrong_unit {
    use super::*;
    use crate::testing::{
        module_with_bodies, write_units, BodySpec, Op, SequenceSpec, SubprogramSpec, UnitSpec,
    };

    const HASHMAP: &str = "/usr/local/lib/tinygo/src/runtime/hashmap.go";
    const SCHEDULER: &str = "/usr/local/lib/tinygo/src/runtime/scheduler_any.go";
    const MAIN: &str = "/work/src/main.go";

    fn tinygo_unit(name: &str) -> UnitSpec {
        UnitSpec {
            name: name.into(),
            producer: Some("TinyGo".into()),
            language: Some(0x0c),
            comp_dir: String::new(),
            ..UnitSpec::default()
        }
    }

    /// Main's goroutine as a real build leaves it after wasm-opt: the wrapper's first row is
    /// gone (Binaryen drops column-0 rows), and another unit's sequence — rows of a runtime
    /// function moved by optimisation — spans from the function before the wrapper to the one
    /// after it.
    pub(super) fn module() -> (Vec<u8>, Vec<crate::testing::BodyLayout>) {
        let bodies = [
            BodySpec::new("runtime.hashmapGet", &[Op::Nop, Op::Nop, Op::Nop]),
            BodySpec::new("runtime.run$1$gowrapper", &[Op::Nop, Op::Call(2), Op::Nop]),
            BodySpec::new("runtime.run$1", &[Op::Nop, Op::Call(3), Op::Nop]),
            BodySpec::new("main.main", &[Op::Nop, Op::Nop]),
        ];
        let (module, at) = module_with_bodies(&bodies, &[1]);
        let libc = UnitSpec {
            name: "crt1-reactor.c".into(),
            producer: Some("clang version 18.1.2".into()),
            language: Some(0x0c),
            comp_dir: "/usr/local/lib/tinygo/lib/wasi-libc".into(),
            ..UnitSpec::default()
        };
        let mut moved = tinygo_unit("<unknown>");
        moved.sequences.push(SequenceSpec {
            rows: vec![
                (at[0].ops[0], HASHMAP.into(), 383),
                (at[2].ops[2], HASHMAP.into(), 390),
            ],
            end: at[2].end,
        });
        let mut runtime = tinygo_unit("<unknown>");
        runtime.subprograms = vec![
            SubprogramSpec {
                name: "<goroutine wrapper>".into(),
                code: Some((at[1].start, at[1].end)),
                decl: Some((SCHEDULER.into(), 25)),
                ..SubprogramSpec::default()
            },
            SubprogramSpec {
                name: "runtime.run$1".into(),
                linkage_name: Some("runtime.run$1".into()),
                code: Some((at[2].start, at[2].end)),
                decl: Some((SCHEDULER.into(), 25)),
                ..SubprogramSpec::default()
            },
        ];
        runtime.sequences = vec![
            SequenceSpec {
                rows: vec![(at[1].ops[1], SCHEDULER.into(), 26)],
                end: at[1].end,
            },
            SequenceSpec {
                rows: vec![(at[2].ops[0], SCHEDULER.into(), 27)],
                end: at[2].end,
            },
        ];
        let mut main = tinygo_unit("<unknown>");
        main.subprograms = vec![SubprogramSpec {
            name: "main.main".into(),
            linkage_name: Some("main.main".into()),
            code: Some((at[3].start, at[3].end)),
            decl: Some((MAIN.into(), 14)),
            ..SubprogramSpec::default()
        }];
        main.sequences = vec![SequenceSpec {
            rows: vec![(at[3].ops[0], MAIN.into(), 15)],
            end: at[3].end,
        }];
        let sections = write_units(&[libc, moved, runtime, main]);
        (append_custom_sections(&module, &sections), at)
    }

    /// Fails with a lookup that takes the first unit whose sequence holds the address (as
    /// `addr2line::Context::find_location` does): that names hashmap.go:383 for the wrapper.
    #[test]
    fn an_address_takes_its_line_from_the_unit_that_owns_its_function() {
        let (module, at) = module();
        let found = Introspection::read(&module).unwrap();
        let symbols = &found.symbolizer;
        let location = symbols.location(at[1].module_first);
        assert!(
            location
                .as_ref()
                .is_none_or(|l| !l.file.contains("hashmap")),
            "the wrapper's first instruction is not hashmap.go: {location:?}"
        );
        let entry = symbols.entry(TABLE_BASE);
        assert_ne!(
            (entry.file.as_deref(), entry.line),
            (Some(HASHMAP), Some(383)),
            "{entry:?}"
        );
        // Before the wrapper's first row (a prologue), its unit's first row; TinyGo's own
        // sources shortened as Go prints them.
        let location = location.unwrap();
        assert_eq!(
            (location.file.as_str(), location.line),
            ("$GOROOT/src/runtime/scheduler_any.go", 26)
        );
        // The moved rows still name the function they are in.
        let location = symbols.location(at[0].module_first).unwrap();
        assert_eq!(
            (location.file.as_str(), location.line),
            ("$GOROOT/src/runtime/hashmap.go", 383)
        );
        // Main's goroutine runs main.main: through the wrapper's call to runtime.run$1 and
        // its call to main.main, declared at main.go:14.
        assert_eq!(entry.name.as_deref(), Some("runtime.run$1$gowrapper"));
        assert_eq!(entry.function.as_deref(), Some("main.main"));
        assert_eq!((entry.file.as_deref(), entry.line), (Some(MAIN), Some(14)));
    }
}

/// Goroutine entries as TinyGo builds them: a `$gowrapper` per `go` statement's function that
/// calls it or, optimised, has it inlined.
mod entries {
    use super::*;
    use crate::testing::{
        module_with_bodies, write_units, BodyLayout, BodySpec, InlinedSpec, Op, SequenceSpec,
        SubprogramSpec, UnitSpec,
    };

    const MAIN: &str = "/home/gopher/app/main.go";
    const SLEEP: &str = "/usr/local/lib/tinygo/src/runtime/scheduler.go";

    fn unit(name: &str) -> UnitSpec {
        UnitSpec {
            name: name.into(),
            producer: Some("TinyGo".into()),
            language: Some(0x0c),
            ..UnitSpec::default()
        }
    }

    fn concrete(name: &str, at: &BodyLayout, decl: Option<(&str, u64)>) -> SubprogramSpec {
        SubprogramSpec {
            name: name.into(),
            linkage_name: (!name.starts_with('<')).then(|| name.into()),
            code: Some((at.start, at.end)),
            decl: decl.map(|(f, l)| (f.into(), l)),
            external: true,
            inlined: Vec::new(),
        }
    }

    /// Functions: 0 runtime.sleep, 1 main.sleeper (called by 2), 2 main.sleeper$gowrapper,
    /// 3 main.ticker$gowrapper (main.ticker inlined: its code is ops 1..3), 4 main.main
    /// (nothing calls it here), 5 main.main.gowrapper (a func value's wrapper),
    /// 6 runtime.run$1$gowrapper (runtime.run$1 inlined, and main.main inlined into that).
    /// Table slots from TABLE_BASE: 2, 3, 5, 6.
    fn bodies() -> Vec<BodySpec> {
        vec![
            BodySpec::new("runtime.sleep", &[Op::Nop]),
            BodySpec::new("main.sleeper", &[Op::Nop, Op::Call(0), Op::Nop]),
            BodySpec::new("main.sleeper$gowrapper", &[Op::Nop, Op::Call(1), Op::Nop]),
            BodySpec::new(
                "main.ticker$gowrapper",
                &[Op::Nop, Op::Nop, Op::Call(0), Op::Nop, Op::Nop],
            ),
            BodySpec::new("main.main", &[Op::Nop]),
            BodySpec::new("main.main.gowrapper", &[Op::Nop, Op::Call(0)]),
            BodySpec::new(
                "runtime.run$1$gowrapper",
                &[Op::Nop, Op::Nop, Op::Nop, Op::Call(0), Op::Nop, Op::Nop],
            ),
        ]
    }

    const TABLE: [u32; 4] = [2, 3, 5, 6];

    fn module(with_dwarf: bool) -> (Vec<u8>, Vec<BodyLayout>) {
        module_with(with_dwarf, true)
    }

    /// `inlined_dies: false`: the inlining left no `DW_TAG_inlined_subroutine` (wasm-opt's
    /// own inlining keeps only the inlined function's now code-less DIE).
    fn module_with(with_dwarf: bool, inlined_dies: bool) -> (Vec<u8>, Vec<BodyLayout>) {
        let (module, at) = module_with_bodies(&bodies(), &TABLE);
        if !with_dwarf {
            return (module, at);
        }
        let libc = UnitSpec {
            name: "crt1-reactor.c".into(),
            producer: Some("clang version 18.1.2".into()),
            language: Some(0x0c),
            ..UnitSpec::default()
        };
        let mut runtime = unit("<unknown>");
        runtime.subprograms = vec![
            concrete("runtime.sleep", &at[0], Some((SLEEP, 120))),
            SubprogramSpec {
                inlined: vec![InlinedSpec {
                    origin: "runtime.run$1".into(),
                    code: (at[6].ops[1], at[6].ops[5]),
                    call: Some((SLEEP.into(), 30)),
                    inlined: vec![InlinedSpec {
                        origin: "main.main".into(),
                        code: (at[6].ops[2], at[6].ops[4]),
                        call: Some((SLEEP.into(), 32)),
                        inlined: Vec::new(),
                    }],
                }],
                ..concrete("<goroutine wrapper>", &at[6], Some((SLEEP, 30)))
            },
            SubprogramSpec {
                name: "runtime.run$1".into(),
                linkage_name: Some("runtime.run$1".into()),
                decl: Some((SLEEP.into(), 30)),
                ..SubprogramSpec::default()
            },
        ];
        runtime.sequences = vec![SequenceSpec {
            rows: vec![(at[0].ops[0], SLEEP.into(), 121)],
            end: at[0].end,
        }];
        let mut main = unit("<unknown>");
        main.subprograms = vec![
            concrete("main.sleeper", &at[1], Some((MAIN, 7))),
            // TinyGo names a wrapper's subprogram `<goroutine wrapper>`, declared at the
            // `go` statement.
            concrete("<goroutine wrapper>", &at[2], Some((MAIN, 20))),
            SubprogramSpec {
                inlined: vec![InlinedSpec {
                    origin: "main.ticker".into(),
                    code: (at[3].ops[1], at[3].ops[4]),
                    call: Some((MAIN.into(), 21)),
                    inlined: Vec::new(),
                }],
                ..concrete("<goroutine wrapper>", &at[3], Some((MAIN, 21)))
            },
            SubprogramSpec {
                name: "main.ticker".into(),
                linkage_name: Some("main.ticker".into()),
                decl: Some((MAIN.into(), 12)),
                ..SubprogramSpec::default()
            },
            concrete("main.main", &at[4], Some((MAIN, 18))),
            concrete("<goroutine wrapper>", &at[5], Some((MAIN, 22))),
        ];
        main.sequences = vec![
            SequenceSpec {
                rows: vec![(at[1].ops[0], MAIN.into(), 8)],
                end: at[1].end,
            },
            SequenceSpec {
                rows: vec![
                    (at[3].ops[1], MAIN.into(), 13),
                    (at[3].ops[2], MAIN.into(), 14),
                ],
                end: at[3].end,
            },
        ];
        if !inlined_dies {
            for unit in [&mut runtime, &mut main] {
                for subprogram in &mut unit.subprograms {
                    subprogram.inlined.clear();
                }
            }
        }
        let sections = write_units(&[libc, runtime, main]);
        (append_custom_sections(&module, &sections), at)
    }

    /// (wrapper, function, file, line) of one entry.
    type Shown = (String, Option<String>, Option<String>, Option<u32>);

    fn entries(module: &[u8]) -> Vec<Shown> {
        let found = Introspection::read(module).unwrap();
        (0..TABLE.len() as u32)
            .map(|slot| {
                let e = found.symbolizer.entry(TABLE_BASE + slot);
                (e.name.unwrap_or_default(), e.function, e.file, e.line)
            })
            .collect()
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn a_wrapper_shows_the_function_it_calls_or_has_inlined() {
        let (module, _) = module(true);
        assert_eq!(
            entries(&module),
            vec![
                // (a) called: the callee's declaration.
                (
                    "main.sleeper$gowrapper".into(),
                    some("main.sleeper"),
                    some(MAIN),
                    Some(7)
                ),
                // (b) inlined: the abstract origin's declaration, not the wrapper's line.
                (
                    "main.ticker$gowrapper".into(),
                    some("main.ticker"),
                    some(MAIN),
                    Some(12)
                ),
                // A func value's wrapper: no function to name; the `go` statement's place.
                ("main.main.gowrapper".into(), None, some(MAIN), Some(22)),
                // Main's goroutine: runtime.run$1 inlined, main.main inlined into it; its
                // declaration read from the main unit's file table.
                (
                    "runtime.run$1$gowrapper".into(),
                    some("main.main"),
                    some(MAIN),
                    Some(18)
                ),
            ]
        );
    }

    #[test]
    fn without_dwarf_a_wrapper_still_names_its_function() {
        let (module, _) = module(false);
        assert_eq!(
            entries(&module),
            vec![
                (
                    "main.sleeper$gowrapper".into(),
                    some("main.sleeper"),
                    None,
                    None
                ),
                // Inlined away: the wrapper's name says which function it was made for.
                (
                    "main.ticker$gowrapper".into(),
                    some("main.ticker"),
                    None,
                    None
                ),
                ("main.main.gowrapper".into(), None, None, None),
                // runtime.run$1 is not a function any more and nothing calls main.main:
                // main's goroutine runs main.main all the same (no DWARF: no place).
                (
                    "runtime.run$1$gowrapper".into(),
                    some("main.main"),
                    None,
                    None
                ),
            ]
        );
    }

    #[test]
    fn a_function_inlined_without_an_inlined_subroutine_is_found_by_its_name() {
        let (module, _) = module_with(true, false);
        let shown = entries(&module);
        assert_eq!(
            shown[1],
            (
                "main.ticker$gowrapper".into(),
                some("main.ticker"),
                some(MAIN),
                Some(12)
            ),
            "the wrapper's name and main.ticker's code-less DIE"
        );
        // runtime.run$1 and main.main inlined with nothing to say so, no call of main.main
        // left: main's goroutine still runs main.main, whose function (or DIE) says where.
        assert_eq!(
            shown[3],
            (
                "runtime.run$1$gowrapper".into(),
                some("main.main"),
                some(MAIN),
                Some(18)
            )
        );
    }

    #[test]
    fn a_function_location_is_its_declaration_and_lines_stay_in_their_function() {
        let (module, at) = module(true);
        let found = Introspection::read(&module).unwrap();
        let symbols = &found.symbolizer;
        let sleeper = symbols.function_index("main.sleeper").unwrap();
        let location = symbols.function_location(sleeper).unwrap();
        assert_eq!((location.file.as_str(), location.line), (MAIN, 7));
        // Inside the inlined ticker: its own rows, in the main unit.
        let location = symbols.location(at[3].module_first + 2).unwrap();
        assert_eq!((location.file.as_str(), location.line), (MAIN, 14));
        let location = symbols.location(at[0].module_first).unwrap();
        assert_eq!(
            (location.file.as_str(), location.line),
            ("$GOROOT/src/runtime/scheduler.go", 121)
        );
        // A function with no rows and an offset outside every function.
        assert_eq!(symbols.location(at[4].module_first), None);
        assert_eq!(symbols.location(u32::MAX), None);
        assert_eq!(symbols.location(0), None);
    }

    #[test]
    fn the_language_is_go_though_every_unit_says_c99() {
        let (module, _) = module(true);
        let module = crate::testing::with_producers(&module, crate::testing::TINYGO_033_PRODUCERS);
        let found = Introspection::read(&module).unwrap();
        assert_eq!(found.language.as_deref(), Some("Go (TinyGo 0.33.0)"));
        assert_eq!(
            found.summary().language.as_deref(),
            Some("Go (TinyGo 0.33.0)")
        );
    }

    #[test]
    fn a_plain_c_or_rust_program_is_named_for_its_language() {
        let (module, _) = module_with_bodies(&bodies(), &TABLE);
        let c = |language: u16, producer: &str| UnitSpec {
            name: "x".into(),
            producer: Some(producer.into()),
            language: Some(language),
            ..UnitSpec::default()
        };
        let c_program = append_custom_sections(
            &module,
            &write_units(&[
                c(0x1d, "clang version 19.1.5"),
                c(0x1d, "clang version 19.1.5"),
            ]),
        );
        let found = Introspection::read(&c_program).unwrap();
        assert_eq!(found.language.as_deref(), Some("C11"));
        let rust_program = crate::testing::with_producers(
            &append_custom_sections(
                &module,
                &write_units(&[
                    c(0x0c, "clang version 19.1.5"),
                    c(0x1c, "clang LLVM (rustc version 1.89.0)"),
                ]),
            ),
            &[
                ("language", &[("Rust", "")]),
                ("processed-by", &[("rustc", "1.89.0")]),
            ],
        );
        let found = Introspection::read(&rust_program).unwrap();
        assert_eq!(found.language.as_deref(), Some("Rust (rustc 1.89.0)"));
        // Nothing says: no guess.
        assert_eq!(Introspection::read(&module).unwrap().language, None);
    }

    #[test]
    fn corrupt_code_or_dwarf_yields_less_never_a_panic() {
        let (module, at) = module(true);
        // Cut the module inside the code of the last function: the scan fails cleanly.
        let cut = &module[..at[6].module_first as usize + 1];
        assert!(Introspection::read(cut).is_err());
        // Flip bytes across the DWARF sections: whatever is read, nothing panics.
        let dwarf = module
            .windows(b".debug_".len())
            .position(|w| w == b".debug_")
            .expect("DWARF sections");
        for step in [7usize, 13, 29] {
            let mut bent = module.clone();
            for i in (dwarf + 16..bent.len()).step_by(step) {
                bent[i] ^= 0x5a;
            }
            if let Ok(found) = Introspection::read(&bent) {
                for slot in 0..8 {
                    let _ = found.symbolizer.entry(slot);
                }
                let _ = found.symbolizer.location(at[3].module_first + 1);
            }
        }
    }
}

/// Asyncify's state changes are task switches of `currentTask`, whatever the Task layout; a
/// scheduler-side indirect call is a launch only of the current task's own entry in state 0.
#[test]
fn task_switches_are_read_from_state_changes_and_the_current_task() {
    use crate::{task_switch, HookEvent};
    use pollscope_protocol::{AsyncifyKind as K, AsyncifyPhase as P};
    for layout in [TaskLayout::TINYGO_033, TaskLayout::TINYGO_034] {
        let found = introspect(tinygo_dwarf(layout, true));
        let mut memory = scheduler_memory(&layout);
        memory.put_u32(addr::CURRENT_TASK, 0x2100);
        let switch =
            |event| task_switch(&found, &memory.0[..], event).map(|s| (s.kind, s.phase, s.task));
        let write = |old, new| switch(HookEvent::StateWrite { old, new });
        assert_eq!(write(0, 1), Some((K::Unwind, P::Enter, 0x2100)));
        assert_eq!(write(1, 0), Some((K::Unwind, P::Leave, 0x2100)));
        assert_eq!(write(0, 2), Some((K::Rewind, P::Enter, 0x2100)));
        assert_eq!(write(2, 0), Some((K::Rewind, P::Leave, 0x2100)));
        assert_eq!(write(0, 0), Some((K::Exit, P::Enter, 0x2100)));
        assert_eq!(
            write(2, 1),
            None,
            "asyncify never goes from rewinding to unwinding"
        );
        let call = |state, table_index| switch(HookEvent::TaskCall { state, table_index });
        // Task 0x2100's entry is TABLE_BASE + 2 (put by scheduler_memory).
        assert_eq!(call(0, TABLE_BASE + 2), Some((K::Launch, P::Enter, 0x2100)));
        assert_eq!(
            call(0, TABLE_BASE + 1),
            None,
            "another function: a callback"
        );
        assert_eq!(
            call(2, TABLE_BASE + 2),
            None,
            "rewinding into it is no launch"
        );
        assert_eq!(
            switch(HookEvent::RewindCall { offset: 9 }),
            None,
            "the replay's events are not switches"
        );
        memory.put_u32(addr::CURRENT_TASK, 0);
        assert_eq!(
            task_switch(
                &found,
                &memory.0[..],
                HookEvent::TaskCall {
                    state: 0,
                    table_index: TABLE_BASE + 2
                }
            ),
            None,
            "inside the scheduler nothing is launched"
        );
    }
}

/// A replay is bounded and says why it stopped; a failed one is a named problem.
#[test]
fn replays_are_bounded_and_failures_are_named() {
    use crate::backtrace::{from_replay, Replay, Stop, MAX_FRAMES};
    let found = introspect(tinygo_dwarf(TaskLayout::TINYGO_033, true));
    let mut ignored = Replay::default();
    assert_eq!(
        ignored.on_hook(3, 5, 0),
        Ok(()),
        "not armed: the rewind is being set up"
    );
    assert_eq!(ignored, Replay::default());
    let mut replay = Replay::armed();
    for offset in 0..MAX_FRAMES as i32 {
        assert_eq!(replay.on_hook(2, offset, 0), Ok(()));
    }
    assert_eq!(replay.on_hook(2, 1, 0), Err(Stop::TooDeep));
    let cut = from_replay(&found, Ok(replay));
    assert_eq!(cut.frames.len(), MAX_FRAMES);
    assert!(cut.problem.unwrap().contains("stack cut"));

    let mut replay = Replay::armed();
    replay.on_hook(2, 0x40, 0).unwrap();
    assert_eq!(replay.on_hook(3, 0x48, 0), Err(Stop::Reached));
    let done = from_replay(&found, Ok(replay));
    assert_eq!(done.problem, None);
    assert_eq!(done.frames.len(), 1);

    let mut unfinished = Replay::armed();
    unfinished.on_hook(2, 0x40, 0).unwrap();
    let returned = from_replay(&found, Ok(unfinished));
    assert!(returned
        .problem
        .unwrap()
        .contains("without reaching a pause"));
    let failed = from_replay(&found, Err("unreachable".into()));
    assert!(failed.frames.is_empty());
    assert!(failed
        .problem
        .unwrap()
        .contains("does not decode: unreachable"));
}
