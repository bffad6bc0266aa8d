//! Property tests of the signature core.
//!
//! * Drone-shaped requests signed by [`Signer`] verify, for any body, secret, media type and `Date`
//!   inside the clock window, and the MAC is the HMAC-SHA256 of the Drone signing string computed
//!   here independently.
//! * Any single change (a byte of a signed header, of the body or of the MAC, or the clock moved
//!   out of the window) makes verification fail, with its class where it is deterministic.
//! * The parsers never panic, [`SignatureParams`] renders to text that parses back to an equal
//!   value, and the parameter and header-list parsers agree with small models of their grammars.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use drone_extension::__fuzz::{
    HeaderList, MAX_HEADER_LIST_ENTRIES, check_body, digest_header, parse_digest,
};
use drone_extension::kind::{
    ADMISSION_V1, CONFIG_V1, CONVERT_V1, ENVIRON_V1, ENVIRON_V2, GLOBAL_SECRETS, REGISTRY_V1,
    SECRET_V1, VALIDATE_V1, WEBHOOK_V1,
};
use drone_extension::layer::SchemeError as _;
use drone_extension::signature::{
    DEFAULT_MAX_SKEW, DRONE_EXTENSION_HEADERS, DRONE_WEBHOOK_HEADERS, Error, MAX_PARAMS, Policy,
    SharedSecret, SignatureParams, Signer, Verifier,
};
use hmac::{Hmac, KeyInit, Mac};
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use proptest::sample::Index;
use sha2::{Digest as _, Sha256};

const MEDIA_TYPES: [&str; 10] = [
    ADMISSION_V1,
    CONFIG_V1,
    CONVERT_V1,
    ENVIRON_V1,
    ENVIRON_V2,
    REGISTRY_V1,
    SECRET_V1,
    VALIDATE_V1,
    WEBHOOK_V1,
    GLOBAL_SECRETS,
];

/// The clock window, in seconds.
const SKEW: i64 = DEFAULT_MAX_SKEW.as_secs() as i64;
/// 1990-01-01T00:00:00Z and 2100-01-01T00:00:00Z.
const Y1990: i64 = 631_152_000;
const Y2100: i64 = 4_102_444_800;

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn unix(secs: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

/// RFC 7230 `tchar`, written out here rather than taken from the crate.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// HTAB, SP and visible ASCII: the bytes of a signed header value that the signing string keeps.
fn ascii_header_bytes() -> Vec<u8> {
    let mut bytes = vec![b'\t'];
    bytes.extend(0x20..=0x7e);
    bytes
}

/// A replacement for one byte of a header value that keeps it a valid `http::HeaderValue`.
#[derive(Debug, Clone)]
enum Replacement {
    /// The byte `delta` places further in [`ascii_header_bytes`] (so never the same byte).
    Ascii(usize),
    /// An obs-text byte (0x80…0xFF), which no signed value contains.
    ObsText(u8),
}

fn replacement() -> impl Strategy<Value = Replacement> {
    prop_oneof![
        4 => (1..ascii_header_bytes().len()).prop_map(Replacement::Ascii),
        1 => (0x80..=0xffu8).prop_map(Replacement::ObsText),
    ]
}

// ---------------------------------------------------------------------------------------------
// Signed requests
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    /// An extension endpoint called by Drone's extension client with this media type.
    Extension(&'static str),
    /// A global-webhook endpoint called by the Drone server's sender.
    Webhook,
}

impl Endpoint {
    fn covered(self) -> &'static [&'static str] {
        match self {
            Endpoint::Extension(_) => &DRONE_EXTENSION_HEADERS,
            Endpoint::Webhook => &DRONE_WEBHOOK_HEADERS,
        }
    }

    fn policy(self) -> Policy {
        match self {
            Endpoint::Extension(media_type) => Policy::drone_extension(media_type),
            Endpoint::Webhook => Policy::drone_webhook(),
        }
    }
}

#[derive(Debug, Clone)]
struct Request {
    endpoint: Endpoint,
    secret: Vec<u8>,
    body: Vec<u8>,
    /// The signed `Date`, Unix seconds.
    date: i64,
    /// The verifier's clock minus `date`.
    offset: i64,
}

impl Request {
    fn headers(&self) -> HeaderMap {
        let signer = Signer::new(SharedSecret::new(&self.secret).unwrap());
        let date = unix(self.date);
        match self.endpoint {
            Endpoint::Extension(media_type) => {
                signer.extension_headers(media_type, &self.body, date)
            }
            Endpoint::Webhook => signer.webhook_headers(&self.body, date),
        }
        .unwrap()
    }

