//! Benchmarks of the signature verifier (`security.md` §9).
//!
//! One group, `verify`, so that the physical floor and the verifier are measured in the same run:
//!
//! * `floor/<size>`: the crypto no verifier can avoid: SHA-256 of the body plus one HMAC-SHA256
//!   of the signing string, with a pre-keyed MAC cloned per request (`hmac`/`sha2` directly);
//! * `verifier/<size>`: the full verification of a Drone request: `Verifier::verify_headers`
//!   (signature header, parameters, policy, `Date`, HMAC) then `VerifiedHeaders::verify_body`
//!   (`Digest`);
//! * `parse/…`: the signature header parser, on Drone's header and on an adversarial 8 KiB one;
//! * `signing_string/…`: the signing string of Drone's extension and webhook requests;
//! * `reject/…`: refusals, through `verify_headers` only: they never touch the body.
//!
//! * `woodpecker_floor/<size>` (1 KiB, 64 KiB; feature `woodpecker`): SHA-256 of the body plus
//!   one Ed25519 verification of the signature base (`sha2`, `ed25519-dalek` directly);
//! * `woodpecker_verifier/<size>`: the full verification of a Woodpecker request:
//!   `woodpecker::Verifier::verify_headers` (structured fields, policy, `created`,
//!   `Content-Digest` syntax, Ed25519) then `VerifiedHeaders::verify_body` (the digest).
//!
//! Report `verifier / floor` per body size. Every request is built before the timed loop, and
//! the verifier's clock is pinned to the request's `Date`.
//!
//! A second group, `layer`, sends requests through `VerifySignatureLayer` with
//! `tower::ServiceExt::oneshot` on a current-thread tokio runtime (`security.md` §9.2):
//!
//! * `accept/<size>` (0 B, 1 KiB, 64 KiB): a Drone request, its body one ready `Full` frame, read
//!   by the layer, checked and handed to an inner service that answers 200 at once;
//! * `reject/{no-signature,bad-mac,stale}`: refusals of a request declaring a 64 KiB body that
//!   panics if polled: the layer must answer on the head alone.
//!
//! Each iteration clones the pre-built signed head into a new `http::Request` (as a server makes
//! one per request) and calls a clone of the pre-built service. Compare `layer/accept/1KiB` with
//! `verify/verifier/1KiB` for the cost of the service plumbing.
//!
//! ```text
//! cargo bench --bench verify -- --warm-up-time 1 --measurement-time 3 verify
//! cargo bench --bench verify -- --warm-up-time 1 --measurement-time 3 layer
//! ```

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use drone_extension::__fuzz::{HeaderList, signing_string};
use drone_extension::kind::SECRET_V1;
use drone_extension::layer::SchemeError as _;
use drone_extension::layer::VerifiedBody;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::signature::{Error, Policy, SharedSecret, SignatureParams, Signer, Verifier};
use hmac::{Hmac, KeyInit, Mac};
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderValue, Method, Response, Uri};
use http_body::{Body, Frame};
use http_body_util::Full;
use sha2::{Digest, Sha256};
use tower::{Layer, Service, ServiceExt};

const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";
/// `Wed, 01 Jan 2020 00:00:00 GMT`.
const DATE_SECS: u64 = 1_577_836_800;
const SIZES: [(&str, usize); 3] = [("1KiB", 1 << 10), ("64KiB", 64 << 10), ("1MiB", 1 << 20)];

/// A signed secret-extension request, exactly as Drone sends it.
struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
    date: SystemTime,
}

impl Request {
    fn new(size: usize) -> Request {
        // JSON-looking bytes; their value does not matter to SHA-256.
        let body: Vec<u8> = br#"{"path":"secret/data/docker","name":"username","build":{"id":1}}"#
            .iter()
            .copied()
            .cycle()
            .take(size)
            .collect();
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(DATE_SECS);
        let signer = Signer::new(secret());
        let headers = signer
            .extension_headers(SECRET_V1, &body, date)
            .expect("Drone's headers");
        Request {
            method: Method::POST,
            uri: Uri::from_static("/secret"),
            headers,
            body,
            date,
        }
    }

