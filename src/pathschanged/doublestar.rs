//! Glob patterns exactly as `github.com/bmatcuk/doublestar` **v1.3.4** `Match` reads them, the
//! matcher of drone-convert-pathschanged.
//!
//! A changed file (repository-relative, `/`-separated, no leading `/`) is split on `/` and the
//! pattern is matched component by component:
//!
//! | pattern | matches |
//! |---|---|
//! | `*` | any run of characters without `/`, the empty one and a leading `.` included (`*` matches `.drone.yml`) |
//! | `**` as a whole component | zero or more components: `**/*.go` matches `main.go`, `a/**/b` matches `a/b`, `**` alone matches every path (even `""`) |
//! | `a/**` | everything **below** `a`, not `a` itself |
//! | `**` inside a component | two `*`: `**.md` matches only root-level `*.md`, `a**b` never crosses `/` |
//! | `?` | one character except `/` |
//! | `[a-c]`, `[^a-c]` | one character in (not in) the class; **`[!a-c]` is not a negation**: `!` is a member |
//! | `{a,b}` | either alternative (nestable; an alternative may hold `/`) |
//! | `\c` | `c` literally |
//! | anything else | itself, case-sensitively (no normalisation: `./a`, `/a` and `a/` never match `a`) |
//!
//! ```
//! use drone_extension::pathschanged::doublestar::Pattern;
//!
//! let go = Pattern::new("src/**/*.go")?;
//! assert!(go.matches("src/main.go")); // `**` is zero components too
//! assert!(go.matches("src/a/b/c.go"));
//! assert!(!go.matches("srcfoo/main.go"));
//! assert!(!Pattern::new("docs/**")?.matches("docs")); // only what is below `docs`
//! assert!(Pattern::new("[!a-c].md")?.matches("a.md")); // `!` is a member, not a negation
//! assert!(Pattern::new("docs/[").is_err());
//! # Ok::<(), drone_extension::pathschanged::doublestar::PatternError>(())
//! ```
//!
//! # Malformed patterns
//!
//! doublestar reports `ErrBadPattern` lazily: only when the matcher reaches the bad part for the
//! name at hand (`a/[` against `b/x` is just `false`), and the plugin discards the error, so a
//! malformed pattern never matches. [`Pattern::new`] checks the whole pattern once instead and
//! refuses an unclosed `[` or `{`, an empty class `[]`, a range without a bound (`[a-]`, `[-a]`)
//! and a `\` that escapes nothing, with a [`PatternError`] that names the byte offset. A pattern
//! it accepts is matched by a transcription of doublestar's algorithm, so it answers what Go
//! answers for every name, including doublestar's own quirk: a `/` inside braces
//! (`a{/b,c}`) can make Go fail with `ErrBadPattern` for some names, and that answer is
//! `false` here too.
//!
//! # Why hand-written
//!
//! No Rust crate has doublestar v1's semantics, and the differences are the ones users hit.
//! `globset` (0.4) negates with `[!a]`, reads `[]a]` as a class holding `]`, refuses `**`
//! inside a component (`**.md`, which doublestar reads as two `*`) and lets `*` cross `/` unless
//! `literal_separator` is set. `glob` (0.3) negates with `[!a]`, refuses `**` inside a
//! component and has no `{a,b}`. `wildmatch` (2) has only `*` and `?`, and its `*` crosses `/`.
//! The transcription is short, has no dependency, and is checked against doublestar's own
//! answers for 1,175 pattern and path pairs.
//! The crate's [`glob`](crate::glob) module is a different matcher (Go's `path.Match`, used by
//! Drone's own filters).
//!
//! # Cost
//!
//! doublestar backtracks over every `*` and `**`; a pattern with many of them is exponential in
//! Go. The transcription memoises its two recursive functions (same answers, polynomial time),
//! and a pattern is at most [`MAX_PATTERN_LEN`] bytes (its recursion depth is bounded by it).
//! [`Pattern::matches`] answers without it where the answer is certain: a literal pattern is
//! equality, a path without the pattern's literal prefix (or suffix) never matches, and
//! `prefix/**` matches every path that starts with `prefix/`. The tests check these shortcuts
//! against the naive transcription on the reference's vectors and on random patterns and paths.

use std::collections::HashMap;
use std::fmt;

/// The longest pattern accepted, in bytes (the matcher's recursion depth is bounded by it).
pub const MAX_PATTERN_LEN: usize = 1024;

