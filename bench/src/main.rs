//! `pollscope-bench [NAME…]`: runs the benchmark rows (all, or the named ones: `sleep`,
//! `ring`) in one headless Chromium session and prints the table. `cargo xtask bench` builds
//! what it needs first and records the result in docs/BENCHMARKS.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Parser;
use serde_json::json;

use pollscope::procfs;
use pollscope_bench::{machine, report, session};

const ROWS: &[&str] = &["sleep", "ring"];

/// Times the shim and the ring in headless Chromium.
#[derive(Debug, Parser)]
struct Args {
    /// Rows to run (default: all): sleep, ring.
    names: Vec<String>,
    /// Measured repetitions of each row (after one warm-up).
    #[arg(long, default_value_t = 5)]
    reps: u32,
    /// Smaller transfers and fewer sleeps, for a quick look (figures are noisier).
    #[arg(long)]
    quick: bool,
    /// The browser assets (default: the repository's target/web).
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// Built guests (default: guests/target/wasm32-wasip2/release).
    #[arg(long)]
    guests_dir: Option<PathBuf>,
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
    if let Some(bad) = names.iter().find(|n| !ROWS.contains(&n.as_str())) {
        bail!("unknown row `{bad}`; rows are {ROWS:?}");
    }
    let mut options = session::Options::for_repo();
    if let Some(dir) = args.web_dir {
        options.web_dir = dir;
    }
    if let Some(dir) = args.guests_dir {
        options.guests_dir = dir;
    }
    options.browser = args.browser.clone();
    options.timeout = Duration::from_secs(900);
    options.check_web_dir()?;
    if names.iter().any(|n| n == "sleep") {
        options.check_guest("bench_sleep")?;
    }

    let mib = 1u64 << 20;
    let scale = if args.quick { 8 } else { 1 };
    let config = json!({
        "rows": names,
        "reps": args.reps,
        "warmup": 1,
        "sleep": { "iterations": 200 / scale, "ms": 1, "settleMs": 150 },
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
    let outcome = session::run(&options, &config)?;
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
