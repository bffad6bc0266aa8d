//! Secret: hand one secret to a runner, by path and name.
//!
//! # What Drone sends
//!
//! A runner (and the server's legacy embedded runner) posts `{path, name, repo, build}`, signed
//! with `Accept: application/vnd.drone.secret.v1+json`, each time a pipeline uses a secret
//! resource that names a path and a name:
//!
//! ```yaml
//! kind: secret
//! name: docker_username
//! get:
//!   path: secret/data/docker
//!   name: username
//! ```
//!
//! `repo` and `build` are the full objects the runner received from the server. **`repo.secret`,
//! the repository's signing secret, is among them**: never log a request body (the `Debug`
//! output of [`Repo`] redacts it). Runners are configured with `DRONE_SECRET_PLUGIN_ENDPOINT` and
//! `DRONE_SECRET_PLUGIN_TOKEN` (the shared secret).
//!
//! # What to answer
//!
//! The secret kind **fails open**: whatever goes wrong, the step runs without the secret.
//!
//! | answer | status | effect in Drone |
//! |---|---|---|
//! | `Ok(Some(secret))` | 200, the [`Secret`] as JSON, e.g. `{"name":"username","data":"octocat","pull":true}` (aesgcm-encrypted when the caller asks, see below) | [`Secret::data`] is handed to the step |
//! | `Ok(None)` | 204 | not found: the runner tries its next secret provider |
//! | `Err(_)` from the trait | 500, generic text | logged by the runner; the step runs without the secret |
//!
//! drone-go's own handler answers "not found" with `200 null`; runners treat `204` exactly the
//! same way, and a `204` can never turn into the `200` with an empty body that every Drone client
//! rejects. A secret with an empty `data` also counts as not found.
//!
//! A caller that sends `Accept-Encoding: aesgcm` gets the secret encrypted with the key given to
//! the service's `aesgcm_key` (feature `aesgcm`, see [`ExtensionService`]; without a key, plain
//! JSON); official runners never ask for it.
//!
//! # Pull requests and forks are your decision
//!
//! Runners **do not filter pull requests**: whatever you return reaches the step, in pull-request
//! builds from forks too. Decide from the request, with [`Build::is_pull_request`],
//! [`Build::is_fork`] (the build's `source_repo` is not the repository), `build.event` and
//! `build.target`, and answer `None` when the build may not have the secret.
//!
//! Then set [`Secret::pull`] (the flag runners read) and [`Secret::pull_request`] explicitly: the
//! server's legacy runner drops a secret from pull-request builds unless one of them is `true`.
//!
//! # A minimal implementation
//!
//! ```
//! use drone_extension::BoxError;
//! use drone_extension::models::Secret;
//! use drone_extension::secret::{SecretFinder, SecretRequest};
//!
//! struct DockerCredentials;
//!
//! #[drone_extension::async_trait]
//! impl SecretFinder for DockerCredentials {
//!     async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
//!         // Pull requests from forks get nothing.
//!         if request.build.is_fork(&request.repo) {
//!             return Ok(None);
//!         }
//!         let data = match (request.path.as_str(), request.name.as_str()) {
//!             ("docker", "username") => "octocat",
//!             ("docker", "password") => "correct-horse-battery-staple",
//!             _ => return Ok(None),
//!         };
//!         Ok(Some(Secret {
//!             name: request.name,
//!             data: data.into(),
//!             // Pull requests from the repository itself may use it.
//!             pull: true,
//!             pull_request: true,
//!             ..Default::default()
//!         }))
//!     }
//! }
//!
//! // A tower service for an axum route or a hyper server, behind the verifying layer.
//! let service = DockerCredentials.into_service();
//! ```

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::models::{Build, Repo, Secret, null_default};
use crate::service::{DroneEndpoint, Endpoint, ExtensionService, Reply, RequestContext};
use crate::{BoxError, ExtensionKind};

/// The secret request: which secret, for which repository and build.
///
/// `name` is required (400 without it). `path`, `repo` and `build` default when missing or
/// `null`, as in Go: a minimal `{"path":"…","name":"…"}` decodes with a zero repository and build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRequest {
    /// The `get.path` of the secret resource, e.g. `secret/data/docker`; may be empty.
    #[serde(default, deserialize_with = "null_default")]
    pub path: String,
    /// The `get.name` of the secret resource, e.g. `username`.
    pub name: String,
    /// The repository, as the runner received it: **includes [`Repo::secret`]**, never log it.
    #[serde(default, deserialize_with = "null_default")]
    pub repo: Repo,
    /// The running build. Check [`Build::is_fork`] before handing out a secret.
    #[serde(default, deserialize_with = "null_default")]
    pub build: Build,
}

/// Finds one secret for a runner.
#[async_trait]
pub trait SecretFinder: Send + Sync + 'static {
    /// The secret the request names, or `None` when there is none or the build may not have it.
    ///
    /// # Errors
    ///
    /// An error is answered with a generic 500 and logged; the step runs without the secret.
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError>;

    /// This finder as a tower service.
    fn into_service(self) -> SecretService<Self>
    where
        Self: Sized,
    {
        ExtensionService::new(SecretEndpoint(self))
    }
}

/// The [`Endpoint`] adapter of a [`SecretFinder`].
#[derive(Debug, Clone)]
pub struct SecretEndpoint<F>(pub F);

/// The tower service of a [`SecretFinder`].
pub type SecretService<F> = ExtensionService<SecretEndpoint<F>>;

/// `finder` as a tower service: the same as [`SecretFinder::into_service`], without the ambiguity of a
/// method call when a type implements several kind traits.
pub fn service<F: SecretFinder>(finder: F) -> SecretService<F> {
    ExtensionService::new(SecretEndpoint(finder))
}

impl<F: SecretFinder> DroneEndpoint for SecretEndpoint<F> {
    const KIND: ExtensionKind = ExtensionKind::Secret;
}

#[async_trait]
impl<F: SecretFinder> Endpoint for SecretEndpoint<F> {
    const NAME: &'static str = ExtensionKind::Secret.name();
    type Request = SecretRequest;

    /// `octocat/hello-world secret/data/docker#username`: the names, never the value (`-` for a
    /// request without a repository).
    fn subject(request: &SecretRequest) -> String {
        let slug = match request.repo.slug.as_str() {
            "" => "-",
            slug => slug,
        };
        format!("{slug} {}#{}", request.path, request.name)
    }

    async fn respond(&self, request: SecretRequest, cx: &RequestContext) -> Reply {
        match self.0.find(request).await {
            Ok(secret) => Reply::found_or_no_content(secret, "not-found", |secret| {
                cx.sensitive_json("found", &secret)
            }),
            Err(e) => Reply::internal_error(e),
        }
    }
}
