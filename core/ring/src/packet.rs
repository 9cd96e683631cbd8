//! Packets as they sit in the data area.
//!
//! Every packet starts on an 8-byte boundary with an 8-byte header, followed by its payload and
//! zero to seven bytes of padding up to the next boundary:
//!
//! ```text
//! bytes 0..4  payload length, u32 little-endian, at most the ring's MTU
//! bytes 4..6  stream id, u16 little-endian
//! byte  6     kind (0 data, 1 end of stream, 2 control)
//! byte  7     flags: bit 0 = more frames of this message follow; other bits zero
//! ```
//!
//! Because the data area is a multiple of 8 bytes, a header never straddles its end; a payload
//! may, and is then copied in two pieces (no skip marker, no wasted space).
//!
//! A message longer than the MTU (or than the room left in the ring) goes out as several frames
//! on the same stream, every one but the last flagged "more". Frames of different streams may
//! interleave; the consumer reassembles per stream.

use crate::layout::PACKET_HEADER;

/// What a packet means to its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// Bytes of the stream (stdin, a socket's data).
    Data,
    /// The stream ends; the payload, usually empty, is its last bytes.
    End,
    /// A command (pause, resume, …); its payload is opaque to the ring.
    Control,
}

impl Kind {
    fn to_byte(self) -> u8 {
        match self {
            Kind::Data => 0,
            Kind::End => 1,
            Kind::Control => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            0 => Kind::Data,
            1 => Kind::End,
            2 => Kind::Control,
            _ => return None,
        })
    }
}

const MORE: u8 = 1;

/// A decoded packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub len: u32,
    pub stream: u16,
    pub kind: Kind,
    pub more: bool,
}

impl Header {
    pub fn encode(&self) -> [u8; PACKET_HEADER as usize] {
        let [l0, l1, l2, l3] = self.len.to_le_bytes();
        let [s0, s1] = self.stream.to_le_bytes();
        let flags = if self.more { MORE } else { 0 };
        [l0, l1, l2, l3, s0, s1, self.kind.to_byte(), flags]
    }

    pub fn decode(b: [u8; PACKET_HEADER as usize]) -> Result<Header, &'static str> {
        let kind = Kind::from_byte(b[6]).ok_or("unknown packet kind")?;
        if b[7] & !MORE != 0 {
            return Err("reserved packet flags set");
        }
        Ok(Header {
            len: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            stream: u16::from_le_bytes([b[4], b[5]]),
            kind,
            more: b[7] & MORE != 0,
        })
    }
}

/// One message handed out by [`Consumer::drain`](crate::Consumer::drain): a single packet, or
/// the frames of a split message joined back together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The stream it belongs to.
    pub stream: u16,
    /// What it means.
    pub kind: Kind,
    /// Its bytes. Borrowed from the consumer's buffer until the callback returns.
    pub payload: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        for kind in [Kind::Data, Kind::End, Kind::Control] {
            for more in [false, true] {
                let h = Header {
                    len: 0x0102_0304,
                    stream: 0xbeef,
                    kind,
                    more,
                };
                assert_eq!(Header::decode(h.encode()), Ok(h));
            }
        }
    }

    #[test]
    fn header_layout_is_fixed() {
        let h = Header {
            len: 5,
            stream: 0x0201,
            kind: Kind::Control,
            more: true,
        };
        assert_eq!(h.encode(), [5, 0, 0, 0, 1, 2, 2, 1]);
    }

    #[test]
    fn unknown_kind_and_flags_are_rejected() {
        assert_eq!(
            Header::decode([0, 0, 0, 0, 0, 0, 3, 0]),
            Err("unknown packet kind")
        );
        assert_eq!(
            Header::decode([0, 0, 0, 0, 0, 0, 0, 2]),
            Err("reserved packet flags set")
        );
    }
}
