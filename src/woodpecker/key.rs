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
    /// The key is a point of small order (the all-zero key, the identity, or one of the other
    /// six): signatures made without any private key verify with it (non-strict verifiers), so
    /// it is never a Woodpecker server's key.
    Weak,
    /// A [`PublicKeys`] set needs at least one key.
    Empty,
    /// Fetching the key from a Woodpecker server failed (the text says why: unreachable, status,
    /// body not a PEM key).
    Fetch(String),
    /// [`PublicKey::parse`]: the text is neither a PEM (`-----BEGIN PUBLIC KEY-----`) nor 64 hex
    /// digits.
    Unrecognized,
    /// [`PublicKey::parse`]: a PEM whose line breaks are the two characters `\n`, as an env
    /// file or a YAML value leaves them.
    EscapedNewlines,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Pem => f.write_str("not an Ed25519 public key in PEM (BEGIN PUBLIC KEY)"),
            KeyError::Length => f.write_str("a raw Ed25519 public key is 32 bytes (64 hex digits)"),
            KeyError::Invalid => f.write_str("not a valid Ed25519 public key"),
            KeyError::Weak => f.write_str(
                "a weak Ed25519 public key (a point of small order, such as all zeros or the \
                 identity): refused, since signatures without a private key could match it",
            ),
            KeyError::Empty => f.write_str("no Woodpecker public key configured"),
            KeyError::Fetch(why) => write!(f, "could not fetch the Woodpecker public key: {why}"),
            KeyError::Unrecognized => f.write_str(
                "neither an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----) nor 64 hex \
                 digits (the raw 32 bytes)",
            ),
            KeyError::EscapedNewlines => f.write_str(
                "a PEM with literal \\n instead of line breaks (from an env file?): give the \
                 PEM with real line breaks (in a file, e.g. with a *_FILE variable) or the 64 hex \
                 digits of the raw key",
            ),
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
    /// [`KeyError::Pem`] when it is not one, [`KeyError::Weak`] for a key of small order.
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        VerifyingKey::from_public_key_pem(pem.trim())
            .map_err(|_| KeyError::Pem)
            .and_then(PublicKey::strong)
    }

    /// From the 32 raw bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::Invalid`] when they are not a point of the curve, [`KeyError::Weak`] for a
    /// point of small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        VerifyingKey::from_bytes(bytes)
            .map_err(|_| KeyError::Invalid)
            .and_then(PublicKey::strong)
    }

    /// Refuses a key of small order. Signatures are verified strictly as well
    /// (`verify_strict`, which also refuses such keys and non-canonical encodings); refusing
    /// the key when it is configured makes the mistake visible at start rather than as every
    /// request refused.
    fn strong(key: VerifyingKey) -> Result<PublicKey, KeyError> {
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        Ok(PublicKey(key))
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

    /// PEM, raw hex: whichever `text` is (a PEM starts with `-----BEGIN`).
    ///
    /// ```
    /// use drone_extension::woodpecker::{KeyError, PublicKey};
    ///
    /// let escaped = r"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----";
    /// assert_eq!(PublicKey::parse(escaped), Err(KeyError::EscapedNewlines));
    /// assert_eq!(PublicKey::parse("26b40b8f"), Err(KeyError::Unrecognized));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_pem`](PublicKey::from_pem) for a PEM ([`KeyError::EscapedNewlines`] for one
    /// with literal `\n`), [`KeyError::Invalid`] or [`KeyError::Weak`] for 64 hex digits,
    /// [`KeyError::Unrecognized`] for anything else.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let trimmed = text.trim();
        if trimmed.starts_with("-----BEGIN") {
            if trimmed.contains("\\n") && !trimmed.contains('\n') {
                return Err(KeyError::EscapedNewlines);
            }
            PublicKey::from_pem(text)
        } else {
            PublicKey::from_hex(text).map_err(|e| match e {
                KeyError::Length => KeyError::Unrecognized,
                other => other,
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The eight points of small order, canonically encoded (the identity, the point of order 2,
    /// two of order 4, four of order 8), and non-canonical encodings of some of them.
    const SMALL_ORDER: [&str; 12] = [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        // y = p + 1 (the identity), y = p (order 4), y = p - 1 with the sign bit, and the
        // identity with the sign bit.
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0100000000000000000000000000000000000000000000000000000000000080",
    ];

    /// A raw key as the PEM Woodpecker would serve (SubjectPublicKeyInfo, OID 1.3.101.112).
    fn pem(raw: &[u8; 32]) -> String {
        use base64::Engine;
        let mut der = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend_from_slice(raw);
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
    }

    #[test]
    fn small_order_keys_are_refused_in_every_form() {
        for (i, hex) in SMALL_ORDER.iter().enumerate() {
            let raw = PublicKey::decode_hex(hex).unwrap();
            let refused = PublicKey::from_hex(hex).unwrap_err();
            // The eight canonical ones decode, and are refused as weak; a non-canonical
            // encoding may already fail to decode.
            if i < 8 {
                assert_eq!(refused, KeyError::Weak, "{hex}");
            } else {
                assert!(
                    matches!(refused, KeyError::Weak | KeyError::Invalid),
                    "{hex}"
                );
            }
            assert!(PublicKey::parse(hex).is_err(), "{hex}");
            assert!(PublicKey::from_bytes(&raw).is_err(), "{hex}");
            let from_pem = PublicKey::from_pem(&pem(&raw)).unwrap_err();
            assert!(matches!(from_pem, KeyError::Weak | KeyError::Pem), "{hex}");
            if i < 8 {
                assert_eq!(PublicKey::parse(&pem(&raw)), Err(KeyError::Weak), "{hex}");
            }
        }
        assert!(KeyError::Weak.to_string().contains("weak"));
    }

    #[test]
    fn parse_says_which_forms_it_takes() {
        let hex = "26b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb";
        let raw = PublicKey::decode_hex(hex).unwrap();
        let escaped = pem(&raw).trim().replace('\n', "\\n");
        assert_eq!(PublicKey::parse(&escaped), Err(KeyError::EscapedNewlines));
        assert!(
            KeyError::EscapedNewlines
                .to_string()
                .contains(r"literal \n")
        );
        for bad in ["", "woodpecker-server:9000", &hex[1..], "zz"] {
            assert_eq!(PublicKey::parse(bad), Err(KeyError::Unrecognized), "{bad}");
        }
        let unrecognized = KeyError::Unrecognized.to_string();
        assert!(unrecognized.contains("PEM") && unrecognized.contains("64 hex digits"));
        assert_eq!(
            PublicKey::parse(&format!(" {hex}\n")),
            PublicKey::from_hex(hex)
        );
    }

    #[test]
    fn real_keys_are_accepted_in_both_forms() {
        let hex = "26b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb";
        let key = PublicKey::from_hex(hex).unwrap();
        let raw = PublicKey::decode_hex(hex).unwrap();
        assert_eq!(PublicKey::from_pem(&pem(&raw)).unwrap(), key);
    }
}
