//! The changed files from git itself, on any forge: [`GitChangedFiles`] fetches the commits it
//! needs into a per-repository cache and compares their trees with the `git` binary.
//!
//! ```no_run
//! # async fn run(request: drone_extension::convert::ConvertRequest) -> Result<(), Box<dyn std::error::Error>> {
//! use drone_extension::pathschanged::changes::{ChangeQuery, ChangedFiles, ChangedSet};
//! use drone_extension::pathschanged::git::GitChangedFiles;
//!
//! let git = GitChangedFiles::builder("/var/cache/pathschanged")
//!     .allowed_hosts(["git.example.com"])
//!     .build()?;
//! match git.changed_files(&ChangeQuery::from_drone(&request)).await {
//!     Ok(ChangedSet::Files(files)) => println!("{} files changed", files.len()),
//!     Ok(_) => println!("run everything"),
//!     Err(e) => println!("run everything ({}: {e})", e.class()),
//! }
//! # Ok(()) }
//! ```
//!
//! # Why the `git` binary and not a Rust git
//!
//! The set must come from any forge: GitHub, GitLab, Gitea/Forgejo, Bitbucket, a bare
//! `git http-backend`. Each has its smart-HTTP quirks (protocol v2 or v0, `Git-Protocol`,
//! authentication challenges, gzip-encoded negotiation), and this module needs the parts of the
//! protocol beyond a plain clone: **partial clone** (`--filter=blob:none`: commits and trees,
//! never file contents, which a name-only diff does not need), fetching single commits by id,
//! **shallow** fetches that are deepened until a merge base appears, and negotiation that sends
//! only new objects the second time. git's own client is the reference implementation of all of
//! them and is what the forges test against. gitoxide (`gix`) does not fetch with filters in a
//! released version (partial clone is an open pull request, GitoxideLabs/gitoxide#2375, for issue
//! #1046), and libgit2 (`git2`) has no partial clone at all (rust-lang/git2-rs#1025). Without
//! filters every fetch would carry every file's content. The cost of the binary is a process per
//! step and the hardening below, which this module does.
//!
//! # How the files are found
//!
//! The [`DiffPlan`] of the query ([`ChangeQuery::plan`]) says what to compare. Then, holding the
//! repository's lock:
//!
//! 1. the commits that are not in the cache yet are fetched by id, **shallow**
//!    (`--depth=1 --filter=blob:none`): one commit and its trees each; a branch (the default
//!    branch for a new branch, the target branch of a pull request without base commit, or
//!    whose base commit is gone: see below) is fetched by name for its current tip;
//! 2. for a merge base, `git merge-base` runs on what is there; while it finds none and the
//!    history is shallow, the history is deepened (`--deepen`: 64, 512, 4096 commits, then
//!    `--unshallow`), still without file contents. Two histories without a common commit give
//!    [`ChangedSet::Everything`]. In a history with many merges, a merge base found before the
//!    history is complete can be an older common ancestor than the best one: the set then also
//!    covers the commits between the two (usually larger; a file changed after the older one
//!    and changed back since is not in it). Every fetch carries trees
//!    (`blob:none`, never `tree:0`), so every commit in the cache has all its trees and the
//!    commits git announces as already there during negotiation are truthful;
//! 3. `git diff-tree -r -z --no-renames --name-status` compares the two trees. Without rename
//!    detection a rename is a deletion of the old path and an addition of the new one, so both
//!    paths are listed, and no file content is ever needed. The `-z` output is parsed exactly
//!    (spaces, newlines, non-UTF-8 bytes in names); `R`/`C` records, should git print them, give
//!    both paths too.
//!
//! A push compares `before` and `after` directly, so only those two commits are fetched,
//! whatever the size of the history.
//!
//! A pull request ([`Base::CommitOrBranch`]) whose base commit the forge no longer has (the
//! target branch was force-pushed or rebased after the event, and the old commits pruned) is
//! not an error: the fetch of both commits fails as [`ChangesError::CommitNotFound`], then the
//! head commit and the target branch are fetched alone, and the merge base with the branch's
//! **current tip** is used, as for a pull request without base commit. This is logged (`info`,
//! with the base commit, the branch and its tip), and the outcome is not cached (the tip moves).
//! If the head commit is gone too, the second fetch fails: [`ChangesError::CommitNotFound`]
//! naming it, and everything runs.
//!
//! # Cache
//!
//! - **Repositories**: one bare repository per clone URL under the cache directory (named by a
//!   hash of the URL), at most [`max_repos`](GitChangedFilesBuilder::max_repos) (default 32),
//!   the least recently used idle one deleted to make room (a repository in use is never
//!   deleted; with more concurrent requests than the bound, the bound is exceeded by those
//!   requests). One operation at a time per repository (an async mutex per repository); at most
//!   [`max_concurrent`](GitChangedFilesBuilder::max_concurrent) (default 4) repositories are
//!   worked on at once. The commits of the last request stay referenced
//!   (`refs/pathschanged/…`), so the next fetch negotiates from them and receives only the new
//!   commits and trees. A repository is deleted (fetched again from scratch next time) after an
//!   unexplained git failure, a fetch that crossed its bound, or when its packs outgrow
//!   [`max_repo_bytes`](GitChangedFilesBuilder::max_repo_bytes). Existing repositories are
//!   adopted at start, the least recently modified evicted first.
//! - **Changed-file sets**: the outcome of a plan fixed by commit ids (a push, a pull request
//!   with base commit, a head commit) is kept in memory per (clone URL, plan), at most
//!   [`max_cached_sets`](GitChangedFilesBuilder::max_cached_sets) sets (default 256) holding at
//!   most [`max_cached_paths`](GitChangedFilesBuilder::max_cached_paths) paths in total (default
//!   500,000), least recently used first out. Plans against a branch's tip are not cached, nor
//!   is a pull request's set computed from its target branch's tip because its base commit
//!   was gone.
//!
//! The cache answers from what an earlier authorised fetch stored: the credential of a request
//! is only presented when something is fetched. The caller is Drone (its requests are signed),
//! and it sends the repository's own token, so this is the trust model of Drone's own clones.
//!
//! # Security
//!
//! - **Credential** (the query's, or the operator's, which wins): sent as an
//!   `Authorization: Basic` header through git's `http.extraHeader`, given to git in its
//!   **environment** (`GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_n`, `GIT_CONFIG_VALUE_n`), which only
//!   the same user and root can read (`/proc/<pid>/environ` is mode 0400), never on the command
//!   line (world-readable in `/proc/<pid>/cmdline`), never in a URL, never in a file. Only
//!   fetches get it. The header is base64, so a token cannot inject header lines; a username
//!   with `:` or a control character is refused. The header goes to every request of that git
//!   process, which is why redirects are never followed (below).
//! - **Environment**: cleared (`env_clear`), then `HOME` and `XDG_CONFIG_HOME` set to an empty
//!   directory, `GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_GLOBAL=/dev/null`: no system, user or
//!   credential-helper configuration applies, and no proxy variable either (set `http.proxy` with
//!   [`git_config`](GitChangedFilesBuilder::git_config)). `GIT_TERMINAL_PROMPT=0` and no askpass:
//!   a missing or wrong credential fails instead of prompting. `LC_ALL=C`, so that git's
//!   messages can be classified. `GIT_NO_LAZY_FETCH=1` outside fetches: a missing object is an
//!   error, never a network request behind the scenes.
//! - **Protocols**: `protocol.allow=never` with only `https` (and `http`, unless
//!   [`allow_http`](GitChangedFilesBuilder::allow_http)`(false)`) allowed, and
//!   `GIT_ALLOW_PROTOCOL` to match: no `file://`, `ext::`, `ssh://` or `git://`, also not
//!   through submodules (never fetched: `--recurse-submodules=no`) or promisor remotes.
//! - **Clone URL**: `http(s)://host[:port]/path` only; no query, fragment, whitespace or
//!   control character; a username alone is dropped, a username with a password refused
//!   (`transfer.credentialsInUrl=die` backs this in git); it cannot start with `-`. The URL
//!   written in the cache repository's configuration never holds a credential.
//! - **Hosts**: with an [allow-list](GitChangedFilesBuilder::allowed_hosts) (`host` or
//!   `host:port` entries, like Woodpecker's `WOODPECKER_EXTENSIONS_ALLOWED_HOSTS`), any other
//!   host is refused ([`ChangesError::HostRefused`]) before a process is started, so nothing is
//!   sent to it. Without one, every host is allowed: a self-hosted forge on a private address is
//!   the normal case.
//! - **Redirects**: `http.followRedirects=false`. A redirect fails the fetch
//!   ([`ChangesError::Redirected`]) instead of carrying the credential to wherever it points
//!   (another host, or an allowed host's other port); configure the canonical clone URL (the one
//!   the forge reports, which Drone sends). Same for a redirect to the same host.
//! - **Repository content**: `core.hooksPath=/dev/null`, `core.fsmonitor=false`, bare
//!   repositories only, nothing is ever checked out; TLS verification forced on
//!   (`http.sslVerify=true`). Operator configuration is limited to a list of `http.*` transport
//!   keys (proxy, CA, client certificate, HTTP version, user agent).
//! - **Processes**: every git runs in its own process group; when the budget is spent or a bound
//!   is crossed, the whole group (git and its `git-remote-http`, `index-pack` children) is
//!   killed with `SIGKILL`, and `kill_on_drop` backs this up. Lock files and temporary packs a
//!   killed git leaves are removed before the repository is used again.
//! - **Messages**: git's standard error is captured (its last 16 KiB), the credential (password,
//!   `user:password`, the base64 header value) replaced by `<redacted>`, control characters
//!   escaped, and cut to 400 characters before it reaches a log line or a [`ChangesError`].
//!
//! # Bounds
//!
//! | what | bound | how |
//! |---|---|---|
//! | time | [`budget`](GitChangedFilesBuilder::budget), default 20 s, per call | `tokio::time::timeout` over the whole call (waiting for the lock included); on expiry the git processes are killed, [`ChangesError::Timeout`]. git's `http.lowSpeedLimit`/`lowSpeedTime` (1 KiB/s for 30 s) also end stalled transfers when the budget is longer |
//! | bytes fetched | [`max_fetch_bytes`](GitChangedFilesBuilder::max_fetch_bytes), default 512 MiB, per fetch | git has no limit for fetches (`transfer.maxPackSize` does not exist; `receive.maxInputSize` is for pushes, `GIT_HTTP_MAX_REQUEST_BUFFER` for the server's `http-backend`): packs are always kept as packs (`transfer.unpackLimit=1`) and the growing `tmp_pack_*` file is watched every 100 ms; above the bound git is killed, [`ChangesError::TooLarge`]. Approximate: it can overshoot by what arrives in 100 ms |
//! | repository size | [`max_repo_bytes`](GitChangedFilesBuilder::max_repo_bytes), default 2 GiB | the packs are measured after each request; above the bound the repository is deleted |
//! | git's output | [`max_output_bytes`](GitChangedFilesBuilder::max_output_bytes), default 64 MiB, per command | read with a cap; above it git is killed, [`ChangesError::TooLarge`] (64 MiB is about a million paths; the list itself is never truncated) |
//! | git's error output | 16 KiB kept | the tail is kept, the rest read and dropped |
//! | processes | [`max_concurrent`](GitChangedFilesBuilder::max_concurrent) repositories at once, one git process each at a time | a semaphore, counted in the budget |
//! | disk | repositories × their size | the repository LRU and the size bound above |
//! | memory | sets cached | the set LRU above |
//!
//! Not bounded by this module: the number of objects in a fetch (git has no such option), DNS
//! resolution time (inside the budget).
//!
//! # Requirements
//!
//! - **git 2.31** or newer (`GIT_CONFIG_COUNT`), checked by
//!   [`build`](GitChangedFilesBuilder::build); 2.44 or newer for `GIT_NO_LAZY_FETCH`.
//! - A forge that lets clients **fetch a commit by id**: every protocol v2 server does (git
//!   2.18+ behind GitHub, GitLab, Gitea/Forgejo, Bitbucket); a protocol v0 server needs
//!   `uploadpack.allowReachableSHA1InWant`, else the fetch fails as
//!   [`ChangesError::CommitNotFound`] (and everything runs). The head commit of a pull request
//!   from a fork is fetched from the target repository, where the forges keep it
//!   (`refs/pull/N/head`, `refs/merge-requests/N/head`).
//! - Partial clone on the forge (`uploadpack.allowFilter`, on by default on GitHub, GitLab and
//!   Gitea): without it the server ignores the filter and sends file contents too, which is
//!   correct but larger (and bounded by
//!   [`max_fetch_bytes`](GitChangedFilesBuilder::max_fetch_bytes)).
//! - The process-group kill is Unix only; elsewhere only the direct child is killed
//!   (`kill_on_drop`).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, Semaphore};

