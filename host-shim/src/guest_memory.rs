//! A guest instance's linear memory and `cabi_realloc`, reached through the JS API.
//!
//! The guest memory is another instance's `WebAssembly.Memory`. Where the engine allows it, a
//! [`MemoryBridge`] reaches it wasm to wasm: a copy is one `call_indirect` and a
//! `memory.copy`, and the range is checked against the memory's size as last asked (a memory
//! never shrinks), asking again only for a range past it.
//!
//! Otherwise every access is a call into JavaScript, and a host call's results are many small
//! stores (a `write` of 4 KiB stores one 12-byte result). Each access therefore costs as few
//! calls as it can: a `Uint8Array` over the whole buffer and its length are cached, and an
//! access makes one call to see that the cached view still stands (its `length`: growth
//! detaches the old buffer, whose views then read 0) and one to copy — no view of the range,
//! no other length read. Only when the view is detached or too short for the access is a fresh
//! view made (once per growth), and the range checked again against it, so a grown memory
//! never uses a detached view and a range out of bounds traps with the same error as ever.
//!
//! Ranges are checked with [`pollscope_wasi::guest_range`], in 64 bits: a wasm32 memory may be
//! exactly 4 GiB, where the end of the last byte, 2^32, does not fit in a `u32`.

use std::cell::{Cell, RefCell};
use std::ops::Range;

use js_sys::{Function, Uint8Array, WebAssembly};
use pollscope_wasi::{guest_range, GuestMemory, Trap};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::memory_bridge::MemoryBridge;

// Copies between a JS `Uint8Array` and this module's memory in one call each, without the
// length check (a second call) js-sys's `copy_from` / `copy_to` make, and without a view of
// the destination range made and dropped (a third call and an externref) for a store.
#[wasm_bindgen]
extern "C" {
    /// `Uint8Array.prototype.set.call(array, src, offset)`: `src` (a view of this module's memory) into `array` at
    /// `offset`. Throws when it does not fit or `array` is detached: callers check both.
    #[wasm_bindgen(js_namespace = Uint8Array, js_name = "prototype.set.call")]
    pub(crate) fn set_at(array: &Uint8Array, src: &[u8], offset: u32);
    /// `Uint8Array.prototype.set.call(dst, src)`: all of `src` into `dst`, which must be
    /// exactly as long.
    #[wasm_bindgen(js_namespace = Uint8Array, js_name = "prototype.set.call")]
    pub(crate) fn copy_into(dst: &mut [u8], src: &Uint8Array);
}

/// One guest memory plus the realloc lowered alongside it.
pub struct JsGuestMemory {
    memory: WebAssembly::Memory,
    realloc: Option<Function>,
    /// A view of the whole buffer as it was when made (detached, length 0, once it grew).
    view: RefCell<Uint8Array>,
    /// `view`'s length in bytes when it was made.
    view_len: Cell<u64>,
    /// The wasm-to-wasm path, where the engine allows it, and the memory's size when last
    /// asked (a memory never shrinks: a range within it is in bounds).
    bridge: Option<MemoryBridge>,
    bridge_len: Cell<u64>,
    /// Why there is no bridge, when there is none.
    unbridged: Option<String>,
}

impl JsGuestMemory {
    /// Wraps `memory`, with the guest's `cabi_realloc` when the import was lowered with one.
    pub fn new(memory: WebAssembly::Memory, realloc: Option<Function>) -> JsGuestMemory {
        let view = Uint8Array::new(&memory.buffer());
        let view_len = view_length(&view);
        let (bridge, unbridged) = match MemoryBridge::new(&memory) {
            Ok(bridge) => (Some(bridge), None),
            Err(why) => (None, Some(crate::js_error_message(&why))),
        };
        let bridge_len = bridge.as_ref().map_or(0, MemoryBridge::len);
        JsGuestMemory {
            memory,
            realloc,
            view: RefCell::new(view),
            view_len: Cell::new(view_len),
            bridge,
            bridge_len: Cell::new(bridge_len),
            unbridged,
        }
    }

    /// Why this memory is reached through JavaScript rather than a bridge (None: bridged).
    pub fn unbridged(&self) -> Option<&str> {
        self.unbridged.as_deref()
    }

    /// The bridge, when there is one, with `ptr..ptr+len` checked against the memory as it is
    /// now (`Err` when out of bounds).
    fn bridged(&self, ptr: u32, len: usize) -> Option<Result<&MemoryBridge, Trap>> {
        let bridge = self.bridge.as_ref()?;
        if guest_range(ptr, len, self.bridge_len.get()).is_ok() {
            return Some(Ok(bridge));
        }
        self.bridge_len.set(bridge.len());
        Some(guest_range(ptr, len, self.bridge_len.get()).map(|_| bridge))
    }

