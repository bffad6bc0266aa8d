//! [`VaultClient`]: one HTTP call to Vault, with the crate's hyper + rustls stack.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::Full;
use rustls::pki_types::ServerName;
use serde_json::Value;

use super::VaultError;
use crate::client::Transport;
use crate::client::tls::{self, TlsSettings};

/// The default deadline of one call to Vault (connecting, sending and reading).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer read from Vault.
const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// An HTTP client for one Vault (or OpenBao) server: `http://` or `https://` (rustls, `ring`),
/// a namespace, extra CA certificates, a server-name override and a deadline on every call.
///
/// It holds no token: callers pass one per call (see [`super::Auth`] for a managed one).
///
/// ```
/// use std::time::Duration;
/// use drone_extension::vault::VaultClient;
///
/// let client = VaultClient::builder("https://vault.example.com:8200")
///     .namespace("team-a")
///     .server_name("vault.internal")
///     .timeout(Duration::from_secs(3))
///     .build()?;
/// assert_eq!(client.address(), "https://vault.example.com:8200");
/// # Ok::<(), drone_extension::vault::VaultError>(())
/// ```
#[derive(Clone)]
pub struct VaultClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    address: String,
    namespace: Option<HeaderValue>,
    timeout: Duration,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::Metrics>,
}

impl fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultClient")
            .field("address", &self.inner.address)
            .field("namespace", &self.inner.namespace)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`VaultClient`].
#[derive(Debug, Clone)]
#[must_use]
pub struct VaultClientBuilder {
    address: String,
    namespace: Option<String>,
    ca_pem: Vec<Vec<u8>>,
    server_name: Option<String>,
    accept_invalid_certs: bool,
    timeout: Duration,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::Metrics>,
}

impl VaultClientBuilder {
    /// Sends `X-Vault-Namespace` (Vault Enterprise, OpenBao namespaces) with every call.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Trusts the CA certificates of a PEM bundle (`VAULT_CACERT`) on top of the system's roots.
    pub fn ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem.push(pem.into());
        self
    }

    /// Verifies the server's certificate for this name, and sends it as SNI, instead of the
    /// address's host (`VAULT_TLS_SERVER_NAME`).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Accepts any certificate (`VAULT_SKIP_VERIFY=true`): anyone on the path can pose as Vault
    /// and read the token. For tests only.
    pub fn danger_accept_invalid_certs(mut self, yes: bool) -> Self {
        self.accept_invalid_certs = yes;
        self
    }

    /// The deadline of one call (default [`DEFAULT_TIMEOUT`]; zero is refused by
    /// [`build`](Self::build)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Counts every call in `metrics` (`drone_extension_vault_calls_total`, by operation:
    /// `login`, `renew`, `lookup`, `health`, `mount` (a path's mount, asked before reading it)
    /// or `read`; and outcome: `ok`, `not_found`, `denied`,
    /// `error` for another status, `timeout` or `unreachable`).
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics(mut self, metrics: &crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// The client.
    ///
    /// # Errors
    ///
    /// [`VaultError::Config`] for an address that is not `http(s)://host[:port]` (a path is
    /// allowed and kept as a prefix), a zero timeout, a bad PEM or server name.
    pub fn build(self) -> Result<VaultClient, VaultError> {
        let address = self.address.trim_end_matches('/').to_owned();
        let uri: Uri = address
            .parse()
            .map_err(|e| VaultError::Config(format!("VAULT_ADDR {address:?}: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(VaultError::Config(format!(
                "VAULT_ADDR {address:?} is not an http:// or https:// URL"
            )));
        }
        if self.timeout.is_zero() {
            return Err(VaultError::Config("the timeout must not be zero".into()));
        }
        let mut settings = TlsSettings {
            accept_invalid_certs: self.accept_invalid_certs,
            ..TlsSettings::default()
        };
        for pem in &self.ca_pem {
            settings.extra_roots.extend(
                tls::parse_roots(pem)
                    .map_err(|e| VaultError::Config(format!("VAULT_CACERT: {e}")))?,
            );
        }
        if let Some(name) = self.server_name {
            settings.server_name = Some(
                ServerName::try_from(name.clone())
                    .map_err(|e| VaultError::Config(format!("server name {name:?}: {e}")))?,
            );
        }
        let namespace = self
            .namespace
            .map(|ns| {
                HeaderValue::from_str(&ns).map_err(|_| {
                    VaultError::Config(format!("namespace {ns:?} is not a header value"))
                })
            })
            .transpose()?;
        let mut transport = Transport::with_tls(&address, settings)
            .map_err(|e| VaultError::Config(format!("VAULT_ADDR {address:?}: {e}")))?;
        transport.set_timeout(self.timeout);
        transport.set_max_answer(MAX_ANSWER);
        Ok(VaultClient {
            inner: Arc::new(Inner {
                transport,
                address,
                namespace,
                timeout: self.timeout,
                #[cfg(feature = "metrics")]
                metrics: self.metrics,
            }),
        })
    }
}

