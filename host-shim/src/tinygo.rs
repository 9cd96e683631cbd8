//! TinyGo's scheduler and asyncify task switches, seen from the wasm thread.
//!
//! [`TinyGo::read`] looks at the program module (the component's first core module) once, at
//! load: DWARF symbols and layouts, names, lines ([`Introspection`]). When the page asks for
//! the flight recorder, the module is rewritten ([`pollscope_tinygo::instrument`]) so
//! `tinygo_launch` / `tinygo_rewind` / `tinygo_unwind` call [`pollscope_asyncify_event`](crate::dispatch::pollscope_asyncify_event);
//! without it nothing of the program changes and the recorder costs nothing.
//!
//! Built with the `tinygo` feature only (`pollscope_shim_tinygo.js`, which `wasm-worker.js`
//! loads for programs that look like TinyGo's): DWARF reading and the module rewrite are a
//! fifth of the shim, and other guests should not download them. Without the feature,
//! `tinygo_absent.rs` stands in and no program is seen as TinyGo.

use js_sys::{Function, Object, Reflect, Uint8Array, WebAssembly};
use pollscope_protocol::{AsyncifyEvent, SchedulerSnapshot};
use pollscope_telemetry::EventRing;
use pollscope_tinygo::{
    decode_hook, instrument, walk, FunctionMap, Instrumentation, Introspection, ReadMemory,
    HOOK_MODULE, HOOK_NAME,
};
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
        let tinygo = TinyGo {
            introspection,
            functions,
            memory: None,
            get_state: None,
            events: EventRing::new(EVENTS_KEPT),
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

    /// The scheduler's queues now (real time `at`, guest monotonic time `guest_now`).
    pub fn snapshot(&self, at: u64, guest_now: u64) -> Option<SchedulerSnapshot> {
        let memory = self.memory.as_ref()?;
        let view = GuestView(Uint8Array::new(&memory.buffer()));
        let mut snapshot = walk(&self.introspection, &view, at);
        snapshot.guest_now = Some(guest_now);
        Some(snapshot)
    }

    /// Records one call of the hook at real time `at`.
    pub fn record(&mut self, kind: i32, phase: i32, ptr: i32, at: u64) {
        let Some((kind, phase)) = decode_hook(kind, phase) else {
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
            kind,
            phase,
            ptr: ptr as u32,
            asyncify_state,
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

    fn record(&mut self, kind: i32, phase: i32, ptr: i32, at: u64) {
        TinyGo::record(self, kind, phase, ptr, at);
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
