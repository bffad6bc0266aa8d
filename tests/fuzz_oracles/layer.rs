//! `layer_end_to_end`: the verifying tower layer, driven end to end (`security.md` §8.3 #6).
//!
//! A request is built exactly as Drone sends it (kind, `Accept`, `Date`, body, `Signature:` or
//! `Authorization: Signature`), the verifier's clock is set `clock` seconds away from the `Date`,
//! an optional `Content-Length` is declared (the true length, or any digit string: lies, leading
//! zeros, more digits than a `u64` holds), at most one [`Damage`] is applied, and the body is cut
//! into chunks at arbitrary points (empty chunks included), optionally followed by trailers. The
//! request goes through `VerifySignatureLayer` (limit [`LIMIT`]) with `tower::ServiceExt::oneshot`
//! on a current-thread runtime, over an inner service that records what it receives. The body
//! yields every frame at once, so no deadline can fire.
//!
//! A model, written independently of the layer, predicts the answer:
//!
//! 1. a damaged head (a changed or missing signed header, a signed header or the signature header
//!    sent twice, a changed MAC, the clock out of the ±300 s window) is 400 or 401, and the body
//!    is never polled;
//! 2. otherwise a declared `Content-Length` above the limit is 413, and the body is never polled;
//! 3. otherwise the frames are read in order: more than [`LIMIT`] data bytes so far is 413, an
//!    error frame is 400, trailers are ignored;
//! 4. then a body that differs from the signed one is 401, and anything else is 200, with the
//!    inner service receiving exactly the signed bytes and a `Verified` extension for them.
//!
//! Unsigned headers (dropped, repeated) and a declared length that lies within the limit change
//! nothing: the body is authenticated by the signed `Digest`, not by its length (hyper enforces
//! the framing before a service sees the request). So the layer answers 200 iff nothing covered
//! was damaged and the body fits the limit. Besides: only the documented statuses, generic text
//! bodies, `WWW-Authenticate` on 401 only, and the inner service is called on 200 only.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::layer::VerifiedBody;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::signature::{
    DRONE_KEY_ID, Keyring, Policy, SharedSecret, SignatureParams, Signer, Verified, Verifier,
};
use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt};

use super::trim_ows;

/// The secret every request is signed with.
pub const SECRET: &str = "fuzz-secret-0123456789abcdef0123";

/// The layer's body limit: small, so that inputs of a few KiB cross it.
pub const LIMIT: usize = 4 * 1024;

/// The ±window of the verifier's clock (the policy's default).
const SKEW_SECS: u32 = 300;

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Input<'a> {
    /// Index into `ExtensionKind::ALL`.
    pub kind: u8,
    /// Index into the kind's media types.
    pub accept: u8,
    /// The `Date`, in seconds from 1970.
    pub date: u32,
    /// The verifier's clock minus the `Date`, in seconds: beyond ±300 the request is stale.
    pub clock: i16,
    /// `Authorization: Signature …` instead of `Signature: …`.
    pub authorization: bool,
    pub length: Length,
    pub damage: Damage,
    /// A trailers frame after the body.
    pub trailers: bool,
    /// Where the body is cut into chunks (each modulo the body length plus one; repeated cuts
    /// give empty chunks).
    pub cuts: Vec<u16>,
    /// Everything left in the input, as is.
    pub body: &'a [u8],
}

/// The `Content-Length` sent.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Absent,
    /// The length of the body as sent.
    Exact,
    /// `leading % 4` zeros, `value`, `trailing % 24` zeros; `padded`: with spaces and a tab
    /// around. Any number, true or not, possibly beyond `u64`.
    Declared {
        value: u16,
        leading: u8,
        trailing: u8,
        padded: bool,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    None,
    /// XOR a byte of the value of a signed header (not the signature header).
    FlipSignedHeader {
        header: u8,
        at: u16,
        mask: u8,
    },
    /// XOR a byte of the body after signing (append `mask` to an empty body).
    FlipBody {
        at: u16,
        mask: u8,
    },
    /// XOR a byte of the base64 MAC (7 bits, so it stays ASCII).
    FlipSignature {
        at: u8,
        mask: u8,
    },
    /// Leave out one header field, signed or not.
    DropHeader {
        header: u8,
    },
    /// Send one header field twice, same value.
    DuplicateHeader {
        header: u8,
    },
    /// An error frame (a connection reset) after `at` body bytes.
    BodyError {
        at: u16,
    },
}

/// A request as it goes over the wire, and what the model needs to know about it.
struct Wire {
    kind: ExtensionKind,
    fields: Vec<(&'static str, Vec<u8>)>,
    covered: &'static [&'static str],
    carrier: &'static str,
    signed_body: Vec<u8>,
    body: Vec<u8>,
    date: SystemTime,
    mac: String,
}

