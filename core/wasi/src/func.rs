//! The vocabulary every interface module shares: what a host function is ([`FuncDef`]: name,
//! flat core signature, how complete, whether it may wait, the code), what an interface is
//! ([`InterfaceDef`]), and a resolved one ([`HostFunc`]) with [`Host::call`], the entry point
//! for every guest import.
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

/// Whether a host function can wait: reach [`Platform::wait`](crate::Platform::wait), the one
/// blocking call, which sleeps the guest's thread. Declared on each function's definition (the
/// embedder times such calls and, at an idle point, reads the guest's scheduler), and checked:
/// in debug builds a call declared [`Waits::Never`] that reaches the wait panics, naming the
/// function, and a native test runs every function where waiting is possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Waits {
    /// Returns without waiting, whatever its arguments and whatever is ready.
    #[default]
    Never,
    /// May wait until a stream is ready (`blocking-read`, the blocking writes, …).
    MayWait,
    /// May wait, and the guest's scheduler is idle when it calls this (`[method]pollable.block`
    /// and `poll`: TinyGo calls them only once every goroutine has unwound), so its queues are
    /// consistent to read.
    IdlePoint,
}

impl Waits {
    /// Whether the call may wait ([`MayWait`](Waits::MayWait) or
    /// [`IdlePoint`](Waits::IdlePoint)).
    pub fn may_wait(self) -> bool {
        self != Waits::Never
    }

    /// Whether the guest's scheduler is idle at this call ([`IdlePoint`](Waits::IdlePoint)).
    pub fn idle_point(self) -> bool {
        self == Waits::IdlePoint
    }
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
    pub waits: Waits,
    pub call: HostFn,
}

impl FuncDef {
    /// An implemented function that never waits.
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
            waits: Waits::Never,
            call,
        }
    }

    /// Marks the function as one that may wait ([`Waits::MayWait`]): its implementation can
    /// reach [`Platform::wait`](crate::Platform::wait).
    pub(crate) const fn may_wait(self) -> FuncDef {
        FuncDef {
            waits: Waits::MayWait,
            ..self
        }
    }

    /// Marks the function as an idle point ([`Waits::IdlePoint`]): it may wait, and the guest's
    /// scheduler is idle when it calls it.
    pub(crate) const fn idle_point(self) -> FuncDef {
        FuncDef {
            waits: Waits::IdlePoint,
            ..self
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
    /// Whether it may wait, as its definition declares.
    pub fn waits(&self) -> Waits {
        self.func.waits
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
    ///
    /// In debug builds, panics when a function declared [`Waits::Never`] reaches
    /// [`Platform::wait`](crate::Platform::wait): its declaration is wrong (see [`Waits`]).
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
        if self.platform_mut().stop_requested() {
            return Err(Trap::interrupted().in_import(&func.qualified_name()));
        }
        #[cfg(debug_assertions)]
        {
            self.never_waits = (!func.waits().may_wait()).then_some(func.name());
        }
        let result = (func.call_fn())(self, memory, args);
        #[cfg(debug_assertions)]
        {
            self.never_waits = None;
        }
        result.map_err(|trap| trap.in_import(&func.qualified_name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Step;
    use crate::testing::{host_with, FakePlatform};
    use crate::WaitReason;

    /// Sleeps until virtual time 10, as a blocking import would.
    fn sleeps(host: &mut Host, _: &mut dyn GuestMemory, _: Args<'_>) -> Result<i64, Trap> {
        host.block_until(WaitReason::Poll, |host| {
            Ok(match host.platform.monotonic_now() {
                now if now >= 10 => Step::Done(0),
                _ => Step::Wait(Some(10)),
            })
        })
    }

    static TEST: InterfaceDef = InterfaceDef {
        name: "test:waits/declared",
        funcs: &[
            FuncDef::new("never", &[], &[], sleeps),
            FuncDef::new("may-wait", &[], &[], sleeps).may_wait(),
        ],
    };

    #[test]
    fn a_function_declared_to_wait_waits() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let func = HostFunc::new(&TEST, &TEST.funcs[1]);
        assert_eq!(func.waits(), Waits::MayWait);
        host.call(func, &[], &mut memory).unwrap();
        assert_eq!(fake.waits().len(), 1);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "`never` reached Platform::wait, but its definition says")]
    fn in_debug_builds_a_function_declared_never_that_waits_panics() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let _ = host.call(HostFunc::new(&TEST, &TEST.funcs[0]), &[], &mut memory);
    }
}
