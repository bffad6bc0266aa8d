//! Guards for the verifying layers' shared machinery, ahead of the refactor of issue 19: each test
//! fails on one defect a mutation check injected without any other test noticing.
//!
//! In process through `tower::ServiceExt::oneshot`, with bodies the test holds open, on tokio's
//! paused clock where the layer's timers matter (the budget wait, the in-flight grace); the
//! replay guard's refusal against a real `redis-server` that was stopped (`support::redis`:
//! without one the test prints SKIPPED, and fails under `CI`). Only
//! [`layers_built_with_defaults_share_one_body_budget`] uses the process-wide default budget;
//! every other test gives its layer a budget of its own.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::admission::{AdmissionEvent, AdmissionRequest};
use drone_extension::kind;
use drone_extension::layer::{BodyBudget, DEFAULT_BODY_BUDGET, RedisReplayGuard, Refused};
use drone_extension::metrics::{Metrics, MetricsLayer};
use drone_extension::models::User;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::signature::{SharedSecret, Signer};
use drone_extension::testing;
use drone_extension::woodpecker::{Verifier, VerifyWoodpeckerLayer};
use http::header::{CONTENT_LENGTH, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use prometheus_parse::{Scrape, Value};
use support::redis::Redis;
use support::service::{channel_body, echo, until};
use tower::{Layer, ServiceBuilder, ServiceExt};

const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";
const ADMISSION: &[u8] = br#"{"event":"login","user":{"login":"octocat"}}"#;
const SECRET_BODY: &[u8] = br#"{"name":"token","repo":{"slug":"octocat/hello-world"}}"#;
const WOODPECKER_PATH: &str = "/woodpecker/secret";
const WOODPECKER_BODY: &[u8] = br#"{"repo":{},"pipeline":{}}"#;

fn secret() -> SharedSecret {
    SharedSecret::new(SECRET).unwrap()
}

/// Drone's signed headers for `body`, declaring `length` bytes.
fn drone_headers(media_type: &str, body: &[u8], length: usize) -> HeaderMap {
    let mut headers = Signer::new(secret())
        .extension_headers(media_type, body, SystemTime::now())
        .unwrap();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    headers
}

fn request<B>(path: &str, headers: &HeaderMap, body: B) -> Request<B> {
    let mut request = Request::post(path).body(body).unwrap();
    *request.headers_mut() = headers.clone();
    request
}

fn full(bytes: &'static [u8]) -> Full<Bytes> {
    Full::new(Bytes::from_static(bytes))
}

fn woodpecker_signer() -> drone_extension::woodpecker::Signer {
    drone_extension::woodpecker::Signer::from_seed(&[5; 32])
}

/// A request signed as Woodpecker signs it now.
fn woodpecker_request() -> Request<Full<Bytes>> {
    let created = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let headers = woodpecker_signer()
        .headers(WOODPECKER_PATH, WOODPECKER_BODY, created)
        .unwrap();
    request(WOODPECKER_PATH, &headers, full(WOODPECKER_BODY))
}

/// The status, the refusal reason if the layer refused, and the body (as text).
async fn answer<B>(response: Response<B>) -> (u16, Option<&'static str>, String)
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let status = response.status().as_u16();
    let refused = response.extensions().get::<Refused>().map(Refused::reason);
    (
        status,
        refused,
        String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes())
            .into_owned(),
    )
}

/// Guards against: default-built layers each getting a body budget of their own instead of
/// sharing [`BodyBudget::shared_default`], which would multiply the process's bound on buffered
/// bodies by the number of routes.
#[tokio::test(start_paused = true)]
async fn layers_built_with_defaults_share_one_body_budget() {
    let wait = Duration::from_secs(1);
    // A request on one default-built layer takes the whole default budget: it declares that many
    // bytes (the limit raised to allow it) and holds its body.
    let holder = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret())
        .body_limit(DEFAULT_BODY_BUDGET)
        .layer(echo());
    let (_tx, polled, held) = channel_body();
    let headers = drone_headers(kind::ADMISSION_V1, ADMISSION, DEFAULT_BODY_BUDGET);
    let holding = tokio::spawn(holder.oneshot(request("/", &headers, held)));
    until(&polled).await;
    assert_eq!(BodyBudget::shared_default().available(), 0);

    // Other layers built without a budget, Drone's and Woodpecker's, find no room: 503 after
    // their wait.
    let drone = VerifySignatureLayer::for_kind(ExtensionKind::Secret, secret())
        .budget_wait(wait)
        .layer(echo());
    let secret_request = || {
        let headers = drone_headers(kind::SECRET_V1, SECRET_BODY, SECRET_BODY.len());
        request("/", &headers, full(SECRET_BODY))
    };
    let response = drone.clone().oneshot(secret_request()).await.unwrap();
    assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), "1");
    assert_eq!(answer(response).await.1, Some("overload"), "Drone layer");

    let verifier = Verifier::new(woodpecker_signer().public_key());
    let woodpecker = VerifyWoodpeckerLayer::new(verifier.clone())
        .budget_wait(wait)
        .layer(echo());
    let response = woodpecker.clone().oneshot(woodpecker_request()).await;
    assert_eq!(
        answer(response.unwrap()).await.1,
        Some("overload"),
        "Woodpecker layer"
    );

    // A layer given its own budget is served meanwhile: the refusals above are the shared
    // budget's.
    let own = VerifyWoodpeckerLayer::new(verifier)
        .body_budget(BodyBudget::new(1024 * 1024))
        .layer(echo());
    let response = own.oneshot(woodpecker_request()).await.unwrap();
    assert_eq!(answer(response).await.0, 200);

    // Once the holder goes, its room is back for the others.
    holding.abort();
    assert!(holding.await.unwrap_err().is_cancelled());
    assert_eq!(
        BodyBudget::shared_default().available(),
        DEFAULT_BODY_BUDGET
    );
    let response = drone.oneshot(secret_request()).await.unwrap();
    assert_eq!(answer(response).await.0, 200);
    let response = woodpecker.oneshot(woodpecker_request()).await.unwrap();
    assert_eq!(answer(response).await.0, 200);
}

