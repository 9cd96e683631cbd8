//! The instantiation plan: everything the shim needs to instantiate a component's core
//! modules with the JS API, in order, and to call its `run` export. Built once by
//! [`crate::translate`], serializable so it can cross a worker boundary.
//!
//! Instance numbers in the plan count only real module instantiations (`steps[i]` creates
//! instance `i`); the component's instance-from-exports bundles are resolved away.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// The flat, ordered result of translating a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Every core module in the component (nested ones included), in byte order.
    pub modules: Vec<Module>,
    /// Module instantiations, in the order they must happen.
    pub steps: Vec<Step>,
    /// The host functions (lowered imports and resource drops) the core modules use.
    pub host_funcs: Vec<HostFunc>,
    /// The distinct guest memories (a memory and its allocator) the host functions use.
    pub memories: Vec<GuestMemory>,
    /// How to call `wasi:cli/run`'s `run`.
    pub run: Run,
    /// The component's imported instances (interfaces), as declared in its type.
    pub imports: Vec<ImportedInstance>,
}

/// One core module of the component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    /// The module's bytes inside the component: compile `component[range]`.
    pub range: Range<u32>,
    /// Its imports, in declaration order.
    pub imports: Vec<ModuleImport>,
    /// Its exports, in declaration order.
    pub exports: Vec<ModuleExport>,
    /// Whether it has a `name` custom section (symbolized traps).
    pub name_section: bool,
    /// Names of its DWARF custom sections (`.debug_info`, `.debug_line`, …).
    pub dwarf: Vec<String>,
    /// Contents of its `producers` section (empty if none).
    pub producers: Vec<ProducersField>,
}

impl Module {
    /// Size of the module in bytes.
    pub fn size(&self) -> u32 {
        self.range.end.saturating_sub(self.range.start)
    }

    /// Whether the module carries DWARF (a `.debug_info` section).
    pub fn has_dwarf(&self) -> bool {
        self.dwarf.iter().any(|name| name == ".debug_info")
    }

    /// The export called `name`, if any.
    pub fn export(&self, name: &str) -> Option<&ModuleExport> {
        self.exports.iter().find(|export| export.name == name)
    }

    /// The asyncify exports (see [`ASYNCIFY_EXPORTS`]) this module has, in that order.
    pub fn asyncify_exports(&self) -> impl Iterator<Item = &'static str> + '_ {
        ASYNCIFY_EXPORTS
            .iter()
            .copied()
            .filter(|name| self.export(name).is_some())
    }

    /// Values of producers field `field` (`language`, `processed-by`, `sdk`).
    pub fn producer(&self, field: &str) -> &[ProducerValue] {
        producer(&self.producers, field)
    }
}

/// The exports Binaryen's asyncify pass adds (TinyGo's scheduler runs on them).
pub const ASYNCIFY_EXPORTS: [&str; 5] = [
    "asyncify_start_unwind",
    "asyncify_stop_unwind",
    "asyncify_start_rewind",
    "asyncify_stop_rewind",
    "asyncify_get_state",
];

/// Values of `field` in a producers section.
pub(crate) fn producer<'a>(fields: &'a [ProducersField], field: &str) -> &'a [ProducerValue] {
    fields
        .iter()
        .find(|f| f.name == field)
        .map_or(&[], |f| &f.values)
}

/// One import of a core module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleImport {
    /// The import's module name (e.g. `wasi:io/poll@0.2.0`, or `""` for wit-component's fixup).
    pub module: String,
    /// The import's field name.
    pub name: String,
    /// What is imported.
    pub ty: ExternType,
}

/// One export of a core module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleExport {
    /// The export's name.
    pub name: String,
    /// What is exported.
    pub ty: ExternType,
}

/// The type of a core import or export.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table {
        /// Element type, e.g. `funcref`.
        element: ValType,
        /// Initial size in elements.
        initial: u64,
        /// Maximum size in elements.
        maximum: Option<u64>,
        /// 64-bit indices.
        table64: bool,
        /// Shared between threads.
        shared: bool,
    },
    /// A linear memory.
    Memory {
        /// Initial size in pages.
        initial: u64,
        /// Maximum size in pages.
        maximum: Option<u64>,
        /// 64-bit addresses.
        memory64: bool,
        /// Shared between threads.
        shared: bool,
    },
    /// A global.
    Global {
        /// Value type.
        ty: ValType,
        /// Whether it is mutable.
        mutable: bool,
    },
    /// An exception tag, with the signature of its payload.
    Tag(FuncType),
}

impl ExternType {
    /// `func`, `table`, `memory`, `global` or `tag`.
    pub fn kind(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "func",
            ExternType::Table { .. } => "table",
            ExternType::Memory { .. } => "memory",
            ExternType::Global { .. } => "global",
            ExternType::Tag(_) => "tag",
        }
    }
}

