//! `cargo xtask pack`: the extension for Chrome and for Firefox, from the one source tree, as
//! `target/pack/pollscope-chrome.zip` and `target/pack/pollscope-firefox.zip` (and the unpacked
//! folders beside them; the per-browser manifest transform is `pollscope_extension::pack`), and
//! the npm package of the loader and the shim as `target/pack/pollscope-<version>.tgz` (staged
//! in `target/pack/npm/`; see [`xtask::npm_package`]).

use anyhow::Result;
use xtask::npm_package;

use crate::{build, root, setup};

/// Builds the browser assets (the panel among them), then both zips and the npm package.
pub fn all() -> Result<()> {
    setup::rust_targets()?;
    build::web_assets()?;
    let out = root().join("target/pack");
    for packed in pollscope_extension::pack::pack_all(&root(), &out)? {
        println!(
            "xtask: {} build in {} ({})",
            packed.browser.name(),
            packed.zip.display(),
            packed.dir.display()
        );
    }
    setup::npm()?;
    let tarball = npm_package::pack(&build::web_dir(), &out.join("npm"), &out)?;
    println!(
        "xtask: npm package in {} (`npm install {}`)",
        tarball.display(),
        tarball.display()
    );
    Ok(())
}
