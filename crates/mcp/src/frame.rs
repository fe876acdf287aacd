//! Newline-delimited frames, read with tokio-util's `AnyDelimiterCodec`.
//!
//! The codec does the framing; this adapter only turns its "frame too long"
//! error into an item, because `FramedRead` ends the stream after any
//! decoder error, and one oversized frame must not end the session. The
//! codec itself skips the rest of that frame and resumes at the next line.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, Decoder};

/// The largest frame either side may send: 64 MiB (a tool result with a few
/// images fits many times over; a peer that never sends a newline does not
/// make the proxy buffer without bound).
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// One frame, without its newline; a `\r` before the newline stays in it,
/// so a frame written back with `\n` is byte-for-byte what was read.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line.
    Line(Bytes),
    /// A line longer than the limit; its bytes were skipped.
    TooLong,
}

/// The decoder: lines split on `\n`, at most `max` bytes each.
pub struct Lines {
    inner: AnyDelimiterCodec,
}

impl Lines {
    /// Lines of at most `max` bytes.
    pub fn new(max: usize) -> Lines {
        Lines {
            inner: AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), b"\n".to_vec(), max),
        }
    }
}

fn adapt(r: Result<Option<Bytes>, AnyDelimiterCodecError>) -> std::io::Result<Option<Frame>> {
    match r {
        Ok(line) => Ok(line.map(Frame::Line)),
        Err(AnyDelimiterCodecError::MaxChunkLengthExceeded) => Ok(Some(Frame::TooLong)),
        Err(AnyDelimiterCodecError::Io(e)) => Err(e),
    }
}

impl Decoder for Lines {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> std::io::Result<Option<Frame>> {
        adapt(self.inner.decode(buf))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> std::io::Result<Option<Frame>> {
        adapt(self.inner.decode_eof(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut d = Lines::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            while let Some(f) = d.decode(&mut buf).unwrap() {
                out.push(f);
            }
        }
        while let Some(f) = d.decode_eof(&mut buf).unwrap() {
            out.push(f);
        }
        out
    }

    fn line(s: &[u8]) -> Frame {
        Frame::Line(Bytes::copy_from_slice(s))
    }

    /// A case: its name, the limit, the reads, the frames.
    type Case<'a> = (&'a str, usize, &'a [&'a [u8]], Vec<Frame>);

    #[test]
    fn table() {
        let cases: &[Case] = &[
            ("one line", 100, &[b"{}\n"], vec![line(b"{}")]),
            (
                "split across reads",
                100,
                &[b"{\"a\"", b":1}\n{}\n"],
                vec![line(b"{\"a\":1}"), line(b"{}")],
            ),
            ("crlf keeps the cr", 100, &[b"{}\r\n"], vec![line(b"{}\r")]),
            (
                "blank line",
                100,
                &[b"\n{}\n"],
                vec![line(b""), line(b"{}")],
            ),
            ("no newline at eof", 100, &[b"{}"], vec![line(b"{}")]),
            (
                "invalid utf-8 passes",
                100,
                &[b"\xff\xfe\n"],
                vec![line(b"\xff\xfe")],
            ),
            (
                "too long, then the next line",
                8,
                &[b"0123456789abcdef\n{}\n"],
                vec![Frame::TooLong, line(b"{}")],
            ),
            (
                "too long across reads",
                8,
                &[b"0123456789", b"abcdef", b"ghij\n{}\n"],
                vec![Frame::TooLong, line(b"{}")],
            ),
            ("exactly the limit", 4, &[b"abcd\n"], vec![line(b"abcd")]),
        ];
        for (name, max, chunks, want) in cases {
            assert_eq!(&frames(*max, chunks), want, "{name}");
        }
    }
}
