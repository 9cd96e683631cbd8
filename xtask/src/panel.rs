//! Builds the Leptos panel (`panel/`): release wasm, wasm-bindgen `--target web`, into
//! `target/web/panel/` (the `pollscope` binary embeds it for the in-page panel of
//! `pollscope serve`) and `extension/panel/` (the DevTools extension loads it from there).

use anyhow::{Context, Result};

use crate::build::{bindgen, web_dir};
use crate::{cargo, root, run};

/// Builds the panel into both places it is loaded from.
pub fn build() -> Result<()> {
    run(cargo().args([
        "build",
        "--locked",
        "--release",
        "--package",
        "pollscope-panel",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let web = web_dir().join("panel");
    bindgen("pollscope_panel", &web)?;
    let extension = root().join("extension/panel");
    std::fs::create_dir_all(&extension)?;
    for name in ["pollscope_panel.js", "pollscope_panel_bg.wasm"] {
        std::fs::copy(web.join(name), extension.join(name))
            .with_context(|| format!("copying {name} to {}", extension.display()))?;
    }
    println!(
        "xtask: panel in {} and {}",
        web.display(),
        extension.display()
    );
    Ok(())
}
