//! The fixed 8-byte frame header and the message type codes: parsing,
//! validation against the per-type payload rules, and serialisation.

use std::fmt;

use super::error::ProtocolError;

/// Size of a frame header in bytes.
pub const HEADER_LEN: usize = 8;

/// Default maximum payload length a [`Decoder`](super::Decoder) accepts:
/// 64 MiB.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 64 * 1024 * 1024;

/// Size of the task id / nonce that starts most payloads.
pub(crate) const ID_LEN: usize = 8;

/// The message type carried in header byte 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// Pool to worker: one unit of work.
    Task = 1,
    /// Worker to pool: a task's successful output.
    Result = 2,
    /// Worker to pool: a task failed.
    TaskError = 3,
    /// Pool to worker: status query.
    Ping = 4,
    /// Worker to pool: answer to a ping.
    Pong = 5,
    /// Pool to worker: finish and exit.
    Shutdown = 6,
    /// Worker to pool: shutdown acknowledged, the worker is exiting.
    ShutdownAck = 7,
}

impl MessageType {
    /// The numeric code written on the wire.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// Looks up a wire code; `None` for codes that are not defined.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Task,
            2 => Self::Result,
            3 => Self::TaskError,
            4 => Self::Ping,
            5 => Self::Pong,
            6 => Self::Shutdown,
            7 => Self::ShutdownAck,
            _ => return None,
        })
    }

    /// Human-readable name used in error messages, e.g. `"task error"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::Result => "result",
            Self::TaskError => "task error",
            Self::Ping => "ping",
            Self::Pong => "pong",
            Self::Shutdown => "shutdown",
            Self::ShutdownAck => "shutdown ack",
        }
    }

    /// Checks a payload length against this type's layout rules.
    fn check_payload_len(self, len: u32) -> Result<(), ProtocolError> {
        let id_len = ID_LEN as u32;
        match self {
            Self::Task | Self::Result | Self::TaskError if len < id_len => {
                Err(ProtocolError::PayloadTooShort {
                    kind: self,
                    len,
                    field: "task id",
                })
            }
            Self::Pong if len < id_len => Err(ProtocolError::PayloadTooShort {
                kind: self,
                len,
                field: "nonce",
            }),
            Self::Ping if len != id_len => Err(ProtocolError::WrongPayloadLength {
                kind: self,
                len,
                expected: id_len,
            }),
            Self::Shutdown | Self::ShutdownAck if len != 0 => {
                Err(ProtocolError::WrongPayloadLength {
                    kind: self,
                    len,
                    expected: 0,
                })
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<u8> for MessageType {
    type Error = ProtocolError;

    fn try_from(code: u8) -> Result<Self, ProtocolError> {
        Self::from_code(code).ok_or(ProtocolError::UnknownMessageType(code))
    }
}

/// A validated frame header: payload length and message type.
///
/// Wire layout: bytes 0..4 payload length (u32 big-endian), byte 4 message
/// type, bytes 5..8 reserved (must be zero).
///
/// ```
/// use conductor::protocol::{FrameHeader, MessageType, DEFAULT_MAX_FRAME_LEN};
///
/// let header = FrameHeader::new(MessageType::Ping, 8);
/// let bytes = header.to_bytes();
/// assert_eq!(bytes, [0, 0, 0, 8, 4, 0, 0, 0]);
/// assert_eq!(FrameHeader::parse(&bytes, DEFAULT_MAX_FRAME_LEN)?, header);
/// # Ok::<(), conductor::protocol::ProtocolError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Number of payload bytes following the header.
    pub payload_len: u32,
    /// What the payload holds.
    pub message_type: MessageType,
}

impl FrameHeader {
    /// A header for a payload of `payload_len` bytes of type `message_type`.
    pub const fn new(message_type: MessageType, payload_len: u32) -> Self {
        Self {
            payload_len,
            message_type,
        }
    }

    /// Parses and validates a header.
    ///
    /// Rejects, in this order: non-zero reserved bytes, unknown message
    /// types, payload lengths above `max_payload_len`, and payload lengths
    /// the message type's layout does not allow (e.g. a task payload too
    /// short for its id, or a non-empty shutdown payload). All of this is
    /// decided from the header alone, before any payload byte is read.
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] for the first rule the header breaks, in the order above.
    pub fn parse(bytes: &[u8; HEADER_LEN], max_payload_len: u32) -> Result<Self, ProtocolError> {
        let [l0, l1, l2, l3, code, r0, r1, r2] = *bytes;
        let reserved = [r0, r1, r2];
        if reserved != [0; 3] {
            return Err(ProtocolError::ReservedBytesNonZero { reserved });
        }
        let message_type = MessageType::try_from(code)?;
        let payload_len = u32::from_be_bytes([l0, l1, l2, l3]);
        if payload_len > max_payload_len {
            return Err(ProtocolError::FrameTooLong {
                len: payload_len,
                max: max_payload_len,
            });
        }
        message_type.check_payload_len(payload_len)?;
        Ok(Self::new(message_type, payload_len))
    }

    /// Serialises the header (reserved bytes zero).
    pub const fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let [l0, l1, l2, l3] = self.payload_len.to_be_bytes();
        [l0, l1, l2, l3, self.message_type.code(), 0, 0, 0]
    }

    /// Total frame size: header plus payload.
    pub const fn frame_len(&self) -> usize {
        HEADER_LEN + self.payload_len as usize
    }
}

