//! The JSON Woodpecker sends to and expects from its extensions.
//!
//! Every field defaults when missing or `null` and unknown fields are ignored: Woodpecker's models
//! gain and lose fields between releases (3.14 to 3.17 added `rerun_count`, `pr_draft`,
//! `release`, ...), and Go sends `null` for an empty slice. Types holding a credential ([`Netrc`],
//! [`Secret`], [`Registry`]) redact it in `Debug`.
//!
//! # Compatibility policy
//!
//! Woodpecker is alive and adds fields to these types in minor releases, so every struct here is
//! `#[non_exhaustive]`: a field Woodpecker adds is a minor release of this crate, not a breaking
//! one. Build them with a constructor or `Default` and set fields, never with a struct literal:
//!
//! ```
//! use drone_extension::woodpecker::{ConfigFile, ConfigRequest, Registry, Secret};
//!
//! let secret = Secret::new("docker_password", "hunter2").events(["push", "tag"]);
//! let registry = Registry::new("docker.io", "octocat", "hunter2");
//! let mut request = ConfigRequest::default();
//! request.repo.full_name = "octocat/hello-world".into();
//! request.configuration = vec![ConfigFile::new(".woodpecker.yaml", "steps: []")];
//! # let _ = (secret, registry, request);
//! ```
//!
//! ```compile_fail,E0639
//! // A struct literal would break with every field Woodpecker adds, so it does not compile:
//! let secret = drone_extension::woodpecker::Secret {
//!     name: "a".into(),
//!     ..Default::default()
//! };
//! ```
//!
//! Drone's models ([`crate::models`]) follow the other policy, for a protocol that no longer
//! changes.

use serde::{Deserialize, Serialize};

use crate::models::null_default;

/// The repository (`model.Repo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Repo {
    /// Woodpecker's id of the repository.
    #[serde(deserialize_with = "null_default")]
    pub id: i64,
    /// The forge's id in Woodpecker.
    #[serde(deserialize_with = "null_default")]
    pub forge_id: i64,
    /// The forge's own id of the repository.
    #[serde(deserialize_with = "null_default")]
    pub forge_remote_id: String,
    /// The organisation's id in Woodpecker.
    #[serde(deserialize_with = "null_default")]
    pub org_id: i64,
    /// The owner (user or organisation).
    #[serde(deserialize_with = "null_default")]
    pub owner: String,
    /// The name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// `owner/name`.
    #[serde(deserialize_with = "null_default")]
    pub full_name: String,
    /// The avatar URL.
    #[serde(deserialize_with = "null_default")]
    pub avatar_url: String,
    /// The web URL.
    #[serde(deserialize_with = "null_default")]
    pub forge_url: String,
    /// The HTTP clone URL.
    #[serde(deserialize_with = "null_default")]
    pub clone_url: String,
    /// The SSH clone URL.
    #[serde(deserialize_with = "null_default")]
    pub clone_url_ssh: String,
    /// The default branch.
    #[serde(deserialize_with = "null_default")]
    pub default_branch: String,
    /// Whether pull requests are enabled at the forge.
    #[serde(deserialize_with = "null_default")]
    pub pr_enabled: bool,
    /// The pipeline timeout, in minutes.
    #[serde(deserialize_with = "null_default")]
    pub timeout: i64,
    /// `public`, `private` or `internal`.
    #[serde(deserialize_with = "null_default")]
    pub visibility: String,
    /// Whether the repository is private.
    #[serde(deserialize_with = "null_default")]
    pub private: bool,
    /// What the repository's pipelines are trusted with.
    #[serde(deserialize_with = "null_default")]
    pub trusted: Trusted,
    /// `none`, `forks`, `pull_requests` or `all_events`.
    #[serde(deserialize_with = "null_default")]
    pub require_approval: String,
    /// Users whose pipelines need no approval (`null` when unset).
    #[serde(deserialize_with = "null_default")]
    pub approval_allowed_users: Option<Vec<String>>,
    /// Whether the repository is active.
    #[serde(deserialize_with = "null_default")]
    pub active: bool,
    /// Whether pull-request pipelines run.
    #[serde(deserialize_with = "null_default")]
    pub allow_pr: bool,
    /// Whether deployments are allowed.
    #[serde(deserialize_with = "null_default")]
    pub allow_deploy: bool,
    /// The custom config path, or empty.
    #[serde(deserialize_with = "null_default")]
    pub config_file: String,
    /// Events whose earlier pipelines are cancelled.
    #[serde(deserialize_with = "null_default")]
    pub cancel_previous_pipeline_events: Option<Vec<String>>,
    /// Plugins trusted with the netrc.
    #[serde(deserialize_with = "null_default")]
    pub netrc_trusted: Option<Vec<String>>,
    /// The per-repository config extension.
    #[serde(deserialize_with = "null_default")]
    pub config_extension_endpoint: String,
    /// Whether only the per-repository config extension produces config.
    #[serde(deserialize_with = "null_default")]
    pub config_extension_exclusive: bool,
    /// Whether the config extension receives the netrc.
    #[serde(deserialize_with = "null_default")]
    pub config_extension_netrc: bool,
    /// The per-repository registry extension.
    #[serde(deserialize_with = "null_default")]
    pub registry_extension_endpoint: String,
    /// Whether the registry extension receives the netrc.
    #[serde(deserialize_with = "null_default")]
    pub registry_extension_netrc: bool,
    /// The per-repository secret extension.
    #[serde(deserialize_with = "null_default")]
    pub secret_extension_endpoint: String,
    /// Whether the secret extension receives the netrc.
    #[serde(deserialize_with = "null_default")]
    pub secret_extension_netrc: bool,
}

