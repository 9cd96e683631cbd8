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
    // The wasm worker's code: pollscope.js starts it from a blob: URL, wasm-worker.js imports it.
    (
        "wasm-thread.js",
        include_bytes!(concat!(env!("POLLSCOPE_WEB_DIR"), "/wasm-thread.js")),
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
    // The serve page's bounded console (cli/assets: it ships with the page, not the shim).
    ("console.js", include_bytes!("../assets/console.js")),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Runs `script` (an ES module) with Node from the crate's directory; returns its stdout.
    fn node(script: &str) -> String {
        pollscope_test_support::node_module(script, Path::new(env!("CARGO_MANIFEST_DIR")))
    }

    #[test]
    fn the_serve_console_keeps_the_newest_output_and_says_so() {
        // console.js against a stand-in DOM (elements with text, children and remove()).
        let out = node(
            r#"
            import { createConsole, CONSOLE_MAX_CHARS, CONSOLE_MAX_NODES } from "./assets/console.js";
            class El {
              constructor() { this.childNodes = []; this.textContent = ""; this.className = ""; this.hidden = true; this.parent = null; }
              get firstChild() { return this.childNodes[0] ?? null; }
              get lastChild() { return this.childNodes.at(-1) ?? null; }
              append(child) { child.parent = this; this.childNodes.push(child); }
              remove() { const list = this.parent.childNodes; list.splice(list.indexOf(this), 1); }
            }
            const document = { createElement: () => new El() };
            const text = (el) => el.childNodes.map((c) => c.textContent).join("");
            const wrong = [];
            const expect = (what, got, want) => { if (got !== want) wrong.push(`${what}: ${got}, want ${want}`); };
            expect("limit", CONSOLE_MAX_CHARS, 256 << 10);

            // A flood of numbered lines: the newest CONSOLE_MAX_CHARS stay, in few elements.
            const pre = new El(), note = new El();
            const out = createConsole(pre, note, document);
            let all = "";
            for (let i = 0; i < 100000; i++) {
              const line = `line ${i}\n`;
              all += line;
              out.appendBytes(new TextEncoder().encode(line), "stdout");
            }
            expect("kept", text(pre), all.slice(all.length - CONSOLE_MAX_CHARS));
            expect("chars", out.chars, CONSOLE_MAX_CHARS);
            expect("dropped", out.dropped, all.length - CONSOLE_MAX_CHARS);
            if (pre.childNodes.length > 40) wrong.push(`${pre.childNodes.length} elements for 100000 lines`);
            expect("note shown", note.hidden, false);
            if (!note.textContent.includes("newest 256 KiB")) wrong.push(`note: ${note.textContent}`);

            // Alternating streams cannot merge: the element count is bounded too.
            const pre2 = new El(), note2 = new El();
            const small = createConsole(pre2, note2, document, { maxChars: 1 << 20, maxNodes: 10 });
            for (let i = 0; i < 100; i++) small.appendText(`${i}`, i % 2 ? "stderr" : "");
            expect("nodes", pre2.childNodes.length, 10);
            expect("newest", text(pre2), "90919293949596979899");

            // One chunk larger than the limit keeps its tail; a character split between two
            // writes of a stream is decoded whole.
            const pre3 = new El(), note3 = new El();
            const tiny = createConsole(pre3, note3, document, { maxChars: 4 });
            tiny.appendText("abcdefgh");
            expect("tail", text(pre3), "efgh");
            const pre4 = new El();
            const utf = createConsole(pre4, new El(), document);
            const bytes = new TextEncoder().encode("é");
            utf.appendBytes(bytes.subarray(0, 1), "stdout");
            utf.appendBytes(bytes.subarray(1), "stdout");
            expect("split char", text(pre4), "é");
            expect("untrimmed note", note3.hidden, false);
            console.log(wrong.length ? wrong.join("\n") : "checked");
            "#,
        );
        assert_eq!(out.trim(), "checked", "{out}");
    }
}