use super::changes::{
    Base, ChangeQuery, ChangedFiles, ChangedSet, ChangesError, Credential, DiffPlan, EventRules,
    truncated,
};
use crate::log::Escaped;

/// The default time budget of one call.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(20);
/// The default number of cached repositories.
pub const DEFAULT_MAX_REPOS: usize = 32;
/// The default bound on the bytes of one fetch.
pub const DEFAULT_MAX_FETCH_BYTES: u64 = 512 << 20;
/// The default bound on the packs of one cached repository.
pub const DEFAULT_MAX_REPO_BYTES: u64 = 2 << 30;
/// The default bound on the output of one git command.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 64 << 20;
/// The default number of repositories worked on at once.
pub const DEFAULT_MAX_CONCURRENT: usize = 4;
/// The default number of cached changed-file sets.
pub const DEFAULT_MAX_CACHED_SETS: usize = 256;
/// The default bound on the paths held by the set cache.
pub const DEFAULT_MAX_CACHED_PATHS: usize = 500_000;

/// The `http.*` keys an operator may set with [`GitChangedFilesBuilder::git_config`]
/// (compared case-insensitively): transport settings that cannot weaken the hardening.
pub const OPERATOR_CONFIG_KEYS: &[&str] = &[
    "http.proxy",
    "http.proxyAuthMethod",
    "http.sslCAInfo",
    "http.sslCAPath",
    "http.sslCert",
    "http.sslKey",
    "http.sslCertPasswordProtected",
    "http.sslBackend",
    "http.version",
    "http.userAgent",
    "http.lowSpeedLimit",
    "http.lowSpeedTime",
    "http.postBuffer",
];

/// How much of git's standard error is kept (its tail).
const STDERR_KEEP: usize = 16 << 10;
/// How much of git's message goes into an error or a log line.
const DETAIL_MAX: usize = 400;
/// The `--deepen` steps looking for a merge base, before `--unshallow`.
const DEEPEN_STEPS: &[u32] = &[64, 512, 4096];
/// How often the size of an incoming pack is checked.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);
/// The namespace of the cache's own references.
const REFS: &str = "refs/pathschanged/";

