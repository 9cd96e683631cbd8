//! Headless Chromium with the repository root loaded as an unpacked extension, driven over the
//! browser's CDP websocket.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use pollscope_test_support::cdp::Cdp;
use pollscope_test_support::chromium::Chromium;

/// How long Chromium may take to start and load the extension on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Chromium with the extension, and a CDP connection to it.
pub struct ExtensionBrowser {
    /// The browser and its connection.
    pub chromium: Chromium,
    /// The extension's id (from its service worker's URL).
    pub extension_id: String,
}

impl ExtensionBrowser {
    /// Starts Chromium on about:blank with `extension_dir` loaded and finds the extension's
    /// service worker.
    pub fn start(extension_dir: &Path) -> Result<ExtensionBrowser> {
        let dir = extension_dir.display();
        let mut chromium = Chromium::start(
            "about:blank",
            &[
                format!("--load-extension={dir}"),
                format!("--disable-extensions-except={dir}"),
                "--window-size=1400,1000".into(),
            ],
            START_TIMEOUT,
        )?;
        let deadline = Instant::now() + START_TIMEOUT;
        let extension_id = loop {
            let worker = chromium.cdp.targets()?.into_iter().find(|t| {
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
                    chromium.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        Ok(ExtensionBrowser {
            chromium,
            extension_id,
        })
    }

    /// The connection to the browser target.
    pub fn cdp(&mut self) -> &mut Cdp {
        &mut self.chromium.cdp
    }

    /// Chromium's own log, for failure messages.
    pub fn log_tail(&self) -> String {
        self.chromium.log_tail()
    }

    /// The target ids of the extension's service workers now running.
    pub fn service_workers(&mut self) -> Result<Vec<String>> {
        let prefix = format!("chrome-extension://{}/", self.extension_id);
        Ok(self
            .cdp()
            .targets()?
            .into_iter()
            .filter(|t| t["type"] == "service_worker")
            .filter(|t| t["url"].as_str().is_some_and(|u| u.starts_with(&prefix)))
            .filter_map(|t| t["targetId"].as_str().map(str::to_owned))
            .collect())
    }

    /// Opens `url` in a new tab; returns its target id.
    pub fn open_tab(&mut self, url: &str) -> Result<String> {
        self.chromium.open_tab(url)
    }
}
