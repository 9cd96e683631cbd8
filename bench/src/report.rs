//! From a session's measurements to the printed table, the targets and the ring breakdown.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::session::{Measurement, Outcome};
use crate::stats::{grouped_percentile, median, min};

mod sleep;
mod telemetry;

/// `performance.now()` resolution in a cross-origin isolated page (Chromium), in ms.
pub(crate) const CLOCK_STEP_MS: f64 = 0.005;

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
        sleep::rows(outcome, config, &mut main, &mut report)?;
    }
    if outcome.of("ring-throughput").next().is_some() {
        ring(outcome, config, &mut main, &mut report)?;
    }
    peers(outcome, config, &mut report)?;
    telemetry::overhead(outcome, config, &mut report)?;
    telemetry::soak(outcome, config, &mut report)?;
    if !main.rows.is_empty() {
        report.tables.insert(0, main);
    }
    Ok(report)
}

/// The `key=<number>` words of a guest's report line.
fn field(line: &str, key: &str) -> Result<f64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow!("no `{key}=<n>` in {line:?}"))
}

/// The first line of the measurement's `stdout` (or `stderr`) starting with `prefix`.
fn line_of<'a>(m: &'a Measurement, stream: &str, prefix: &str) -> Result<&'a str> {
    m.data
        .get(stream)
        .and_then(Value::as_str)
        .unwrap_or("")
        .lines()
        .find(|l| l.starts_with(prefix))
        .ok_or_else(|| anyhow!("{} {}: no `{prefix}…` line in {stream}", m.row, m.variant))
}

fn mib_s(x: f64) -> String {
    if x >= 1024.0 {
        format!("{:.2} GiB/s", x / 1024.0)
    } else {
        format!("{x:.0} MiB/s")
    }
}

fn ns(x: f64) -> String {
    format!("{x:.0} ns")
}

fn kb(bytes: f64) -> String {
    format!("{:.0} KB", bytes / 1000.0)
}

const MIB: f64 = 1024.0 * 1024.0;

