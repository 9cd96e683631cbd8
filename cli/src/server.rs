//! The local HTTP server behind `run` and `serve`: the page, the shim, the component, and for
//! `run` the guest's stdio.
//!
//! Every response carries the cross-origin isolation headers SharedArrayBuffer needs
//! (COOP same-origin, COEP require-corp, CORP same-origin).
//!
//! # Who may talk to it (issue #13)
//!
//! The server listens on loopback, where every web page the user has open can reach it too: it
//! could post bytes to the terminal (`/output`), fake the guest's exit, drain stdin, and with
//! DNS rebinding read the component and the `--dir` files. So every request must pass, in order:
//!
//! 1. **`Host`** is the address the server bound, `127.0.0.1:PORT` or `localhost:PORT`
//!    (else 400): a rebound name (`evil.example:PORT`) never matches.
//! 2. **The token**: the path starts with `/<token>/`, 128 bits from the OS's random source made
//!    for this run (else 403). The page's URL carries it as a path prefix, and the page asks for
//!    everything by relative URL (`page.js`, `pollscope/…`, `app.wasm`, `files/0`, and the
//!    workers and wasm the shim loads relative to its own module), so every subresource has it
//!    without a cookie: a cookie on 127.0.0.1 would go to every port of it, to any other local
//!    server, and ride along with requests that other local pages make (ambient authority);
//!    a path is only sent by who knows it. A printed `serve` URL opened by hand works the same.
//! 3. **`Origin`**, on the routes that change something (`POST /output/N`, `POST /exit`, and
//!    `GET /stdin`, which takes the stdin it returns): browsers send `Origin` with every POST,
//!    same-origin fetches included, so a POST must carry the page's own origin
//!    (`http://` + the `Host` it came with); a same-origin GET has none (Chromium adds it only to
//!    CORS requests), so `/stdin` may come without one, but never with another. Where the browser
//!    says where a request comes from (`Sec-Fetch-Site`, sent by Chromium and Firefox to
//!    loopback), it must say `same-origin`. Anything else is 403. Other GETs only read and need
//!    the token; a cross-origin page could not read the answer anyway (no CORS headers, and
//!    CORP same-origin).
//!
//! Requests are bounded before they are buffered: a request head of at most [`MAX_HEAD_BYTES`]
//! with at most [`MAX_HEADERS`] headers (else 431), a body of at most [`MAX_OUTPUT_BODY`] or
//! [`MAX_EXIT_BODY`] (else 413; chunked bodies are refused with 411), heads that must arrive
//! within [`HEAD_TIMEOUT`], and [`WORKERS`] threads serving at most that many connections at
//! once, with [`BACKLOG`] more waiting (the rest are answered 503 and closed).

use std::io::{BufWriter, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::assets;
use crate::guest::GuestConfig;

/// Most bytes of a request line and its headers.
pub const MAX_HEAD_BYTES: usize = 16 << 10;
/// Most headers in one request.
pub const MAX_HEADERS: usize = 64;
/// Most bytes of one `POST /output/N` body (the page sends output in pieces of at most this).
pub const MAX_OUTPUT_BODY: usize = 1 << 20;
/// Most bytes of the `POST /exit` report (an exit code, a trap message and its frames).
pub const MAX_EXIT_BODY: usize = 1 << 20;
/// Most bytes of the `POST /preopens` write-back (issue #12): the writable `--dir`s' trees as
/// the guest left them, at most what its filesystem holds (`MAX_FS_BYTES`) plus the paths
/// and framing of `MAX_FS_ENTRIES` entries.
pub const MAX_WRITE_BACK_BODY: usize = (pollscope_wasi::MAX_FS_BYTES as usize) + (512 << 20);
/// Threads serving connections: each serves one connection at a time, keep-alive included (a
/// browser opens at most six per host, and `/stdin` holds one while it waits).
pub const WORKERS: usize = 16;
/// Accepted connections waiting for a worker; past this a connection is answered 503.
pub const BACKLOG: usize = 64;
/// How long a request head (or body) may take to arrive once started.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a kept-alive connection may stay idle before it is closed (its worker freed).
pub const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(5);
/// How long writing a response may stall (a browser that stopped reading).
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes of the per-run token (128 bits), from the OS's random source.
const TOKEN_BYTES: usize = 16;

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
    /// The writable `--dir`s' trees the wasm thread posted when the guest ended (`run`).
    pub write_back: Mutex<Option<Vec<u8>>>,
    /// When the page first fetched the component: the guest starts then, not when the
    /// browser does (what `-W timeout` counts from).
    pub fetched: std::sync::OnceLock<std::time::Instant>,
    /// `run`'s wish to end the guest, which the page long-polls for (`GET stop`).
    pub stop: StopRequest,
}

