//! Drone 0.8 models, used only by the 0.8 enterprise "global secrets endpoint".

use serde::{Deserialize, Serialize};

use super::{is_false, is_zero, null_default};

/// A repository as Drone 0.8 encodes it (`model.Repo` of drone v0.8.10).
///
/// The `repo` member of a 0.8 global-secrets request. The names differ from the v1 [`Repo`]
/// (`owner`, `full_name`, `clone_url`, `last_build`, `config_file`, …).
///
/// [`Repo`]: super::Repo
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacyRepo {
    /// Database id. Omitted when `0`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub id: i64,
    /// Owner, e.g. `octocat`.
    #[serde(deserialize_with = "null_default")]
    pub owner: String,
    /// Repository name, e.g. `hello-world`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// `owner/name`, e.g. `octocat/hello-world`.
    #[serde(deserialize_with = "null_default")]
    pub full_name: String,
    /// Avatar URL. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub avatar_url: String,
    /// Web page of the repository. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub link_url: String,
    /// Source-control system, e.g. `git`. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub scm: String,
    /// Clone URL. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub clone_url: String,
    /// Default branch. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub default_branch: String,
    /// Build timeout in minutes. Omitted when `0`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub timeout: i64,
    /// Visibility: `public`, `private` or `internal`.
    #[serde(deserialize_with = "null_default")]
    pub visibility: String,
    /// Whether the repository is private.
    #[serde(deserialize_with = "null_default")]
    pub private: bool,
    /// Whether pipelines may use privileged settings.
    #[serde(deserialize_with = "null_default")]
    pub trusted: bool,
    /// Whether the requesting user starred the repository. Omitted when `false`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub starred: bool,
    /// Whether builds need approval.
    #[serde(deserialize_with = "null_default")]
    pub gated: bool,
    /// Whether the repository is activated.
    #[serde(deserialize_with = "null_default")]
    pub active: bool,
    /// Whether pull requests trigger builds.
    #[serde(deserialize_with = "null_default")]
    pub allow_pr: bool,
    /// Whether pushes trigger builds.
    #[serde(deserialize_with = "null_default")]
    pub allow_push: bool,
    /// Whether deployments trigger builds.
    #[serde(deserialize_with = "null_default")]
    pub allow_deploys: bool,
    /// Whether tags trigger builds.
    #[serde(deserialize_with = "null_default")]
    pub allow_tags: bool,
    /// Number of the last build.
    #[serde(deserialize_with = "null_default")]
    pub last_build: i64,
    /// Path of the pipeline configuration file, e.g. `.drone.yml`.
    #[serde(deserialize_with = "null_default")]
    pub config_file: String,
}

