//! Woodpecker CI extensions: config, secret and registry, signed with RFC 9421 and Ed25519.
//!
//! Woodpecker (Drone's community fork) calls its extensions with a `POST` of JSON, signed with
//! RFC 9421 HTTP Message Signatures: label `woodpecker-ci-extensions`, components
//! `("@request-target" "content-digest")`, `created` and `alg="ed25519"`, and a
//! `Content-Digest: sha-256=:…:` of the body. The key is the server's Ed25519 key, served as PEM at
//! [`PUBLIC_KEY_PATH`]. This module is the Woodpecker counterpart of the Drone modules: the
//! [`Verifier`] (next to the Drone [`signature`](crate::signature) verifier), its tower layer
//! ([`VerifyWoodpeckerLayer`], sharing the Drone layer's body machinery), the request and response
//! models, one trait and service per extension, a [`WoodpeckerRouter`] serving the three
//! extensions with one call, a [`prelude`], and a [`Signer`] that signs byte for byte as
//! Woodpecker does (the [`testing`](crate::testing) helpers sign with it).
//!
//! The signature binds only the `Content-Digest` *header*, not the body, and Woodpecker's own
//! example extension never compares the two: a captured request with another body (another
//! repository's secrets) passes there. This verifier hashes the exact body, rebuilds
//! `@request-target` from the path the request arrived on (so a request signed for one endpoint
//! is refused by another), requires `alg="ed25519"` without taking the algorithm from the message,
//! bounds `created` to a short window, and refuses duplicate signature fields and keys.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use drone_extension::woodpecker::{Error, Signer, Verifier};
//!
//! let signer = Signer::from_seed(&[1; 32]); // Woodpecker's side
//! let body = b"{\"repo\":{},\"pipeline\":{}}\n";
//! let mut request = http::Request::post("/woodpecker/secret").body(()).unwrap();
//! *request.headers_mut() = signer.headers("/woodpecker/secret", body, 1_786_000_000)?;
//! let (parts, ()) = request.into_parts();
//!
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_786_000_001);
//! let verifier = Verifier::new(signer.public_key()).clock(move || now);
//! assert!(verifier.verify(&parts, body).is_ok());
//!
//! // The same signed head sent to another endpoint is refused.
//! let mut replayed = http::Request::post("/woodpecker/registry").body(()).unwrap();
//! *replayed.headers_mut() = parts.headers.clone();
//! let (replayed, ()) = replayed.into_parts();
//! assert_eq!(verifier.verify(&replayed, body).unwrap_err(), Error::Signature);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `structured fields` are parsed with the `sfv` crate, Ed25519 verified with `ed25519-dalek`; the
//! only hand-written parts are Woodpecker specifics no library has: Go's percent-decoded
//! `@request-target`, and the refusal of duplicate dictionary keys (RFC 8941 parsers keep the last).

#[cfg(feature = "client")]
pub(crate) mod client;
mod error;
mod extension;
pub(crate) mod fields;
mod key;
pub mod models;
pub mod prelude;
pub mod router;
mod scheme;
mod sign;
mod verify;

/// What an [`Error`] tells the layer (status, class, public reason): the trait is the layer's.
pub use crate::layer::SchemeError;
/// The one endpoint trait of every protocol (Woodpecker's own trait was merged into it).
pub use crate::service::Endpoint;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use client::{Client, WOODPECKER_USER_AGENT, fetch_public_key};
pub use error::Error;
pub use extension::{
    ConfigAnswer, ConfigEndpoint, ConfigExtension, RegistryEndpoint, RegistryExtension,
    SecretEndpoint, SecretExtension, WoodpeckerService,
};
pub use fields::{ED25519, LABEL, SIGNATURE_LEN};
pub use key::{KeyError, PUBLIC_KEY_PATH, PublicKey, PublicKeys};
pub use models::{
    ConfigFile, ConfigRequest, ConfigResponse, Netrc, Pipeline, Registry, RegistryRequest,
    RegistryResponse, Repo, Secret, SecretRequest, SecretResponse,
};
pub use router::WoodpeckerRouter;
pub use scheme::{VerifyWoodpecker, VerifyWoodpeckerLayer};
pub use sign::{DigestAlgorithm, SignedHeaders, Signer};
pub use verify::{
    CONTENT_DIGEST, DEFAULT_MAX_AGE, DEFAULT_MAX_FUTURE_SKEW, SIGNATURE, SIGNATURE_INPUT, Verified,
    VerifiedHeaders, Verifier,
};
