//! Woodpecker extensions end to end on a real axum server on 127.0.0.1: the client signs as
//! Woodpecker does and gets the typed answer back; a swapped body, a replay to another route and
//! a stale `created` are refused with their documented statuses; every vector, sent byte for
//! byte, gets the status of its verdict through the layer.

use support::woodpecker_vectors;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use drone_extension::BoxError;
use drone_extension::woodpecker::{
    Client, ConfigAnswer, ConfigExtension, ConfigFile, ConfigRequest, Registry, RegistryExtension,
    RegistryRequest, Secret, SecretExtension, SecretRequest, Signer, Verifier,
    VerifyWoodpeckerLayer,
};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::Layer;

struct Configs;

#[drone_extension::async_trait]
impl ConfigExtension for Configs {
    async fn config(&self, request: &ConfigRequest) -> Result<ConfigAnswer, BoxError> {
        if request.repo.full_name == "octo-org/keep" {
            return Ok(ConfigAnswer::KeepIncoming);
        }
        Ok(ConfigAnswer::Files(vec![ConfigFile::new(
            "central.yaml",
            format!("# for {}\n", request.repo.full_name),
        )]))
    }
}

struct Secrets;

#[drone_extension::async_trait]
impl SecretExtension for Secrets {
    async fn secrets(&self, request: SecretRequest) -> Result<Vec<Secret>, BoxError> {
        if request.repo.full_name != "octo-org/hello-world" {
            return Ok(Vec::new());
        }
        Ok(vec![Secret::new("token", "t0k3n")])
    }
}

struct Registries;

#[drone_extension::async_trait]
impl RegistryExtension for Registries {
    async fn registries(&self, _: RegistryRequest) -> Result<Vec<Registry>, BoxError> {
        Ok(vec![Registry::new("docker.io", "bot", "pa55")])
    }
}

fn signer() -> Signer {
    Signer::from_seed(&[42; 32])
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn extensions() -> SocketAddr {
    let layer = VerifyWoodpeckerLayer::new(Verifier::new(signer().public_key()));
    let app = Router::new()
        .route_service("/woodpecker/config", layer.layer(Configs.into_service()))
        .route_service("/woodpecker/secret", layer.layer(Secrets.into_service()))
        .route_service(
            "/woodpecker/registry",
            layer.layer(Registries.into_service()),
        );
    serve(app).await
}

fn client(addr: SocketAddr, path: &str) -> Client {
    Client::new(&format!("http://{addr}{path}"), signer()).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn repo_request(full_name: &str) -> SecretRequest {
    let mut request = SecretRequest::default();
    request.repo.full_name = full_name.into();
    request
}

#[tokio::test]
async fn each_extension_answers_the_signed_client_with_its_type() {
    let addr = extensions().await;
    let mut config = ConfigRequest::default();
    config.repo.full_name = "octo-org/hello-world".into();
    let files = client(addr, "/woodpecker/config")
        .config(&config)
        .await
        .unwrap();
    assert_eq!(files.unwrap()[0].data, "# for octo-org/hello-world\n");

    // Keep the incoming files: echoed back with 200, never 204.
    config.repo.full_name = "octo-org/keep".into();
    config.configuration = vec![ConfigFile::new(".woodpecker/build.yaml", "steps: []\n")];
    let c = client(addr, "/woodpecker/config");
    let raw = c.call(&config).await.unwrap();
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(
        &raw.body[..],
        b"{\"configs\":[{\"name\":\".woodpecker/build.yaml\",\"data\":\"steps: []\\n\"}]}"
    );

    let secrets = client(addr, "/woodpecker/secret")
        .secrets(&repo_request("octo-org/hello-world"))
        .await
        .unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].value, "t0k3n");
    // Nothing to add: a JSON body, so Woodpecker does not retry.
    let raw = client(addr, "/woodpecker/secret")
        .call(&repo_request("other/repo"))
        .await
        .unwrap();
    assert_eq!(
        (raw.status, &raw.body[..]),
        (StatusCode::OK, &b"{\"secrets\":[]}"[..])
    );

    let registries = client(addr, "/woodpecker/registry")
        .registries(&RegistryRequest::default())
        .await
        .unwrap();
    assert_eq!(registries[0].address, "docker.io");
}

