//! [`PathsCondition`]: a `paths` condition and the reference's rule for it.

use std::fmt;

use super::doublestar::{self, Pattern, PatternError};

/// A `paths` condition (`trigger.paths` of a pipeline, `when.paths` of a step): include and
/// exclude patterns ([doublestar v1](super::doublestar)), matched as the reference does.
///
/// One changed file **matches** when no exclude pattern matches it and, if there are include
/// patterns, one of them does (an exclude wins per file). A pipeline or step is **kept** when at
/// least one changed file matches, and always when the list of changed files is empty (an empty
/// commit never skips anything, the reference's fix of its issue #45).
///
/// ```
/// use drone_extension::pathschanged::PathsCondition;
///
/// let docs = PathsCondition::new(["*.md"], ["README.md"]);
/// assert!(!docs.matches("README.md")); // excluded, although included
/// assert!(docs.matches("CHANGELOG.md"));
/// assert!(!docs.keeps(&["README.md"])); // skipped
/// assert!(docs.keeps(&["README.md", "CHANGELOG.md"])); // one file suffices
/// assert!(docs.keeps::<&str>(&[])); // nothing changed: never skipped
///
/// let no_tests = PathsCondition::new([], ["**/*_test.go"]);
/// assert!(no_tests.keeps(&["main.go", "main_test.go"]));
/// assert!(!no_tests.keeps(&["main_test.go"]));
/// ```
///
/// [`new`](PathsCondition::new) keeps the reference's handling of a malformed pattern (it never
/// matches: as include it never selects, as exclude it never excludes);
/// [`try_new`](PathsCondition::try_new) refuses it. The [rewrite](super::rewrite) refuses it too,
/// naming its line.
#[derive(Clone, PartialEq, Eq)]
pub struct PathsCondition {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
}

/// One pattern: compiled when well-formed, else matched lazily as doublestar does (`false`
/// wherever Go reports `ErrBadPattern`).
#[derive(Clone, PartialEq, Eq)]
struct Glob {
    text: String,
    compiled: Result<Pattern, PatternError>,
}

impl Glob {
    fn new(text: &str) -> Glob {
        Glob {
            text: text.to_owned(),
            compiled: Pattern::new(text),
        }
    }

    fn matches(&self, path: &str) -> bool {
        match &self.compiled {
            Ok(pattern) => pattern.matches(path),
            Err(_) => doublestar::go_match(&self.text, path).unwrap_or(false),
        }
    }
}

impl PathsCondition {
    /// A condition with these include and exclude patterns, matched exactly as the reference
    /// (a malformed pattern is kept and behaves as in Go: it never matches).
    pub fn new<I, E>(include: I, exclude: E) -> PathsCondition
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
        E: IntoIterator<Item = I::Item>,
    {
        PathsCondition {
            include: include.into_iter().map(|p| Glob::new(p.as_ref())).collect(),
            exclude: exclude.into_iter().map(|p| Glob::new(p.as_ref())).collect(),
        }
    }

    /// Like [`new`](PathsCondition::new), but refuses a malformed pattern.
    ///
    /// ```
    /// use drone_extension::pathschanged::PathsCondition;
    ///
    /// assert!(PathsCondition::try_new(["src/**"], ["src/[gen"]).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// The first malformed pattern's [`PatternError`].
    pub fn try_new<I, E>(include: I, exclude: E) -> Result<PathsCondition, PatternError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
        E: IntoIterator<Item = I::Item>,
    {
        let condition = PathsCondition::new(include, exclude);
        for glob in condition.include.iter().chain(&condition.exclude) {
            if let Err(error) = &glob.compiled {
                return Err(*error);
            }
        }
        Ok(condition)
    }

    /// The include patterns, in order.
    pub fn include(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.include.iter().map(|g| g.text.as_str())
    }

    /// The exclude patterns, in order.
    pub fn exclude(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.exclude.iter().map(|g| g.text.as_str())
    }

    /// No pattern at all: the reference treats this as no condition (everything is kept).
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether one changed file matches: no exclude pattern matches it, and an include pattern
    /// does or there is none.
    pub fn matches(&self, path: &str) -> bool {
        // The same answer as the reference's order (excludes first), with the cheaper test
        // first: most files of a monorepo fail an include's literal prefix at once.
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(path)))
            && !self.exclude.iter().any(|g| g.matches(path))
    }

    /// Whether the pipeline or step is kept: some changed file matches, or the list is empty.
    pub fn keeps<S: AsRef<str>>(&self, changed_files: &[S]) -> bool {
        changed_files.is_empty() || changed_files.iter().any(|f| self.matches(f.as_ref()))
    }
}

impl fmt::Debug for PathsCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathsCondition")
            .field("include", &self.include().collect::<Vec<_>>())
            .field("exclude", &self.exclude().collect::<Vec<_>>())
            .finish()
    }
}

/// `include [a, b] exclude [c]` (an empty side is left out), for log lines.
impl fmt::Display for PathsCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<'a>(
            f: &mut fmt::Formatter<'_>,
            name: &str,
            patterns: impl Iterator<Item = &'a str>,
        ) -> fmt::Result {
            write!(f, "{name} [")?;
            for (i, p) in patterns.enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{p:?}")?;
            }
            f.write_str("]")
        }
        if self.is_empty() {
            return f.write_str("no paths");
        }
        if !self.include.is_empty() {
            list(f, "include", self.include())?;
        }
        if !self.exclude.is_empty() {
            if !self.include.is_empty() {
                f.write_str(" ")?;
            }
            list(f, "exclude", self.exclude())?;
        }
        Ok(())
    }
}
