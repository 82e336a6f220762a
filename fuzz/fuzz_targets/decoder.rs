//! Fuzzes the frame decoder: arbitrary bytes, split at arbitrary points,
//! must never panic, must decode exactly as the one-shot slice decoder does,
//! and every decoded message must re-encode to the bytes it came from.
//!
//! Run with `cargo +nightly fuzz run decoder` from the repository root.

#![no_main]

use conductor::protocol::{decode_frame, Decoder, ProtocolError};
use libfuzzer_sys::fuzz_target;

/// Small maximum so length checks are exercised without huge inputs.
const MAX: u32 = 4096;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the piece size, the rest is the stream.
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);

    // Reference: decode the whole stream as one slice.
    let mut expected = Vec::new();
    let mut expected_err: Option<ProtocolError> = None;
    let mut rest = stream;
    loop {
        match decode_frame(rest, MAX) {
            Ok(Some((msg, used))) => {
                let mut reencoded = Vec::new();
                msg.encode(&mut reencoded)
                    .expect("decoded message re-encodes");
                assert_eq!(reencoded, rest[..used], "re-encoding differs");
                expected.push(msg.to_message());
                rest = &rest[used..];
            }
            Ok(None) => break,
            Err(err) => {
                expected_err = Some(err);
                break;
            }
        }
    }

    // Incremental decoder fed in pieces must agree.
    let mut decoder = Decoder::new(MAX);
    let mut got = Vec::new();
    let mut got_err = None;
    for piece in stream.chunks(step) {
        decoder.feed(piece);
        loop {
            match decoder.next_message() {
                Ok(Some(msg)) => got.push(msg),
                Ok(None) => break,
                Err(err) => {
                    got_err.get_or_insert(err);
                    break;
                }
            }
        }
        assert!(decoder.buffer_capacity() <= 2 * stream.len() + 64);
    }
    assert_eq!(got, expected);
    assert_eq!(got_err, expected_err);
    if expected_err.is_none() {
        assert_eq!(decoder.buffered_len(), rest.len());
    }
});