/// Why a pattern is malformed (doublestar's `ErrBadPattern`, or too long).
///
/// [`Display`](fmt::Display) names the problem and the byte offset in the pattern.
///
/// ```
/// use drone_extension::pathschanged::doublestar::{Pattern, PatternError};
///
/// let err = Pattern::new("docs/[").unwrap_err();
/// assert_eq!(err, PatternError::UnclosedClass { offset: 5 });
/// assert_eq!(err.to_string(), "malformed pattern at byte 5: `[` is not closed by `]`");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternError {
    /// A `[` without its `]`.
    UnclosedClass {
        /// Byte offset of the `[`.
        offset: usize,
    },
    /// An empty class: `[]`.
    EmptyClass {
        /// Byte offset of the `[`.
        offset: usize,
    },
    /// A range bound is missing or is an unescaped `-`: `[-a]`, `[a-]`, `[a--]`.
    MissingRangeBound {
        /// Byte offset of the `[`.
        offset: usize,
    },
    /// A `{` without its `}`.
    UnclosedAlternatives {
        /// Byte offset of the `{`.
        offset: usize,
    },
    /// A `\` at the end of the pattern (or of a class), or before U+FFFD (which Go reads as an
    /// encoding error).
    BadEscape {
        /// Byte offset of the `\`.
        offset: usize,
    },
    /// Longer than [`MAX_PATTERN_LEN`] bytes.
    TooLong {
        /// The pattern's length in bytes.
        len: usize,
    },
}

impl PatternError {
    /// The byte offset in the pattern where the problem is ([`MAX_PATTERN_LEN`] for
    /// [`TooLong`](PatternError::TooLong)).
    pub fn offset(&self) -> usize {
        match *self {
            PatternError::UnclosedClass { offset }
            | PatternError::EmptyClass { offset }
            | PatternError::MissingRangeBound { offset }
            | PatternError::UnclosedAlternatives { offset }
            | PatternError::BadEscape { offset } => offset,
            PatternError::TooLong { .. } => MAX_PATTERN_LEN,
        }
    }

    fn shift(self, by: usize) -> PatternError {
        match self {
            PatternError::UnclosedClass { offset } => PatternError::UnclosedClass {
                offset: offset + by,
            },
            PatternError::EmptyClass { offset } => PatternError::EmptyClass {
                offset: offset + by,
            },
            PatternError::MissingRangeBound { offset } => PatternError::MissingRangeBound {
                offset: offset + by,
            },
            PatternError::UnclosedAlternatives { offset } => PatternError::UnclosedAlternatives {
                offset: offset + by,
            },
            PatternError::BadEscape { offset } => PatternError::BadEscape {
                offset: offset + by,
            },
            too_long @ PatternError::TooLong { .. } => too_long,
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = match self {
            PatternError::UnclosedClass { .. } => "`[` is not closed by `]`",
            PatternError::EmptyClass { .. } => "empty character class `[]`",
            PatternError::MissingRangeBound { .. } => {
                "character range without a bound (`-` must be escaped as `\\-`)"
            }
            PatternError::UnclosedAlternatives { .. } => "`{` is not closed by `}`",
            PatternError::BadEscape { .. } => "`\\` escapes nothing",
            PatternError::TooLong { len } => {
                return write!(
                    f,
                    "pattern of {len} bytes is longer than the limit of {MAX_PATTERN_LEN}"
                );
            }
        };
        write!(f, "malformed pattern at byte {}: {problem}", self.offset())
    }
}

impl std::error::Error for PatternError {}

/// A validated doublestar v1 pattern: checked once, matched against many paths.
///
/// ```
/// use drone_extension::pathschanged::doublestar::Pattern;
///
/// let pattern = Pattern::new("{api,web}/**")?;
/// assert!(pattern.matches("web/src/app.js"));
/// assert!(!pattern.matches("docs/index.md"));
/// assert_eq!(pattern.as_str(), "{api,web}/**");
/// # Ok::<(), drone_extension::pathschanged::doublestar::PatternError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: Box<str>,
    /// No `*`, `?`, `[`, `{` nor `\`: doublestar's answer is then plain equality.
    literal: bool,
    /// The bytes before the first of those characters: every matching path starts with them
    /// (literal characters match themselves only, and `/` only a separator).
    prefix_len: usize,
    /// The bytes after the last of them (less a first `/`): every matching path ends with them.
    suffix_start: usize,
    /// The pattern is its literal prefix then `**`, the prefix empty or ending with `/`
    /// (`svc/src/**`, `**`): every path that starts with the prefix matches (see
    /// [`Pattern::matches`]).
    below_prefix: bool,
}

