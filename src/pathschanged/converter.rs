//! [`PathsChanged`]: the convert extension itself, built on the crate's Drone service: it asks a
//! [`ChangedFiles`] for the files a build changed and answers the configuration with the skip
//! markers of [`rewrite`](super::rewrite()) inserted, and nothing else touched.
//!
//! # What Drone gets
//!
//! | situation | answer | `decision` (log, metrics) |
//! |---|---|---|
//! | no `paths` condition in any pipeline | `204` (keep the original), no git call | `no-paths` |
//! | conditions, nothing to skip | `204` | `unchanged` |
//! | something skipped | `200` with the original text plus the markers | `converted` |
//! | the event's rule is "run everything" (tag, cron, … by default) | `204` | `run-everything` |
//! | the changed files cannot be known (forge unreachable, host refused, commit gone after a force push, time budget spent, …) | `204`, by default | the failure's class: `host_refused`, `unreachable`, `timeout`, … |
//! | the same, with [`OnFailure::Error`] | `500` (the build is created in error) | `error` |
//! | the configuration's conditions are malformed or ambiguous (see the module docs) | `422` with the reason, which Drone shows as the build's error | `invalid-config` |
//! | the rewrite does not verify (a bug, never expected) | `204` (or `500` with [`OnFailure::Error`]) | `rewrite-failed` (`error`) |
//!
//! A failure never skips anything: a filter that cannot decide runs everything, and is counted
//! (`drone_extension_requests_total{kind="convert",decision="timeout"}`, …) and logged with its
//! cause. The whole request is bounded by [`PathsChanged::budget`] (default 30 s, well inside
//! Drone's one-minute `DRONE_CONVERT_TIMEOUT`).
//!
//! ```
//! use std::sync::Arc;
//! use drone_extension::pathschanged::{ChangeQuery, ChangedFiles, ChangedSet, ChangesError, PathsChanged};
//! use drone_extension::service::ExtensionService;
//!
//! /// A stand-in for `GitChangedFiles`: every build changed `docs/index.md`.
//! struct DocsOnly;
//!
//! #[drone_extension::async_trait]
//! impl ChangedFiles for DocsOnly {
//!     async fn changed_files(&self, _: &ChangeQuery) -> Result<ChangedSet, ChangesError> {
//!         Ok(ChangedSet::Files(vec!["docs/index.md".into()]))
//!     }
//! }
//!
//! // A tower service for the convert kind; put it behind the verifying layer (or serve it with
//! // `ExtensionRouter::service`).
//! let service = ExtensionService::new(PathsChanged::new(DocsOnly));
//! # let _ = service;
//! ```

use std::time::Duration;

use super::changes::{ChangeQuery, ChangedFiles, ChangedSet, ChangesError};
use super::{Error, ErrorKind, Rewrite, has_paths_conditions, rewrite};
use crate::ExtensionKind;
use crate::convert::ConvertRequest;
use crate::models::Config;
use crate::service::{DroneEndpoint, Endpoint, Reply, RequestContext};
use http::StatusCode;

/// The default bound on one conversion, changed files included.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

/// What to answer when the changed files cannot be known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnFailure {
    /// Keep the configuration unchanged (`204`): every pipeline and step runs. The default.
    #[default]
    RunEverything,
    /// Answer `500`: Drone creates the build in the error state (the cause is only logged).
    Error,
}

/// What [`PathsChanged::decide`] decided for one request.
#[derive(Debug)]
#[non_exhaustive]
pub enum Decision {
    /// No pipeline has a `paths` condition: nothing asked of git.
    NoConditions,
    /// Conditions were evaluated; nothing is skipped (or every marker is already there).
    Unchanged(Rewrite),
    /// Something is skipped: [`Rewrite::config`] is the answer.
    Converted(Rewrite),
    /// The event's rule runs everything (the reason says which rule).
    RunEverything(String),
    /// The changed files could not be known.
    Failed(ChangesError),
    /// The configuration's conditions cannot be evaluated safely.
    InvalidConfig(Error),
    /// The rewrite did not verify (a bug of this crate, never expected): treated as a failure,
    /// never answered with a configuration.
    RewriteFailed(Error),
}

