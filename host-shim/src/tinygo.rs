//! TinyGo's scheduler and asyncify task switches, seen from the wasm thread.
//!
//! [`TinyGo::read`] looks at the program module (the component's first core module) once, at
//! load: DWARF symbols and layouts, names, lines ([`Introspection`]). When the page asks for
//! the flight recorder, the module is rewritten ([`pollscope_tinygo::instrument`]) so every
//! write of asyncify's state global and the scheduler's indirect calls of goroutine entries
//! call [`pollscope_asyncify_event`](crate::dispatch::pollscope_asyncify_event), which reads
//! `internal/task.currentTask` to say whose launch, unwind or rewind it is; without it nothing
//! of the program changes and the recorder costs nothing. Parked goroutines' backtraces come
//! from replaying their rewind in a second instance of the program (the replay rewrite,
//! [`pollscope_tinygo::instrument_for_replay`]) with the guest's memory copied in, compiled
//! the first time a snapshot needs it.
//!
//! Built with the `tinygo` feature only (`pollscope_shim_tinygo.js`, which `wasm-worker.js`
//! loads for programs that look like TinyGo's): DWARF reading and the module rewrite are a
//! fifth of the shim, and other guests should not download them. Without the feature,
//! `tinygo_absent.rs` stands in and no program is seen as TinyGo.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Reflect, Uint8Array, WebAssembly};
use pollscope_protocol::{AsyncifyEvent, SchedulerSnapshot};
use pollscope_telemetry::EventRing;
use pollscope_tinygo::backtrace::{Replay, Rewinder};
use pollscope_tinygo::{
    decode_hook, instrument, instrument_for_replay, task_switch, walk_with_backtraces, FunctionMap,
    Instrumentation, Introspection, ReadMemory, HOOK_MODULE, HOOK_NAME, REPLAY_TABLE_EXPORT,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;

use crate::frames::Frame;

/// Asyncify events kept between two batches; older ones are dropped (and counted).
const EVENTS_KEPT: usize = 4096;

/// What the wasm thread knows of a TinyGo program.
pub struct TinyGo {
    introspection: Introspection,
    /// Set when the module was rewritten: maps the running module's functions back.
    functions: Option<FunctionMap>,
    /// The program instance's memory and `asyncify_get_state`, once it exists.
    memory: Option<WebAssembly::Memory>,
    get_state: Option<Function>,
    events: EventRing<AsyncifyEvent>,
    /// The replay rewrite for backtraces, until the first snapshot compiles it.
    replay_module: Option<Vec<u8>>,
    /// The replay instance, or why there is none.
    rewinder: RefCell<Option<Result<JsRewinder, String>>>,
}

impl TinyGo {
    /// Reads the program module; `None` for a program that shows nothing of TinyGo's
    /// scheduler (no DWARF symbols, no task-switch functions). With `record_asyncify`, also
    /// returns the rewritten module to instantiate instead (or the reason it cannot be).
    pub fn read(
        program: &[u8],
        record_asyncify: bool,
    ) -> Option<(TinyGo, Result<Vec<u8>, String>)> {
        let introspection = Introspection::read(program).ok()?;
        let summary = introspection.summary();
        if !summary.instrumentable && summary.symbols_found.is_empty() {
            return None;
        }
        let (functions, rewritten) = match record_asyncify.then(|| instrument(program)) {
            Some(Ok(Instrumentation::Instrumented(done))) => {
                (Some(done.functions), Ok(done.module))
            }
            Some(Ok(Instrumentation::NotInstrumentable(why))) => (None, Err(why)),
            Some(Err(err)) => (None, Err(err.to_string())),
            None => (None, Err("the flight recorder was not asked for".into())),
        };
        let replay_module = match introspection.dwarf.then(|| instrument_for_replay(program)) {
            Some(Ok(Instrumentation::Instrumented(replay))) => Some(replay.module),
            _ => None,
        };
        let tinygo = TinyGo {
            introspection,
            functions,
            memory: None,
            get_state: None,
            events: EventRing::new(EVENTS_KEPT),
            replay_module,
            rewinder: RefCell::new(None),
        };
        Some((tinygo, rewritten))
    }

    /// What the Hello says.
    pub fn summary(&self) -> pollscope_protocol::TinyGoSummary {
        self.introspection.summary()
    }

    /// The program instance exists: keep its memory and `asyncify_get_state`.
    pub fn attach(&mut self, exports: &Object) {
        self.memory = Reflect::get(exports, &"memory".into())
            .ok()
            .and_then(|memory| memory.dyn_into().ok());
        self.get_state = Reflect::get(exports, &"asyncify_get_state".into())
            .ok()
            .and_then(|func| func.dyn_into().ok());
    }

    /// The scheduler's queues now (real time `at`, guest monotonic time `guest_now`), with
    /// each sleeping goroutine's backtrace.
    pub fn snapshot(&self, at: u64, guest_now: u64) -> Option<SchedulerSnapshot> {
        let memory = self.memory.as_ref()?;
        let live = Uint8Array::new(&memory.buffer());
        let view = GuestView(live.clone());
        let mut rewinder = self.rewinder.borrow_mut();
        let rewinder = rewinder.get_or_insert_with(|| match &self.replay_module {
            Some(module) => JsRewinder::new(module),
            None => Err("no replay: the program has no DWARF or no asyncify runtime".into()),
        });
        let mut replay = ReplayWith {
            rewinder: rewinder.as_mut().map_err(|why| why.clone()),
            live: &live,
            copied: false,
        };
        let mut snapshot = walk_with_backtraces(&self.introspection, &view, at, &mut replay);
        snapshot.guest_now = Some(guest_now);
        Some(snapshot)
    }

    /// Whether a hook call reports a task switch (not, e.g., the scheduler's indirect call of
    /// a timer callback): a step stops only at those.
    pub fn is_task_switch(&self, event: i32, a: i32, b: i32) -> bool {
        self.switch_now(event, a, b).is_some()
    }

    fn switch_now(&self, event: i32, a: i32, b: i32) -> Option<pollscope_tinygo::TaskSwitch> {
        let event = decode_hook(event, a, b)?;
        let memory = self.memory.as_ref()?;
        let view = GuestView(Uint8Array::new(&memory.buffer()));
        task_switch(&self.introspection, &view, event)
    }

    /// Records one call of the hook at real time `at`, with the goroutine it belongs to.
    pub fn record(&mut self, event: i32, a: i32, b: i32, at: u64) {
        let Some(switch) = self.switch_now(event, a, b) else {
            return;
        };
        let asyncify_state = self
            .get_state
            .as_ref()
            .and_then(|get| get.call0(&JsValue::UNDEFINED).ok())
            .and_then(|state| state.as_f64())
            .map(|state| state as u32);
        self.events.push(AsyncifyEvent {
            at,
            kind: switch.kind,
            phase: switch.phase,
            ptr: switch.task,
            asyncify_state,
            function: switch.function,
        });
    }

    /// The events recorded since the last call.
    pub fn take_events(&mut self) -> Vec<AsyncifyEvent> {
        self.events.take()
    }

    /// Adds Go source lines to the frames of the program module. A frame is the program's
    /// when its index (mapped back through the rewrite) carries the name the engine showed.
    pub fn symbolize(&self, frames: &mut [Frame]) {
        let symbolizer = &self.introspection.symbolizer;
        for frame in frames {
            let (Some(func), Some(offset)) = (frame.func, frame.offset) else {
                continue;
            };
            let (func, offset) = match &self.functions {
                Some(map) => match (map.original_index(func), map.original_offset(func, offset)) {
                    (Some(func), Some(offset)) => (func, offset),
                    _ => continue,
                },
                None => (func, offset),
            };
            let ours = match (&frame.name, symbolizer.function_name(func)) {
                (Some(shown), Some(name)) => shown == name,
                // Names stripped: trust the index only for a program that has lines at all.
                (None, _) => symbolizer.has_lines(),
                (Some(_), None) => false,
            };
            if !ours {
                continue;
            }
            if let Some(location) = symbolizer.location(offset) {
                frame.file = Some(location.file);
                frame.line = Some(location.line);
            }
        }
    }
}

impl pollscope_runloop::Scheduler for TinyGo {
    fn snapshot(&self, at: u64, guest_now: u64) -> Option<SchedulerSnapshot> {
        TinyGo::snapshot(self, at, guest_now)
    }

    fn record(&mut self, event: i32, a: i32, b: i32, at: u64) {
        TinyGo::record(self, event, a, b, at);
    }

    fn take_events(&mut self) -> Vec<AsyncifyEvent> {
        TinyGo::take_events(self)
    }
}

/// Adds the flight recorder's hook (the shim's own export) to a rewritten program's imports.
pub fn bind_hook(imports: &Object) -> Result<(), String> {
    let hook = Reflect::get(&wasm_bindgen::exports(), &"pollscope_asyncify_event".into())
        .map_err(|_| "shim lacks its export pollscope_asyncify_event".to_string())?;
    let namespace: JsValue = crate::js_object(&[(HOOK_NAME, hook)]).into();
    let _ = Reflect::set(imports, &HOOK_MODULE.into(), &namespace);
    Ok(())
}

/// The replay instance for one snapshot: the live memory is copied in before the first
/// rewind.
struct ReplayWith<'a> {
    rewinder: Result<&'a mut JsRewinder, String>,
    live: &'a Uint8Array,
    copied: bool,
}

