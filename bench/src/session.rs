//! One benchmark session: a local server with the cross-origin isolation headers, headless
//! Chromium on the benchmark page, and the measurements the page posts back.
//!
//! The server hands out the harness's own pages (`bench/pages/`, embedded), the shim and loader
//! from `target/web`, the ring probes from the bench's own shim (`target/bench/shim`, read from disk at each request, so a fresh `cargo xtask build` is picked
//! up), guest components, and `/config.json` (what to run). The page answers with
//! `POST /result` (one measurement), `POST /mark` (sample worker CPU now), and finally
//! `POST /done` or `POST /error`.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use pollscope_test_support::browser::{self, Browser};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tiny_http::{Header, Method, Request, Response, Server};

use pollscope_test_support::procfs::{self, ThreadCpu};

/// The harness's pages, embedded so the binary runs from anywhere.
const PAGES: &[(&str, &[u8])] = &[
    ("index.html", include_bytes!("../pages/index.html")),
    ("bench.js", include_bytes!("../pages/bench.js")),
    ("js-ring.js", include_bytes!("../pages/js-ring.js")),
    ("ring-worker.js", include_bytes!("../pages/ring-worker.js")),
    (
        "sleep-worker.js",
        include_bytes!("../pages/sleep-worker.js"),
    ),
    ("jco-worker.js", include_bytes!("../pages/jco-worker.js")),
    (
        "instantiate.html",
        include_bytes!("../pages/instantiate.html"),
    ),
    (
        "floor-worker.js",
        include_bytes!("../pages/floor-worker.js"),
    ),
];

/// Where `@bytecodealliance/preview2-shim`'s browser build is, under the jco npm prefix.
pub const JCO_SHIM: &str = "node_modules/@bytecodealliance/preview2-shim/dist/browser";

/// What `cargo xtask build` puts in `target/web` and the pages load.
const SHIM_FILES: &[&str] = &[
    "pollscope_shim.js",
    "pollscope_shim_bg.wasm",
    "pollscope_shim_tinygo.js",
    "pollscope_shim_tinygo_bg.wasm",
    "pollscope.js",
    "wasm-worker.js",
    "wasm-thread.js",
    "event-worker.js",
    "agent.js",
];

/// What `cargo xtask bench` and `cargo xtask test` put in `target/bench/shim` for the ring rows.
const BENCH_SHIM_FILES: &[&str] = &["pollscope_shim_bench.js", "pollscope_shim_bench_bg.wasm"];

/// Where things are and how long a session may take.
#[derive(Debug, Clone)]
pub struct Options {
    /// The browser assets (`target/web`).
    pub web_dir: PathBuf,
    /// The bench's own shim with the `ring_probe_*` exports (`target/bench/shim`).
    pub bench_shim_dir: PathBuf,
    /// Built guests (`guests/target/wasm32-wasip2/release`).
    pub guests_dir: PathBuf,
    /// Chromium; `None` finds it on PATH.
    pub browser: Option<PathBuf>,
    /// A session still running after this is a hang, and fails.
    pub timeout: Duration,
    /// The jco peer: the npm prefix holding `@bytecodealliance/preview2-shim` and, under `out/`,
    /// the transpiled guests (`out/<mode>/<guest>/`); `None` runs without it.
    pub jco_dir: Option<PathBuf>,
}

/// The repository this crate lives in.
pub use pollscope_test_support::repo_root;

impl Options {
    /// The repository's own `target/web` and guest build folder.
    pub fn for_repo() -> Options {
        let root = repo_root();
        Options {
            web_dir: root.join("target/web"),
            bench_shim_dir: root.join("target/bench/shim"),
            guests_dir: root.join("guests/target/wasm32-wasip2/release"),
            browser: None,
            timeout: Duration::from_secs(600),
            jco_dir: None,
        }
    }

    /// Fails with what to run when the browser assets are missing.
    pub fn check_web_dir(&self) -> Result<()> {
        let missing: Vec<&str> = SHIM_FILES
            .iter()
            .copied()
            .filter(|name| !self.web_dir.join(name).is_file())
            .collect();
        if !missing.is_empty() {
            bail!(
                "the browser assets are missing from {} ({}): build them with `cargo xtask build`",
                self.web_dir.display(),
                missing.join(", ")
            );
        }
        Ok(())
    }

    /// Fails with what to run when the bench's own shim (the ring rows') is missing.
    pub fn check_bench_shim(&self) -> Result<()> {
        for name in BENCH_SHIM_FILES {
            if !self.bench_shim_dir.join(name).is_file() {
                bail!(
                    "{} is missing: the ring rows need the shim built with `--features bench` \
                     (`cargo xtask bench ring` builds it)",
                    self.bench_shim_dir.join(name).display()
                );
            }
        }
        Ok(())
    }

