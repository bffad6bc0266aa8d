use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Repo, is_false, is_zero, null_default};

/// A build (drone-go `drone.Build`).
///
/// Sent with a [`Repo`] in the requests of the secret, registry, environ, config, convert and
/// validate kinds and in build webhooks.
///
/// * From **runners** (secret, registry, environ) it is the saved build, with its number, status
///   and timestamps.
/// * From the **server** (config, convert, validate) it is the build about to be created: `id`
///   and `number` are `0`, `status` is `pending`, and `cron`, `deploy_id` and `debug` are not set.
///
/// Use [`event`](Self::event), [`source_repo`](Self::source_repo) and
/// [`is_fork`](Self::is_fork) to decide what a pull request may see: runners hand whatever a
/// secret extension returns to the pipeline, pull requests from forks included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Build {
    /// Database id; `0` before the build is saved (config, convert, validate).
    #[serde(deserialize_with = "null_default")]
    pub id: i64,
    /// Id of the repository.
    #[serde(deserialize_with = "null_default")]
    pub repo_id: i64,
    /// What triggered the build: `@hook`, `@cron`, or the login of the user who started it.
    #[serde(deserialize_with = "null_default")]
    pub trigger: String,
    /// Build number within the repository; `0` before the build is saved.
    #[serde(deserialize_with = "null_default")]
    pub number: i64,
    /// Number of the build this one was restarted or promoted from. Omitted when `0`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub parent: i64,
    /// Status: `pending`, `running`, `success`, `failure`, `error`, `killed`, …
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// Error message of a build that could not run. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub error: String,
    /// Event: `push`, `pull_request`, `tag`, `promote`, `rollback`, `cron` or `custom`.
    #[serde(deserialize_with = "null_default")]
    pub event: String,
    /// Event action, e.g. `opened` or `synchronized` for pull requests.
    #[serde(deserialize_with = "null_default")]
    pub action: String,
    /// Link to the change in the source-control system.
    #[serde(deserialize_with = "null_default")]
    pub link: String,
    /// Unix time of the commit or event.
    #[serde(deserialize_with = "null_default")]
    pub timestamp: i64,
    /// Pull-request title. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub title: String,
    /// Commit message.
    #[serde(deserialize_with = "null_default")]
    pub message: String,
    /// Commit SHA before the change.
    #[serde(deserialize_with = "null_default")]
    pub before: String,
    /// Commit SHA being built.
    #[serde(deserialize_with = "null_default")]
    pub after: String,
    /// Git reference, e.g. `refs/heads/main` or `refs/pull/1/head`.
    #[serde(deserialize_with = "null_default")]
    pub r#ref: String,
    /// Slug (`namespace/name`) of the repository the change comes from. Non-empty and different
    /// from [`Repo::slug`] for a pull request from a fork.
    #[serde(deserialize_with = "null_default")]
    pub source_repo: String,
    /// Source branch.
    #[serde(deserialize_with = "null_default")]
    pub source: String,
    /// Target branch (the branch pushed to, or the pull request's base).
    #[serde(deserialize_with = "null_default")]
    pub target: String,
    /// Login of the commit author.
    #[serde(deserialize_with = "null_default")]
    pub author_login: String,
    /// Name of the commit author.
    #[serde(deserialize_with = "null_default")]
    pub author_name: String,
    /// Email of the commit author.
    #[serde(deserialize_with = "null_default")]
    pub author_email: String,
    /// Avatar URL of the commit author.
    #[serde(deserialize_with = "null_default")]
    pub author_avatar: String,
    /// Login of the user who caused the event.
    #[serde(deserialize_with = "null_default")]
    pub sender: String,
    /// Parameters of custom builds and promotions. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub params: BTreeMap<String, String>,
    /// Name of the cron job that started the build. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub cron: String,
    /// Deployment target of a promotion. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub deploy_to: String,
    /// Deployment id in the source-control system. Omitted when `0`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub deploy_id: i64,
    /// Whether debug mode is on.
    #[serde(deserialize_with = "null_default")]
    pub debug: bool,
    /// Unix time the build started; `0` before.
    #[serde(deserialize_with = "null_default")]
    pub started: i64,
    /// Unix time the build finished; `0` before.
    #[serde(deserialize_with = "null_default")]
    pub finished: i64,
    /// Unix time the build was created.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    /// Unix time the build was last updated.
    #[serde(deserialize_with = "null_default")]
    pub updated: i64,
    /// Version, for optimistic locking.
    #[serde(deserialize_with = "null_default")]
    pub version: i64,
    /// The build's stages, when the caller included them (build webhooks). Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub stages: Vec<Stage>,
}

impl Build {
    /// Whether the build is for a pull request (`event == "pull_request"`).
    ///
    /// ```
    /// use drone_extension::models::Build;
    ///
    /// let build = Build { event: "pull_request".into(), ..Default::default() };
    /// assert!(build.is_pull_request());
    /// ```
    pub fn is_pull_request(&self) -> bool {
        self.event == "pull_request"
    }

