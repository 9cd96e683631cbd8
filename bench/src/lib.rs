//! Pollscope's browser benchmark and stress harness.
//!
//! A session ([`session::run`]) serves the harness's pages (`bench/pages/`), the shim from
//! `target/web` and the guests on 127.0.0.1 with the cross-origin isolation headers, opens them
//! in headless Chromium (the launcher `pollscope run` uses), and collects what the page
//! measures. The `pollscope-bench` binary turns that into the table `cargo xtask bench` prints
//! ([`report`]); `tests/ring.rs` uses the same sessions to stress the ring in a real browser.
//!
//! The rows:
//! - `sleep`: a guest's 1 ms `std::thread::sleep` through the real loader vs. raw
//!   `Atomics.wait` in a plain worker (and vs. jco), and the workers' CPU while the guest sleeps.
//! - `now`, `stdout`, `stdin`, `instantiate`, `size`: Pollscope against jco (transpiled guests on
//!   `@bytecodealliance/preview2-shim`'s browser build, sync and JSPI) — clock reads, stdout and
//!   stdin throughput, time from bytes to first output, download sizes.
//! - `ring`: throughput of `pollscope-ring` (producer and consumer loops inside the wasm of the
//!   bench's own shim, built with `--features bench`: `host-shim/src/ring_probe.rs`) vs. a plain-JS ring of the same shape and
//!   `TypedArray.set`, notify→wake latency, and a breakdown of where the Rust ring's time goes.
//! - `telemetry-overhead`: one guest load (clock reads, 1 µs sleeps) with telemetry off
//!   (`startComponent({telemetry: false})`), on with nobody listening, and subscribed without
//!   and with detail; `telemetry-soak` (only when named): memory of the renderer and the page
//!   while a panel watches a napping guest at full detail for `--soak-seconds`.

pub mod report;
pub mod session;
pub mod stats;

/// What the machine is, for the record: `(nproc, CPU model, Chromium version)`.
pub fn machine(browser: Option<std::path::PathBuf>) -> (usize, String, String) {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let chromium = pollscope_test_support::browser::find(browser)
        .ok()
        .and_then(|path| {
            std::process::Command::new(path)
                .arg("--version")
                .output()
                .ok()
        })
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into());
    (nproc, cpu, chromium)
}
