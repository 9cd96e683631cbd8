//! `cargo xtask test`: everything CI runs, in the order a failure is cheapest to find.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use anyhow::{bail, Context, Result};

use crate::{build, cargo, fixtures, fuzz, run, setup};

/// Seconds each fuzz target runs in the test suite: from clean, with cargo-fuzz's install
/// (~40 s) and the targets' build (~2 min), the step takes about 7 minutes on 2 cores.
const FUZZ_SECONDS: u64 = 45;

/// Installs prerequisites, builds the browser assets and the guests, checks formatting and
/// lints, then runs every test (native unit tests, the ring and steering tests in Chromium, the
/// end-to-end suite), then each fuzz target for [`FUZZ_SECONDS`] (each one that ends without a
/// crash counts as passed, each crash as failed; skipped when test arguments are given), and
/// ends with one `N passed, N failed` line over all of them.
pub fn all(extra: &[String]) -> Result<()> {
    setup::all()?;
    // The extension's tests lint the Firefox build and run it.
    setup::extension_test_tools()?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    build::web_assets()?;
    // The ring stress tests run the bench's own shim (its ring probes).
    build::bench_shim()?;
    build::guests()?;
    fixtures::build()?;
    run(cargo().args([
        "clippy",
        "--locked",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The shim's browser half only compiles for wasm32; both of its builds, and the bench's
    // (its ring probes are compiled only there).
    for features in ["", "tinygo", "bench"] {
        run(cargo().args([
            "clippy",
            "--locked",
            "--release",
            "--package",
            "pollscope-shim",
            "--target",
            "wasm32-unknown-unknown",
            "--features",
            features,
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    // The panel's views and mount API, likewise wasm32 only.
    run(cargo().args([
        "clippy",
        "--locked",
        "--release",
        "--package",
        "pollscope-panel",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    let (mut passed, mut failed, status) = tests(extra)?;
    if extra.is_empty() {
        let targets: Vec<String> = fuzz::TARGETS.iter().map(|t| t.to_string()).collect();
        match fuzz::fuzz(&targets, FUZZ_SECONDS) {
            Ok(outcomes) => {
                let crashed = outcomes.iter().filter(|o| o.crash.is_some()).count() as u64;
                passed += outcomes.len() as u64 - crashed;
                failed += crashed;
            }
            Err(err) => {
                println!("xtask: the fuzz targets did not run: {err:#}");
                failed += 1;
            }
        }
    } else {
        println!("xtask: test arguments given, fuzzing skipped");
    }
    println!("{passed} passed, {failed} failed");
    if !status.success() || failed > 0 {
        bail!("{failed} failed (cargo test: {status})");
    }
    Ok(())
}

/// `cargo test --workspace`, echoed as it runs: the per-binary summaries added up
/// (passed, failed) and cargo's exit status.
fn tests(extra: &[String]) -> Result<(u64, u64, std::process::ExitStatus)> {
    let mut child = cargo()
        .args(["test", "--locked", "--workspace", "--no-fail-fast"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    let stdout = child.stdout.take().expect("piped");
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        writeln!(out, "{line}")?;
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count(rest, " passed");
            failed += count(rest, " failed");
        }
    }
    let status = child.wait()?;
    Ok((passed, failed, status))
}

/// The number before `label` in a `test result:` line (`ok. 3 passed; 0 failed; …`).
fn count(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .find_map(|part| {
            part.trim()
                .trim_start_matches("ok. ")
                .trim_start_matches("FAILED. ")
                .strip_suffix(label.trim())
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn reads_cargo_test_summaries() {
        let ok =
            "ok. 28 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 22.15s";
        assert_eq!((count(ok, " passed"), count(ok, " failed")), (28, 0));
        let bad = "FAILED. 25 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!((count(bad, " passed"), count(bad, " failed")), (25, 3));
    }
}
