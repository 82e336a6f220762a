//! The worker side of the pool protocol for workers written in Rust: a
//! blocking serve loop that reads frames from stdin, runs a handler on each
//! task and writes replies to stdout. Uses std only (no async runtime).
//!
//! The protocol itself lives in [`crate::protocol`] and `docs/protocol.md`.

use std::fmt::Display;
use std::io::{self, BufWriter, Read, Write};

use crate::protocol::{Decoder, MessageRef};

/// Bytes requested from the input per read.
const READ_CHUNK: usize = 64 * 1024;
/// Capacity of the output buffer.
const WRITE_BUFFER: usize = 64 * 1024;

/// Serves tasks on stdin/stdout until shutdown or end of input.
///
/// For each task, `handler` receives the task body and its `Ok` value is
/// sent back as the result, its `Err` value (formatted with `Display`) as a
/// task error; either way the worker keeps serving. Pings are answered with
/// pongs carrying the same nonce. Replies are buffered and flushed whenever
/// no further complete frame is waiting, so pipelined tasks are answered in
/// batches.
///
/// Returns `Ok(())` after acknowledging a shutdown, or when stdin reaches end
/// of input between frames. Returns an error with kind
/// [`io::ErrorKind::InvalidData`] on a protocol violation (including pool-to-
/// worker frames of the wrong type), [`io::ErrorKind::UnexpectedEof`] if
/// stdin ends in the middle of a frame, or any I/O error.
///
/// stdout belongs to the protocol while serving: log to stderr, never print
/// to stdout. A panicking handler unwinds out of `serve`; the pool sees the
/// worker exit and fails its in-flight tasks.
///
/// # Errors
///
/// The `io::Error` of reading stdin or writing stdout; `InvalidData` when the input breaks the
/// protocol and `UnexpectedEof` when it ends inside a frame (the
/// [`ProtocolError`](crate::protocol::ProtocolError) inside).
///
/// ```no_run
/// fn main() -> std::io::Result<()> {
///     conductor::worker::serve(|body: &[u8]| match std::str::from_utf8(body) {
///         Ok(text) => Ok(text.to_uppercase().into_bytes()),
///         Err(err) => Err(format!("task is not UTF-8: {err}")),
///     })
/// }
/// ```
pub fn serve<F, E>(handler: F) -> io::Result<()>
where
    F: FnMut(&[u8]) -> Result<Vec<u8>, E>,
    E: Display,
{
    serve_on(io::stdin().lock(), io::stdout().lock(), handler)
}

/// [`serve`] on any input and output, e.g. sockets or in-memory buffers in
/// tests. `output` is wrapped in a [`BufWriter`]; pass it unbuffered.
///
/// # Errors
///
/// The `io::Error` of reading `input` or writing `output`; `InvalidData` when the input breaks
/// the protocol and `UnexpectedEof` when it ends inside a frame.
///
/// ```
/// use conductor::protocol::{encode, Decoder, Message};
///
/// let mut input = Vec::new();
/// encode(&Message::Task { id: 5, body: b"hi".to_vec() }, &mut input)?;
/// encode(&Message::Shutdown, &mut input)?;
///
/// let mut output = Vec::new();
/// conductor::worker::serve_on(&input[..], &mut output, |body: &[u8]| {
///     Ok::<_, std::convert::Infallible>(body.to_ascii_uppercase())
/// })?;
///
/// let mut replies = Decoder::default();
/// replies.feed(&output);
/// assert_eq!(replies.next_message()?, Some(Message::Result { id: 5, body: b"HI".to_vec() }));
/// assert_eq!(replies.next_message()?, Some(Message::ShutdownAck));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn serve_on<R, W, F, E>(mut input: R, output: W, mut handler: F) -> io::Result<()>
where
    R: Read,
    W: Write,
    F: FnMut(&[u8]) -> Result<Vec<u8>, E>,
    E: Display,
{
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, output);
    let mut decoder = Decoder::default();
    let mut chunk = vec![0; READ_CHUNK];
    loop {
        // Answer everything already buffered before blocking on input.
        while let Some(msg) = decoder.next_message_ref().map_err(invalid_data)? {
            match msg {
                MessageRef::Task { id, body } => match handler(body) {
                    Ok(result) => MessageRef::Result { id, body: &result }.write_to(&mut out)?,
                    Err(err) => {
                        let message = err.to_string();
                        MessageRef::TaskError {
                            id,
                            message: &message,
                        }
                        .write_to(&mut out)?;
                    }
                },
                MessageRef::Ping { nonce } => {
                    MessageRef::Pong { nonce, status: &[] }.write_to(&mut out)?;
                }
                MessageRef::Shutdown => {
                    MessageRef::ShutdownAck.write_to(&mut out)?;
                    return out.flush();
                }
                other => {
                    return Err(invalid_data(format!(
                        "worker received a {} frame; workers only accept task, ping and shutdown",
                        other.message_type()
                    )));
                }
            }
        }
        out.flush()?;
        let n = match input.read(&mut chunk) {
            Ok(0) => {
                return decoder
                    .finish()
                    .map_err(|err| io::Error::new(io::ErrorKind::UnexpectedEof, err));
            }
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        decoder.feed(chunk.get(..n).unwrap_or_default());
    }
}

