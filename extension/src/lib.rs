//! The DevTools extension's native side.
//!
//! - [`pack`]: one source tree (the root `manifest.json` and `extension/`) → a Chrome and a
//!   Firefox build, each a folder and a zip (`cargo xtask pack`).
//!
//! The browser tests live in `tests/`: `devtools` opens the Pollscope panel in real DevTools,
//! `firefox` runs `web-ext lint` on the Firefox build and loads it in real Firefox, `envelope`
//! checks that the extension and the page agent agree on tags and limits. What they share with
//! the other browser tests (the raw CDP client, Chromium, `pollscope serve`) is in
//! `pollscope-test-support`.

pub mod pack;
