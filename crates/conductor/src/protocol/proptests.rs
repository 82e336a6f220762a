//! Property tests for the frame format: round trips, arbitrary splits of
//! frame streams, rejection rules and bounded memory.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => vec(any::<u8>(), 0..32),
        1 => vec(any::<u8>(), 0..2048),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u64>(), body()).prop_map(|(id, body)| Message::Task { id, body }),
        (any::<u64>(), body()).prop_map(|(id, body)| Message::Result { id, body }),
        (any::<u64>(), ".{0,40}").prop_map(|(id, message)| Message::TaskError { id, message }),
        any::<u64>().prop_map(|nonce| Message::Ping { nonce }),
        (any::<u64>(), body()).prop_map(|(nonce, status)| Message::Pong { nonce, status }),
        Just(Message::Shutdown),
        Just(Message::ShutdownAck),
    ]
}

fn encode_all(msgs: &[Message]) -> Vec<u8> {
    let mut out = Vec::new();
    for msg in msgs {
        encode(msg, &mut out).unwrap();
    }
    out
}

/// Sorted cut points into a stream of `len` bytes.
fn cut_points(cuts: &[prop::sample::Index], len: usize) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(len + 1)).collect();
    points.sort_unstable();
    points
}

/// Feeds `stream` split at `points`, draining after every piece.
fn decode_split(stream: &[u8], points: &[usize]) -> Result<Vec<Message>, ProtocolError> {
    let mut decoder = Decoder::default();
    let mut got = Vec::new();
    let mut prev = 0;
    for &point in points.iter().chain([&stream.len()]) {
        decoder.feed(&stream[prev..point]);
        prev = point;
        while let Some(msg) = decoder.next_message()? {
            got.push(msg);
        }
    }
    decoder.finish()?;
    Ok(got)
}

/// The bytes of a frame header (any fields, valid or not).
pub(super) fn header_bytes(len: u32, code: u8, reserved: [u8; 3]) -> [u8; HEADER_LEN] {
    let l = len.to_be_bytes();
    [
        l[0],
        l[1],
        l[2],
        l[3],
        code,
        reserved[0],
        reserved[1],
        reserved[2],
    ]
}

proptest! {
    #[test]
    fn round_trip(msg in message()) {
        let mut frame = Vec::new();
        encode(&msg, &mut frame).unwrap();
        let header = FrameHeader::parse(
            frame[..HEADER_LEN].try_into().unwrap(),
            DEFAULT_MAX_FRAME_LEN,
        ).unwrap();
        prop_assert_eq!(header.message_type, msg.message_type());
        prop_assert_eq!(header.frame_len(), frame.len());
        let (decoded, used) = decode_frame(&frame, DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
        prop_assert_eq!(used, frame.len());
        prop_assert_eq!(decoded.to_message(), msg.clone());
        // Any strict prefix is incomplete, never an error.
        for end in 0..frame.len() {
            prop_assert_eq!(decode_frame(&frame[..end], DEFAULT_MAX_FRAME_LEN), Ok(None));
        }
        let mut written = Vec::new();
        msg.as_message_ref().write_to(&mut written).unwrap();
        prop_assert_eq!(written, frame);
    }

    #[test]
    fn any_split_decodes_the_same_messages(
        msgs in vec(message(), 0..30),
        cuts in vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let stream = encode_all(&msgs);
        let points = cut_points(&cuts, stream.len());
        prop_assert_eq!(decode_split(&stream, &points), Ok(msgs.clone()));
        prop_assert_eq!(decode_split(&stream, &[]), Ok(msgs));
    }

    #[test]
    fn borrowed_and_slice_decoding_agree(msgs in vec(message(), 0..30)) {
        let stream = encode_all(&msgs);
        let mut decoder = Decoder::default();
        decoder.feed(&stream);
        let mut rest = &stream[..];
        for msg in &msgs {
            let from_decoder = decoder.next_message_ref().unwrap().unwrap().to_message();
            let (from_slice, used) = decode_frame(rest, DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
            prop_assert_eq!(&from_decoder, msg);
            prop_assert_eq!(&from_slice.to_message(), msg);
            rest = &rest[used..];
        }
        prop_assert!(rest.is_empty());
        prop_assert_eq!(decoder.next_message_ref(), Ok(None));
    }

    #[test]
    fn nonzero_reserved_bytes_are_rejected(
        prefix in vec(message(), 0..5),
        code in 1u8..=7,
        reserved in any::<[u8; 3]>().prop_filter("non-zero", |r| *r != [0; 3]),
        cuts in vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let mut stream = encode_all(&prefix);
        stream.extend_from_slice(&header_bytes(8, code, reserved));
        let points = cut_points(&cuts, stream.len());
        prop_assert_eq!(
            decode_split(&stream, &points),
            Err(ProtocolError::ReservedBytesNonZero { reserved })
        );
    }

    #[test]
    fn unknown_types_are_rejected(
        code in any::<u8>().prop_filter("undefined", |c| MessageType::from_code(*c).is_none()),
        len in any::<u32>(),
    ) {
        let mut decoder = Decoder::default();
        decoder.feed(&header_bytes(len, code, [0; 3]));
        prop_assert_eq!(decoder.next_message(), Err(ProtocolError::UnknownMessageType(code)));
    }

    #[test]
    fn lengths_above_the_maximum_are_rejected_at_the_header(
        max in 0u32..1_000_000,
        excess in 1u32..1_000_000,
        code in 1u8..=7,
    ) {
        let mut decoder = Decoder::new(max);
        decoder.feed(&header_bytes(max + excess, code, [0; 3]));
        prop_assert_eq!(
            decoder.next_message(),
            Err(ProtocolError::FrameTooLong { len: max + excess, max })
        );
    }

    #[test]
    fn declared_length_is_never_allocated_up_front(
        declared in 1_000_000u32..=DEFAULT_MAX_FRAME_LEN,
        received in vec(any::<u8>(), 0..1000),
        cuts in vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let mut stream = header_bytes(declared, MessageType::Task.code(), [0; 3]).to_vec();
        stream.extend_from_slice(&received);
        let mut decoder = Decoder::default();
        let mut prev = 0;
        for point in cut_points(&cuts, stream.len()).into_iter().chain([stream.len()]) {
            decoder.feed(&stream[prev..point]);
            prev = point;
            prop_assert_eq!(decoder.next_message(), Ok(None));
        }
        prop_assert_eq!(decoder.buffered_len(), stream.len());
        prop_assert!(
            decoder.buffer_capacity() <= 2 * stream.len() + 64,
            "capacity {} for {} bytes", decoder.buffer_capacity(), stream.len()
        );
    }

    #[test]
    fn garbage_never_panics_and_errors_are_sticky(
        bytes in vec(any::<u8>(), 0..512),
        cuts in vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let mut decoder = Decoder::new(256);
        let mut prev = 0;
        let mut first_err = None;
        for point in cut_points(&cuts, bytes.len()).into_iter().chain([bytes.len()]) {
            decoder.feed(&bytes[prev..point]);
            prev = point;
            loop {
                match decoder.next_message() {
                    Ok(Some(_)) => prop_assert!(first_err.is_none()),
                    Ok(None) => break,
                    Err(err) => {
                        match &first_err {
                            None => first_err = Some(err),
                            Some(first) => prop_assert_eq!(first, &err),
                        }
                        break;
                    }
                }
            }
        }
    }
}
