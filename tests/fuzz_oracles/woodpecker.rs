//! The Woodpecker targets (feature `woodpecker`).
//!
//! * `woodpecker_fields`: any two field values through `SignatureFields::parse`: never a panic,
//!   and an accepted pair re-parses from its canonical `@signature-params` to the same fields.
//! * `woodpecker_mutation`: a request signed exactly as Woodpecker signs it, plus one
//!   [`Mutation`]. The model says, without the verifier, whether the mutation changed something
//!   the signature covers (the body through `Content-Digest`, the three signature fields, the
//!   path and query through `@request-target`, `created` leaving the 60 s / 10 s window) or not
//!   (the method, the host, unsigned headers, a re-encoding of a byte sequence to the same
//!   bytes); the verifier must accept iff nothing covered changed. A changed head must be refused
//!   by `verify_headers` alone; a changed body must pass the head and fail as `DigestMismatch`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use base64::Engine;
use base64::alphabet::STANDARD as ALPHABET;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use drone_extension::__fuzz::SignatureFields;
use drone_extension::woodpecker::{Error, LABEL, Signer, Verifier};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct FieldsInput<'a> {
    /// Where the rest splits into `Signature-Input` and `Signature`.
    pub split: u16,
    pub data: &'a [u8],
}

pub fn fields_check(input: &FieldsInput<'_>) -> bool {
    let at = usize::from(input.split).min(input.data.len());
    let (signature_input, signature) = input.data.split_at(at);
    let Ok(fields) = SignatureFields::parse(signature_input, signature) else {
        return true;
    };
    let canonical = format!("{LABEL}={}", fields.signature_params());
    let again = SignatureFields::parse(canonical.as_bytes(), signature)
        .expect("the canonical form of accepted fields parses");
    assert_eq!(again.signature_params(), fields.signature_params());
    assert_eq!(again.created(), fields.created());
    assert_eq!(again.components(), fields.components());
    assert_eq!(again.signature(), fields.signature());
    true
}

pub fn fields_run(data: &[u8]) -> bool {
    super::decode::<FieldsInput>(data).is_some_and(|input| fields_check(&input))
}

/// The request paths (as on the request line) a request is signed for.
const PATHS: [&str; 4] = [
    "/woodpecker/config",
    "/",
    "/hooks/team%20a%2Fb/registry",
    "/woodpecker/config?token=abc123&team=a%2Fb",
];

/// The signature fields, in the order `Mutation` indexes them.
const FIELDS: [&str; 3] = ["signature-input", "signature", "content-digest"];

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    None,
    FlipBody {
        at: u16,
        xor: u8,
    },
    AppendBody(u8),
    FlipField {
        field: u8,
        at: u8,
        xor: u8,
    },
    DropField(u8),
    DuplicateField(u8),
    OtherPath,
    QueryAdded,
    OtherMethod,
    UnsignedHeader,
    /// `now - created`, in seconds.
    Clock(i16),
}

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct MutationInput<'a> {
    pub key: u8,
    pub path: u8,
    pub created: u32,
    pub mutation: Mutation,
    pub body: &'a [u8],
}

