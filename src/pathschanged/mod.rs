//! A "paths changed" convert extension for monorepos: a port of
//! [meltwater/drone-convert-pathschanged](https://github.com/meltwater/drone-convert-pathschanged)
//! (feature `pathschanged`).
//!
//! A pipeline can say which files it is about, and so can each step:
//!
//! ```yaml
//! kind: pipeline
//! name: api
//! trigger:
//!   paths:
//!     include: [api/**]
//!     exclude: [api/**/*.md]
//! steps:
//! - name: docs
//!   image: alpine
//!   when:
//!     paths: [docs/**]     # shorthand for include
//! ```
//!
//! Drone ignores `paths`; the converter reads them. Given the files changed by the build (from
//! git or the SCM), a pipeline or step whose condition no changed file matches is **skipped**:
//! its `trigger.event` (pipeline) or `when.event` (step) is set to `{exclude: ['*']}`, which
//! excludes every event, so Drone skips it. Everything else is Drone's as usual.
//!
//! The module has three parts, each usable alone:
//!
//! | part | what |
//! |---|---|
//! | [`converter`] | [`PathsChanged`]: the convert extension, a Drone endpoint for the crate's service and router (what to answer in every situation, failures never skip) |
//! | [`changes`], [`git`] | which files a build changed: the [`ChangedFiles`] trait and its range rules, and [`GitChangedFiles`], which asks the repository's clone URL with the `git` binary (any forge, partial and shallow fetches, bounded caches, host allow-list) |
//! | [`has_paths_conditions`], [`rewrite`], [`PathsCondition`], [`doublestar`] | the part without I/O: is there anything to decide, decide and mark, one condition, the glob patterns |
//!
//! ```
//! use drone_extension::pathschanged::{has_paths_conditions, rewrite};
//!
//! let config = "kind: pipeline\nname: web\ntrigger:\n  paths: [web/**]\nsteps:\n- name: build\n  image: node\n";
//! assert!(has_paths_conditions(config)?); // ask for the changed files
//! let answer = rewrite(config, &["api/main.go"])?;
//! assert!(answer.pipelines[0].skipped);
//! assert_eq!(
//!     answer.config.as_deref(),
//!     Some("kind: pipeline\nname: web\ntrigger:\n  event: {exclude: ['*']}\n  paths: [web/**]\nsteps:\n- name: build\n  image: node\n"),
//! );
//! # Ok::<(), drone_extension::pathschanged::Error>(())
//! ```
//!
//! # What is decided (as the reference)
//!
//! * Only documents with `kind: pipeline` (exactly) are read, and in them only `trigger.paths`
//!   and `steps[].when.paths` (not `services`); a `null` step is left alone.
//! * `paths: pattern` and `paths: [a, b]` are include lists; `paths: {include: [..], exclude:
//!   [..]}` is the full form; scalars are taken as written (`paths: [1, true]` is `"1"`,
//!   `"true"`); `paths: ~`, `[]`, `{}` are no condition.
//! * A changed file matches when no exclude pattern matches it and an include pattern does (or
//!   there is none). A pipeline or step is kept when at least one changed file matches, and
//!   always when no file changed (an empty commit skips nothing).
//! * Patterns are doublestar v1's (see [`doublestar`]): `*` stays within a component, `**` is a
//!   whole component, `a/**` does not match `a`, `[!a]` is not a negation.
//! * A skip **replaces** an existing `event` condition there; other conditions (`branch`, …) and
//!   the `paths` key stay. A pipeline's steps are evaluated even when the pipeline is skipped.
//!
//! # Deliberate differences from the reference
//!
//! * **The original text is edited, not re-serialised.** The reference decodes every document
//!   and encodes it again: comments, blank lines, anchors, key order, quoting and CRLF are lost,
//!   YAML 1.1 scalars change (`on:` becomes `true:`, `0755` becomes `493`), long strings are
//!   folded, `kind: secret` documents gain `type: ""`, and a signed configuration's signature
//!   no longer verifies. Here the answer is the input with only `event` entries inserted or
//!   replaced, every other byte (other documents, `---`, `...`, comments, CRLF) unchanged.
//! * **Nothing to skip: no configuration.** The reference answers the re-serialised file even
//!   when nothing is skipped; [`Rewrite::config`] is then `None` (the converter answers `204`,
//!   which Drone reads as "keep the original"). Same when everything skipped already carries the
//!   marker, so rewriting an output again changes nothing.
//! * **What the reference silently drops is refused**, with an [`Error`] that names the line,
//!   the document, the pipeline and the step. The reference then runs (or skips) the pipeline
//!   against the author's intent and says nothing; failing the build with the reason is the
//!   smaller surprise. Refused:
//!   - `include:`/`exclude:` given a scalar in the mapping form (`{include: README.md}`: the
//!     reference drops it, often leaving no condition at all);
//!   - any other key in a `paths` mapping (`Include:`, `includes:`, `only:`: dropped);
//!   - an item that is not a pattern (`[a, [b]]`, `[a, {include: b}]`, `[a, ~]`: dropped or
//!     read as `""`), and an explicit tag other than `!!str` on a pattern;
//!   - an empty pattern (`paths: ""`: a condition that matches no file, so the pipeline or step
//!     is always skipped);
//!   - a malformed pattern (`src/[`, `{a,b`: the reference never matches it, so as include it
//!     skips and as exclude it excludes nothing).
//!
//!   Every condition the reference reads without dropping anything gets the reference's
//!   decision.
//! * **Merge keys follow YAML.** With yaml.v2 v2.1.0 a `<<` placed after an explicit key
//!   overrides it (the reference's issue #18). Where that changes what this rewrite reads
//!   (`kind`, `steps`, `trigger`, `when`, `paths`, `include`, `exclude`, `event`), a key set
//!   before a `<<` that brings it too is refused ([`ErrorKind::MergeConflict`]); elsewhere
//!   (`name` in the report) YAML's rule holds: the explicit key wins.
//! * **Markers never leak through anchors.** A condition reached through an alias or a merge is
//!   evaluated with its merged value. The marker goes into the `when`/`trigger` mapping itself,
//!   so it is refused ([`ErrorKind::SharedCondition`]) when that mapping is defined outside the
//!   step or pipeline, or is an anchor reused elsewhere than as another step's `when` or the
//!   pipeline's `trigger` (a step anchored and merged into other steps is fine: they share its
//!   condition and its decision), or when its `event` comes from a merge.
//! * Duplicate keys where the rewrite reads are refused (the reference takes the last one), and
//!   so is a tab in indentation (Drone's YAML parser refuses it; YAML 1.2 parsers accept some).
//! * Only `kind: pipeline` documents are checked; the reference also fails on a malformed
//!   non-pipeline document (say, a `kind: secret` with `steps: 5`), which Drone reports itself.
//!
//! The marker is written `event: {exclude: ['*']}`: on its own line with the indentation of the
//! mapping's keys (first, under the `when:`/`trigger:` line, with the file's line ending), or
//! appended to a flow mapping (`when: {paths: [a], event: {exclude: ['*']}}`); an existing
//! `event` keeps its place and gets the new value.
//!
//! After every rewrite, the output is parsed again and checked: the same tree node for node
//! except the marked `event` entries, the same decisions, and the marker read (through merges
//! and aliases) wherever something is skipped. If not, the rewrite fails closed
//! ([`ErrorKind::Verification`]) rather than return a wrong configuration.
//!
//! # Why `saphyr-parser`
//!
//! The edit needs the start **and end** of every node, from a parser that never has to write a
//! tree back. `saphyr-parser` 0.3 (the maintained successor of `yaml-rust`/`yaml-rust2`, YAML
//! 1.2, run against the YAML test suite; dependencies `arraydeque` and `thiserror`, MSRV 1.85)
//! emits events with a span each, and its pull iterator does not recurse, so deep nesting
//! cannot overflow the stack (this module caps nesting at 128 levels anyway; its own recursive
//! `load` API is not used). Its spans are character offsets, mapped to bytes here, and a few
//! are loose (a block scalar's runs to the next token, a flow mapping's end can be its last `,`):
//! the tree computes each node's real end from its content and finds the closing bracket in
//! the text. `yaml-rust2` (0.13) gives only a start mark per event; `serde` based crates
//! (`serde_yaml`, `serde_yml`) give no positions; `marked-yaml` builds on the unmaintained
//! `yaml-rust`; `yaml-edit` (a lossless `rowan` tree) would be a second YAML model to trust, and
//! two text insertions checked by a re-parse are less code.
//!
//! `saphyr-parser` reads YAML 1.2, Drone YAML 1.1. Nothing here depends on the difference:
//! the rewrite reads keys and pattern strings and never resolves other scalars.

pub mod changes;
pub mod converter;
pub mod doublestar;
pub mod git;

mod condition;
mod error;
mod rewrite;
mod yaml;

pub use changes::{
    ChangeQuery, ChangedFiles, ChangedSet, ChangesError, Credential, EventRules, Rule,
};
pub use condition::PathsCondition;
pub use converter::{Decision, OnFailure, PathsChanged};
pub use error::{Error, ErrorKind, Location, PathsProblem};
pub use git::GitChangedFiles;
pub use rewrite::{PipelineDecision, Rewrite, StepDecision, has_paths_conditions, rewrite};
