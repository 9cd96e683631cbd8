//! Messages between the page's loader (`pollscope.js`) and its two workers, as `postMessage`
//! carries them.
//!
//! Each message is an object with one key, the message's kind, holding its fields:
//! `{ "stdin": { "id": 3, "data": Uint8Array } }`, or just the kind's name as a string for a
//! kind without fields (`"close-stdin"`). That is serde's external tagging, which the shim
//! decodes with `serde-wasm-bindgen` without buffering, so a field can hold a browser object
//! unchanged: `H` is the type of such handles (the shared ring, byte arrays: a `JsValue` in the
//! shim; anything serializable in native tests).
//!
//! Both ends ship in one build, so these carry no version: what the guest and the panel say
//! ([`ToWasm`], [`FromWasm`](crate::FromWasm)) travels inside them as protocol JSON text,
//! versioned and checked by [`decode_json`](crate::decode_json).

use serde::{Deserialize, Serialize};

use crate::ToWasm;

/// Loader → event thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum ToEventThread<H> {
    /// The shim's compiled module (a `WebAssembly.Module`, or null), compiled once by the loader
    /// for both workers: the worker's script takes it before the shim runs (null: it fetches
    /// and compiles the shim itself). The first message after [`FromEventThread::Loaded`].
    Shim {
        /// The `WebAssembly.Module`, or null.
        #[serde(default = "none")]
        module: Option<H>,
    },
    /// The ring the wasm thread made ([`FromWasmThread::Ring`]): the event thread becomes its
    /// producer. It comes before every message that needs the ring.
    Ring {
        /// The shared buffer.
        ring: H,
    },
    /// Bytes for the guest's stdin (a `Uint8Array`), acknowledged with `id` once in the ring.
    Stdin {
        /// Echoed by [`FromEventThread::StdinAck`].
        id: u32,
        /// The bytes.
        data: H,
    },
    /// The guest's stdin ends after what was written.
    CloseStdin,
    /// A command from the loader's own API (`pause()`, `step()`, …), put on the ring.
    Command(ToWasm),
    /// End the guest at its next host call or wait ([`Control::Stop`](crate::Control::Stop)):
    /// the loader's `stop()`, never a panel's.
    Stop,
    /// A command from a panel, as protocol JSON text: version and ranges are checked here; ring
    /// commands go on the ring, the loader's own (restart, stdin, …) come back as
    /// [`FromEventThread::ForLoader`].
    PanelCommand {
        /// A [`ToWasm`] as JSON.
        json: String,
    },
    /// Read the ring's counters, answered with [`FromEventThread::RingSnapshot`].
    RingSnapshot {
        /// Echoed in the answer.
        id: u32,
    },
    /// Build Chrome trace-event JSON from what the page received, answered with
    /// [`FromEventThread::ChromeTrace`].
    ChromeTrace {
        /// Echoed in the answer.
        id: u32,
        /// The `hello` message's JSON text (`""` for none).
        hello: String,
        /// JSON array of the batches' wait records.
        waits: String,
        /// JSON array of the batches' host-call records.
        host_calls: String,
    },
}

/// Event thread → loader. Besides these, event-worker.js itself posts
/// `{ "stdin-buffer": { buffer } }`: a stdin message's `ArrayBuffer`, its bytes copied into the
/// ring, transferred back for the page's next write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum FromEventThread {
    /// The worker's script ran: it takes messages now.
    Loaded,
    /// The stdin write `id` is wholly in the ring.
    StdinAck {
        /// The write's id.
        id: u32,
    },
    /// The ring's counters, read without stopping either side.
    RingSnapshot {
        /// The request's id.
        id: u32,
        /// The counters.
        snapshot: RingCounters,
    },
    /// The trace asked for, or why it could not be built.
    ChromeTrace {
        /// The request's id.
        id: u32,
        /// Chrome trace-event JSON, or the reason.
        result: Result<String, String>,
    },
    /// A panel's command that the loader carries out itself (restart, record-asyncify, stdin,
    /// close-stdin), checked.
    ForLoader(ToWasm),
    /// Something the loader sent could not be done.
    Error {
        /// What failed.
        message: String,
    },
}

/// The ring's counters, as `ringSnapshot()` returns them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RingCounters {
    /// Bytes of packet data.
    pub capacity: u32,
    /// Largest packet payload.
    pub mtu: u32,
    /// Bytes in the ring now.
    pub used: u32,
    /// Most bytes ever in the ring at once.
    pub high_water: u32,
    /// Packets written.
    pub packets_in: f64,
    /// Payload bytes written.
    pub bytes_in: f64,
    /// Packets read.
    pub packets_out: f64,
    /// Payload bytes read.
    pub bytes_out: f64,
    /// Times the producer found the ring full.
    pub stalls: f64,
    /// Bytes the producer holds that did not fit yet.
    pub backlog: f64,
}