impl Pattern {
    /// Checks the whole pattern.
    ///
    /// # Errors
    ///
    /// A [`PatternError`] for an unclosed `[` or `{`, an empty class, a range without a bound,
    /// a `\` that escapes nothing, or a pattern longer than [`MAX_PATTERN_LEN`] bytes.
    pub fn new(pattern: &str) -> Result<Pattern, PatternError> {
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(PatternError::TooLong { len: pattern.len() });
        }
        validate(pattern)?;
        let special = |c: char| matches!(c, '*' | '?' | '[' | '{' | '\\' | ']' | '}' | ',');
        let prefix_len = pattern.find(special).unwrap_or(pattern.len());
        // A `/` right after the last special character may be absorbed (`**/b` matches `b`).
        let suffix_start = pattern.rfind(special).map_or(0, |i| i + 1);
        let suffix_start = suffix_start + usize::from(pattern[suffix_start..].starts_with('/'));
        let below_prefix = &pattern[prefix_len..] == "**"
            && (prefix_len == 0 || pattern[..prefix_len].ends_with('/'));
        Ok(Pattern {
            text: pattern.into(),
            literal: !pattern.contains(['*', '?', '[', '{', '\\']),
            prefix_len,
            suffix_start,
            below_prefix,
        })
    }

    /// Whether `path` matches, as doublestar's `Match(pattern, path)` with its error read as
    /// `false` (what the plugin does).
    pub fn matches(&self, path: &str) -> bool {
        if self.literal {
            return *self.text == *path;
        }
        // Cheap refusals before the general matcher (which allocates its memo tables): most
        // changed files of a monorepo fail a condition's literal directory prefix.
        if !path.starts_with(self.literal_prefix()) {
            return false;
        }
        // `prefix/**` (the usual condition) matches everything below the prefix: the prefix's
        // components are literal and end with a real separator (no `\` in them), so doublestar
        // walks them one by one and reaches a last `**` with at least one component left (an
        // empty one for `prefix/`), which matches; `**` alone matches every path.
        if self.below_prefix {
            return true;
        }
        if !path.ends_with(&self.text[self.suffix_start..]) {
            return false;
        }
        go_match(&self.text, path).unwrap_or(false)
    }

    /// The bytes before the first `*`, `?`, `[`, `{`, `\` (or `]`, `}`, `,`): every path the
    /// pattern matches starts with them (the whole text for a literal pattern, `""` for `**`).
    /// A sorted list of paths holds the candidates as one run (what the rewrite searches).
    pub(crate) fn literal_prefix(&self) -> &str {
        &self.text[..self.prefix_len]
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

/// doublestar's `ErrBadPattern`, as met while matching (lazily).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadPattern;

/// doublestar v1.3.4 `Match(pattern, name)` for any pattern, malformed ones included: `Ok` with
/// the answer, or `Err` where Go returns `ErrBadPattern` for this name. A pattern longer than
/// [`MAX_PATTERN_LEN`] is an error (Go would match it; nobody writes one).
pub(crate) fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(BadPattern);
    }
    let components = split_path_on_separator(name, '/');
    Matcher::default().do_matching(pattern, &components, 0)
}

type Continuations = Option<Vec<String>>;

/// The memo tables of one `Match` call. The functions are pure, so memoising them changes no
/// answer, only the cost (doublestar backtracks over every `*` and `**`).
#[derive(Default)]
struct Matcher {
    matching: HashMap<(String, usize), Result<bool, BadPattern>>,
    component: HashMap<(String, usize, usize), Result<Continuations, BadPattern>>,
}

impl Matcher {
    /// doublestar's `doMatching(pattern, nameComponents[first:])`.
    fn do_matching(
        &mut self,
        pattern: &str,
        components: &[&str],
        first: usize,
    ) -> Result<bool, BadPattern> {
        let key = (pattern.to_owned(), first);
        if let Some(known) = self.matching.get(&key) {
            return *known;
        }
        let answer = self.do_matching_uncached(pattern, components, first);
        self.matching.insert(key, answer);
        answer
    }

