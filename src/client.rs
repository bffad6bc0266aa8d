//! A client that calls extensions exactly as Drone does (feature `client`).
//!
//! It is the Drone server and runners in a box, for integration tests, for the probe
//! (`drone-extension-probe`) and for tools that need to talk to an extension written in any
//! language:
//!
//! * requests are built as drone-go's client builds them: `POST`, compact JSON, `Accept` (the
//!   kind's media type), `Accept-Encoding: identity`, `Content-Type: application/json`, `Date`,
//!   `Digest` and a `Signature` over `accept accept-encoding content-type date digest`; webhooks
//!   as the server's own sender builds them (`date digest`, `X-Drone-Event`);
//! * redirects are not followed, and the whole call has a deadline (Drone's: one minute);
//! * answers are read with Drone's interpretation of each status: any status above 299 is an
//!   error carrying the body as its message, `204` is the zero value, a `200` with an empty body
//!   is an error, `null` is the zero value, validate's `498`/`499` are skip/block, and an
//!   `aesgcm`-encoded answer is decrypted (feature `aesgcm`).
//!
//! `http://` and, with the `tls` feature (on by default), `https://` endpoints, as Drone's Go
//! client: the server's certificate is verified against the system's root certificates (rustls
//! with the `ring` provider and the platform's trust store). A private CA is trusted with
//! [`Client::add_root_certificate_pem`]; [`Client::danger_accept_invalid_certs`] is what Drone's
//! `DRONE_*_SKIP_VERIFY=true` does, and is as dangerous. Certificate problems are typed errors
//! ([`ClientError::CertificateNotTrusted`], [`ClientError::CertificateNameMismatch`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use drone_extension::client::Client;
//! use drone_extension::secret::SecretRequest;
//! use drone_extension::signature::SharedSecret;
//!
//! let client = Client::new("http://127.0.0.1:3000/secret", SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?)?;
//! let request = SecretRequest {
//!     path: "secret/data/docker".into(),
//!     name: "username".into(),
//!     repo: Default::default(),
//!     build: Default::default(),
//! };
//! match client.find_secret(&request).await? {
//!     Some(secret) => println!("found {}", secret.name),
//!     None => println!("not found"),
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, HeaderValue};
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::Full;
use serde::Serialize;

use crate::admission::AdmissionRequest;
use crate::config::ConfigRequest;
use crate::convert::ConvertRequest;
use crate::environ::EnvironRequest;
use crate::global_secrets::GlobalSecretsRequest;
use crate::models::{Config, LegacySecret, Registry, Secret, User, Variable};
use crate::registry::RegistryRequest;
use crate::secret::SecretRequest;
use crate::signature::{SharedSecret, Signer};
use crate::validate::{ValidateRequest, Validation};
use crate::webhook::WebhookRequest;
use crate::{BoxError, ExtensionKind};

pub(crate) mod answer;
#[cfg(feature = "tls")]
pub(crate) mod tls;
mod transport;

pub(crate) use transport::Transport;

/// Drone's deadline for one extension call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest answer the client reads (Drone reads without limit; 16 MiB is plenty).
pub const MAX_RESPONSE_LEN: usize = 16 * 1024 * 1024;