const EXTENSION_COVERED: &[&str] = &[
    "accept",
    "accept-encoding",
    "content-type",
    "date",
    "digest",
];
const WEBHOOK_COVERED: &[&str] = &["date", "digest"];

impl Wire {
    fn is_covered(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        name == self.carrier || self.covered.contains(&name.as_str())
    }

    /// The value of the signature header, without the `Signature ` scheme.
    fn mac_header(&self) -> String {
        let (_, value) = self
            .fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(self.carrier))
            .expect("the signature header is there");
        let value = std::str::from_utf8(value).expect("ASCII");
        value.strip_prefix("Signature ").unwrap_or(value).to_owned()
    }
}

fn build(input: &Input<'_>) -> Wire {
    let kind = ExtensionKind::ALL[usize::from(input.kind) % ExtensionKind::ALL.len()];
    let types = kind.media_types();
    let media_type = types[usize::from(input.accept) % types.len()];
    let date = UNIX_EPOCH + Duration::from_secs(u64::from(input.date));
    let signer = Signer::new(SharedSecret::new(SECRET).expect("a secret"));
    let webhook = kind == ExtensionKind::Webhook;
    let signed = if webhook {
        signer.webhook_headers(input.body, date)
    } else {
        signer.extension_headers(media_type, input.body, date)
    }
    .expect("Drone's headers are valid");

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
            fields.push((name, value.as_bytes().to_vec()));
        }
    }
    let signature = signed["signature"].to_str().expect("ASCII").to_owned();
    let mac = SignatureParams::parse(&signature)
        .expect("the signer's header parses")
        .signature;
    let carrier = if input.authorization {
        fields.push((
            "Authorization",
            format!("Signature {signature}").into_bytes(),
        ));
        "authorization"
    } else {
        fields.push(("Signature", signature.into_bytes()));
        "signature"
    };
    fields.push(("Host", b"extension.example:3000".to_vec()));
    fields.push(("User-Agent", b"Go-http-client/1.1".to_vec()));
    if webhook {
        fields.push(("X-Drone-Event", b"push".to_vec()));
        fields.push(("Accept-Encoding", b"gzip".to_vec()));
    }
    Wire {
        kind,
        fields,
        covered: if webhook {
            WEBHOOK_COVERED
        } else {
            EXTENSION_COVERED
        },
        carrier,
        signed_body: input.body.to_vec(),
        body: input.body.to_vec(),
        date,
        mac,
    }
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

/// Applies the damage to the head (the body error is placed later, with the chunks); says
/// whether it changed something the signature covers in the head.
fn damage_head(damage: Damage, wire: &mut Wire) -> bool {
    match damage {
        Damage::None | Damage::FlipBody { .. } | Damage::BodyError { .. } => false,
        Damage::FlipSignedHeader { header, at, mask } => {
            let signed: Vec<usize> = (0..wire.fields.len())
                .filter(|&i| {
                    let name = wire.fields[i].0.to_ascii_lowercase();
                    wire.covered.contains(&name.as_str())
                })
                .collect();
            let i = signed[usize::from(header) % signed.len()];
            let value = &mut wire.fields[i].1;
            let before = value.clone();
            flip(value, usize::from(at), mask);
            // Drone sends no surrounding whitespace, so any change is a change of the trimmed value.
            trim_ows(value) != before.as_slice()
        }
        Damage::FlipSignature { at, mask } => {
            let mut params = SignatureParams::parse(&wire.mac_header()).expect("parses");
            let mut mac = std::mem::take(&mut params.signature).into_bytes();
            flip(&mut mac, usize::from(at), mask & 0x7F);
            params.signature = String::from_utf8(mac).expect("ASCII stays ASCII");
            let changed = params.signature != wire.mac;
            let rendered = params.to_string();
            let carrier = wire.carrier;
            let field = wire
                .fields
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(carrier))
                .expect("the signature header is there");
            field.1 = if carrier == "authorization" {
                format!("Signature {rendered}").into_bytes()
            } else {
                rendered.into_bytes()
            };
            changed
        }
        Damage::DropHeader { header } => {
            let i = usize::from(header) % wire.fields.len();
            let (name, _) = wire.fields.remove(i);
            wire.is_covered(name)
        }
        Damage::DuplicateHeader { header } => {
            let i = usize::from(header) % wire.fields.len();
            let field = wire.fields[i].clone();
            let covered = wire.is_covered(field.0);
            wire.fields.push(field);
            covered
        }
    }
}

