//! From a session's measurements to the printed table, the targets and the ring breakdown.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::session::{Measurement, Outcome};
use crate::stats::{grouped_percentile, median, min};
use pollscope::procfs;

/// `performance.now()` resolution in a cross-origin isolated page (Chromium), in ms.
const CLOCK_STEP_MS: f64 = 0.005;

/// A titled table of text cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A goal from the issue, and whether this run met it.
#[derive(Debug, Clone)]
pub struct Target {
    pub what: String,
    pub measured: String,
    pub met: bool,
}

/// Everything printed for one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub tables: Vec<Table>,
    pub targets: Vec<Target>,
    pub notes: Vec<String>,
}

impl Table {
    fn new(title: &str, columns: &[&str]) -> Table {
        Table {
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: &[&str]) {
        self.rows
            .push(cells.iter().map(|c| c.to_string()).collect());
    }

    /// Plain text with aligned columns.
    pub fn to_text(&self) -> String {
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                std::iter::once(&self.columns[i])
                    .chain(self.rows.iter().filter_map(|r| r.get(i)))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = w - cell.chars().count();
                // Text left, figures right.
                if i < 2 {
                    let _ = write!(s, "{cell}{}  ", " ".repeat(pad));
                } else {
                    let _ = write!(s, "{}{cell}  ", " ".repeat(pad));
                }
            }
            s.trim_end().to_string()
        };
        let mut out = format!("{}\n", self.title);
        out += &line(&self.columns);
        out.push('\n');
        out += &"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1));
        out.push('\n');
        for r in &self.rows {
            out += &line(r);
            out.push('\n');
        }
        out
    }

    /// A Markdown table under a bold title.
    pub fn to_markdown(&self) -> String {
        let esc = |c: &str| c.replace('|', "\\|");
        let mut out = format!("**{}**\n\n", self.title);
        let _ = writeln!(
            out,
            "| {} |",
            self.columns
                .iter()
                .map(|c| esc(c))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(
            out,
            "|{}",
            (0..self.columns.len())
                .map(|i| if i < 2 { " --- |" } else { " ---: |" })
                .collect::<String>()
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} |",
                r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        out
    }
}

impl Report {
    /// Everything, as printed on the terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for t in &self.tables {
            out += &t.to_text();
            out.push('\n');
        }
        if !self.targets.is_empty() {
            out += "Targets\n";
            for t in &self.targets {
                let verdict = if t.met { "met   " } else { "MISSED" };
                let _ = writeln!(out, "  [{verdict}] {}: {}", t.what, t.measured);
            }
            out.push('\n');
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }

    /// Everything, as Markdown (for docs/BENCHMARKS.md).
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        for t in &self.tables {
            out += &t.to_markdown();
            out.push('\n');
        }
        if !self.targets.is_empty() {
            out += "**Targets**\n\n";
            for t in &self.targets {
                let verdict = if t.met { "met" } else { "**missed**" };
                let _ = writeln!(out, "- {verdict}: {} — {}", t.what, t.measured);
            }
            out.push('\n');
        }
        if !self.notes.is_empty() {
            out += "**Notes**\n\n";
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}

fn num(v: &Value, path: &str) -> Result<f64> {
    let mut at = v;
    for key in path.split('.') {
        at = at.get(key).ok_or_else(|| anyhow!("no `{path}` in {v}"))?;
    }
    at.as_f64()
        .ok_or_else(|| anyhow!("`{path}` is not a number in {v}"))
}

fn nums(v: &Value, key: &str) -> Result<Vec<f64>> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("no `{key}` array"))?
        .iter()
        .map(|x| {
            x.as_f64()
                .ok_or_else(|| anyhow!("`{key}` holds a non-number"))
        })
        .collect()
}

fn ms(x: f64) -> String {
    format!("{x:.3} ms")
}

fn us(x_ms: f64) -> String {
    format!("{:.1} µs", x_ms * 1e3)
}

fn gbps(x: f64) -> String {
    format!("{x:.2} GB/s")
}

fn ratio(x: f64) -> String {
    format!("{x:.2}×")
}

