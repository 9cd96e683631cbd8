//! The TinyGo-shaped fixture programs (`fixtures/`, built by `cargo xtask fixtures` with
//! `wasm-opt --asyncify -Oz -g` as TinyGo builds: no `tinygo_*` function survives), run in
//! wasmi with the five WASI imports they use stubbed: a clock that jumps to each deadline, and
//! stdout collected. At the first idle `pollable.block` the walk must list the sleepers in
//! wake order with their entry functions and each one's backtrace, replayed from its asyncify
//! save area; the flight-recorder rewrite must behave the same and report every launch,
//! unwind and rewind with the goroutine it belongs to — for TinyGo 0.33's Task layout and
//! 0.34's (`canaryPtr`).

use std::path::PathBuf;

use pollscope_protocol::{AsyncifyKind, AsyncifyPhase, SchedulerSnapshot, TaskState};
use pollscope_tinygo::backtrace::{Replay, Rewinder};
use pollscope_tinygo::{
    decode_hook, instrument, instrument_for_replay, task_switch, walk, walk_with_backtraces,
    Instrumentation, Introspection, HOOK_MODULE, HOOK_NAME, REPLAY_TABLE_EXPORT, TASK_TYPE,
};
use wasmi::{Caller, Engine, Extern, Linker, Module, Store, Val};

/// The fixture's program module (TinyGo 0.33's Task layout); fails with how to build it when
/// missing.
fn program_module() -> Vec<u8> {
    fixture_module("tinygo_sleepers")
}

/// The same program with TinyGo 0.34's Task layout.
fn program_module_034() -> Vec<u8> {
    fixture_module("tinygo_sleepers_034")
}

fn fixture_module(stem: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../target/fixtures/work/{stem}.core.wasm"));
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
    /// Guest memory then.
    first_idle_memory: Vec<u8>,
    /// Task switches the recorder reported: (kind, phase, goroutine, its Go function).
    events: Vec<(AsyncifyKind, AsyncifyPhase, u32, Option<String>)>,
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
                    let copy = memory.data(&caller).to_vec();
                    caller.data_mut().first_idle = Some(snapshot);
                    caller.data_mut().first_idle_memory = copy;
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
            |mut caller: Caller<'_, Guest>, event: i32, a: i32, b: i32| {
                let event = decode_hook(event, a, b).expect("a known event");
                let memory = memory(&caller);
                let switch = {
                    let bytes = memory.data(&caller);
                    let introspection = caller.data().introspection.as_ref().unwrap();
                    task_switch(introspection, bytes, event)
                };
                if let Some(s) = switch {
                    caller
                        .data_mut()
                        .events
                        .push((s.kind, s.phase, s.task, s.function));
                }
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

/// Instructions take their lines from their own function's unit: main.main's last print
/// (main.main is inlined by wasm-opt into main's goroutine wrapper) is main.go:19; the inlined
/// worker's sleep in its wrapper is worker's `time.Sleep(d)`, line 10. The worker's wrapper
/// is declared at its `go` statement.
#[test]
fn instructions_take_their_lines_from_their_own_function() {
    let module = program_module();
    let introspection = Introspection::read(&module).unwrap();
    let symbols = &introspection.symbolizer;
    let index = |name: &str| symbols.function_index(name).unwrap();
    let main = index("runtime.run$1$gowrapper");
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
    let at = symbols.function_location(wrapper).unwrap();
    assert_eq!(at.line, 15, "the wrapper is declared at its `go` statement");
}

/// The name section's function names.
fn function_names(module: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::CustomSection(section) = payload.unwrap() {
            if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                for sub in reader {
                    if let wasmparser::Name::Function(map) = sub.unwrap() {
                        names.extend(map.into_iter().map(|n| n.unwrap().name.to_string()));
                    }
                }
            }
        }
    }
    names
}