fn content_length(length: Length, body_len: usize) -> Option<Vec<u8>> {
    match length {
        Length::Absent => None,
        Length::Exact => Some(body_len.to_string().into_bytes()),
        Length::Declared {
            value,
            leading,
            trailing,
            padded,
        } => {
            let digits = format!(
                "{}{value}{}",
                "0".repeat(usize::from(leading % 4)),
                "0".repeat(usize::from(trailing % 24))
            );
            Some(if padded {
                format!(" \t{digits} ").into_bytes()
            } else {
                digits.into_bytes()
            })
        }
    }
}

/// Whether a `Content-Length` value declares more than the limit: `1*DIGIT` (after OWS) whose
/// number, however many digits it has, is above [`LIMIT`].
fn declares_too_much(value: &[u8]) -> bool {
    let digits = trim_ows(value);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false; // not a length: ignored (hyper refuses it before a service sees it)
    }
    let significant = match digits.iter().position(|&d| d != b'0') {
        Some(first) => &digits[first..],
        None => return false,
    };
    // 39 digits are more than any 128-bit number; fewer are compared exactly.
    significant.len() >= 39
        || std::str::from_utf8(significant)
            .expect("digits")
            .parse::<u128>()
            .expect("fewer than 39 digits")
            > LIMIT as u128
}

/// One frame of the request body.
#[derive(Debug, Clone)]
enum Step {
    Data(Bytes),
    Error,
    Trailers,
}

/// The body frames: the body cut at `cuts`, an error frame after `error_at` bytes, trailers.
fn frames(body: &[u8], cuts: &[u16], error_at: Option<u16>, trailers: bool) -> VecDeque<Step> {
    let at = |c: u16| usize::from(c) % (body.len() + 1);
    // (position, is the error); the error goes after the data up to its position.
    let mut points: Vec<(usize, bool)> = cuts.iter().map(|&c| (at(c), false)).collect();
    points.extend(error_at.map(|e| (at(e), true)));
    points.sort_unstable();
    let mut steps = VecDeque::new();
    let mut start = 0;
    for (end, error) in points {
        steps.push_back(Step::Data(Bytes::copy_from_slice(&body[start..end])));
        start = end;
        if error {
            steps.push_back(Step::Error);
        }
    }
    steps.push_back(Step::Data(Bytes::copy_from_slice(&body[start..])));
    if trailers {
        steps.push_back(Step::Trailers);
    }
    steps
}

/// A body that yields its frames one per poll, never pending, and counts its polls.
struct Frames {
    steps: VecDeque<Step>,
    polls: Arc<AtomicUsize>,
}

impl Body for Frames {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        Poll::Ready(self.steps.pop_front().map(|step| match step {
            Step::Data(data) => Ok(Frame::data(data)),
            Step::Error => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            )),
            Step::Trailers => {
                let mut trailers = HeaderMap::new();
                trailers.insert("x-trailer", HeaderValue::from_static("unsigned"));
                Ok(Frame::trailers(trailers))
            }
        }))
    }
}

/// What the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A refusal on the head alone: 400 or 401, the body never polled.
    Head,
    /// 413 on the declared length, the body never polled.
    Declared,
    /// This status, after reading the body.
    Read(u16),
}

fn model(
    head_damaged: bool,
    declared: Option<&[u8]>,
    steps: &VecDeque<Step>,
    body_changed: bool,
) -> Expect {
    if head_damaged {
        return Expect::Head;
    }
    if declared.is_some_and(declares_too_much) {
        return Expect::Declared;
    }
    let mut total = 0;
    for step in steps {
        match step {
            Step::Data(data) => {
                total += data.len();
                if total > LIMIT {
                    return Expect::Read(413);
                }
            }
            Step::Error => return Expect::Read(400),
            Step::Trailers => {}
        }
    }
    Expect::Read(if body_changed { 401 } else { 200 })
}

/// The response texts of the layer's refusals.
const REJECTIONS: [&str; 7] = [
    "Missing signature\n",
    "Malformed signature\n",
    "Malformed digest\n",
    "Invalid signature\n",
    "Payload too large\n",
    "Request timeout\n",
    "Invalid body\n",
];

thread_local! {
    /// One current-thread runtime per thread (the fuzzer has one thread; `cargo test` several),
    /// with the timer the layer's body deadlines need.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
}

/// What the inner service received.
type Received = Arc<Mutex<Option<(Option<Verified>, Bytes)>>>;