/// `run` asks the page to end the guest (a signal, its timeout) so that it ends at a host
/// call, with its write-back `--dir`s sent, rather than killed mid-run.
#[derive(Debug, Default)]
pub struct StopRequest {
    asked: Mutex<bool>,
    changed: std::sync::Condvar,
}

impl StopRequest {
    /// Asks: every page waiting in `GET stop` is answered.
    pub fn ask(&self) {
        if let Ok(mut asked) = self.asked.lock() {
            *asked = true;
            self.changed.notify_all();
        }
    }

    /// Returns once asked.
    fn wait(&self) {
        let Ok(mut asked) = self.asked.lock() else {
            return;
        };
        while !*asked {
            match self.changed.wait(asked) {
                Ok(guard) => asked = guard,
                Err(_) => return,
            }
        }
    }
}

/// Binds 127.0.0.1:`port` (0 = any free port) and serves `site` on background threads.
/// Returns the page's URL, `http://127.0.0.1:PORT/<token>/`.
pub fn start(site: Arc<Site>, port: u16) -> Result<String> {
    let listener = pollscope::loopback::listener(port)?;
    let port = listener.local_addr()?.port();
    let gate = Gate::new(port, &random_token()?);
    let url = format!("http://127.0.0.1:{port}{}", gate.prefix);
    let shared = Arc::new((site, gate));
    let (queue, waiting) = std::sync::mpsc::sync_channel::<TcpStream>(BACKLOG);
    let waiting = Arc::new(Mutex::new(waiting));
    for n in 0..WORKERS {
        let waiting = Arc::clone(&waiting);
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("pollscope-http-{n}"))
            .spawn(move || loop {
                // The lock is held only while waiting for the next connection.
                let next = waiting
                    .lock()
                    .map_err(drop)
                    .and_then(|rx| rx.recv().map_err(drop));
                let Ok(stream) = next else { return };
                let (site, gate) = &*shared;
                serve_connection(stream, gate, site);
            })
            .context("starting the server's threads")?;
    }
    std::thread::Builder::new()
        .name("pollscope-accept".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else {
                    // E.g. out of file descriptors: give the workers time to close some.
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                if let Err(TrySendError::Full(mut stream)) = queue.try_send(stream) {
                    // Every worker busy and the backlog full: say so instead of queueing more.
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                    let _ = stream.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                          Connection: close\r\n\r\n",
                    );
                }
            }
        })
        .context("starting the server's accept thread")?;
    Ok(url)
}

/// 128 bits from the OS (`getrandom(2)`, else `/dev/urandom`), as 32 hex digits. Never falls
/// back to anything weaker: without randomness the server does not start.
fn random_token() -> Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: writes at most the rest of `bytes`.
        let n = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        if n > 0 {
            filled += n as usize;
            continue;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        std::fs::File::open("/dev/urandom")
            .and_then(|mut urandom| urandom.read_exact(&mut bytes))
            .with_context(|| format!("no random source for the server's token ({err})"))?;
        break;
    }
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The checks every request passes (see the module comment).
struct Gate {
    /// `/<token>/`.
    prefix: String,
    /// The `Host` values accepted, lowercase: `127.0.0.1:PORT`, `localhost:PORT`.
    hosts: [String; 2],
}

