//! Rows `telemetry-overhead` and `telemetry-soak` (issue #4): what recording costs a guest, and
//! whether a panel watching a sleeping guest for a long time keeps memory flat.

use anyhow::{bail, Result};
use serde_json::Value;

use super::{field, line_of, num, ratio, Report, Series, Table, Target};
use crate::session::Outcome;
use crate::stats::{max, median};

/// Variants of `telemetry-overhead`, as the page names them, and how the report says them.
const VARIANTS: &[(&str, &str)] = &[
    ("off", "telemetry: false (the recorder skipped; baseline)"),
    ("on", "telemetry on, no subscriber"),
    (
        "counters",
        "subscriber without detail (counters and states)",
    ),
    (
        "subscribed",
        "subscriber with detail (batches kept as a panel would)",
    ),
];

/// Target overhead over `off`, in %, per variant.
const TARGETS: &[(&str, f64)] = &[("on", 3.0), ("subscribed", 15.0)];

/// `bench_telemetry_load` against itself with telemetry off, on, and subscribed.
pub(super) fn overhead(outcome: &Outcome, config: &Value, report: &mut Report) -> Result<()> {
    if outcome.of("telemetry-overhead").next().is_none() {
        return Ok(());
    }
    let nows = num(config, "telemetryOverhead.nows")?;
    let sleeps = num(config, "telemetryOverhead.sleeps")?;
    let asked_ns = num(config, "telemetryOverhead.sleepNs")?;
    // Per variant: ns per now(), µs per sleep, and what the page received.
    let mut now_ns = vec![Vec::new(); VARIANTS.len()];
    let mut sleep_us = vec![Vec::new(); VARIANTS.len()];
    let mut received = vec![Vec::new(); VARIANTS.len()];
    for m in outcome.of("telemetry-overhead") {
        let Some(i) = VARIANTS.iter().position(|(v, _)| *v == m.variant) else {
            bail!("unknown telemetry-overhead variant {}", m.variant);
        };
        let line = line_of(m, "stdout", "telemetry-load ")?;
        now_ns[i].push(field(line, "now_ns")? / field(line, "nows")?);
        sleep_us[i].push(field(line, "sleep_ns")? / field(line, "sleeps")? / 1e3);
        received[i].push([
            num(&m.data, "batches")?,
            num(&m.data, "waits")?,
            num(&m.data, "hostCalls")?,
        ]);
    }
    if now_ns.iter().any(Vec::is_empty) {
        bail!("telemetry-overhead lacks a variant: {now_ns:?}");
    }
    let mut table = Table::new(
        "Telemetry overhead (same guest, variants alternating in one Chromium run; min / median \
         over the repetitions)",
        &["row", "variant", "min", "median", "vs telemetry off"],
    );
    let pct = |values: &[f64], base: &[f64]| (median(values) / median(base) - 1.0) * 100.0;
    let mut overheads = vec![(0.0, 0.0); VARIANTS.len()];
    for (phase, (what, values, fmt)) in [
        (
            format!("monotonic-clock.now ×{nows}: ns per call"),
            &now_ns,
            (|x: f64| format!("{x:.1} ns")) as fn(f64) -> String,
        ),
        (
            format!("sleep {asked_ns} ns ×{sleeps}: µs per sleep"),
            &sleep_us,
            |x: f64| format!("{x:.2} µs"),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        for (i, (_, label)) in VARIANTS.iter().enumerate() {
            let vs = if i == 0 {
                String::new()
            } else {
                let p = pct(&values[i], &values[0]);
                if phase == 0 {
                    overheads[i].0 = p;
                } else {
                    overheads[i].1 = p;
                }
                format!(
                    "{p:+.1} % ({})",
                    ratio(median(&values[i]) / median(&values[0]))
                )
            };
            super::series_line(
                &mut table,
                &what,
                &Series {
                    label: (*label).into(),
                    values: values[i].clone(),
                },
                fmt,
                &vs,
            );
        }
    }
    report.tables.push(table);
    for (variant, limit) in TARGETS {
        let i = VARIANTS
            .iter()
            .position(|(v, _)| v == variant)
            .expect("a target names a variant");
        let (now, sleep) = overheads[i];
        report.targets.push(Target {
            what: format!(
                "telemetry, {}: ≤ {limit} % over telemetry off",
                VARIANTS[i].1
            ),
            measured: format!("now {now:+.1} %, sleep {sleep:+.1} % (medians)"),
            met: now <= *limit && sleep <= *limit,
        });
    }
    let subscribed = &received[VARIANTS.len() - 1];
    let col = |k: usize| median(&subscribed.iter().map(|r| r[k]).collect::<Vec<_>>());
    report.notes.push(format!(
        "telemetry-overhead: `bench_telemetry_load` times its own phases with the monotonic \
         clock; the subscriber received (median per run) {:.0} batches, {:.0} wait records and \
         {:.0} host-call records, counted and dropped but the last batch (the loader itself \
         keeps the newest 65536 of each for exportTrace). `telemetry: false` is a loader option \
         (startComponent) that makes the wasm thread skip the recorder entirely; the time scale \
         and steering stay.",
        col(0),
        col(1),
        col(2)
    ));
    Ok(())
}

/// Least-squares slope of `ys` over `xs` (per unit of x); NaN with fewer than two points.
fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len().min(ys.len()) as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let var: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    cov / var
}

