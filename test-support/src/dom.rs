//! What tests read and do in a page over CDP: the texts of its `data-testid` elements (the
//! panel and the served page mark what tests read with them, see `panel/README.md`), clicks,
//! and screenshots for people to look at.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::cdp::Cdp;

/// `data-testid` → the text of every element with it, in document order.
pub type Snapshot = BTreeMap<String, Vec<String>>;

impl Cdp {
    /// The trimmed text of every element with `data-testid` `testid` in `session`'s page, in
    /// document order.
    pub fn texts(&mut self, session: &str, testid: &str) -> Result<Vec<String>> {
        let value = self.evaluate(
            session,
            &format!(
                "Array.from(document.querySelectorAll({}), (e) => e.textContent.trim())",
                json!(format!("[data-testid=\"{testid}\"]"))
            ),
        )?;
        serde_json::from_value(value).with_context(|| format!("the texts of {testid}"))
    }

    /// Every `data-testid`'s texts in `session`'s page now.
    pub fn snapshot(&mut self, session: &str) -> Result<Snapshot> {
        let value = self.evaluate(
            session,
            r#"(() => {
                const out = {};
                for (const el of document.querySelectorAll("[data-testid]")) {
                    (out[el.dataset.testid] ??= []).push(el.textContent.trim());
                }
                return out;
            })()"#,
        )?;
        serde_json::from_value(value).context("a data-testid snapshot")
    }

    /// Clicks the first element with `data-testid` `testid` in `session`'s page.
    pub fn click(&mut self, session: &str, testid: &str) -> Result<()> {
        let clicked = self.evaluate(
            session,
            &format!(
                r#"(() => {{
                    const el = document.querySelector({});
                    if (!el) return false;
                    el.click();
                    return true;
                }})()"#,
                json!(format!("[data-testid=\"{testid}\"]"))
            ),
        )?;
        if clicked != Value::Bool(true) {
            bail!("no element with data-testid {testid} to click");
        }
        Ok(())
    }

    /// Saves a PNG of `session`'s page at `path` (its folder created), clipped to `clip`
    /// (`{x, y, width, height, scale}`) when given.
    pub fn screenshot(&mut self, session: &str, clip: Option<Value>, path: &Path) -> Result<()> {
        let mut params = json!({ "format": "png" });
        if let Some(clip) = clip {
            params["clip"] = clip;
        }
        let shot = self.call(Some(session), "Page.captureScreenshot", params)?;
        let data = shot["data"]
            .as_str()
            .ok_or_else(|| anyhow!("Page.captureScreenshot gave no data"))?;
        let png = data_encoding::BASE64
            .decode(data.as_bytes())
            .context("screenshot data that is not base64")?;
        if !png.starts_with(b"\x89PNG") {
            bail!("Page.captureScreenshot gave no PNG");
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }
}
