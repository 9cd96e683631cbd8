//! Pollscope's browser host: runs a WASI 0.2 command component in a Web Worker with real
//! blocking.
//!
//! One wasm binary, two entry points:
//! - [`wasm_thread_prepare`] then [`wasm_thread_start`] (the *wasm thread*): parses the
//!   component (while the page still compiles its core modules), instantiates its core
//!   modules with the WebAssembly JS API, binds every lowered import to the platform-free WASI
//!   host (`pollscope-wasi`) through a generated adapter module ([`adapter`]), runs the guest,
//!   and waits with `Atomics.wait` whenever the guest blocks.
//! - [`EventThread`] (the *event thread*): takes stdin and commands from the page and writes
//!   them into the SharedArrayBuffer packet ring the wasm thread drains.
//!
//! The page side is `js/pollscope.js`.

pub mod adapter;
pub mod bridge_module;
pub mod frames;
pub mod streams;

#[cfg(target_arch = "wasm32")]
mod dispatch;
#[cfg(target_arch = "wasm32")]
mod event_thread;
#[cfg(target_arch = "wasm32")]
mod guest_memory;
#[cfg(target_arch = "wasm32")]
mod inbox;
#[cfg(target_arch = "wasm32")]
mod memory_bridge;
#[cfg(target_arch = "wasm32")]
mod messages;
#[cfg(target_arch = "wasm32")]
mod outbox;
#[cfg(target_arch = "wasm32")]
mod platform;
#[cfg(target_arch = "wasm32")]
mod port;
#[cfg(target_arch = "wasm32")]
mod preopen_export;
#[cfg(all(target_arch = "wasm32", feature = "bench"))]
mod ring_probe;
#[cfg(target_arch = "wasm32")]
mod shared_memory;
#[cfg(all(target_arch = "wasm32", feature = "tinygo"))]
mod tinygo;
#[cfg(all(target_arch = "wasm32", not(feature = "tinygo")))]
#[path = "tinygo_absent.rs"]
mod tinygo;
#[cfg(target_arch = "wasm32")]
mod wasm_thread;

#[cfg(target_arch = "wasm32")]
pub use event_thread::chrome_trace;
#[cfg(target_arch = "wasm32")]
pub use event_thread::EventThread;
#[cfg(target_arch = "wasm32")]
pub use wasm_thread::{wasm_thread_prepare, wasm_thread_start};

/// Builds a plain JS object from (key, value) pairs.
#[cfg(target_arch = "wasm32")]
fn js_object(entries: &[(&str, wasm_bindgen::JsValue)]) -> js_sys::Object {
    let object = js_sys::Object::new();
    for (key, value) in entries {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&object, &(*key).into(), value);
    }
    object
}

/// The message of a thrown JS value (an `Error`'s message, or its string form).
#[cfg(target_arch = "wasm32")]
fn js_error_message(value: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    match value.dyn_ref::<js_sys::Error>() {
        Some(error) => String::from(error.message()),
        None => value.as_string().unwrap_or_else(|| format!("{value:?}")),
    }
}
