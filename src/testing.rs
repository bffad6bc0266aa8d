//! Test an extension in process, as Drone would call it (feature `client`, on by default).
//!
//! Three steps, each one call: sign a request for a kind exactly as Drone signs it
//! ([`signed_request`]), drive a service or an axum `Router` with it ([`send`]; [`call`] does
//! both), and read the answer with Drone's own interpretation, the same code the
//! [`Client`](crate::client::Client) uses over HTTP: the typed readers of [`RawResponse`]
//! ([`secret`](RawResponse::secret), [`admission`](RawResponse::admission),
//! [`validation`](RawResponse::validation), …).
//!
//! No socket, no port, and no dependency beyond this crate and your async runtime:
//!
//! ```
//! use drone_extension::prelude::*;
//! use drone_extension::testing;
//!
//! struct Docker;
//!
//! #[async_trait]
//! impl SecretFinder for Docker {
//!     async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
//!         let data = (request.name == "username").then(|| "octocat".to_owned());
//!         Ok(data.map(|data| Secret { name: request.name, data, ..Default::default() }))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
//! let app = ExtensionRouter::new().secret(key.clone(), Docker);
//! let request = SecretRequest { name: "username".into(), ..Default::default() };
//!
//! let answer = testing::call(app.clone(), ExtensionKind::Secret, &key, &request).await?;
//! assert_eq!(answer.secret()?.map(|s| s.data), Some("octocat".into()));
//!
//! let unsigned = testing::unsigned_request(ExtensionKind::Secret, &request)?;
//! assert_eq!(testing::send(app, unsigned).await?.status, 401);
//! # Ok(()) }
//! ```
//!
//! In a test, the same lines go in a `#[tokio::test] async fn … -> Result<(), BoxError>`.
//! [`sample`] has a realistic request of every kind, filled as a Drone server fills it.
//!
//! # Woodpecker
//!
//! With the `woodpecker` feature, the same three steps as Woodpecker: [`woodpecker_signed_request`]
//! signs with a Woodpecker [`Signer`](crate::woodpecker::Signer) (RFC 9421, Ed25519, for the
//! request's path), [`send`] drives the service, and the `woodpecker_*` readers of
//! [`RawResponse`] read the answer as Woodpecker does
//! ([`woodpecker_secrets`](RawResponse::woodpecker_secrets), …).
//!
//! ```
//! # #[cfg(feature = "woodpecker")] {
//! use drone_extension::testing;
//! use drone_extension::woodpecker::prelude::*;
//! use drone_extension::woodpecker::Signer;
//!
//! struct Token;
//!
//! #[async_trait]
//! impl SecretExtension for Token {
//!     async fn secrets(
//!         &self,
//!         _: WoodpeckerSecretRequest,
//!     ) -> Result<Vec<WoodpeckerSecret>, BoxError> {
//!         Ok(vec![WoodpeckerSecret::new("token", "s3cr3t")])
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let woodpecker = Signer::from_seed(&[7; 32]); // in a test, any seed
//! let app = WoodpeckerRouter::new(Verifier::new(woodpecker.public_key())).secret(Token);
//! let request = WoodpeckerSecretRequest::default();
//!
//! let signed = testing::woodpecker_signed_request(&woodpecker, "/secret", &request)?;
//! let secrets = testing::send(app.clone(), signed).await?.woodpecker_secrets()?;
//! assert_eq!(secrets[0].value, "s3cr3t");
//!
//! let unsigned = testing::woodpecker_unsigned_request("/secret", &request)?;
//! assert_eq!(testing::send(app, unsigned).await?.status, 401);
//! # Ok::<(), BoxError>(()) })?;
//! # }
//! # Ok::<(), drone_extension::BoxError>(())
//! ```

use std::future::poll_fn;
use std::time::SystemTime;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::Body;
use http_body_util::Full;
use serde::Serialize;
use tower_service::Service;

use crate::client::{ClientError, RawResponse};
use crate::signature::{SIGNATURE, SharedSecret, Signer};
use crate::{BoxError, ExtensionKind};

pub mod sample;

/// The request Drone sends for `kind` with `body` as JSON, signed with `secret` now, at the kind's
/// conventional path ([`ExtensionKind::path`]).
///
/// Extension kinds get drone-go's extension client headers (`Accept` the kind's media type,
/// `Accept-Encoding`, `Content-Type`, `Date`, `Digest`, `Signature`); webhooks the server's sender
/// headers (`date digest` signed, `X-Drone-Event` from the body's `event`).
///
/// # Errors
///
/// [`ClientError::Request`] when `body` cannot be encoded as JSON.
pub fn signed_request<T: Serialize + ?Sized>(
    kind: ExtensionKind,
    secret: &SharedSecret,
    body: &T,
) -> Result<Request<Full<Bytes>>, ClientError> {
    signed_request_at(kind, secret, body, SystemTime::now())
}

/// [`signed_request`] signed at `date`: a request outside the verifier's clock window (300 s by
/// default) is refused as stale.
///
/// # Errors
///
/// [`ClientError::Request`] when `body` cannot be encoded as JSON.
pub fn signed_request_at<T: Serialize + ?Sized>(
    kind: ExtensionKind,
    secret: &SharedSecret,
    body: &T,
    date: SystemTime,
) -> Result<Request<Full<Bytes>>, ClientError> {
    let body: Bytes = crate::json::to_vec(body)
        .map_err(|e| ClientError::Request(e.into()))?
        .into();
    let headers =
        crate::client::answer::drone_headers(&Signer::new(secret.clone()), kind, &body, date)?;
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = http::Uri::from_static(kind.path());
    *request.headers_mut() = headers;
    Ok(request)
}

