//! Shell patterns exactly as Go's `path.Match` (and `path/filepath.Match` on Unix) reads them.
//!
//! Drone matches secret, event and image filters with Go's `filepath.Match`, so an extension that
//! filters the way Drone does must give the same answer for every pattern and name, including the
//! odd ones. This module is a transcription of Go's algorithm (as of Go 1.19, unchanged since):
//!
//! | pattern | matches |
//! |---|---|
//! | `*` | any sequence of bytes without `/` (also the empty one) |
//! | `?` | any single character except `/` |
//! | `[abc]`, `[a-z]` | one character in the class (a class *can* match `/`) |
//! | `[^a-z]` | one character not in the class (`^` negates; `!` does not) |
//! | `\c` | the character `c` literally, also inside a class |
//! | anything else | itself, byte for byte (case-sensitive) |
//!
//! A malformed pattern (an unclosed or empty class, a range with a missing end, a trailing `\`)
//! never matches: [`Pattern::new`] refuses it with a [`PatternError`], and [`matches()`] returns
//! the error, where Go returns `ErrBadPattern`.
//!
//! ```
//! use drone_extension::glob::{self, Pattern};
//!
//! let pattern = Pattern::new("octocat/*")?;
//! assert!(pattern.matches("octocat/hello-world"));
//! assert!(!pattern.matches("octocat/hello/world")); // `*` stops at `/`
//! assert_eq!(glob::matches("pull_*", "pull_request"), Ok(true));
//! assert!(glob::matches("octo[", "octocat").is_err());
//! # Ok::<(), glob::PatternError>(())
//! ```
//!
//! # Why not the `glob` crate
//!
//! The `glob` crate implements Unix shell globbing, not Go's `Match`, and differs where Drone's
//! users notice: `**` crosses `/` there, `[!a]` negates there (in Go `!` is a literal and only
//! `^` negates), `\` is not an escape there (`[\]]`, `octo\*`), `[]a]` is a class containing `]`
//! there (malformed in Go), and its malformed-pattern rules differ. A hand-written transcription
//! is short, has no dependency, and is checked against Go's own answers for 2,640 pattern and
//! name pairs.

use std::fmt;

/// Why a pattern is malformed (Go's `ErrBadPattern`).
///
/// [`Display`](fmt::Display) names the problem and the byte offset in the pattern where it was
/// found.
///
/// ```
/// use drone_extension::glob::Pattern;
///
/// let err = Pattern::new("octo[a-").unwrap_err();
/// assert_eq!(err.offset(), 7);
/// assert_eq!(err.to_string(), "malformed pattern at byte 7: character class is not closed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternError {
    /// A `[` class is not closed by `]` before the pattern (or the `*`-delimited chunk) ends.
    UnclosedClass {
        /// Byte offset in the pattern.
        offset: usize,
    },
    /// A class or range bound is missing: `[]`, `[-a]`, `[a-]`, `[a-]`…
    MissingRangeBound {
        /// Byte offset in the pattern.
        offset: usize,
    },
    /// The pattern ends with an escaping `\`.
    TrailingEscape {
        /// Byte offset in the pattern.
        offset: usize,
    },
}

impl PatternError {
    /// The byte offset in the pattern where the problem was found.
    pub fn offset(&self) -> usize {
        match *self {
            PatternError::UnclosedClass { offset }
            | PatternError::MissingRangeBound { offset }
            | PatternError::TrailingEscape { offset } => offset,
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = match self {
            PatternError::UnclosedClass { .. } => "character class is not closed",
            PatternError::MissingRangeBound { .. } => {
                "character class or range bound is missing (`]` and `-` must be escaped)"
            }
            PatternError::TrailingEscape { .. } => "pattern ends with an escaping `\\`",
        };
        write!(f, "malformed pattern at byte {}: {problem}", self.offset())
    }
}

impl std::error::Error for PatternError {}

/// A validated Go `path.Match` pattern.
///
/// ```
/// use drone_extension::glob::Pattern;
///
/// let pattern = Pattern::new("plugins/docker:*")?;
/// assert!(pattern.matches("plugins/docker:18"));
/// assert_eq!(pattern.as_str(), "plugins/docker:*");
/// # Ok::<(), drone_extension::glob::PatternError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: String,
}

