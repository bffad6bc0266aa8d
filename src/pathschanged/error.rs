//! [`Error`]: why a configuration cannot be checked or rewritten, and where.

use std::fmt;

use super::doublestar::PatternError;

/// Where a problem is: the line and column in the configuration, the document, and the pipeline
/// and step when known.
///
/// [`Display`](fmt::Display): `line 12, column 7 (document 2, pipeline "api", step 1 "test")`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// 1-based index of the YAML document (`---` separated) in the file, 0 when unknown.
    pub document: usize,
    /// The pipeline's `name`, when inside a pipeline that has one.
    pub pipeline: Option<String>,
    /// 1-based index of the step in `steps`, when inside a step.
    pub step: Option<usize>,
    /// The step's `name`, when inside a step that has one.
    pub step_name: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)?;
        if self.document == 0 {
            return Ok(());
        }
        write!(f, " (document {}", self.document)?;
        if let Some(pipeline) = &self.pipeline {
            write!(f, ", pipeline {pipeline:?}")?;
        }
        if let Some(step) = self.step {
            write!(f, ", step {step}")?;
            if let Some(name) = &self.step_name {
                write!(f, " {name:?}")?;
            }
        }
        f.write_str(")")
    }
}

/// What is wrong with a configuration ([`Error::kind`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not YAML (the parser's message). The reference fails the same way (HTTP 404, build in
    /// the error state).
    Syntax(String),
    /// A tab in indentation (after a line start or a `-`, `?`, `:` indicator), which Drone's
    /// YAML parser refuses ("found character that cannot start any token").
    Tab,
    /// Nested deeper than the limit (collections within collections).
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A document that is neither a mapping nor empty (a list, a scalar); the reference
    /// refuses it too ("cannot unmarshal !!seq into plugin.resource").
    NotAMapping {
        /// What the document is.
        found: &'static str,
    },
    /// A value of the wrong kind where the pipeline's structure is read: `kind` not a string,
    /// `steps` not a list, a step, `when` or `trigger` not a mapping.
    WrongType {
        /// The key (`kind`, `steps`, `step`, `when`, `trigger`).
        key: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A key that this rewrite reads or edits appears twice in one mapping (the reference takes
    /// the last one silently).
    DuplicateKey(String),
    /// A merge key (`<<`) brings a key that the mapping also sets explicitly **before** the
    /// `<<`: the YAML merge rule (the explicit key wins) and Drone's parser (yaml.v2 v2.1.0: the
    /// later one wins) disagree on the value. Put the explicit key after the `<<`.
    MergeConflict(String),
    /// A `<<` whose value is not a mapping or a list of mappings.
    InvalidMerge,
    /// A `paths` value that the reference would silently ignore in whole or in part (it then
    /// runs or skips the pipeline or step against the author's intent).
    InvalidPaths(PathsProblem),
    /// A malformed pattern, which the reference would silently never match.
    Pattern {
        /// The pattern.
        pattern: String,
        /// Why it is malformed.
        error: PatternError,
    },
    /// The skip marker cannot be added to only what is skipped: the `when` or `trigger` mapping
    /// is defined or reused through an anchor, alias or merge key in a way that the marker
    /// would reach other places, or the existing `event` condition is shared.
    SharedCondition(&'static str),
    /// A layout the rewrite does not edit (a `when`/`trigger` mapping whose first key does not
    /// start its line, as in `? paths`).
    Unsupported(&'static str),
    /// The rewritten text did not re-parse to the intended configuration (a bug: nothing is
    /// returned rather than a wrong configuration).
    Verification(String),
}

/// What is wrong with a `paths` value ([`ErrorKind::InvalidPaths`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathsProblem {
    /// A key other than `include` and `exclude` (the reference ignores `Include:`, `only:` …).
    UnknownKey(String),
    /// `include` or `exclude` given a scalar or a mapping instead of a list (the reference
    /// ignores `include: README.md` in the mapping form).
    NotAList(&'static str),
    /// A list item that is not a scalar pattern (a list, a mapping or null), which the
    /// reference drops.
    NotAPattern,
    /// An empty pattern (`paths: ""`), which matches no file (the reference skips whatever it
    /// guards on every build with changed files).
    EmptyPattern,
    /// An explicit tag other than `!!str` on a pattern (the reference decodes some, drops
    /// others).
    Tagged(String),
}

impl fmt::Display for PathsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathsProblem::UnknownKey(key) => write!(
                f,
                "unknown key {key:?} in `paths` (only `include` and `exclude` are read)"
            ),
            PathsProblem::NotAList(key) => write!(
                f,
                "`paths.{key}` must be a list of patterns (write `{key}: [pattern]`)"
            ),
            PathsProblem::NotAPattern => f.write_str("a `paths` item is not a pattern string"),
            PathsProblem::EmptyPattern => {
                f.write_str("empty pattern in `paths` (it would match no file)")
            }
            PathsProblem::Tagged(tag) => write!(f, "pattern with the tag {tag} in `paths`"),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Syntax(message) => write!(f, "invalid YAML: {message}"),
            ErrorKind::Tab => f.write_str("tab character used as indentation"),
            ErrorKind::TooDeep { limit } => {
                write!(f, "collections nested deeper than {limit} levels")
            }
            ErrorKind::NotAMapping { found } => {
                write!(f, "a document must be a mapping, found {found}")
            }
            ErrorKind::WrongType {
                key,
                expected,
                found,
            } => write!(f, "`{key}` must be {expected}, found {found}"),
            ErrorKind::DuplicateKey(key) => write!(f, "duplicate key {key:?}"),
            ErrorKind::MergeConflict(key) => write!(
                f,
                "key {key:?} is set before a `<<` merge that sets it too (YAML and Drone's \
                 parser disagree on which wins; put it after the `<<`)"
            ),
            ErrorKind::InvalidMerge => {
                f.write_str("a `<<` merge needs a mapping or a list of mappings")
            }
            ErrorKind::InvalidPaths(problem) => problem.fmt(f),
            ErrorKind::Pattern { pattern, error } => write!(f, "pattern {pattern:?}: {error}"),
            ErrorKind::SharedCondition(why) => {
                write!(
                    f,
                    "cannot mark the skip without changing other places: {why}"
                )
            }
            ErrorKind::Unsupported(why) => write!(f, "cannot mark the skip here: {why}"),
            ErrorKind::Verification(detail) => {
                write!(f, "internal error, the rewrite did not verify: {detail}")
            }
        }
    }
}

/// Why a configuration cannot be checked or rewritten ([`kind`](Error::kind)) and where
/// ([`location`](Error::location)).
///
/// [`Display`](fmt::Display): `line 9, column 14 (document 1, pipeline "default", step 1 "a"):
/// unknown key "Include" in `paths` (only `include` and `exclude` are read)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<Inner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    location: Location,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, location: Location) -> Error {
        Error(Box::new(Inner { kind, location }))
    }

    /// What is wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Where.
    pub fn location(&self) -> &Location {
        &self.0.location
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.location, self.0.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ErrorKind::Pattern { error, .. } => Some(error),
            _ => None,
        }
    }
}
