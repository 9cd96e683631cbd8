//! Waits and host calls as Chrome trace-event JSON (the "JSON Object Format"), which Perfetto
//! and `chrome://tracing` open: one complete (`"ph":"X"`) event per wait and per host call on
//! the wasm thread's track, timestamps in µs. A wait lies inside the host call that waited, so
//! the viewers nest it there.

use crate::{DecodeError, HostCallRecord, WaitCall, WaitRecord, WakeCause};
use serde::Deserialize;
use serde_json::{json, Value};

const PID: u32 = 1;
const TID: u32 = 1;

fn micros(ns: u64) -> f64 {
    ns as f64 / 1_000.0
}

fn call_name(call: WaitCall) -> &'static str {
    match call {
        WaitCall::PollableBlock => "pollable.block",
        WaitCall::Poll => "poll",
        WaitCall::BlockingRead => "blocking-read",
        WaitCall::BlockingWrite => "blocking-write",
        WaitCall::Paused => "paused",
    }
}

fn wake_name(wake: WakeCause) -> &'static str {
    match wake {
        WakeCause::Deadline => "deadline",
        WakeCause::RingNotify => "ring notify",
        WakeCause::AlreadyThere => "already there",
        WakeCause::Command => "command",
    }
}

/// The trace as a JSON value. `host_functions` names [`HostCallRecord::import`] (the
/// `Hello`'s table); an index outside it is shown as `host function #N`.
pub fn chrome_trace(
    host_functions: &[String],
    waits: &[WaitRecord],
    host_calls: &[HostCallRecord],
) -> Value {
    let mut events = Vec::with_capacity(2 + waits.len() + host_calls.len());
    events.push(json!({
        "name": "process_name", "ph": "M", "pid": PID, "tid": TID,
        "args": { "name": "pollscope guest" },
    }));
    events.push(json!({
        "name": "thread_name", "ph": "M", "pid": PID, "tid": TID,
        "args": { "name": "wasm thread" },
    }));
    for call in host_calls {
        let name = host_functions
            .get(call.import as usize)
            .cloned()
            .unwrap_or_else(|| format!("host function #{}", call.import));
        events.push(json!({
            "name": name, "cat": "host-call", "ph": "X", "pid": PID, "tid": TID,
            "ts": micros(call.start), "dur": micros(call.duration),
        }));
    }
    for wait in waits {
        let overshoot = match (wait.wake, wait.timeout) {
            (WakeCause::Deadline, Some(timeout)) => {
                Some(micros(wait.duration.saturating_sub(timeout)))
            }
            _ => None,
        };
        events.push(json!({
            "name": format!("wait: {}", call_name(wait.call)),
            "cat": "wait", "ph": "X", "pid": PID, "tid": TID,
            "ts": micros(wait.start), "dur": micros(wait.duration),
            "args": {
                "timeout_us": wait.timeout.map(micros),
                "guest_deadline_ns": wait.deadline,
                "wake": wake_name(wait.wake),
                "overshoot_us": overshoot,
            },
        }));
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}

/// The trace as JSON text, ready to save as `trace.json`.
pub fn chrome_trace_json(
    host_functions: &[String],
    waits: &[WaitRecord],
    host_calls: &[HostCallRecord],
) -> String {
    chrome_trace(host_functions, waits, host_calls).to_string()
}

/// The trace as JSON text from what a page received, all as JSON text: `hello_json` a `hello`
/// message (its host-function table names the calls; `""` for none), `waits_json` and
/// `calls_json` arrays of the batches' `waits` and `host_calls` records (`""` for none). The
/// error says which argument is wrong and why.
///
/// Of the hello only the version, the type and `host_functions` are read: decoding a whole
/// [`FromWasm`](crate::FromWasm) would link every telemetry type's deserializer into the
/// shim, which never reads any other message of that direction.
pub fn chrome_trace_from_json(
    hello_json: &str,
    waits_json: &str,
    calls_json: &str,
) -> Result<String, String> {
    let host_functions = if hello_json.is_empty() {
        Vec::new()
    } else {
        hello_host_functions(hello_json.as_bytes())
            .map_err(|err| format!("chrome_trace: hello: {err}"))?
            .ok_or("chrome_trace: the first argument is not a hello")?
    };
    let records = |json: &str| if json.is_empty() { "[]" } else { json }.to_string();
    let waits: Vec<WaitRecord> = serde_json::from_str(&records(waits_json))
        .map_err(|err| format!("chrome_trace: waits: {err}"))?;
    let calls: Vec<HostCallRecord> = serde_json::from_str(&records(calls_json))
        .map_err(|err| format!("chrome_trace: host calls: {err}"))?;
    Ok(chrome_trace_json(&host_functions, &waits, &calls))
}

/// A `hello` message's host-function table; `None` for another message of this version.
fn hello_host_functions(json: &[u8]) -> Result<Option<Vec<String>>, DecodeError> {
    let mut map = crate::json::object_of_this_version(json)?;
    if map.get("type").and_then(Value::as_str) != Some("hello") {
        return Ok(None);
    }
    let functions = map
        .remove("host_functions")
        .ok_or_else(|| DecodeError::Malformed("missing field `host_functions`".into()))?;
    Vec::<String>::deserialize(functions)
        .map(Some)
        .map_err(|err| DecodeError::Malformed(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_parses_back_as_trace_event_json() {
        let functions = vec!["wasi:io/poll#[method]pollable.block".to_string()];
        let waits = [WaitRecord {
            start: 2_000,
            call: WaitCall::PollableBlock,
            deadline: Some(1_000_000),
            timeout: Some(1_000_000),
            duration: 1_250_500,
            wake: WakeCause::Deadline,
        }];
        let calls = [
            HostCallRecord {
                import: 0,
                start: 1_000,
                duration: 1_300_000,
            },
            HostCallRecord {
                import: 9,
                start: 1_400_000,
                duration: 500,
            },
        ];
        let text = chrome_trace_json(&functions, &waits, &calls);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let events = parsed["traceEvents"].as_array().unwrap();
        let complete: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(complete.len(), 3);
        for event in &complete {
            assert!(event["ts"].is_number() && event["dur"].is_number());
            assert!(event["name"].is_string());
            assert_eq!(
                (event["pid"].as_u64(), event["tid"].as_u64()),
                (Some(1), Some(1))
            );
        }
        let call = complete.iter().find(|e| e["cat"] == "host-call").unwrap();
        assert_eq!(call["name"], "wasi:io/poll#[method]pollable.block");
        assert_eq!(
            (call["ts"].as_f64(), call["dur"].as_f64()),
            (Some(1.0), Some(1300.0))
        );
        assert!(complete.iter().any(|e| e["name"] == "host function #9"));
        let wait = complete.iter().find(|e| e["cat"] == "wait").unwrap();
        assert_eq!(wait["name"], "wait: pollable.block");
        assert_eq!(
            (wait["ts"].as_f64(), wait["dur"].as_f64()),
            (Some(2.0), Some(1250.5))
        );
        assert_eq!(wait["args"]["wake"], "deadline");
        assert_eq!(wait["args"]["overshoot_us"].as_f64(), Some(250.5));
        // The wait nests inside its host call.
        let end = |e: &Value| e["ts"].as_f64().unwrap() + e["dur"].as_f64().unwrap();
        assert!(wait["ts"].as_f64() >= call["ts"].as_f64() && end(wait) <= end(call));
        assert!(events
            .iter()
            .any(|e| e["ph"] == "M" && e["name"] == "thread_name"));
    }

    #[test]
    fn trace_from_json_names_calls_from_the_hello() {
        let hello = crate::Hello {
            protocol: crate::PROTOCOL_VERSION,
            component: crate::ComponentSummary::default(),
            host_functions: vec!["wasi:cli/exit#exit".into()],
            tinygo: None,
        };
        let hello = crate::encode_json(&crate::FromWasm::Hello(hello)).unwrap();
        let calls = r#"[{"import":0,"start":1000,"duration":2000}]"#;
        let text = chrome_trace_from_json(&hello, "", calls).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["traceEvents"][2]["name"], "wasi:cli/exit#exit");
        assert!(chrome_trace_from_json("", "", "").is_ok());

        let exit = crate::encode_json(&crate::FromWasm::Exit { code: 0 }).unwrap();
        let bad = [
            (exit.as_str(), "", "", "not a hello"),
            (
                r#"{"v":1,"type":"hello"}"#,
                "",
                "",
                "hello: malformed message: missing field `host_functions`",
            ),
            (
                r#"{"v":1,"type":"hello","host_functions":[1]}"#,
                "",
                "",
                "hello: malformed message",
            ),
            (
                r#"{"v":2,"type":"hello","host_functions":[]}"#,
                "",
                "",
                "hello: command of protocol version 2",
            ),
            ("{", "", "", "hello: malformed message"),
            ("", "[{}]", "", "waits: missing field"),
            ("", "", "{}", "host calls: invalid type"),
        ];
        for (hello, waits, calls, want) in bad {
            let err = chrome_trace_from_json(hello, waits, calls).unwrap_err();
            assert!(
                err.starts_with("chrome_trace: ") && err.contains(want),
                "{err} lacks {want}"
            );
        }
    }

    #[test]
    fn empty_trace_is_still_a_trace() {
        let parsed: Value = serde_json::from_str(&chrome_trace_json(&[], &[], &[])).unwrap();
        assert_eq!(parsed["traceEvents"].as_array().map(Vec::len), Some(2));
    }
}
