//! Headless Chromium, started by the `pollscope` command's own launcher ([`crate::browser`]),
//! with its DevTools protocol on a port it picks, and a [`Cdp`] connection to its browser
//! target.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use crate::browser::{self, Browser};
use crate::cdp::{self, Cdp};

/// The flags that open the DevTools protocol: a port Chromium picks and writes into the
/// profile ([`cdp::browser_url`]), and websocket connections from any origin.
pub const DEVTOOLS_FLAGS: [&str; 2] = ["--remote-debugging-port=0", "--remote-allow-origins=*"];

/// Headless Chromium (Debian's, found on PATH) with a CDP connection; dropping it closes the
/// connection, then ends every Chromium process and removes the profile.
pub struct Chromium {
    /// The connection to the browser target.
    pub cdp: Cdp,
    // Last: ended (and its profile removed) after the connection is dropped.
    browser: Browser,
}

impl Chromium {
    /// Opens `url` with [`DEVTOOLS_FLAGS`] and `extra` flags (e.g. `--load-extension=…`,
    /// `--window-size=…`) and connects; Chromium has `timeout` to open its protocol.
    pub fn start(url: &str, extra: &[String], timeout: Duration) -> Result<Chromium> {
        let binary = browser::find(None)?;
        let mut flags: Vec<String> = DEVTOOLS_FLAGS.iter().map(|f| f.to_string()).collect();
        flags.extend_from_slice(extra);
        let browser = Browser::open_with(&binary, url, &flags)?;
        let ws = cdp::browser_url(browser.profile(), timeout)
            .map_err(|err| anyhow!("{err:#}\n{}", browser.log_tail()))
            .context("starting Chromium with its DevTools protocol")?;
        let cdp = Cdp::connect(&ws)?;
        Ok(Chromium { cdp, browser })
    }

    /// The tail of Chromium's own log, for failure messages.
    pub fn log_tail(&self) -> String {
        self.browser.log_tail()
    }

    /// The target id of the first page whose URL starts with `prefix`.
    pub fn page_target(&mut self, prefix: &str) -> Result<String> {
        self.cdp
            .targets()?
            .into_iter()
            .find(|t| {
                t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(prefix))
            })
            .and_then(|t| t["targetId"].as_str().map(str::to_owned))
            .ok_or_else(|| anyhow!("no page target for {prefix}"))
    }

    /// Opens `url` in a new tab; returns its target id.
    pub fn open_tab(&mut self, url: &str) -> Result<String> {
        let created = self
            .cdp
            .call(None, "Target.createTarget", json!({ "url": url }))?;
        target_id(&created)
    }
}

/// The target id in a CDP result (`Target.createTarget`, `Target.openDevTools`, a target info).
pub fn target_id(result: &Value) -> Result<String> {
    result["targetId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no targetId in {result}"))
}