/// Word indices (`Int32Array`) and the data area's byte offset of a packet ring, for a
/// consumer written in JavaScript (`pollscope_ring::layout` has the meaning of each).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RingWords {
    /// Holds the data area's size in bytes (a power of two).
    pub capacity: u32,
    /// Total bytes of packets published.
    pub head: u32,
    /// Bumped after every publish; the consumer waits on it.
    pub wake: u32,
    /// 1 while the producer waits for space.
    pub want_space: u32,
    /// Total bytes of packets consumed; a blocked producer waits on it.
    pub tail: u32,
    /// Byte offset of the data area.
    pub data_offset: u32,
}

/// Loader → wasm thread: the two messages it gets, what to run and how, in this order.
///
/// The loader sends [`Init`](ToWasmThread::Init) as soon as it has the shim and the component,
/// without waiting for the core modules it compiles meanwhile: the wasm thread instantiates the
/// shim and translates the component (or reads the start cache's translation) while they
/// compile. [`Compiled`](ToWasmThread::Compiled) follows once every compile settled; the wasm
/// thread then instantiates the core modules and runs the guest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum ToWasmThread<H> {
    /// Get this component ready to run: the shim, the translation, the guest's world (boxed:
    /// it is far larger than the other message).
    Init(Box<WasmInit<H>>),
    /// Run it, with the core modules the loader compiled (concurrently, while the workers
    /// started and the wasm thread translated), each by its byte range in
    /// [`WasmInit::component`]: the wasm thread takes one for the plan's module with exactly
    /// that range and compiles any other itself (a module the loader could not compile is not
    /// listed: compiling it there reports the error).
    Compiled {
        /// The modules that compiled.
        #[serde(default = "Vec::new")]
        modules: Vec<CompiledModule<H>>,
    },
}

/// What the wasm thread runs, and the guest's world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmInit<H> {
    /// Bytes of packet data of the event ring the wasm thread makes (a power of two; none: the
    /// default). It sends the ring to the page as [`FromWasmThread::Ring`] before it reads the
    /// component, so the event thread is never on the way to the guest's start.
    #[serde(default)]
    pub ring_capacity: Option<u32>,
    /// Which build of the shim to run and its compiled module, read by the worker's script
    /// before the shim runs.
    #[serde(default = "none")]
    pub shim: Option<ShimModule<H>>,
    /// The component's bytes (`Uint8Array`).
    pub component: H,
    /// The component's translation (`pollscope_component::Translation` as JSON) that this
    /// build of the shim made on an earlier start ([`FromWasmThread::Translated`]), from the
    /// loader's start cache, keyed by the component's and the shim's SHA-256: the wasm thread
    /// then does not parse the component again. One it cannot use is ignored.
    #[serde(default)]
    pub translation: Option<String>,
    /// A `SharedArrayBuffer` of one 32-bit word the wasm thread waits on (with
    /// `Atomics.wait`) until it is not 0, just before it runs the guest: the loader sets it once
    /// the event thread has the ring and has put on it what the page sent before (a time scale,
    /// a pause, stdin), so those reach the guest before its first instruction, as they did
    /// when the event thread made the ring. None: no wait.
    #[serde(default = "none")]
    pub start_gate: Option<H>,
    /// `get-arguments`, program name first.
    pub args: Vec<String>,
    /// `get-environment`.
    pub env: Vec<(String, String)>,
    /// `initial-cwd`.
    #[serde(default)]
    pub cwd: Option<String>,
    /// The preopened directories (`["/"]`: one in-memory scratch root).
    pub preopens: Vec<PreopenSpec>,
    /// Directories to create before the guest starts.
    #[serde(default)]
    pub dirs: Vec<String>,
    /// Files to create before the guest starts: guest path and bytes (`Uint8Array`).
    #[serde(default = "Vec::new")]
    pub files: Vec<(String, H)>,
    /// `false`: no telemetry recording at all (a subscriber hears nothing).
    #[serde(default = "yes")]
    pub telemetry: bool,
    /// Rewrite a TinyGo program so its task switches are recorded.
    #[serde(default)]
    pub asyncify_recorder: bool,
}

fn yes() -> bool {
    true
}

