//! The worker-pool wire protocol: length-prefixed, typed frames exchanged
//! with worker processes over their stdin and stdout, plus a line mode for
//! programs that speak one-line-in, one-line-out.
//!
//! This module owns the byte format and nothing else: no I/O, no processes.
//! The format is specified byte by byte in `docs/protocol.md` so that workers
//! can be written in any language.
//!
//! * [`Message`] / [`MessageRef`]: the typed messages, owned or borrowed.
//! * [`encode`] / [`MessageRef::write_to`]: messages to frames.
//! * [`Decoder`]: incremental, fail-stop decoding of a byte stream split at
//!   arbitrary points; [`decode_frame`] for a contiguous slice.
//! * [`FrameHeader`] / [`MessageType`]: the 8-byte header.
//! * [`LineDecoder`] / [`encode_line`]: line mode.
//!
//! ```
//! use conductor::protocol::{encode, Decoder, Message};
//!
//! // Pool side: send a task ...
//! let mut to_worker = Vec::new();
//! encode(&Message::Task { id: 1, body: b"abc".to_vec() }, &mut to_worker)?;
//!
//! // ... the worker answers ...
//! let mut from_worker = Vec::new();
//! encode(&Message::Result { id: 1, body: b"ABC".to_vec() }, &mut from_worker)?;
//!
//! // ... and the pool decodes the reply.
//! let mut decoder = Decoder::default();
//! decoder.feed(&from_worker);
//! assert_eq!(
//!     decoder.next_message()?,
//!     Some(Message::Result { id: 1, body: b"ABC".to_vec() })
//! );
//! # Ok::<(), conductor::protocol::ProtocolError>(())
//! ```

mod decoder;
mod error;
mod header;
mod lines;
mod message;

#[cfg(test)]
mod proptests;

pub use decoder::{decode_frame, Decoder};
pub use error::ProtocolError;
pub use header::{FrameHeader, MessageType, DEFAULT_MAX_FRAME_LEN, HEADER_LEN};
pub use lines::{encode_line, LineDecoder, DEFAULT_MAX_LINE_LEN};
pub use message::{encode, Message, MessageRef};