impl Rewinder for ReplayWith<'_> {
    fn rewind(&mut self, entry: u32, args: u32, stack_state: u32) -> Result<Replay, String> {
        let rewinder = self.rewinder.as_mut().map_err(|why| why.clone())?;
        if !self.copied {
            rewinder.copy_memory(self.live)?;
            self.copied = true;
        }
        rewinder.rewind(entry, args, stack_state)
    }
}

/// A second instance of the program, rewritten for replays: every import but the hook
/// throws (a rewind calls none), the hook feeds a [`Replay`] and throws when it says stop.
struct JsRewinder {
    exports: Object,
    memory: WebAssembly::Memory,
    replay: Rc<RefCell<Replay>>,
    _hook: Closure<dyn FnMut(i32, i32, i32) -> Result<(), JsValue>>,
    _stub: Closure<dyn Fn() -> Result<(), JsValue>>,
}

impl JsRewinder {
    fn new(module: &[u8]) -> Result<JsRewinder, String> {
        let js = |err: JsValue| format!("replay instance: {}", crate::js_error_message(&err));
        let compiled = WebAssembly::Module::new(&Uint8Array::from(module)).map_err(js)?;
        let replay = Rc::new(RefCell::new(Replay::default()));
        let seen = replay.clone();
        let hook =
            Closure::<dyn FnMut(i32, i32, i32) -> Result<(), JsValue>>::new(move |event, a, b| {
                seen.borrow_mut()
                    .on_hook(event, a, b)
                    .map_err(|stop| JsValue::from_str(&format!("replay stopped: {stop:?}")))
            });
        let stub = Closure::<dyn Fn() -> Result<(), JsValue>>::new(|| {
            Err(JsValue::from_str("the rewind called an import"))
        });
        let imports = Object::new();
        for descriptor in WebAssembly::Module::imports(&compiled).iter() {
            let field = |name: &str| Reflect::get(&descriptor, &name.into()).unwrap_or_default();
            let (module, name) = (field("module"), field("name"));
            if field("kind").as_string().as_deref() != Some("function") {
                continue;
            }
            let is_hook = module.as_string().as_deref() == Some(HOOK_MODULE)
                && name.as_string().as_deref() == Some(HOOK_NAME);
            let value: &JsValue = if is_hook {
                hook.as_ref()
            } else {
                stub.as_ref()
            };
            let namespace = match Reflect::get(&imports, &module) {
                Ok(existing) if existing.is_object() => existing,
                _ => {
                    let fresh: JsValue = Object::new().into();
                    let _ = Reflect::set(&imports, &module, &fresh);
                    fresh
                }
            };
            let _ = Reflect::set(&namespace, &name, value);
        }
        let instance = WebAssembly::Instance::new(&compiled, &imports).map_err(js)?;
        let exports = instance.exports();
        let memory = Reflect::get(&exports, &"memory".into())
            .ok()
            .and_then(|memory| memory.dyn_into().ok())
            .ok_or("replay instance: no memory export")?;
        Ok(JsRewinder {
            exports,
            memory,
            replay,
            _hook: hook,
            _stub: stub,
        })
    }

