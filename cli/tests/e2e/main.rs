//! End-to-end tests: the real `pollscope` binary runs real `wasm32-wasip2` guests in headless
//! Chromium.
//!
//! The guests live in `guests/src/bin/`, one program per file, named `<suite>_<what>.rs`. This
//! binary builds them once per run (see [`harness::guest`]); each suite module tests the guests
//! of its prefix and names them literally as `guest("<name>")`, which is how
//! [`every_guest_has_a_test`] tells a tested guest from a forgotten one (the same promise
//! wasmtime's test-programs keep with a `foreach_*` macro).
//!
//! Assertions are exact on stdout and the exit code. Nothing here asserts speed: timing only
//! appears as lower bounds ("slept at least as long as asked") and generous sanity limits;
//! `cargo xtask bench` measures speed.

mod data;
mod harness;
mod page;

mod bench;
mod bounds;
mod cleanup;
mod cli;
mod clocks;
mod fs;
mod hostile;
mod inspect;
mod io;
mod load;
mod net;
mod panel;
mod random;
mod serve;
mod start;
mod tinygo;
mod trap;

use std::collections::BTreeSet;

/// The suite modules and their sources. A suite's name is the prefix of its guests' names; its
/// module tests them. (`inspect` and `load` take every guest or fixtures, and `cleanup` other
/// suites' guests, so they are not here.)
const SUITES: &[(&str, &str)] = &[
    ("bench", include_str!("bench.rs")),
    ("cli", include_str!("cli.rs")),
    ("clocks", include_str!("clocks.rs")),
    ("fs", include_str!("fs.rs")),
    ("io", include_str!("io.rs")),
    ("net", include_str!("net.rs")),
    ("random", include_str!("random.rs")),
    ("trap", include_str!("trap.rs")),
];

#[test]
fn every_guest_has_a_test() {
    let mut problems = Vec::new();
    let guests = harness::guest_names();
    assert!(
        !guests.is_empty(),
        "no guests found in {}",
        harness::guests_src().display()
    );
    for name in &guests {
        let Some((suite, source)) = SUITES.iter().find(|(suite, _)| {
            name.strip_prefix(suite)
                .is_some_and(|rest| rest.starts_with('_'))
        }) else {
            let known: Vec<_> = SUITES.iter().map(|(suite, _)| *suite).collect();
            problems.push(format!(
                "guest `{name}` has no known suite prefix (one of {known:?}); rename it or add a suite \
                 module"
            ));
            continue;
        };
        if !used_guests(source).contains(name.as_str()) {
            problems.push(format!(
                "guest `{name}` has no test: call guest(\"{name}\") from a test in cli/tests/e2e/{suite}.rs"
            ));
        }
    }
    for (suite, source) in SUITES {
        for name in used_guests(source) {
            if !guests.contains(name) {
                problems.push(format!(
                    "{suite}.rs uses guest `{name}`, which has no guests/src/bin/{name}.rs"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `name` in `guest("name")` in a suite's source.
fn used_guests(source: &str) -> BTreeSet<&str> {
    const CALL: &str = "guest(\"";
    source
        .match_indices(CALL)
        .filter_map(|(at, _)| {
            let rest = &source[at + CALL.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}
