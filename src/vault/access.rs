//! Who may have a secret: the access filters of drone-vault and its siblings, as one type.
//!
//! A secret stored in Vault (or in Kubernetes annotations, or an AWS secret) carries its own
//! filters next to its values, under four keys:
//!
//! | key (any case) | compared with | value |
//! |---|---|---|
//! | `X-Drone-Events` | the build's event (`push`, `pull_request`, `tag`, …) | comma-separated patterns |
//! | `X-Drone-Repos` | the repository slug, `owner/name` | comma-separated patterns |
//! | `X-Drone-Branches` | the build's target branch (for a pull request: its base branch) | comma-separated patterns |
//! | `X-Drone-Disallow-Forks` | whether the build comes from a fork | Go `strconv.ParseBool` |
//!
//! The rules are drone-vault's, checked against Go's own answers:
//!
//! * keys are compared case-insensitively (Go's `strings.EqualFold`, which also folds `ſ` to `s`
//!   and the Kelvin sign to `k`);
//! * a missing key, or an empty value, is no filter;
//! * a value that is not a string (a list, a number, an object, a boolean, `null`: only possible
//!   through [`AccessPolicy::from_json`]) denies the secret;
//! * a list is split on `,` only, **without trimming spaces** (`push, tag` does not allow `tag`);
//! * pattern and name are both lower-cased, then matched with Go's `path.Match`
//!   ([`crate::glob`]): `*` does not cross `/` (`*` does not match `octocat/hello-world`, use
//!   `*/*`), there is no `**` nor `{a,b}`, `[^x]` negates and `[!x]` does not. A malformed
//!   pattern matches nothing, the others of the list still count;
//! * any pattern of a list matching passes that filter; every present filter must pass, checked
//!   in the order events, repositories, branches, forks.
//!
//! ```
//! use drone_extension::vault::access::{AccessPolicy, Denied, Subject};
//!
//! let policy = AccessPolicy::from_pairs([
//!     ("x-drone-repos", "octocat/*"),
//!     ("X-Drone-Events", "push,tag"),
//! ]);
//! let push = Subject { event: "push", repo: "octocat/hello-world", target: "main", fork: false };
//! assert_eq!(policy.check(&push, false), Ok(()));
//! let pr = Subject { event: "pull_request", ..push };
//! assert_eq!(policy.check(&pr, false), Err(Denied::Event));
//! ```
//!
//! # Where this differs from drone-vault
//!
//! Three cases drone-vault leaves to chance or to a surprising default are decided here, on the
//! safe side: a filter whose value is not a string (`X-Drone-Repos: ["octocat/*"]` or
//! `X-Drone-Events: 123`, written through Vault's API) denies the secret, where drone-vault drops
//! the value and serves the secret to every repository; the same key twice with different case
//! and different values (Go picks one at random) denies the secret; an `X-Drone-Disallow-Forks`
//! value that `ParseBool` refuses (`yes`, `on`) falls back to the process-wide setting, where
//! drone-vault reads it as `false` and lets forks through. An empty string is still "no filter",
//! as in drone-vault. Lower-casing uses Rust's `str::to_lowercase`, which differs from Go's
//! `strings.ToLower` only for the Greek final sigma and the dotted capital I.

use std::fmt;

use serde_json::{Map, Value};

use crate::glob::Pattern;

/// The four filter keys, as drone-vault spells them.
pub const EVENTS_KEY: &str = "X-Drone-Events";
/// See [`EVENTS_KEY`].
pub const REPOS_KEY: &str = "X-Drone-Repos";
/// See [`EVENTS_KEY`].
pub const BRANCHES_KEY: &str = "X-Drone-Branches";
/// See [`EVENTS_KEY`].
pub const DISALLOW_FORKS_KEY: &str = "X-Drone-Disallow-Forks";

/// One filter: a comma-separated list of lower-cased Go patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternList {
    /// The value as written.
    raw: String,
    /// Each pattern, lower-cased; `None` for a malformed one (it matches nothing).
    patterns: Vec<Option<Pattern>>,
}

