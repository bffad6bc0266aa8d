//! Why the layer refused a request, and the response it answers with.

use std::fmt;

use bytes::Bytes;
use http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use http_body_util::Full;

use super::scheme::{SchemeError, SignatureFailure};
use crate::BoxError;
use crate::log::Escaped;

/// Why the verifying layer ([`Verify`](super::Verify)) refused a request.
///
/// Every rejection becomes a response, never a service error: a short, generic plain-text body
/// (no expected values, no class names beyond "missing"/"malformed"/"invalid") and the status
/// below. The precise reason is logged with `tracing` at warn level.
///
/// | variant | status |
/// |---|---|
/// | [`Signature`](Rejection::Signature) | 400 or 401, from the scheme's [`SchemeError::status`] |
/// | [`PayloadTooLarge`](Rejection::PayloadTooLarge) | 413 |
/// | [`Timeout`](Rejection::Timeout) | 408 |
/// | [`BodyUnreadable`](Rejection::BodyUnreadable) | 400 |
/// | [`Replayed`](Rejection::Replayed) | 401 |
/// | [`ReplayGuardFailed`](Rejection::ReplayGuardFailed) | 503 |
/// | [`DuplicateInProgress`](Rejection::DuplicateInProgress) | 409 |
/// | [`Busy`](Rejection::Busy) | 503, `Retry-After: 1` |
///
/// 401 responses carry `WWW-Authenticate: Signature` (RFC 9110 §15.5.2).
#[derive(Debug)]
#[non_exhaustive]
pub enum Rejection {
    /// The scheme refused the head or the body (Drone: the signature, its policy, the `Date` or
    /// the `Digest`; Woodpecker: the signature, `created`/`expires` or the `Content-Digest`).
    /// **400/401**, from the scheme's error; [`SignatureFailure::downcast_ref`] gives it back.
    Signature(SignatureFailure),
    /// The declared `Content-Length`, or the body as it arrived, exceeds the limit. **413.**
    PayloadTooLarge,
    /// The body did not arrive within the total deadline or stalled past the idle timeout. **408.**
    Timeout,
    /// Reading the body failed (connection reset, invalid chunked encoding, …). **400.**
    BodyUnreadable(BoxError),
    /// The replay guard has seen this exact signature within the clock window. **401.**
    Replayed,
    /// The replay guard could not answer (for example its shared store is down). **503.**
    ReplayGuardFailed(BoxError),
    /// A request with this exact signature is still sending its body. **409.**
    ///
    /// `Content-Length` is not signed: without this check one captured request, re-sent with a
    /// trickled body, could hold a body slot per copy for the whole clock window. Drone sends
    /// byte-identical signed requests concurrently (registry and environ, once per stage), but
    /// its small bodies arrive at once, so a copy is refused only in the microseconds the first
    /// one is being received. The check is always on and refuses before the body is read.
    DuplicateInProgress,
    /// No room to receive the body: the [`BodyBudget`](super::BodyBudget) stayed full for
    /// the whole [`budget_wait`](super::VerifyLayer::budget_wait), or 65,536 distinct
    /// requests are receiving their bodies. The text says which, for the log. **503**, with
    /// `Retry-After: 1`.
    Busy(&'static str),
}

impl Rejection {
    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Signature(e) => e.status(),
            Rejection::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Timeout => StatusCode::REQUEST_TIMEOUT,
            Rejection::BodyUnreadable(_) => StatusCode::BAD_REQUEST,
            Rejection::Replayed => StatusCode::UNAUTHORIZED,
            Rejection::ReplayGuardFailed(_) | Rejection::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::DuplicateInProgress => StatusCode::CONFLICT,
        }
    }

    /// The text of the response body (without the trailing newline).
    pub fn public_reason(&self) -> &'static str {
        match self {
            Rejection::Signature(e) => e.public_reason(),
            Rejection::PayloadTooLarge => "Payload too large",
            Rejection::Timeout => "Request timeout",
            Rejection::BodyUnreadable(_) => "Invalid body",
            Rejection::Replayed => "Invalid signature",
            Rejection::ReplayGuardFailed(_) | Rejection::Busy(_) => "Service unavailable",
            Rejection::DuplicateInProgress => "Duplicate request in progress",
        }
    }

    /// The response: the status, `text/plain`, `nosniff`, and the public reason plus `\n` (the
    /// shape of Go's `http.Error`, which Drone's own handlers answer with); `Retry-After: 1` for
    /// [`Busy`](Rejection::Busy).
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let status = self.status();
        let mut response = crate::http_error::response(
            status,
            Full::new(crate::http_error::body(self.public_reason())),
        );
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Signature"));
        }
        if matches!(self, Rejection::Busy(_)) {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }

    /// The one word naming the check that failed, for the log: the signature error's class
    /// (`policy`, `stale`, …), or `body-limit`, `body-timeout`, `body-read`, `replay`,
    /// `in-flight` or `budget`.
    pub fn check(&self) -> &'static str {
        match self {
            Rejection::Signature(e) => e.class(),
            Rejection::PayloadTooLarge => "body-limit",
            Rejection::Timeout => "body-timeout",
            Rejection::BodyUnreadable(_) => "body-read",
            Rejection::Replayed | Rejection::ReplayGuardFailed(_) => "replay",
            Rejection::DuplicateInProgress => "in-flight",
            Rejection::Busy(_) => "budget",
        }
    }

    /// The reason in the fixed vocabulary of metrics labels: `missing`, `malformed`,
    /// `algorithm`, `key`, `policy`, `stale`, `signature`, `digest`, `too_large`, `timeout`,
    /// `unreadable`, `replay`, `replay_guard` or `overload`.
    ///
    /// | reason | rejections |
    /// |---|---|
    /// | `missing` … `digest` | [`Signature`](Rejection::Signature), by the scheme's [`SchemeError::reason`] (Drone's `header-absent` counts as `malformed`) |
    /// | `too_large` | [`PayloadTooLarge`](Rejection::PayloadTooLarge) |
    /// | `timeout` | [`Timeout`](Rejection::Timeout) |
    /// | `unreadable` | [`BodyUnreadable`](Rejection::BodyUnreadable) |
    /// | `replay` | [`Replayed`](Rejection::Replayed), [`DuplicateInProgress`](Rejection::DuplicateInProgress) |
    /// | `replay_guard` | [`ReplayGuardFailed`](Rejection::ReplayGuardFailed) (its store is down) |
    /// | `overload` | [`Busy`](Rejection::Busy) |
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::Signature(e) => e.reason(),
            Rejection::PayloadTooLarge => "too_large",
            Rejection::Timeout => "timeout",
            Rejection::BodyUnreadable(_) => "unreadable",
            Rejection::Replayed | Rejection::DuplicateInProgress => "replay",
            Rejection::ReplayGuardFailed(_) => "replay_guard",
            Rejection::Busy(_) => "overload",
        }
    }

    /// Logs the precise reason: what an operator needs to fix a misconfigured caller. The reason
    /// may quote the request, so it is logged with control characters escaped.
    pub(crate) fn log(&self) {
        let status = self.status().as_u16();
        let check = self.check();
        let reason = Escaped(self);
        match self {
            Rejection::Signature(e) if e.operator_hint().is_some() => tracing::warn!(
                status,
                check,
                reason = %reason,
                hint = e.operator_hint(),
                "request rejected"
            ),
            _ => tracing::warn!(status, check, reason = %reason, "request rejected"),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Signature(e) => fmt::Display::fmt(e, f),
            Rejection::PayloadTooLarge => f.write_str("request body exceeds the limit"),
            Rejection::Timeout => f.write_str("request body not received in time"),
            Rejection::BodyUnreadable(e) => write!(f, "request body could not be read: {e}"),
            Rejection::Replayed => f.write_str("signature replayed within the clock window"),
            Rejection::ReplayGuardFailed(e) => write!(f, "replay guard failed: {e}"),
            Rejection::DuplicateInProgress => f.write_str(
                "a request with this exact signature is still sending its body (a captured \
                 request re-sent?)",
            ),
            Rejection::Busy(why) => write!(f, "no room to receive the body: {why}"),
        }
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Rejection::Signature(e) => Some(e),
            Rejection::BodyUnreadable(e) | Rejection::ReplayGuardFailed(e) => Some(&**e),
            _ => None,
        }
    }
}

