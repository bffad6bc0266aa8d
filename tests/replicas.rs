//! Several replicas, one replay guard: built starters as child processes sharing a real
//! `redis-server` (started on a free loopback port; `.ci/run` installs it), and the layer's
//! claim-and-forget rule in process against the same Redis.
//!
//! A test without `redis-server` on the machine prints `SKIPPED` and returns, unless `CI` is set.

#[path = "support/process.rs"]
mod process;
#[path = "support/redis.rs"]
mod redis;

mod bounds;
use bounds::{assert_ends_within, hang_bound};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::admission::{AdmissionEvent, AdmissionRequest};
use drone_extension::config::ConfigRequest;
use drone_extension::layer::{RedisReplayGuard, Refused};
use drone_extension::models::User;
use drone_extension::signature::SharedSecret;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::testing::signed_request;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use process::{SECRET, Server};
use redis::Redis;
use tower::{Service, ServiceBuilder, ServiceExt};

/// One signed request, kept as bytes so that the very same request can be sent anywhere.
struct Captured {
    parts: http::request::Parts,
    body: Bytes,
}

impl Captured {
    async fn sign(kind: ExtensionKind, body: &impl serde::Serialize) -> Captured {
        let secret = SharedSecret::new(SECRET).unwrap();
        let (parts, body) = signed_request(kind, &secret, body).unwrap().into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Captured { parts, body }
    }

    fn request(&self, addr: Option<SocketAddr>) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.parts.method.clone();
        *request.headers_mut() = self.parts.headers.clone();
        *request.uri_mut() = match addr {
            Some(addr) => format!("http://{addr}{}", self.parts.uri.path())
                .parse()
                .unwrap(),
            None => self.parts.uri.clone(),
        };
        request
    }

    /// Sends the same bytes to `server`: the status and when it came back.
    async fn send(&self, server: &Server) -> (StatusCode, Duration) {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let started = Instant::now();
        let bound = hang_bound(Duration::ZERO);
        let response = tokio::time::timeout(bound, client.request(self.request(Some(server.addr))))
            .await
            .unwrap_or_else(|_| panic!("no answer within {bound:?}"))
            .expect("the starter answers");
        (response.status(), started.elapsed())
    }
}

fn admission(login: &str) -> AdmissionRequest {
    AdmissionRequest {
        event: AdmissionEvent::Login,
        user: User {
            login: login.into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Whether `server` logs `text` within the hang bound of its 100 ms log flush.
async fn logs(server: &Server, text: &str) -> bool {
    let deadline = Instant::now() + hang_bound(Duration::from_millis(100));
    while !server.log().contains(text) {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

fn starter(guard: Option<&str>, extra: &[(&str, &str)]) -> Server {
    let mut env: Vec<(&str, &str)> = extra.to_vec();
    if let Some(guard) = guard {
        env.push(("DRONE_REPLAY_GUARD", guard));
    }
    Server::start("starter", &env)
}

#[tokio::test]
async fn a_request_answered_by_one_replica_is_refused_by_the_other_only_with_the_guard() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let (first, second) = (starter(Some(&url), &[]), starter(Some(&url), &[]));
    let request = Captured::sign(ExtensionKind::Admission, &admission("octocat")).await;
    assert_eq!(request.send(&first).await.0, StatusCode::OK);
    assert_eq!(request.send(&second).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(request.send(&first).await.0, StatusCode::UNAUTHORIZED);
    // Another request goes through either replica.
    let other = Captured::sign(ExtensionKind::Admission, &admission("spaceghost")).await;
    assert_eq!(other.send(&second).await.0, StatusCode::OK);
    assert!(logs(&second, "signature replayed within the clock window").await);

    // Without the guard, both replicas serve the same bytes.
    let (first, second) = (starter(None, &[]), starter(None, &[]));
    let request = Captured::sign(ExtensionKind::Admission, &admission("octocat")).await;
    for replica in [&first, &second, &first] {
        assert_eq!(request.send(replica).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_retry_after_an_empty_answer_is_served_by_any_replica() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let (first, second) = (starter(Some(&url), &[]), starter(Some(&url), &[]));
    // The starter's default policy answers config with 204: Drone uses the repository's file,
    // and Woodpecker would send the same bytes again.
    let request = Captured::sign(ExtensionKind::Config, &ConfigRequest::default()).await;
    for replica in [&first, &second, &first] {
        assert_eq!(request.send(replica).await.0, StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn redis_down_fails_closed_within_the_timeout_or_open_when_asked_and_recovers() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let url = redis.url();
    let timeout = Duration::from_millis(400);
    let ms = timeout.as_millis().to_string();
    let closed = starter(Some(&url), &[("DRONE_REPLAY_GUARD_TIMEOUT_MS", &ms)]);
    let open = starter(
        Some(&url),
        &[
            ("DRONE_REPLAY_GUARD_TIMEOUT_MS", &ms),
            ("DRONE_REPLAY_GUARD_FAIL_OPEN", "true"),
        ],
    );
    let before = Captured::sign(ExtensionKind::Admission, &admission("before")).await;
    assert_eq!(before.send(&closed).await.0, StatusCode::OK);

    redis.stop();
    for login in ["during-1", "during-2", "during-3"] {
        let request = Captured::sign(ExtensionKind::Admission, &admission(login)).await;
        let (status, took) = request.send(&closed).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{login}");
        // The call's timeout ends it, not a hang on the stopped Redis.
        assert_ends_within(&format!("{login}: the 503"), took, timeout);
        assert_eq!(request.send(&open).await.0, StatusCode::OK, "{login}");
    }
    assert!(logs(&closed, "replay guard failed").await);
    assert!(logs(&open, "FAILING OPEN").await);

    assert!(redis.resume(), "redis-server restarts on its port");
    // The guard reconnects by itself: within a few seconds requests are served again, and the
    // guard works again (the restarted Redis is empty).
    // Reconnecting takes about 2 s on an idle machine.
    let deadline = Instant::now() + hang_bound(Duration::from_secs(2));
    let mut n = 0;
    let after = loop {
        n += 1;
        let request =
            Captured::sign(ExtensionKind::Admission, &admission(&format!("after-{n}"))).await;
        match request.send(&closed).await.0 {
            StatusCode::OK => break request,
            StatusCode::SERVICE_UNAVAILABLE if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            status => panic!("after Redis came back: {status}"),
        }
    };
    assert_eq!(after.send(&open).await.0, StatusCode::UNAUTHORIZED);
}

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
    let request = Captured::sign(ExtensionKind::Admission, &admission("octocat")).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = ServiceExt::<Request<Full<Bytes>>>::ready(&mut service)
            .await
            .unwrap()
            .call(request.request(None))
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