impl Pattern {
    /// Validates the whole pattern.
    ///
    /// # Errors
    ///
    /// A [`PatternError`] exactly when Go's `path.Match` reports `ErrBadPattern` for it (whatever
    /// the name).
    pub fn new(pattern: &str) -> Result<Pattern, PatternError> {
        validate(pattern.as_bytes())?;
        Ok(Pattern {
            text: pattern.to_owned(),
        })
    }

    /// Whether the whole of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        // Validated at construction: every chunk parses, so no error can arise here.
        match_valid(self.text.as_bytes(), name.as_bytes()).unwrap_or(false)
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Go's `path.Match(pattern, name)`: `Ok(matched)`, or the error where Go reports
/// `ErrBadPattern` (a malformed pattern never matches).
///
/// ```
/// use drone_extension::glob;
///
/// assert_eq!(glob::matches("*", "octocat"), Ok(true));
/// assert_eq!(glob::matches("*", "octocat/hello-world"), Ok(false));
/// assert_eq!(glob::matches("[^a-z]*", "Octocat"), Ok(true));
/// assert!(glob::matches("a[", "b").is_err());
/// ```
///
/// # Errors
///
/// A [`PatternError`] when the pattern is malformed.
pub fn matches(pattern: &str, name: &str) -> Result<bool, PatternError> {
    validate(pattern.as_bytes())?;
    match_valid(pattern.as_bytes(), name.as_bytes())
}

/// Checks every chunk of the pattern, as Go does before it returns `false`.
fn validate(pattern: &[u8]) -> Result<(), PatternError> {
    let mut rest = pattern;
    while !rest.is_empty() {
        let (_, chunk, next) = scan_chunk(rest);
        let base = pattern.len() - rest.len() + (rest.len() - next.len() - chunk.len());
        match_chunk(chunk, b"").map_err(|e| e.shift(base))?;
        rest = next;
    }
    Ok(())
}

/// Go's `Match` loop.
fn match_valid(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, PatternError> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing `*` matches the rest of the name unless it holds a `/`.
            return Ok(!name.contains(&b'/'));
        }
        // Look for a match at the current position; the last chunk must consume the name.
        if let Some(t) = match_chunk(chunk, name)?
            && (t.is_empty() || !pattern.is_empty())
        {
            name = t;
            continue;
        }
        if star {
            // Look for a match skipping i+1 bytes; `*` cannot skip a `/`.
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                if let Some(t) = match_chunk(chunk, &name[i + 1..])? {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Go's `scanChunk`: leading stars, then everything up to the next `*` outside a class.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stars = pattern.iter().take_while(|&&b| b == b'*').count();
    let pattern = &pattern[stars..];
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            // An escaped character is skipped (a trailing backslash is left to `match_chunk`).
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (stars > 0, &pattern[..i], &pattern[i..])
}

impl PatternError {
    fn shift(self, by: usize) -> PatternError {
        match self {
            PatternError::UnclosedClass { offset } => PatternError::UnclosedClass {
                offset: offset + by,
            },
            PatternError::MissingRangeBound { offset } => PatternError::MissingRangeBound {
                offset: offset + by,
            },
            PatternError::TrailingEscape { offset } => PatternError::TrailingEscape {
                offset: offset + by,
            },
        }
    }
}

/// Go's `utf8.DecodeRune`: the character at the start of `s` and its length, or U+FFFD and 1 for
/// an invalid (or cut) sequence. `s` must not be empty.
fn decode(s: &[u8]) -> (char, usize) {
    let len = match s[0] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    match s
        .get(..len)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
    {
        Some(text) => (text.chars().next().unwrap_or('\u{fffd}'), len),
        None => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// Go's `matchChunk`: whether `chunk` (no `*` outside classes) matches the start of `s`, and the
/// rest of `s` if so. After a mismatch the chunk is still parsed to the end, so a malformed chunk
/// is an error whatever `s` is. Offsets in errors are relative to the chunk.
fn match_chunk<'s>(chunk: &[u8], mut s: &'s [u8]) -> Result<Option<&'s [u8]>, PatternError> {
    let mut failed = false;
    let mut i = 0;
    while i < chunk.len() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[i] {
            b'[' => {
                let mut r = None;
                if !failed {
                    let (c, n) = decode(s);
                    r = Some(c);
                    s = &s[n..];
                }
                i += 1;
                let negated = chunk.get(i) == Some(&b'^');
                if negated {
                    i += 1;
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.get(i) == Some(&b']') && ranges > 0 {
                        i += 1;
                        break;
                    }
                    let (lo, next) = get_esc(chunk, i)?;
                    i = next;
                    let mut hi = lo;
                    if chunk[i] == b'-' {
                        let (h, next) = get_esc(chunk, i + 1)?;
                        hi = h;
                        i = next;
                    }
                    if r.is_some_and(|r| lo <= r && r <= hi) {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, n) = decode(s);
                    s = &s[n..];
                }
                i += 1;
            }
            b => {
                let mut literal = b;
                if b == b'\\' {
                    i += 1;
                    match chunk.get(i) {
                        Some(&escaped) => literal = escaped,
                        None => return Err(PatternError::TrailingEscape { offset: i - 1 }),
                    }
                }
                if !failed {
                    if literal != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                i += 1;
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// Go's `getEsc`: one possibly escaped character of a class at `chunk[i..]`, and the index after
/// it, which must not be the end of the chunk.
fn get_esc(chunk: &[u8], mut i: usize) -> Result<(char, usize), PatternError> {
    match chunk.get(i) {
        None => return Err(PatternError::UnclosedClass { offset: i }),
        Some(b'-' | b']') => return Err(PatternError::MissingRangeBound { offset: i }),
        Some(b'\\') => {
            i += 1;
            if i == chunk.len() {
                return Err(PatternError::UnclosedClass { offset: i });
            }
        }
        Some(_) => {}
    }
    let (c, n) = decode(&chunk[i..]);
    if c == char::REPLACEMENT_CHARACTER && n == 1 {
        return Err(PatternError::MissingRangeBound { offset: i });
    }
    if i + n == chunk.len() {
        return Err(PatternError::UnclosedClass { offset: i + n });
    }
    Ok((c, i + n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quirks() {
        // A class may match `/`; `*` and `?` may not.
        assert_eq!(matches("a[/]b", "a/b"), Ok(true));
        assert_eq!(matches("a?b", "a/b"), Ok(false));
        assert_eq!(matches("a*b", "a/b"), Ok(false));
        // `!` is literal, `^` negates, `\` escapes inside and outside classes.
        assert_eq!(matches("[!a]", "!"), Ok(true));
        assert_eq!(matches("[^a]", "b"), Ok(true));
        assert_eq!(matches("[\\]]", "]"), Ok(true));
        assert_eq!(matches("\\*", "*"), Ok(true));
        assert_eq!(matches("\\*", "x"), Ok(false));
        // A `*` inside a class does not end a chunk.
        assert_eq!(matches("[*]x", "*x"), Ok(true));
        // Multibyte characters in classes and under `?`.
        assert_eq!(matches("h?llo", "héllo"), Ok(true));
        assert_eq!(matches("[é-ê]", "ê"), Ok(true));
        // Skipping into the middle of a character decodes U+FFFD, as Go's DecodeRune does.
        assert_eq!(matches("*[\u{fffd}]", "é"), Ok(true));
        // Malformed patterns are errors whatever the name, even after a mismatch.
        for bad in [
            "[", "a[", "[]", "[^]", "[a-", "[a-]", "[-a]", "\\", "x*[", "*x\\",
        ] {
            assert!(matches(bad, "zzz").is_err(), "{bad}");
            assert!(matches(bad, "").is_err(), "{bad}");
            assert!(Pattern::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_offset() {
        assert_eq!(
            Pattern::new("ab*\\"),
            Err(PatternError::TrailingEscape { offset: 3 })
        );
        assert_eq!(
            Pattern::new("x*[]a]"),
            Err(PatternError::MissingRangeBound { offset: 3 })
        );
        assert_eq!(
            Pattern::new("octo[").unwrap_err().to_string(),
            "malformed pattern at byte 5: character class is not closed"
        );
    }
}
