//! The layer's always-on bounds, in process through `tower::ServiceExt::oneshot` with bodies the
//! test holds open:
//!
//! * one captured request holds at most one slot: a duplicate of a request whose body is still
//!   arriving gets 409 without its body being polled, and is served once the first completed;
//! * the body budget: a request waits for room, then gets 503 with `Retry-After: 1`; the room is
//!   given back after the response;
//! * `/webhook` refuses requests signed for every other kind and accepts both legitimate forms;
//! * a 2 MiB configuration reaches the validator and the converter (no 1 MiB string limit).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use drone_extension::convert::{ConvertRequest, Converter};
use drone_extension::kind::{self, WEBHOOK_V1};
use drone_extension::layer::{BodyBudget, VerifiedBody};
use drone_extension::models::{Build, Config, Repo};
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::signature::{SharedSecret, Signer};
use drone_extension::validate::{ValidateRequest, Validation, Validator};
use drone_extension::{BoxError, ExtensionKind};
use http::header::{CONTENT_LENGTH, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use support::service::{channel_body, echo, until};
use tokio::sync::Notify;
use tower::{Layer, ServiceExt};

const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";

fn secret() -> SharedSecret {
    SharedSecret::new(SECRET).unwrap()
}

fn signed(media_type: &str, body: &[u8]) -> HeaderMap {
    let mut headers = Signer::new(secret())
        .extension_headers(media_type, body, SystemTime::now())
        .unwrap();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers
}

fn request<B>(headers: &HeaderMap, body: B) -> Request<B> {
    let mut request = Request::post("/").body(body).unwrap();
    *request.headers_mut() = headers.clone();
    request
}

async fn text(response: Response<impl Body<Data = Bytes, Error = Infallible>>) -> (u16, Bytes) {
    let status = response.status().as_u16();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

// ---------------------------------------------------------------------------------------------
// One captured request, one slot.

// On tokio's paused clock: the 100 ms grace is measured on it, never on a busy machine's.
#[tokio::test(start_paused = true)]
async fn identical_requests_overlapping_within_the_grace_are_all_served() {
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret());
    let service = layer.layer(echo());
    let body = br#"{"event":"login","user":{"login":"octocat"}}"#;
    let headers = signed(kind::ADMISSION_V1, body);

    // Two stages of one build: the first body is late by 50 ms (a busy runtime), the second
    // identical request arrives meanwhile with its body at once.
    let (first_tx, first_polled, first_body) = channel_body();
    let first = tokio::spawn(service.clone().oneshot(request(&headers, first_body)));
    until(&first_polled).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = service
        .clone()
        .oneshot(request(&headers, Full::new(Bytes::from_static(body))))
        .await
        .unwrap();
    assert_eq!(text(second).await, (200, Bytes::from_static(body)));
    tokio::time::sleep(Duration::from_millis(30)).await;
    first_tx.send(Bytes::from_static(body)).await.unwrap();
    drop(first_tx);
    let first = first.await.unwrap().unwrap();
    assert_eq!(text(first).await, (200, Bytes::from_static(body)));
}

// On tokio's paused clock: the 100 ms grace is measured on it, never on a busy machine's.
#[tokio::test(start_paused = true)]
async fn copies_stalling_together_hold_a_slot_for_the_grace_only() {
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret());
    let service = layer.layer(echo());
    let body = br#"{"event":"login","user":{"login":"octocat"}}"#;
    let headers = signed(kind::ADMISSION_V1, body);

    // Two copies start before either registered; both stall.
    let (_first_tx, first_polled, first_body) = channel_body();
    let first = tokio::spawn(service.clone().oneshot(request(&headers, first_body)));
    let (_second_tx, second_polled, second_body) = channel_body();
    let started = tokio::time::Instant::now();
    let second = tokio::spawn(service.clone().oneshot(request(&headers, second_body)));
    until(&first_polled).await;
    until(&second_polled).await;

    // One of them registers when the grace runs out; the other is refused then, not at the
    // body deadline.
    let (mut first, mut second) = (first, second);
    let (refused, other) = tokio::select! {
        r = &mut first => (r, second),
        r = &mut second => (r, first),
    };
    assert_eq!(text(refused.unwrap().unwrap()).await.0, 409);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused only after {:?}",
        started.elapsed()
    );
    other.abort();
}

