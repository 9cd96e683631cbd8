//! The wasm thread: from component bytes to a finished guest.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Function, Object, Reflect, SharedArrayBuffer, Uint8Array, WebAssembly};
use pollscope_component::{ExportRef, Item, Plan, Step, Translation};
use pollscope_protocol::worker::{CompiledModule, FromWasmThread, ToWasmThread, WasmInit};
use pollscope_ring::Config;
use pollscope_runloop::{CallKind, End, RunLoop};
use pollscope_wasi::{Host, HostConfig, Trap, TrapKind};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::DedicatedWorkerGlobalScope;

use crate::adapter::{self, Signature};
use crate::dispatch::{self, Binding, WasmThread};
use crate::frames::{parse_stack, Frame};
use crate::guest_memory::{as_memory, JsGuestMemory};
use crate::inbox::Inbox;
use crate::messages::{self, Js};
use crate::platform::BrowserPlatform;
use crate::port::BrowserPort;
use crate::shared_memory::JsSharedMemory;
use crate::tinygo::{self, TinyGo};
use crate::{js_error_message, js_object};

/// How the guest ended.
enum Ended {
    Exit(i32),
    Trap { message: String, frames: Vec<Frame> },
}

/// The component's first core module is the program (wit-component puts it there).
const PROGRAM_MODULE: u32 = 0;

/// What [`wasm_thread_prepare`] made ready, kept until [`wasm_thread_start`] has the compiled
/// core modules. The host state itself is in [`dispatch`].
struct Prepared {
    /// The component's bytes, left in JS: copied into this memory only to translate them, so a
    /// start with the start cache's translation copies nothing (3 MB: ≈ 2 ms).
    component: Uint8Array,
    translation: Translation,
    /// Whether this thread made the translation: the page gets it (for its start cache) once
    /// the core modules are instantiated, while the start gate may still be shut.
    translated_here: bool,
    /// The TinyGo program rewritten for the asyncify flight recorder, compiled.
    rewritten: Option<WebAssembly::Module>,
    /// The adapter instance's exports (one host function each).
    adapter: JsValue,
    start_gate: Option<Js>,
}

thread_local! {
    static PREPARED: RefCell<Option<Prepared>> = const { RefCell::new(None) };
}

/// The wasm worker's first step, on the page's `init` (`ToWasmThread::Init`): makes the event
/// ring, translates the component (or takes the start cache's translation) and sets up the
/// guest's world, while the page still compiles the core modules. True when the guest is ready
/// for [`wasm_thread_start`]; false when it cannot run (the page got `error`).
#[wasm_bindgen]
pub fn wasm_thread_prepare(init: JsValue) -> bool {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let prepared = messages::read::<ToWasmThread<Js>>(init)
        .map_err(|why| format!("init message: {why}"))
        .and_then(|message| match message {
            ToWasmThread::Init(init) => prepare(&scope, *init),
            ToWasmThread::Compiled { .. } => Err("the compiled modules came before init".into()),
        });
    match prepared {
        Ok(prepared) => {
            PREPARED.with(|cell| *cell.borrow_mut() = Some(prepared));
            true
        }
        Err(message) => {
            fail(&scope, message);
            false
        }
    }
}

/// The wasm worker's second step, on the page's `compiled` (`ToWasmThread::Compiled`) after
/// [`wasm_thread_prepare`]: instantiates the core modules and runs the guest to its end
/// (synchronously: it blocks in `Atomics.wait` whenever the guest waits). The run loop posts
/// how it ended (`exit`, `trap`); a component that cannot run gets `error`.
#[wasm_bindgen]
pub fn wasm_thread_start(compiled: JsValue) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let ended = messages::read::<ToWasmThread<Js>>(compiled)
        .map_err(|why| format!("compiled message: {why}"))
        .and_then(|message| match message {
            ToWasmThread::Compiled { modules } => Ok(modules),
            ToWasmThread::Init(_) => Err("a second init message".into()),
        })
        .and_then(|modules| {
            let prepared = PREPARED
                .with(|cell| cell.borrow_mut().take())
                .ok_or("the compiled modules came before the component was ready")?;
            run(&scope, prepared, &modules)
        });
    match ended {
        Ok(Ended::Exit(code)) => finish(End::Exit(code)),
        Ok(Ended::Trap {
            message,
            mut frames,
        }) => {
            dispatch::with_state(|state| {
                if let Some(tinygo) = &state.run_loop.borrow().scheduler {
                    tinygo.symbolize(&mut frames);
                }
            });
            finish(End::Trap(pollscope_protocol::TrapReport {
                message,
                frames,
            }));
        }
        Err(message) => fail(&scope, message),
    }
}

