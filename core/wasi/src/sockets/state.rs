//! The `wasi:sockets` state and resources. There is no state (no socket ever exists), and the
//! resources are the `network` capability token, which grants nothing, and the socket types,
//! which are uninhabited: the compiler proves no value of them is ever made. The glue is in
//! `network.rs`, `tcp.rs`, `udp.rs` and `ip_name_lookup.rs`.

use crate::HostConfig;

/// `wasi:sockets` state. There is none: no socket ever exists.
pub(crate) struct SocketsState;

impl SocketsState {
    pub(crate) fn new(_: &HostConfig) -> Result<SocketsState, String> {
        Ok(SocketsState)
    }
}

/// A resource that can never exist; looking it up in the table always fails.
pub(crate) trait Never: 'static {
    fn absurd(&self) -> !;
}

/// The table entry behind a `network` handle: a capability token that grants nothing.
#[derive(Debug)]
pub(crate) struct Network;

/// The table entry a `tcp-socket` handle would name; no value of it can exist.
pub(crate) enum TcpSocket {}

impl Never for TcpSocket {
    fn absurd(&self) -> ! {
        match *self {}
    }
}

/// The table entry a `udp-socket` handle would name; no value of it can exist.
pub(crate) enum UdpSocket {}

impl Never for UdpSocket {
    fn absurd(&self) -> ! {
        match *self {}
    }
}

/// The table entry an `incoming-datagram-stream` handle would name.
pub(crate) enum IncomingDatagramStream {}

impl Never for IncomingDatagramStream {
    fn absurd(&self) -> ! {
        match *self {}
    }
}

/// The table entry an `outgoing-datagram-stream` handle would name.
pub(crate) enum OutgoingDatagramStream {}

impl Never for OutgoingDatagramStream {
    fn absurd(&self) -> ! {
        match *self {}
    }
}

/// The table entry a `resolve-address-stream` handle would name; no value of it can exist.
pub(crate) enum ResolveAddressStream {}

impl Never for ResolveAddressStream {
    fn absurd(&self) -> ! {
        match *self {}
    }
}
