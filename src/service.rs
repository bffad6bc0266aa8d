//! The tower service every extension kind of every protocol shares: decode, call the trait,
//! encode.
//!
//! Each kind module (for example [`admission`](crate::admission), or Woodpecker's three kinds)
//! defines a request type, an async trait and an [`Endpoint`] adapter; [`ExtensionService`] does
//! the rest, the same way for every kind:
//!
//! | step | failure |
//! |---|---|
//! | the method is `POST` | 405, `Allow: POST` |
//! | `Content-Type` is `application/json` | 415 |
//! | the body is read under the limit (4 MiB), a 30 s deadline and a 10 s idle timeout, unless the verifying layer already did ([`crate::layer::BodyReceived`]: its limit is the one that counts) | 413, 408, 400 |
//! | no JSON string is longer than the string limit (by default the body limit: no extra limit) | 400 `Invalid Input` |
//! | the body decodes into the kind's request type | 400 `Invalid Input` |
//! | the trait is called and its answer encoded with the status Drone expects | 500 on an error of the implementation |
//!
//! Error bodies are short, generic texts; the cause (for a decoding error, its category, line and
//! column, never the offending value) goes to the log. Every request is logged once, at info
//! level, with the kind, the subject (repository or user), the decision, the status and the
//! latency.
//!
//! The service does not check signatures: put it behind the verifying layer
//! ([`VerifySignatureLayer`](crate::signature::VerifySignatureLayer) for Drone,
//! `VerifyWoodpeckerLayer` for Woodpecker).

use std::any::Any;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::layer::{
    BodyReceived, DEFAULT_BODY_DEADLINE, DEFAULT_BODY_LIMIT, DEFAULT_IDLE_TIMEOUT, VerifiedBody,
};
use crate::log::Escaped;
use crate::{BoxError, ExtensionKind};

/// The longest JSON string accepted in a request by default: the default body limit, 4 MiB.
///
/// The string limit follows the body limit unless set
/// ([`ExtensionService::max_string_len`]): the config, convert and validate kinds carry a whole
/// pipeline configuration in one string, so any smaller default would refuse, with
/// `400 Invalid Input`, configurations the body limit admits, before a converter could convert
/// them or a validator could block them. The body limit already bounds every string.
pub const DEFAULT_MAX_STRING_LEN: usize = DEFAULT_BODY_LIMIT;

/// The response type of every extension service.
pub type ExtensionResponse = Response<Full<Bytes>>;

/// One extension kind's adapter between [`ExtensionService`] and the kind's trait, for any
/// protocol.
///
/// The crate implements it for each kind (`AdmissionEndpoint`, `SecretEndpoint`, …, and
/// Woodpecker's `ConfigEndpoint`, `SecretEndpoint`, `RegistryEndpoint`); implement it yourself for
/// a kind the crate does not know:
///
/// ```
/// use drone_extension::service::{Endpoint, ExtensionService, Reply, RequestContext};
///
/// #[derive(serde::Deserialize)]
/// struct Ping { from: String }
///
/// struct Pong;
///
/// #[drone_extension::async_trait]
/// impl Endpoint for Pong {
///     const NAME: &'static str = "ping";
///     type Request = Ping;
///     fn subject(request: &Ping) -> String { request.from.clone() }
///     async fn respond(&self, _request: Ping, _cx: &RequestContext) -> Reply {
///         Reply::json("pong", &serde_json::json!({"pong": true}))
///     }
/// }
///
/// let service = ExtensionService::new(Pong); // behind a verifying layer of your choice
/// # let _ = service;
/// ```
#[async_trait]
pub trait Endpoint: Send + Sync + 'static {
    /// The kind's name, for the log line's `kind` field and metrics: `admission`, `secret`, …
    /// for Drone's kinds, `woodpecker-config`, `woodpecker-secret`, `woodpecker-registry` for
    /// Woodpecker's.
    const NAME: &'static str;

    /// The decoded request body.
    type Request: DeserializeOwned + Send + 'static;

    /// What the request is about, for the log line: a repository slug or a user login. Never a
    /// secret value.
    fn subject(request: &Self::Request) -> String;

    /// Answers a decoded request.
    async fn respond(&self, request: Self::Request, cx: &RequestContext) -> Reply;
}

/// The [`Endpoint`] of one of Drone's extension kinds: which kind, so that a router gives it its
/// path and its layer the kind's signing policy.
pub trait DroneEndpoint: Endpoint {
    /// The kind served.
    const KIND: ExtensionKind;
}

/// The one-word decision of a [`Reply`] (`allow`, `deny`, `found`, `none`, `error`, `invalid`,
/// …), put in the extensions of every response [`ExtensionService`] answers with, for outer
/// layers such as [`MetricsLayer`](crate::metrics::MetricsLayer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decision(&'static str);