    /// Makes the replay's memory a copy of the guest's.
    fn copy_memory(&self, live: &Uint8Array) -> Result<(), String> {
        let have = Uint8Array::new(&self.memory.buffer()).length();
        if live.length() > have {
            let pages = (live.length() - have).div_ceil(65536);
            let grown = Reflect::get(&self.memory, &"grow".into())
                .ok()
                .and_then(|grow| grow.dyn_into::<Function>().ok())
                .map(|grow| grow.call1(&self.memory, &pages.into()));
            if !matches!(grown, Some(Ok(_))) {
                return Err("replay instance: its memory does not grow to the guest's".into());
            }
        }
        Uint8Array::new(&self.memory.buffer()).set(live, 0);
        Ok(())
    }

    fn function(&self, name: &str) -> Result<Function, String> {
        Reflect::get(&self.exports, &name.into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| format!("replay instance: no {name} export"))
    }

    fn rewind(&mut self, entry: u32, args: u32, stack_state: u32) -> Result<Replay, String> {
        *self.replay.borrow_mut() = Replay::default();
        self.function("asyncify_start_rewind")?
            .call1(&JsValue::UNDEFINED, &stack_state.into())
            .map_err(|err| crate::js_error_message(&err))?;
        let table: WebAssembly::Table = Reflect::get(&self.exports, &REPLAY_TABLE_EXPORT.into())
            .ok()
            .and_then(|t| t.dyn_into().ok())
            .ok_or("replay instance: no table export")?;
        let entry_fn: Function = table
            .get(entry)
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| format!("table slot {entry} is not a function"))?;
        *self.replay.borrow_mut() = Replay::armed();
        let outcome = entry_fn.call1(&JsValue::UNDEFINED, &args.into());
        let replay = std::mem::take(&mut *self.replay.borrow_mut());
        match outcome {
            Err(_) if replay.ended_at.is_some() => Ok(replay),
            Err(err) => Err(crate::js_error_message(&err)),
            Ok(_) => Ok(replay),
        }
    }
}

/// The program memory as the walk reads it (bounds-checked; any out-of-range read is `None`).
struct GuestView(Uint8Array);

impl ReadMemory for GuestView {
    fn read(&self, address: u32, out: &mut [u8]) -> Option<()> {
        let end = address.checked_add(u32::try_from(out.len()).ok()?)?;
        if end > self.0.length() {
            return None;
        }
        self.0.subarray(address, end).copy_to(out);
        Some(())
    }
}
