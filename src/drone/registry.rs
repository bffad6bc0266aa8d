//! Registry: Docker registry credentials for the images of a stage.
//!
//! # What Drone sends
//!
//! Once per stage, before it pulls the stage's images, a runner (and the server's legacy embedded
//! runner) posts `{repo, build}`, signed with `Accept: application/vnd.drone.registry.v1+json`.
//! Both are the full objects the runner received from the server. **`repo.secret`, the
//! repository's signing secret, is among them**: never log a request body (the `Debug` output of
//! [`Repo`] redacts it). Runners are configured with `DRONE_REGISTRY_PLUGIN_ENDPOINT` and
//! `DRONE_REGISTRY_PLUGIN_TOKEN` (the shared secret).
//!
//! # What to answer
//!
//! The registry kind **fails open**: whatever goes wrong, images are pulled without credentials.
//!
//! | answer | status | effect in Drone |
//! |---|---|---|
//! | `Ok(registries)` | 200, a JSON array of [`Registry`]: `[{"address":"index.docker.io","username":"octocat","password":"…","email":"","token":""}]`; `[]` when empty, never `null` (aesgcm-encrypted when the caller asks) | the runner logs in to the registry of each image with the matching credentials |
//! | `Err(_)` from the trait | 500, generic text | logged and ignored by the runner: no credentials |
//!
//! A caller that sends `Accept-Encoding: aesgcm` gets the list encrypted with the key given to the
//! service's `aesgcm_key` (feature `aesgcm`, see [`ExtensionService`]; without a key, plain
//! JSON); official runners never ask for it.
//!
//! The credentials are used for pulls in every build the runner compiles, pull requests from
//! forks included: a fork can name any image of the registry. Answer `[]` for builds that should
//! not pull private images ([`Build::is_fork`]).
//!
//! # A minimal implementation
//!
//! ```
//! use drone_extension::BoxError;
//! use drone_extension::models::Registry;
//! use drone_extension::registry::{RegistryProvider, RegistryRequest};
//!
//! struct DockerHub;
//!
//! #[drone_extension::async_trait]
//! impl RegistryProvider for DockerHub {
//!     async fn registries(&self, request: RegistryRequest) -> Result<Vec<Registry>, BoxError> {
//!         if request.repo.namespace != "octocat" || request.build.is_fork(&request.repo) {
//!             return Ok(Vec::new());
//!         }
//!         Ok(vec![Registry {
//!             address: "index.docker.io".into(),
//!             username: "octocat".into(),
//!             password: "correct-horse-battery-staple".into(),
//!             ..Default::default()
//!         }])
//!     }
//! }
//!
//! // A tower service for an axum route or a hyper server, behind the verifying layer.
//! let service = DockerHub.into_service();
//! ```

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::models::{Build, Registry, Repo};
use crate::service::{DroneEndpoint, Endpoint, ExtensionService, Reply, RequestContext};
use crate::{BoxError, ExtensionKind};

/// The registry request: the repository and build whose images are about to be pulled.
///
/// `repo` and `build` are required (400 without them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRequest {
    /// The repository, as the runner received it: **includes [`Repo::secret`]**, never log it.
    pub repo: Repo,
    /// The running build.
    pub build: Build,
}

/// Hands out registry credentials to runners.
#[async_trait]
pub trait RegistryProvider: Send + Sync + 'static {
    /// The credentials for one stage; an empty list when there are none.
    ///
    /// # Errors
    ///
    /// An error is answered with a generic 500 and logged; images are pulled without credentials.
    async fn registries(&self, request: RegistryRequest) -> Result<Vec<Registry>, BoxError>;

    /// This provider as a tower service.
    fn into_service(self) -> RegistryService<Self>
    where
        Self: Sized,
    {
        ExtensionService::new(RegistryEndpoint(self))
    }
}

/// The [`Endpoint`] adapter of a [`RegistryProvider`].
#[derive(Debug, Clone)]
pub struct RegistryEndpoint<P>(pub P);

/// The tower service of a [`RegistryProvider`].
pub type RegistryService<P> = ExtensionService<RegistryEndpoint<P>>;

/// `provider` as a tower service: the same as [`RegistryProvider::into_service`], without the ambiguity of a
/// method call when a type implements several kind traits.
pub fn service<P: RegistryProvider>(provider: P) -> RegistryService<P> {
    ExtensionService::new(RegistryEndpoint(provider))
}

impl<P: RegistryProvider> DroneEndpoint for RegistryEndpoint<P> {
    const KIND: ExtensionKind = ExtensionKind::Registry;
}

#[async_trait]
impl<P: RegistryProvider> Endpoint for RegistryEndpoint<P> {
    const NAME: &'static str = ExtensionKind::Registry.name();
    type Request = RegistryRequest;

    fn subject(request: &RegistryRequest) -> String {
        request.repo.slug.clone()
    }

    async fn respond(&self, request: RegistryRequest, cx: &RequestContext) -> Reply {
        match self.0.registries(request).await {
            Ok(registries) if registries.is_empty() => cx.sensitive_json("none", &registries),
            Ok(registries) => cx.sensitive_json("found", &registries),
            Err(e) => Reply::internal_error(e),
        }
    }
}
