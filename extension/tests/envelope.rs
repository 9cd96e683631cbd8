//! The hops agree: the page agent (`host-shim/js/agent.js`) and the extension
//! (`extension/envelope.js`) use the same tags and size cap, the extension's message types are
//! exactly the protocol's, and both ends' checks (run in Node) drop what they must.

use std::path::PathBuf;
use std::process::Command;

use pollscope_protocol::{FromWasm, ToWasm, MAX_MESSAGE_BYTES};
use serde_json::json;

fn root() -> PathBuf {
    pollscope_test_support::repo_root().to_path_buf()
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
fn extension_command_types_are_the_protocols() {
    let envelope = source("extension/envelope.js");
    // Page → panel messages carry no type the hops check: no hop parses them, and the panel
    // decodes every one with the protocol (FromWasm has these types).
    assert!(
        !envelope.contains("FROM_WASM_TYPES")
            && variants::<FromWasm>().contains(&"ring-error".to_string()),
        "the hops relay FromWasm JSON text unparsed"
    );
    // Subscribing is the agent's decision (a panel connected), not a command a panel sends.
    let mut commands = variants::<ToWasm>();
    commands.retain(|name| name != "subscribe" && name != "unsubscribe");
    assert_eq!(set_const(&envelope, "TO_WASM_TYPES"), commands);
}

/// Runs `script` (an ES module) with Node from the repository root; returns its stdout.
fn node(script: &str) -> String {
    pollscope_test_support::node_module(script, &root())
}

/// Runs `script` after a stand-in `window` that keeps the agent's listeners in `listeners` and
/// what it posts in `posted`.
fn agent_in_a_stand_in_window(script: &str) -> String {
    node(&format!(
        r#"
        const listeners = [];
        const posted = [];
        globalThis.window = {{
          location: {{ origin: "http://127.0.0.1:8000" }},
          addEventListener: (type, f) => listeners.push(f),
          postMessage: (m) => posted.push(m),
        }};
        {script}"#
    ))
}

#[test]
fn the_agent_hands_a_panels_command_text_to_the_event_thread_unparsed() {
    // The event thread decodes and checks it (`ToWasm::from_panel`, tested in `protocol`);
    // the agent only checks where it comes from and its size.
    let out = agent_in_a_stand_in_window(
        r#"
        const { registerGuest, EXTENSION_TAG, MAX_JSON_CHARS } = await import("./host-shim/js/agent.js");
        const { attach } = registerGuest({});
        const commands = [];
        attach({ subscribe() {}, unsubscribe() {}, panelCommand: (json) => commands.push(json) });
        const page = posted.find((m) => m.kind === "announce").page;
        const send = (data, source = window, origin = window.location.origin) =>
          listeners.forEach((f) => f({ source, origin, data }));
        const json = '{"v":1, "type":"time-scale","scale":0.5}';
        send({ source: EXTENSION_TAG, page, kind: "command", json });
        send({ source: EXTENSION_TAG, page: "f".repeat(32), kind: "command", json: "{}" });
        send({ source: EXTENSION_TAG, page, kind: "command", json: { v: 1, type: "pause" } });
        send({ source: EXTENSION_TAG, page, kind: "command", json: "x".repeat(MAX_JSON_CHARS + 1) });
        send({ source: EXTENSION_TAG, page, kind: "command", json: "{}" }, {});
        send({ source: EXTENSION_TAG, page, kind: "command", json: "{}" }, window, "http://evil.test");
        console.log(JSON.stringify(commands) === JSON.stringify([json]) ? "checked" : `WRONG ${JSON.stringify(commands)}`);
        "#,
    );
    assert_eq!(out.trim(), "checked", "{out}");
}

#[test]
fn no_script_spells_out_the_protocol_version_or_a_protocol_message() {
    // What the page's scripts exchange with panels is made and checked in Rust (`protocol`);
    // a script that wrote its own `v` or FromWasm object would drift from it unnoticed.
    for path in [
        "host-shim/js/agent.js",
        "host-shim/js/pollscope.js",
        "cli/assets/page.js",
        "extension/envelope.js",
        "extension/panel.js",
        "extension/content.js",
    ] {
        let text = source(path);
        for spelled in [
            "PROTOCOL_VERSION",
            "v: 1",
            "\"v\":1",
            "type: \"output\"",
            "type: \"exit\"",
        ] {
            assert!(!text.contains(spelled), "{path} spells `{spelled}`");
        }
    }
}

#[test]
fn the_extension_envelope_drops_what_it_must() {
    let out = node(
        r#"
        await import("./extension/envelope.js");
        const E = globalThis.pollscopeEnvelope;
        const to = E.TO_WASM_TYPES;
        const cases = [
          [E.isJsonText('{"v":1,"type":"events"}'), true],
          [E.isJsonText("x".repeat(E.MAX_JSON_CHARS)), true],
          [E.isJsonText("x".repeat(E.MAX_JSON_CHARS + 1)), false],
          [E.isJsonText({ v: 1, type: "events" }), false],
          [E.isJsonText(5), false],
          [E.isJsonText(undefined), false],
          [E.isRelayable({ type: "pause", json: "{}" }, to), true],
          [E.isRelayable({ type: "events", json: "{}" }, to), false],
          [E.isRelayable({ type: "<img src=x onerror=alert(1)>", json: "{}" }, to), false],
          [E.isRelayable({ type: "stdin", json: "x".repeat(E.MAX_JSON_CHARS + 1) }, to), false],
          [E.isRelayable({ type: "pause", json: { v: 1 } }, to), false],
          [E.isRelayable(["pause", "{}"], to), false],
          [E.isRelayable(null, to), false],
          [E.isCount(0) && E.isCount(12), true],
          [E.isCount(-1) || E.isCount(1.5) || E.isCount("3") || E.isCount(2 ** 60), false],
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
fn the_rate_limit_drops_and_counts_a_flood() {
    let out = node(
        r#"
        await import("./extension/envelope.js");
        const E = globalThis.pollscopeEnvelope;
        const L = E.RATE_LIMIT;
        const wrong = [];
        const expect = (what, got, want) => { if (got !== want) wrong.push(`${what}: ${got}, want ${want}`); };
        // The limits the panel page states; a burst holds two messages of the largest size.
        expect("messages/s", L.messagesPerSecond, 1000);
        expect("burst", L.burst, 2000);
        expect("chars/s", L.charsPerSecond, 32 << 20);
        expect("chars burst", L.charsBurst, 2 * E.MAX_JSON_CHARS);

        // A flood at one instant: the burst goes, the rest is dropped and counted.
        let now = 0;
        const rate = E.createRateLimit(L, () => now);
        let admitted = 0;
        for (let i = 0; i < 10000; i++) if (rate.admit(100)) admitted++;
        expect("admitted at once", admitted, L.burst);
        expect("dropped at once", rate.dropped, 10000 - L.burst);
        // Tokens come back with time: half a second later, half a second's worth.
        now += 500;
        admitted = 0;
        for (let i = 0; i < 10000; i++) if (rate.admit(100)) admitted++;
        expect("admitted after 500 ms", admitted, L.messagesPerSecond / 2);
        // A steady 20 messages a second (a panel's telemetry) never drops anything.
        const steady = E.createRateLimit(L, () => now);
        for (let i = 0; i < 200; i++) {
          now += 50;
          if (!steady.admit(4096)) wrong.push(`steady message ${i} dropped`);
        }
        expect("steady dropped", steady.dropped, 0);
        // Characters are limited too: two 8 MiB messages go, a third waits its turn.
        const big = E.createRateLimit(L, () => now);
        expect("1st max-size", big.admit(E.MAX_JSON_CHARS), true);
        expect("2nd max-size", big.admit(E.MAX_JSON_CHARS), true);
        expect("3rd max-size", big.admit(E.MAX_JSON_CHARS), false);
        now += 250;
        expect("after 250 ms (8 MiB back)", big.admit(E.MAX_JSON_CHARS), true);
        expect("big dropped", big.dropped, 1);
        // The clock going backwards refills nothing, and time after it counts as usual.
        now -= 10000;
        expect("clock back", big.admit(1), false);
        now += 100;
        expect("100 ms after", big.admit(1), true);
        console.log(wrong.length ? wrong.join("\n") : "checked");
        "#,
    );
    assert_eq!(out.trim(), "checked", "{out}");
}

#[test]
fn the_content_script_relays_text_unparsed_within_the_rate_limit() {
    // The real content script in a stand-in window and runtime: what reaches the port is the
    // page's JSON text untouched (not parsed and re-stringified), a flood stops at the burst,
    // and the dropped count goes to the port once the report interval passes.
    let out = node(
        r#"
        import vm from "node:vm";
        import fs from "node:fs";
        const listeners = [];
        const timers = [];
        const posted = [];
        let clock = 0;
        const window = {
          location: { origin: "http://127.0.0.1:8000" },
          addEventListener: (type, f) => listeners.push(f),
          postMessage: () => {},
        };
        const port = {
          postMessage: (m) => posted.push(m),
          onMessage: { addListener() {} },
          onDisconnect: { addListener() {} },
        };
        const context = vm.createContext({
          window,
          chrome: { runtime: { connect: () => port } },
          crypto: globalThis.crypto,
          performance: { now: () => clock },
          setTimeout: (f, ms) => timers.push([clock + ms, f]),
        });
        vm.runInContext(fs.readFileSync("extension/envelope.js", "utf8"), context);
        vm.runInContext(fs.readFileSync("extension/content.js", "utf8"), context);
        const E = vm.runInContext("pollscopeEnvelope", context);
        const page = "0123456789abcdef0123456789abcdef";
        const fromPage = (data) => listeners.forEach((f) => f({ source: window, origin: window.location.origin, data }));
        fromPage({ source: E.AGENT_TAG, page, kind: "announce" });
        // Text as the page wrote it, spacing and all: no hop parses it (the panel decodes it).
        const json = '{"v":1,"type":"events",  "seq":1 ,"odd":[1,2,3]}';
        fromPage({ source: E.AGENT_TAG, page, kind: "message", json });
        fromPage({ source: E.AGENT_TAG, page, kind: "message", json: JSON.parse(json) });
        fromPage({ source: E.AGENT_TAG, page, kind: "message", json: "x".repeat(E.MAX_JSON_CHARS + 1) });
        fromPage({ source: E.AGENT_TAG, page: "f".repeat(32), kind: "message", json });
        fromPage({ source: "someone", page, kind: "message", json });
        const wrong = [];
        if (posted.length !== 1 || posted[0].json !== json || posted[0].kind !== "message") {
          wrong.push(`relayed ${JSON.stringify(posted).slice(0, 300)}`);
        }
        for (let i = 0; i < 5000; i++) fromPage({ source: E.AGENT_TAG, page, kind: "message", json: "{}" });
        const relayed = posted.filter((m) => m.kind === "message").length;
        if (relayed !== E.RATE_LIMIT.burst) wrong.push(`relayed ${relayed} of a flood, want the burst ${E.RATE_LIMIT.burst}`);
        if (posted.some((m) => m.kind === "dropped")) wrong.push("dropped count sent before the interval");
        clock += E.DROPPED_REPORT_MS;
        for (const [, f] of timers.splice(0)) f();
        const dropped = posted.filter((m) => m.kind === "dropped");
        const want = 5000 + 1 - E.RATE_LIMIT.burst;
        if (dropped.length !== 1 || dropped[0].count !== want) wrong.push(`dropped reports ${JSON.stringify(dropped)}, want one of ${want}`);
        console.log(wrong.length ? wrong.join("\n") : "checked");
        "#,
    );
    assert_eq!(out.trim(), "checked", "{out}");
}

#[test]
fn the_agent_relays_json_text_as_it_is_and_replays_a_broken_ring() {
    let out = agent_in_a_stand_in_window(
        r#"
        const { registerGuest, EXTENSION_TAG } = await import("./host-shim/js/agent.js");
        const { options, attach } = registerGuest({});
        attach({ subscribe() {}, unsubscribe() {} });
        const page = posted.find((m) => m.kind === "announce").page;
        const fromExtension = (data) => listeners.forEach((f) => f({ source: window, origin: window.location.origin, data }));
        const wrong = [];
        // The wasm thread's JSON text goes out as it is (never parsed and re-stringified).
        const fromWasm = (json) => options.onFromWasm(json, JSON.parse(json));
        const telemetry = '{"type":"events","seq":3,"v":1}';
        fromWasm(telemetry);
        if (posted.some((m) => m.kind === "message")) wrong.push("relayed with no panel watching");
        const ringError = '{"v":1,"type":"ring-error","reason":"corrupt ring at position 0x10: bad kind"}';
        fromWasm(ringError);
        // A panel joins: it gets the broken ring (kept for it), then live messages.
        fromExtension({ source: EXTENSION_TAG, page, kind: "panels", panels: ["a".repeat(32)] });
        fromWasm(telemetry);
        let messages = posted.filter((m) => m.kind === "message").map((m) => m.json);
        if (JSON.stringify(messages) !== JSON.stringify([ringError, telemetry])) wrong.push(`relayed ${JSON.stringify(messages)}`);
        // The guest ends while no panel watches: a panel opening later gets its last output and end.
        fromExtension({ source: EXTENSION_TAG, page, kind: "panels", panels: [] });
        const output = '{"v":1,"type":"output","stream":"stdout","data":[104,105,10]}';
        const exit = '{"v":1,"type":"exit","code":3}';
        fromWasm(output);
        fromWasm(exit);
        posted.length = 0;
        fromExtension({ source: EXTENSION_TAG, page, kind: "panels", panels: ["b".repeat(32)] });
        messages = posted.filter((m) => m.kind === "message").map((m) => m.json);
        if (JSON.stringify(messages) !== JSON.stringify([ringError, output, exit])) wrong.push(`late panel got ${JSON.stringify(messages)}`);
        console.log(wrong.length ? wrong.join("\n") : "checked");
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
