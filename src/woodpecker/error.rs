//! The error of the Woodpecker verifier.

use std::fmt;

use crate::layer::SchemeError;

/// Why a Woodpecker request's signature was refused.
///
/// The variants are the verdict classes of the §4.7 checks (`missing`, `malformed`, `policy`,
/// `algorithm`, `stale`, `digest`, `signature`), with the statuses the Drone verifier's
/// [`signature::Error`](crate::signature::Error) gives the same classes: 400 for what cannot be
/// parsed, 401 for everything else. [`Display`](fmt::Display) is for logs (it names headers and
/// parameters, never key material); [`public_reason`](Error::public_reason) is what a response may
/// say.
///
/// | variant | class | status |
/// |---|---|---|
/// | [`Missing`](Error::Missing) | `missing` | 401 |
/// | [`Malformed`](Error::Malformed) | `malformed` | 400 |
/// | [`Policy`](Error::Policy) | `policy` | 401 |
/// | [`Algorithm`](Error::Algorithm) | `algorithm` | 401 |
/// | [`Stale`](Error::Stale) | `stale` | 401 |
/// | [`DigestMissing`](Error::DigestMissing) | `digest` | 401 |
/// | [`DigestMalformed`](Error::DigestMalformed) | `digest` | 400 |
/// | [`DigestMismatch`](Error::DigestMismatch) | `digest` | 401 |
/// | [`Signature`](Error::Signature) | `signature` | 401 |
///
/// ```
/// use drone_extension::woodpecker::{Error, SchemeError};
/// use http::StatusCode;
///
/// assert_eq!(Error::DigestMismatch.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(Error::Malformed("x").status(), StatusCode::BAD_REQUEST);
/// assert_eq!(Error::DigestMismatch.class(), "digest");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No `Signature-Input` or `Signature` field, or no `woodpecker-ci-extensions` member in one of
    /// them. **401.**
    Missing(&'static str),
    /// A signature field has several field lines, is not a structured-field dictionary, has a
    /// duplicate key, a member of the wrong type, a component listed twice, or a non-integer
    /// `created`/`expires`. **400.**
    Malformed(&'static str),
    /// The covered components lack `@request-target` or `content-digest`, cover a component this
    /// verifier cannot rebuild, or `created` is absent. **401.**
    Policy(&'static str),
    /// `alg` is absent or not exactly `"ed25519"`. **401.**
    Algorithm,
    /// `created` is outside the window, or `expires` has passed. **401.**
    Stale(&'static str),
    /// No `Content-Digest`, or none of its members is `sha-256`/`sha-512`. **401.**
    DigestMissing,
    /// `Content-Digest` has several field lines, is not a dictionary, has a duplicate key, or a
    /// `sha-256`/`sha-512` member that is not a byte sequence of the right length. **400.**
    DigestMalformed(&'static str),
    /// The body's hash differs from the `Content-Digest`. **401.**
    DigestMismatch,
    /// No configured key verifies the Ed25519 signature over the rebuilt signature base (wrong key,
    /// tampered component, request replayed to another path). **401.**
    Signature,
}

/// What the verifying layer answers and logs ([`SchemeError`]): the status (400 for
/// [`Malformed`](Error::Malformed) and [`DigestMalformed`](Error::DigestMalformed), 401 for
/// everything else), the verdict class (`missing`, `malformed`, `policy`, `algorithm`, `stale`,
/// `digest` or `signature`), the public reason and the operator's hint.
impl SchemeError for Error {
    fn class(&self) -> &'static str {
        match self {
            Error::Missing(_) => "missing",
            Error::Malformed(_) => "malformed",
            Error::Policy(_) => "policy",
            Error::Algorithm => "algorithm",
            Error::Stale(_) => "stale",
            Error::DigestMissing | Error::DigestMalformed(_) | Error::DigestMismatch => "digest",
            Error::Signature => "signature",
        }
    }

    fn malformed(&self) -> bool {
        matches!(self, Error::Malformed(_) | Error::DigestMalformed(_))
    }

    fn operator_hint(&self) -> Option<&'static str> {
        match self {
            Error::Signature => Some(
                "check that this extension's public key is the Woodpecker server's (GET \
                 /api/signature/public-key on the server), and that the extension is reached \
                 at the URL configured in Woodpecker (the path is signed)",
            ),
            Error::Stale(_) => Some("check the clocks of Woodpecker and this extension (NTP)"),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Missing(why) => write!(f, "missing signature: {why}"),
            Error::Malformed(why) => write!(f, "malformed signature: {why}"),
            Error::Policy(why) => write!(f, "signature policy not met: {why}"),
            Error::Algorithm => f.write_str("signature alg is absent or not \"ed25519\""),
            Error::Stale(why) => write!(f, "request is not fresh: {why}"),
            Error::DigestMissing => {
                f.write_str("no Content-Digest with a sha-256 or sha-512 member")
            }
            Error::DigestMalformed(why) => write!(f, "malformed Content-Digest: {why}"),
            Error::DigestMismatch => f.write_str("body does not match the Content-Digest"),
            Error::Signature => f.write_str("Ed25519 signature does not verify with any key"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_classes() {
        let all = [
            Error::Missing("x"),
            Error::Malformed("x"),
            Error::Policy("x"),
            Error::Algorithm,
            Error::Stale("x"),
            Error::DigestMissing,
            Error::DigestMalformed("x"),
            Error::DigestMismatch,
            Error::Signature,
        ];
        crate::layer::scheme::assert_statuses(&all, |err| {
            matches!(err, Error::Malformed(_) | Error::DigestMalformed(_))
        });
    }
}