/// A lenient RFC 8941 byte-sequence decoder (padding optional, trailing bits ignored), written
/// with the `base64` crate independently of the verifier's parser.
fn lenient(value: &str, prefix: &str) -> Option<Vec<u8>> {
    let inner = value
        .strip_prefix(prefix)?
        .strip_prefix(':')?
        .strip_suffix(':')?;
    let engine = GeneralPurpose::new(
        &ALPHABET,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    engine.decode(inner).ok()
}

pub fn mutation_check(input: &MutationInput<'_>) -> bool {
    let signer = Signer::from_seed(&[input.key; 32]);
    let path = PATHS[usize::from(input.path) % PATHS.len()];
    let created = u64::from(input.created);
    let Ok(signed) = signer.headers(path, input.body, created) else {
        return false;
    };
    let mut headers: HeaderMap = signed;
    let mut uri: Uri = path.parse().expect("the paths parse");
    let mut method = Method::POST;
    let mut body = input.body.to_vec();
    let mut age: i64 = 5;
    // (covered change of the head, covered change of the body)
    let (head_changed, body_changed) = match input.mutation {
        Mutation::None => (false, false),
        Mutation::FlipBody { at, xor } => {
            if body.is_empty() || xor == 0 {
                return false;
            }
            let at = usize::from(at) % body.len();
            body[at] ^= xor;
            (false, true)
        }
        Mutation::AppendBody(byte) => {
            body.push(byte);
            (false, true)
        }
        Mutation::FlipField { field, at, xor } => {
            let name = FIELDS[usize::from(field) % FIELDS.len()];
            let before = headers[name].to_str().expect("ASCII").to_owned();
            let mut bytes = before.clone().into_bytes();
            let at = usize::from(at) % bytes.len();
            bytes[at] ^= xor;
            if xor == 0 {
                return false;
            }
            let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                return false; // no server hands this over
            };
            let after = String::from_utf8_lossy(&bytes).into_owned();
            headers.insert(name, value);
            let changed = match name {
                "signature" => {
                    let prefix = format!("{LABEL}=");
                    lenient(&after, &prefix).is_none_or(|b| Some(b) != lenient(&before, &prefix))
                }
                // Covered as its raw value: a flip that decodes to the same digest (the last
                // base64 character's unused bits) still changes the signature base.
                "content-digest" => true,
                _ => true,
            };
            (changed, false)
        }
        Mutation::DropField(field) => {
            headers.remove(FIELDS[usize::from(field) % FIELDS.len()]);
            (true, false)
        }
        Mutation::DuplicateField(field) => {
            let name = FIELDS[usize::from(field) % FIELDS.len()];
            let value = headers[name].clone();
            headers.append(name, value);
            (true, false)
        }
        Mutation::OtherPath => {
            uri = "/woodpecker/other".parse().expect("parses");
            (true, false)
        }
        Mutation::QueryAdded => {
            let with_query = match path.contains('?') {
                true => format!("{path}&debug=1"),
                false => format!("{path}?debug=1"),
            };
            uri = with_query.parse().expect("parses");
            (true, false)
        }
        Mutation::OtherMethod => {
            method = Method::PUT;
            (false, false)
        }
        Mutation::UnsignedHeader => {
            headers.insert(
                HeaderName::from_static("x-unsigned"),
                HeaderValue::from_static("anything"),
            );
            (false, false)
        }
        Mutation::Clock(seconds) => {
            age = i64::from(seconds);
            (!(-10..=60).contains(&age), false)
        }
    };
    let now = if age >= 0 {
        UNIX_EPOCH + Duration::from_secs(created) + Duration::from_secs(age.unsigned_abs())
    } else {
        UNIX_EPOCH + Duration::from_secs(created) - Duration::from_secs(age.unsigned_abs())
    };
    let verifier = Verifier::new(signer.public_key()).clock(move || -> SystemTime { now });
    let head = verifier.verify_headers(&method, &uri, &headers);
    match (head_changed, body_changed) {
        (true, _) => assert!(
            head.is_err(),
            "a covered head change passed: {:?}",
            input.mutation
        ),
        (false, false) => {
            let verified = head.expect("an unchanged head verifies").verify_body(&body);
            assert!(
                verified.is_ok(),
                "an uncovered change was refused: {:?}",
                input.mutation
            );
        }
        (false, true) => {
            let err = head
                .expect("the head is unchanged")
                .verify_body(&body)
                .expect_err("a changed body passed");
            assert_eq!(err, Error::DigestMismatch);
        }
    }
    true
}

pub fn mutation_run(data: &[u8]) -> bool {
    super::decode::<MutationInput>(data).is_some_and(|input| mutation_check(&input))
}