/// Why a [`GitChangedFilesBuilder`] could not build.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The cache directory could not be created or prepared.
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// An allowed-host entry is not `host` or `host:port`.
    InvalidHost(String),
    /// A configuration key is not one of [`OPERATOR_CONFIG_KEYS`], or its value has a control
    /// character.
    ConfigKey(String),
    /// A bound is zero.
    ZeroBound(&'static str),
    /// The git executable cannot be run, or is older than 2.31.
    Git(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Io { path, source } => {
                write!(
                    f,
                    "cannot prepare the cache directory {}: {source}",
                    path.display()
                )
            }
            BuildError::InvalidHost(host) => {
                write!(f, "not a host or host:port: {:?}", Escaped(host))
            }
            BuildError::ConfigKey(key) => write!(
                f,
                "the git configuration {:?} cannot be set (allowed keys: {})",
                Escaped(key),
                OPERATOR_CONFIG_KEYS.join(", ")
            ),
            BuildError::ZeroBound(what) => write!(f, "the bound {what} must not be zero"),
            BuildError::Git(why) => write!(f, "git is not usable: {why}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Configures a [`GitChangedFiles`]; see the [module docs](self) for what each bound means.
#[derive(Debug, Clone)]
pub struct GitChangedFilesBuilder {
    cache_dir: PathBuf,
    git: PathBuf,
    rules: EventRules,
    budget: Duration,
    allowed_hosts: Option<Vec<String>>,
    operator_credential: Option<Credential>,
    allow_http: bool,
    git_config: Vec<(String, String)>,
    max_repos: usize,
    max_fetch_bytes: u64,
    max_repo_bytes: u64,
    max_output_bytes: u64,
    max_concurrent: usize,
    max_cached_sets: usize,
    max_cached_paths: usize,
}

impl GitChangedFilesBuilder {
    /// The `git` executable (default `git`, looked up in `PATH`).
    pub fn git_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.git = path.into();
        self
    }

    /// The rule of each event (default [`EventRules::default`]).
    pub fn rules(mut self, rules: EventRules) -> Self {
        self.rules = rules;
        self
    }

    /// The time budget of one call (default [`DEFAULT_BUDGET`]).
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Only these hosts may be fetched from: `host` (any port) or `host:port` entries,
    /// case-insensitive; IPv6 addresses in brackets (`[::1]:3000`). Default: any host.
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.allowed_hosts = Some(hosts.into_iter().map(|h| h.as_ref().to_owned()).collect());
        self
    }

    /// A credential used for every repository, instead of the query's (for example a forge
    /// account with read access to every repository built).
    pub fn operator_credential(mut self, credential: Credential) -> Self {
        self.operator_credential = Some(credential);
        self
    }

    /// Whether `http://` clone URLs are allowed (default `true`: internal forges often serve
    /// plain HTTP, and Drone clones from the same URL with the same token).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// A git configuration entry for every git command, one of [`OPERATOR_CONFIG_KEYS`] (for
    /// example `http.proxy` or `http.sslCAInfo`); checked by [`build`](Self::build).
    pub fn git_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.git_config.push((key.into(), value.into()));
        self
    }

    /// The number of cached repositories (default [`DEFAULT_MAX_REPOS`]).
    pub fn max_repos(mut self, max: usize) -> Self {
        self.max_repos = max;
        self
    }

    /// The bound on the bytes of one fetch (default [`DEFAULT_MAX_FETCH_BYTES`]).
    pub fn max_fetch_bytes(mut self, max: u64) -> Self {
        self.max_fetch_bytes = max;
        self
    }

    /// The bound on the packs of one cached repository (default [`DEFAULT_MAX_REPO_BYTES`]).
    pub fn max_repo_bytes(mut self, max: u64) -> Self {
        self.max_repo_bytes = max;
        self
    }

    /// The bound on the output of one git command (default [`DEFAULT_MAX_OUTPUT_BYTES`]).
    pub fn max_output_bytes(mut self, max: u64) -> Self {
        self.max_output_bytes = max;
        self
    }

    /// The number of repositories worked on at once (default [`DEFAULT_MAX_CONCURRENT`]).
    pub fn max_concurrent(mut self, max: usize) -> Self {
        self.max_concurrent = max;
        self
    }

    /// The number of cached changed-file sets (default [`DEFAULT_MAX_CACHED_SETS`]; 0 disables
    /// the set cache).
    pub fn max_cached_sets(mut self, max: usize) -> Self {
        self.max_cached_sets = max;
        self
    }

    /// The bound on the paths held by the set cache (default [`DEFAULT_MAX_CACHED_PATHS`]).
    pub fn max_cached_paths(mut self, max: usize) -> Self {
        self.max_cached_paths = max;
        self
    }

    /// Checks the configuration, creates the cache directory (mode 0700 on Unix), removes what
    /// an earlier process left half-done, and adopts the repositories already there.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for an invalid host entry or configuration key, a zero bound, or a cache
    /// directory that cannot be prepared.
    pub fn build(self) -> Result<GitChangedFiles, BuildError> {
        for (what, value) in [
            ("max_repos", self.max_repos as u64),
            ("max_fetch_bytes", self.max_fetch_bytes),
            ("max_repo_bytes", self.max_repo_bytes),
            ("max_output_bytes", self.max_output_bytes),
            ("max_concurrent", self.max_concurrent as u64),
        ] {
            if value == 0 {
                return Err(BuildError::ZeroBound(what));
            }
        }
        if self.budget.is_zero() {
            return Err(BuildError::ZeroBound("budget"));
        }
        let allowed_hosts = match &self.allowed_hosts {
            None => None,
            Some(hosts) => Some(
                hosts
                    .iter()
                    .map(|h| HostRule::parse(h).ok_or_else(|| BuildError::InvalidHost(h.clone())))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        for (key, value) in &self.git_config {
            let known = OPERATOR_CONFIG_KEYS
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key));
            if !known || value.chars().any(char::is_control) {
                return Err(BuildError::ConfigKey(key.clone()));
            }
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| BuildError::Io { path, source }
        };
        let dir = &self.cache_dir;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(dir))?;
        }
        let home = dir.join(".home");
        std::fs::create_dir_all(&home).map_err(io(&home))?;
        check_git_version(&self.git)?;
        let repos = Repos::adopt(dir, self.max_repos).map_err(io(dir))?;
        Ok(GitChangedFiles {
            inner: Arc::new(Inner {
                git: self.git,
                rules: self.rules,
                budget: self.budget,
                allowed_hosts,
                operator_credential: self.operator_credential,
                allow_http: self.allow_http,
                git_config: self.git_config,
                home,
                max_fetch_bytes: self.max_fetch_bytes,
                max_repo_bytes: self.max_repo_bytes,
                max_output_bytes: self.max_output_bytes,
                permits: Semaphore::new(self.max_concurrent),
                repos,
                sets: SetCache::new(self.max_cached_sets, self.max_cached_paths),
            }),
        })
    }
}

/// Runs `git --version`: git 2.31 or newer is needed (`GIT_CONFIG_COUNT`).
fn check_git_version(git: &Path) -> Result<(), BuildError> {
    let output = std::process::Command::new(git)
        .arg("--version")
        .env_clear()
        .env("LC_ALL", "C")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| BuildError::Git(format!("cannot run {}: {e}", git.display())))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.trim().strip_prefix("git version ").unwrap_or("");
    let mut numbers = version
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().ok());
    match (numbers.next().flatten(), numbers.next().flatten()) {
        (Some(major), Some(minor)) if (major, minor) >= (2, 31) => Ok(()),
        _ => Err(BuildError::Git(format!(
            "{} is {:?}, 2.31 or newer is needed",
            git.display(),
            Escaped(truncated(text.trim(), 80))
        ))),
    }
}

/// The changed files of a build, from git: see the [module docs](self).
///
/// Cheap to clone (the cache is shared).
#[derive(Clone)]
pub struct GitChangedFiles {
    inner: Arc<Inner>,
}

impl fmt::Debug for GitChangedFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("GitChangedFiles")
            .field("git", &inner.git)
            .field("cache_dir", &inner.repos.dir)
            .field("rules", &inner.rules)
            .field("budget", &inner.budget)
            .field("allowed_hosts", &inner.allowed_hosts)
            .field("operator_credential", &inner.operator_credential)
            .field("allow_http", &inner.allow_http)
            .finish_non_exhaustive()
    }
}

struct Inner {
    git: PathBuf,
    rules: EventRules,
    budget: Duration,
    allowed_hosts: Option<Vec<HostRule>>,
    operator_credential: Option<Credential>,
    allow_http: bool,
    git_config: Vec<(String, String)>,
    home: PathBuf,
    max_fetch_bytes: u64,
    max_repo_bytes: u64,
    max_output_bytes: u64,
    permits: Semaphore,
    repos: Repos,
    sets: SetCache,
}

impl GitChangedFiles {
    /// A builder with the defaults, caching repositories under `cache_dir` (created if missing).
    ///
    /// Give each process a directory of its own: what is not a cached repository there may be
    /// deleted at start, and the bound on repositories is kept per process.
    pub fn builder(cache_dir: impl Into<PathBuf>) -> GitChangedFilesBuilder {
        GitChangedFilesBuilder {
            cache_dir: cache_dir.into(),
            git: PathBuf::from("git"),
            rules: EventRules::default(),
            budget: DEFAULT_BUDGET,
            allowed_hosts: None,
            operator_credential: None,
            allow_http: true,
            git_config: Vec::new(),
            max_repos: DEFAULT_MAX_REPOS,
            max_fetch_bytes: DEFAULT_MAX_FETCH_BYTES,
            max_repo_bytes: DEFAULT_MAX_REPO_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            max_cached_sets: DEFAULT_MAX_CACHED_SETS,
            max_cached_paths: DEFAULT_MAX_CACHED_PATHS,
        }
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> &Path {
        &self.inner.repos.dir
    }

    /// The rules in use.
    pub fn rules(&self) -> &EventRules {
        &self.inner.rules
    }
}

#[async_trait]
impl ChangedFiles for GitChangedFiles {
    async fn changed_files(&self, query: &ChangeQuery) -> Result<ChangedSet, ChangesError> {
        let inner = &*self.inner;
        let plan = query.plan(&inner.rules)?;
        match &plan {
            DiffPlan::Unchanged => return Ok(ChangedSet::Files(Vec::new())),
            DiffPlan::Everything { reason } => {
                return Ok(ChangedSet::Everything {
                    reason: reason.clone(),
                });
            }
            _ => {}
        }
        let url = CloneUrl::parse(&query.clone_url, inner.allow_http)?;
        if let Some(rules) = &inner.allowed_hosts
            && !rules.iter().any(|rule| rule.allows(&url))
        {
            return Err(ChangesError::HostRefused {
                host: url.host_port(),
            });
        }
        if plan.is_fixed()
            && let Some(files) = inner.sets.get(&url.url, &plan)
        {
            return Ok(ChangedSet::Files(files.as_ref().clone()));
        }
        let credential = inner
            .operator_credential
            .as_ref()
            .or(query.credential.as_ref());
        let auth = credential.map(Auth::new).transpose()?;
        let outcome = tokio::time::timeout(inner.budget, inner.compute(&url, &plan, auth.as_ref()))
            .await
            .unwrap_or(Err(ChangesError::Timeout {
                budget: inner.budget,
            }));
        match &outcome {
            Ok(Computed {
                set: ChangedSet::Files(files),
                fixed: true,
            }) => {
                inner.sets.insert(&url.url, &plan, files);
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(
                class = e.class(),
                url = %Escaped(&url.url),
                error = %Escaped(e),
                "changed files not computed"
            ),
        }
        outcome.map(|computed| computed.set)
    }
}

// -------------------------------------------------------------------------------------------
// The work on one repository
// -------------------------------------------------------------------------------------------

/// What a plan gave.
struct Computed {
    set: ChangedSet,
    /// Whether it depends on commit ids alone (the plan is fixed and no branch's tip stood in
    /// for a missing commit): it may be cached.
    fixed: bool,
}

impl Inner {
    async fn compute(
        &self,
        url: &CloneUrl,
        plan: &DiffPlan,
        auth: Option<&Auth>,
    ) -> Result<Computed, ChangesError> {
        // The repository's lock first, then a permit: requests waiting for a busy repository
        // hold no permit, and every permit holder can progress.
        let slot = self.repos.slot(&url.key);
        let mut state = slot.lock().await;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| git_error("the work semaphore is closed"))?;
        let dir = self.repos.path(&url.key);
        if state.dirty {
            clean_leftovers(&dir).await;
        }
        state.dirty = true;
        let repo = Repo {
            inner: self,
            dir: &dir,
            auth,
        };
        let outcome = repo.run_plan(url, plan).await;
        let wipe = match &outcome {
            Err(ChangesError::Git { .. } | ChangesError::TooLarge { .. }) => true,
            _ => pack_bytes(&dir).await > self.max_repo_bytes,
        };
        if wipe {
            self.repos.wipe(&url.key);
        }
        state.dirty = false;
        outcome
    }
}

/// One cached repository, locked for one request.
struct Repo<'a> {
    inner: &'a Inner,
    dir: &'a Path,
    auth: Option<&'a Auth>,
}

