//! The JSON form of [`ToWasm`] and [`FromWasm`]: the message's own fields, its `type`, and the
//! protocol version in `v`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{DecodeError, FromWasm, ToWasm, PROTOCOL_VERSION};

/// Longest JSON message [`decode_json`] reads; longer input is an error before parsing (a
/// hostile page cannot make a hop allocate without bound).
pub const MAX_MESSAGE_BYTES: usize = 8 << 20;

/// A message of one direction. Sealed: only [`ToWasm`] and [`FromWasm`].
pub trait Message: Serialize + DeserializeOwned + sealed::Sealed {
    /// Checks what serde cannot (ranges, sizes).
    fn validate(&self) -> Result<(), DecodeError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::ToWasm {}
    impl Sealed for crate::FromWasm {}
}

impl Message for ToWasm {
    fn validate(&self) -> Result<(), DecodeError> {
        ToWasm::validate(self)
    }
}

impl Message for FromWasm {
    fn validate(&self) -> Result<(), DecodeError> {
        FromWasm::validate(self)
    }
}

/// `message` as a JSON value with `v` set (for `serde-wasm-bindgen` or a port).
pub fn encode_value<M: Message>(message: &M) -> Result<Value, DecodeError> {
    let mut value = serde_json::to_value(message).map_err(malformed)?;
    match &mut value {
        Value::Object(map) => {
            map.insert("v".into(), Value::from(PROTOCOL_VERSION));
            Ok(value)
        }
        // Both enums are tagged, so they serialize as objects.
        _ => Err(DecodeError::Malformed("message is not an object".into())),
    }
}

/// `message` as JSON text, `v` first: `{"v":1,"type":…}`.
///
/// Written straight from the message rather than through a [`Value`] (which
/// [`encode_value`] builds): no intermediate map per message, and the shim, which posts every
/// message this way, links no serializer into `Value` for the messages' types.
pub fn encode_json<M: Message>(message: &M) -> Result<String, DecodeError> {
    let body = serde_json::to_string(message).map_err(malformed)?;
    // Both enums are tagged, so they serialize as objects with at least their `type`.
    match body.strip_prefix('{') {
        Some(fields) if !fields.starts_with('}') => {
            Ok(format!("{{\"v\":{PROTOCOL_VERSION},{fields}"))
        }
        _ => Err(DecodeError::Malformed("message is not an object".into())),
    }
}

/// Reads a message from JSON text: the version first (so another version reads as such, not
/// as garbage), then the fields, then [`Message::validate`]. Never panics.
pub fn decode_json<M: Message>(bytes: &[u8]) -> Result<M, DecodeError> {
    message_of(object_of_this_version(bytes)?)
}

/// Reads a message from a JSON value (as [`decode_json`]).
pub fn decode_value<M: Message>(value: Value) -> Result<M, DecodeError> {
    let Value::Object(mut map) = value else {
        return Err(DecodeError::Malformed("not an object".into()));
    };
    check_version(&mut map)?;
    message_of(map)
}

/// JSON text that is an object of this protocol version (at most [`MAX_MESSAGE_BYTES`]),
/// its fields but `v`.
pub(crate) fn object_of_this_version(bytes: &[u8]) -> Result<Map<String, Value>, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::OutOfRange(format!(
            "message of {} bytes (at most {MAX_MESSAGE_BYTES})",
            bytes.len()
        )));
    }
    let Value::Object(mut map) = serde_json::from_slice(bytes).map_err(malformed)? else {
        return Err(DecodeError::Malformed("not an object".into()));
    };
    check_version(&mut map)?;
    Ok(map)
}

fn message_of<M: Message>(fields: Map<String, Value>) -> Result<M, DecodeError> {
    let message = M::deserialize(Value::Object(fields)).map_err(malformed)?;
    message.validate()?;
    Ok(message)
}