/// Pollscope against jco (and a floor where there is one): clock reads, stdout, stdin,
/// instantiation and sizes, each `Pollscope ÷ peer` of the figure shown.
fn peers(outcome: &Outcome, config: &Value, report: &mut Report) -> Result<()> {
    let mut table = Table::new(
        "Pollscope vs jco (@bytecodealliance/jco transpile + preview2-shim browser build), \
         same Chromium run; min / median over the repetitions",
        &["row", "variant", "min", "median", "Pollscope ÷ this"],
    );
    let by = |row: &str, variant: &str| by_variant(outcome, row, variant);
    let mut extra_tables = Vec::new();
    let jco = [
        ("jco-sync", "jco sync"),
        ("jco-jspi", "jco --async-mode jspi"),
    ];
    let jspi_here = outcome
        .results
        .iter()
        .find(|m| m.row == "env")
        .and_then(|m| m.data.get("jspi"))
        .and_then(Value::as_bool);
    let jco_modes: Vec<&str> = config["jco"]["modes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();

    // now: ns per call.
    if outcome.of("now").next().is_some() {
        let row = format!(
            "monotonic-clock.now ×{}: ns per call",
            num(config, "now.iterations")?
        );
        let per_call = |ms: &[&Measurement], key: &str| -> Result<Vec<f64>> {
            ms.iter()
                .map(|m| {
                    let line = line_of(m, "stdout", "now ")?;
                    Ok(field(line, key)? / field(line, "iterations")?)
                })
                .collect()
        };
        let ours = per_call(&by("now", "pollscope"), "elapsed_ns")?;
        let cell = |v: &[f64]| ratio(median(&ours) / median(v));
        series_line(
            &mut table,
            &row,
            &Series {
                label: "Pollscope (wasm worker, via pollscope.js)".into(),
                values: ours.clone(),
            },
            ns,
            "",
        );
        let empty = per_call(&by("now", "pollscope"), "empty_ns")?;
        series_line(
            &mut table,
            &row,
            &Series {
                label: "the guest's loop without the call".into(),
                values: empty,
            },
            ns,
            "",
        );
        for (via, label) in [
            (
                "floor/arrow",
                "floor: performance.now() from a 90-byte wasm module, via a JS arrow import",
            ),
            (
                "floor/bound",
                "floor: the same, importing performance.now.bind(performance) (no JS frame)",
            ),
        ] {
            let floor: Vec<f64> = by("now", via)
                .iter()
                .map(|m| Ok(num(&m.data, "elapsedMs")? * 1e6 / num(&m.data, "iterations")?))
                .collect::<Result<_>>()?;
            if !floor.is_empty() {
                series_line(
                    &mut table,
                    &row,
                    &Series {
                        label: format!("{label}, in a worker"),
                        values: floor.clone(),
                    },
                    ns,
                    &cell(&floor),
                );
            }
        }
        for (variant, label) in jco {
            let v = per_call(&by("now", variant), "elapsed_ns")?;
            if !v.is_empty() {
                series_line(
                    &mut table,
                    &row,
                    &Series {
                        label: label.into(),
                        values: v.clone(),
                    },
                    ns,
                    &cell(&v),
                );
            }
        }
        report.targets.push(Target {
            what: "monotonic-clock.now ≤ 200 ns per call".into(),
            measured: ns(median(&ours)),
            met: median(&ours) <= 200.0,
        });
    }

    // stdout: MiB/s where the bytes land, first to last byte; and as the guest timed it.
    if outcome.of("stdout").next().is_some() {
        let total = num(config, "stdout.totalBytes")? / MIB;
        let chunk = num(config, "stdout.chunk")?;
        let row = format!("stdout, {total} MiB in {chunk} B writes: MiB/s");
        let rate = |ms: &[&Measurement], guest_timed: bool| -> Result<Vec<f64>> {
            ms.iter()
                .map(|m| {
                    let bytes = num(&m.data, "bytes")?;
                    if bytes != num(config, "stdout.totalBytes")? {
                        bail!("{} stdout: counted {bytes} bytes", m.variant);
                    }
                    let ms = if guest_timed {
                        field(line_of(m, "stderr", "stdout ")?, "elapsed_ns")? / 1e6
                    } else {
                        num(&m.data, "startMarkerToLastMs")?
                    };
                    Ok(bytes / MIB / (ms / 1e3))
                })
                .collect()
        };
        let ours = rate(&by("stdout", "pollscope"), false)?;
        let ours_guest = rate(&by("stdout", "pollscope"), true)?;
        let fresh = rate(&by("stdout", "pollscope-fresh"), false)?;
        let mut extra_rows: Vec<(String, Vec<f64>)> = Vec::new();
        series_line(
            &mut table,
            &row,
            &Series {
                label: "Pollscope: counted in onStdout on the page (borrowOutput: views of one \
                        reused buffer), start marker to last byte"
                    .into(),
                values: ours.clone(),
            },
            mib_s,
            "",
        );
        if !fresh.is_empty() {
            series_line(
                &mut table,
                &row,
                &Series {
                    label: "Pollscope: the same with onStdout's default, a fresh buffer per chunk"
                        .into(),
                    values: fresh.clone(),
                },
                mib_s,
                "",
            );
        }
        series_line(
            &mut table,
            &row,
            &Series {
                label: "Pollscope: as the guest timed it (first write to flush)".into(),
                values: ours_guest.clone(),
            },
            mib_s,
            "",
        );
        for (variant, label) in jco {
            let v = rate(&by("stdout", variant), false)?;
            if !v.is_empty() {
                series_line(
                    &mut table,
                    &row,
                    &Series {
                        label: format!("{label}: counted in its stdout handler, the same span"),
                        values: v.clone(),
                    },
                    mib_s,
                    &ratio(median(&ours) / median(&v)),
                );
            }
        }
        for m in outcome.of("stdout") {
            let Some(big) = m.variant.strip_prefix("pollscope/") else {
                continue;
            };
            if extra_rows
                .iter()
                .any(|(v, _): &(String, Vec<f64>)| v == big)
            {
                continue;
            }
            let v = outcome
                .of("stdout")
                .filter(|x| x.variant == m.variant)
                .map(|x| {
                    Ok(num(config, "stdout.totalBytes")?
                        / MIB
                        / (field(line_of(x, "stderr", "stdout ")?, "elapsed_ns")? / 1e9))
                })
                .collect::<Result<Vec<f64>>>()?;
            extra_rows.push((big.to_string(), v));
        }
        for (big, v) in &extra_rows {
            series_line(
                &mut table,
                &row,
                &Series {
                    label: format!("breakdown: Pollscope with {big} B writes, guest-timed"),
                    values: v.clone(),
                },
                mib_s,
                "",
            );
            let total = num(config, "stdout.totalBytes")?;
            let small_ms = total / MIB / median(&ours_guest) * 1e3;
            let big_ms = total / MIB / median(v) * 1e3;
            let big_writes = total / big.parse::<f64>().unwrap_or(chunk);
            report.notes.push(format!(
                "stdout breakdown (guest-timed medians): {small_ms:.1} ms in {:.0} write_all calls \
                 of {chunk} B, {big_ms:.1} ms in {big_writes:.0} of {big} B. The extra write calls \
                 account for {:.0} % of the {chunk} B run ({:.2} µs each); the rest, {:.2} ms per \
                 MiB, goes with the bytes moved from guest memory to the page (wasi-libc may still \
                 split a large write into ≤ 4096 B host calls, so this bounds the per-call share \
                 from below).",
                total / chunk,
                ((small_ms - big_ms) / small_ms * 100.0).max(0.0),
                ((small_ms - big_ms) / (total / chunk - big_writes) * 1e3).max(0.0),
                big_ms / (total / MIB),
            ));
        }
        report.targets.push(Target {
            what: "stdout ≥ 2 GiB/s (counted on the page)".into(),
            measured: mib_s(median(&ours)),
            met: median(&ours) >= 2048.0,
        });
        let jco_sync = rate(&by("stdout", "jco-sync"), false)?;
        if !jco_sync.is_empty() {
            let times = median(&ours) / median(&jco_sync);
            report.targets.push(Target {
                what: "stdout ≥ 10× jco sync (counted on the page)".into(),
                measured: format!("{times:.2}×"),
                met: times >= 10.0,
            });
        }
    }

    // stdin: MiB/s through writeStdin into blocking reads.
    if outcome.of("stdin").next().is_some() {
        let total = num(config, "stdin.totalBytes")?;
        let row = format!("stdin, {} MiB into blocking reads: MiB/s", total / MIB);
        let guest_rate = |ms: &[&Measurement]| -> Result<Vec<f64>> {
            ms.iter()
                .map(|m| {
                    let line = line_of(m, "stdout", "stdin ")?;
                    if field(line, "bytes")? != total {
                        bail!("{} stdin: the guest read {line:?}", m.variant);
                    }
                    Ok(total / MIB / (field(line, "elapsed_ns")? / 1e9))
                })
                .collect()
        };
        let ours = by("stdin", "pollscope");
        let page: Vec<f64> = ours
            .iter()
            .map(|m| Ok(total / MIB / (num(&m.data, "pageMs")? / 1e3)))
            .collect::<Result<_>>()?;
        report.targets.push(Target {
            what: "stdin ≥ 1 GiB/s (page writeStdin to the guest's count)".into(),
            measured: mib_s(median(&page)),
            met: median(&page) >= 1024.0,
        });
        series_line(
            &mut table,
            &row,
            &Series {
                label: format!(
                    "Pollscope: page writeStdin ({} KiB each, {} in flight) to the guest's count",
                    num(config, "stdin.writeBytes")? / 1024.0,
                    num(config, "stdin.inFlight")?
                ),
                values: page.clone(),
            },
            mib_s,
            "",
        );
        series_line(
            &mut table,
            &row,
            &Series {
                label: "Pollscope: as the guest timed it (first read to end-of-file)".into(),
                values: guest_rate(&ours)?,
            },
            mib_s,
            "",
        );
        for (variant, label) in jco {
            let v = guest_rate(&by("stdin", variant))?;
            if !v.is_empty() {
                series_line(
                    &mut table,
                    &row,
                    &Series {
                        label: format!(
                            "{label}: no stdin from the page (see notes); a sync handler over \
                             bytes already in the worker, guest-timed"
                        ),
                        values: v,
                    },
                    mib_s,
                    "n/a: cannot run this row",
                );
            }
        }
    }

    if let Some(m) = by("stdin", "pollscope").last() {
        let r = &m.data["ring"];
        if r.is_object() {
            report.notes.push(format!(
                "stdin ring (last run): capacity {} B, high-water {} B, {} packets in, {} \
                 producer stalls (ring full).",
                r["capacity"], r["highWater"], r["packetsIn"], r["stalls"]
            ));
        }
    }
    if !by("stdin", "jco-sync").is_empty() {
        report.notes.push(
            "stdin under jco: the preview2-shim browser build cannot feed a running guest from \
             the page: its stdin is closed, and a custom `_setStdin` handler's `blockingRead` \
             must answer synchronously in the guest's own thread, where no page message can \
             arrive. The jco figure is that handler slicing 64 MiB already in the worker — an \
             upper bound for a copy, not the row's job — so there is no ratio."
                .into(),
        );
    }

    // instantiate: ms from bytes to the guest's first output.
    if outcome.of("instantiate").next().is_some() {
        let ours = by("instantiate", "pollscope");
        let size = ours
            .first()
            .map(|m| num(&m.data, "bytes"))
            .transpose()?
            .unwrap_or(0.0);
        let row = format!(
            "instantiate: bytes to first output, {} component (~600 KB of code)",
            kb(size)
        );
        let first = |ms: &[&Measurement]| -> Result<Vec<f64>> {
            ms.iter().map(|m| num(&m.data, "firstOutputMs")).collect()
        };
        // One line per Pollscope variant that ran (no ratio: jco's lines carry them).
        let mut ours_line = |label: &str, values: &[f64]| {
            if !values.is_empty() {
                let series = Series {
                    label: label.into(),
                    values: values.to_vec(),
                };
                series_line(&mut table, &row, &series, ms, "");
            }
        };
        let o = first(&ours)?;
        ours_line(
            "Pollscope, cold: startComponent(bytes) → first onStdout, in a fresh page with the \
             start cache empty (parses at runtime)",
            &o,
        );
        let warm = first(&by("instantiate", "pollscope-warm"))?;
        ours_line(
            "Pollscope, warm: the same in another fresh page right after, same browser profile \
             (a reload)",
            &warm,
        );
        let restart = first(&by("instantiate", "pollscope-restart"))?;
        ours_line(
            "Pollscope, restart() in the warm start's page (shim and core modules compiled, \
             translation cached: the floor under any start)",
            &restart,
        );
        let transpile = |mode: &str| {
            outcome
                .results
                .iter()
                .find(|m| {
                    m.row == "transpile"
                        && m.variant
                            == format!(
                                "{mode}/{}",
                                config["instantiate"]["guest"].as_str().unwrap_or("")
                            )
                })
                .and_then(|m| num(&m.data, "ms").ok())
        };
        for ((variant, label), mode) in jco.iter().zip(["sync", "jspi"]) {
            let j = by("instantiate", variant);
            if j.is_empty() {
                continue;
            }
            let v = first(&j)?;
            if mode == "sync" {
                report.targets.push(Target {
                    what: "instantiate, cold: below jco sync's first output (transpiled ahead)"
                        .into(),
                    measured: format!("{} vs {}", ms(median(&o)), ms(median(&v))),
                    met: median(&o) < median(&v),
                });
                if !warm.is_empty() {
                    let floor = if restart.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; a restart with nothing to compile or parse: {} ({:.0} %)",
                            ms(median(&restart)),
                            100.0 * median(&restart) / median(&v)
                        )
                    };
                    report.targets.push(Target {
                        what: "instantiate, warm (a reload): ≤ 50 % of jco sync's first output"
                            .into(),
                        measured: format!(
                            "{} vs {} ({:.0} %){floor}",
                            ms(median(&warm)),
                            ms(median(&v)),
                            100.0 * median(&warm) / median(&v)
                        ),
                        met: median(&warm) <= 0.5 * median(&v),
                    });
                }
            }
            series_line(
                &mut table,
                &row,
                &Series {
                    label: format!("{label}: new worker → first output (transpiled ahead)"),
                    values: v.clone(),
                },
                ms,
                &ratio(median(&o) / median(&v)),
            );
            if let Some(t) = transpile(mode) {
                table.row(&[
                    &row,
                    &format!(
                        "{label}: the transpile step (jco transpile, once, Node start-up included)"
                    ),
                    "",
                    &ms(t),
                    "",
                ]);
                table.row(&[
                    &row,
                    &format!("{label}: transpile + first output"),
                    "",
                    &ms(t + median(&v)),
                    &ratio(median(&o) / (t + median(&v))),
                ]);
            }
        }
        over_link(&mut table, outcome, config, size)?;
        extra_tables.extend(instantiate_breakdown(outcome)?);
    }

    // Where jco could not be measured, say so.
    if jco_modes.is_empty() {
        report.notes.push(
            "jco: not measured in this run (not installed under target/jco, or --no-jco); \
             `cargo xtask bench` installs it with npm."
                .into(),
        );
    } else if jspi_here == Some(false) {
        report.notes.push(
            "jco --async-mode jspi: not measured — this Chromium has no WebAssembly.Suspending."
                .into(),
        );
    }

    extra_tables.extend(sizes(outcome, report)?);
    let had_rows = !table.rows.is_empty();
    if had_rows {
        report.tables.push(table);
    }
    report.tables.extend(extra_tables);
    if had_rows {
        report.notes.push(
            "Pollscope ÷ this: the figure shown divided by the other variant's; for times lower \
             is better for Pollscope, for MiB/s higher. jco runs each guest in a fresh dedicated \
             worker (its shim's stdio and args are global), compiled with \
             WebAssembly.compileStreaming, imports from the preview2-shim browser build; its \
             stdout is counted in a _setStdout handler in that worker."
                .into(),
        );
    }
    Ok(())
}

