//! Line mode, for existing programs that read one task per line on stdin and
//! write one result line per task on stdout: splitting a byte stream into
//! lines ([`LineDecoder`]) and writing task lines ([`encode_line`]).
//!
//! Line mode has no ids: results are matched to tasks by order, so only one
//! task may be in flight per worker unless the program preserves order.

use super::error::ProtocolError;

/// Default maximum line length (excluding the newline): 1 MiB.
pub const DEFAULT_MAX_LINE_LEN: usize = 1 << 20;

/// Incremental line splitter for a byte stream split at arbitrary points.
///
/// Lines end with `\n`, which is not part of the returned line; any other
/// byte, including `\r`, is kept. Bytes are only scanned once, however the
/// stream is split. A line longer than the maximum is an error as soon as
/// more than the maximum number of bytes have arrived without a newline, and
/// like [`Decoder`](super::Decoder) errors are sticky.
///
/// ```
/// use conductor::protocol::LineDecoder;
///
/// let mut lines = LineDecoder::new(100);
/// lines.feed(b"first\nsec");
/// assert_eq!(lines.next_line()?, Some(&b"first"[..]));
/// assert_eq!(lines.next_line()?, None);
/// lines.feed(b"ond\nlast");
/// assert_eq!(lines.next_line()?, Some(&b"second"[..]));
/// assert_eq!(lines.next_line()?, None);
/// // At end of input, an unterminated last line is still a line.
/// assert_eq!(lines.finish()?, Some(&b"last"[..]));
/// # Ok::<(), conductor::protocol::ProtocolError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LineDecoder {
    buf: Vec<u8>,
    /// Start of the current (not yet returned) line in `buf`.
    start: usize,
    /// `buf[start..scanned]` is known to hold no newline.
    scanned: usize,
    max_line_len: usize,
    failed: Option<ProtocolError>,
}

impl Default for LineDecoder {
    /// A line decoder accepting lines up to [`DEFAULT_MAX_LINE_LEN`] bytes.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE_LEN)
    }
}

impl LineDecoder {
    /// A line decoder rejecting lines longer than `max_line_len` bytes (not
    /// counting the newline).
    pub fn new(max_line_len: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            max_line_len,
            failed: None,
        }
    }

    /// Appends received bytes. Ignored once the decoder has failed.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            self.buf = Vec::new();
            self.start = 0;
            self.scanned = 0;
            return;
        }
        if self.start > 0 && self.start >= self.buf.len() - self.start {
            // Linear overall: we move at most as many bytes as were consumed.
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Returns the next complete line without its `\n`, borrowing the
    /// internal buffer (valid until the decoder is used again).
    ///
    /// `Ok(None)` means more bytes are needed.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::LineTooLong`] when a line exceeds the decoder's limit; the decoder
    /// stays failed.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, ProtocolError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let unscanned = self.buf.get(self.scanned..).unwrap_or_default();
        match unscanned.iter().position(|&b| b == b'\n') {
            Some(offset) => {
                let end = self.scanned + offset;
                let start = self.start;
                if end - start > self.max_line_len {
                    return Err(self.fail());
                }
                self.start = end + 1;
                self.scanned = self.start;
                Ok(self.buf.get(start..end))
            }
            None => {
                self.scanned = self.buf.len();
                if self.buf.len() - self.start > self.max_line_len {
                    return Err(self.fail());
                }
                Ok(None)
            }
        }
    }

    /// Ends the stream: returns the unterminated last line, if any bytes
    /// follow the last newline. Complete lines must be drained with
    /// [`next_line`](Self::next_line) first; any still buffered are returned
    /// together with the tail as one "line".
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] when the decoder has failed (a line was too long).
    pub fn finish(&mut self) -> Result<Option<&[u8]>, ProtocolError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let start = self.start;
        self.start = self.buf.len();
        self.scanned = self.start;
        Ok(self.buf.get(start..).filter(|rest| !rest.is_empty()))
    }

    /// Number of received bytes not yet returned as lines.
    pub fn buffered_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Records and returns the line-too-long error.
    fn fail(&mut self) -> ProtocolError {
        let err = ProtocolError::LineTooLong {
            max: self.max_line_len,
        };
        self.failed = Some(err.clone());
        self.buf = Vec::new();
        self.start = 0;
        self.scanned = 0;
        err
    }
}

