//! `wasi:sockets/udp` and `wasi:sockets/udp-create-socket`: creation is denied, so no
//! `udp-socket` or datagram stream exists and every method traps on its handle.

use super::state::{IncomingDatagramStream, Never, OutgoingDatagramStream, UdpSocket};
use super::{never_drop, never_method, store_denied, DENIED, NEVER_CREATED};
use crate::abi;
use crate::func::{Args, FuncDef, InterfaceDef, ValType, ValType::*};
use crate::{GuestMemory, Host, Trap};

/// `create-udp-socket(address-family) -> result<own<udp-socket>, error-code>`.
fn create_udp_socket(
    _: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    abi::arg_case(args, 0, 2, "ip-address-family")?;
    let retptr = abi::arg_u32(args, 1)?;
    store_denied(memory, retptr)
}

/// A method of resource `T` with its flat signature.
const fn method<T: Never>(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> FuncDef {
    FuncDef::new(name, params, results, never_method::<T>).errors_only(NEVER_CREATED)
}

/// The `[resource-drop]` of resource `T`.
const fn drop<T: Never>(name: &'static str) -> FuncDef {
    FuncDef::new(name, &[I32], &[], never_drop::<T>).errors_only(NEVER_CREATED)
}

/// self, then a flattened `ip-socket-address` (12) or `option<ip-socket-address>` (13,
/// after a `borrow<network>` for `start-bind`), then the return pointer.
const ADDRESS_CALL: &[ValType] = &[I32; 15];

/// `wasi:sockets/udp`.
pub(crate) const UDP: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/udp",
    funcs: &[
        drop::<UdpSocket>("[resource-drop]udp-socket"),
        drop::<IncomingDatagramStream>("[resource-drop]incoming-datagram-stream"),
        drop::<OutgoingDatagramStream>("[resource-drop]outgoing-datagram-stream"),
        method::<UdpSocket>("[method]udp-socket.start-bind", ADDRESS_CALL, &[]),
        method::<UdpSocket>("[method]udp-socket.finish-bind", &[I32, I32], &[]),
        method::<UdpSocket>("[method]udp-socket.stream", ADDRESS_CALL, &[]),
        method::<UdpSocket>("[method]udp-socket.local-address", &[I32, I32], &[]),
        method::<UdpSocket>("[method]udp-socket.remote-address", &[I32, I32], &[]),
        method::<UdpSocket>("[method]udp-socket.address-family", &[I32], &[I32]),
        method::<UdpSocket>("[method]udp-socket.unicast-hop-limit", &[I32, I32], &[]),
        method::<UdpSocket>(
            "[method]udp-socket.set-unicast-hop-limit",
            &[I32, I32, I32],
            &[],
        ),
        method::<UdpSocket>("[method]udp-socket.receive-buffer-size", &[I32, I32], &[]),
        method::<UdpSocket>(
            "[method]udp-socket.set-receive-buffer-size",
            &[I32, I64, I32],
            &[],
        ),
        method::<UdpSocket>("[method]udp-socket.send-buffer-size", &[I32, I32], &[]),
        method::<UdpSocket>(
            "[method]udp-socket.set-send-buffer-size",
            &[I32, I64, I32],
            &[],
        ),
        method::<UdpSocket>("[method]udp-socket.subscribe", &[I32], &[I32]),
        method::<IncomingDatagramStream>(
            "[method]incoming-datagram-stream.receive",
            &[I32, I64, I32],
            &[],
        ),
        method::<IncomingDatagramStream>(
            "[method]incoming-datagram-stream.subscribe",
            &[I32],
            &[I32],
        ),
        method::<OutgoingDatagramStream>(
            "[method]outgoing-datagram-stream.check-send",
            &[I32, I32],
            &[],
        ),
        method::<OutgoingDatagramStream>(
            "[method]outgoing-datagram-stream.send",
            &[I32, I32, I32, I32],
            &[],
        ),
        method::<OutgoingDatagramStream>(
            "[method]outgoing-datagram-stream.subscribe",
            &[I32],
            &[I32],
        ),
    ],
};

/// `wasi:sockets/udp-create-socket`.
pub(crate) const UDP_CREATE_SOCKET: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/udp-create-socket",
    funcs: &[
        FuncDef::new("create-udp-socket", &[I32, I32], &[], create_udp_socket).errors_only(DENIED),
    ],
};

#[cfg(test)]
mod tests {
    use crate::testing::{call, host_with, FakePlatform};

    const UDP: &str = "wasi:sockets/udp@0.2.0";

    #[test]
    fn creation_is_denied() {
        let (mut host, mut memory) = host_with(&FakePlatform::new());
        let create = "wasi:sockets/udp-create-socket@0.2.0";
        call(
            &mut host,
            &mut memory,
            create,
            "create-udp-socket",
            &[1, 0x20],
        )
        .unwrap();
        assert_eq!(
            (memory.bytes[0x20], memory.bytes[0x24]),
            (1, 1),
            "err(access-denied)"
        );
        let misaligned = call(
            &mut host,
            &mut memory,
            create,
            "create-udp-socket",
            &[1, 0x22],
        );
        assert!(misaligned.unwrap_err().to_string().contains("misaligned"));
    }

    #[test]
    fn every_method_and_drop_traps_naming_its_resource() {
        let (mut host, mut memory) = host_with(&FakePlatform::new());
        let network = call(
            &mut host,
            &mut memory,
            "wasi:sockets/instance-network@0.2.0",
            "instance-network",
            &[],
        )
        .unwrap();
        for func in super::UDP.funcs {
            let mut args = vec![0i64; func.params.len()];
            args[0] = network;
            let message = call(&mut host, &mut memory, UDP, func.name, &args)
                .unwrap_err()
                .to_string();
            let resource = if func.name.contains("incoming") {
                "IncomingDatagramStream"
            } else if func.name.contains("outgoing") {
                "OutgoingDatagramStream"
            } else {
                "UdpSocket"
            };
            assert!(
                message.contains(&format!("not a {resource}")),
                "{}: {message}",
                func.name
            );
        }
        assert_eq!(
            host.live_handles(),
            1,
            "the network handle survived every failed call"
        );
    }
}
