//! Bad input gets a clear error, never a panic.

use pollscope_component::{limits, translate, ErrorKind};

use super::fixture;

fn kind(bytes: &[u8]) -> ErrorKind {
    translate(bytes).expect_err("should fail").kind()
}

#[test]
fn not_wasm() {
    for bytes in [&b""[..], b"\0as", b"hello world", b"\x7fELF\x02\x01\x01\0"] {
        let err = translate(bytes).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotWasm);
        assert!(
            err.to_string().starts_with("not a WebAssembly binary"),
            "{err}"
        );
    }
}

#[test]
fn core_module() {
    let err = translate(&fixture("err_core_module")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CoreModule);
    assert!(err.message().contains("wasm-tools component new"), "{err}");
}

#[test]
fn truncations_are_malformed() {
    let bytes = fixture("shim_fixup");
    let mut malformed = 0;
    for len in 4..bytes.len() {
        // A cut at a section boundary leaves a valid component: one that lacks its run
        // export, or (past the export) one that only lacks trailing custom sections.
        let Err(err) = translate(&bytes[..len]) else {
            continue;
        };
        match err.kind() {
            ErrorKind::Malformed => {
                assert!(err.offset().is_some(), "at length {len}: {err}");
                malformed += 1;
            }
            ErrorKind::NoRun => {}
            _ => panic!("at length {len}: {err}"),
        }
    }
    assert!(malformed > bytes.len() * 9 / 10);
}

#[test]
fn unknown_version_is_malformed() {
    let mut bytes = fixture("direct_lower");
    bytes[4] = 0x0e;
    assert_eq!(kind(&bytes), ErrorKind::Malformed);
}

/// Flipping any single byte of a real-shaped component must yield a plan or an error, and
/// never one that means the translator lost track of an index space.
#[test]
fn corrupted_bytes_never_panic() {
    let bytes = fixture("shim_fixup");
    for i in 0..bytes.len() {
        for mask in [0xff, 0x01, 0x80] {
            let mut copy = bytes.clone();
            copy[i] ^= mask;
            if let Err(err) = translate(&copy) {
                assert_ne!(
                    err.kind(),
                    ErrorKind::Internal,
                    "byte {i} ^ {mask:#x}: {err}"
                );
            }
        }
    }
}

#[test]
fn missing_run_lists_the_exports() {
    let err = translate(&fixture("err_missing_run")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoRun);
    assert!(err.message().contains("`wasi:cli/run`"), "{err}");
    assert!(err.message().contains("clock"), "{err}");
}

#[test]
fn unsupported_features_say_what_and_where() {
    for (name, what) in [
        ("err_guest_resource", "defines its own resource type"),
        ("err_async_lower", "async"),
        ("err_other_lift", "other than `wasi:cli/run`"),
        ("err_run_type", "(i32) -> (i32)"),
        ("err_lower_lifted", "component-internal adapter"),
        ("err_func_import", "`log` is a func import"),
    ] {
        let err = translate(&fixture(name)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{name}: {err}");
        assert!(err.message().contains(what), "{name}: {err}");
        assert!(err.offset().is_some(), "{name}: {err}");
    }
    assert_eq!(kind(&fixture("err_run_v03")), ErrorKind::NoRun);
    assert_eq!(kind(&fixture("err_run_reexport")), ErrorKind::NoRun);
}

#[cfg(feature = "validate-function-bodies")]
#[test]
fn invalid_function_bodies_are_caught() {
    let err = translate(&fixture("err_invalid_body")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(err.message().contains("type mismatch"), "{err}");
}

/// The browser shim builds without body validation: the component's structure is still
/// checked, and the engine rejects the body when it compiles the module.
#[cfg(not(feature = "validate-function-bodies"))]
#[test]
fn function_bodies_are_left_to_the_engine() {
    // The fixture is no command, so translation goes on past the body and stops there.
    let err = translate(&fixture("err_invalid_body")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoRun, "{err}");
}

#[test]
fn deep_nesting_hits_the_limit() {
    let depth = limits::MAX_NESTING_DEPTH + 1;
    let text = "(component ".repeat(depth) + &")".repeat(depth);
    let err = translate(&wat::parse_str(&text).unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
}

/// Each level instantiates the one below twice: 2^24 walks unless bounded.
#[test]
fn exponential_instantiation_hits_the_limit() {
    let mut text = String::from("(component $c0)");
    for level in 1..=24 {
        let below = level - 1;
        text = format!(
            "(component $c{level} {text} (instance (instantiate $c{below})) \
             (instance (instantiate $c{below})))"
        );
    }
    // Wrap into a root that also has a run export candidate-free body.
    let err = translate(&wat::parse_str(&text).unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
}
