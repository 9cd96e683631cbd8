//! `pollscope inspect`: each import marked `supported`, `errors-only` or `MISSING`, one line
//! per import.

use crate::data::TempDir;
use crate::harness::{guest, guest_names, pollscope};

/// Runs `pollscope inspect path`, returning (exit code, stdout, stderr).
fn inspect(path: &std::path::Path) -> (Option<i32>, String, String) {
    let out = pollscope()
        .arg("inspect")
        .arg(path)
        .output()
        .expect("running pollscope inspect");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The host covers every import of every guest (real `wasm32-wasip2` programs import what std
/// and the `wasi` crate need). Fails listing each guest's MISSING lines.
#[test]
fn inspect_finds_no_missing_import_in_any_guest() {
    let mut problems = Vec::new();
    for name in guest_names() {
        let (code, stdout, stderr) = inspect(&guest(&name));
        if code != Some(0) {
            problems.push(format!("{name}: exit {code:?}\n{stderr}"));
            continue;
        }
        if !stdout.contains("wasi:cli/stdout") {
            problems.push(format!(
                "{name}: the imports do not list wasi:cli/stdout:\n{stdout}"
            ));
        }
        for line in stdout.lines().filter(|line| line.contains("MISSING")) {
            problems.push(format!("{name}: {}", line.trim()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn inspect_marks_missing_imports() {
    let dir = TempDir::new("inspect-missing");
    let path = dir.write(
        "missing.wasm",
        include_bytes!("fixtures/missing_imports.wasm"),
    );
    let (code, stdout, stderr) = inspect(&path);
    assert_eq!(
        code,
        Some(0),
        "inspect reports missing imports, it does not fail on them\n{stdout}\n{stderr}"
    );
    // Each interface is a header line; its functions follow, indented, with their status.
    let marked = |interface: &str, mark: &str| {
        let mut lines = stdout
            .lines()
            .skip_while(|line| !line.trim_start().starts_with(interface));
        lines.next().is_some()
            && lines
                .take_while(|line| line.starts_with("    "))
                .any(|line| line.contains(mark))
    };
    for name in ["pollscope:missing/alpha", "pollscope:missing/beta"] {
        assert!(
            marked(name, "MISSING"),
            "{name} is not marked MISSING:\n{stdout}"
        );
    }
    assert!(
        marked("wasi:clocks/monotonic-clock", "supported"),
        "wasi:clocks/monotonic-clock is not marked supported:\n{stdout}"
    );
}
