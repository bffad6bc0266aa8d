//! The three Woodpecker extensions: one async trait each, and the tower service that decodes the
//! request, calls the trait and always answers with a JSON body.
//!
//! # Never an empty 2xx
//!
//! Woodpecker (3.14+) decodes every 2xx answer as JSON and treats an empty body, **so every 204**,
//! as a transport failure it retries: an extension that answers 204 receives the same request
//! three times, about a second apart, before Woodpecker goes on. The services here therefore
//! answer "nothing to add" with `200` and an empty list, and "keep the files" with `200` and the
//! received files echoed back.
//!
//! # What each status does in Woodpecker
//!
//! | answer | config | secret | registry |
//! |---|---|---|---|
//! | `200` + JSON (what these services send) | the files **replace** the pipeline's; an empty list means no workflow: the pipeline is dropped as filtered | the secrets come first, before the database's | the registries come first |
//! | `204` (never sent here) | retried 3 times, then the incoming files are kept | retried, then no extension secrets | retried, then none |
//! | `4xx` (a bad request body: 400) | the pipeline is created with status **error** ("could not load config") | warning logged, database secrets only | warning logged, database registries only |
//! | `5xx` (the trait returned an error: 500) | retried 3 times, then as 4xx | retried, then as 4xx | retried, then as 4xx |
//!
//! A trait error is answered `500` so that Woodpecker retries (a secret store that was briefly
//! down); its cause goes to the log, never to the response.
//!
//! ```
//! use drone_extension::BoxError;
//! use drone_extension::woodpecker::{Secret, SecretExtension, SecretRequest};
//!
//! struct Vault;
//!
//! #[drone_extension::async_trait]
//! impl SecretExtension for Vault {
//!     async fn secrets(&self, request: SecretRequest) -> Result<Vec<Secret>, BoxError> {
//!         if request.repo.full_name != "octo-org/hello-world" {
//!             return Ok(Vec::new()); // answered 200 {"secrets":[]}: no retry
//!         }
//!         Ok(vec![Secret::new("docker_password", "s3cr3t").events(["push", "tag"])])
//!     }
//! }
//!
//! // A tower service; put it behind VerifyWoodpeckerLayer.
//! let service = Vault.into_service();
//! ```

use async_trait::async_trait;

use super::models::{
    ConfigFile, ConfigRequest, ConfigResponse, Registry, RegistryRequest, RegistryResponse, Secret,
    SecretRequest, SecretResponse,
};
use crate::BoxError;
use crate::service::{Endpoint, ExtensionService, Reply, RequestContext};

/// What a config extension answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigAnswer {
    /// These files replace the pipeline's (`200 {"configs":[…]}`). An empty list means no
    /// workflow at all.
    Files(Vec<ConfigFile>),
    /// Keep the files Woodpecker sent in `configuration` (the forge's, or the previous
    /// extension's): answered `200` with them echoed back, not `204`, which Woodpecker would retry.
    KeepIncoming,
}

/// A config extension: the pipeline's configuration files, from the forge's or from elsewhere.
///
/// Configured with `WOODPECKER_CONFIG_EXTENSION_ENDPOINT` (global) or a repository's
/// `config_extension_endpoint`. Called when a pipeline is created and when it is restarted.
#[async_trait]
pub trait ConfigExtension: Send + Sync + 'static {
    /// The answer to one request.
    ///
    /// # Errors
    ///
    /// Answered 500 (Woodpecker retries, then creates the pipeline with status error).
    async fn config(&self, request: &ConfigRequest) -> Result<ConfigAnswer, BoxError>;

    /// This extension as a tower service.
    fn into_service(self) -> WoodpeckerService<ConfigEndpoint<Self>>
    where
        Self: Sized,
    {
        ExtensionService::new(ConfigEndpoint(self))
    }
}

/// A secret extension: secrets for a pipeline, put before the database's.
///
/// Configured with `WOODPECKER_SECRET_EXTENSION_ENDPOINT` or a repository's
/// `secret_extension_endpoint` (Woodpecker 3.14+). Called each time the workflows are built:
/// create, approve, restart.
#[async_trait]
pub trait SecretExtension: Send + Sync + 'static {
    /// The secrets (an empty list adds none).
    ///
    /// # Errors
    ///
    /// Answered 500 (Woodpecker retries, then uses the database's secrets only).
    async fn secrets(&self, request: SecretRequest) -> Result<Vec<Secret>, BoxError>;

    /// This extension as a tower service.
    fn into_service(self) -> WoodpeckerService<SecretEndpoint<Self>>
    where
        Self: Sized,
    {
        ExtensionService::new(SecretEndpoint(self))
    }
}

