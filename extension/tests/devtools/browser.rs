//! Headless Chromium with the repository root loaded as an unpacked extension, driven over the
//! browser's CDP websocket.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use pollscope::browser::{self, Browser};
use pollscope_extension::cdp::Cdp;
use serde_json::{json, Value};

/// How long Chromium may take to start and load the extension on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Chromium with the extension, and a CDP connection to it.
pub struct ExtensionBrowser {
    /// The connection to the browser target.
    pub cdp: Cdp,
    /// The extension's id (from its service worker's URL).
    pub extension_id: String,
    // Last: killed (and its profile removed) after the connection is dropped.
    browser: Browser,
}

impl ExtensionBrowser {
    /// Starts Chromium on about:blank with `extension_dir` loaded and finds the extension's
    /// service worker.
    pub fn start(extension_dir: &Path) -> Result<ExtensionBrowser> {
        let binary = browser::find(None)?;
        let dir = extension_dir.display();
        let browser = Browser::open_with(
            &binary,
            "about:blank",
            &[
                format!("--load-extension={dir}"),
                format!("--disable-extensions-except={dir}"),
                "--remote-debugging-port=0".into(),
                "--remote-allow-origins=*".into(),
                "--window-size=1400,1000".into(),
            ],
        )?;
        let url = devtools_url(&browser)?;
        let mut cdp = Cdp::connect(&url)?;
        let deadline = Instant::now() + START_TIMEOUT;
        let extension_id = loop {
            let worker = cdp.targets()?.into_iter().find(|t| {
                t["type"] == "service_worker"
                    && t["url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("chrome-extension://"))
            });
            if let Some(worker) = worker {
                let url = worker["url"].as_str().unwrap_or_default();
                break url["chrome-extension://".len()..]
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
            if Instant::now() > deadline {
                bail!(
                    "the extension's service worker never appeared: did Chromium reject the \
                     extension?\n{}",
                    browser.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        Ok(ExtensionBrowser {
            cdp,
            extension_id,
            browser,
        })
    }

    /// Chromium's own log, for failure messages.
    pub fn log_tail(&self) -> String {
        self.browser.log_tail()
    }

    /// The target ids of the extension's service workers now running.
    pub fn service_workers(&mut self) -> Result<Vec<String>> {
        let prefix = format!("chrome-extension://{}/", self.extension_id);
        Ok(self
            .cdp
            .targets()?
            .into_iter()
            .filter(|t| t["type"] == "service_worker")
            .filter(|t| t["url"].as_str().is_some_and(|u| u.starts_with(&prefix)))
            .filter_map(|t| t["targetId"].as_str().map(str::to_owned))
            .collect())
    }

    /// Opens `url` in a new tab; returns its target id.
    pub fn open_tab(&mut self, url: &str) -> Result<String> {
        let created = self
            .cdp
            .call(None, "Target.createTarget", json!({ "url": url }))?;
        target_id(&created)
    }
}

/// The target id in a CDP result.
pub fn target_id(result: &Value) -> Result<String> {
    result["targetId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no targetId in {result}"))
}

/// The browser's CDP websocket URL (Chromium writes its port into the profile).
fn devtools_url(browser: &Browser) -> Result<String> {
    pollscope_extension::cdp::browser_url(browser.profile(), START_TIMEOUT)
        .map_err(|err| anyhow!("{err:#}\n{}", browser.log_tail()))
        .context("starting Chromium with the extension")
}
