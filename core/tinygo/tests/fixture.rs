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
type Sleeper<'a> = (u32, Option<u64>, Option<&'a str>, Option<&'a str>, Option<u32>);

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
    let worker_file = snapshot.sleep_queue[0].entry.as_ref().unwrap().file.clone();
    assert!(
        worker_file
            .as_deref()
            .is_some_and(|f| f.ends_with("main.go")),
        "{worker_file:?}"
    );
    // Each goroutine's stack is its own 64 KiB: the C stack pointer lies inside it.
    for g in &snapshot.sleep_queue {
        let stack = g.stack.expect("asyncify stack state");
        assert!(stack.asyncifysp < stack.csp, "{g:?}");
    }
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
