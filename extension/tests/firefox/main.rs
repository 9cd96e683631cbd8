//! The Firefox build passes `web-ext lint` (Mozilla's add-on linter) with no errors.
//!
//! `web-ext` is the pinned npm package `cargo xtask test` (and `cargo xtask setup`) installs
//! into `target/tools`; the build is made here from the source tree, as `cargo xtask pack`
//! makes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use pollscope_extension::pack::{pack_all, Browser};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("extension/ is in the repository")
        .to_path_buf()
}

#[test]
fn web_ext_lint_passes_on_the_firefox_build() {
    let web_ext = root().join("target/tools/node_modules/.bin/web-ext");
    assert!(
        web_ext.is_file(),
        "web-ext is not installed at {}: `cargo xtask test` installs it (or `cargo xtask setup`)",
        web_ext.display()
    );
    let out = std::env::temp_dir().join(format!("pollscope-pack-{}", std::process::id()));
    let packed = pack_all(&root(), &out).unwrap_or_else(|err| panic!("packing: {err:#}"));
    let firefox = packed
        .iter()
        .find(|p| p.browser == Browser::Firefox)
        .expect("a Firefox build");
    let output = Command::new(&web_ext)
        .args([
            "lint",
            "--output",
            "json",
            "--no-config-discovery",
            "--source-dir",
        ])
        .arg(&firefox.dir)
        .output()
        .expect("running web-ext");
    let _ = std::fs::remove_dir_all(&out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|err| {
        panic!(
            "web-ext lint printed no JSON report ({err}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let messages = |kind: &str| -> Vec<String> {
        report[kind]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|m| format!("{}: {} ({})", m["code"], m["message"], m["file"]))
                    .collect()
            })
            .unwrap_or_default()
    };
    let errors = messages("errors");
    assert!(
        report["summary"]["errors"].as_u64() == Some(0) && errors.is_empty(),
        "web-ext lint found errors in the Firefox build:\n{}\nwarnings:\n{}",
        errors.join("\n"),
        messages("warnings").join("\n")
    );
    println!("web-ext lint warnings: {:?}", messages("warnings"));
}