impl Decision {
    /// A decision (a fixed word: it becomes a metrics label).
    pub const fn new(decision: &'static str) -> Decision {
        Decision(decision)
    }

    /// The word.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }
}

/// What an [`Endpoint`] answers: the response, and a one-word decision for the log.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP response.
    pub response: ExtensionResponse,
    /// The decision, for the log line (`allow`, `deny`, `found`, `not-found`, …).
    pub decision: &'static str,
}

impl Reply {
    /// A reply.
    pub fn new(decision: &'static str, response: ExtensionResponse) -> Reply {
        Reply { response, decision }
    }

    /// `200` with a JSON body encoded as Go encodes it, `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(decision: &'static str, value: &T) -> Reply {
        Reply::json_with_status(decision, StatusCode::OK, value)
    }

    /// A status with a JSON body encoded as Go encodes it, `Content-Type: application/json` (for
    /// example validate's `400 {"code":400,"message":"…"}`).
    pub fn json_with_status<T: Serialize + ?Sized>(
        decision: &'static str,
        status: StatusCode,
        value: &T,
    ) -> Reply {
        match crate::json::to_vec(value) {
            Ok(body) => Reply::new(decision, response(status, "application/json", body.into())),
            Err(e) => Reply::internal_error(e.into()),
        }
    }

    /// The answer to a lookup that may find nothing: `Some` gives the reply `found` builds from
    /// the value, `None` an empty `204` with the decision `none` (the secret, config and convert
    /// kinds).
    ///
    /// Never a `200` with an empty body, which every Drone client rejects
    /// (`unexpected end of JSON input`).
    pub fn found_or_no_content<T>(
        value: Option<T>,
        none: &'static str,
        found: impl FnOnce(T) -> Reply,
    ) -> Reply {
        match value {
            Some(value) => found(value),
            None => Reply::empty(none, StatusCode::NO_CONTENT),
        }
    }

    /// A status with no body (`204`, `498`, `499`).
    pub fn empty(decision: &'static str, status: StatusCode) -> Reply {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = status;
        Reply::new(decision, response)
    }

    /// A status with a plain-text body (the text plus `\n`, as Go's `http.Error` writes it).
    pub fn text(decision: &'static str, status: StatusCode, text: &str) -> Reply {
        Reply::new(decision, text_response(status, text))
    }

    /// `500` with a generic body; the cause is logged at error level.
    pub fn internal_error(cause: BoxError) -> Reply {
        tracing::error!(error = %Escaped(&cause), "extension failed");
        Reply::text(
            "error",
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        )
    }
}

fn response(status: StatusCode, content_type: &'static str, body: Bytes) -> ExtensionResponse {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(crate) fn text_response(status: StatusCode, text: &str) -> ExtensionResponse {
    crate::http_error::response(status, Full::new(crate::http_error::body(text)))
}

/// What an [`Endpoint`] may know about the request besides its body.
#[derive(Debug)]
pub struct RequestContext {
    head: Parts,
    // Read only by the aesgcm encryption.
    #[cfg_attr(not(feature = "aesgcm"), allow(dead_code))]
    settings: Arc<Settings>,
}

impl RequestContext {
    /// The request head: method, URI, headers and extensions (among them the
    /// [`Verified`](crate::signature::Verified) facts the layer adds).
    pub fn head(&self) -> &Parts {
        &self.head
    }

    /// The request's first `Accept` value, if any.
    pub fn accept(&self) -> Option<&[u8]> {
        self.head
            .headers
            .get(http::header::ACCEPT)
            .map(HeaderValue::as_bytes)
    }

    /// Whether the caller asked for an aesgcm-encrypted answer: its first `Accept-Encoding`
    /// value is exactly `aesgcm` (drone-go's rule; `gzip, aesgcm` does not count).
    pub fn wants_aesgcm(&self) -> bool {
        self.head
            .headers
            .get(http::header::ACCEPT_ENCODING)
            .is_some_and(|v| v.as_bytes() == b"aesgcm")
    }

    /// `200` with a JSON body carrying credentials: encrypted with aesgcm when the caller asks for
    /// it and the service has a key (feature `aesgcm`; secret, registry and environ only), plain
    /// JSON otherwise.
    pub fn sensitive_json<T: Serialize + ?Sized>(
        &self,
        decision: &'static str,
        value: &T,
    ) -> Reply {
        #[cfg(feature = "aesgcm")]
        if self.wants_aesgcm()
            && let Some(key) = &self.settings.aesgcm_key
        {
            return encrypted(key, decision, value);
        }
        Reply::json(decision, value)
    }
}