/// A build as Drone 0.8 encodes it (`model.Build` of drone v0.8.10).
///
/// The `build` member of a 0.8 global-secrets request. The names differ from the v1
/// [`Build`](super::Build) (`commit`, `branch`, `author`, `*_at` timestamps, …). Every field is
/// always encoded except `procs` and `files`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacyBuild {
    /// Database id.
    #[serde(deserialize_with = "null_default")]
    pub id: i64,
    /// Build number.
    #[serde(deserialize_with = "null_default")]
    pub number: i64,
    /// Number of the parent build, for restarts and deployments.
    #[serde(deserialize_with = "null_default")]
    pub parent: i64,
    /// Event: `push`, `pull_request`, `tag` or `deployment`.
    #[serde(deserialize_with = "null_default")]
    pub event: String,
    /// Status, e.g. `pending`.
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// Error message.
    #[serde(deserialize_with = "null_default")]
    pub error: String,
    /// Unix time the build was queued.
    #[serde(deserialize_with = "null_default")]
    pub enqueued_at: i64,
    /// Unix time the build was created.
    #[serde(deserialize_with = "null_default")]
    pub created_at: i64,
    /// Unix time the build started.
    #[serde(deserialize_with = "null_default")]
    pub started_at: i64,
    /// Unix time the build finished.
    #[serde(deserialize_with = "null_default")]
    pub finished_at: i64,
    /// Deployment target.
    #[serde(deserialize_with = "null_default")]
    pub deploy_to: String,
    /// Commit SHA.
    #[serde(deserialize_with = "null_default")]
    pub commit: String,
    /// Branch.
    #[serde(deserialize_with = "null_default")]
    pub branch: String,
    /// Git reference, e.g. `refs/heads/master`.
    #[serde(deserialize_with = "null_default")]
    pub r#ref: String,
    /// Refspec of a pull request.
    #[serde(deserialize_with = "null_default")]
    pub refspec: String,
    /// Clone URL of the repository the change comes from.
    #[serde(deserialize_with = "null_default")]
    pub remote: String,
    /// Pull-request title.
    #[serde(deserialize_with = "null_default")]
    pub title: String,
    /// Commit message.
    #[serde(deserialize_with = "null_default")]
    pub message: String,
    /// Unix time of the commit.
    #[serde(deserialize_with = "null_default")]
    pub timestamp: i64,
    /// Login of the user who caused the event.
    #[serde(deserialize_with = "null_default")]
    pub sender: String,
    /// Login of the commit author.
    #[serde(deserialize_with = "null_default")]
    pub author: String,
    /// Avatar URL of the commit author.
    #[serde(deserialize_with = "null_default")]
    pub author_avatar: String,
    /// Email of the commit author.
    #[serde(deserialize_with = "null_default")]
    pub author_email: String,
    /// Link to the change.
    #[serde(deserialize_with = "null_default")]
    pub link_url: String,
    /// Deprecated in 0.8: whether the configuration is signed.
    #[serde(deserialize_with = "null_default")]
    pub signed: bool,
    /// Deprecated in 0.8: whether the configuration signature verified.
    #[serde(deserialize_with = "null_default")]
    pub verified: bool,
    /// Login of the user who approved a gated build.
    #[serde(deserialize_with = "null_default")]
    pub reviewed_by: String,
    /// Unix time of the approval.
    #[serde(deserialize_with = "null_default")]
    pub reviewed_at: i64,
    /// The build's processes, kept as raw JSON (never set while a build is compiled). Omitted
    /// when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub procs: Vec<serde_json::Value>,
    /// The build's files, kept as raw JSON (never set while a build is compiled). Omitted when
    /// empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub files: Vec<serde_json::Value>,
}

/// A secret as Drone 0.8 encodes it (`model.Secret` of drone v0.8.10), the elements of a
/// global-secrets answer.
///
/// The answer is always a JSON array, `[]` when there are none:
/// `[{"name":"docker_username","value":"octocat","event":["push","tag"]}]`. Drone keys secrets
/// by lower-cased name; repository secrets override global ones of the same name.
///
/// Encoding differs from the Go struct in one respect, on purpose: Go always writes `id` and
/// `image`, this type omits them when `0` or empty, as the documented answers do. A 0.8 server
/// decodes a missing key as the same zero value, so nothing changes for it. `value` is omitted
/// when empty (it is `omitempty` in Go); `event` is always written, `[]` when empty (Go writes
/// `null` for a nil list; 0.8 treats both as "every event").
///
/// The `Debug` output redacts [`value`](Self::value).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacySecret {
    /// Database id. Omitted when `0`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub id: i64,
    /// Secret name, e.g. `docker_username`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Secret value. Omitted when empty; redacted in `Debug`.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub value: String,
    /// Images allowed to use the secret (`filepath.Match` patterns); empty allows every image.
    /// Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub image: Vec<String>,
    /// Events allowed to use the secret (`filepath.Match` patterns against the build event);
    /// empty allows every event.
    #[serde(deserialize_with = "null_default")]
    pub event: Vec<String>,
}

debug_redacting!(LegacySecret {
    id,
    name,
    #[redact]
    value,
    image,
    event,
});
