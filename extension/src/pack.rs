//! Per-browser builds of the extension from the one source tree.
//!
//! The root `manifest.json` carries both browsers' keys so that the repository root loads
//! unpacked in either: Chrome uses `background.service_worker` and ignores `background.scripts`
//! and `browser_specific_settings` (warnings only); Firefox has no extension service workers and
//! runs `background.scripts`. The packed builds drop the other browser's keys, so neither store
//! nor linter sees a key its browser ignores:
//!
//! | key | Chrome zip | Firefox zip |
//! |---|---|---|
//! | `background.service_worker` | kept | dropped |
//! | `background.scripts` | dropped | kept |
//! | `browser_specific_settings` | dropped | kept |
//!
//! Shipped files: `manifest.json` and everything web in `extension/` (scripts, pages, styles,
//! the built panel in `extension/panel/`), never the Rust crate that lives there too.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The browsers a build is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    /// Chrome, Chromium, Edge: MV3 with a background service worker.
    Chrome,
    /// Firefox ≥ 142: MV3 with background scripts and a gecko id.
    Firefox,
}

impl Browser {
    /// Both, in the order builds are made.
    pub const ALL: [Browser; 2] = [Browser::Chrome, Browser::Firefox];

    /// `chrome` / `firefox`: folder and zip names.
    pub fn name(self) -> &'static str {
        match self {
            Browser::Chrome => "chrome",
            Browser::Firefox => "firefox",
        }
    }
}

/// One browser's build.
#[derive(Debug, Clone)]
pub struct Packed {
    /// For which browser.
    pub browser: Browser,
    /// The unpacked build (load or lint this).
    pub dir: PathBuf,
    /// `pollscope-<browser>.zip`.
    pub zip: PathBuf,
}

/// File endings shipped from `extension/`.
const SHIPPED: &[&str] = &["js", "html", "css", "wasm", "svg", "png"];
/// Folders of `extension/` that belong to the Rust crate, not the extension.
const NOT_SHIPPED_DIRS: &[&str] = &["src", "tests", "target"];
/// What `cargo xtask build` puts in `extension/panel/`; without it the panel page cannot load.
pub const PANEL_ENTRY: &str = "extension/panel/pollscope_panel.js";

/// Builds every browser's folder and zip under `out` (e.g. `target/pack`) from the source tree
/// at `root`.
pub fn pack_all(root: &Path, out: &Path) -> Result<Vec<Packed>> {
    if !root.join(PANEL_ENTRY).is_file() {
        bail!(
            "the panel is not built ({} is missing): run `cargo xtask build` first",
            root.join(PANEL_ENTRY).display()
        );
    }
    let manifest_path = root.join("manifest.json");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?,
    )
    .with_context(|| format!("{} is not JSON", manifest_path.display()))?;
    let files = shipped_files(root)?;
    Browser::ALL
        .into_iter()
        .map(|browser| {
            let manifest = manifest_for(&manifest, browser)?;
            write_build(root, out, browser, &manifest, &files)
        })
        .collect()
}

/// The root manifest with the other browser's keys removed (see the module doc).
pub fn manifest_for(source: &Value, browser: Browser) -> Result<Value> {
    let mut manifest = source.clone();
    let Some(object) = manifest.as_object_mut() else {
        bail!("manifest.json is not a JSON object");
    };
    let Some(background) = object.get_mut("background").and_then(Value::as_object_mut) else {
        bail!("manifest.json has no `background` object");
    };
    let (keep, drop) = match browser {
        Browser::Chrome => ("service_worker", "scripts"),
        Browser::Firefox => ("scripts", "service_worker"),
    };
    if !background.contains_key(keep) {
        bail!(
            "manifest.json's `background` lacks `{keep}`, which {} needs",
            browser.name()
        );
    }
    background.remove(drop);
    if browser == Browser::Chrome {
        object.remove("browser_specific_settings");
    } else if object
        .get("browser_specific_settings")
        .and_then(|s| s.get("gecko"))
        .and_then(|g| g.get("id"))
        .is_none()
    {
        bail!("manifest.json lacks `browser_specific_settings.gecko.id`, which Firefox needs");
    }
    Ok(manifest)
}

/// Paths (relative to `root`, `/`-separated) of every shipped file under `extension/`, sorted.
fn shipped_files(root: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    collect(root, &root.join("extension"), &mut files)?;
    files.sort();
    Ok(files)
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let relative = path
            .strip_prefix(root)
            .expect("walked from the root")
            .to_string_lossy()
            .replace('\\', "/");
        if path.is_dir() {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let top_level = path.parent() == Some(&root.join("extension"));
            if !(top_level && NOT_SHIPPED_DIRS.contains(&name.as_ref())) {
                collect(root, &path, files)?;
            }
        } else if path
            .extension()
            .is_some_and(|ext| SHIPPED.iter().any(|s| ext == *s))
        {
            files.push(relative);
        }
    }
    Ok(())
}

