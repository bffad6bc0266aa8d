//! `verify_mutation`: a mutation oracle for the whole verifier.
//!
//! A valid request is built exactly as Drone sends it (any body, any `Date`, `Accept` from the
//! kind's media types, `Signature:` or `Authorization: Signature`, signed values optionally
//! padded with whitespace), then one [`Mutation`] is applied. The model says, independently of
//! the verifier, whether the mutation changed anything the signature covers:
//!
//! * covered: the value of a signed header (after OWS trimming), its presence or uniqueness; the
//!   body (through the signed `Digest`); the `algorithm` and `signature` parameters; the `headers`
//!   parameter up to case; the signature header's own presence and uniqueness; the `keyId` when
//!   the key is bound to it; the clock leaving the ±300 s window;
//! * not covered: the path and method (Drone does not sign `(request-target)`), unsigned headers
//!   (their values, copies, absence, new ones), header-name case, the `keyId` of an unbound key.
//!
//! The verifier must accept iff nothing covered changed. Besides, a request whose head was
//! changed must be refused by `verify_headers` alone (the body is never needed for that), and a
//! changed body must pass the head and fail the body check as `DigestMismatch`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use drone_extension::ExtensionKind;
use drone_extension::signature::{
    Error, Keyring, Policy, SharedSecret, SignatureParams, Signer, Verifier,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::trim_ows;

/// The secret every request is signed with.
pub const SECRET: &str = "fuzz-secret-0123456789abcdef0123";

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Input<'a> {
    /// Index into `ExtensionKind::ALL`.
    pub kind: u8,
    /// Index into the kind's media types.
    pub accept: u8,
    /// The `Date`, in seconds from 1970.
    pub date: u32,
    /// `Authorization: Signature …` instead of `Signature: …`.
    pub authorization: bool,
    /// Send signed values with surrounding whitespace (`security.md` B-28).
    pub padded: bool,
    /// Bind the key to Drone's `keyId`, which then counts as covered.
    pub bound_key: bool,
    pub mutation: Mutation,
    /// Everything left in the input, as is.
    pub body: &'a [u8],
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    None,
    /// XOR a byte of the value of a header other than the signature header.
    FlipHeaderByte {
        header: u8,
        at: u16,
        mask: u8,
    },
    /// XOR a byte of the body (append `mask` to an empty body).
    FlipBodyByte {
        at: u32,
        mask: u8,
    },
    /// XOR a byte of a signature parameter's value (7 bits, so it stays ASCII).
    FlipParamByte {
        param: Param,
        at: u16,
        mask: u8,
    },
    /// Upper-case the letters of a header name selected by the mask.
    HeaderNameCase {
        header: u8,
        mask: u32,
    },
    /// Send a header a second time, same value.
    DuplicateHeader {
        header: u8,
    },
    DropHeader {
        header: u8,
    },
    /// Add a header from a list of unsigned names, with a printable value.
    AddHeader {
        name: u8,
        value: [u8; 8],
    },
    /// Send the request to another method and path.
    ChangeTarget {
        method: u8,
        path: [u8; 8],
    },
    /// Move the verifier's clock away from the `Date`.
    ShiftClock {
        secs: i32,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    KeyId,
    Algorithm,
    Signature,
    Headers,
}

/// Names `AddHeader` picks from: none is signed by Drone.
pub const UNSIGNED_NAMES: [&str; 8] = [
    "x-drone-event",
    "user-agent",
    "x-forwarded-for",
    "accept-language",
    "host",
    "content-length",
    "authorization",
    "signature-input",
];

const METHODS: [Method; 4] = [Method::POST, Method::GET, Method::PUT, Method::DELETE];

/// Printable bytes for generated values and paths.
const PRINTABLE: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";

fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| char::from(PRINTABLE[usize::from(b) % PRINTABLE.len()]))
        .collect()
}

/// A request as it goes over the wire: header fields in order, each name as sent.
#[derive(Debug, Clone)]
struct Wire {
    method: Method,
    target: String,
    fields: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    now: SystemTime,
}

/// What a valid request was signed over.
struct Signed {
    kind: ExtensionKind,
    covered: Vec<&'static str>,
    carrier: &'static str,
    params: SignatureParams,
    date: SystemTime,
}