/// Tells the page the component cannot run.
fn fail(scope: &DedicatedWorkerGlobalScope, message: String) {
    // Output the guest wrote before a host failure still reaches the page first.
    dispatch::with_state(|state| state.run_loop.borrow_mut().flush_output());
    messages::post(scope, &FromWasmThread::<Js>::Error { message }, &[]);
}

/// Tells the run loop how the guest ended: the last batch (to a listening panel), the output
/// written just before the end, then the end itself reach the page in that order.
fn finish(end: End) {
    crate::preopen_export::write_back();
    dispatch::with_state(|state| state.run_loop.borrow_mut().finish(end));
}

/// Everything that needs no compiled core module: the ring, the translation, the host, the
/// adapter.
fn prepare(scope: &DedicatedWorkerGlobalScope, options: WasmInit<Js>) -> Result<Prepared, String> {
    // The event ring first, so the event thread attaches while this thread reads the component.
    let ring = make_ring(scope, options.ring_capacity)?;
    let component: Uint8Array = options
        .component
        .0
        .dyn_ref::<Uint8Array>()
        .ok_or("init: component is not a Uint8Array")?
        .clone();

    let (translation, bytes) = match options
        .translation
        .as_deref()
        .and_then(|json| cached_translation(json, component.length() as usize))
    {
        Some(translation) => {
            trace(scope, "component translation from the start cache");
            (translation, None)
        }
        None => {
            let bytes = component.to_vec();
            let translation =
                pollscope_component::translate(&bytes).map_err(|err| err.to_string())?;
            trace(scope, "component translated");
            (translation, Some(bytes))
        }
    };
    let translated_here = bytes.is_some();
    // Only the TinyGo build reads the program (`tinygo_absent.rs` sees no TinyGo program).
    let tinygo = match translation.plan.modules.first() {
        Some(program) if cfg!(feature = "tinygo") => {
            let range = program.range.start as usize..program.range.end as usize;
            let code = match &bytes {
                Some(bytes) => Cow::Borrowed(&bytes[range]),
                None => Cow::Owned(
                    component
                        .subarray(range.start as u32, range.end as u32)
                        .to_vec(),
                ),
            };
            TinyGo::read(&code, options.asyncify_recorder)
        }
        _ => None,
    };
    drop(bytes);
    let mut hello = pollscope_telemetry::hello(&translation);
    hello.tinygo = tinygo.as_ref().map(|(tinygo, _)| tinygo.summary());
    let (tinygo, rewritten) = match tinygo {
        Some((tinygo, rewritten)) => (Some(tinygo), rewritten.ok()),
        None => (None, None),
    };
    let rewritten = rewritten
        .map(|code| {
            WebAssembly::Module::new(&Uint8Array::from(code.as_slice())).map_err(|err| {
                format!(
                    "compiling core module {PROGRAM_MODULE}: {}",
                    js_error_message(&err)
                )
            })
        })
        .transpose()?;
    let plan = &translation.plan;
    let (bindings, signatures) = bind_imports(plan)?;
    let recording = options.telemetry;
    let port = BrowserPort::new(scope.clone(), Inbox::new(ring)?)?;
    let wall_now = port.wall_now();
    let calls = call_kinds(&bindings);
    let mut run_loop = RunLoop::new(port, hello, calls, wall_now, recording);
    run_loop.scheduler = tinygo;
    let run_loop = Rc::new(RefCell::new(run_loop));

    let mut config = HostConfig::new(
        options
            .args
            .first()
            .map(String::as_str)
            .unwrap_or("app.wasm"),
    );
    config.args = options.args;
    config.env = options.env;
    config.cwd = options.cwd;
    config.preopens = crate::preopen_export::preopens(&options.preopens);
    config.dirs = options.dirs;
    config.files = options
        .files
        .iter()
        .map(|(path, bytes)| Ok((path.clone(), bytes_of(bytes, path)?)))
        .collect::<Result<_, String>>()?;
    let platform = BrowserPlatform::new(scope, run_loop.clone())?;
    let host = Host::new(config, Box::new(platform))
        .map_err(|err| format!("setting up the guest's world: {err}"))?;
    let (counts, watch) = {
        let run_loop = run_loop.borrow();
        (run_loop.call_counts(), run_loop.watch())
    };
    dispatch::install(WasmThread {
        host,
        bindings,
        memories: plan.memories.iter().map(|_| None).collect(),
        run_loop,
        counts,
        watch,
        recording,
    });
    let adapter = instantiate_adapter(&signatures)?;
    Ok(Prepared {
        component,
        translation,
        translated_here,
        rewritten,
        adapter,
        start_gate: options.start_gate,
    })
}