    /// A verifier whose clock reads `date + offset`.
    fn verifier_at(&self, offset: i64) -> Verifier {
        let now = unix(self.date + offset);
        Verifier::new(
            SharedSecret::new(&self.secret).unwrap(),
            self.endpoint.policy().clock(move || now),
        )
    }

    fn verify(&self, headers: HeaderMap, body: &[u8]) -> Result<(), Error> {
        self.verifier_at(self.offset)
            .verify(&head(headers), body)
            .map(drop)
    }
}

fn head(headers: HeaderMap) -> Parts {
    let mut request = http::Request::post("/").body(()).unwrap();
    *request.headers_mut() = headers;
    request.into_parts().0
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    prop_oneof![
        3 => prop::sample::select(MEDIA_TYPES.to_vec()).prop_map(Endpoint::Extension),
        1 => Just(Endpoint::Webhook),
    ]
}

prop_compose! {
    fn request()(
        endpoint in endpoint(),
        secret in prop::collection::vec(any::<u8>(), 1..=64),
        body in prop::collection::vec(any::<u8>(), 0..4096),
        date in Y1990..Y2100,
        offset in -SKEW..=SKEW,
    ) -> Request {
        Request { endpoint, secret, body, date, offset }
    }
}

fn signature_params(headers: &HeaderMap) -> SignatureParams {
    SignatureParams::parse(headers["signature"].to_str().unwrap()).unwrap()
}

fn set_signature_params(headers: &mut HeaderMap, params: &SignatureParams) {
    headers.insert(
        "signature",
        HeaderValue::from_str(&params.to_string()).unwrap(),
    );
}

/// How a MAC is tampered with.
#[derive(Debug, Clone)]
enum Tamper {
    /// Replace the base64 character at this position by the one `delta` places further in the
    /// alphabet.
    Char(Index, usize),
    /// Flip this bit of the decoded MAC and encode it again.
    Bit(usize),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (any::<Index>(), 1..BASE64.len()).prop_map(|(i, d)| Tamper::Char(i, d)),
        (0..256usize).prop_map(Tamper::Bit),
    ]
}

proptest! {
    #[test]
    fn signed_requests_verify(req in request()) {
        let headers = req.headers();
        let params = signature_params(&headers);

        // The MAC is the HMAC-SHA256 of the Drone signing string, computed here.
        let signing_string = req
            .endpoint
            .covered()
            .iter()
            .map(|name| format!("{name}: {}", headers[*name].to_str().unwrap()))
            .collect::<Vec<_>>()
            .join("\n");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&req.secret).unwrap();
        mac.update(signing_string.as_bytes());
        let expected_mac = mac.finalize().into_bytes();
        prop_assert_eq!(&params.signature, &STANDARD.encode(expected_mac));
        prop_assert_eq!(
            headers["digest"].to_str().unwrap(),
            format!("SHA-256={}", STANDARD.encode(Sha256::digest(&req.body)))
        );

        let verified = req
            .verifier_at(req.offset)
            .verify(&head(headers), &req.body)
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(verified.date(), unix(req.date));
        prop_assert_eq!(verified.key_id(), "hmac-key");
        prop_assert_eq!(verified.signed_headers().collect::<Vec<_>>(), req.endpoint.covered());
        prop_assert_eq!(&verified.mac()[..], &expected_mac[..]);
    }

    #[test]
    fn changing_a_byte_of_a_signed_header_fails(
        req in request(),
        which in any::<Index>(),
        position in any::<Index>(),
        replacement in replacement(),
    ) {
        let mut headers = req.headers();
        let name = *which.get(req.endpoint.covered());
        let mut value = headers[name].as_bytes().to_vec();
        let at = position.index(value.len());
        let new = match replacement {
            Replacement::Ascii(delta) => {
                let alphabet = ascii_header_bytes();
                let old = alphabet.iter().position(|&b| b == value[at]).unwrap();
                alphabet[(old + delta) % alphabet.len()]
            }
            Replacement::ObsText(b) => b,
        };
        prop_assert_ne!(new, value[at]);
        value[at] = new;
        headers.insert(name, HeaderValue::from_bytes(&value).unwrap());

        let err = req.verify(headers, &req.body).err();
        prop_assert!(err.is_some(), "{} changed to {:?} still verifies", name, value);
        let class = err.unwrap().class();
        let expected: &[&str] = if new >= 0x80 {
            &["malformed"]
        } else {
            match name {
                "accept" => &["policy"],
                "accept-encoding" | "content-type" => &["signature"],
                "date" => &["stale", "signature"],
                "digest" => &["digest", "signature"],
                other => unreachable!("{other}"),
            }
        };
        prop_assert!(expected.contains(&class), "{}: {:?} gave {}", name, value, class);
    }

    #[test]
    fn changing_a_byte_of_the_body_fails(
        req in request(),
        position in any::<Index>(),
        delta in 1..=255u8,
    ) {
        prop_assume!(!req.body.is_empty());
        let mut body = req.body.clone();
        let at = position.index(body.len());
        body[at] ^= delta;
        prop_assert_eq!(req.verify(req.headers(), &body), Err(Error::DigestMismatch));
        // Control: the untouched body passes.
        prop_assert_eq!(req.verify(req.headers(), &req.body), Ok(()));
    }

    #[test]
    fn changing_the_mac_fails(req in request(), how in tamper()) {
        let mut headers = req.headers();
        let mut params = signature_params(&headers);
        let original = params.signature.clone();
        params.signature = match how {
            Tamper::Char(position, delta) => {
                let mut chars = original.clone().into_bytes();
                let significant = original.trim_end_matches('=').len();
                let at = position.index(significant);
                let old = BASE64.iter().position(|&c| c == chars[at]).unwrap();
                chars[at] = BASE64[(old + delta) % BASE64.len()];
                String::from_utf8(chars).unwrap()
            }
            Tamper::Bit(bit) => {
                let mut mac = STANDARD.decode(&original).unwrap();
                mac[bit / 8] ^= 1 << (bit % 8);
                STANDARD.encode(mac)
            }
        };
        prop_assert_ne!(&params.signature, &original);
        set_signature_params(&mut headers, &params);
        prop_assert_eq!(req.verify(headers, &req.body), Err(Error::Signature));
    }

    #[test]
    fn a_clock_outside_the_window_fails(
        req in request(),
        beyond in (SKEW + 1)..=100_000_000,
        later in any::<bool>(),
    ) {
        let offset = if later { beyond } else { -beyond };
        let result = req.verifier_at(offset).verify(&head(req.headers()), &req.body);
        prop_assert_eq!(result.map(drop).map_err(|e| e.class()), Err("stale"));
    }
}

