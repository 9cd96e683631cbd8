//! `pollscope inspect`: each import marked `supported`, `errors-only` or `MISSING`, one line
//! per import; and what the program module reveals of TinyGo's scheduler.

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

/// The `tinygo (module N)` section of a report, up to the next blank line.
fn tinygo_section(report: &str) -> &str {
    let start = report
        .find("\ntinygo (module ")
        .unwrap_or_else(|| panic!("no tinygo section:\n{report}"));
    let rest = &report[start + 1..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// A Rust guest has DWARF but no TinyGo scheduler: inspect says so instead of listing
/// symbols, and the flight recorder declines it.
#[test]
fn inspect_says_a_rust_guest_has_no_tinygo_scheduler() {
    let (code, stdout, stderr) = inspect(&guest("clocks_naps"));
    assert_eq!(code, Some(0), "{stderr}");
    let section = tinygo_section(&stdout);
    assert!(
        section.contains("no TinyGo scheduler symbols in the DWARF: not a TinyGo program")
            || section.contains("no DWARF"),
        "{section}"
    );
    assert!(!section.contains("runtime.sleepQueue"), "{section}");
    assert!(
        section.contains("not instrumentable: no asyncify_get_state"),
        "{section}"
    );
}

/// The TinyGo-shaped fixture (built as TinyGo builds: no tinygo_* function survives
/// wasm-opt): each scheduler global with its address (the run queue in two pieces, the unused
/// timer queue optimised away), Task's offsets as its DWARF says, and instrumentable through
/// asyncify's state global. Without DWARF: only the instrumentable line. The 0.34 layout's
/// offsets come from its own DWARF.
#[test]
fn inspect_reads_the_tinygo_fixture_scheduler() {
    let (code, stdout, stderr) = inspect(&crate::tinygo::tinygo_fixture("tinygo_sleepers"));
    assert_eq!(code, Some(0), "{stderr}");
    let section = tinygo_section(&stdout);
    let value = |name: &str| {
        section
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .and_then(|line| line.split_once(name))
            .map(|(_, rest)| rest.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} line:\n{section}"))
    };
    assert_eq!(value("dwarf"), "yes");
    assert!(value("runtime.sleepQueue").starts_with("0x"), "{section}");
    assert!(
        value("runtime.runqueue").starts_with("pieces 0+4@0x"),
        "{section}"
    );
    assert!(
        value("internal/task.currentTask").starts_with("0x"),
        "{section}"
    );
    assert!(
        section.contains("internal/task.Task (0x30 bytes)"),
        "{section}"
    );
    assert_eq!(value("state.entry"), "+0x14");
    assert_eq!(value("state.stackState.csp"), "+0x20");
    assert!(
        section.contains("instrumentable: asyncify state global"),
        "{section}"
    );
    assert!(!section.contains("tinygo_launch"), "{section}");

    let (_, stdout, _) = inspect(&crate::tinygo::tinygo_fixture("tinygo_sleepers_nodebug"));
    let section = tinygo_section(&stdout);
    assert!(section.contains("dwarf  no"), "{section}");
    assert!(section.contains("build without -no-debug"), "{section}");
    assert!(!section.contains("runtime.sleepQueue"), "{section}");
    assert!(
        section.contains("instrumentable: asyncify state global"),
        "{section}"
    );

    let (_, stdout, _) = inspect(&crate::tinygo::tinygo_fixture("tinygo_sleepers_034"));
    let section = tinygo_section(&stdout);
    let offset = |name: &str| {
        section
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .map(|line| line.split_whitespace().last().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no {name} line:\n{section}"))
    };
    assert_eq!(offset("state.stackState.canaryPtr"), "+0x24");
    assert_eq!(offset("state.launched"), "+0x28");
    assert!(
        section.contains("instrumentable: asyncify state global"),
        "{section}"
    );
}