/// Wraps a protocol violation as an [`io::ErrorKind::InvalidData`] error.
fn invalid_data<E>(err: E) -> io::Error
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    io::Error::new(io::ErrorKind::InvalidData, err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{encode, Message, ProtocolError};
    use std::collections::VecDeque;

    fn frames(msgs: &[Message]) -> Vec<u8> {
        let mut out = Vec::new();
        for msg in msgs {
            encode(msg, &mut out).unwrap();
        }
        out
    }

    fn task(id: u64, body: &[u8]) -> Message {
        Message::Task {
            id,
            body: body.to_vec(),
        }
    }

    fn result(id: u64, body: &[u8]) -> Message {
        Message::Result {
            id,
            body: body.to_vec(),
        }
    }

    fn decode_all(bytes: &[u8]) -> Vec<Message> {
        let mut decoder = Decoder::default();
        decoder.feed(bytes);
        let mut msgs = Vec::new();
        while let Some(msg) = decoder.next_message().unwrap() {
            msgs.push(msg);
        }
        decoder.finish().unwrap();
        msgs
    }

    fn upper(body: &[u8]) -> Result<Vec<u8>, String> {
        if body.starts_with(b"fail") {
            Err(format!("refusing {}", String::from_utf8_lossy(body)))
        } else {
            Ok(body.to_ascii_uppercase())
        }
    }

    /// Input delivered in fixed reads, for checking batching.
    struct Chunks(VecDeque<Vec<u8>>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                None => Ok(0),
                Some(chunk) => {
                    assert!(chunk.len() <= buf.len());
                    buf[..chunk.len()].copy_from_slice(&chunk);
                    Ok(chunk.len())
                }
            }
        }
    }

    /// Output recording what was visible at each flush.
    #[derive(Default)]
    struct Flushes {
        pending: Vec<u8>,
        flushed: Vec<Vec<u8>>,
    }

    impl Write for Flushes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.pending.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            if !self.pending.is_empty() {
                self.flushed.push(std::mem::take(&mut self.pending));
            }
            Ok(())
        }
    }

    #[test]
    fn answers_tasks_pings_and_shutdown() {
        let input = frames(&[
            Message::Ping { nonce: 77 },
            task(1, b"abc"),
            task(2, b"fail me"),
            Message::Shutdown,
            task(3, b"never"),
        ]);
        let mut output = Vec::new();
        serve_on(&input[..], &mut output, upper).unwrap();
        assert_eq!(
            decode_all(&output),
            [
                Message::Pong {
                    nonce: 77,
                    status: vec![]
                },
                result(1, b"ABC"),
                Message::TaskError {
                    id: 2,
                    message: "refusing fail me".into()
                },
                Message::ShutdownAck,
            ]
        );
    }

    #[test]
    fn eof_between_frames_is_a_clean_exit() {
        let input = frames(&[task(9, b"x")]);
        let mut output = Vec::new();
        serve_on(&input[..], &mut output, upper).unwrap();
        assert_eq!(decode_all(&output), [result(9, b"X")]);
    }

    #[test]
    fn eof_inside_a_frame_is_an_error() {
        let input = frames(&[Message::Ping { nonce: 1 }]);
        let err = serve_on(&input[..10], Vec::new(), upper).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn protocol_violations_are_invalid_data() {
        let err = serve_on(&[0, 0, 0, 0, 9, 0, 0, 0][..], Vec::new(), upper).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let inner = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<ProtocolError>());
        assert_eq!(inner, Some(&ProtocolError::UnknownMessageType(9)));

        let input = frames(&[Message::ShutdownAck]);
        let err = serve_on(&input[..], Vec::new(), upper).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("shutdown ack"), "{err}");
    }

    #[test]
    fn pipelined_tasks_are_flushed_in_batches() {
        let task = |id| Message::Task {
            id,
            body: b"t".to_vec(),
        };
        let batch1 = frames(&[task(1), task(2), task(3)]);
        let batch2 = frames(&[task(4)]);
        // Split the second read mid-frame: nothing new may be flushed until
        // the frame completes.
        let input = Chunks(VecDeque::from([
            batch1,
            batch2[..5].to_vec(),
            batch2[5..].to_vec(),
        ]));
        let mut output = Flushes::default();
        serve_on(input, &mut output, upper).unwrap();
        let counts: Vec<usize> = output.flushed.iter().map(|f| decode_all(f).len()).collect();
        assert_eq!(counts, [3, 1]);
    }
}
