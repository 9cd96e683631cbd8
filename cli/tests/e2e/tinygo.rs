//! TinyGo-shaped fixtures (`fixtures/`, built by `cargo xtask fixtures` into
//! `target/fixtures`): goroutines switched by asyncify run under the shim like a TinyGo
//! wasip2 build of `fixtures/tinygo/main.go` — shaped like real output, where `wasm-opt -Oz`
//! inlined `tinygo_launch`/`tinygo_rewind`/`tinygo_unwind`, the scheduler and `main.main`.

use std::path::PathBuf;

use crate::harness::{pollscope, repo_root, Finished, Invocation};

/// `target/fixtures/<name>.wasm`; fails with how to build it when it is missing.
pub fn tinygo_fixture(name: &str) -> PathBuf {
    let path = repo_root().join(format!("target/fixtures/{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask fixtures` (cargo xtask test does it first)",
        path.display()
    );
    path
}

/// The workers' `(name, requested ns)` in the order their sleeps end.
const WAKE_ORDER: [(&str, u64); 3] = [("b", 100_000_000), ("c", 200_000_000), ("a", 300_000_000)];

/// Each worker wakes in deadline order, after at least the time it asked for (measured by the
/// guest's own monotonic clock across the unwind and rewind of its goroutine), then main.
fn assert_sleepers_output(run: &Finished) {
    if run.code() != 0 {
        run.fail("expected exit code 0");
    }
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != WAKE_ORDER.len() + 1 || lines.last() != Some(&"main done") {
        run.fail("expected three `woke` lines, then `main done`");
    }
    for (line, (name, asked)) in lines.iter().zip(WAKE_ORDER) {
        let Some((slept, of)) = parse_woke(line, name) else {
            run.fail(&format!(
                "line {line:?} is not `woke {name} slept <n> ns of <n>`"
            ));
        };
        if of != asked {
            run.fail(&format!(
                "worker {name} reports asking for {of} ns, not {asked}"
            ));
        }
        if slept < asked {
            run.fail(&format!(
                "worker {name} woke early: {slept} ns < {asked} ns"
            ));
        }
    }
}

/// `woke <name> slept <n> ns of <n>` → the two numbers.
fn parse_woke(line: &str, name: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix(&format!("woke {name} slept "))?;
    let (slept, of) = rest.split_once(" ns of ")?;
    Some((slept.parse().ok()?, of.parse().ok()?))
}

#[test]
fn tinygo_sleepers_wake_in_deadline_order() {
    let run = Invocation::new(tinygo_fixture("tinygo_sleepers")).run();
    assert_sleepers_output(&run);
}

#[test]
fn tinygo_sleepers_without_debug_info_runs_the_same() {
    let run = Invocation::new(tinygo_fixture("tinygo_sleepers_nodebug")).run();
    assert_sleepers_output(&run);
}

/// `inspect` sees DWARF in one build and explains `-no-debug` for the other.
#[test]
fn tinygo_inspect_tells_the_builds_apart() {
    let inspect = |name: &str| {
        let out = pollscope()
            .arg("inspect")
            .arg(tinygo_fixture(name))
            .output()
            .expect("running pollscope inspect");
        assert!(out.status.success(), "inspect {name} failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let with_debug = inspect("tinygo_sleepers");
    let without = inspect("tinygo_sleepers_nodebug");
    assert!(
        with_debug.contains("asyncify_start_unwind"),
        "asyncify exports listed:\n{with_debug}"
    );
    assert!(
        !with_debug.contains("-no-debug"),
        "DWARF was found:\n{with_debug}"
    );
    assert!(
        without.contains("-no-debug"),
        "the no-debug build gets the hint:\n{without}"
    );
}

/// A Go panic in a TinyGo program ends in `runtime.abort`'s `unreachable`: the trap's frames
/// are named from the name section and the program's carry their Go file and line from the
/// DWARF line table. As in real output, `main.main` is inlined into main's goroutine wrapper
/// and the scheduler into the run export: the innermost frame is the wrapper, at main.main's
/// last statement.
#[test]
fn tinygo_trap_frames_name_the_go_source_line() {
    let run = Invocation::new(tinygo_fixture("tinygo_sleepers_panics")).run();
    if run.code() != 134 {
        run.fail("expected the trap's exit code 134");
    }
    if !run.stdout().ends_with("main done\n") {
        run.fail("the program runs to its last print before it traps");
    }
    let stderr = run.stderr();
    let frames: Vec<&str> = stderr.lines().collect();
    let main = frames
        .iter()
        .position(|line| line.contains(": runtime.run$1$gowrapper (function "))
        .unwrap_or_else(|| run.fail("no frame of main's goroutine wrapper"));
    if main != 1 {
        run.fail("main's goroutine is the innermost frame, right after the message");
    }
    if frames.get(main + 1).map(|line| line.trim()) != Some("at ./fixtures/tinygo/main.go:19") {
        run.fail("its frame is at main.go:19, the last statement main.main ran");
    }
    if !frames
        .iter()
        .any(|line| line.contains("run.wasmexport_Run (function "))
    {
        run.fail("the frames go down through the run export, where the scheduler was inlined");
    }
}
