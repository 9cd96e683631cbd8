//! Steering a running guest in a real browser: `pause()` stops it at its next host call or wait
//! (no output while paused, however long), `resume()` lets it go on. The guest is `io_ticker`,
//! which prints a tick on a timer from one `poll`; the page is `bench/pages/bench.js` (row
//! `steer`). Behaviour only: the timings below are windows to look in, not speed assertions.
//!
//! Needs `target/web` (`cargo xtask build`), the guests, and Debian's Chromium.

use std::time::Duration;

use pollscope_bench::session::{self, Options, Outcome};
use serde_json::json;

#[test]
fn a_paused_guest_prints_nothing_until_resumed() {
    let mut options = Options::for_repo();
    if let Err(err) = options
        .check_web_dir()
        .and_then(|()| options.check_guest("io_ticker"))
    {
        panic!("{err:#}");
    }
    options.timeout = Duration::from_secs(120);
    let config = json!({
        "rows": ["steer"], "reps": 1, "warmup": 0,
        "steer": { "intervalMs": 20, "pauseMs": 600 },
    });
    let outcome: Outcome =
        session::run(&options, &config).unwrap_or_else(|err| panic!("steer session: {err:#}"));
    let m = outcome
        .of("steer")
        .next()
        .unwrap_or_else(|| panic!("no steer result: {:?}", outcome.results));
    let count = |key: &str| {
        m.data[key]
            .as_u64()
            .unwrap_or_else(|| panic!("no `{key}` in {}", m.data))
    };
    let stdout = m.data["stdout"].as_str().unwrap_or_default();
    assert!(count("beforePause") >= 3, "{stdout}");
    assert_eq!(
        count("afterPause"),
        count("pausedAt"),
        "the guest printed while paused (30 ticks were due in the 600 ms window):\n{stdout}"
    );
    assert!(
        count("afterResume") >= count("afterPause") + 3,
        "no ticks after resume:\n{stdout}"
    );
    assert_eq!(m.data["exitCode"].as_i64(), Some(0), "{stdout}");
    assert!(stdout.ends_with("bye\n"), "{stdout}");
}
