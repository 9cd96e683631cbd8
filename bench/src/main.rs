//! `pollscope-bench [NAME…]`: runs the benchmark rows (all, or the named ones: `sleep`, `now`,
//! `stdout`, `stdin`, `instantiate`, `size`, `ring`, `telemetry-overhead`; `telemetry-soak` only
//! when named) in one headless Chromium session and prints
//! the table. Where the jco peer is installed (`--jco-dir`, which `cargo xtask bench` fills with
//! npm), the guests of those rows are transpiled with jco first and run on its browser shim in the
//! same session. `cargo xtask bench` builds what it needs first and records the result in
//! docs/BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::json;

use pollscope_bench::session::Measurement;
use pollscope_bench::{machine, report, session};
use pollscope_test_support::procfs;

const ROWS: &[&str] = &[
    "sleep",
    "now",
    "stdout",
    "stdin",
    "instantiate",
    "size",
    "ring",
    "telemetry-overhead",
];

/// Rows run only when named: `telemetry-soak` takes `--soak-seconds` (10 minutes by default).
const NAMED_ONLY: &[&str] = &["telemetry-soak"];

/// The guest each row runs (under Pollscope, and under jco when it is there).
const GUESTS: &[(&str, &str)] = &[
    ("sleep", "bench_sleep"),
    ("now", "bench_now"),
    ("stdout", "bench_stdout"),
    ("stdin", "bench_stdin"),
    ("instantiate", "bench_instantiate"),
];

/// jco's modes: plain synchronous bindings, and JSPI (imports that return a promise suspend the
/// guest; measured only where the browser has `WebAssembly.Suspending`).
const JCO_MODES: &[(&str, &[&str])] = &[
    ("sync", &[]),
    (
        "jspi",
        &[
            "--async-mode",
            "jspi",
            "--async-wasi-imports",
            "--async-wasi-exports",
        ],
    ),
];

