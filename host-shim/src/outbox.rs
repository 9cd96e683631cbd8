//! Guest output on its way to the page: a second packet ring, in a SharedArrayBuffer of its
//! own, that the wasm thread produces and the page (`OutputRing` in `js/pollscope.js`) consumes.
//!
//! The buffer is made once and reused, so output costs a copy into shared memory and the page's
//! copy out — no fresh buffer per batch. It is a plain SharedArrayBuffer, not a shared
//! `WebAssembly.Memory` the shim could reach through a bridge (`memory_bridge`): the page holds
//! it, and every wasm memory reserves ~10 GiB of address space (guard regions) until the page's
//! heap lets it go, which a page starting guest after guest ran out of. Consecutive writes of a
//! stream are gathered into packets of up to 64 KiB ([`OutputBatch`]), each write copied there
//! straight from guest memory, so the page handles one packet per 64 KiB rather than one per
//! write. Stdout and stderr are streams of one ring, so the page sees them interleaved as the
//! guest wrote them. What is written is published when enough has gathered, when it is old, and
//! before every wait (so a sleeping guest never holds output back). A full ring is
//! backpressure: the wasm thread sleeps in `Atomics.wait` until the page has copied enough out,
//! and nothing is ever dropped.

use js_sys::{Atomics, Int32Array, SharedArrayBuffer};
use pollscope_protocol::worker::{FromWasmThread, RingWords};
use pollscope_ring::{layout, Config, Flush, OutputBatch, Producer};
use pollscope_wasi::Stdio;
use web_sys::DedicatedWorkerGlobalScope;

use crate::messages::{self, Js};
use crate::shared_memory::JsSharedMemory;

/// Bytes of packet data in the output ring.
const CAPACITY: u32 = 4 << 20;
/// Written bytes are published once this many have gathered…
const PUBLISH_BYTES: usize = 256 << 10;
/// …or when the oldest unpublished byte is this old, at the next write.
const PUBLISH_AGE_MS: f64 = 20.0;

/// The wasm thread's end of the output ring.
pub struct Outbox {
    batch: OutputBatch<JsSharedMemory>,
    words: Int32Array,
    oldest_ms: Option<f64>,
}

impl Outbox {
    /// Makes the output ring and sends it to the page (before any output can exist).
    pub fn new(scope: &DedicatedWorkerGlobalScope) -> Result<Outbox, String> {
        let config = Config {
            capacity: CAPACITY,
            ..Config::default()
        };
        let buffer = SharedArrayBuffer::new(config.total_bytes() as u32);
        let memory = JsSharedMemory::new(&buffer)?;
        pollscope_ring::init(&memory, config).map_err(|err| format!("output ring: {err}"))?;
        let words = memory.words().clone();
        let producer = Producer::new(memory).map_err(|err| format!("output ring: {err}"))?;
        let message = FromWasmThread::OutputRing {
            ring: Js(buffer.into()),
            layout: RingWords {
                capacity: layout::CAPACITY as u32,
                head: layout::HEAD as u32,
                wake: layout::WAKE as u32,
                want_space: layout::WANT_SPACE as u32,
                tail: layout::TAIL as u32,
                data_offset: layout::DATA_OFFSET as u32,
            },
        };
        messages::post(scope, &message, &[]);
        Ok(Outbox {
            batch: OutputBatch::new(producer),
            words,
            oldest_ms: None,
        })
    }

    /// Room for `len` more bytes of `stream`, to fill (straight from guest memory) and then
    /// [`commit`](Outbox::commit); bytes not committed are never sent.
    pub fn space(&mut self, stream: Stdio, len: usize) -> &mut [u8] {
        self.batch.space(id(stream), len)
    }

    /// Takes the `len` bytes just filled into [`space`](Outbox::space); publishes when enough
    /// has gathered or it is old, and waits for the page when the ring is full.
    pub fn commit(&mut self, stream: Stdio, len: usize, now_ms: f64) {
        self.batch.commit(id(stream), len);
        let oldest = *self.oldest_ms.get_or_insert(now_ms);
        // What did not fit waits in the producer's backlog: no more than one packet.
        if self.batch.backlog() > 0
            || self.batch.pending() >= PUBLISH_BYTES
            || now_ms - oldest >= PUBLISH_AGE_MS
        {
            self.flush();
        }
    }

    /// Writes `bytes` for `stream` (see [`commit`](Outbox::commit)).
    pub fn write(&mut self, stream: Stdio, bytes: &[u8], now_ms: f64) {
        self.space(stream, bytes.len()).copy_from_slice(bytes);
        self.commit(stream, bytes.len(), now_ms);
    }

    /// Publishes everything written, sleeping while the page makes room for what does not fit.
    pub fn flush(&mut self) {
        if self.batch.pending() == 0 && self.batch.backlog() == 0 {
            return;
        }
        while let Flush::Blocked(on) = self.batch.flush() {
            // The page notifies TAIL once it copied something out (WANT_SPACE is armed).
            let _ = Atomics::wait(&self.words, on.word as u32, on.value as i32);
        }
        self.oldest_ms = None;
    }
}

/// The ring's stream id of an output stream.
fn id(stream: Stdio) -> u16 {
    match stream {
        Stdio::Stdout => 1,
        Stdio::Stderr => 2,
    }
}