/// Every `actual_ns` of a `bench_sleep` run, in order, checked against its documented format.
pub fn parse_sleep_stdout(stdout: &str) -> Result<Vec<u64>> {
    let mut lines = stdout.lines();
    let first = lines.next().unwrap_or("");
    let rest = first
        .strip_prefix("phase start iterations=")
        .ok_or_else(|| anyhow!("bench_sleep output starts with {first:?}"))?;
    let (iterations, _) = rest
        .split_once(' ')
        .ok_or_else(|| anyhow!("malformed {first:?}"))?;
    let iterations: usize = iterations.parse().context("iterations")?;
    if lines.next() != Some("phase end") {
        bail!("bench_sleep output lacks `phase end` after {first:?}");
    }
    let mut actual = Vec::with_capacity(iterations);
    for line in lines.by_ref().take(iterations) {
        let ns = line
            .split_once(" actual_ns=")
            .filter(|(head, _)| head.starts_with("sleep asked_ns="))
            .and_then(|(_, n)| n.parse().ok())
            .ok_or_else(|| anyhow!("bench_sleep line {line:?} is not `sleep … actual_ns=<n>`"))?;
        actual.push(ns);
    }
    if actual.len() != iterations || lines.next() != Some("done") {
        bail!(
            "bench_sleep output is cut short ({} of {iterations} sleeps)",
            actual.len()
        );
    }
    Ok(actual)
}

/// Per-repetition figures of one variant.
struct Series {
    label: String,
    values: Vec<f64>,
}

fn series_line(table: &mut Table, row: &str, s: &Series, fmt: fn(f64) -> String, vs: &str) {
    table.row(&[
        row,
        &s.label,
        &fmt(min(&s.values)),
        &fmt(median(&s.values)),
        vs,
    ]);
}

/// Builds the report for whatever rows the session ran. `config` is what the page was given.
pub fn build(outcome: &Outcome, config: &Value) -> Result<Report> {
    let mut report = Report::default();
    let mut main = Table::new(
        "Pollscope benchmarks (each figure: min / median over the repetitions of this run)",
        &["row", "variant", "min", "median", "vs baseline"],
    );
    if outcome.of("sleep").next().is_some() {
        sleep(outcome, config, &mut main, &mut report)?;
    }
    if outcome.of("ring-throughput").next().is_some() {
        ring(outcome, config, &mut main, &mut report)?;
    }
    report.tables.insert(0, main);
    Ok(report)
}