/// Vault's answer to one call: the status and the JSON body (`null` when empty).
#[derive(Debug, Clone)]
pub struct VaultResponse {
    /// The status.
    pub status: StatusCode,
    /// The body, `Value::Null` when empty.
    pub body: Value,
}

impl VaultResponse {
    /// Vault's `errors` list.
    pub fn errors(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e.as_str().map(|e| e.trim().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `Ok(self)` for a 2xx, else the error for the status.
    ///
    /// # Errors
    ///
    /// [`VaultError::PermissionDenied`] for a `403`, [`VaultError::Status`] for the others.
    pub fn success(self) -> Result<VaultResponse, VaultError> {
        match self.status {
            s if s.is_success() => Ok(self),
            StatusCode::FORBIDDEN => Err(VaultError::PermissionDenied),
            s => Err(VaultError::Status {
                code: s.as_u16(),
                errors: self.errors(),
            }),
        }
    }
}

impl VaultClient {
    /// Settings for the server at `address`, e.g. `https://vault.example.com:8200`.
    pub fn builder(address: impl Into<String>) -> VaultClientBuilder {
        VaultClientBuilder {
            address: address.into(),
            namespace: None,
            ca_pem: Vec::new(),
            server_name: None,
            accept_invalid_certs: false,
            timeout: DEFAULT_TIMEOUT,
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }

    /// The server's address.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// The deadline of one call.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Calls `{address}/v1/{path}` (the path cleaned and escaped as Go's Vault client does, see
    /// [`api_path`]) with `X-Vault-Token` when `token` is given, `X-Vault-Request: true`, the
    /// namespace, and `body` as JSON.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidPath`], [`VaultError::Transport`], [`VaultError::Tls`],
    /// [`VaultError::Timeout`], [`VaultError::Decode`]. The status is not interpreted.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<VaultResponse, VaultError> {
        let uri = format!("{}{}", self.inner.address, api_path(path)?);
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-vault-request", "true");
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(token)
                .map_err(|_| VaultError::Config("the token is not a header value".into()))?;
            value.set_sensitive(true);
            request = request.header("x-vault-token", value);
        }
        if let Some(namespace) = &self.inner.namespace {
            request = request.header("x-vault-namespace", namespace.clone());
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(
                    serde_json::to_vec(body).map_err(|e| VaultError::Decode(e.to_string()))?,
                )
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(body))
            .map_err(|e| VaultError::Config(e.to_string()))?;
        let raw = self
            .inner
            .transport
            .send(request)
            .await
            .map_err(|error| VaultError::from_client(&self.inner.address, error));
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.inner.metrics {
            metrics.vault_call(operation(path), outcome(&raw));
        }
        let raw = raw?;
        let body = if raw.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&raw.body).map_err(|e| VaultError::Decode(e.to_string()))?
        };
        Ok(VaultResponse {
            status: raw.status,
            body,
        })
    }

    /// `GET /v1/sys/health`: `Ok(status)` when the server answered at all (`200` active, `429`
    /// standby, `503` sealed, …).
    ///
    /// # Errors
    ///
    /// When the server cannot be reached within the timeout.
    pub async fn health(&self) -> Result<StatusCode, VaultError> {
        Ok(self
            .call(Method::GET, "sys/health", None, None)
            .await?
            .status)
    }
}