fn build(input: &Input<'_>) -> (Wire, Signed) {
    let kind = ExtensionKind::ALL[usize::from(input.kind) % ExtensionKind::ALL.len()];
    let types = kind.media_types();
    let media_type = types[usize::from(input.accept) % types.len()];
    let date = UNIX_EPOCH + Duration::from_secs(u64::from(input.date));
    let signer = Signer::new(SharedSecret::new(SECRET).expect("a secret"));
    let (signed, covered) = if kind == ExtensionKind::Webhook {
        let headers = signer.webhook_headers(input.body, date);
        (headers, vec!["date", "digest"])
    } else {
        let headers = signer.extension_headers(media_type, input.body, date);
        (
            headers,
            vec![
                "accept",
                "accept-encoding",
                "content-type",
                "date",
                "digest",
            ],
        )
    };
    let signed = signed.expect("Drone's headers are valid");

    // Wire order and spelling as Go's net/http sends them.
    let mut fields = Vec::new();
    for name in [
        "Accept",
        "Accept-Encoding",
        "Content-Type",
        "Date",
        "Digest",
    ] {
        if let Some(value) = signed.get(name) {
            let mut value = value.as_bytes().to_vec();
            if input.padded {
                value.splice(0..0, *b" \t");
                value.extend_from_slice(b"  ");
            }
            fields.push((name.to_owned(), value));
        }
    }
    let signature = signed["signature"].to_str().expect("ASCII").to_owned();
    let params = SignatureParams::parse(&signature).expect("the signer's header parses");
    let carrier = if input.authorization {
        fields.push((
            "Authorization".to_owned(),
            format!("Signature {signature}").into_bytes(),
        ));
        "authorization"
    } else {
        fields.push(("Signature".to_owned(), signature.into_bytes()));
        "signature"
    };
    fields.push(("Host".to_owned(), b"extension.example:3000".to_vec()));
    fields.push(("User-Agent".to_owned(), b"Go-http-client/1.1".to_vec()));
    fields.push((
        "Content-Length".to_owned(),
        input.body.len().to_string().into_bytes(),
    ));
    if kind == ExtensionKind::Webhook {
        fields.push(("X-Drone-Event".to_owned(), b"push".to_vec()));
        fields.push(("Accept-Encoding".to_owned(), b"gzip".to_vec()));
    }
    let wire = Wire {
        method: Method::POST,
        target: kind.path().to_owned(),
        fields,
        body: input.body.to_vec(),
        now: date,
    };
    let signed = Signed {
        kind,
        covered,
        carrier,
        params,
        date,
    };
    (wire, signed)
}

/// Where a mutation lands, for the expectation on which check refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Nothing,
    Uncovered,
    CoveredHead,
    Body,
    Clock,
}

impl Signed {
    fn is_covered(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        name == self.carrier || self.covered.contains(&name.as_str())
    }
}

fn header_index(wire: &Wire, header: u8, skip_carrier: Option<&str>) -> Option<usize> {
    let candidates: Vec<usize> = (0..wire.fields.len())
        .filter(|&i| skip_carrier.is_none_or(|c| !wire.fields[i].0.eq_ignore_ascii_case(c)))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    Some(candidates[usize::from(header) % candidates.len()])
}

fn flip(bytes: &mut Vec<u8>, at: usize, mask: u8) {
    if bytes.is_empty() {
        if mask != 0 {
            bytes.push(mask);
        }
    } else {
        let at = at % bytes.len();
        bytes[at] ^= mask;
    }
}