/// The non-warm-up measurements of one variant of a row.
fn by_variant<'a>(outcome: &'a Outcome, row: &str, variant: &str) -> Vec<&'a Measurement> {
    outcome
        .results
        .iter()
        .filter(|m| m.row == row && m.variant == variant && m.rep >= 0)
        .collect()
}

/// The median of each of Pollscope's start-up milestones (the loader's onTrace) over `ours`,
/// then of the first output, as rows of `t` labelled `label`.
fn pollscope_milestones(t: &mut Table, label: &str, ours: &[&Measurement]) {
    let mut names: Vec<String> = Vec::new();
    for m in ours {
        for tr in m.data["traces"].as_array().into_iter().flatten() {
            let what = tr["what"].as_str().unwrap_or("").to_string();
            // "component fetched (N B)" → "component fetched".
            let what = what.split(" (").next().unwrap_or("").to_string();
            if !names.contains(&what) {
                names.push(what);
            }
        }
    }
    for name in &names {
        let v: Vec<f64> = ours
            .iter()
            .filter_map(|m| {
                m.data["traces"].as_array()?.iter().find_map(|tr| {
                    let w = tr["what"].as_str()?;
                    (w.split(" (").next()? == name).then(|| tr["ms"].as_f64())?
                })
            })
            .collect();
        if !v.is_empty() {
            t.row(&[label, name, &format!("{:.1}", median(&v))]);
        }
    }
    let first: Vec<f64> = ours
        .iter()
        .filter_map(|m| m.data["firstOutputMs"].as_f64())
        .collect();
    if !first.is_empty() {
        t.row(&[label, "first output", &format!("{:.1}", median(&first))]);
    }
}

