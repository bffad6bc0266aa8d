//! Woodpecker's public keys: one per Woodpecker server, from its PEM or raw form.

use std::fmt;
use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;

/// The route of a Woodpecker server that serves its public key (PEM), unauthenticated since
/// Woodpecker 3.13.
pub const PUBLIC_KEY_PATH: &str = "/api/signature/public-key";

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not a `PUBLIC KEY` PEM holding an Ed25519 SubjectPublicKeyInfo.
    Pem,
    /// The raw key is not 32 bytes (64 hex digits).
    Length,
    /// The 32 bytes are not a valid Ed25519 public key.
    Invalid,
    /// A [`PublicKeys`] set needs at least one key.
    Empty,
    /// Fetching the key from a Woodpecker server failed (the text says why: unreachable, status,
    /// body not a PEM key).
    Fetch(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Pem => f.write_str("not an Ed25519 public key in PEM (BEGIN PUBLIC KEY)"),
            KeyError::Length => f.write_str("a raw Ed25519 public key is 32 bytes (64 hex digits)"),
            KeyError::Invalid => f.write_str("not a valid Ed25519 public key"),
            KeyError::Empty => f.write_str("no Woodpecker public key configured"),
            KeyError::Fetch(why) => write!(f, "could not fetch the Woodpecker public key: {why}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// A Woodpecker server's Ed25519 public key.
///
/// ```
/// use drone_extension::woodpecker::PublicKey;
///
/// // As served by GET /api/signature/public-key.
/// let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n";
/// let key = PublicKey::from_pem(pem)?;
/// let raw = PublicKey::from_hex("26b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb")?;
/// assert_eq!(key, raw);
/// # Ok::<(), drone_extension::woodpecker::KeyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub(crate) VerifyingKey);

impl PublicKey {
    /// From the PEM Woodpecker serves (`-----BEGIN PUBLIC KEY-----`, X.509 SubjectPublicKeyInfo).
    ///
    /// # Errors
    ///
    /// [`KeyError::Pem`] when it is not one.
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        VerifyingKey::from_public_key_pem(pem.trim())
            .map(PublicKey)
            .map_err(|_| KeyError::Pem)
    }

    /// From the 32 raw bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::Invalid`] when they are not a point of the curve.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        VerifyingKey::from_bytes(bytes)
            .map(PublicKey)
            .map_err(|_| KeyError::Invalid)
    }

    /// From 64 hex digits.
    ///
    /// # Errors
    ///
    /// [`KeyError::Length`] or [`KeyError::Invalid`].
    pub fn from_hex(hex: &str) -> Result<PublicKey, KeyError> {
        PublicKey::from_bytes(&PublicKey::decode_hex(hex)?)
    }

    /// 64 hex digits as 32 bytes.
    pub(crate) fn decode_hex(hex: &str) -> Result<[u8; 32], KeyError> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 64 {
            return Err(KeyError::Length);
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            let digit = |b: u8| char::from(b).to_digit(16).ok_or(KeyError::Length);
            *byte = u8::try_from(digit(pair[0])? << 4 | digit(pair[1])?)
                .map_err(|_| KeyError::Length)?;
        }
        Ok(bytes)
    }

    /// PEM, raw hex: whichever `text` is.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](PublicKey::from_pem) or [`from_hex`](PublicKey::from_hex).
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        if text.trim_start().starts_with("-----BEGIN") {
            PublicKey::from_pem(text)
        } else {
            PublicKey::from_hex(text)
        }
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A public key is not a secret; its first bytes identify it in logs.
        let bytes = self.0.as_bytes();
        write!(
            f,
            "PublicKey({:02x}{:02x}{:02x}{:02x}…)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )
    }
}

/// The keys a verifier accepts: one per Woodpecker server that may call the extension. Woodpecker
/// sends no key id, so each is tried in turn.
///
/// ```
/// use drone_extension::woodpecker::{PublicKey, PublicKeys};
///
/// let a = PublicKey::from_hex("26b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb")?;
/// let b = PublicKey::from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
/// let keys = PublicKeys::new([a, b])?;
/// assert_eq!(keys.len(), 2);
/// assert!(PublicKeys::new([]).is_err());
/// # Ok::<(), drone_extension::woodpecker::KeyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeys(Arc<[PublicKey]>);

impl PublicKeys {
    /// A set of keys.
    ///
    /// # Errors
    ///
    /// [`KeyError::Empty`] when there is none.
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Result<PublicKeys, KeyError> {
        let keys: Arc<[PublicKey]> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(PublicKeys(keys))
    }

    /// The keys, in the order they are tried.
    pub fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.0.iter()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a set has at least one key.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<PublicKey> for PublicKeys {
    fn from(key: PublicKey) -> PublicKeys {
        PublicKeys(Arc::new([key]))
    }
}