/// `200` with `value` encrypted with `key` (drone-go's `aesgcm`).
#[cfg(feature = "aesgcm")]
fn encrypted<T: Serialize + ?Sized>(
    key: &crate::signature::SharedSecret,
    decision: &'static str,
    value: &T,
) -> Reply {
    let plain = match crate::json::to_vec(value) {
        Ok(plain) => plain,
        Err(e) => return Reply::internal_error(e.into()),
    };
    match crate::aesgcm::encrypt(key, &plain) {
        Ok(sealed) => {
            let mut reply = Reply::new(
                decision,
                response(StatusCode::OK, "application/octet-stream", sealed.into()),
            );
            reply.response.headers_mut().insert(
                http::header::CONTENT_ENCODING,
                HeaderValue::from_static("aesgcm"),
            );
            reply
        }
        Err(e) => {
            tracing::error!(error = %Escaped(&e), "aesgcm encryption failed");
            Reply::text("error", StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
    }
}

#[derive(Clone)]
struct Settings {
    body_limit: usize,
    /// `None`: the body limit.
    max_string_len: Option<usize>,
    #[cfg(feature = "aesgcm")]
    aesgcm_key: Option<crate::signature::SharedSecret>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("body_limit", &self.body_limit)
            .field("max_string_len", &self.max_string_len)
            .finish_non_exhaustive()
    }
}

/// The tower service of one extension kind: decodes Drone's JSON request, calls the kind's trait
/// through its [`Endpoint`], and answers with the status and body Drone expects.
///
/// Build it from a trait implementation with the trait's `into_service` method (for example
/// [`Admitter::into_service`](crate::admission::Admitter::into_service)). It accepts any request
/// body type (the layer's [`VerifiedBody`], axum's, hyper's), never
/// fails (`Error = Infallible`), and is cheap to clone.
pub struct ExtensionService<E> {
    endpoint: Arc<E>,
    settings: Arc<Settings>,
}

impl<E> Clone for ExtensionService<E> {
    fn clone(&self) -> Self {
        ExtensionService {
            endpoint: self.endpoint.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<E> fmt::Debug for ExtensionService<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtensionService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<E: Endpoint> ExtensionService<E> {
    /// A service for this endpoint, with the default limits.
    pub fn new(endpoint: E) -> ExtensionService<E> {
        ExtensionService {
            endpoint: Arc::new(endpoint),
            settings: Arc::new(Settings {
                body_limit: DEFAULT_BODY_LIMIT,
                max_string_len: None,
                #[cfg(feature = "aesgcm")]
                aesgcm_key: None,
            }),
        }
    }

    /// The largest body accepted without the verifying layer (default 4 MiB). Behind the layer,
    /// which bounds the body itself, the layer's limit applies instead.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.settings).body_limit = bytes;
        self
    }

    /// The longest JSON string accepted anywhere in a request: a larger one is answered
    /// 400 `Invalid Input` before decoding. By default it is the body limit (see
    /// [`DEFAULT_MAX_STRING_LEN`]), which every string already fits.
    pub fn max_string_len(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.settings).max_string_len = Some(bytes);
        self
    }

    /// The secret whose first 32 bytes encrypt answers for callers that ask for aesgcm (the
    /// shared secret, as drone-go does; [`ExtensionRouter`](crate::router::ExtensionRouter) sets
    /// it for the secret, registry and environ kinds).
    ///
    /// Without it, or with a secret shorter than 32 bytes (which cannot key AES-256:
    /// [`SharedSecret::new`](crate::signature::SharedSecret::new) warns about those once, when
    /// the secret is made), such a request is answered in plain JSON, never with an error
    /// (drone-go answers `500 aesgcm: invalid key length` to each).
    #[cfg(feature = "aesgcm")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aesgcm")))]
    pub fn aesgcm_key(mut self, secret: crate::signature::SharedSecret) -> Self {
        Arc::make_mut(&mut self.settings).aesgcm_key = secret.supports_aesgcm().then_some(secret);
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &E {
        &self.endpoint
    }
}

/// Whether some JSON string in `body` is longer than `max` bytes (escapes count as one).
fn has_long_string(body: &[u8], max: usize) -> bool {
    let (mut in_string, mut escaped, mut len) = (false, false, 0usize);
    for &b in body {
        if !in_string {
            if b == b'"' {
                in_string = true;
                len = 0;
            }
        } else if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
            len += 1;
        } else if b == b'"' {
            in_string = false;
        } else {
            len += 1;
        }
        if len > max {
            return true;
        }
    }
    false
}

/// The whole body, under `limit`: the verified bytes as they are when `body` is the layer's
/// [`VerifiedBody`] (nothing to wait for: they were received under the layer's deadlines),
/// otherwise read under the limit and the default deadlines.
async fn receive<B>(body: B, limit: usize) -> Result<Bytes, crate::layer::Rejection>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut body = body;
    if let Some(verified) = (&mut body as &mut dyn Any).downcast_mut::<VerifiedBody>() {
        let bytes = std::mem::take(verified).into_bytes();
        // What `read_body` answers for a body over the limit (one made without the layer).
        return if bytes.len() > limit {
            Err(crate::layer::Rejection::PayloadTooLarge)
        } else {
            Ok(bytes)
        };
    }
    crate::layer::read_body(
        body,
        limit,
        None,
        DEFAULT_BODY_DEADLINE,
        DEFAULT_IDLE_TIMEOUT,
    )
    .await
}

/// Decodes a request body. UTF-8 text (every body Drone and Woodpecker send) is checked once
/// and decoded as a `str`, which spares serde_json a UTF-8 check of every string in it; other
/// bytes are decoded as bytes, so that their error is the one serde_json gives for them.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

fn is_json(parts: &Parts) -> bool {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn invalid_input(kind: &'static str, why: &dyn fmt::Display) -> Reply {
    tracing::warn!(kind, reason = %Escaped(why), "invalid request body");
    Reply::text("invalid", StatusCode::BAD_REQUEST, "Invalid Input")
}

impl<E> ExtensionService<E>
where
    E: Endpoint,
{
    /// Answers a request; also returns the subject for the log line once the body decoded, when
    /// the line is `logged`.
    async fn handle<B>(self, request: Request<B>, logged: bool) -> (Reply, Option<String>)
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        if parts.method != Method::POST {
            let mut reply = Reply::text(
                "invalid",
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed",
            );
            reply
                .response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return (reply, None);
        }
        if !is_json(&parts) {
            let reply = Reply::text(
                "invalid",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
            );
            return (reply, None);
        }
        // Behind the verifying layer the body was received under the layer's limit: the only
        // one that counts (a second, smaller limit here would refuse what the layer accepted).
        let limit = match parts.extensions.get::<BodyReceived>() {
            Some(received) => received.limit(),
            None => self.settings.body_limit,
        };
        let bytes = match receive(body, limit).await {
            Ok(bytes) => bytes,
            Err(rejection) => {
                rejection.log();
                return (Reply::new("invalid", rejection.into_response()), None);
            }
        };
        let max_string_len = self.settings.max_string_len.unwrap_or(limit);
        if max_string_len < bytes.len() && has_long_string(&bytes, max_string_len) {
            let why = "a JSON string exceeds the length limit";
            return (invalid_input(E::NAME, &why), None);
        }
        let decoded: E::Request = match decode(&bytes) {
            Ok(decoded) => decoded,
            Err(e) => {
                // Never log the error's text: it may quote a value from the body.
                let why = format!(
                    "{:?} error at line {} column {}",
                    e.classify(),
                    e.line(),
                    e.column()
                );
                return (invalid_input(E::NAME, &why), None);
            }
        };
        // A copy out of the request, which `respond` takes: made only for a line that is written.
        let subject = logged.then(|| E::subject(&decoded));
        let cx = RequestContext {
            head: parts,
            settings: self.settings.clone(),
        };
        let reply = self.endpoint.respond(decoded, &cx).await;
        (reply, subject)
    }
}

impl<E, B> Service<Request<B>> for ExtensionService<E>
where
    E: Endpoint,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = ExtensionResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<ExtensionResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let started = Instant::now();
            let kind = E::NAME;
            let logged = tracing::event_enabled!(
                tracing::Level::INFO,
                kind,
                subject,
                status,
                decision,
                latency_us
            );
            let (reply, subject) = this.handle(request, logged).await;
            tracing::info!(
                kind,
                subject = %Escaped(subject.as_deref().unwrap_or("-")),
                status = reply.response.status().as_u16(),
                decision = reply.decision,
                latency_us = started.elapsed().as_micros() as u64,
                "extension request"
            );
            let mut response = reply.response;
            response
                .extensions_mut()
                .insert(Decision::new(reply.decision));
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_are_found_and_escapes_handled() {
        assert!(!has_long_string(br#"{"a":"1234"}"#, 4));
        assert!(has_long_string(br#"{"a":"12345"}"#, 4));
        assert!(!has_long_string(br#"{"a":"12\"4"}"#, 4));
        assert!(has_long_string(br#"{"abcde":1}"#, 4));
        assert!(!has_long_string(br#"{"a":"1\\","b":"2"}"#, 4));
        assert!(!has_long_string(b"12345678 [] {}", 4));
    }
}
