//! The event thread: takes stdin from the page and writes it into the ring, applying
//! backpressure by acknowledging each write only once its bytes are in the ring.
//!
//! Stdin is a byte stream, so a write of any size goes into the ring as messages of at most
//! one MTU each: none is ever split into frames the wasm thread must reassemble, so none can
//! pass the consumer's reassembly limit (16 MiB), which would end the ring for good.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Atomics, Reflect, Uint8Array};
use pollscope_protocol::worker::{FromEventThread, RingCounters, ToEventThread};
use pollscope_protocol::{Control, ToWasm};
use pollscope_ring::{Flush, Kind, Producer};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::DedicatedWorkerGlobalScope;

use crate::messages::{self, Js};
use crate::shared_memory::JsSharedMemory;
use crate::streams;

/// The event worker's state; JS forwards every message to [`EventThread::message`].
#[wasm_bindgen]
pub struct EventThread {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    scope: DedicatedWorkerGlobalScope,
    producer: Option<Producer<JsSharedMemory>>,
    /// Stdin writes whose bytes are not all in the ring yet, oldest first: (ack id, the value
    /// `pushed` had right after it). A write is in once `pushed - backlog` reaches that value.
    unacked: VecDeque<(u32, u64)>,
    /// Payload bytes pushed so far.
    pushed: u64,
    /// The ring's MTU: the most stdin bytes one message carries.
    mtu: usize,
    /// Whether a `waitAsync` for space is already pending.
    waiting: bool,
    /// The last stdin message's bytes; kept, so it is allocated (and zeroed) once.
    scratch: Vec<u8>,
}

#[wasm_bindgen]
impl EventThread {
    /// A fresh event thread for the worker it runs in.
    #[wasm_bindgen(constructor)]
    pub fn new() -> EventThread {
        let scope = js_sys::global().unchecked_into();
        EventThread {
            inner: Rc::new(RefCell::new(Inner {
                scope,
                producer: None,
                unacked: VecDeque::new(),
                pushed: 0,
                mtu: pollscope_ring::layout::DEFAULT_MTU as usize,
                waiting: false,
                scratch: Vec::new(),
            })),
        }
    }

    /// Handles one message from the page (`ToEventThread`): `init` creates the ring and returns
    /// it, `stdin` bytes are acknowledged once in the ring, commands go on the ring (a panel's
    /// checked first), snapshots and traces are answered.
    pub fn message(&self, data: JsValue) {
        let result = match messages::read::<ToEventThread<Js>>(data) {
            Ok(message) => self.handle(message),
            Err(why) => Err(format!("not a message for the event thread: {why}")),
        };
        if let Err(message) = result {
            self.post(&FromEventThread::Error { message });
        }
    }
}

#[wasm_bindgen]
impl EventThread {
    /// `message({ stdin: { id, data } })` without decoding the message: event-worker.js calls
    /// it for stdin messages whose `id` is a u32 and `data` a `Uint8Array`.
    pub fn stdin_message(&self, id: u32, data: Uint8Array) {
        if let Err(message) = self.stdin(id, data.into()) {
            self.post(&FromEventThread::Error { message });
        }
    }
}

impl Default for EventThread {
    fn default() -> EventThread {
        EventThread::new()
    }
}

impl EventThread {
    fn handle(&self, message: ToEventThread<Js>) -> Result<(), String> {
        match message {
            // event-worker.js takes the shim's module before the shim runs.
            ToEventThread::Shim { .. } => Ok(()),
            ToEventThread::Ring { ring } => self.attach(&ring.0),
            ToEventThread::Stdin { id, data } => self.stdin(id, data.0),
            ToEventThread::CloseStdin => {
                self.push(streams::STDIN, Kind::End, &[], None);
                Ok(())
            }
            ToEventThread::Command(command) => {
                command.validate().map_err(|err| err.to_string())?;
                self.command(command);
                Ok(())
            }
            ToEventThread::Stop => {
                self.push(
                    streams::CONTROL,
                    Kind::Control,
                    &Control::Stop.encode(),
                    None,
                );
                Ok(())
            }
            ToEventThread::PanelCommand { json } => {
                self.panel_command(&json);
                Ok(())
            }
            ToEventThread::RingSnapshot { id } => self.ring_snapshot(id),
            ToEventThread::ChromeTrace {
                id,
                hello,
                waits,
                host_calls,
            } => {
                let result = chrome_trace(&hello, &waits, &host_calls);
                self.post(&FromEventThread::ChromeTrace { id, result });
                Ok(())
            }
        }
    }

    fn post(&self, message: &FromEventThread) {
        messages::post(&self.inner.borrow().scope, message, &[]);
    }

    /// Becomes the producer of the ring the wasm thread made (and initialized).
    fn attach(&self, ring: &JsValue) -> Result<(), String> {
        if self.inner.borrow().producer.is_some() {
            return Err("the event thread already has its ring".into());
        }
        let memory = JsSharedMemory::new(ring)?;
        let producer = Producer::new(memory).map_err(|err| format!("ring: {err}"))?;
        let mut inner = self.inner.borrow_mut();
        inner.mtu = producer.snapshot().mtu as usize;
        inner.producer = Some(producer);
        Ok(())
    }

