//! Snapshot tests in the style of wasm-tools' `tests/cli.rs`: every `tests/fixtures/*.wat` is
//! translated and compared with the `.json` (plan and summary) or `.err` (error) file beside
//! it. Run with `BLESS=1` to rewrite those files after an intended change.

use std::fs;

use pollscope_component::translate;

use super::{fixture, fixtures_dir};

#[test]
fn snapshots() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".wat").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "fixtures missing: {names:?}");

    let mut failures = Vec::new();
    for name in &names {
        // Without body validation the engine reports this one, when it compiles the module.
        if cfg!(not(feature = "validate-function-bodies")) && name == "err_invalid_body" {
            continue;
        }
        let (actual, ext, stale) = match translate(&fixture(name)) {
            Ok(t) => (
                serde_json::to_string_pretty(&t).unwrap() + "\n",
                "json",
                "err",
            ),
            Err(e) => (format!("{:?}: {e}\n", e.kind()), "err", "json"),
        };
        // The naming convention keeps a fixture from silently flipping between success and
        // failure when blessed.
        assert_eq!(
            name.starts_with("err_"),
            ext == "err",
            "{name}: expected {}, got {actual}",
            if name.starts_with("err_") {
                "an error"
            } else {
                "a plan"
            }
        );
        let path = fixtures_dir().join(format!("{name}.{ext}"));
        if bless {
            fs::write(&path, &actual).unwrap();
            let _ = fs::remove_file(fixtures_dir().join(format!("{name}.{stale}")));
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(_) => failures.push(format!("{name}: output differs from {name}.{ext}")),
            Err(_) => failures.push(format!("{name}: no {name}.{ext} (run with BLESS=1)")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The JSON the shim receives reads back into the same plan.
#[test]
fn plans_round_trip_through_json() {
    for name in ["direct_lower", "shim_fixup", "nested_run", "from_exports"] {
        let t = translate(&fixture(name)).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        let back: pollscope_component::Translation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t, "{name}");
    }
}