/// Times the shim and the ring in headless Chromium.
#[derive(Debug, Parser)]
struct Args {
    /// Rows to run (default: all but telemetry-soak): sleep, now, stdout, stdin, instantiate,
    /// size, ring, telemetry-overhead, telemetry-soak.
    names: Vec<String>,
    /// How long `telemetry-soak` watches its sleeping guest, in seconds.
    #[arg(long, default_value_t = 600)]
    soak_seconds: u64,
    /// Measured repetitions of each row (after one warm-up).
    #[arg(long, default_value_t = 5)]
    reps: u32,
    /// Smaller transfers and fewer sleeps, for a quick look (figures are noisier).
    #[arg(long)]
    quick: bool,
    /// The browser assets (default: the repository's target/web).
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// The bench's own shim with the ring probes (default: the repository's target/bench/shim).
    #[arg(long)]
    bench_shim_dir: Option<PathBuf>,
    /// Built guests (default: guests/target/wasm32-wasip2/release).
    #[arg(long)]
    guests_dir: Option<PathBuf>,
    /// The npm prefix where `@bytecodealliance/jco` and `@bytecodealliance/preview2-shim` are
    /// installed (default: the repository's target/jco); without them the jco rows are skipped.
    #[arg(long)]
    jco_dir: Option<PathBuf>,
    /// Do not measure jco.
    #[arg(long)]
    no_jco: bool,
    /// The Chromium binary (default: `chromium` on PATH).
    #[arg(long)]
    browser: Option<PathBuf>,
    /// Also write the report as Markdown to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Also write every raw measurement the page posted, as JSON, to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pollscope-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let names: Vec<String> = if args.names.is_empty() {
        ROWS.iter().map(|r| r.to_string()).collect()
    } else {
        args.names.clone()
    };
    if let Some(bad) = names
        .iter()
        .find(|n| !ROWS.contains(&n.as_str()) && !NAMED_ONLY.contains(&n.as_str()))
    {
        bail!("unknown row `{bad}`; rows are {ROWS:?} and {NAMED_ONLY:?}");
    }
    let mut options = session::Options::for_repo();
    if let Some(dir) = args.web_dir {
        options.web_dir = dir;
    }
    if let Some(dir) = args.bench_shim_dir {
        options.bench_shim_dir = dir;
    }
    if names.iter().any(|n| n == "ring") {
        options.check_bench_shim()?;
    }
    if let Some(dir) = args.guests_dir {
        options.guests_dir = dir;
    }
    options.browser = args.browser.clone();
    options.timeout = Duration::from_secs(900 + args.soak_seconds);
    options.check_web_dir()?;
    let guests: Vec<&str> = GUESTS
        .iter()
        .filter(|(row, _)| names.iter().any(|n| n == row))
        .map(|(_, guest)| *guest)
        .collect();
    for guest in &guests {
        options.check_guest(guest)?;
    }
    // Pollscope-only rows (no jco peer).
    for (row, guest) in [
        ("telemetry-overhead", "bench_telemetry_load"),
        ("telemetry-soak", "clocks_naps"),
    ] {
        if names.iter().any(|n| n == row) {
            options.check_guest(guest)?;
        }
    }
    let jco_dir = args
        .jco_dir
        .clone()
        .unwrap_or_else(|| session::repo_root().join("target/jco"));
    let mut extra = Vec::new();
    let jco_modes: Vec<&str> = if args.no_jco || guests.is_empty() {
        Vec::new()
    } else if !jco_dir.join("node_modules/.bin/jco").is_file() {
        println!(
            "jco is not installed in {} (npm install --prefix {} @bytecodealliance/jco \
             @bytecodealliance/preview2-shim, or cargo xtask bench): no jco rows",
            jco_dir.display(),
            jco_dir.display()
        );
        Vec::new()
    } else {
        extra.extend(transpile(&jco_dir, &options.guests_dir, &guests)?);
        options.jco_dir = Some(jco_dir.clone());
        JCO_MODES.iter().map(|(mode, _)| *mode).collect()
    };
    if names.iter().any(|n| n == "size") {
        extra.extend(sizes(&options, &jco_dir, !jco_modes.is_empty())?);
    }

    let mib = 1u64 << 20;
    let scale = if args.quick { 8 } else { 1 };
    // `size` is measured here, from the files; the page runs the rest.
    let page_rows: Vec<&String> = names.iter().filter(|n| *n != "size").collect();
    let config = json!({
        "rows": page_rows,
        "reps": args.reps,
        "warmup": 1,
        "jco": { "modes": jco_modes },
        "sleep": {
            "lengths": [
                { "ms": 1, "iterations": 200 / scale },
                { "ms": 10, "iterations": 60 / scale },
                { "ms": 100, "iterations": 12 / scale.min(4) },
            ],
            "settleMs": 150,
        },
        "now": { "iterations": 1_000_000 / scale, "jcoIterations": 200_000 / scale },
        "stdout": {
            "totalBytes": 64 * mib / scale,
            "chunk": 4096,
            "breakdownChunks": [65536],
        },
        "stdin": { "totalBytes": 64 * mib / scale, "writeBytes": 256 * 1024, "inFlight": 4 },
        // `link`: the component's bytes arriving as over a 100 Mbit/s network, in 64 KiB chunks.
        "instantiate": {
            "guest": "bench_instantiate",
            "link": { "mbitPerS": 100, "chunk": 65_536 },
        },
        "telemetryOverhead": {
            "nows": 1_000_000 / scale,
            "sleeps": 100_000 / scale,
            "sleepNs": 1000,
        },
        "telemetrySoak": {
            "seconds": args.soak_seconds,
            "sampleSeconds": (args.soak_seconds / 20).clamp(1, 30),
            "napMs": 1,
            "measureTimeoutMs": 5_000,
        },
        "ring": {
            "capacity": mib,
            "mtu": 64 * 1024,
            "batchBytes": 64 * 1024,
            "opsIterations": 200_000 / scale,
            "sizes": [
                { "len": 64 * 1024, "totalBytes": 1024 * mib / scale },
                { "len": 256, "totalBytes": 128 * mib / scale },
            ],
            "latencyRounds": 1000 / scale,
            "batchedExperiment": true,
            "gapMs": 0.05,
        },
    });

    let (nproc, cpu, chromium) = machine(args.browser);
    let load_before = procfs::loadavg();
    println!("machine: {nproc} CPUs, {cpu}; {chromium}");
    println!("load average before: {load_before}");
    let mut outcome = session::run(&options, &config)?;
    outcome.results.extend(extra);
    let load_after = procfs::loadavg();
    let report = report::build(&outcome, &config)?;
    println!();
    print!("{}", report.to_text());
    println!(
        "load average after: {load_after}; session took {:.1} s",
        outcome.wall.as_secs_f64()
    );

    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&outcome.results)?)?;
    }
    if let Some(path) = args.markdown {
        let mut md = format!(
            "Machine: {nproc} CPUs, {cpu}; {chromium}. Load average (1/5/15 min) before: \
             {load_before}, after: {load_after}. Repetitions: {} (+1 warm-up){}.\n\n",
            args.reps,
            if args.quick { ", --quick" } else { "" }
        );
        md += &report.to_markdown();
        std::fs::write(&path, md)?;
    }
    Ok(())
}

