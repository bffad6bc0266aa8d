//! TLS with rustls (the `ring` provider): the certificate chain and key, and the acceptor.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate chain and private key a [`Server`](super::Server) serves HTTPS with.
///
/// The server sets the ALPN protocols itself: `http/1.1`, and `h2` first when
/// [`Server::http2`](super::Server::http2) is on (a configuration given with
/// [`from_rustls`](TlsConfig::from_rustls) has its own ALPN list replaced). `Debug` shows
/// nothing of the key.
///
/// ```no_run
/// use drone_extension::server::{Server, TlsConfig};
///
/// # fn main() -> Result<(), drone_extension::server::TlsError> {
/// let tls = TlsConfig::from_pem_files("/etc/extension/tls.crt", "/etc/extension/tls.key")?;
/// let server = Server::new().tls(tls);
/// # let _ = server; Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ServerConfig>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    ///
    /// [`TlsError`] naming the file that cannot be read or holds no valid certificate or key, or
    /// when rustls refuses the pair.
    pub fn from_pem_files(
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<TlsConfig, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let (cert_path, key_path) = (cert_chain_path.as_ref(), key_path.as_ref());
        let chain = parse_chain(&read(cert_path)?, Origin::File(cert_path))?;
        let key = parse_key(&read(key_path)?, Origin::File(key_path))?;
        Self::from_parts(chain, key)
    }

    /// Parses a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    ///
    /// [`TlsError`] when either holds no valid PEM item, or when rustls refuses the pair.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<TlsConfig, TlsError> {
        let chain = parse_chain(cert_chain, Origin::Memory("the certificate chain"))?;
        let key = parse_key(key, Origin::Memory("the private key"))?;
        Self::from_parts(chain, key)
    }

    /// Uses a rustls configuration as it is, but for its ALPN protocols.
    pub fn from_rustls(config: Arc<ServerConfig>) -> TlsConfig {
        TlsConfig { config }
    }

    fn from_parts(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsConfig, TlsError> {
        let provider = crate::tls_provider::provider();
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|source| TlsError::Rejected { source })?;
        Ok(TlsConfig {
            config: Arc::new(config),
        })
    }

    /// The acceptor, with the ALPN protocols the server speaks.
    pub(crate) fn acceptor(&self, http2: bool) -> tokio_rustls::TlsAcceptor {
        let mut config = ServerConfig::clone(&self.config);
        config.alpn_protocols = if http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

/// Where PEM text came from, to name it in errors.
#[derive(Clone, Copy)]
enum Origin<'a> {
    File(&'a Path),
    Memory(&'static str),
}

impl Origin<'_> {
    fn name(self) -> String {
        match self {
            Origin::File(path) => path.display().to_string(),
            Origin::Memory(what) => what.to_owned(),
        }
    }
}

fn parse_chain(pem: &[u8], origin: Origin<'_>) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::InvalidCertificate {
            origin: origin.name(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::InvalidCertificate {
            origin: origin.name(),
        });
    }
    Ok(chain)
}

fn parse_key(pem: &[u8], origin: Origin<'_>) -> Result<PrivateKeyDer<'static>, TlsError> {
    // The PEM error may quote the text: it is not kept, the key must never reach a log.
    PrivateKeyDer::from_pem_slice(pem).map_err(|_| TlsError::InvalidKey {
        origin: origin.name(),
    })
}

/// Why a [`TlsConfig`] could not be built. The messages name the file, never its content.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// No PEM certificate, or an invalid one.
    InvalidCertificate {
        /// The file, or "the certificate chain".
        origin: String,
    },
    /// No PEM private key (PKCS#8, PKCS#1 or SEC1), or an invalid one.
    InvalidKey {
        /// The file, or "the private key".
        origin: String,
    },
    /// rustls refused the certificate and key (a key that does not match, an unsupported
    /// algorithm).
    Rejected {
        /// rustls' error.
        source: rustls::Error,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            TlsError::InvalidCertificate { origin } => {
                write!(f, "{origin}: no valid PEM certificate")
            }
            TlsError::InvalidKey { origin } => write!(
                f,
                "{origin}: no valid PEM private key (PKCS#8, PKCS#1 or SEC1)"
            ),
            TlsError::Rejected { source } => {
                write!(f, "the certificate and key were refused: {source}")
            }
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Read { source, .. } => Some(source),
            TlsError::Rejected { source } => Some(source),
            _ => None,
        }
    }
}
