//! Which files a build changed: the query, the range rules, the outcome and the
//! [`ChangedFiles`] trait, independent of the protocol (Drone, Woodpecker) and of the way the
//! files are found (git itself in [`git`](super::git), a forge's API, a test double).
//!
//! A [`ChangeQuery`] says what to compare (the clone URL, the event, `before`, `after`, the
//! branches, an optional credential); [`ChangeQuery::from_drone`] builds it from a Drone
//! [`ConvertRequest`]. [`ChangeQuery::plan`] applies the range rules below and gives a
//! [`DiffPlan`]; a [`ChangedFiles`] implementation carries the plan out and answers with a
//! [`ChangedSet`]: the list of changed paths, or "run everything".
//!
//! # Ranges
//!
//! Each event maps to a [`Rule`] ([`EventRules`], configurable per event):
//!
//! | event | default rule | compared |
//! |---|---|---|
//! | `push` | [`Rule::Push`] | the trees of `before` and `after` |
//! | `push` of a new branch (`before` empty or all zeros) | [`Rule::Push`] | the merge base of the default branch's tip and `after`, with `after` |
//! | `pull_request` | [`Rule::PullRequest`] | the merge base of `before` (the pull request's base commit) — or, without it or when the repository no longer has it, of the target branch's current tip — and `after`, with `after` |
//! | `tag`, `cron`, `promote`, `rollback`, `custom`, any other | [`Rule::Everything`] | nothing: every pipeline and step runs |
//!
//! - `before == after` (Drone's `custom` builds, a restarted build) gives an **empty** list, as
//!   the reference does: a path condition never skips on an empty list.
//! - `after` all zeros (a deleted branch or tag; no forge builds those) runs everything.
//! - A push compares the two trees directly. For a fast-forward push that is the same as the
//!   reference's `before...after` (GitHub's three-dot compare); after a **force push** it also
//!   lists the files the dropped commits had changed (their content changed back), where the
//!   reference only listed the files changed since the merge base.
//! - A new branch is compared with where it left the default branch, not only its head commit
//!   (the reference's rule, which misses every earlier commit of the branch).
//! - A pull request is compared from the merge base of its base commit and its head, so the
//!   commits the target branch received since the event (other merges included) are never in
//!   the set. When the target branch was **force-pushed or rebased** since, the base commit can
//!   be gone from the forge; with the target branch known ([`ChangeQuery::target_branch`]) the
//!   plan is [`Base::CommitOrBranch`]: the merge base with the target branch's **current tip**
//!   is used instead (logged; the outcome is then not cached, the tip moves), where the
//!   reference failed the build. A head commit that is gone stays
//!   [`ChangesError::CommitNotFound`] (everything runs).
//! - [`Rule::HeadCommit`] is the reference's rule for tags and cron builds (the files of the
//!   `after` commit alone, compared with its first parent); opt in per event with
//!   [`EventRules::set`].
//!
//! # Outcome
//!
//! [`ChangedSet::Files`] lists every path the range touched, repository-relative, sorted, without
//! duplicates: added, modified, **deleted** files, and **both** paths of a rename or copy. The
//! list is never truncated, whatever its size (the reference saw at most 300 files on GitHub and
//! 25 on Bitbucket Server). [`ChangedSet::Everything`] means the set cannot be decided for this
//! event and everything should run.
//!
//! # Errors
//!
//! A [`ChangesError`] says why the set could not be computed (unreachable forge, refused
//! credential, a commit gone after a force push, the time budget spent, …). The converter turns
//! **any** error into "run everything" (the configuration is answered unchanged, HTTP 204) by
//! default: a path filter that cannot decide must not skip work. [`ChangesError::class`] is a
//! fixed label for metrics and logs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::convert::ConvertRequest;
use crate::models::Redacted;

/// The username sent with a forge OAuth token (HTTP basic authentication, the token as the
/// password) when none is configured: GitHub accepts `x-access-token`, Gitea and Forgejo accept
/// any username with a token; GitLab wants `oauth2` and Bitbucket Cloud `x-token-auth` (use
/// [`ChangeQuery::from_drone_with_username`]).
pub const DEFAULT_TOKEN_USERNAME: &str = "x-access-token";

/// A username and a password (or token) for HTTP basic authentication against the forge.
///
/// `Debug` prints the username and `<redacted>` for the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    username: String,
    password: String,
}