// On tokio's paused clock: the 100 ms grace is measured on it, never on a busy machine's.
#[tokio::test(start_paused = true)]
async fn a_duplicate_of_a_request_still_receiving_is_refused_without_reading_it() {
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret());
    let service = layer.layer(echo());
    let body = br#"{"event":"login","user":{"login":"octocat"}}"#;
    let headers = signed(kind::ADMISSION_V1, body);

    // The first copy starts its body and stalls.
    let (first_tx, first_polled, first_body) = channel_body();
    let first = tokio::spawn(service.clone().oneshot(request(&headers, first_body)));
    until(&first_polled).await;
    // Past the grace (100 ms) the stalled body registers its signature.
    tokio::time::sleep(Duration::from_millis(150)).await;

    // Byte-identical copies are refused at once, their bodies untouched.
    for _ in 0..3 {
        let (_tx, polled, copy) = channel_body();
        let response = service
            .clone()
            .oneshot(request(&headers, copy))
            .await
            .unwrap();
        assert_eq!(
            text(response).await,
            (409, Bytes::from_static(b"Duplicate request in progress\n"))
        );
        assert!(
            !polled.load(Ordering::SeqCst),
            "the duplicate's body was read"
        );
    }

    // A different request (another body, so another signature) is not affected.
    let other = br#"{"event":"login","user":{"login":"spacekitty"}}"#;
    let response = service
        .clone()
        .oneshot(request(
            &signed(kind::ADMISSION_V1, other),
            Full::new(Bytes::from_static(other)),
        ))
        .await
        .unwrap();
    assert_eq!(text(response).await.0, 200);

    // The first completes and is served; then the same request is served again.
    first_tx.send(Bytes::from_static(body)).await.unwrap();
    drop(first_tx);
    let response = first.await.unwrap().unwrap();
    assert_eq!(text(response).await, (200, Bytes::from_static(body)));
    for _ in 0..2 {
        let response = service
            .clone()
            .oneshot(request(&headers, Full::new(Bytes::from_static(body))))
            .await
            .unwrap();
        assert_eq!(text(response).await, (200, Bytes::from_static(body)));
    }
}

#[tokio::test]
async fn the_slot_is_freed_by_a_refused_or_dropped_request() {
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret());
    let service = layer.layer(echo());
    let body = br#"{"event":"login","user":{"login":"octocat"}}"#;
    let headers = signed(kind::ADMISSION_V1, body);

    // A copy whose body does not match the digest is refused (401) and frees the slot.
    let response = service
        .clone()
        .oneshot(request(&headers, Full::new(Bytes::from_static(b"{}"))))
        .await
        .unwrap();
    assert_eq!(text(response).await.0, 401);

    // A copy whose future is dropped while its body is arriving frees the slot too.
    let (_tx, polled, held) = channel_body();
    let pending = tokio::spawn(service.clone().oneshot(request(&headers, held)));
    until(&polled).await;
    pending.abort();
    assert!(pending.await.unwrap_err().is_cancelled());

    let response = service
        .clone()
        .oneshot(request(&headers, Full::new(Bytes::from_static(body))))
        .await
        .unwrap();
    assert_eq!(text(response).await.0, 200);
}

#[tokio::test]
async fn identical_requests_sent_at_once_are_all_served() {
    // Drone's registry and environ kinds: the same signed request once per stage, concurrently,
    // each body sent whole.
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Registry, secret());
    let service = layer.layer(echo());
    let body = br#"{"repo":{"slug":"octocat/hello-world"},"build":{"number":1}}"#;
    let headers = signed(kind::REGISTRY_V1, body);
    let calls = (0..8).map(|_| {
        service
            .clone()
            .oneshot(request(&headers, Full::new(Bytes::from_static(body))))
    });
    let tasks: Vec<_> = calls.map(tokio::spawn).collect();
    for task in tasks {
        assert_eq!(text(task.await.unwrap().unwrap()).await.0, 200);
    }
}

// ---------------------------------------------------------------------------------------------
// The body budget.

