//! Typed messages: the owned [`Message`], the borrowed [`MessageRef`], their
//! payload layouts, and encoding them into frames.

use std::io::{self, Write};

use super::error::ProtocolError;
use super::header::{FrameHeader, MessageType, HEADER_LEN, ID_LEN};

/// One protocol message, owning its bytes.
///
/// ```
/// use conductor::protocol::{decode_frame, encode, Message, DEFAULT_MAX_FRAME_LEN};
///
/// let msg = Message::Task { id: 7, body: b"hello".to_vec() };
/// let mut frame = Vec::new();
/// encode(&msg, &mut frame)?;
/// let (decoded, used) = decode_frame(&frame, DEFAULT_MAX_FRAME_LEN)?.expect("complete frame");
/// assert_eq!(used, frame.len());
/// assert_eq!(decoded.to_message(), msg);
/// # Ok::<(), conductor::protocol::ProtocolError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// Pool to worker: run task `id` on `body`.
    Task {
        /// Task id, chosen by the pool, echoed in the reply.
        id: u64,
        /// Task input, opaque to the protocol.
        body: Vec<u8>,
    },
    /// Worker to pool: task `id` succeeded with output `body`.
    Result {
        /// Id of the task this answers.
        id: u64,
        /// Task output, opaque to the protocol.
        body: Vec<u8>,
    },
    /// Worker to pool: task `id` failed; the worker keeps serving.
    TaskError {
        /// Id of the task this answers.
        id: u64,
        /// Human-readable reason.
        message: String,
    },
    /// Pool to worker: status query, answered by a [`Message::Pong`].
    Ping {
        /// Opaque value echoed in the pong.
        nonce: u64,
    },
    /// Worker to pool: answer to a ping.
    Pong {
        /// The nonce of the ping being answered.
        nonce: u64,
        /// Optional worker-defined status bytes (may be empty).
        status: Vec<u8>,
    },
    /// Pool to worker: finish, acknowledge and exit.
    Shutdown,
    /// Worker to pool: shutdown acknowledged; nothing follows.
    ShutdownAck,
}

/// One protocol message borrowing its bytes, e.g. from a receive buffer.
///
/// This is what the zero-copy decoding paths ([`decode_frame`](super::decode_frame),
/// [`Decoder::next_message_ref`](super::Decoder::next_message_ref)) return,
/// and it can be encoded directly, without building an owned [`Message`].
///
/// ```
/// use conductor::protocol::MessageRef;
///
/// let mut frame = Vec::new();
/// MessageRef::Result { id: 1, body: b"OK" }.encode(&mut frame)?;
/// assert_eq!(frame, [0, 0, 0, 10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, b'O', b'K']);
/// # Ok::<(), conductor::protocol::ProtocolError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageRef<'a> {
    /// See [`Message::Task`].
    Task {
        /// Task id.
        id: u64,
        /// Task input.
        body: &'a [u8],
    },
    /// See [`Message::Result`].
    Result {
        /// Id of the task this answers.
        id: u64,
        /// Task output.
        body: &'a [u8],
    },
    /// See [`Message::TaskError`].
    TaskError {
        /// Id of the task this answers.
        id: u64,
        /// Human-readable reason.
        message: &'a str,
    },
    /// See [`Message::Ping`].
    Ping {
        /// Opaque value echoed in the pong.
        nonce: u64,
    },
    /// See [`Message::Pong`].
    Pong {
        /// The nonce of the ping being answered.
        nonce: u64,
        /// Worker-defined status bytes.
        status: &'a [u8],
    },
    /// See [`Message::Shutdown`].
    Shutdown,
    /// See [`Message::ShutdownAck`].
    ShutdownAck,
}

impl Message {
    /// Borrows this message as a [`MessageRef`].
    pub fn as_message_ref(&self) -> MessageRef<'_> {
        match self {
            Self::Task { id, body } => MessageRef::Task { id: *id, body },
            Self::Result { id, body } => MessageRef::Result { id: *id, body },
            Self::TaskError { id, message } => MessageRef::TaskError { id: *id, message },
            Self::Ping { nonce } => MessageRef::Ping { nonce: *nonce },
            Self::Pong { nonce, status } => MessageRef::Pong {
                nonce: *nonce,
                status,
            },
            Self::Shutdown => MessageRef::Shutdown,
            Self::ShutdownAck => MessageRef::ShutdownAck,
        }
    }

    /// The message's wire type.
    pub fn message_type(&self) -> MessageType {
        self.as_message_ref().message_type()
    }

    /// Appends this message's frame to `out`; see [`MessageRef::encode`].
    ///
    /// # Errors
    ///
    /// [`ProtocolError::PayloadTooLarge`] when the payload exceeds the 32-bit length field;
    /// `out` is left untouched.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        self.as_message_ref().encode(out)
    }
}

