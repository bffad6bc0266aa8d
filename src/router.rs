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

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use tower_layer::Layer;
use tower_service::Service;

use crate::admission::Admitter;
use crate::config::ConfigProvider;
use crate::convert::Converter;
use crate::environ::EnvironProvider;
use crate::global_secrets::GlobalSecretsProvider;
use crate::layer::{ResponseBody, VerifiedBody, VerifySignature, VerifySignatureLayer};
use crate::registry::RegistryProvider;
use crate::secret::SecretFinder;
use crate::service::{DroneEndpoint, ExtensionService};
use crate::signature::Keyring;
use crate::validate::Validator;
use crate::webhook::WebhookReceiver;
use crate::{BoxError, ExtensionKind};

/// One kind's service behind its own verifying layer (what [`verified_service`] returns).
pub type VerifiedService<E> = VerifySignature<ExtensionService<E>>;

/// The response of an [`ExtensionRouter`] and of a [`VerifiedService`].
pub type RouterResponse = Response<ResponseBody<VerifiedBody>>;

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

/// The body every route of an [`ExtensionRouter`] receives, whatever the server's body type.
type RouteBody = UnsyncBoxBody<Bytes, BoxError>;

type RouteFuture = Pin<Box<dyn Future<Output = RouterResponse> + Send + 'static>>;

/// One verified kind, type-erased.
trait Route: Send + Sync + 'static {
    fn call(&self, request: Request<RouteBody>) -> RouteFuture;
}

impl<E: DroneEndpoint> Route for VerifiedService<E> {
    fn call(&self, request: Request<RouteBody>) -> RouteFuture {
        let mut service = self.clone();
        Box::pin(async move {
            let ready = poll_fn(|cx| Service::<Request<RouteBody>>::poll_ready(&mut service, cx));
            let result = match ready.await {
                Ok(()) => Service::call(&mut service, request).await,
                Err(never) => Err(never),
            };
            match result {
                Ok(response) => response,
                Err(never) => match never {},
            }
        })
    }
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
/// documentation](self) for an example.
#[derive(Clone, Default)]
pub struct ExtensionRouter {
    routes: Arc<Routes>,
    /// With [`metrics`](Self::metrics): each kind's series, resolved once.
    #[cfg(feature = "metrics")]
    metrics: Option<RouterMetrics>,
}

#[cfg(feature = "metrics")]
#[derive(Clone)]
struct RouterMetrics {
    metrics: crate::metrics::Metrics,
    series: Arc<HashMap<ExtensionKind, Arc<crate::metrics::KindSeries>>>,
}

#[cfg(feature = "metrics")]
impl RouterMetrics {
    fn new(
        metrics: &crate::metrics::Metrics,
        kinds: impl IntoIterator<Item = ExtensionKind>,
    ) -> Self {
        RouterMetrics {
            metrics: metrics.clone(),
            series: Arc::new(
                kinds
                    .into_iter()
                    .map(|kind| (kind, metrics.kind(kind.name())))
                    .collect(),
            ),
        }
    }
}

/// The kinds served, by path.
type Routes = HashMap<&'static str, (ExtensionKind, Arc<dyn Route>)>;

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
        let route: Arc<dyn Route> = Arc::new(verified_service(keys, service));
        Arc::make_mut(&mut self.routes).insert(E::KIND.path(), (E::KIND, route));
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            self.metrics = Some(RouterMetrics::new(&metrics.metrics, self.kinds()));
        }
        self
    }

    /// Records every kind's requests into `metrics`, as a
    /// [`MetricsLayer`](crate::metrics::MetricsLayer) around each kind's verifying layer would
    /// (the router's own 404 and 405 answers are not recorded).
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics(mut self, metrics: &crate::metrics::Metrics) -> ExtensionRouter {
        self.metrics = Some(RouterMetrics::new(metrics, self.kinds()));
        self
    }

    /// The kinds served, in no particular order.
    pub fn kinds(&self) -> Vec<ExtensionKind> {
        self.routes.values().map(|(kind, _)| *kind).collect()
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

    /// Serves a [`SecretFinder`] at `/secret`. With the `aesgcm` feature, a caller that asks for
    /// it gets the answer encrypted with the first key, as drone-go does (see
    /// `ExtensionService::aesgcm_key`; likewise `/registry` and `/environ`).
    pub fn secret(self, keys: impl Into<Keyring>, finder: impl SecretFinder) -> Self {
        let keys = keys.into();
        let service = crate::secret::service(finder);
        #[cfg(feature = "aesgcm")]
        let service = service.aesgcm_key(keys.primary().clone());
        self.service(keys, service)
    }

    /// Serves a [`RegistryProvider`] at `/registry`.
    pub fn registry(self, keys: impl Into<Keyring>, provider: impl RegistryProvider) -> Self {
        let keys = keys.into();
        let service = crate::registry::service(provider);
        #[cfg(feature = "aesgcm")]
        let service = service.aesgcm_key(keys.primary().clone());
        self.service(keys, service)
    }

    /// Serves an [`EnvironProvider`] at `/environ`.
    pub fn environ(self, keys: impl Into<Keyring>, provider: impl EnvironProvider) -> Self {
        let keys = keys.into();
        let service = crate::environ::service(provider);
        #[cfg(feature = "aesgcm")]
        let service = service.aesgcm_key(keys.primary().clone());
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

/// A plain-text answer of the router itself, shaped like Go's `http.Error`.
fn plain(status: StatusCode, text: &'static str) -> RouterResponse {
    let mut response = Response::new(ResponseBody::rejection(Full::new(Bytes::from_static(
        text.as_bytes(),
    ))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

impl<B> Service<Request<B>> for ExtensionRouter
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = RouterResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<RouterResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
        let Some((kind, route)) = self.routes.get(request.uri().path()) else {
            return Box::pin(std::future::ready(Ok(plain(
                StatusCode::NOT_FOUND,
                "404 page not found\n",
            ))));
        };
        if request.method() != Method::POST {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return Box::pin(std::future::ready(Ok(response)));
        }
        let future = route.call(request.map(|body| body.map_err(Into::into).boxed_unsync()));
        let answered = async move { Ok(future.await) };
        #[cfg(feature = "metrics")]
        if let Some(series) = self.metrics.as_ref().and_then(|m| m.series.get(kind)) {
            let recorded = crate::metrics::ResponseFuture::start(answered, series.clone());
            return Box::pin(recorded);
        }
        Box::pin(answered)
    }
}
