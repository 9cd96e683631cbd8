//! `cargo xtask fixtures`: builds the TinyGo-shaped test components (`fixtures/`) into
//! `target/fixtures`, with Binaryen's `wasm-opt` from npm, as TinyGo's own build uses it.

use std::path::PathBuf;

use anyhow::Result;

use crate::{cargo, root, run, setup};

/// The npm `binaryen` whose `wasm-opt --asyncify` the fixtures go through. Must equal
/// `pollscope_fixtures::BINARYEN_VERSION` (the builder checks `wasm-opt --version`).
const BINARYEN: (&str, &str) = ("binaryen", "116.0.0");

/// Where the fixtures are written (`<name>.wasm`); the end-to-end tests read them there.
pub fn dir() -> PathBuf {
    root().join("target/fixtures")
}

/// Installs the pinned binaryen into `target/tools` when missing, then builds every fixture.
pub fn build() -> Result<PathBuf> {
    let tools = root().join("target/tools");
    setup::npm_packages(
        &tools,
        &[BINARYEN],
        "the TinyGo-shaped fixtures go through wasm-opt --asyncify",
    )?;
    run(cargo()
        .args([
            "run",
            "--locked",
            "--quiet",
            "--package",
            "pollscope-fixtures",
            "--",
        ])
        .arg("--wasm-opt")
        .arg(tools.join("node_modules/binaryen/bin/wasm-opt"))
        .arg("--out")
        .arg(dir()))?;
    Ok(dir())
}
