//! aesgcm response encryption, exactly as drone-go implements it (feature `aesgcm`).
//!
//! A caller that sends `Accept-Encoding: aesgcm` (exactly that value) to a secret, registry or
//! environ extension gets its answer encrypted: AES-256-GCM keyed with the **first 32 bytes of
//! the shared secret**, a random 12-byte nonce, no associated data, and the body
//! `nonce ‖ ciphertext ‖ tag` in raw binary, with `Content-Encoding: aesgcm`. A secret shorter
//! than 32 bytes cannot key it (`aesgcm: invalid key length`).
//!
//! No official Drone caller asks for it today, but drone-go's handlers and clients implement it,
//! and so does this crate: [`ExtensionService::aesgcm_key`](crate::service::ExtensionService::aesgcm_key)
//! on the serving side, the client on the calling side.
//!
//! ```
//! use drone_extension::aesgcm;
//! use drone_extension::signature::SharedSecret;
//!
//! let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
//! let sealed = aesgcm::encrypt(&secret, br#"{"name":"username","data":"octocat"}"#)?;
//! assert_eq!(sealed.len(), 12 + 36 + 16);
//! assert_eq!(aesgcm::decrypt(&secret, &sealed)?, br#"{"name":"username","data":"octocat"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::signature::{AESGCM_KEY_LEN, SharedSecret};

/// The nonce length.
pub const NONCE_LEN: usize = 12;

/// Why aesgcm encryption or decryption failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AesGcmError {
    /// The secret is shorter than 32 bytes. drone-go: `aesgcm: invalid key length`.
    InvalidKeyLength,
    /// The body is shorter than a nonce. drone-go: `malformed ciphertext`.
    MalformedCiphertext,
    /// The tag does not verify: wrong key or tampered body.
    Decrypt,
    /// Encryption failed (the operating system's random source, or an over-long plaintext).
    Encrypt,
}

impl fmt::Display for AesGcmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AesGcmError::InvalidKeyLength => "aesgcm: invalid key length",
            AesGcmError::MalformedCiphertext => "malformed ciphertext",
            AesGcmError::Decrypt => "aesgcm: message authentication failed",
            AesGcmError::Encrypt => "aesgcm: encryption failed",
        })
    }
}

impl std::error::Error for AesGcmError {}

fn cipher(secret: &SharedSecret) -> Result<Aes256Gcm, AesGcmError> {
    let key = secret
        .expose_secret()
        .get(..AESGCM_KEY_LEN)
        .ok_or(AesGcmError::InvalidKeyLength)?;
    let key = Key::<Aes256Gcm>::try_from(key).map_err(|_| AesGcmError::InvalidKeyLength)?;
    Ok(Aes256Gcm::new(&key))
}

/// Encrypts with a fresh random nonce: `nonce ‖ ciphertext ‖ tag`.
///
/// # Errors
///
/// [`AesGcmError::InvalidKeyLength`] for a secret under 32 bytes; [`AesGcmError::Encrypt`] when
/// the random source fails.
pub fn encrypt(secret: &SharedSecret, plaintext: &[u8]) -> Result<Vec<u8>, AesGcmError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| AesGcmError::Encrypt)?;
    encrypt_with_nonce(secret, &nonce, plaintext)
}

/// Encrypts with the given nonce. **A nonce must never be used twice with one key**: use
/// [`encrypt`]; this exists for test vectors.
///
/// # Errors
///
/// As [`encrypt`].
pub fn encrypt_with_nonce(
    secret: &SharedSecret,
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, AesGcmError> {
    let sealed = cipher(secret)?
        .encrypt(&Nonce::from(*nonce), plaintext)
        .map_err(|_| AesGcmError::Encrypt)?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts a `nonce ‖ ciphertext ‖ tag` body.
///
/// # Errors
///
/// [`AesGcmError::InvalidKeyLength`], [`AesGcmError::MalformedCiphertext`] for a body under 12
/// bytes, [`AesGcmError::Decrypt`] when the tag does not verify.
pub fn decrypt(secret: &SharedSecret, body: &[u8]) -> Result<Vec<u8>, AesGcmError> {
    let cipher = cipher(secret)?;
    let (nonce, sealed) = body
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(AesGcmError::MalformedCiphertext)?;
    cipher
        .decrypt(&Nonce::from(*nonce), sealed)
        .map_err(|_| AesGcmError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_cannot_key_it() {
        let short = SharedSecret::new("correct-horse-battery-staple").unwrap();
        assert_eq!(encrypt(&short, b"x"), Err(AesGcmError::InvalidKeyLength));
        assert_eq!(
            decrypt(&short, &[0; 40]),
            Err(AesGcmError::InvalidKeyLength)
        );
        assert_eq!(
            AesGcmError::InvalidKeyLength.to_string(),
            "aesgcm: invalid key length"
        );
    }

    #[test]
    fn malformed_and_tampered_bodies_fail() {
        let key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6").unwrap();
        assert_eq!(
            decrypt(&key, &[0; 11]),
            Err(AesGcmError::MalformedCiphertext)
        );
        let mut sealed = encrypt(&key, b"hello").unwrap();
        let other = encrypt(&key, b"hello").unwrap();
        assert_ne!(sealed[..NONCE_LEN], other[..NONCE_LEN], "nonces are random");
        sealed[NONCE_LEN] ^= 1;
        assert_eq!(decrypt(&key, &sealed), Err(AesGcmError::Decrypt));
    }
}
