//! Environ: environment variables for every step of a stage.
//!
//! # What Drone sends
//!
//! Once per stage, a runner posts `{repo, build}`, signed with
//! `Accept: application/vnd.drone.env.v2+json`. Both are the full objects the runner received
//! from the server. **`repo.secret`, the repository's signing secret, is among them**: never log a
//! request body (the `Debug` output of [`Repo`] redacts it). Runners are configured with
//! `DRONE_ENV_PLUGIN_ENDPOINT` and `DRONE_ENV_PLUGIN_TOKEN` (the shared secret).
//!
//! # What to answer
//!
//! The environ kind **fails open**: whatever goes wrong, the stage runs without the variables.
//! The shape of the answer depends on the request's `Accept` header, as in drone-go:
//!
//! | answer | request `Accept` | status and body |
//! |---|---|---|
//! | `Ok(variables)` | anything but v1 (runners send v2) | 200, a JSON array of [`Variable`]: `[{"name":"FOO","data":"bar"},{"name":"TOKEN","data":"s3cr3t","mask":true}]`; `[]` when empty |
//! | `Ok(variables)` | exactly `application/vnd.drone.env.v1+json` ([`ENVIRON_V1`]) | 200, a JSON object name → value: `{"FOO":"bar","TOKEN":"s3cr3t"}`, keys sorted, the last of two variables with one name wins; `{}` when empty |
//! | `Err(_)` from the trait | any | 500, generic text; the runner ignores the error |
//!
//! Both bodies are aesgcm-encrypted when the caller sends `Accept-Encoding: aesgcm` and the
//! service has a key (the service's `aesgcm_key`, feature `aesgcm`, see [`ExtensionService`]);
//! official runners never ask for it.
//!
//! # Masked variables
//!
//! Runners add unmasked variables to every step's environment as they are, and inject **masked**
//! ones ([`Variable::mask`]) as secrets, whose values are hidden in the build logs: mask every
//! credential. The v1 object cannot carry the flag, so a v1 caller (drone-go clients of
//! 2019-11 to 2020-03) gets every variable unmasked.
//!
//! Masking hides values from logs, not from the steps: like secrets, variables reach pull-request
//! builds from forks unless you answer differently for them ([`Build::is_fork`]).
//!
//! # A minimal implementation
//!
//! ```
//! use drone_extension::BoxError;
//! use drone_extension::environ::{EnvironProvider, EnvironRequest};
//! use drone_extension::models::Variable;
//!
//! struct Static;
//!
//! #[drone_extension::async_trait]
//! impl EnvironProvider for Static {
//!     async fn variables(&self, request: EnvironRequest) -> Result<Vec<Variable>, BoxError> {
//!         let mut variables = vec![Variable {
//!             name: "REGION".into(),
//!             data: "eu-west-1".into(),
//!             mask: false,
//!         }];
//!         if !request.build.is_fork(&request.repo) {
//!             variables.push(Variable {
//!                 name: "DEPLOY_TOKEN".into(),
//!                 data: "s3cr3t".into(),
//!                 mask: true,
//!             });
//!         }
//!         Ok(variables)
//!     }
//! }
//!
//! // A tower service for an axum route or a hyper server, behind the verifying layer.
//! let service = Static.into_service();
//! ```

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::kind::ENVIRON_V1;
use crate::models::{Build, Repo, Variable};
use crate::service::{DroneEndpoint, Endpoint, ExtensionService, Reply, RequestContext};
use crate::{BoxError, ExtensionKind};

/// The environ request: the repository and build of the stage about to run.
///
/// `repo` and `build` are required (400 without them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironRequest {
    /// The repository, as the runner received it: **includes [`Repo::secret`]**, never log it.
    pub repo: Repo,
    /// The running build.
    pub build: Build,
}

/// Hands out environment variables to runners.
#[async_trait]
pub trait EnvironProvider: Send + Sync + 'static {
    /// The variables for one stage; an empty list when there are none.
    ///
    /// # Errors
    ///
    /// An error is answered with a generic 500 and logged; the stage runs without the variables.
    async fn variables(&self, request: EnvironRequest) -> Result<Vec<Variable>, BoxError>;

    /// This provider as a tower service.
    fn into_service(self) -> EnvironService<Self>
    where
        Self: Sized,
    {
        ExtensionService::new(EnvironEndpoint(self))
    }
}

/// The [`Endpoint`] adapter of an [`EnvironProvider`].
#[derive(Debug, Clone)]
pub struct EnvironEndpoint<P>(pub P);

/// The tower service of an [`EnvironProvider`].
pub type EnvironService<P> = ExtensionService<EnvironEndpoint<P>>;

/// `provider` as a tower service: the same as [`EnvironProvider::into_service`], without the ambiguity of a
/// method call when a type implements several kind traits.
pub fn service<P: EnvironProvider>(provider: P) -> EnvironService<P> {
    ExtensionService::new(EnvironEndpoint(provider))
}

impl<P: EnvironProvider> DroneEndpoint for EnvironEndpoint<P> {
    const KIND: ExtensionKind = ExtensionKind::Environ;
}

#[async_trait]
impl<P: EnvironProvider> Endpoint for EnvironEndpoint<P> {
    const NAME: &'static str = ExtensionKind::Environ.name();
    type Request = EnvironRequest;

    fn subject(request: &EnvironRequest) -> String {
        request.repo.slug.clone()
    }

    async fn respond(&self, request: EnvironRequest, cx: &RequestContext) -> Reply {
        let variables = match self.0.variables(request).await {
            Ok(variables) => variables,
            Err(e) => return Reply::internal_error(e),
        };
        let decision = if variables.is_empty() {
            "none"
        } else {
            "found"
        };
        if cx.accept() == Some(ENVIRON_V1.as_bytes()) {
            // drone-go's v1 map: later names overwrite earlier ones, keys come out sorted.
            let map: BTreeMap<String, String> = variables
                .into_iter()
                .map(|variable| (variable.name, variable.data))
                .collect();
            cx.sensitive_json(decision, &map)
        } else {
            cx.sensitive_json(decision, &variables)
        }
    }
}
