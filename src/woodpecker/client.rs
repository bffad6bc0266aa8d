//! A client that calls Woodpecker extensions as a Woodpecker server does: for tests, the probe,
//! and checking an extension before pointing Woodpecker at it.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::Full;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::models::{
    ConfigFile, ConfigRequest, ConfigResponse, Registry, RegistryRequest, RegistryResponse, Secret,
    SecretRequest, SecretResponse,
};
use super::verify::{CONTENT_DIGEST, SIGNATURE, SIGNATURE_INPUT};
use super::{KeyError, PUBLIC_KEY_PATH, PublicKey, Signer};
use crate::client::{ClientError, RawResponse, Transport};

/// The `User-Agent` Woodpecker 3.17.0 sends to extensions.
pub const WOODPECKER_USER_AGENT: &str = "Woodpecker/3.17.0 (server-extensions)";

/// Calls one Woodpecker extension endpoint, signing each request as Woodpecker does. Cheap to
/// clone.
///
/// ```no_run
/// use drone_extension::woodpecker::{Client, SecretRequest, Signer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::new("http://127.0.0.1:3000/woodpecker/secret", Signer::from_seed(&[7; 32]))?;
/// let secrets = client.secrets(&SecretRequest::default()).await?;
/// println!("{} secrets", secrets.len());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    transport: Transport,
    signer: Signer,
}

impl Client {
    /// A client for `endpoint` (an absolute `http://` or, with `tls`, `https://` URL).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidEndpoint`] when the URL does not parse or has another scheme.
    pub fn new(endpoint: &str, signer: Signer) -> Result<Client, ClientError> {
        Ok(Client {
            transport: Transport::new(endpoint)?,
            signer,
        })
    }

    /// The deadline of one call (default 60 s; Woodpecker's is 10 s per attempt).
    pub fn timeout(mut self, timeout: Duration) -> Client {
        self.transport.set_timeout(timeout);
        self
    }

    /// Trusts the CA certificate(s) of a PEM bundle for `https://` endpoints.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidRootCertificate`] when `pem` holds no usable certificate.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<Client, ClientError> {
        self.transport.add_root_certificate_pem(pem)?;
        Ok(self)
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Uri {
        self.transport.endpoint()
    }

    /// The signer.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The request Woodpecker sends with this body at `created`: `POST`, `User-Agent`,
    /// `Content-Digest`, `Content-Type: application/json`, `Signature`, `Signature-Input`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] when the endpoint's path cannot be signed.
    pub fn request(&self, body: Bytes, created: u64) -> Result<Request<Full<Bytes>>, ClientError> {
        signed_request(&self.signer, self.endpoint().clone(), body, created)
    }

