//! `wasi:sockets`: every interface present with its exact core signatures, so any program
//! instantiates, but no network behind them: a browser page has no raw TCP, UDP or DNS.
//!
//! - `network`, `instance-network`: a real `network` handle (the spec's capability token,
//!   which grants nothing here)
//! - `tcp-create-socket`, `udp-create-socket`: answer `access-denied`, the error the spec
//!   lists as always possible for a host that refuses network access. `not-supported` would
//!   be wrong: the spec gives it to creation only for an unsupported address family, and a
//!   program would take it to mean "try the other one".
//! - `ip-name-lookup.resolve-addresses`: `permanent-resolver-failure` (`invalid-argument` for
//!   a name that is no host), exactly what wasmtime answers when lookups are not allowed.
//! - every method of `tcp-socket`, `udp-socket`, the datagram streams and
//!   `resolve-address-stream`: since none of them can ever be created, any handle passed is
//!   invalid and traps, as the canonical ABI requires for a bad handle. The resource types are
//!   uninhabited enums, so the compiler proves there is no other path.
//!
//! State and resources: `state.rs`. Glue: `network.rs` (`network`, `instance-network`),
//! `tcp.rs`, `udp.rs` (each with its `*-create-socket`), `ip_name_lookup.rs`; the helpers they
//! share are here.

pub(crate) mod ip_name_lookup;
pub(crate) mod network;
pub(crate) mod state;
pub(crate) mod tcp;
pub(crate) mod udp;

use crate::abi::{self, Lowered};
use crate::func::Args;
use crate::{GuestMemory, Host, Trap};
use state::Never;

/// `wasi:sockets/network.error-code.access-denied` (second case of the enum).
const ACCESS_DENIED: u8 = 1;

/// Why creation and lookup fail, for `pollscope inspect`.
const DENIED: &str = "access-denied: a browser page has no raw network access";
/// Why every method of a socket resource traps, for `pollscope inspect`.
const NEVER_CREATED: &str = "traps on any handle: this resource can never be created";

/// Any method of a resource that can never exist: validating `self` (argument 0) traps.
fn never_method<T: Never>(
    host: &mut Host,
    _: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    host.table.get::<T>(abi::arg_handle(args, 0)?)?.absurd()
}

/// `[resource-drop]` of a resource that can never exist.
fn never_drop<T: Never>(
    host: &mut Host,
    _: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    host.table.delete::<T>(abi::arg_handle(args, 0)?)?.absurd()
}

/// Stores `result<own<…>, error-code>` as `err(access-denied)`: tag @0, code @4.
fn store_denied(memory: &mut dyn GuestMemory, retptr: u32) -> Result<i64, Trap> {
    store_error(memory, retptr, ACCESS_DENIED)
}

/// Stores `result<own<…>, error-code>` as `err(code)`: tag @0, code @4.
fn store_error(memory: &mut dyn GuestMemory, retptr: u32, code: u8) -> Result<i64, Trap> {
    Lowered::new(8, 4)
        .u8(0, 1)
        .u8(4, code)
        .store(memory, retptr, "retptr")?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use crate::func::InterfaceDef;
    use crate::Support;

    #[test]
    fn every_sockets_function_resolves_and_says_how_it_is_supported() {
        let counts: [(&InterfaceDef, usize); 7] = [
            (&super::network::NETWORK, 1),
            (&super::network::INSTANCE_NETWORK, 1),
            (&super::udp::UDP, 21),
            (&super::udp::UDP_CREATE_SOCKET, 1),
            (&super::tcp::TCP, 29),
            (&super::tcp::TCP_CREATE_SOCKET, 1),
            (&super::ip_name_lookup::IP_NAME_LOOKUP, 4),
        ];
        for (interface, count) in counts {
            // Counted from the wasip2 crate's import list (wasi 0.2.12).
            assert_eq!(interface.funcs.len(), count, "{}", interface.name);
            for func in interface.funcs {
                let resolved = crate::resolve(&format!("{}@0.2.0", interface.name), func.name);
                let support = resolved.unwrap().support();
                let implemented = ["instance-network", "[resource-drop]network"];
                if implemented.contains(&func.name) {
                    assert_eq!(support, Support::Implemented, "{}", func.name);
                } else {
                    assert!(matches!(support, Support::ErrorsOnly(_)), "{}", func.name);
                }
            }
        }
    }
}