fn check_version(map: &mut Map<String, Value>) -> Result<(), DecodeError> {
    match map.remove("v") {
        None => Err(DecodeError::Malformed("no protocol version `v`".into())),
        Some(v) => match v.as_u64() {
            Some(version) if version == u64::from(PROTOCOL_VERSION) => Ok(()),
            Some(version) => Err(DecodeError::Version(
                u8::try_from(version).unwrap_or(u8::MAX),
            )),
            None => Err(DecodeError::Malformed(format!(
                "protocol version `{}` is not a number",
                shorten(&v.to_string())
            ))),
        },
    }
}

fn malformed(err: serde_json::Error) -> DecodeError {
    DecodeError::Malformed(shorten(&err.to_string()))
}

/// Error text from hostile input stays short.
fn shorten(text: &str) -> String {
    text.chars().take(160).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    fn samples_to_wasm() -> Vec<ToWasm> {
        vec![
            ToWasm::Pause,
            ToWasm::Resume,
            ToWasm::Step,
            ToWasm::TimeScale { scale: 0.25 },
            ToWasm::Subscribe {
                detail: true,
                replay: false,
            },
            ToWasm::Unsubscribe,
            ToWasm::Snapshot,
            ToWasm::Restart,
            ToWasm::Stdin {
                data: b"hi\n".to_vec(),
            },
            ToWasm::CloseStdin,
        ]
    }

    fn samples_from_wasm() -> Vec<FromWasm> {
        let pollable = Pollable {
            handle: 3,
            kind: PollableKind::Timer { deadline: 9 },
            created_by: "wasi:clocks/monotonic-clock#subscribe-duration".into(),
            created_at: 1,
            polled: 0,
            blocked: 1,
            ready: Some(false),
        };
        let trap = TrapReport {
            message: "unreachable".into(),
            frames: vec![Frame {
                name: Some("main".into()),
                func: Some(7),
                offset: Some(0x1f),
                file: Some("/src/main.go".into()),
                line: Some(12),
            }],
        };
        vec![
            FromWasm::Hello(Hello {
                protocol: PROTOCOL_VERSION,
                component: ComponentSummary {
                    size: 1234,
                    imports: vec!["wasi:io/poll@0.2.0".into()],
                    exports: vec!["wasi:cli/run@0.2.0".into()],
                    producers: vec![Producer {
                        field: "language".into(),
                        name: "Go".into(),
                        version: "1.22".into(),
                    }],
                    dwarf: true,
                    name_section: true,
                    asyncify_exports: vec!["asyncify_get_state".into()],
                },
                host_functions: vec!["wasi:io/poll#poll".into()],
                tinygo: None,
            }),
            FromWasm::Snapshot(Snapshot {
                at: 10,
                uptime: 9,
                state: GuestState::Waiting {
                    call: WaitCall::PollableBlock,
                    until: Some(20),
                },
                time_scale: 1.0,
                pollables: vec![pollable.clone()],
                retired: RetiredPollables {
                    held: 2,
                    total: 5,
                    by_creator: vec![("x".into(), 2)],
                },
                host_calls: vec![4],
                wait_totals: WaitTotals::default(),
                ring: Some(RingSample::default()),
                dropped: Dropped::default(),
            }),
            FromWasm::Events(EventBatch {
                seq: 1,
                state: Some(GuestState::Trapped(trap.clone())),
                waits: vec![WaitRecord {
                    start: 1,
                    call: WaitCall::Poll,
                    deadline: None,
                    timeout: None,
                    duration: 5,
                    wake: WakeCause::RingNotify,
                }],
                host_calls: vec![HostCallRecord {
                    import: 0,
                    start: 1,
                    duration: 2,
                }],
                pollable_changes: vec![
                    PollableChange::Upsert(pollable),
                    PollableChange::Dropped { handle: 3, at: 4 },
                ],
                ring_samples: vec![RingSample::default()],
                ..EventBatch::default()
            }),
            FromWasm::Output {
                stream: OutputStream::Stderr,
                data: vec![1, 2],
            },
            FromWasm::Exit { code: 3 },
            FromWasm::Trap(trap),
            FromWasm::RingError {
                reason: "message on stream 1 exceeds the reassembly limit of 16777216 bytes".into(),
            },
        ]
    }

    #[test]
    fn every_message_round_trips_as_json() {
        for message in samples_to_wasm() {
            let json = encode_json(&message).unwrap();
            assert!(json.starts_with("{\"v\":1,\"type\":\""), "{json}");
            assert_eq!(decode_json::<ToWasm>(json.as_bytes()), Ok(message));
        }
        for message in samples_from_wasm() {
            let json = encode_json(&message).unwrap();
            assert_eq!(decode_json::<FromWasm>(json.as_bytes()), Ok(message));
        }
    }

    #[test]
    fn json_wire_shape_is_tagged_by_type() {
        let json = encode_json(&ToWasm::TimeScale { scale: 0.5 }).unwrap();
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["type"], "time-scale");
        assert_eq!(value["scale"], 0.5);
        assert_eq!(
            decode_json::<ToWasm>(br#"{"type":"subscribe","detail":false,"v":1,"later":0}"#),
            Ok(ToWasm::Subscribe {
                detail: false,
                replay: false
            }),
            "unknown fields are ignored: optional fields can be added without a bump"
        );
    }

    #[test]
    fn bad_json_messages_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (br#"{"type":"pause"}"#, "no protocol version"),
            (br#"{"v":2,"type":"pause"}"#, "version 2"),
            (br#"{"v":999,"type":"pause"}"#, "version 255"),
            (br#"{"v":"1","type":"pause"}"#, "not a number"),
            (br#"{"v":1,"type":"rm"}"#, "unknown variant"),
            (br#"{"v":1}"#, "missing field"),
            (br#"{"v":1,"type":"time-scale","scale":11}"#, "out of range"),
            (
                br#"{"v":1,"type":"time-scale","scale":"x"}"#,
                "invalid type",
            ),
            (br#"[1,2]"#, "not an object"),
            (b"\xff\xfe", "malformed"),
            (b"", "EOF"),
        ];
        for (bytes, want) in cases {
            let err = decode_json::<ToWasm>(bytes).unwrap_err().to_string();
            assert!(err.contains(want), "{err} lacks {want}");
        }
        let batch = br#"{"v":1,"type":"events","seq":0,"at":0,"state":null,"waits":[],"host_calls":[],"pollable_changes":[],"ring_samples":[],"dropped":{"waits":0,"host_calls":0,"pollable_changes":0,"ring_samples":0},"wait_totals":{"count":0,"blocked":0,"overshoot":[1]},"host_calls_total":0}"#;
        assert!(matches!(
            decode_json::<FromWasm>(batch),
            Err(DecodeError::OutOfRange(_))
        ));
        let huge = vec![b' '; MAX_MESSAGE_BYTES + 1];
        assert!(decode_json::<ToWasm>(&huge).is_err());
    }

    #[test]
    fn random_and_mutated_json_never_panics() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let corpus: Vec<String> = samples_to_wasm()
            .iter()
            .map(|m| encode_json(m).unwrap())
            .chain(samples_from_wasm().iter().map(|m| encode_json(m).unwrap()))
            .collect();
        let alphabet = b"{}[]\",:0123456789.-eEtruefalsnl \\v";
        for round in 0..20_000 {
            let mut bytes = corpus[round % corpus.len()].clone().into_bytes();
            match round % 4 {
                // Flip, insert or delete bytes of a valid message.
                0..=2 => {
                    for _ in 0..1 + next() % 4 {
                        let at = (next() as usize) % bytes.len().max(1);
                        let byte = alphabet[(next() as usize) % alphabet.len()];
                        match next() % 3 {
                            0 if at < bytes.len() => bytes[at] = byte,
                            1 => bytes.insert(at.min(bytes.len()), byte),
                            _ if at < bytes.len() => {
                                bytes.remove(at);
                            }
                            _ => {}
                        }
                    }
                }
                // Pure noise.
                _ => {
                    bytes = (0..next() % 64).map(|_| next() as u8).collect();
                }
            }
            if let Ok(message) = decode_json::<ToWasm>(&bytes) {
                assert!(message.validate().is_ok());
            }
            if let Ok(message) = decode_json::<FromWasm>(&bytes) {
                assert!(message.validate().is_ok());
            }
        }
    }
}
