//! Page → wasm thread: every command, as ring bytes ([`Control`]) and as JSON ([`ToWasm`]).

use serde::{Deserialize, Serialize};

use crate::{DecodeError, PROTOCOL_VERSION};

/// The slowest time scale: the guest's clocks run at a tenth of real time.
pub const MIN_TIME_SCALE: f32 = 0.1;
/// The fastest time scale: the guest's clocks run ten times faster than real time.
pub const MAX_TIME_SCALE: f32 = 10.0;
/// Most bytes one [`ToWasm::Stdin`] message carries; the page splits longer input (the event
/// thread streams it into the ring with backpressure anyway).
pub const MAX_STDIN_CHUNK: usize = 1 << 20;

/// A command for the wasm thread, as it travels on the ring's control stream. Acted on at the
/// guest's next host call or wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Control {
    /// Stop the guest at its next host call or wait, and keep it there.
    Pause,
    /// Let a paused guest go on.
    Resume,
    /// Let the guest run until its next wait, then pause it there.
    Step,
    /// Run the guest's monotonic and wall clocks and its sleeps at this multiple of real time,
    /// in [`MIN_TIME_SCALE`]`..=`[`MAX_TIME_SCALE`].
    TimeScale(f32),
    /// A panel listens: send telemetry; per-event records too when `detail`.
    Subscribe {
        /// Record every wait, host call and pollable change (not only counters).
        detail: bool,
        /// Send the newest output first (a panel that joined late has none of it).
        replay: bool,
    },
    /// No panel listens any more: keep counters only.
    Unsubscribe,
    /// Send a full [`Snapshot`](crate::Snapshot) now (details are pulled, not pushed).
    Snapshot,
    /// End the guest and start it again from the same component.
    Restart,
    /// End the guest at its next host call or wait, as an interrupt trap, so that its end
    /// (and what it wrote to write-back preopens) still reaches the embedder: `pollscope run`
    /// on a signal or its timeout. The loader's own, never a panel's.
    Stop,
}

/// Checks a time scale: finite and in range.
pub(crate) fn check_scale(scale: f32) -> Result<f32, DecodeError> {
    if (MIN_TIME_SCALE..=MAX_TIME_SCALE).contains(&scale) {
        Ok(scale)
    } else {
        Err(DecodeError::OutOfRange(format!(
            "time scale {scale} (allowed {MIN_TIME_SCALE}..={MAX_TIME_SCALE})"
        )))
    }
}

impl Control {
    /// Every payload-free command, for name lookup.
    const NAMED: [Control; 5] = [
        Control::Pause,
        Control::Resume,
        Control::Step,
        Control::Unsubscribe,
        Control::Restart,
    ];

    fn tag(self) -> u8 {
        match self {
            Control::Pause => 1,
            Control::Resume => 2,
            Control::Step => 3,
            Control::TimeScale(_) => 4,
            Control::Subscribe { .. } => 5,
            Control::Unsubscribe => 6,
            Control::Snapshot => 7,
            Control::Restart => 8,
            Control::Stop => 9,
        }
    }

    /// The command's name in the page API (`pause`, `time-scale`, …).
    pub fn name(self) -> &'static str {
        match self {
            Control::Pause => "pause",
            Control::Resume => "resume",
            Control::Step => "step",
            Control::TimeScale(_) => "time-scale",
            Control::Subscribe { .. } => "subscribe",
            Control::Unsubscribe => "unsubscribe",
            Control::Snapshot => "snapshot",
            Control::Restart => "restart",
            Control::Stop => "stop",
        }
    }

    /// The payload-free command a page names (`pause`, `resume`, `step`, `unsubscribe`,
    /// `restart`); commands with a value come as [`ToWasm`] messages.
    pub fn from_name(name: &str) -> Result<Control, DecodeError> {
        Control::NAMED
            .into_iter()
            .find(|command| command.name() == name)
            .ok_or_else(|| DecodeError::UnknownName(name.chars().take(64).collect()))
    }

    /// The bytes that travel on the ring: version, tag, payload (time scale: `f32`
    /// little-endian; subscribe: one byte, 0 or 1).
    pub fn encode(self) -> Vec<u8> {
        let mut bytes = vec![PROTOCOL_VERSION, self.tag()];
        match self {
            Control::TimeScale(scale) => bytes.extend_from_slice(&scale.to_le_bytes()),
            Control::Subscribe { detail, replay } => {
                bytes.push(u8::from(detail) | u8::from(replay) << 1)
            }
            _ => {}
        }
        bytes
    }

    /// Reads a command from ring bytes; any other bytes are an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Control, DecodeError> {
        let (&version, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::Version(version));
        }
        let (&tag, payload) = rest.split_first().ok_or(DecodeError::Truncated)?;
        let (command, used) = match tag {
            1 => (Control::Pause, 0),
            2 => (Control::Resume, 0),
            3 => (Control::Step, 0),
            4 => {
                let raw: [u8; 4] = payload
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(DecodeError::Truncated)?;
                (Control::TimeScale(check_scale(f32::from_le_bytes(raw))?), 4)
            }
            5 => {
                let flags = match payload.first() {
                    None => return Err(DecodeError::Truncated),
                    Some(&flags) if flags <= 0b11 => flags,
                    Some(other) => {
                        return Err(DecodeError::OutOfRange(format!("subscribe flags {other}")))
                    }
                };
                let (detail, replay) = (flags & 1 != 0, flags & 2 != 0);
                (Control::Subscribe { detail, replay }, 1)
            }
            6 => (Control::Unsubscribe, 0),
            7 => (Control::Snapshot, 0),
            8 => (Control::Restart, 0),
            9 => (Control::Stop, 0),
            other => return Err(DecodeError::UnknownTag(other)),
        };
        match payload.len() - used {
            0 => Ok(command),
            stray => Err(DecodeError::Trailing(stray)),
        }
    }
}

