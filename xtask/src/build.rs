//! Builds the browser assets and the test guests.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::{cargo, root, run};

/// Where the browser assets go; the `pollscope` binary embeds this folder.
pub fn web_dir() -> PathBuf {
    root().join("target/web")
}

/// The shim in its two builds (release, wasm-bindgen `--target web`, name section stripped) —
/// `pollscope_shim` and, with TinyGo introspection, `pollscope_shim_tinygo`, which the wasm
/// worker loads for TinyGo programs only — plus their JS and the panel.
pub fn web_assets() -> Result<()> {
    let out = web_dir();
    for (features, name) in [("", "pollscope_shim"), ("tinygo", "pollscope_shim_tinygo")] {
        shim(features, name, &out)?;
    }
    for entry in std::fs::read_dir(root().join("host-shim/js"))? {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|ext| ext == "js" || ext == "html" || ext == "css")
        {
            std::fs::copy(&path, out.join(path.file_name().expect("a file")))?;
        }
    }
    crate::panel::build()?;
    println!("xtask: browser assets in {}", out.display());
    Ok(())
}

/// The benchmark harness's own shim, `pollscope_shim_bench` in `target/bench/shim`: the
/// production shim plus the ring micro-benchmarks' `ring_probe_*` exports (feature `bench`),
/// which users never download.
pub fn bench_shim() -> Result<PathBuf> {
    let out = root().join("target/bench/shim");
    shim("bench", "pollscope_shim_bench", &out)?;
    Ok(out)
}

/// One release build of the shim with `features`, through wasm-bindgen as `name` into `out`.
fn shim(features: &str, name: &str, out: &Path) -> Result<()> {
    run(cargo().args([
        "build",
        "--locked",
        "--release",
        "--package",
        "pollscope-shim",
        "--target",
        "wasm32-unknown-unknown",
        "--features",
        features,
    ]))?;
    bindgen_as("pollscope_shim", name, out)
}

/// wasm-bindgen `--target web` on the release wasm of `crate_name` (its library name), into
/// `out`, without the name and producers sections (shipped wasm needs neither).
pub fn bindgen(crate_name: &str, out: &Path) -> Result<()> {
    bindgen_as(crate_name, crate_name, out)
}

/// [`bindgen`], naming the output `out_name.js` / `out_name_bg.wasm`.
pub fn bindgen_as(crate_name: &str, out_name: &str, out: &Path) -> Result<()> {
    let input = root().join(format!(
        "target/wasm32-unknown-unknown/release/{crate_name}.wasm"
    ));
    std::fs::create_dir_all(out)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&input)
        .out_name(out_name)
        .web(true)?
        .typescript(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        // As the CLI does: `init()` with no argument loads the wasm next to the JS.
        .omit_default_module_path(false)
        .generate(out)
        .with_context(|| format!("wasm-bindgen on {}", input.display()))
}

/// Builds every program in `guests/` for `wasm32-wasip2`; returns the folder holding them.
pub fn guests() -> Result<PathBuf> {
    run(cargo().args([
        "build",
        "--release",
        "--manifest-path",
        "guests/Cargo.toml",
        "--target",
        "wasm32-wasip2",
    ]))?;
    Ok(root().join("guests/target/wasm32-wasip2/release"))
}