impl Repo<'_> {
    async fn run_plan(&self, url: &CloneUrl, plan: &DiffPlan) -> Result<Computed, ChangesError> {
        if !self.dir.join("HEAD").is_file() {
            self.init(url, plan).await?;
        }
        let mut keep: Vec<String> = Vec::new();
        // The branch whose tip was compared with (its reference is kept).
        let mut tip_of: Option<&str> = None;
        let set = match plan {
            DiffPlan::Between { from, to } => {
                self.ensure(&[from, to], None, 1).await?;
                keep.extend([from.clone(), to.clone()]);
                self.diff(Some(from), to).await?
            }
            DiffPlan::HeadCommit { commit } => {
                // Depth 2: the commit and its parents, in one fetch.
                self.ensure(&[commit], None, 2).await?;
                keep.push(commit.clone());
                match self.first_parent(commit).await? {
                    Some(parent) => {
                        self.ensure(&[&parent], None, 1).await?;
                        keep.push(parent.clone());
                        self.diff(Some(&parent), commit).await?
                    }
                    None => self.diff(None, commit).await?,
                }
            }
            DiffPlan::SinceMergeBase { base, to } => {
                let base_commit = match base {
                    Base::Commit(base) => {
                        self.ensure(&[base, to], None, 1).await?;
                        base.clone()
                    }
                    Base::Branch(branch) => {
                        self.ensure(&[to], Some(branch), 1).await?;
                        tip_of = Some(branch);
                        self.branch_tip(branch).await?
                    }
                    Base::CommitOrBranch { commit, branch } => {
                        match self.ensure(&[commit, to], None, 1).await {
                            Ok(()) => commit.clone(),
                            Err(ChangesError::CommitNotFound { .. }) => {
                                // `to` and the branch alone: if `to` is gone too, that is the
                                // error; else the base commit is gone, and the branch's tip
                                // stands in for it.
                                self.ensure(&[to], Some(branch), 1).await?;
                                let tip = self.branch_tip(branch).await?;
                                tracing::info!(
                                    url = %Escaped(&url.url),
                                    base = %commit,
                                    branch = %Escaped(branch),
                                    tip = %tip,
                                    "the base commit is gone from the repository (the target \
                                     branch was force-pushed or rebased): compared from the \
                                     merge base with the branch's current tip"
                                );
                                tip_of = Some(branch);
                                tip
                            }
                            Err(e) => return Err(e),
                        }
                    }
                };
                keep.extend([base_commit.clone(), to.clone()]);
                match self.merge_base(&base_commit, to).await? {
                    Some(merge_base) => {
                        keep.push(merge_base.clone());
                        self.diff(Some(&merge_base), to).await?
                    }
                    None => ChangedSet::Everything {
                        reason: "the commits have no common history".into(),
                    },
                }
            }
            DiffPlan::Unchanged | DiffPlan::Everything { .. } => {
                return Err(git_error("nothing to compute for this plan"));
            }
        };
        self.keep_refs(&keep, tip_of).await?;
        Ok(Computed {
            set,
            fixed: plan.is_fixed() && tip_of.is_none(),
        })
    }

    /// A new bare repository for `url`, created aside and renamed into place.
    async fn init(&self, url: &CloneUrl, plan: &DiffPlan) -> Result<(), ChangesError> {
        let tmp = self.inner.repos.temp_path();
        tokio::fs::create_dir_all(&tmp)
            .await
            .map_err(|e| io_error("cannot create the cache repository", &e))?;
        // SHA-256 repositories have 64-digit commit ids.
        let sha256 = matches!(
            plan,
            DiffPlan::Between { to, .. }
                | DiffPlan::SinceMergeBase { to, .. }
                | DiffPlan::HeadCommit { commit: to } if to.len() == 64
        );
        let format = if sha256 {
            "--object-format=sha256"
        } else {
            "--object-format=sha1"
        };
        let setup = async {
            self.git_in(
                &tmp,
                ["init", "--bare", "--quiet", "--template=", format, "."],
            )
            .await?;
            self.git_in(&tmp, ["config", "remote.origin.url", url.url.as_str()])
                .await?;
            self.git_in(&tmp, ["config", "core.logAllRefUpdates", "false"])
                .await?;
            tokio::fs::rename(&tmp, self.dir)
                .await
                .map_err(|e| io_error("cannot move the cache repository into place", &e))
        };
        let outcome = setup.await;
        if outcome.is_err() {
            let _ = tokio::fs::remove_dir_all(&tmp).await;
        }
        outcome
    }

    /// Fetches those of `commits` that are not here, and `branch`'s tip if given: shallow,
    /// without file contents.
    async fn ensure(
        &self,
        commits: &[&String],
        branch: Option<&str>,
        depth: u32,
    ) -> Result<(), ChangesError> {
        let missing = self.missing(commits).await?;
        if missing.is_empty() && branch.is_none() {
            return Ok(());
        }
        let mut args: Vec<String> = fetch_args();
        args.push(format!("--depth={depth}"));
        args.push("origin".into());
        args.extend(missing.iter().cloned());
        if let Some(branch) = branch {
            args.push(format!("+refs/heads/{branch}:{REFS}heads/{branch}"));
        }
        let wanted = match branch {
            Some(branch) => {
                let mut wanted = missing.clone();
                wanted.push(format!("branch {branch}"));
                wanted
            }
            None => missing,
        };
        self.fetch(args, &wanted).await
    }

    /// Those of `commits` that are not in the repository.
    async fn missing(&self, commits: &[&String]) -> Result<Vec<String>, ChangesError> {
        let mut input = String::new();
        for commit in commits {
            input.push_str(commit);
            input.push('\n');
        }
        let output = self
            .run(
                ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                Some(input.as_bytes()),
                false,
            )
            .await
            .map_err(|e| e.into_error(self.auth, &[]))?;
        let text = String::from_utf8_lossy(&output);
        let mut missing = Vec::new();
        for (commit, line) in commits.iter().zip(text.lines()) {
            if line != format!("{commit} commit") {
                missing.push((*commit).clone());
            }
        }
        // Fewer lines than asked: treat the rest as missing.
        missing.extend(
            commits
                .iter()
                .skip(text.lines().count())
                .map(|c| (*c).clone()),
        );
        missing.dedup();
        Ok(missing)
    }

    async fn fetch(&self, args: Vec<String>, wanted: &[String]) -> Result<(), ChangesError> {
        self.run_fetch(args)
            .await
            .map(drop)
            .map_err(|e| e.into_error(self.auth, wanted))
    }

    async fn run_fetch(&self, args: Vec<String>) -> Result<Vec<u8>, RunError> {
        let pack_dir = self.dir.join("objects").join("pack");
        Runner {
            inner: self.inner,
            cwd: self.dir,
            auth: self.auth,
            network: true,
            stdin: None,
            watch: Some(&pack_dir),
        }
        .run(args)
        .await
    }

    /// The commit `refs/pathschanged/heads/<branch>` points at.
    async fn branch_tip(&self, branch: &str) -> Result<String, ChangesError> {
        let name = format!("{REFS}heads/{branch}^{{commit}}");
        let output = self
            .run(
                ["rev-parse", "--verify", "--quiet", name.as_str()],
                None,
                false,
            )
            .await
            .map_err(|_| ChangesError::CommitNotFound {
                revision: format!("branch {branch}"),
            })?;
        let tip = String::from_utf8_lossy(&output).trim().to_owned();
        if tip.is_empty() {
            return Err(ChangesError::CommitNotFound {
                revision: format!("branch {branch}"),
            });
        }
        Ok(tip)
    }

    /// The merge base of `a` and `b`, deepening the shallow history until one appears.
    async fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, ChangesError> {
        let mut steps = DEEPEN_STEPS.iter();
        loop {
            if let Some(base) = self.local_merge_base(a, b).await? {
                return Ok(Some(base));
            }
            if !self.dir.join("shallow").is_file() {
                return Ok(None);
            }
            let mut args = fetch_args();
            match steps.next() {
                Some(step) => args.push(format!("--deepen={step}")),
                None => args.push("--unshallow".into()),
            }
            args.extend(["origin".into(), a.to_owned(), b.to_owned()]);
            self.fetch(args, &[a.to_owned(), b.to_owned()]).await?;
        }
    }

    async fn local_merge_base(&self, a: &str, b: &str) -> Result<Option<String>, ChangesError> {
        match self.run(["merge-base", a, b], None, false).await {
            Ok(output) => {
                let base = String::from_utf8_lossy(&output).trim().to_owned();
                Ok((!base.is_empty()).then_some(base))
            }
            // Exit status 1 without a message: no common ancestor (in what is here).
            Err(RunError::Exit {
                code: Some(1),
                stderr,
            }) if stderr.trim().is_empty() => Ok(None),
            Err(e) => Err(e.into_error(self.auth, &[])),
        }
    }

    /// The first parent of `commit`, read from the commit object itself (a shallow graft does
    /// not hide it).
    async fn first_parent(&self, commit: &str) -> Result<Option<String>, ChangesError> {
        let output = self
            .run(["cat-file", "commit", commit], None, false)
            .await
            .map_err(|e| e.into_error(self.auth, &[]))?;
        let text = String::from_utf8_lossy(&output);
        for line in text.lines() {
            if line.is_empty() {
                break;
            }
            if let Some(parent) = line.strip_prefix("parent ") {
                return Ok(Some(parent.trim().to_owned()));
            }
        }
        Ok(None)
    }

    /// The paths that differ between the trees of `from` (the empty tree when `None`) and `to`.
    async fn diff(&self, from: Option<&str>, to: &str) -> Result<ChangedSet, ChangesError> {
        let mut args = vec![
            "diff-tree",
            "-r",
            "-z",
            "--no-renames",
            "--name-status",
            "--no-commit-id",
            "--no-ext-diff",
            "--no-textconv",
        ];
        match from {
            Some(from) => args.push(from),
            None => args.push("--root"),
        }
        args.push(to);
        let output = self
            .run(args, None, false)
            .await
            .map_err(|e| e.into_error(self.auth, &[]))?;
        parse_name_status(&output)
            .map(ChangedSet::Files)
            .ok_or_else(|| git_error("unexpected output of git diff-tree"))
    }

    /// Points `refs/pathschanged/keep/<commit>` at each of `commits` (and keeps the branch's
    /// ref) and deletes every other reference of the cache: the next fetch negotiates from
    /// these, and the number of references stays bounded.
    async fn keep_refs(
        &self,
        commits: &[String],
        branch: Option<&str>,
    ) -> Result<(), ChangesError> {
        let listed = self
            .run(["for-each-ref", "--format=%(refname)", REFS], None, false)
            .await
            .map_err(|e| e.into_error(self.auth, &[]))?;
        let keep_branch = branch.map(|b| format!("{REFS}heads/{b}"));
        let mut script = String::new();
        for name in String::from_utf8_lossy(&listed).lines() {
            let kept = Some(name) == keep_branch.as_deref()
                || name
                    .strip_prefix(REFS)
                    .and_then(|n| n.strip_prefix("keep/"))
                    .is_some_and(|c| commits.iter().any(|k| k == c));
            if !kept {
                script.push_str(&format!("delete {name}\n"));
            }
        }
        let mut commits = commits.to_vec();
        commits.sort_unstable();
        commits.dedup();
        for commit in &commits {
            script.push_str(&format!("update {REFS}keep/{commit} {commit}\n"));
        }
        self.run(
            ["update-ref", "--no-deref", "--stdin"],
            Some(script.as_bytes()),
            false,
        )
        .await
        .map_err(|e| e.into_error(self.auth, &[]))?;
        Ok(())
    }

    async fn run<I, S>(
        &self,
        args: I,
        stdin: Option<&[u8]>,
        network: bool,
    ) -> Result<Vec<u8>, RunError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Runner {
            inner: self.inner,
            cwd: self.dir,
            auth: self.auth,
            network,
            stdin,
            watch: None,
        }
        .run(args)
        .await
    }

    async fn git_in<I, S>(&self, cwd: &Path, args: I) -> Result<Vec<u8>, ChangesError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Runner {
            inner: self.inner,
            cwd,
            auth: None,
            network: false,
            stdin: None,
            watch: None,
        }
        .run(args)
        .await
        .map_err(|e| e.into_error(None, &[]))
    }
}