/// A message from the page (or the DevTools panel through it) to the wasm side, as JSON:
/// `{"v":1,"type":"time-scale","scale":0.5}`. The event thread validates it, puts stdin on the
/// stdin stream and every other message on the control stream as a [`Control`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToWasm {
    /// [`Control::Pause`].
    Pause,
    /// [`Control::Resume`].
    Resume,
    /// [`Control::Step`].
    Step,
    /// [`Control::TimeScale`].
    TimeScale {
        /// Multiple of real time, [`MIN_TIME_SCALE`]`..=`[`MAX_TIME_SCALE`].
        scale: f32,
    },
    /// [`Control::Subscribe`].
    Subscribe {
        /// Per-event records too, not only counters.
        detail: bool,
        /// The newest output first.
        #[serde(default)]
        replay: bool,
    },
    /// [`Control::Unsubscribe`].
    Unsubscribe,
    /// [`Control::Snapshot`].
    Snapshot,
    /// [`Control::Restart`].
    Restart,
    /// Bytes for the guest's stdin, at most [`MAX_STDIN_CHUNK`].
    Stdin {
        /// The bytes, in order after earlier ones.
        data: Vec<u8>,
    },
    /// End of the guest's stdin.
    CloseStdin,
    /// Restart the guest with the asyncify flight recorder on or off: a TinyGo program's
    /// module is rewritten at load so its task switches are recorded. Done by the loader
    /// (`handle.restart({ asyncifyRecorder })`), never a ring command.
    RecordAsyncify {
        /// Record (true) or run the program unchanged (false).
        on: bool,
    },
}

impl ToWasm {
    /// The ring command this message becomes; `None` for stdin, which has its own stream.
    pub fn control(&self) -> Option<Control> {
        Some(match *self {
            ToWasm::Pause => Control::Pause,
            ToWasm::Resume => Control::Resume,
            ToWasm::Step => Control::Step,
            ToWasm::TimeScale { scale } => Control::TimeScale(scale),
            ToWasm::Subscribe { detail, replay } => Control::Subscribe { detail, replay },
            ToWasm::Unsubscribe => Control::Unsubscribe,
            ToWasm::Snapshot => Control::Snapshot,
            ToWasm::Restart => Control::Restart,
            ToWasm::Stdin { .. } | ToWasm::CloseStdin | ToWasm::RecordAsyncify { .. } => {
                return None
            }
        })
    }

    /// A command a panel sent as JSON text, if it is one a panel may send: a whole, valid
    /// [`ToWasm`] of this version, other than subscribing, which is the page's to decide (it
    /// knows which panels watch). Anything else is `None`: a page may forge commands, and its
    /// forgeries are dropped, never an error that ends the run.
    pub fn from_panel(json: &str) -> Option<ToWasm> {
        match crate::decode_json::<ToWasm>(json.as_bytes()) {
            Ok(ToWasm::Subscribe { .. } | ToWasm::Unsubscribe) | Err(_) => None,
            Ok(command) => Some(command),
        }
    }

