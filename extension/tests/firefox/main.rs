//! The Firefox build: `web-ext lint` (Mozilla's add-on linter) finds no errors in it, and in
//! real headless Firefox (Debian's `firefox-esr`, driven over Marionette) it installs as a
//! temporary add-on whose DevTools panel connects to a `pollscope serve` page's agent.
//!
//! `web-ext` is the pinned npm package and `firefox-esr` the Debian package that `cargo xtask
//! test` (and `cargo xtask setup`) install; the build is made here from the source tree, as
//! `cargo xtask pack` makes it.

mod marionette;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use marionette::{Firefox, Where};
use pollscope_extension::pack::{pack_all, Browser, Packed};
use pollscope_test_support::served::{pollscope_binary, Served};
use pollscope_test_support::{built_guest, repo_root};
use serde_json::Value;

#[test]
fn web_ext_lint_passes_on_the_firefox_build() {
    let web_ext = repo_root().join("target/tools/node_modules/.bin/web-ext");
    assert!(
        web_ext.is_file(),
        "web-ext is not installed at {}: `cargo xtask test` installs it (or `cargo xtask setup`)",
        web_ext.display()
    );
    let (out, firefox) = firefox_build("lint");
    let output = Command::new(&web_ext)
        .args([
            "lint",
            "--output",
            "json",
            "--no-config-discovery",
            "--source-dir",
        ])
        .arg(&firefox.dir)
        .output()
        .expect("running web-ext");
    let _ = std::fs::remove_dir_all(&out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|err| {
        panic!(
            "web-ext lint printed no JSON report ({err}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let messages = |kind: &str| -> Vec<String> {
        report[kind]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|m| format!("{}: {} ({})", m["code"], m["message"], m["file"]))
                    .collect()
            })
            .unwrap_or_default()
    };
    let errors = messages("errors");
    assert!(
        report["summary"]["errors"].as_u64() == Some(0) && errors.is_empty(),
        "web-ext lint found errors in the Firefox build:\n{}\nwarnings:\n{}",
        errors.join("\n"),
        messages("warnings").join("\n")
    );
    println!("web-ext lint warnings: {:?}", messages("warnings"));
}

/// The Firefox build, packed into a fresh temporary folder named after `why` (removed by the
/// caller).
fn firefox_build(why: &str) -> (PathBuf, Packed) {
    let out = std::env::temp_dir().join(format!("pollscope-pack-{why}-{}", std::process::id()));
    let packed = pack_all(repo_root(), &out).unwrap_or_else(|err| panic!("packing: {err:#}"));
    let firefox = packed
        .into_iter()
        .find(|p| p.browser == Browser::Firefox)
        .expect("a Firefox build");
    (out, firefox)
}

#[test]
fn in_firefox_the_panel_connects_to_the_page_agent() {
    let binary = ["firefox-esr", "firefox"]
        .into_iter()
        .find_map(|name| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
        })
        .expect("no Firefox on PATH: install Debian's firefox-esr (`cargo xtask setup` does)");
    let (out, build) = firefox_build("run");
    let served = pollscope_binary()
        .and_then(|pollscope| Served::start(&pollscope, &built_guest("io_ticker")?, &["200"]))
        .unwrap_or_else(|err| panic!("{err:#}"));
    let mut firefox = Firefox::start(&binary).unwrap_or_else(|err| panic!("{err:#}"));
    let run = |firefox: &mut Firefox| -> anyhow::Result<()> {
        firefox.install_temporary(&build.zip)?;
        firefox.navigate(&served.url)?;
        // Listen, as any page script can, for what the content script and the agent post.
        let isolated = firefox.script(
            Where::Content,
            r#"window.__relayed = 0; window.__panels = null;
               window.addEventListener("message", (e) => {
                 if (e.data?.source === "pollscope-agent" && e.data.kind === "message") window.__relayed++;
                 if (e.data?.source === "pollscope-extension" && e.data.kind === "panels") window.__panels = e.data.panels.length;
               });
               return crossOriginIsolated;"#,
        )?;
        anyhow::ensure!(
            isolated == Value::Bool(true),
            "the page is not cross-origin isolated"
        );
        // Open DevTools on the tab and select the Pollscope panel, as a user would.
        let selected = firefox.script(
            Where::Chrome,
            r#"const { require } = ChromeUtils.importESModule("resource://devtools/shared/loader/Loader.sys.mjs");
               const { gDevTools } = require("devtools/client/framework/devtools");
               const tab = Services.wm.getMostRecentWindow("navigator:browser").gBrowser.selectedTab;
               return (async () => {
                 const toolbox = await gDevTools.showToolboxForTab(tab);
                 for (let i = 0; i < 100; i++) {
                   const tool = toolbox.getAdditionalTools().find((t) => t.label === "Pollscope");
                   if (tool) {
                     await toolbox.selectTool(tool.id);
                     return toolbox.currentToolId;
                   }
                   await new Promise((r) => setTimeout(r, 100));
                 }
                 return null;
               })();"#,
        )?;
        anyhow::ensure!(selected.is_string(), "DevTools has no Pollscope panel");
        // The panel page loaded its wasm (under the extension CSP), connected through the
        // background, and the page's agent now relays the guest to it.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let seen = firefox.script(
                Where::Content,
                "return [window.__panels, window.__relayed];",
            )?;
            if seen[0] == 1 && seen[1].as_u64().is_some_and(|n| n >= 3) {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the agent never relayed to a panel: [panels, messages relayed] = {seen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let outcome = run(&mut firefox);
    drop(firefox);
    let _ = std::fs::remove_dir_all(&out);
    if let Err(err) = outcome {
        panic!("{err:#}");
    }
}
