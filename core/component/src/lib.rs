//! Reads a WebAssembly component (WASI 0.2 command: TinyGo or Rust wasip2 output) into a
//! flat, ordered, serializable instantiation [`Plan`] and a [`Summary`].
//!
//! The browser shim instantiates the component's core modules itself with the JS API, so
//! everything component-level is resolved here, once (like wasmtime's
//! `environ/src/component/info.rs`): the shim compiles `component[module.range]`, walks
//! [`Plan::steps`] binding each import to an earlier instance's export or to a
//! [`HostFunc`], then calls [`Plan::run`]. `pollscope inspect` prints the same plan.
//!
//! ```no_run
//! let bytes = std::fs::read("app.wasm").unwrap();
//! let translation = pollscope_component::translate(&bytes)?;
//! for func in &translation.plan.host_funcs {
//!     println!("{} {}", func.interface, func.name);
//! }
//! # Ok::<(), pollscope_component::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
pub mod limits;
mod plan;
mod summary;
mod translate;

pub use error::{Error, ErrorKind};
pub use plan::{
    Binding, ExportRef, ExternType, FuncType, GuestMemory, HostFunc, ImportedInstance, Item,
    Module, ModuleExport, ModuleImport, Plan, ProducerValue, ProducersField, Run, Step,
    StringEncoding, ValType, ASYNCIFY_EXPORTS,
};
pub use summary::{ComponentExport, ExportKind, Summary};

use serde::{Deserialize, Serialize};

/// The result of [`translate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Translation {
    /// What the shim executes.
    pub plan: Plan,
    /// What `inspect` shows besides the plan.
    pub summary: Summary,
}

/// Validates `bytes` as a component and translates it into a plan.
///
/// Fails with an [`Error`] (never panics) when the bytes are not a valid component, when it
/// has no `wasi:cli/run@0.2.x` export, or when it uses component-model features the shim does
/// not implement (guest-defined resources, async, exports other than `run`, …).
pub fn translate(bytes: &[u8]) -> Result<Translation, Error> {
    translate::translate(bytes)
}
