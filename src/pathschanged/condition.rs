//! [`PathsCondition`]: a `paths` condition and the reference's rule for it.

use std::fmt;
use std::ops::Range;

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

    /// What every path it matches starts with (`""` for a malformed pattern: no pruning).
    fn prefix(&self) -> &str {
        self.compiled.as_ref().map_or("", Pattern::literal_prefix)
    }
}

/// The changed files of one request, sorted and deduplicated once, for every condition of the
/// configuration (and the verification's second evaluation).
///
/// A condition is kept when **some** file matches, so neither order nor repetition matters, and
/// every path an include pattern matches starts with the pattern's literal prefix
/// ([`Pattern::literal_prefix`]): in the sorted list those paths are one run, found by binary
/// search. `svc7/src/**` then looks only at the files under `svc7/src/` instead of all of them
/// (in a monorepo, most conditions have no file at all in their run). A sorted `Vec` and two
/// binary searches need no dependency; a multi-pattern matcher (`globset`'s `GlobSet`) would
/// need doublestar's semantics, which no crate has (see [`doublestar`]).
pub(crate) struct ChangedIndex<'a> {
    files: Vec<&'a str>,
}

impl<'a> ChangedIndex<'a> {
    pub(crate) fn new<S: AsRef<str>>(files: &'a [S]) -> ChangedIndex<'a> {
        let mut files: Vec<&str> = files.iter().map(AsRef::as_ref).collect();
        files.sort_unstable();
        files.dedup();
        ChangedIndex { files }
    }

    /// The indices of the files that start with `prefix`: after the files smaller than it, the
    /// ones that start with it come first (any other is greater than all of them).
    fn run(&self, prefix: &str) -> Range<usize> {
        let start = self.files.partition_point(|f| *f < prefix);
        let len = self.files[start..].partition_point(|f| f.starts_with(prefix));
        start..start + len
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

    /// [`keeps`](PathsCondition::keeps) on an indexed list: the same answer, looking only at
    /// the files in the runs of the include patterns' literal prefixes (each file once; a file
    /// outside every run matches no include, so it cannot match the condition).
    pub(crate) fn keeps_indexed(&self, changed: &ChangedIndex<'_>) -> bool {
        let files = &changed.files;
        if files.is_empty() {
            return true;
        }
        if self.include.is_empty() {
            return files.iter().any(|f| self.matches(f));
        }
        let mut runs: Vec<Range<usize>> = self
            .include
            .iter()
            .map(|g| changed.run(g.prefix()))
            .filter(|r| !r.is_empty())
            .collect();
        runs.sort_unstable_by_key(|r| r.start);
        let mut next = 0;
        for run in runs {
            let start = run.start.max(next);
            if start < run.end {
                if files[start..run.end].iter().any(|f| self.matches(f)) {
                    return true;
                }
                next = run.end;
            }
        }
        false
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pattern() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("/"),
                Just("ab/"),
                Just("."),
                Just("*"),
                Just("**"),
                Just("**/"),
                Just("?"),
                Just("[ab]"),
                Just("{a,b/a}"),
                Just("\\*"),
                // Malformed (only `new` keeps them): never matches, and no prefix to prune by.
                Just("["),
            ],
            0..5,
        )
        .prop_map(|parts| parts.concat())
    }

    fn file() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("/"),
                Just("ab"),
                Just("."),
                Just("*"),
                Just("\\"),
            ],
            0..6,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The indexed decision (sorted files, only the runs of the include prefixes) is the
        /// plain one: some file matches, or none changed.
        #[test]
        fn indexed_keeps_is_keeps(
            include in proptest::collection::vec(pattern(), 0..4),
            exclude in proptest::collection::vec(pattern(), 0..3),
            files in proptest::collection::vec(file(), 0..12),
        ) {
            let condition = PathsCondition::new(&include, &exclude);
            let index = ChangedIndex::new(&files);
            prop_assert_eq!(condition.keeps_indexed(&index), condition.keeps(&files));
        }
    }

    #[test]
    fn runs_are_the_files_under_a_prefix() {
        let files = ["b", "a/x", "a", "ab", "a/", "a/x", "a0", "a/y/z", "c/a/x"];
        let index = ChangedIndex::new(&files);
        assert_eq!(
            index.files,
            ["a", "a/", "a/x", "a/y/z", "a0", "ab", "b", "c/a/x"]
        );
        let run = |prefix: &str| index.files[index.run(prefix)].to_vec();
        assert_eq!(run("a/"), ["a/", "a/x", "a/y/z"]);
        assert_eq!(run(""), index.files);
        assert_eq!(run("a/y/z/"), Vec::<&str>::new());
        assert_eq!(run("d"), Vec::<&str>::new());
        // Overlapping includes: each file is looked at once, and the answer is the plain one.
        let condition = PathsCondition::new(["a/**", "a*", "**/x"], ["a/x", "a/y/**"]);
        assert!(!condition.keeps_indexed(&ChangedIndex::new(&["a/x", "a/y/z", "c/d"])));
        assert!(condition.keeps_indexed(&ChangedIndex::new(&["a/x", "c/a/x"])));
        assert!(condition.keeps_indexed(&ChangedIndex::new::<&str>(&[])));
    }
}
