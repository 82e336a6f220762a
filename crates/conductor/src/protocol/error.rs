//! The protocol's error type: everything that can be wrong with a frame
//! stream or a line stream, each variant naming exactly what was wrong.

use std::fmt;
use std::str::Utf8Error;

use super::header::MessageType;

/// What was wrong with a frame (or line) stream.
///
/// Decoders are fail-stop: once one of these is reported the stream is
/// considered corrupt and every later call reports the same error again.
/// Errors are cheap to clone and comparable so callers can log and test them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Header bytes 5..8 must be zero; they are reserved for future use.
    #[error("reserved header bytes must be zero, got {reserved:?}")]
    ReservedBytesNonZero {
        /// The three reserved bytes as received.
        reserved: [u8; 3],
    },

    /// The header's type byte is not one of the defined message types.
    #[error("unknown message type {0}")]
    UnknownMessageType(u8),

    /// The header declares a payload longer than the decoder accepts.
    #[error("frame length {len} exceeds maximum {max}")]
    FrameTooLong {
        /// Payload length declared by the header.
        len: u32,
        /// The decoder's configured maximum payload length.
        max: u32,
    },

    /// The payload is too short to hold a required fixed-size field.
    #[error("{kind} frame payload is {len}; it must hold an 8-byte {field}", len = Bytes(*.len))]
    PayloadTooShort {
        /// Type of the offending frame.
        kind: MessageType,
        /// Payload length declared by the header.
        len: u32,
        /// The field that does not fit, e.g. `"task id"` or `"nonce"`.
        field: &'static str,
    },

    /// The payload of a fixed-size message (ping, shutdown, shutdown ack)
    /// has the wrong length.
    #[error("{kind} frame payload is {len}; it must be exactly {expected}", len = Bytes(*.len), expected = Bytes(*.expected))]
    WrongPayloadLength {
        /// Type of the offending frame.
        kind: MessageType,
        /// Payload length declared by the header.
        len: u32,
        /// The only payload length this message type allows.
        expected: u32,
    },

    /// A task error's message is not valid UTF-8.
    #[error("task error message for task {id} is not valid UTF-8: {source}")]
    InvalidUtf8 {
        /// Task id carried by the task error frame.
        id: u64,
        /// Where the UTF-8 decoding failed.
        source: Utf8Error,
    },

    /// A message cannot be encoded because its payload does not fit in the
    /// header's 32-bit length field.
    #[error("payload of {len} bytes does not fit in a frame; the maximum is {max} bytes", max = u32::MAX)]
    PayloadTooLarge {
        /// Payload length the message would need.
        len: usize,
    },

    /// The stream ended with a partial frame buffered.
    #[error("stream ended in the middle of a frame ({buffered} bytes buffered)")]
    TruncatedFrame {
        /// Number of bytes of the incomplete frame that had arrived.
        buffered: usize,
    },

    /// Line mode: more than the maximum number of bytes arrived without a
    /// newline.
    #[error("line exceeds maximum length of {max} bytes without a newline")]
    LineTooLong {
        /// The line decoder's configured maximum line length.
        max: usize,
    },

    /// Line mode: a task line to be sent contains a newline, which would
    /// split it into two tasks.
    #[error("line-mode task contains a newline at byte {position}; line mode cannot carry multi-line bodies")]
    NewlineInLine {
        /// Offset of the first newline in the line.
        position: usize,
    },
}

/// Displays a byte count with the right plural ("1 byte", "3 bytes").
struct Bytes(u32);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 byte"),
            n => write!(f, "{n} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_was_wrong() {
        let cases = [
            (
                ProtocolError::ReservedBytesNonZero {
                    reserved: [0, 1, 0],
                },
                "reserved header bytes must be zero, got [0, 1, 0]",
            ),
            (
                ProtocolError::UnknownMessageType(9),
                "unknown message type 9",
            ),
            (
                ProtocolError::FrameTooLong {
                    len: 70_000_000,
                    max: 67_108_864,
                },
                "frame length 70000000 exceeds maximum 67108864",
            ),
            (
                ProtocolError::PayloadTooShort {
                    kind: MessageType::Task,
                    len: 3,
                    field: "task id",
                },
                "task frame payload is 3 bytes; it must hold an 8-byte task id",
            ),
            (
                ProtocolError::WrongPayloadLength {
                    kind: MessageType::Shutdown,
                    len: 1,
                    expected: 0,
                },
                "shutdown frame payload is 1 byte; it must be exactly 0 bytes",
            ),
            (
                ProtocolError::TruncatedFrame { buffered: 5 },
                "stream ended in the middle of a frame (5 bytes buffered)",
            ),
            (
                ProtocolError::LineTooLong { max: 10 },
                "line exceeds maximum length of 10 bytes without a newline",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }
}