/// A default without `H: Default` (which `#[serde(default)]` would ask of a generic field).
fn none<T>() -> Option<T> {
    None
}

/// [`WasmInit::shim`]: the shim build the component needs, compiled by the loader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShimModule<H> {
    /// `pollscope_shim` or `pollscope_shim_tinygo` (the file names, without `.js`).
    pub build: String,
    /// Its `WebAssembly.Module`, or null: the worker fetches and compiles it itself.
    #[serde(default = "none")]
    pub module: Option<H>,
    /// A blob: URL of the page's copy of its bindings (`<build>.js`), or null: the worker
    /// imports the file itself.
    #[serde(default)]
    pub bindings: Option<String>,
}

/// One core module of [`ToWasmThread::Compiled`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompiledModule<H> {
    /// Its first byte in the component.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
    /// The `WebAssembly.Module`.
    pub module: H,
}

/// One preopened directory of [`WasmInit`]: a guest path (an in-memory scratch directory
/// named as placed), or in full (issue #12, `pollscope run --dir`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PreopenSpec {
    /// An in-memory scratch directory at this guest path.
    Path(String),
    /// A directory described in full.
    #[serde(rename_all = "camelCase")]
    Dir {
        /// The name `get-directories` gives the guest (`/data`, `.`).
        name: String,
        /// Where its tree lives among the configured paths (`dirs`, `files`).
        path: String,
        /// `false`: every change through it fails with `not-permitted`.
        #[serde(default = "yes")]
        writable: bool,
        /// Where the wasm thread POSTs the trees of the preopens that have this (the encoded
        /// `pollscope_wasi::PreopenExport`) when the guest ends, before it says so.
        #[serde(default)]
        write_back_url: Option<String>,
        /// Symbolic links in its tree: (path relative to `path`, target as text).
        #[serde(default)]
        symlinks: Vec<(String, String)>,
    },
}

