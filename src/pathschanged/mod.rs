//! Paths changed (monorepo builds): skip the pipelines and steps of a build whose files did not
//! change, a port of `meltwater/drone-convert-pathschanged` that works with any forge. This part
//! finds the changed files: [`changes`] holds the protocol-neutral query, range rules, outcome
//! and the [`ChangedFiles`](changes::ChangedFiles) trait, and [`git`] computes the set with git
//! itself over smart HTTP (partial, shallow fetches into a bounded cache), so no forge API is
//! needed.

pub mod changes;
pub mod git;
