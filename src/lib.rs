//! Write [Drone CI](https://www.drone.io/) and [Woodpecker CI](https://woodpecker-ci.org/)
//! extensions in Rust.
//!
//! Both protocols go through one design: a signature **scheme** (Drone's HTTP signatures in
//! [`signature`], Woodpecker's RFC 9421 Ed25519 signatures in `woodpecker`, feature
//! `woodpecker`), one verifying [`layer`] generic over the scheme
//! ([`VerifyLayer`](layer::VerifyLayer)), one decoding [`service`]
//! ([`ExtensionService`](service::ExtensionService)) over each kind's
//! [`Endpoint`](service::Endpoint), and one HTTP transport for the clients. Drone's kinds are in
//! [`drone`] (and at the root), Woodpecker's in `woodpecker`.
//!
//! Drone calls an extension with a signed JSON `POST`. Implement the trait of a kind, turn it into
//! a tower service, and put the [verifying layer](signature::VerifySignatureLayer) in front of it:
//! every request that reaches your code was signed by Drone with your secret, is fresh, and
//! carries exactly the body that was signed.
//!
//! ```
//! use drone_extension::admission::{Admission, AdmissionRequest, Admitter};
//! use drone_extension::signature::VerifySignatureLayer;
//! use drone_extension::signature::{SharedSecret, Signer};
//! use drone_extension::{BoxError, ExtensionKind};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! struct NoMallory;
//!
//! #[drone_extension::async_trait]
//! impl Admitter for NoMallory {
//!     async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError> {
//!         Ok(if request.user.login == "mallory" {
//!             Admission::deny("access denied")
//!         } else {
//!             Admission::Allow // keeps the user's admin flag
//!         })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
//! let service = ServiceBuilder::new()
//!     .layer(VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret.clone()))
//!     .service(NoMallory.into_service());
//!
//! // What Drone sends (the client module does this over HTTP).
//! let body = br#"{"event":"login","user":{"login":"octocat","admin":true}}"#;
//! let headers = Signer::new(secret).extension_headers(
//!     ExtensionKind::Admission.media_type(),
//!     body,
//!     std::time::SystemTime::now(),
//! )?;
//! let mut request = http::Request::post("/admission").body(http_body_util::Full::new(bytes::Bytes::from_static(body)))?;
//! *request.headers_mut() = headers;
//!
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), 200); // {"login":"octocat","admin":true,…}
//! # Ok(()) }
//! ```
//!
//! `use drone_extension::prelude::*` brings the kind traits, their request and answer types, the
//! layer, [`SharedSecret`](signature::SharedSecret) and [`async_trait`](macro@async_trait) into
//! scope: `drone-extension`, `axum` and `tokio` are the whole dependency list of a server. The
//! [`router`] serves several kinds in one server, each behind its own verifying layer, and
//! [`testing`] (feature `client`) signs requests, drives a service in process and reads its answer
//! as Drone does.
//!
//! The [`signature`] module holds the verifier and the signer, [`layer`] the tower layer,
//! [`models`] the JSON types, [`client`] (feature `client`, on by default) a client that calls
//! extensions exactly as Drone does, [`server`] (feature `server`, on by default; HTTPS with
//! feature `tls`) a hardened server to run an extension on, [`aesgcm`] (feature `aesgcm`)
//! drone-go's response encryption, and [`env`](mod@env) a reader of a binary's environment
//! that names each invalid, missing or misspelled variable and the expected form.
//!
//! # Extension kinds
//!
//! Each kind has a module with a request type, an async trait to implement and a tower service
//! (the trait's `into_service`) that answers with the statuses Drone expects; each module's
//! documentation says what Drone sends, what to answer and what Drone does with the answer.
//!
//! | module | trait | caller | if the extension fails |
//! |---|---|---|---|
//! | [`admission`] | [`Admitter`](admission::Admitter) | server, at login | login refused |
//! | [`global_secrets`] | [`GlobalSecretsProvider`](global_secrets::GlobalSecretsProvider) | Drone 0.8 server | build runs without secrets |
//! | [`secret`] | [`SecretFinder`](secret::SecretFinder) | runners | step runs without the secret |
//! | [`registry`] | [`RegistryProvider`](registry::RegistryProvider) | runners | images pulled without credentials |
//! | [`environ`] | [`EnvironProvider`](environ::EnvironProvider) | runners | stage runs without the variables |
//! | [`config`] | [`ConfigProvider`](config::ConfigProvider) | server, before a build | no build |
//! | [`convert`] | [`Converter`](convert::Converter) | server, before a build | build in the error state |
//! | [`validate`] | [`Validator`](validate::Validator) | server, before a build | build in the error state |
//! | [`webhook`] | [`WebhookReceiver`](webhook::WebhookReceiver) | server, after events | ignored |
//!
//! The services share their plumbing ([`service::ExtensionService`]) and check no signature:
//! serve each behind [`VerifySignatureLayer::for_kind`](signature::VerifySignatureLayer::for_kind).
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `client` | yes | `client::Client`, which calls extensions exactly as Drone does (hyper-util), and the `testing` helpers |
//! | `server` | yes | `server::Server`: a hardened HTTP server (timeouts, connection and in-flight bounds, stalled-answer eviction, graceful shutdown) |
//! | `tls` | yes | rustls (`ring`): `https` serving with `server`, `https://` endpoints verified against the system's roots with `client` |
//! | `metrics` | yes | Prometheus metrics (`metrics::MetricsLayer`) with the official `prometheus-client` |
//! | `redis` | no | `layer::RedisReplayGuard`: one replay guard shared by replicas through Redis or Valkey |
//! | `vault` | no | the `vault` module: a Vault / OpenBao secret backend (KV only), drone-vault's providers, Woodpecker secrets from Vault; implies `client` and `tls` |
//! | `woodpecker` | no | the `woodpecker` module: Woodpecker CI's RFC 9421 Ed25519 scheme, its kinds, router, signer (and client, with `client`) |
//! | `aesgcm` | no | drone-go's AES-256-GCM answer encryption for the secret, registry and environ kinds |
//! | `pathschanged` | no | the `pathschanged` module: a paths-changed (monorepo) convert extension for any forge: `paths` conditions (doublestar v1 globs), the lossless rewrite that skips pipelines and steps, and the changed files from git itself (runs the `git` binary) |
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "aesgcm")]
#[cfg_attr(docsrs, doc(cfg(feature = "aesgcm")))]
pub mod aesgcm;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod clock;
pub mod drone;
pub mod env;
pub mod glob;
pub mod json;
pub mod layer;
mod log;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
pub mod models;
#[cfg(feature = "pathschanged")]
#[cfg_attr(docsrs, doc(cfg(feature = "pathschanged")))]
pub mod pathschanged;
pub mod prelude;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
pub mod service;
pub mod signature;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod testing;
#[cfg(feature = "vault")]
#[cfg_attr(docsrs, doc(cfg(feature = "vault")))]
pub mod vault;
#[cfg(feature = "woodpecker")]
#[cfg_attr(docsrs, doc(cfg(feature = "woodpecker")))]
pub mod woodpecker;

