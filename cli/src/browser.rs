//! Headless Chromium, started for one page and killed with its profile when done.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

/// A running headless Chromium.
pub struct Browser {
    child: Child,
    profile: PathBuf,
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
    /// Opens `url` in a fresh headless profile. Chromium's own output goes to a log file in the
    /// profile so it never mixes with the guest's stdout.
    pub fn open(binary: &PathBuf, url: &str) -> Result<Browser> {
        Browser::open_with(binary, url, &[])
    }

    /// As [`Browser::open`], with more Chromium flags (e.g. `--load-extension=…`,
    /// `--remote-debugging-port=0`).
    pub fn open_with(binary: &PathBuf, url: &str, extra: &[String]) -> Result<Browser> {
        let profile = std::env::temp_dir().join(format!(
            "pollscope-profile-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&profile)?;
        let log = std::fs::File::create(log_path(&profile))?;
        let child = Command::new(binary)
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
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Browser { child, profile })
    }

    /// The fresh profile folder (Chromium writes `DevToolsActivePort` there).
    pub fn profile(&self) -> &std::path::Path {
        &self.profile
    }

    /// The browser's process id (its renderers and workers are descendants of it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the browser process has ended (crashed or was closed).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The tail of Chromium's own log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(log_path(&self.profile)).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Chromium's own output: in the profile, or where `POLLSCOPE_BROWSER_LOG` says (kept after
/// the run, for diagnosing a page that misbehaves).
fn log_path(profile: &std::path::Path) -> PathBuf {
    std::env::var_os("POLLSCOPE_BROWSER_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| profile.join("chromium.log"))
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