pub fn check(input: &Input<'_>) -> bool {
    let mut wire = build(input);
    let head_damaged = damage_head(input.damage, &mut wire);
    let mut body_changed = false;
    if let Damage::FlipBody { at, mask } = input.damage {
        flip(&mut wire.body, usize::from(at), mask);
        body_changed = wire.body != wire.signed_body;
    }
    // The declared length goes in where Go puts it, after the other headers of the request, so
    // that a dropped or duplicated header index chooses among the others.
    if let Some(value) = content_length(input.length, wire.body.len()) {
        wire.fields.push(("Content-Length", value));
    }
    let stale = u32::from(input.clock.unsigned_abs()) > SKEW_SECS;
    let error_at = match input.damage {
        Damage::BodyError { at } => Some(at),
        _ => None,
    };
    let steps = frames(&wire.body, &input.cuts, error_at, input.trailers);

    let mut headers = HeaderMap::new();
    for (name, value) in &wire.fields {
        let Ok(value) = HeaderValue::from_bytes(value) else {
            // A flip to a control byte: not something an HTTP server would hand over.
            return false;
        };
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid name");
        headers.append(name, value);
    }
    // The layer reads the first one (a duplicate has the same value).
    let declared = headers.get("content-length").map(|v| v.as_bytes().to_vec());
    let expect = model(
        head_damaged || stale,
        declared.as_deref(),
        &steps,
        body_changed,
    );

    let now = if input.clock >= 0 {
        wire.date + Duration::from_secs(u64::from(input.clock.unsigned_abs()))
    } else {
        wire.date - Duration::from_secs(u64::from(input.clock.unsigned_abs()))
    };
    let verifier = Verifier::new(
        Keyring::new(SharedSecret::new(SECRET).expect("a secret")),
        Policy::for_kind(wire.kind).clock(move || now),
    );
    let layer = VerifySignatureLayer::new(verifier).body_limit(LIMIT);

    let received: Received = Arc::default();
    let record = received.clone();
    let inner = tower::service_fn(move |request: Request<VerifiedBody>| {
        let record = record.clone();
        async move {
            let verified = request.extensions().get::<Verified>().cloned();
            let body = request
                .into_body()
                .collect()
                .await
                .expect("Full never fails")
                .to_bytes();
            let previous = record
                .lock()
                .expect("not poisoned")
                .replace((verified, body));
            assert!(previous.is_none(), "the inner service was called twice");
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner"))))
        }
    });

    let polls = Arc::new(AtomicUsize::new(0));
    let body = Frames {
        steps,
        polls: polls.clone(),
    };
    let mut request = Request::post(wire.kind.path())
        .body(body)
        .expect("a request");
    *request.headers_mut() = headers;

    let (status, www_authenticate, answer) = RUNTIME.with(|rt| {
        rt.block_on(async {
            let response = layer
                .layer(inner)
                .oneshot(request)
                .await
                .expect("the layer's error is the inner service's: Infallible");
            let status = response.status().as_u16();
            let www_authenticate = response.headers().contains_key(WWW_AUTHENTICATE);
            let answer = response
                .into_body()
                .collect()
                .await
                .expect("Infallible")
                .to_bytes();
            (status, www_authenticate, answer)
        })
    });
    let received = received.lock().expect("not poisoned").take();
    let polls = polls.load(Ordering::Relaxed);

    assert!(
        [200, 400, 401, 408, 413].contains(&status),
        "undocumented status {status}"
    );
    match expect {
        Expect::Head => assert!(
            status == 400 || status == 401,
            "a damaged head got {status} (expected 400/401)"
        ),
        Expect::Declared => assert_eq!(status, 413, "declared {declared:?} over the limit"),
        Expect::Read(want) => assert_eq!(status, want, "{answer:?}"),
    }
    if matches!(expect, Expect::Head | Expect::Declared) {
        assert_eq!(polls, 0, "the body was polled before the head was judged");
    }
    if status == 200 {
        assert_eq!(&answer[..], b"inner");
        let (verified, got) = received.expect("the inner service was called");
        assert!(
            got == wire.signed_body,
            "the inner service got other bytes: {} of them, {} signed",
            got.len(),
            wire.signed_body.len()
        );
        let verified = verified.expect("a Verified extension");
        assert_eq!(verified.key_id(), DRONE_KEY_ID);
        assert_eq!(verified.date(), wire.date);
        assert!(verified.signed_headers().eq(wire.covered.iter().copied()));
    } else {
        assert!(
            received.is_none(),
            "the inner service was called on {status}"
        );
        let text = String::from_utf8_lossy(&answer);
        assert!(REJECTIONS.contains(&&*text), "{text:?}");
        assert_eq!(www_authenticate, status == 401);
    }
    true
}

pub fn run(data: &[u8]) -> bool {
    super::decode::<Input>(data).is_some_and(|input| check(&input))
}
