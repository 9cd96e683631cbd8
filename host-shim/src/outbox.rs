//! Guest output on its way to the page: batched, sent as transferable buffers.
//!
//! Chunks of stdout and stderr stay in one ordered list so the page sees them interleaved as
//! the guest wrote them. A batch leaves when it is large, when it is old, and before every wait
//! (so a sleeping guest never holds output back).

use js_sys::Uint8Array;
use pollscope_protocol::worker::FromWasmThread;
use pollscope_wasi::Stdio;
use wasm_bindgen::JsValue;
use web_sys::DedicatedWorkerGlobalScope;

use crate::messages::{self, Js};

/// A batch this large is sent at once.
const FLUSH_BYTES: usize = 1 << 20;
/// Output older than this is sent at the next write even if the batch is small.
const FLUSH_AGE_MS: f64 = 20.0;

/// Pending output of the wasm thread.
pub struct Outbox {
    scope: DedicatedWorkerGlobalScope,
    chunks: Vec<(Stdio, Vec<u8>)>,
    bytes: usize,
    oldest_ms: Option<f64>,
}

impl Outbox {
    /// An empty outbox posting to the page through `scope`.
    pub fn new(scope: DedicatedWorkerGlobalScope) -> Outbox {
        Outbox {
            scope,
            chunks: Vec::new(),
            bytes: 0,
            oldest_ms: None,
        }
    }

    /// Queues `bytes` for `stream`; sends the batch if it is large or old.
    pub fn write(&mut self, stream: Stdio, bytes: &[u8], now_ms: f64) {
        match self.chunks.last_mut() {
            Some((last, chunk)) if *last == stream => chunk.extend_from_slice(bytes),
            _ => self.chunks.push((stream, bytes.to_vec())),
        }
        self.bytes += bytes.len();
        let oldest = *self.oldest_ms.get_or_insert(now_ms);
        if self.bytes >= FLUSH_BYTES || now_ms - oldest >= FLUSH_AGE_MS {
            self.flush();
        }
    }

    /// Sends everything queued as one `output` message, its buffers moved, not copied.
    pub fn flush(&mut self) {
        if self.chunks.is_empty() {
            return;
        }
        let mut transfer = Vec::with_capacity(self.chunks.len());
        let chunks = self
            .chunks
            .drain(..)
            .map(|(stream, bytes)| {
                let data = Uint8Array::from(bytes.as_slice());
                transfer.push(JsValue::from(data.buffer()));
                let number = match stream {
                    Stdio::Stdout => 1,
                    Stdio::Stderr => 2,
                };
                (number, Js(data.into()))
            })
            .collect();
        self.bytes = 0;
        self.oldest_ms = None;
        messages::post(&self.scope, &FromWasmThread::Output { chunks }, &transfer);
    }
}