#[cfg(test)]
mod tests {
    use super::super::proptests::header_bytes as header;
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in 0..=255u8 {
            match MessageType::from_code(code) {
                Some(t) => assert_eq!(t.code(), code),
                None => assert!(code == 0 || code > 7, "code {code} should be defined"),
            }
        }
    }

    #[test]
    fn rejects_reserved_bytes() {
        let err = FrameHeader::parse(&header(8, 1, [0, 1, 0]), 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reserved header bytes must be zero, got [0, 1, 0]"
        );
    }

    #[test]
    fn rejects_unknown_type() {
        for code in [0u8, 8, 9, 255] {
            let err = FrameHeader::parse(&header(8, code, [0; 3]), 100).unwrap_err();
            assert_eq!(err, ProtocolError::UnknownMessageType(code));
        }
    }

    #[test]
    fn rejects_long_frames() {
        let err =
            FrameHeader::parse(&header(70_000_000, 1, [0; 3]), DEFAULT_MAX_FRAME_LEN).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame length 70000000 exceeds maximum 67108864"
        );
        assert!(FrameHeader::parse(
            &header(DEFAULT_MAX_FRAME_LEN, 1, [0; 3]),
            DEFAULT_MAX_FRAME_LEN
        )
        .is_ok());
    }

    #[test]
    fn payload_layout_rules() {
        let ok = |code, len| FrameHeader::parse(&header(len, code, [0; 3]), 1000).is_ok();
        // Task, Result, TaskError: at least the id.
        for code in 1..=3 {
            assert!(!ok(code, 7));
            assert!(ok(code, 8));
            assert!(ok(code, 9));
        }
        // Ping: exactly the nonce. Pong: at least the nonce.
        assert!(!ok(4, 7) && ok(4, 8) && !ok(4, 9));
        assert!(!ok(5, 7) && ok(5, 8) && ok(5, 9));
        // Shutdown and ShutdownAck: empty.
        for code in 6..=7 {
            assert!(ok(code, 0));
            assert!(!ok(code, 1));
        }
        let err = FrameHeader::parse(&header(3, 1, [0; 3]), 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "task frame payload is 3 bytes; it must hold an 8-byte task id"
        );
        let err = FrameHeader::parse(&header(9, 4, [0; 3]), 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ping frame payload is 9 bytes; it must be exactly 8 bytes"
        );
    }
}
