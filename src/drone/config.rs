//! Config: supply the pipeline configuration of a build.
//!
//! # What Drone sends
//!
//! For every hook, cron and manual build, before it creates the build, the server posts
//! `{build, repo, token?}`, signed with `Accept: application/vnd.drone.config.v1+json`. The
//! server is configured with `DRONE_YAML_ENDPOINT`, `DRONE_YAML_SECRET` and `DRONE_YAML_TIMEOUT`
//! (default 1 minute).
//!
//! * `build` is the build about to be created: `id` and `number` are 0, `status` is `pending`;
//!   `cron`, `deploy_id` and `debug` are not set.
//! * `repo` carries only the identifying fields (id, uid, namespace, name, slug, URLs,
//!   default branch, visibility, `config_path`, trusted, protected, timeout); everything else is
//!   zero, and there is no `secret`.
//! * `token` is the repository owner's OAuth token in the source-control system, to read files
//!   from it. Only servers newer than 2.0.4 send it.
//!
//! # What to answer
//!
//! The config kind **fails closed**: an error means no build.
//!
//! | answer | status | effect in Drone |
//! |---|---|---|
//! | `Ok(Some(config))` | 200, the [`Config`] as JSON: `{"data":"kind: pipeline\n…","kind":""}` | [`Config::data`] is the pipeline configuration; an empty `data` means the same as `None` |
//! | `Ok(None)` | 204 | Drone reads the repository's own file (`repo.config_path`) |
//! | `Err(_)` from the trait | 500, generic text | no build is created; the source-control system's hook delivery gets an error |
//!
//! The answer is never encrypted. Answer quickly, **well within 10 seconds**: the server calls
//! the extension while it handles the source-control system's webhook, and GitHub gives up on a
//! hook delivery after 10 seconds. The server caches answers (10 entries, keyed by repository,
//! build creation time, event, action, ref, commit and config path).
//!
//! # A minimal implementation
//!
//! ```
//! use drone_extension::BoxError;
//! use drone_extension::config::{ConfigProvider, ConfigRequest};
//! use drone_extension::models::Config;
//!
//! const PIPELINE: &str = "\
//! kind: pipeline
//! type: docker
//! name: default
//! steps:
//! - name: test
//!   image: golang
//!   commands: [go test ./...]
//! ";
//!
//! /// One pipeline for every repository of an organisation.
//! struct OrganisationDefault;
//!
//! #[drone_extension::async_trait]
//! impl ConfigProvider for OrganisationDefault {
//!     async fn find(&self, request: ConfigRequest) -> Result<Option<Config>, BoxError> {
//!         if request.repo.namespace != "octocat" {
//!             return Ok(None); // the repository's own .drone.yml
//!         }
//!         Ok(Some(Config {
//!             data: PIPELINE.into(),
//!             ..Default::default()
//!         }))
//!     }
//! }
//!
//! // A tower service for an axum route or a hyper server, behind the verifying layer.
//! let service = OrganisationDefault.into_service();
//! ```

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::models::{Build, Config, Repo, Token, null_default};
use crate::service::{DroneEndpoint, Endpoint, ExtensionService, Reply, RequestContext};
use crate::{BoxError, ExtensionKind};

/// The config request. `build` and `repo` are required (400 without them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRequest {
    /// The build about to be created (`id` and `number` 0, `status` `pending`).
    pub build: Build,
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

/// Supplies pipeline configurations.
#[async_trait]
pub trait ConfigProvider: Send + Sync + 'static {
    /// The configuration of one build, or `None` for the repository's own file.
    ///
    /// # Errors
    ///
    /// An error is answered with a generic 500 and logged; Drone creates no build.
    async fn find(&self, request: ConfigRequest) -> Result<Option<Config>, BoxError>;

    /// This provider as a tower service.
    fn into_service(self) -> ConfigService<Self>
    where
        Self: Sized,
    {
        ExtensionService::new(ConfigEndpoint(self))
    }
}

/// The [`Endpoint`] adapter of a [`ConfigProvider`].
#[derive(Debug, Clone)]
pub struct ConfigEndpoint<P>(pub P);

/// The tower service of a [`ConfigProvider`].
pub type ConfigService<P> = ExtensionService<ConfigEndpoint<P>>;

/// `provider` as a tower service: the same as [`ConfigProvider::into_service`], without the ambiguity of a
/// method call when a type implements several kind traits.
pub fn service<P: ConfigProvider>(provider: P) -> ConfigService<P> {
    ExtensionService::new(ConfigEndpoint(provider))
}

impl<P: ConfigProvider> DroneEndpoint for ConfigEndpoint<P> {
    const KIND: ExtensionKind = ExtensionKind::Config;
}

#[async_trait]
impl<P: ConfigProvider> Endpoint for ConfigEndpoint<P> {
    const NAME: &'static str = ExtensionKind::Config.name();
    type Request = ConfigRequest;

    fn subject(request: &ConfigRequest) -> String {
        request.repo.slug.clone()
    }

    async fn respond(&self, request: ConfigRequest, _cx: &RequestContext) -> Reply {
        match self.0.find(request).await {
            Ok(config) => Reply::found_or_no_content(config, "repository-file", |config| {
                Reply::json("found", &config)
            }),
            Err(e) => Reply::internal_error(e),
        }
    }
}