fn sleep(outcome: &Outcome, config: &Value, main: &mut Table, report: &mut Report) -> Result<()> {
    let iterations = num(config, "sleep.iterations")?;
    let asked = num(config, "sleep.ms")?;
    let hz = procfs::ticks_per_second() as f64;
    let mut medians = [Vec::new(), Vec::new()];
    let mut cpu_ticks = [Vec::new(), Vec::new()];
    let mut cpu_run = [Vec::new(), Vec::new()];
    for m in outcome.of("sleep") {
        let (i, durations) = match m.variant.as_str() {
            "baseline" => (0, nums(&m.data, "durationsMs")?),
            "guest" => {
                let stdout = m.data.get("stdout").and_then(Value::as_str).unwrap_or("");
                let ns = parse_sleep_stdout(stdout)?;
                (1, ns.iter().map(|&n| n as f64 / 1e6).collect())
            }
            other => bail!("unknown sleep variant {other}"),
        };
        medians[i].push(grouped_percentile(&durations, CLOCK_STEP_MS, 50.0));
        let phase_ms: f64 = durations.iter().sum();
        let key = format!("sleep/{}/{}", m.variant, m.rep);
        if let (Some(start), Some(end)) = (outcome.mark(&key, "start"), outcome.mark(&key, "end")) {
            let (ticks, run_ns) = procfs::cpu_between(&start.threads, &end.threads);
            cpu_ticks[i].push(ticks as f64 / hz * 1e3 / phase_ms * 100.0);
            if let Some(ns) = run_ns {
                cpu_run[i].push(ns as f64 / 1e6 / phase_ms * 100.0);
            }
        }
    }
    let row = format!("sleep {asked} ms ×{iterations}: median actual");
    let base = Series {
        label: "Atomics.wait(…, 1) in a plain worker (baseline)".into(),
        values: medians[0].clone(),
    };
    let guest = Series {
        label: "guest std::thread::sleep, via pollscope.js".into(),
        values: medians[1].clone(),
    };
    let delta = median(&guest.values) - median(&base.values);
    series_line(main, &row, &base, ms, "");
    series_line(
        main,
        &row,
        &guest,
        ms,
        &format!(
            "{:+.1} µs ({})",
            delta * 1e3,
            ratio(median(&guest.values) / median(&base.values))
        ),
    );
    report.targets.push(Target {
        what: format!("guest {asked} ms sleep median within 50 µs of raw Atomics.wait"),
        measured: format!("{:+.1} µs", delta * 1e3),
        met: delta * 1e3 <= 50.0,
    });

    let pct = |x: f64| format!("{x:.2} %");
    let per_sleep = |p: f64| p / 100.0 * asked * 1e3;
    for (what, values) in [("utime+stime", &cpu_ticks), ("schedstat", &cpu_run)] {
        if values[1].is_empty() {
            continue;
        }
        let row = format!("worker CPU during the sleeps ({what}), % of one core");
        for (i, label) in ["plain worker (baseline)", "guest: wasm + event workers"]
            .iter()
            .enumerate()
        {
            let mut vs = format!("{:.0} µs CPU per sleep", per_sleep(median(&values[i])));
            if i == 1 && median(&values[0]) > 0.0 {
                vs += &format!(" ({})", ratio(median(&values[1]) / median(&values[0])));
            }
            series_line(
                main,
                &row,
                &Series {
                    label: (*label).into(),
                    values: values[i].clone(),
                },
                pct,
                &vs,
            );
        }
    }
    let best = if cpu_run[1].is_empty() {
        &cpu_ticks[1]
    } else {
        &cpu_run[1]
    };
    if !best.is_empty() {
        report.targets.push(Target {
            what: "worker CPU during the guest's sleeps near zero (≤ 5 % of one core)".into(),
            measured: format!("{:.2} % (median)", median(best)),
            met: median(best) <= 5.0,
        });
    }
    report.notes.push(format!(
        "sleep: worker CPU is summed over every `DedicatedWorker` thread of the Chromium this \
         harness started, between the page's phase marks, divided by the phase's duration; \
         utime+stime counts in {hz} Hz ticks, schedstat in ns."
    ));
    Ok(())
}

fn throughput(m: &Measurement) -> Result<f64> {
    // Bytes per ms / 1e6 = GB/s.
    if m.variant.starts_with("memcpy/") {
        return Ok(num(&m.data, "bytes")? / num(&m.data, "elapsedMs")? / 1e6);
    }
    Ok(num(&m.data, "consumer.bytes")? / num(&m.data, "consumer.elapsedMs")? / 1e6)
}

fn size_name(len: u64) -> String {
    if len >= 1024 && len.is_multiple_of(1024) {
        format!("{} KiB", len / 1024)
    } else {
        format!("{len} B")
    }
}

