//! Splits a byte stream into lines, the way FileStreamSource does.
//!
//! Bytes are read into one reusable buffer in large chunks. [`LineBuffer::take_lines`] finds
//! the terminators of up to the wanted number of lines with one `memchr` pass, checks that
//! those lines are UTF-8 with one validation of the whole span, and then copies each line
//! once, into the owned string of its record. Reading therefore costs one allocation per line
//! and no per-line validation. A span that is not valid UTF-8 is decoded line by line, with
//! U+FFFD replacing the invalid bytes, as Java's decoder does.
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
    /// Line ends found by the current `take_lines` call (reused): the end of the line's
    /// text and the bytes it occupies with its terminator.
    ends: Vec<(usize, usize)>,
}

impl LineBuffer {
    /// A buffer that reads up to `capacity` bytes at a time (it grows for longer lines).
    pub(crate) fn new(capacity: usize) -> Self {
        LineBuffer {
            buf: vec![0; capacity.max(16)],
            start: 0,
            end: 0,
            ends: Vec::new(),
        }
    }

    /// Hands up to `max` complete lines to `each`, in order, as owned text with the number
    /// of bytes the line occupies with its terminator. Returns how many lines were handed
    /// out; fewer than `max` means no complete line is left in the buffer.
    pub(crate) fn take_lines(&mut self, max: usize, mut each: impl FnMut(String, usize)) -> usize {
        let data = &self.buf[self.start..self.end];
        self.ends.clear();
        let mut line_start = 0;
        for at in memchr::memchr2_iter(b'\n', b'\r', data) {
            if self.ends.len() == max {
                break;
            }
            if at < line_start {
                continue; // the `\n` of a `\r\n` already counted
            }
            let consumed = if data[at] == b'\n' {
                at + 1
            } else if at + 1 == data.len() {
                // A trailing `\r` may be the first half of `\r\n`: wait for the next byte.
                break;
            } else if data[at + 1] == b'\n' {
                at + 2
            } else {
                at + 1
            };
            self.ends.push((at, consumed - line_start));
            line_start = consumed;
        }
        let span = &data[..line_start];
        let mut from = 0;
        match std::str::from_utf8(span) {
            Ok(text) => {
                for &(end, consumed) in &self.ends {
                    // Terminators are ASCII, so every line is a whole part of the valid text.
                    each(text[from..end].to_owned(), consumed);
                    from += consumed;
                }
            }
            Err(_) => {
                for &(end, consumed) in &self.ends {
                    each(
                        String::from_utf8_lossy(&span[from..end]).into_owned(),
                        consumed,
                    );
                    from += consumed;
                }
            }
        }
        self.start += line_start;
        self.ends.len()
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
        buffer.take_lines(usize::MAX, |line, consumed| out.push((line, consumed)));
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

    #[test]
    fn stops_after_the_wanted_number_of_lines() {
        let mut b = LineBuffer::new(64);
        b.extend(b"a\r\nb\nc\rd\n");
        let mut got = Vec::new();
        assert_eq!(b.take_lines(2, |l, n| got.push((l, n))), 2);
        assert_eq!(got, owned(&[("a", 3), ("b", 2)]));
        assert_eq!(lines(&mut b), owned(&[("c", 2), ("d", 2)]));
        assert_eq!(b.take_lines(5, |_, _| panic!("no line is left")), 0);
    }

    #[test]
    fn invalid_utf8_is_replaced_in_its_line_only() {
        let mut b = LineBuffer::new(64);
        b.extend(b"ok\nbad \xff\xfe end\n\xc3\xa9t\xc3\xa9\n");
        assert_eq!(
            lines(&mut b),
            owned(&[
                ("ok", 3),
                ("bad \u{FFFD}\u{FFFD} end", 11),
                ("\u{e9}t\u{e9}", 6)
            ])
        );
        // A multi-byte character split across two reads is decoded once it is whole.
        b.extend(b"x\xc3");
        assert_eq!(lines(&mut b), owned(&[]));
        b.extend(b"\xa9\n");
        assert_eq!(lines(&mut b), owned(&[("x\u{e9}", 4)]));
    }
}
