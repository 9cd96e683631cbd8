//! The DevTools extension's native side.
//!
//! - [`pack`]: one source tree (the root `manifest.json` and `extension/`) → a Chrome and a
//!   Firefox build, each a folder and a zip (`cargo xtask pack`).
//! - [`cdp`]: a small raw Chrome DevTools Protocol client, for tests that drive a real DevTools
//!   window (Playwright and chromiumoxide cannot reach those).
//! - [`served`]: a running `pollscope serve` for those tests (the DevTools test and the CLI's
//!   in-page panel test share it).
//!
//! The browser tests live in `tests/`: `devtools` opens the Pollscope panel in real DevTools,
//! `firefox` runs `web-ext lint` on the Firefox build, `envelope` checks that the extension and
//! the page agent agree on tags and limits.

pub mod cdp;
pub mod pack;
pub mod served;
