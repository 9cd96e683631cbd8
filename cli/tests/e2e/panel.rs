//! The in-page Pollscope panel of `pollscope serve`: the same Leptos panel the DevTools
//! extension shows, mounted beside the page's console. Real headless Chromium runs a real
//! guest; the test reads and clicks the panel's DOM over the Chrome DevTools Protocol.
//!
//! Nothing is timed: every wait is for a condition, with a generous deadline, and a failure
//! says what the panel showed last.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use pollscope::browser::{self, Browser};
use pollscope_extension::cdp::{self, Cdp};
use serde_json::{json, Value};

use crate::harness::{guest, pollscope};

/// Generous: Chromium, the shim and the panel all start on a loaded 2-core machine.
const SHOW_TIMEOUT: Duration = Duration::from_secs(90);
/// `io_ticker`'s interval here (ms).
const TICK_MS: u64 = 200;

/// `pollscope serve` on a guest, open in Chromium, with a CDP session on the page.
struct ServedPage {
    // Field order is drop order: the connection, then the browser, then the server.
    cdp: Cdp,
    session: String,
    browser: Browser,
    _server: Server,
}

/// The serve process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ServedPage {
    fn open(guest_name: &str, args: &[&str]) -> Result<ServedPage> {
        let mut child = pollscope()
            .args(["serve", "--port", "0"])
            .arg(guest(guest_name))
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting pollscope serve")?;
        // Read to the end by a thread, so the server never writes to a closed pipe.
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let server = Server(child);
        let mut first = String::new();
        stdout.read_line(&mut first)?;
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let url = first
            .split(" at ")
            .nth(1)
            .map(|url| url.trim().to_string())
            .ok_or_else(|| anyhow!("pollscope serve printed no URL: {first:?}"))?;

        let binary = browser::find(None)?;
        let browser = Browser::open_with(
            &binary,
            &url,
            &[
                "--remote-debugging-port=0".into(),
                "--remote-allow-origins=*".into(),
                "--window-size=1400,1000".into(),
            ],
        )?;
        let mut cdp = Cdp::connect(&cdp::browser_url(browser.profile(), SHOW_TIMEOUT)?)?;
        let page = cdp
            .targets()?
            .into_iter()
            .find(|t| t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(&url)))
            .and_then(|t| t["targetId"].as_str().map(str::to_owned))
            .ok_or_else(|| anyhow!("no page target for {url}"))?;
        let session = cdp.attach(&page)?;
        Ok(ServedPage {
            cdp,
            session,
            browser,
            _server: server,
        })
    }

    fn eval(&mut self, expression: &str) -> Result<Value> {
        self.cdp.evaluate(&self.session, expression)
    }

    /// The text of every element with `testid`, in document order.
    fn texts(&mut self, testid: &str) -> Result<Vec<String>> {
        let value = self.eval(&format!(
            r#"Array.from(document.querySelectorAll('[data-testid="{testid}"]'), (e) => e.textContent.trim())"#
        ))?;
        Ok(serde_json::from_value(value).unwrap_or_default())
    }

    fn first(&mut self, testid: &str) -> Result<String> {
        Ok(self.texts(testid)?.into_iter().next().unwrap_or_default())
    }

    fn click(&mut self, testid: &str) -> Result<()> {
        let clicked = self.eval(&format!(
            r#"(() => {{ const el = document.querySelector('[data-testid="{testid}"]'); el?.click(); return !!el; }})()"#
        ))?;
        if clicked != json!(true) {
            bail!("no element with data-testid {testid} to click");
        }
        Ok(())
    }

    /// Waits until `holds` is true of the page; on timeout says what `shown` read last.
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
                let panel = self.first("panel").unwrap_or_default();
                bail!(
                    "the page never showed {what} ({last}); the panel shows:\n{panel}\n--- chromium log ---\n{}",
                    self.browser.log_tail()
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
    let mut page =
        ServedPage::open("io_ticker", &[&interval]).unwrap_or_else(|err| panic!("{err:#}"));
    if let Err(err) = check_live_panel(&mut page) {
        panic!("{err:#}");
    }
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
    save_screenshot(page)?;
    // Every message the real host sent decoded.
    let losses = page.first("losses")?;
    if !losses.starts_with("0 rejected") {
        bail!("the panel rejected messages from the real host: {losses}");
    }
    Ok(())
}

/// The page with its panel, for people to look at: `target/artifacts/serve-panel.png`.
fn save_screenshot(page: &mut ServedPage) -> Result<()> {
    let shot = page.cdp.call(
        Some(&page.session),
        "Page.captureScreenshot",
        json!({ "format": "png" }),
    )?;
    let png = data_encoding::BASE64
        .decode(shot["data"].as_str().unwrap_or_default().as_bytes())
        .context("decoding the screenshot")?;
    if !png.starts_with(b"\x89PNG") {
        bail!("Page.captureScreenshot gave no PNG");
    }
    let dir = crate::harness::repo_root().join("target/artifacts");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("serve-panel.png"), png)?;
    Ok(())
}
