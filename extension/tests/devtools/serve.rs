//! `pollscope serve <guest>` for the browser to open, and the guests it serves.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use pollscope_extension::served::Served;
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

/// `pollscope serve` of `wasm` with `args` on a free port.
pub fn serve(wasm: &Path, args: &[&str]) -> Result<Served> {
    Served::start(
        pollscope::lifetime::spawn_tied,
        &pollscope_binary()?,
        wasm,
        args,
    )
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