/// The instantiate row's starts over a slow link: streamed (each core module compiled while
/// it arrives) against the same bytes compiled once they are all in.
fn over_link(table: &mut Table, outcome: &Outcome, config: &Value, size: f64) -> Result<()> {
    let of = |variant: &str| -> Vec<&Measurement> {
        outcome
            .of("instantiate")
            .filter(|m| m.variant == variant)
            .collect()
    };
    let (streamed, downloaded) = (
        of("pollscope-link-streamed"),
        of("pollscope-link-downloaded"),
    );
    if streamed.is_empty() || downloaded.is_empty() {
        return Ok(());
    }
    let values = |ms: &[&Measurement], key: &str| -> Result<Vec<f64>> {
        ms.iter().map(|m| num(&m.data, key)).collect()
    };
    let row = format!(
        "instantiate over a {} Mbit/s link: first byte sent → first output, {} component",
        config["instantiate"]["link"]["mbitPerS"],
        kb(size)
    );
    let base = values(&downloaded, "firstOutputMs")?;
    let last_byte = values(&streamed, "lastByteMs")?;
    table.row(&[
        &row,
        "the last byte arrives (the link alone)",
        &ms(min(&last_byte)),
        &ms(median(&last_byte)),
        "",
    ]);
    series_line(
        table,
        &row,
        &Series {
            label: "Pollscope, cold, the body in one chunk at its last byte's time: compiled \
                    only then, as the loader did before it streamed (baseline)"
                .into(),
            values: base.clone(),
        },
        ms,
        "",
    );
    let ours = values(&streamed, "firstOutputMs")?;
    series_line(
        table,
        &row,
        &Series {
            label: "Pollscope, cold, streamed: startComponent(response), each core module \
                    compiled while it arrives"
                .into(),
            values: ours.clone(),
        },
        ms,
        &format!(
            "{} ({} after the last byte vs {})",
            ratio(median(&ours) / median(&base)),
            ms(median(&ours) - median(&last_byte)),
            ms(median(&base) - median(&last_byte))
        ),
    );
    Ok(())
}

