//! Convert: rewrite a pipeline configuration before Drone parses it.
//!
//! # What Drone sends
//!
//! After it has the configuration of a new build (from the repository or a
//! [config extension](crate::config)), and only when none of its built-in converters (Starlark,
//! Jsonnet, templates) produced one, the server posts `{build, config, repo, token?}`, signed with
//! `Accept: application/vnd.drone.convert.v1+json`. The server is configured with
//! `DRONE_CONVERT_PLUGIN_ENDPOINT`, `DRONE_CONVERT_PLUGIN_SECRET`, `DRONE_CONVERT_TIMEOUT`
//! (default 1 minute) and optionally `DRONE_CONVERT_PLUGIN_EXTENSION` (call only when
//! `repo.config_path` ends with it, e.g. `.star`).
//!
//! * `config` is the configuration as fetched: `{"data":"<raw file>","kind":""}`.
//! * `build` and `repo` are as for the [config kind](crate::config): the build about to be
//!   created, the repository's identifying fields only.
//! * `token` is the repository owner's OAuth token; only servers newer than 2.0.4 send it.
//!
//! # What to answer
//!
//! The convert kind **fails closed**.
//!
//! | answer | status | effect in Drone |
//! |---|---|---|
//! | `Ok(Some(config))` | 200, the [`Config`] as JSON | [`Config::data`] replaces the configuration; an empty `data` means the same as `None` |
//! | `Ok(None)` | 204 | the configuration is used unchanged |
//! | `Err(_)` from the trait | 500, generic text | the build is created in the **error** state, with the response body as its message |
//!
//! Because Drone shows the body of an error answer to everyone who can see the build, the service
//! always answers errors with the generic `Internal Server Error` and only logs the cause. The
//! answer is never encrypted. Answer well within 10 seconds, as for the
//! [config kind](crate::config): the server converts while it handles the source-control
//! system's webhook. The server caches answers (keyed by repository, event, action, ref, commit
//! and config path).
//!
//! # A minimal implementation
//!
//! ```
//! use drone_extension::BoxError;
//! use drone_extension::convert::{ConvertRequest, Converter};
//! use drone_extension::models::Config;
//!
//! /// Expands `${REPO}` in `.drone.tmpl.yml` files.
//! struct Templates;
//!
//! #[drone_extension::async_trait]
//! impl Converter for Templates {
//!     async fn convert(&self, request: ConvertRequest) -> Result<Option<Config>, BoxError> {
//!         if !request.repo.config_path.ends_with(".tmpl.yml") {
//!             return Ok(None); // unchanged
//!         }
//!         Ok(Some(Config {
//!             data: request.config.data.replace("${REPO}", &request.repo.slug),
//!             ..Default::default()
//!         }))
//!     }
//! }
//!
//! // A tower service for an axum route or a hyper server, behind the verifying layer.
//! let service = Templates.into_service();
//! ```

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::models::{Build, Config, Repo, Token, null_default};
use crate::service::{DroneEndpoint, Endpoint, ExtensionService, Reply, RequestContext};
use crate::{BoxError, ExtensionKind};

/// The convert request. `build`, `config` and `repo` are required (400 without them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvertRequest {
    /// The build about to be created (`id` and `number` 0, `status` `pending`).
    pub build: Build,
    /// The configuration to convert, as fetched.
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

/// Converts pipeline configurations.
#[async_trait]
pub trait Converter: Send + Sync + 'static {
    /// The converted configuration, or `None` to leave it unchanged.
    ///
    /// # Errors
    ///
    /// An error is answered with a generic 500 and logged; Drone creates the build in the error
    /// state.
    async fn convert(&self, request: ConvertRequest) -> Result<Option<Config>, BoxError>;

    /// This converter as a tower service.
    fn into_service(self) -> ConvertService<Self>
    where
        Self: Sized,
    {
        ExtensionService::new(ConvertEndpoint(self))
    }
}

/// The [`Endpoint`] adapter of a [`Converter`].
#[derive(Debug, Clone)]
pub struct ConvertEndpoint<C>(pub C);

/// The tower service of a [`Converter`].
pub type ConvertService<C> = ExtensionService<ConvertEndpoint<C>>;

/// `converter` as a tower service: the same as [`Converter::into_service`], without the ambiguity of a
/// method call when a type implements several kind traits.
pub fn service<C: Converter>(converter: C) -> ConvertService<C> {
    ExtensionService::new(ConvertEndpoint(converter))
}

impl<C: Converter> DroneEndpoint for ConvertEndpoint<C> {
    const KIND: ExtensionKind = ExtensionKind::Convert;
}

#[async_trait]
impl<C: Converter> Endpoint for ConvertEndpoint<C> {
    const NAME: &'static str = ExtensionKind::Convert.name();
    type Request = ConvertRequest;

    fn subject(request: &ConvertRequest) -> String {
        request.repo.slug.clone()
    }

    async fn respond(&self, request: ConvertRequest, _cx: &RequestContext) -> Reply {
        match self.0.convert(request).await {
            Ok(config) => Reply::found_or_no_content(config, "unchanged", |config| {
                Reply::json("converted", &config)
            }),
            Err(e) => Reply::internal_error(e),
        }
    }
}
