//! Headless Chromium, started for one page and ended with its profile when done, or when the
//! program that started it ends in any way (see [`crate::lifetime`]).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::lifetime::{ScratchDir, Tied};

/// The profile folders' names in the temporary directory: `pollscope-profile-<pid>-<start>-<n>`.
pub const PROFILE_PREFIX: &str = "pollscope-profile";

/// A running headless Chromium: its whole process group and its profile go when it is dropped.
pub struct Browser {
    process: Tied,
}

/// The browser to use: `--browser`, else `chromium` (Debian's) or `chromium-browser` on PATH.
pub fn find(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(found) = std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
        {
            return Ok(found);
        }
    }
    anyhow::bail!(
        "no Chromium found on PATH: install Debian's `chromium` package or pass --browser PATH"
    )
}

impl Browser {
    /// Opens `url` in a fresh headless profile (removing the profiles of earlier runs that died
    /// without cleaning up). Chromium's own output goes to a log file in the profile so it never
    /// mixes with the guest's stdout.
    pub fn open(binary: &PathBuf, url: &str) -> Result<Browser> {
        Browser::open_with(binary, url, &[])
    }

    /// As [`Browser::open`], with more Chromium flags (e.g. `--load-extension=…`,
    /// `--remote-debugging-port=0`).
    pub fn open_with(binary: &PathBuf, url: &str, extra: &[String]) -> Result<Browser> {
        let profile = ScratchDir::new(PROFILE_PREFIX).context("creating a Chromium profile")?;
        let log = std::fs::File::create(log_path(profile.path()))?;
        let mut command = Command::new(binary);
        command
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                // Page console messages and crashes land in the log (see POLLSCOPE_BROWSER_LOG).
                "--enable-logging=stderr",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let process = Tied::spawn(command, profile)
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Browser { process })
    }

    /// The fresh profile folder (Chromium writes `DevToolsActivePort` there).
    pub fn profile(&self) -> &std::path::Path {
        self.process.dir()
    }

    /// The browser's process id (its renderers and workers are descendants of it, and all of
    /// them are in the process group of that id).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether the browser process has ended (crashed or was closed).
    pub fn has_exited(&mut self) -> bool {
        self.process.has_exited()
    }

    /// Ends Chromium (every process of it) and removes its profile; dropping does it too.
    pub fn close(&mut self) {
        self.process.close();
    }

    /// The tail of Chromium's own log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(log_path(self.profile())).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Chromium's own output: in the profile, or where `POLLSCOPE_BROWSER_LOG` says (kept after
/// the run, for diagnosing a page that misbehaves).
fn log_path(profile: &std::path::Path) -> PathBuf {
    std::env::var_os("POLLSCOPE_BROWSER_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| profile.join("chromium.log"))
}