    /// Fails with what to run when guest `name` is not built.
    pub fn check_guest(&self, name: &str) -> Result<()> {
        let path = self.guests_dir.join(format!("{name}.wasm"));
        if !path.is_file() {
            bail!(
                "guest {} is not built: run `cargo build --release --target wasm32-wasip2 \
                 --manifest-path guests/Cargo.toml` (or `cargo xtask bench`, which does)",
                path.display()
            );
        }
        Ok(())
    }
}

/// One measurement the page posted.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Measurement {
    /// Which row of the benchmark (`sleep`, `ring-throughput`, `stress`, …).
    pub row: String,
    /// Which variant of the row (`guest`, `baseline`, `rust/256`, …).
    pub variant: String,
    /// Repetition; below zero is warm-up.
    pub rep: i64,
    /// The figures, as the page measured them.
    pub data: Value,
}

/// Worker threads' CPU, sampled when the page said a phase started or ended.
#[derive(Debug, Clone)]
pub struct Mark {
    /// What the phase belongs to, e.g. `sleep/guest/3`.
    pub key: String,
    /// `start` or `end`.
    pub phase: String,
    /// When the sample was taken.
    pub at: Instant,
    /// Every worker thread of the session's Chromium, then.
    pub threads: Vec<ThreadCpu>,
    /// `(pid, VmRSS in KiB)` of every process of the session's Chromium, then.
    pub rss_kib: Vec<(u32, u64)>,
}

impl Mark {
    /// Resident memory of the processes running worker threads (the page's renderer, which
    /// hosts the page and its workers), in KiB.
    pub fn renderer_rss_kib(&self) -> u64 {
        let pids: std::collections::BTreeSet<u32> = self.threads.iter().map(|t| t.pid).collect();
        self.rss_kib
            .iter()
            .filter(|(pid, _)| pids.contains(pid))
            .map(|(_, kib)| kib)
            .sum()
    }
}

/// `VmRSS` of `pid` in KiB (`/proc/PID/status`), if it still runs.
fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Everything a finished session produced.
#[derive(Debug)]
pub struct Outcome {
    /// Measurements in the order they arrived.
    pub results: Vec<Measurement>,
    /// CPU samples in the order they were taken.
    pub marks: Vec<Mark>,
    /// From Chromium's start to the page's `done`.
    pub wall: Duration,
}

impl Outcome {
    /// The non-warm-up measurements of `row`, in order.
    pub fn of<'a>(&'a self, row: &'a str) -> impl Iterator<Item = &'a Measurement> + 'a {
        self.results
            .iter()
            .filter(move |m| m.row == row && m.rep >= 0)
    }

    /// The CPU sample for `key` at `phase`, if the page asked for one.
    pub fn mark(&self, key: &str, phase: &str) -> Option<&Mark> {
        self.marks.iter().find(|m| m.key == key && m.phase == phase)
    }
}

enum End {
    Done,
    Failed(String),
}

struct Site {
    config: Vec<u8>,
    web_dir: PathBuf,
    bench_shim_dir: PathBuf,
    guests_dir: PathBuf,
    jco_dir: Option<PathBuf>,
    chromium: OnceLock<u32>,
    results: Mutex<Vec<Measurement>>,
    marks: Mutex<Vec<Mark>>,
    end: Mutex<Sender<End>>,
}

/// Serves the page with `config` as `/config.json`, runs it in headless Chromium and returns
/// what it measured. Fails when the page reports an error, Chromium dies, or `options.timeout`
/// passes.
pub fn run(options: &Options, config: &Value) -> Result<Outcome> {
    options.check_web_dir()?;
    let binary = browser::find(options.browser.clone())?;
    let (end_tx, end_rx) = mpsc::channel();
    let site = Arc::new(Site {
        config: serde_json::to_vec(config)?,
        web_dir: options.web_dir.clone(),
        bench_shim_dir: options.bench_shim_dir.clone(),
        guests_dir: options.guests_dir.clone(),
        jco_dir: options.jco_dir.clone(),
        chromium: OnceLock::new(),
        results: Mutex::new(Vec::new()),
        marks: Mutex::new(Vec::new()),
        end: Mutex::new(end_tx),
    });
    // TCP_NODELAY, as `pollscope serve`: tiny_http writes head and body apart, and Nagle against
    // Chromium's delayed ACK held every response under 64 KiB back 40 ms (jco's and ours alike).
    let server = Server::from_listener(pollscope_test_support::loopback::listener(0)?, None)
        .map_err(|err| anyhow!("serving 127.0.0.1: {err}"))?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|addr| addr.port())
        .ok_or_else(|| anyhow!("the server has no TCP port"))?;
    let server = Arc::new(server);
    {
        let (server, site) = (Arc::clone(&server), Arc::clone(&site));
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let site = Arc::clone(&site);
                std::thread::spawn(move || handle(&site, request));
            }
        });
    }

    let started = Instant::now();
    let mut chromium = Browser::open(&binary, &format!("http://127.0.0.1:{port}/"))?;
    let _ = site.chromium.set(chromium.pid());
    let outcome = loop {
        match end_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(End::Done) => break Ok(()),
            Ok(End::Failed(message)) => break Err(anyhow!("the benchmark page failed: {message}")),
            Err(RecvTimeoutError::Timeout) if chromium.has_exited() => {
                break Err(anyhow!(
                    "Chromium exited before the page finished\n{}",
                    chromium.log_tail()
                ))
            }
            Err(RecvTimeoutError::Timeout) if started.elapsed() > options.timeout => {
                break Err(anyhow!(
                    "the page did not finish within {:?} (a hang)\n{}",
                    options.timeout,
                    chromium.log_tail()
                ))
            }
            Err(_) => continue,
        }
    };
    let wall = started.elapsed();
    drop(chromium);
    server.unblock();
    outcome?;
    let results = std::mem::take(&mut *site.results.lock().unwrap_or_else(|e| e.into_inner()));
    let marks = std::mem::take(&mut *site.marks.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Outcome {
        results,
        marks,
        wall,
    })
}