/// Notify→wake latency: one hop is half a round trip. Percentiles are interpolated on the
/// clock's 5 µs grid (see [`grouped_percentile`]); the mean needs no such care.
fn latency(
    outcome: &Outcome,
    main: &mut Table,
    report: &mut Report,
    breakdown: &mut Table,
    rust_ops: Option<&Value>,
) -> Result<()> {
    let variants = [
        ("js", "plain-JS ring (baseline)"),
        ("rust", "Rust ring"),
        ("js/raw", "no ring: WAKE add+notify / wait, from JS"),
        ("rust/raw", "no ring: the same from wasm via js-sys"),
    ];
    let mut stats: Vec<[Vec<f64>; 3]> = vec![Default::default(); variants.len()];
    let mut after_wake: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for m in outcome.of("ring-latency") {
        let Some(i) = variants.iter().position(|(v, _)| *v == m.variant) else {
            continue;
        };
        let rtt = nums(&m.data, "rttMs")?;
        stats[i][0].push(grouped_percentile(&rtt, CLOCK_STEP_MS, 50.0) / 2.0);
        stats[i][1].push(grouped_percentile(&rtt, CLOCK_STEP_MS, 99.0) / 2.0);
        stats[i][2].push(rtt.iter().sum::<f64>() / rtt.len().max(1) as f64 / 2.0);
        if let (Ok(total), Ok(woken)) = (num(&m.data, "afterWakeMs"), num(&m.data, "woken")) {
            after_wake[i].push(total / woken.max(1.0));
        }
    }
    if stats[0][0].is_empty() || stats[1][0].is_empty() {
        return Ok(());
    }
    for (k, what) in ["p50", "p99", "mean"].iter().enumerate() {
        let row = format!("notify→wake latency {what} (round trip / 2)");
        for (i, (_, label)) in variants.iter().enumerate() {
            if stats[i][k].is_empty() || (k == 1 && i >= 2) {
                continue;
            }
            let vs = if i == 0 {
                String::new()
            } else {
                ratio(median(&stats[i][k]) / median(&stats[0][k]))
            };
            series_line(
                main,
                &row,
                &Series {
                    label: (*label).into(),
                    values: stats[i][k].clone(),
                },
                us,
                &vs,
            );
        }
    }
    let rel = median(&stats[1][0]) / median(&stats[0][0]);
    report.targets.push(Target {
        what: "Rust ring wake latency p50 ≤ 1.5× the plain-JS ring".into(),
        measured: ratio(rel),
        met: rel <= 1.5,
    });

    // Where a hop's time goes: the wait itself (raw, JS), reaching it from wasm (raw, wasm −
    // raw, JS), and the ring's publish + drain (ring − raw, each language).
    let mean = |i: usize| median(&stats[i][2]) * 1e3;
    if !stats[2][2].is_empty() && !stats[3][2].is_empty() {
        breakdown.row(&[
            "latency",
            "mean hop: Atomics notify→wake alone (raw, from JS)",
            &format!("{:.1} µs", mean(2)),
            &format!("{:.1} µs", mean(2)),
        ]);
        breakdown.row(&[
            "latency",
            "mean hop: + reaching Atomics from wasm via js-sys (raw wasm − raw JS)",
            &format!("{:+.1} µs", mean(3) - mean(2)),
            "",
        ]);
        breakdown.row(&[
            "latency",
            "mean hop: + ring publish and drain (ring − raw, same language)",
            &format!("{:+.1} µs", mean(1) - mean(3)),
            &format!("{:+.1} µs", mean(0) - mean(2)),
        ]);
    }
    if after_wake.iter().all(|v| !v.is_empty()) {
        let at = |i: usize| median(&after_wake[i]) * 1e3;
        breakdown.row(&[
            "latency",
            "mean hop: from wake-up to done (drain, answer), measured, ring / raw",
            &format!("{:.1} µs / {:.1} µs", at(1), at(3)),
            &format!("{:.1} µs / {:.1} µs", at(0), at(2)),
        ]);
    }
    if let (Some(counted), Some(costs)) = (
        outcome
            .results
            .iter()
            .find(|m| m.row == "ring-latency-count"),
        rust_ops,
    ) {
        // The initiator sends once and receives once per round: both ends of one hop.
        let rounds = nums(&counted.data, "rttMs")?.len().max(1) as f64;
        let ops = &counted.data["ops"];
        let per = |k: &str| -> Result<f64> { Ok(num(ops, k)? / rounds) };
        let calls_ns = per("load")? * num(costs, "load")?
            + per("store")? * num(costs, "store")?
            + per("add")? * num(costs, "add")?
            + per("notify")? * num(costs, "notify")?
            + per("writes")? * num(costs, "write8")?
            + per("reads")? * num(costs, "read8")?;
        breakdown.row(&[
            "latency",
            "per hop (send + receive): shared-memory calls, and their cost",
            &format!(
                "{:.1} load, {:.1} store, {:.1} add, {:.1} notify, {:.1} copies: {:.1} µs",
                per("load")?,
                per("store")?,
                per("add")?,
                per("notify")?,
                per("writes")? + per("reads")?,
                calls_ns / 1e3
            ),
            "2 header words + 1 copy each way, 4 atomics",
        ]);
    }
    Ok(())
}