    /// Whether the change comes from another repository than `repo`: [`source_repo`] is set and
    /// differs from [`Repo::slug`] (the fork test of drone-vault's `X-Drone-Disallow-Forks`).
    ///
    /// The comparison is exact, so a difference in case counts as a fork: a wrong guess denies a
    /// secret rather than leaking it.
    ///
    /// ```
    /// use drone_extension::models::{Build, Repo};
    ///
    /// let repo = Repo { slug: "octocat/hello-world".into(), ..Default::default() };
    /// let mut build = Build {
    ///     event: "pull_request".into(),
    ///     source_repo: "spacekitty/hello-world".into(),
    ///     ..Default::default()
    /// };
    /// assert!(build.is_fork(&repo));
    ///
    /// build.source_repo = repo.slug.clone();
    /// assert!(!build.is_fork(&repo));
    /// ```
    ///
    /// [`source_repo`]: Self::source_repo
    pub fn is_fork(&self, repo: &Repo) -> bool {
        !self.source_repo.is_empty() && self.source_repo != repo.slug
    }
}

/// A stage of a build, one pipeline (drone-go `drone.Stage`).
///
/// Only present in [`Build::stages`] of build webhooks. The server's `core.Stage` also sends
/// `repo_id`, which is ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stage {
    /// Database id.
    #[serde(deserialize_with = "null_default")]
    pub id: i64,
    /// Id of the build.
    #[serde(deserialize_with = "null_default")]
    pub build_id: i64,
    /// Stage number within the build.
    #[serde(deserialize_with = "null_default")]
    pub number: i64,
    /// Pipeline name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Pipeline kind, e.g. `pipeline`. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// Pipeline type, e.g. `docker`. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub r#type: String,
    /// Status, as for [`Build::status`].
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// Error message. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub error: String,
    /// Whether a failure of this stage is ignored.
    #[serde(deserialize_with = "null_default")]
    pub errignore: bool,
    /// Exit code.
    #[serde(deserialize_with = "null_default")]
    pub exit_code: i64,
    /// Runner machine name. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub machine: String,
    /// Target operating system, e.g. `linux`.
    #[serde(deserialize_with = "null_default")]
    pub os: String,
    /// Target architecture, e.g. `amd64`.
    #[serde(deserialize_with = "null_default")]
    pub arch: String,
    /// Architecture variant. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub variant: String,
    /// Kernel version. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kernel: String,
    /// Concurrency limit of the pipeline. Omitted when `0`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub limit: i64,
    /// Concurrency limit per repository (Go field `LimitRepo`). Omitted when `0`; never sent by
    /// servers up to v2.0.4.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub throttle: i64,
    /// Unix time the stage started.
    #[serde(deserialize_with = "null_default")]
    pub started: i64,
    /// Unix time the stage stopped.
    #[serde(deserialize_with = "null_default")]
    pub stopped: i64,
    /// Unix time the stage was created.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    /// Unix time the stage was last updated.
    #[serde(deserialize_with = "null_default")]
    pub updated: i64,
    /// Version, for optimistic locking.
    #[serde(deserialize_with = "null_default")]
    pub version: i64,
    /// Whether the stage runs when its dependencies succeeded.
    #[serde(deserialize_with = "null_default")]
    pub on_success: bool,
    /// Whether the stage runs when a dependency failed.
    #[serde(deserialize_with = "null_default")]
    pub on_failure: bool,
    /// Names of the stages this one depends on. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub depends_on: Vec<String>,
    /// Runner labels. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// The stage's steps. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub steps: Vec<Step>,
}

/// A step of a stage (drone-go `drone.Step`).
///
/// Only present in [`Stage::steps`] of build webhooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Step {
    /// Database id.
    #[serde(deserialize_with = "null_default")]
    pub id: i64,
    /// Id of the **stage** this step belongs to: the key really is `step_id` (Go field `StageID`).
    #[serde(deserialize_with = "null_default")]
    pub step_id: i64,
    /// Step number within the stage.
    #[serde(deserialize_with = "null_default")]
    pub number: i64,
    /// Step name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Status, as for [`Build::status`].
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// Error message. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub error: String,
    /// Whether a failure of this step is ignored. Omitted when `false`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub errignore: bool,
    /// Exit code.
    #[serde(deserialize_with = "null_default")]
    pub exit_code: i64,
    /// Unix time the step started. Omitted when `0`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub started: i64,
    /// Unix time the step stopped. Omitted when `0`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub stopped: i64,
    /// Version, for optimistic locking.
    #[serde(deserialize_with = "null_default")]
    pub version: i64,
    /// Names of the steps this one depends on. Omitted when empty; never sent by servers up to
    /// v2.0.4.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub depends_on: Vec<String>,
    /// Container image. Omitted when empty; never sent by servers up to v2.0.4.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub image: String,
    /// Whether the step runs detached (a service). Omitted when `false`; never sent by servers up
    /// to v2.0.4.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub detached: bool,
    /// Schema of the step's card. Omitted when empty; never sent by servers up to v2.0.4.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub schema: String,
}
