//! The wasm thread's host state and the two raw exports the adapter module calls.
//!
//! `pollscope_host_call` is re-entered from guest code while `run` is on the stack, so nothing
//! here holds a borrow across a call into the guest except the realloc a host function asks
//! for; a guest that re-enters the host from `cabi_realloc` gets a trap, not a panic.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use pollscope_telemetry::CallCounts;

use pollscope_wasi::{GuestMemory, Host, HostFunc, Trap};

use crate::guest_memory::{JsGuestMemory, NoMemory};
use crate::platform::Shared;

/// One lowered import, as the adapter's export `"{index}"` forwards it.
pub struct Binding {
    /// The host function.
    pub func: HostFunc,
    /// Index into [`WasmThread::memories`] (the plan's guest memories), or `None` for imports
    /// lowered without memory.
    pub memory: Option<usize>,
}

/// Everything the host calls need, installed once the guest is instantiated.
pub struct WasmThread {
    /// The WASI host.
    pub host: Host,
    /// Lowered imports by adapter export index.
    pub bindings: Vec<Binding>,
    /// The plan's guest memories, each resolved once its instances exist.
    pub memories: Vec<Option<JsGuestMemory>>,
    /// The run loop (telemetry, steering, waits), shared with the platform.
    pub run_loop: Shared,
    /// The recorder's call counters, bumped here directly for calls nobody watches.
    pub counts: CallCounts,
    /// Whether calls need the run loop ([`pollscope_runloop::RunLoop::watch`]).
    pub watch: Rc<Cell<bool>>,
    /// False when the page started the guest with `telemetry: false`: host calls skip the
    /// recorder entirely (no counters, spans or snapshots) — the baseline the
    /// `telemetry-overhead` bench row measures against.
    pub recording: bool,
}

thread_local! {
    static STATE: RefCell<Option<WasmThread>> = const { RefCell::new(None) };
    static PENDING_TRAP: RefCell<Option<Trap>> = const { RefCell::new(None) };
}

/// Installs the host state for the guest about to run.
pub fn install(state: WasmThread) {
    STATE.with(|cell| *cell.borrow_mut() = Some(state));
}

/// Runs `f` on the installed state (used between guest calls, e.g. to resolve memories).
pub fn with_state<R>(f: impl FnOnce(&mut WasmThread) -> R) -> Option<R> {
    STATE.with(|cell| cell.try_borrow_mut().ok()?.as_mut().map(f))
}

/// Takes the trap or exit a host call recorded, if any.
pub fn take_trap() -> Option<Trap> {
    PENDING_TRAP.with(|cell| cell.borrow_mut().take())
}

fn record(trap: Trap) {
    PENDING_TRAP.with(|cell| {
        let mut pending = cell.borrow_mut();
        // The first trap is the cause; later ones happen while unwinding.
        if pending.is_none() {
            *pending = Some(trap);
        }
    });
}

fn call(func: u32, args: &[i64]) -> Result<i64, Trap> {
    STATE.with(|cell| {
        let mut guard = cell.try_borrow_mut().map_err(|_| {
            Trap::abi("host re-entered from a guest call it made (e.g. cabi_realloc)")
        })?;
        let state = guard
            .as_mut()
            .ok_or_else(|| Trap::abi("host call before the host was set up"))?;
        let WasmThread {
            host,
            bindings,
            memories,
            run_loop,
            counts,
            watch,
            recording,
        } = state;
        let binding = bindings
            .get(func as usize)
            .ok_or_else(|| Trap::abi(format!("no host function {func}")))?;
        let params = binding.func.params().len();
        let memory: &mut dyn GuestMemory = match binding.memory {
            Some(index) => match memories.get_mut(index).and_then(Option::as_mut) {
                Some(memory) => memory,
                None => return Err(Trap::abi("guest memory used before its instance exists")),
            },
            None => &mut NoMemory,
        };
        // Telemetry off: one branch, and the call goes straight to the host. On with nobody
        // watching: the call is counted, and that is all.
        if !*recording {
            return host.call(binding.func, &args[..params], memory);
        }
        if !watch.get() {
            counts.count(func);
            return host.call(binding.func, &args[..params], memory);
        }
        // Watched: the run loop records the call around it. Its borrow ends before the host
        // runs: the platform borrows it while waiting.
        let entry = run_loop.borrow_mut().enter_host_call(host, func);
        let result = host.call(binding.func, &args[..params], memory);
        run_loop.borrow_mut().leave_host_call(host, func, entry);
        result
    })
}

/// The adapter's only way into the host: `func` indexes the bindings, `a0..a16` are the flat
/// arguments widened to i64.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pollscope_host_call(
    func: u32,
    a0: i64,
    a1: i64,
    a2: i64,
    a3: i64,
    a4: i64,
    a5: i64,
    a6: i64,
    a7: i64,
    a8: i64,
    a9: i64,
    a10: i64,
    a11: i64,
    a12: i64,
    a13: i64,
    a14: i64,
    a15: i64,
    a16: i64,
) -> i64 {
    let args = [
        a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16,
    ];
    match call(func, &args) {
        Ok(result) => result,
        Err(trap) => {
            record(trap);
            0
        }
    }
}

/// The asyncify flight recorder's hook: a rewritten TinyGo program calls it before every
/// write of asyncify's state global and before the scheduler's indirect calls
/// (`pollscope_tinygo::decode_hook` says which, with what). Guest code calls it directly,
/// never from inside a host call.
///
/// A step under way ends at each task switch it reports (see
/// `Steering::at_scheduler_event`): the guest is held here, at the checkpoint, until the next
/// step or resume. Reports that are no task switch (the scheduler calling a timer callback)
/// are ignored.
#[no_mangle]
pub extern "C" fn pollscope_asyncify_event(event: i32, a: i32, b: i32) {
    with_state(|state| {
        let hold = {
            let mut run_loop = state.run_loop.borrow_mut();
            let switch = run_loop
                .scheduler
                .as_ref()
                .is_some_and(|tinygo| tinygo.is_task_switch(event, a, b));
            switch && run_loop.scheduler_event(event, a, b)
        };
        if hold {
            state.host.checkpoint();
        }
    });
}

/// Non-zero when the last host call must end the guest (the adapter then traps).
#[no_mangle]
pub extern "C" fn pollscope_trap_pending() -> i32 {
    PENDING_TRAP.with(|cell| cell.borrow().is_some() as i32)
}
