//! A guest instance's linear memory and `cabi_realloc`, reached through the JS API.
//!
//! The guest memory is another instance's `WebAssembly.Memory`, so every access is a typed-array
//! copy; the view is cached and re-created only when the memory has grown (growth detaches the
//! old buffer).
//!
//! Ranges are checked with [`pollscope_wasi::guest_range`], in 64 bits: a wasm32 memory may be
//! exactly 4 GiB, where the end of the last byte, 2^32, does not fit in a `u32`.

use std::cell::RefCell;

use js_sys::{Function, Uint8Array, WebAssembly};
use pollscope_wasi::{guest_range, GuestMemory, Trap};
use wasm_bindgen::{JsCast, JsValue};

/// One guest memory plus the realloc lowered alongside it.
pub struct JsGuestMemory {
    memory: WebAssembly::Memory,
    realloc: Option<Function>,
    view: RefCell<Uint8Array>,
}

impl JsGuestMemory {
    /// Wraps `memory`, with the guest's `cabi_realloc` when the import was lowered with one.
    pub fn new(memory: WebAssembly::Memory, realloc: Option<Function>) -> JsGuestMemory {
        let view = Uint8Array::new(&memory.buffer());
        JsGuestMemory {
            memory,
            realloc,
            view: RefCell::new(view),
        }
    }

    /// A view of exactly `ptr..ptr+len` (refreshing the cached view if the memory grew);
    /// traps when any byte is out of bounds.
    fn view_for(&self, ptr: u32, len: usize) -> Result<Uint8Array, Trap> {
        let mut view = self.view.borrow_mut();
        // Growth detaches the old buffer, whose view then has length 0: a fresh view is made
        // whenever the cached one does not cover the range.
        let range = match guest_range(ptr, len, view_length(&view)) {
            Ok(range) => range,
            Err(_) => {
                *view = Uint8Array::new(&self.memory.buffer());
                guest_range(ptr, len, view_length(&view))?
            }
        };
        // `subarray(begin, end)` takes the end as a u32, and the end of the last byte of a
        // 4 GiB memory is 2^32: there, build the view from offset and length instead (the
        // length is at most 2^32 - ptr, so it fits).
        Ok(match u32::try_from(range.end) {
            Ok(end) => view.subarray(ptr, end),
            Err(_) => Uint8Array::new_with_byte_offset_and_length(
                &view.buffer(),
                ptr,
                (range.end - range.start) as u32,
            ),
        })
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
        self.view_for(ptr, buf.len())?.copy_to(buf);
        Ok(())
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Trap> {
        if data.is_empty() {
            return Ok(());
        }
        self.view_for(ptr, data.len())?.copy_from(data);
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
        self.view_for(ptr, new_size as usize)?;
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
