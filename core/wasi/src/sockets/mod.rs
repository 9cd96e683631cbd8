//! `wasi:sockets` (placeholder until the sockets land).

use crate::registry::InterfaceDef;

pub(crate) struct SocketsState;

impl SocketsState {
    pub(crate) fn new(_: &crate::HostConfig) -> Result<SocketsState, String> {
        Ok(SocketsState)
    }
}

/// `wasi:sockets/network`.
pub(crate) const NETWORK: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/network",
    funcs: &[],
};
/// `wasi:sockets/instance-network`.
pub(crate) const INSTANCE_NETWORK: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/instance-network",
    funcs: &[],
};
/// `wasi:sockets/udp`.
pub(crate) const UDP: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/udp",
    funcs: &[],
};
/// `wasi:sockets/udp-create-socket`.
pub(crate) const UDP_CREATE_SOCKET: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/udp-create-socket",
    funcs: &[],
};
/// `wasi:sockets/tcp`.
pub(crate) const TCP: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/tcp",
    funcs: &[],
};
/// `wasi:sockets/tcp-create-socket`.
pub(crate) const TCP_CREATE_SOCKET: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/tcp-create-socket",
    funcs: &[],
};
/// `wasi:sockets/ip-name-lookup`.
pub(crate) const IP_NAME_LOOKUP: InterfaceDef = InterfaceDef {
    name: "wasi:sockets/ip-name-lookup",
    funcs: &[],
};