impl Credential {
    /// A credential: `username` and `password` (a forge token goes in `password`).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password or token. Sensitive: never log it.
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("password", &Redacted(&self.password))
            .finish()
    }
}

/// What to compare: the repository, the event and its commits.
///
/// Built with [`ChangeQuery::from_drone`] for Drone, or with [`ChangeQuery::new`] and the public
/// fields for any other caller. `Debug` redacts the credential's password.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ChangeQuery {
    /// The repository's HTTP(S) clone URL (Drone's `repo.git_http_url`).
    pub clone_url: String,
    /// The event: `push`, `pull_request`, `tag`, `cron`, `promote`, `rollback`, `custom`
    /// (Drone), or another protocol's name; mapped to a [`Rule`] by [`EventRules`].
    pub event: String,
    /// The commit before the change (40 or 64 hexadecimal digits); empty or all zeros for a new
    /// branch; the base commit for a pull request.
    pub before: String,
    /// The commit being built.
    pub after: String,
    /// The git reference built, e.g. `refs/heads/main` or `refs/pull/1/head` (informational).
    pub git_ref: String,
    /// The source branch (of a pull request).
    pub source_branch: String,
    /// The target branch: the branch pushed to, or the pull request's base branch.
    pub target_branch: String,
    /// The repository's default branch, e.g. `main`: the base of a new branch.
    pub default_branch: String,
    /// The credential to fetch with, if any. An operator credential configured on the
    /// implementation takes precedence.
    pub credential: Option<Credential>,
}

impl ChangeQuery {
    /// A query for `after` in the repository at `clone_url`, for `event`; the other fields empty.
    pub fn new(
        clone_url: impl Into<String>,
        event: impl Into<String>,
        after: impl Into<String>,
    ) -> Self {
        Self {
            clone_url: clone_url.into(),
            event: event.into(),
            after: after.into(),
            ..Self::default()
        }
    }

    /// The query of a Drone convert request: `repo.git_http_url`, `build.event`, `build.before`,
    /// `build.after`, `build.ref`, `build.source`, `build.target`, `repo.default_branch`, and
    /// the request's `token.access` (the repository owner's OAuth token, sent by Drone servers
    /// newer than 2.0.4) as the password of [`DEFAULT_TOKEN_USERNAME`]. No token (or an empty
    /// one), no credential.
    pub fn from_drone(request: &ConvertRequest) -> Self {
        Self::from_drone_with_username(request, DEFAULT_TOKEN_USERNAME)
    }

    /// [`from_drone`](Self::from_drone) with another username for the token: `oauth2` for
    /// GitLab, `x-token-auth` for Bitbucket Cloud.
    pub fn from_drone_with_username(request: &ConvertRequest, username: &str) -> Self {
        let build = &request.build;
        let repo = &request.repo;
        let credential = request
            .token
            .as_ref()
            .filter(|token| !token.access.is_empty())
            .map(|token| Credential::new(username, token.access.clone()));
        Self {
            clone_url: repo.git_http_url.clone(),
            event: build.event.clone(),
            before: build.before.clone(),
            after: build.after.clone(),
            git_ref: build.r#ref.clone(),
            source_branch: build.source.clone(),
            target_branch: build.target.clone(),
            default_branch: repo.default_branch.clone(),
            credential,
        }
    }

