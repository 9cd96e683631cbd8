//! Installs what the build and the tests need on a fresh machine.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};

use crate::run;

/// Everything: rustup targets and a Chromium to test in.
pub fn all() -> Result<()> {
    rust_targets()?;
    chromium()
}

/// The shim is built for `wasm32-unknown-unknown`, the test guests for `wasm32-wasip2`.
pub fn rust_targets() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()?;
    let installed = String::from_utf8_lossy(&installed.stdout);
    let missing: Vec<&str> = ["wasm32-unknown-unknown", "wasm32-wasip2"]
        .into_iter()
        .filter(|target| !installed.lines().any(|line| line.trim() == *target))
        .collect();
    if !missing.is_empty() {
        run(Command::new("rustup")
            .args(["target", "add"])
            .args(&missing))?;
    }
    Ok(())
}

/// Debian's `chromium` package: the browser every end-to-end test runs in.
pub fn chromium() -> Result<()> {
    apt_install("chromium", "chromium", "the end-to-end tests run in it")
}

/// Debian's `npm` (with Node.js): the benchmark's jco and the tests' web-ext come from it.
pub fn npm() -> Result<()> {
    apt_install(
        "npm",
        "npm",
        "jco for the benchmark and web-ext for the tests come from npm",
    )
}

/// `web-ext` (npm), pinned: the tests lint the Firefox build with it.
pub const WEB_EXT: (&str, &str) = ("web-ext", "10.7.0");

/// `typescript` (npm), pinned (5.x: plain JavaScript, no dependencies): the npm package's test
/// type-checks its `pollscope.d.ts` with it.
pub const TYPESCRIPT: (&str, &str) = ("typescript", "5.9.3");

/// What the extension's tests need besides Chromium: the pinned `web-ext` in `target/tools`
/// (an npm prefix, where they look for it) to lint the Firefox build, and Debian's
/// `firefox-esr` to run it; and the pinned `typescript` there for the npm package's test.
pub fn extension_test_tools() -> Result<()> {
    npm_packages(
        &crate::root().join("target/tools"),
        &[WEB_EXT, TYPESCRIPT],
        "the tests lint the Firefox build with web-ext and type-check the npm package's types",
    )?;
    apt_install(
        "firefox-esr",
        "firefox-esr",
        "the extension's tests run the Firefox build in it",
    )
}

/// Installs pinned npm `packages` (`(name, version)`) into `dir` (an npm prefix) unless they are
/// there already at those versions; `why` says what for.
pub fn npm_packages(dir: &Path, packages: &[(&str, &str)], why: &str) -> Result<()> {
    let installed = |package: &str, version: &str| {
        std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
            .is_ok_and(|text| text.contains(&format!("\"version\": \"{version}\"")))
    };
    if packages.iter().all(|(p, v)| installed(p, v)) {
        return Ok(());
    }
    npm()?;
    std::fs::create_dir_all(dir)?;
    println!("xtask: installing with npm into {} ({why})", dir.display());
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir)
        .args(packages.iter().map(|(p, v)| format!("{p}@{v}"))))
}

/// Installs Debian package `package` unless `binary` is already on PATH.
fn apt_install(package: &str, binary: &str, why: &str) -> Result<()> {
    if find_in_path(binary).is_some() {
        return Ok(());
    }
    println!("xtask: installing Debian's {package} ({why})");
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", package])?;
    if find_in_path(binary).is_none() {
        bail!("installed Debian's {package}, but `{binary}` is still not on PATH");
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"))
}

/// The first `name` on PATH.
pub fn find_in_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}