#[tokio::test(start_paused = true)]
async fn a_full_budget_makes_requests_wait_then_503() {
    let budget = BodyBudget::new(8 * 1024);
    let wait = Duration::from_secs(2);
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret())
        .body_budget(budget.clone())
        .budget_wait(wait);
    let service = layer.layer(echo());

    // An 8 KiB body takes the whole budget while it trickles.
    let big = vec![b'a'; 8 * 1024];
    let (big_tx, big_polled, big_body) = channel_body();
    let first = tokio::spawn(
        service
            .clone()
            .oneshot(request(&signed(kind::ADMISSION_V1, &big), big_body)),
    );
    until(&big_polled).await;
    assert_eq!(budget.available(), 0);

    // A small request waits the whole budget wait, then is refused; its body is never read.
    let small = b"{}";
    let (_small_tx, small_polled, small_body) = channel_body();
    let started = tokio::time::Instant::now();
    let response = service
        .clone()
        .oneshot(request(&signed(kind::ADMISSION_V1, small), small_body))
        .await
        .unwrap();
    assert!(started.elapsed() >= wait);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert_eq!(
        text(response).await,
        (503, Bytes::from_static(b"Service unavailable\n"))
    );
    assert!(!small_polled.load(Ordering::SeqCst));

    // Once the big body is in and answered, its room is back and the small request is served.
    big_tx.send(Bytes::from(big.clone())).await.unwrap();
    drop(big_tx);
    assert_eq!(text(first.await.unwrap().unwrap()).await.0, 200);
    assert_eq!(budget.available(), 8 * 1024);
    let response = service
        .clone()
        .oneshot(request(
            &signed(kind::ADMISSION_V1, small),
            Full::new(Bytes::from_static(small)),
        ))
        .await
        .unwrap();
    assert_eq!(text(response).await.0, 200);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_request_proceeds_when_room_is_freed() {
    let budget = BodyBudget::new(4 * 1024);
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret())
        .body_budget(budget.clone());
    let service = layer.layer(echo());
    let big = vec![b'b'; 4 * 1024];
    let (big_tx, big_polled, big_body) = channel_body();
    let first = tokio::spawn(
        service
            .clone()
            .oneshot(request(&signed(kind::ADMISSION_V1, &big), big_body)),
    );
    until(&big_polled).await;
    let small = b"{}";
    let second = tokio::spawn(service.clone().oneshot(request(
        &signed(kind::ADMISSION_V1, small),
        Full::new(Bytes::from_static(small)),
    )));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!second.is_finished(), "the second request did not wait");
    big_tx.send(Bytes::from(big)).await.unwrap();
    drop(big_tx);
    assert_eq!(text(first.await.unwrap().unwrap()).await.0, 200);
    assert_eq!(text(second.await.unwrap().unwrap()).await.0, 200);
}

#[tokio::test]
async fn the_room_is_held_until_the_response_and_given_back_after() {
    let budget = BodyBudget::new(64 * 1024);
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret())
        .body_budget(budget.clone());
    let release = Arc::new(Notify::new());
    let entered = Arc::new(Notify::new());
    let inner = {
        let (release, entered) = (release.clone(), entered.clone());
        tower::service_fn(move |_request: Request<VerifiedBody>| {
            let (release, entered) = (release.clone(), entered.clone());
            async move {
                entered.notify_one();
                release.notified().await;
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"done"))))
            }
        })
    };
    let body = vec![b'c'; 10 * 1024];
    let call = layer.layer(inner).oneshot(request(
        &signed(kind::ADMISSION_V1, &body),
        Full::new(Bytes::from(body)),
    ));
    let task = tokio::spawn(call);
    entered.notified().await;
    // The inner service is working on the 10 KiB body: its room is taken.
    assert_eq!(budget.available(), 54 * 1024);
    release.notify_one();
    assert_eq!(text(task.await.unwrap().unwrap()).await.0, 200);
    assert_eq!(budget.available(), 64 * 1024);
}

#[tokio::test]
async fn without_a_content_length_the_body_limit_is_taken() {
    let budget = BodyBudget::new(64 * 1024);
    let layer = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret())
        .body_budget(budget.clone())
        .body_limit(16 * 1024);
    let service = layer.layer(echo());
    let body = b"{}";
    let mut headers = signed(kind::ADMISSION_V1, body);
    headers.remove(CONTENT_LENGTH);
    let (tx, polled, held) = channel_body();
    let task = tokio::spawn(service.oneshot(request(&headers, held)));
    until(&polled).await;
    assert_eq!(budget.available(), 48 * 1024);
    tx.send(Bytes::from_static(body)).await.unwrap();
    drop(tx);
    assert_eq!(text(task.await.unwrap().unwrap()).await.0, 200);
    assert_eq!(budget.available(), 64 * 1024);
}

// ---------------------------------------------------------------------------------------------
// `/webhook` and media types.

