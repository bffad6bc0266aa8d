//! Log fields from requests, escaped: a newline or an escape sequence in a header, a login or a
//! decoding error must not reach the log raw, where it could forge lines or drive a terminal.

use std::fmt::{self, Write};

/// Displays a value with every control character escaped as Rust escapes it (`\n`, `\u{1b}`),
/// without the quotes `Debug` adds. Log request-derived values as `field = %Escaped(value)`.
pub(crate) struct Escaped<T>(pub(crate) T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(EscapeControls(f), "{}", self.0)
    }
}

impl<T: fmt::Display> fmt::Debug for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A writer that escapes control characters on their way to the inner one.
struct EscapeControls<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Write for EscapeControls<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Printable ASCII (a login, a repository slug), the usual text: written as it is.
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return self.0.write_str(s);
        }
        for part in s.split_inclusive(char::is_control) {
            match part.char_indices().last() {
                Some((i, c)) if c.is_control() => {
                    self.0.write_str(&part[..i])?;
                    write!(self.0, "{}", c.escape_default())?;
                }
                _ => self.0.write_str(part)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_the_rest_kept() {
        assert_eq!(
            Escaped("oct\nocat\x1b[31m\u{85}é\"").to_string(),
            "oct\\nocat\\u{1b}[31m\\u{85}é\""
        );
        assert_eq!(Escaped("plain").to_string(), "plain");
        assert_eq!(Escaped("").to_string(), "");
    }
}
