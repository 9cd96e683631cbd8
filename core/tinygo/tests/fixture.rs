//! The TinyGo-shaped fixture program (`fixtures/`, built by `cargo xtask fixtures`), run in
//! wasmi with the five WASI imports it uses stubbed: a clock that jumps to each deadline, and
//! stdout collected. At its first idle `pollable.block` the walk must list the sleepers in
//! wake order with their entry functions; the flight-recorder rewrite of this real
//! asyncify-transformed module must behave the same and report every task switch.

use std::path::PathBuf;

use pollscope_protocol::{AsyncifyKind, AsyncifyPhase, SchedulerSnapshot, TaskState};
use pollscope_tinygo::{
    decode_hook, instrument, walk, Instrumentation, Introspection, HOOK_MODULE, HOOK_NAME,
    TASK_TYPE,
};
use wasmi::{Caller, Engine, Extern, Linker, Module, Store};

/// The fixture's program module; fails with how to build it when missing.
fn program_module() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/fixtures/work/tinygo_sleepers.core.wasm");
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!(
            "{}: {err}: run `cargo xtask fixtures` (cargo xtask test does it first)",
            path.display()
        )
    })
}

const START: i64 = 1_000_000_000;
const MS: u64 = 1_000_000;

#[derive(Default)]
struct Guest {
    clock: i64,
    deadlines: Vec<i64>,
    stdout: Vec<u8>,
    introspection: Option<Introspection>,
    /// The walk at the first idle wait.
    first_idle: Option<SchedulerSnapshot>,
    events: Vec<(AsyncifyKind, AsyncifyPhase, u32)>,
}

fn memory(caller: &Caller<'_, Guest>) -> wasmi::Memory {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => memory,
        _ => panic!("no memory export"),
    }
}

/// Runs `_initialize` then `run`.
fn run(module: &[u8], introspection: Introspection) -> Guest {
    let engine = Engine::default();
    let module = Module::new(&engine, module).expect("compiles");
    let mut store = Store::new(
        &engine,
        Guest {
            clock: START,
            introspection: Some(introspection),
            ..Guest::default()
        },
    );
    let mut linker = Linker::<Guest>::new(&engine);
    let clocks = "wasi:clocks/monotonic-clock@0.2.0";
    linker
        .func_wrap(clocks, "now", |caller: Caller<'_, Guest>| {
            caller.data().clock
        })
        .unwrap();
    linker
        .func_wrap(
            clocks,
            "subscribe-duration",
            |mut caller: Caller<'_, Guest>, duration: i64| {
                let deadline = caller.data().clock + duration;
                caller.data_mut().deadlines.push(deadline);
                caller.data().deadlines.len() as i32
            },
        )
        .unwrap();
    linker
        .func_wrap(
            "wasi:io/poll@0.2.0",
            "[method]pollable.block",
            |mut caller: Caller<'_, Guest>, handle: i32| {
                if caller.data().first_idle.is_none() {
                    let memory = memory(&caller);
                    let snapshot = {
                        let bytes = memory.data(&caller);
                        let introspection = caller.data().introspection.as_ref().unwrap();
                        walk(introspection, bytes, 7)
                    };
                    caller.data_mut().first_idle = Some(snapshot);
                }
                let deadline = caller.data().deadlines[handle as usize - 1];
                caller.data_mut().clock = deadline;
            },
        )
        .unwrap();
    linker
        .func_wrap("wasi:cli/stdout@0.2.0", "get-stdout", || 1i32)
        .unwrap();
    linker
        .func_wrap(
            "wasi:io/streams@0.2.0",
            "[method]output-stream.blocking-write-and-flush",
            |mut caller: Caller<'_, Guest>, _stream: i32, ptr: i32, len: i32, ret: i32| {
                let memory = memory(&caller);
                let mut bytes = vec![0; len as usize];
                memory.read(&caller, ptr as usize, &mut bytes).unwrap();
                caller.data_mut().stdout.extend(bytes);
                memory.write(&mut caller, ret as usize, &[0]).unwrap(); // ok
            },
        )
        .unwrap();
    linker
        .func_wrap(
            HOOK_MODULE,
            HOOK_NAME,
            |mut caller: Caller<'_, Guest>, kind: i32, phase: i32, ptr: i32| {
                let (kind, phase) = decode_hook(kind, phase).expect("a known event");
                caller.data_mut().events.push((kind, phase, ptr as u32));
            },
        )
        .unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    instance
        .get_typed_func::<(), ()>(&store, "_initialize")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    let result = instance
        .get_typed_func::<(), i32>(&store, "wasi:cli/run@0.2.0#run")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    assert_eq!(result, 0, "run returned ok");
    store.into_data()
}