// ---------------------------------------------------------------------------------------------
// Parsers
// ---------------------------------------------------------------------------------------------

const NAMES: [&str; 6] = [
    "keyId",
    "algorithm",
    "signature",
    "headers",
    "created",
    "expires",
];

/// Text built from the pieces of the grammar, mostly not well-formed.
fn grammarish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "keyId",
            "KEYID",
            "algorithm",
            "headers",
            "signature",
            "created",
            "expires",
            "=",
            "\"",
            "\\",
            ",",
            " ",
            "\t",
            "keyId=\"hmac-key\"",
            "signature=\"c2ln\"",
            "headers=\"date digest\"",
            "created=1",
        ])
        .prop_map(String::from),
        "[a-zA-Z0-9]{1,3}",
    ];
    prop::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

/// One `name=value` parameter as written on the wire, with what it means.
#[derive(Debug, Clone)]
struct Param {
    /// The name as written (any case).
    name: String,
    /// The value after unquoting.
    value: String,
    /// `name BWS = BWS value`.
    text: String,
}

/// A value: `(meaning, text)`, as a token or a quoted string with arbitrary escapes.
fn value() -> impl Strategy<Value = (String, String)> {
    let quoted_char = prop_oneof![
        6 => prop::char::range(' ', '~'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('\t'),
    ];
    let quoted = prop::collection::vec((quoted_char, any::<bool>()), 0..16).prop_map(|chars| {
        let mut text = String::from("\"");
        let mut meaning = String::new();
        for (c, escape) in chars {
            if escape || c == '"' || c == '\\' {
                text.push('\\');
            }
            text.push(c);
            meaning.push(c);
        }
        text.push('"');
        (meaning, text)
    });
    let digits = "[0-9]{1,20}";
    prop_oneof![
        "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}".prop_map(|t| (t.clone(), t)),
        digits.prop_map(|t| (t.clone(), t)),
        digits.prop_map(|t| (t.clone(), format!("\"{t}\""))),
        quoted,
    ]
}

fn param(name: &'static str) -> impl Strategy<Value = Param> {
    let value = if matches!(name, "created" | "expires") {
        // Mostly what these must be: digits, quoted or not, sometimes too many for an i64.
        prop_oneof![
            3 => "[0-9]{1,19}".prop_map(|t| (t.clone(), t)),
            1 => "[0-9]{1,20}".prop_map(|t| (t.clone(), format!("\"{t}\""))),
            1 => value(),
        ]
        .boxed()
    } else {
        value().boxed()
    };
    (any::<u32>(), value, "[ \t]{0,2}", "[ \t]{0,2}").prop_map(
        move |(case_bits, (value, text), before, after)| {
            let name: String = name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if case_bits & (1 << (i % 32)) != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect();
            let text = format!("{name}{before}={after}{text}");
            Param { name, value, text }
        },
    )
}

/// A header of well-formed parameters: each known name at most once, in any order and case, and
/// sometimes one more parameter (a duplicate or an unknown name).
fn params_header() -> impl Strategy<Value = (Vec<Param>, String)> {
    let known = (
        prop::option::weighted(0.9, Just(NAMES[0])),
        prop::option::weighted(0.9, Just(NAMES[2])),
        prop::sample::subsequence(vec![NAMES[1], NAMES[3], NAMES[4], NAMES[5]], 0..=4),
    )
        .prop_map(|(key_id, signature, mut names)| {
            names.extend(key_id);
            names.extend(signature);
            names
        })
        .prop_shuffle()
        .prop_flat_map(|names| names.into_iter().map(param).collect::<Vec<_>>());
    let extra = prop::option::weighted(
        0.2,
        prop::sample::select(vec![
            "keyId",
            "signature",
            "created",
            "foo",
            "nonce",
            "keyIds",
        ])
        .prop_flat_map(param),
    );
    let separator = prop_oneof![
        "[ \t]{0,2},[ \t]{0,2}",
        Just(",,".to_owned()),
        Just(" , ,\t".to_owned()),
    ];
    (
        known,
        extra,
        any::<Index>(),
        prop::collection::vec(separator, 8),
        "[ \t]{0,2}",
        "[ \t,]{0,2}",
    )
        .prop_map(|(mut params, extra, at, separators, lead, trail)| {
            if let Some(extra) = extra {
                let at = at.index(params.len() + 1);
                params.insert(at, extra);
            }
            let mut text = lead;
            for (i, p) in params.iter().enumerate() {
                if i > 0 {
                    text.push_str(&separators[i - 1]);
                }
                text.push_str(&p.text);
            }
            text.push_str(&trail);
            (params, text)
        })
}

/// What the parser must return for these parameters, by the rules of `SignatureParams::parse`.
fn model(params: &[Param]) -> Option<SignatureParams> {
    if params.len() > MAX_PARAMS {
        return None;
    }
    let mut seen = HashSet::new();
    let (mut key_id, mut signature) = (None, None);
    let mut out = SignatureParams::default();
    for p in params {
        let name = p.name.to_ascii_lowercase();
        if !seen.insert(name.clone()) {
            return None;
        }
        let unix = || -> Option<i64> {
            if p.value.is_empty() || !p.value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.value.parse().ok()
        };
        match name.as_str() {
            "keyid" => key_id = Some(p.value.clone()),
            "signature" => signature = Some(p.value.clone()),
            "algorithm" => out.algorithm = Some(p.value.clone()),
            "headers" => out.headers = Some(p.value.clone()),
            "created" => out.created = Some(unix()?),
            "expires" => out.expires = Some(unix()?),
            _ => return None,
        }
    }
    out.key_id = key_id?;
    out.signature = signature?;
    Some(out)
}

/// Printable ASCII, with `"` and `\` often.
fn printable(max: usize) -> impl Strategy<Value = String> {
    let c = prop_oneof![
        4 => prop::char::range(' ', '~'),
        1 => Just('"'),
        1 => Just('\\'),
    ];
    prop::collection::vec(c, 0..max).prop_map(|v| v.into_iter().collect())
}

prop_compose! {
    fn arbitrary_params()(
        key_id in printable(24),
        algorithm in prop::option::of(printable(16)),
        signature in printable(48),
        headers in prop::option::of(printable(64)),
        created in prop::option::of(0..=i64::MAX),
        expires in prop::option::of(0..=i64::MAX),
    ) -> SignatureParams {
        SignatureParams { key_id, algorithm, signature, headers, created, expires }
    }
}

/// What `HeaderList::parse` must accept: names or `(names)` separated by single spaces.
fn header_list_model(list: &str) -> Result<Vec<String>, &'static str> {
    if list.is_empty() {
        return Err("policy");
    }
    let entries: Vec<&str> = list.split(' ').collect();
    let valid = |e: &str| {
        let inner = e
            .strip_prefix('(')
            .and_then(|e| e.strip_suffix(')'))
            .unwrap_or(e);
        !inner.is_empty() && inner.chars().all(is_tchar)
    };
    if entries.len() > MAX_HEADER_LIST_ENTRIES || !entries.iter().all(|e| valid(e)) {
        return Err("malformed");
    }
    Ok(entries.iter().map(|e| e.to_ascii_lowercase()).collect())
}