/// Why a call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The endpoint is not an absolute `http://` (or, with the `tls` feature, `https://`) URI.
    InvalidEndpoint(String),
    /// The request could not be built or signed.
    Request(BoxError),
    /// Connecting, sending or reading failed.
    Transport(BoxError),
    /// No answer within the deadline.
    Timeout,
    /// The extension answered with a status above 299 (Drone's `drone.Error`): `message` is the
    /// body, or the status's reason phrase when the body is empty.
    Status {
        /// The status code.
        code: u16,
        /// The body text.
        message: String,
    },
    /// A `200` with an empty body: Go's `unexpected end of JSON input`.
    EmptyBody,
    /// The answer is not the JSON the kind expects.
    Decode(serde_json::Error),
    /// The answer is `aesgcm`-encoded and could not be decrypted (or the `aesgcm` feature is off).
    Decrypt(String),
    /// The server's certificate is not trusted: no trusted root issued it (self-signed, or from a
    /// private CA not given to [`Client::add_root_certificate_pem`]), or it has expired, is not
    /// valid yet, is revoked or is malformed. The text says which.
    CertificateNotTrusted(String),
    /// The server's certificate is trusted but not valid for the endpoint's host.
    CertificateNameMismatch(String),
    /// The TLS handshake failed for another reason (no common protocol version or cipher suite,
    /// an alert from the server, …).
    Tls(String),
    /// A certificate given to [`Client::add_root_certificate_pem`] is not a usable PEM CA
    /// certificate.
    InvalidRootCertificate(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::InvalidEndpoint(why) => write!(f, "invalid endpoint: {why}"),
            ClientError::Request(e) => write!(f, "cannot build the request: {e}"),
            ClientError::Transport(e) => write!(f, "transport error: {e}"),
            ClientError::Timeout => f.write_str("no answer within the deadline"),
            ClientError::Status { code, message } => write!(f, "status {code}: {message}"),
            ClientError::EmptyBody => f.write_str("unexpected end of JSON input"),
            ClientError::Decode(e) => write!(f, "cannot decode the answer: {e}"),
            ClientError::Decrypt(e) => write!(f, "cannot decrypt the answer: {e}"),
            ClientError::CertificateNotTrusted(why) => write!(f, "certificate not trusted: {why}"),
            ClientError::CertificateNameMismatch(why) => {
                write!(f, "certificate not valid for the endpoint's host: {why}")
            }
            ClientError::Tls(why) => write!(f, "TLS handshake failed: {why}"),
            ClientError::InvalidRootCertificate(why) => {
                write!(f, "invalid root certificate: {why}")
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Request(e) | ClientError::Transport(e) => Some(&**e),
            ClientError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

/// An answer as received (after aesgcm decryption), before any interpretation.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (decrypted when it was `aesgcm`-encoded).
    pub body: Bytes,
}

/// Calls one extension endpoint as Drone does. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    transport: Transport,
    signer: Signer,
    secret: SharedSecret,
    aesgcm: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.transport)
            .field("aesgcm", &self.aesgcm)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `endpoint` (an absolute `http://` or, with the `tls` feature, `https://`
    /// URL, path included) signing with `secret`. `https://` certificates are verified against
    /// the system's roots.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidEndpoint`] when the URL does not parse or has another scheme.
    pub fn new(endpoint: &str, secret: SharedSecret) -> Result<Client, ClientError> {
        Ok(Client {
            transport: Transport::new(endpoint)?,
            signer: Signer::new(secret.clone()),
            secret,
            aesgcm: false,
        })
    }

    /// Trusts the CA certificate(s) of a PEM bundle for `https://` endpoints, on top of the
    /// system's roots: for an extension served with a certificate from a private PKI.
    ///
    /// ```
    /// # use drone_extension::client::{Client, ClientError};
    /// # use drone_extension::signature::SharedSecret;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
    /// let client = Client::new("https://secrets.internal:3000/secret", secret)?;
    /// // A file that is not a PEM certificate is an error, never a panic.
    /// let error = client.add_root_certificate_pem(b"not a certificate").unwrap_err();
    /// assert!(matches!(error, ClientError::InvalidRootCertificate(_)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidRootCertificate`] when `pem` holds no certificate, a malformed one,
    /// or one that cannot be a trust anchor.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<Client, ClientError> {
        self.transport.add_root_certificate_pem(pem)?;
        Ok(self)
    }

    /// Accepts **any** certificate from `https://` endpoints: self-signed, expired, issued for
    /// another host, or presented by an attacker. This is what Drone does with
    /// `DRONE_SECRET_SKIP_VERIFY=true` (and the other `*_SKIP_VERIFY` settings).
    ///
    /// **Dangerous**: the connection is still encrypted, but to whoever answers. Anyone who can
    /// intercept the traffic (same network, DNS, a proxy) can pose as the extension, read the
    /// signed requests, and answer them: hand out registry credentials and secrets of their
    /// choosing, or collect the ones the extension sends back. Prefer
    /// [`add_root_certificate_pem`](Client::add_root_certificate_pem) with the extension's CA.
    /// Enabling it logs a warning.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn danger_accept_invalid_certs(mut self, yes: bool) -> Client {
        self.transport.danger_accept_invalid_certs(yes);
        self
    }

    /// Sets the deadline of each call (default one minute, as Drone).
    pub fn timeout(mut self, timeout: Duration) -> Client {
        self.transport.set_timeout(timeout);
        self
    }

    /// Asks for `aesgcm`-encrypted answers (`Accept-Encoding: aesgcm`), as drone-go's own tests
    /// do. Drone itself never does.
    pub fn request_aesgcm(mut self, yes: bool) -> Client {
        self.aesgcm = yes;
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Uri {
        self.transport.endpoint()
    }

    /// The signer (its secret is the client's).
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The request Drone's extension client sends for `body` with the media type `media_type`,
    /// signed at `date`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] when the media type is not a valid header value.
    pub fn extension_request(
        &self,
        media_type: &str,
        body: Bytes,
        date: SystemTime,
    ) -> Result<Request<Full<Bytes>>, ClientError> {
        let mut headers = self
            .signer
            .extension_headers(media_type, &body, date)
            .map_err(|e| ClientError::Request(e.into()))?;
        if self.aesgcm {
            // Unsigned change of a signed header would break the signature: re-sign.
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("aesgcm"));
            let params = self
                .signer
                .sign(
                    &http::Method::POST,
                    self.transport.endpoint(),
                    &headers,
                    crate::signature::EXTENSION_HEADER_LIST,
                )
                .map_err(|e| ClientError::Request(e.into()))?;
            let value = HeaderValue::from_str(&params.to_string())
                .map_err(|e| ClientError::Request(e.into()))?;
            headers.insert(crate::signature::SIGNATURE.clone(), value);
        }
        Ok(self.with_headers(headers, body))
    }

    /// The request the Drone server's webhook sender sends: signed `date digest`, with the unsigned
    /// `X-Drone-Event` header.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] when signing fails.
    pub fn webhook_request(
        &self,
        event: &str,
        body: Bytes,
        date: SystemTime,
    ) -> Result<Request<Full<Bytes>>, ClientError> {
        let mut headers = self
            .signer
            .webhook_headers(&body, date)
            .map_err(|e| ClientError::Request(e.into()))?;
        let event = HeaderValue::from_str(event).map_err(|e| ClientError::Request(e.into()))?;
        headers.insert("x-drone-event", event);
        Ok(self.with_headers(headers, body))
    }

    fn with_headers(&self, headers: HeaderMap, body: Bytes) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.transport.endpoint().clone();
        *request.headers_mut() = headers;
        request
    }

    /// Sends a request and reads the answer, decrypting an `aesgcm`-encoded body. No redirect is
    /// followed; the deadline covers connecting, sending and reading.
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`], [`ClientError::Timeout`], [`ClientError::Decrypt`]. The status
    /// is not interpreted.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<RawResponse, ClientError> {
        let mut raw = self.transport.send(request).await?;
        if raw
            .headers
            .get(CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes() == b"aesgcm")
        {
            raw.body = self.decrypt(&raw.body)?.into();
        }
        Ok(raw)
    }

    #[cfg(feature = "aesgcm")]
    fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, ClientError> {
        crate::aesgcm::decrypt(&self.secret, body).map_err(|e| ClientError::Decrypt(e.to_string()))
    }

    #[cfg(not(feature = "aesgcm"))]
    fn decrypt(&self, _body: &[u8]) -> Result<Vec<u8>, ClientError> {
        let _ = &self.secret;
        Err(ClientError::Decrypt(
            "the answer is aesgcm-encoded; enable the `aesgcm` feature".into(),
        ))
    }

    /// Signs `value` as JSON for `kind` and sends it now. Webhooks are sent as the server sends
    /// them; every other kind as the extension client does.
    ///
    /// # Errors
    ///
    /// As [`send`](Client::send), plus [`ClientError::Request`] when `value` cannot be encoded.
    pub async fn call<T: Serialize + ?Sized>(
        &self,
        kind: ExtensionKind,
        value: &T,
    ) -> Result<RawResponse, ClientError> {
        let body: Bytes = crate::json::to_vec(value)
            .map_err(|e| ClientError::Request(e.into()))?
            .into();
        let now = SystemTime::now();
        let request = match kind {
            ExtensionKind::Webhook => {
                let event = crate::client::answer::webhook_event(&body);
                self.webhook_request(&event, body, now)?
            }
            _ => self.extension_request(kind.media_type(), body, now)?,
        };
        self.send(request).await
    }

    /// Admission: the user as the server will store it (its `admin` flag is what Drone keeps; a
    /// `204` gives a default user, so `admin: false`).
    ///
    /// # Errors
    ///
    /// A refusal is `ClientError::Status { code: 403, message }`; other failures as
    /// [`call`](Client::call).
    pub async fn admit(&self, request: &AdmissionRequest) -> Result<User, ClientError> {
        self.call(ExtensionKind::Admission, request)
            .await?
            .admission()
    }

    /// The Drone 0.8 global secrets for a build.
    ///
    /// # Errors
    ///
    /// As [`call`](Client::call), and for a status above 299.
    pub async fn global_secrets(
        &self,
        request: &GlobalSecretsRequest,
    ) -> Result<Vec<LegacySecret>, ClientError> {
        self.call(ExtensionKind::GlobalSecrets, request)
            .await?
            .global_secrets()
    }

    /// One secret: `None` for `204`, `null` or an empty `data` (what runners treat as not found).
    ///
    /// # Errors
    ///
    /// As [`call`](Client::call), and for a status above 299.
    pub async fn find_secret(
        &self,
        request: &SecretRequest,
    ) -> Result<Option<Secret>, ClientError> {
        self.call(ExtensionKind::Secret, request).await?.secret()
    }

    /// Registry credentials (`204` or `null`: none).
    ///
    /// # Errors
    ///
    /// As [`call`](Client::call), and for a status above 299.
    pub async fn registries(
        &self,
        request: &RegistryRequest,
    ) -> Result<Vec<Registry>, ClientError> {
        self.call(ExtensionKind::Registry, request)
            .await?
            .registries()
    }

    /// Environment variables, asked for with the v2 media type as runners do.
    ///
    /// # Errors
    ///
    /// As [`call`](Client::call), and for a status above 299.
    pub async fn variables(&self, request: &EnvironRequest) -> Result<Vec<Variable>, ClientError> {
        self.call(ExtensionKind::Environ, request)
            .await?
            .variables()
    }

    /// A pipeline configuration: `None` for `204` or an empty `data` (Drone then uses the
    /// repository's own file).
    ///
    /// # Errors
    ///
    /// As [`call`](Client::call), and for a status above 299 (Drone creates no build).
    pub async fn config(&self, request: &ConfigRequest) -> Result<Option<Config>, ClientError> {
        self.call(ExtensionKind::Config, request).await?.config()
    }

    /// A converted configuration: `None` for `204` or an empty `data` (unchanged).
    ///
    /// # Errors
    ///
    /// As [`call`](Client::call), and for a status above 299 (Drone creates the build in error).
    pub async fn convert(&self, request: &ConvertRequest) -> Result<Option<Config>, ClientError> {
        self.call(ExtensionKind::Convert, request).await?.config()
    }

    /// A validation: any 2xx is [`Validation::Pass`], `498` [`Validation::Skip`], `499`
    /// [`Validation::Block`], and any other status above 299 [`Validation::Reject`] with the raw
    /// body, which Drone shows as the build's error.
    ///
    /// # Errors
    ///
    /// As [`call`](Client::call).
    pub async fn validate(&self, request: &ValidateRequest) -> Result<Validation, ClientError> {
        Ok(self
            .call(ExtensionKind::Validate, request)
            .await?
            .validation())
    }

    /// Delivers a webhook as the Drone server does, and returns the status (which Drone ignores).
    ///
    /// # Errors
    ///
    /// Transport errors and timeouts only.
    pub async fn webhook(&self, request: &WebhookRequest) -> Result<StatusCode, ClientError> {
        Ok(self.call(ExtensionKind::Webhook, request).await?.webhook())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_absolute_http_or_https() {
        let secret = SharedSecret::new("0123456789abcdef0123456789abcdef").unwrap();
        assert!(Client::new("/secret", secret.clone()).is_err());
        assert!(Client::new("ftp://example.com/", secret.clone()).is_err());
        assert_eq!(
            Client::new("https://example.com/", secret.clone()).is_ok(),
            cfg!(feature = "tls")
        );
        assert!(Client::new("not a url", secret.clone()).is_err());
        assert!(Client::new("http://127.0.0.1:3000/secret", secret).is_ok());
    }
}
