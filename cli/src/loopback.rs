//! The loopback listener every HTTP server of this repository binds (`pollscope serve`/`run`
//! and the benchmark harness's page server).

use std::net::{SocketAddr, TcpListener};

use anyhow::{anyhow, Result};
use socket2::{Domain, Socket, Type};

/// A listener on 127.0.0.1:`port` (0 = any free port) with TCP_NODELAY, which Linux passes on
/// to accepted connections: with Nagle's algorithm against the browser's delayed ACK, a
/// response written as head then body (or a stdin long-poll) could stall 40 ms.
pub fn listener(port: u16) -> Result<TcpListener> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket
        .bind(&address.into())
        .map_err(|err| anyhow!("binding {address}: {err}"))?;
    socket.listen(128)?;
    Ok(socket.into())
}