    fn verifier(&self, clock_offset: Duration) -> Verifier {
        let now = self.date + clock_offset;
        Verifier::new(
            secret(),
            Policy::drone_extension(SECRET_V1).clock(move || now),
        )
    }

    fn signature(&self) -> SignatureParams {
        SignatureParams::parse(self.headers["signature"].to_str().expect("ASCII"))
            .expect("the signer's header")
    }

    fn signing_string(&self, list: &str) -> String {
        let list = HeaderList::parse(list).expect("a list");
        signing_string(&self.method, &self.uri, &self.headers, &list).expect("a signing string")
    }
}

fn secret() -> SharedSecret {
    SharedSecret::new(SECRET).expect("a secret")
}

fn accept(group: &mut Group<'_>) {
    for (label, size) in SIZES {
        let request = Request::new(size);
        group.throughput(Throughput::Bytes(size as u64));

        // The floor: the same SHA-256 and HMAC the verifier must compute, and nothing else.
        let params = request.signature();
        let signing = request.signing_string(params.headers.as_deref().expect("headers"));
        let expected_mac = base64_decode(&params.signature);
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).expect("a key");
        group.bench_function(BenchmarkId::new("floor", label), |b| {
            b.iter(|| {
                let hash = Sha256::digest(black_box(&request.body));
                let mut mac = keyed.clone();
                mac.update(black_box(signing.as_bytes()));
                mac.verify_slice(black_box(&expected_mac))
                    .expect("the floor's MAC");
                black_box(hash)
            });
        });

        let verifier = request.verifier(Duration::ZERO);
        verifier
            .verify_headers(&request.method, &request.uri, &request.headers)
            .and_then(|head| head.verify_body(&request.body))
            .expect("the request verifies");
        group.bench_function(BenchmarkId::new("verifier", label), |b| {
            b.iter(|| {
                let head = verifier
                    .verify_headers(
                        black_box(&request.method),
                        black_box(&request.uri),
                        black_box(&request.headers),
                    )
                    .expect("the head verifies");
                black_box(head.verify_body(black_box(&request.body)))
            });
        });
    }
}

#[cfg(feature = "woodpecker")]
fn woodpecker(group: &mut Group<'_>) {
    use drone_extension::woodpecker::{Signer as WoodpeckerSigner, Verifier as WoodpeckerVerifier};
    use ed25519_dalek::{Signature, SigningKey};

    const CREATED: u64 = 1_786_000_000;
    const PATH: &str = "/woodpecker/secret";
    let seed = [9u8; 32];
    let signer = WoodpeckerSigner::from_seed(&seed);
    let verifying = SigningKey::from_bytes(&seed).verifying_key();
    for (label, size) in &SIZES[..2] {
        let body: Vec<u8> = (0..*size).map(|i| b"{\"repo\":[]}"[i % 11]).collect();
        group.throughput(Throughput::Bytes(*size as u64));
        let signed = signer.sign(PATH, &body, CREATED).expect("signs");
        let base = format!(
            "\"@request-target\": {PATH}\n\"content-digest\": {}\n\"@signature-params\": {}",
            signed.content_digest,
            signed.signature_input.split_once('=').expect("a member").1
        );
        let signature = Signature::from_bytes(&signer.sign_message(base.as_bytes()));
        group.bench_function(BenchmarkId::new("woodpecker_floor", label), |b| {
            b.iter(|| {
                let hash = Sha256::digest(black_box(&body));
                verifying
                    .verify_strict(black_box(base.as_bytes()), black_box(&signature))
                    .expect("the floor's signature");
                black_box(hash)
            });
        });

        let headers = signer.headers(PATH, &body, CREATED).expect("signs");
        let uri: Uri = PATH.parse().expect("a path");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(CREATED + 1);
        let verifier = WoodpeckerVerifier::new(signer.public_key()).clock(move || now);
        verifier
            .verify_headers(&Method::POST, &uri, &headers)
            .and_then(|head| head.verify_body(&body))
            .expect("the request verifies");
        group.bench_function(BenchmarkId::new("woodpecker_verifier", label), |b| {
            b.iter(|| {
                let head = verifier
                    .verify_headers(
                        black_box(&Method::POST),
                        black_box(&uri),
                        black_box(&headers),
                    )
                    .expect("the head verifies");
                black_box(head.verify_body(black_box(&body)))
            });
        });
    }
}

