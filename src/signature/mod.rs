//! Drone's HTTP signatures: parse, verify and produce them.
//!
//! Drone signs every extension call with a draft-cavage HTTP Signature: an HMAC-SHA256, keyed
//! with the shared secret, over the lines `accept`, `accept-encoding`, `content-type`, `date` and
//! `digest` (the server's webhook sender signs only `date digest`), plus a `Digest: SHA-256=…`
//! header that hashes the body. This module is the pure, synchronous core that checks them; the
//! [`layer`](crate::layer) puts it in front of a service.
//!
//! The official Go verifier checks the MAC and nothing else. This one also:
//!
//! * recomputes the body's SHA-256 and compares it with the signed `Digest`, so a captured request
//!   cannot have its body replaced;
//! * requires a `Date` inside a clock window (±300 s by default), so it cannot be replayed forever;
//! * accepts `hmac-sha256` only, requires Drone's full header coverage and, per endpoint, the
//!   media type signed in `Accept`, so a request for one extension is refused by another that
//!   shares the secret;
//! * parses the header with a real RFC 7235 grammar and refuses every ambiguity (two signature
//!   headers, duplicate parameters, a signed header sent twice).
//!
//! Checks run cheap to expensive, and [`Verifier::verify_headers`] needs no body byte: the body is
//! read only once the head is known to be signed by a configured key.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use drone_extension::kind::ADMISSION_V1;
//! use drone_extension::signature::{Error, Policy, SharedSecret, Verifier};
//!
//! // An admission request exactly as Drone sends it (signed on 1 January 2020).
//! let body = r#"{"event":"login","user":{"id":1,"login":"octocat","email":"octocat@github.com","avatar_url":"https://avatars.githubusercontent.com/u/583231?v=4","active":true,"admin":false,"machine":false,"syncing":false,"synced":1577836800,"created":1577836800,"updated":1577836800,"last_login":1577836800,"token":""},"token":{"access":"","refresh":""}}"#;
//! let request = http::Request::post("/")
//!     .header("Accept", ADMISSION_V1)
//!     .header("Accept-Encoding", "identity")
//!     .header("Content-Type", "application/json")
//!     .header("Date", "Wed, 01 Jan 2020 00:00:00 GMT")
//!     .header("Digest", "SHA-256=Zdhyq4rAv3gYFbWXpolJ3LlxuU0bIqZRsJ5/SCXSJZo=")
//!     .header("Signature", r#"keyId="hmac-key",algorithm="hmac-sha256",signature="rTfEZCy4nPkRRXWFosH7dQkHBFLyxJ+oVpDoSXFkxOc=",headers="accept accept-encoding content-type date digest""#)
//!     .body(body)?;
//! let (parts, body) = request.into_parts();
//!
//! let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
//! let secret = SharedSecret::new("correct-horse-battery-staple")?;
//! let verifier = Verifier::new(secret, Policy::drone_extension(ADMISSION_V1).clock(move || then));
//! let verified = verifier.verify(&parts, body.as_bytes())?;
//! assert!(verified.is_signed("digest"));
//!
//! // Six minutes later the same request is stale.
//! let later = then + Duration::from_secs(360);
//! let secret = SharedSecret::new("correct-horse-battery-staple")?;
//! let verifier = Verifier::new(secret, Policy::drone_extension(ADMISSION_V1).clock(move || later));
//! assert!(matches!(verifier.verify(&parts, body.as_bytes()), Err(Error::Stale(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod digest;
mod error;
mod key;
mod params;
mod policy;
mod scheme;
mod sign;
pub(crate) mod signing_string;
mod verify;

/// What an [`Error`] tells the layer (status, class, public reason): the trait is the layer's.
pub use crate::layer::SchemeError;
pub use error::Error;
pub use key::{AESGCM_KEY_LEN, KeyError, Keyring, SharedSecret};
pub use params::{MAX_HEADER_LEN, MAX_PARAMS, SignatureParams};
pub use policy::{
    Clock, DEFAULT_MAX_SKEW, DRONE_EXTENSION_HEADERS, DRONE_WEBHOOK_HEADERS, Policy, SystemClock,
};
pub use scheme::{VerifySignature, VerifySignatureLayer};
pub use sign::{DRONE_KEY_ID, EXTENSION_HEADER_LIST, Signer, WEBHOOK_HEADER_LIST};
pub(crate) use signing_string::{HeaderList, MAX_HEADER_LIST_ENTRIES};
pub use verify::{MAC_LEN, SIGNATURE, Verified, VerifiedHeaders, Verifier};

/// The only algorithm accepted, and the one Drone uses.
pub const HMAC_SHA256: &str = "hmac-sha256";
