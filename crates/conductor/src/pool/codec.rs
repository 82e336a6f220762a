//! The pool side of the two wire formats: encoding tasks (and the ping and
//! shutdown frames) and turning a worker's stdout bytes into [`Reply`]s.
//! Frame mode uses [`crate::protocol::Decoder`]; line mode uses
//! [`LineDecoder`] and matches lines to tasks by order.

use std::collections::VecDeque;

use crate::protocol::{encode_line, Decoder, LineDecoder, MessageRef, ProtocolError};

use super::config::Mode;
use super::error::{Answer, Violation};

/// One thing a worker said.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reply<'a> {
    /// Task `id` succeeded.
    Result { id: u64, body: &'a [u8] },
    /// Task `id` failed; the worker carries on.
    Failed { id: u64, message: &'a str },
    /// Answer to a ping.
    Pong { nonce: u64 },
    /// The worker acknowledged a shutdown.
    ShutdownAck,
}

/// Encoder and decoder for one worker connection.
#[derive(Debug)]
pub(super) enum Codec {
    Framed(Decoder),
    Lines {
        decoder: LineDecoder,
        /// Ids of the tasks written, oldest first: line `n` answers `order[n]`.
        order: VecDeque<u64>,
    },
}

impl Codec {
    pub fn new(mode: Mode, max_message_len: u32) -> Codec {
        match mode {
            Mode::Framed => Codec::Framed(Decoder::new(max_message_len)),
            Mode::Lines => Codec::Lines {
                decoder: LineDecoder::new(max_message_len as usize),
                order: VecDeque::new(),
            },
        }
    }

    /// Checks that `body` can be sent in `mode` (so that encoding it later
    /// cannot fail).
    pub fn check_task(mode: Mode, body: &[u8], max_message_len: u32) -> Result<(), ProtocolError> {
        match mode {
            Mode::Lines => {
                if let Some(position) = body.iter().position(|&b| b == b'\n') {
                    return Err(ProtocolError::NewlineInLine { position });
                }
                if body.len() > max_message_len as usize {
                    return Err(ProtocolError::LineTooLong {
                        max: max_message_len as usize,
                    });
                }
            }
            Mode::Framed => {
                // The payload is the 8-byte id plus the body.
                let len = u32::try_from(body.len().saturating_add(8)).unwrap_or(u32::MAX);
                if len > max_message_len {
                    return Err(ProtocolError::FrameTooLong {
                        len,
                        max: max_message_len,
                    });
                }
            }
        }
        Ok(())
    }

    /// Appends task `id` to `out`.
    pub fn encode_task(
        &mut self,
        id: u64,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ProtocolError> {
        match self {
            Codec::Framed(_) => MessageRef::Task { id, body }.encode(out),
            Codec::Lines { order, .. } => {
                encode_line(body, out)?;
                order.push_back(id);
                Ok(())
            }
        }
    }

    /// Appends a ping (frame mode; line mode has none).
    pub fn encode_ping(&self, nonce: u64, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        match self {
            Codec::Framed(_) => MessageRef::Ping { nonce }.encode(out),
            Codec::Lines { .. } => Ok(()),
        }
    }

    /// Appends a shutdown frame (frame mode; line mode closes stdin instead).
    pub fn encode_shutdown(&self, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        match self {
            Codec::Framed(_) => MessageRef::Shutdown.encode(out),
            Codec::Lines { .. } => Ok(()),
        }
    }

    /// Adds bytes read from the worker's stdout.
    pub fn feed(&mut self, bytes: &[u8]) {
        match self {
            Codec::Framed(decoder) => decoder.feed(bytes),
            Codec::Lines { decoder, .. } => decoder.feed(bytes),
        }
    }

    /// The next complete reply, `Ok(None)` if more bytes are needed, or
    /// what the worker did wrong.
    pub fn next_reply(&mut self) -> Result<Option<Reply<'_>>, Violation> {
        match self {
            Codec::Framed(decoder) => match decoder.next_message_ref() {
                Ok(None) => Ok(None),
                Ok(Some(MessageRef::Result { id, body })) => Ok(Some(Reply::Result { id, body })),
                Ok(Some(MessageRef::TaskError { id, message })) => {
                    Ok(Some(Reply::Failed { id, message }))
                }
                Ok(Some(MessageRef::Pong { nonce, .. })) => Ok(Some(Reply::Pong { nonce })),
                Ok(Some(MessageRef::ShutdownAck)) => Ok(Some(Reply::ShutdownAck)),
                Ok(Some(other)) => Err(Violation::WrongSide {
                    kind: other.message_type(),
                }),
                Err(err) => Err(Violation::BadFrame(err)),
            },
            Codec::Lines { decoder, order } => match decoder.next_line() {
                Ok(None) => Ok(None),
                Ok(Some(line)) => match order.pop_front() {
                    Some(id) => Ok(Some(Reply::Result { id, body: line })),
                    None => Err(Violation::UnsolicitedLine),
                },
                Err(err) => Err(Violation::BadFrame(err)),
            },
        }
    }

    /// Whether this is line mode.
    pub fn is_lines(&self) -> bool {
        matches!(self, Codec::Lines { .. })
    }

    /// At end of the worker's output: a line-mode worker's unterminated last
    /// line, if any. It answers nothing: a result line ends with its newline.
    pub fn finish(&mut self) -> Option<&[u8]> {
        match self {
            Codec::Framed(_) => None,
            Codec::Lines { decoder, .. } => decoder.finish().ok().flatten(),
        }
    }
}

impl Reply<'_> {
    /// What it was, for error messages.
    pub fn answer(&self) -> Answer {
        match *self {
            Reply::Result { id, .. } => Answer::Result { id },
            Reply::Failed { id, .. } => Answer::TaskError { id },
            Reply::Pong { nonce } => Answer::Pong { nonce },
            Reply::ShutdownAck => Answer::ShutdownAck,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{encode, Message};

    #[test]
    fn lines_answer_tasks_in_order() {
        let mut codec = Codec::new(Mode::Lines, 100);
        let mut out = Vec::new();
        codec.encode_task(7, b"a", &mut out).unwrap();
        codec.encode_task(9, b"b", &mut out).unwrap();
        assert_eq!(out, b"a\nb\n");
        codec.feed(b"A\nB\nextra\n");
        assert_eq!(
            codec.next_reply(),
            Ok(Some(Reply::Result { id: 7, body: b"A" }))
        );
        assert_eq!(
            codec.next_reply(),
            Ok(Some(Reply::Result { id: 9, body: b"B" }))
        );
        assert_eq!(codec.next_reply(), Err(Violation::UnsolicitedLine));
    }

    #[test]
    fn frames_from_the_wrong_side_are_violations() {
        let mut codec = Codec::new(Mode::Framed, 100);
        let mut bytes = Vec::new();
        encode(
            &Message::Result {
                id: 1,
                body: b"x".to_vec(),
            },
            &mut bytes,
        )
        .unwrap();
        encode(&Message::Ping { nonce: 1 }, &mut bytes).unwrap();
        codec.feed(&bytes);
        assert_eq!(
            codec.next_reply(),
            Ok(Some(Reply::Result { id: 1, body: b"x" }))
        );
        assert_eq!(
            codec.next_reply().unwrap_err().to_string(),
            "worker sent a ping frame, which only the pool may send"
        );
    }

    #[test]
    fn task_checks() {
        assert!(Codec::check_task(Mode::Lines, b"a\nb", 100).is_err());
        assert!(Codec::check_task(Mode::Framed, b"a\nb", 100).is_ok());
        assert!(Codec::check_task(Mode::Framed, &[0; 101], 100).is_err());
    }
}
