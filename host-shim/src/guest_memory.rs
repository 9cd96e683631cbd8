//! A guest instance's linear memory and `cabi_realloc`, reached through the JS API.
//!
//! The guest memory is another instance's `WebAssembly.Memory`, so every access is a typed-array
//! copy; the view is cached and re-created only when the memory has grown (growth detaches the
//! old buffer).

use std::cell::RefCell;

use js_sys::{Function, Uint8Array, WebAssembly};
use pollscope_wasi::{GuestMemory, Trap};
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

    /// A view covering `ptr..ptr+len`, refreshed if the memory grew; traps when out of bounds.
    fn view_for(&self, ptr: u32, len: usize) -> Result<Uint8Array, Trap> {
        let end = ptr as u64 + len as u64;
        let mut view = self.view.borrow_mut();
        if end > view.length() as u64 {
            *view = Uint8Array::new(&self.memory.buffer());
            if end > view.length() as u64 {
                return Err(Trap::abi(format!(
                    "out-of-bounds memory access: {len} bytes at {ptr:#x} (memory is {:#x} bytes)",
                    view.length()
                )));
            }
        }
        Ok(view.clone())
    }
}

impl GuestMemory for JsGuestMemory {
    fn read(&self, ptr: u32, buf: &mut [u8]) -> Result<(), Trap> {
        if buf.is_empty() {
            return Ok(());
        }
        let view = self.view_for(ptr, buf.len())?;
        view.subarray(ptr, ptr + buf.len() as u32).copy_to(buf);
        Ok(())
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Trap> {
        if data.is_empty() {
            return Ok(());
        }
        let view = self.view_for(ptr, data.len())?;
        view.subarray(ptr, ptr + data.len() as u32).copy_from(data);
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