    /// Checks `ptr..ptr+len` against the memory as it is now and returns the view to access
    /// it through (the cached one, or a fresh one when the memory grew); traps when any byte
    /// is out of bounds.
    fn checked(
        &self,
        ptr: u32,
        len: usize,
    ) -> Result<(std::cell::Ref<'_, Uint8Array>, Range<u64>), Trap> {
        // A live view covers the whole memory as it was when made; wasm memories never shrink,
        // so a range within that is in bounds now. `length` reads 0 when the buffer was
        // detached (the memory grew) — and for a 4 GiB memory, whose 2^32 bytes are 0 as a
        // u32: both take the slow path.
        {
            let view = self.view.borrow();
            if view.length() != 0 {
                if let Ok(range) = guest_range(ptr, len, self.view_len.get()) {
                    return Ok((view, range));
                }
            }
        }
        // Detached, or the range is past the cached end: look at the memory as it is now (a
        // shared memory grows without detaching, so a live view may just be short).
        let view = Uint8Array::new(&self.memory.buffer());
        let view_len = view_length(&view);
        *self.view.borrow_mut() = view;
        self.view_len.set(view_len);
        let range = guest_range(ptr, len, view_len)?;
        Ok((self.view.borrow(), range))
    }
}

/// The length of `view` in bytes. `Uint8Array.length()` is a `u32`, so a 4 GiB memory's
/// 2^32 bytes read as 0; only then is the length read as a JS number (0 when detached).
fn view_length(view: &Uint8Array) -> u64 {
    match view.length() {
        0 => js_sys::Reflect::get(view, &"length".into())
            .ok()
            .and_then(|length| length.as_f64())
            .map_or(0, |length| length as u64),
        length => u64::from(length),
    }
}

impl GuestMemory for JsGuestMemory {
    fn read(&self, ptr: u32, buf: &mut [u8]) -> Result<(), Trap> {
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(bridge) = self.bridged(ptr, buf.len()) {
            bridge?.read(ptr, buf);
            return Ok(());
        }
        let (view, range) = self.checked(ptr, buf.len())?;
        // `subarray(begin, end)` takes the end as a u32, and the end of the last byte of a
        // 4 GiB memory is 2^32: there, build the view from offset and length instead (the
        // length is at most 2^32 - ptr, so it fits).
        let src = match u32::try_from(range.end) {
            Ok(end) => view.subarray(ptr, end),
            Err(_) => Uint8Array::new_with_byte_offset_and_length(
                &view.buffer(),
                ptr,
                (range.end - range.start) as u32,
            ),
        };
        copy_into(buf, &src);
        Ok(())
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Trap> {
        if data.is_empty() {
            return Ok(());
        }
        if let Some(bridge) = self.bridged(ptr, data.len()) {
            bridge?.write(ptr, data);
            return Ok(());
        }
        let (view, _) = self.checked(ptr, data.len())?;
        // In bounds of a live view: `set` cannot throw.
        set_at(&view, data, ptr);
        Ok(())
    }

    fn realloc(
        &mut self,
        old_ptr: u32,
        old_size: u32,
        align: u32,
        new_size: u32,
    ) -> Result<u32, Trap> {
        let realloc = self
            .realloc
            .as_ref()
            .ok_or_else(|| Trap::abi("the import was lowered without a realloc option"))?;
        let args = js_sys::Array::of4(
            &JsValue::from(old_ptr),
            &JsValue::from(old_size),
            &JsValue::from(align),
            &JsValue::from(new_size),
        );
        let result = realloc.apply(&JsValue::UNDEFINED, &args).map_err(|err| {
            Trap::abi(format!(
                "cabi_realloc failed: {}",
                crate::js_error_message(&err)
            ))
        })?;
        let ptr = result.as_f64().unwrap_or(-1.0) as i64 as u32;
        if align > 1 && !ptr.is_multiple_of(align) {
            return Err(Trap::abi(format!(
                "cabi_realloc returned {ptr:#x}, not aligned to {align}"
            )));
        }
        self.checked(ptr, new_size as usize)?;
        Ok(ptr)
    }
}

/// Stand-in memory for imports lowered without a memory option: any access is an ABI error.
pub struct NoMemory;

impl GuestMemory for NoMemory {
    fn read(&self, ptr: u32, _: &mut [u8]) -> Result<(), Trap> {
        Err(Trap::abi(format!(
            "read at {ptr:#x} by an import lowered without a memory"
        )))
    }
    fn write(&mut self, ptr: u32, _: &[u8]) -> Result<(), Trap> {
        Err(Trap::abi(format!(
            "write at {ptr:#x} by an import lowered without a memory"
        )))
    }
    fn realloc(&mut self, _: u32, _: u32, _: u32, _: u32) -> Result<u32, Trap> {
        Err(Trap::abi(
            "realloc by an import lowered without a realloc option",
        ))
    }
}

/// `memory` as a `WebAssembly.Memory`, or a clear error.
pub fn as_memory(value: JsValue, what: &str) -> Result<WebAssembly::Memory, String> {
    value
        .dyn_into()
        .map_err(|_| format!("{what} is not a WebAssembly.Memory"))
}