fn ring(outcome: &Outcome, config: &Value, main: &mut Table, report: &mut Report) -> Result<()> {
    let sizes: Vec<u64> = config["ring"]["sizes"]
        .as_array()
        .ok_or_else(|| anyhow!("config has no ring.sizes"))?
        .iter()
        .filter_map(|s| s["len"].as_u64())
        .collect();
    let ops_of = |variant: &str| {
        outcome
            .results
            .iter()
            .find(|m| m.row == "ring-ops" && m.variant == variant)
            .map(|m| m.data.clone())
    };
    let (rust_ops, js_ops) = (ops_of("rust"), ops_of("js"));
    let mut breakdown = Table::new(
        "Ring: where the time goes (median run; per packet unless said otherwise)",
        &["packets", "item", "Rust ring", "JS ring"],
    );

    for &len in &sizes {
        let collect = |imp: &str| -> Result<Vec<&Measurement>> {
            Ok(outcome
                .of("ring-throughput")
                .filter(|m| m.variant == format!("{imp}/{len}"))
                .collect())
        };
        let rates = |ms: &[&Measurement]| -> Result<Vec<f64>> {
            ms.iter().map(|m| throughput(m)).collect()
        };
        let (rust, js, copy) = (collect("rust")?, collect("js")?, collect("memcpy")?);
        let (r, j, c) = (rates(&rust)?, rates(&js)?, rates(&copy)?);
        let row = format!("ring throughput, {} packets", size_name(len));
        let rel = median(&r) / median(&j);
        series_line(
            main,
            &row,
            &Series {
                label: "plain-JS SharedArrayBuffer ring (baseline)".into(),
                values: j.clone(),
            },
            gbps,
            "",
        );
        series_line(
            main,
            &row,
            &Series {
                label: "Rust ring (pollscope-ring in the shim's wasm)".into(),
                values: r.clone(),
            },
            gbps,
            &ratio(rel),
        );
        series_line(
            main,
            &row,
            &Series {
                label: "TypedArray.set alone (one copy, one thread)".into(),
                values: c.clone(),
            },
            gbps,
            &ratio(median(&c) / median(&j)),
        );
        report.targets.push(Target {
            what: format!(
                "Rust ring ≥ 70 % of the plain-JS ring, {} packets",
                size_name(len)
            ),
            measured: format!("{:.0} %", rel * 100.0),
            met: rel >= 0.70,
        });
        let batched = collect("rust-batched")?;
        if !batched.is_empty() {
            let b = rates(&batched)?;
            breakdown.row(&[
                &size_name(len),
                "throughput, experiment: the Rust ring with copies batched (see Batch in ring_probe.rs)",
                &format!("{} ({} of JS)", gbps(median(&b)), ratio(median(&b) / median(&j))),
                &gbps(median(&j)),
            ]);
        }
        breakdown_rows(
            &mut breakdown,
            len,
            outcome,
            &rust,
            &js,
            rust_ops.as_ref(),
            js_ops.as_ref(),
        )?;
    }

    latency(outcome, main, report, &mut breakdown, rust_ops.as_ref())?;

    if let (Some(rust_ops), Some(js_ops)) = (&rust_ops, &js_ops) {
        let mut costs = Table::new(
            "Ring: cost of one shared-memory operation (ns per call)",
            &[
                "operation",
                "kind",
                "Rust: JsSharedMemory (wasm → JS)",
                "JS: direct",
            ],
        );
        for (key, what, kind) in [
            ("load", "Atomics.load", "word"),
            ("store", "Atomics.store", "word"),
            ("add", "Atomics.add", "word"),
            ("notify", "Atomics.notify, nobody waiting", "word"),
            ("write8", "copy 8 B into the SAB", "bytes"),
            ("write256", "copy 256 B into the SAB", "bytes"),
            ("write64k", "copy 64 KiB into the SAB", "bytes"),
            ("read8", "copy 8 B out of the SAB", "bytes"),
            ("read256", "copy 256 B out of the SAB", "bytes"),
            ("read64k", "copy 64 KiB out of the SAB", "bytes"),
        ] {
            costs.row(&[
                what,
                kind,
                &format!("{:.0}", num(rust_ops, key)?),
                &format!("{:.0}", num(js_ops, key)?),
            ]);
        }
        report.tables.push(costs);
    }
    report.tables.push(breakdown);
    report.notes.push(
        "ring: throughput = payload bytes / consumer time from the common start to the last \
         packet; ring of 1 MiB, MTU 64 KiB, one stream, a publish (HEAD store + WAKE notify) per \
         64 KiB pushed or when full. Latency: round trips of an 8-byte packet over two rings, \
         both sides asleep in Atomics.wait, performance.now() resolution 5 µs."
            .into(),
    );
    Ok(())
}

