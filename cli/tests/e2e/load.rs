//! Files `pollscope run` must refuse before anything runs: exit code 2, `error: …` on stderr,
//! nothing on stdout.

use crate::data::TempDir;
use crate::harness::{guest, Finished, Invocation};

const LOAD_FAILURE_EXIT: i32 = 2;

/// Asserts a load failure whose stderr starts with `error: ` and contains every one of `needles`.
#[track_caller]
fn assert_load_failure(run: &Finished, needles: &[&str]) {
    run.assert(LOAD_FAILURE_EXIT, "");
    let stderr = run.stderr();
    if !stderr.starts_with("error: ") {
        run.fail("stderr does not start with `error: `");
    }
    if stderr.contains("guest trapped") {
        run.fail("a load failure is not a trap");
    }
    for needle in needles {
        if !stderr.contains(needle) {
            run.fail(&format!("stderr does not mention {needle:?}"));
        }
    }
}

#[test]
fn load_rejects_a_file_that_is_not_wasm() {
    let dir = TempDir::new("not-wasm");
    let path = dir.write("script.wasm", "#!/bin/sh\necho this is not WebAssembly\n");
    assert_load_failure(&Invocation::new(path).run(), &[]);
}

#[test]
fn load_rejects_a_missing_file() {
    let dir = TempDir::new("missing-file");
    let path = dir.path().join("no-such-file.wasm");
    assert_load_failure(&Invocation::new(path).run(), &["no-such-file.wasm"]);
}

/// A preview 1 style core module is valid WebAssembly but not a component; the error says so.
#[test]
fn load_rejects_a_core_module() {
    let dir = TempDir::new("core-module");
    let path = dir.write("core.wasm", include_bytes!("fixtures/core_module.wasm"));
    assert_load_failure(&Invocation::new(path).run(), &["component"]);
}

#[test]
fn load_rejects_a_truncated_component() {
    let whole = std::fs::read(guest("cli_hello")).expect("reading cli_hello.wasm");
    let dir = TempDir::new("truncated");
    let path = dir.write("truncated.wasm", &whole[..whole.len() / 2]);
    assert_load_failure(&Invocation::new(path).run(), &[]);
}

/// Every missing import is listed, not just the first.
#[test]
fn load_lists_every_missing_import() {
    let dir = TempDir::new("missing-imports");
    let path = dir.write(
        "missing.wasm",
        include_bytes!("fixtures/missing_imports.wasm"),
    );
    assert_load_failure(
        &Invocation::new(path).run(),
        &["pollscope:missing/alpha", "pollscope:missing/beta"],
    );
}
