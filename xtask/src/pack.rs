//! `cargo xtask pack`: the extension for Chrome and for Firefox, from the one source tree, as
//! `target/pack/pollscope-chrome.zip` and `target/pack/pollscope-firefox.zip` (and the unpacked
//! folders beside them). The per-browser manifest transform is `pollscope_extension::pack`.

use anyhow::Result;

use crate::{build, root, setup};

/// Builds the browser assets (the panel among them), then both zips.
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
    Ok(())
}
