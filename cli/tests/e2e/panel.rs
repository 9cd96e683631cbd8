//! The in-page Pollscope panel of `pollscope serve`: the same Leptos panel the DevTools
//! extension shows, mounted beside the page's console. Real headless Chromium runs a real
//! guest; the test reads and clicks the panel's DOM over the Chrome DevTools Protocol.
//!
//! Nothing is timed: every wait is for a condition, with a generous deadline, and a failure
//! says what the panel showed last.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use pollscope_test_support::served::{Served, ServedPage};
use serde_json::{json, Value};

use crate::harness::{guest, repo_root};
use crate::tinygo::tinygo_fixture;

/// Generous: Chromium, the shim and the panel all start on a loaded 2-core machine.
const SHOW_TIMEOUT: Duration = Duration::from_secs(90);
/// `io_ticker`'s interval here (ms).
const TICK_MS: u64 = 200;

/// `pollscope serve` on a guest, open in Chromium with its in-page panel, with a CDP session
/// on the page.
fn open(wasm: &Path, args: &[&str]) -> Result<ServedPage> {
    Served::start(Path::new(env!("CARGO_BIN_EXE_pollscope")), wasm, args)?.open(
        "",
        &["--window-size=1400,1000".into()],
        SHOW_TIMEOUT,
    )
}

/// Waiting on the served page's panel.
trait WaitUntil {
    /// Waits until `holds` is true of the page; on timeout says what it showed last.
    fn wait_until(
        &mut self,
        what: &str,
        holds: impl FnMut(&mut ServedPage) -> Result<bool>,
    ) -> Result<()>;
}