/// What a repository's pipelines are trusted with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Trusted {
    /// Network access.
    #[serde(deserialize_with = "null_default")]
    pub network: bool,
    /// Volumes.
    #[serde(deserialize_with = "null_default")]
    pub volumes: bool,
    /// Privileged security options.
    #[serde(deserialize_with = "null_default")]
    pub security: bool,
}

/// The pipeline (`model.Pipeline`, not the REST API's `APIPipeline`). Fields this crate does not name (`cancel_info`, `workflows`, `release`, ...) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Pipeline {
    /// Woodpecker's id of the pipeline.
    #[serde(deserialize_with = "null_default")]
    pub id: i64,
    /// The pipeline number in the repository.
    #[serde(deserialize_with = "null_default")]
    pub number: i64,
    /// The commit author's login.
    #[serde(deserialize_with = "null_default")]
    pub author: String,
    /// The pipeline this one re-runs, or 0.
    #[serde(deserialize_with = "null_default")]
    pub parent: i64,
    /// `push`, `pull_request`, `pull_request_closed`, `pull_request_metadata`, `tag`, `release`, `deployment`, `cron` or `manual`.
    #[serde(deserialize_with = "null_default")]
    pub event: String,
    /// Why the event fired (often `null`).
    #[serde(deserialize_with = "null_default")]
    pub event_reason: Option<Vec<String>>,
    /// `created`, or `blocked` when approval is required, when the config extension is called.
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// Linter and compiler errors (often `null`).
    #[serde(deserialize_with = "null_default")]
    pub errors: Option<Vec<serde_json::Value>>,
    /// Unix seconds.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    /// Unix seconds.
    #[serde(deserialize_with = "null_default")]
    pub updated: i64,
    /// Unix seconds (0 = not yet).
    #[serde(deserialize_with = "null_default")]
    pub started: i64,
    /// Unix seconds (0 = not yet).
    #[serde(deserialize_with = "null_default")]
    pub finished: i64,
    /// The deployment target.
    #[serde(deserialize_with = "null_default")]
    pub deploy_to: String,
    /// The deployment task.
    #[serde(deserialize_with = "null_default")]
    pub deploy_task: String,
    /// The commit SHA.
    #[serde(deserialize_with = "null_default")]
    pub commit: String,
    /// The branch.
    #[serde(deserialize_with = "null_default")]
    pub branch: String,
    /// How many times it was re-run (Woodpecker 3.15+).
    #[serde(deserialize_with = "null_default")]
    pub rerun_count: i64,
    /// The git ref.
    #[serde(deserialize_with = "null_default")]
    pub r#ref: String,
    /// The refspec of a pull request.
    #[serde(deserialize_with = "null_default")]
    pub refspec: String,
    /// The author's avatar URL.
    #[serde(deserialize_with = "null_default")]
    pub author_avatar: String,
    /// Link to the commit or pull request.
    #[serde(deserialize_with = "null_default")]
    pub forge_url: String,
    /// Who approved it.
    #[serde(deserialize_with = "null_default")]
    pub reviewed_by: String,
    /// When it was approved (Unix seconds).
    #[serde(deserialize_with = "null_default")]
    pub reviewed: i64,
    /// The files the commit changed.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub changed_files: Vec<String>,
    /// Manual, cron or API variables.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "std::collections::BTreeMap::is_empty"
    )]
    pub variables: std::collections::BTreeMap<String, String>,
    /// Pull-request labels.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub pr_labels: Vec<String>,
    /// Pull-request milestone.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub pr_milestone: String,
    /// Whether the pull request is a draft (3.16+).
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub pr_draft: bool,
    /// The cron job's name.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub cron: String,
    /// Whether a pull request comes from a fork.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub from_fork: bool,
    /// The Woodpecker version that created it.
    #[serde(deserialize_with = "null_default")]
    pub version: String,
    /// The commit title.
    #[serde(deserialize_with = "null_default")]
    pub title: String,
    /// The commit message.
    #[serde(deserialize_with = "null_default")]
    pub message: String,
    /// The commit time (Unix seconds).
    #[serde(deserialize_with = "null_default")]
    pub timestamp: i64,
    /// Who triggered it.
    #[serde(deserialize_with = "null_default")]
    pub sender: String,
    /// The commit author's e-mail.
    #[serde(deserialize_with = "null_default")]
    pub author_email: String,
}