/// Guards against: the in-flight duplicate check removed from admission (`Intake::admit`). A
/// copy of a request still receiving its body must be refused (409) before it takes room in the
/// body budget: with a budget the first request fills, a copy that waited for room would be
/// answered 503 after the budget wait instead.
#[tokio::test(start_paused = true)]
async fn a_copy_of_a_request_in_flight_is_refused_without_taking_budget_room() {
    let budget = BodyBudget::new(1024);
    let service = VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret())
        .body_budget(budget.clone())
        .budget_wait(Duration::from_secs(1))
        .layer(echo());
    let headers = drone_headers(kind::ADMISSION_V1, ADMISSION, ADMISSION.len());

    // The first request takes the whole budget and stalls past the 100 ms grace, so its
    // signature is registered as in flight.
    let (first_tx, first_polled, first_body) = channel_body();
    let first = tokio::spawn(service.clone().oneshot(request("/", &headers, first_body)));
    until(&first_polled).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(budget.available(), 0);

    let (_tx, polled, copy) = channel_body();
    let started = tokio::time::Instant::now();
    let response = service
        .clone()
        .oneshot(request("/", &headers, copy))
        .await
        .unwrap();
    let (status, refused, body) = answer(response).await;
    assert_eq!(
        (status, refused, body.as_str()),
        (409, Some("replay"), "Duplicate request in progress\n"),
        "after {:?} on the paused clock",
        started.elapsed()
    );
    assert!(!polled.load(Ordering::SeqCst), "the copy's body was read");
    assert_eq!(budget.available(), 0, "only the first request holds room");

    // The first one completes and is served; its room comes back.
    first_tx.send(Bytes::from_static(ADMISSION)).await.unwrap();
    drop(first_tx);
    let (status, _, body) = answer(first.await.unwrap().unwrap()).await;
    assert_eq!((status, body.as_bytes()), (200, ADMISSION));
    assert_eq!(budget.available(), 1024);
}

/// Guards against: the replay guard's failure (its store down: [`Rejection::ReplayGuardFailed`])
/// counted under another reason than `replay_guard`, the one label an operator pages on
/// (`src/metrics` docs: "Alerting").
///
/// [`Rejection::ReplayGuardFailed`]: drone_extension::layer::Rejection::ReplayGuardFailed
#[tokio::test]
async fn a_replay_guard_failure_is_counted_with_reason_replay_guard() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let guard = RedisReplayGuard::with_timeout(&redis.url(), Duration::from_millis(300)).unwrap();
    redis.stop();

    let metrics = Metrics::new();
    let service = ServiceBuilder::new()
        .layer(MetricsLayer::new(&metrics, ExtensionKind::Admission))
        .layer(
            VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret())
                .body_budget(BodyBudget::new(1024 * 1024))
                .replay_guard(guard),
        )
        .service(echo());
    let admission = AdmissionRequest {
        event: AdmissionEvent::Login,
        user: User {
            login: "octocat".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let request = testing::signed_request(ExtensionKind::Admission, &secret(), &admission).unwrap();
    let (status, refused, _) = answer(service.oneshot(request).await.unwrap()).await;
    assert_eq!((status, refused), (503, Some("replay_guard")));

    let text = metrics.encode();
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    let refusals: Vec<(String, f64)> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "drone_extension_refusals_total")
        .map(|s| {
            let mut labels: Vec<String> =
                s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            let (Value::Counter(value) | Value::Untyped(value)) = s.value else {
                panic!("not a single value: {s:?}");
            };
            (labels.join(","), value)
        })
        .filter(|(_, value)| *value > 0.0)
        .collect();
    assert_eq!(
        refusals,
        [("kind=admission,reason=replay_guard".to_owned(), 1.0)],
        "{text}"
    );
}
