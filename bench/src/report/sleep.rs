//! The `sleep` rows: how late a guest's `std::thread::sleep` ends, beside raw `Atomics.wait`
//! of the same length in a plain worker, and what either costs in worker CPU while asleep.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::{
    num, nums, parse_sleep_stdout, ratio, series_line, Report, Series, Table, Target, CLOCK_STEP_MS,
};
use crate::session::Outcome;
use crate::stats::{grouped_percentile, median};
use pollscope_test_support::procfs;

/// The median overshoot a guest's sleep may have (issue #16).
const OVERSHOOT_TARGET_US: f64 = 50.0;
/// Worker CPU while the guest sleeps, % of one core.
const CPU_TARGET_PCT: f64 = 5.0;

/// Who slept, as the page names the variants (`<who>-<N>ms`).
const WHO: [(&str, &str); 4] = [
    (
        "baseline",
        "Atomics.wait(…, N) in a plain worker (baseline)",
    ),
    ("guest", "guest std::thread::sleep, via pollscope.js"),
    (
        "jco-sync",
        "jco sync, preview2-shim browser build (its sleep does not wait)",
    ),
    (
        "jco-jspi",
        "jco --async-mode jspi (the sleep awaits a setTimeout)",
    ),
];

/// What one length's repetitions measured, per [`WHO`] index.
#[derive(Default)]
struct Length {
    ms: f64,
    iterations: f64,
    /// Median overshoot (ms) of each repetition.
    overshoot: [Vec<f64>; 4],
    /// Worker CPU % of one core during the timed phase: ticks, schedstat (baseline, guest).
    cpu_ticks: [Vec<f64>; 2],
    cpu_run: [Vec<f64>; 2],
}

/// Adds the rows and targets of every sleep length the page ran.
pub(super) fn rows(
    outcome: &Outcome,
    config: &Value,
    main: &mut Table,
    report: &mut Report,
) -> Result<()> {
    let hz = procfs::ticks_per_second() as f64;
    let mut lengths: Vec<Length> = config
        .pointer("/sleep/lengths")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("no sleep.lengths in the config"))?
        .iter()
        .map(|l| {
            Ok(Length {
                ms: num(l, "ms")?,
                iterations: num(l, "iterations")?,
                ..Length::default()
            })
        })
        .collect::<Result<_>>()?;
    for m in outcome.of("sleep") {
        let (who, length_ms) = m
            .variant
            .rsplit_once('-')
            .and_then(|(who, ms)| Some((who, ms.strip_suffix("ms")?.parse::<f64>().ok()?)))
            .ok_or_else(|| anyhow!("unknown sleep variant {}", m.variant))?;
        let i = WHO
            .iter()
            .position(|(name, _)| *name == who)
            .ok_or_else(|| anyhow!("unknown sleep variant {}", m.variant))?;
        let length = lengths
            .iter_mut()
            .find(|l| l.ms == length_ms)
            .ok_or_else(|| anyhow!("sleep variant {} has no configured length", m.variant))?;
        let durations = if i == 0 {
            nums(&m.data, "durationsMs")?
        } else {
            let stdout = m.data.get("stdout").and_then(Value::as_str).unwrap_or("");
            parse_sleep_stdout(stdout)?
                .iter()
                .map(|&ns| ns as f64 / 1e6)
                .collect()
        };
        let actual = grouped_percentile(&durations, CLOCK_STEP_MS, 50.0);
        length.overshoot[i].push(actual - length.ms);
        if i >= 2 {
            continue;
        }
        let phase_ms: f64 = durations.iter().sum();
        let key = format!("sleep/{}/{}", m.variant, m.rep);
        if let (Some(start), Some(end)) = (outcome.mark(&key, "start"), outcome.mark(&key, "end")) {
            let (ticks, run_ns) = procfs::cpu_between(&start.threads, &end.threads);
            length.cpu_ticks[i].push(ticks as f64 / hz * 1e3 / phase_ms * 100.0);
            if let Some(ns) = run_ns {
                length.cpu_run[i].push(ns as f64 / 1e6 / phase_ms * 100.0);
            }
        }
    }
    for length in &lengths {
        if length.overshoot[1].is_empty() {
            bail!("no guest sleeps of {} ms were measured", length.ms);
        }
        overshoot_rows(length, main, report);
        cpu_rows(length, main, report);
    }
    report.notes.push(format!(
        "sleep: overshoot is each repetition's median of (actual − asked), timed with \
         performance.now() (5 µs steps); worker CPU is summed over every `DedicatedWorker` \
         thread of the Chromium this harness started, between the page's phase marks, divided \
         by the phase's duration; utime+stime counts in {hz} Hz ticks, schedstat in ns."
    ));
    Ok(())
}

fn signed_us(x_ms: f64) -> String {
    format!("{:+.1} µs", x_ms * 1e3)
}

fn pct(x: f64) -> String {
    format!("{x:.2} %")
}

fn overshoot_rows(length: &Length, main: &mut Table, report: &mut Report) {
    let row = format!(
        "sleep {} ms ×{}: median overshoot (actual − asked)",
        length.ms, length.iterations
    );
    let series = |i: usize| Series {
        label: WHO[i].1.replace('N', &length.ms.to_string()),
        values: length.overshoot[i].clone(),
    };
    let (base, guest) = (median(&length.overshoot[0]), median(&length.overshoot[1]));
    series_line(main, &row, &series(0), signed_us, "");
    series_line(
        main,
        &row,
        &series(1),
        signed_us,
        &format!("{} vs baseline", signed_us(guest - base)),
    );
    for i in 2..WHO.len() {
        if !length.overshoot[i].is_empty() {
            series_line(main, &row, &series(i), signed_us, "");
        }
    }
    report.targets.push(Target {
        what: format!(
            "guest {} ms sleep: median overshoot ≤ {OVERSHOOT_TARGET_US} µs and ≤ raw \
             Atomics.wait's ({})",
            length.ms,
            signed_us(base)
        ),
        measured: signed_us(guest),
        met: guest * 1e3 <= OVERSHOOT_TARGET_US && guest <= base,
    });
}

fn cpu_rows(length: &Length, main: &mut Table, report: &mut Report) {
    let per_sleep = |p: f64| p / 100.0 * length.ms * 1e3;
    for (what, values) in [
        ("utime+stime", &length.cpu_ticks),
        ("schedstat", &length.cpu_run),
    ] {
        if values[1].is_empty() {
            continue;
        }
        let row = format!(
            "worker CPU during {} ms sleeps ({what}), % of one core",
            length.ms
        );
        for (i, label) in ["plain worker (baseline)", "guest: wasm + event workers"]
            .iter()
            .enumerate()
        {
            let mut vs = format!("{:.0} µs CPU per sleep", per_sleep(median(&values[i])));
            if i == 1 && median(&values[0]) > 0.0 {
                vs += &format!(" ({})", ratio(median(&values[1]) / median(&values[0])));
            }
            let series = Series {
                label: (*label).into(),
                values: values[i].clone(),
            };
            series_line(main, &row, &series, pct, &vs);
        }
    }
    let best = if length.cpu_run[1].is_empty() {
        &length.cpu_ticks[1]
    } else {
        &length.cpu_run[1]
    };
    if !best.is_empty() {
        report.targets.push(Target {
            what: format!(
                "worker CPU during the guest's {} ms sleeps ≤ {CPU_TARGET_PCT} % of one core",
                length.ms
            ),
            measured: format!("{:.2} % (median)", median(best)),
            met: median(best) <= CPU_TARGET_PCT,
        });
    }
}