impl<E: SchemeError> From<E> for Rejection {
    fn from(e: E) -> Rejection {
        Rejection::Signature(SignatureFailure::new(e))
    }
}

/// The response extension of every refusal by the verifying layer ([`Verify`](super::Verify)): which
/// check refused the request, so that an outer layer (metrics, access logs) can tell a refusal
/// from the service's own answer with the same status.
///
/// ```
/// use drone_extension::layer::Refused;
/// # let response = http::Response::new(());
/// // In an outer layer, with the response of the verifying service:
/// match response.extensions().get::<Refused>() {
///     Some(refused) => println!("refused by the layer: {}", refused.reason()),
///     None => println!("answered by the service"),
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    reason: &'static str,
    check: &'static str,
}

impl Refused {
    /// What the layer puts in the extensions of the response to `rejection`.
    pub fn new(rejection: &Rejection) -> Refused {
        Refused {
            reason: rejection.reason(),
            check: rejection.check(),
        }
    }

    /// The reason, in the vocabulary of [`Rejection::reason`] (`stale`, `replay`, …).
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The check, as logged ([`Rejection::check`]).
    pub fn check(&self) -> &'static str {
        self.check
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// A scheme's error, as the layer sees it (this module knows no scheme).
    #[derive(Debug)]
    struct Error(StatusCode, &'static str);

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.1)
        }
    }

    impl std::error::Error for Error {}

    impl SchemeError for Error {
        fn status(&self) -> StatusCode {
            self.0
        }
        fn class(&self) -> &'static str {
            "test"
        }
        fn public_reason(&self) -> &'static str {
            self.1
        }
    }

    #[tokio::test]
    async fn responses_are_generic_and_carry_the_challenge() {
        let cases = [
            (
                Rejection::from(Error(StatusCode::UNAUTHORIZED, "Missing signature")),
                401,
                "Missing signature\n",
            ),
            (
                Rejection::from(Error(StatusCode::BAD_REQUEST, "Malformed signature")),
                400,
                "Malformed signature\n",
            ),
            (
                Rejection::from(Error(StatusCode::UNAUTHORIZED, "Invalid signature")),
                401,
                "Invalid signature\n",
            ),
            (Rejection::PayloadTooLarge, 413, "Payload too large\n"),
            (Rejection::Timeout, 408, "Request timeout\n"),
            (Rejection::Replayed, 401, "Invalid signature\n"),
            (
                Rejection::ReplayGuardFailed("redis down".into()),
                503,
                "Service unavailable\n",
            ),
            (
                Rejection::BodyUnreadable("reset".into()),
                400,
                "Invalid body\n",
            ),
            (
                Rejection::DuplicateInProgress,
                409,
                "Duplicate request in progress\n",
            ),
            (
                Rejection::Busy("body budget full"),
                503,
                "Service unavailable\n",
            ),
        ];
        for (rejection, status, body) in cases {
            let response = rejection.into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(
                response.headers()[http::header::CONTENT_TYPE],
                "text/plain; charset=utf-8"
            );
            assert_eq!(
                response.headers().contains_key(WWW_AUTHENTICATE),
                status == 401
            );
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(bytes, body);
        }
        // Only Busy asks the caller to retry.
        let busy = Rejection::Busy("body budget full").into_response();
        assert_eq!(busy.headers()[RETRY_AFTER], "1");
        let guard = Rejection::ReplayGuardFailed("down".into()).into_response();
        assert!(!guard.headers().contains_key(RETRY_AFTER));
    }
}