    fn do_matching_uncached(
        &mut self,
        pattern: &str,
        components: &[&str],
        first: usize,
    ) -> Result<bool, BadPattern> {
        let names = &components[first..];
        let (pattern_len, name_len) = (pattern.len(), names.len());
        if pattern_len == 0 && name_len == 0 {
            return Ok(true);
        }
        if pattern_len == 0 {
            if name_len == 1 && names[0].is_empty() {
                return Ok(true);
            } else if name_len == 0 {
                return Ok(false);
            }
        }
        if name_len == 0 {
            // Unreachable from `Match` (a split name has a component); Go would index out of
            // range here.
            return Ok(false);
        }

        let slash = index_rune_with_escaping(pattern, '/');
        let last_component = slash.is_none();
        let slash = slash.unwrap_or(pattern_len);
        if &pattern[..slash] == "**" {
            // A last `**` matches whatever remains.
            if last_component {
                return Ok(true);
            }
            let rest = &pattern[slash + 1..];
            for skip in 0..name_len {
                if let Ok(true) = self.do_matching(rest, components, first + skip) {
                    return Ok(true);
                }
            }
            return Ok(false);
        }

        let matches = match self.match_component(pattern, components, first, 0)? {
            None => return Ok(false),
            Some(matches) => matches,
        };
        if matches.is_empty() && name_len == 1 {
            return Ok(true);
        }
        if name_len > 1 {
            for alternative in &matches {
                let matched = self.do_matching(alternative, components, first + 1)?;
                if matched {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// doublestar's `matchComponent(pattern, name[from:])` with `name = components[index]`:
    /// `None` when the pattern does not match this component, else the patterns left for the
    /// next components (empty: the pattern is used up).
    fn match_component(
        &mut self,
        pattern: &str,
        components: &[&str],
        index: usize,
        from: usize,
    ) -> Result<Continuations, BadPattern> {
        let key = (pattern.to_owned(), index, from);
        if let Some(known) = self.component.get(&key) {
            return known.clone();
        }
        let answer = self.match_component_uncached(pattern, components, index, from);
        self.component.insert(key, answer.clone());
        answer
    }

    fn match_component_uncached(
        &mut self,
        pattern: &str,
        components: &[&str],
        index: usize,
        from: usize,
    ) -> Result<Continuations, BadPattern> {
        let name = &components[index][from..];
        let (pattern_len, name_len) = (pattern.len(), name.len());
        let (mut pat_idx, mut name_idx) = (0, 0);
        while pat_idx < pattern_len && name_idx < name_len {
            let (pat_rune, pat_adj) = decode(&pattern[pat_idx..]);
            let (name_rune, name_adj) = decode(&name[name_idx..]);
            if pat_rune == '/' {
                pat_idx += 1;
                break;
            } else if pat_rune == '\\' {
                pat_idx += pat_adj;
                let (escaped, escaped_adj) = decode(&pattern[pat_idx..]);
                if escaped == char::REPLACEMENT_CHARACTER {
                    return Err(BadPattern);
                } else if escaped == name_rune {
                    pat_idx += escaped_adj;
                    name_idx += name_adj;
                } else {
                    return Ok(None);
                }
            } else if pat_rune == '*' {
                // A star at the end of the pattern or before a separator matches the rest of
                // the component.
                pat_idx += pat_adj;
                if pat_idx >= pattern_len {
                    return Ok(Some(Vec::new()));
                }
                let (next, next_adj) = decode(&pattern[pat_idx..]);
                if next == '/' {
                    return Ok(Some(vec![pattern[pat_idx + next_adj..].to_owned()]));
                }
                // The first position where the rest matches wins (Go returns at once).
                while name_idx < name_len {
                    let found = self.match_component(
                        &pattern[pat_idx..],
                        components,
                        index,
                        from + name_idx,
                    );
                    if !matches!(found, Ok(None)) {
                        return found;
                    }
                    name_idx += decode(&name[name_idx..]).1;
                }
                return Ok(None);
            } else if pat_rune == '[' {
                pat_idx += pat_adj;
                let end_class = match index_rune_with_escaping(&pattern[pat_idx..], ']') {
                    None => return Err(BadPattern),
                    Some(end) => end + pat_idx,
                };
                let class: Vec<char> = pattern[pat_idx..end_class].chars().collect();
                if class.is_empty() {
                    return Err(BadPattern);
                }
                let negated = class[0] == '^';
                let mut class_idx = usize::from(negated);
                let mut matched = false;
                while class_idx < class.len() {
                    let mut low = class[class_idx];
                    if low == '-' {
                        return Err(BadPattern);
                    }
                    class_idx += 1;
                    if low == '\\' {
                        match class.get(class_idx) {
                            Some(&c) => {
                                low = c;
                                class_idx += 1;
                            }
                            None => return Err(BadPattern),
                        }
                    }
                    let mut high = low;
                    if class.get(class_idx) == Some(&'-') {
                        class_idx += 1;
                        let Some(&c) = class.get(class_idx) else {
                            return Err(BadPattern);
                        };
                        high = c;
                        if high == '-' {
                            return Err(BadPattern);
                        }
                        class_idx += 1;
                        if high == '\\' {
                            match class.get(class_idx) {
                                Some(&c) => {
                                    high = c;
                                    class_idx += 1;
                                }
                                None => return Err(BadPattern),
                            }
                        }
                    }
                    if low <= name_rune && name_rune <= high {
                        matched = true;
                    }
                }
                if matched == negated {
                    return Ok(None);
                }
                pat_idx = end_class + 1;
                name_idx += name_adj;
            } else if pat_rune == '{' {
                pat_idx += pat_adj;
                let Some((options, end_options)) = split_alternatives(&pattern[pat_idx..]) else {
                    return Err(BadPattern);
                };
                pat_idx += end_options;
                let mut results: Vec<String> = Vec::new();
                let mut any = false;
                for option in options {
                    let candidate = format!("{option}{}", &pattern[pat_idx..]);
                    if let Some(found) =
                        self.match_component(&candidate, components, index, from + name_idx)?
                    {
                        any = true;
                        results.extend(found);
                    }
                }
                return Ok(any.then_some(results));
            } else if pat_rune == '?' || pat_rune == name_rune {
                pat_idx += pat_adj;
                name_idx += name_adj;
            } else {
                return Ok(None);
            }
        }
        if name_idx >= name_len {
            if pat_idx >= pattern_len {
                return Ok(Some(Vec::new()));
            }
            let rest = &pattern[pat_idx..];
            let slash = index_rune_with_escaping(rest, '/');
            let test = match slash {
                Some(slash) => &rest[..slash],
                None => rest,
            };
            if is_zero_length_pattern(test)? {
                return Ok(Some(match slash {
                    None => Vec::new(),
                    Some(slash) => vec![rest[slash + 1..].to_owned()],
                }));
            }
        }
        Ok(None)
    }
}

/// Go's `utf8.DecodeRuneInString` on valid UTF-8: the first character and its length, or
/// (U+FFFD, 0) for the empty string.
fn decode(s: &str) -> (char, usize) {
    match s.chars().next() {
        Some(c) => (c, c.len_utf8()),
        None => (char::REPLACEMENT_CHARACTER, 0),
    }
}

/// doublestar's `splitPathOnSeparator(path, '/')`: a `/` preceded by `\` does not split, and a
/// trailing `/` gives a last empty component.
fn split_path_on_separator(path: &str, separator: char) -> Vec<&str> {
    if !path.contains(separator) {
        return vec![path];
    }
    let mut components = Vec::new();
    let mut empty_end = false;
    let mut start = 0;
    while start < path.len() {
        let end = match index_rune_with_escaping(&path[start..], separator) {
            None => {
                empty_end = false;
                path.len()
            }
            Some(end) => {
                empty_end = true;
                end + start
            }
        };
        components.push(&path[start..end]);
        start = end + separator.len_utf8();
    }
    if empty_end {
        components.push("");
    }
    components
}

/// doublestar's `indexRuneWithEscaping`: the first `r` not directly preceded by `\` (a `\\`
/// before it still counts as an escape, as in Go).
fn index_rune_with_escaping(s: &str, r: char) -> Option<usize> {
    let mut offset = 0;
    loop {
        let end = s[offset..].find(r)? + offset;
        if end > 0 && s.as_bytes()[end - 1] == b'\\' {
            offset = end + r.len_utf8();
            continue;
        }
        return Some(end);
    }
}

/// doublestar's `splitAlternatives(s)` (`s` follows a `{`): the alternatives and the offset
/// just past the closing `}`, or `None` when the braces are not closed.
fn split_alternatives(s: &str) -> Option<(Vec<&str>, usize)> {
    let mut options = Vec::new();
    let mut depth = 1;
    let mut escaped = false;
    let mut start = 0;
    let mut chars = s.char_indices();
    let mut idx = 0;
    while depth > 0 {
        let (at, c) = chars.next()?;
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '{' {
            depth += 1;
        } else if c == '}' {
            depth -= 1;
        } else if c == ',' && depth == 1 {
            options.push(&s[start..at]);
            start = at + c.len_utf8();
        }
        idx = at + c.len_utf8();
    }
    options.push(&s[start..idx - 1]);
    Some((options, idx))
}

/// doublestar's `isZeroLengthPattern`: whether the pattern can match zero characters.
fn is_zero_length_pattern(pattern: &str) -> Result<bool, BadPattern> {
    if pattern.is_empty() || pattern == "*" || pattern == "**" {
        return Ok(true);
    }
    if let Some(rest) = pattern.strip_prefix('{') {
        let (options, end) = split_alternatives(rest).ok_or(BadPattern)?;
        if !is_zero_length_pattern(&rest[end..])? {
            return Ok(false);
        }
        for option in options {
            if is_zero_length_pattern(option)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Checks every construct of the pattern, alternatives included (whichever a name would reach).
fn validate(pattern: &str) -> Result<(), PatternError> {
    let mut i = 0;
    while i < pattern.len() {
        let (c, len) = decode(&pattern[i..]);
        match c {
            '\\' => {
                let (escaped, escaped_len) = decode(&pattern[i + 1..]);
                if escaped == char::REPLACEMENT_CHARACTER {
                    return Err(PatternError::BadEscape { offset: i });
                }
                i += 1 + escaped_len;
            }
            '[' => {
                let body = i + 1;
                let Some(end) = index_rune_with_escaping(&pattern[body..], ']') else {
                    return Err(PatternError::UnclosedClass { offset: i });
                };
                validate_class(&pattern[body..body + end]).map_err(|e| e.shift(i))?;
                i = body + end + 1;
            }
            '{' => {
                let body = i + 1;
                let Some((options, end)) = split_alternatives(&pattern[body..]) else {
                    return Err(PatternError::UnclosedAlternatives { offset: i });
                };
                let mut at = body;
                for option in options {
                    validate(option).map_err(|e| e.shift(at))?;
                    at += option.len() + 1;
                }
                i = body + end;
            }
            _ => i += len,
        }
    }
    Ok(())
}

/// Checks a class body as doublestar's matcher reads it (offsets relative to the `[`).
fn validate_class(body: &str) -> Result<(), PatternError> {
    let class: Vec<char> = body.chars().collect();
    if class.is_empty() {
        return Err(PatternError::EmptyClass { offset: 0 });
    }
    let bad_range = PatternError::MissingRangeBound { offset: 0 };
    let mut idx = usize::from(class[0] == '^');
    while idx < class.len() {
        let low = class[idx];
        if low == '-' {
            return Err(bad_range);
        }
        idx += 1;
        if low == '\\' {
            if idx >= class.len() {
                return Err(PatternError::BadEscape { offset: 0 });
            }
            idx += 1;
        }
        if class.get(idx) == Some(&'-') {
            idx += 1;
            let Some(&high) = class.get(idx) else {
                return Err(bad_range);
            };
            if high == '-' {
                return Err(bad_range);
            }
            idx += 1;
            if high == '\\' {
                if idx >= class.len() {
                    return Err(PatternError::BadEscape { offset: 0 });
                }
                idx += 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// doublestar v1.3.4 transcribed naively (no memo): the oracle of the memoised one.
    mod naive {
        use super::super::{
            BadPattern, decode, index_rune_with_escaping, is_zero_length_pattern,
            split_alternatives, split_path_on_separator,
        };

        pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
            do_matching(pattern, &split_path_on_separator(name, '/'))
        }

        fn do_matching(pattern: &str, names: &[&str]) -> Result<bool, BadPattern> {
            if pattern.is_empty() && names.is_empty() {
                return Ok(true);
            }
            if pattern.is_empty() {
                if names.len() == 1 && names[0].is_empty() {
                    return Ok(true);
                } else if names.is_empty() {
                    return Ok(false);
                }
            }
            let slash = index_rune_with_escaping(pattern, '/');
            let last = slash.is_none();
            let slash = slash.unwrap_or(pattern.len());
            if &pattern[..slash] == "**" {
                if last {
                    return Ok(true);
                }
                for i in 0..names.len() {
                    if let Ok(true) = do_matching(&pattern[slash + 1..], &names[i..]) {
                        return Ok(true);
                    }
                }
                return Ok(false);
            }
            let Some(matches) = match_component(pattern, names[0])? else {
                return Ok(false);
            };
            if matches.is_empty() && names.len() == 1 {
                return Ok(true);
            }
            if names.len() > 1 {
                for alt in &matches {
                    if do_matching(alt, &names[1..])? {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        }

        fn match_component(pattern: &str, name: &str) -> Result<Option<Vec<String>>, BadPattern> {
            let (mut p, mut n) = (0, 0);
            while p < pattern.len() && n < name.len() {
                let (pr, pa) = decode(&pattern[p..]);
                let (nr, na) = decode(&name[n..]);
                if pr == '/' {
                    p += 1;
                    break;
                } else if pr == '\\' {
                    p += pa;
                    let (e, ea) = decode(&pattern[p..]);
                    if e == char::REPLACEMENT_CHARACTER {
                        return Err(BadPattern);
                    } else if e == nr {
                        p += ea;
                        n += na;
                    } else {
                        return Ok(None);
                    }
                } else if pr == '*' {
                    p += pa;
                    if p >= pattern.len() {
                        return Ok(Some(vec![]));
                    }
                    let (nx, nxa) = decode(&pattern[p..]);
                    if nx == '/' {
                        return Ok(Some(vec![pattern[p + nxa..].to_owned()]));
                    }
                    while n < name.len() {
                        let m = match_component(&pattern[p..], &name[n..]);
                        if !matches!(m, Ok(None)) {
                            return m;
                        }
                        n += decode(&name[n..]).1;
                    }
                    return Ok(None);
                } else if pr == '[' {
                    p += pa;
                    let end = index_rune_with_escaping(&pattern[p..], ']').ok_or(BadPattern)? + p;
                    let class: Vec<char> = pattern[p..end].chars().collect();
                    if class.is_empty() {
                        return Err(BadPattern);
                    }
                    let mut i = usize::from(class[0] == '^');
                    let mut hit = false;
                    while i < class.len() {
                        let mut lo = class[i];
                        if lo == '-' {
                            return Err(BadPattern);
                        }
                        i += 1;
                        if lo == '\\' {
                            lo = *class.get(i).ok_or(BadPattern)?;
                            i += 1;
                        }
                        let mut hi = lo;
                        if class.get(i) == Some(&'-') {
                            i += 1;
                            hi = *class.get(i).ok_or(BadPattern)?;
                            if hi == '-' {
                                return Err(BadPattern);
                            }
                            i += 1;
                            if hi == '\\' {
                                hi = *class.get(i).ok_or(BadPattern)?;
                                i += 1;
                            }
                        }
                        if lo <= nr && nr <= hi {
                            hit = true;
                        }
                    }
                    if hit == (class[0] == '^') {
                        return Ok(None);
                    }
                    p = end + 1;
                    n += na;
                } else if pr == '{' {
                    p += pa;
                    let (options, end) = split_alternatives(&pattern[p..]).ok_or(BadPattern)?;
                    p += end;
                    let mut out: Option<Vec<String>> = None;
                    for o in options {
                        if let Some(m) =
                            match_component(&format!("{o}{}", &pattern[p..]), &name[n..])?
                        {
                            out.get_or_insert_with(Vec::new).extend(m);
                        }
                    }
                    return Ok(out);
                } else if pr == '?' || pr == nr {
                    p += pa;
                    n += na;
                } else {
                    return Ok(None);
                }
            }
            if n >= name.len() {
                if p >= pattern.len() {
                    return Ok(Some(vec![]));
                }
                let rest = &pattern[p..];
                let slash = index_rune_with_escaping(rest, '/');
                let test = slash.map_or(rest, |s| &rest[..s]);
                if is_zero_length_pattern(test)? {
                    return Ok(Some(match slash {
                        None => vec![],
                        Some(s) => vec![rest[s + 1..].to_owned()],
                    }));
                }
            }
            Ok(None)
        }
    }

    use proptest::prelude::*;

    fn pattern_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("*"),
                Just("**"),
                Just("/"),
                Just("?"),
                Just("a"),
                Just("b"),
                Just("."),
                Just("{"),
                Just("}"),
                Just(","),
                Just("["),
                Just("]"),
                Just("^"),
                Just("!"),
                Just("-"),
                Just("\\"),
                Just("é"),
                Just("**/"),
                Just("{a,b}"),
                Just("[a-c]"),
            ],
            0..10,
        )
        .prop_map(|parts| parts.concat())
    }

    /// Literal text: no character doublestar reads specially, `/` included.
    fn literal_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("/"),
                Just("."),
                Just("é"),
                Just("-"),
                Just("!"),
                Just("src/"),
            ],
            0..6,
        )
        .prop_map(|parts| parts.concat())
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("/"),
                Just("."),
                Just("c"),
                Just("é"),
                Just("\\"),
                Just("-"),
                Just("!"),
                Just("ab"),
            ],
            0..8,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The memo changes no answer.
        #[test]
        fn memo_agrees_with_the_naive_transcription(p in pattern_strategy(), n in name_strategy()) {
            prop_assert_eq!(go_match(&p, &n), naive::go_match(&p, &n));
        }

        /// A pattern `Pattern::new` accepts answers what Go answers (its error read as false);
        /// the literal shortcut included. What it matches starts with its literal prefix (what
        /// the rewrite's index relies on).
        #[test]
        fn validated_patterns_answer_as_go(p in pattern_strategy(), n in name_strategy()) {
            if let Ok(pattern) = Pattern::new(&p) {
                let matched = pattern.matches(&n);
                prop_assert_eq!(matched, naive::go_match(&p, &n).unwrap_or(false));
                prop_assert!(!matched || n.starts_with(pattern.literal_prefix()));
            }
        }

        /// The shapes of real conditions (a literal directory, then wildcards): the fast paths
        /// (`prefix/**`, the prefix and suffix refusals) answer as Go, for names below the
        /// prefix and elsewhere.
        #[test]
        fn literal_prefixes_answer_as_go(
            prefix in literal_strategy(),
            tail in proptest::sample::select(vec![
                "**", "/**", "**/", "*", "/*", "**/a", "**/*.a", "*/**", "{a,b}/**", "[ab]/**",
                "?", "\\**", "\\/**", "",
            ]),
            below in name_strategy(),
            under in any::<bool>(),
        ) {
            let p = format!("{prefix}{tail}");
            let n = if under { format!("{prefix}{below}") } else { below };
            if let Ok(pattern) = Pattern::new(&p) {
                let matched = pattern.matches(&n);
                prop_assert_eq!(matched, naive::go_match(&p, &n).unwrap_or(false));
                prop_assert_eq!(matched, go_match(&p, &n).unwrap_or(false));
                prop_assert!(!matched || n.starts_with(pattern.literal_prefix()));
            }
        }

        /// Literal patterns: Go's answer is equality.
        #[test]
        fn literal_is_equality(
            p in "[a/.]{0,6}",
            n in "[a/.\\\\]{0,6}",
        ) {
            prop_assert_eq!(naive::go_match(&p, &n), Ok(p == n));
        }
    }

    /// The compiled pattern (its fast paths), the memoised transcription and the naive one
    /// give doublestar's answer for every pair of the reference's vectors.
    #[test]
    fn fast_paths_agree_on_the_vectors() {
        #[derive(serde::Deserialize)]
        struct Vectors {
            glob_pairs: Vec<Pair>,
        }
        #[derive(serde::Deserialize)]
        struct Pair {
            pattern: String,
            path: String,
            #[serde(rename = "match")]
            matched: bool,
        }
        let vectors: Vectors = serde_json::from_str(include_str!(
            "../../tests/fixtures/pathschanged-vectors.json"
        ))
        .unwrap();
        assert_eq!(vectors.glob_pairs.len(), 1175);
        let mut fast = 0;
        for Pair {
            pattern,
            path,
            matched,
        } in &vectors.glob_pairs
        {
            let slow = go_match(pattern, path).unwrap_or(false);
            assert_eq!(slow, *matched, "{pattern:?} {path:?}: memoised");
            let oracle = naive::go_match(pattern, path).unwrap_or(false);
            assert_eq!(oracle, *matched, "{pattern:?} {path:?}: naive");
            if let Ok(compiled) = Pattern::new(pattern) {
                assert_eq!(compiled.matches(path), *matched, "{pattern:?} {path:?}");
                assert!(!matched || path.starts_with(compiled.literal_prefix()));
                fast += usize::from(compiled.below_prefix);
            }
        }
        assert!(fast > 50, "the vectors exercise `prefix/**`: {fast}");
    }

    #[test]
    fn exponential_patterns_are_cheap() {
        let pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let name = "a".repeat(200);
        assert!(!Pattern::new(pattern).unwrap().matches(&name));
        let pattern = "**/**/**/**/**/**/**/**/**/**/**/**/x";
        let name = "a/".repeat(100) + "y";
        assert!(!Pattern::new(pattern).unwrap().matches(&name));
        let pattern = "{a,a,a}/{a,a,a}/{a,a,a}/{a,a,a}/{a,a,a}/{a,a,a}/{a,a,a}/{a,a,a}/b";
        assert!(!Pattern::new(pattern).unwrap().matches("a/a/a/a/a/a/a/a/c"));
    }

    #[test]
    fn errors_name_the_offset() {
        let cases = [
            ("[", PatternError::UnclosedClass { offset: 0 }),
            ("a/[]", PatternError::EmptyClass { offset: 2 }),
            ("[a-]", PatternError::MissingRangeBound { offset: 0 }),
            ("x[-a]", PatternError::MissingRangeBound { offset: 1 }),
            ("{a,b", PatternError::UnclosedAlternatives { offset: 0 }),
            ("{a,[}", PatternError::UnclosedClass { offset: 3 }),
            ("a\\", PatternError::BadEscape { offset: 1 }),
            ("[a\\", PatternError::UnclosedClass { offset: 0 }),
            ("a\\\u{fffd}", PatternError::BadEscape { offset: 1 }),
        ];
        for (pattern, expected) in cases {
            assert_eq!(Pattern::new(pattern), Err(expected), "{pattern}");
            // Go agrees the pattern is bad for some name.
        }
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert_eq!(
            Pattern::new(&long),
            Err(PatternError::TooLong {
                len: MAX_PATTERN_LEN + 1
            })
        );
        assert!(Pattern::new(&long[1..]).is_ok());
    }

    #[test]
    fn quirks() {
        // `[^]` matches any one character; `[!a]` is not a negation.
        assert!(Pattern::new("[^]").unwrap().matches("x"));
        assert!(Pattern::new("[!a]").unwrap().matches("!"));
        assert!(!Pattern::new("[!a]").unwrap().matches("b"));
        // A `/` inside braces: Go's isZeroLengthPattern cuts the braces and errors.
        assert_eq!(go_match("{x{/y,z},x}", "x"), Err(BadPattern));
        assert!(!Pattern::new("{x{/y,z},x}").unwrap().matches("x"));
        assert!(Pattern::new("{a/b,c}").unwrap().matches("a/b"));
        // An escaped separator in the name does not split it.
        assert_eq!(split_path_on_separator("a\\/b/c/", '/'), ["a\\/b", "c", ""]);
    }
}
