//! The Pollscope DevTools panel, for real: headless Chromium loads the repository root as an
//! unpacked extension, `pollscope serve` runs a guest, DevTools opens on its page, the
//! Pollscope panel is selected through the DevTools frontend, and the test reads and clicks
//! the panel's DOM over the Chrome DevTools Protocol (Playwright cannot see DevTools windows).
//!
//! DevTools opens on a page without Pollscope (the panel says "waiting"), then the tab goes to
//! the guest's page (it says "connected"). Steps (each a function, so a new guest or view adds
//! a step, not a new harness):
//! - live telemetry: the guest's pollables with their deadlines, waits with durations, and the
//!   ring's occupancy rising after a burst of stdin typed into the page;
//! - steering from the panel: pause stops the guest's output (read from the page's console,
//!   not timed), step advances exactly one wait, resume goes on;
//! - a screenshot of the panel in `target/artifacts/devtools-panel.png`;
//! - the extension's service worker is stopped over CDP: the panel reconnects and keeps
//!   showing the same guest, still updating;
//! - a page script posting forged and malformed messages with the agent's tag changes nothing
//!   the panel shows, and nothing it sent becomes markup;
//! - navigating away says "navigated"; coming back to a Pollscope page connects again.
//!
//! Nothing is timed: every wait is for a condition, with a generous deadline, and a failure
//! says what the panel showed last.
//!
//! Needs `target/web` and the panel (`cargo xtask build`), the guests, and Debian's Chromium;
//! `cargo xtask test` provides all of them.

mod browser;
mod panel;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;

use browser::ExtensionBrowser;
use panel::{PanelWindow, Snapshot, SHOW_TIMEOUT};
use pollscope_test_support::served::{pollscope_binary, Served};
use pollscope_test_support::{built_guest, repo_root};

/// The panel's `data-testid`s this test reads (the panel's components own them).
mod ids {
    pub const CONNECTION: &str = "connection";
    /// Starts with the number of messages the panel could not decode.
    pub const LOSSES: &str = "losses";
    pub const GUEST_STATE: &str = "guest-state";
    pub const POLLABLE_ROW: &str = "pollable-row";
    pub const POLLABLE_DEADLINE: &str = "pollable-deadline";
    pub const WAIT_COUNT: &str = "wait-count";
    pub const WAIT_DURATION: &str = "wait-duration";
    /// The newest waits, newest first; each row starts with the call it waited in.
    pub const WAIT_ROW: &str = "wait-row";
    /// How a wait row starts when the wait was a pause holding the guest, not the guest's own.
    pub const PAUSE_HOLD: &str = "a pause";
    pub const RING_HIGH_WATER: &str = "ring-high-water";
    pub const CONSOLE: &str = "console-output";
    pub const PAUSE: &str = "control-pause";
    pub const RESUME: &str = "control-resume";
    pub const STEP: &str = "control-step";
    pub const RESTART: &str = "control-restart";
    pub const TIME_SCALE: &str = "time-scale";
    pub const GOROUTINE_ROW: &str = "goroutine-row";
    pub const ASYNCIFY_RECORD: &str = "asyncify-record";
    pub const ASYNCIFY_EVENT: &str = "asyncify-event";
    pub const GOROUTINE_BACKTRACE: &str = "goroutine-backtrace";
}

/// One Chromium at a time: each test here runs a browser, a server and a guest on 2 cores.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// A guest served and open in a tab, with DevTools showing the Pollscope panel.
struct Scene {
    // Field order is drop order: the browser goes before the server it talks to.
    browser: ExtensionBrowser,
    page: String,
    panel: PanelWindow,
    served: Served,
}