/// Where Pollscope's and jco's start-up time goes (median of each milestone).
fn instantiate_breakdown(outcome: &Outcome) -> Result<Option<Table>> {
    let mut t = Table::new(
        "Instantiate: where the time goes (median ms since the start; Pollscope from the loader's \
         onTrace milestones)",
        &["variant", "milestone", "ms"],
    );
    for (variant, label) in [
        ("pollscope", "Pollscope, cold"),
        ("pollscope-warm", "Pollscope, warm"),
        ("pollscope-restart", "Pollscope, restart"),
        (
            "pollscope-link-streamed",
            "Pollscope, streamed over the link",
        ),
        (
            "pollscope-link-downloaded",
            "Pollscope, compiled after the link",
        ),
    ] {
        let ours: Vec<&Measurement> = outcome
            .of("instantiate")
            .filter(|m| m.variant == variant)
            .collect();
        pollscope_milestones(&mut t, label, &ours);
    }
    for variant in ["jco-sync", "jco-jspi"] {
        let js: Vec<&Measurement> = outcome
            .of("instantiate")
            .filter(|m| m.variant == variant)
            .collect();
        if js.is_empty() {
            continue;
        }
        let med = |key: &str| -> Result<f64> {
            Ok(median(
                &js.iter()
                    .map(|m| num(&m.data, key))
                    .collect::<Result<Vec<_>>>()?,
            ))
        };
        let mut at = 0.0;
        for (key, what) in [
            ("workerStartMs", "worker started"),
            ("importMs", "bindings JS and shim imported"),
            ("compileMs", "core modules compiled"),
            ("instantiateMs", "instantiated"),
        ] {
            at += med(key)?;
            t.row(&[variant, what, &format!("{at:.1}")]);
        }
        t.row(&[
            variant,
            "first output",
            &format!("{:.1}", med("firstOutputMs")?),
        ]);
    }
    Ok((!t.rows.is_empty()).then_some(t))
}