/// A sleeping guest watched at full detail: memory of the page, its workers and the renderer
/// over the run.
pub(super) fn soak(outcome: &Outcome, config: &Value, report: &mut Report) -> Result<()> {
    let samples: Vec<_> = outcome.of("telemetry-soak").collect();
    if samples.is_empty() {
        return Ok(());
    }
    let seconds = num(config, "telemetrySoak.seconds")?;
    let nap_ms = num(config, "telemetrySoak.napMs")?;
    let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
    let at_min: Vec<f64> = samples
        .iter()
        .map(|m| num(&m.data, "atS").map(|s| s / 60.0))
        .collect::<Result<_>>()?;
    // Each series: (what, [(minute, MiB)]), only where every sample has the figure.
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut push = |what: &str, value: &dyn Fn(&crate::session::Measurement) -> Option<f64>| {
        let points: Option<Vec<(f64, f64)>> = samples
            .iter()
            .zip(&at_min)
            .map(|(m, &t)| value(m).map(|v| (t, v)))
            .collect();
        if let Some(points) = points {
            series.push((what.into(), points));
        }
    };
    push("renderer RSS (page + workers, /proc VmRSS)", &|m| {
        let key = format!("sample-{}", m.rep);
        let kib = outcome.mark("telemetry-soak", &key)?.renderer_rss_kib();
        (kib > 0).then(|| kib as f64 / 1024.0)
    });
    for (what, key) in [
        ("measureUserAgentSpecificMemory: total", "bytes"),
        ("measureUserAgentSpecificMemory: page", "page"),
        ("measureUserAgentSpecificMemory: workers", "workers"),
    ] {
        push(what, &|m| m.data.get("ua")?.get(key)?.as_f64().map(mib));
    }
    push("page JS heap (performance.memory)", &|m| {
        m.data.get("jsHeap")?.as_f64().map(mib)
    });
    let mut table = Table::new(
        &format!(
            "Telemetry soak: clocks_naps ({nap_ms} ms naps) with a detail subscriber for \
             {seconds} s, {} samples (MiB; slope in MiB per minute)",
            samples.len()
        ),
        &[
            "memory",
            "",
            "start",
            "end",
            "peak",
            "end − start",
            "slope (all)",
            "slope (2nd half)",
        ],
    );
    let mut rss_slope = None;
    for (what, points) in &series {
        let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
        let half = xs.len() / 2;
        let (start, end) = (ys[0], ys[ys.len() - 1]);
        let late = slope(&xs[half..], &ys[half..]);
        if what.starts_with("renderer") {
            rss_slope = Some((start, end, max(&ys), late));
        }
        table.row(&[
            what,
            "",
            &format!("{start:.1}"),
            &format!("{end:.1}"),
            &format!("{:.1}", max(&ys)),
            &format!("{:+.1}", end - start),
            &format!("{:+.2}", slope(&xs, &ys)),
            &format!("{late:+.2}"),
        ]);
    }
    report.tables.push(table);
    if let Some((start, end, peak, late)) = rss_slope {
        report.targets.push(Target {
            what: format!(
                "memory flat over a {seconds} s soak with a detail subscriber (read here as: \
                 renderer RSS second-half slope ≤ 1 MiB/min)"
            ),
            measured: format!("RSS {start:.0} → {end:.0} MiB (peak {peak:.0}), {late:+.2} MiB/min"),
            met: late <= 1.0,
        });
    }
    let last = samples[samples.len() - 1];
    report.notes.push(format!(
        "telemetry-soak: the page received {} telemetry messages ({} batches, {} wait records) \
         and {} bytes of stdout; `cargo xtask bench telemetry-soak --soak-seconds N` sets the \
         length (600 by default). the page's loader keeps the newest 65536 wait and \
         host-call records for exportTrace, so its heap grows until that cap (about a minute of \
         1 ms naps) and should be flat after: read the second-half slope. \
         measureUserAgentSpecificMemory is asked once and dropped when Chromium does not answer \
         within 5 s (it waits for a garbage collection of its choosing).",
        num(&last.data, "messages")?,
        num(&last.data, "batches")?,
        num(&last.data, "waits")?,
        num(&last.data, "stdoutBytes")?,
    ));
    Ok(())
}
