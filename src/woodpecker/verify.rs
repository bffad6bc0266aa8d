//! The verifier: the checks of a Woodpecker request, in order.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ed25519_dalek::Signature;
use http::header::HeaderName;
use http::{HeaderMap, Method, Uri, request::Parts};
use sha2::{Digest, Sha256, Sha512};

use super::fields::{
    Digests, SIGNATURE_LEN, SignatureFields, parse_content_digest, request_target,
};
use super::{Error, PublicKeys};
use crate::clock::{Clock, SystemClock};

/// The `Signature-Input` header.
pub static SIGNATURE_INPUT: HeaderName = HeaderName::from_static("signature-input");
/// The `Signature` header.
pub static SIGNATURE: HeaderName = HeaderName::from_static("signature");
/// The `Content-Digest` header.
pub static CONTENT_DIGEST: HeaderName = HeaderName::from_static("content-digest");

/// The default oldest `created` accepted: 60 s.
///
/// Woodpecker signs each attempt afresh and makes at most 3 attempts, each with a 10 s timeout
/// and about 0.25–1.1 s of back-off between them, so a legitimate request is seconds old when it
/// arrives; 60 s leaves room for a slow network and clock drift while keeping a captured request
/// replayable for one minute at most.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);
/// The default furthest `created` in the future accepted: 10 s (clock drift).
pub const DEFAULT_MAX_FUTURE_SKEW: Duration = Duration::from_secs(10);

/// Checks Woodpecker's RFC 9421 Ed25519 request signatures.
///
/// The checks run in this order, the first failure giving the [`Error`]:
///
/// 1. `Signature-Input` and `Signature` are present (**missing**);
/// 2. each has one field line and is a dictionary without duplicate keys (**malformed**);
/// 3. both have the `woodpecker-ci-extensions` member (**missing**);
/// 4. the members have the right types (**malformed**);
/// 5. the components cover `@request-target` and `content-digest` (**policy**; a component listed
///    twice is **malformed**);
/// 6. `alg` is `"ed25519"` (**algorithm**): the algorithm is never taken from the message;
/// 7. `created` is an integer and present (**malformed**, **policy**);
/// 8. `created` is inside the window, `expires` not passed (**stale**);
/// 9. `Content-Digest` is present, parses, and has a `sha-256` or `sha-512` member (**digest**);
/// 10. the signature base, rebuilt with the `@request-target` of the path the request **arrived
///     on**, verifies under one of the keys (**signature**);
/// 11. the body's hash equals every `sha-256`/`sha-512` member (**digest**).
///
/// Steps 1–10 need only the head ([`verify_headers`](Verifier::verify_headers)); step 11 is
/// [`VerifiedHeaders::verify_body`], so no body byte is read before the head is authentic. A
/// request that fails both the signature and the body digest is therefore refused as
/// **signature**.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use drone_extension::woodpecker::{Error, PublicKey, Signer, Verifier};
///
/// let signer = Signer::from_seed(&[7; 32]);
/// let body = br#"{"repo":{},"pipeline":{}}"#;
/// let created = 1_786_000_000;
/// let mut request = http::Request::post("/woodpecker/secret").body(()).unwrap();
/// *request.headers_mut() = signer.headers("/woodpecker/secret", body, created)?;
/// let (parts, ()) = request.into_parts();
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(created + 5);
/// let verifier = Verifier::new(signer.public_key()).clock(move || now);
/// let verified = verifier.verify(&parts, body)?;
/// assert_eq!(verified.key_index(), 0);
///
/// // The same head with another body is refused.
/// assert_eq!(verifier.verify(&parts, b"{}").unwrap_err(), Error::DigestMismatch);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    keys: PublicKeys,
    max_age: Duration,
    max_future_skew: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("max_age", &self.max_age)
            .field("max_future_skew", &self.max_future_skew)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier accepting these keys, with the default window ([`DEFAULT_MAX_AGE`],
    /// [`DEFAULT_MAX_FUTURE_SKEW`]) and the system clock.
    pub fn new(keys: impl Into<PublicKeys>) -> Verifier {
        Verifier {
            keys: keys.into(),
            max_age: DEFAULT_MAX_AGE,
            max_future_skew: DEFAULT_MAX_FUTURE_SKEW,
            clock: Arc::new(SystemClock),
        }
    }

    /// The oldest `created` accepted, relative to now.
    pub fn max_age(mut self, max_age: Duration) -> Verifier {
        self.max_age = max_age;
        self
    }

    /// The furthest in the future `created` may be.
    pub fn max_future_skew(mut self, skew: Duration) -> Verifier {
        self.max_future_skew = skew;
        self
    }

    /// The clock (tests).
    pub fn clock(mut self, clock: impl Clock) -> Verifier {
        self.clock = Arc::new(clock);
        self
    }

    /// The keys.
    pub fn keys(&self) -> &PublicKeys {
        &self.keys
    }

    /// The current time on the verifier's clock.
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// How long a `created` stays acceptable.
    pub(crate) fn window(&self) -> Duration {
        self.max_age
    }

    /// Checks 1–10 (see the type's docs) on a request head.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub fn verify_headers(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<VerifiedHeaders, Error> {
        if !headers.contains_key(&SIGNATURE_INPUT) || !headers.contains_key(&SIGNATURE) {
            return Err(Error::Missing("no Signature-Input or Signature header"));
        }
        let (Some(input), Some(signature)) = (
            single(headers, &SIGNATURE_INPUT)?,
            single(headers, &SIGNATURE)?,
        ) else {
            return Err(Error::Missing("no Signature-Input or Signature header"));
        };
        let fields = SignatureFields::parse(input, signature)?;
        self.check_freshness(&fields)?;
        let digests = match single(headers, &CONTENT_DIGEST) {
            Err(_) => return Err(Error::DigestMalformed("several Content-Digest field lines")),
            Ok(None) => return Err(Error::DigestMissing),
            Ok(Some(value)) => parse_content_digest(value)?,
        };
        let base = signature_base(&fields, method, uri, headers)?;
        let sig = Signature::from_bytes(fields.signature());
        let key_index = self
            .keys
            .iter()
            .position(|key| key.0.verify_strict(&base, &sig).is_ok())
            .ok_or(Error::Signature)?;
        let created = u64::try_from(fields.created())
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(VerifiedHeaders {
            digests,
            verified: Verified {
                created,
                key_index,
                signature: *fields.signature(),
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

    /// Verifies a whole request: the head, then the body against `Content-Digest`.
    ///
    /// # Errors
    ///
    /// As [`verify_headers`](Verifier::verify_headers) and [`VerifiedHeaders::verify_body`].
    pub fn verify(&self, parts: &Parts, body: &[u8]) -> Result<Verified, Error> {
        self.verify_parts(parts)?.verify_body(body)
    }

    fn check_freshness(&self, fields: &SignatureFields) -> Result<(), Error> {
        let now = self.clock.now();
        let now = match now.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => i128::from(d.as_secs()),
            Err(e) => -i128::from(e.duration().as_secs()),
        };
        let created = i128::from(fields.created());
        if created < now - i128::from(self.max_age.as_secs()) {
            return Err(Error::Stale("created is too old"));
        }
        if created > now + i128::from(self.max_future_skew.as_secs()) {
            return Err(Error::Stale("created is in the future"));
        }
        if fields.expires().is_some_and(|e| i128::from(e) < now) {
            return Err(Error::Stale("expires has passed"));
        }
        Ok(())
    }
}

/// The value of `name` when it has at most one field line; `Err` when it has several.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a [u8]>, Error> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => Ok(Some(v.as_bytes())),
        (Some(_), Some(_)) => Err(Error::Malformed(
            "a signature field has several field lines",
        )),
    }
}