/// A registry extension: registry credentials for a pipeline, put before the database's.
///
/// Configured with `WOODPECKER_REGISTRY_EXTENSION_ENDPOINT` or a repository's
/// `registry_extension_endpoint` (Woodpecker 3.14+).
#[async_trait]
pub trait RegistryExtension: Send + Sync + 'static {
    /// The registries (an empty list adds none).
    ///
    /// # Errors
    ///
    /// Answered 500 (Woodpecker retries, then uses the database's registries only).
    async fn registries(&self, request: RegistryRequest) -> Result<Vec<Registry>, BoxError>;

    /// This extension as a tower service.
    fn into_service(self) -> WoodpeckerService<RegistryEndpoint<Self>>
    where
        Self: Sized,
    {
        ExtensionService::new(RegistryEndpoint(self))
    }
}

/// The tower service of a Woodpecker extension: the crate's one
/// [`ExtensionService`](crate::service::ExtensionService) with a Woodpecker endpoint: `POST` only
/// (405), `application/json` only (415), the body read under a limit (the verifying layer's, or
/// 4 MiB without it; 413), decoded (400 `Invalid Input`, the cause logged without quoting the
/// body), the trait called and its answer encoded as Go would (`200` with a JSON body, or `500`).
/// Every request is logged once at info level, with the same fields as Drone's kinds.
///
/// It does not check signatures: put it behind
/// [`VerifyWoodpeckerLayer`](super::VerifyWoodpeckerLayer).
pub type WoodpeckerService<E> = ExtensionService<E>;

/// The [`Endpoint`] of a [`ConfigExtension`].
#[derive(Debug, Clone)]
pub struct ConfigEndpoint<E>(pub E);
/// The [`Endpoint`] of a [`SecretExtension`].
#[derive(Debug, Clone)]
pub struct SecretEndpoint<E>(pub E);
/// The [`Endpoint`] of a [`RegistryExtension`].
#[derive(Debug, Clone)]
pub struct RegistryEndpoint<E>(pub E);

#[async_trait]
impl<E: ConfigExtension> Endpoint for ConfigEndpoint<E> {
    const NAME: &'static str = "woodpecker-config";
    type Request = ConfigRequest;

    fn subject(request: &ConfigRequest) -> String {
        request.repo.full_name.clone()
    }

    async fn respond(&self, mut request: ConfigRequest, _cx: &RequestContext) -> Reply {
        match self.0.config(&request).await {
            Ok(ConfigAnswer::Files(configs)) => Reply::json("files", &ConfigResponse { configs }),
            Ok(ConfigAnswer::KeepIncoming) => Reply::json(
                "keep",
                &ConfigResponse {
                    configs: std::mem::take(&mut request.configuration),
                },
            ),
            Err(e) => Reply::internal_error(e),
        }
    }
}

#[async_trait]
impl<E: SecretExtension> Endpoint for SecretEndpoint<E> {
    const NAME: &'static str = "woodpecker-secret";
    type Request = SecretRequest;

    fn subject(request: &SecretRequest) -> String {
        request.repo.full_name.clone()
    }

    async fn respond(&self, request: SecretRequest, _cx: &RequestContext) -> Reply {
        match self.0.secrets(request).await {
            Ok(secrets) if secrets.is_empty() => Reply::json("none", &SecretResponse { secrets }),
            Ok(secrets) => Reply::json("found", &SecretResponse { secrets }),
            Err(e) => Reply::internal_error(e),
        }
    }
}

#[async_trait]
impl<E: RegistryExtension> Endpoint for RegistryEndpoint<E> {
    const NAME: &'static str = "woodpecker-registry";
    type Request = RegistryRequest;

    fn subject(request: &RegistryRequest) -> String {
        request.repo.full_name.clone()
    }

    async fn respond(&self, request: RegistryRequest, _cx: &RequestContext) -> Reply {
        match self.0.registries(request).await {
            Ok(registries) if registries.is_empty() => {
                Reply::json("none", &RegistryResponse { registries })
            }
            Ok(registries) => Reply::json("found", &RegistryResponse { registries }),
            Err(e) => Reply::internal_error(e),
        }
    }
}