/// Applies the mutation and says what it changed, by the model of the module documentation.
fn apply(mutation: Mutation, wire: &mut Wire, signed: &Signed, bound_key: bool) -> Change {
    match mutation {
        Mutation::None => Change::Nothing,
        Mutation::FlipHeaderByte { header, at, mask } => {
            let Some(i) = header_index(wire, header, Some(signed.carrier)) else {
                return Change::Nothing;
            };
            let (name, value) = &mut wire.fields[i];
            let before = trim_ows(value).to_vec();
            flip(value, usize::from(at), mask);
            if trim_ows(value) == before.as_slice() {
                Change::Nothing
            } else if signed.is_covered(name) {
                Change::CoveredHead
            } else {
                Change::Uncovered
            }
        }
        Mutation::FlipBodyByte { at, mask } => {
            let before = wire.body.clone();
            flip(&mut wire.body, at as usize, mask);
            if wire.body == before {
                Change::Nothing
            } else {
                Change::Body
            }
        }
        Mutation::FlipParamByte { param, at, mask } => {
            let mut params = signed.params.clone();
            let field = match param {
                Param::KeyId => &mut params.key_id,
                Param::Algorithm => params.algorithm.get_or_insert_default(),
                Param::Signature => &mut params.signature,
                Param::Headers => params.headers.get_or_insert_default(),
            };
            let mut bytes = std::mem::take(field).into_bytes();
            flip(&mut bytes, usize::from(at), mask & 0x7F);
            *field = String::from_utf8(bytes).expect("ASCII stays ASCII");
            let i = wire
                .fields
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(signed.carrier))
                .expect("the signature header is there");
            let rendered = params.to_string();
            wire.fields[i].1 = if signed.carrier == "authorization" {
                format!("Signature {rendered}").into_bytes()
            } else {
                rendered.into_bytes()
            };
            let old = &signed.params;
            let same_list = params.headers.as_deref().map(str::to_ascii_lowercase)
                == old.headers.as_deref().map(str::to_owned);
            let same_key = params.key_id == old.key_id || !bound_key;
            if params.algorithm == old.algorithm
                && params.signature == old.signature
                && same_list
                && same_key
            {
                if params == *old {
                    Change::Nothing
                } else {
                    Change::Uncovered
                }
            } else {
                Change::CoveredHead
            }
        }
        Mutation::HeaderNameCase { header, mask } => {
            let Some(i) = header_index(wire, header, None) else {
                return Change::Nothing;
            };
            let name = &mut wire.fields[i].0;
            *name = name
                .chars()
                .enumerate()
                .map(|(j, c)| {
                    if mask & (1 << (j % 32)) != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect();
            Change::Uncovered
        }
        Mutation::DuplicateHeader { header } => {
            let Some(i) = header_index(wire, header, None) else {
                return Change::Nothing;
            };
            let field = wire.fields[i].clone();
            let covered = signed.is_covered(&field.0);
            wire.fields.push(field);
            if covered {
                Change::CoveredHead
            } else {
                Change::Uncovered
            }
        }
        Mutation::DropHeader { header } => {
            let Some(i) = header_index(wire, header, None) else {
                return Change::Nothing;
            };
            let (name, _) = wire.fields.remove(i);
            if signed.is_covered(&name) {
                Change::CoveredHead
            } else {
                Change::Uncovered
            }
        }
        Mutation::AddHeader { name, value } => {
            let name = UNSIGNED_NAMES[usize::from(name) % UNSIGNED_NAMES.len()];
            let mut value = printable(&value);
            if name == "authorization" {
                // Another scheme: not a second signature.
                value.insert_str(0, "Bearer ");
            }
            wire.fields.push((name.to_owned(), value.into_bytes()));
            Change::Uncovered
        }
        Mutation::ChangeTarget { method, path } => {
            wire.method = METHODS[usize::from(method) % METHODS.len()].clone();
            wire.target = format!("/{}?q={}", printable(&path[..4]), printable(&path[4..]));
            Change::Uncovered
        }
        Mutation::ShiftClock { secs } => {
            let by = Duration::from_secs(u64::from(secs.unsigned_abs()));
            wire.now = if secs >= 0 {
                wire.now + by
            } else {
                wire.now
                    .checked_sub(by)
                    .expect("SystemTime reaches before 1970")
            };
            if secs.unsigned_abs() <= 300 {
                Change::Uncovered
            } else {
                Change::Clock
            }
        }
    }
}

pub fn check(input: &Input<'_>) -> bool {
    let (mut wire, signed) = build(input);
    let change = apply(input.mutation, &mut wire, &signed, input.bound_key);

    let mut headers = HeaderMap::new();
    for (name, value) in &wire.fields {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) else {
            // Not something an HTTP server would hand over (a control byte, say).
            return false;
        };
        headers.append(name, value);
    }
    let uri: Uri = wire.target.parse().expect("a printable path");

    let secret = SharedSecret::new(SECRET).expect("a secret");
    let keys = if input.bound_key {
        Keyring::bound(drone_extension::signature::DRONE_KEY_ID, secret)
    } else {
        Keyring::new(secret)
    };
    let now = wire.now;
    let verifier = Verifier::new(keys, Policy::for_kind(signed.kind).clock(move || now));

    let head = verifier.verify_headers(&wire.method, &uri, &headers);
    match change {
        Change::Nothing | Change::Uncovered => {
            let head = head.unwrap_or_else(|e| panic!("{:?} refused: {e:?}", input.mutation));
            assert!(head.covers_body());
            let verified = head
                .verify_body(&wire.body)
                .unwrap_or_else(|e| panic!("{:?}: body refused: {e:?}", input.mutation));
            assert_eq!(verified.date(), signed.date);
            assert!(verified.signed_headers().eq(signed.covered.iter().copied()));
            let mac = STANDARD
                .decode(&signed.params.signature)
                .expect("the signer's base64");
            assert_eq!(verified.mac()[..], mac[..]);
        }
        Change::CoveredHead | Change::Clock => {
            let err = head
                .err()
                .unwrap_or_else(|| panic!("{:?} was accepted by verify_headers", input.mutation));
            if change == Change::Clock {
                assert!(matches!(err, Error::Stale(_)), "{err:?}");
            }
        }
        Change::Body => {
            let head = head.unwrap_or_else(|e| panic!("a body change refused the head: {e:?}"));
            assert_eq!(
                head.verify_body(&wire.body).err(),
                Some(Error::DigestMismatch)
            );
        }
    }
    true
}

pub fn run(data: &[u8]) -> bool {
    super::decode::<Input>(data).is_some_and(|input| check(&input))
}