/// A pipeline configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ConfigFile {
    /// The file path in the repository, e.g. `.woodpecker/build.yaml`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// The file content (YAML).
    #[serde(deserialize_with = "null_default")]
    pub data: String,
}

impl ConfigFile {
    /// The file `name` with content `data`.
    pub fn new(name: impl Into<String>, data: impl Into<String>) -> ConfigFile {
        ConfigFile {
            name: name.into(),
            data: data.into(),
        }
    }
}

/// The forge credentials, sent only when the operator enabled `*_EXTENSION_NETRC`: a **live forge
/// token** (GitHub puts the OAuth token in `login`). `Debug` redacts `login` and `password`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Netrc {
    /// The forge host.
    #[serde(deserialize_with = "null_default")]
    pub machine: String,
    /// The login (a token on some forges).
    #[serde(deserialize_with = "null_default")]
    pub login: String,
    /// The password (a token on some forges).
    #[serde(deserialize_with = "null_default")]
    pub password: String,
    /// The forge type: `github`, `gitlab`, `gitea`, `forgejo`, `bitbucket`, `bitbucket-dc`, `addon`.
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub forge: String,
}

impl std::fmt::Debug for Netrc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netrc")
            .field("machine", &self.machine)
            .field("login", &"<redacted>")
            .field("password", &"<redacted>")
            .field("type", &self.forge)
            .finish()
    }
}

/// The config extension's request: `{repo, pipeline, netrc, configuration}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ConfigRequest {
    /// The repository.
    #[serde(deserialize_with = "null_default")]
    pub repo: Repo,
    /// The pipeline being created (or restarted).
    #[serde(deserialize_with = "null_default")]
    pub pipeline: Pipeline,
    /// The forge credentials, when enabled (`null` otherwise).
    pub netrc: Option<Netrc>,
    /// The files the previous stage produced (the forge's, another extension's); absent when
    /// there are none (exclusive mode, forge failure).
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub configuration: Vec<ConfigFile>,
}

impl ConfigRequest {
    /// A request for `repo` and `pipeline`, without netrc, with no incoming files.
    pub fn new(repo: Repo, pipeline: Pipeline) -> ConfigRequest {
        ConfigRequest {
            repo,
            pipeline,
            ..ConfigRequest::default()
        }
    }
}

/// The secret extension's request: `{repo, pipeline, netrc?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SecretRequest {
    /// The repository.
    #[serde(deserialize_with = "null_default")]
    pub repo: Repo,
    /// The pipeline.
    #[serde(deserialize_with = "null_default")]
    pub pipeline: Pipeline,
    /// The forge credentials, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netrc: Option<Netrc>,
}