/// Why a request was refused: the status and a line saying why.
type Refusal = (u16, &'static str);

impl Gate {
    fn new(port: u16, token: &str) -> Gate {
        Gate {
            prefix: format!("/{token}/"),
            hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        }
    }

    /// The request's path below the token prefix (`""` for the page), or why it is refused.
    fn admit<'a>(&self, request: &'a Request) -> Result<&'a str, Refusal> {
        let host = request
            .single("host")
            .map(str::to_ascii_lowercase)
            .ok_or((400, "a request needs exactly one Host header"))?;
        if !self.hosts.contains(&host) {
            return Err((
                400,
                "wrong Host: this server answers only to its own address",
            ));
        }
        let path = request.path();
        let prefix = self.prefix.as_bytes();
        // The path's first bytes against the whole prefix, in time independent of where they
        // differ.
        let head = path.as_bytes().get(..prefix.len()).unwrap_or(b"");
        let differ = prefix
            .iter()
            .zip(head.iter().chain(std::iter::repeat(&0)))
            .fold(head.len() ^ prefix.len(), |acc, (a, b)| {
                acc | usize::from(a ^ b)
            });
        if differ != 0 {
            return Err((
                403,
                "open the URL pollscope printed: it carries this run's token",
            ));
        }
        let route = &path[prefix.len()..];
        if changes_state(&request.method, route) {
            let own = format!("http://{host}");
            match request.single("origin") {
                Some(origin) if origin.eq_ignore_ascii_case(&own) => {}
                None if request.method != "POST" => {}
                _ => return Err((403, "cross-origin request refused")),
            }
            match request.single("sec-fetch-site") {
                None | Some("same-origin") => {}
                Some(_) => return Err((403, "cross-site request refused")),
            }
        } else if let Some(origin) = request.header("origin") {
            if !origin.eq_ignore_ascii_case(&format!("http://{host}")) {
                return Err((403, "cross-origin request refused"));
            }
        }
        Ok(route)
    }
}

/// The routes that change something (output to the terminal, the exit report, taking stdin)
/// or hold a worker (waiting for a stop).
fn changes_state(method: &str, route: &str) -> bool {
    (method != "GET" && method != "HEAD") || route == "stdin" || route == "stop"
}

/// A parsed request: method, target, headers (names lowercase) and body.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The header `name` when it occurs exactly once.
    fn single(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        match (values.next(), values.next()) {
            (Some((_, value)), None) => Some(value.as_str()),
            _ => None,
        }
    }
}

/// A response: status, content type (when it has a body) and body.
struct Response {
    status: u16,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

fn ok(body: Vec<u8>, name: &str) -> Response {
    Response {
        status: 200,
        content_type: Some(assets::content_type(name)),
        body,
    }
}

fn status(code: u16) -> Response {
    Response {
        status: code,
        content_type: None,
        body: Vec::new(),
    }
}

fn refused((code, why): Refusal) -> Response {
    Response {
        status: code,
        content_type: Some("text/plain; charset=utf-8"),
        body: format!("pollscope: {why}\n").into_bytes(),
    }
}

/// Serves requests on one connection until it closes, idles past [`KEEP_ALIVE_IDLE`], or a
/// request leaves it in a state where the next one cannot be found (refused before its body
/// was read, malformed, too large).
fn serve_connection(stream: TcpStream, gate: &Gate, site: &Site) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let Ok(mut reader) = stream.try_clone() else {
        return;
    };
    let mut writer = BufWriter::new(stream);
    // Bytes read past the previous request (a pipelined next one).
    let mut buffered = Vec::new();
    loop {
        let head = match read_head(&mut reader, &mut buffered) {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(code) => {
                let _ = respond(&mut writer, status(code), false, false);
                return linger(&mut reader);
            }
        };
        let (mut request, body_length, keep_alive) = head;
        let route = match gate.admit(&request) {
            Ok(route) => route.to_string(),
            Err(refusal) => {
                // The body (if any) is not read: the connection ends with the answer.
                let _ = respond(&mut writer, refused(refusal), false, false);
                return linger(&mut reader);
            }
        };
        let cap = match route.as_str() {
            "exit" => MAX_EXIT_BODY,
            "preopens" => MAX_WRITE_BACK_BODY,
            _ => MAX_OUTPUT_BODY,
        };
        if body_length > cap {
            let _ = respond(&mut writer, status(413), false, false);
            return linger(&mut reader);
        }
        match read_body(&mut reader, &mut buffered, body_length) {
            Ok(body) => request.body = body,
            Err(_) => return,
        }
        let head_only = request.method == "HEAD";
        let response = handle(site, &mut request, &route);
        if respond(&mut writer, response, head_only, keep_alive).is_err() || !keep_alive {
            return;
        }
    }
}

