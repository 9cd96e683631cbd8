//! The ring's [`SharedMemory`] over a real `SharedArrayBuffer`: `Atomics.*` on an `Int32Array`
//! for header words, `Uint8Array` copies for packet bytes (a range past the buffer panics, as
//! the native memory's does, before any call into JS). A ring this thread makes itself
//! ([`JsSharedMemory::create`]) is a shared `WebAssembly.Memory`, which it reaches through a
//! [`MemoryBridge`] instead: copies and atomics wasm to wasm, no JavaScript.

use std::rc::Rc;

use js_sys::{Int32Array, Object, Reflect, SharedArrayBuffer, Uint8Array, WebAssembly};
use pollscope_ring::SharedMemory;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::guest_memory::{copy_into, set_at};
use crate::memory_bridge::MemoryBridge;

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
    /// For a ring this thread made as a shared `WebAssembly.Memory`: copies and atomics wasm
    /// to wasm, without JavaScript.
    bridge: Option<Rc<MemoryBridge>>,
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
            bridge: None,
        })
    }

    /// A new shared memory of at least `bytes` bytes, as a `WebAssembly.Memory` (whose buffer is
    /// a SharedArrayBuffer like any other) so that this thread reaches it through a bridge.
    /// Returns the memory and its buffer (what goes to the other threads).
    pub fn create(bytes: usize) -> Result<(JsSharedMemory, SharedArrayBuffer), String> {
        let pages = bytes.div_ceil(1 << 16) as u32;
        let descriptor = Object::new();
        for (key, value) in [
            ("initial", pages.into()),
            ("maximum", pages.into()),
            ("shared", true.into()),
        ] {
            let _ = Reflect::set(&descriptor, &key.into(), &value);
        }
        let memory = WebAssembly::Memory::new(&descriptor).map_err(|err| {
            format!(
                "a shared memory of {pages} pages: {}",
                crate::js_error_message(&err)
            )
        })?;
        let buffer: SharedArrayBuffer = memory.buffer().unchecked_into();
        let mut shared = JsSharedMemory::new(&buffer)?;
        shared.bridge = MemoryBridge::new(&memory).ok().map(Rc::new);
        Ok((shared, buffer))
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
        if let Some(atomics) = self.atomics() {
            return atomics.load(word as u32 * 4);
        }
        atomics_load(&self.words, word as u32) as u32
    }

    fn store(&self, word: usize, value: u32) {
        if let Some(atomics) = self.atomics() {
            return atomics.store(word as u32 * 4, value);
        }
        atomics_store(&self.words, word as u32, value as i32);
    }

    fn add(&self, word: usize, value: u32) -> u32 {
        if let Some(atomics) = self.atomics() {
            return atomics.add(word as u32 * 4, value);
        }
        atomics_add(&self.words, word as u32, value as i32) as u32
    }

    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        assert!(offset + dst.len() <= self.byte_len, "read out of range");
        if let Some(bridge) = &self.bridge {
            return bridge.read(offset as u32, dst);
        }
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
        if let Some(bridge) = &self.bridge {
            return bridge.write(offset as u32, src);
        }
        if !src.is_empty() {
            set_at(&self.bytes, src, offset as u32);
        }
    }

    fn notify(&self, word: usize) {
        if let Some(atomics) = self.atomics() {
            atomics.notify(word as u32 * 4);
            return;
        }
        atomics_notify(&self.words, word as u32);
    }
}

impl JsSharedMemory {
    fn atomics(&self) -> Option<crate::memory_bridge::Atomics> {
        self.bridge.as_ref().and_then(|bridge| bridge.atomics())
    }
}