impl Scene {
    /// Opens DevTools on a page of the server without Pollscope on it (the panel waits), then
    /// goes to the guest's page (the panel connects).
    fn start(wasm: &Path, args: &[&str]) -> Result<Scene> {
        let served = Served::start(&pollscope_binary()?, wasm, args)?;
        let mut browser = ExtensionBrowser::start(repo_root())?;
        let page_target = browser.open_tab(&format!("{}config.json", served.url))?;
        let page = browser.chromium.cdp.attach(&page_target)?;
        let panel = PanelWindow::open(
            &mut browser.chromium.cdp,
            &page_target,
            &browser.extension_id,
        )?;
        let mut scene = Scene {
            browser,
            page,
            panel,
            served,
        };
        scene.wait_until("the waiting state", |s| connection_is(s, "waiting"))?;
        let (page, url) = (scene.page.clone(), scene.served.url.clone());
        scene
            .browser
            .chromium
            .cdp
            .call(Some(&page), "Page.navigate", json!({ "url": url }))?;
        scene.wait_until("the connected state", |s| connection_is(s, "connected"))?;
        Ok(scene)
    }

    fn snapshot(&mut self) -> Result<Snapshot> {
        self.panel.snapshot(&mut self.browser.chromium.cdp)
    }

    fn wait_until(&mut self, what: &str, holds: impl FnMut(&Snapshot) -> bool) -> Result<Snapshot> {
        self.panel
            .wait_until(&mut self.browser.chromium.cdp, what, holds)
    }

    fn click(&mut self, testid: &str) -> Result<()> {
        self.panel.click(&mut self.browser.chromium.cdp, testid)
    }

    /// Evaluates `expression` in the guest's page.
    fn in_page(&mut self, expression: &str) -> Result<serde_json::Value> {
        self.browser.chromium.cdp.evaluate(&self.page, expression)
    }