/// Records every launch, unwind and rewind of `module` with its goroutine.
fn records_every_switch(module: &[u8]) {
    let names = function_names(module);
    assert!(
        !names.iter().any(|n| n.starts_with("tinygo_")),
        "the recorder must not need TinyGo's task-switch functions, which real builds inline: \
         {names:?}"
    );
    let original = run(module, Introspection::read(module).unwrap());
    let introspection = Introspection::read(module).unwrap();
    assert!(introspection.summary().instrumentable);
    let Instrumentation::Instrumented(instrumented) = instrument(module).unwrap() else {
        panic!("the fixture has asyncify's runtime");
    };
    let guest = run(&instrumented.module, introspection);
    assert_eq!(guest.stdout, original.stdout);
    assert_eq!(
        guest.first_idle, original.first_idle,
        "same memory at the first idle"
    );

    let (main, a, b, c) = (0x11000, 0x11040, 0x11080, 0x110c0);
    let main_fn = Some("main.main".to_string());
    let worker = Some("main.worker".to_string());
    use AsyncifyKind::*;
    use AsyncifyPhase::*;
    let of = |task: u32| -> Vec<(AsyncifyKind, AsyncifyPhase)> {
        guest
            .events
            .iter()
            .filter(|(_, _, t, _)| *t == task)
            .map(|(k, p, _, _)| (*k, *p))
            .collect()
    };
    // Main's goroutine: launched, sleeps once, resumed once, returns.
    assert_eq!(
        of(main),
        [
            (Launch, Enter),
            (Unwind, Enter),
            (Unwind, Leave),
            (Rewind, Enter),
            (Rewind, Leave),
            (Exit, Enter)
        ]
    );
    // Each worker: launched, sleeps once, resumed once, returns.
    for worker_task in [a, b, c] {
        assert_eq!(of(worker_task), of(main), "task {worker_task:#x}");
    }
    assert_eq!(
        guest.events.len(),
        4 * 6,
        "no event without its goroutine: {:?}",
        guest.events
    );
    for (_, _, task, function) in &guest.events {
        let expected = if *task == main { &main_fn } else { &worker };
        assert_eq!(function, expected, "task {task:#x}");
    }
    // Scheduling order: main runs first and starts a, b and c, which run after it sleeps;
    // they wake in order b, c, a (100, 200, 300 ms), then main (1 s).
    let launches: Vec<u32> = guest
        .events
        .iter()
        .filter(|(k, _, _, _)| *k == Launch)
        .map(|e| e.2)
        .collect();
    assert_eq!(launches, [main, a, b, c]);
    let resumed: Vec<u32> = guest
        .events
        .iter()
        .filter(|(k, p, _, _)| *k == Rewind && *p == Enter)
        .map(|e| e.2)
        .collect();
    assert_eq!(resumed, [b, c, a, main]);
}

#[test]
fn the_recorder_records_every_switch_of_real_shaped_output_with_tinygo_033s_task() {
    records_every_switch(&program_module());
}

#[test]
fn the_recorder_records_every_switch_of_real_shaped_output_with_tinygo_034s_task() {
    let module = program_module_034();
    let introspection = Introspection::read(&module).unwrap();
    let task = introspection.layout(TASK_TYPE).unwrap();
    assert_eq!(task.offset("canaryPtr"), Some(0x24));
    assert_eq!(task.offset("launched"), Some(0x28));
    records_every_switch(&module);
}

/// The replay module in wasmi, its memory refilled from a snapshot of the guest's.
struct WasmiRewinder {
    store: Store<Replay>,
    instance: wasmi::Instance,
    memory: Vec<u8>,
}

impl WasmiRewinder {
    fn new(program: &[u8], memory: Vec<u8>) -> WasmiRewinder {
        let Instrumentation::Instrumented(replay) = instrument_for_replay(program).unwrap() else {
            panic!("the fixture has asyncify's runtime and a table");
        };
        let engine = Engine::default();
        let module = Module::new(&engine, &replay.module[..]).unwrap();
        let mut store = Store::new(&engine, Replay::default());
        let mut linker = Linker::<Replay>::new(&engine);
        for import in module.imports() {
            let wasmi::ExternType::Func(ty) = import.ty() else {
                continue;
            };
            if (import.module(), import.name()) == (HOOK_MODULE, HOOK_NAME) {
                continue;
            }
            let what = format!("{}#{}", import.module(), import.name());
            linker
                .func_new(
                    import.module(),
                    import.name(),
                    ty.clone(),
                    move |_, _, _| Err(wasmi::Error::new(format!("the rewind called {what}"))),
                )
                .unwrap();
        }
        linker
            .func_wrap(
                HOOK_MODULE,
                HOOK_NAME,
                |mut caller: Caller<'_, Replay>, event: i32, a: i32, b: i32| {
                    caller
                        .data_mut()
                        .on_hook(event, a, b)
                        .map_err(|stop| wasmi::Error::new(format!("{stop:?}")))
                },
            )
            .unwrap();
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        WasmiRewinder {
            store,
            instance,
            memory,
        }
    }
}