/// Most bytes read and dropped after answering a request whose rest was not read.
const LINGER_BYTES: usize = 1 << 20;
/// How long the rest of such a request is waited for.
const LINGER_TIMEOUT: Duration = Duration::from_secs(1);

/// Ends a connection whose client may still be sending (a refused request's body): closing a
/// socket with unread input makes the kernel send RST, which can discard the answer before the
/// client reads it. So: no more writing, then read and drop what still comes (at most
/// [`LINGER_BYTES`], for at most [`LINGER_TIMEOUT`] per read) until the client closes.
fn linger(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER_TIMEOUT));
    let mut sink = [0u8; 16 << 10];
    let mut dropped = 0;
    while dropped < LINGER_BYTES {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => dropped += n,
        }
    }
}

/// Reads one request head (the body stays unread). `Ok(None)`: the connection closed or
/// idled out before a request began. `Err(status)`: a head too large (431), malformed
/// (400), too slow (408) or with a body framing we do not take (411).
fn read_head(
    stream: &mut TcpStream,
    buffered: &mut Vec<u8>,
) -> Result<Option<(Request, usize, bool)>, u16> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
            let (request, http11) = parse_head(&buffered[..end])?;
            buffered.drain(..end + 4);
            if request.header("transfer-encoding").is_some() {
                return Err(411);
            }
            let mut lengths = request
                .headers
                .iter()
                .filter(|(n, _)| n == "content-length")
                .map(|(_, v)| v.parse::<usize>());
            let body_length = match (lengths.next(), lengths.next()) {
                (None, _) => 0,
                (Some(Ok(n)), None) => n,
                _ => return Err(400),
            };
            let close = request
                .header("connection")
                .is_some_and(|v| v.to_ascii_lowercase().contains("close"));
            return Ok(Some((request, body_length, http11 && !close)));
        }
        if buffered.len() >= MAX_HEAD_BYTES {
            return Err(431);
        }
        // Idle between requests, then a bounded time for the rest of a head once it began.
        let timeout = if buffered.is_empty() {
            KEEP_ALIVE_IDLE
        } else {
            HEAD_TIMEOUT
        };
        let _ = stream.set_read_timeout(Some(timeout));
        let want = chunk.len().min(MAX_HEAD_BYTES - buffered.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Ok(None),
            Ok(n) => buffered.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) if buffered.is_empty() => return Ok(None),
            Err(_) => return Err(408),
        }
    }
}

/// Parses a request head (without its final blank line): `METHOD /target HTTP/1.x`, then
/// `name: value` lines, at most [`MAX_HEADERS`] (else 431). Anything else is 400: no line
/// folding, no control characters, no bare CR or LF, no spaces in a name. Returns the request
/// and whether it is HTTP/1.1.
fn parse_head(head: &[u8]) -> Result<(Request, bool), u16> {
    let text = std::str::from_utf8(head).map_err(|_| 400u16)?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) = (
        request_line.next(),
        request_line.next(),
        request_line.next(),
        request_line.next(),
    ) else {
        return Err(400);
    };
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(400),
    };
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
        || !target.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(400);
    }
    let mut headers = Vec::new();
    for line in lines {
        if headers.len() == MAX_HEADERS {
            return Err(431);
        }
        let (name, value) = line.split_once(':').ok_or(400u16)?;
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty()
            || !name.bytes().all(token)
            || value.bytes().any(|b| b.is_ascii_control() && b != b'\t')
        {
            return Err(400);
        }
        headers.push((
            name.to_ascii_lowercase(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    Ok((
        Request {
            method: method.to_string(),
            target: target.to_string(),
            headers,
            body: Vec::new(),
        },
        http11,
    ))
}

/// Reads a body of `length` bytes (at most a route's cap, checked before), starting with what
/// was read past the head.
fn read_body(
    stream: &mut TcpStream,
    buffered: &mut Vec<u8>,
    length: usize,
) -> std::io::Result<Vec<u8>> {
    let from_buffer = length.min(buffered.len());
    let mut body: Vec<u8> = buffered.drain(..from_buffer).collect();
    if body.len() < length {
        stream.set_read_timeout(Some(HEAD_TIMEOUT))?;
        let start = body.len();
        body.resize(length, 0);
        stream.read_exact(&mut body[start..])?;
    }
    Ok(body)
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        500 => "Internal Server Error",
        431 => "Request Header Fields Too Large",
        _ => "",
    }
}

fn respond(
    out: &mut BufWriter<TcpStream>,
    response: Response,
    head_only: bool,
    keep_alive: bool,
) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {} {}\r\n\
         Cross-Origin-Opener-Policy: same-origin\r\n\
         Cross-Origin-Embedder-Policy: require-corp\r\n\
         Cross-Origin-Resource-Policy: same-origin\r\n\
         Cache-Control: no-store\r\n\
         Referrer-Policy: no-referrer\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Content-Length: {}\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    )?;
    if let Some(content_type) = response.content_type {
        write!(out, "Content-Type: {content_type}\r\n")?;
    }
    if !keep_alive {
        out.write_all(b"Connection: close\r\n")?;
    }
    out.write_all(b"\r\n")?;
    if !head_only {
        out.write_all(&response.body)?;
    }
    out.flush()
}

