//! Several extension kinds in one server, wired so that the obvious code is the correct code.
//!
//! Drone signs the media type of each kind into the request, and each route must verify with its
//! own kind's policy and secret. Two ways to get that without thinking about layers:
//!
//! * [`ExtensionRouter`]: add kinds with their secrets; each is served, verified, on its
//!   conventional path ([`ExtensionKind::path`]). It is a tower service of its own: hand it to
//!   axum's `Router::fallback_service` or `Router::nest_service`, or to hyper directly.
//! * [`verified_service`]: one kind's service behind its own verifying layer, in one value, for
//!   axum's `Router::route_service` at a path of your choosing.
//!
//! ```
//! use axum::{Router, routing::get};
//! use drone_extension::prelude::*;
//!
//! struct Docker;
//!
//! #[async_trait]
//! impl SecretFinder for Docker {
//!     async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
//!         Ok((request.name == "username").then(|| Secret {
//!             name: request.name,
//!             data: "octocat".into(),
//!             ..Default::default()
//!         }))
//!     }
//! }
//!
//! struct Everyone;
//!
//! #[async_trait]
//! impl Admitter for Everyone {
//!     async fn admit(&self, _: AdmissionRequest) -> Result<Admission, BoxError> {
//!         Ok(Admission::Allow)
//!     }
//! }
//!
//! # fn main() -> Result<(), BoxError> {
//! let secret_key = SharedSecret::new("a-secret-for-the-secret-kind-only")?;
//! let admission_key = SharedSecret::new("a-secret-for-the-admission-kind")?;
//!
//! // `/secret` and `/admission`, each verified with its kind's policy and key.
//! let kinds = ExtensionRouter::new()
//!     .secret(secret_key.clone(), Docker)
//!     .admission(admission_key, Everyone);
//! let app: Router = Router::new()
//!     .route("/healthz", get(|| async { "ok" }))
//!     .fallback_service(kinds);
//!
//! // The same, one route at a time, at any path.
//! let app: Router = Router::new()
//!     .route_service("/drone/secret", verified_service(secret_key, Docker.into_service()));
//! # Ok(()) }
//! ```
//!
//! Do not chain `.route_service(…).route_layer(VerifySignatureLayer::for_kind(…))` once per kind
//! on one axum `Router`: `route_layer` wraps every route added before it, so each earlier route
//! ends up behind the layers of the later kinds and refuses every request (see the
//! [`layer`](crate::layer#several-kinds-in-one-router) module).

use std::fmt;

use tower_layer::Layer;

use crate::route_table::{self, RouteTable};

use crate::ExtensionKind;
use crate::admission::Admitter;
use crate::config::ConfigProvider;
use crate::convert::Converter;
use crate::environ::EnvironProvider;
use crate::global_secrets::GlobalSecretsProvider;
use crate::registry::RegistryProvider;
use crate::secret::SecretFinder;
use crate::service::{DroneEndpoint, ExtensionService};
use crate::signature::Keyring;
use crate::signature::{VerifySignature, VerifySignatureLayer};
use crate::validate::Validator;
use crate::webhook::WebhookReceiver;

/// One kind's service behind its own verifying layer (what [`verified_service`] returns).
pub type VerifiedService<E> = VerifySignature<ExtensionService<E>>;

/// The response of an [`ExtensionRouter`] and of a [`VerifiedService`].
pub use crate::route_table::RouterResponse;

/// `service` behind [`VerifySignatureLayer::for_kind`] for its own kind, keyed with `keys`: the
/// kind comes from the service, so it cannot be the wrong one.
///
/// Hand the result to axum's `Router::route_service` (at any path), or serve it with hyper. For
/// other layer settings (body limits, a replay guard), layer the service yourself with
/// `VerifySignatureLayer::for_kind(kind, keys).body_limit(…)` and `Router::route_service`.
///
/// ```
/// use drone_extension::prelude::*;
///
/// struct Nobody;
///
/// #[async_trait]
/// impl Admitter for Nobody {
///     async fn admit(&self, _: AdmissionRequest) -> Result<Admission, BoxError> {
///         Ok(Admission::deny("closed for maintenance"))
///     }
/// }
///
/// let key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
/// let app: axum::Router = axum::Router::new()
///     .route_service("/admission", verified_service(key, Nobody.into_service()));
/// # Ok::<(), BoxError>(())
/// ```
pub fn verified_service<E: DroneEndpoint>(
    keys: impl Into<Keyring>,
    service: ExtensionService<E>,
) -> VerifiedService<E> {
    VerifySignatureLayer::for_kind(E::KIND, keys).layer(service)
}

/// A tower service serving several extension kinds, each on its own path and behind its own
/// verifying layer.
///
/// Add kinds with the per-kind methods ([`secret`](Self::secret), [`admission`](Self::admission),
/// …) or with [`service`](Self::service) for a configured [`ExtensionService`]; each kind is
/// served at [`ExtensionKind::path`] (`/secret`, `/global-secrets`, …) and verified with
/// [`VerifySignatureLayer::for_kind`] and the keys given with it. Adding a kind twice replaces it.
///
/// | request | answer |
/// |---|---|
/// | a path with no kind | 404, `404 page not found` |
/// | a kind's path, not `POST` | 405, `Allow: POST` |
/// | a kind's path, `POST` | the layer, then the kind's service |
///
/// It accepts any request body (axum's, hyper's `Incoming`, `Full<Bytes>`), never fails
/// (`Error = Infallible`) and is cheap to clone. With axum, pass it to `Router::fallback_service`
/// (next to your own routes, such as `/healthz`) or to `Router::nest_service("/prefix", …)`; with
/// hyper, wrap it in `hyper_util::service::TowerToHyperService`. See the [module
/// documentation](self) for an example. Woodpecker's kinds have their own router,
/// `woodpecker::WoodpeckerRouter` (feature `woodpecker`), built on the same table.
#[derive(Clone, Default)]
pub struct ExtensionRouter {
    table: RouteTable,
    #[cfg(feature = "aesgcm")]
    aesgcm: bool,
}