impl Decision {
    /// The `decision` label of the answer (see the module docs).
    pub fn label(&self, on_failure: OnFailure) -> &'static str {
        match self {
            Decision::NoConditions => "no-paths",
            Decision::Unchanged(_) => "unchanged",
            Decision::Converted(_) => "converted",
            Decision::RunEverything(_) => "run-everything",
            Decision::Failed(_) if on_failure == OnFailure::Error => "error",
            Decision::Failed(error) => error.class(),
            Decision::InvalidConfig(_) => "invalid-config",
            Decision::RewriteFailed(_) if on_failure == OnFailure::Error => "error",
            Decision::RewriteFailed(_) => "rewrite-failed",
        }
    }
}

/// The paths-changed convert extension (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct PathsChanged<C> {
    changes: C,
    on_failure: OnFailure,
    token_username: Option<String>,
    budget: Duration,
}

impl<C: ChangedFiles> PathsChanged<C> {
    /// The extension, asking `changes` for the changed files, running everything on failure.
    pub fn new(changes: C) -> PathsChanged<C> {
        PathsChanged {
            changes,
            on_failure: OnFailure::default(),
            token_username: None,
            budget: DEFAULT_BUDGET,
        }
    }

    /// What to answer when the changed files cannot be known (default: run everything).
    #[must_use]
    pub fn on_failure(mut self, on_failure: OnFailure) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// The username sent with the request's OAuth token (default `x-access-token`, which GitHub
    /// and Gitea accept; GitLab wants `oauth2`, Bitbucket Cloud `x-token-auth`). Drone 2.0.4 and
    /// older send no token: give the [`ChangedFiles`] an operator credential instead
    /// ([`GitChangedFilesBuilder::operator_credential`](super::git::GitChangedFilesBuilder::operator_credential)).
    #[must_use]
    pub fn token_username(mut self, username: impl Into<String>) -> Self {
        self.token_username = Some(username.into());
        self
    }

    /// The bound on one conversion, changed files included (default [`DEFAULT_BUDGET`]); past it
    /// the request fails with [`ChangesError::Timeout`]-like handling ([`OnFailure`]).
    #[must_use]
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The files' source.
    pub fn changes(&self) -> &C {
        &self.changes
    }

    /// Decides one request: the conditions first (a malformed configuration fails before any
    /// git call), then the changed files, then the rewrite.
    pub async fn decide(&self, request: &ConvertRequest) -> Decision {
        // Parsing and rewriting are CPU work bounded by the body limit (milliseconds for a
        // large monorepo file, more for a hostile one): off the async workers.
        let config: std::sync::Arc<str> = request.config.data.as_str().into();
        let text = config.clone();
        let conditions = blocking(move || has_paths_conditions(&text)).await;
        match conditions {
            Ok(false) => return Decision::NoConditions,
            Ok(true) => {}
            Err(error) if matches!(error.kind(), ErrorKind::Verification(_)) => {
                return Decision::RewriteFailed(error);
            }
            Err(error) => return Decision::InvalidConfig(error),
        }
        let query = match &self.token_username {
            Some(username) => ChangeQuery::from_drone_with_username(request, username),
            None => ChangeQuery::from_drone(request),
        };
        let changed =
            match tokio::time::timeout(self.budget, self.changes.changed_files(&query)).await {
                Ok(Ok(changed)) => changed,
                Ok(Err(error)) => return Decision::Failed(error),
                Err(_) => {
                    return Decision::Failed(ChangesError::Timeout {
                        budget: self.budget,
                    });
                }
            };
        let files = match changed {
            ChangedSet::Files(files) => files,
            ChangedSet::Everything { reason } => return Decision::RunEverything(reason),
        };
        match blocking(move || rewrite(&config, &files)).await {
            Ok(rewrite) if rewrite.config.is_some() => Decision::Converted(rewrite),
            Ok(rewrite) => Decision::Unchanged(rewrite),
            Err(error) if matches!(error.kind(), ErrorKind::Verification(_)) => {
                Decision::RewriteFailed(error)
            }
            Err(error) => Decision::InvalidConfig(error),
        }
    }
}