fn handle(site: &Site, request: &mut Request, route: &str) -> Response {
    // HEAD is answered like GET (without the body).
    let method = match request.method.as_str() {
        "HEAD" => "GET",
        other => other,
    };
    match (method, route) {
        ("GET", "") => ok(assets::INDEX_HTML.to_vec(), "index.html"),
        ("GET", "page.js") => ok(assets::PAGE_JS.to_vec(), "page.js"),
        ("GET", "app.wasm") => {
            site.fetched.get_or_init(std::time::Instant::now);
            ok(site.component.clone(), "app.wasm")
        }
        ("GET", "config.json") => {
            let mode = match site.mode {
                Mode::Run => "run",
                Mode::Serve => "serve",
            };
            let body = serde_json::json!({ "mode": mode, "guest": &site.config });
            ok(body.to_string().into_bytes(), "config.json")
        }
        ("GET", path) if path.starts_with("pollscope/") => {
            let name = &path["pollscope/".len()..];
            match assets::SHIM.iter().find(|(asset, _)| *asset == name) {
                Some((_, bytes)) => ok(bytes.to_vec(), name),
                None => status(404),
            }
        }
        ("GET", path) if path.starts_with("files/") => {
            let source = path["files/".len()..]
                .parse::<usize>()
                .ok()
                .and_then(|i| site.config.file_sources.get(i));
            match source.map(|(root, path)| read_regular_file(root, path)) {
                Some(Ok(bytes)) => ok(bytes, "file"),
                _ => status(404),
            }
        }
        // `serve`'s page is its own console: no route reaches this process's terminal.
        ("GET", "stdin" | "stop") | ("POST", "output/1" | "output/2" | "exit" | "preopens")
            if site.mode == Mode::Serve =>
        {
            status(404)
        }
        // Held until `run` wants the guest ended; the page then stops it.
        ("GET", "stop") => {
            site.stop.wait();
            status(200)
        }
        ("GET", "stdin") => match site.stdin.as_ref().and_then(next_stdin) {
            Some(chunk) => ok(chunk, "stdin"),
            // A closed channel is the terminal's EOF.
            None => status(204),
        },
        ("POST", "output/1") | ("POST", "output/2") => {
            let written = if route.ends_with('1') {
                let mut out = std::io::stdout().lock();
                out.write_all(&request.body).and_then(|()| out.flush())
            } else {
                let mut err = std::io::stderr().lock();
                err.write_all(&request.body).and_then(|()| err.flush())
            };
            // A closed terminal (e.g. `| head`) is not the guest's problem.
            let _ = written;
            status(204)
        }
        // Kept for `run`, which applies it once the exit report says the guest ended.
        ("POST", "preopens") => match site.write_back.lock() {
            Ok(mut slot) => {
                *slot = Some(std::mem::take(&mut request.body));
                status(204)
            }
            Err(_) => status(500),
        },
        ("POST", "exit") => match (
            serde_json::from_slice::<Outcome>(&request.body),
            &site.outcome,
        ) {
            (Ok(outcome), Some(sender)) => {
                let _ = sender.try_send(outcome);
                status(204)
            }
            (Ok(_), None) => status(204),
            (Err(_), _) => status(400),
        },
        (
            _,
            "" | "page.js" | "app.wasm" | "config.json" | "stdin" | "stop" | "output/1"
            | "output/2" | "exit" | "preopens",
        ) => status(405),
        _ => status(404),
    }
}

