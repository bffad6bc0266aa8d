//! What verifying a Drone request allocates, counted by a heap profiler (`dhat` in testing mode).
//!
//! The verifier allocates nothing on the accept path, whatever the body size; the layer's
//! allocations do not grow with the body beyond the buffer that holds it: none at all for a body
//! that arrives in one frame (passed on without a copy), exactly one buffer of the declared
//! `Content-Length` for a body in many frames.
//!
//! The profiler counts the allocations of every thread, so this binary holds a single test.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::kind::SECRET_V1;
use drone_extension::layer::VerifiedBody;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::signature::{Policy, SharedSecret, Signer, Verifier};
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};
use http_body::{Body, Frame};
use http_body_util::Full;
use tower::{Layer, ServiceExt};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";
const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// Allocations made by `f`: (blocks, bytes), frees not subtracted.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, u64, u64) {
    let before = dhat::HeapStats::get();
    let result = f();
    let after = dhat::HeapStats::get();
    (
        result,
        after.total_blocks - before.total_blocks,
        after.total_bytes - before.total_bytes,
    )
}

fn secret() -> SharedSecret {
    SharedSecret::new(SECRET).unwrap()
}

fn body(size: usize) -> Vec<u8> {
    br#"{"path":"secret/data/docker","name":"username"}"#
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect()
}

fn signed(body: &[u8], date: SystemTime) -> HeaderMap {
    Signer::new(secret())
        .extension_headers(SECRET_V1, body, date)
        .unwrap()
}

/// A body delivered in frames of `frame` bytes.
struct Frames {
    data: Bytes,
    frame: usize,
}

impl Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.data.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.frame.min(self.data.len());
        let chunk = self.data.split_to(n);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }
}

/// Sends a signed secret request with a `size`-byte `body` through the layer to a service that
/// answers 200 when it got the whole body; returns the allocations of that call.
fn through_layer<B>(
    runtime: &tokio::runtime::Runtime,
    headers: HeaderMap,
    body: B,
    size: usize,
) -> (u64, u64)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<drone_extension::BoxError>,
{
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Secret, secret()).body_limit(4 * MIB);
    let service = layer.layer(tower::service_fn(move |request: Request<VerifiedBody>| {
        let got = request.body().size_hint().exact();
        async move {
            let mut response = Response::new(Full::new(Bytes::new()));
            if got != Some(size as u64) {
                *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            }
            Ok::<_, Infallible>(response)
        }
    }));
    let mut request = Request::post("/secret").body(body).unwrap();
    *request.headers_mut() = headers;
    let (response, blocks, bytes) =
        allocations(|| runtime.block_on(service.oneshot(request)).unwrap());
    assert_eq!(response.status(), 200);
    (blocks, bytes)
}

#[test]
fn verifying_allocates_nothing_that_grows_with_the_body() {
    let _profiler = dhat::Profiler::builder().testing().build();

    // The verifier: no allocation at all, at any size.
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
    let verifier = Verifier::new(
        secret(),
        Policy::drone_extension(SECRET_V1).clock(move || date),
    );
    let (method, uri) = (Method::POST, Uri::from_static("/secret"));
    for size in [0, KIB, MIB] {
        let body = body(size);
        let headers = signed(&body, date);
        let verify = || {
            verifier
                .verify_headers(&method, &uri, &headers)
                .and_then(|head| head.verify_body(&body))
        };
        verify().unwrap(); // the first call of a thread may set up its date memo
        let (verified, blocks, bytes) = allocations(verify);
        assert_eq!(verified.unwrap().key_id(), "hmac-key");
        assert_eq!(
            (blocks, bytes),
            (0, 0),
            "verifying a {size}-byte body allocated"
        );
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let now = SystemTime::now();

    // The layer, a body in one frame: passed on as it is, so 1 MiB costs what 1 KiB costs.
    let one_frame = |size: usize| {
        let body = body(size);
        let headers = signed(&body, now);
        through_layer(&runtime, headers, Full::new(Bytes::from(body)), size)
    };
    one_frame(KIB);
    let (small, large) = (one_frame(KIB), one_frame(MIB));
    assert_eq!(small.0, large.0, "allocation count grew with the body");
    assert!(
        large.1.abs_diff(small.1) < 256,
        "one-frame bodies: {small:?} for 1 KiB, {large:?} for 1 MiB"
    );

    // A body in 16 KiB frames with its Content-Length: one buffer of exactly that size, filled
    // in place, and otherwise the same allocations at 64 KiB and at 1 MiB.
    let framed = |size: usize| {
        let body = body(size);
        let mut headers = signed(&body, now);
        headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
        let frames = Frames {
            data: Bytes::from(body),
            frame: 16 * KIB,
        };
        through_layer(&runtime, headers, frames, size)
    };
    let (small, large) = (framed(64 * KIB), framed(MIB));
    assert_eq!(small.0, large.0, "allocation count grew with the body");
    let grown = large.1 - small.1;
    let buffer = (MIB - 64 * KIB) as u64;
    assert!(
        grown.abs_diff(buffer) < 256,
        "framed bodies: {small:?} for 64 KiB, {large:?} for 1 MiB: {grown} more bytes, not {buffer}"
    );
}
