//! The signer: Woodpecker's side, byte for byte.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer as _, SigningKey};
use http::HeaderMap;
use http::header::{CONTENT_TYPE, HeaderValue};
use sha2::{Digest, Sha256, Sha512};

use super::fields::{LABEL, request_target};
use super::verify::{CONTENT_DIGEST, SIGNATURE, SIGNATURE_INPUT};
use super::{Error, KeyError, PublicKey};

/// The hash a [`Signer`] puts in `Content-Digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `sha-256`: what Woodpecker sends.
    #[default]
    Sha256,
    /// `sha-512`: accepted by the verifier, never sent by Woodpecker.
    Sha512,
}

/// The three signature headers of one request, as Woodpecker writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Content-Digest`, e.g. `sha-256=:…:`.
    pub content_digest: String,
    /// `Signature-Input`: `woodpecker-ci-extensions=("@request-target" "content-digest");created=…;alg="ed25519"`.
    pub signature_input: String,
    /// `Signature`: `woodpecker-ci-extensions=:…:`.
    pub signature: String,
}

/// Signs requests exactly as a Woodpecker server does (RFC 9421, label
/// `woodpecker-ci-extensions`, components `@request-target` and `content-digest`, `created` then
/// `alg="ed25519"`): for tests, the probe and a client that calls extensions like Woodpecker.
///
/// `Debug` never shows the key.
///
/// ```
/// use drone_extension::woodpecker::Signer;
///
/// // Woodpecker stores hex(seed ‖ public key) in its server_config table.
/// let signer = Signer::from_woodpecker_hex("9f8362f87a484a954e6e740c5b4c0e84229139a20aa8ab56ff66586f6a7d29c526b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb")?;
/// let signed = signer.sign("/woodpecker/config", b"{}\n", 1_786_000_000)?;
/// assert_eq!(
///     signed.signature_input,
///     r#"woodpecker-ci-extensions=("@request-target" "content-digest");created=1786000000;alg="ed25519""#
/// );
/// assert!(format!("{signer:?}").contains("redacted"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    digest: DigestAlgorithm,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key", &"<redacted>")
            .field("public_key", &self.public_key())
            .finish()
    }
}

impl Signer {
    /// From the 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Signer {
        Signer {
            key: SigningKey::from_bytes(seed),
            digest: DigestAlgorithm::Sha256,
        }
    }

    /// From the form Woodpecker stores (`signature-private-key` in `server_config`): 128 hex
    /// digits, the seed then the public key.
    ///
    /// # Errors
    ///
    /// [`KeyError::Length`] when it is not 128 hex digits, [`KeyError::Invalid`] when the public
    /// half does not belong to the seed.
    pub fn from_woodpecker_hex(hex: &str) -> Result<Signer, KeyError> {
        let hex = hex.trim();
        if hex.len() != 128 || !hex.is_ascii() {
            return Err(KeyError::Length);
        }
        let (seed_hex, public_hex) = hex.split_at(64);
        let public = PublicKey::from_hex(public_hex)?;
        let seed = PublicKey::decode_hex(seed_hex)?;
        let signer = Signer::from_seed(&seed);
        if signer.public_key() != public {
            return Err(KeyError::Invalid);
        }
        Ok(signer)
    }

    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    ///
    /// [`KeyError::Pem`] when it is not an Ed25519 private key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Signer, KeyError> {
        let key = SigningKey::from_pkcs8_pem(pem.trim()).map_err(|_| KeyError::Pem)?;
        Ok(Signer {
            key,
            digest: DigestAlgorithm::Sha256,
        })
    }

    /// Puts this hash in `Content-Digest` (default [`DigestAlgorithm::Sha256`], as Woodpecker).
    pub fn digest(mut self, digest: DigestAlgorithm) -> Signer {
        self.digest = digest;
        self
    }

    /// The public key, as extensions configure it.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    /// The Ed25519 signature of arbitrary bytes: for building forgeries (another component list,
    /// another base) in tests and audits. Woodpecker's own requests are [`sign`](Signer::sign)'s.
    pub fn sign_message(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Signs a request to `path_and_query` (as it will appear on the request line) with this body,
    /// at `created` (Unix seconds).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when the path has an invalid percent escape (Woodpecker could not send
    /// it either).
    pub fn sign(
        &self,
        path_and_query: &str,
        body: &[u8],
        created: u64,
    ) -> Result<SignedHeaders, Error> {
        let target = request_target(path_and_query)
            .ok_or(Error::Malformed("invalid percent escape in the path"))?;
        let content_digest = match self.digest {
            DigestAlgorithm::Sha256 => {
                format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
            }
            DigestAlgorithm::Sha512 => {
                format!("sha-512=:{}:", STANDARD.encode(Sha512::digest(body)))
            }
        };
        let params =
            format!(r#"("@request-target" "content-digest");created={created};alg="ed25519""#);
        let mut base = Vec::with_capacity(160 + target.len());
        base.extend_from_slice(b"\"@request-target\": ");
        base.extend_from_slice(&target);
        base.extend_from_slice(b"\n\"content-digest\": ");
        base.extend_from_slice(content_digest.as_bytes());
        base.extend_from_slice(b"\n\"@signature-params\": ");
        base.extend_from_slice(params.as_bytes());
        let signature = self.key.sign(&base);
        Ok(SignedHeaders {
            signature_input: format!("{LABEL}={params}"),
            signature: format!("{LABEL}=:{}:", STANDARD.encode(signature.to_bytes())),
            content_digest,
        })
    }

    /// [`sign`](Signer::sign) as a header map: `Content-Digest`, `Content-Type: application/json`,
    /// `Signature` and `Signature-Input` (Woodpecker's order).
    ///
    /// # Errors
    ///
    /// As [`sign`](Signer::sign).
    pub fn headers(
        &self,
        path_and_query: &str,
        body: &[u8],
        created: u64,
    ) -> Result<HeaderMap, Error> {
        let signed = self.sign(path_and_query, body, created)?;
        let value =
            |s: String| HeaderValue::try_from(s).map_err(|_| Error::Malformed("header value"));
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(CONTENT_DIGEST.clone(), value(signed.content_digest)?);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(SIGNATURE.clone(), value(signed.signature)?);
        headers.insert(SIGNATURE_INPUT.clone(), value(signed.signature_input)?);
        Ok(headers)
    }
}
