//! What the first pass keeps of each component definition: its index-space-changing
//! declarations, in order, with the types only the validator knows filled in.

use wasmparser::{ComponentExternalKind, ComponentOuterAliasKind, ExternalKind};

use crate::plan::{FuncType, StringEncoding};

/// One component definition (the root is `defs[0]`); nested ones are walked once per
/// instantiation.
#[derive(Debug, Default)]
pub(super) struct Def {
    pub decls: Vec<Decl>,
}

/// A declaration and where it is.
#[derive(Debug)]
pub(super) struct Decl {
    pub offset: usize,
    pub kind: DeclKind,
}

/// Everything that adds to (or reads from) a component's index spaces.
#[derive(Debug)]
pub(super) enum DeclKind {
    /// A core module definition: index into the plan's modules.
    Module(u32),
    /// A nested component definition: index into the definitions.
    Component(u32),
    /// `(core instance (instantiate m (with "name" (instance i))…))`.
    CoreInstantiate {
        module: u32,
        args: Vec<(String, u32)>,
    },
    /// `(core instance (export "name" (func f))…)`.
    CoreFromExports(Vec<(String, ExternalKind, u32)>),
    /// `(instance (instantiate c (with "name" (func f))…))`.
    Instantiate {
        component: u32,
        args: Vec<(String, ComponentExternalKind, u32)>,
    },
    /// `(instance (export "name" (func f))…)`.
    FromExports(Vec<(String, ComponentExternalKind, u32)>),
    /// `(alias export i "name" (func))`.
    AliasExport {
        kind: ComponentExternalKind,
        instance: u32,
        name: String,
    },
    /// `(alias core export i "name" (core func))`.
    AliasCoreExport {
        kind: ExternalKind,
        instance: u32,
        name: String,
    },
    /// `(alias outer count index (type))`.
    AliasOuter {
        kind: ComponentOuterAliasKind,
        count: u32,
        index: u32,
    },
    /// A type definition that is not a resource (only its index matters).
    Type,
    /// `canon lift`.
    Lift { core_func: u32, options: Options },
    /// `canon lower`, with the core type the validator computed for it.
    Lower {
        func: u32,
        options: Options,
        sig: FuncType,
    },
    /// `canon resource.drop`, with its core type.
    ResourceDrop { resource: u32, sig: FuncType },
    /// A component import.
    Import {
        name: String,
        kind: ComponentExternalKind,
    },
    /// A component export (which also adds an index).
    Export {
        name: String,
        kind: ComponentExternalKind,
        index: u32,
    },
}

/// The canonical options the shim understands.
#[derive(Debug, Default, Clone)]
pub(super) struct Options {
    pub memory: Option<u32>,
    pub realloc: Option<u32>,
    pub post_return: Option<u32>,
    pub string_encoding: StringEncoding,
}