impl PatternList {
    /// Parses a filter value: split on `,`, not trimmed, lower-cased.
    ///
    /// ```
    /// use drone_extension::vault::access::PatternList;
    ///
    /// let list = PatternList::parse("octocat/*,spaceghost/*");
    /// assert!(list.matches("SpaceGhost/app"));
    /// assert!(!PatternList::parse("push, tag").matches("tag")); // " tag" is not "tag"
    /// ```
    pub fn parse(value: &str) -> PatternList {
        let patterns = value
            .split(',')
            .map(|p| Pattern::new(&p.to_lowercase()).ok())
            .collect();
        PatternList {
            raw: value.to_owned(),
            patterns,
        }
    }

    /// Whether any pattern matches `name` (lower-cased).
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.patterns.iter().flatten().any(|p| p.matches(&name))
    }

    /// The value as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

/// What a build is, for the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// The build's event, e.g. `push`.
    pub event: &'a str,
    /// The repository slug, `owner/name`.
    pub repo: &'a str,
    /// The build's target branch.
    pub target: &'a str,
    /// Whether the build comes from a fork ([`crate::models::Build::is_fork`]).
    pub fork: bool,
}

/// Why a build may not have a secret. The `Display` texts are drone-vault's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denied {
    /// `X-Drone-Events` does not list the event.
    Event,
    /// `X-Drone-Repos` does not list the repository.
    Repository,
    /// `X-Drone-Branches` does not list the target branch.
    Branch,
    /// The build comes from a fork and forks are disallowed.
    Fork,
    /// A filter key appears twice (in different case) with different values.
    Ambiguous,
    /// A filter's value is not a string (a list, a number, an object, a boolean, `null`).
    NotAString,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Denied::Event => "access denied: event does not match",
            Denied::Repository => "access denied: repository does not match",
            Denied::Branch => "access denied: branch does not match",
            Denied::Fork => "access denied: forks are not allowed",
            Denied::Ambiguous => "access denied: a filter key is given twice with different values",
            Denied::NotAString => "access denied: a filter's value is not a string",
        })
    }
}

impl std::error::Error for Denied {}

/// The filters of one secret (or one group of secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// `X-Drone-Events`.
    pub events: Option<PatternList>,
    /// `X-Drone-Repos`.
    pub repos: Option<PatternList>,
    /// `X-Drone-Branches`.
    pub branches: Option<PatternList>,
    /// `X-Drone-Disallow-Forks`, when present and a valid Go boolean.
    pub disallow_forks: Option<bool>,
    /// A key was given twice with different values.
    ambiguous: bool,
    /// A filter key's value is not a string.
    not_a_string: bool,
}

