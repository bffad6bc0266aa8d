//! [`Scheme`]: what the verifying layer asks of a signature scheme.
//!
//! The layer ([`VerifyLayer`](super::VerifyLayer)) knows nothing of how a request is signed. It
//! asks its scheme to check the head ([`Scheme::verify_head`]), gets back a [`PendingBody`] that
//! carries the request's [`Fingerprint`] (for the in-flight refusal of copies and the replay
//! guard) and later checks the body into the scheme's proof ([`PendingBody::Verified`]), which the layer
//! puts in the request's extensions. Everything else (body limits and deadlines, the budget,
//! in-flight copies, the replay guard, the plain-text refusals) is the layer's and is the same
//! for every scheme.

use std::fmt;
use std::time::SystemTime;

use http::StatusCode;
use http::request::Parts;

/// The length of a [`Fingerprint`], in bytes.
pub const FINGERPRINT_LEN: usize = 32;

/// What identifies one signed request: equal for byte-identical copies, different for any other
/// request. Drone's is the HMAC; Woodpecker's the SHA-256 of the Ed25519 signature.
///
/// The layer refuses a copy of a request whose body is still arriving by it, and the replay
/// guard remembers it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; FINGERPRINT_LEN]);

impl Fingerprint {
    /// A fingerprint of these bytes (a MAC, or the hash of a signature).
    pub const fn new(bytes: [u8; FINGERPRINT_LEN]) -> Fingerprint {
        Fingerprint(bytes)
    }

    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8; FINGERPRINT_LEN] {
        &self.0
    }
}

impl fmt::Debug for Fingerprint {
    /// The first 4 bytes in hex: enough to tell requests apart in a log, not a usable MAC.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Fingerprint({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// The error of a [`Scheme`]: what the layer needs to answer and log a refused request.
///
/// The layer answers with [`status`](SchemeError::status) and
/// [`public_reason`](SchemeError::public_reason) (plus `\n`, as Go's `http.Error`); it logs
/// [`Display`](fmt::Display), the [`class`](SchemeError::class) and the
/// [`operator_hint`](SchemeError::operator_hint), and counts the
/// [`reason`](SchemeError::reason) in metrics.
pub trait SchemeError: std::error::Error + Send + Sync + 'static {
    /// The class of the failure, as logged: `missing`, `malformed`, `algorithm`, `key`,
    /// `policy`, `stale`, `signature`, `digest`, … .
    fn class(&self) -> &'static str;

    /// Whether the request could not be parsed (a malformed signature or digest field), rather
    /// than parsed and refused. Default: `false`.
    fn malformed(&self) -> bool {
        false
    }

    /// The HTTP status of the refusal: 400 for what cannot be parsed
    /// ([`malformed`](SchemeError::malformed)), 401 for the rest.
    fn status(&self) -> StatusCode {
        if self.malformed() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNAUTHORIZED
        }
    }

    /// The text of the response body: the failed check in the broadest terms, never an expected
    /// value. By default `Missing signature` (class `missing`), `Malformed digest` /
    /// `Malformed signature` (malformed, class `digest` or other), else `Invalid signature`.
    fn public_reason(&self) -> &'static str {
        match (self.class(), self.malformed()) {
            ("missing", _) => "Missing signature",
            ("digest", true) => "Malformed digest",
            (_, true) => "Malformed signature",
            _ => "Invalid signature",
        }
    }

    /// The metrics label ([`Rejection::reason`](super::Rejection::reason)): by default the class.
    fn reason(&self) -> &'static str {
        self.class()
    }

    /// What an operator should check when this happens (a secret that differs from the caller's,
    /// clocks out of sync, …), logged with the refusal; `None` when the reason says it all.
    fn operator_hint(&self) -> Option<&'static str> {
        None
    }
}

/// A head that verified; its body remains to be checked.
pub trait PendingBody: Send + 'static {
    /// The proof of a verified request (put into the request's extensions).
    type Verified: Clone + fmt::Debug + Send + Sync + 'static;
    /// Why the body was refused.
    type Error: SchemeError;

    /// The request's fingerprint (asked for once per request, before the body).
    fn fingerprint(&self) -> Fingerprint;

    /// Checks the exact body bytes, as received.
    ///
    /// # Errors
    ///
    /// When the body is not the one signed.
    fn verify_body(self, body: &[u8]) -> Result<Self::Verified, Self::Error>;
}

