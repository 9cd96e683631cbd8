//! The hops agree: the page agent (`host-shim/js/agent.js`) and the extension
//! (`extension/envelope.js`) use the same tags and size cap, the extension's message types are
//! exactly the protocol's, and both ends' checks (run in Node) drop what they must.

use std::path::{Path, PathBuf};
use std::process::Command;

use pollscope_protocol::{FromWasm, ToWasm, MAX_MESSAGE_BYTES};
use serde_json::json;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("extension/ is in the repository")
        .to_path_buf()
}

fn source(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|err| panic!("reading {path}: {err}"))
}

/// The string value of `const NAME = "…";` in `text`.
fn string_const(text: &str, name: &str) -> String {
    let start = text
        .find(&format!("const {name} = \""))
        .unwrap_or_else(|| panic!("no `const {name} = \"…\"`"));
    let rest = &text[start..];
    rest.split('"').nth(1).expect("a quoted value").to_string()
}

/// The quoted strings of `const NAME = new Set([ … ]);` in `text`.
fn set_const(text: &str, name: &str) -> Vec<String> {
    let start = text
        .find(&format!("const {name} = new Set(["))
        .unwrap_or_else(|| panic!("no `const {name} = new Set([…])`"));
    let list = &text[start..];
    let list = &list[list.find('[').expect("[") + 1..list.find(']').expect("]")];
    let mut items: Vec<String> = list
        .split(',')
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect();
    items.sort();
    items
}

/// The variant names serde expects for `T`, read from its unknown-variant error.
fn variants<T: serde::de::DeserializeOwned + std::fmt::Debug>() -> Vec<String> {
    let err = serde_json::from_value::<T>(json!({ "type": "no-such-type" }))
        .expect_err("an unknown type is an error")
        .to_string();
    let expected = err
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected serde error: {err}"));
    let mut names: Vec<String> = expected
        .split(',')
        .map(|name| name.trim().trim_matches('`').to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn agent_and_extension_share_tags_and_the_protocol_cap() {
    let agent = source("host-shim/js/agent.js");
    let envelope = source("extension/envelope.js");
    for tag in ["AGENT_TAG", "EXTENSION_TAG"] {
        assert_eq!(
            string_const(&agent, tag),
            string_const(&envelope, tag),
            "{tag}"
        );
    }
    for text in [&agent, &envelope] {
        assert!(
            text.contains("MAX_JSON_CHARS = 8 << 20") && MAX_MESSAGE_BYTES == 8 << 20,
            "MAX_JSON_CHARS is the protocol's MAX_MESSAGE_BYTES ({MAX_MESSAGE_BYTES})"
        );
    }
}

#[test]
fn extension_message_types_are_the_protocols() {
    let envelope = source("extension/envelope.js");
    assert_eq!(
        set_const(&envelope, "FROM_WASM_TYPES"),
        variants::<FromWasm>()
    );
    // Subscribing is the agent's decision (a panel connected), not a command a panel sends.
    let mut commands = variants::<ToWasm>();
    commands.retain(|name| name != "subscribe" && name != "unsubscribe");
    assert_eq!(set_const(&envelope, "TO_WASM_TYPES"), commands);
}

/// Runs `script` (an ES module) with Node; returns its stdout.
fn node(script: &str) -> String {
    let output = Command::new("node")
        .args(["--input-type=module", "-e", script])
        .current_dir(root())
        .output()
        .expect("node is installed (Debian's nodejs, with npm: `cargo xtask setup`)");
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_agent_accepts_only_valid_commands() {
    let out = node(
        r#"
        import { parseCommand } from "./host-shim/js/agent.js";
        const cases = [
          ['{"v":1,"type":"pause"}', true],
          ['{"type":"resume"}', true],
          ['{"v":1,"type":"step"}', true],
          ['{"v":1,"type":"time-scale","scale":0.5}', true],
          ['{"v":1,"type":"time-scale","scale":11}', false],
          ['{"v":1,"type":"time-scale","scale":"0.5"}', false],
          ['{"v":1,"type":"stdin","data":[104,105,10]}', true],
          ['{"v":1,"type":"stdin","data":[256]}', false],
          ['{"v":1,"type":"stdin","data":"hi"}', false],
          ['{"v":1,"type":"record-asyncify","on":true}', true],
          ['{"v":1,"type":"record-asyncify","on":"yes"}', false],
          ['{"v":1,"type":"subscribe","detail":true}', false],
          ['{"v":2,"type":"pause"}', false],
          ['{"v":1,"type":"rm"}', false],
          ['[1,2]', false],
          ['not json', false],
          ['null', false],
        ];
        for (const [json, ok] of cases) {
          if ((parseCommand(json) !== null) !== ok) console.log(`WRONG ${json}`);
        }
        console.log("checked");
        "#,
    );
    assert_eq!(out.trim(), "checked", "{out}");
}

#[test]
fn the_extension_envelope_drops_what_it_must() {
    let out = node(
        r#"
        await import("./extension/envelope.js");
        const E = globalThis.pollscopeEnvelope;
        const from = E.FROM_WASM_TYPES;
        const cases = [
          [E.parseTyped('{"v":1,"type":"events"}', from) !== null, true],
          [E.parseTyped('{"v":1,"type":"pause"}', from) !== null, false],
          [E.parseTyped('{"v":7,"type":"events"}', from) !== null, false],
          [E.parseTyped('{"type":"<img src=x onerror=alert(1)>"}', from) !== null, false],
          [E.parseTyped("x".repeat(E.MAX_JSON_CHARS + 1), from) !== null, false],
          [E.parseTyped({ type: "events" }, from) !== null, false],
          [E.isRelayable({ type: "events", json: "{}" }, from), true],
          [E.isRelayable({ type: "events", json: 5 }, from), false],
          [E.isRelayable({ type: "nope", json: "{}" }, from), false],
          [E.isId("0123456789abcdef0123456789abcdef"), true],
          [E.isId("forged"), false],
          [E.isPanelList([E.randomId(), E.randomId()]), true],
          [E.isPanelList(["forged"]), false],
          [E.isPanelList(Array.from({ length: 17 }, E.randomId)), false],
          [E.isPanelList("0123456789abcdef0123456789abcdef"), false],
        ];
        cases.forEach(([got, want], i) => { if (got !== want) console.log(`WRONG case ${i}`); });
        console.log("checked");
        "#,
    );
    assert_eq!(out.trim(), "checked", "{out}");
}

#[test]
fn every_extension_script_parses() {
    // The only lint the extension's JavaScript gets: Node's syntax check of each script (the
    // DevTools test runs them for real).
    let dir = root().join("extension");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("extension/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|ext| ext == "js") {
            let output = Command::new("node")
                .arg("--check")
                .arg(&path)
                .output()
                .expect("node is installed");
            assert!(
                output.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} scripts in {}", dir.display());
}