    /// Checks what serde cannot: the time scale's range, the stdin chunk's size.
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            ToWasm::TimeScale { scale } => check_scale(*scale).map(|_| ()),
            ToWasm::Stdin { data } if data.len() > MAX_STDIN_CHUNK => {
                Err(DecodeError::OutOfRange(format!(
                    "stdin chunk of {} bytes (at most {MAX_STDIN_CHUNK})",
                    data.len()
                )))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Control> {
        vec![
            Control::Pause,
            Control::Resume,
            Control::Step,
            Control::TimeScale(0.1),
            Control::TimeScale(2.5),
            Control::TimeScale(10.0),
            Control::Subscribe {
                detail: false,
                replay: false,
            },
            Control::Subscribe {
                detail: true,
                replay: false,
            },
            Control::Subscribe {
                detail: true,
                replay: true,
            },
            Control::Unsubscribe,
            Control::Snapshot,
            Control::Restart,
            Control::Stop,
        ]
    }

    #[test]
    fn every_control_round_trips_as_bytes() {
        for control in all() {
            assert_eq!(Control::decode(&control.encode()), Ok(control));
        }
        for control in Control::NAMED {
            assert_eq!(Control::from_name(control.name()), Ok(control));
        }
    }

    #[test]
    fn out_of_range_and_truncated_controls_are_errors() {
        for bad in [0.0f32, 0.09, 10.01, -1.0, f32::NAN, f32::INFINITY] {
            let mut bytes = vec![PROTOCOL_VERSION, 4];
            bytes.extend_from_slice(&bad.to_le_bytes());
            assert!(matches!(
                Control::decode(&bytes),
                Err(DecodeError::OutOfRange(_))
            ));
        }
        assert_eq!(
            Control::decode(&[PROTOCOL_VERSION, 4, 0, 0]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            Control::decode(&[PROTOCOL_VERSION, 5]),
            Err(DecodeError::Truncated)
        );
        assert!(Control::decode(&[PROTOCOL_VERSION, 5, 4]).is_err());
        assert_eq!(
            Control::decode(&[PROTOCOL_VERSION, 3, 0]),
            Err(DecodeError::Trailing(1))
        );
        assert_eq!(
            Control::decode(&[PROTOCOL_VERSION, 0]),
            Err(DecodeError::UnknownTag(0))
        );
        assert!(Control::from_name("time-scale").is_err());
    }

    #[test]
    fn random_bytes_never_panic_control_decode() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..2000 {
            let mut bytes = Vec::with_capacity(len % 12);
            for _ in 0..len % 12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(seed as u8);
            }
            if len % 3 == 0 && bytes.len() > 1 {
                bytes[0] = PROTOCOL_VERSION;
                bytes[1] %= 10;
            }
            if let Ok(control) = Control::decode(&bytes) {
                assert_eq!(control.encode(), bytes, "decode is exact");
            }
        }
    }

    #[test]
    fn a_panel_may_send_only_whole_valid_commands_of_this_version() {
        for (json, taken) in [
            (r#"{"v":1,"type":"pause"}"#, true),
            (r#"{"v":1,"type":"step"}"#, true),
            (r#"{"v":1,"type":"time-scale","scale":0.5}"#, true),
            (r#"{"v":1,"type":"time-scale","scale":11}"#, false),
            (r#"{"v":1,"type":"time-scale","scale":"0.5"}"#, false),
            (r#"{"v":1,"type":"stdin","data":[104,105,10]}"#, true),
            (r#"{"v":1,"type":"stdin","data":[256]}"#, false),
            (r#"{"v":1,"type":"stdin","data":"hi"}"#, false),
            (r#"{"v":1,"type":"record-asyncify","on":true}"#, true),
            (r#"{"v":1,"type":"record-asyncify","on":"yes"}"#, false),
            (r#"{"v":1,"type":"subscribe","detail":true}"#, false),
            (r#"{"v":1,"type":"unsubscribe"}"#, false),
            (r#"{"type":"resume"}"#, false),
            (r#"{"v":2,"type":"pause"}"#, false),
            (r#"{"v":1,"type":"rm"}"#, false),
            ("[1,2]", false),
            ("not json", false),
            ("null", false),
        ] {
            assert_eq!(ToWasm::from_panel(json).is_some(), taken, "{json}");
        }
        assert_eq!(
            ToWasm::from_panel(r#"{"v":1,"type":"stdin","data":[104,105]}"#),
            Some(ToWasm::Stdin {
                data: b"hi".to_vec()
            })
        );
    }

    #[test]
    fn to_wasm_maps_to_controls_and_validates() {
        assert_eq!(
            ToWasm::TimeScale { scale: 0.5 }.control(),
            Some(Control::TimeScale(0.5))
        );
        assert_eq!(ToWasm::CloseStdin.control(), None);
        assert!(ToWasm::TimeScale { scale: 20.0 }.validate().is_err());
        assert!(ToWasm::Stdin {
            data: vec![0; MAX_STDIN_CHUNK + 1]
        }
        .validate()
        .is_err());
        assert!(ToWasm::Stdin { data: vec![1] }.validate().is_ok());
    }
}
