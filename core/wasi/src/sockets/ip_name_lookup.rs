//! `wasi:sockets/ip-name-lookup`: no DNS from a browser page, so `resolve-addresses` fails
//! as wasmtime's does when name lookup is not allowed, and no `resolve-address-stream`
//! exists: a name that is not a valid host (empty, or with a character a URL host cannot
//! hold) is `invalid-argument`, any other `permanent-resolver-failure`.

use super::state::{Network, ResolveAddressStream};
use super::{never_drop, never_method, store_error, NEVER_CREATED};
use crate::abi;
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

/// `resolve-addresses(borrow<network>, string) -> result<resolve-address-stream, error-code>`.
fn resolve_addresses(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    // Lift as the canonical ABI would: the network handle and the name must be valid.
    host.table.get::<Network>(abi::arg_handle(args, 0)?)?;
    let name = abi::lift_string(
        memory,
        abi::arg_u32(args, 1)?,
        abi::arg_u32(args, 2)?,
        "name",
    )?;
    let code = if is_host_name(&name) {
        PERMANENT_RESOLVER_FAILURE
    } else {
        INVALID_ARGUMENT
    };
    store_error(memory, abi::arg_u32(args, 3)?, code)
}

/// `error-code.invalid-argument` of `wasi:sockets/network`.
const INVALID_ARGUMENT: u8 = 3;
/// `error-code.permanent-resolver-failure` of `wasi:sockets/network`: what wasmtime answers
/// when lookups are not allowed.
const PERMANENT_RESOLVER_FAILURE: u8 = 20;

/// Why lookups fail, for `pollscope inspect`.
const NO_LOOKUP: &str =
    "permanent-resolver-failure: a browser page has no DNS (invalid names: invalid-argument)";

/// Whether `name` could be a URL host (a domain, an IPv4 address or a bracketed IPv6 one), as
/// wasmtime checks before it looks at whether lookups are allowed: not empty, and none of the
/// characters the URL standard forbids in a host.
fn is_host_name(name: &str) -> bool {
    if let Some(inner) = name.strip_prefix('[') {
        return inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
    }
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_ascii_control() || " #%/:<>?@[\\]^|".contains(c))
}

/// `wasi:sockets/ip-name-lookup`.
pub(crate) const IP_NAME_LOOKUP: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/ip-name-lookup",
    funcs: &[
        FuncDef::new(
            "[resource-drop]resolve-address-stream",
            &[I32],
            &[],
            never_drop::<ResolveAddressStream>,
        )
        .errors_only(NEVER_CREATED),
        FuncDef::new(
            "resolve-addresses",
            &[I32, I32, I32, I32],
            &[],
            resolve_addresses,
        )
        .errors_only(NO_LOOKUP),
        FuncDef::new(
            "[method]resolve-address-stream.resolve-next-address",
            &[I32, I32],
            &[],
            never_method::<ResolveAddressStream>,
        )
        .errors_only(NEVER_CREATED),
        FuncDef::new(
            "[method]resolve-address-stream.subscribe",
            &[I32],
            &[I32],
            never_method::<ResolveAddressStream>,
        )
        .errors_only(NEVER_CREATED),
    ],
};

#[cfg(test)]
mod tests {
    use crate::testing::{call, host_with, FakePlatform};

    const LOOKUP: &str = "wasi:sockets/ip-name-lookup@0.2.0";

    #[test]
    fn host_names_are_told_from_invalid_ones() {
        for good in [
            "example.com",
            "localhost",
            "127.0.0.1",
            "[::1]",
            "bücher.example",
            "a-b_c",
        ] {
            assert!(super::is_host_name(good), "{good}");
        }
        for bad in [
            "", "a b", "a/b", "a:80", "[::1", "[nope]", "a\nb", "a%20", "x@y", "a\\b",
        ] {
            assert!(!super::is_host_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn lookups_fail_as_wasmtime_without_name_lookup_after_lifting_the_arguments() {
        let (mut host, mut memory) = host_with(&FakePlatform::new());
        let network = call(
            &mut host,
            &mut memory,
            "wasi:sockets/instance-network@0.2.0",
            "instance-network",
            &[],
        )
        .unwrap();
        memory.bytes[0x100..0x10b].copy_from_slice(b"example.com");
        call(
            &mut host,
            &mut memory,
            LOOKUP,
            "resolve-addresses",
            &[network, 0x100, 11, 0x20],
        )
        .unwrap();
        assert_eq!(
            (memory.bytes[0x20], memory.bytes[0x24]),
            (1, 20),
            "err(permanent-resolver-failure)"
        );
        memory.bytes[0x100..0x103].copy_from_slice(b"a b");
        call(
            &mut host,
            &mut memory,
            LOOKUP,
            "resolve-addresses",
            &[network, 0x100, 3, 0x20],
        )
        .unwrap();
        assert_eq!(
            (memory.bytes[0x20], memory.bytes[0x24]),
            (1, 3),
            "err(invalid-argument)"
        );

        let no_network = call(
            &mut host,
            &mut memory,
            LOOKUP,
            "resolve-addresses",
            &[55, 0x100, 11, 0x20],
        );
        assert!(no_network
            .unwrap_err()
            .to_string()
            .starts_with("unknown handle 55"));
        memory.bytes[0x100] = 0xff;
        let bad_name = call(
            &mut host,
            &mut memory,
            LOOKUP,
            "resolve-addresses",
            &[network, 0x100, 11, 0x20],
        );
        assert!(bad_name.unwrap_err().to_string().contains("invalid utf-8"));
        for name in [
            "[method]resolve-address-stream.resolve-next-address",
            "[method]resolve-address-stream.subscribe",
            "[resource-drop]resolve-address-stream",
        ] {
            let args: &[i64] = if name.contains("next") {
                &[network, 0x20]
            } else {
                &[network]
            };
            let message = call(&mut host, &mut memory, LOOKUP, name, args)
                .unwrap_err()
                .to_string();
            assert!(
                message.contains("not a ResolveAddressStream"),
                "{name}: {message}"
            );
        }
    }
}