fn parse(group: &mut Group<'_>) {
    let drone = Request::new(1 << 10).headers["signature"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    // Just under the 8 KiB cap, and the most expensive path: every byte an escape, so the
    // value cannot be borrowed and is unescaped into a buffer.
    let adversarial = format!(r#"keyId="{}",signature="x""#, r#"\""#.repeat(4080));
    assert!(adversarial.len() <= drone_extension::signature::MAX_HEADER_LEN);
    for (label, header) in [("drone", &drone), ("adversarial-8KiB", &adversarial)] {
        SignatureParams::parse(header).expect("parses");
        group.throughput(Throughput::Bytes(header.len() as u64));
        group.bench_function(BenchmarkId::new("parse", label), |b| {
            b.iter(|| black_box(SignatureParams::parse(black_box(header))));
        });
    }
}

fn signing(group: &mut Group<'_>) {
    group.throughput(Throughput::Elements(1));
    let request = Request::new(1 << 10);
    for (label, list) in [
        ("drone", drone_extension::signature::EXTENSION_HEADER_LIST),
        ("webhook", drone_extension::signature::WEBHOOK_HEADER_LIST),
    ] {
        let list = HeaderList::parse(list).expect("a list");
        group.bench_function(BenchmarkId::new("signing_string", label), |b| {
            b.iter(|| {
                black_box(signing_string(
                    &request.method,
                    &request.uri,
                    black_box(&request.headers),
                    &list,
                ))
            });
        });
    }
}

fn reject(group: &mut Group<'_>) {
    group.throughput(Throughput::Elements(1));
    // The body is never passed: a refusal happens on the head alone.
    let request = Request::new(1 << 20);
    let verifier = request.verifier(Duration::ZERO);

    let mut unsigned = request.headers.clone();
    unsigned.remove("signature");

    let mut bad_mac = request.headers.clone();
    let mut params = request.signature();
    let flipped = if params.signature.starts_with('A') {
        'B'
    } else {
        'A'
    };
    params.signature.replace_range(0..1, &flipped.to_string());
    bad_mac.insert(
        "signature",
        HeaderValue::from_str(&params.to_string()).expect("a header value"),
    );

    let stale = request.verifier(Duration::from_secs(301));

    let cases: [(&str, &Verifier, &HeaderMap, &str); 3] = [
        ("no-signature", &verifier, &unsigned, "missing"),
        ("bad-mac", &verifier, &bad_mac, "signature"),
        ("stale", &stale, &request.headers, "stale"),
    ];
    for (name, verifier, headers, class) in cases {
        let err: Error = verifier
            .verify_headers(&request.method, &request.uri, headers)
            .expect_err("refused");
        assert_eq!(err.class(), class, "{name}");
        group.bench_function(BenchmarkId::new("reject", name), |b| {
            b.iter(|| {
                black_box(
                    verifier
                        .verify_headers(&request.method, &request.uri, black_box(headers))
                        .is_err(),
                )
            });
        });
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    accept(&mut group);
    parse(&mut group);
    signing(&mut group);
    reject(&mut group);
    #[cfg(feature = "woodpecker")]
    woodpecker(&mut group);
    group.finish();
}

/// A body that must never be read: the layer refuses on the head alone.
struct PanicBody;

impl Body for PanicBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        panic!("a refused request's body was polled");
    }
}

/// The service behind the layer: looks at the verified body and answers 200, empty.
fn inner_service() -> impl Service<
    http::Request<VerifiedBody>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(|request: http::Request<VerifiedBody>| async move {
        black_box(request.body().size_hint());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    })
}

