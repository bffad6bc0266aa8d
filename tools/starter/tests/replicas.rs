//! Several replicas, one replay guard: starters (`drone-extension-starter`, built with
//! `--features redis`) as child processes sharing a real `redis-server` (started on a free
//! loopback port; `.ci/run` installs it).
//!
//! A test without `redis-server` on the machine prints `SKIPPED` and returns, unless `CI` is set.

use std::time::{Duration, Instant};

use drone_extension::ExtensionKind;
use drone_extension::config::ConfigRequest;
use http::StatusCode;
use support::bounds::{assert_ends_within, hang_bound};
use support::process::{SECRET, Server};
use support::redis::Redis;
use support::requests::admission;
use support::sign::Captured;

const STARTER: &str = env!("CARGO_BIN_EXE_drone-extension-starter");

/// Sends the same bytes to `server`: the status and when it came back (panics after the hang
/// bound).
async fn send(request: &Captured, server: &Server) -> (StatusCode, Duration) {
    let started = Instant::now();
    let (status, _) = support::http::send(server.addr, request.request(server.addr)).await;
    (status, started.elapsed())
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
    Server::start(STARTER, &env)
}

#[tokio::test]
async fn a_request_answered_by_one_replica_is_refused_by_the_other_only_with_the_guard() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let (first, second) = (starter(Some(&url), &[]), starter(Some(&url), &[]));
    let request = Captured::drone(ExtensionKind::Admission, SECRET, &admission("octocat")).await;
    assert_eq!(send(&request, &first).await.0, StatusCode::OK);
    assert_eq!(send(&request, &second).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&request, &first).await.0, StatusCode::UNAUTHORIZED);
    // Another request goes through either replica.
    let other = Captured::drone(ExtensionKind::Admission, SECRET, &admission("spaceghost")).await;
    assert_eq!(send(&other, &second).await.0, StatusCode::OK);
    assert!(logs(&second, "signature replayed within the clock window").await);

    // Without the guard, both replicas serve the same bytes.
    let (first, second) = (starter(None, &[]), starter(None, &[]));
    let request = Captured::drone(ExtensionKind::Admission, SECRET, &admission("octocat")).await;
    for replica in [&first, &second, &first] {
        assert_eq!(send(&request, replica).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_retry_after_an_empty_answer_is_served_by_any_replica() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let (first, second) = (starter(Some(&url), &[]), starter(Some(&url), &[]));
    // The starter's default policy answers config with 204: Drone uses the repository's file,
    // and Woodpecker would send the same bytes again.
    let request = Captured::drone(ExtensionKind::Config, SECRET, &ConfigRequest::default()).await;
    for replica in [&first, &second, &first] {
        assert_eq!(send(&request, replica).await.0, StatusCode::NO_CONTENT);
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
    let before = Captured::drone(ExtensionKind::Admission, SECRET, &admission("before")).await;
    assert_eq!(send(&before, &closed).await.0, StatusCode::OK);

    redis.stop();
    for login in ["during-1", "during-2", "during-3"] {
        let request = Captured::drone(ExtensionKind::Admission, SECRET, &admission(login)).await;
        let (status, took) = send(&request, &closed).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{login}");
        // The call's timeout ends it, not a hang on the stopped Redis.
        assert_ends_within(&format!("{login}: the 503"), took, timeout);
        assert_eq!(send(&request, &open).await.0, StatusCode::OK, "{login}");
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
        let request = Captured::drone(
            ExtensionKind::Admission,
            SECRET,
            &admission(&format!("after-{n}")),
        )
        .await;
        match send(&request, &closed).await.0 {
            StatusCode::OK => break request,
            StatusCode::SERVICE_UNAVAILABLE if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            status => panic!("after Redis came back: {status}"),
        }
    };
    assert_eq!(send(&after, &open).await.0, StatusCode::UNAUTHORIZED);
}