/// Cost in ns of one copy of `bytes` bytes, interpolated between the measured sizes.
fn copy_cost(ops: &Value, dir: &str, bytes: f64) -> Result<f64> {
    let at = |key: &str| num(ops, &format!("{dir}{key}"));
    let (c8, c256, c64k) = (at("8")?, at("256")?, at("64k")?);
    Ok(if bytes <= 256.0 {
        c8 + (c256 - c8) * (bytes - 8.0).max(0.0) / 248.0
    } else {
        c256 + (c64k - c256) * (bytes - 256.0) / (65536.0 - 256.0)
    })
}

fn breakdown_rows(
    table: &mut Table,
    len: u64,
    outcome: &Outcome,
    rust: &[&Measurement],
    js: &[&Measurement],
    rust_ops: Option<&Value>,
    js_ops: Option<&Value>,
) -> Result<()> {
    let size = size_name(len);
    let per_packet = |ms: &[&Measurement], side: &str| -> Result<f64> {
        let v: Vec<f64> = ms
            .iter()
            .map(|m| {
                Ok(num(&m.data, &format!("{side}.elapsedMs"))? * 1e6
                    / num(&m.data, &format!("{side}.messages"))?)
            })
            .collect::<Result<_>>()?;
        Ok(median(&v))
    };
    table.row(&[
        &size,
        "wall time per packet (consumer, from start)",
        &format!("{:.0} ns", per_packet(rust, "consumer")?),
        &format!("{:.0} ns", per_packet(js, "consumer")?),
    ]);
    // Busy = not asleep in Atomics.wait; the slower side's busy time sets the pace.
    let split = |ms: &[&Measurement], side: &str| -> Result<String> {
        let mut busy = Vec::new();
        let mut asleep = Vec::new();
        let mut waits = Vec::new();
        for m in ms {
            let d = &m.data[side];
            let n = num(d, "messages")?;
            busy.push((num(d, "elapsedMs")? - num(d, "waitMs")?) * 1e6 / n);
            asleep.push(num(d, "waitMs")? * 1e6 / n);
            waits.push(num(d, "waits")? * 1000.0 / n);
        }
        Ok(format!(
            "{:.0} ns busy + {:.0} ns asleep ({:.1} waits per 1000)",
            median(&busy),
            median(&asleep),
            median(&waits)
        ))
    };
    for side in ["producer", "consumer"] {
        table.row(&[
            &size,
            &format!("{side}: busy / asleep in Atomics.wait"),
            &split(rust, side)?,
            &split(js, side)?,
        ]);
    }
    let Some(counted) = outcome
        .results
        .iter()
        .find(|m| m.row == "ring-count" && m.variant == len.to_string())
    else {
        return Ok(());
    };
    let (Some(rust_ops), Some(js_ops)) = (rust_ops, js_ops) else {
        return Ok(());
    };
    let batch_packets = (65536.0 / len as f64).max(1.0);
    for side in ["producer", "consumer"] {
        let ops = &counted.data[side]["ops"];
        let messages = num(&counted.data, &format!("{side}.messages"))?;
        let per = |key: &str| -> Result<f64> { Ok(num(ops, key)? / messages) };
        let (copies, copied) = if side == "producer" {
            (per("writes")?, per("writtenBytes")?)
        } else {
            (per("reads")?, per("readBytes")?)
        };
        table.row(&[
            &size,
            &format!("{side}: shared-memory calls"),
            &format!(
                "{:.2} load, {:.2} store, {:.2} add, {:.2} notify, {:.2} copies ({:.0} B)",
                per("load")?,
                per("store")?,
                per("add")?,
                per("notify")?,
                copies,
                copied
            ),
            &format!(
                "2 header words + 1 copy ({len} B); per batch of {batch_packets:.0}: {}",
                if side == "producer" {
                    "store, add, notify"
                } else {
                    "load, store"
                }
            ),
        ]);
        // Every copy but the payload is a header (8 B) or the second piece of a wrapped payload.
        let dir = if side == "producer" { "write" } else { "read" };
        let word_ns = |o: &Value| -> Result<f64> {
            Ok(per("load")? * num(o, "load")?
                + per("store")? * num(o, "store")?
                + per("add")? * num(o, "add")?
                + per("notify")? * num(o, "notify")?)
        };
        let rust_copy = (copies - 1.0).max(0.0) * copy_cost(rust_ops, dir, 8.0)?
            + copy_cost(rust_ops, dir, len as f64)?;
        let js_copy = copy_cost(js_ops, dir, len as f64)?;
        let js_words = (if side == "producer" {
            num(js_ops, "store")? + num(js_ops, "add")? + num(js_ops, "notify")?
        } else {
            num(js_ops, "load")? + num(js_ops, "store")?
        }) / batch_packets;
        table.row(&[
            &size,
            &format!("{side}: time in those calls (calls × cost each)"),
            &format!(
                "{:.0} ns ({:.0} copies + {:.0} atomics)",
                rust_copy + word_ns(rust_ops)?,
                rust_copy,
                word_ns(rust_ops)?
            ),
            &format!(
                "{:.0} ns ({:.0} copy + {:.0} atomics)",
                js_copy + js_words,
                js_copy,
                js_words
            ),
        ]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bench_sleep_output() {
        let out = "phase start iterations=2 asked_ns=1000000\nphase end\n\
                   sleep asked_ns=1000000 actual_ns=1100000\n\
                   sleep asked_ns=1000000 actual_ns=1050000\ndone\n";
        assert_eq!(parse_sleep_stdout(out).unwrap(), vec![1_100_000, 1_050_000]);
        assert!(
            parse_sleep_stdout("phase start iterations=2 asked_ns=1\nphase end\ndone\n").is_err()
        );
        assert!(parse_sleep_stdout("hello").is_err());
    }

    #[test]
    fn tables_align_and_render_markdown() {
        let mut t = Table::new("T", &["row", "variant", "min"]);
        t.row(&["a", "b", "1.0 ms"]);
        t.row(&["long row", "x|y", "10.0 ms"]);
        let text = t.to_text();
        assert!(text.contains("\na         b         1.0 ms\n"), "{text}");
        assert!(text.contains("\nlong row  x|y      10.0 ms\n"), "{text}");
        let md = t.to_markdown();
        assert!(md.contains("| long row | x\\|y | 10.0 ms |"), "{md}");
        assert!(md.contains("| --- | --- | ---: |"), "{md}");
    }

    #[test]
    fn copy_cost_interpolates() {
        let ops = serde_json::json!({"write8": 10.0, "write256": 20.0, "write64k": 1020.0});
        assert_eq!(copy_cost(&ops, "write", 8.0).unwrap(), 10.0);
        assert_eq!(copy_cost(&ops, "write", 256.0).unwrap(), 20.0);
        assert_eq!(copy_cost(&ops, "write", 65536.0).unwrap(), 1020.0);
    }
}