impl<'a> From<&'a Message> for MessageRef<'a> {
    fn from(msg: &'a Message) -> Self {
        msg.as_message_ref()
    }
}

impl From<MessageRef<'_>> for Message {
    fn from(msg: MessageRef<'_>) -> Self {
        msg.to_message()
    }
}

/// Appends the frame for `msg` to `out`.
///
/// Fails only if the payload would exceed the 32-bit length field
/// ([`ProtocolError::PayloadTooLarge`]); `out` is left untouched then.
/// Receivers usually enforce a lower limit ([`DEFAULT_MAX_FRAME_LEN`](super::DEFAULT_MAX_FRAME_LEN)).
///
/// # Errors
///
/// [`ProtocolError::PayloadTooLarge`] when the payload exceeds the 32-bit length field; `out`
/// is left untouched.
///
/// ```
/// use conductor::protocol::{encode, Message};
///
/// let mut out = Vec::new();
/// encode(&Message::Shutdown, &mut out)?;
/// assert_eq!(out, [0, 0, 0, 0, 6, 0, 0, 0]);
/// # Ok::<(), conductor::protocol::ProtocolError>(())
/// ```
pub fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
    msg.encode(out)
}

/// A message split into the pieces written on the wire.
struct Parts<'a> {
    header: [u8; HEADER_LEN],
    /// Task id or nonce, if the type has one.
    id: Option<[u8; ID_LEN]>,
    /// Body, message or status after the id.
    tail: &'a [u8],
}

impl<'a> MessageRef<'a> {
    /// The message's wire type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Task { .. } => MessageType::Task,
            Self::Result { .. } => MessageType::Result,
            Self::TaskError { .. } => MessageType::TaskError,
            Self::Ping { .. } => MessageType::Ping,
            Self::Pong { .. } => MessageType::Pong,
            Self::Shutdown => MessageType::Shutdown,
            Self::ShutdownAck => MessageType::ShutdownAck,
        }
    }

    /// Copies the borrowed bytes into an owned [`Message`].
    pub fn to_message(&self) -> Message {
        match *self {
            Self::Task { id, body } => Message::Task {
                id,
                body: body.to_vec(),
            },
            Self::Result { id, body } => Message::Result {
                id,
                body: body.to_vec(),
            },
            Self::TaskError { id, message } => Message::TaskError {
                id,
                message: message.to_owned(),
            },
            Self::Ping { nonce } => Message::Ping { nonce },
            Self::Pong { nonce, status } => Message::Pong {
                nonce,
                status: status.to_vec(),
            },
            Self::Shutdown => Message::Shutdown,
            Self::ShutdownAck => Message::ShutdownAck,
        }
    }

    /// Appends this message's frame (header and payload) to `out`.
    ///
    /// Fails only if the payload would exceed the 32-bit length field
    /// ([`ProtocolError::PayloadTooLarge`]); `out` is left untouched then.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::PayloadTooLarge`] when the payload exceeds the 32-bit length field;
    /// `out` is left untouched.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        let parts = self.parts()?;
        out.reserve(HEADER_LEN + parts.id.map_or(0, |id| id.len()) + parts.tail.len());
        out.extend_from_slice(&parts.header);
        if let Some(id) = parts.id {
            out.extend_from_slice(&id);
        }
        out.extend_from_slice(parts.tail);
        Ok(())
    }

    /// Writes this message's frame to `writer` without building it in memory
    /// first (use a buffered writer). Oversized payloads are reported as
    /// [`io::ErrorKind::InvalidInput`] before anything is written.
    ///
    /// # Errors
    ///
    /// The writer's `io::Error`, or [`io::ErrorKind::InvalidInput`] for an oversized payload
    /// (before anything is written).
    pub fn write_to<W: Write + ?Sized>(&self, writer: &mut W) -> io::Result<()> {
        let parts = self
            .parts()
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        writer.write_all(&parts.header)?;
        if let Some(id) = parts.id {
            writer.write_all(&id)?;
        }
        writer.write_all(parts.tail)
    }

    /// Splits the message into header, id and tail, checking the length.
    fn parts(&self) -> Result<Parts<'a>, ProtocolError> {
        let (id, tail): (Option<u64>, &'a [u8]) = match *self {
            Self::Task { id, body } | Self::Result { id, body } => (Some(id), body),
            Self::TaskError { id, message } => (Some(id), message.as_bytes()),
            Self::Ping { nonce } => (Some(nonce), &[]),
            Self::Pong { nonce, status } => (Some(nonce), status),
            Self::Shutdown | Self::ShutdownAck => (None, &[]),
        };
        let id_len = if id.is_some() { ID_LEN } else { 0 };
        let len = tail.len().saturating_add(id_len);
        let payload_len = u32::try_from(len).map_err(|_| ProtocolError::PayloadTooLarge { len })?;
        Ok(Parts {
            header: FrameHeader::new(self.message_type(), payload_len).to_bytes(),
            id: id.map(u64::to_be_bytes),
            tail,
        })
    }

    /// Interprets a complete payload whose header has already been validated
    /// by [`FrameHeader::parse`] (so fixed-size fields are known to fit).
    pub(crate) fn from_payload(
        header: FrameHeader,
        payload: &'a [u8],
    ) -> Result<Self, ProtocolError> {
        let kind = header.message_type;
        let (id, rest) = match kind {
            MessageType::Shutdown | MessageType::ShutdownAck => (0, payload),
            _ => split_id(kind, payload)?,
        };
        Ok(match kind {
            MessageType::Task => Self::Task { id, body: rest },
            MessageType::Result => Self::Result { id, body: rest },
            MessageType::TaskError => Self::TaskError {
                id,
                message: std::str::from_utf8(rest)
                    .map_err(|source| ProtocolError::InvalidUtf8 { id, source })?,
            },
            MessageType::Ping => Self::Ping { nonce: id },
            MessageType::Pong => Self::Pong {
                nonce: id,
                status: rest,
            },
            MessageType::Shutdown => Self::Shutdown,
            MessageType::ShutdownAck => Self::ShutdownAck,
        })
    }
}

