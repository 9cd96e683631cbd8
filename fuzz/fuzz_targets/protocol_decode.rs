//! The protocol's decoders over arbitrary bytes: `Control::decode` (ring bytes the wasm thread
//! reads from the control stream), `decode_json` of `ToWasm` (what a page or the DevTools panel
//! sends; `ToWasm::from_panel` on the same text) and `FromWasm` (what the panel and the page
//! agent read).
//!
//! Beyond "never panics": what decodes encodes back to the same thing (for ring bytes, to the
//! same bytes), a `ToWasm` that validates becomes ring bytes that decode, a panel never gets a
//! subscription through, and an events batch turns into a Chrome trace that parses.
//!
//! Input: the bytes, given to every decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pollscope_protocol::{chrome_trace_json, decode_json, encode_json, Control, FromWasm, ToWasm};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(control) = Control::decode(bytes) {
        assert_eq!(
            control.encode(),
            bytes,
            "{control:?} encodes to other bytes"
        );
    }

    if let Ok(message) = decode_json::<ToWasm>(bytes) {
        let text = encode_json(&message).expect("a decoded ToWasm encodes");
        assert_eq!(decode_json::<ToWasm>(text.as_bytes()), Ok(message.clone()));
        if let Some(control) = message.control() {
            assert_eq!(Control::decode(&control.encode()), Ok(control));
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Some(command) = ToWasm::from_panel(text) {
            assert!(!matches!(
                command,
                ToWasm::Subscribe { .. } | ToWasm::Unsubscribe
            ));
            assert_eq!(decode_json::<ToWasm>(bytes), Ok(command));
        }
    }

    if let Ok(message) = decode_json::<FromWasm>(bytes) {
        let text = encode_json(&message).expect("a decoded FromWasm encodes");
        assert_eq!(
            decode_json::<FromWasm>(text.as_bytes()),
            Ok(message.clone()),
            "FromWasm changed through JSON: {text}"
        );
        if let FromWasm::Events(batch) = &message {
            let names = ["wasi:io/poll#poll".to_string()];
            let trace = chrome_trace_json(&names, &batch.waits, &batch.host_calls);
            serde_json::from_str::<serde_json::Value>(&trace).expect("the trace is JSON");
        }
    }
});
