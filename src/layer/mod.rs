//! The verifying tower layer: one line to protect an axum router or a hyper service.
//!
//! [`VerifyLayer`] checks a request's signature under its [`Scheme`], reads the body under a size
//! limit and deadlines only once the signed head is known to be authentic, has the scheme check
//! the body, and hands the inner service the exact verified bytes ([`VerifiedBody`]) with the
//! scheme's proof as a request extension. Every refusal is a short plain-text response
//! ([`Rejection`]); the reason goes to the `tracing` log. One layer serves every scheme:
//!
//! | scheme | layer | proof in the extensions |
//! |---|---|---|
//! | Drone's HTTP signatures ([`signature::Verifier`](crate::signature::Verifier)) | [`signature::VerifySignatureLayer`](crate::signature::VerifySignatureLayer) | [`signature::Verified`](crate::signature::Verified) |
//! | Woodpecker's RFC 9421 Ed25519 (`woodpecker::Verifier`, feature `woodpecker`) | `woodpecker::VerifyWoodpeckerLayer` | `woodpecker::Verified` |
//! | yours ([`Scheme`]) | [`VerifyLayer::with_scheme`] | [`VerifiedOf<T>`](VerifiedOf) |
//!
//! This module knows no scheme: each scheme's module implements [`Scheme`] (Drone's in
//! `signature/scheme.rs`, Woodpecker's in `woodpecker/scheme.rs`).
//!
//! # With axum
//!
//! ```
//! use axum::{Extension, Router, routing::post};
//! use drone_extension::ExtensionKind;
//! use drone_extension::signature::VerifySignatureLayer;
//! use drone_extension::signature::{SharedSecret, Verified};
//!
//! async fn secret(Extension(verified): Extension<Verified>, body: String) -> String {
//!     format!("signed by {} over {} bytes", verified.key_id(), body.len())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret_key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
//! let app: Router = Router::new()
//!     .route("/secret", post(secret))
//!     .route_layer(VerifySignatureLayer::for_kind(ExtensionKind::Secret, secret_key));
//! # Ok(()) }
//! ```
//!
//! `route_layer` leaves unmatched paths (404) and unsigned routes added after it, such as a
//! `/healthz`, alone.
//!
//! axum's body extractors (`Bytes`, `String`, `Json`, …) apply their own limit,
//! `axum::extract::DefaultBodyLimit` (2 MB unless configured), to the verified body too: a body
//! the layer accepted between 2 MB and its own limit (4 MiB by default) is then refused by the
//! extractor with 413. Raise axum's limit to the layer's on the router:
//!
//! ```
//! # use axum::{Router, extract::DefaultBodyLimit, routing::post};
//! # use drone_extension::{ExtensionKind, signature::SharedSecret};
//! use drone_extension::layer::DEFAULT_BODY_LIMIT;
//! use drone_extension::signature::VerifySignatureLayer;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let secret_key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
//! let app: Router = Router::new()
//!     .route("/convert", post(|body: String| async move { body }))
//!     .route_layer(VerifySignatureLayer::for_kind(ExtensionKind::Convert, secret_key))
//!     .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT));
//! # Ok(()) }
//! ```
//!
//! # Several kinds in one router
//!
//! `route_layer` wraps **every route added before it**. Chaining
//! `.route_service("/secret", …).route_layer(for_kind(Secret, …))` and then
//! `.route_service("/admission", …).route_layer(for_kind(Admission, …))` puts `/secret` behind
//! both layers: the admission layer refuses every secret request (401, logged as "signed for
//! another kind; is a layer of another route stacked on this one?"). Give each kind its own
//! layered service instead, with [`router::verified_service`](crate::router::verified_service)
//! and `route_service`, or serve all kinds with an
//! [`ExtensionRouter`](crate::router::ExtensionRouter).
//!
//! # With hyper
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use hyper_util::service::TowerToHyperService;
//! use tower::ServiceBuilder;
//! use drone_extension::ExtensionKind;
//! use drone_extension::layer::VerifiedBody;
//! use drone_extension::signature::VerifySignatureLayer;
//! use drone_extension::signature::SharedSecret;
//!
//! async fn handle(request: Request<VerifiedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("verified"))))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
//! let service = ServiceBuilder::new()
//!     .layer(VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret))
//!     .service_fn(handle);
//! // Serve each accepted connection with
//! // hyper::server::conn::http1::Builder::new().serve_connection(io, service.clone()).
//! let service = TowerToHyperService::new(service);
//! # let _ = service;
//! # Ok(()) }
//! ```
//!
//! The body deadlines use tokio's timer: run the service inside a tokio runtime. The layer sees
//! a request only once its head has arrived: serve it with `server::Server` (feature `server`),
//! which bounds the connections and the requests in flight (and so how many bodies are read at
//! once) and closes connections whose head trickles, never comes, or that sit idle. A bare hyper
//! connection or `axum::serve` has no timer, so hyper's `header_read_timeout` is off there.
//!
//! # Bounded by default
//!
//! Two bounds are always on, whatever the configuration:
//!
//! * **One slot per captured request.** `Content-Length` is not signed, so a request whose body
//!   has not arrived within 100 ms registers its exact signature until the body is received,
//!   and a request carrying a registered signature is refused at once, before its own body is
//!   read ([`Rejection::DuplicateInProgress`], 409): a captured request re-sent with a trickled
//!   body holds one slot, not one per copy. Drone's own identical concurrent requests (registry
//!   and environ, once per stage) send their small bodies at once, never register, and are
//!   never refused.
//! * **A process-wide budget of buffered body bytes** ([`BodyBudget`], 64 MiB shared by every
//!   layer unless configured): a request waits up to 5 s for room for its declared length, then
//!   gets 503 with `Retry-After: 1` ([`Rejection::Busy`]).

mod body;
mod budget;
mod future;
mod in_flight;
mod intake;
#[allow(clippy::module_inception)]
mod layer;
mod rejection;
mod replay;
pub(crate) mod scheme;
mod service;

pub(crate) use body::read_body;
pub use body::{BodyReceived, ResponseBody, VerifiedBody};
pub use budget::{BodyBudget, DEFAULT_BODY_BUDGET, DEFAULT_BUDGET_WAIT};
pub use future::ResponseFuture;
pub use layer::{DEFAULT_BODY_DEADLINE, DEFAULT_BODY_LIMIT, DEFAULT_IDLE_TIMEOUT, VerifyLayer};
pub use rejection::{Refused, Rejection};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use replay::{
    DEFAULT_REDIS_KEY_PREFIX, DEFAULT_REDIS_TIMEOUT, RedisGuardError, RedisReplayGuard,
};
pub use replay::{MemoryReplayGuard, ReplayGuard};
pub use scheme::{
    ErrorOf, FINGERPRINT_LEN, Fingerprint, PendingBody, Scheme, SchemeError, SignatureFailure,
    VerifiedOf,
};
pub use service::Verify;
