//! The loader–worker messages (`pollscope_protocol::worker`) as the shim reads and posts them:
//! `serde-wasm-bindgen` both ways, with browser objects (the shared ring, byte arrays) carried
//! through unchanged as [`Js`].

use js_sys::Array;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use wasm_bindgen::JsValue;
use web_sys::DedicatedWorkerGlobalScope;

/// A browser object inside a message, passed through as it is (not copied into wasm memory).
#[derive(Debug, Clone)]
pub struct Js(pub JsValue);

impl Serialize for Js {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Js {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Js, D::Error> {
        serde_wasm_bindgen::preserve::deserialize(deserializer).map(Js)
    }
}

/// Reads a message; what is not one is an error saying why (messages from a page are not
/// trusted).
pub fn read<T: DeserializeOwned>(data: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(data).map_err(|err| err.to_string())
}

/// Posts `message` to the page, moving the buffers in `transfer` (none: all is copied).
pub fn post<T: Serialize>(scope: &DedicatedWorkerGlobalScope, message: &T, transfer: &[JsValue]) {
    // Serializing our own messages fails only for values JS cannot hold; none are sent.
    let Ok(value) = serde_wasm_bindgen::to_value(message) else {
        return;
    };
    let _ = if transfer.is_empty() {
        scope.post_message(&value)
    } else {
        scope.post_message_with_transfer(&value, &transfer.iter().collect::<Array>())
    };
}