fn write_build(
    root: &Path,
    out: &Path,
    browser: Browser,
    manifest: &Value,
    files: &[String],
) -> Result<Packed> {
    let dir = out.join(browser.name());
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    let zip_path = out.join(format!("pollscope-{}.zip", browser.name()));
    std::fs::create_dir_all(&dir)?;
    let zip_file = std::fs::File::create(&zip_path)
        .with_context(|| format!("creating {}", zip_path.display()))?;
    let mut zip = zip::ZipWriter::new(zip_file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);

    let manifest_text = serde_json::to_string_pretty(manifest)? + "\n";
    let mut add = |name: &str, bytes: &[u8]| -> Result<()> {
        let target = dir.join(name);
        std::fs::create_dir_all(target.parent().expect("a file in the build"))?;
        std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
        zip.start_file(name, options)?;
        zip.write_all(bytes)?;
        Ok(())
    };
    add("manifest.json", manifest_text.as_bytes())?;
    for file in files {
        let bytes = std::fs::read(root.join(file)).with_context(|| format!("reading {file}"))?;
        add(file, &bytes)?;
    }
    zip.finish()
        .with_context(|| format!("writing {}", zip_path.display()))?;
    Ok(Packed {
        browser,
        dir,
        zip: zip_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source() -> Value {
        json!({
            "manifest_version": 3,
            "background": { "service_worker": "bg.js", "scripts": ["env.js", "bg.js"] },
            "browser_specific_settings": { "gecko": { "id": "a@b", "strict_min_version": "142.0" } }
        })
    }

    #[test]
    fn each_browser_gets_only_its_own_keys() {
        let chrome = manifest_for(&source(), Browser::Chrome).unwrap();
        assert_eq!(chrome["background"], json!({ "service_worker": "bg.js" }));
        assert!(chrome.get("browser_specific_settings").is_none());
        let firefox = manifest_for(&source(), Browser::Firefox).unwrap();
        assert_eq!(
            firefox["background"],
            json!({ "scripts": ["env.js", "bg.js"] })
        );
        assert_eq!(
            firefox["browser_specific_settings"]["gecko"]["id"],
            json!("a@b")
        );
    }

    #[test]
    fn a_manifest_missing_what_a_browser_needs_is_a_clear_error() {
        let mut no_scripts = source();
        no_scripts["background"]
            .as_object_mut()
            .unwrap()
            .remove("scripts");
        let err = manifest_for(&no_scripts, Browser::Firefox).unwrap_err();
        assert!(err.to_string().contains("`scripts`"), "{err}");
        let mut no_gecko = source();
        no_gecko
            .as_object_mut()
            .unwrap()
            .remove("browser_specific_settings");
        let err = manifest_for(&no_gecko, Browser::Firefox).unwrap_err();
        assert!(err.to_string().contains("gecko.id"), "{err}");
        assert!(manifest_for(&json!([1]), Browser::Chrome).is_err());
        assert!(manifest_for(&json!({}), Browser::Chrome).is_err());
    }

    #[test]
    fn the_repository_root_can_be_loaded_unpacked() {
        // Chrome refuses an unpacked extension with a top-level file or folder named `_…`
        // (reserved, e.g. `_metadata`); the root is what users load.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let reserved: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with('_'))
            .collect();
        assert!(
            reserved.is_empty(),
            "Chrome will not load the repository root as an extension while it has {reserved:?}"
        );
    }

    #[test]
    fn the_repository_manifest_packs_for_both_browsers() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(root.join("manifest.json")).unwrap()).unwrap();
        for browser in Browser::ALL {
            manifest_for(&manifest, browser).unwrap_or_else(|err| panic!("{browser:?}: {err}"));
        }
        // Every script and page the manifest names is shipped.
        let files = shipped_files(root).unwrap();
        for named in [
            "extension/background.js",
            "extension/content.js",
            "extension/envelope.js",
            "extension/devtools.html",
            "extension/panel.html",
            "extension/panel.js",
        ] {
            assert!(files.iter().any(|f| f == named), "{named} not in {files:?}");
        }
        assert!(
            !files.iter().any(|f| f.contains("/src/")
                || f.contains("/tests/")
                || f.ends_with(".rs")
                || f.ends_with(".toml")),
            "the crate's files are not shipped: {files:?}"
        );
    }
}