#[cfg(feature = "metrics")]
fn operation(path: &str) -> &'static str {
    let path = path.trim_start_matches('/');
    match path {
        "auth/token/renew-self" => "renew",
        "auth/token/lookup-self" => "lookup",
        "sys/health" => "health",
        _ if path.starts_with("sys/internal/ui/mounts/") => "mount",
        _ if path.starts_with("auth/") && path.ends_with("/login") => "login",
        _ if path.starts_with("auth/") && path.contains("/login/") => "login",
        _ => "read",
    }
}

#[cfg(feature = "metrics")]
fn outcome(result: &Result<crate::client::RawResponse, VaultError>) -> &'static str {
    match result {
        Ok(raw) if raw.status.is_success() => "ok",
        Ok(raw) if raw.status == StatusCode::NOT_FOUND => "not_found",
        Ok(raw) if raw.status == StatusCode::FORBIDDEN => "denied",
        Ok(_) => "error",
        Err(VaultError::Timeout) => "timeout",
        Err(_) => "unreachable",
    }
}

/// The request path for a logical `path`, as Go's Vault client builds it: `path.Join("/v1/",
/// path)` (repeated, leading and trailing slashes and `.` segments removed), then escaped as Go's
/// `url.URL.EscapedPath` does (`?`, `#`, spaces, `%` and non-ASCII are percent-encoded, so a
/// `?version=1` is part of the path, not a query).
///
/// ```
/// use drone_extension::vault::api_path;
///
/// assert_eq!(api_path("secret//data/docker/").unwrap(), "/v1/secret/data/docker");
/// assert_eq!(api_path("secret/data/x?version=1").unwrap(), "/v1/secret/data/x%3Fversion=1");
/// assert_eq!(api_path("").unwrap(), "/v1");
/// assert!(api_path("secret/data/../../sys/mounts").is_err());
/// ```
///
/// # Errors
///
/// [`VaultError::InvalidPath`] for a `..` segment: Go resolves it (`secret/data/../../sys/x` reads
/// `sys/x`); this client refuses to read anything but the path written.
pub fn api_path(path: &str) -> Result<String, VaultError> {
    let mut out = String::from("/v1");
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(VaultError::InvalidPath),
            segment => {
                out.push('/');
                for &b in segment.as_bytes() {
                    if b.is_ascii_alphanumeric() || b"-_.~$&+,:;=@".contains(&b) {
                        out.push(char::from(b));
                    } else {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_vault_is_named_with_the_cause() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let client = VaultClient::builder(&address).build().unwrap();
        let error = client.health().await.unwrap_err();
        assert!(matches!(error, VaultError::Transport { .. }), "{error:?}");
        let text = error.to_string();
        assert!(text.contains(&address), "the address is named: {text}");
        assert!(
            text.to_lowercase().contains("refused"),
            "the cause is named: {text}"
        );
        let source = std::error::Error::source(&error).expect("the client error is kept");
        assert!(
            source
                .downcast_ref::<crate::client::ClientError>()
                .is_some()
        );
    }

    #[test]
    fn paths_are_cleaned_and_escaped_as_go_does() {
        for (path, uri) in [
            ("secret/data/docker", "/v1/secret/data/docker"),
            ("/secret/data/docker", "/v1/secret/data/docker"),
            ("secret//data/docker/", "/v1/secret/data/docker"),
            ("secret/./data/docker", "/v1/secret/data/docker"),
            ("secret/data/x?version=1", "/v1/secret/data/x%3Fversion=1"),
            ("secret/data/a b#c", "/v1/secret/data/a%20b%23c"),
            ("secret/data/é", "/v1/secret/data/%C3%A9"),
            ("", "/v1"),
        ] {
            assert_eq!(api_path(path).unwrap(), uri, "{path}");
        }
        assert!(matches!(api_path("a/../b"), Err(VaultError::InvalidPath)));
    }

    #[test]
    fn addresses_must_be_http_urls() {
        assert!(VaultClient::builder("vault:8200").build().is_err());
        assert!(VaultClient::builder("ftp://vault").build().is_err());
        assert!(
            VaultClient::builder("http://127.0.0.1:8200")
                .timeout(Duration::ZERO)
                .build()
                .is_err()
        );
        let client = VaultClient::builder("http://127.0.0.1:8200/")
            .build()
            .unwrap();
        assert_eq!(client.address(), "http://127.0.0.1:8200");
        assert!(
            VaultClient::builder("https://v")
                .ca_certificate_pem("x")
                .build()
                .is_err()
        );
    }
}
