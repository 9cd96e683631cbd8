//! The local HTTP server behind `run` and `serve`: the page, the shim, the component, and for
//! `run` the guest's stdio.
//!
//! Every response carries the cross-origin isolation headers SharedArrayBuffer needs
//! (COOP same-origin, COEP require-corp, CORP same-origin).

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use serde::Deserialize;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::assets;
use crate::guest::GuestConfig;

/// Whether the page reports to the terminal (`run`) or shows a console itself (`serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `pollscope run`: output, stdin and the exit code go through the server.
    Run,
    /// `pollscope serve`: the page is the console.
    Serve,
}

/// What the page reports when the guest ends.
#[derive(Debug, Deserialize)]
pub struct Outcome {
    /// Exit code (134 for a trap).
    pub code: i32,
    /// The trap, when the guest trapped.
    pub trap: Option<Trap>,
    /// Why the component could not run at all.
    pub error: Option<String>,
    /// The ring's counters when the guest ended.
    #[serde(default)]
    pub ring: Option<RingStats>,
}

/// The event→wasm ring's counters (the loader's `ringSnapshot()`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RingStats {
    /// Data area size in bytes.
    pub capacity: u64,
    /// Most bytes ever in the ring at once.
    pub high_water: u64,
    /// Packets written by the event thread.
    pub packets_in: u64,
    /// Payload bytes written by the event thread.
    pub bytes_in: u64,
    /// Payload bytes taken by the wasm thread.
    pub bytes_out: u64,
    /// Times the event thread found the ring full and had to wait.
    pub stalls: u64,
}

/// A guest trap as the shim reports it.
#[derive(Debug, Deserialize)]
pub struct Trap {
    /// What went wrong.
    pub message: String,
    /// Innermost first: function name (as in the name section) or `None`, function index,
    /// offset in the module, and the source line when the module has DWARF.
    #[serde(default)]
    pub frames: Vec<pollscope_protocol::Frame>,
}

/// Everything the server hands out.
pub struct Site {
    /// `run` or `serve`.
    pub mode: Mode,
    /// The component's bytes.
    pub component: Vec<u8>,
    /// The guest's world.
    pub config: GuestConfig,
    /// Chunks of the terminal's stdin (`run`); closed channel = EOF.
    pub stdin: Option<Mutex<Receiver<Vec<u8>>>>,
    /// Where the page's exit report goes (`run`).
    pub outcome: Option<SyncSender<Outcome>>,
}

/// Binds 127.0.0.1:`port` (0 = any free port) and serves `site` on background threads.
/// Returns the page's URL.
pub fn start(site: Site, port: u16) -> Result<String> {
    let server = Server::from_listener(listener(port)?, None)
        .map_err(|err| anyhow!("serving on 127.0.0.1:{port}: {err}"))?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|addr| addr.port())
        .unwrap_or(port);
    let site = Arc::new(site);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let site = Arc::clone(&site);
            // Requests block (stdin long-polls), so each gets its own thread.
            std::thread::spawn(move || handle(&site, request));
        }
    });
    Ok(format!("http://127.0.0.1:{port}/"))
}

/// A loopback listener with TCP_NODELAY, which Linux passes on to accepted connections:
/// tiny_http writes a response's head and body separately, and with Nagle's algorithm against
/// the browser's delayed ACK each stdin long-poll would stall for 40 ms.
fn listener(port: u16) -> Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket
        .bind(&address.into())
        .map_err(|err| anyhow!("binding {address}: {err}"))?;
    socket.listen(128)?;
    Ok(socket.into())
}

fn handle(site: &Site, mut request: Request) {
    let url = request.url().split('?').next().unwrap_or("/").to_string();
    // HEAD is answered like GET (tiny_http leaves the body out).
    let method = match request.method() {
        Method::Head => Method::Get,
        other => other.clone(),
    };
    let response = match (&method, url.as_str()) {
        (Method::Get, "/") => ok(assets::INDEX_HTML.to_vec(), "index.html"),
        (Method::Get, "/page.js") => ok(assets::PAGE_JS.to_vec(), "page.js"),
        (Method::Get, "/app.wasm") => ok(site.component.clone(), "app.wasm"),
        (Method::Get, "/config.json") => {
            let mode = match site.mode {
                Mode::Run => "run",
                Mode::Serve => "serve",
            };
            let body = serde_json::json!({ "mode": mode, "guest": &site.config });
            ok(body.to_string().into_bytes(), "config.json")
        }
        (Method::Get, path) if path.starts_with("/pollscope/") => {
            let name = &path["/pollscope/".len()..];
            match assets::SHIM.iter().find(|(asset, _)| *asset == name) {
                Some((_, bytes)) => ok(bytes.to_vec(), name),
                None => status(404),
            }
        }
        (Method::Get, path) if path.starts_with("/files/") => {
            let source = path["/files/".len()..]
                .parse::<usize>()
                .ok()
                .and_then(|i| site.config.file_sources.get(i));
            match source.map(std::fs::read) {
                Some(Ok(bytes)) => ok(bytes, "file"),
                _ => status(404),
            }
        }
        (Method::Get, "/stdin") => match site.stdin.as_ref().and_then(next_stdin) {
            Some(chunk) => ok(chunk, "stdin"),
            // A closed channel is the terminal's EOF.
            None => status(204),
        },
        (Method::Post, "/output/1") | (Method::Post, "/output/2") => {
            let mut body = Vec::new();
            if request.as_reader().read_to_end(&mut body).is_ok() {
                let written = if url.ends_with('1') {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&body).and_then(|()| out.flush())
                } else {
                    let mut err = std::io::stderr().lock();
                    err.write_all(&body).and_then(|()| err.flush())
                };
                // A closed terminal (e.g. `| head`) is not the guest's problem.
                let _ = written;
            }
            status(204)
        }
        (Method::Post, "/exit") => {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            match (serde_json::from_str::<Outcome>(&body), &site.outcome) {
                (Ok(outcome), Some(sender)) => {
                    let _ = sender.send(outcome);
                    status(204)
                }
                (Ok(_), None) => status(204),
                (Err(_), _) => status(400),
            }
        }
        _ => status(404),
    };
    let _ = request.respond(response);
}

/// Most stdin bytes one `/stdin` response carries.
const STDIN_BATCH: usize = 4 << 20;

/// Waits for the next stdin chunk, then adds whatever else is already queued (up to
/// [`STDIN_BATCH`]): typed lines go out at once, piped data in few large requests.
fn next_stdin(stdin: &Mutex<Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    let rx = stdin.lock().ok()?;
    let mut batch = rx.recv().ok()?;
    while batch.len() < STDIN_BATCH {
        match rx.try_recv() {
            Ok(more) => batch.extend_from_slice(&more),
            Err(_) => break,
        }
    }
    Some(batch)
}

fn isolation_headers() -> [Header; 4] {
    [
        header("Cross-Origin-Opener-Policy", "same-origin"),
        header("Cross-Origin-Embedder-Policy", "require-corp"),
        header("Cross-Origin-Resource-Policy", "same-origin"),
        header("Cache-Control", "no-store"),
    ]
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header is valid")
}

fn ok(body: Vec<u8>, name: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut response =
        Response::from_data(body).with_header(header("Content-Type", assets::content_type(name)));
    for h in isolation_headers() {
        response.add_header(h);
    }
    response
}

fn status(code: u16) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut response = Response::from_data(Vec::new()).with_status_code(code);
    for h in isolation_headers() {
        response.add_header(h);
    }
    response
}