impl Rewinder for WasmiRewinder {
    fn rewind(&mut self, entry: u32, args: u32, stack_state: u32) -> Result<Replay, String> {
        let memory = self.instance.get_memory(&self.store, "memory").unwrap();
        memory.data_mut(&mut self.store)[..self.memory.len()].copy_from_slice(&self.memory);
        *self.store.data_mut() = Replay::default();
        self.instance
            .get_typed_func::<i32, ()>(&self.store, "asyncify_start_rewind")
            .unwrap()
            .call(&mut self.store, stack_state as i32)
            .map_err(|e| e.to_string())?;
        let table = self
            .instance
            .get_table(&self.store, REPLAY_TABLE_EXPORT)
            .unwrap();
        let Some(wasmi::Ref::Func(func)) = table.get(&self.store, u64::from(entry)) else {
            return Err(format!("table slot {entry} is not a function"));
        };
        let func = *func.val().ok_or(format!("table slot {entry} is null"))?;
        *self.store.data_mut() = Replay::armed();
        let outcome = func.call(&mut self.store, &[Val::I32(args as i32)], &mut []);
        let replay = std::mem::take(self.store.data_mut());
        match outcome {
            Err(_) if replay.ended_at.is_some() => Ok(replay),
            Err(trap) => Err(trap.to_string()),
            Ok(()) => Ok(replay),
        }
    }
}

/// Each sleeping goroutine's backtrace, replayed from its save area, names the Go line it
/// sleeps at, from the innermost frame (where it paused) out to its entry.
fn parked_goroutines_have_backtraces(module: &[u8]) {
    let introspection = Introspection::read(module).unwrap();
    let guest = run(module, Introspection::read(module).unwrap());
    let mut rewinder = WasmiRewinder::new(module, guest.first_idle_memory.clone());
    let snapshot = walk_with_backtraces(
        &introspection,
        &guest.first_idle_memory[..],
        7,
        &mut rewinder,
    );
    assert_eq!(snapshot.sleep_queue.len(), 4);
    let file = "fixtures/tinygo/main.go";
    for goroutine in &snapshot.sleep_queue {
        let backtrace = goroutine.backtrace.as_ref().expect("a backtrace");
        assert_eq!(backtrace.problem, None, "{:#x}", goroutine.id);
        let frames: Vec<(Option<&str>, Option<&str>, Option<u32>)> = backtrace
            .frames
            .iter()
            .map(|f| (f.function.as_deref(), f.file.as_deref(), f.line))
            .collect();
        // Innermost: runtime.sleep (Pause and TinyGo's unwind inlined into it), paused at
        // asyncify's unwind; outermost: the goroutine's entry at its time.Sleep.
        assert_eq!(frames[0].0, Some("runtime.sleep"), "{frames:?}");
        let outermost = frames.last().unwrap();
        let (entry, line) = if goroutine.id == 0x11000 {
            ("runtime.run$1$gowrapper", 18)
        } else {
            ("main.worker$gowrapper", 10)
        };
        assert_eq!(outermost.0, Some(entry), "{frames:?}");
        assert!(outermost.1.is_some_and(|f| f.ends_with(file)), "{frames:?}");
        assert_eq!(outermost.2, Some(line), "{frames:?}");
    }
}

#[test]
fn parked_goroutines_have_backtraces_with_tinygo_033s_task() {
    parked_goroutines_have_backtraces(&program_module());
}

#[test]
fn parked_goroutines_have_backtraces_with_tinygo_034s_task() {
    parked_goroutines_have_backtraces(&program_module_034());
}