impl AccessPolicy {
    /// The policy of a secret's key/value pairs: the four filter keys are picked out (in any
    /// case), everything else is ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> AccessPolicy {
        AccessPolicy::from_entries(pairs.into_iter().map(|(k, v)| (k, Some(v))))
    }

    /// The policy of a secret stored as a JSON object (a Vault secret's data): as
    /// [`from_pairs`](Self::from_pairs), and a filter key whose value is not a string (a list,
    /// a number, an object, a boolean, `null`) denies the secret ([`Denied::NotAString`]), where
    /// drone-vault ignores it and serves the secret to everyone.
    ///
    /// ```
    /// use drone_extension::vault::access::{AccessPolicy, Denied, Subject};
    /// use serde_json::json;
    ///
    /// let push = Subject { event: "push", repo: "octocat/hello-world", target: "main", fork: false };
    /// let list = json!({"password": "pw", "X-Drone-Repos": ["octocat/*"]});
    /// let policy = AccessPolicy::from_json(list.as_object().unwrap());
    /// assert_eq!(policy.check(&push, false), Err(Denied::NotAString));
    /// let empty = json!({"password": "pw", "x-drone-repos": "", "port": 5432});
    /// assert_eq!(AccessPolicy::from_json(empty.as_object().unwrap()).check(&push, false), Ok(()));
    /// ```
    pub fn from_json(object: &Map<String, Value>) -> AccessPolicy {
        AccessPolicy::from_entries(object.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The policy of `(key, value)` entries, `None` standing for a value that is not a string.
    fn from_entries<'a>(entries: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> AccessPolicy {
        let mut policy = AccessPolicy::default();
        let mut seen: [Option<Option<&str>>; 4] = [None; 4];
        for (key, value) in entries {
            let Some(slot) = [EVENTS_KEY, REPOS_KEY, BRANCHES_KEY, DISALLOW_FORKS_KEY]
                .iter()
                .position(|k| equal_fold(key, k))
            else {
                continue;
            };
            match seen[slot] {
                Some(previous) if previous != value => policy.ambiguous = true,
                Some(_) => continue,
                None => seen[slot] = Some(value),
            }
            let Some(value) = value else {
                policy.not_a_string = true;
                continue;
            };
            if value.is_empty() {
                continue;
            }
            match slot {
                0 => policy.events = Some(PatternList::parse(value)),
                1 => policy.repos = Some(PatternList::parse(value)),
                2 => policy.branches = Some(PatternList::parse(value)),
                _ => policy.disallow_forks = parse_bool(value),
            }
        }
        policy
    }

    /// Whether `subject` may have the secret; `disallow_forks` is the process-wide default that
    /// `X-Drone-Disallow-Forks` overrides.
    ///
    /// # Errors
    ///
    /// [`Denied::NotAString`] or [`Denied::Ambiguous`] for a malformed policy, else the first
    /// filter that refuses, in the order events, repositories, branches, forks.
    pub fn check(&self, subject: &Subject<'_>, disallow_forks: bool) -> Result<(), Denied> {
        if self.not_a_string {
            return Err(Denied::NotAString);
        }
        if self.ambiguous {
            return Err(Denied::Ambiguous);
        }
        let refuses = |list: &Option<PatternList>, name: &str| {
            list.as_ref().is_some_and(|list| !list.matches(name))
        };
        if refuses(&self.events, subject.event) {
            return Err(Denied::Event);
        }
        if refuses(&self.repos, subject.repo) {
            return Err(Denied::Repository);
        }
        if refuses(&self.branches, subject.target) {
            return Err(Denied::Branch);
        }
        if subject.fork && self.disallow_forks.unwrap_or(disallow_forks) {
            return Err(Denied::Fork);
        }
        Ok(())
    }

    /// Whether `key` is one of the four filter keys (in any case).
    pub fn is_filter_key(key: &str) -> bool {
        [EVENTS_KEY, REPOS_KEY, BRANCHES_KEY, DISALLOW_FORKS_KEY]
            .iter()
            .any(|k| equal_fold(key, k))
    }
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`, anything else
/// is `None`.
///
/// ```
/// use drone_extension::vault::access::parse_bool;
///
/// assert_eq!(parse_bool("True"), Some(true));
/// assert_eq!(parse_bool("tRUE"), None);
/// ```
pub fn parse_bool(value: &str) -> Option<bool> {
    crate::env::parse_go_bool(value)
}

/// Go's `strings.EqualFold` for the keys this module knows: Unicode simple case folding, so
/// `ſ` (long s) equals `s` and `K` (Kelvin sign) equals `k`.
///
/// ```
/// use drone_extension::vault::access::equal_fold;
///
/// assert!(equal_fold("x-drone-repos", "X-Drone-Repos"));
/// assert!(equal_fold("X-Drone-Repo\u{17f}", "X-Drone-Repos"));
/// assert!(!equal_fold("X-Drone-Repo", "X-Drone-Repos"));
/// ```
pub fn equal_fold(a: &str, b: &str) -> bool {
    a.chars().map(fold).eq(b.chars().map(fold))
}

/// One character's simple case fold (lower case when it is a single character).
fn fold(c: char) -> char {
    match c {
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        '\u{2126}' => 'ω',
        c => {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUSH: Subject<'static> = Subject {
        event: "push",
        repo: "octocat/hello-world",
        target: "main",
        fork: false,
    };

    #[test]
    fn each_filter_allows_and_refuses() {
        let p = AccessPolicy::from_pairs([("X-DRONE-BRANCHES", "main,release/*")]);
        assert_eq!(p.check(&PUSH, false), Ok(()));
        let feature = Subject {
            target: "feature/x",
            ..PUSH
        };
        assert_eq!(p.check(&feature, false), Err(Denied::Branch));
        let p = AccessPolicy::from_pairs([("x-drone-repos", "spaceghost/*")]);
        assert_eq!(p.check(&PUSH, false), Err(Denied::Repository));
    }

    #[test]
    fn forks_follow_the_key_then_the_default() {
        let fork = Subject { fork: true, ..PUSH };
        assert_eq!(
            AccessPolicy::default().check(&fork, true),
            Err(Denied::Fork)
        );
        assert_eq!(AccessPolicy::default().check(&fork, false), Ok(()));
        let allow = AccessPolicy::from_pairs([("x-drone-disallow-forks", "false")]);
        assert_eq!(allow.check(&fork, true), Ok(()));
        let deny = AccessPolicy::from_pairs([("x-drone-disallow-forks", "T")]);
        assert_eq!(deny.check(&fork, false), Err(Denied::Fork));
        let invalid = AccessPolicy::from_pairs([("x-drone-disallow-forks", "yes")]);
        assert_eq!(invalid.check(&fork, true), Err(Denied::Fork));
        assert_eq!(deny.check(&PUSH, false), Ok(()));
    }

    #[test]
    fn duplicate_keys_with_different_values_deny() {
        let p =
            AccessPolicy::from_pairs([("X-Drone-Repos", "octocat/*"), ("x-drone-repos", "*/*")]);
        assert_eq!(p.check(&PUSH, false), Err(Denied::Ambiguous));
        let same = AccessPolicy::from_pairs([
            ("X-Drone-Repos", "octocat/*"),
            ("x-drone-repos", "octocat/*"),
        ]);
        assert_eq!(same.check(&PUSH, false), Ok(()));
    }

    #[test]
    fn non_string_values_deny_and_empty_strings_do_not_filter() {
        use serde_json::json;
        let fork = Subject { fork: true, ..PUSH };
        for (key, value) in [
            ("X-Drone-Repos", json!(["octocat/*"])),
            ("x-drone-events", json!(123)),
            ("X-DRONE-BRANCHES", json!({"main": true})),
            ("x-drone-disallow-forks", json!(false)),
            ("x-drone-repos", Value::Null),
        ] {
            let object = json!({ "password": "pw", key: value });
            let policy = AccessPolicy::from_json(object.as_object().unwrap());
            assert_eq!(
                policy.check(&PUSH, false),
                Err(Denied::NotAString),
                "{object}"
            );
            assert_eq!(
                policy.check(&fork, false),
                Err(Denied::NotAString),
                "{object}"
            );
        }
        // Other non-string values (a port, a nested object) are no filters.
        let object = json!({"port": 5432, "data": {"a": "b"}, "X-Drone-Repos": ""});
        let policy = AccessPolicy::from_json(object.as_object().unwrap());
        assert_eq!(policy, AccessPolicy::default());
        assert_eq!(policy.check(&PUSH, false), Ok(()));
        // A string filter still filters next to a non-string non-filter key.
        let object = json!({"port": 5432, "x-drone-repos": "spaceghost/*"});
        let policy = AccessPolicy::from_json(object.as_object().unwrap());
        assert_eq!(policy.check(&PUSH, false), Err(Denied::Repository));
    }

    #[test]
    fn order_is_events_repos_branches() {
        let p = AccessPolicy::from_pairs([
            ("x-drone-branches", "nope"),
            ("x-drone-repos", "nope"),
            ("x-drone-events", "nope"),
        ]);
        assert_eq!(p.check(&PUSH, false), Err(Denied::Event));
    }
}
