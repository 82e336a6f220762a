//! Turning bytes into messages: [`decode_frame`] for a contiguous slice
//! (zero-copy) and the incremental, fail-stop [`Decoder`] for a byte stream
//! arriving in arbitrary pieces.

use super::error::ProtocolError;
use super::header::{FrameHeader, DEFAULT_MAX_FRAME_LEN, HEADER_LEN};
use super::message::{Message, MessageRef};

/// Decodes the first frame of `input` without copying.
///
/// Returns `Ok(None)` if `input` does not yet hold a complete frame, or the
/// message (borrowing from `input`) and the number of bytes it occupied.
/// Header errors are reported as soon as the 8 header bytes are present,
/// even if the payload is still missing.
///
/// # Errors
///
/// [`ProtocolError`] for a bad header (reserved bytes set, an unknown type, a payload above
/// `max_payload_len`) or a malformed payload.
///
/// ```
/// use conductor::protocol::{decode_frame, MessageRef, DEFAULT_MAX_FRAME_LEN};
///
/// let stream = [0, 0, 0, 8, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42, /* next frame: */ 0, 0];
/// let (msg, used) = decode_frame(&stream, DEFAULT_MAX_FRAME_LEN)?.expect("complete frame");
/// assert_eq!(msg, MessageRef::Ping { nonce: 42 });
/// assert_eq!(used, 16);
/// assert_eq!(decode_frame(&stream[used..], DEFAULT_MAX_FRAME_LEN)?, None);
/// # Ok::<(), conductor::protocol::ProtocolError>(())
/// ```
pub fn decode_frame(
    input: &[u8],
    max_payload_len: u32,
) -> Result<Option<(MessageRef<'_>, usize)>, ProtocolError> {
    let Some((header_bytes, rest)) = input.split_first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = FrameHeader::parse(header_bytes, max_payload_len)?;
    // `payload_len <= max_payload_len <= u32::MAX`, which fits in usize on
    // every platform std supports with 32-bit or wider pointers.
    let payload_len = header.payload_len as usize;
    let Some(payload) = rest.get(..payload_len) else {
        return Ok(None);
    };
    let msg = MessageRef::from_payload(header, payload)?;
    Ok(Some((msg, HEADER_LEN + payload_len)))
}

/// Buffers larger than this are released once they have been fully consumed,
/// so one huge frame does not pin its memory for the rest of the stream.
const SHRINK_ABOVE: usize = 1 << 20;
/// Capacity kept after such a shrink.
const SHRINK_TO: usize = 64 << 10;

/// Incremental frame decoder for a byte stream split at arbitrary points.
///
/// Feed bytes as they arrive with [`feed`](Self::feed), then drain complete
/// messages with [`next_message`](Self::next_message) (owned) or
/// [`next_message_ref`](Self::next_message_ref) (borrowing the internal
/// buffer, no copy) until they return `Ok(None)`.
///
/// * Header errors (reserved bytes, unknown type, length above the maximum,
///   impossible payload length for the type) are reported as soon as the
///   header is complete.
/// * Memory grows only with bytes actually received, never with the length a
///   header declares.
/// * Consumed bytes are skipped with a read offset and compacted away only
///   when they make up at least half the buffer, so many small frames in one
///   big chunk decode in linear time.
/// * Errors are sticky: after the first error, input is discarded and every
///   call returns the same error.
///
/// ```
/// use conductor::protocol::{encode, Decoder, Message};
///
/// let mut stream = Vec::new();
/// encode(&Message::Task { id: 1, body: b"a".to_vec() }, &mut stream)?;
/// encode(&Message::Shutdown, &mut stream)?;
///
/// let mut decoder = Decoder::default();
/// let mut got = Vec::new();
/// for piece in stream.chunks(3) {
///     decoder.feed(piece);
///     while let Some(msg) = decoder.next_message()? {
///         got.push(msg);
///     }
/// }
/// assert_eq!(got, [Message::Task { id: 1, body: b"a".to_vec() }, Message::Shutdown]);
/// decoder.finish()?; // no partial frame left over
/// # Ok::<(), conductor::protocol::ProtocolError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Bytes of `buf` before this offset have been consumed.
    start: usize,
    max_payload_len: u32,
    failed: Option<ProtocolError>,
}

