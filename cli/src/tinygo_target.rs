//! `pollscope tinygo-target`: a TinyGo target whose emulator is `pollscope run`, so
//! `tinygo test -target=FILE` and `tinygo run -target=FILE` run Go in Chromium (issue #12).
//!
//! It inherits TinyGo's own `wasip2` target and replaces only the emulator. TinyGo splits the
//! emulator string like a shell, puts its temporary directory for `{tmpDir}`, TINYGOROOT for
//! `{root}` and the built component for `{}`, appends the program's arguments (`-test.v`, …)
//! and runs it in the package's directory (tests) or the current one (`run`). Its extra
//! `--dir`s for the module root are only added when the emulator is literally `wasmtime`, so
//! this one asks for the current directory itself (`--dir=.`), and says it is the current one
//! (`--env=PWD=.`: TinyGo's wasip2 runtime takes the preopen named as `PWD` for relative
//! paths when there is no `initial-cwd`, as under wasmtime with `--dir`). TinyGo's own `wasip2` maps
//! `{tmpDir}` at `/tmp`; here `/tmp` is an empty in-memory directory (`--scratch-dir`): the
//! guest's filesystem is a copy, and copying the host's whole temporary directory in (and
//! back) for every test would be slow and could pass its limits.

/// The target, as `pollscope tinygo-target` prints it.
pub const TARGET_JSON: &str = r#"{
	"inherits": ["wasip2"],
	"emulator": "pollscope run --wasm component-model -Sinherit-network -Sallow-ip-name-lookup --scratch-dir=/tmp --dir=. --env=PWD=. {}"
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_inherits_wasip2_and_runs_the_component_with_pollscope() {
        let target: serde_json::Value = serde_json::from_str(TARGET_JSON).unwrap();
        assert_eq!(target["inherits"], serde_json::json!(["wasip2"]));
        let emulator = target["emulator"].as_str().unwrap();
        assert!(emulator.starts_with("pollscope run "), "{emulator}");
        assert!(
            emulator.ends_with(" {}"),
            "the component last, then TinyGo's arguments"
        );
    }
}
