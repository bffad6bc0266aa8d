//! The error of the signature core.

use std::fmt;

use crate::layer::SchemeError;

/// Why a request's signature was refused.
///
/// Each variant is one outcome class of a refused signature (the classes of the crate's test
/// vectors, `tests/fixtures/signature-vectors.json`). [`status`](Error::status) gives the HTTP status to answer with and
/// [`public_reason`](Error::public_reason) a short text that is safe to send to the caller. The
/// [`Display`](fmt::Display) form carries the precise reason and is meant for logs only: it may name
/// headers and parameters, but never contains a secret or a MAC.
///
/// | variant | class | status |
/// |---|---|---|
/// | [`Missing`](Error::Missing) | `missing` | 401 |
/// | [`Malformed`](Error::Malformed) | `malformed` | 400 |
/// | [`Algorithm`](Error::Algorithm) | `algorithm` | 401 |
/// | [`Key`](Error::Key) | `key` | 401 |
/// | [`Policy`](Error::Policy) | `policy` | 401 |
/// | [`MediaType`](Error::MediaType) | `policy` | 401 |
/// | [`HeaderAbsent`](Error::HeaderAbsent) | `header-absent` | 401 |
/// | [`Stale`](Error::Stale) | `stale` | 401 |
/// | [`Signature`](Error::Signature) | `signature` | 401 |
/// | [`DigestMismatch`](Error::DigestMismatch) | `digest` | 401 |
/// | [`DigestMalformed`](Error::DigestMalformed) | `digest` | 400 |
///
/// ```
/// use drone_extension::signature::{Error, SchemeError};
/// use http::StatusCode;
///
/// let err = Error::Missing;
/// assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(err.class(), "missing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Neither a `Signature` header nor an `Authorization: Signature …` header. **401.**
    Missing,
    /// The signature header cannot be parsed or is ambiguous (two signature fields, a duplicate
    /// parameter, an over-long header, a bad header list entry, a signed header given twice, …).
    /// **400.**
    Malformed(&'static str),
    /// The `algorithm` parameter is not `hmac-sha256`. **401.**
    Algorithm,
    /// No configured key may verify the request's `keyId`. **401.**
    Key,
    /// The signed header set or the signed media type does not meet the policy. **401.**
    Policy(&'static str),
    /// The signed `Accept` is not a media type of this endpoint (a request signed for another
    /// extension kind), or is not signed where the policy requires it. **401.**
    MediaType {
        /// The media types the endpoint accepts, joined with ` or `.
        expected: String,
        /// The signed `Accept` (its first 128 bytes, invalid UTF-8 replaced), if one was signed.
        received: Option<String>,
    },
    /// A header named in the `headers` parameter is missing or empty. **401.**
    HeaderAbsent(String),
    /// `Date` is unparseable or outside the clock window (or `created`/`expires` say so). **401.**
    Stale(&'static str),
    /// The MAC does not verify (wrong key, tampered header, truncated, over-long or non-canonical
    /// signature). **401.**
    Signature,
    /// The body does not match the signed SHA-256 `Digest`, or the `Digest` has no SHA-256 entry.
    /// **401.**
    DigestMismatch,
    /// The `Digest` header cannot be parsed: bad syntax, bad base64, not 32 bytes, or more than one
    /// SHA-256 entry. **400.**
    DigestMalformed(&'static str),
}

/// What the verifying layer answers and logs ([`SchemeError`]): the status (400 for
/// [`Malformed`](Error::Malformed) and [`DigestMalformed`](Error::DigestMalformed), 401 for
/// everything else), the class (as named in the test vectors: `missing`, `malformed`,
/// `algorithm`, `key`, `policy`, `header-absent`, `stale`, `signature`, `digest`), the public
/// reason, the metrics reason (`header-absent` counts as `malformed`) and the operator's hint.
impl SchemeError for Error {
    fn class(&self) -> &'static str {
        match self {
            Error::Missing => "missing",
            Error::Malformed(_) => "malformed",
            Error::Algorithm => "algorithm",
            Error::Key => "key",
            Error::Policy(_) | Error::MediaType { .. } => "policy",
            Error::HeaderAbsent(_) => "header-absent",
            Error::Stale(_) => "stale",
            Error::Signature => "signature",
            Error::DigestMismatch | Error::DigestMalformed(_) => "digest",
        }
    }

    fn malformed(&self) -> bool {
        matches!(self, Error::Malformed(_) | Error::DigestMalformed(_))
    }

    fn reason(&self) -> &'static str {
        match self {
            Error::HeaderAbsent(_) => "malformed",
            other => other.class(),
        }
    }

    fn operator_hint(&self) -> Option<&'static str> {
        match self {
            Error::Signature => Some(
                "check that this extension's secret equals the caller's DRONE_*_PLUGIN_SECRET \
                 (server) or DRONE_*_PLUGIN_TOKEN (runner)",
            ),
            Error::Stale(_) => Some("check the clocks of Drone and this extension (NTP)"),
            Error::MediaType { .. } => Some(
                "signed for another kind; is a layer of another route stacked on this one? \
                 (axum's `route_layer` wraps every route added before it; else check the \
                 caller's endpoint URL, or give each extension kind its own secret)",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Missing => f.write_str("no Signature or Authorization: Signature header"),
            Error::Malformed(why) => write!(f, "malformed signature: {why}"),
            Error::Algorithm => f.write_str("signature algorithm not allowed (only hmac-sha256)"),
            Error::Key => f.write_str("no configured key accepts this keyId"),
            Error::Policy(why) => write!(f, "signature policy not met: {why}"),
            // Debug formatting quotes and escapes the request's value.
            Error::MediaType { expected, received } => {
                write!(
                    f,
                    "signature policy not met: signed media type (Accept) is not this \
                     endpoint's: expected {expected:?}, received "
                )?;
                match received {
                    Some(received) => write!(f, "{received:?}"),
                    None => f.write_str("no signed Accept"),
                }
            }
            Error::HeaderAbsent(name) => {
                write!(f, "signed header `{name}` is missing or empty")
            }
            Error::Stale(why) => write!(f, "request is not fresh: {why}"),
            Error::Signature => f.write_str("signature does not verify"),
            Error::DigestMismatch => f.write_str("body does not match the signed SHA-256 digest"),
            Error::DigestMalformed(why) => write!(f, "malformed Digest header: {why}"),
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
            Error::Missing,
            Error::Malformed("x"),
            Error::Algorithm,
            Error::Key,
            Error::Policy("x"),
            Error::MediaType {
                expected: "a".into(),
                received: None,
            },
            Error::HeaderAbsent("date".into()),
            Error::Stale("x"),
            Error::Signature,
            Error::DigestMismatch,
            Error::DigestMalformed("x"),
        ];
        crate::layer::scheme::assert_statuses(&all, |err| {
            err.class() == "malformed" || matches!(err, Error::DigestMalformed(_))
        });
    }
}
