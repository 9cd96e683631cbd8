//! `cargo xtask <command>`: the build pipeline as code.
//!
//! - `demo`    build everything and serve the demo guest (the README's first command)
//! - `test`    install what is missing, build, lint, run every test (the README's second command)
//! - `build`   build the browser assets (shim wasm + JS) into `target/web`
//! - `install` build the assets, then `cargo install` the `pollscope` binary with them embedded
//! - `setup`   only install prerequisites (rustup targets, Debian's chromium)
//! - `bench`   build in release, run the browser benchmarks, write docs/BENCHMARKS.md
//! - `fixtures` build the TinyGo-shaped test components into target/fixtures
//! - `pack`    build, then zip the DevTools extension for Chrome and Firefox into target/pack,
//!   beside the npm package of the loader and shim (`pollscope-<version>.tgz`)
//! - `fuzz`    run the cargo-fuzz targets in `fuzz/` (`--seconds N`, default 60; `--merge`; names)

mod bench;
mod build;
mod fixtures;
mod fuzz;
mod pack;
mod panel;
mod setup;
mod test;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::all().and_then(|()| setup::extension_test_tools()),
        Some("build") => setup::rust_targets().and_then(|()| build::web_assets()),
        Some("test") => test::all(&args[1..]),
        Some("demo") => demo(),
        Some("install") => install(),
        Some("bench") => bench::all(&args[1..]),
        Some("fixtures") => fixtures::build().map(|_| ()),
        Some("pack") => pack::all(),
        Some("fuzz") => fuzz::command(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|test|build|install|setup|bench|fixtures|pack|fuzz>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs `cmd`, failing with its command line when it does not succeed.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// `cargo` as the one running us, in the repository root.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn demo() -> Result<()> {
    setup::all()?;
    build::web_assets()?;
    let demo = build::guests()?.join("io_ticker.wasm");
    let tinygo = fixtures::build()?.join("tinygo_sleepers.wasm");
    println!(
        "\nServing the demo guest (a ticker that echoes stdin). Open the printed URL in \
         Chromium or Firefox: the page shows the Pollscope panel beside its console.\n\
         \n\
         The DevTools extension: chrome://extensions → Developer mode → Load unpacked → {root}\n\
         (Firefox: about:debugging → This Firefox → Load Temporary Add-on → {root}/manifest.json),\n\
         then DevTools on the page → Pollscope.\n\
         \n\
         For the Goroutines and Asyncify views, serve the TinyGo-shaped program in another shell\n\
         (set the time scale to 0.1× and press Restart to watch its sleeps; Record task switches\n\
         for the asyncify flow):\n  \
         cargo run --release -p pollscope -- serve --port 8001 {tinygo}\n",
        root = root().display(),
        tinygo = tinygo.display(),
    );
    run(cargo()
        .args(["run", "--release", "--package", "pollscope", "--", "serve"])
        .arg(demo))
}

fn install() -> Result<()> {
    setup::rust_targets()?;
    build::web_assets()?;
    run(cargo().args(["install", "--locked", "--path", "cli"]))
}