impl Default for Decoder {
    /// A decoder accepting payloads up to [`DEFAULT_MAX_FRAME_LEN`].
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl Decoder {
    /// A decoder rejecting frames whose payload exceeds `max_payload_len`.
    pub fn new(max_payload_len: u32) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max_payload_len,
            failed: None,
        }
    }

    /// The maximum payload length this decoder accepts.
    pub fn max_payload_len(&self) -> u32 {
        self.max_payload_len
    }

    /// Appends received bytes. Ignored once the decoder has failed.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            self.release();
            return;
        }
        if bytes.is_empty() {
            return;
        }
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Returns the next complete message, copying it out of the buffer.
    ///
    /// `Ok(None)` means more bytes are needed.
    ///
    /// # Errors
    ///
    /// The first [`ProtocolError`] in the stream (a bad header, an oversized or malformed
    /// payload); the decoder stays failed and returns the same error from then on.
    pub fn next_message(&mut self) -> Result<Option<Message>, ProtocolError> {
        Ok(self.next_message_ref()?.map(|msg| msg.to_message()))
    }

    /// Returns the next complete message, borrowing from the internal buffer
    /// (valid until the decoder is used again).
    ///
    /// `Ok(None)` means more bytes are needed.
    ///
    /// # Errors
    ///
    /// The first [`ProtocolError`] in the stream (a bad header, an oversized or malformed
    /// payload); the decoder stays failed and returns the same error from then on.
    pub fn next_message_ref(&mut self) -> Result<Option<MessageRef<'_>>, ProtocolError> {
        if let Some(err) = &self.failed {
            let err = err.clone();
            self.release();
            return Err(err);
        }
        let pending = self.buf.get(self.start..).unwrap_or_default();
        match decode_frame(pending, self.max_payload_len) {
            Ok(Some((msg, used))) => {
                self.start += used;
                Ok(Some(msg))
            }
            Ok(None) => Ok(None),
            Err(err) => {
                // The buffer is released on the next call; it is still
                // borrowed on the success path of this one.
                self.failed = Some(err.clone());
                Err(err)
            }
        }
    }

    /// Number of received bytes not yet returned as messages (a partial
    /// frame, or complete frames not yet drained).
    /// Always 0 once the decoder has failed.
    pub fn buffered_len(&self) -> usize {
        if self.failed.is_some() {
            0
        } else {
            self.buf.len() - self.start
        }
    }

    /// Whether a complete frame is buffered, i.e. whether the next call to
    /// [`next_message`](Self::next_message) would return a message (or an
    /// error) without more input.
    pub fn has_complete_frame(&self) -> bool {
        if self.failed.is_some() {
            return true;
        }
        let pending = self.buf.get(self.start..).unwrap_or_default();
        match pending.split_first_chunk::<HEADER_LEN>() {
            None => false,
            Some((header, rest)) => match FrameHeader::parse(header, self.max_payload_len) {
                Ok(header) => rest.len() >= header.payload_len as usize,
                Err(_) => true,
            },
        }
    }

    /// The error this decoder failed with, if any.
    pub fn error(&self) -> Option<&ProtocolError> {
        self.failed.as_ref()
    }

    /// Capacity of the internal buffer in bytes (for memory accounting).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Checks that the stream ended cleanly: not failed and no partial frame
    /// left. Call this at end of input.
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] when the decoder has failed, or when the input ended inside a frame.
    pub fn finish(&self) -> Result<(), ProtocolError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.buffered_len() {
            0 => Ok(()),
            buffered => Err(ProtocolError::TruncatedFrame { buffered }),
        }
    }

    /// Frees the buffer of a failed decoder.
    fn release(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
    }

    /// Drops consumed bytes when that is cheap relative to the work done.
    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > SHRINK_ABOVE {
                self.buf.shrink_to(SHRINK_TO);
            }
        } else if self.start >= self.buf.len() - self.start {
            // Moving the remainder costs at most as much as the bytes already
            // consumed, so total copying stays linear in the stream length.
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(msg: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        msg.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn byte_at_a_time() {
        let msgs = [
            Message::Ping { nonce: 3 },
            Message::Task {
                id: 1,
                body: b"xyz".to_vec(),
            },
            Message::Shutdown,
        ];
        let stream: Vec<u8> = msgs.iter().flat_map(frame).collect();
        let mut decoder = Decoder::default();
        let mut got = Vec::new();
        for byte in &stream {
            decoder.feed(std::slice::from_ref(byte));
            while let Some(msg) = decoder.next_message().unwrap() {
                got.push(msg);
            }
        }
        assert_eq!(got, msgs);
        decoder.finish().unwrap();
    }

    #[test]
    fn header_errors_are_reported_before_the_payload_arrives() {
        let mut decoder = Decoder::new(1000);
        decoder.feed(&[0, 0, 0x10, 0, 1, 0, 0]);
        assert_eq!(decoder.next_message(), Ok(None));
        decoder.feed(&[0]);
        assert_eq!(
            decoder.next_message(),
            Err(ProtocolError::FrameTooLong {
                len: 0x1000,
                max: 1000
            })
        );
    }

    #[test]
    fn errors_are_sticky() {
        let mut decoder = Decoder::default();
        decoder.feed(&[0, 0, 0, 0, 6, 0, 0, 1]);
        let err = ProtocolError::ReservedBytesNonZero {
            reserved: [0, 0, 1],
        };
        assert_eq!(decoder.next_message(), Err(err.clone()));
        decoder.feed(&frame(&Message::Shutdown));
        assert!(decoder.has_complete_frame());
        assert_eq!(decoder.next_message(), Err(err.clone()));
        assert_eq!(decoder.error(), Some(&err));
        assert_eq!(decoder.finish(), Err(err));
        assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn no_upfront_allocation_for_declared_length() {
        let mut decoder = Decoder::default();
        let mut bytes = FrameHeader::new(crate::protocol::MessageType::Task, DEFAULT_MAX_FRAME_LEN)
            .to_bytes()
            .to_vec();
        bytes.extend_from_slice(&[0, 0]);
        decoder.feed(&bytes);
        assert_eq!(decoder.next_message(), Ok(None));
        assert_eq!(decoder.buffered_len(), 10);
        assert!(
            decoder.buffer_capacity() < 64,
            "{}",
            decoder.buffer_capacity()
        );
    }

    #[test]
    fn truncated_stream_is_reported_by_finish() {
        let mut decoder = Decoder::default();
        decoder.feed(&frame(&Message::Ping { nonce: 1 })[..5]);
        assert_eq!(decoder.next_message(), Ok(None));
        assert_eq!(
            decoder.finish(),
            Err(ProtocolError::TruncatedFrame { buffered: 5 })
        );
    }

    #[test]
    fn many_small_frames_in_one_chunk_compact_in_place() {
        let one = frame(&Message::Ping { nonce: 9 });
        let chunk: Vec<u8> = one
            .iter()
            .copied()
            .cycle()
            .take(one.len() * 10_000)
            .collect();
        let mut decoder = Decoder::default();
        // Leave a partial frame so the next feed has to keep a remainder.
        decoder.feed(&chunk);
        decoder.feed(&one[..3]);
        let mut count = 0;
        while let Some(msg) = decoder.next_message_ref().unwrap() {
            assert_eq!(msg, MessageRef::Ping { nonce: 9 });
            count += 1;
        }
        assert_eq!(count, 10_000);
        decoder.feed(&one[3..]);
        assert_eq!(decoder.buffered_len(), one.len());
        assert_eq!(decoder.next_message(), Ok(Some(Message::Ping { nonce: 9 })));
        assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn large_buffer_is_released_after_use() {
        let big = frame(&Message::Result {
            id: 1,
            body: vec![7; 4 << 20],
        });
        let mut decoder = Decoder::default();
        decoder.feed(&big);
        assert!(decoder.next_message().unwrap().is_some());
        decoder.feed(&frame(&Message::ShutdownAck));
        assert!(decoder.buffer_capacity() <= SHRINK_TO);
        assert_eq!(decoder.next_message(), Ok(Some(Message::ShutdownAck)));
    }

    #[test]
    fn has_complete_frame_tracks_input() {
        let bytes = frame(&Message::Task {
            id: 2,
            body: vec![1; 20],
        });
        let mut decoder = Decoder::default();
        assert!(!decoder.has_complete_frame());
        decoder.feed(&bytes[..bytes.len() - 1]);
        assert!(!decoder.has_complete_frame());
        decoder.feed(&bytes[bytes.len() - 1..]);
        assert!(decoder.has_complete_frame());
        assert!(decoder.next_message().unwrap().is_some());
        assert!(!decoder.has_complete_frame());
    }
}
