//! A guest's memory reached from the shim's own code, wasm to wasm.
//!
//! A guest's memory is not the shim's, so without help every access is a call into JavaScript
//! (a view, a length check, `TypedArray.set`): about half of what a 4 KiB `write` to stdout
//! cost. A bridge is a tiny module that imports both memories and exports copies between them
//! (`memory.copy` across memories: the multi-memory feature of every current engine) and the
//! guest memory's size. Its exports go into the shim's function table and the shim calls them
//! through it (`call_indirect`): no JavaScript and no allocation per access.
//!
//! Where a bridge cannot be made (an engine without multi-memory, a table that cannot grow)
//! callers keep the JavaScript path, which does the same.
//!
//! Only guest memories are bridged, not the rings: a bridged memory must be a
//! `WebAssembly.Memory`, each of which reserves ~10 GiB of address space (guard regions) until
//! every thread holding it lets it go. A guest's memory lives and dies with its worker; a ring
//! is held by the page too, and a page starting guest after guest ran out of address space.

use js_sys::{Function, Object, Reflect, SharedArrayBuffer, Uint8Array, WebAssembly};
use wasm_bindgen::{JsCast, JsValue};

use crate::bridge_module::{encode, EXPORTS};

type Copy = extern "C" fn(u32, u32, u32);
type Pages = extern "C" fn() -> u32;

/// The bridge's functions, as entries of the shim's table.
pub struct MemoryBridge {
    read: Copy,
    write: Copy,
    pages: Pages,
}

impl MemoryBridge {
    /// A bridge to `memory`, or why there is none.
    pub fn new(memory: &WebAssembly::Memory) -> Result<MemoryBridge, JsValue> {
        let shared = memory.buffer().is_instance_of::<SharedArrayBuffer>();
        let module = WebAssembly::Module::new(&Uint8Array::from(encode(shared).as_slice()))?;
        let names = Object::new();
        Reflect::set(&names, &"other".into(), memory)?;
        Reflect::set(&names, &"shim".into(), &wasm_bindgen::memory())?;
        let imports = Object::new();
        Reflect::set(&imports, &"m".into(), &names)?;
        let exports = WebAssembly::Instance::new(&module, &imports)?.exports();
        let table: WebAssembly::Table = wasm_bindgen::function_table().dyn_into()?;
        let first = table.grow(EXPORTS.len() as u32)?;
        for (offset, name) in EXPORTS.iter().enumerate() {
            let func: Function = Reflect::get(&exports, &(*name).into())?.dyn_into()?;
            table.set(first + offset as u32, &func)?;
        }
        let slot = |offset: usize| first as usize + offset;
        // SAFETY: a function pointer on wasm32 is an index into the function table, and these
        // slots now hold the bridge's exports, of exactly these types (EXPORTS' order); the
        // table never shrinks and nothing else writes these slots.
        unsafe {
            use std::mem::transmute;
            Ok(MemoryBridge {
                read: transmute::<usize, Copy>(slot(0)),
                write: transmute::<usize, Copy>(slot(1)),
                pages: transmute::<usize, Pages>(slot(2)),
            })
        }
    }

    /// The guest memory's size in bytes now.
    pub fn len(&self) -> u64 {
        u64::from((self.pages)()) << 16
    }

    /// Copies `buf.len()` bytes at `at` of the guest memory into `buf`. The range must be in
    /// bounds: a trap here would unwind through the shim.
    pub fn read(&self, at: u32, buf: &mut [u8]) {
        (self.read)(at, buf.as_mut_ptr() as u32, buf.len() as u32);
    }

    /// Copies `data` to `at` of the guest memory; the range must be in bounds.
    pub fn write(&self, at: u32, data: &[u8]) {
        (self.write)(data.as_ptr() as u32, at, data.len() as u32);
    }
}