impl WaitUntil for ServedPage {
    fn wait_until(
        &mut self,
        what: &str,
        mut holds: impl FnMut(&mut ServedPage) -> Result<bool>,
    ) -> Result<()> {
        let deadline = Instant::now() + SHOW_TIMEOUT;
        loop {
            // An error (e.g. no execution context while the page loads) is "not yet".
            let last = match holds(self) {
                Ok(true) => return Ok(()),
                Ok(false) => String::new(),
                Err(err) => format!("{err:#}"),
            };
            if Instant::now() > deadline {
                let shown = self
                    .eval(
                        r#"["status", "console", "panel"].map((id) =>
                            `${id}: ${document.querySelector(`[data-testid="${id}"]`)?.innerText}`).join("\n")"#,
                    )
                    .unwrap_or_default();
                bail!(
                    "the page never showed {what} ({last}); it shows:\n{}\n--- chromium log ---\n{}",
                    shown.as_str().unwrap_or_default(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The first unsigned integer in `text`.
fn number(text: &str) -> Option<u64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

fn ticks(console: &str) -> usize {
    console.lines().filter(|l| l.starts_with("tick ")).count()
}

#[test]
fn the_serve_page_panel_shows_pollables_and_waits_and_pause_stops_output() {
    let interval = TICK_MS.to_string();
    let mut page = open(&guest("io_ticker"), &[&interval]).unwrap_or_else(|err| panic!("{err:#}"));
    if let Err(err) = check_live_panel(&mut page) {
        panic!("{err:#}");
    }
}

#[test]
fn the_serve_page_panel_keeps_up_with_a_flood_of_waits() {
    // 200,000 clock reads, then 20,000 sleeps of 1 µs, every one recorded in detail.
    let mut page = open(&guest("bench_telemetry_load"), &["200000", "20000", "1000"])
        .unwrap_or_else(|err| panic!("{err:#}"));
    let checked = page
        .wait_until("the guest's end", |p| {
            Ok(p.first("guest-state")? == "exited (code 0)")
        })
        .and_then(|()| {
            page.wait_until("the guest's line", |p| {
                Ok(p.first("console-output")?
                    .contains("telemetry-load nows=200000"))
            })?;
            let waits = number(&page.first("wait-count")?).unwrap_or(0);
            let rows = page.texts("wait-row")?.len();
            page.click("control-export-trace")?;
            page.wait_until("the trace exported", |p| {
                Ok(p.first("export-status")?.starts_with("exported"))
            })?;
            let exported = number(&page.first("export-status")?).unwrap_or(0);
            let losses = page.first("losses")?;
            // "N rejected · N batches lost · N records dropped by the host"
            let counts: Vec<u64> = losses.split('·').filter_map(number).collect();
            let [rejected, lost, dropped] = counts[..] else {
                bail!("unexpected losses line {losses:?}");
            };
            if rejected != 0 || lost != 0 {
                bail!("the panel lost or rejected messages in the flood: {losses}");
            }
            // The guest makes no wait before its sleeps, so the subscription is in force for
            // every one: each wait the host counted is in the panel's history unless the host
            // said it dropped the record (the history holds 20,000, more than this guest makes).
            if exported + dropped < waits || exported > waits || waits < 1000 {
                bail!("the host counted {waits} waits; the panel exported {exported} ({losses})");
            }
            // Drawn rows stay capped however many waits arrive.
            if rows > 30 {
                bail!("{rows} wait rows drawn");
            }
            Ok(())
        });
    checked.unwrap_or_else(|err| panic!("{err:#}"));
}

#[test]
fn the_serve_page_panel_shows_a_tinygo_programs_sleep_queue() {
    let mut page =
        open(&tinygo_fixture("tinygo_sleepers"), &[]).unwrap_or_else(|err| panic!("{err:#}"));
    let shown = page.wait_until("sleeping goroutines with their Go entry functions", |p| {
        let rows = p.eval(
            r#"Array.from(document.querySelectorAll('[data-testid="goroutine-row"]'),
                (r) => [r.dataset.queue, r.textContent])"#,
        )?;
        let rows: Vec<(String, String)> = serde_json::from_value(rows).unwrap_or_default();
        Ok(rows.iter().any(|(queue, text)| {
            queue == "sleeping" && text.contains("main.") && text.contains(".go:")
        }))
    });
    shown.unwrap_or_else(|err| panic!("{err:#}"));
    // Each goroutine as the Go function it runs, looked through TinyGo's wrapper: main's (it
    // sleeps a second) is main.main at `func main()`, main.go:14; a worker is main.worker,
    // inlined into its wrapper, at main.go:8. The overview says Go, not the units' C99.
    let functions = page.wait_until("goroutines named by their Go functions", |p| {
        let rows = p.eval(
            r#"Array.from(document.querySelectorAll('[data-testid="goroutine-row"][data-queue="sleeping"]'),
                (r) => [r.dataset.function, r.textContent])"#,
        )?;
        let rows: Vec<(String, String)> = serde_json::from_value(rows).unwrap_or_default();
        let main = rows.iter().any(|(function, text)| {
            function == "main.main" && text.contains("runtime.run$1$gowrapper") && text.contains("main.go:14")
        });
        let workers = rows.iter().all(|(function, text)| {
            function == "main.main" || (function == "main.worker" && text.contains("main.go:8"))
        });
        let language = p.texts("program-language")?;
        Ok(main && workers && language == ["Go (TinyGo 0.33.0)"])
    });
    functions.unwrap_or_else(|err| panic!("{err:#}"));
    // Each sleeper's backtrace, from where it paused out to its Go line.
    let stacks = page.wait_until("each sleeping goroutine's backtrace", |p| {
        let stacks = p.eval(
            r#"Array.from(document.querySelectorAll('[data-testid="goroutine-row"][data-queue="sleeping"]'),
                (r) => [r.dataset.function, r.querySelector('[data-testid="goroutine-backtrace"]').textContent])"#,
        )?;
        let stacks: Vec<(String, String)> = serde_json::from_value(stacks).unwrap_or_default();
        Ok(!stacks.is_empty()
            && stacks.iter().all(|(function, stack)| {
                let line = if function == "main.main" { "main.go:18" } else { "main.go:10" };
                stack.starts_with("runtime.sleep") && stack.ends_with(line)
            }))
    });
    stacks.unwrap_or_else(|err| panic!("{err:#}"));

    // The Asyncify view offers the flight recorder (a restart); then it shows the task
    // switches and the step they put the guest at.
    let recorded = page.click("asyncify-record").and_then(|()| {
        page.wait_until("asyncify task switches and a current step", |p| {
            let current = p.eval(
                r#"Array.from(document.querySelectorAll('[data-testid="asyncify-step"][data-current="true"]'),
                    (e) => e.dataset.step)"#,
            )?;
            let current: Vec<String> = serde_json::from_value(current).unwrap_or_default();
            let switches = p.texts("asyncify-event")?;
            Ok(current.len() == 1
                && switches.iter().any(|s| s.starts_with("unwind"))
                && switches.iter().any(|s| s.starts_with("rewind")))
        })
    });
    recorded.unwrap_or_else(|err| panic!("{err:#}"));
    // Once the program is over, every switch it made, in order, each with its goroutine.
    let mut switches = Vec::new();
    let all_recorded = page.wait_until("the run's every task switch", |p| {
        switches = p.texts("asyncify-event")?;
        Ok(p.first("guest-state")? == "exited (code 0)" && switches.len() == 24)
    });
    all_recorded.unwrap_or_else(|err| panic!("{err:#}: {switches:#?}"));
    switches.reverse(); // the view lists the newest first
    assert_eq!(
        switches,
        pollscope_test_support::tinygo::sleepers_switches(),
        "{switches:#?}"
    );
}

#[test]
fn the_serve_page_panel_counts_each_idle_sleeps_pollable_as_leaked() {
    // TinyGo's scheduler makes one timer per idle sleep and never drops it. Each of the
    // fixture's sleepers prints when it woke, and main once more at the end: after the exit
    // every idle sleep has fired, so each is a leak, in the headline and in its row.
    let mut page =
        open(&tinygo_fixture("tinygo_sleepers"), &[]).unwrap_or_else(|err| panic!("{err:#}"));
    let checked = page
        .wait_until("the guest's end and its last line", |p| {
            Ok(p.first("guest-state")? == "exited (code 0)"
                && p.first("console-output")?.contains("main done"))
        })
        .and_then(|()| {
            let console = page.first("console-output")?;
            let idle_sleeps = console.lines().filter(|l| l.starts_with("woke ")).count() as u64 + 1;
            let mut shown = String::new();
            let counted = page.wait_until("every idle sleep's timer counted as leaked", |p| {
                shown = p.first("leaked-count")?;
                let leaked_rows = p.eval(
                    r#"document.querySelectorAll('[data-testid="pollable-row"][data-leaked="true"]').length"#,
                )?;
                // "N leaked (fired, never dropped) · N listed below[ · N retired …]"
                let counts: Vec<u64> = shown.split('·').filter_map(number).collect();
                Ok(counts.first() == Some(&idle_sleeps)
                    && counts.get(1).copied() == leaked_rows.as_u64()
                    && counts.iter().skip(1).sum::<u64>() == idle_sleeps)
            });
            counted
                .with_context(|| format!("{idle_sleeps} idle sleeps; the panel said {shown:?}"))?;
            save_screenshot(&mut page, "serve-panel-tinygo")
        });
    checked.unwrap_or_else(|err| panic!("{err:#}"));
}

#[test]
fn the_serve_page_panel_says_how_to_get_goroutines_without_debug_info() {
    let mut page = open(&tinygo_fixture("tinygo_sleepers_nodebug"), &[])
        .unwrap_or_else(|err| panic!("{err:#}"));
    let shown = page.wait_until("how to build with debug info", |p| {
        Ok(p.first("goroutines-debug-hint")?.contains("-no-debug"))
    });
    shown.unwrap_or_else(|err| panic!("{err:#}"));
}

fn check_live_panel(page: &mut ServedPage) -> Result<()> {
    page.wait_until("the panel connected", |p| {
        Ok(p.first("connection")?.starts_with("connected"))
    })?;

    // io_ticker polls its timer (with a deadline) and stdin at once.
    page.wait_until("a timer and a stream pollable, by handle", |p| {
        let rows = p.eval(
            r#"Array.from(document.querySelectorAll('[data-testid="pollable-row"]'), (r) => r.dataset.handle)"#,
        )?;
        let handles: Vec<String> = serde_json::from_value(rows).unwrap_or_default();
        let deadlines = p.texts("pollable-deadline")?;
        Ok(handles.len() >= 2
            && handles.iter().all(|h| h.parse::<u32>().is_ok())
            && deadlines.iter().any(|d| d.starts_with("t=")))
    })?;
    page.wait_until("waits with durations", |p| {
        let count = number(&p.first("wait-count")?).unwrap_or(0);
        let durations = p.texts("wait-duration")?;
        Ok(count >= 2
            && durations
                .iter()
                .any(|d| d.chars().any(|c| c.is_ascii_digit())))
    })?;

    page.wait_until("the guest's output in the panel's console", |p| {
        Ok(p.first("console-output")?.contains("ticker: every"))
    })?;
    // A line typed into the panel's stdin reaches the guest, which echoes it on the page.
    page.eval(
        r#"(() => {
            const input = document.querySelector('[data-testid="console-stdin"]');
            input.value = "hello from the panel";
            input.form.requestSubmit();
        })()"#,
    )?;
    page.wait_until("the guest echoing the panel's stdin line", |p| {
        Ok(p.first("console")?.contains("echo: hello from the panel"))
    })?;
    page.wait_until("the ring's capacity (the page's default 1 MiB)", |p| {
        Ok(number(&p.first("ring-capacity")?) == Some(1 << 20))
    })?;

    // Pause from the panel: the guest says it is paused and prints nothing more.
    page.wait_until("a few ticks", |p| Ok(ticks(&p.first("console")?) >= 2))?;
    page.click("control-pause")?;
    page.wait_until("the paused state", |p| {
        Ok(p.first("guest-state")?.contains("paused"))
    })?;
    let paused = page.first("console")?;
    // A window to look in (five ticks' worth), not a measurement.
    std::thread::sleep(Duration::from_millis(TICK_MS * 5));
    let still = page.first("console")?;
    if still != paused {
        bail!("the guest printed while paused:\nbefore\n{paused}\nafter\n{still}");
    }
    page.click("control-resume")?;
    let held = ticks(&still);
    page.wait_until("ticks going on after resume", |p| {
        Ok(ticks(&p.first("console")?) >= held + 2)
    })?;

    // The trace export holds the waits the panel saw.
    page.click("control-export-trace")?;
    page.wait_until("the trace exported", |p| {
        let status = p.first("export-status")?;
        Ok(status.starts_with("exported") && number(&status).is_some_and(|waits| waits > 0))
    })?;
    save_screenshot(page, "serve-panel")?;
    // With no DevTools theme to follow, the panel follows the page's colour scheme.
    let background = |p: &mut ServedPage| -> Result<Value> {
        p.eval(
            r#"getComputedStyle(document.querySelector('[data-testid="panel"]')).backgroundColor"#,
        )
    };
    let light = background(page)?;
    page.chromium.cdp.call(
        Some(&page.session),
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
    )?;
    let dark = background(page)?;
    if light != json!("rgb(255, 255, 255)") || dark != json!("rgb(32, 33, 36)") {
        bail!("the panel's background is {light} in light mode and {dark} in dark mode");
    }
    // Every message the real host sent decoded.
    let losses = page.first("losses")?;
    if !losses.starts_with("0 rejected") {
        bail!("the panel rejected messages from the real host: {losses}");
    }
    Ok(())
}

/// The page with its panel, for people to look at: `target/artifacts/<name>.png`.
fn save_screenshot(page: &mut ServedPage, name: &str) -> Result<()> {
    page.screenshot(&repo_root().join(format!("target/artifacts/{name}.png")))
}