/// A core function signature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FuncType {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

impl std::fmt::Display for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |tys: &[ValType]| {
            tys.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(f, "({}) -> ({})", list(&self.params), list(&self.results))
    }
}

/// A core value type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `v128`
    V128,
    /// A reference type, in text format (`funcref`, `externref`, `(ref null $t)`, …).
    Ref(String),
}

impl std::fmt::Display for ValType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(text) => f.write_str(text),
        }
    }
}

/// A field of a `producers` custom section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducersField {
    /// `language`, `processed-by` or `sdk`.
    pub name: String,
    /// The tools named in the field.
    pub values: Vec<ProducerValue>,
}

/// One tool of a producers field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerValue {
    /// Tool or language name.
    pub name: String,
    /// Its version (may be empty).
    pub version: String,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step")]
pub enum Step {
    /// Instantiate `modules[module]` as instance number `instance` with these imports.
    Instantiate {
        /// The number of the new instance (equal to this step's index).
        instance: u32,
        /// Index into [`Plan::modules`].
        module: u32,
        /// One binding per import of the module, in the module's import order.
        imports: Vec<Binding>,
    },
}

/// What one import of an instantiated module is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The import's module name.
    pub module: String,
    /// The import's field name.
    pub name: String,
    /// Where the value comes from.
    pub item: Item,
}

/// The source of a core item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Item {
    /// An export of an instance created by an earlier step.
    Export {
        /// Instance number.
        instance: u32,
        /// Export name.
        name: String,
    },
    /// A host function: index into [`Plan::host_funcs`].
    Host {
        /// Index into [`Plan::host_funcs`].
        func: u32,
    },
}

/// An export of an instance created by a step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExportRef {
    /// Instance number.
    pub instance: u32,
    /// Export name.
    pub name: String,
}

/// A lowered import (or resource drop) the host must provide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostFunc {
    /// The component's import this comes from, e.g. `wasi:io/poll@0.2.6`.
    pub interface: String,
    /// The function's name in that interface, e.g. `[method]pollable.block` or
    /// `[resource-drop]pollable`.
    pub name: String,
    /// Core parameter types (the canonical ABI flattening the core module imports).
    pub params: Vec<ValType>,
    /// Core result types.
    pub results: Vec<ValType>,
    /// Index into [`Plan::memories`]: the guest memory pointers refer to and the allocator
    /// for returned lists and strings (`canon lower (memory …) (realloc …)`); `None` for a
    /// function lowered without memory.
    pub memory: Option<u32>,
    /// How strings are encoded in guest memory.
    pub string_encoding: StringEncoding,
}

/// A guest memory lowered functions use: the memory, its allocator, and when both exist.
///
/// wit-component's fixup module binds host functions before the program that exports their
/// memory is instantiated, so a memory becomes usable only after a later step: after step
/// [`GuestMemory::ready_after`], and no rescan is needed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GuestMemory {
    /// The memory (`canon lower (memory …)`).
    pub memory: ExportRef,
    /// The allocator for returned lists and strings (`canon lower (realloc …)`).
    pub realloc: Option<ExportRef>,
    /// The instance number after whose creation both exist.
    pub ready_after: u32,
}

impl GuestMemory {
    /// A memory and its allocator, ready once the later of their instances exists.
    pub fn new(memory: ExportRef, realloc: Option<ExportRef>) -> GuestMemory {
        let ready_after = realloc
            .as_ref()
            .map_or(memory.instance, |r| r.instance.max(memory.instance));
        GuestMemory {
            memory,
            realloc,
            ready_after,
        }
    }
}

impl Plan {
    /// The guest memories that become usable once instance `instance` exists.
    pub fn memories_ready_after(&self, instance: u32) -> impl Iterator<Item = (u32, &GuestMemory)> {
        (0u32..)
            .zip(&self.memories)
            .filter(move |(_, memory)| memory.ready_after == instance)
    }
}

/// The canonical ABI's string encodings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StringEncoding {
    /// UTF-8 (the default).
    #[default]
    Utf8,
    /// UTF-16.
    Utf16,
    /// Latin-1 or UTF-16.
    CompactUtf16,
}

/// The component's `wasi:cli/run` export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// The component export's name, e.g. `wasi:cli/run@0.2.0`.
    pub export: String,
    /// The core function implementing `run` (core type `() -> i32`: 0 ok, 1 err).
    pub func: ExportRef,
    /// Its post-return function, to call after reading the result.
    pub post_return: Option<ExportRef>,
}

/// An interface the component imports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedInstance {
    /// Import name, e.g. `wasi:io/poll@0.2.6`.
    pub name: String,
    /// Functions in the imported instance's type, in order.
    pub funcs: Vec<String>,
    /// Resource types the instance defines (not the ones it re-exports from elsewhere).
    pub resources: Vec<String>,
}
