//! The flight-recorder rewrite: the instrumented module validates, computes exactly what the
//! original does (run in wasmi), reports every write of asyncify's state global and the
//! scheduler side's indirect calls — found from `asyncify_get_state`, with no TinyGo name in
//! the module — and maps indices and code offsets back to the original.

use pollscope_tinygo::{
    decode_hook, instrument, FunctionMap, HookEvent, Instrumentation, HOOK_MODULE, HOOK_NAME,
};
use wasmi::{Caller, Engine, Linker, Module, Store};
use wasmparser::{Name, Operator, Parser, Payload};

/// Functions between the imports and the program, so that calls to the program's functions
/// cross the 127 → 128 boundary where an index's LEB grows a byte when renumbered.
const FILLERS: usize = 127;

/// Asyncify's runtime as Binaryen generates it (the exported API over two unnamed globals),
/// a scheduler that uses it the way TinyGo's inlined task switching does — an API call, a
/// state write inlined where the call was, `call_indirect`s of goroutine entries — and a
/// function that is not the scheduler's with a `call_indirect` of its own.
fn program(with_import: bool) -> String {
    let import = if with_import {
        r#"(import "env" "log" (func $log (param i32)))"#
    } else {
        // Same behaviour without imports: log into memory instead.
        r#"(func $log (param i32) (i32.store (i32.const 0x300) (i32.add (i32.load (i32.const 0x300)) (local.get 0))))"#
    };
    let fillers: String = (0..FILLERS)
        .map(|i| format!("(func $filler{i} (result i32) (i32.const {i}))\n"))
        .collect();
    format!(
        r#"(module
  {import}
  {fillers}
  (type $task (func (param i32)))
  (memory (export "memory") 1)
  (global $sp (mut i32) (i32.const 1024))
  (global $state (mut i32) (i32.const 0))
  (global $data (mut i32) (i32.const 0))
  (table 4 funcref)
  (elem (i32.const 1) $task_a $task_b)
  (elem declare func $task_b)
  (start $init)
  (func $init (global.set $sp (i32.const 2048)))
  (func $task_a (param i32) (call $log (i32.add (local.get 0) (i32.const 100))))
  (func $task_b (param i32) (call $log (i32.add (local.get 0) (i32.const 200))))
  (func $asyncify_start_unwind (export "asyncify_start_unwind") (param i32)
    (global.set $state (i32.const 1)) (global.set $data (local.get 0)))
  (func $asyncify_stop_unwind (export "asyncify_stop_unwind") (global.set $state (i32.const 0)))
  (func $asyncify_start_rewind (export "asyncify_start_rewind") (param i32)
    (global.set $state (i32.const 2)) (global.set $data (local.get 0)))
  (func $asyncify_stop_rewind (export "asyncify_stop_rewind") (global.set $state (i32.const 0)))
  (func $asyncify_get_state (export "asyncify_get_state") (result i32) (global.get $state))
  (func $scheduler (param $slot i32) (result i32)
    (call $asyncify_start_rewind (i32.const 0x400))
    (call_indirect (type $task) (i32.const 5) (local.get $slot))
    (global.set $state (i32.const 0))
    (call_indirect (type $task) (i32.const 6) (i32.const 2))
    (call $asyncify_stop_unwind)
    (global.get $state))
  (func $other (result i32)
    (table.set (i32.const 3) (ref.func $task_b))
    (call_indirect (type $task) (i32.const 9) (i32.const 3))
    (i32.const 10))
  (func (export "run") (result i32)
    (drop (call $filler126))
    (call $asyncify_start_unwind (i32.const 0x400))
    (call $asyncify_stop_unwind)
    (i32.add
      (i32.add (call $scheduler (i32.const 1)) (call $other))
      (i32.add (call $asyncify_get_state) (global.get $sp))))
)"#
    )
}

#[derive(Default)]
struct Host {
    log: Vec<i32>,
    events: Vec<(i32, i32, i32)>,
}

/// What one run observed.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: i32,
    /// Values passed to the `env.log` import.
    log: Vec<i32>,
    /// The in-memory log of the import-free variant.
    logged: i32,
}

