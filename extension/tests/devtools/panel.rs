//! The real DevTools window of a tab, its Pollscope panel, and the panel's DOM.
//!
//! DevTools is opened with `Target.openDevTools`; the panel is shown through the DevTools
//! frontend's own `InspectorView` (`showPanel("chrome-extension://<id>Pollscope")`), and its
//! page (an iframe target) is attached to read `data-testid` texts and click.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use pollscope_test_support::cdp::Cdp;
use pollscope_test_support::chromium::target_id;
pub use pollscope_test_support::dom::Snapshot;
use serde_json::{json, Value};

/// How long anything the panel should show may take to appear on a loaded 2-core machine.
pub const SHOW_TIMEOUT: Duration = Duration::from_secs(60);

/// An open DevTools window showing the Pollscope panel.
pub struct PanelWindow {
    devtools: String,
    /// The panel page's session.
    pub panel: String,
    panel_url_prefix: String,
}

impl PanelWindow {
    /// Opens DevTools on `page_target` and shows the Pollscope panel of `extension_id`.
    pub fn open(cdp: &mut Cdp, page_target: &str, extension_id: &str) -> Result<PanelWindow> {
        let opened = cdp.call(
            None,
            "Target.openDevTools",
            json!({ "targetId": page_target }),
        )?;
        let devtools_target = target_id(&opened)?;
        let devtools = cdp.attach(&devtools_target)?;
        let panel_id = format!("chrome-extension://{extension_id}Pollscope");
        // The extension's devtools page adds the panel shortly after the frontend loads.
        let show = format!(
            r#"(async () => {{
                const UI = await import("devtools://devtools/bundled/ui/legacy/legacy.js");
                const view = UI.InspectorView.InspectorView.instance();
                if (!view.tabbedPane.tabIds().includes({id})) return view.tabbedPane.tabIds();
                await view.showPanel({id});
                return true;
            }})()"#,
            id = json!(panel_id)
        );
        let deadline = Instant::now() + SHOW_TIMEOUT;
        loop {
            let shown = cdp.evaluate(&devtools, &show);
            match shown {
                Ok(Value::Bool(true)) => break,
                _ if Instant::now() > deadline => {
                    bail!("DevTools never listed the panel {panel_id}: {shown:?}")
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        let panel_url_prefix = format!("chrome-extension://{extension_id}/extension/panel.html");
        let panel_target = loop {
            let found = cdp.targets()?.into_iter().find(|t| {
                t["type"] == "iframe"
                    && t["url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with(&panel_url_prefix))
            });
            if let Some(target) = found {
                break target_id(&target)?;
            }
            if Instant::now() > deadline {
                bail!("the panel's iframe target never appeared");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let panel = cdp.attach(&panel_target)?;
        Ok(PanelWindow {
            devtools,
            panel,
            panel_url_prefix,
        })
    }

    /// Every `data-testid`'s texts in the panel now.
    pub fn snapshot(&self, cdp: &mut Cdp) -> Result<Snapshot> {
        cdp.snapshot(&self.panel)
    }

    /// Waits until `holds` is true of a snapshot; fails naming `what` with the last one seen.
    pub fn wait_until(
        &self,
        cdp: &mut Cdp,
        what: &str,
        mut holds: impl FnMut(&Snapshot) -> bool,
    ) -> Result<Snapshot> {
        let deadline = Instant::now() + SHOW_TIMEOUT;
        loop {
            let snapshot = self.snapshot(cdp)?;
            if holds(&snapshot) {
                return Ok(snapshot);
            }
            if Instant::now() > deadline {
                bail!("the panel never showed {what}; last seen:\n{snapshot:#?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Evaluates `expression` in the panel's page.
    pub fn evaluate(&self, cdp: &mut Cdp, expression: &str) -> Result<Value> {
        cdp.evaluate(&self.panel, expression)
    }

    /// Clicks the first element with `testid`.
    pub fn click(&self, cdp: &mut Cdp, testid: &str) -> Result<()> {
        cdp.click(&self.panel, testid)
    }

    /// Elements in the panel matching a CSS `selector` (to prove the page's text never became
    /// markup).
    pub fn count(&self, cdp: &mut Cdp, selector: &str) -> Result<u64> {
        cdp.evaluate(
            &self.panel,
            &format!("document.querySelectorAll({}).length", json!(selector)),
        )?
        .as_u64()
        .ok_or_else(|| anyhow!("no count for {selector}"))
    }

    /// Saves a PNG of the panel: the DevTools window clipped to the panel's iframe.
    pub fn screenshot(&self, cdp: &mut Cdp, path: &Path) -> Result<()> {
        let rect = cdp.evaluate(
            &self.devtools,
            &format!(
                r#"(() => {{
                    // The panel's iframe sits inside the frontend's shadow roots.
                    const find = (root) => {{
                        for (const el of root.querySelectorAll("*")) {{
                            if (el.tagName === "IFRAME" && el.src.startsWith({prefix})) return el;
                            if (el.shadowRoot) {{
                                const found = find(el.shadowRoot);
                                if (found) return found;
                            }}
                        }}
                        return null;
                    }};
                    const frame = find(document);
                    if (!frame) return null;
                    const r = frame.getBoundingClientRect();
                    return {{ x: r.x, y: r.y, width: r.width, height: r.height }};
                }})()"#,
                prefix = json!(self.panel_url_prefix)
            ),
        )?;
        if rect.is_null() || rect["width"].as_f64().unwrap_or(0.0) < 1.0 {
            bail!("the panel's iframe has no area in the DevTools window: {rect}");
        }
        cdp.call(Some(&self.devtools), "Page.bringToFront", json!({}))?;
        let clip = json!({
            "x": rect["x"], "y": rect["y"], "width": rect["width"], "height": rect["height"],
            "scale": 1,
        });
        cdp.screenshot(&self.devtools, Some(clip), path)
    }
}