/// Instantiates the core modules in plan order (with the page's compiled ones where it has
/// them) and runs the guest.
fn run(
    scope: &DedicatedWorkerGlobalScope,
    prepared: Prepared,
    compiled: &[CompiledModule<Js>],
) -> Result<Ended, String> {
    let Prepared {
        component,
        translation,
        translated_here,
        rewritten,
        adapter,
        start_gate,
    } = prepared;
    // For the page's start cache.
    let post_translated = || {
        if translated_here {
            if let Ok(json) = serde_json::to_string(&translation) {
                messages::post(scope, &FromWasmThread::<Js>::Translated { json }, &[]);
            }
        }
    };
    let plan = &translation.plan;
    let precompiled: HashMap<(u32, u32), &JsValue> = compiled
        .iter()
        .map(|compiled| ((compiled.start, compiled.end), &compiled.module.0))
        .collect();
    let mut instances: HashMap<u32, Object> = HashMap::new();
    for step in &plan.steps {
        let Step::Instantiate {
            instance,
            module,
            imports,
        } = step;
        let imports_object = Object::new();
        for binding in imports {
            let value = match &binding.item {
                Item::Export { instance, name } => export_of(
                    &instances,
                    &ExportRef {
                        instance: *instance,
                        name: name.clone(),
                    },
                )?,
                Item::Host { func } => Reflect::get(&adapter, &func.to_string().into())
                    .map_err(|_| format!("adapter lacks host function {func}"))?,
            };
            let namespace = match Reflect::get(&imports_object, &binding.module.as_str().into()) {
                Ok(existing) if existing.is_object() => existing,
                _ => {
                    let fresh: JsValue = Object::new().into();
                    let _ = Reflect::set(&imports_object, &binding.module.as_str().into(), &fresh);
                    fresh
                }
            };
            let _ = Reflect::set(&namespace, &binding.name.as_str().into(), &value);
        }
        let compiled = match &rewritten {
            Some(rewritten) if *module == PROGRAM_MODULE => {
                tinygo::bind_hook(&imports_object)?;
                rewritten.clone()
            }
            // The loader's compile of exactly these bytes, else a compile here.
            _ => {
                let range = &plan.modules[*module as usize].range;
                match precompiled.get(&(range.start, range.end)) {
                    Some(compiled) => compiled
                        .dyn_ref::<WebAssembly::Module>()
                        .ok_or("compiled: a module is not a WebAssembly.Module")?
                        .clone(),
                    None => WebAssembly::Module::new(&component.subarray(range.start, range.end))
                        .map_err(|err| {
                        format!("compiling core module {module}: {}", js_error_message(&err))
                    })?,
                }
            }
        };
        let created = match WebAssembly::Instance::new(&compiled, &imports_object) {
            Ok(created) => created,
            // A start function may already run guest code that traps or exits.
            Err(err) => {
                post_translated();
                return Ok(ended_by(&err));
            }
        };
        if *module == PROGRAM_MODULE {
            dispatch::with_state(|state| {
                if let Some(tinygo) = state.run_loop.borrow_mut().scheduler.as_mut() {
                    tinygo.attach(&created.exports());
                }
            });
        }
        instances.insert(*instance, created.exports());
        resolve_memories(scope, plan, *instance, &instances)?;
    }

    trace(scope, "core modules instantiated");
    post_translated();
    if let Some(gate) = &start_gate {
        wait_for_gate(&gate.0)?;
    }
    let run = export_of(&instances, &plan.run.func)?
        .dyn_into::<Function>()
        .map_err(|_| "the run export is not a function".to_string())?;
    match run.call0(&JsValue::UNDEFINED) {
        // `result<_, _>`: 0 is ok, 1 is err (exit code 1, as wasmtime reports it).
        Ok(value) => Ok(Ended::Exit(if value.as_f64() == Some(0.0) { 0 } else { 1 })),
        Err(err) => Ok(ended_by(&err)),
    }
}

