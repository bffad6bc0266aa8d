use serde::{Deserialize, Serialize};

use super::{Build, null_default};

/// A repository (drone-go `drone.Repo`).
///
/// Sent in the requests of every kind that is about a build: secret, registry, environ, config,
/// convert, validate and build webhooks. How complete it is depends on the caller:
///
/// * **Runners** (secret, registry, environ) pass on the full object they received from the
///   server, including [`secret`](Self::secret), the repository's signing secret.
/// * The **server** (config, convert, validate) fills only the identifying fields (id, uid,
///   user_id, namespace, name, slug, scm, URLs, link, default_branch, private, visibility, active,
///   config_path, trusted, protected, timeout); everything else is zero.
/// * Servers up to v2.0.4 never send [`throttle`](Self::throttle) or
///   [`auto_cancel_running`](Self::auto_cancel_running); they decode as zero.
///
/// The server's webhook sender adds a `permissions` object, which is ignored.
///
/// [`build`](Self::build) is a struct held by value in Go, so it is always encoded, as a full
/// zero-valued build when nothing was set.
///
/// The `Debug` output redacts [`signer`](Self::signer) and [`secret`](Self::secret).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Repo {
    /// Database id.
    #[serde(deserialize_with = "null_default")]
    pub id: i64,
    /// Id of the repository in the source-control system. A string, although the docs say integer.
    #[serde(deserialize_with = "null_default")]
    pub uid: String,
    /// Id of the Drone user who activated the repository.
    #[serde(deserialize_with = "null_default")]
    pub user_id: i64,
    /// Owner (user or organisation), e.g. `octocat`.
    #[serde(deserialize_with = "null_default")]
    pub namespace: String,
    /// Repository name, e.g. `hello-world`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// `namespace/name`, e.g. `octocat/hello-world`. Compare [`Build::source_repo`] with it to
    /// detect forks (see [`Build::is_fork`]).
    #[serde(deserialize_with = "null_default")]
    pub slug: String,
    /// Source-control system, e.g. `git`.
    #[serde(deserialize_with = "null_default")]
    pub scm: String,
    /// HTTP clone URL.
    #[serde(deserialize_with = "null_default")]
    pub git_http_url: String,
    /// SSH clone URL.
    #[serde(deserialize_with = "null_default")]
    pub git_ssh_url: String,
    /// Web page of the repository.
    #[serde(deserialize_with = "null_default")]
    pub link: String,
    /// Default branch, e.g. `main`.
    #[serde(deserialize_with = "null_default")]
    pub default_branch: String,
    /// Whether the repository is private in the source-control system.
    #[serde(deserialize_with = "null_default")]
    pub private: bool,
    /// Drone visibility: `public`, `private` or `internal`.
    #[serde(deserialize_with = "null_default")]
    pub visibility: String,
    /// Whether the repository is activated in Drone.
    #[serde(deserialize_with = "null_default")]
    pub active: bool,
    /// Path of the pipeline configuration file, e.g. `.drone.yml` (the docs call it `config`).
    #[serde(deserialize_with = "null_default")]
    pub config_path: String,
    /// Whether pipelines may use privileged settings.
    #[serde(deserialize_with = "null_default")]
    pub trusted: bool,
    /// Whether the configuration must be signed.
    #[serde(deserialize_with = "null_default")]
    pub protected: bool,
    /// Whether builds from forks are ignored.
    #[serde(deserialize_with = "null_default")]
    pub ignore_forks: bool,
    /// Whether pull-request builds are ignored.
    #[serde(deserialize_with = "null_default")]
    pub ignore_pull_requests: bool,
    /// Whether pending pull-request builds are cancelled by newer ones.
    #[serde(deserialize_with = "null_default")]
    pub auto_cancel_pull_requests: bool,
    /// Whether pending push builds are cancelled by newer ones.
    #[serde(deserialize_with = "null_default")]
    pub auto_cancel_pushes: bool,
    /// Whether running builds are cancelled by newer ones. Never sent by servers up to v2.0.4.
    #[serde(deserialize_with = "null_default")]
    pub auto_cancel_running: bool,
    /// Maximum number of concurrent builds. Never sent by servers up to v2.0.4.
    #[serde(deserialize_with = "null_default")]
    pub throttle: i64,
    /// Build timeout in minutes.
    #[serde(deserialize_with = "null_default")]
    pub timeout: i64,
    /// Number of the last build.
    #[serde(deserialize_with = "null_default")]
    pub counter: i64,
    /// Unix time of the last synchronisation.
    #[serde(deserialize_with = "null_default")]
    pub synced: i64,
    /// Unix time the repository was created in Drone.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    /// Unix time the repository was last updated.
    #[serde(deserialize_with = "null_default")]
    pub updated: i64,
    /// Version, for optimistic locking.
    #[serde(deserialize_with = "null_default")]
    pub version: i64,
    /// Secret that authenticates the source-control system's webhooks for this repository.
    /// Sensitive: never log it; redacted in `Debug`. Omitted from JSON when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub signer: String,
    /// The repository signing secret: the key of the configuration signature of protected
    /// repositories and of `drone encrypt` secrets. Runners pass it on from the server. Sensitive:
    /// never log it; redacted in `Debug`. Omitted from JSON when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub secret: String,
    /// The repository's last build, when the caller set it (webhook `build:updated`); otherwise a
    /// zero build. Always encoded.
    #[serde(deserialize_with = "null_default")]
    pub build: Build,
}

debug_redacting!(Repo {
    id,
    uid,
    user_id,
    namespace,
    name,
    slug,
    scm,
    git_http_url,
    git_ssh_url,
    link,
    default_branch,
    private,
    visibility,
    active,
    config_path,
    trusted,
    protected,
    ignore_forks,
    ignore_pull_requests,
    auto_cancel_pull_requests,
    auto_cancel_pushes,
    auto_cancel_running,
    throttle,
    timeout,
    counter,
    synced,
    created,
    updated,
    version,
    #[redact]
    signer,
    #[redact]
    secret,
    build,
});
