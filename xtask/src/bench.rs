//! `cargo xtask bench [NAME…]`: builds the browser assets and the guests in release, runs the
//! browser benchmark harness (`bench/`, all rows or the named ones), prints its table and
//! records it, with the date, the machine and how to reproduce it, in docs/BENCHMARKS.md.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::{build, cargo, root, run, setup};

/// The jco peer, pinned so that figures from different days compare: `(package, version)`.
const JCO_PACKAGES: &[(&str, &str)] = &[
    ("@bytecodealliance/jco", "1.35.0"),
    ("@bytecodealliance/preview2-shim", "0.26.1"),
];

/// Everything after `bench` is passed to the harness (row names, `--reps N`, `--quick`,
/// `--no-jco`).
pub fn all(args: &[String]) -> Result<()> {
    setup::all()?;
    build::web_assets()?;
    let bench_shim = build::bench_shim()?;
    let guests = build::guests()?;
    let jco_dir = root().join("target/jco");
    if !args.iter().any(|a| a == "--no-jco") {
        jco(&jco_dir)?;
    }
    let fragment = root().join("target/bench/report.md");
    std::fs::create_dir_all(fragment.parent().expect("a parent"))?;
    run(cargo()
        .args(["run", "--locked", "--package", "pollscope-bench", "--"])
        .args(args)
        .arg("--guests-dir")
        .arg(&guests)
        .arg("--bench-shim-dir")
        .arg(&bench_shim)
        .arg("--jco-dir")
        .arg(&jco_dir)
        .arg("--markdown")
        .arg(&fragment))?;
    let report = std::fs::read_to_string(&fragment)
        .with_context(|| format!("reading {}", fragment.display()))?;
    let shown = if args.is_empty() {
        String::new()
    } else {
        format!(" {}", args.join(" "))
    };
    let path = root().join("docs/BENCHMARKS.md");
    let kept = std::fs::read_to_string(&path)
        .map(|old| kept_sections(&old))
        .unwrap_or_default();
    let doc = format!(
        "# Benchmarks\n\n\
         Measured {date} with `cargo xtask bench{shown}`, in headless Chromium on this repository's \
         own build (shim and guests in release). Speed is measured here and nowhere else: no test \
         asserts a time.\n\n\
         {report}\n\
         {kept}\
         ## How to reproduce\n\n\
         ```sh\n\
         cargo xtask bench            # every row; or name some: cargo xtask bench now stdout\n\
         cargo xtask bench --reps 9   # more repetitions (default 5, after one warm-up)\n\
         cargo xtask bench --quick    # an eighth of the work, for a smoke run (noisier)\n\
         cargo xtask bench --no-jco   # Pollscope only\n\
         cargo xtask bench telemetry-soak --soak-seconds 600   # named only: memory over a long run\n\
         ```\n\n\
         Rows: `sleep`, `now`, `stdout`, `stdin`, `instantiate`, `size`, `ring`, \
         `telemetry-overhead`; `telemetry-soak` runs only when named. Sections titled \
         \"(kept across runs)\" come from dedicated runs and are carried over unchanged. \
         It installs what is missing (rustup targets, Debian's `chromium` and `npm`, and the pinned \
         `@bytecodealliance/jco` and `@bytecodealliance/preview2-shim` with `npm install --prefix \
         target/jco`), builds `target/web` (`cargo xtask build`), the harness's own shim with the \
         ring probes (`--features bench`, into `target/bench/shim`; `target/web` never has \
         them) and the guests (`guests/`, \
         `wasm32-wasip2`, release: `bench_sleep`, `bench_now`, `bench_stdout`, `bench_stdin`, \
         `bench_instantiate`; Pollscope only: `bench_telemetry_load`, and `clocks_naps` for the \
         soak), then runs `cargo run -p pollscope-bench`, which transpiles the first five with `jco transpile --instantiation async` (and again with `--async-mode jspi \
         --async-wasi-imports --async-wasi-exports`) into `target/jco/out/`, serves \
         `bench/pages/`, `target/web`, the guests, jco's output and the preview2-shim browser \
         build (`dist/browser`) on 127.0.0.1 with COOP/COEP/CORP headers, opens them in headless \
         Chromium, prints the table and rewrites this file. Every variant of a row is measured in \
         the same Chromium run, alternating within each repetition, so the ratios compare like \
         with like; the absolute figures move with the machine's load (recorded above). Pollscope \
         runs each guest through `pollscope.js` (`startComponent`); jco runs the same guest, \
         transpiled, in a fresh dedicated worker per run (`bench/pages/jco-worker.js`). JSPI rows \
         appear only where the browser has `WebAssembly.Suspending`. The ring rows run the \
         producer and consumer loops of `pollscope-ring` inside the bench shim's wasm \
         (`host-shim/src/ring_probe.rs`); the plain-JS baseline is `bench/pages/js-ring.js`.\n",
        date = today(),
    );
    std::fs::write(&path, doc).with_context(|| format!("writing {}", path.display()))?;
    println!("xtask: wrote {}", path.display());
    Ok(())
}

/// The sections of an old BENCHMARKS.md whose `## ` heading says "(kept across runs)", each up
/// to the next `## ` heading: figures from dedicated runs (the 10-minute telemetry soak) that a
/// run of the usual rows does not redo.
fn kept_sections(old: &str) -> String {
    let mut out = String::new();
    let mut keeping = false;
    for line in old.lines() {
        if line.starts_with("## ") {
            keeping = line.contains("(kept across runs)");
        }
        if keeping {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out
}

/// Installs the pinned jco and preview2-shim with npm into `dir` (an npm prefix) unless they are
/// there already at those versions.
fn jco(dir: &Path) -> Result<()> {
    setup::npm_packages(dir, JCO_PACKAGES, "the benchmark's jco peer")
}

/// Today's UTC date as `YYYY-MM-DD`.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::{civil_from_days, kept_sections};

    #[test]
    fn kept_sections_are_carried_over() {
        let old = "# Benchmarks\n\ntable\n\n## Soak (kept across runs)\n\nfigures\n\n\
                   ## How to reproduce\n\nsteps\n";
        assert_eq!(
            kept_sections(old),
            "## Soak (kept across runs)\n\nfigures\n\n"
        );
        assert_eq!(kept_sections("# Benchmarks\n\n## How to reproduce\n"), "");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
    }
}