    /// What the guest printed, as the page's own console shows it.
    fn page_console(&mut self) -> Result<String> {
        Ok(self
            .in_page(r#"document.querySelector('[data-testid="console"]').textContent"#)?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Waits until the page's console satisfies `holds`.
    fn wait_for_console(
        &mut self,
        what: &str,
        mut holds: impl FnMut(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + SHOW_TIMEOUT;
        loop {
            let console = self.page_console()?;
            if holds(&console) {
                return Ok(console);
            }
            if Instant::now() > deadline {
                bail!("the page's console never showed {what}; it has:\n{console}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Lets the guest's page run for `ticks` of its ticker (a window to look in, not a
    /// measurement: a paused guest prints nothing however long it is watched).
    fn watch_for(&self, ticks: u32) {
        std::thread::sleep(TICK * ticks);
    }
}

/// `io_ticker`'s interval here.
const TICK: Duration = Duration::from_millis(200);

fn ticks(console: &str) -> usize {
    console.lines().filter(|l| l.starts_with("tick ")).count()
}

fn first<'a>(snapshot: &'a Snapshot, id: &str) -> &'a str {
    snapshot
        .get(id)
        .and_then(|texts| texts.first())
        .map_or("", String::as_str)
}

/// The panel's connection label starts with `state` ("connected", "waiting", "page navigated").
fn connection_is(snapshot: &Snapshot, state: &str) -> bool {
    first(snapshot, ids::CONNECTION).starts_with(state)
}

fn all<'a>(snapshot: &'a Snapshot, id: &str) -> &'a [String] {
    snapshot.get(id).map_or(&[], Vec::as_slice)
}

/// The first unsigned integer in `text` (digits may be grouped with `,` or spaces).
fn number(text: &str) -> Option<u64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '\u{202f}')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// One check against a running scene; a failure says which.
type Step = (&'static str, fn(&mut Scene) -> Result<()>);

/// Serves the component `wasm` with `args`, opens the panel on it and runs `steps` in order.
/// A new guest or view (e.g. a TinyGo fixture's goroutine sleep queue) is a new test calling
/// this with its own component and steps.
fn run_scene(wasm: &Path, args: &[&str], steps: &[Step]) {
    let _one = ONE_BROWSER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut scene = Scene::start(wasm, args).unwrap_or_else(|err| panic!("{err:#}"));
    for (name, step) in steps {
        if let Err(err) = step(&mut scene) {
            panic!(
                "step `{name}`: {err:#}\n--- chromium log ---\n{}",
                scene.browser.log_tail()
            );
        }
    }
}

#[test]
fn the_panel_shows_and_steers_a_live_guest_and_survives_a_worker_restart_and_forgeries() {
    let interval = TICK.as_millis().to_string();
    let ticker = built_guest("io_ticker").unwrap_or_else(|err| panic!("{err:#}"));
    run_scene(
        &ticker,
        &[&interval],
        &[
            ("live telemetry", shows_pollables_waits_and_ring),
            ("steering", steers_pause_step_resume),
            ("screenshot", saves_a_screenshot),
            ("service worker restart", reconnects_after_the_worker_stops),
            ("forged messages", ignores_forged_messages),
            ("navigation", follows_navigation),
        ],
    );
}

/// The TinyGo-shaped fixtures (`cargo xtask fixtures`, built as TinyGo builds: no tinygo_*
/// function survives wasm-opt): the scheduler in the Goroutines view with each sleeper's
/// backtrace, and the task switches in the Asyncify view, in order and one per step.
#[test]
fn the_goroutines_and_asyncify_views_follow_a_tinygo_program() {
    follow_a_tinygo_program("tinygo_sleepers");
}

/// The same with TinyGo 0.34's `internal/task.Task` (`stackState.canaryPtr`).
#[test]
fn the_goroutines_and_asyncify_views_follow_a_tinygo_034_program() {
    follow_a_tinygo_program("tinygo_sleepers_034");
}

fn follow_a_tinygo_program(stem: &str) {
    let fixture = repo_root().join(format!("target/fixtures/{stem}.wasm"));
    assert!(
        fixture.is_file(),
        "{} is missing: run `cargo xtask fixtures` (cargo xtask test does)",
        fixture.display()
    );
    run_scene(
        &fixture,
        &[],
        &[
            ("the sleep queue, held by a pause", shows_the_sleep_queue),
            ("task switches", records_task_switches),
        ],
    );
}

/// The program is over in about a second: slow time tenfold (the setting outlives a restart),
/// restart it from the panel and pause it at its first idle wait, where all four goroutines
/// sleep; the view then holds still.
fn shows_the_sleep_queue(scene: &mut Scene) -> Result<()> {
    scene.panel.evaluate(
        &mut scene.browser.chromium.cdp,
        &format!(
            r#"(() => {{
                const input = document.querySelector('[data-testid="{}"]');
                input.value = "-1";
                input.dispatchEvent(new Event("change", {{ bubbles: true }}));
            }})()"#,
            ids::TIME_SCALE
        ),
    )?;
    scene.wait_until("the 0.1× time scale", |s| {
        first(s, "time-scale-value").contains("0.1")
    })?;
    scene.click(ids::RESTART)?;
    let rows = pause_at_the_first_idle_wait(scene)?;
    // Wake order: the workers (b 100 ms, c 200 ms, a 300 ms), then main (1 s).
    for row in &rows[..3] {
        if !(row.contains("sleeping")
            && row.contains("main.worker$gowrapper")
            && row.contains("main.go:8"))
        {
            bail!("a worker's row lacks its state, entry or line: {row:?} in {rows:#?}");
        }
    }
    if !rows[3].contains("runtime.run$1$gowrapper") {
        bail!("main's goroutine wakes last: {rows:#?}");
    }
    if !rows
        .iter()
        .all(|row| row.chars().any(|c| c.is_ascii_digit()))
    {
        bail!("every row shows its wake time and countdown: {rows:#?}");
    }
    // Each sleeper's stack, replayed from its asyncify save area: innermost where it paused
    // (runtime.sleep, with Pause inlined), outermost its entry at its time.Sleep.
    let stacks = all(&scene.snapshot()?, ids::GOROUTINE_BACKTRACE).to_vec();
    let expected_ends = ["main.go:10", "main.go:10", "main.go:10", "main.go:18"];
    if stacks.len() != 4
        || !stacks
            .iter()
            .zip(expected_ends)
            .all(|(stack, end)| stack.starts_with("runtime.sleep") && stack.ends_with(end))
    {
        bail!("each sleeper's backtrace from runtime.sleep to its Go line: {stacks:#?}");
    }
    scene.click(ids::RESUME)?;
    Ok(())
}

/// Pauses the (re)started guest and brings it to its first idle wait, where all four
/// goroutines sleep; returns their rows. The pause lands at the program's first host call
/// (main running, the three workers started but not yet run) or, later, at its first idle
/// wait; steps run on to that wait.
fn pause_at_the_first_idle_wait(scene: &mut Scene) -> Result<Vec<String>> {
    pause(scene)?;
    let paused = scene.wait_until("the paused guest's goroutines", |s| {
        first(s, ids::GUEST_STATE).contains("paused") && all(s, ids::GOROUTINE_ROW).len() == 4
    })?;
    let rows = all(&paused, ids::GOROUTINE_ROW);
    if rows[0].starts_with("current")
        && !(rows[0].contains("runtime.run$1$gowrapper")
            && rows[1..]
                .iter()
                .all(|row| row.starts_with("runnable") && row.contains("main.worker$gowrapper")))
    {
        bail!("main runs and the three workers are runnable: {rows:#?}");
    }
    let all_asleep = |s: &Snapshot| {
        let rows = all(s, ids::GOROUTINE_ROW);
        first(s, ids::GUEST_STATE).contains("paused")
            && rows.len() == 4
            && rows.iter().all(|row| row.starts_with("sleeping"))
    };
    for _ in 0..16 {
        let now = scene.snapshot()?;
        if all_asleep(&now) {
            return Ok(all(&now, ids::GOROUTINE_ROW).to_vec());
        }
        scene.click(ids::STEP)?;
        scene.watch_for(1);
    }
    let shown = scene.wait_until("four sleeping goroutines, held before the wait", all_asleep)?;
    Ok(all(&shown, ids::GOROUTINE_ROW).to_vec())
}

/// Recording is offered for an instrumentable program and restarts it rewritten. Paused
/// wherever the pause lands, the Asyncify view lists every task switch so far in the order
/// the scheduler made them, each with its goroutine; each step then runs to exactly the next
/// switch.
fn records_task_switches(scene: &mut Scene) -> Result<()> {
    scene.wait_until("the offer to record task switches", |s| {
        !all(s, ids::ASYNCIFY_RECORD).is_empty()
    })?;
    scene.click(ids::ASYNCIFY_RECORD)?;
    // The restart reaches the page through the panel's command relay: pause the new run, once
    // it reports (its first switch is main's launch), not the old one.
    scene.wait_until("the rewritten program's first task switch", |s| {
        !all(s, ids::ASYNCIFY_EVENT).is_empty()
    })?;
    pause(scene)?;
    let expected = pollscope_test_support::tinygo::sleepers_switches();
    let mut switches = all(&scene.snapshot()?, ids::ASYNCIFY_EVENT).to_vec();
    switches.reverse(); // the view lists the newest first
    if switches.len() + 2 > expected.len() || switches[..] != expected[..switches.len()] {
        bail!(
            "task switches in the scheduler's order, with two left to step: {switches:#?}, \
             expected the start of {expected:#?}"
        );
    }
    for want in &expected[switches.len()..switches.len() + 2] {
        let now = step_to_the_next_switch(scene)?;
        if now.first() != Some(want) {
            bail!(
                "the step stopped at `{want}`: {:#?}",
                &now[..now.len().min(4)]
            );
        }
    }
    scene.click(ids::RESUME)?;
    Ok(())
}

/// Pauses the guest (a pause sent while a restarted run's workers start up can be lost: it
/// asks again).
fn pause(scene: &mut Scene) -> Result<()> {
    for _ in 0..10 {
        scene.click(ids::PAUSE)?;
        let deadline = Instant::now() + Duration::from_millis(400);
        while Instant::now() < deadline {
            if first(&scene.snapshot()?, ids::GUEST_STATE).contains("paused") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
    bail!("the guest never paused")
}

/// Steps until one more task switch is listed (a step that only finishes the wait the pause
/// held before adds none) and checks the guest is held after exactly one; returns the
/// switches, newest first.
fn step_to_the_next_switch(scene: &mut Scene) -> Result<Vec<String>> {
    let before = all(&scene.snapshot()?, ids::ASYNCIFY_EVENT).len();
    for _ in 0..3 {
        scene.click(ids::STEP)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while all(&scene.snapshot()?, ids::ASYNCIFY_EVENT).len() == before
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Held: nothing more comes until the next step.
        scene.watch_for(2);
        let now = all(&scene.snapshot()?, ids::ASYNCIFY_EVENT).to_vec();
        match now.len() - before {
            0 => continue,
            1 => return Ok(now),
            more => bail!(
                "one step ran {more} task switches: {:#?}",
                &now[..now.len().min(more + 1)]
            ),
        }
    }
    bail!("three steps and no task switch")
}

fn shows_pollables_waits_and_ring(scene: &mut Scene) -> Result<()> {
    scene.wait_until("the guest's output in the panel's console", |s| {
        all(s, ids::CONSOLE).join("\n").contains("ticker: every")
    })?;
    // io_ticker polls a timer (with its deadline) and stdin at once, then waits in `poll`.
    scene.wait_until("pollables with a deadline", |s| {
        all(s, ids::POLLABLE_ROW).len() >= 2
            && all(s, ids::POLLABLE_DEADLINE)
                .iter()
                .any(|deadline| deadline.chars().any(|c| c.is_ascii_digit()))
    })?;
    scene.wait_until("waits with durations", |s| {
        number(first(s, ids::WAIT_COUNT)).is_some_and(|n| n >= 2)
            && all(s, ids::WAIT_DURATION)
                .iter()
                .any(|d| d.chars().any(|c| c.is_ascii_digit()))
    })?;

    let before = scene.snapshot()?;
    let high_water_before = number(first(&before, ids::RING_HIGH_WATER)).unwrap_or(0);
    // A burst of stdin typed into the page's own stdin line: more than the guest reads per
    // poll (4 KiB), so bytes wait in the ring.
    scene.in_page(
        r#"(() => {
            const input = document.querySelector('[data-testid="stdin"]');
            const form = input.form;
            for (let i = 0; i < 400; i++) {
                input.value = `burst ${i} ` + "x".repeat(100);
                form.requestSubmit();
            }
        })()"#,
    )?;
    scene.wait_until(
        "the ring's high-water mark rising after a burst of stdin",
        |s| number(first(s, ids::RING_HIGH_WATER)).is_some_and(|n| n > high_water_before),
    )?;
    scene.wait_for_console("the guest echoing the whole burst", |c| {
        c.contains("echo: burst 399 ")
    })?;
    Ok(())
}

fn steers_pause_step_resume(scene: &mut Scene) -> Result<()> {
    scene.wait_for_console("a few ticks", |c| ticks(c) >= 2)?;
    scene.click(ids::PAUSE)?;
    scene.wait_until("the paused state", |s| {
        first(s, ids::GUEST_STATE).contains("paused")
    })?;
    let paused = scene.page_console()?;
    scene.watch_for(5);
    let still = scene.page_console()?;
    if still != paused {
        bail!("the guest printed while paused:\nbefore\n{paused}\nafter\n{still}");
    }

    // Each step runs one wait (the first one finishes the wait the pause interrupted, if it
    // did) and pauses again. The state alone cannot tell a step is done (it shows "paused"
    // before and after), so each waits for its wait to be counted.
    step_once(scene)?;
    let waits_before = step_once(scene)?;
    // Held again: no more waits and no output. (A step may print several ticks: io_ticker's
    // overdue timers are ready without waiting, so they all run before the one wait.)
    let held = scene.page_console()?;
    scene.watch_for(5);
    let ran = waits_since(&scene.snapshot()?, waits_before);
    if guest_waits(&ran) != 1 {
        bail!(
            "a step ran {} waits of the guest's, not one: {ran:#?}",
            guest_waits(&ran)
        );
    }
    let still = scene.page_console()?;
    if still != held {
        bail!("the guest printed after its step was done:\nbefore\n{held}\nafter\n{still}");
    }
    let ticks_after = ticks(&still);

    scene.click(ids::RESUME)?;
    scene.wait_for_console("ticks going on after resume", |c| {
        ticks(c) >= ticks_after + 2
    })?;
    scene.wait_until("the guest no longer paused", |s| {
        !first(s, ids::GUEST_STATE).contains("paused")
    })?;
    Ok(())
}

/// The waits recorded since the count was `before` (newest first), from the wait table.
fn waits_since(snapshot: &Snapshot, before: u64) -> Vec<String> {
    let count = number(first(snapshot, ids::WAIT_COUNT)).unwrap_or(0);
    let new = usize::try_from(count.saturating_sub(before)).unwrap_or(usize::MAX);
    let rows = all(snapshot, ids::WAIT_ROW);
    rows[..new.min(rows.len())].to_vec()
}

/// How many of `rows` were the guest's own waits (not a pause holding it).
fn guest_waits(rows: &[String]) -> usize {
    rows.iter()
        .filter(|row| !row.starts_with(ids::PAUSE_HOLD))
        .count()
}

/// Clicks step and waits until the guest ran a wait of its own and is paused again; returns
/// the wait count from before the step.
fn step_once(scene: &mut Scene) -> Result<u64> {
    let before = number(first(&scene.snapshot()?, ids::WAIT_COUNT)).unwrap_or(0);
    scene.click(ids::STEP)?;
    scene.wait_until(
        "a wait of the guest's own after a step, paused again",
        |s| {
            guest_waits(&waits_since(s, before)) >= 1
                && first(s, ids::GUEST_STATE).contains("paused")
        },
    )?;
    Ok(before)
}

fn saves_a_screenshot(scene: &mut Scene) -> Result<()> {
    let path = repo_root().join("target/artifacts/devtools-panel.png");
    scene
        .panel
        .screenshot(&mut scene.browser.chromium.cdp, &path)?;
    let png = std::fs::read(&path)?;
    if !png.starts_with(b"\x89PNG") || png.len() < 1000 {
        bail!(
            "{} is not a screenshot ({} bytes)",
            path.display(),
            png.len()
        );
    }
    println!("panel screenshot: {}", path.display());
    Ok(())
}

fn reconnects_after_the_worker_stops(scene: &mut Scene) -> Result<()> {
    let workers = scene.browser.service_workers()?;
    let Some(worker) = workers.first().cloned() else {
        bail!("the extension's service worker is not running");
    };
    // The guest's wait count only grows while the same run goes on (a restarted guest starts
    // from zero).
    let waits_before = number(first(&scene.snapshot()?, ids::WAIT_COUNT)).unwrap_or(0);
    scene
        .browser
        .chromium
        .cdp
        .call(None, "Target.closeTarget", json!({ "targetId": worker }))
        .context("stopping the extension's service worker")?;
    // Both ports were dropped with the worker; both sides reconnect, which starts a new one.
    let deadline = Instant::now() + SHOW_TIMEOUT;
    loop {
        let now = scene.browser.service_workers()?;
        if now.iter().any(|id| *id != worker) {
            break;
        }
        if Instant::now() > deadline {
            bail!("no new service worker after the old one stopped: {now:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Counted from here, the waits can only have come through the new ports.
    let waits_restarted = number(first(&scene.snapshot()?, ids::WAIT_COUNT)).unwrap_or(0);
    let after = scene.wait_until("the same guest, connected and still updating", |s| {
        connection_is(s, "connected")
            && number(first(s, ids::WAIT_COUNT))
                .is_some_and(|n| n > waits_restarted.max(waits_before) + 2)
    })?;
    // The page resent no output the panel already had (it sends its backlog once per panel).
    let console = all(&after, ids::CONSOLE).join("\n");
    let mut seen = std::collections::BTreeSet::new();
    for line in console.lines().filter(|l| l.starts_with("tick ")) {
        if !seen.insert(line.split(" at ").next().unwrap_or(line)) {
            bail!("the panel shows {line:?} twice after reconnecting:\n{console}");
        }
    }
    Ok(())
}

fn ignores_forged_messages(scene: &mut Scene) -> Result<()> {
    scene.click(ids::PAUSE)?;
    let before = scene.wait_until("the paused state", |s| {
        first(s, ids::GUEST_STATE).contains("paused")
    })?;
    // The agent's real page id, as any script of the page can learn it.
    let forged = scene.in_page(
        r#"new Promise((resolve) => {
            const tag = "pollscope-agent";
            let real = null;
            const listen = (event) => {
                if (event.data?.source === tag && typeof event.data.page === "string") real = event.data.page;
            };
            window.addEventListener("message", listen);
            // Ask the agent to announce itself, as the content script does.
            window.postMessage({ source: "pollscope-extension", kind: "query" }, location.origin);
            setTimeout(() => {
                window.removeEventListener("message", listen);
                const fake = "0123456789abcdef0123456789abcdef";
                const output = (text) => JSON.stringify({ v: 1, type: "output", stream: "stdout",
                    data: Array.from(new TextEncoder().encode(text)) });
                const send = (page, kind, json) => window.postMessage({ source: tag, page, kind, json }, location.origin);
                // Well-formed, with a page id that is not the agent's: dropped by the content script.
                send(fake, "announce");
                send(fake, "message", output("FORGED-MARKER wrong id\n"));
                send(fake, "message", JSON.stringify({ v: 1, type: "exit", code: 99 }));
                send(undefined, "message", output("FORGED-MARKER no id\n"));
                // With the real id but not protocol messages: dropped by the content script
                // (type, version, size, JSON) or by the panel's decoding (fields).
                if (real) {
                    send(real, "message", JSON.stringify({ v: 1, type: "output", stream: "stdout", data: "FORGED-MARKER" }));
                    send(real, "message", JSON.stringify({ v: 1, type: "exit", code: "FORGED-MARKER" }));
                    send(real, "message", JSON.stringify({ v: 2, type: "exit", code: 98 }));
                    send(real, "message", JSON.stringify({ v: 1, type: "<img src=x onerror=alert(1)>" }));
                    send(real, "message", JSON.stringify({ v: 1, type: "trap", message: 5 }));
                    send(real, "message", "{not json FORGED-MARKER");
                    send(real, "message", "x".repeat((8 << 20) + 1));
                    send(real, "message", { type: "exit", code: 97 });
                    send(real, "bogus-kind", output("FORGED-MARKER kind\n"));
                }
                // From another window (an iframe): dropped, whatever it says.
                const frame = document.createElement("iframe");
                document.body.append(frame);
                frame.contentWindow.eval(`parent.postMessage(${JSON.stringify({ source: tag, page: real, kind: "message",
                    json: output("FORGED-MARKER frame\n") })}, "*")`);
                resolve(real !== null);
            }, 200);
        })"#,
    )?;
    if forged != serde_json::Value::Bool(true) {
        bail!("the page could not learn the agent's id, so the real-id forgeries were not sent");
    }
    // Messages are handled in order on every hop: once telemetry that follows the forgeries
    // reaches the panel, the forgeries have been through every hop too.
    let waits = number(first(&before, ids::WAIT_COUNT)).unwrap_or(0);
    scene.click(ids::RESUME)?;
    let after = scene.wait_until("new waits after the forgeries", |s| {
        number(first(s, ids::WAIT_COUNT)).is_some_and(|n| n > waits + 2)
    })?;
    // The malformed ones with the real id got as far as the panel, whose protocol decoding
    // rejected (and counted) them.
    let rejected = |s: &Snapshot| number(first(s, ids::LOSSES)).unwrap_or(0);
    if rejected(&after) <= rejected(&before) {
        bail!(
            "the panel counted no rejected message: {:?} → {:?}",
            first(&before, ids::LOSSES),
            first(&after, ids::LOSSES)
        );
    }
    let text: String = after
        .values()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if text.contains("FORGED-MARKER") || first(&after, ids::GUEST_STATE).contains("exited") {
        bail!("forged messages reached the panel:\n{after:#?}");
    }
    if first(&after, ids::CONNECTION) != first(&before, ids::CONNECTION) {
        bail!("the connection state changed: {after:#?}");
    }
    let markup = scene.panel.count(
        &mut scene.browser.chromium.cdp,
        "img, iframe, script:not([src])",
    )?;
    if markup != 0 {
        bail!("{markup} elements in the panel came from page text");
    }
    Ok(())
}

fn follows_navigation(scene: &mut Scene) -> Result<()> {
    // A page of the same server without Pollscope on it: the watched page is gone.
    let elsewhere = format!("{}config.json", scene.served.url);
    let page = scene.page.clone();
    scene
        .browser
        .chromium
        .cdp
        .call(Some(&page), "Page.navigate", json!({ "url": elsewhere }))?;
    let gone = scene.wait_until("the navigated state", |s| {
        connection_is(s, "page navigated")
    })?;
    let waits_gone = number(first(&gone, ids::WAIT_COUNT)).unwrap_or(0);
    let url = scene.served.url.clone();
    scene
        .browser
        .chromium
        .cdp
        .call(Some(&page), "Page.navigate", json!({ "url": url }))?;
    // The guest starts afresh on the new page: its wait count starts again from zero.
    scene.wait_until("connected to the new page's guest", |s| {
        connection_is(s, "connected")
            && number(first(s, ids::WAIT_COUNT)).is_some_and(|n| n > 0 && n < waits_gone)
    })?;
    Ok(())
}

/// A page flooding the extension: the content script's rate limit (`RATE_LIMIT` in
/// `extension/envelope.js`: bursts of 2000 messages) drops the excess, the panel page says how
/// many, and the panel goes on showing the live guest.
#[test]
fn the_panel_page_counts_what_the_rate_limit_drops() {
    let interval = TICK.as_millis().to_string();
    let ticker = built_guest("io_ticker").unwrap_or_else(|err| panic!("{err:#}"));
    run_scene(
        &ticker,
        &[&interval],
        &[("a flood from the page", counts_what_the_rate_limit_drops)],
    );
}

fn counts_what_the_rate_limit_drops(scene: &mut Scene) -> Result<()> {
    const RATE_LIMITED: &str = "rate-limited";
    const FLOOD: u64 = 10_000;
    let before = scene.wait_until("a few waits", |s| {
        number(first(s, ids::WAIT_COUNT)).is_some_and(|n| n > 2)
    })?;
    if !first(&before, RATE_LIMITED).is_empty() {
        bail!(
            "a dropped count before any flood: {:?}",
            first(&before, RATE_LIMITED)
        );
    }
    // With the agent's page id (as any script of the page can learn it), FLOOD messages at
    // once; each is JSON of a type the protocol does not have, so what gets through is
    // rejected by the panel's decoding and nothing of it is shown.
    let flooded = scene.in_page(&format!(
        r#"new Promise((resolve) => {{
            const tag = "pollscope-agent";
            let real = null;
            const listen = (event) => {{
                if (event.data?.source === tag && typeof event.data.page === "string") real = event.data.page;
            }};
            window.addEventListener("message", listen);
            window.postMessage({{ source: "pollscope-extension", kind: "query" }}, location.origin);
            setTimeout(() => {{
                window.removeEventListener("message", listen);
                const json = JSON.stringify({{ v: 1, type: "flood-marker" }});
                for (let i = 0; i < {FLOOD}; i++) window.postMessage({{ source: tag, page: real, kind: "message", json }}, location.origin);
                resolve(real !== null);
            }}, 200);
        }})"#
    ))?;
    if flooded != serde_json::Value::Bool(true) {
        bail!("the page could not learn the agent's id, so no flood was sent");
    }
    // Each flood message is either dropped (and counted by the panel page, reported within a
    // second) or relayed and rejected by the panel: the two add up to FLOOD. Beyond the burst
    // (2000, plus what refills while the page posts) they are dropped.
    let rejected = |s: &Snapshot| number(first(s, ids::LOSSES)).unwrap_or(0);
    let dropped = |s: &Snapshot| number(first(s, RATE_LIMITED)).unwrap_or(0);
    let base = rejected(&before);
    let after = scene.wait_until("every flood message dropped or rejected", |s| {
        dropped(s) + rejected(s).saturating_sub(base) == FLOOD
    })?;
    let line = first(&after, RATE_LIMITED).to_string();
    if dropped(&after) < FLOOD / 2 || !line.contains("dropped by the rate limit (at most 1000/s") {
        bail!("the panel page says {line:?} after {FLOOD} messages");
    }
    // The guest is still shown live.
    let waits = number(first(&after, ids::WAIT_COUNT)).unwrap_or(0);
    let live = scene.wait_until("new waits after the flood", |s| {
        number(first(s, ids::WAIT_COUNT)).is_some_and(|n| n > waits + 2)
    })?;
    if !connection_is(&live, "connected") {
        bail!(
            "after the flood the panel says {:?}",
            first(&live, ids::CONNECTION)
        );
    }
    Ok(())
}