/// A `--dir` file's bytes (at `path` below `root`), if it is still a regular file: not
/// through a symbolic link put in its place or on its way since it was listed (a walk from the
/// `--dir` with `O_NOFOLLOW`, `crate::below`), and never a FIFO or device that would block or
/// never end.
fn read_regular_file(root: &Path, path: &str) -> std::io::Result<Vec<u8>> {
    let mut file = crate::below::open_file(root, path)?;
    let meta = file.metadata()?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
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

#[cfg(test)]
mod tests {
    //! The gate and the caps against the real server (`run` mode), over raw TCP: exactly the
    //! bytes a browser or an attacker would send.

    use super::*;
    use std::sync::mpsc::sync_channel;

    struct Running {
        /// `127.0.0.1:PORT`.
        addr: String,
        /// `/<token>/`.
        prefix: String,
        stdin: SyncSender<Vec<u8>>,
        outcome: Receiver<Outcome>,
        site: Arc<Site>,
    }

    fn start_run_server() -> Running {
        let (stdin, stdin_rx) = sync_channel(8);
        let (outcome_tx, outcome) = sync_channel(1);
        let site = Arc::new(Site {
            mode: Mode::Run,
            component: b"\0asm component bytes".to_vec(),
            config: GuestConfig {
                args: vec!["app.wasm".into()],
                ..GuestConfig::default()
            },
            stdin: Some(Mutex::new(stdin_rx)),
            outcome: Some(outcome_tx),
            write_back: Mutex::default(),
            fetched: Default::default(),
            stop: Default::default(),
        });
        let url = start(Arc::clone(&site), 0).unwrap();
        let rest = url.strip_prefix("http://").unwrap();
        let (addr, prefix) = rest.split_at(rest.find('/').unwrap());
        Running {
            addr: addr.into(),
            prefix: prefix.into(),
            stdin,
            outcome,
            site,
        }
    }

    /// Sends `request` as is and returns the status code and body of the answer (the server
    /// closes the connection: every request here says `Connection: close` or is refused).
    fn exchange(addr: &str, request: &[u8]) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // A refused request may be answered (and the connection closed) before all of it is
        // written.
        let _ = stream.write_all(request);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        let code = text
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let body = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|at| answer[at + 4..].to_vec())
            .unwrap_or_default();
        (code, body)
    }

    fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut out = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn the_token_is_128_random_bits() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_page_and_its_assets_need_the_token() {
        let server = start_run_server();
        let host = [("Host", server.addr.as_str())];
        let get = |path: &str| exchange(&server.addr, &request("GET", path, &host, b""));
        assert_eq!(get(&server.prefix).0, 200);
        assert_eq!(get(&format!("{}app.wasm", server.prefix)).0, 200);
        for path in [
            "/",
            "/app.wasm",
            "/config.json",
            "/stdin",
            "/pollscope/pollscope.js",
        ] {
            assert_eq!(get(path).0, 403, "{path}");
        }
        // One wrong digit, a token cut short, the token's own value without its slash.
        let mut wrong = server.prefix.clone().into_bytes();
        wrong[5] = if wrong[5] == b'0' { b'1' } else { b'0' };
        let wrong = String::from_utf8(wrong).unwrap();
        let short = &server.prefix[..server.prefix.len() - 2];
        for path in [format!("{wrong}app.wasm"), format!("{short}/app.wasm")] {
            assert_eq!(get(&path).0, 403, "{path}");
        }
        let (_, body) = get("/app.wasm");
        assert!(String::from_utf8_lossy(&body).contains("token"));
    }

    #[test]
    fn only_the_bound_address_is_a_host() {
        let server = start_run_server();
        let port = server.addr.rsplit(':').next().unwrap();
        let path = format!("{}app.wasm", server.prefix);
        let with_host =
            |host: &str| exchange(&server.addr, &request("GET", &path, &[("Host", host)], b"")).0;
        assert_eq!(with_host(&server.addr), 200);
        assert_eq!(with_host(&format!("localhost:{port}")), 200);
        assert_eq!(with_host(&format!("LOCALHOST:{port}")), 200);
        // DNS rebinding: the attacker's name now resolves to 127.0.0.1.
        assert_eq!(with_host(&format!("attacker.example:{port}")), 400);
        assert_eq!(with_host("127.0.0.1"), 400);
        assert_eq!(with_host("127.0.0.1:1"), 400);
        // No Host, and two of them.
        assert_eq!(
            exchange(&server.addr, &request("GET", &path, &[], b"")).0,
            400
        );
        let two = [("Host", server.addr.as_str()), ("Host", "attacker.example")];
        assert_eq!(
            exchange(&server.addr, &request("GET", &path, &two, b"")).0,
            400
        );
    }

    #[test]
    fn state_changing_routes_take_only_their_own_origin() {
        let server = start_run_server();
        let own = format!("http://{}", server.addr);
        let exit = format!("{}exit", server.prefix);
        let report = br#"{"code":0,"trap":null,"error":null}"#;
        let post = |headers: &[(&str, &str)]| {
            let mut all = vec![("Host", server.addr.as_str())];
            all.extend_from_slice(headers);
            exchange(&server.addr, &request("POST", &exit, &all, report)).0
        };
        // Another page on the same machine (same site, another port), a foreign site, an
        // opaque origin, no Origin at all: refused, and nothing reaches the terminal side.
        let other_port = format!("http://127.0.0.1:{}", 1);
        for headers in [
            vec![
                ("Origin", other_port.as_str()),
                ("Sec-Fetch-Site", "same-site"),
            ],
            vec![
                ("Origin", "http://attacker.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ],
            vec![("Origin", "null")],
            vec![],
            vec![("Origin", own.as_str()), ("Sec-Fetch-Site", "cross-site")],
        ] {
            assert_eq!(post(&headers), 403, "{headers:?}");
            assert!(
                server.outcome.try_recv().is_err(),
                "{headers:?} got through"
            );
        }
        // What Chromium sends for the page's own fetch(…, {method: "POST"}).
        assert_eq!(
            post(&[("Origin", own.as_str()), ("Sec-Fetch-Site", "same-origin")]),
            204
        );
        assert_eq!(server.outcome.try_recv().unwrap().code, 0);

        // Taking stdin: a cross-origin no-cors GET carries no Origin, but Sec-Fetch-Site.
        server.stdin.send(b"secret line\n".to_vec()).unwrap();
        let stdin = format!("{}stdin", server.prefix);
        let get = |headers: &[(&str, &str)]| {
            let mut all = vec![("Host", server.addr.as_str())];
            all.extend_from_slice(headers);
            exchange(&server.addr, &request("GET", &stdin, &all, b""))
        };
        assert_eq!(get(&[("Origin", "http://attacker.example")]).0, 403);
        assert_eq!(get(&[("Sec-Fetch-Site", "cross-site")]).0, 403);
        assert_eq!(get(&[("Sec-Fetch-Site", "same-site")]).0, 403);
        // The page's own fetch: no Origin (same-origin GET), Sec-Fetch-Site same-origin.
        let (code, body) = get(&[("Sec-Fetch-Site", "same-origin")]);
        assert_eq!((code, body.as_slice()), (200, &b"secret line\n"[..]));
    }

    /// The write-back route keeps what the page's own worker posts, and nothing from anyone else.
    #[test]
    fn the_write_back_is_kept_only_from_the_page() {
        let server = start_run_server();
        let own = format!("http://{}", server.addr);
        let path = format!("{}preopens", server.prefix);
        let post = |origin: &str, body: &[u8]| {
            let headers = [("Host", server.addr.as_str()), ("Origin", origin)];
            exchange(&server.addr, &request("POST", &path, &headers, body)).0
        };
        assert_eq!(post("http://attacker.example", b"forged"), 403);
        assert!(server.site.write_back.lock().unwrap().is_none());
        assert_eq!(post(&own, b"PSPX trees"), 204);
        assert_eq!(
            server.site.write_back.lock().unwrap().as_deref(),
            Some(&b"PSPX trees"[..])
        );
    }

    #[test]
    fn heads_and_bodies_are_capped() {
        let server = start_run_server();
        let own = format!("http://{}", server.addr);
        let host = ("Host", server.addr.as_str());
        let origin = ("Origin", own.as_str());
        let output = format!("{}output/1", server.prefix);
        let big = "x".repeat(MAX_HEAD_BYTES);
        assert_eq!(
            exchange(
                &server.addr,
                &request("GET", &server.prefix, &[host, ("X-Big", &big)], b"")
            )
            .0,
            431
        );
        let many: Vec<(String, String)> = (0..=MAX_HEADERS)
            .map(|i| (format!("X-{i}"), "1".into()))
            .collect();
        let mut headers = vec![host];
        headers.extend(many.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        assert_eq!(
            exchange(&server.addr, &request("GET", &server.prefix, &headers, b"")).0,
            431
        );
        // Announced too large: refused before a byte of it is read.
        let head = format!(
            "POST {output} HTTP/1.1\r\nHost: {}\r\nOrigin: {own}\r\nContent-Length: {}\r\n\r\n",
            server.addr,
            MAX_OUTPUT_BODY + 1
        );
        assert_eq!(exchange(&server.addr, head.as_bytes()).0, 413);
        let chunked = format!(
            "POST {output} HTTP/1.1\r\nHost: {}\r\nOrigin: {own}\r\n\
             Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            server.addr
        );
        assert_eq!(exchange(&server.addr, chunked.as_bytes()).0, 411);
        let exit = format!("{}exit", server.prefix);
        let huge = vec![b' '; MAX_EXIT_BODY + 1];
        assert_eq!(
            exchange(
                &server.addr,
                &request("POST", &exit, &[host, origin], &huge)
            )
            .0,
            413
        );
        assert!(server.outcome.try_recv().is_err());
        for garbage in [
            &b"GET /x\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost a\r\n\r\n",
            b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        ] {
            assert_eq!(exchange(&server.addr, garbage).0, 400, "{garbage:?}");
        }
    }

    /// A flood of idle connections takes the workers and the backlog, and what comes after is
    /// answered 503 at once, not given a thread.
    #[test]
    fn connections_beyond_the_workers_and_backlog_are_turned_away() {
        let server = start_run_server();
        let mut idle: Vec<TcpStream> = Vec::new();
        for _ in 0..WORKERS + BACKLOG + 8 {
            idle.push(TcpStream::connect(&server.addr).unwrap());
        }
        let mut last = idle.pop().unwrap();
        last.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut answer = String::new();
        let _ = last.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    }

    /// A `--dir` file is read below its directory: not through a link put on its way after
    /// it was listed, nor a FIFO in its place.
    #[test]
    fn dir_files_are_read_only_below_their_dir() {
        let base = std::env::temp_dir().join(format!("pollscope-server-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("data/f.txt"), "inside").unwrap();
        std::fs::write(outside.join("f.txt"), "outside").unwrap();
        assert_eq!(read_regular_file(&root, "data/f.txt").unwrap(), b"inside");
        std::fs::remove_dir_all(root.join("data")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("data")).unwrap();
        assert!(read_regular_file(&root, "data/f.txt").is_err());
        let fifo =
            std::ffi::CString::new(root.join("pipe").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(read_regular_file(&root, "pipe").is_err());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn changes_state_names_the_routes_that_do() {
        assert!(changes_state("POST", "output/1"));
        assert!(changes_state("POST", "exit"));
        assert!(changes_state("POST", "preopens"));
        assert!(changes_state("GET", "stdin"));
        assert!(changes_state("GET", "stop"));
        assert!(changes_state("PUT", "app.wasm"));
        assert!(!changes_state("GET", "app.wasm"));
        assert!(!changes_state("HEAD", ""));
    }
}