/// The options of every fetch.
fn fetch_args() -> Vec<String> {
    [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--recurse-submodules=no",
        "--no-auto-gc",
        "--no-auto-maintenance",
        "--filter=blob:none",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// Parses `git diff-tree -r -z --name-status` output: `STATUS NUL path NUL`, or
/// `STATUS NUL old NUL new NUL` for renames and copies (`R100`, `C75`). Sorted, deduplicated.
/// `None` when the output does not have that shape.
fn parse_name_status(output: &[u8]) -> Option<Vec<String>> {
    let mut fields = output.split(|&b| b == 0);
    let mut paths = Vec::new();
    while let Some(status) = fields.next() {
        if status.is_empty() {
            // The final NUL leaves one empty field; anything after it is malformed.
            if fields.all(<[u8]>::is_empty) {
                break;
            }
            return None;
        }
        let two_paths = match status.first()? {
            b'R' | b'C' => true,
            b'A' | b'D' | b'M' | b'T' | b'U' | b'X' | b'B' => false,
            _ => return None,
        };
        let count = if two_paths { 2 } else { 1 };
        for _ in 0..count {
            let path = fields.next()?;
            if path.is_empty() {
                return None;
            }
            paths.push(String::from_utf8_lossy(path).into_owned());
        }
    }
    paths.sort_unstable();
    paths.dedup();
    Some(paths)
}

// -------------------------------------------------------------------------------------------
// Running git
// -------------------------------------------------------------------------------------------

/// The credential, ready for git: the header value and what to redact.
struct Auth {
    header: String,
    secrets: Vec<String>,
}

impl Auth {
    fn new(credential: &Credential) -> Result<Self, ChangesError> {
        let username = credential.username();
        if username.contains(':') || username.chars().any(char::is_control) {
            return Err(ChangesError::InvalidQuery {
                reason: "the credential's username contains ':' or a control character".into(),
            });
        }
        let pair = format!("{username}:{}", credential.password());
        let encoded = BASE64.encode(pair.as_bytes());
        let mut secrets = vec![encoded.clone(), pair];
        if !credential.password().is_empty() {
            secrets.push(credential.password().to_owned());
        }
        Ok(Self {
            header: format!("Authorization: Basic {encoded}"),
            secrets,
        })
    }

    fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        // Longest first, so that a secret containing another is replaced whole.
        let mut secrets: Vec<&String> = self.secrets.iter().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for secret in secrets {
            if !secret.is_empty() {
                text = text.replace(secret.as_str(), "<redacted>");
            }
        }
        text
    }
}

/// How one git command fails.
#[derive(Debug)]
enum RunError {
    Spawn(io::Error),
    Io(io::Error),
    Exit { code: Option<i32>, stderr: String },
    OutputTooLarge { limit: u64 },
    FetchTooLarge { limit: u64 },
}

impl RunError {
    /// The [`ChangesError`] for this failure; `wanted` names the revisions a fetch asked for.
    fn into_error(self, auth: Option<&Auth>, wanted: &[String]) -> ChangesError {
        match self {
            RunError::Spawn(e) => io_error("cannot start git", &e),
            RunError::Io(e) => io_error("cannot talk to git", &e),
            RunError::OutputTooLarge { limit } => ChangesError::TooLarge {
                what: "git's output",
                limit,
            },
            RunError::FetchTooLarge { limit } => ChangesError::TooLarge {
                what: "the fetched pack",
                limit,
            },
            RunError::Exit { code, stderr } => {
                let stderr = match auth {
                    Some(auth) => auth.redact(&stderr),
                    None => stderr,
                };
                classify(code, &stderr, wanted)
            }
        }
    }
}

/// The [`ChangesError`] for git's message (`LC_ALL=C`, so English).
fn classify(code: Option<i32>, stderr: &str, wanted: &[String]) -> ChangesError {
    let detail = detail(code, stderr);
    let lower = stderr.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&[
        "not our ref",
        "couldn't find remote ref",
        "no such remote ref",
        "unadvertised object",
    ]) {
        // The revisions git names, else all those asked for, else git's message.
        let named: Vec<&str> = wanted
            .iter()
            .map(String::as_str)
            .filter(|w| stderr.contains(w.trim_start_matches("branch ")))
            .collect();
        let revision = match (named.is_empty(), wanted.is_empty()) {
            (false, _) => named.join(", "),
            (true, false) => wanted.join(", "),
            (true, true) => detail,
        };
        ChangesError::CommitNotFound { revision }
    } else if has(&["returned error: 30", "redirect"]) {
        ChangesError::Redirected { detail }
    } else if has(&[
        "authentication failed",
        "terminal prompts disabled",
        "could not read username",
        "could not read password",
        "returned error: 401",
        "returned error: 403",
        "invalid username or password",
    ]) {
        ChangesError::AuthRefused { detail }
    } else if has(&["returned error: 404", "repository not found"])
        || (lower.contains("repository '") && lower.contains("' not found"))
    {
        ChangesError::RepositoryNotFound { detail }
    } else if has(&[
        "unable to access",
        "could not resolve",
        "failed to connect",
        "connection refused",
        "connection reset",
        "timed out",
        "operation too slow",
        "ssl",
        "tls",
        "certificate",
        "rpc failed",
        "early eof",
        "the remote end hung up",
        "returned error: 5",
        "transfer closed",
        "empty reply",
        "protocol error",
        "transport '",
    ]) {
        ChangesError::Unreachable { detail }
    } else {
        ChangesError::Git { detail }
    }
}