/// Runs `run`, returning what the guest did and the hook calls.
fn run(bytes: &[u8]) -> (Outcome, Vec<(i32, i32, i32)>) {
    let engine = Engine::default();
    let module = Module::new(&engine, bytes).expect("module compiles in wasmi");
    let mut store = Store::new(&engine, Host::default());
    let mut linker = Linker::<Host>::new(&engine);
    linker
        .func_wrap("env", "log", |mut caller: Caller<'_, Host>, value: i32| {
            caller.data_mut().log.push(value);
        })
        .unwrap();
    linker
        .func_wrap(
            HOOK_MODULE,
            HOOK_NAME,
            |mut caller: Caller<'_, Host>, kind: i32, phase: i32, ptr: i32| {
                caller.data_mut().events.push((kind, phase, ptr));
            },
        )
        .unwrap();
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .expect("instantiates");
    let result = instance
        .get_typed_func::<(), i32>(&store, "run")
        .unwrap()
        .call(&mut store, ())
        .expect("runs");
    let memory = instance.get_memory(&store, "memory").unwrap();
    let mut logged = [0u8; 4];
    memory.read(&store, 0x300, &mut logged).unwrap();
    let host = store.into_data();
    let outcome = Outcome {
        result,
        log: host.log,
        logged: i32::from_le_bytes(logged),
    };
    (outcome, host.events)
}

fn instrumented(original: &[u8]) -> (Vec<u8>, FunctionMap) {
    match instrument(original).unwrap() {
        Instrumentation::Instrumented(out) => (out.module, out.functions),
        Instrumentation::NotInstrumentable(why) => panic!("{why}"),
    }
}

fn validate(bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .expect("instrumented module validates");
}

/// (event, a, b) as the hook receives them.
const EXPECTED_EVENTS: [(i32, i32, i32); 7] = [
    (0, 0, 1), // run: asyncify_start_unwind's write, 0 → 1
    (0, 1, 0), // asyncify_stop_unwind, 1 → 0
    (0, 0, 2), // the scheduler's asyncify_start_rewind, 0 → 2
    (1, 2, 1), // its call_indirect of slot 1 while rewinding
    (0, 2, 0), // its own (inlined) write, 2 → 0
    (1, 0, 2), // its call_indirect of slot 2, normal state
    (0, 0, 0), // asyncify_stop_unwind with nothing unwinding
];

#[test]
fn instrumented_module_behaves_the_same_and_reports_every_state_write() {
    for with_import in [true, false] {
        let original = wat::parse_str(program(with_import)).unwrap();
        let (bytes, _) = instrumented(&original);
        validate(&bytes);
        let (outcome, events) = run(&original);
        assert!(events.is_empty());
        assert_eq!(outcome.result, 10 + 2048, "the start function ran");
        if with_import {
            assert_eq!(outcome.log, vec![105, 206, 209]);
        } else {
            assert_eq!(outcome.logged, 105 + 206 + 209);
        }
        let (new_outcome, new_events) = run(&bytes);
        assert_eq!(new_outcome, outcome);
        assert_eq!(
            new_events, EXPECTED_EVENTS,
            "import section present: {with_import}; `other`'s call_indirect is not reported"
        );
    }
}

#[test]
fn hook_arguments_decode_to_events() {
    assert_eq!(
        decode_hook(0, 1, 0),
        Some(HookEvent::StateWrite { old: 1, new: 0 })
    );
    assert_eq!(
        decode_hook(1, 0, 2),
        Some(HookEvent::TaskCall {
            state: 0,
            table_index: 2
        })
    );
    assert_eq!(
        decode_hook(2, 0x1234, 0),
        Some(HookEvent::RewindCall { offset: 0x1234 })
    );
    assert_eq!(
        decode_hook(3, 0x1240, 0),
        Some(HookEvent::RewindEnd { offset: 0x1240 })
    );
    assert_eq!(decode_hook(4, 0, 0), None);
    assert_eq!(decode_hook(-1, 0, 0), None);
}

fn function_names(bytes: &[u8]) -> Vec<(u32, String)> {
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CustomSection(section) = payload.unwrap() {
            if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                for sub in reader {
                    if let Name::Function(map) = sub.unwrap() {
                        for naming in map {
                            let naming = naming.unwrap();
                            names.push((naming.index, naming.name.to_string()));
                        }
                    }
                }
            }
        }
    }
    names
}