route_table::router_service!(ExtensionRouter);

impl fmt::Debug for ExtensionRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kinds = self.kinds();
        kinds.sort_by_key(|kind| kind.path());
        f.debug_struct("ExtensionRouter")
            .field("kinds", &kinds)
            .finish()
    }
}

impl ExtensionRouter {
    /// A router with no kind: every request is answered 404.
    pub fn new() -> ExtensionRouter {
        ExtensionRouter::default()
    }

    /// Serves `service` at its kind's path, verified with `keys`. Use it for a service configured
    /// with its builder methods (`body_limit`, `aesgcm_key`, …).
    pub fn service<E: DroneEndpoint>(
        mut self,
        keys: impl Into<Keyring>,
        service: ExtensionService<E>,
    ) -> ExtensionRouter {
        self.table
            .insert(E::KIND.path(), verified_service(keys, service));
        self
    }

    /// Encrypts the answers of the secret, registry and environ kinds added **after** this call
    /// for the callers that ask for it (`Accept-Encoding: aesgcm`), with the first key of each
    /// kind, as drone-go does (see `ExtensionService::aesgcm_key`). Off by default: turning the
    /// `aesgcm` feature on changes no answer by itself.
    #[cfg(feature = "aesgcm")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aesgcm")))]
    pub fn aesgcm(mut self) -> ExtensionRouter {
        self.aesgcm = true;
        self
    }

    /// Records every kind's requests into `metrics`, as a
    /// [`MetricsLayer`](crate::metrics::MetricsLayer) around each kind's verifying layer would
    /// (the router's own 404 and 405 answers are not recorded).
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics(mut self, metrics: &crate::metrics::Metrics) -> ExtensionRouter {
        self.table.set_metrics(metrics);
        self
    }

    /// The kinds served, in no particular order.
    pub fn kinds(&self) -> Vec<ExtensionKind> {
        self.table
            .routes()
            .into_iter()
            .filter_map(|(_, name)| name.parse().ok())
            .collect()
    }

    /// Serves an [`Admitter`] at `/admission`.
    pub fn admission(self, keys: impl Into<Keyring>, admitter: impl Admitter) -> Self {
        self.service(keys, crate::admission::service(admitter))
    }

    /// Serves a Drone 0.8 [`GlobalSecretsProvider`] at `/global-secrets`.
    pub fn global_secrets(
        self,
        keys: impl Into<Keyring>,
        provider: impl GlobalSecretsProvider,
    ) -> Self {
        self.service(keys, crate::global_secrets::service(provider))
    }

    /// Serves a [`SecretFinder`] at `/secret`. After `aesgcm()` (feature `aesgcm`), a caller that
    /// asks for it gets the answer encrypted with the first key, as drone-go does (likewise
    /// `/registry` and `/environ`).
    pub fn secret(self, keys: impl Into<Keyring>, finder: impl SecretFinder) -> Self {
        let keys = keys.into();
        let service = crate::secret::service(finder);
        #[cfg(feature = "aesgcm")]
        let service = if self.aesgcm {
            service.aesgcm_key(keys.primary().clone())
        } else {
            service
        };
        self.service(keys, service)
    }

    /// Serves a [`RegistryProvider`] at `/registry`.
    pub fn registry(self, keys: impl Into<Keyring>, provider: impl RegistryProvider) -> Self {
        let keys = keys.into();
        let service = crate::registry::service(provider);
        #[cfg(feature = "aesgcm")]
        let service = if self.aesgcm {
            service.aesgcm_key(keys.primary().clone())
        } else {
            service
        };
        self.service(keys, service)
    }

    /// Serves an [`EnvironProvider`] at `/environ`.
    pub fn environ(self, keys: impl Into<Keyring>, provider: impl EnvironProvider) -> Self {
        let keys = keys.into();
        let service = crate::environ::service(provider);
        #[cfg(feature = "aesgcm")]
        let service = if self.aesgcm {
            service.aesgcm_key(keys.primary().clone())
        } else {
            service
        };
        self.service(keys, service)
    }

    /// Serves a [`ConfigProvider`] at `/config`.
    pub fn config(self, keys: impl Into<Keyring>, provider: impl ConfigProvider) -> Self {
        self.service(keys, crate::config::service(provider))
    }

    /// Serves a [`Converter`] at `/convert`.
    pub fn convert(self, keys: impl Into<Keyring>, converter: impl Converter) -> Self {
        self.service(keys, crate::convert::service(converter))
    }

    /// Serves a [`Validator`] at `/validate`.
    pub fn validate(self, keys: impl Into<Keyring>, validator: impl Validator) -> Self {
        self.service(keys, crate::validate::service(validator))
    }

    /// Serves a [`WebhookReceiver`] at `/webhook`.
    pub fn webhook(self, keys: impl Into<Keyring>, receiver: impl WebhookReceiver) -> Self {
        self.service(keys, crate::webhook::service(receiver))
    }
}
