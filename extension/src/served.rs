//! A running `pollscope serve`, for browser tests that open the page it serves.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

/// `pollscope serve` on a free port, killed when dropped.
///
/// Callers start it with `pollscope::lifetime::spawn_tied` (this crate's library half does not
/// depend on `pollscope`), so it also ends when the test binary is killed.
pub struct Served {
    child: Child,
    /// The page's URL, e.g. `http://127.0.0.1:41234/`.
    pub url: String,
}

impl Served {
    /// Runs `pollscope` (the binary at `pollscope`) as `serve --port 0 <wasm> -- <args>`,
    /// started by `spawn`, and waits for the URL it prints.
    pub fn start(
        spawn: impl FnOnce(Command) -> std::io::Result<Child>,
        pollscope: &Path,
        wasm: &Path,
        args: &[&str],
    ) -> Result<Served> {
        let mut command = Command::new(pollscope);
        command
            .args(["serve", "--port", "0"])
            .arg(wasm)
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(command).context("starting pollscope serve")?;
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
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
