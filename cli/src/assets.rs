//! The files the browser loads: the shim (built by `cargo xtask build`) and the run page.

/// (path under `/pollscope/`, bytes) of every embedded shim asset.
#[cfg(pollscope_web_assets)]
pub const SHIM: &[(&str, &[u8])] = &[
    (
        "pollscope_shim.js",
        include_bytes!(concat!(env!("POLLSCOPE_WEB_DIR"), "/pollscope_shim.js")),
    ),
    (
        "pollscope_shim_bg.wasm",
        include_bytes!(concat!(
            env!("POLLSCOPE_WEB_DIR"),
            "/pollscope_shim_bg.wasm"
        )),
    ),
    (
        "pollscope_shim_tinygo.js",
        include_bytes!(concat!(
            env!("POLLSCOPE_WEB_DIR"),
            "/pollscope_shim_tinygo.js"
        )),
    ),
    (
        "pollscope_shim_tinygo_bg.wasm",
        include_bytes!(concat!(
            env!("POLLSCOPE_WEB_DIR"),
            "/pollscope_shim_tinygo_bg.wasm"
        )),
    ),
    (
        "pollscope.js",
        include_bytes!(concat!(env!("POLLSCOPE_WEB_DIR"), "/pollscope.js")),
    ),
    (
        "wasm-worker.js",
        include_bytes!(concat!(env!("POLLSCOPE_WEB_DIR"), "/wasm-worker.js")),
    ),
    (
        "event-worker.js",
        include_bytes!(concat!(env!("POLLSCOPE_WEB_DIR"), "/event-worker.js")),
    ),
    // The page agent pollscope.js imports (relays to the DevTools extension).
    (
        "agent.js",
        include_bytes!(concat!(env!("POLLSCOPE_WEB_DIR"), "/agent.js")),
    ),
    // The Leptos panel the serve page mounts beside the console (panel/).
    (
        "panel/pollscope_panel.js",
        include_bytes!(concat!(
            env!("POLLSCOPE_WEB_DIR"),
            "/panel/pollscope_panel.js"
        )),
    ),
    (
        "panel/pollscope_panel_bg.wasm",
        include_bytes!(concat!(
            env!("POLLSCOPE_WEB_DIR"),
            "/panel/pollscope_panel_bg.wasm"
        )),
    ),
];

/// Built without assets: browser commands explain how to build them.
#[cfg(not(pollscope_web_assets))]
pub const SHIM: &[(&str, &[u8])] = &[];

/// The page that runs the component (both `run` and `serve`).
pub const INDEX_HTML: &[u8] = include_bytes!("../assets/index.html");
/// Its script.
pub const PAGE_JS: &[u8] = include_bytes!("../assets/page.js");

/// Fails with instructions when this binary was built without the shim.
pub fn require_shim() -> anyhow::Result<()> {
    if SHIM.is_empty() {
        anyhow::bail!(
            "this pollscope was built without its browser assets; build it with \
             `cargo xtask install` (or run `cargo xtask build` before `cargo build`)"
        );
    }
    Ok(())
}

/// The content type a browser needs for `path`.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}