/// The signed head as a server hands it over (with the `Content-Length` Go sends), around `body`.
fn http_request<B>(request: &Request, headers: &HeaderMap, body: B) -> http::Request<B> {
    let mut http = http::Request::new(body);
    *http.method_mut() = request.method.clone();
    *http.uri_mut() = request.uri.clone();
    *http.headers_mut() = headers.clone();
    http
}

fn with_length(headers: &HeaderMap, len: usize) -> HeaderMap {
    let mut headers = headers.clone();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers
}

fn layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("layer");
    group.throughput(Throughput::Elements(1));

    for (label, size) in [("0B", 0), ("1KiB", 1 << 10), ("64KiB", 64 << 10)] {
        let request = Request::new(size);
        let headers = with_length(&request.headers, size);
        let body = Bytes::from(request.body.clone());
        let service =
            VerifySignatureLayer::new(request.verifier(Duration::ZERO)).layer(inner_service());
        let status = runtime.block_on(service.clone().oneshot(http_request(
            &request,
            &headers,
            Full::new(body.clone()),
        )));
        assert_eq!(status.expect("infallible").status(), 200, "accept/{label}");
        group.bench_function(BenchmarkId::new("accept", label), |b| {
            b.to_async(&runtime).iter(|| {
                let call = service.clone().oneshot(http_request(
                    &request,
                    &headers,
                    Full::new(body.clone()),
                ));
                async move { black_box(call.await.expect("infallible").status()) }
            });
        });
    }

    // The same accepted 1 KiB request with the metrics layer around the verifying one: what
    // `MetricsLayer` adds per request (two clock reads, a histogram, a gauge, a counter).
    #[cfg(feature = "metrics")]
    {
        let metrics = drone_extension::metrics::Metrics::new();
        let request = Request::new(1 << 10);
        let headers = with_length(&request.headers, 1 << 10);
        let body = Bytes::from(request.body.clone());
        let service = drone_extension::metrics::MetricsLayer::new(
            &metrics,
            drone_extension::ExtensionKind::Secret,
        )
        .layer(VerifySignatureLayer::new(request.verifier(Duration::ZERO)).layer(inner_service()));
        group.bench_function(BenchmarkId::new("accept_with_metrics", "1KiB"), |b| {
            b.to_async(&runtime).iter(|| {
                let call = service.clone().oneshot(http_request(
                    &request,
                    &headers,
                    Full::new(body.clone()),
                ));
                async move { black_box(call.await.expect("infallible").status()) }
            });
        });
    }

    // A 64 KiB body is declared; reading it would panic.
    let request = Request::new(64 << 10);
    let headers = with_length(&request.headers, request.body.len());
    let mut unsigned = headers.clone();
    unsigned.remove("signature");
    let mut bad_mac = headers.clone();
    let mut params = request.signature();
    let flipped = if params.signature.starts_with('A') {
        'B'
    } else {
        'A'
    };
    params.signature.replace_range(0..1, &flipped.to_string());
    bad_mac.insert(
        "signature",
        HeaderValue::from_str(&params.to_string()).expect("a header value"),
    );
    let on_time = VerifySignatureLayer::new(request.verifier(Duration::ZERO));
    let late = VerifySignatureLayer::new(request.verifier(Duration::from_secs(301)));
    let cases: [(&str, &VerifySignatureLayer, &HeaderMap); 3] = [
        ("no-signature", &on_time, &unsigned),
        ("bad-mac", &on_time, &bad_mac),
        ("stale", &late, &headers),
    ];
    for (name, layer, headers) in cases {
        let service = layer.layer(inner_service());
        let response = runtime
            .block_on(
                service
                    .clone()
                    .oneshot(http_request(&request, headers, PanicBody)),
            )
            .expect("infallible");
        assert_eq!(response.status(), 401, "reject/{name}");
        group.bench_function(BenchmarkId::new("reject", name), |b| {
            b.to_async(&runtime).iter(|| {
                let call = service
                    .clone()
                    .oneshot(http_request(&request, headers, PanicBody));
                async move { black_box(call.await.expect("infallible").status()) }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, verify, layer);
criterion_main!(benches);