/// Wasm thread → loader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum FromWasmThread<H> {
    /// The worker's script ran: it takes the init message now.
    Loaded,
    /// The event ring (a `SharedArrayBuffer`) the wasm thread made from
    /// [`WasmInit::ring_capacity`], sent first: the loader hands it to the event thread as
    /// [`ToEventThread::Ring`].
    Ring {
        /// The shared buffer.
        ring: H,
    },
    /// The component's translation as JSON, when the wasm thread made it (it got none in
    /// [`WasmInit::translation`]): the loader keeps it for the next start of the same bytes.
    Translated {
        /// `pollscope_component::Translation` as JSON.
        json: String,
    },
    /// A start-up milestone, for diagnosing a guest that never starts.
    Trace {
        /// What happened.
        what: String,
    },
    /// The output ring (a `SharedArrayBuffer`, sent once before the guest runs): the wasm
    /// thread writes the guest's stdout (stream 1) and stderr (stream 2) into it in the order
    /// written, and the page copies them out. The page drains it before acting on any later
    /// message, so output written before the end arrives before the end.
    OutputRing {
        /// The shared buffer.
        ring: H,
        /// Where the page finds the ring's words in it (the layout lives in Rust).
        layout: RingWords,
    },
    /// A [`FromWasm`](crate::FromWasm) as JSON text: telemetry, output for a panel, and how
    /// the guest ended (`exit`, `trap`) or that the ring broke (`ring-error`). Relayed to
    /// panels unchanged; the loader parses it once.
    Message {
        /// The JSON text.
        json: String,
    },
    /// The component could not be run (not one, missing imports, the shim failed to load).
    Error {
        /// What failed and where.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shapes the loader writes and reads (`host-shim/js/pollscope.js`).
    #[test]
    fn messages_have_the_shapes_the_loader_uses() {
        let stdin: ToEventThread<Vec<u8>> =
            serde_json::from_value(json!({ "stdin": { "id": 7, "data": [104, 105] } })).unwrap();
        assert_eq!(
            stdin,
            ToEventThread::Stdin {
                id: 7,
                data: b"hi".to_vec()
            }
        );
        let close: ToEventThread<()> = serde_json::from_value(json!("close-stdin")).unwrap();
        assert_eq!(close, ToEventThread::CloseStdin);
        let step: ToEventThread<()> =
            serde_json::from_value(json!({ "command": { "type": "step" } })).unwrap();
        assert_eq!(step, ToEventThread::Command(ToWasm::Step));
        let ring: ToEventThread<u8> =
            serde_json::from_value(json!({ "ring": { "ring": 4 } })).unwrap();
        assert_eq!(ring, ToEventThread::Ring { ring: 4 });
        let shim: ToEventThread<u8> =
            serde_json::from_value(json!({ "shim": { "module": null } })).unwrap();
        assert_eq!(shim, ToEventThread::Shim { module: None });
        let trace: ToEventThread<()> = serde_json::from_value(json!({ "chrome-trace":
            { "id": 1, "hello": "", "waits": "[]", "hostCalls": "[]" } }))
        .unwrap();
        assert!(matches!(trace, ToEventThread::ChromeTrace { id: 1, .. }));

        assert_eq!(
            serde_json::to_value(FromEventThread::StdinAck { id: 3 }).unwrap(),
            json!({ "stdin-ack": { "id": 3 } })
        );
        assert_eq!(
            serde_json::to_value(FromEventThread::ChromeTrace {
                id: 2,
                result: Err("no".into())
            })
            .unwrap(),
            json!({ "chrome-trace": { "id": 2, "result": { "Err": "no" } } })
        );
        let layout = RingWords {
            capacity: 2,
            head: 16,
            wake: 17,
            want_space: 18,
            tail: 48,
            data_offset: 256,
        };
        assert_eq!(
            serde_json::to_value(FromWasmThread::<u8>::OutputRing { ring: 9, layout }).unwrap(),
            json!({ "output-ring": { "ring": 9, "layout": {
                "capacity": 2, "head": 16, "wake": 17, "wantSpace": 18, "tail": 48,
                "dataOffset": 256,
            } } })
        );
        assert_eq!(
            serde_json::to_value(FromWasmThread::<()>::Loaded).unwrap(),
            json!("loaded")
        );
    }

    #[test]
    fn the_wasm_init_takes_the_loaders_defaults() {
        let init: ToWasmThread<u8> = serde_json::from_value(json!({ "init": {
            "component": 2, "args": ["app"], "env": [["K", "V"]], "preopens": ["/"],
        } }))
        .unwrap();
        let ToWasmThread::Init(init) = init else {
            panic!("not an init: {init:?}");
        };
        assert!(init.ring_capacity.is_none() && init.shim.is_none());
        assert!(init.telemetry, "telemetry is on unless the page says false");
        assert!(!init.asyncify_recorder);
        assert_eq!(init.env, vec![("K".to_string(), "V".to_string())]);
        assert!(init.files.is_empty() && init.dirs.is_empty() && init.cwd.is_none());
    }

    /// What the loader sends when it compiled the shim and the core modules itself: the init
    /// first, the compiled modules in a second message.
    #[test]
    fn the_compiled_modules_follow_the_init() {
        let init: ToWasmThread<u8> = serde_json::from_value(json!({ "init": {
            "ringCapacity": 4096, "shim": { "build": "pollscope_shim", "module": 7 },
            "component": 2, "args": ["app"], "env": [], "preopens": ["/"],
        } }))
        .unwrap();
        let ToWasmThread::Init(init) = init else {
            panic!("not an init: {init:?}");
        };
        assert_eq!(init.ring_capacity, Some(4096));
        assert_eq!(
            init.shim,
            Some(ShimModule {
                build: "pollscope_shim".into(),
                module: Some(7),
                bindings: None,
            })
        );
        let compiled: ToWasmThread<u8> = serde_json::from_value(json!({ "compiled": {
            "modules": [{ "start": 10, "end": 20, "module": 8 }],
        } }))
        .unwrap();
        assert_eq!(
            compiled,
            ToWasmThread::Compiled {
                modules: vec![CompiledModule {
                    start: 10,
                    end: 20,
                    module: 8
                }]
            }
        );
        // None compiled on the page: the wasm thread compiles them all.
        let none: ToWasmThread<u8> = serde_json::from_value(json!({ "compiled": {} })).unwrap();
        assert_eq!(none, ToWasmThread::Compiled { modules: vec![] });
        assert_eq!(
            serde_json::to_value(FromWasmThread::<u8>::Ring { ring: 3 }).unwrap(),
            json!({ "ring": { "ring": 3 } })
        );
    }

    #[test]
    fn anything_else_is_an_error() {
        for bad in [
            json!({ "type": "stdin", "id": 1 }),
            json!({ "stdin": { "id": 1 }, "close-stdin": null }),
            json!({ "command": { "type": "rm -rf" } }),
            json!({ "stdin": { "id": -1, "data": [] } }),
            json!("format-disk"),
            json!(null),
        ] {
            assert!(
                serde_json::from_value::<ToEventThread<Vec<u8>>>(bad.clone()).is_err(),
                "{bad} was taken"
            );
        }
    }
}
