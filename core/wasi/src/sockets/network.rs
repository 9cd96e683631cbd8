//! `wasi:sockets/network` and `wasi:sockets/instance-network`.

use super::state::Network;
use crate::abi;
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

fn instance_network(host: &mut Host, _: &mut dyn GuestMemory, _: Args<'_>) -> Result<i64, Trap> {
    Ok(host.table.push(Network)?.into())
}

fn drop_network(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    host.table.delete::<Network>(abi::arg_handle(args, 0)?)?;
    Ok(0)
}

/// `wasi:sockets/network`. (`network-error-code` is `@unstable` in the WIT and absent from
/// released bindings.)
pub(crate) const NETWORK: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/network",
    funcs: &[FuncDef::new(
        "[resource-drop]network",
        &[I32],
        &[],
        drop_network,
    )],
};

/// `wasi:sockets/instance-network`.
pub(crate) const INSTANCE_NETWORK: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/instance-network",
    funcs: &[FuncDef::new(
        "instance-network",
        &[],
        &[I32],
        instance_network,
    )],
};

#[cfg(test)]
mod tests {
    use crate::testing::{call, host_with, FakePlatform};

    #[test]
    fn instance_network_hands_out_droppable_handles() {
        let (mut host, mut memory) = host_with(&FakePlatform::new());
        let before = host.live_handles();
        let iface = "wasi:sockets/instance-network@0.2.0";
        let a = call(&mut host, &mut memory, iface, "instance-network", &[]).unwrap();
        let b = call(&mut host, &mut memory, iface, "instance-network", &[]).unwrap();
        assert_ne!(a, b);
        assert_eq!(host.live_handles(), before + 2);
        let network = "wasi:sockets/network@0.2.0";
        call(
            &mut host,
            &mut memory,
            network,
            "[resource-drop]network",
            &[a],
        )
        .unwrap();
        let again = call(
            &mut host,
            &mut memory,
            network,
            "[resource-drop]network",
            &[a],
        );
        assert!(again.unwrap_err().to_string().starts_with("unknown handle"));
        assert_eq!(host.live_handles(), before + 1);
    }
}
