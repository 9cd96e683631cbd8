//! The wasm thread's end of the ring: turns packets into host events and commands, and sleeps
//! on the wake word.

use js_sys::Atomics;
use pollscope_protocol::{Control, RingSample, WakeCause};
use pollscope_ring::{Consumer, Kind, Packet};
use pollscope_wasi::Event;

use crate::shared_memory::JsSharedMemory;
use crate::streams;

/// What arrives for the wasm thread.
pub struct Inbox {
    consumer: Consumer<JsSharedMemory>,
    /// The wake word's value at the last drain: anything else means packets may be waiting.
    seen_wake: u32,
    /// Commands decoded and not yet taken by the platform, in arrival order.
    controls: Vec<Control>,
    /// Set once the producer wrote something no producer writes; stdin then ends.
    corrupt: Option<String>,
}

impl Inbox {
    /// Attaches to the ring `memory` (initialised; the event thread produces into it).
    pub fn new(memory: JsSharedMemory) -> Result<Inbox, String> {
        let consumer =
            Consumer::new(memory).map_err(|err| format!("attaching to the ring: {err}"))?;
        Ok(Inbox {
            consumer,
            seen_wake: u32::MAX,
            controls: Vec::new(),
            corrupt: None,
        })
    }

    /// Takes the commands that arrived since the last call, oldest first.
    pub fn take_controls(&mut self) -> std::vec::Drain<'_, Control> {
        self.controls.drain(..)
    }

    /// The ring's counters now, read without stopping the producer.
    pub fn ring_sample(&self, at: u64) -> RingSample {
        let s = self.consumer.snapshot();
        RingSample {
            at,
            capacity: s.capacity,
            used: s.used,
            high_water: s.high_water,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            stalls: s.stalls,
        }
    }

    /// Whether commands are waiting for [`Inbox::take_controls`].
    pub fn has_controls(&self) -> bool {
        !self.controls.is_empty()
    }

    /// Whether something was published since the last drain (one atomic load).
    pub fn has_news(&self) -> bool {
        self.consumer.prepare_wait().value != self.seen_wake
    }

    /// Delivers everything already in the ring (commands take effect here); returns whether
    /// any event was delivered.
    pub fn drain(&mut self, deliver: &mut dyn FnMut(Event)) -> bool {
        if self.corrupt.is_some() {
            return false;
        }
        self.seen_wake = self.consumer.prepare_wait().value;
        let mut delivered = false;
        let controls = &mut self.controls;
        let result = self.consumer.drain(|packet| {
            delivered |= handle(packet, controls, deliver);
        });
        if let Err(err) = result {
            // A broken ring must not hang a guest reading stdin: end stdin, say why once.
            let reason = err.to_string();
            report_ring_error(&reason);
            self.corrupt = Some(reason);
            deliver(Event::StdinClosed);
            delivered = true;
        }
        delivered
    }

    /// Sleeps until a packet arrives or `timeout_ms` passes (forever when `None`), then delivers
    /// what arrived; says why it woke. Commands already waiting end it at once (the platform
    /// acts on them). No lost wake-ups: the wake word is read before the ring is checked.
    pub fn wait(&mut self, timeout_ms: Option<f64>, deliver: &mut dyn FnMut(Event)) -> WakeCause {
        let wait_on = self.consumer.prepare_wait();
        if self.drain(deliver) {
            return WakeCause::AlreadyThere;
        }
        if self.has_controls() {
            return WakeCause::Command;
        }
        let words = self.consumer.memory().words();
        let word = wait_on.word as u32;
        let value = wait_on.value as i32;
        // `Atomics.wait` only throws off a worker or on a non-shared buffer, both ruled out.
        let outcome = match timeout_ms {
            Some(timeout) => Atomics::wait_with_timeout(words, word, value, timeout),
            None => Atomics::wait(words, word, value),
        };
        let events = self.drain(deliver);
        match outcome {
            Ok(answer) if answer == "timed-out" => WakeCause::Deadline,
            Ok(answer) if answer == "not-equal" => WakeCause::AlreadyThere,
            _ if !events && self.has_controls() => WakeCause::Command,
            _ => WakeCause::RingNotify,
        }
    }
}

/// Tells the page, once, that the ring broke and why (`FromWasm::RingError`). The guest goes
/// on (its stdin ends), but no command reaches it any more, so the loader says so (console,
/// `onRingError`, `done`) and the page agent relays it to a panel. Posted from here, the one
/// place that sees the ring's error, whether or not a panel listens.
fn report_ring_error(reason: &str) {
    use wasm_bindgen::JsCast;
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    crate::port::post_json(
        &scope,
        &pollscope_protocol::FromWasm::RingError {
            reason: reason.to_string(),
        },
    );
}

/// Acts on one ring message; returns whether it produced a host event.
fn handle(packet: Packet<'_>, controls: &mut Vec<Control>, deliver: &mut dyn FnMut(Event)) -> bool {
    match (packet.stream, packet.kind) {
        (streams::STDIN, Kind::Data) => {
            deliver(Event::Stdin(packet.payload.to_vec()));
            true
        }
        (streams::STDIN, Kind::End) => {
            if !packet.payload.is_empty() {
                deliver(Event::Stdin(packet.payload.to_vec()));
            }
            deliver(Event::StdinClosed);
            true
        }
        (streams::CONTROL, Kind::Control) => {
            // The event thread only forwards commands it decoded, but the ring is shared
            // memory: anything undecodable is dropped.
            if let Ok(control) = Control::decode(packet.payload) {
                controls.push(control);
            }
            false
        }
        _ => false,
    }
}