fn header_listish() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        30 => prop_oneof![
            prop::sample::select(vec!["date", "Digest", "ACCEPT", "(request-target)", "(created)"])
                .prop_map(String::from),
            "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,8}",
            "\\([a-z-]{1,8}\\)",
        ],
        1 => prop::sample::select(vec!["", "(", ")", "()", "a:b", "é", "(a", "a)", "a\tb", "\"x\""])
            .prop_map(String::from),
    ];
    let separator = prop_oneof![40 => Just(" "), 1 => Just("  "), 1 => Just("\t")];
    prop::collection::vec((entry, separator), 0..36).prop_map(|entries| {
        let mut text = String::new();
        for (i, (entry, separator)) in entries.iter().enumerate() {
            if i > 0 {
                text.push_str(separator);
            }
            text.push_str(entry);
        }
        text
    })
}

proptest! {
    #[test]
    fn params_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..10 * 1024)) {
        if let Ok(p) = SignatureParams::parse_bytes(&bytes) {
            prop_assert_eq!(SignatureParams::parse(&p.to_string()), Ok(p));
        }
    }

    #[test]
    fn params_parser_never_panics_on_grammarish_text(text in grammarish()) {
        match SignatureParams::parse(&text) {
            Ok(p) => prop_assert_eq!(SignatureParams::parse(&p.to_string()), Ok(p)),
            Err(e) => prop_assert_eq!(e.class(), "malformed"),
        }
    }

    #[test]
    fn params_parser_follows_the_grammar((params, text) in params_header()) {
        let parsed = SignatureParams::parse(&text);
        let expected = model(&params);
        prop_assert_eq!(parsed.as_ref().ok(), expected.as_ref(), "{:?} gave {:?}", text, parsed);
        if let Ok(p) = parsed {
            prop_assert_eq!(SignatureParams::parse(&p.to_string()), Ok(p));
        }
    }

    #[test]
    fn params_render_and_parse_back(params in arbitrary_params()) {
        let text = params.to_string();
        prop_assert!(text.starts_with("keyId=\""), "{}", text);
        prop_assert!(HeaderValue::from_str(&text).is_ok());
        prop_assert_eq!(SignatureParams::parse(&text), Ok(params));
    }

    #[test]
    fn digest_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = parse_digest(&bytes) {
            prop_assert_eq!(e.class(), "digest");
        }
    }

    #[test]
    fn digest_parser_never_panics_on_digestish_text(
        text in "((sha-256|SHA-256|Sha-512|md5|=|,| |:)|[A-Za-z0-9+/]{0,44}){0,8}",
    ) {
        if let Err(e) = parse_digest(text.as_bytes()) {
            prop_assert_eq!(e.class(), "digest");
        }
    }

    #[test]
    fn digest_header_parses_back(body in prop::collection::vec(any::<u8>(), 0..1024), lower in any::<bool>()) {
        let mut header = digest_header(&body);
        if lower {
            header = header.replacen("SHA-256", "sha-256", 1);
        }
        let hash = parse_digest(header.as_bytes()).unwrap();
        prop_assert_eq!(&hash[..], &Sha256::digest(&body)[..]);
        prop_assert_eq!(check_body(&hash, &body), Ok(()));
    }

    #[test]
    fn header_list_parser_never_panics(text in any::<String>()) {
        prop_assert_eq!(
            HeaderList::parse(&text).map(|l| l.iter().map(str::to_owned).collect()).map_err(|e| e.class()),
            header_list_model(&text)
        );
    }

    #[test]
    fn header_list_parser_follows_the_grammar(text in header_listish()) {
        let parsed = HeaderList::parse(&text);
        prop_assert_eq!(
            parsed.as_ref().map(|l| l.iter().map(str::to_owned).collect()).map_err(Error::class),
            header_list_model(&text)
        );
        if let Ok(list) = parsed {
            prop_assert!(list.len() <= MAX_HEADER_LIST_ENTRIES);
            prop_assert_eq!(list.iter().collect::<Vec<_>>().join(" "), text.to_ascii_lowercase());
        }
    }
}
