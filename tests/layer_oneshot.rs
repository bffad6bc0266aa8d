//! The verifying layer through `tower::ServiceExt::oneshot`, no network: the body is never polled
//! before the MAC is checked (B-56), the `Verified` extension, body errors, and property tests
//! over arbitrary header sets and chunkings.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::kind::ADMISSION_V1;
use drone_extension::layer::VerifiedBody;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::signature::{SharedSecret, SignatureParams, Signer, Verified};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use tower::{Layer, ServiceExt};

const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";

/// What the inner service saw: the `Verified` extension, the body, and the request headers.
type Received = (Option<Verified>, Bytes, HeaderMap);

/// Where the inner service records what it received.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Option<Received>>>);

impl Seen {
    fn take(&self) -> Option<Received> {
        self.0.lock().unwrap().take()
    }
}

/// Sends `request` through the layer over an inner service that records what it receives and
/// answers 200 `inner`; returns the status, the headers and the body of the response.
async fn call<B>(
    layer: &VerifySignatureLayer,
    seen: &Seen,
    request: Request<B>,
) -> (u16, HeaderMap, Bytes)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<drone_extension::BoxError>,
{
    let record = seen.clone();
    let inner = tower::service_fn(move |request: Request<VerifiedBody>| {
        let record = record.clone();
        async move {
            let verified = request.extensions().get::<Verified>().cloned();
            let headers = request.headers().clone();
            let body = request.into_body().collect().await.unwrap().to_bytes();
            *record.0.lock().unwrap() = Some((verified, body, headers));
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner"))))
        }
    });
    let response = layer.layer(inner).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

fn layer() -> VerifySignatureLayer {
    VerifySignatureLayer::for_kind(ExtensionKind::Admission, SharedSecret::new(SECRET).unwrap())
}

fn signed_at(secret: &str, body: &[u8], date: SystemTime) -> HeaderMap {
    Signer::new(SharedSecret::new(secret).unwrap())
        .extension_headers(ADMISSION_V1, body, date)
        .unwrap()
}

fn signed(body: &[u8]) -> HeaderMap {
    signed_at(SECRET, body, SystemTime::now())
}

fn request<B>(headers: HeaderMap, body: B) -> Request<B> {
    let mut request = Request::post("/").body(body).unwrap();
    *request.headers_mut() = headers;
    request
}

fn assert_rejected(response: &(u16, HeaderMap, Bytes), status: u16, text: &str) {
    let (got, headers, body) = response;
    assert_eq!(*got, status, "{body:?}");
    assert_eq!(body, text);
    assert_eq!(headers[CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(
        headers.get(WWW_AUTHENTICATE).map(|v| v.to_str().unwrap()),
        (status == 401).then_some("Signature")
    );
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

/// A body that must never be polled.
struct PanicBody;

impl Body for PanicBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        panic!("the body was polled before the signature was checked");
    }
}

/// One step of a [`Script`] body.
#[derive(Debug, Clone)]
enum Step {
    /// A data frame.
    Data(Bytes),
    /// `Poll::Pending` once (waking at once), as a network body would between packets.
    Pause,
    /// An error frame.
    Fail,
}

/// A body that plays its steps in order.
struct Script(VecDeque<Step>);

impl Body for Script {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.0.pop_front() {
            None => Poll::Ready(None),
            Some(Step::Data(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Some(Step::Pause) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Step::Fail) => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            )))),
        }
    }
}

/// `body` cut at `cuts` (positions, any order, out-of-range ones clamped), with a pause before
/// the chunks whose index is in `pauses`.
fn script(body: &[u8], cuts: &[usize], pauses: &[bool]) -> Script {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(body.len())).collect();
    cuts.extend([0, body.len()]);
    cuts.sort_unstable();
    cuts.dedup();
    let mut steps = VecDeque::new();
    for (i, w) in cuts.windows(2).enumerate() {
        if pauses.get(i).copied().unwrap_or(false) {
            steps.push_back(Step::Pause);
        }
        steps.push_back(Step::Data(Bytes::copy_from_slice(&body[w[0]..w[1]])));
    }
    Script(steps)
}

// ---------------------------------------------------------------------------------------------
// B-56 proper: the head is judged alone
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn b56_bad_mac_is_refused_without_polling_the_body() {
    let seen = Seen::default();
    let mut headers = signed_at(
        "not-the-secret-this-extension-knows",
        b"{}",
        SystemTime::now(),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(100u64 * 1024 * 1024));
    let response = call(&layer(), &seen, request(headers, PanicBody)).await;
    assert_rejected(&response, 401, "Invalid signature\n");
    assert!(seen.take().is_none());
}

