//! `wasi:sockets/ip-name-lookup`: no DNS from a browser page, so `resolve-addresses` is
//! denied and no `resolve-address-stream` exists.

use super::state::{Network, ResolveAddressStream};
use super::{never_drop, never_method, store_denied, DENIED, NEVER_CREATED};
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
    abi::lift_string(
        memory,
        abi::arg_u32(args, 1)?,
        abi::arg_u32(args, 2)?,
        "name",
    )?;
    store_denied(memory, abi::arg_u32(args, 3)?)
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
        .errors_only(DENIED),
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
    fn lookups_are_denied_after_lifting_the_arguments() {
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
            (1, 1),
            "err(access-denied)"
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