/// Entry points for the fuzz targets (`fuzz/`) and the tests that replay their corpora: the
/// parsers behind the verifiers, which are not part of the public API. Not covered by semver:
/// anything here may change or disappear in any release (rustls's `__fuzz` pattern).
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::signature::digest::{SHA256_LEN, check_body, digest_header, parse_digest};
    pub use crate::signature::signing_string::{
        HeaderList, MAX_HEADER_LIST_ENTRIES, REQUEST_TARGET, signing_string,
    };
    #[cfg(feature = "woodpecker")]
    pub use crate::woodpecker::fields::{Component, SignatureFields, request_target};
}
mod forward;
mod http_error;
mod route_table;
// Used by the server's and the client's TLS: with `tls` alone there is neither.
#[cfg(all(feature = "tls", any(feature = "client", feature = "server")))]
mod tls_provider;

// Drone's kinds, at the root where users look for them (their files are in `drone/`).
#[doc(inline)]
pub use drone::{
    admission, config, convert, environ, global_secrets, kind, registry, router, secret, validate,
    webhook,
};
pub use kind::ExtensionKind;

/// The attribute every kind trait is implemented with (`#[drone_extension::async_trait]`),
/// re-exported so that an extension needs no `async-trait` dependency of its own.
pub use async_trait::async_trait;
/// tower's `Layer` trait (from `tower-layer`), re-exported so that `layer.layer(service)` needs
/// no dependency of your own.
pub use tower_layer::Layer;

// The README's Rust blocks compile as doctests (`rust,no_run` ones are built, not run).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// A boxed error, as returned by extension traits and used across the tower ecosystem.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
