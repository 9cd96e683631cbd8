//! The vocabulary every interface module shares: what a host function is ([`FuncDef`]: name,
//! flat core signature, how complete, the code), what an interface is ([`InterfaceDef`]), and
//! a resolved one ([`HostFunc`]) with [`Host::call`], the entry point for every guest import.
//!
//! This module knows no interface: each interface module declares a `pub(crate) const
//! INTERFACE: InterfaceDef` (resource drops included, under their core names such as
//! `[resource-drop]pollable`) from these types, and `world.rs` lists them all.

use crate::{GuestMemory, Host, Trap};

/// A core WebAssembly value type, as the canonical ABI flattens into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

/// How completely the host implements a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Does what the WASI spec says.
    Implemented,
    /// Always answers with the error the WASI spec gives for the case; the text says which and
    /// why (e.g. sockets: a browser page has no raw network).
    ErrorsOnly(&'static str),
}

/// The flat arguments of one call, each widened to `i64` (f32/f64 as their bit patterns).
pub type Args<'a> = &'a [i64];

/// A host function: flat arguments in, at most one flat result out (`0` when there is none).
pub(crate) type HostFn = fn(&mut Host, &mut dyn GuestMemory, Args<'_>) -> Result<i64, Trap>;

/// One function of an interface.
pub(crate) struct FuncDef {
    pub name: &'static str,
    pub params: &'static [ValType],
    pub results: &'static [ValType],
    pub support: Support,
    pub call: HostFn,
}

impl FuncDef {
    /// An implemented function.
    pub(crate) const fn new(
        name: &'static str,
        params: &'static [ValType],
        results: &'static [ValType],
        call: HostFn,
    ) -> FuncDef {
        FuncDef {
            name,
            params,
            results,
            support: Support::Implemented,
            call,
        }
    }

    /// Marks the function as answering only with the spec's error for the case, saying why.
    #[allow(dead_code)] // for the sockets interfaces
    pub(crate) const fn errors_only(self, why: &'static str) -> FuncDef {
        FuncDef {
            support: Support::ErrorsOnly(why),
            ..self
        }
    }
}

/// One WASI interface, e.g. `wasi:io/poll`.
pub(crate) struct InterfaceDef {
    pub name: &'static str,
    pub funcs: &'static [FuncDef],
}

/// A resolved host function: what a lowered import is bound to.
#[derive(Clone, Copy)]
pub struct HostFunc {
    interface: &'static InterfaceDef,
    func: &'static FuncDef,
}

impl HostFunc {
    /// `func` of `interface` (`world.rs` makes these; the guest gets them from `resolve`).
    pub(crate) fn new(interface: &'static InterfaceDef, func: &'static FuncDef) -> HostFunc {
        HostFunc { interface, func }
    }
    /// `interface#function`, without version, e.g. `wasi:io/poll#[method]pollable.block`.
    pub fn qualified_name(&self) -> String {
        format!("{}#{}", self.interface.name, self.func.name)
    }
    /// The function's name within its interface.
    pub fn name(&self) -> &'static str {
        self.func.name
    }
    /// The interface name without version.
    pub fn interface(&self) -> &'static str {
        self.interface.name
    }
    /// Core parameter types the import must declare.
    pub fn params(&self) -> &'static [ValType] {
        self.func.params
    }
    /// Core result types the import must declare.
    pub fn results(&self) -> &'static [ValType] {
        self.func.results
    }
    /// How completely the host implements it.
    pub fn support(&self) -> Support {
        self.func.support
    }
    pub(crate) fn call_fn(&self) -> HostFn {
        self.func.call
    }
}

impl std::fmt::Debug for HostFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.qualified_name())
    }
}

impl Host {
    /// Runs host function `func` with the guest's flat arguments; returns its flat result
    /// (0 when it has none) or the trap that ends the guest.
    pub fn call(
        &mut self,
        func: HostFunc,
        args: Args<'_>,
        memory: &mut dyn GuestMemory,
    ) -> Result<i64, Trap> {
        if args.len() != func.params().len() {
            return Err(Trap::abi(format!(
                "{} takes {} core arguments, got {}",
                func.qualified_name(),
                func.params().len(),
                args.len()
            )));
        }
        self.checkpoint();
        (func.call_fn())(self, memory, args).map_err(|trap| trap.in_import(&func.qualified_name()))
    }
}
