//! Splits a byte stream into lines, the way FileStreamSource does.
//!
//! Bytes are read into one reusable buffer in large chunks; lines are found with `memchr` and
//! handed out as slices of that buffer, so reading costs no allocation per line (the caller
//! copies each line once, into the record's string).
//!
//! A line ends at `\n`, `\r` or `\r\n`. A `\r` that is the last byte read so far is held back
//! until the next byte arrives, so a `\r\n` split across two reads is still one terminator.
//! Bytes after the last terminator (a partial line) stay in the buffer until their terminator
//! arrives.

use std::io::{self, Read};

/// A reusable read buffer with line extraction.
pub(crate) struct LineBuffer {
    /// Zero-initialised once; `len()` is the capacity in use.
    buf: Vec<u8>,
    /// First byte not yet handed out.
    start: usize,
    /// End of the bytes read so far.
    end: usize,
}

impl LineBuffer {
    /// A buffer that reads up to `capacity` bytes at a time (it grows for longer lines).
    pub(crate) fn new(capacity: usize) -> Self {
        LineBuffer {
            buf: vec![0; capacity.max(16)],
            start: 0,
            end: 0,
        }
    }

    /// The next complete line and the number of bytes it occupies with its terminator, or
    /// `None` when the buffered bytes hold no complete line yet.
    pub(crate) fn next_line(&mut self) -> Option<(&[u8], usize)> {
        let data = &self.buf[self.start..self.end];
        let at = memchr::memchr2(b'\n', b'\r', data)?;
        let consumed = if data[at] == b'\n' {
            at + 1
        } else if at + 1 == data.len() {
            // A trailing `\r` may be the first half of `\r\n`: wait for the next byte.
            return None;
        } else if data[at + 1] == b'\n' {
            at + 2
        } else {
            at + 1
        };
        let line_start = self.start;
        self.start += consumed;
        Some((&self.buf[line_start..line_start + at], consumed))
    }

    /// Reads once from `input` into the free space, making room first. Returns the number of
    /// bytes read; 0 means no data is available now (end of file so far).
    pub(crate) fn fill_from(&mut self, input: &mut impl Read) -> io::Result<usize> {
        self.make_room(0);
        loop {
            match input.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends bytes received from elsewhere (standard input's reader thread).
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.make_room(bytes.len());
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Ensures at least a quarter of the buffer (and at least `needed` bytes) is free after
    /// `end`, moving unread bytes to the front and growing the buffer only when a partial
    /// line fills most of it.
    fn make_room(&mut self, needed: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        let wanted = needed.max(self.buf.len() / 4).max(1);
        if self.buf.len() - self.end >= wanted {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < wanted {
            let new_len = (self.end + wanted).max(self.buf.len() * 2);
            self.buf.resize(new_len, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(buffer: &mut LineBuffer) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        while let Some((line, consumed)) = buffer.next_line() {
            out.push((String::from_utf8(line.to_vec()).unwrap(), consumed));
        }
        out
    }

    fn owned(pairs: &[(&str, usize)]) -> Vec<(String, usize)> {
        pairs.iter().map(|(s, n)| (s.to_string(), *n)).collect()
    }

    #[test]
    fn splits_on_every_terminator() {
        let mut b = LineBuffer::new(64);
        b.extend(b"a\nbb\rccc\r\nd");
        assert_eq!(lines(&mut b), owned(&[("a", 2), ("bb", 3), ("ccc", 5)]));
        b.extend(b"\n");
        assert_eq!(lines(&mut b), owned(&[("d", 2)]));
    }

    #[test]
    fn holds_back_a_trailing_carriage_return() {
        let mut b = LineBuffer::new(64);
        b.extend(b"x\r");
        assert_eq!(lines(&mut b), owned(&[]));
        b.extend(b"\ny\r");
        assert_eq!(lines(&mut b), owned(&[("x", 3)]));
        b.extend(b"z");
        assert_eq!(lines(&mut b), owned(&[("y", 2)]));
    }

    #[test]
    fn empty_lines_are_lines() {
        let mut b = LineBuffer::new(64);
        b.extend(b"\n\r\n\r\r");
        assert_eq!(lines(&mut b), owned(&[("", 1), ("", 2), ("", 1)]));
    }

    #[test]
    fn grows_for_lines_longer_than_the_buffer() {
        let mut b = LineBuffer::new(16);
        let long = "x".repeat(100);
        let mut input = io::Cursor::new(format!("{long}\nshort\n").into_bytes());
        let mut got = Vec::new();
        while b.fill_from(&mut input).unwrap() > 0 {
            got.extend(lines(&mut b));
        }
        assert_eq!(got, owned(&[(&long, 101), ("short", 6)]));
    }

    #[test]
    fn reuses_space_of_consumed_lines() {
        let mut b = LineBuffer::new(16);
        for i in 0..100 {
            b.extend(format!("line{i:03}\n").as_bytes());
            assert_eq!(lines(&mut b), owned(&[(&format!("line{i:03}"), 8)]));
        }
        assert_eq!(b.buf.len(), 16);
    }
}