    /// The query with `credential` (replacing any).
    pub fn with_credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// What to compare for this query under `rules` (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`ChangesError::InvalidQuery`] when `after` (or a non-empty `before`) is not a commit id
    /// of 40 or 64 hexadecimal digits, or a branch the plan needs is not a valid branch name.
    pub fn plan(&self, rules: &EventRules) -> Result<DiffPlan, ChangesError> {
        let everything = || DiffPlan::Everything {
            reason: format!("the event {:?} runs everything", self.event),
        };
        let rule = rules.rule(&self.event);
        if rule == Rule::Everything {
            return Ok(everything());
        }
        if !self.after.is_empty() && is_zero_or_empty(&self.after) {
            return Ok(DiffPlan::Everything {
                reason: "no commit to build (after is zero: a deleted branch or tag)".into(),
            });
        }
        let after = commit_id(&self.after, "after")?;
        let before = if is_zero_or_empty(&self.before) {
            None
        } else {
            Some(commit_id(&self.before, "before")?)
        };
        Ok(match rule {
            Rule::Everything => everything(),
            Rule::HeadCommit => DiffPlan::HeadCommit { commit: after },
            Rule::Push => match before {
                Some(before) if before == after => DiffPlan::Unchanged,
                Some(before) => DiffPlan::Between {
                    from: before,
                    to: after,
                },
                None if self.default_branch.is_empty() => DiffPlan::Everything {
                    reason: "a new branch, and no default branch to compare it with".into(),
                },
                None => DiffPlan::SinceMergeBase {
                    base: Base::Branch(branch_name(&self.default_branch, "default branch")?),
                    to: after,
                },
            },
            Rule::PullRequest => match before {
                Some(before) if before == after => DiffPlan::Unchanged,
                // The target branch only serves if the base commit is gone: one that is not a
                // valid name leaves the base commit alone, as without a target branch.
                Some(before) => DiffPlan::SinceMergeBase {
                    base: match branch_name(&self.target_branch, "target branch") {
                        Ok(branch) => Base::CommitOrBranch {
                            commit: before,
                            branch,
                        },
                        Err(_) => Base::Commit(before),
                    },
                    to: after,
                },
                None if self.target_branch.is_empty() => DiffPlan::Everything {
                    reason: "a pull request without base commit or target branch".into(),
                },
                None => DiffPlan::SinceMergeBase {
                    base: Base::Branch(branch_name(&self.target_branch, "target branch")?),
                    to: after,
                },
            },
        })
    }
}

/// Whether `before` means "no previous commit": empty, or only zeros (Drone and the forges send
/// 40 zeros for a new branch or tag).
fn is_zero_or_empty(before: &str) -> bool {
    before.bytes().all(|b| b == b'0')
}

/// `value` as a lower-case commit id, if it is one (40 hex digits for SHA-1, 64 for SHA-256).
fn commit_id(value: &str, field: &'static str) -> Result<String, ChangesError> {
    let valid = matches!(value.len(), 40 | 64) && value.bytes().all(|b| b.is_ascii_hexdigit());
    if valid {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ChangesError::InvalidQuery {
            reason: format!(
                "{field} is not a commit id (40 or 64 hexadecimal digits): {:?}",
                truncated(value, 80)
            ),
        })
    }
}

/// `name` if it is a branch name git accepts and that cannot be read as an option or a
/// revision expression (a conservative subset of `git check-ref-format --branch`).
fn branch_name(name: &str, field: &'static str) -> Result<String, ChangesError> {
    let name = name.strip_prefix("refs/heads/").unwrap_or(name);
    let valid = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && !name.contains("/.")
        && name != "@"
        && !name.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
        });
    if valid {
        Ok(name.to_owned())
    } else {
        Err(ChangesError::InvalidQuery {
            reason: format!(
                "the {field} is not a valid branch name: {:?}",
                truncated(name, 80)
            ),
        })
    }
}

/// The first `max` characters of `s`.
pub(crate) fn truncated(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// How the files of one event are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// Do not compute a set: everything runs ([`ChangedSet::Everything`]).
    Everything,
    /// `before` against `after`; a new branch (`before` empty or zeros) against its merge base
    /// with the default branch; `before == after` is an empty set.
    Push,
    /// The merge base of `before` (or of the target branch's tip when `before` is empty, or no
    /// longer in the repository) and `after`, against `after`.
    PullRequest,
    /// The `after` commit alone, against its first parent (a root commit lists all its files):
    /// the reference's rule for every event without a usable `before`.
    HeadCommit,
}

/// The [`Rule`] of each event.
///
/// By default `push` → [`Rule::Push`], `pull_request` → [`Rule::PullRequest`], and every other
/// event (`tag`, `cron`, `promote`, `rollback`, `custom`, Woodpecker's `manual`, `deployment`,
/// `release`, …) → [`Rule::Everything`].
///
/// ```
/// use drone_extension::pathschanged::changes::{EventRules, Rule};
///
/// // The reference's behaviour for cron builds: the branch's last commit decides.
/// let rules = EventRules::default().set("cron", Rule::HeadCommit);
/// assert_eq!(rules.rule("cron"), Rule::HeadCommit);
/// assert_eq!(rules.rule("tag"), Rule::Everything);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRules {
    rules: Vec<(String, Rule)>,
    otherwise: Rule,
}

