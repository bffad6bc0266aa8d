//! Shared secrets and the keyring that holds them.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use hmac::{Hmac, KeyInit};
use sha2::Sha256;

/// Length a secret needs for aesgcm response encryption (its first 32 bytes are the AES-256 key).
pub const AESGCM_KEY_LEN: usize = 32;

/// The shared secret Drone and an extension sign with.
///
/// The HMAC key is the raw bytes of the secret (no hex or base64 decoding), exactly as Drone uses
/// it. The keyed MAC is prepared once, at construction, and cloned for each request.
/// `Debug` and `Display` never show the secret.
///
/// ```
/// use drone_extension::signature::SharedSecret;
///
/// let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
/// assert_eq!(format!("{secret:?}"), "SharedSecret(<redacted>)");
/// assert!(secret.supports_aesgcm());
/// assert!(SharedSecret::new("").is_err());
/// # Ok::<(), drone_extension::signature::KeyError>(())
/// ```
#[derive(Clone)]
pub struct SharedSecret {
    inner: Arc<SecretInner>,
}

struct SecretInner {
    bytes: Box<[u8]>,
    mac: Hmac<Sha256>,
}

impl SharedSecret {
    /// Makes a secret from its raw bytes.
    ///
    /// A secret shorter than 32 bytes is accepted, since existing Drone deployments use such
    /// secrets, but a warning is logged: aesgcm response encryption then is unavailable. Generate
    /// secrets with `openssl rand -hex 16` (32 characters).
    ///
    /// # Errors
    ///
    /// [`KeyError::Empty`] for an empty secret: an empty HMAC key lets anyone sign.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<SharedSecret, KeyError> {
        let bytes = secret.as_ref();
        if bytes.is_empty() {
            return Err(KeyError::Empty);
        }
        if bytes.len() < AESGCM_KEY_LEN {
            tracing::warn!(
                len = bytes.len(),
                "shared secret is shorter than 32 bytes: aesgcm response encryption is unavailable; \
                 generate one with `openssl rand -hex 16`"
            );
        }
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(bytes).map_err(|_| KeyError::Empty)?;
        Ok(SharedSecret {
            inner: Arc::new(SecretInner {
                bytes: bytes.into(),
                mac,
            }),
        })
    }

    /// The secret's raw bytes. Handle with care: never log them.
    pub fn expose_secret(&self) -> &[u8] {
        &self.inner.bytes
    }

    /// The secret's length in bytes.
    pub fn len(&self) -> usize {
        self.inner.bytes.len()
    }

    /// Always `false`: an empty secret cannot be constructed.
    pub fn is_empty(&self) -> bool {
        self.inner.bytes.is_empty()
    }

    /// Whether the secret is long enough (32 bytes) to key aesgcm response encryption.
    pub fn supports_aesgcm(&self) -> bool {
        self.len() >= AESGCM_KEY_LEN
    }

    /// A fresh copy of the pre-keyed HMAC-SHA256.
    pub(crate) fn mac(&self) -> Hmac<Sha256> {
        self.inner.mac.clone()
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

impl fmt::Display for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for SharedSecret {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SharedSecret::new(s)
    }
}

/// Why a secret or keyring cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret is empty.
    Empty,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Empty => f.write_str("the shared secret is empty"),
        }
    }
}

impl std::error::Error for KeyError {}

/// The secrets a verifier accepts: one, or several during a rotation.
///
/// A key may be bound to a `keyId`; it then verifies only requests naming that `keyId`. Unbound
/// keys verify requests with any `keyId` (Drone always sends `hmac-key`, and drone-go ignores it).
/// A request is accepted when any eligible key verifies its MAC.
///
/// ```
/// use drone_extension::signature::{Keyring, SharedSecret};
///
/// let keys = Keyring::new(SharedSecret::new("new-secret-0123456789abcdef012345")?)
///     .with_key(SharedSecret::new("old-secret-0123456789abcdef012345")?);
/// assert_eq!(keys.len(), 2);
/// # Ok::<(), drone_extension::signature::KeyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<(Option<Arc<str>>, SharedSecret)>,
}

impl Keyring {
    /// A keyring with one unbound key.
    pub fn new(secret: SharedSecret) -> Keyring {
        Keyring {
            keys: vec![(None, secret)],
        }
    }

    /// A keyring with one key bound to `key_id`: requests with any other `keyId` are refused.
    pub fn bound(key_id: impl Into<Arc<str>>, secret: SharedSecret) -> Keyring {
        Keyring {
            keys: vec![(Some(key_id.into()), secret)],
        }
    }

    /// Adds an unbound key (for example the previous secret during a rotation).
    pub fn with_key(mut self, secret: SharedSecret) -> Keyring {
        self.keys.push((None, secret));
        self
    }

    /// Adds a key that verifies only requests whose `keyId` is `key_id`.
    pub fn with_bound_key(mut self, key_id: impl Into<Arc<str>>, secret: SharedSecret) -> Keyring {
        self.keys.push((Some(key_id.into()), secret));
        self
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a keyring has at least one key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The first key: the one used to encrypt aesgcm responses.
    pub fn primary(&self) -> &SharedSecret {
        &self.keys[0].1
    }

    /// The keys that may verify a request with this `keyId`.
    pub(crate) fn eligible<'a>(
        &'a self,
        key_id: &'a str,
    ) -> impl Iterator<Item = &'a SharedSecret> + 'a {
        self.keys
            .iter()
            .filter(move |(bound, _)| bound.as_deref().is_none_or(|b| b == key_id))
            .map(|(_, k)| k)
    }
}

impl From<SharedSecret> for Keyring {
    fn from(secret: SharedSecret) -> Keyring {
        Keyring::new(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b60_empty_secret_is_refused_short_secret_is_accepted() {
        assert_eq!(SharedSecret::new("").unwrap_err(), KeyError::Empty);
        assert_eq!("".parse::<SharedSecret>().unwrap_err(), KeyError::Empty);
        let short = SharedSecret::new("correct-horse-battery-staple").unwrap();
        assert_eq!(short.len(), 28);
        assert!(!short.supports_aesgcm());
        assert!(SharedSecret::new([7u8; 32]).unwrap().supports_aesgcm());
    }

    #[test]
    fn debug_and_display_redact() {
        let s = SharedSecret::new("super-secret-value").unwrap();
        let keys = Keyring::bound("kid", s.clone());
        for text in [format!("{s:?}"), format!("{s}"), format!("{keys:?}")] {
            assert!(!text.contains("super-secret-value"), "{text}");
        }
    }

    #[test]
    fn bound_keys_only_serve_their_key_id() {
        let a = SharedSecret::new("aaaa").unwrap();
        let b = SharedSecret::new("bbbb").unwrap();
        let keys = Keyring::bound("one", a).with_key(b);
        assert_eq!(keys.eligible("one").count(), 2);
        let others: Vec<_> = keys.eligible("two").collect();
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].expose_secret(), b"bbbb");
        let strict = Keyring::bound("one", SharedSecret::new("cccc").unwrap());
        assert_eq!(strict.eligible("hmac-key").count(), 0);
    }
}