#[tokio::test]
async fn b56_missing_signature_is_refused_without_polling_the_body() {
    let seen = Seen::default();
    let mut headers = signed(b"{}");
    headers.remove("signature");
    let response = call(&layer(), &seen, request(headers, PanicBody)).await;
    assert_rejected(&response, 401, "Missing signature\n");
    assert!(seen.take().is_none());
}

#[tokio::test]
async fn b56_stale_date_is_refused_without_polling_the_body() {
    let seen = Seen::default();
    let stale = SystemTime::now() - Duration::from_secs(600);
    let headers = signed_at(SECRET, b"{}", stale);
    let response = call(&layer(), &seen, request(headers, PanicBody)).await;
    assert_rejected(&response, 401, "Invalid signature\n");
    assert!(seen.take().is_none());
}

/// B-50 proper: a valid head declaring too much is refused without polling the body either.
#[tokio::test]
async fn b50_declared_length_over_the_limit_is_refused_without_polling_the_body() {
    let seen = Seen::default();
    let mut headers = signed(b"{}");
    headers.insert(CONTENT_LENGTH, HeaderValue::from(4 * 1024 * 1024 + 1));
    let response = call(&layer(), &seen, request(headers, PanicBody)).await;
    assert_rejected(&response, 413, "Payload too large\n");
    assert!(seen.take().is_none());
}

// ---------------------------------------------------------------------------------------------
// What the inner service gets
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn inner_service_gets_the_verified_extension_and_the_exact_body() {
    let seen = Seen::default();
    let body = br#"{"event":"login","user":{"login":"octocat"}}"#;
    let mut headers = signed(body);
    headers.insert("x-unsigned", HeaderValue::from_static("passed through"));
    let date = httpdate::parse_http_date(headers["date"].to_str().unwrap()).unwrap();
    let params = SignatureParams::parse(headers["signature"].to_str().unwrap()).unwrap();
    let mac = STANDARD.decode(&params.signature).unwrap();

    let chunks = script(body, &[3, 10, 30], &[false, true, false, true]);
    let (status, _, answer) = call(&layer(), &seen, request(headers.clone(), chunks)).await;
    assert_eq!(status, 200);
    assert_eq!(answer, "inner");

    let (verified, got, got_headers) = seen.take().expect("the inner service was called");
    let verified = verified.expect("a Verified extension");
    assert_eq!(verified.key_id(), "hmac-key");
    assert_eq!(
        verified.signed_headers().collect::<Vec<_>>(),
        [
            "accept",
            "accept-encoding",
            "content-type",
            "date",
            "digest"
        ]
    );
    assert!(verified.is_signed("digest") && !verified.is_signed("x-unsigned"));
    assert_eq!(verified.date(), date);
    assert_eq!(&verified.mac()[..], &mac[..]);
    assert_eq!(got, &body[..]);
    assert_eq!(got_headers, headers, "the head is passed on unchanged");
}

#[tokio::test]
async fn a_body_error_is_400_invalid_body() {
    let seen = Seen::default();
    let body = br#"{"event":"login"}"#;
    let failing = Script(VecDeque::from([
        Step::Data(Bytes::from_static(&body[..5])),
        Step::Fail,
        Step::Data(Bytes::from_static(&body[5..])),
    ]));
    let response = call(&layer(), &seen, request(signed(body), failing)).await;
    assert_rejected(&response, 400, "Invalid body\n");
    assert!(seen.take().is_none());
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const NAMES: [&str; 10] = [
    "signature",
    "authorization",
    "date",
    "digest",
    "content-length",
    "accept",
    "accept-encoding",
    "content-type",
    "Signature",
    "x-drone-event",
];

/// A header name: mostly the ones the layer reads, sometimes an arbitrary token.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&NAMES[..]).prop_map(str::to_owned),
        1 => "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,16}",
    ]
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A header value: arbitrary bytes (often invalid, then skipped), or something shaped like what
/// the layer parses.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    let now = SystemTime::now();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48),
        "[0-9]{1,22}".prop_map(String::into_bytes),
        (-400i64..400).prop_map(move |s| {
            let at = if s >= 0 {
                now + Duration::from_secs(s as u64)
            } else {
                now - Duration::from_secs(s.unsigned_abs())
            };
            httpdate::fmt_http_date(at).into_bytes()
        }),
        prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|h| format!("SHA-256={}", b64(&h)).into_bytes()),
        (
            prop::sample::select(vec!["hmac-key", "other", ""]),
            prop::sample::select(vec!["hmac-sha256", "hmac-sha1", "HMAC-SHA256"]),
            prop::collection::vec(any::<u8>(), 0..40),
            prop::sample::subsequence(NAMES[..8].to_vec(), 0..8),
            any::<bool>(),
        )
            .prop_map(|(key, alg, mac, names, authorization)| {
                let params = format!(
                    r#"keyId="{key}",algorithm="{alg}",signature="{}",headers="{}""#,
                    b64(&mac),
                    names.join(" ")
                );
                if authorization {
                    format!("Signature {params}").into_bytes()
                } else {
                    params.into_bytes()
                }
            }),
        "application/(json|vnd\\.drone\\.admission\\.v1\\+json)|identity|gzip"
            .prop_map(String::into_bytes),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(String, Vec<u8>),
    Append(String, Vec<u8>),
    Remove(String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (header_name(), header_value()).prop_map(|(n, v)| Edit::Insert(n, v)),
        // A declared length: at most the limit passes, above it is 413 (once the MAC verified).
        2 => "[0-9]{1,8}".prop_map(|v| Edit::Insert("content-length".into(), v.into_bytes())),
        2 => (header_name(), header_value()).prop_map(|(n, v)| Edit::Append(n, v)),
        1 => header_name().prop_map(Edit::Remove),
    ]
}