impl Default for EventRules {
    fn default() -> Self {
        Self {
            rules: vec![
                ("push".to_owned(), Rule::Push),
                ("pull_request".to_owned(), Rule::PullRequest),
            ],
            otherwise: Rule::Everything,
        }
    }
}

impl EventRules {
    /// The rules with `event` mapped to `rule` (replacing its current rule).
    pub fn set(mut self, event: impl Into<String>, rule: Rule) -> Self {
        let event = event.into();
        match self.rules.iter_mut().find(|(e, _)| *e == event) {
            Some(entry) => entry.1 = rule,
            None => self.rules.push((event, rule)),
        }
        self
    }

    /// The rules with `rule` for every event not mapped explicitly (default
    /// [`Rule::Everything`]).
    pub fn otherwise(mut self, rule: Rule) -> Self {
        self.otherwise = rule;
        self
    }

    /// The rule of `event` (compared exactly).
    pub fn rule(&self, event: &str) -> Rule {
        self.rules
            .iter()
            .find(|(e, _)| e == event)
            .map_or(self.otherwise, |(_, rule)| *rule)
    }
}

/// The other side of a comparison with a merge base.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Base {
    /// A commit id (lower-case hexadecimal).
    Commit(String),
    /// The current tip of a branch (a short name, without `refs/heads/`).
    Branch(String),
    /// `commit`, or the current tip of `branch` when the repository no longer has `commit`: a
    /// pull request's base commit and its target branch, which may have been force-pushed or
    /// rebased since the event (the old base commit then pruned by the forge). An
    /// implementation that falls back to the branch logs it and does not cache that outcome.
    CommitOrBranch {
        /// The commit id (lower-case hexadecimal).
        commit: String,
        /// The branch whose tip replaces a missing `commit` (a short name).
        branch: String,
    },
}

/// What to compare, once the rules are applied ([`ChangeQuery::plan`]). Commit ids are
/// validated and lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiffPlan {
    /// `before == after`: the empty set.
    Unchanged,
    /// No set for this query: everything runs.
    Everything {
        /// Why, for the logs.
        reason: String,
    },
    /// The tree of `from` against the tree of `to`.
    Between {
        /// The old commit.
        from: String,
        /// The new commit.
        to: String,
    },
    /// The merge base of `base` and `to`, against `to`.
    SinceMergeBase {
        /// The other side of the merge base.
        base: Base,
        /// The new commit.
        to: String,
    },
    /// `commit` against its first parent (all its files if it has none).
    HeadCommit {
        /// The commit.
        commit: String,
    },
}

impl DiffPlan {
    /// Whether the plan is determined by commit ids alone, so that its outcome can be cached
    /// (a plan against a branch's tip is not: the tip moves). A [`Base::CommitOrBranch`] plan is
    /// fixed as long as its commit is there: its outcome is cached unless the branch's tip
    /// was used.
    pub fn is_fixed(&self) -> bool {
        matches!(
            self,
            DiffPlan::Between { .. }
                | DiffPlan::HeadCommit { .. }
                | DiffPlan::SinceMergeBase {
                    base: Base::Commit(_) | Base::CommitOrBranch { .. },
                    ..
                }
        )
    }
}

/// The outcome of a [`ChangedFiles`] query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangedSet {
    /// Every path the range touched: repository-relative, `/`-separated, sorted, without
    /// duplicates; deletions included; both paths of a rename or copy; never truncated. Empty
    /// when nothing changed (then a path condition never skips). A path that is not UTF-8 is
    /// converted lossily (`U+FFFD` for the invalid bytes).
    Files(Vec<String>),
    /// The set cannot be decided for this event: run everything.
    Everything {
        /// Why, for the logs.
        reason: String,
    },
}

impl ChangedSet {
    /// The files, or `None` for [`ChangedSet::Everything`].
    pub fn files(&self) -> Option<&[String]> {
        match self {
            ChangedSet::Files(files) => Some(files),
            ChangedSet::Everything { .. } => None,
        }
    }
}

