//! Integration tests: hand-written component fixtures (snapshots plus the facts that matter
//! asserted by hand), bad input, limits, and (optionally) a real Rust wasip2 guest.

mod bad_input;
mod fixtures;
mod plans;
mod real_guest;

use std::path::{Path, PathBuf};

/// The fixtures directory.
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Assembles fixture `name` (without `.wat`).
fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Translates fixture `name`, which must succeed.
fn translate_fixture(name: &str) -> pollscope_component::Translation {
    pollscope_component::translate(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}
