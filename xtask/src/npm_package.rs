//! The npm package of the page-side loader and the shim, `pollscope-<version>.tgz`: `npm/`'s
//! package.json (its version set to the workspace's), types and README, plus the built loader,
//! workers and both shim builds from `target/web` — the names in package.json's `files`, so that
//! list is the one place that says what ships.
//!
//! The tarball comes from `npm pack` on a staged folder rather than being written here: npm
//! decides what a package tarball holds (the `package/` prefix, file modes, its fixed mtime, so
//! the same inputs give the same bytes) and checks package.json on the way, and `npm install`
//! of what `npm pack` wrote is exactly what users do.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The package's name: what `npm install` puts in `node_modules/` and import maps name.
pub const NAME: &str = "pollscope";

/// The package's version: the workspace's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `npm/`: the package's hand-written sources.
pub fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .join("npm")
}

/// The tarball's file name, as `npm pack` names it.
pub fn tarball_name() -> String {
    format!("{NAME}-{VERSION}.tgz")
}

/// Stages the package from `web_dir` (the built browser assets) in `staging` and packs it into
/// `out`; returns the tarball's path.
pub fn pack(web_dir: &Path, staging: &Path, out: &Path) -> Result<PathBuf> {
    stage(web_dir, staging)?;
    std::fs::create_dir_all(out)?;
    let out = std::path::absolute(out)?;
    let output = Command::new("npm")
        .args(["pack", "--ignore-scripts", "--pack-destination"])
        .arg(&out)
        .current_dir(staging)
        .output()
        .context("running npm pack (`cargo xtask setup` installs Debian's npm)")?;
    if !output.status.success() {
        bail!(
            "npm pack in {} failed ({}):\n{}",
            staging.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tarball = out.join(tarball_name());
    if !tarball.is_file() {
        bail!(
            "npm pack wrote no {}; it said: {}",
            tarball.display(),
            String::from_utf8_lossy(&output.stdout)
        );
    }
    Ok(tarball)
}

/// Fills `staging` (emptied first) with exactly what the package holds.
pub fn stage(web_dir: &Path, staging: &Path) -> Result<()> {
    let sources = sources();
    let manifest_path = sources.join("package.json");
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(&manifest_path)?)
        .with_context(|| format!("parsing {}", manifest_path.display()))?;
    if manifest["name"] != NAME {
        bail!("{} must name the package {NAME:?}", manifest_path.display());
    }
    manifest["version"] = VERSION.into();
    let files: Vec<String> = manifest["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if files.is_empty() {
        bail!("{} lists no `files`", manifest_path.display());
    }

    if staging.exists() {
        std::fs::remove_dir_all(staging)?;
    }
    std::fs::create_dir_all(staging)?;
    std::fs::write(
        staging.join("package.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    std::fs::copy(sources.join("README.md"), staging.join("README.md"))?;
    for file in &files {
        // Hand-written (the types) from `npm/`, built (the loader, workers, shim) from the web dir.
        let from = [sources.join(file), web_dir.join(file)]
            .into_iter()
            .find(|path| path.is_file())
            .with_context(|| {
                format!(
                    "{file} (in npm/package.json's `files`) is neither in npm/ nor in {}: \
                     `cargo xtask build` builds the browser assets",
                    web_dir.display()
                )
            })?;
        std::fs::copy(&from, staging.join(file))
            .with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}