/// Splits the leading big-endian u64 off a payload.
fn split_id(kind: MessageType, payload: &[u8]) -> Result<(u64, &[u8]), ProtocolError> {
    match payload.split_first_chunk::<ID_LEN>() {
        Some((id, rest)) => Ok((u64::from_be_bytes(*id), rest)),
        // Unreachable after header validation, but reported rather than
        // trusted so a caller bypassing validation cannot cause a panic.
        None => Err(ProtocolError::PayloadTooShort {
            kind,
            len: u32::try_from(payload.len()).unwrap_or(u32::MAX),
            field: if matches!(kind, MessageType::Ping | MessageType::Pong) {
                "nonce"
            } else {
                "task id"
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let mut out = Vec::new();
        Message::TaskError {
            id: 0x0102_0304_0506_0708,
            message: "bad".into(),
        }
        .encode(&mut out)
        .unwrap();
        assert_eq!(
            out,
            [0, 0, 0, 11, 3, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, b'b', b'a', b'd']
        );

        out.clear();
        Message::Pong {
            nonce: 5,
            status: b"up".to_vec(),
        }
        .encode(&mut out)
        .unwrap();
        assert_eq!(
            out,
            [0, 0, 0, 10, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, b'u', b'p']
        );

        out.clear();
        Message::ShutdownAck.encode(&mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 0, 7, 0, 0, 0]);
    }

    #[test]
    fn write_to_matches_encode() {
        let msg = Message::Task {
            id: 42,
            body: b"payload".to_vec(),
        };
        let mut encoded = Vec::new();
        msg.encode(&mut encoded).unwrap();
        let mut written = Vec::new();
        msg.as_message_ref().write_to(&mut written).unwrap();
        assert_eq!(encoded, written);
    }

    #[test]
    fn invalid_utf8_task_error() {
        let header = FrameHeader::new(MessageType::TaskError, 10);
        let payload = [0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xfe];
        let err = MessageRef::from_payload(header, &payload).unwrap_err();
        assert!(matches!(err, ProtocolError::InvalidUtf8 { id: 9, .. }));
        assert!(err
            .to_string()
            .starts_with("task error message for task 9 is not valid UTF-8"));
    }

    #[test]
    fn short_payload_is_an_error_not_a_panic() {
        let header = FrameHeader::new(MessageType::Task, 3);
        assert!(MessageRef::from_payload(header, &[1, 2, 3]).is_err());
    }
}