/// Applies an edit; `false` when the name or value is not valid in a header map (skipped).
fn apply(headers: &mut HeaderMap, edit: &Edit) -> bool {
    let (name, value) = match edit {
        Edit::Insert(n, v) | Edit::Append(n, v) => (n, Some(v)),
        Edit::Remove(n) => (n, None),
    };
    let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
        return false;
    };
    match value {
        None => {
            headers.remove(&name);
        }
        Some(v) => {
            let Ok(value) = HeaderValue::from_bytes(v) else {
                return false;
            };
            if matches!(edit, Edit::Insert(..)) {
                headers.insert(name, value);
            } else {
                headers.append(name, value);
            }
        }
    }
    true
}

const REJECTIONS: [&str; 7] = [
    "Missing signature\n",
    "Malformed signature\n",
    "Malformed digest\n",
    "Invalid signature\n",
    "Payload too large\n",
    "Request timeout\n",
    "Invalid body\n",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary header sets (from scratch or edits of a valid signed set) and arbitrary chunked
    /// bodies: never a panic, always one of the documented statuses, a generic text on refusal,
    /// and on acceptance the inner service got exactly the bytes sent.
    #[test]
    fn arbitrary_heads_and_bodies_get_a_documented_answer(
        body in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(0usize..512, 0..6),
        pauses in prop::collection::vec(any::<bool>(), 0..8),
        from_signed in prop::bool::weighted(0.75),
        edits in prop::collection::vec(edit(), 0..4),
    ) {
        let mut headers = if from_signed { signed(&body) } else { HeaderMap::new() };
        let applied = edits.iter().filter(|e| apply(&mut headers, e)).count();
        let seen = Seen::default();
        let (status, response_headers, answer) = runtime().block_on(call(
            &layer(),
            &seen,
            request(headers, script(&body, &cuts, &pauses)),
        ));
        prop_assert!([200, 400, 401, 408, 413].contains(&status), "status {}", status);
        if status == 200 {
            prop_assert_eq!(&answer[..], b"inner");
            let (verified, got, _) = seen.take().expect("the inner service was called");
            prop_assert_eq!(verified.expect("Verified").key_id().to_owned(), "hmac-key");
            prop_assert_eq!(&got[..], &body[..]);
        } else {
            prop_assert!(seen.take().is_none());
            prop_assert!(REJECTIONS.contains(&&*String::from_utf8_lossy(&answer)), "{:?}", answer);
            prop_assert_eq!(
                response_headers.contains_key(WWW_AUTHENTICATE),
                status == 401
            );
        }
        if from_signed && applied == 0 {
            prop_assert_eq!(status, 200);
        }
        if !from_signed {
            // Nothing was signed with the secret: never accepted.
            prop_assert_ne!(status, 200);
        }
    }

    /// Validly signed requests always reach the inner service with the exact bytes, however the
    /// body is chunked.
    #[test]
    fn signed_bodies_reach_the_inner_service_exactly(
        body in prop::collection::vec(any::<u8>(), 0..8 * 1024),
        cuts in prop::collection::vec(0usize..8 * 1024, 0..24),
        pauses in prop::collection::vec(any::<bool>(), 0..25),
    ) {
        let seen = Seen::default();
        let (status, _, answer) = runtime().block_on(call(
            &layer(),
            &seen,
            request(signed(&body), script(&body, &cuts, &pauses)),
        ));
        prop_assert_eq!(status, 200, "{:?}", answer);
        let (verified, got, _) = seen.take().expect("the inner service was called");
        prop_assert_eq!(verified.expect("Verified").key_id().to_owned(), "hmac-key");
        prop_assert_eq!(&got[..], &body[..]);
    }
}