/// A signature scheme: how the verifying layer checks a request's head, then its body.
///
/// The crate implements it for Drone's HTTP signatures
/// ([`signature::Verifier`](crate::signature::Verifier)) and, with the feature `woodpecker`, for
/// Woodpecker's RFC 9421 Ed25519 signatures (`woodpecker::Verifier`). A scheme of your own plugs
/// into the same layer:
///
/// ```
/// use std::time::SystemTime;
/// use drone_extension::layer::{Fingerprint, PendingBody, Scheme, SchemeError, VerifyLayer};
///
/// /// Accepts a request whose `X-Token` header is `open-sesame` (a toy: not a signature).
/// #[derive(Clone)]
/// struct Token;
///
/// #[derive(Debug)]
/// struct NoToken;
/// impl std::fmt::Display for NoToken {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("no valid X-Token")
///     }
/// }
/// impl std::error::Error for NoToken {}
/// impl SchemeError for NoToken {
///     fn class(&self) -> &'static str { "signature" } // 401 "Invalid signature"
/// }
///
/// struct Pending(Fingerprint);
/// impl PendingBody for Pending {
///     type Verified = ();
///     type Error = NoToken;
///     fn fingerprint(&self) -> Fingerprint { self.0 }
///     fn verify_body(self, _body: &[u8]) -> Result<(), NoToken> { Ok(()) }
/// }
///
/// impl Scheme for Token {
///     type Pending = Pending;
///     fn verify_head(&self, parts: &http::request::Parts) -> Result<Pending, NoToken> {
///         match parts.headers.get("x-token") {
///             Some(token) if token == "open-sesame" => Ok(Pending(Fingerprint::new([7; 32]))),
///             _ => Err(NoToken),
///         }
///     }
/// }
///
/// let layer = VerifyLayer::with_scheme(Token).body_limit(64 * 1024);
/// # let _ = layer;
/// ```
pub trait Scheme: Send + Sync + 'static {
    /// A verified head, waiting for its body; its [`PendingBody::Verified`] is the scheme's
    /// proof (put into the request's extensions) and its [`PendingBody::Error`] the scheme's
    /// error.
    type Pending: PendingBody;

    /// Checks everything the head carries, before any body byte is read.
    ///
    /// # Errors
    ///
    /// When the head is not validly signed.
    fn verify_head(&self, parts: &Parts) -> Result<Self::Pending, ErrorOf<Self>>;

    /// When a verified request stops being acceptable, for the replay guard: `(now, until)` on
    /// the scheme's clock. `None` (the default) leaves the request out of the replay guard.
    fn replay_window(&self, verified: &VerifiedOf<Self>) -> Option<(SystemTime, SystemTime)> {
        let _ = verified;
        None
    }
}

/// The proof of a request verified under scheme `T` ([`PendingBody::Verified`] of its pending
/// check).
pub type VerifiedOf<T> = <<T as Scheme>::Pending as PendingBody>::Verified;

/// The error of scheme `T` ([`PendingBody::Error`] of its pending check).
pub type ErrorOf<T> = <<T as Scheme>::Pending as PendingBody>::Error;

/// A scheme's error with its type erased, as [`Rejection::Signature`](super::Rejection::Signature)
/// carries it (the pattern of rustls's `OtherError`).
///
/// ```
/// # use drone_extension::layer::SignatureFailure;
/// use drone_extension::signature::Error;
///
/// let failure = SignatureFailure::new(Error::Signature);
/// assert_eq!(failure.status(), 401);
/// assert_eq!(failure.downcast_ref::<Error>(), Some(&Error::Signature));
/// ```
pub struct SignatureFailure(Box<dyn SchemeError>);

impl SignatureFailure {
    /// Erases `error`'s type.
    pub fn new(error: impl SchemeError) -> SignatureFailure {
        SignatureFailure(Box::new(error))
    }

    /// The status of the refusal ([`SchemeError::status`]).
    pub fn status(&self) -> StatusCode {
        self.0.status()
    }

    /// The class of the failure ([`SchemeError::class`]).
    pub fn class(&self) -> &'static str {
        self.0.class()
    }

    /// The text of the response body ([`SchemeError::public_reason`]).
    pub fn public_reason(&self) -> &'static str {
        self.0.public_reason()
    }

    /// The metrics label ([`SchemeError::reason`]).
    pub fn reason(&self) -> &'static str {
        self.0.reason()
    }

    /// What an operator should check ([`SchemeError::operator_hint`]).
    pub fn operator_hint(&self) -> Option<&'static str> {
        self.0.operator_hint()
    }

    /// The scheme's error, if it is an `E`.
    pub fn downcast_ref<E: SchemeError>(&self) -> Option<&E> {
        let error: &(dyn std::error::Error + 'static) = &*self.0;
        error.downcast_ref()
    }
}

impl fmt::Debug for SignatureFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SignatureFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for SignatureFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// For each scheme's tests: every error answers 400 when `bad_request` says so, else 401, with a
/// public reason and a message.
#[cfg(test)]
pub(crate) fn assert_statuses<E: SchemeError + fmt::Debug>(
    errors: &[E],
    bad_request: fn(&E) -> bool,
) {
    for error in errors {
        let expected = if bad_request(error) { 400 } else { 401 };
        assert_eq!(error.status().as_u16(), expected, "{error:?}");
        assert!(!error.public_reason().is_empty(), "{error:?}");
        assert!(!error.to_string().is_empty(), "{error:?}");
    }
}
