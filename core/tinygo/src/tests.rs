//! Reading TinyGo-shaped modules built by [`crate::testing`]: DWARF lookup, layouts, the
//! symbolizer and queue walks over memory images.

use pollscope_protocol::TaskState;

use crate::testing::{
    addr, append_custom_sections, module_with_functions, task_struct, tinygo_033_dwarf,
    write_dwarf, DwarfSpec, FunctionSpec, MemoryImage, StructSpec, SOURCE_FILE, TABLE_BASE,
};
use crate::*;

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
    let found = introspect(tinygo_033_dwarf(false, false));
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
    let found = introspect(tinygo_033_dwarf(false, true));
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
fn an_extra_task_field_moves_offsets_and_they_are_read_not_assumed() {
    let found = introspect(tinygo_033_dwarf(true, true));
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
    let mut spec = tinygo_033_dwarf(false, true);
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
    let (module, first) = module_with_functions(&functions(), Some(tinygo_033_dwarf(false, true)));
    let found = Introspection::read(&module).unwrap();
    let symbols = &found.symbolizer;
    assert!(symbols.has_lines());
    assert_eq!(symbols.table_function(TABLE_BASE + 2), Some(2));
    assert_eq!(symbols.table_function(0), None);
    let entry = symbols.entry(TABLE_BASE + 1);
    assert_eq!(entry.func, Some(1));
    assert_eq!(entry.name.as_deref(), Some("main.sleeper$gowrapper"));
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
    task: &StructSpec,
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
}

const BASE: u64 = 5_000_000_000;
const MS: u64 = 1_000_000;

/// Three sleepers 100 ms apart (deltas 100, 100, 100 ms), two runnable tasks, one timer.
fn scheduler_memory(task: &StructSpec) -> MemoryImage {
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
    for extra in [false, true] {
        let found = introspect(tinygo_033_dwarf(extra, true));
        let memory = scheduler_memory(&task_struct(extra));
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
            "extra field: {extra}"
        );
        let first = &snapshot.sleep_queue[0];
        assert_eq!(first.state, TaskState::Sleeping);
        let entry = first.entry.as_ref().unwrap();
        assert_eq!(entry.name.as_deref(), Some("main.sleeper$gowrapper"));
        assert_eq!(entry.line, Some(20));
        let stack = first.stack.unwrap();
        assert_eq!((stack.asyncifysp, stack.csp), (0x2100, 0x3000));
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
    let found = introspect(tinygo_033_dwarf(false, true));
    let mut memory = scheduler_memory(&task_struct(false));
    memory.put_u32(addr::CURRENT_TASK, 0x2300);
    let snapshot = walk(&found, &memory.0, 0);
    let current = snapshot.current.unwrap();
    assert_eq!((current.id, current.state), (0x2300, TaskState::Running));
}

#[test]
fn a_cycle_stops_the_walk_with_a_problem() {
    let found = introspect(tinygo_033_dwarf(false, true));
    let task = task_struct(false);
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
    let found = introspect(tinygo_033_dwarf(false, true));
    let task = task_struct(false);
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
    let found = introspect(tinygo_033_dwarf(false, true));
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
    let found = introspect(tinygo_033_dwarf(false, true));
    let task = task_struct(false);
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
    let found = introspect(tinygo_033_dwarf(false, false));
    let memory = scheduler_memory(&task_struct(false));
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
    let sections = write_dwarf(&tinygo_033_dwarf(false, true));
    let names: Vec<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&".debug_info") && names.contains(&".debug_abbrev"),
        "{names:?}"
    );
}