/// Transpiles each guest with jco in every mode into `<jco_dir>/out/<mode>/<guest>/` (plus a
/// `files.json` listing the core modules, which the page compiles before instantiating), and
/// returns how long each transpile took (row `transpile`; wall time of the `jco` command,
/// Node's start-up included).
fn transpile(jco_dir: &Path, guests_dir: &Path, guests: &[&str]) -> Result<Vec<Measurement>> {
    let jco = jco_dir.join("node_modules/.bin/jco");
    let mut out = Vec::new();
    for (mode, flags) in JCO_MODES {
        for guest in guests {
            let dir = jco_dir.join("out").join(mode).join(guest);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            let started = Instant::now();
            let status = Command::new(&jco)
                .arg("transpile")
                .arg(guests_dir.join(format!("{guest}.wasm")))
                .arg("-o")
                .arg(&dir)
                .args(["--instantiation", "async", "--no-typescript", "--quiet"])
                .args(*flags)
                .status()
                .with_context(|| format!("running {}", jco.display()))?;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            if !status.success() {
                bail!("jco transpile {guest} ({mode}) failed: {status}");
            }
            let mut files = Vec::new();
            let mut wasm_bytes = 0;
            let mut js_bytes = 0;
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let len = entry.metadata()?.len();
                if name.ends_with(".wasm") {
                    wasm_bytes += len;
                    files.push(name);
                } else if name.ends_with(".js") {
                    js_bytes += len;
                }
            }
            files.sort();
            std::fs::write(dir.join("files.json"), serde_json::to_vec(&files)?)?;
            out.push(Measurement {
                row: "transpile".into(),
                variant: format!("{mode}/{guest}"),
                rep: 0,
                data: json!({ "ms": ms, "wasmBytes": wasm_bytes, "jsBytes": js_bytes }),
            });
        }
    }
    Ok(out)
}

/// Raw and gzipped (`gzip -9`) size of a file.
fn raw_and_gzip(path: &Path) -> Result<(u64, u64)> {
    let raw = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let gz = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .context("running gzip")?;
    if !gz.status.success() {
        bail!("gzip {} failed", path.display());
    }
    Ok((raw, gz.stdout.len() as u64))
}

/// Row `size`: what a page downloads — the shim's wasm and JS, the panel's, the instantiate
/// guest, and jco's output for it and its browser shim when jco is there.
fn sizes(options: &session::Options, jco_dir: &Path, jco: bool) -> Result<Vec<Measurement>> {
    let mut out = Vec::new();
    let mut push = |variant: &str, paths: Vec<PathBuf>| -> Result<()> {
        let (mut raw, mut gz) = (0, 0);
        for path in &paths {
            let (r, g) = raw_and_gzip(path)?;
            raw += r;
            gz += g;
        }
        out.push(Measurement {
            row: "size".into(),
            variant: variant.into(),
            rep: 0,
            data: json!({ "raw": raw, "gzip": gz, "files": paths.len() }),
        });
        Ok(())
    };
    push(
        "shim-wasm",
        vec![options.web_dir.join("pollscope_shim_bg.wasm")],
    )?;
    let js = |dir: &Path| -> Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "js"))
            .collect();
        files.sort();
        Ok(files)
    };
    push(
        "shim-tinygo-wasm",
        vec![options.web_dir.join("pollscope_shim_tinygo_bg.wasm")],
    )?;
    push("shim-js", js(&options.web_dir)?)?;
    let panel = options.web_dir.join("panel");
    push("panel-wasm", vec![panel.join("pollscope_panel_bg.wasm")])?;
    push("panel-js", js(&panel)?)?;
    push(
        "instantiate-guest",
        vec![options.guests_dir.join("bench_instantiate.wasm")],
    )?;
    if jco {
        let dir = jco_dir.join("out/sync/bench_instantiate");
        if dir.is_dir() {
            let files: Vec<PathBuf> = std::fs::read_dir(&dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "js" || x == "wasm"))
                .collect();
            push("jco-instantiate-output", files)?;
        }
        push("jco-shim-js", js(&jco_dir.join(session::JCO_SHIM))?)?;
    }
    Ok(out)
}