#[tokio::test]
async fn body_swap_replay_and_stale_are_refused() {
    let addr = extensions().await;
    let secret = client(addr, "/woodpecker/secret");
    let body = Bytes::from_static(b"{\"repo\":{\"full_name\":\"octo-org/hello-world\"}}\n");

    // The genuine request passes.
    let ok = secret
        .send(secret.request(body.clone(), now()).unwrap())
        .await
        .unwrap();
    assert_eq!(ok.status, StatusCode::OK);

    // Same signed head, another repository in the body (same length): 401.
    let swapped = secret.request(body.clone(), now()).unwrap();
    let (parts, _) = swapped.into_parts();
    let other = Bytes::from_static(b"{\"repo\":{\"full_name\":\"octo-org/other-world\"}}\n");
    assert_eq!(other.len(), body.len());
    let swapped = http::Request::from_parts(parts, http_body_util::Full::new(other));
    let refused = secret.send(swapped).await.unwrap();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(&refused.body[..], b"Invalid signature\n");

    // A request signed for /woodpecker/secret, sent to /woodpecker/registry: 401.
    let signed = secret.request(body.clone(), now()).unwrap();
    let (mut parts, body_) = signed.into_parts();
    parts.uri = format!("http://{addr}/woodpecker/registry")
        .parse()
        .unwrap();
    let replayed = secret
        .send(http::Request::from_parts(parts, body_))
        .await
        .unwrap();
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);

    // created two minutes ago (the default window is 60 s): 401.
    let stale = secret.request(body.clone(), now() - 120).unwrap();
    assert_eq!(
        secret.send(stale).await.unwrap().status,
        StatusCode::UNAUTHORIZED
    );
    // 30 s in the future (10 s allowed): 401.
    let future = secret.request(body, now() + 30).unwrap();
    assert_eq!(
        secret.send(future).await.unwrap().status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_unsigned_request_is_refused_before_its_body_is_read() {
    let addr = extensions().await;
    let raw = client(addr, "/woodpecker/secret")
        .send(
            http::Request::post(format!("http://{addr}/woodpecker/secret"))
                .header("content-type", "application/json")
                .body(http_body_util::Full::new(Bytes::from_static(b"{}")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(raw.status, StatusCode::UNAUTHORIZED);
    assert_eq!(&raw.body[..], b"Missing signature\n");
}

/// Sends raw bytes and returns the response's status code.
async fn raw_status(addr: SocketAddr, request: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed before a status line");
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn every_vector_gets_its_status_through_the_layer() {
    let verifier = woodpecker_vectors::verifier();
    let ok = tower::service_fn(|_: http::Request<_>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::from(
            "{\"secrets\":[]}\n",
        )))
    });
    let app = Router::new().fallback_service(VerifyWoodpeckerLayer::new(verifier).layer(ok));
    let addr = serve(app).await;
    let vectors = woodpecker_vectors::vectors();
    let mut failures = Vec::new();
    for case in vectors["cases"].as_array().unwrap() {
        let raw = STANDARD
            .decode(case["raw_request_base64"].as_str().unwrap())
            .unwrap();
        let expected = match case["expected_verdict"].as_str().unwrap() {
            "ok" => 200,
            "malformed" => 400,
            _ => 401,
        };
        let got = raw_status(addr, &raw).await;
        if got != expected {
            failures.push(format!("{}: expected {expected}, got {got}", case["name"]));
        }
    }
    assert_eq!(vectors["cases"].as_array().unwrap().len(), 33);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn woodpecker_s_own_bodies_decode_and_get_a_json_answer() {
    // The valid vectors' requests, byte for byte, to the real extension services (vector clock).
    let layer = VerifyWoodpeckerLayer::new(woodpecker_vectors::verifier());
    let app = Router::new()
        .route_service("/woodpecker/config", layer.layer(Configs.into_service()))
        .route_service("/woodpecker/secret", layer.layer(Secrets.into_service()))
        .route_service(
            "/woodpecker/registry",
            layer.layer(Registries.into_service()),
        );
    let addr = serve(app).await;
    let vectors = woodpecker_vectors::vectors();
    let mut served = 0;
    for case in vectors["cases"].as_array().unwrap() {
        let line = case["request_line"].as_str().unwrap();
        let routed = [
            "/woodpecker/config ",
            "/woodpecker/secret ",
            "/woodpecker/registry ",
        ]
        .iter()
        .any(|p| line.starts_with(&format!("POST {p}")));
        if case["expected_verdict"] != "ok" || !routed || case["body_text"].as_str() == Some("") {
            continue;
        }
        let raw = STANDARD
            .decode(case["raw_request_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(raw_status(addr, &raw).await, 200, "{}", case["name"]);
        served += 1;
    }
    assert!(served >= 6, "{served}");
}

#[tokio::test]
async fn the_public_key_is_fetched_from_a_woodpecker_server_with_clear_errors() {
    use drone_extension::woodpecker::{KeyError, fetch_public_key};
    let pem = woodpecker_vectors::vectors()["key"]["public_key_pem"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = Router::new()
        .route(
            "/ci/api/signature/public-key",
            axum::routing::get(move || async move { pem }),
        )
        .route(
            "/old/api/signature/public-key",
            axum::routing::get(|| async { (StatusCode::UNAUTHORIZED, "not logged in") }),
        )
        .route(
            "/html/api/signature/public-key",
            axum::routing::get(|| async { "<html>login</html>" }),
        );
    let addr = serve(app).await;
    let key = fetch_public_key(&format!("http://{addr}/ci/"))
        .await
        .unwrap();
    assert_eq!(key, woodpecker_vectors::public_key());

    let err = fetch_public_key(&format!("http://{addr}/old"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KeyError::Fetch(why) if why.contains("status 401")),
        "{err}"
    );
    let err = fetch_public_key(&format!("http://{addr}/html"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not an Ed25519 public key in PEM"),
        "{err}"
    );
    let err = fetch_public_key("ftp://example.com").await.unwrap_err();
    assert!(matches!(err, KeyError::Fetch(_)));
}