#[test]
fn names_and_indices_map_back_to_the_original() {
    let original = wat::parse_str(program(true)).unwrap();
    let (bytes, map) = instrumented(&original);
    assert_eq!(map.hook(), 1, "after the one imported function");
    let before = function_names(&original);
    let after = function_names(&bytes);
    assert_eq!(after.len(), before.len() + 1);
    for (index, name) in &before {
        let new = map.new_index(*index);
        assert_eq!(map.original_index(new), Some(*index));
        assert!(after.contains(&(new, name.clone())), "{name} at {new}");
    }
    assert_eq!(map.original_index(map.hook()), None);
    assert!(after
        .iter()
        .any(|(index, name)| *index == 1 && name.contains(HOOK_NAME)));
    assert!(
        !bytes.windows(11).any(|w| w == b".debug_info"),
        "stale DWARF is dropped"
    );
}

/// Each body's instruction offsets, as module offsets.
fn instruction_offsets(bytes: &[u8]) -> Vec<Vec<(u32, String)>> {
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CodeSectionEntry(body) = payload.unwrap() {
            let mut reader = body.get_operators_reader().unwrap();
            let mut ops = Vec::new();
            while !reader.eof() {
                let offset = reader.original_position() as u32;
                let op = reader.read().unwrap();
                // Call targets are renumbered; compare the operator kind only.
                let kind = match op {
                    Operator::Call { .. } => "call".to_string(),
                    Operator::RefFunc { .. } => "ref.func".to_string(),
                    other => format!("{other:?}"),
                };
                ops.push((offset, kind));
            }
            bodies.push(ops);
        }
    }
    bodies
}

#[test]
fn code_offsets_of_the_new_module_map_to_the_original_instructions() {
    let original = wat::parse_str(program(true)).unwrap();
    let (bytes, map) = instrumented(&original);
    let old = instruction_offsets(&original);
    let new = instruction_offsets(&bytes);
    assert_eq!(old.len(), new.len());
    let names = function_names(&original);
    let name_of = |defined: usize| {
        names
            .iter()
            .find(|(i, _)| *i as usize == defined + 1)
            .map(|(_, n)| n.as_str())
            .unwrap_or("")
    };
    let mut checked = 0;
    for (defined, (old_ops, new_ops)) in old.iter().zip(&new).enumerate() {
        let new_index = map.new_index(defined as u32 + 1);
        let name = name_of(defined);
        if name.starts_with("asyncify_") || name == "scheduler" {
            // Hooked: each original instruction still maps to itself, the hook code before
            // it to it too.
            for (old_offset, _) in old_ops {
                assert!(
                    new_ops.iter().any(|(new_offset, _)| map
                        .original_offset(new_index, *new_offset)
                        == Some(*old_offset)),
                    "{name}: {old_offset:#x}"
                );
            }
            continue;
        }
        assert_eq!(old_ops.len(), new_ops.len(), "{name}");
        for ((old_offset, old_kind), (new_offset, new_kind)) in old_ops.iter().zip(new_ops) {
            assert_eq!(old_kind, new_kind);
            assert_eq!(
                map.original_offset(new_index, *new_offset),
                Some(*old_offset),
                "{} {old_kind}",
                name_of(defined)
            );
            checked += 1;
        }
    }
    assert!(checked > FILLERS * 2);
    // `run` calls the last filler, whose index grew from 127 to 128: its later offsets
    // shifted.
    let run = old.len() - 1;
    assert_ne!(
        new[run].last().unwrap().0 - new[run][0].0,
        old[run].last().unwrap().0 - old[run][0].0,
        "the test must exercise a shift inside a body"
    );
    assert_eq!(map.original_offset(map.hook(), 0), None);
    assert_eq!(map.original_offset(0, 0), None, "an import has no code");
}

#[test]
fn a_module_without_asyncify_is_not_instrumentable() {
    // TinyGo's task-switch names alone mean nothing: asyncify's runtime is what is needed.
    let module = wat::parse_str(
        r#"(module (func $tinygo_launch (param i32)) (func $tinygo_unwind (param i32))
                   (func $tinygo_rewind (param i32)) (func $main (export "main")))"#,
    )
    .unwrap();
    match instrument(&module).unwrap() {
        Instrumentation::NotInstrumentable(why) => {
            assert!(why.contains("no asyncify_get_state"), "{why}")
        }
        Instrumentation::Instrumented(_) => panic!("instrumented a module without asyncify"),
    }
    let not_binaryens = wat::parse_str(
        r#"(module (func (export "asyncify_get_state") (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    assert!(matches!(
        instrument(&not_binaryens).unwrap(),
        Instrumentation::NotInstrumentable(_)
    ));
    assert!(instrument(b"not wasm").is_err());
}