/// (task address, wake time, entry (wrapper) name, the Go function it runs, its line).
type Sleeper<'a> = (
    u32,
    Option<u64>,
    Option<&'a str>,
    Option<&'a str>,
    Option<u32>,
);

#[test]
fn the_first_idle_wait_shows_the_sleepers_in_wake_order() {
    let module = program_module();
    let guest = run(&module, Introspection::read(&module).unwrap());
    let stdout = String::from_utf8(guest.stdout).unwrap();
    assert!(stdout.ends_with("main done\n"), "{stdout}");

    let snapshot = guest.first_idle.expect("the program idled");
    assert_eq!(
        snapshot.problems,
        vec!["runtime.timerQueue: optimised away".to_string()],
        "the program has no timers"
    );
    assert!(snapshot.timers.is_empty());
    assert_eq!(snapshot.current, None, "nil inside the scheduler");
    assert!(snapshot.run_queue.is_empty());
    let start = START as u64;
    assert_eq!(snapshot.base_time, Some(start));
    let sleepers: Vec<Sleeper<'_>> = snapshot
        .sleep_queue
        .iter()
        .map(|g| {
            let entry = g.entry.as_ref();
            (
                g.id,
                g.wake_at,
                entry.and_then(|e| e.name.as_deref()),
                entry.and_then(|e| e.function.as_deref()),
                entry.and_then(|e| e.line),
            )
        })
        .collect();
    let wrapper = Some("main.worker$gowrapper");
    let worker = Some("main.worker");
    // Every goroutine shows the Go function it runs and where that is declared; main's
    // goroutine (TinyGo's runtime.run$1 wrapper) runs main.main, `func main()` at line 14.
    assert_eq!(
        sleepers,
        vec![
            (0x11080, Some(start + 100 * MS), wrapper, worker, Some(8)), // b
            (0x110c0, Some(start + 200 * MS), wrapper, worker, Some(8)), // c
            (0x11040, Some(start + 300 * MS), wrapper, worker, Some(8)), // a
            (
                0x11000,
                Some(start + 1000 * MS),
                Some("runtime.run$1$gowrapper"),
                Some("main.main"),
                Some(14)
            ), // main
        ]
    );
    assert!(snapshot
        .sleep_queue
        .iter()
        .all(|g| g.state == TaskState::Sleeping));
    // main.go as the line table names it (relative to the unit's directory `.`); worker
    // is inlined into its wrapper, main.main called through runtime.run$1.
    for g in &snapshot.sleep_queue {
        let file = g.entry.as_ref().unwrap().file.as_deref();
        assert_eq!(file, Some("./fixtures/tinygo/main.go"), "{g:?}");
    }
    // Each goroutine's stack is its own 64 KiB: the C stack pointer lies inside it.
    for g in &snapshot.sleep_queue {
        let stack = g.stack.expect("asyncify stack state");
        assert!(stack.asyncifysp < stack.csp, "{g:?}");
    }
}

/// Every unit says `DW_LANG_C99` (wasi-libc's first), as in a real TinyGo build: the producer
/// `TinyGo` and `processed-by: TinyGo 0.33.0` say Go.
#[test]
fn the_fixture_is_go_built_by_tinygo() {
    let module = program_module();
    let introspection = Introspection::read(&module).unwrap();
    assert_eq!(
        introspection.summary().language.as_deref(),
        Some("Go (TinyGo 0.33.0)")
    );
    assert!(
        introspection.problems.is_empty(),
        "{:?}",
        introspection.problems
    );
}