/// The RFC 9421 signature base, with `@request-target` from the request as received.
fn signature_base(
    fields: &SignatureFields,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Vec<u8>, Error> {
    let mut base = Vec::with_capacity(256);
    for component in fields.components() {
        if component.has_params() {
            return Err(Error::Policy("a covered component has parameters"));
        }
        let name = component.name();
        base.push(b'"');
        base.extend_from_slice(name.as_bytes());
        base.extend_from_slice(b"\": ");
        match name {
            "@request-target" => {
                let target = uri.path_and_query().map_or("", |pq| pq.as_str());
                let target = request_target(target).ok_or(Error::Signature)?;
                base.extend_from_slice(&target);
            }
            "@method" => base.extend_from_slice(method.as_str().as_bytes()),
            derived if derived.starts_with('@') => {
                return Err(Error::Policy(
                    "a covered derived component is not supported",
                ));
            }
            field => {
                let mut lines = headers.get_all(field).iter().peekable();
                if lines.peek().is_none() {
                    return Err(Error::Signature);
                }
                let mut first = true;
                for line in lines {
                    if !first {
                        base.extend_from_slice(b", ");
                    }
                    first = false;
                    base.extend_from_slice(line.as_bytes().trim_ascii());
                }
            }
        }
        base.push(b'\n');
    }
    base.extend_from_slice(b"\"@signature-params\": ");
    base.extend_from_slice(fields.signature_params().as_bytes());
    Ok(base)
}

/// A request head whose signature verified; the body remains to be checked.
#[derive(Debug, Clone)]
#[must_use = "the body has not been checked yet: call verify_body"]
pub struct VerifiedHeaders {
    digests: Digests,
    verified: Verified,
}

impl VerifiedHeaders {
    /// What was verified so far.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// Checks the exact body bytes, as received (Woodpecker never compresses request bodies),
    /// against every `sha-256` and `sha-512` member of `Content-Digest`.
    ///
    /// # Errors
    ///
    /// [`Error::DigestMismatch`] when a hash differs.
    pub fn verify_body(self, body: &[u8]) -> Result<Verified, Error> {
        if let Some(expected) = &self.digests.sha256
            && Sha256::digest(body).as_slice() != expected
        {
            return Err(Error::DigestMismatch);
        }
        if let Some(expected) = &self.digests.sha512
            && Sha512::digest(body).as_slice() != expected.as_slice()
        {
            return Err(Error::DigestMismatch);
        }
        Ok(self.verified)
    }

    /// The SHA-256 of the signature: the request's fingerprint for the layer.
    pub(crate) fn signature_hash(&self) -> [u8; 32] {
        Sha256::digest(self.verified.signature).into()
    }
}

/// What a verified Woodpecker request was signed with: put into the request's extensions by the
/// layer.
#[derive(Clone, PartialEq, Eq)]
pub struct Verified {
    created: SystemTime,
    key_index: usize,
    signature: [u8; SIGNATURE_LEN],
}

impl Verified {
    /// The signed `created` time.
    pub fn created(&self) -> SystemTime {
        self.created
    }

    /// Which of the verifier's keys verified it (the index in [`PublicKeys::iter`]'s order): with
    /// several Woodpecker servers, which one called.
    pub fn key_index(&self) -> usize {
        self.key_index
    }

    /// The verified signature: what a replay cache would remember. Woodpecker's retries within the
    /// same second carry the same signature, so remember it only once the answer was a 2xx.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("created", &httpdate::fmt_http_date(self.created))
            .field("key_index", &self.key_index)
            .finish_non_exhaustive()
    }
}
