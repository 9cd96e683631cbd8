//! Embeds the browser assets built by `cargo xtask build` (target/web) into the binary, so
//! `pollscope` works from any directory. Without them the binary still builds (for clippy and
//! unit tests) and says how to get them when a browser command runs.

use std::path::Path;

const ASSETS: &[&str] = &[
    "pollscope_shim.js",
    "pollscope_shim_bg.wasm",
    "pollscope_shim_tinygo.js",
    "pollscope_shim_tinygo_bg.wasm",
    "pollscope.js",
    "wasm-worker.js",
    "wasm-thread.js",
    "event-worker.js",
    "agent.js",
    // The in-page panel of `pollscope serve` (built by xtask into target/web/panel).
    "panel/pollscope_panel.js",
    "panel/pollscope_panel_bg.wasm",
];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pollscope_web_assets)");
    println!("cargo::rerun-if-env-changed=POLLSCOPE_WEB_DIR");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let web = std::env::var("POLLSCOPE_WEB_DIR")
        .map(Into::into)
        .unwrap_or_else(|_| manifest.join("../target/web"));
    let mut all_present = true;
    for asset in ASSETS {
        let path = web.join(asset);
        println!("cargo::rerun-if-changed={}", path.display());
        all_present &= path.is_file();
    }
    println!("cargo::rerun-if-changed={}", web.display());
    if all_present {
        println!("cargo::rustc-cfg=pollscope_web_assets");
        println!(
            "cargo::rustc-env=POLLSCOPE_WEB_DIR={}",
            web.canonicalize().unwrap().display()
        );
    }
}
