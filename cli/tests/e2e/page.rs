//! A page of `pollscope serve` open in Chromium, for tests that drive the loader from the
//! page's own scripts.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use pollscope_test_support::served::{Served, ServedPage};
use serde_json::Value;

/// Generous: Chromium, the shim and 64 MiB of stdin on a loaded 2-core machine.
const TIMEOUT: Duration = Duration::from_secs(180);

/// `pollscope serve` on a guest, open in Chromium (without the in-page panel), with a CDP
/// session on the page.
pub struct Page(ServedPage);

impl Page {
    /// Returns once the page has loaded, so its scripts can be evaluated.
    pub fn open(wasm: &Path, args: &[&str]) -> Result<Page> {
        let served = Served::start(Path::new(env!("CARGO_BIN_EXE_pollscope")), wasm, args)?;
        let mut page = Page(served.open("?panel=off", &[], TIMEOUT)?);
        page.wait_until(
            "its load",
            // Not the blank document before the navigation, which is complete too.
            r#"location.protocol === "http:" && document.readyState === "complete""#,
            "`${location.href}: ${document.readyState}`",
        )?;
        Ok(page)
    }

    pub fn eval(&mut self, expression: &str) -> Result<Value> {
        self.0.eval(expression)
    }

    /// Waits until `expression` is true in the page; on timeout says what `shown` evaluates to.
    pub fn wait_until(&mut self, what: &str, expression: &str, shown: &str) -> Result<()> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            // An error (e.g. no execution context while the page loads) is "not yet".
            match self.eval(expression) {
                Ok(Value::Bool(true)) => return Ok(()),
                Ok(_) | Err(_) if Instant::now() < deadline => {}
                _ => {
                    let shown = self.eval(shown).unwrap_or_default();
                    bail!(
                        "the page never showed {what}; it shows: {shown}\n--- chromium log ---\n{}",
                        self.0.log_tail()
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
