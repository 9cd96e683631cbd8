//! `wasi:sockets/tcp` and `wasi:sockets/tcp-create-socket`: creation is denied, so no
//! `tcp-socket` exists and every method traps on its handle.

use super::state::TcpSocket;
use super::{never_drop, never_method, store_denied, DENIED, NEVER_CREATED};
use crate::abi;
use crate::func::{Args, FuncDef, InterfaceDef, ValType, ValType::*};
use crate::{GuestMemory, Host, Trap};

/// `create-tcp-socket(address-family) -> result<own<tcp-socket>, error-code>`.
fn create_tcp_socket(
    _: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    // The family is lifted (and an invalid one traps) even though the answer is the same.
    abi::arg_case(args, 0, 2, "ip-address-family")?;
    let retptr = abi::arg_u32(args, 1)?;
    store_denied(memory, retptr)
}

/// A `[method]tcp-socket.*` with its flat signature.
const fn method(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> FuncDef {
    FuncDef::new(name, params, results, never_method::<TcpSocket>).errors_only(NEVER_CREATED)
}

/// self, `borrow<network>`, flattened `ip-socket-address` (12), return pointer.
const ADDRESS_CALL: &[ValType] = &[I32; 15];

/// `wasi:sockets/tcp`.
pub(crate) const TCP: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/tcp",
    funcs: &[
        FuncDef::new(
            "[resource-drop]tcp-socket",
            &[I32],
            &[],
            never_drop::<TcpSocket>,
        )
        .errors_only(NEVER_CREATED),
        method("[method]tcp-socket.start-bind", ADDRESS_CALL, &[]),
        method("[method]tcp-socket.finish-bind", &[I32, I32], &[]),
        method("[method]tcp-socket.start-connect", ADDRESS_CALL, &[]),
        method("[method]tcp-socket.finish-connect", &[I32, I32], &[]),
        method("[method]tcp-socket.start-listen", &[I32, I32], &[]),
        method("[method]tcp-socket.finish-listen", &[I32, I32], &[]),
        method("[method]tcp-socket.accept", &[I32, I32], &[]),
        method("[method]tcp-socket.local-address", &[I32, I32], &[]),
        method("[method]tcp-socket.remote-address", &[I32, I32], &[]),
        method("[method]tcp-socket.is-listening", &[I32], &[I32]),
        method("[method]tcp-socket.address-family", &[I32], &[I32]),
        method(
            "[method]tcp-socket.set-listen-backlog-size",
            &[I32, I64, I32],
            &[],
        ),
        method("[method]tcp-socket.keep-alive-enabled", &[I32, I32], &[]),
        method(
            "[method]tcp-socket.set-keep-alive-enabled",
            &[I32, I32, I32],
            &[],
        ),
        method("[method]tcp-socket.keep-alive-idle-time", &[I32, I32], &[]),
        method(
            "[method]tcp-socket.set-keep-alive-idle-time",
            &[I32, I64, I32],
            &[],
        ),
        method("[method]tcp-socket.keep-alive-interval", &[I32, I32], &[]),
        method(
            "[method]tcp-socket.set-keep-alive-interval",
            &[I32, I64, I32],
            &[],
        ),
        method("[method]tcp-socket.keep-alive-count", &[I32, I32], &[]),
        method(
            "[method]tcp-socket.set-keep-alive-count",
            &[I32, I32, I32],
            &[],
        ),
        method("[method]tcp-socket.hop-limit", &[I32, I32], &[]),
        method("[method]tcp-socket.set-hop-limit", &[I32, I32, I32], &[]),
        method("[method]tcp-socket.receive-buffer-size", &[I32, I32], &[]),
        method(
            "[method]tcp-socket.set-receive-buffer-size",
            &[I32, I64, I32],
            &[],
        ),
        method("[method]tcp-socket.send-buffer-size", &[I32, I32], &[]),
        method(
            "[method]tcp-socket.set-send-buffer-size",
            &[I32, I64, I32],
            &[],
        ),
        method("[method]tcp-socket.subscribe", &[I32], &[I32]),
        method("[method]tcp-socket.shutdown", &[I32, I32, I32], &[]),
    ],
};

/// `wasi:sockets/tcp-create-socket`.
pub(crate) const TCP_CREATE_SOCKET: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/tcp-create-socket",
    funcs: &[
        FuncDef::new("create-tcp-socket", &[I32, I32], &[], create_tcp_socket).errors_only(DENIED),
    ],
};

#[cfg(test)]
mod tests {
    use crate::testing::{call, host_with, FakePlatform};
    use crate::TrapKind;

    const CREATE: &str = "wasi:sockets/tcp-create-socket@0.2.0";
    const TCP: &str = "wasi:sockets/tcp@0.2.0";

    #[test]
    fn creation_is_denied_for_both_families() {
        let (mut host, mut memory) = host_with(&FakePlatform::new());
        for family in [0, 1] {
            memory.bytes[0x20..0x28].fill(0xaa);
            call(
                &mut host,
                &mut memory,
                CREATE,
                "create-tcp-socket",
                &[family, 0x20],
            )
            .unwrap();
            assert_eq!(&memory.bytes[0x20..0x21], &[1], "err");
            assert_eq!(memory.bytes[0x24], 1, "access-denied");
        }
        let bad = call(
            &mut host,
            &mut memory,
            CREATE,
            "create-tcp-socket",
            &[2, 0x20],
        );
        assert!(bad.unwrap_err().to_string().contains("ip-address-family"));
    }

    #[test]
    fn every_method_traps_on_any_handle() {
        let (mut host, mut memory) = host_with(&FakePlatform::new());
        // A live handle of another type is rejected as well as an unknown one.
        let network = call(
            &mut host,
            &mut memory,
            "wasi:sockets/instance-network@0.2.0",
            "instance-network",
            &[],
        )
        .unwrap();
        for func in super::TCP.funcs {
            for handle in [network, 77] {
                let mut args = vec![0i64; func.params.len()];
                args[0] = handle;
                let trap = call(&mut host, &mut memory, TCP, func.name, &args).unwrap_err();
                let TrapKind::Abi(message) = trap.kind else {
                    panic!("{}", func.name)
                };
                assert!(
                    message.contains("not a TcpSocket") || message.starts_with("unknown handle"),
                    "{}: {message}",
                    func.name
                );
            }
        }
    }
}