/// git's message for an error: its `fatal:`/`error:`/`remote:` lines (else its last lines),
/// controls escaped, cut to [`DETAIL_MAX`] characters.
fn detail(code: Option<i32>, stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("warning: This repository uses promisor"))
        .collect();
    let important: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("fatal:") || l.starts_with("error:") || l.starts_with("remote:"))
        .collect();
    let chosen = if important.is_empty() {
        lines[lines.len().saturating_sub(3)..].to_vec()
    } else {
        important[important.len().saturating_sub(3)..].to_vec()
    };
    let mut text = chosen.join("; ");
    if text.is_empty() {
        text = match code {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_owned(),
        };
    }
    let escaped = Escaped(&text).to_string();
    let cut = truncated(&escaped, DETAIL_MAX);
    if cut.len() < escaped.len() {
        format!("{cut}…")
    } else {
        escaped
    }
}

fn git_error(detail: &str) -> ChangesError {
    ChangesError::Git {
        detail: detail.to_owned(),
    }
}

fn io_error(what: &str, error: &io::Error) -> ChangesError {
    ChangesError::Git {
        detail: format!("{what}: {error}"),
    }
}

/// One git command: its environment, bounds and process group.
struct Runner<'a> {
    inner: &'a Inner,
    cwd: &'a Path,
    auth: Option<&'a Auth>,
    /// Whether the command may reach the network (fetches): the credential is given and lazy
    /// fetches are not disabled.
    network: bool,
    stdin: Option<&'a [u8]>,
    /// The pack directory to watch for the size of an incoming pack.
    watch: Option<&'a Path>,
}

impl Runner<'_> {
    fn env(&self) -> Vec<(OsString, OsString)> {
        let inner = self.inner;
        let mut env: Vec<(OsString, OsString)> = Vec::new();
        let mut set = |k: &str, v: &OsStr| env.push((k.into(), v.to_owned()));
        set("HOME", inner.home.as_os_str());
        set("XDG_CONFIG_HOME", inner.home.as_os_str());
        if let Some(path) = std::env::var_os("PATH") {
            set("PATH", &path);
        }
        set("GIT_CONFIG_NOSYSTEM", "1".as_ref());
        set("GIT_CONFIG_GLOBAL", "/dev/null".as_ref());
        set("GIT_TERMINAL_PROMPT", "0".as_ref());
        set("GCM_INTERACTIVE", "never".as_ref());
        set("LC_ALL", "C".as_ref());
        set("LANG", "C".as_ref());
        set("GIT_NO_REPLACE_OBJECTS", "1".as_ref());
        let protocols = if inner.allow_http {
            "http:https"
        } else {
            "https"
        };
        set("GIT_ALLOW_PROTOCOL", protocols.as_ref());
        if !self.network {
            set("GIT_NO_LAZY_FETCH", "1".as_ref());
        }

        let mut config: Vec<(&str, &str)> = inner
            .git_config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        config.extend([
            ("protocol.allow", "never"),
            ("protocol.https.allow", "always"),
            (
                "protocol.http.allow",
                if inner.allow_http { "always" } else { "never" },
            ),
            ("protocol.version", "2"),
            ("http.followRedirects", "false"),
            ("http.sslVerify", "true"),
            ("transfer.credentialsInUrl", "die"),
            ("credential.helper", ""),
            ("core.hooksPath", "/dev/null"),
            ("core.fsmonitor", "false"),
            ("core.sshCommand", "false"),
            ("submodule.recurse", "false"),
            ("fetch.recurseSubmodules", "false"),
            ("transfer.unpackLimit", "1"),
            ("fetch.unpackLimit", "1"),
            ("fetch.writeCommitGraph", "false"),
            ("gc.auto", "0"),
            ("maintenance.auto", "false"),
        ]);
        let has = |key: &str| {
            inner
                .git_config
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(key))
        };
        if !has("http.lowSpeedLimit") {
            config.push(("http.lowSpeedLimit", "1024"));
        }
        if !has("http.lowSpeedTime") {
            config.push(("http.lowSpeedTime", "30"));
        }
        if self.network
            && let Some(auth) = self.auth
        {
            // An empty value first empties the list, then the one header.
            config.push(("http.extraHeader", ""));
            config.push(("http.extraHeader", auth.header.as_str()));
        }
        env.push(("GIT_CONFIG_COUNT".into(), config.len().to_string().into()));
        for (i, (key, value)) in config.iter().enumerate() {
            env.push((format!("GIT_CONFIG_KEY_{i}").into(), (*key).into()));
            env.push((format!("GIT_CONFIG_VALUE_{i}").into(), (*value).into()));
        }
        env
    }

    async fn run<I, S>(&self, args: I) -> Result<Vec<u8>, RunError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        tracing::trace!(args = ?args, "git");
        let mut command = tokio::process::Command::new(&self.inner.git);
        command
            .args(&args)
            .current_dir(self.cwd)
            .env_clear()
            .envs(self.env())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn().map_err(RunError::Spawn)?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let mut running = Running {
            pid: child.id(),
            child,
            reaped: false,
        };
        let limit = self.inner.max_output_bytes;
        let input = self.stdin;
        let work = async {
            let feed = async {
                if let (Some(mut pipe), Some(data)) = (stdin, input) {
                    // git may exit without reading everything (an error): not our error.
                    let _ = pipe.write_all(data).await;
                }
                Ok::<(), RunError>(())
            };
            let out = async {
                match stdout {
                    Some(pipe) => read_capped(pipe, limit).await,
                    None => Ok(Vec::new()),
                }
            };
            let err = async {
                Ok::<Vec<u8>, RunError>(match stderr {
                    Some(pipe) => read_tail(pipe).await,
                    None => Vec::new(),
                })
            };
            let ((), out, err) = tokio::try_join!(feed, out, err)?;
            let status = running.child.wait().await.map_err(RunError::Io)?;
            running.reaped = true;
            Ok::<(ExitStatus, Vec<u8>, Vec<u8>), RunError>((status, out, err))
        };
        let (status, out, err) = match self.watch {
            Some(dir) => {
                tokio::select! {
                    done = work => done?,
                    e = watch_pack(dir, self.inner.max_fetch_bytes) => return Err(e),
                }
            }
            None => work.await?,
        };
        if status.success() {
            Ok(out)
        } else {
            let stderr = String::from_utf8_lossy(&err).into_owned();
            let stderr = match self.auth {
                Some(auth) => auth.redact(&stderr),
                None => stderr,
            };
            tracing::debug!(
                args = ?args,
                status = ?status.code(),
                stderr = %Escaped(truncated(&stderr, 2 * DETAIL_MAX)),
                "git failed"
            );
            Err(RunError::Exit {
                code: status.code(),
                stderr,
            })
        }
    }
}

/// A started git: unless it was waited for, its whole process group is killed on drop (the
/// `Child`'s own `kill_on_drop` then kills and reaps the leader).
struct Running {
    child: tokio::process::Child,
    pid: Option<u32>,
    reaped: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            kill_group(self.pid);
        }
    }
}

#[cfg(unix)]
fn kill_group(pid: Option<u32>) {
    // The leader is not reaped yet, so its id (the group's id) cannot have been reused.
    if let Some(pid) = pid
        .and_then(|pid| i32::try_from(pid).ok())
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_pid: Option<u32>) {}

/// Reads everything, failing as soon as there is more than `limit` bytes.
async fn read_capped<R: AsyncRead + Unpin>(mut reader: R, limit: u64) -> Result<Vec<u8>, RunError> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = reader.read(&mut chunk).await.map_err(RunError::Io)?;
        if n == 0 {
            return Ok(out);
        }
        if (out.len() + n) as u64 > limit {
            return Err(RunError::OutputTooLarge { limit });
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Reads everything, keeping the last [`STDERR_KEEP`] bytes (and never failing: a read error
/// ends the message).
async fn read_tail<R: AsyncRead + Unpin>(mut reader: R) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut chunk = vec![0u8; 8 << 10];
    while let Ok(n) = reader.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&chunk[..n]);
        if kept.len() > 2 * STDERR_KEEP {
            kept.drain(..kept.len() - STDERR_KEEP);
        }
    }
    if kept.len() > STDERR_KEEP {
        kept.drain(..kept.len() - STDERR_KEEP);
    }
    kept
}

