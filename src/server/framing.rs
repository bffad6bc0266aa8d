//! Spots an HTTP/1.1 request head carrying both `Content-Length` and `Transfer-Encoding`.
//!
//! hyper frames such a request by `Transfer-Encoding` and closes the connection after it
//! (RFC 9112, section 6.3), but it drops the `Content-Length` field before the service sees the
//! request, so no service or layer can tell it apart from a plain chunked request. A proxy in
//! front that frames by `Content-Length` would read a different body and a different next
//! request: the server refuses it instead. The watch runs over the bytes as they are read, with
//! no copy and no allocation: it finds line starts with `memchr` and compares the first bytes of
//! a line with the two field names (case-insensitively), resetting at every empty line (the end of
//! a head). A field line is `name ":"` with no whitespace before the colon and no line folding
//! (hyper refuses both), so these are the only spellings. Body bytes are scanned too: a body
//! block that happens to hold both names at line starts only marks the connection, and only a
//! request that does carry `Transfer-Encoding` is then refused.

/// `content-length:`
const CONTENT_LENGTH: &[u8] = b"content-length:";
/// `transfer-encoding:`
const TRANSFER_ENCODING: &[u8] = b"transfer-encoding:";
/// The longest line start that matters.
const LONGEST: usize = TRANSFER_ENCODING.len();

/// The state between reads: the start of the line the last read ended in, and the fields seen
/// since the last empty line.
#[derive(Default)]
pub(crate) struct FramingWatch {
    /// The first bytes of the current line, as far as it has arrived (up to [`LONGEST`]).
    start: [u8; LONGEST],
    /// Bytes of the current line seen so far (saturating).
    len: usize,
    content_length: bool,
    transfer_encoding: bool,
}

impl FramingWatch {
    /// Scans newly read bytes; `true` when a block of lines (a head) has carried both fields.
    pub(crate) fn scan(&mut self, mut bytes: &[u8]) -> bool {
        let mut both = false;
        loop {
            let end = memchr::memchr(b'\n', bytes);
            let segment = &bytes[..end.unwrap_or(bytes.len())];
            let Some(end) = end else {
                self.carry(segment);
                return both;
            };
            if self.len == 0 {
                self.line(segment); // the common case: the whole line is in this read
            } else {
                self.carry(segment);
                let (start, len) = (self.start, self.len.min(LONGEST));
                self.line(&start[..len]);
                self.len = 0;
            }
            both |= self.content_length && self.transfer_encoding;
            bytes = &bytes[end + 1..];
        }
    }

    /// Keeps the start of a line that continues in the next read.
    fn carry(&mut self, segment: &[u8]) {
        if self.len < LONGEST {
            let take = segment.len().min(LONGEST - self.len);
            self.start[self.len..self.len + take].copy_from_slice(&segment[..take]);
        }
        self.len = self.len.saturating_add(segment.len());
    }

    /// One complete line (without its `\n`; only its first [`LONGEST`] bytes matter).
    fn line(&mut self, line: &[u8]) {
        match line.first().map(u8::to_ascii_lowercase) {
            None | Some(b'\r') if line.len() <= 1 => {
                // An empty line: the end of a head (or a blank line in a body).
                self.content_length = false;
                self.transfer_encoding = false;
            }
            Some(b'c') => self.content_length |= starts_with(line, CONTENT_LENGTH),
            Some(b't') => self.transfer_encoding |= starts_with(line, TRANSFER_ENCODING),
            _ => {}
        }
    }
}

fn starts_with(line: &[u8], name: &[u8]) -> bool {
    line.get(..name.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::FramingWatch;

    const BOTH: &[u8] = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
        Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";

    fn scan_in_pieces(bytes: &[u8], piece: usize) -> bool {
        let mut watch = FramingWatch::default();
        bytes
            .chunks(piece)
            .fold(false, |seen, chunk| watch.scan(chunk) | seen)
    }

    #[test]
    fn both_fields_in_one_head_are_spotted_however_the_bytes_are_split() {
        let reversed = b"POST / HTTP/1.1\ntransfer-ENCODING:chunked\nHost: x\nCONTENT-LENGTH:5\n\n";
        for piece in 1..=BOTH.len() {
            assert!(scan_in_pieces(BOTH, piece), "split every {piece} bytes");
            assert!(scan_in_pieces(reversed, piece), "split every {piece} bytes");
        }
    }

    #[test]
    fn one_field_per_head_or_lookalike_names_are_not() {
        let cases: [&[u8]; 5] = [
            // One field per head, in two pipelined requests.
            b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\nPOST / HTTP/1.1\r\n\
              Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            // Names that only start like the fields, or contain them.
            b"GET / HTTP/1.1\r\nContent-Length-X: 1\r\nX-Transfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Lengt: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            // A value, not a name.
            b"GET / HTTP/1.1\r\nX: content-length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            // A line longer than the carried start that continues with a field name.
            b"GET / HTTP/1.1\r\nX-Long-Header-Name-Over-Eighteen: transfer-encoding:\r\n\
              Content-Length: 1\r\n\r\n",
        ];
        for case in cases {
            for piece in 1..=case.len() {
                assert!(
                    !scan_in_pieces(case, piece),
                    "{:?} split every {piece} bytes",
                    String::from_utf8_lossy(case)
                );
            }
        }
    }
}
