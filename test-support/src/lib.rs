//! What Pollscope's browser tests (`cli/tests/e2e`, `extension/tests`) and the benchmark
//! harness (`bench/`) share for driving a browser.
//!
//! - [`cdp`]: a small raw Chrome DevTools Protocol client, also for DevTools windows and
//!   extension pages (Playwright and chromiumoxide cannot reach those); with [`dom`]'s helpers
//!   it reads and clicks `data-testid` elements and takes screenshots.
//! - [`chromium`]: headless Chromium with its DevTools protocol open and a connection to it.
//! - [`served`]: a running `pollscope serve`, and the page it serves open in Chromium.
//! - [`tinygo`]: what the TinyGo-shaped fixture does, as the panel shows it.
//! - [`browser`], [`lifetime`], [`procfs`], [`loopback`]: the `pollscope` command's own
//!   Chromium launcher, tied child processes, `/proc` readers and loopback listener,
//!   re-exported so that every test starts Chromium (and ends it, with its profile) and serves
//!   pages exactly as `pollscope run` does.
//!
//! This crate depends on the `pollscope` library; `pollscope`'s integration tests use this
//! crate as a dev-dependency, which Cargo builds against the same `pollscope` library (a
//! test-support crate's usual shape, like `serde_test`). The DevTools extension's crate only
//! needs it for its tests, so the extension and the command no longer depend on each other.

pub mod cdp;
pub mod chromium;
pub mod dom;
pub mod served;
pub mod tinygo;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};
pub use pollscope::{browser, lifetime, loopback, procfs};

/// The repository root.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support/ lives in the repository")
}

/// The built `.wasm` of guest `name` (`guests/src/bin/<name>.rs`); fails with how to build it
/// when it is missing (`cargo xtask build` and `cargo xtask test` build the guests).
pub fn built_guest(name: &str) -> Result<PathBuf> {
    let path = repo_root().join(format!("guests/target/wasm32-wasip2/release/{name}.wasm"));
    if !path.is_file() {
        bail!(
            "guest {} is not built: run `cargo build --release --target wasm32-wasip2 \
             --manifest-path guests/Cargo.toml` (`cargo xtask test` does)",
            path.display()
        );
    }
    Ok(path)
}

/// Runs `script` (an ES module) with Node from `dir` (imports resolve from there); returns its
/// stdout, panicking with Node's stderr when it fails. For tests of the project's own JS.
pub fn node_module(script: &str, dir: &Path) -> String {
    let output = Command::new("node")
        .args(["--input-type=module", "-e", script])
        .current_dir(dir)
        .output()
        .expect("node is installed (Debian's nodejs: `cargo xtask test` installs it)");
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every entry below `dir`, sorted: `name/` for directories, `name -> target` for symbolic
/// links (never followed), `name = "contents"` for files: what a test compares a host
/// directory with after a guest (or the write-back) changed it.
pub fn dir_listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let entry = entry.unwrap();
            let rel = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                let target = std::fs::read_link(entry.path()).unwrap();
                out.push(format!("{rel} -> {}", target.display()));
            } else if kind.is_dir() {
                out.push(format!("{rel}/"));
                pending.push(entry.path());
            } else {
                let contents = std::fs::read_to_string(entry.path()).unwrap();
                out.push(format!("{rel} = {contents:?}"));
            }
        }
    }
    out.sort();
    out
}