impl SecretRequest {
    /// A request for `repo` and `pipeline`, without netrc.
    pub fn new(repo: Repo, pipeline: Pipeline) -> SecretRequest {
        SecretRequest {
            repo,
            pipeline,
            ..SecretRequest::default()
        }
    }
}

/// The registry extension's request: `{repo, pipeline, netrc?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RegistryRequest {
    /// The repository.
    #[serde(deserialize_with = "null_default")]
    pub repo: Repo,
    /// The pipeline.
    #[serde(deserialize_with = "null_default")]
    pub pipeline: Pipeline,
    /// The forge credentials, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netrc: Option<Netrc>,
}

impl RegistryRequest {
    /// A request for `repo` and `pipeline`, without netrc.
    pub fn new(repo: Repo, pipeline: Pipeline) -> RegistryRequest {
        RegistryRequest {
            repo,
            pipeline,
            ..RegistryRequest::default()
        }
    }
}

/// The config extension's answer: `{"configs":[...]}`; the files **replace** the pipeline's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ConfigResponse {
    /// The files.
    #[serde(deserialize_with = "null_default")]
    pub configs: Vec<ConfigFile>,
}

impl From<Vec<ConfigFile>> for ConfigResponse {
    fn from(configs: Vec<ConfigFile>) -> ConfigResponse {
        ConfigResponse { configs }
    }
}

/// A secret for the pipeline. `Debug` redacts `value`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Secret {
    /// The name steps refer to with `from_secret:` (looked up case-insensitively by the compiler;
    /// it replaces a database secret of exactly the same name).
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// The value.
    #[serde(deserialize_with = "null_default")]
    pub value: String,
    /// When not empty, only **plugin** steps whose image matches one entry get it.
    #[serde(deserialize_with = "null_default")]
    pub images: Vec<String>,
    /// When not empty, only pipelines of these events get it (`pull_request` covers every
    /// pull-request event).
    #[serde(deserialize_with = "null_default")]
    pub events: Vec<String>,
}

impl Secret {
    /// A secret for every step and event (narrow it with [`images`](Self::images) and
    /// [`events`](Self::events)).
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Secret {
        Secret {
            name: name.into(),
            value: value.into(),
            ..Secret::default()
        }
    }

    /// Only plugin steps whose image matches one of `images` get it.
    #[must_use]
    pub fn images<I: IntoIterator<Item = S>, S: Into<String>>(mut self, images: I) -> Secret {
        self.images = images.into_iter().map(Into::into).collect();
        self
    }

    /// Only pipelines of these events get it.
    #[must_use]
    pub fn events<I: IntoIterator<Item = S>, S: Into<String>>(mut self, events: I) -> Secret {
        self.events = events.into_iter().map(Into::into).collect();
        self
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .field("images", &self.images)
            .field("events", &self.events)
            .finish()
    }
}

/// The secret extension's answer: `{"secrets":[...]}`, put before the database's secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SecretResponse {
    /// The secrets.
    #[serde(deserialize_with = "null_default")]
    pub secrets: Vec<Secret>,
}

impl From<Vec<Secret>> for SecretResponse {
    fn from(secrets: Vec<Secret>) -> SecretResponse {
        SecretResponse { secrets }
    }
}

/// Registry credentials. `Debug` redacts `password`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Registry {
    /// The registry host, e.g. `docker.io` (matched exactly; an extension's entry wins over the
    /// database's).
    #[serde(deserialize_with = "null_default")]
    pub address: String,
    /// The user name.
    #[serde(deserialize_with = "null_default")]
    pub username: String,
    /// The password or token.
    #[serde(deserialize_with = "null_default")]
    pub password: String,
}

impl Registry {
    /// Credentials for the registry at `address`.
    pub fn new(
        address: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Registry {
        Registry {
            address: address.into(),
            username: username.into(),
            password: password.into(),
        }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The registry extension's answer: `{"registries":[...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RegistryResponse {
    /// The registries.
    #[serde(deserialize_with = "null_default")]
    pub registries: Vec<Registry>,
}

impl From<Vec<Registry>> for RegistryResponse {
    fn from(registries: Vec<Registry>) -> RegistryResponse {
        RegistryResponse { registries }
    }
}