/// Finds the files a build changed.
///
/// Implemented by [`GitChangedFiles`](super::git::GitChangedFiles) (git itself, any forge), and
/// by `Arc<T>` and `Box<T>` of any implementation (so `Arc<dyn ChangedFiles>` works).
///
/// The caller (the paths-changed converter) turns every error into "run everything" by
/// default: the configuration is answered unchanged (204) and the error is logged and counted
/// by [`ChangesError::class`].
#[async_trait]
pub trait ChangedFiles: Send + Sync + 'static {
    /// The changed files of `query`.
    ///
    /// # Errors
    ///
    /// A [`ChangesError`] when the set cannot be computed.
    async fn changed_files(&self, query: &ChangeQuery) -> Result<ChangedSet, ChangesError>;
}

#[async_trait]
impl<T: ChangedFiles + ?Sized> ChangedFiles for Arc<T> {
    async fn changed_files(&self, query: &ChangeQuery) -> Result<ChangedSet, ChangesError> {
        (**self).changed_files(query).await
    }
}

#[async_trait]
impl<T: ChangedFiles + ?Sized> ChangedFiles for Box<T> {
    async fn changed_files(&self, query: &ChangeQuery) -> Result<ChangedSet, ChangesError> {
        (**self).changed_files(query).await
    }
}

/// Why the changed files could not be computed.
///
/// Messages never contain a credential: the `detail` fields are git's own message with any
/// credential removed, control characters escaped, and cut to a bounded length.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangesError {
    /// The query is unusable: a commit id or branch name that is not one, a clone URL that is
    /// not `http(s)://host/path` or carries a password.
    InvalidQuery {
        /// What is wrong.
        reason: String,
    },
    /// The clone URL's host is not in the operator's allow-list; nothing was sent to it.
    HostRefused {
        /// The host (and port, when the URL has one).
        host: String,
    },
    /// The forge answered with a redirect, which is never followed (a redirect to another host
    /// would carry the credential there).
    Redirected {
        /// git's message.
        detail: String,
    },
    /// The forge could not be reached, or the transfer failed (DNS, connection, TLS, HTTP 5xx).
    Unreachable {
        /// git's message.
        detail: String,
    },
    /// The forge refused the credential, or asked for one and none was given (HTTP 401, 403).
    AuthRefused {
        /// git's message.
        detail: String,
    },
    /// The forge has no such repository (HTTP 404; private repositories look like this without
    /// a credential).
    RepositoryNotFound {
        /// git's message.
        detail: String,
    },
    /// A commit or branch is not in the repository (any more): typically `before` after a force
    /// push, once the forge pruned it.
    CommitNotFound {
        /// The commit ids or branches asked for.
        revision: String,
    },
    /// The time budget of the request was spent; every git process was killed.
    Timeout {
        /// The budget.
        budget: Duration,
    },
    /// A bound was crossed (bytes fetched, size of git's output); the git process was killed.
    TooLarge {
        /// What was bounded.
        what: &'static str,
        /// The bound, in bytes.
        limit: u64,
    },
    /// git failed otherwise (or could not be started).
    Git {
        /// What failed, with git's message.
        detail: String,
    },
}

impl ChangesError {
    /// A fixed label for metrics and logs: `invalid`, `host_refused`, `redirect`,
    /// `unreachable`, `auth`, `repo_not_found`, `commit_not_found`, `timeout`, `too_large`,
    /// `git`.
    pub fn class(&self) -> &'static str {
        match self {
            ChangesError::InvalidQuery { .. } => "invalid",
            ChangesError::HostRefused { .. } => "host_refused",
            ChangesError::Redirected { .. } => "redirect",
            ChangesError::Unreachable { .. } => "unreachable",
            ChangesError::AuthRefused { .. } => "auth",
            ChangesError::RepositoryNotFound { .. } => "repo_not_found",
            ChangesError::CommitNotFound { .. } => "commit_not_found",
            ChangesError::Timeout { .. } => "timeout",
            ChangesError::TooLarge { .. } => "too_large",
            ChangesError::Git { .. } => "git",
        }
    }
}

