//! A secret extension behind the crate's verifying layer, and an HTTPS server for it (a private
//! CA and a server certificate generated with `rcgen`, served by tokio-rustls with the `ring`
//! provider), on 127.0.0.1 only.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use drone_extension::models::Secret;
use drone_extension::secret::{SecretFinder, SecretRequest};
use drone_extension::signature::SharedSecret;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::{BoxError, ExtensionKind};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::SECRET;

/// The secret this extension hands out to `octocat/*`.
pub const PASSWORD: &str = "correct-horse-battery-staple";

struct Vault;

#[drone_extension::async_trait]
impl SecretFinder for Vault {
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
        // Only the sample's path: the probe's audit asks for other paths (the extension's own
        // token) that must get nothing.
        let served =
            request.path == "secret/data/docker" && request.repo.slug.starts_with("octocat/");
        Ok(served.then(|| Secret {
            name: request.name,
            data: PASSWORD.into(),
            ..Default::default()
        }))
    }
}

/// A secret extension on `/secret` behind the crate's layer, signed with [`SECRET`].
pub fn secret_app() -> axum::Router {
    axum::Router::new()
        .route_service("/secret", SecretFinder::into_service(Vault))
        .route_layer(VerifySignatureLayer::for_kind(
            ExtensionKind::Secret,
            SharedSecret::new(SECRET).unwrap(),
        ))
}

/// A CA and a server certificate it issued.
pub struct Pki {
    /// The CA's certificate, PEM (what a client is told to trust).
    pub ca_pem: String,
    /// The server's certificate, DER.
    pub server_cert: CertificateDer<'static>,
    /// The server's private key, PKCS #8 DER.
    pub server_key: Vec<u8>,
}

/// A fresh CA, and a certificate from it for `names` (DNS names or IP addresses).
pub fn private_pki(names: &[&str]) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "drone-extension test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let server = CertificateParams::new(names).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    Pki {
        ca_pem: pem(ca_cert.der()),
        server_cert: server_cert.der().clone(),
        server_key: server_key.serialize_der(),
    }
}

/// A certificate as PEM (rcgen's `pem` feature is not enabled).
pub fn pem(der: &[u8]) -> String {
    let base64 = BASE64.encode(der);
    let mut text = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in base64.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap());
        text.push('\n');
    }
    text.push_str("-----END CERTIFICATE-----\n");
    text
}

/// Serves `app` over TLS with the server certificate of `pki` on 127.0.0.1 (a free port),
/// until the task is aborted.
pub async fn serve(app: axum::Router, pki: &Pki) -> (SocketAddr, JoinHandle<()>) {
    // The crate's provider (see src/tls_provider.rs: ring, deprecated for lacking post-quantum
    // key exchange).
    #[allow(deprecated)]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone()));
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.server_cert.clone()], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to serve.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    (addr, task)
}
