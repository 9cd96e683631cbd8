//! What the panel asks of the guest: `ToWasm` messages, encoded as the protocol says.

use pollscope_protocol::{
    encode_value, DecodeError, ToWasm, MAX_STDIN_CHUNK, MAX_TIME_SCALE, MIN_TIME_SCALE,
};
use serde_json::Value;

/// The time scale the slider asks for, kept in range (NaN means real time).
pub fn clamp_time_scale(scale: f32) -> f32 {
    if scale.is_nan() {
        1.0
    } else {
        scale.clamp(MIN_TIME_SCALE, MAX_TIME_SCALE)
    }
}

/// `message` as the JSON object the host page's `send` receives (`{"v":1,"type":"pause"}`),
/// after the protocol's own checks.
pub fn encode(message: &ToWasm) -> Result<Value, DecodeError> {
    message.validate()?;
    encode_value(message)
}

/// A stdin line (a newline added) as `stdin` messages of at most [`MAX_STDIN_CHUNK`] bytes.
pub fn stdin_line(line: &str) -> Vec<ToWasm> {
    let mut bytes = line.as_bytes().to_vec();
    bytes.push(b'\n');
    bytes
        .chunks(MAX_STDIN_CHUNK)
        .map(|chunk| ToWasm::Stdin {
            data: chunk.to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pollscope_protocol::decode_value;

    #[test]
    fn commands_encode_as_tagged_versioned_objects_the_host_decodes() {
        for message in [
            ToWasm::Pause,
            ToWasm::Resume,
            ToWasm::Step,
            ToWasm::Snapshot,
            ToWasm::Restart,
            ToWasm::CloseStdin,
            ToWasm::Subscribe {
                detail: true,
                replay: false,
            },
            ToWasm::TimeScale { scale: 0.5 },
        ] {
            let value = encode(&message).unwrap();
            assert_eq!(value["v"], 1);
            assert!(value["type"].is_string());
            assert_eq!(decode_value::<ToWasm>(value), Ok(message));
        }
        assert_eq!(encode(&ToWasm::Pause).unwrap()["type"], "pause");
        assert_eq!(
            encode(&ToWasm::TimeScale { scale: 2.0 }).unwrap()["type"],
            "time-scale"
        );
        assert!(encode(&ToWasm::TimeScale { scale: 50.0 }).is_err());
    }

    #[test]
    fn the_slider_stays_in_range() {
        assert_eq!(clamp_time_scale(0.0), MIN_TIME_SCALE);
        assert_eq!(clamp_time_scale(99.0), MAX_TIME_SCALE);
        assert_eq!(clamp_time_scale(f32::NAN), 1.0);
        assert_eq!(clamp_time_scale(2.5), 2.5);
    }

    #[test]
    fn stdin_lines_end_in_a_newline_and_split_into_chunks() {
        assert_eq!(
            stdin_line("hi"),
            vec![ToWasm::Stdin {
                data: b"hi\n".to_vec()
            }]
        );
        let long = "x".repeat(MAX_STDIN_CHUNK);
        let chunks = stdin_line(&long);
        assert_eq!(chunks.len(), 2);
        for chunk in &chunks {
            assert!(encode(chunk).is_ok());
        }
    }
}