/// Appends `line` and a terminating `\n` to `out`, for sending a task to a
/// line-mode program.
///
/// Fails with [`ProtocolError::NewlineInLine`] (leaving `out` untouched) if
/// `line` itself contains a newline, which would split it into two tasks.
///
/// # Errors
///
/// [`ProtocolError::NewlineInLine`] when `line` contains a newline; `out` is left untouched.
///
/// ```
/// use conductor::protocol::encode_line;
///
/// let mut out = Vec::new();
/// encode_line(b"hello", &mut out)?;
/// assert_eq!(out, b"hello\n");
/// assert!(encode_line(b"two\nlines", &mut out).is_err());
/// # Ok::<(), conductor::protocol::ProtocolError>(())
/// ```
pub fn encode_line(line: &[u8], out: &mut Vec<u8>) -> Result<(), ProtocolError> {
    if let Some(position) = line.iter().position(|&b| b == b'\n') {
        return Err(ProtocolError::NewlineInLine { position });
    }
    out.reserve(line.len() + 1);
    out.extend_from_slice(line);
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain(decoder: &mut LineDecoder, out: &mut Vec<Vec<u8>>) -> Result<(), ProtocolError> {
        while let Some(line) = decoder.next_line()? {
            out.push(line.to_vec());
        }
        Ok(())
    }

    #[test]
    fn empty_lines_and_carriage_returns() {
        let mut decoder = LineDecoder::default();
        decoder.feed(b"\n\na\r\n");
        let mut lines = Vec::new();
        drain(&mut decoder, &mut lines).unwrap();
        assert_eq!(lines, [&b""[..], b"", b"a\r"]);
        assert_eq!(decoder.finish(), Ok(None));
    }

    #[test]
    fn max_length_is_inclusive() {
        let mut decoder = LineDecoder::new(3);
        decoder.feed(b"abc\n");
        assert_eq!(decoder.next_line(), Ok(Some(&b"abc"[..])));
        decoder.feed(b"abc");
        assert_eq!(decoder.next_line(), Ok(None));
        decoder.feed(b"d");
        let err = decoder.next_line().unwrap_err();
        assert_eq!(err, ProtocolError::LineTooLong { max: 3 });
        assert_eq!(
            err.to_string(),
            "line exceeds maximum length of 3 bytes without a newline"
        );
        // Sticky.
        decoder.feed(b"\n");
        assert_eq!(decoder.next_line(), Err(err.clone()));
        assert_eq!(decoder.finish(), Err(err));
    }

    #[test]
    fn overlong_complete_line_is_rejected() {
        let mut decoder = LineDecoder::new(3);
        decoder.feed(b"abcd\n");
        assert_eq!(
            decoder.next_line(),
            Err(ProtocolError::LineTooLong { max: 3 })
        );
    }

    #[test]
    fn long_line_in_small_pieces_is_scanned_once() {
        let mut decoder = LineDecoder::new(1 << 20);
        for _ in 0..100_000 {
            decoder.feed(b"xy");
            assert_eq!(decoder.next_line(), Ok(None));
        }
        decoder.feed(b"\n");
        assert_eq!(decoder.next_line().unwrap().map(<[u8]>::len), Some(200_000));
    }

    proptest! {
        #[test]
        fn any_split_yields_the_same_lines(
            lines in proptest::collection::vec(proptest::collection::vec(0u8..=255, 0..20), 0..20),
            tail in proptest::collection::vec(1u8..=255, 0..10),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let lines: Vec<Vec<u8>> = lines
                .into_iter()
                .map(|l| l.into_iter().filter(|&b| b != b'\n').collect())
                .collect();
            let tail: Vec<u8> = tail.into_iter().filter(|&b| b != b'\n').collect();
            let mut stream = Vec::new();
            for line in &lines {
                encode_line(line, &mut stream).unwrap();
            }
            stream.extend_from_slice(&tail);

            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
            points.sort_unstable();
            let mut decoder = LineDecoder::new(64);
            let mut got = Vec::new();
            let mut prev = 0;
            for point in points.into_iter().chain([stream.len()]) {
                decoder.feed(&stream[prev..point]);
                prev = point;
                drain(&mut decoder, &mut got).unwrap();
            }
            prop_assert_eq!(&got, &lines);
            let last = decoder.finish().unwrap().map(<[u8]>::to_vec);
            prop_assert_eq!(last, (!tail.is_empty()).then_some(tail));
        }
    }
}