/// Makes the event ring (`capacity` bytes of packet data, or the default) and sends it to the
/// page for the event thread ([`FromWasmThread::Ring`]): a plain SharedArrayBuffer, as the
/// output ring (see `outbox.rs` for why not a bridged `WebAssembly.Memory`).
fn make_ring(
    scope: &DedicatedWorkerGlobalScope,
    capacity: Option<u32>,
) -> Result<JsSharedMemory, String> {
    let config = Config {
        capacity: capacity.unwrap_or(pollscope_ring::layout::DEFAULT_CAPACITY),
        ..Config::default()
    };
    config.validate().map_err(|err| format!("ring: {err}"))?;
    let buffer = SharedArrayBuffer::new(config.total_bytes() as u32);
    let memory = JsSharedMemory::new(&buffer)?;
    pollscope_ring::init(&memory, config).map_err(|err| format!("ring: {err}"))?;
    messages::post(
        scope,
        &FromWasmThread::Ring {
            ring: Js(buffer.into()),
        },
        &[],
    );
    Ok(memory)
}

/// A translation from the loader's start cache, if it reads as one that fits a component of
/// `len` bytes (the cache is keyed by the component's and this shim's SHA-256, so it is this
/// shim's own translation of these bytes; the check keeps a damaged entry from slicing out of
/// bounds).
fn cached_translation(json: &str, len: usize) -> Option<Translation> {
    let translation: Translation = serde_json::from_str(json).ok()?;
    let fits =
        translation.plan.modules.iter().all(|module| {
            module.range.start <= module.range.end && module.range.end as usize <= len
        });
    fits.then_some(translation)
}

/// Waits until the loader opens [`WasmInit::start_gate`] (its first word not 0).
fn wait_for_gate(gate: &JsValue) -> Result<(), String> {
    let gate: &SharedArrayBuffer = gate
        .dyn_ref()
        .ok_or("init: the start gate is not a SharedArrayBuffer")?;
    let word = js_sys::Int32Array::new(gate);
    while js_sys::Atomics::load(&word, 0).map_err(|err| js_error_message(&err))? == 0 {
        js_sys::Atomics::wait(&word, 0, 0).map_err(|err| js_error_message(&err))?;
    }
    Ok(())
}

/// A start-up milestone for the page's `onTrace`.
fn trace(scope: &DedicatedWorkerGlobalScope, what: &str) {
    messages::post(
        scope,
        &FromWasmThread::<Js>::Trace { what: what.into() },
        &[],
    );
}

/// How each host function relates to waiting, as its definition in `pollscope-wasi` declares
/// ([`HostFunc::waits`](pollscope_wasi::HostFunc::waits)), by adapter index. That is the Hello's
/// order too: both are the plan's `host_funcs` in order (`bind_imports` zips them with what
/// `pollscope_link::link` resolved, `pollscope_telemetry::hello` names them).
fn call_kinds(bindings: &[Binding]) -> Vec<CallKind> {
    bindings
        .iter()
        .map(|binding| {
            let waits = binding.func.waits();
            CallKind {
                may_wait: waits.may_wait(),
                idle_point: waits.idle_point(),
            }
        })
        .collect()
}

