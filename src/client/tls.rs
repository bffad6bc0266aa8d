//! The client's TLS: rustls with the `ring` provider, the system's roots, extra roots given by
//! the caller, and the "accept any certificate" mode of Drone's `DRONE_*_SKIP_VERIFY`.

use std::sync::{Arc, OnceLock};

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};

use super::ClientError;

// Shared with the Vault client (`crate::vault`), which trusts CAs and overrides the server name
// the same way.

/// What the caller changed from the defaults (system roots, certificates verified).
#[derive(Clone, Default)]
pub(crate) struct TlsSettings {
    /// Roots trusted on top of the system's.
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    /// Accept any certificate (`DRONE_*_SKIP_VERIFY=true`).
    pub(crate) accept_invalid_certs: bool,
    /// The name the certificate is verified against (and sent as SNI) instead of the URL's host.
    pub(crate) server_name: Option<ServerName<'static>>,
}

/// The connector: plain TCP for `http://`, rustls for `https://`.
pub(crate) type Connector = HttpsConnector<HttpConnector>;

use crate::tls_provider::provider;

/// The system's roots, loaded once per process. Unreadable or unparsable ones are logged and
/// skipped, as Go's `crypto/x509` does.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "cannot load some of the system's root certificates");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        if ignored > 0 {
            tracing::debug!(added, ignored, "system root certificates loaded");
        }
        if roots.is_empty() {
            tracing::warn!("no system root certificate found: https endpoints will not be trusted");
        }
        roots
    })
}

/// The certificates of a PEM bundle, each checked to be usable as a trust anchor.
pub(crate) fn parse_roots(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let invalid = |why: String| ClientError::InvalidRootCertificate(why);
    let mut certificates = Vec::new();
    for certificate in CertificateDer::pem_slice_iter(pem) {
        certificates.push(certificate.map_err(|e| invalid(format!("bad PEM: {e}")))?);
    }
    if certificates.is_empty() {
        return Err(invalid("no `BEGIN CERTIFICATE` section in the PEM".into()));
    }
    let mut check = RootCertStore::empty();
    for certificate in &certificates {
        check
            .add(certificate.clone())
            .map_err(|e| invalid(format!("not a usable CA certificate: {e}")))?;
    }
    Ok(certificates)
}

/// The connector for `settings`.
pub(crate) fn connector(settings: &TlsSettings) -> Result<Connector, ClientError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    let config = if settings.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth()
    } else {
        let mut roots = system_roots().clone();
        for root in &settings.extra_roots {
            roots
                .add(root.clone())
                .map_err(|e| ClientError::InvalidRootCertificate(e.to_string()))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http();
    let builder = match &settings.server_name {
        Some(name) => builder
            .with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name.clone())),
        None => builder,
    };
    Ok(builder.enable_http1().build())
}

/// Accepts any certificate chain for any name, but still checks that the server holds the key
/// of the certificate it presented (the handshake signatures), so the session keys are not
/// trivially forgeable by a passive observer. It does nothing against an active attacker: that
/// is why it is dangerous.
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The TLS error in a transport error's chain of causes, as a [`ClientError`].
pub(crate) fn classify(error: &(dyn std::error::Error + 'static)) -> Option<ClientError> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(from_rustls(tls));
        }
        // `io::Error::source` skips the error it wraps (itself often an `io::Error`): step into
        // it explicitly.
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

fn from_rustls(error: &rustls::Error) -> ClientError {
    let rustls::Error::InvalidCertificate(certificate) = error else {
        return ClientError::Tls(error.to_string());
    };
    match certificate {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            ClientError::CertificateNameMismatch(error.to_string())
        }
        CertificateError::UnknownIssuer => ClientError::CertificateNotTrusted(
            "no trusted root certificate issued it (self-signed or from a private CA? \
             trust that CA explicitly)"
                .into(),
        ),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            ClientError::CertificateNotTrusted(format!("it has expired ({error})"))
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            ClientError::CertificateNotTrusted(format!("it is not valid yet ({error})"))
        }
        CertificateError::Revoked => ClientError::CertificateNotTrusted("it is revoked".into()),
        _ => ClientError::CertificateNotTrusted(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_an_error_not_a_panic() {
        for pem in [
            &b""[..],
            b"not pem at all",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            match parse_roots(pem) {
                Err(ClientError::InvalidRootCertificate(why)) => assert!(!why.is_empty()),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(pem)),
            }
        }
    }

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        let rustls_error = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls_error);
        let io = std::io::Error::other(io); // as hyper-rustls wraps it
        let boxed: crate::BoxError = Box::new(io);
        assert!(matches!(
            classify(&*boxed),
            Some(ClientError::CertificateNotTrusted(_))
        ));
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(matches!(
            classify(&name),
            Some(ClientError::CertificateNameMismatch(_))
        ));
        let other = rustls::Error::General("boom".into());
        assert!(matches!(classify(&other), Some(ClientError::Tls(_))));
        let plain = std::io::Error::other("connection refused");
        assert!(classify(&plain).is_none());
    }
}
