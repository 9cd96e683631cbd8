//! `cargo xtask test`: everything CI runs, in the order a failure is cheapest to find.

use anyhow::Result;

use crate::{build, cargo, run, setup};

/// Installs prerequisites, builds the browser assets, checks formatting and lints, then runs
/// every test: native unit tests and the browser end-to-end suite (which builds the guests).
pub fn all(extra: &[String]) -> Result<()> {
    setup::all()?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    build::web_assets()?;
    run(cargo().args([
        "clippy",
        "--locked",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo()
        .args(["test", "--locked", "--workspace"])
        .args(extra))
}
