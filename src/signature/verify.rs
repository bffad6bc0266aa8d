//! The verifier: every check of a request's signature, in order, cheap to expensive.

use std::borrow::Cow;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;
use http::header::{AUTHORIZATION, HeaderName};
use http::{HeaderMap, Method, Uri, request::Parts};

use super::digest::{SHA256_LEN, check_body, parse_digest};
use super::params::{MAX_HEADER_LEN, RawParams};
use super::sign::{DRONE_KEY_ID, EXTENSION_HEADER_LIST, WEBHOOK_HEADER_LIST};
use super::signing_string::Resolved;
use super::{Error, HMAC_SHA256, HeaderList, Keyring, Policy};

/// The `Signature` header.
pub static SIGNATURE: HeaderName = HeaderName::from_static("signature");

/// Length of an HMAC-SHA256 output.
pub const MAC_LEN: usize = 32;

/// Length of the padded base64 of an HMAC-SHA256 output.
const MAC_B64_LEN: usize = MAC_LEN.div_ceil(3) * 4;

/// Checks Drone's HTTP signatures: a [`Keyring`] and a [`Policy`].
///
/// Verification is split in two so that no body byte is needed until the headers are known to be
/// signed by a configured key: [`verify_headers`](Verifier::verify_headers) runs every check that
/// needs only the request head and returns [`VerifiedHeaders`]; its
/// [`verify_body`](VerifiedHeaders::verify_body) then checks the body against the signed `Digest`.
/// [`verify`](Verifier::verify) does both at once.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use drone_extension::kind::SECRET_V1;
/// use drone_extension::signature::{Policy, SharedSecret, Signer, Verifier};
///
/// let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
///
/// // Drone's side: sign a request.
/// let body = br#"{"path":"secret/data/docker","name":"username"}"#;
/// let headers = Signer::new(secret.clone()).extension_headers(SECRET_V1, body, now)?;
/// let mut request = http::Request::post("/secret").body(()).unwrap();
/// *request.headers_mut() = headers;
/// let (parts, ()) = request.into_parts();
///
/// // The extension's side: verify the head, then the body.
/// let verifier = Verifier::new(secret, Policy::drone_extension(SECRET_V1).clock(move || now));
/// let pending = verifier.verify_parts(&parts)?;
/// let verified = pending.verify_body(body)?;
/// assert_eq!(verified.key_id(), "hmac-key");
///
/// // A body changed after signing is refused.
/// let pending = verifier.verify_parts(&parts)?;
/// assert!(pending.verify_body(b"{}").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    keys: Keyring,
    policy: Policy,
    /// Drone's header lists that meet the policy, parsed once: a request that signs one of them
    /// (every request Drone sends) skips parsing its list and checking its coverage, and its
    /// [`Verified`] borrows the static text of the list.
    known_lists: Vec<(&'static str, HeaderList<'static>)>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Verifier {
    /// A verifier with these keys and this policy.
    pub fn new(keys: impl Into<Keyring>, policy: Policy) -> Verifier {
        let known_lists = [EXTENSION_HEADER_LIST, WEBHOOK_HEADER_LIST]
            .into_iter()
            .filter_map(|text| Some((text, HeaderList::parse(text).ok()?)))
            .filter(|(_, list)| policy.check_coverage(list).is_ok())
            .collect();
        Verifier {
            keys: keys.into(),
            policy,
            known_lists,
        }
    }

    /// The keys.
    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Runs every check that needs only the request head, in this order: a single signature header
    /// is present; its parameters parse; the algorithm is `hmac-sha256` and a key accepts the
    /// `keyId`; the header list meets the policy; every listed header is present once and non-empty,
    /// and the `Digest` header parses; the signed `Accept` is allowed; `Date` is inside the window;
    /// the MAC verifies.
    ///
    /// # Errors
    ///
    /// The first check that fails, as an [`Error`].
    pub fn verify_headers(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<VerifiedHeaders, Error> {
        // 1. Exactly one signature header.
        let value = locate(headers)?;
        // 2. Parameters.
        let params = RawParams::parse(value)?;
        // 3. Algorithm and key.
        if params.algorithm() != HMAC_SHA256 {
            return Err(Error::Algorithm);
        }
        if self.keys.eligible(&params.key_id).next().is_none() {
            return Err(Error::Key);
        }
        // 4. Coverage.
        let list = params
            .headers
            .as_deref()
            .ok_or(Error::Policy("no headers parameter"))?;
        let parsed;
        let (list, signed_headers) = match self.known_lists.iter().find(|(text, _)| *text == list) {
            Some((text, known)) => (known, Some(*text)),
            None => {
                parsed = HeaderList::parse(list)?;
                self.policy.check_coverage(&parsed)?;
                (&parsed, None)
            }
        };
        // 5. Resolve the listed headers; Digest syntax; signed media type.
        let lines = Resolved::new(list, method, uri, headers)?;
        let digest = lines.digest.map(parse_digest).transpose()?;
        self.policy.check_media_type(lines.accept)?;
        // 6. Freshness.
        let date = lines.date.ok_or(Error::Policy("Date is not signed"))?;
        let date = self
            .policy
            .check_freshness(date, params.created, params.expires)?;
        // 7. MAC. The claimed value must be the canonical base64 of the MAC (padded, standard
        // alphabet, no trailing bits): comparing encodings in constant time is exactly a strict
        // decode followed by a constant-time comparison, and one base64 pass cheaper.
        let claimed = params.signature.as_bytes();
        let mac = self
            .keys
            .eligible(&params.key_id)
            .map(|key| {
                let mut mac = key.mac();
                lines.mac(&mut mac);
                <[u8; MAC_LEN]>::from(mac.finalize().into_bytes())
            })
            .find(|mac| {
                let mut encoded = [0u8; MAC_B64_LEN];
                let len = STANDARD.encode_slice(mac, &mut encoded).unwrap_or(0);
                constant_time_eq::constant_time_eq(&encoded[..len], claimed)
            })
            .ok_or(Error::Signature)?;
        Ok(VerifiedHeaders {
            digest,
            verified: Verified {
                key_id: interned(&params.key_id, &[DRONE_KEY_ID]),
                signed_headers: signed_headers
                    .map_or_else(|| Cow::Owned(list.as_str().to_owned()), Cow::Borrowed),
                date,
                mac,
            },
        })
    }

    /// [`verify_headers`](Verifier::verify_headers) on the head of a request.
    ///
    /// # Errors
    ///
    /// As [`verify_headers`](Verifier::verify_headers).
    pub fn verify_parts(&self, parts: &Parts) -> Result<VerifiedHeaders, Error> {
        self.verify_headers(&parts.method, &parts.uri, &parts.headers)
    }

    /// Verifies a whole request at once: the head, then the body against the signed `Digest`.
    ///
    /// # Errors
    ///
    /// As [`verify_headers`](Verifier::verify_headers) and
    /// [`VerifiedHeaders::verify_body`].
    pub fn verify(&self, parts: &Parts, body: &[u8]) -> Result<Verified, Error> {
        self.verify_parts(parts)?.verify_body(body)
    }
}

/// `value` as a `'static` string: one of `known` when it is one (what Drone sends, so that
/// accepting a Drone request allocates nothing), otherwise a copy.
fn interned(value: &str, known: &[&'static str]) -> Cow<'static, str> {
    match known.iter().find(|k| **k == value) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(value.to_owned()),
    }
}

/// Step 1: exactly one of `Signature: …` or `Authorization: Signature …`.
fn locate(headers: &HeaderMap) -> Result<&[u8], Error> {
    let mut signatures = headers.get_all(&SIGNATURE).iter();
    let signature = match (signatures.next(), signatures.next()) {
        (None, _) => None,
        (Some(v), None) => Some(v.as_bytes()),
        (Some(_), Some(_)) => return Err(Error::Malformed("two Signature headers")),
    };
    let mut authorization = None;
    for value in headers.get_all(AUTHORIZATION) {
        let Some(params) = strip_signature_scheme(value.as_bytes()) else {
            continue; // another scheme (Bearer, Basic) is not a signature
        };
        if value.len() > MAX_HEADER_LEN {
            return Err(Error::Malformed("authorization header too long"));
        }
        if authorization.replace(params).is_some() {
            return Err(Error::Malformed("two Authorization: Signature headers"));
        }
    }
    match (signature, authorization) {
        (Some(_), Some(_)) => Err(Error::Malformed(
            "both Signature and Authorization: Signature headers",
        )),
        (Some(v), None) | (None, Some(v)) => Ok(v),
        (None, None) => Err(Error::Missing),
    }
}

/// `Signature` (any case) followed by whitespace and the parameters; `None` for other schemes.
fn strip_signature_scheme(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"signature";
    let value = value.trim_ascii_start();
    let (scheme, rest) = value.split_at_checked(SCHEME.len())?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    match rest.first() {
        None => Some(rest),
        Some(b' ' | b'\t') => Some(rest.trim_ascii_start()),
        Some(_) => None,
    }
}

/// A request head whose signature verified; the body remains to be checked against its `Digest`.
#[derive(Debug, Clone)]
#[must_use = "the body has not been checked yet: call verify_body"]
pub struct VerifiedHeaders {
    digest: Option<[u8; SHA256_LEN]>,
    verified: Verified,
}

impl VerifiedHeaders {
    /// Whether the signature covers a `Digest`, so that the body is authenticated by
    /// [`verify_body`](VerifiedHeaders::verify_body). Always true under the Drone presets.
    pub fn covers_body(&self) -> bool {
        self.digest.is_some()
    }

    /// What was verified so far.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// Checks the exact body bytes, as received (no decompression), against the signed SHA-256
    /// `Digest`, in constant time.
    ///
    /// When the policy did not require `digest` and the signature does not cover it, the body is
    /// not authenticated and any body passes.
    ///
    /// # Errors
    ///
    /// [`Error::DigestMismatch`] when the body's hash differs.
    pub fn verify_body(self, body: &[u8]) -> Result<Verified, Error> {
        if let Some(expected) = &self.digest {
            check_body(expected, body)?;
        }
        Ok(self.verified)
    }
}

/// What a verified request was signed with: put into the request's extensions by the layer.
#[derive(Clone, PartialEq, Eq)]
pub struct Verified {
    key_id: Cow<'static, str>,
    signed_headers: Cow<'static, str>,
    date: SystemTime,
    mac: [u8; MAC_LEN],
}

impl Verified {
    /// The `keyId` the caller sent (Drone: `hmac-key`).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The signed header names, lower-case, in signing order.
    pub fn signed_headers(&self) -> impl Iterator<Item = &str> + '_ {
        self.signed_headers.split(' ')
    }

    /// Whether `name` (lower-case) was signed.
    pub fn is_signed(&self, name: &str) -> bool {
        self.signed_headers().any(|n| n == name)
    }

    /// The signed `Date`.
    pub fn date(&self) -> SystemTime {
        self.date
    }

    /// The verified MAC: what a replay guard remembers.
    pub fn mac(&self) -> &[u8; MAC_LEN] {
        &self.mac
    }
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("key_id", &self.key_id)
            .field("signed_headers", &self.signed_headers)
            .field("date", &httpdate::fmt_http_date(self.date))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_is_case_insensitive_and_needs_a_space() {
        assert_eq!(strip_signature_scheme(b"Signature a=b"), Some(&b"a=b"[..]));
        assert_eq!(strip_signature_scheme(b"signature  a=b"), Some(&b"a=b"[..]));
        assert_eq!(strip_signature_scheme(b"SIGNATURE"), Some(&b""[..]));
        assert_eq!(strip_signature_scheme(b"Signaturex a=b"), None);
        assert_eq!(strip_signature_scheme(b"Bearer x"), None);
        assert_eq!(strip_signature_scheme(b"Sig"), None);
    }
}
