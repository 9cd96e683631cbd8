//! Every function of the command world, by interface, with its flat core signature.
//!
//! Each interface module declares a `pub(crate) const INTERFACE: InterfaceDef` listing its
//! functions (resource drops included, under their core names such as
//! `[resource-drop]pollable`); [`resolve`] finds one for a component's import.

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

/// Every interface of the `wasi:cli/command@0.2.x` world.
pub(crate) const INTERFACES: &[&InterfaceDef] = &[
    &crate::io::error::INTERFACE,
    &crate::io::poll::INTERFACE,
    &crate::io::streams::INTERFACE,
    &crate::clocks::monotonic_clock::INTERFACE,
    &crate::clocks::wall_clock::INTERFACE,
    &crate::random::random::INTERFACE,
    &crate::random::insecure::INTERFACE,
    &crate::random::insecure_seed::INTERFACE,
    &crate::cli::environment::INTERFACE,
    &crate::cli::exit::INTERFACE,
    &crate::cli::stdio::STDIN,
    &crate::cli::stdio::STDOUT,
    &crate::cli::stdio::STDERR,
    &crate::cli::terminal::TERMINAL_INPUT,
    &crate::cli::terminal::TERMINAL_OUTPUT,
    &crate::cli::terminal::TERMINAL_STDIN,
    &crate::cli::terminal::TERMINAL_STDOUT,
    &crate::cli::terminal::TERMINAL_STDERR,
    &crate::filesystem::TYPES,
    &crate::filesystem::PREOPENS,
    &crate::sockets::NETWORK,
    &crate::sockets::INSTANCE_NETWORK,
    &crate::sockets::UDP,
    &crate::sockets::UDP_CREATE_SOCKET,
    &crate::sockets::TCP,
    &crate::sockets::TCP_CREATE_SOCKET,
    &crate::sockets::IP_NAME_LOOKUP,
];

/// A resolved host function: what a lowered import is bound to.
#[derive(Clone, Copy)]
pub struct HostFunc {
    interface: &'static InterfaceDef,
    func: &'static FuncDef,
}

impl HostFunc {
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

/// Why an import cannot be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The interface is not part of the WASI 0.2 command world.
    UnknownInterface(String),
    /// The interface exists, but not in a 0.2.x version.
    UnsupportedVersion(String),
    /// The interface has no function of that name.
    UnknownFunction(String, String),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::UnknownInterface(i) => {
                write!(f, "`{i}` is not an interface of the WASI 0.2 command world")
            }
            ResolveError::UnsupportedVersion(i) => {
                write!(
                    f,
                    "`{i}`: only 0.2.x versions of WASI interfaces are supported"
                )
            }
            ResolveError::UnknownFunction(i, name) => write!(f, "`{i}` has no function `{name}`"),
        }
    }
}

impl std::error::Error for ResolveError {}

/// Splits `wasi:io/poll@0.2.6` into (`wasi:io/poll`, Some(`0.2.6`)).
pub fn split_version(interface: &str) -> (&str, Option<&str>) {
    match interface.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (interface, None),
    }
}

/// Whether `version` is a 0.2.x release (pre-releases of 0.2.x included).
fn is_supported_version(version: Option<&str>) -> bool {
    let Some(version) = version else { return false };
    let mut parts = version.splitn(3, '.');
    matches!((parts.next(), parts.next()), (Some("0"), Some("2")))
        && parts.next().is_some_and(|patch| {
            patch
                .split(['-', '+'])
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Finds the host function for import `name` of `interface` (`wasi:io/poll@0.2.6`, any 0.2.x).
pub fn resolve(interface: &str, name: &str) -> Result<HostFunc, ResolveError> {
    let (base, version) = split_version(interface);
    let def = INTERFACES
        .iter()
        .find(|def| def.name == base)
        .ok_or_else(|| ResolveError::UnknownInterface(interface.to_string()))?;
    if !is_supported_version(version) {
        return Err(ResolveError::UnsupportedVersion(interface.to_string()));
    }
    let func = def
        .funcs
        .iter()
        .find(|func| func.name == name)
        .ok_or_else(|| ResolveError::UnknownFunction(interface.to_string(), name.to_string()))?;
    Ok(HostFunc {
        interface: def,
        func,
    })
}

/// Every function the host knows, for `pollscope inspect` and coverage tests.
pub fn all_functions() -> impl Iterator<Item = HostFunc> {
    INTERFACES.iter().flat_map(|interface| {
        interface
            .funcs
            .iter()
            .map(move |func| HostFunc { interface, func })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(is_supported_version(Some("0.2.0")));
        assert!(is_supported_version(Some("0.2.6")));
        assert!(is_supported_version(Some("0.2.0-rc-2023-11-10")));
        assert!(!is_supported_version(Some("0.3.0")));
        assert!(!is_supported_version(Some("0.2")));
        assert!(!is_supported_version(None));
    }
}
