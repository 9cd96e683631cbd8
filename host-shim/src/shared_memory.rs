//! The ring's [`SharedMemory`] over a real `SharedArrayBuffer`: `Atomics.*` on an `Int32Array`
//! for header words, `Uint8Array` copies for packet bytes (a range past the buffer panics, as
//! the native memory's does, before any call into JS).

use js_sys::{Int32Array, SharedArrayBuffer, Uint8Array};
use pollscope_ring::SharedMemory;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::guest_memory::{copy_into, set_at};

// `Atomics` without js-sys's `catch`: that wraps every call in a closure taking `arguments`,
// which cost more than the atomic itself (a tenth of a stdout write's host calls went to
// the event ring's wake-word load alone). These cannot throw here: the array is always an
// `Int32Array` over a SharedArrayBuffer and the ring checks every index when it attaches.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Atomics, js_name = load)]
    fn atomics_load(array: &Int32Array, index: u32) -> i32;
    #[wasm_bindgen(js_namespace = Atomics, js_name = store)]
    fn atomics_store(array: &Int32Array, index: u32, value: i32) -> i32;
    #[wasm_bindgen(js_namespace = Atomics, js_name = add)]
    fn atomics_add(array: &Int32Array, index: u32, value: i32) -> i32;
    #[wasm_bindgen(js_namespace = Atomics, js_name = notify)]
    fn atomics_notify(array: &Int32Array, index: u32) -> u32;
}

/// One SharedArrayBuffer shared by the page, the event thread and the wasm thread.
#[derive(Clone)]
pub struct JsSharedMemory {
    words: Int32Array,
    bytes: Uint8Array,
    byte_len: usize,
}

impl JsSharedMemory {
    /// Views `buffer`, which must be a `SharedArrayBuffer`.
    pub fn new(buffer: &JsValue) -> Result<JsSharedMemory, String> {
        let buffer: &SharedArrayBuffer = buffer
            .dyn_ref()
            .ok_or("the ring must be a SharedArrayBuffer (is the page cross-origin isolated?)")?;
        let byte_len = buffer.byte_length() as usize;
        Ok(JsSharedMemory {
            words: Int32Array::new(buffer),
            bytes: Uint8Array::new(buffer),
            byte_len,
        })
    }

    /// The `Int32Array` view, for `Atomics.wait` / `waitAsync`.
    pub fn words(&self) -> &Int32Array {
        &self.words
    }
}

impl SharedMemory for JsSharedMemory {
    fn byte_len(&self) -> usize {
        self.byte_len
    }

    fn load(&self, word: usize) -> u32 {
        // Indices are in range: the ring checks the buffer's size when it attaches.
        atomics_load(&self.words, word as u32) as u32
    }

    fn store(&self, word: usize, value: u32) {
        atomics_store(&self.words, word as u32, value as i32);
    }

    fn add(&self, word: usize, value: u32) -> u32 {
        atomics_add(&self.words, word as u32, value as i32) as u32
    }

    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        assert!(offset + dst.len() <= self.byte_len, "read out of range");
        if !dst.is_empty() {
            copy_into(
                dst,
                &self
                    .bytes
                    .subarray(offset as u32, (offset + dst.len()) as u32),
            );
        }
    }

    fn write_bytes(&self, offset: usize, src: &[u8]) {
        // One call, no view of the range: the ring writes a packet's header and its payload
        // separately, so a small write cost three calls and an externref before.
        assert!(offset + src.len() <= self.byte_len, "write out of range");
        if !src.is_empty() {
            set_at(&self.bytes, src, offset as u32);
        }
    }

    fn notify(&self, word: usize) {
        atomics_notify(&self.words, word as u32);
    }
}