    /// The ring's counters, read without stopping either side.
    fn ring_snapshot(&self, id: u32) -> Result<(), String> {
        let snapshot = {
            let inner = self.inner.borrow();
            let Some(producer) = inner.producer.as_ref() else {
                return Err("ring snapshot asked before the ring exists".into());
            };
            let s = producer.snapshot();
            RingCounters {
                capacity: s.capacity,
                mtu: s.mtu,
                used: s.used,
                high_water: s.high_water,
                packets_in: s.packets_in as f64,
                bytes_in: s.bytes_in as f64,
                packets_out: s.packets_out as f64,
                bytes_out: s.bytes_out as f64,
                stalls: s.stalls as f64,
                backlog: producer.backlog() as f64,
            }
        };
        self.post(&FromEventThread::RingSnapshot { id, snapshot });
        Ok(())
    }

    /// A checked command: ring commands go on the ring, the loader's own back to it.
    fn command(&self, command: ToWasm) {
        match command.control() {
            Some(control) => self.push(streams::CONTROL, Kind::Control, &control.encode(), None),
            None => self.post(&FromEventThread::ForLoader(command)),
        }
    }

    /// A panel's command as protocol JSON ([`ToWasm::from_panel`]): what a panel may not send
    /// is dropped, never an error that would end the run.
    fn panel_command(&self, json: &str) {
        if let Some(command) = ToWasm::from_panel(json) {
            self.command(command);
        }
    }

    /// Stdin bytes, in messages of at most one MTU, acknowledged with `id` once all are in.
    /// The page's array is copied into this thread's memory in one call (into a buffer kept
    /// from message to message), and each message goes into the ring from there.
    fn stdin(&self, id: u32, data: JsValue) -> Result<(), String> {
        let bytes = data
            .dyn_into::<Uint8Array>()
            .map_err(|_| "stdin `data` must be a Uint8Array")?;
        {
            let mut inner = self.inner.borrow_mut();
            let inner = &mut *inner;
            let Some(producer) = inner.producer.as_mut() else {
                return Ok(());
            };
            let len = bytes.length() as usize;
            if inner.scratch.len() < len {
                inner.scratch.resize(len, 0);
            }
            let scratch = &mut inner.scratch[..len];
            bytes.copy_to(scratch);
            for piece in scratch.chunks(inner.mtu.max(1)) {
                producer.push(streams::STDIN, Kind::Data, piece);
            }
            inner.pushed += len as u64;
            inner.unacked.push_back((id, inner.pushed));
        }
        flush(&self.inner);
        Ok(())
    }

    fn push(&self, stream: u16, kind: Kind, payload: &[u8], ack: Option<u32>) {
        {
            let mut inner = self.inner.borrow_mut();
            let Some(producer) = inner.producer.as_mut() else {
                return;
            };
            producer.push(stream, kind, payload);
            inner.pushed += payload.len() as u64;
            if let Some(id) = ack {
                let end = inner.pushed;
                inner.unacked.push_back((id, end));
            }
        }
        flush(&self.inner);
    }
}

/// Publishes what fits, acknowledges writes that are fully in, and if the ring is full waits
/// (asynchronously: this worker keeps taking messages) for the wasm thread to free space.
fn flush(inner_rc: &Rc<RefCell<Inner>>) {
    let mut inner = inner_rc.borrow_mut();
    let Some(producer) = inner.producer.as_mut() else {
        return;
    };
    let outcome = producer.flush();
    let backlog = producer.backlog();
    let words = producer.memory().words().clone();
    let in_ring = inner.pushed - backlog as u64;
    let mut acked = Vec::new();
    while let Some(&(id, end)) = inner.unacked.front() {
        if end > in_ring {
            break;
        }
        acked.push(id);
        inner.unacked.pop_front();
    }
    for id in acked {
        messages::post(&inner.scope, &FromEventThread::StdinAck { id }, &[]);
    }
    if let Flush::Blocked(wait_on) = outcome {
        if inner.waiting {
            return;
        }
        inner.waiting = true;
        drop(inner);
        let result = Atomics::wait_async(&words, wait_on.word as u32, wait_on.value as i32);
        let promise = result
            .ok()
            .and_then(|result| Reflect::get(&result, &"value".into()).ok())
            .and_then(|value| value.dyn_into::<js_sys::Promise>().ok());
        let again = Rc::clone(inner_rc);
        let on_space: js_sys::Function = Closure::once(move |_: JsValue| {
            again.borrow_mut().waiting = false;
            flush(&again);
        })
        .into_js_value()
        .unchecked_into();
        match promise {
            Some(promise) => then(&promise, &on_space),
            // `waitAsync` answered synchronously (the tail already moved): flush again in a
            // microtask rather than recursing.
            None => then(&js_sys::Promise::resolve(&JsValue::NULL), &on_space),
        }
    }
}

/// `promise.then(callback)` with a one-shot JS function (it frees itself when called).
fn then(promise: &js_sys::Promise, callback: &js_sys::Function) {
    if let Ok(then) =
        Reflect::get(promise, &"then".into()).and_then(|f| f.dyn_into::<js_sys::Function>())
    {
        let _ = then.call1(promise, callback);
    }
}

/// Chrome trace-event JSON (for Perfetto or `chrome://tracing`) from what a page received:
/// `hello_json` a `hello` message (its host-function table names the calls; `""` for none),
/// `waits_json` and `calls_json` arrays of the batches' `waits` and `host_calls` records.
#[wasm_bindgen]
pub fn chrome_trace(
    hello_json: &str,
    waits_json: &str,
    calls_json: &str,
) -> Result<String, String> {
    pollscope_protocol::chrome_trace_from_json(hello_json, waits_json, calls_json)
}