#[async_trait::async_trait]
impl<C: ChangedFiles> Endpoint for PathsChanged<C> {
    const NAME: &'static str = ExtensionKind::Convert.name();
    type Request = ConvertRequest;

    fn subject(request: &ConvertRequest) -> String {
        request.repo.slug.clone()
    }

    async fn respond(&self, request: ConvertRequest, _cx: &RequestContext) -> Reply {
        let decision = self.decide(&request).await;
        let label = decision.label(self.on_failure);
        let slug = crate::log::Escaped(request.repo.slug.as_str());
        match decision {
            Decision::NoConditions | Decision::Unchanged(_) => {
                Reply::empty(label, StatusCode::NO_CONTENT)
            }
            Decision::RunEverything(reason) => {
                tracing::info!(repo = %slug, reason = %crate::log::Escaped(reason.as_str()), "paths-changed: running everything");
                Reply::empty(label, StatusCode::NO_CONTENT)
            }
            Decision::Converted(rewrite) => {
                let skipped: Vec<String> = skipped_names(&rewrite);
                tracing::info!(repo = %slug, skipped = %crate::log::Escaped(skipped.join(", ")), "paths-changed: skipping");
                let data = rewrite.config.unwrap_or_default();
                Reply::json(
                    label,
                    &Config {
                        data,
                        ..Config::default()
                    },
                )
            }
            Decision::Failed(error) => {
                tracing::warn!(repo = %slug, class = error.class(), %error, "paths-changed: the changed files are unknown");
                match self.on_failure {
                    OnFailure::RunEverything => Reply::empty(label, StatusCode::NO_CONTENT),
                    OnFailure::Error => Reply::internal_error(error.into()),
                }
            }
            Decision::RewriteFailed(error) => {
                tracing::error!(repo = %slug, %error, "paths-changed: the rewrite did not verify; running everything");
                match self.on_failure {
                    OnFailure::RunEverything => Reply::empty(label, StatusCode::NO_CONTENT),
                    OnFailure::Error => Reply::internal_error(error.to_string().into()),
                }
            }
            Decision::InvalidConfig(error) => {
                tracing::info!(repo = %slug, %error, "paths-changed: configuration refused");
                Reply::text(
                    label,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("paths-changed: {error}"),
                )
            }
        }
    }
}

impl<C: ChangedFiles> DroneEndpoint for PathsChanged<C> {
    const KIND: ExtensionKind = ExtensionKind::Convert;
}

/// Runs `work` on tokio's blocking pool; a panic in it (never expected: the parser is
/// fuzzed) is a verification failure, so the request runs everything.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::Verification("the YAML work panicked".into()),
            super::Location::default(),
        ))
    })
}

/// `pipeline` or `pipeline/step` for every skipped pipeline and step, for the log.
fn skipped_names(rewrite: &Rewrite) -> Vec<String> {
    let mut names = Vec::new();
    for pipeline in &rewrite.pipelines {
        let name = pipeline
            .name
            .clone()
            .unwrap_or_else(|| format!("#{}", pipeline.document));
        if pipeline.skipped {
            names.push(name.clone());
        }
        for step in pipeline.steps.iter().filter(|step| step.skipped) {
            let step_name = step
                .name
                .clone()
                .unwrap_or_else(|| format!("#{}", step.index));
            names.push(format!("{name}/{step_name}"));
        }
    }
    names
}