/// A save area that does not decode is a named problem, not a panic: the replay traps, runs
/// off without reaching a pause, or is not asked at all.
#[test]
fn a_corrupt_save_area_is_a_named_problem() {
    let module = program_module();
    let introspection = Introspection::read(&module).unwrap();
    let guest = run(&module, Introspection::read(&module).unwrap());
    let mut memory = guest.first_idle_memory.clone();
    let task = introspection.layout(TASK_TYPE).unwrap();
    let asyncifysp = task.offset("asyncifysp").unwrap() as usize;
    let csp = task.offset("csp").unwrap() as usize;
    // Worker b: its save area's frames overwritten with garbage call indices.
    let b = 0x11080usize;
    let sp = u32::from_le_bytes(
        memory[b + asyncifysp..b + asyncifysp + 4]
            .try_into()
            .unwrap(),
    );
    let start = 0x20000 + 2 * 0x10000 + 4;
    for at in (start..sp as usize).step_by(4) {
        memory[at..at + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    }
    // Worker c: a save area whose end is before its current position.
    let c = 0x110c0usize;
    memory[c + csp..c + csp + 4].copy_from_slice(&0u32.to_le_bytes());
    let mut rewinder = WasmiRewinder::new(&module, memory.clone());
    let snapshot = walk_with_backtraces(&introspection, &memory[..], 7, &mut rewinder);
    let problem = |id: u32| {
        let goroutine = snapshot.sleep_queue.iter().find(|g| g.id == id).unwrap();
        goroutine.backtrace.as_ref().unwrap().problem.clone()
    };
    assert!(
        problem(0x11080).is_some_and(|p| p.contains("does not decode")),
        "{:?}",
        problem(0x11080)
    );
    assert!(
        problem(0x110c0).is_some_and(|p| p.contains("does not decode")),
        "{:?}",
        problem(0x110c0)
    );
    assert_eq!(problem(0x11040), None, "the others still decode");

    // While main is still current (held mid-unwind by a step, say), its save area is not
    // written yet: no replay.
    let current = introspection
        .symbol(pollscope_tinygo::CURRENT_TASK)
        .address_of(0, 4)
        .unwrap() as usize;
    memory[current..current + 4].copy_from_slice(&0x11000u32.to_le_bytes());
    let snapshot = walk_with_backtraces(&introspection, &memory[..], 7, &mut rewinder);
    let main = snapshot
        .sleep_queue
        .iter()
        .find(|g| g.id == 0x11000)
        .unwrap();
    let backtrace = main.backtrace.as_ref().unwrap();
    assert!(backtrace.frames.is_empty());
    assert!(
        backtrace
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("not parked yet")),
        "{backtrace:?}"
    );
}

/// Worker a woken (moved to the run queue) but not yet resumed, main's goroutine in the run
/// queue too: both are still parked, with their stacks.
#[test]
fn a_woken_goroutine_in_the_run_queue_is_still_parked() {
    let module = program_module();
    let introspection = Introspection::read(&module).unwrap();
    let guest = run(&module, Introspection::read(&module).unwrap());
    let task = introspection.layout(TASK_TYPE).unwrap();
    let pieces = |name: &str, n: u32| introspection.symbol(name).address_of(n, 4).unwrap() as usize;
    let put = |memory: &mut Vec<u8>, at: usize, value: u32| {
        memory[at..at + 4].copy_from_slice(&value.to_le_bytes())
    };
    let next = task.offset("Next").unwrap() as usize;
    let mut moved = guest.first_idle_memory.clone();
    let sleep_queue = pieces(pollscope_tinygo::SLEEP_QUEUE, 0);
    put(&mut moved, sleep_queue, 0x11080); // b, c stay asleep
    put(&mut moved, 0x110c0 + next, 0);
    put(&mut moved, pieces(pollscope_tinygo::RUN_QUEUE, 0), 0x11040);
    put(&mut moved, pieces(pollscope_tinygo::RUN_QUEUE, 4), 0x11000);
    put(&mut moved, 0x11040 + next, 0x11000);
    put(&mut moved, 0x11000 + next, 0);
    let mut rewinder = WasmiRewinder::new(&module, moved.clone());
    let snapshot = walk_with_backtraces(&introspection, &moved[..], 7, &mut rewinder);
    assert_eq!(snapshot.sleep_queue.len(), 2);
    let runnable: Vec<_> = snapshot
        .run_queue
        .iter()
        .map(|g| {
            let backtrace = g
                .backtrace
                .as_ref()
                .expect("a launched goroutine is replayed");
            (
                g.id,
                backtrace.problem.clone(),
                backtrace.frames.last().and_then(|f| f.line),
            )
        })
        .collect();
    assert_eq!(
        runnable,
        [(0x11040, None, Some(10)), (0x11000, None, Some(18))],
        "{snapshot:#?}"
    );
}