/// Resolves (with an error) once the packs being received in `dir` exceed `limit` bytes.
async fn watch_pack(dir: &Path, limit: u64) -> RunError {
    loop {
        tokio::time::sleep(WATCH_INTERVAL).await;
        if incoming_bytes(dir).await > limit {
            return RunError::FetchTooLarge { limit };
        }
    }
}

/// The bytes of the `tmp_pack_*` files in `dir` (packs being received).
async fn incoming_bytes(dir: &Path) -> u64 {
    dir_bytes(dir, |name| name.starts_with("tmp_pack_")).await
}

/// The bytes of the packs of the repository at `repo`.
async fn pack_bytes(repo: &Path) -> u64 {
    dir_bytes(&repo.join("objects").join("pack"), |_| true).await
}

async fn dir_bytes(dir: &Path, select: impl Fn(&str) -> bool) -> u64 {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return 0;
    };
    let mut total = 0u64;
    while let Ok(Some(entry)) = entries.next_entry().await {
        if select(&entry.file_name().to_string_lossy())
            && let Ok(meta) = entry.metadata().await
        {
            total = total.saturating_add(meta.len());
        }
    }
    total
}

/// Removes what a killed git leaves in a repository: lock files and temporary packs.
async fn clean_leftovers(repo: &Path) {
    let repo = repo.to_owned();
    let _ = tokio::task::spawn_blocking(move || {
        fn walk(dir: &Path, depth: usize) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if depth < 8 {
                        walk(&path, depth + 1);
                    }
                } else if name.ends_with(".lock")
                    || name.starts_with("tmp_pack_")
                    || name.starts_with("tmp_idx_")
                    || name.starts_with("tmp_obj_")
                    || name.starts_with("tmp_rev_")
                {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        walk(&repo, 0);
    })
    .await;
}

// -------------------------------------------------------------------------------------------
// Clone URLs and hosts
// -------------------------------------------------------------------------------------------

/// A validated clone URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CloneUrl {
    /// `scheme://host[:port]/path`, without user information.
    url: String,
    /// The host, lower-case, without brackets for IPv6.
    host: String,
    /// The port: explicit, else the scheme's.
    port: u16,
    /// Whether the URL names the port.
    explicit_port: bool,
    /// The cache key: a hash of `url`.
    key: String,
}

impl CloneUrl {
    fn parse(raw: &str, allow_http: bool) -> Result<Self, ChangesError> {
        let invalid = |why: &str| ChangesError::InvalidQuery {
            reason: format!("the clone URL {why}"),
        };
        if raw.is_empty() {
            return Err(invalid("is empty"));
        }
        if raw.len() > 2048 {
            return Err(invalid("is longer than 2048 bytes"));
        }
        if raw.starts_with('-') {
            return Err(invalid("starts with '-'"));
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("contains whitespace or a control character"));
        }
        if raw.contains(['?', '#', '\\']) {
            return Err(invalid("has a query, a fragment or a backslash"));
        }
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| invalid("is not http(s)://host/path"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" if allow_http => 80,
            "http" => return Err(invalid("uses http://, which is not allowed")),
            _ => return Err(invalid("is not http:// or https://")),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => return Err(invalid("has no repository path")),
        };
        if path.len() < 2 {
            return Err(invalid("has no repository path"));
        }
        if !path
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"<>^`{|}".contains(&b))
        {
            return Err(invalid("has characters that are not allowed in a path"));
        }
        let host_port = match authority.rsplit_once('@') {
            Some((userinfo, _)) if userinfo.contains(':') => {
                return Err(invalid("carries a password"));
            }
            Some((_, host_port)) => host_port,
            None => authority,
        };
        let (host, port) =
            split_host_port(host_port).ok_or_else(|| invalid("has no valid host"))?;
        let explicit_port = port.is_some();
        let port = port.unwrap_or(default_port);
        let shown_host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let url = if explicit_port {
            format!("{scheme}://{shown_host}:{port}{path}")
        } else {
            format!("{scheme}://{shown_host}{path}")
        };
        let digest = Sha256::digest(url.as_bytes());
        let key: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            url,
            host,
            port,
            explicit_port,
            key,
        })
    }

    /// `host` or `host:port` as written in the URL, for messages.
    fn host_port(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.explicit_port {
            format!("{host}:{}", self.port)
        } else {
            host
        }
    }
}

/// `host[:port]` or `[v6][:port]` → the lower-case host (brackets removed) and the port.
/// `None` when the host is empty or has characters a host name or address cannot have.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        if !host
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (host, port)
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() || host.starts_with('-') {
        return None;
    }
    if !text.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return None;
    }
    let port = match port {
        None => None,
        // A port with a sign or leading zeros is refused (the number must read back the same).
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port != 0 && port.to_string() == text => Some(port),
            _ => return None,
        },
    };
    Some((host.to_ascii_lowercase(), port))
}

/// An allowed-host entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostRule {
    host: String,
    port: Option<u16>,
}

impl HostRule {
    fn parse(entry: &str) -> Option<Self> {
        let entry = entry.trim();
        if entry.is_empty() || entry.contains(['/', '@']) {
            return None;
        }
        // A bare IPv6 address (several colons, no brackets) has no port.
        let (host, port) = if !entry.starts_with('[') && entry.matches(':').count() > 1 {
            split_host_port(&format!("[{entry}]"))?
        } else {
            split_host_port(entry)?
        };
        Some(Self { host, port })
    }

    fn allows(&self, url: &CloneUrl) -> bool {
        self.host == url.host && self.port.is_none_or(|port| port == url.port)
    }
}

// -------------------------------------------------------------------------------------------
// The repository cache
// -------------------------------------------------------------------------------------------

#[derive(Default)]
struct RepoState {
    /// An operation was cut short (the future dropped): leftovers may be there.
    dirty: bool,
}

struct Slot {
    lock: Arc<Mutex<RepoState>>,
    last_used: u64,
}

struct Repos {
    dir: PathBuf,
    max: usize,
    state: StdMutex<ReposState>,
}

#[derive(Default)]
struct ReposState {
    slots: HashMap<String, Slot>,
    tick: u64,
    seq: u64,
}

impl Repos {
    /// Prepares `dir`: removes half-created and half-deleted repositories, and adopts the
    /// others (least recently modified first out), evicting beyond `max`.
    fn adopt(dir: &Path, max: usize) -> io::Result<Self> {
        let mut found: Vec<(SystemTime, String)> = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with(".trash-") || name.starts_with(".tmp-") {
                std::fs::remove_dir_all(&path)?;
            } else if let Some(key) = name.strip_suffix(".git")
                && key.len() == 32
                && key.bytes().all(|b| b.is_ascii_hexdigit())
                && entry.file_type()?.is_dir()
            {
                let modified = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((modified, key.to_owned()));
            }
        }
        found.sort();
        let repos = Self {
            dir: dir.to_owned(),
            max,
            state: StdMutex::new(ReposState::default()),
        };
        let excess = found.len().saturating_sub(max);
        for (_, key) in &found[..excess] {
            std::fs::remove_dir_all(repos.path(key))?;
        }
        {
            let mut state = repos.lock();
            for (_, key) in &found[excess..] {
                state.tick += 1;
                let tick = state.tick;
                state.slots.insert(
                    key.clone(),
                    Slot {
                        // A crashed process may have left lock files.
                        lock: Arc::new(Mutex::new(RepoState { dirty: true })),
                        last_used: tick,
                    },
                );
            }
        }
        Ok(repos)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReposState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.git"))
    }

    fn temp_path(&self) -> PathBuf {
        let mut state = self.lock();
        state.seq += 1;
        self.dir
            .join(format!(".tmp-{}-{}", std::process::id(), state.seq))
    }

    /// The lock of `key`'s repository, making room for it if it is new.
    fn slot(&self, key: &str) -> Arc<Mutex<RepoState>> {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        if let Some(slot) = state.slots.get_mut(key) {
            slot.last_used = tick;
            return Arc::clone(&slot.lock);
        }
        while state.slots.len() >= self.max {
            // The least recently used repository nobody holds or waits for.
            let idle = state
                .slots
                .iter()
                .filter(|(_, slot)| Arc::strong_count(&slot.lock) == 1)
                .min_by_key(|(_, slot)| slot.last_used)
                .map(|(key, _)| key.clone());
            let Some(victim) = idle else { break };
            state.slots.remove(&victim);
            state.seq += 1;
            let seq = state.seq;
            self.trash(&victim, seq);
        }
        let lock = Arc::new(Mutex::new(RepoState::default()));
        state.slots.insert(
            key.to_owned(),
            Slot {
                lock: Arc::clone(&lock),
                last_used: tick,
            },
        );
        lock
    }

    /// Deletes `key`'s repository (its lock is held by the caller, or nobody holds it): renamed
    /// aside at once, so that a new one can be created at its path, and removed in the
    /// background.
    fn wipe(&self, key: &str) {
        let seq = {
            let mut state = self.lock();
            state.seq += 1;
            state.seq
        };
        self.trash(key, seq);
    }

    fn trash(&self, key: &str, seq: u64) {
        let path = self.path(key);
        let trash = self
            .dir
            .join(format!(".trash-{}-{seq}", std::process::id()));
        if std::fs::rename(&path, &trash).is_ok() {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn_blocking(move || std::fs::remove_dir_all(trash));
                }
                Err(_) => {
                    let _ = std::fs::remove_dir_all(trash);
                }
            }
        }
    }
}

