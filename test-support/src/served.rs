//! A running `pollscope serve`, and the page it serves open in Chromium.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::chromium::Chromium;
use crate::lifetime::spawn_tied;
use crate::repo_root;

/// `pollscope serve` on a free port, killed when dropped, and also when the test binary ends
/// in any way (started with [`spawn_tied`]).
pub struct Served {
    child: Child,
    /// The page's URL, e.g. `http://127.0.0.1:41234/`.
    pub url: String,
}

impl Served {
    /// Runs `pollscope` (the binary at `pollscope`: `CARGO_BIN_EXE_pollscope` in the command's
    /// own tests, else [`pollscope_binary`]) as `serve --port 0 <wasm> -- <args>` and waits for
    /// the URL it prints.
    pub fn start(pollscope: &Path, wasm: &Path, args: &[&str]) -> Result<Served> {
        let mut command = Command::new(pollscope);
        command
            .args(["serve", "--port", "0"])
            .arg(wasm)
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_tied(command).context("starting pollscope serve")?;
        // Its stdout is read to the end (by a thread), so the server never writes to a closed
        // pipe; the first line names the URL.
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut first = String::new();
        stdout.read_line(&mut first)?;
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let Some(url) = first.split(" at ").nth(1).map(|url| url.trim().to_string()) else {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            let _ = child.wait();
            bail!("pollscope serve printed no URL: {first:?}\n{stderr}");
        };
        // The same for stderr.
        if let Some(mut pipe) = child.stderr.take() {
            std::thread::spawn(move || std::io::copy(&mut pipe, &mut std::io::sink()));
        }
        Ok(Served { child, url })
    }

    /// The page at [`Served::url`] followed by `query` (e.g. `?panel=off`), open in headless
    /// Chromium started with `extra` flags, with a CDP session on it; `timeout` bounds
    /// Chromium's start.
    pub fn open(self, query: &str, extra: &[String], timeout: Duration) -> Result<ServedPage> {
        let mut chromium = Chromium::start(&format!("{}{query}", self.url), extra, timeout)?;
        let page = chromium.page_target(&self.url)?;
        let session = chromium.cdp.attach(&page)?;
        Ok(ServedPage {
            chromium,
            session,
            served: self,
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `pollscope serve` page open in Chromium ([`Served::open`]).
pub struct ServedPage {
    // Field order is drop order: the browser (its connection first), then the server.
    /// The browser, with its connection.
    pub chromium: Chromium,
    /// The CDP session on the served page.
    pub session: String,
    /// The server.
    pub served: Served,
}

impl ServedPage {
    /// Evaluates `expression` in the page (awaiting a promise).
    pub fn eval(&mut self, expression: &str) -> Result<Value> {
        self.chromium.cdp.evaluate(&self.session, expression)
    }

    /// The trimmed text of every element with `data-testid` `testid`, in document order.
    pub fn texts(&mut self, testid: &str) -> Result<Vec<String>> {
        self.chromium.cdp.texts(&self.session, testid)
    }

    /// The text of the first element with `testid` (empty when there is none).
    pub fn first(&mut self, testid: &str) -> Result<String> {
        Ok(self.texts(testid)?.into_iter().next().unwrap_or_default())
    }

    /// Clicks the first element with `testid`.
    pub fn click(&mut self, testid: &str) -> Result<()> {
        self.chromium.cdp.click(&self.session, testid)
    }

    /// Saves a PNG of the page at `path`.
    pub fn screenshot(&mut self, path: &Path) -> Result<()> {
        self.chromium.cdp.screenshot(&self.session, None, path)
    }

    /// The tail of Chromium's own log, for failure messages.
    pub fn log_tail(&self) -> String {
        self.chromium.log_tail()
    }
}

/// The `pollscope` binary, built by cargo once per test binary (it embeds `target/web`), for
/// crates whose tests have no `CARGO_BIN_EXE_pollscope`.
pub fn pollscope_binary() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_pollscope().map_err(|err| format!("{err:#}")))
        .clone()
        .map_err(|err| anyhow!(err))
}

fn build_pollscope() -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--locked",
            "--package",
            "pollscope",
            "--bin",
            "pollscope",
            "--message-format=json",
        ])
        .current_dir(repo_root())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build for pollscope")?;
    if !output.status.success() {
        bail!("building pollscope failed ({})", output.status);
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|message| {
            (message["target"]["name"] == "pollscope")
                .then(|| message["executable"].as_str().map(PathBuf::from))
                .flatten()
        })
        .ok_or_else(|| anyhow!("cargo built no pollscope executable"))
}
