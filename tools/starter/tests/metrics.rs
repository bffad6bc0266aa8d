//! The starter's `/metrics` after a known mix of accepted and refused requests: the starter
//! (`drone-extension-starter`) as a child process, its metrics on a separate address (`DRONE_METRICS_BIND`), the
//! text parsed as Prometheus text and every count compared exactly.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::config::ConfigRequest;
use drone_extension::environ::EnvironRequest;
use drone_extension::registry::RegistryRequest;
use drone_extension::secret::SecretRequest;
use drone_extension::signature::SharedSecret;
use drone_extension::testing::{signed_request, signed_request_at, unsigned_request};
use drone_extension::validate::ValidateRequest;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use prometheus_parse::{Scrape, Value};
use support::http::send;
use support::process::{SECRET, Server, strip_ansi};
use support::requests::admission;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STARTER: &str = env!("CARGO_BIN_EXE_drone-extension-starter");

/// Sends the head of `parts` with `Content-Length: length` and no body: the status answered.
async fn declare_length(addr: SocketAddr, parts: &http::request::Parts, length: u64) -> StatusCode {
    let mut head = format!("POST {} HTTP/1.1\r\nHost: {addr}\r\n", parts.uri.path());
    for (name, value) in &parts.headers {
        if name != http::header::CONTENT_LENGTH {
            head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
        }
    }
    head.push_str(&format!(
        "Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let code = answer.split_whitespace().nth(1).expect("a status line");
    StatusCode::from_bytes(code.as_bytes()).unwrap()
}

fn get(path: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri(path)
        .body(Full::default())
        .unwrap()
}

/// The address the starter's metrics listener logged.
async fn metrics_addr(starter: &Server) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = starter.log();
        let found = log.lines().map(strip_ansi).find_map(|line| {
            let rest = line.split_once("metrics_listener")?.1;
            let rest = rest.split_once("listening")?.1;
            rest.split_once("addr=")?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        });
        if let Some(addr) = found {
            return addr;
        }
        assert!(Instant::now() < deadline, "no metrics listener in:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every sample of a counter or gauge family, by its labels (`name=value,…`, sorted).
fn family(scrape: &Scrape, metric: &str) -> BTreeMap<String, f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .map(|s| {
            let mut labels: Vec<String> =
                s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            let value = match s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
                ref other => panic!("{metric}: not a single value: {other:?}"),
            };
            (labels.join(","), value)
        })
        .collect()
}

fn expected(entries: &[(&str, f64)]) -> BTreeMap<String, f64> {
    entries.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn metrics_count_every_kind_decision_and_refusal_reason_exactly() {
    let starter = Server::start(
        STARTER,
        &[
            ("DRONE_METRICS_BIND", "127.0.0.1:0"),
            ("DRONE_REPLAY_GUARD", "memory"),
        ],
    );
    let metrics = metrics_addr(&starter).await;
    let addr = starter.addr;
    let secret = SharedSecret::new(SECRET).unwrap();
    let other = SharedSecret::new("another-secret-entirely-0123456789").unwrap();

    // Accepted: three admissions (200 allow), two configs (204 repository-file), one secret
    // the default policy does not have (204 not-found).
    for login in ["octocat", "spaceghost", "hubot"] {
        let request = signed_request(ExtensionKind::Admission, &secret, &admission(login)).unwrap();
        assert_eq!(send(addr, request).await.0, StatusCode::OK);
    }
    for number in [1, 2] {
        let mut body = ConfigRequest::default();
        body.build.number = number;
        let request = signed_request(ExtensionKind::Config, &secret, &body).unwrap();
        assert_eq!(send(addr, request).await.0, StatusCode::NO_CONTENT);
    }
    let request =
        signed_request(ExtensionKind::Secret, &secret, &SecretRequest::default()).unwrap();
    assert_eq!(send(addr, request).await.0, StatusCode::NO_CONTENT);

    // Refused: two unsigned secrets (missing), a stale registry, an environ signed with another
    // key (signature), an environ whose body was swapped (digest), a validate too large, and one
    // admission replayed (replay).
    for _ in 0..2 {
        let request = unsigned_request(ExtensionKind::Secret, &SecretRequest::default()).unwrap();
        assert_eq!(send(addr, request).await.0, StatusCode::UNAUTHORIZED);
    }
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let request = signed_request_at(
        ExtensionKind::Registry,
        &secret,
        &RegistryRequest::default(),
        an_hour_ago,
    )
    .unwrap();
    assert_eq!(send(addr, request).await.0, StatusCode::UNAUTHORIZED);
    let request =
        signed_request(ExtensionKind::Environ, &other, &EnvironRequest::default()).unwrap();
    assert_eq!(send(addr, request).await.0, StatusCode::UNAUTHORIZED);
    let (parts, _) = signed_request(ExtensionKind::Environ, &secret, &EnvironRequest::default())
        .unwrap()
        .into_parts();
    let mut swapped = EnvironRequest::default();
    swapped.repo.slug = "octocat/hello-world".into();
    let body = Full::new(Bytes::from(serde_json::to_vec(&swapped).unwrap()));
    let (status, _) = send(addr, Request::from_parts(parts, body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Its head declares 5 MiB (the limit is 4 MiB): answered 413 before any body is sent.
    let (parts, _) = signed_request(
        ExtensionKind::Validate,
        &secret,
        &ValidateRequest::default(),
    )
    .unwrap()
    .into_parts();
    assert_eq!(
        declare_length(addr, &parts, 5 * 1024 * 1024).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // (A login of its own: the same login signed in the same second would be the same bytes.)
    let replayed =
        signed_request(ExtensionKind::Admission, &secret, &admission("replayed")).unwrap();
    let (parts, body) = replayed.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let copy = Request::from_parts(parts.clone(), Full::new(body.clone()));
    assert_eq!(send(addr, copy).await.0, StatusCode::OK);
    let copy = Request::from_parts(parts, Full::new(body));
    assert_eq!(send(addr, copy).await.0, StatusCode::UNAUTHORIZED);

    // Unsigned and unmeasured; /metrics is not on the main address.
    assert_eq!(send(addr, get("/healthz")).await.0, StatusCode::OK);
    assert_eq!(send(addr, get("/metrics")).await.0, StatusCode::NOT_FOUND);

    let (status, text) = send(metrics, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(text.to_vec()).expect("UTF-8");
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");

    assert_eq!(
        family(&scrape, "drone_extension_requests_total"),
        expected(&[
            ("decision=allow,kind=admission,status=200", 4.0),
            ("decision=refused,kind=admission,status=401", 1.0),
            ("decision=repository-file,kind=config,status=204", 2.0),
            ("decision=refused,kind=environ,status=401", 2.0),
            ("decision=refused,kind=registry,status=401", 1.0),
            ("decision=not-found,kind=secret,status=204", 1.0),
            ("decision=refused,kind=secret,status=401", 2.0),
            ("decision=refused,kind=validate,status=413", 1.0),
        ]),
        "{text}"
    );
    assert_eq!(
        family(&scrape, "drone_extension_refusals_total"),
        expected(&[
            ("kind=admission,reason=replay", 1.0),
            ("kind=environ,reason=digest", 1.0),
            ("kind=environ,reason=signature", 1.0),
            ("kind=registry,reason=stale", 1.0),
            ("kind=secret,reason=missing", 2.0),
            ("kind=validate,reason=too_large", 1.0),
        ]),
        "{text}"
    );
    // Nothing in flight any more, and no body held.
    let in_flight = family(&scrape, "drone_extension_in_flight_requests");
    assert!(in_flight.values().all(|v| *v == 0.0), "{in_flight:?}");
    // Every kind's series exists from the start, at zero until it is used.
    let kinds: Vec<String> = ExtensionKind::ALL
        .iter()
        .map(|kind| format!("kind={}", kind.name()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(in_flight.keys().cloned().collect::<Vec<_>>(), kinds);
    assert_eq!(
        family(&scrape, "drone_extension_body_buffered_bytes"),
        expected(&[("", 0.0)])
    );
    assert_eq!(
        family(&scrape, "drone_extension_body_budget_bytes"),
        expected(&[("", 64.0 * 1024.0 * 1024.0)])
    );
    // One duration per request, by kind.
    let durations: BTreeMap<String, u64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "drone_extension_request_duration_seconds")
        .map(|s| match &s.value {
            Value::Histogram(buckets) => (
                s.labels.get("kind").unwrap().to_owned(),
                buckets.last().map(|b| b.count as u64).unwrap_or(0),
            ),
            other => panic!("not a histogram: {other:?}"),
        })
        .collect();
    assert_eq!(
        durations,
        [
            ("admission", 5),
            ("config", 2),
            ("convert", 0),
            ("environ", 2),
            ("global-secrets", 0),
            ("registry", 1),
            ("secret", 3),
            ("validate", 1),
            ("webhook", 0)
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    );
}