impl fmt::Display for ChangesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangesError::InvalidQuery { reason } => write!(f, "invalid change query: {reason}"),
            ChangesError::HostRefused { host } => {
                write!(f, "the host {host} is not in the allowed hosts")
            }
            ChangesError::Redirected { detail } => {
                write!(
                    f,
                    "the forge redirected the fetch (redirects are not followed): {detail}"
                )
            }
            ChangesError::Unreachable { detail } => write!(f, "the forge is unreachable: {detail}"),
            ChangesError::AuthRefused { detail } => {
                write!(f, "the forge refused the credential: {detail}")
            }
            ChangesError::RepositoryNotFound { detail } => {
                write!(f, "the forge has no such repository: {detail}")
            }
            ChangesError::CommitNotFound { revision } => {
                write!(f, "not in the repository: {revision}")
            }
            ChangesError::Timeout { budget } => {
                write!(
                    f,
                    "the changed files took longer than the budget of {budget:?}"
                )
            }
            ChangesError::TooLarge { what, limit } => {
                write!(f, "{what} exceeded the bound of {limit} bytes")
            }
            ChangesError::Git { detail } => write!(f, "git failed: {detail}"),
        }
    }
}

impl std::error::Error for ChangesError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Build, Repo, Token};

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    fn query(event: &str, before: &str, after: &str) -> ChangeQuery {
        ChangeQuery {
            before: before.into(),
            default_branch: "main".into(),
            target_branch: "main".into(),
            ..ChangeQuery::new("https://git.example/o/r.git", event, after)
        }
    }

    fn plan(q: &ChangeQuery) -> DiffPlan {
        q.plan(&EventRules::default()).unwrap()
    }

    #[test]
    fn push_ranges() {
        assert_eq!(
            plan(&query("push", A, B)),
            DiffPlan::Between {
                from: A.into(),
                to: B.into()
            }
        );
        assert_eq!(plan(&query("push", A, A)), DiffPlan::Unchanged);
        for before in ["", ZERO] {
            assert_eq!(
                plan(&query("push", before, B)),
                DiffPlan::SinceMergeBase {
                    base: Base::Branch("main".into()),
                    to: B.into()
                }
            );
        }
        // A deleted branch: nothing to build, nothing to compare.
        assert!(matches!(
            plan(&query("push", A, ZERO)),
            DiffPlan::Everything { .. }
        ));
        let mut no_default = query("push", ZERO, B);
        no_default.default_branch.clear();
        assert!(matches!(plan(&no_default), DiffPlan::Everything { .. }));
    }

    #[test]
    fn pull_request_ranges() {
        assert_eq!(
            plan(&query("pull_request", A, B)),
            DiffPlan::SinceMergeBase {
                base: Base::CommitOrBranch {
                    commit: A.into(),
                    branch: "main".into()
                },
                to: B.into()
            }
        );
        // Without a target branch, the base commit alone.
        let mut no_target = query("pull_request", A, B);
        no_target.target_branch.clear();
        assert_eq!(
            plan(&no_target),
            DiffPlan::SinceMergeBase {
                base: Base::Commit(A.into()),
                to: B.into()
            }
        );
        // `refs/heads/` is dropped from the target branch; an invalid one is no fallback.
        let mut full_ref = query("pull_request", A, B);
        full_ref.target_branch = "refs/heads/release/1.x".into();
        assert_eq!(
            plan(&full_ref),
            DiffPlan::SinceMergeBase {
                base: Base::CommitOrBranch {
                    commit: A.into(),
                    branch: "release/1.x".into()
                },
                to: B.into()
            }
        );
        full_ref.target_branch = "a..b".into();
        assert_eq!(
            plan(&full_ref),
            DiffPlan::SinceMergeBase {
                base: Base::Commit(A.into()),
                to: B.into()
            }
        );
        assert_eq!(
            plan(&query("pull_request", "", B)),
            DiffPlan::SinceMergeBase {
                base: Base::Branch("main".into()),
                to: B.into()
            }
        );
    }

    #[test]
    fn other_events_run_everything_unless_configured() {
        for event in ["tag", "cron", "promote", "rollback", "custom", "", "weird"] {
            assert!(matches!(
                plan(&query(event, A, B)),
                DiffPlan::Everything { .. }
            ));
        }
        let rules = EventRules::default().set("cron", Rule::HeadCommit);
        assert_eq!(
            query("cron", "", B).plan(&rules).unwrap(),
            DiffPlan::HeadCommit { commit: B.into() }
        );
        let rules = EventRules::default()
            .otherwise(Rule::Push)
            .set("push", Rule::Everything);
        assert!(matches!(
            query("push", A, B).plan(&rules).unwrap(),
            DiffPlan::Everything { .. }
        ));
        assert_eq!(
            query("tag", A, B).plan(&rules).unwrap(),
            DiffPlan::Between {
                from: A.into(),
                to: B.into()
            }
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for (before, after) in [
            (A, ""),
            (A, "HEAD"),
            (A, "--upload-pack=x"),
            ("-x", B),
            ("1234", B),
            (A, "é111111111111111111111111111111111111111"),
        ] {
            let err = query("push", before, after)
                .plan(&EventRules::default())
                .unwrap_err();
            assert_eq!(err.class(), "invalid", "{before:?} {after:?}");
        }
        for branch in ["-main", "a..b", "a b", "x:y", "a@{1}", "", "x.lock", "a\nb"] {
            let mut q = query("push", ZERO, B);
            q.default_branch = branch.into();
            let outcome = q.plan(&EventRules::default());
            assert!(
                matches!(outcome, Err(ChangesError::InvalidQuery { .. }))
                    || (branch.is_empty() && matches!(outcome, Ok(DiffPlan::Everything { .. }))),
                "{branch:?}: {outcome:?}"
            );
        }
        // Upper-case ids are normalised.
        assert_eq!(
            plan(&query(
                "push",
                &A.to_uppercase(),
                "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
            )),
            DiffPlan::Between {
                from: A.into(),
                to: "abcdef0123456789abcdef0123456789abcdef01".into()
            }
        );
    }

    #[test]
    fn from_drone_takes_the_token_and_redacts_it() {
        let request = ConvertRequest {
            build: Build {
                event: "push".into(),
                before: A.into(),
                after: B.into(),
                r#ref: "refs/heads/feature".into(),
                source: "feature".into(),
                target: "feature".into(),
                ..Default::default()
            },
            repo: Repo {
                git_http_url: "https://git.example/o/r.git".into(),
                default_branch: "main".into(),
                ..Default::default()
            },
            token: Some(Token {
                access: "s3cr3t-token".into(),
                refresh: "r".into(),
            }),
            ..Default::default()
        };
        let q = ChangeQuery::from_drone(&request);
        assert_eq!(q.clone_url, "https://git.example/o/r.git");
        assert_eq!(q.git_ref, "refs/heads/feature");
        assert_eq!(q.default_branch, "main");
        let credential = q.credential.clone().unwrap();
        assert_eq!(credential.username(), DEFAULT_TOKEN_USERNAME);
        assert_eq!(credential.password(), "s3cr3t-token");
        let debug = format!("{q:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");

        let gitlab = ChangeQuery::from_drone_with_username(&request, "oauth2");
        assert_eq!(gitlab.credential.unwrap().username(), "oauth2");

        let mut no_token = request.clone();
        no_token.token = Some(Token::default());
        assert_eq!(ChangeQuery::from_drone(&no_token).credential, None);
        no_token.token = None;
        assert_eq!(ChangeQuery::from_drone(&no_token).credential, None);
    }

    #[test]
    fn fixed_plans_are_the_cacheable_ones() {
        assert!(plan(&query("push", A, B)).is_fixed());
        assert!(plan(&query("pull_request", A, B)).is_fixed());
        let mut no_target = query("pull_request", A, B);
        no_target.target_branch.clear();
        assert!(plan(&no_target).is_fixed());
        assert!(!plan(&query("push", ZERO, B)).is_fixed());
        assert!(!plan(&query("pull_request", "", B)).is_fixed());
        assert!(!plan(&query("tag", A, B)).is_fixed());
    }

    #[test]
    fn every_error_has_a_class_and_a_message() {
        let errors = [
            ChangesError::InvalidQuery { reason: "r".into() },
            ChangesError::HostRefused { host: "h".into() },
            ChangesError::Redirected { detail: "d".into() },
            ChangesError::Unreachable { detail: "d".into() },
            ChangesError::AuthRefused { detail: "d".into() },
            ChangesError::RepositoryNotFound { detail: "d".into() },
            ChangesError::CommitNotFound { revision: A.into() },
            ChangesError::Timeout {
                budget: Duration::from_secs(20),
            },
            ChangesError::TooLarge {
                what: "the fetched pack",
                limit: 1,
            },
            ChangesError::Git { detail: "d".into() },
        ];
        let mut classes: Vec<_> = errors.iter().map(ChangesError::class).collect();
        for e in &errors {
            assert!(!e.to_string().is_empty());
        }
        classes.sort_unstable();
        classes.dedup();
        assert_eq!(classes.len(), errors.len());
    }
}