#[derive(Deserialize)]
struct MarkRequest {
    key: String,
    phase: String,
}

#[derive(Deserialize)]
struct ErrorReport {
    message: String,
}

fn handle(site: &Site, mut request: Request) {
    let url = request.url().split('?').next().unwrap_or("/").to_string();
    let mut body = Vec::new();
    if *request.method() == Method::Post {
        let _ = request.as_reader().read_to_end(&mut body);
    }
    let response = match (request.method(), url.as_str()) {
        (Method::Get, "/") => page("index.html"),
        (Method::Get, "/config.json") => ok(site.config.clone(), "config.json"),
        (Method::Get, path) if path.starts_with("/bench/") => page(&path["/bench/".len()..]),
        (Method::Get, path) if path.starts_with("/pollscope/") => {
            file(&site.web_dir, &path["/pollscope/".len()..])
        }
        (Method::Get, path) if path.starts_with("/bench-shim/") => {
            file(&site.bench_shim_dir, &path["/bench-shim/".len()..])
        }
        (Method::Get, path) if path.starts_with("/guests/") => {
            file(&site.guests_dir, &path["/guests/".len()..])
        }
        (Method::Get, path) if path.starts_with("/jco-shim/") => match &site.jco_dir {
            Some(dir) => file(&dir.join(JCO_SHIM), &path["/jco-shim/".len()..]),
            None => status(404),
        },
        (Method::Get, path) if path.starts_with("/jco/") => {
            // /jco/<mode>/<guest>/<file>: one folder per mode and guest, no deeper.
            let parts: Vec<&str> = path["/jco/".len()..].split('/').collect();
            match (&site.jco_dir, parts.as_slice()) {
                (Some(dir), &[mode, guest, name])
                    if [mode, guest]
                        .iter()
                        .all(|p| !p.is_empty() && !p.starts_with('.')) =>
                {
                    file(&dir.join("out").join(mode).join(guest), name)
                }
                _ => status(404),
            }
        }
        (Method::Post, "/result") => match serde_json::from_slice::<Measurement>(&body) {
            Ok(m) => {
                lock(&site.results).push(m);
                status(204)
            }
            Err(_) => status(400),
        },
        (Method::Post, "/mark") => match serde_json::from_slice::<MarkRequest>(&body) {
            Ok(MarkRequest { key, phase }) => {
                let threads = site
                    .chromium
                    .get()
                    .map(|&pid| procfs::worker_threads(pid))
                    .unwrap_or_default();
                let rss_kib = site
                    .chromium
                    .get()
                    .map(|&pid| {
                        procfs::family(pid)
                            .into_iter()
                            .filter_map(|p| Some((p, rss_kib(p)?)))
                            .collect()
                    })
                    .unwrap_or_default();
                lock(&site.marks).push(Mark {
                    key,
                    phase,
                    at: Instant::now(),
                    threads,
                    rss_kib,
                });
                status(204)
            }
            Err(_) => status(400),
        },
        (Method::Post, "/done") => {
            let _ = lock(&site.end).send(End::Done);
            status(204)
        }
        (Method::Post, "/error") => {
            let message = serde_json::from_slice::<ErrorReport>(&body)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            let _ = lock(&site.end).send(End::Failed(message));
            status(204)
        }
        _ => status(404),
    };
    let _ = request.respond(response);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn page(name: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    match PAGES.iter().find(|(page, _)| *page == name) {
        Some((_, bytes)) => ok(bytes.to_vec(), name),
        None => status(404),
    }
}

/// A file directly inside `dir` (no subfolders, no `..`).
fn file(dir: &Path, name: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    if name.is_empty() || name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return status(404);
    }
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => ok(bytes, name),
        Err(_) => status(404),
    }
}

/// Every response carries what `SharedArrayBuffer` and `Atomics.wait` in workers need.
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

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn ok(body: Vec<u8>, name: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut response =
        Response::from_data(body).with_header(header("Content-Type", content_type(name)));
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