/// [`signed_request`] without its `Signature` header: every verifying layer refuses it (401).
///
/// # Errors
///
/// [`ClientError::Request`] when `body` cannot be encoded as JSON.
pub fn unsigned_request<T: Serialize + ?Sized>(
    kind: ExtensionKind,
    body: &T,
) -> Result<Request<Full<Bytes>>, ClientError> {
    let secret = SharedSecret::new("a-secret-nobody-verifies-with-000")
        .map_err(|e| ClientError::Request(e.into()))?;
    let mut request = signed_request(kind, &secret, body)?;
    request.headers_mut().remove(&SIGNATURE);
    Ok(request)
}

/// Sends `request` to `service` (a verified kind service, an
/// [`ExtensionRouter`](crate::router::ExtensionRouter), an axum `Router`, …) in process and reads
/// the whole answer, up to [`MAX_RESPONSE_LEN`](crate::client::MAX_RESPONSE_LEN); interpret it
/// with the typed readers of [`RawResponse`].
///
/// The answer is returned as received: an `aesgcm`-encoded body is not decrypted.
///
/// # Errors
///
/// [`ClientError::Transport`] when the service fails or its body cannot be read.
pub async fn send<S, B>(
    mut service: S,
    request: Request<Full<Bytes>>,
) -> Result<RawResponse, ClientError>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let transport = |e: S::Error| ClientError::Transport(e.into());
    poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(transport)?;
    let response = service.call(request).await.map_err(transport)?;
    crate::client::answer::read(response).await
}

/// [`signed_request`] then [`send`]: Drone's call of `kind` with `body`, answered by `service`.
///
/// # Errors
///
/// As [`signed_request`] and [`send`].
pub async fn call<S, B, T>(
    service: S,
    kind: ExtensionKind,
    secret: &SharedSecret,
    body: &T,
) -> Result<RawResponse, ClientError>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    T: Serialize + ?Sized,
{
    send(service, signed_request(kind, secret, body)?).await
}

/// The request Woodpecker sends to `path` (and query, as on the request line) with `body` as
/// JSON (encoded as Go's `json.Encoder` does), signed by `signer` now: `POST`, `User-Agent`,
/// `Content-Digest`, `Content-Type`, `Signature`, `Signature-Input`.
///
/// The path is signed: send it to a service mounted at that path, such as a
/// [`WoodpeckerRouter`](crate::woodpecker::WoodpeckerRouter) route.
///
/// # Errors
///
/// [`ClientError::Request`] when `body` cannot be encoded or `path` is not a valid request
/// target.
#[cfg(feature = "woodpecker")]
#[cfg_attr(docsrs, doc(cfg(feature = "woodpecker")))]
pub fn woodpecker_signed_request<T: Serialize + ?Sized>(
    signer: &crate::woodpecker::Signer,
    path: &str,
    body: &T,
) -> Result<Request<Full<Bytes>>, ClientError> {
    woodpecker_signed_request_at(signer, path, body, SystemTime::now())
}

/// [`woodpecker_signed_request`] signed at `created`: a request older than the verifier's
/// `max_age` (60 s by default) or from the future is refused as stale.
///
/// # Errors
///
/// As [`woodpecker_signed_request`].
#[cfg(feature = "woodpecker")]
#[cfg_attr(docsrs, doc(cfg(feature = "woodpecker")))]
pub fn woodpecker_signed_request_at<T: Serialize + ?Sized>(
    signer: &crate::woodpecker::Signer,
    path: &str,
    body: &T,
    created: SystemTime,
) -> Result<Request<Full<Bytes>>, ClientError> {
    use crate::woodpecker::client as wp;
    let uri: http::Uri = path
        .parse()
        .map_err(|e| ClientError::Request(Box::new(e)))?;
    if uri.scheme().is_some() || uri.authority().is_some() || !path.starts_with('/') {
        return Err(ClientError::Request(
            format!("not a path and query: {path:?}").into(),
        ));
    }
    wp::signed_request(signer, uri, wp::go_json(body)?, wp::unix_seconds(created))
}

/// [`woodpecker_signed_request`] without its `Signature` and `Signature-Input` headers: the
/// Woodpecker layer refuses it (401).
///
/// # Errors
///
/// As [`woodpecker_signed_request`].
#[cfg(feature = "woodpecker")]
#[cfg_attr(docsrs, doc(cfg(feature = "woodpecker")))]
pub fn woodpecker_unsigned_request<T: Serialize + ?Sized>(
    path: &str,
    body: &T,
) -> Result<Request<Full<Bytes>>, ClientError> {
    use crate::woodpecker::{SIGNATURE, SIGNATURE_INPUT, Signer};
    let mut request = woodpecker_signed_request(&Signer::from_seed(&[0x5a; 32]), path, body)?;
    request.headers_mut().remove(&SIGNATURE);
    request.headers_mut().remove(&SIGNATURE_INPUT);
    Ok(request)
}