/// Module offsets of `func`'s direct calls to `callee`.
fn calls(module: &[u8], func: u32, callee: u32) -> Vec<u32> {
    let mut imported = 0;
    let mut defined = 0;
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload.unwrap() {
            wasmparser::Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if matches!(import.unwrap().ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                defined += 1;
                if imported + defined - 1 != func {
                    continue;
                }
                let reader = body.get_operators_reader().unwrap();
                return reader
                    .into_iter_with_offsets()
                    .filter_map(|op| match op.unwrap() {
                        (wasmparser::Operator::Call { function_index }, at)
                            if function_index == callee =>
                        {
                            Some(at as u32)
                        }
                        _ => None,
                    })
                    .collect();
            }
            _ => {}
        }
    }
    Vec::new()
}

/// Instructions take their lines from their own function's unit: main.main's last print is
/// main.go:19; the inlined worker's sleep in its wrapper is worker's `time.Sleep(d)`, line 10.
/// Functions are where they are declared: main.main at 14, the wrapper at its `go` statement.
#[test]
fn instructions_take_their_lines_from_their_own_function() {
    let module = program_module();
    let introspection = Introspection::read(&module).unwrap();
    let symbols = &introspection.symbolizer;
    let index = |name: &str| symbols.function_index(name).unwrap();
    let main = index("main.main");
    let wrapper = index("main.worker$gowrapper");
    let file = "./fixtures/tinygo/main.go";
    let line = |offset: u32| {
        let at = symbols.location(offset).unwrap();
        assert_eq!(at.file, file);
        at.line
    };
    let prints = calls(&module, main, index("runtime.printstring"));
    assert_eq!(line(*prints.last().unwrap()), 19);
    let sleeps = calls(&module, wrapper, index("runtime.sleep"));
    assert_eq!(sleeps.len(), 1);
    assert_eq!(line(sleeps[0]), 10);
    let at = symbols.function_location(main).unwrap();
    assert_eq!((at.file.as_str(), at.line), (file, 14));
    let at = symbols.function_location(wrapper).unwrap();
    assert_eq!(at.line, 15, "the wrapper is declared at its `go` statement");
}

#[test]
fn the_instrumented_fixture_runs_the_same_and_records_every_switch() {
    let module = program_module();
    let original = run(&module, Introspection::read(&module).unwrap());
    let Instrumentation::Instrumented(instrumented) = instrument(&module).unwrap() else {
        panic!("the fixture has tinygo_launch/unwind/rewind");
    };
    let introspection = Introspection::read(&module).unwrap();
    let task = introspection.layout(TASK_TYPE).unwrap().clone();
    let guest = run(&instrumented.module, introspection);
    assert_eq!(guest.stdout, original.stdout);
    assert_eq!(
        guest.first_idle, original.first_idle,
        "same memory at the first idle"
    );

    // Pointers back to their tasks: launch and rewind get &task.state, unwind the
    // &task.state.stackState.
    let state = task.offset("state").unwrap();
    let stack_state = task.offset("stackState").unwrap();
    let tasks = [0x11000, 0x11040, 0x11080, 0x110c0];
    let count = |kind, phase| {
        guest
            .events
            .iter()
            .filter(|(k, p, _)| *k == kind && *p == phase)
            .count()
    };
    for (kind, phase, ptr) in &guest.events {
        let offset = if *kind == AsyncifyKind::Unwind {
            stack_state
        } else {
            state
        };
        assert!(
            tasks.contains(&(ptr - offset)),
            "{kind:?} {phase:?} {ptr:#x}"
        );
    }
    // Four goroutines launched once each, four sleeps resumed once each.
    assert_eq!(count(AsyncifyKind::Launch, AsyncifyPhase::Enter), 4);
    assert_eq!(count(AsyncifyKind::Rewind, AsyncifyPhase::Enter), 4);
    for kind in [
        AsyncifyKind::Launch,
        AsyncifyKind::Unwind,
        AsyncifyKind::Rewind,
    ] {
        assert_eq!(
            count(kind, AsyncifyPhase::Enter),
            count(kind, AsyncifyPhase::Leave),
            "{kind:?}"
        );
    }
    // The first goroutine to run is main's.
    assert_eq!(
        guest.events[0],
        (AsyncifyKind::Launch, AsyncifyPhase::Enter, 0x11000 + state)
    );
}
