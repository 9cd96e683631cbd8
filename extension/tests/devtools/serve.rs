//! `pollscope serve <guest>` for the browser to open, and the guests it serves.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("extension/ is in the repository")
}

/// The built `.wasm` of guest `name` (`cargo xtask build` / `cargo xtask test` build them).
pub fn guest(name: &str) -> Result<PathBuf> {
    let path = root().join(format!("guests/target/wasm32-wasip2/release/{name}.wasm"));
    if !path.is_file() {
        bail!(
            "guest {} is not built: run `cargo build --release --target wasm32-wasip2 \
             --manifest-path guests/Cargo.toml` (`cargo xtask test` does)",
            path.display()
        );
    }
    Ok(path)
}

/// A running `pollscope serve`, killed when dropped.
pub struct Served {
    child: Child,
    /// The page's URL, e.g. `http://127.0.0.1:41234/`.
    pub url: String,
}

impl Served {
    /// Serves `wasm` with `args` on a free port.
    pub fn start(wasm: &Path, args: &[&str]) -> Result<Served> {
        let mut child = Command::new(pollscope_binary()?)
            .args(["serve", "--port", "0"])
            .arg(wasm)
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting pollscope serve")?;
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

/// The `pollscope` binary, built once per test run by cargo (it embeds `target/web`).
fn pollscope_binary() -> Result<PathBuf> {
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
        .current_dir(root())
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
