//! [`Transport`]: how every client of the crate reaches an endpoint (hyper-util's pooled client,
//! `https` with rustls and the system's roots, a deadline per call), with no signing concern.
//! Drone's [`Client`](super::Client) and Woodpecker's client sign on top of it; the Vault client
//! (`vault::VaultClient`) sends its token and namespace on top of it.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::Full;
use hyper_util::client::legacy::Client as HttpClient;
#[cfg(not(feature = "tls"))]
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[cfg(feature = "tls")]
use super::tls;
use super::{ClientError, DEFAULT_TIMEOUT, MAX_RESPONSE_LEN, RawResponse};

#[cfg(feature = "tls")]
type Connector = tls::Connector;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

/// One endpoint, reached over http or https. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Transport {
    http: HttpClient<Connector, Full<Bytes>>,
    #[cfg(feature = "tls")]
    tls: tls::TlsSettings,
    endpoint: Uri,
    timeout: Duration,
    max_answer: usize,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Transport");
        debug
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout);
        #[cfg(feature = "tls")]
        debug
            .field("extra_roots", &self.tls.extra_roots.len())
            .field("accept_invalid_certs", &self.tls.accept_invalid_certs);
        debug.finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport to `endpoint`, an absolute `http://` or (with `tls`) `https://` URL.
    pub(crate) fn new(endpoint: &str) -> Result<Transport, ClientError> {
        let endpoint: Uri = endpoint
            .parse()
            .map_err(|e: http::uri::InvalidUri| ClientError::InvalidEndpoint(e.to_string()))?;
        if endpoint.authority().is_none() {
            return Err(ClientError::InvalidEndpoint(
                "expected an absolute http:// or https:// URL".into(),
            ));
        }
        match endpoint.scheme_str() {
            Some("http") => {}
            #[cfg(feature = "tls")]
            Some("https") => {}
            #[cfg(not(feature = "tls"))]
            Some("https") => {
                return Err(ClientError::InvalidEndpoint(
                    "https:// needs the `tls` feature".into(),
                ));
            }
            _ => {
                return Err(ClientError::InvalidEndpoint(
                    "expected an absolute http:// or https:// URL".into(),
                ));
            }
        }
        #[cfg(feature = "tls")]
        let tls = tls::TlsSettings::default();
        Ok(Transport {
            #[cfg(feature = "tls")]
            http: Self::http_client(&tls)?,
            #[cfg(not(feature = "tls"))]
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
            #[cfg(feature = "tls")]
            tls,
            endpoint,
            timeout: DEFAULT_TIMEOUT,
            max_answer: MAX_RESPONSE_LEN,
        })
    }

    /// A transport to `endpoint` with these TLS settings (extra roots, a server-name override,
    /// or no verification at all, which the caller has already warned about).
    #[cfg(feature = "vault")]
    pub(crate) fn with_tls(
        endpoint: &str,
        settings: tls::TlsSettings,
    ) -> Result<Transport, ClientError> {
        let mut transport = Transport::new(endpoint)?;
        transport.http = Self::http_client(&settings)?;
        transport.tls = settings;
        Ok(transport)
    }

    /// The largest answer read (default [`MAX_RESPONSE_LEN`]); a longer one is a transport error.
    #[cfg(feature = "vault")]
    pub(crate) fn set_max_answer(&mut self, max: usize) {
        self.max_answer = max;
    }

    #[cfg(feature = "tls")]
    fn http_client(
        settings: &tls::TlsSettings,
    ) -> Result<HttpClient<Connector, Full<Bytes>>, ClientError> {
        Ok(HttpClient::builder(TokioExecutor::new()).build(tls::connector(settings)?))
    }

    /// Trusts the CA certificate(s) of a PEM bundle, on top of the system's roots.
    #[cfg(feature = "tls")]
    pub(crate) fn add_root_certificate_pem(&mut self, pem: &[u8]) -> Result<(), ClientError> {
        self.tls.extra_roots.extend(tls::parse_roots(pem)?);
        self.http = Self::http_client(&self.tls)?;
        Ok(())
    }

    /// Accepts any certificate (logged as a warning when turned on).
    #[cfg(feature = "tls")]
    pub(crate) fn danger_accept_invalid_certs(&mut self, yes: bool) {
        if yes == self.tls.accept_invalid_certs {
            return;
        }
        if yes {
            tracing::warn!(
                endpoint = %self.endpoint,
                "TLS CERTIFICATE VERIFICATION IS DISABLED: any server can pose as this extension, \
                 read its requests and forge its answers (the equivalent of DRONE_*_SKIP_VERIFY=true)"
            );
        }
        self.tls.accept_invalid_certs = yes;
        match Self::http_client(&self.tls) {
            Ok(http) => self.http = http,
            // Only a bad extra root can fail, and those were checked when added.
            Err(error) => tracing::error!(%error, "cannot rebuild the TLS configuration"),
        }
    }

    /// The deadline of each call.
    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The endpoint.
    pub(crate) fn endpoint(&self) -> &Uri {
        &self.endpoint
    }

    /// Sends `request` and reads the whole answer within the deadline.
    pub(crate) async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<RawResponse, ClientError> {
        let call = async {
            let response = self.http.request(request).await.map_err(transport_error)?;
            crate::client::answer::read_limited(response, self.max_answer).await
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| ClientError::Timeout)?
    }
}

/// A failure to connect, send or read: a TLS problem as its own variant.
fn transport_error(error: hyper_util::client::legacy::Error) -> ClientError {
    #[cfg(feature = "tls")]
    if let Some(tls) = tls::classify(&error) {
        return tls;
    }
    ClientError::Transport(error.into())
}