/// Host functions by adapter index (each with its index into the plan's memories), and the
/// adapter's signatures.
fn bind_imports(plan: &Plan) -> Result<(Vec<Binding>, Vec<Signature>), String> {
    let funcs = pollscope_link::link(plan).map_err(|err| err.to_string())?;
    let mut bindings = Vec::with_capacity(funcs.len());
    let mut signatures = Vec::with_capacity(funcs.len());
    for (import, func) in plan.host_funcs.iter().zip(funcs) {
        signatures.push(Signature {
            params: func.params().to_vec(),
            results: func.results().to_vec(),
        });
        let memory = import.memory.map(|index| index as usize);
        bindings.push(Binding { func, memory });
    }
    Ok((bindings, signatures))
}

fn instantiate_adapter(signatures: &[Signature]) -> Result<JsValue, String> {
    let bytes = adapter::encode(signatures).map_err(|err| err.0)?;
    let shim = wasm_bindgen::exports();
    let host = Object::new();
    for name in [adapter::HOST_CALL, adapter::TRAP_PENDING] {
        let func = Reflect::get(&shim, &name.into())
            .map_err(|_| format!("shim lacks its export {name}"))?;
        let _ = Reflect::set(&host, &name.into(), &func);
    }
    let imports = js_object(&[(adapter::HOST_MODULE, host.into())]);
    let module = WebAssembly::Module::new(&Uint8Array::from(bytes.as_slice()))
        .map_err(|err| format!("compiling the adapter: {}", js_error_message(&err)))?;
    let instance = WebAssembly::Instance::new(&module, &imports)
        .map_err(|err| format!("instantiating the adapter: {}", js_error_message(&err)))?;
    Ok(instance.exports().into())
}

fn export_of(instances: &HashMap<u32, Object>, export: &ExportRef) -> Result<JsValue, String> {
    let exports = instances
        .get(&export.instance)
        .ok_or_else(|| format!("core instance {} is used before it exists", export.instance))?;
    let value = Reflect::get(exports, &export.name.as_str().into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() {
        return Err(format!(
            "core instance {} has no export `{}`",
            export.instance, export.name
        ));
    }
    Ok(value)
}

/// Gives the guest memories that became usable with `instance` (see
/// `pollscope_component::GuestMemory::ready_after`) their JS objects.
/// Says on the trace how each is reached: "guest memory N bridged", or through JavaScript
/// and why (an engine without multi-memory, say), which costs every host call.
fn resolve_memories(
    scope: &DedicatedWorkerGlobalScope,
    plan: &Plan,
    instance: u32,
    instances: &HashMap<u32, Object>,
) -> Result<(), String> {
    for (index, guest) in plan.memories_ready_after(instance) {
        let memory = as_memory(export_of(instances, &guest.memory)?, "the lowered memory")?;
        let realloc = match &guest.realloc {
            Some(realloc) => Some(
                export_of(instances, realloc)?
                    .dyn_into::<Function>()
                    .map_err(|_| "cabi_realloc is not a function".to_string())?,
            ),
            None => None,
        };
        let memory = JsGuestMemory::new(memory, realloc);
        trace(
            scope,
            &match memory.unbridged() {
                None => format!("guest memory {index} bridged"),
                Some(why) => format!("guest memory {index} through JavaScript: {why}"),
            },
        );
        dispatch::with_state(|state| state.memories[index as usize] = Some(memory));
    }
    Ok(())
}

/// Turns what the guest threw into exit or trap, preferring what the host recorded.
fn ended_by(thrown: &JsValue) -> Ended {
    let frames = Reflect::get(thrown, &"stack".into())
        .ok()
        .and_then(|stack| stack.as_string())
        .map(|stack| parse_stack(&stack))
        .unwrap_or_default();
    match dispatch::take_trap() {
        Some(Trap {
            kind: TrapKind::Exit(code),
            ..
        }) => Ended::Exit(code),
        Some(trap) => Ended::Trap {
            message: trap.to_string(),
            frames,
        },
        None => Ended::Trap {
            message: js_error_message(thrown),
            frames,
        },
    }
}

/// `init.files`: `[[path, Uint8Array], …]`.
/// The bytes of a `Uint8Array` field (`what` names it in the error).
fn bytes_of(value: &Js, what: &str) -> Result<Vec<u8>, String> {
    value
        .0
        .dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| format!("init: {what} is not a Uint8Array"))
}
