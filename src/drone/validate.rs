//! Validate: accept, skip, hold or reject a pipeline configuration before a build is created.
//!
//! # What Drone sends
//!
//! After conversion and before linting, the server posts `{build, config, repo, token?}`, signed
//! with `Accept: application/vnd.drone.validate.v1+json`. The server is configured with
//! `DRONE_VALIDATE_PLUGIN_ENDPOINT`, `DRONE_VALIDATE_PLUGIN_SECRET` and `DRONE_VALIDATE_TIMEOUT`
//! (default 1 minute).
//!
//! * `config` is the final configuration: `{"data":"<yaml after conversion>","kind":""}`.
//! * `build` and `repo` are as for the [config kind](crate::config): the build about to be
//!   created, the repository's identifying fields only.
//! * `token` is the repository owner's OAuth token; only servers newer than 2.0.4 send it.
//!
//! # What to answer
//!
//! The validate kind **fails closed**.
//!
//! | answer | status | effect in Drone |
//! |---|---|---|
//! | [`Validation::Pass`] | 204 | the build is created and runs |
//! | [`Validation::Skip`] | 498, empty | **no build, silently** (Drone 1.9.1+) |
//! | [`Validation::Block`] | 499, empty | the build is created but **blocked pending approval** (Drone 1.9.1+) |
//! | [`Validation::Reject`] | 400, `{"code":400,"message":"…"}` | the build is created in the **error** state; its message is the raw response body, so the UI shows the JSON text |
//! | `Err(_)` from the trait | 500, generic text | the build is created in the error state with the message `Internal Server Error`; the cause is logged |
//!
//! A rejection's message is shown to everyone who can see the build: say what is wrong with the
//! configuration, nothing more. Answer well within 10 seconds, as for the
//! [config kind](crate::config): the server validates while it handles the source-control
//! system's webhook.
//!
//! # A minimal implementation
//!
//! ```
//! use drone_extension::BoxError;
//! use drone_extension::validate::{ValidateRequest, Validation, Validator};
//!
//! struct InternalImagesOnly;
//!
//! #[drone_extension::async_trait]
//! impl Validator for InternalImagesOnly {
//!     async fn validate(&self, request: ValidateRequest) -> Result<Validation, BoxError> {
//!         let data = &request.config.data;
//!         Ok(if request.build.message.contains("[ci skip]") {
//!             Validation::Skip
//!         } else if data.contains("privileged: true") {
//!             Validation::Block // an administrator approves it first
//!         } else if data.lines().any(|l| l.trim_start().starts_with("image: docker.io/")) {
//!             Validation::reject("cannot use image from external registry")
//!         } else {
//!             Validation::Pass
//!         })
//!     }
//! }
//!
//! // A tower service for an axum route or a hyper server, behind the verifying layer.
//! let service = InternalImagesOnly.into_service();
//! ```

use async_trait::async_trait;
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::models::{Build, Config, DroneError, Repo, Token, null_default};
use crate::service::{DroneEndpoint, Endpoint, ExtensionService, Reply, RequestContext};
use crate::{BoxError, ExtensionKind};

/// The status drone-go's validator client reads as "skip" (`ErrSkip`).
const SKIP: u16 = 498;
/// The status drone-go's validator client reads as "block" (`ErrBlock`).
const BLOCK: u16 = 499;

/// The validate request. `build`, `config` and `repo` are required (400 without them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateRequest {
    /// The build about to be created (`id` and `number` 0, `status` `pending`).
    pub build: Build,
    /// The configuration to validate, after conversion.
    pub config: Config,
    /// The repository, with its identifying fields only.
    pub repo: Repo,
    /// The repository owner's OAuth tokens: sent only by servers newer than 2.0.4.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub token: Option<Token>,
}

/// The answer to a validate request. See the [module documentation](self) for the statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validation {
    /// The configuration is fine (204): the build is created and runs.
    Pass,
    /// Create no build, silently (498).
    Skip,
    /// Create the build but hold it until someone approves it (499).
    Block,
    /// Reject the configuration (400 `{"code":400,"message":…}`): the build is created in the
    /// error state with the body as its message.
    Reject(String),
}

impl Validation {
    /// [`Validation::Reject`] with a message.
    pub fn reject(message: impl Into<String>) -> Validation {
        Validation::Reject(message.into())
    }
}

/// Validates pipeline configurations.
#[async_trait]
pub trait Validator: Send + Sync + 'static {
    /// Decides on one configuration.
    ///
    /// # Errors
    ///
    /// An error is answered with a generic 500 and logged; Drone creates the build in the error
    /// state. Use [`Validation::Reject`] for a message the user should see.
    async fn validate(&self, request: ValidateRequest) -> Result<Validation, BoxError>;

    /// This validator as a tower service.
    fn into_service(self) -> ValidateService<Self>
    where
        Self: Sized,
    {
        ExtensionService::new(ValidateEndpoint(self))
    }
}

/// The [`Endpoint`] adapter of a [`Validator`].
#[derive(Debug, Clone)]
pub struct ValidateEndpoint<V>(pub V);

/// The tower service of a [`Validator`].
pub type ValidateService<V> = ExtensionService<ValidateEndpoint<V>>;

/// `validator` as a tower service: the same as [`Validator::into_service`], without the ambiguity of a
/// method call when a type implements several kind traits.
pub fn service<V: Validator>(validator: V) -> ValidateService<V> {
    ExtensionService::new(ValidateEndpoint(validator))
}

/// The status and body of a validation.
fn reply(validation: Validation) -> Reply {
    let status = |code| StatusCode::from_u16(code).expect("498 and 499 are valid statuses");
    match validation {
        Validation::Pass => Reply::empty("pass", StatusCode::NO_CONTENT),
        Validation::Skip => Reply::empty("skip", status(SKIP)),
        Validation::Block => Reply::empty("block", status(BLOCK)),
        Validation::Reject(message) => Reply::json_with_status(
            "reject",
            StatusCode::BAD_REQUEST,
            &DroneError::new(400, message),
        ),
    }
}

impl<V: Validator> DroneEndpoint for ValidateEndpoint<V> {
    const KIND: ExtensionKind = ExtensionKind::Validate;
}

#[async_trait]
impl<V: Validator> Endpoint for ValidateEndpoint<V> {
    const NAME: &'static str = ExtensionKind::Validate.name();
    type Request = ValidateRequest;

    fn subject(request: &ValidateRequest) -> String {
        request.repo.slug.clone()
    }

    async fn respond(&self, request: ValidateRequest, _cx: &RequestContext) -> Reply {
        match self.0.validate(request).await {
            Ok(validation) => reply(validation),
            Err(e) => Reply::internal_error(e),
        }
    }
}