    /// Sends a request as it is and reads the answer; the status is not interpreted.
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`], [`ClientError::Timeout`].
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<RawResponse, ClientError> {
        self.transport.send(request).await
    }

    /// Encodes `value` as Go's `json.Encoder` does (compact, HTML-escaped, one `\n` at the end),
    /// signs it now and sends it.
    ///
    /// # Errors
    ///
    /// As [`send`](Client::send), plus [`ClientError::Request`] when `value` cannot be encoded.
    pub async fn call<T: Serialize + ?Sized>(&self, value: &T) -> Result<RawResponse, ClientError> {
        let body = go_json(value)?;
        self.send(self.request(body, unix_seconds(SystemTime::now()))?)
            .await
    }

    /// The config extension: `Some(files)` on `200`, `None` on `204` (keep the incoming files).
    ///
    /// # Errors
    ///
    /// As [`call`](Client::call); a status above 299 is [`ClientError::Status`], an empty `200`
    /// [`ClientError::EmptyBody`] (Woodpecker retries it).
    pub async fn config(
        &self,
        request: &ConfigRequest,
    ) -> Result<Option<Vec<ConfigFile>>, ClientError> {
        self.call(request).await?.woodpecker_config()
    }

    /// The secret extension's secrets (none on `204`).
    ///
    /// # Errors
    ///
    /// As [`config`](Client::config).
    pub async fn secrets(&self, request: &SecretRequest) -> Result<Vec<Secret>, ClientError> {
        self.call(request).await?.woodpecker_secrets()
    }

    /// The registry extension's registries (none on `204`).
    ///
    /// # Errors
    ///
    /// As [`config`](Client::config).
    pub async fn registries(
        &self,
        request: &RegistryRequest,
    ) -> Result<Vec<Registry>, ClientError> {
        self.call(request).await?.woodpecker_registries()
    }
}

/// Woodpecker's reading of each extension's answer, over HTTP ([`Client`]) or in process
/// ([`testing`](crate::testing)): a status above 299 is [`ClientError::Status`] with the trimmed
/// body as its message, `204` means nothing (the incoming files, no secrets, no registries), an
/// empty or blank `200` is [`ClientError::EmptyBody`] (Woodpecker retries it).
impl RawResponse {
    /// The config extension's answer: `Some(files)` on a 2xx with a body, `None` on `204`.
    ///
    /// # Errors
    ///
    /// A status above 299, an empty 2xx, or a body that does not decode.
    pub fn woodpecker_config(self) -> Result<Option<Vec<ConfigFile>>, ClientError> {
        if self.status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        decode::<ConfigResponse>(self).map(|r| Some(r.configs))
    }

    /// The secret extension's secrets (none on `204`).
    ///
    /// # Errors
    ///
    /// As [`woodpecker_config`](RawResponse::woodpecker_config).
    pub fn woodpecker_secrets(self) -> Result<Vec<Secret>, ClientError> {
        if self.status == StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        decode::<SecretResponse>(self).map(|r| r.secrets)
    }

    /// The registry extension's registries (none on `204`).
    ///
    /// # Errors
    ///
    /// As [`woodpecker_config`](RawResponse::woodpecker_config).
    pub fn woodpecker_registries(self) -> Result<Vec<Registry>, ClientError> {
        if self.status == StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        decode::<RegistryResponse>(self).map(|r| r.registries)
    }
}

/// `value` encoded as Go's `json.Encoder` does: compact, HTML-escaped, one `\n` at the end.
pub(crate) fn go_json<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, ClientError> {
    let mut body = crate::json::to_vec(value).map_err(|e| ClientError::Request(e.into()))?;
    body.push(b'\n');
    Ok(body.into())
}

/// `time` in whole seconds since the Unix epoch (0 before it).
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The request Woodpecker sends to `uri` with `body`, signed by `signer` at `created` (Unix
/// seconds) for `uri`'s path and query: `POST`, `User-Agent`, `Content-Digest`,
/// `Content-Type: application/json`, `Signature`, `Signature-Input`.
pub(crate) fn signed_request(
    signer: &Signer,
    uri: Uri,
    body: Bytes,
    created: u64,
) -> Result<Request<Full<Bytes>>, ClientError> {
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let signed = signer
        .sign(target, &body, created)
        .map_err(|e| ClientError::Request(e.into()))?;
    let value = |s: String| HeaderValue::try_from(s).map_err(|e| ClientError::Request(e.into()));
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(USER_AGENT, HeaderValue::from_static(WOODPECKER_USER_AGENT))
        .header(&CONTENT_DIGEST, value(signed.content_digest)?)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(&SIGNATURE, value(signed.signature)?)
        .header(&SIGNATURE_INPUT, value(signed.signature_input)?)
        .body(Full::new(body))
        .map_err(|e| ClientError::Request(e.into()))
}

/// A 2xx answer's JSON body, as Woodpecker reads it.
fn decode<T: DeserializeOwned>(raw: RawResponse) -> Result<T, ClientError> {
    if !raw.status.is_success() {
        return Err(ClientError::Status {
            code: raw.status.as_u16(),
            message: String::from_utf8_lossy(&raw.body).trim().to_owned(),
        });
    }
    if raw.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ClientError::EmptyBody);
    }
    serde_json::from_slice(&raw.body).map_err(ClientError::Decode)
}

/// Fetches a Woodpecker server's public key from `GET {server}/api/signature/public-key`
/// (unauthenticated since Woodpecker 3.13): call it once at start-up, never per request.
///
/// `server` is the server's base URL, with its `WOODPECKER_ROOT_PATH` if any
/// (`https://ci.example.com`).
///
/// # Errors
///
/// [`KeyError::Fetch`] saying what went wrong: the URL, the connection, the status (401 before
/// Woodpecker 3.13: copy the key from the repository's Extensions settings instead), or a body
/// that is not an Ed25519 PEM key.
pub async fn fetch_public_key(server: &str) -> Result<PublicKey, KeyError> {
    let url = format!("{}{PUBLIC_KEY_PATH}", server.trim_end_matches('/'));
    let fail = |why: String| KeyError::Fetch(format!("GET {url}: {why}"));
    let mut transport = Transport::new(&url).map_err(|e| fail(e.to_string()))?;
    transport.set_timeout(Duration::from_secs(10));
    let request = Request::get(transport.endpoint().clone())
        .body(Full::new(Bytes::new()))
        .map_err(|e| fail(e.to_string()))?;
    let raw = transport
        .send(request)
        .await
        .map_err(|e| fail(e.to_string()))?;
    if raw.status != StatusCode::OK {
        return Err(fail(format!("status {}", raw.status.as_u16())));
    }
    let text = std::str::from_utf8(&raw.body).map_err(|_| fail("body is not UTF-8".into()))?;
    PublicKey::from_pem(text).map_err(|e| fail(e.to_string()))
}