#[tokio::test]
async fn the_webhook_route_refuses_requests_signed_for_other_kinds() {
    let body = br#"{"event":"user","action":"created"}"#;
    for layer in [
        VerifySignatureLayer::drone_webhook(secret()),
        VerifySignatureLayer::for_kind(ExtensionKind::Webhook, secret()),
    ] {
        let service = layer.layer(echo());
        let other_types = ExtensionKind::ALL
            .iter()
            .flat_map(|kind| kind.media_types().iter().copied())
            .filter(|media_type| *media_type != WEBHOOK_V1)
            .chain([
                "application/json",
                "*/*",
                "application/vnd.drone.webhook.v2+json",
            ]);
        let mut refused = 0;
        for media_type in other_types {
            let response = service
                .clone()
                .oneshot(request(
                    &signed(media_type, body),
                    Full::new(Bytes::from_static(body)),
                ))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{media_type}");
            refused += 1;
        }
        assert!(refused >= 10, "{refused}");

        // The server's own sender: `date digest`, no Accept signed.
        let server = Signer::new(secret())
            .webhook_headers(body, SystemTime::now())
            .unwrap();
        let response = service
            .clone()
            .oneshot(request(&server, Full::new(Bytes::from_static(body))))
            .await
            .unwrap();
        assert_eq!(text(response).await, (200, Bytes::from_static(body)));

        // drone-go's webhook client: the extension header list with the webhook media type.
        let response = service
            .clone()
            .oneshot(request(
                &signed(WEBHOOK_V1, body),
                Full::new(Bytes::from_static(body)),
            ))
            .await
            .unwrap();
        assert_eq!(text(response).await, (200, Bytes::from_static(body)));
    }
}

// ---------------------------------------------------------------------------------------------
// Limits that agree.

/// A configuration of `len` bytes of YAML-ish text.
fn big_config(len: usize) -> Config {
    let line = "- echo hello world from a long pipeline\n";
    let data: String = line.repeat(len / line.len() + 1)[..len].to_owned();
    Config {
        data,
        ..Default::default()
    }
}

struct BlockLarge;

#[async_trait::async_trait]
impl Validator for BlockLarge {
    async fn validate(&self, request: ValidateRequest) -> Result<Validation, BoxError> {
        Ok(if request.config.data.len() > 1024 * 1024 {
            Validation::Block
        } else {
            Validation::Pass
        })
    }
}

struct Shout;

#[async_trait::async_trait]
impl Converter for Shout {
    async fn convert(&self, request: ConvertRequest) -> Result<Option<Config>, BoxError> {
        Ok(Some(Config {
            data: request.config.data.to_uppercase(),
            ..request.config
        }))
    }
}

#[tokio::test]
async fn a_2_mib_configuration_reaches_the_validator_and_the_converter() {
    let config = big_config(2 * 1024 * 1024);
    let validate = serde_json::to_vec(&ValidateRequest {
        build: Build::default(),
        config: config.clone(),
        repo: Repo::default(),
        token: None,
    })
    .unwrap();
    assert!(validate.len() > 2 * 1024 * 1024);
    let service = VerifySignatureLayer::for_kind(ExtensionKind::Validate, secret())
        .layer(BlockLarge.into_service());
    let response = service
        .oneshot(request(
            &signed(kind::VALIDATE_V1, &validate),
            Full::new(Bytes::from(validate)),
        ))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 499);

    let convert = serde_json::to_vec(&ConvertRequest {
        build: Build::default(),
        config,
        repo: Repo::default(),
        token: None,
    })
    .unwrap();
    let service = VerifySignatureLayer::for_kind(ExtensionKind::Convert, secret())
        .layer(Shout.into_service());
    let response = service
        .oneshot(request(
            &signed(kind::CONVERT_V1, &convert),
            Full::new(Bytes::from(convert)),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let converted: Config = serde_json::from_slice(&body).unwrap();
    assert_eq!(converted.data.len(), 2 * 1024 * 1024);
    assert!(converted.data.starts_with("- ECHO HELLO WORLD"));
}

#[tokio::test]
async fn an_explicit_string_limit_still_applies() {
    let config = big_config(64 * 1024);
    let body = serde_json::to_vec(&ConvertRequest {
        build: Build::default(),
        config,
        repo: Repo::default(),
        token: None,
    })
    .unwrap();
    let service = Shout.into_service().max_string_len(32 * 1024);
    let mut request = request(
        &signed(kind::CONVERT_V1, &body),
        Full::new(Bytes::from(body)),
    );
    *request.method_mut() = http::Method::POST;
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
