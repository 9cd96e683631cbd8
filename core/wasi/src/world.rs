//! The `wasi:cli/command@0.2.x` world: every interface the host implements, and how a
//! component's import finds its function (any 0.2.x version).
//!
//! - `wasi:io/error`, `wasi:io/poll`, `wasi:io/streams` (`io/`: glue in `error.rs`, `poll.rs`,
//!   `streams.rs`; state in `pollable.rs`, `stream.rs`)
//! - `wasi:clocks/monotonic-clock`, `wasi:clocks/wall-clock` (`clocks/`)
//! - `wasi:random/random`, `wasi:random/insecure`, `wasi:random/insecure-seed` (`random/`)
//! - `wasi:cli/environment`, `exit`, `stdin`, `stdout`, `stderr`, `terminal-input`,
//!   `terminal-output`, `terminal-stdin`, `terminal-stdout`, `terminal-stderr` (`cli/`: glue in
//!   `environment.rs`, `exit.rs`, `stdio.rs`, `terminal.rs`; state in `console.rs`)
//! - `wasi:filesystem/types`, `wasi:filesystem/preopens` (`filesystem/`: glue in `types.rs`,
//!   `dirs.rs`, `preopens.rs`; state in `state.rs`, `memfs.rs`, `descriptor.rs`, …)
//! - `wasi:sockets/network`, `instance-network`, `udp`, `udp-create-socket`, `tcp`,
//!   `tcp-create-socket`, `ip-name-lookup` (`sockets/`: present, answering `access-denied`)
//!
//! This is the one module that names the interface modules; they name only the vocabulary
//! (`func.rs`), the host (`host.rs`) and state modules, never each other's glue.

use crate::func::{HostFunc, InterfaceDef};

/// Every interface of the `wasi:cli/command@0.2.x` world.
const INTERFACES: &[&InterfaceDef] = &[
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
    &crate::filesystem::types::INTERFACE,
    &crate::filesystem::preopens::INTERFACE,
    &crate::sockets::network::NETWORK,
    &crate::sockets::network::INSTANCE_NETWORK,
    &crate::sockets::udp::UDP,
    &crate::sockets::udp::UDP_CREATE_SOCKET,
    &crate::sockets::tcp::TCP,
    &crate::sockets::tcp::TCP_CREATE_SOCKET,
    &crate::sockets::ip_name_lookup::IP_NAME_LOOKUP,
];

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
    Ok(HostFunc::new(def, func))
}

/// Every function the host knows, for `pollscope inspect` and coverage tests.
pub fn all_functions() -> impl Iterator<Item = HostFunc> {
    INTERFACES.iter().flat_map(|interface| {
        interface
            .funcs
            .iter()
            .map(move |func| HostFunc::new(interface, func))
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