// -------------------------------------------------------------------------------------------
// The set cache
// -------------------------------------------------------------------------------------------

struct SetCache {
    max_sets: usize,
    max_paths: usize,
    state: StdMutex<SetState>,
}

type SetKey = (String, DiffPlan);

#[derive(Default)]
struct SetState {
    /// (clone URL, plan) → (files, last use).
    sets: HashMap<SetKey, (Arc<Vec<String>>, u64)>,
    paths: usize,
    tick: u64,
}

impl SetCache {
    fn new(max_sets: usize, max_paths: usize) -> Self {
        Self {
            max_sets,
            max_paths,
            state: StdMutex::new(SetState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SetState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, url: &str, plan: &DiffPlan) -> Option<Arc<Vec<String>>> {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let entry = state.sets.get_mut(&(url.to_owned(), plan.clone()))?;
        entry.1 = tick;
        Some(Arc::clone(&entry.0))
    }

    fn insert(&self, url: &str, plan: &DiffPlan, files: &[String]) {
        if self.max_sets == 0 || files.len() > self.max_paths {
            return;
        }
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let key = (url.to_owned(), plan.clone());
        if let Some((old, _)) = state.sets.remove(&key) {
            state.paths -= old.len();
        }
        while !state.sets.is_empty()
            && (state.sets.len() >= self.max_sets || state.paths + files.len() > self.max_paths)
        {
            let Some(oldest) = state
                .sets
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            if let Some((old, _)) = state.sets.remove(&oldest) {
                state.paths -= old.len();
            }
        }
        state.paths += files.len();
        state.sets.insert(key, (Arc::new(files.to_vec()), tick));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_parsing() {
        let out = b"M\0src/main.rs\0A\0dir with space/\xc3\xa9t\xc3\xa9.txt\0D\0gone\nwith newline\0R100\0old/name\0new/name\0C75\0a\0b\0T\0link\0";
        assert_eq!(
            parse_name_status(out).unwrap(),
            [
                "a",
                "b",
                "dir with space/été.txt",
                "gone\nwith newline",
                "link",
                "new/name",
                "old/name",
                "src/main.rs",
            ]
        );
        assert_eq!(parse_name_status(b"").unwrap(), Vec::<String>::new());
        // Non-UTF-8 bytes are replaced, not an error.
        assert_eq!(parse_name_status(b"A\0a\xff\0").unwrap(), ["a\u{fffd}"]);
        // Duplicates (a path deleted and added) are listed once.
        assert_eq!(parse_name_status(b"D\0x\0A\0x\0").unwrap(), ["x"]);
        for bad in [
            &b"Z\0x\0"[..],
            b"M\0",
            b"R100\0only-one\0",
            b"M\0\0",
            b"M\0a\0\0M\0b\0",
        ] {
            assert_eq!(parse_name_status(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn clone_urls() {
        let url = CloneUrl::parse("https://Git.Example.com/o/r.git", true).unwrap();
        assert_eq!(url.url, "https://git.example.com/o/r.git");
        assert_eq!((url.host.as_str(), url.port), ("git.example.com", 443));
        assert_eq!(url.host_port(), "git.example.com");
        assert_eq!(url.key.len(), 32);

        let url = CloneUrl::parse("http://octocat@10.0.0.5:3000/o/r.git", true).unwrap();
        assert_eq!(url.url, "http://10.0.0.5:3000/o/r.git");
        assert_eq!(url.host_port(), "10.0.0.5:3000");

        let url = CloneUrl::parse("https://[::1]:8443/o/r", true).unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 8443));
        assert_eq!(url.url, "https://[::1]:8443/o/r");

        for bad in [
            "",
            "-https://x/o/r",
            "file:///etc/passwd",
            "ext::sh -c touch% /tmp/pwned",
            "ssh://git@host/o/r",
            "git://host/o/r",
            "https://user:pass@host/o/r",
            "https://:pass@host/o/r",
            "https://host",
            "https://host/",
            "https:///o/r",
            "https://host/o/r?x=1",
            "https://host/o/r#frag",
            "https://ho st/o/r",
            "https://host/o r",
            "https://host:0/o/r",
            "https://host:99999/o/r",
            "https://host:+80/o/r",
            "https://host:080/o/r",
            "https://-host/o/r",
            "https://host/o/\nr",
            "https://h\u{e9}st/o/r",
            "/local/path",
            "host:o/r",
        ] {
            let err = CloneUrl::parse(bad, true).unwrap_err();
            assert_eq!(err.class(), "invalid", "{bad:?}");
            assert!(!err.to_string().contains("pass@"), "{err}");
        }
        assert!(CloneUrl::parse("http://host/o/r", false).is_err());
    }

    #[test]
    fn host_rules() {
        let url = |u: &str| CloneUrl::parse(u, true).unwrap();
        let rule = |r: &str| HostRule::parse(r).unwrap();
        assert!(rule("git.example.com").allows(&url("https://GIT.example.com:8443/o/r")));
        assert!(rule("Git.Example.com:443").allows(&url("https://git.example.com/o/r")));
        assert!(!rule("git.example.com:8443").allows(&url("https://git.example.com/o/r")));
        assert!(!rule("example.com").allows(&url("https://git.example.com/o/r")));
        assert!(rule("[::1]:3000").allows(&url("http://[::1]:3000/o/r")));
        assert!(rule("::1").allows(&url("http://[::1]:3000/o/r")));
        assert!(rule("127.0.0.1:3000").allows(&url("http://127.0.0.1:3000/o/r")));
        for bad in ["", "http://x", "a/b", "u@h", "h:0", "h:x", "h o"] {
            assert_eq!(HostRule::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn redaction_and_classification() {
        let auth = Auth::new(&Credential::new("x-access-token", "s3cr3t")).unwrap();
        let encoded = BASE64.encode("x-access-token:s3cr3t");
        assert_eq!(auth.header, format!("Authorization: Basic {encoded}"));
        let text = format!("fatal: s3cr3t x-access-token:s3cr3t {encoded}");
        let redacted = auth.redact(&text);
        assert!(
            !redacted.contains("s3cr3t") && !redacted.contains(&encoded),
            "{redacted}"
        );
        assert!(Auth::new(&Credential::new("a:b", "p")).is_err());
        assert!(Auth::new(&Credential::new("a\nb", "p")).is_err());

        let class = |stderr: &str| classify(Some(128), stderr, &[]).class();
        assert_eq!(
            class(
                "fatal: remote error: upload-pack: not our ref 1111111111111111111111111111111111111111"
            ),
            "commit_not_found"
        );
        assert_eq!(
            class("fatal: couldn't find remote ref refs/heads/nope"),
            "commit_not_found"
        );
        assert_eq!(
            class("fatal: Authentication failed for 'http://127.0.0.1:1/r.git/'"),
            "auth"
        );
        assert_eq!(
            class("fatal: could not read Username for 'http://h': terminal prompts disabled"),
            "auth"
        );
        assert_eq!(
            class("fatal: unable to access 'http://h/r/': The requested URL returned error: 403"),
            "auth"
        );
        assert_eq!(
            class("fatal: unable to access 'http://h/r/': The requested URL returned error: 302"),
            "redirect"
        );
        assert_eq!(
            class("fatal: repository 'http://h/r/' not found"),
            "repo_not_found"
        );
        assert_eq!(
            class("fatal: unable to access 'http://h/r/': Failed to connect to h port 1"),
            "unreachable"
        );
        assert_eq!(class("fatal: something else"), "git");
        assert!(detail(Some(1), "").contains("exit status 1"));
        let long = format!("fatal: {}\u{1b}[31m", "x".repeat(1000));
        let d = detail(Some(128), &long);
        assert!(
            d.chars().count() <= DETAIL_MAX + 1 && !d.contains('\u{1b}'),
            "{d}"
        );
    }

    #[test]
    fn set_cache_is_bounded() {
        let cache = SetCache::new(2, 5);
        let plan = |n: u8| DiffPlan::HeadCommit {
            commit: format!("{n:040}"),
        };
        let files = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        cache.insert("u", &plan(1), &files(2));
        cache.insert("u", &plan(2), &files(2));
        assert!(cache.get("u", &plan(1)).is_some()); // 1 is now more recent than 2
        cache.insert("u", &plan(3), &files(2));
        assert!(cache.get("u", &plan(2)).is_none());
        assert!(cache.get("u", &plan(1)).is_some());
        cache.insert("u", &plan(4), &files(4)); // 2 + 4 > 5 paths: 1 and 3 go
        assert!(cache.get("u", &plan(4)).is_some());
        assert!(cache.get("u", &plan(1)).is_none() || cache.get("u", &plan(3)).is_none());
        assert!(cache.lock().paths <= 5);
        cache.insert("u", &plan(5), &files(6)); // larger than the whole cache: not kept
        assert!(cache.get("u", &plan(5)).is_none());
    }
}
