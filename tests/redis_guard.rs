//! The replay guard's claim-and-forget rule, in process against a real `redis-server` (started
//! on a free loopback port; `.ci/run` installs it): what is remembered depends on the answer.
//! The replicas sharing one guard are the starter's tests (`tools/starter/tests/replicas.rs`).
//!
//! A test without `redis-server` on the machine prints `SKIPPED` and returns, unless `CI` is set.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::layer::{RedisReplayGuard, Refused};
use drone_extension::signature::{SharedSecret, VerifySignatureLayer};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use support::SECRET;
use support::redis::Redis;
use support::requests::admission;
use support::sign::Captured;
use tower::{Service, ServiceBuilder, ServiceExt};

/// The layer against a real Redis, in process: what is remembered depends on the answer.
#[tokio::test]
async fn only_a_2xx_with_a_body_is_remembered() {
    let Some(redis) = Redis::start() else { return };
    let guard = RedisReplayGuard::new(&redis.url()).unwrap();
    let secret = SharedSecret::new(SECRET).unwrap();
    // Answers, in turn: 500, an empty 200, 204, then 200 with a body.
    let calls = Arc::new(AtomicUsize::new(0));
    let service = {
        let calls = calls.clone();
        tower::service_fn(move |_: Request<drone_extension::layer::VerifiedBody>| {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                let (status, body) = match call {
                    0 => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
                    1 => (StatusCode::OK, ""),
                    2 => (StatusCode::NO_CONTENT, ""),
                    _ => (StatusCode::OK, "{}"),
                };
                let mut response = Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() = status;
                Ok::<_, Infallible>(response)
            }
        })
    };
    let mut service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret).replay_guard(guard))
        .service(service);
    let request = Captured::drone(ExtensionKind::Admission, SECRET, &admission("octocat")).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = ServiceExt::<Request<Full<Bytes>>>::ready(&mut service)
            .await
            .unwrap()
            .call(request.request_to(None))
            .await
            .unwrap();
        let refused = response.extensions().get::<Refused>().map(Refused::reason);
        statuses.push((response.status().as_u16(), refused));
    }
    assert_eq!(
        statuses,
        [
            (500, None),
            (200, None),
            (204, None),
            (200, None),
            (401, Some("replay"))
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}