/// Row `size`: raw and gzipped bytes of what a page downloads.
fn sizes(outcome: &Outcome, report: &mut Report) -> Result<Option<Table>> {
    let sizes: Vec<&Measurement> = outcome.of("size").collect();
    if sizes.is_empty() {
        return Ok(None);
    }
    let mut t = Table::new(
        "Sizes (what a page downloads; gzip -9)",
        &["file", "what", "raw", "gzipped"],
    );
    let (mut shim_gz, mut tinygo_gz, mut panel_gz) = (None, None, None);
    for m in &sizes {
        let (raw, gz) = (num(&m.data, "raw")?, num(&m.data, "gzip")?);
        let (file, what) = match m.variant.as_str() {
            "shim-wasm" => {
                shim_gz = Some(gz);
                ("pollscope_shim_bg.wasm", "the shim (target/web)")
            }
            "shim-tinygo-wasm" => {
                tinygo_gz = Some(gz);
                (
                    "pollscope_shim_tinygo_bg.wasm",
                    "the shim with TinyGo introspection, loaded for TinyGo programs only",
                )
            }
            "shim-js" => ("*.js in target/web", "loader, workers, wasm-bindgen glue"),
            "panel-wasm" => {
                panel_gz = Some(gz);
                (
                    "pollscope_panel_bg.wasm",
                    "the Leptos panel (target/web/panel)",
                )
            }
            "panel-js" => ("*.js in target/web/panel", "the panel's wasm-bindgen glue"),
            "instantiate-guest" => ("bench_instantiate.wasm", "the instantiate row's component"),
            "jco-instantiate-output" => (
                "jco out/sync/bench_instantiate",
                "jco's transpiled bindings + core modules for it",
            ),
            "jco-shim-js" => ("preview2-shim dist/browser/*.js", "jco's browser shim"),
            other => (other, ""),
        };
        t.row(&[file, what, &kb(raw), &kb(gz)]);
    }
    for (what, gz, limit) in [
        ("shim wasm ≤ 300 KB gzipped", shim_gz, 300_000.0),
        ("TinyGo shim wasm ≤ 400 KB gzipped", tinygo_gz, 400_000.0),
        ("panel wasm ≤ 800 KB gzipped", panel_gz, 800_000.0),
    ] {
        if let Some(gz) = gz {
            report.targets.push(Target {
                what: what.into(),
                measured: kb(gz),
                met: gz <= limit,
            });
        }
    }
    Ok(Some(t))
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
                label: "Rust ring (pollscope-ring in the bench shim's wasm)".into(),
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
