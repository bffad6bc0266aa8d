//! Woodpecker's three extensions behind one `WoodpeckerRouter`: the default and prefixed paths,
//! the router's own 404/405, the one shared layer (body limit, replay guard), metrics, axum
//! (`fallback_service`, `route_service`, and the `nest_service` trap), `server::Server` on
//! 127.0.0.1 with the Woodpecker client, the `testing` helpers, and the prelude next to Drone's.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::routing::get;
use drone_extension::layer::MemoryReplayGuard;
use drone_extension::metrics::Metrics;
use drone_extension::prelude::*;
use drone_extension::testing;
use drone_extension::woodpecker::prelude::*;
use drone_extension::woodpecker::{Client, Signer};
use http::StatusCode;

fn signer() -> Signer {
    Signer::from_seed(&[42; 32])
}

fn router() -> WoodpeckerRouter {
    WoodpeckerRouter::new(Verifier::new(signer().public_key()))
        .config(Everything)
        .secret(Everything)
        .registry(Everything)
}

/// Answers every extension with something naming the repository.
#[derive(Clone)]
struct Everything;

#[async_trait]
impl ConfigExtension for Everything {
    async fn config(&self, request: &WoodpeckerConfigRequest) -> Result<ConfigAnswer, BoxError> {
        Ok(ConfigAnswer::Files(vec![ConfigFile::new(
            "central.yaml",
            format!("# {}\n", request.repo.full_name),
        )]))
    }
}

#[async_trait]
impl SecretExtension for Everything {
    async fn secrets(
        &self,
        request: WoodpeckerSecretRequest,
    ) -> Result<Vec<WoodpeckerSecret>, BoxError> {
        Ok(vec![WoodpeckerSecret::new(
            "token",
            format!("for {}", request.repo.full_name),
        )])
    }
}

#[async_trait]
impl RegistryExtension for Everything {
    async fn registries(
        &self,
        request: WoodpeckerRegistryRequest,
    ) -> Result<Vec<WoodpeckerRegistry>, BoxError> {
        Ok(vec![WoodpeckerRegistry::new(
            format!("{}.example.com", request.repo.name),
            "ci",
            "hunter2",
        )])
    }
}

fn secret_request(repo: &str) -> WoodpeckerSecretRequest {
    let mut request = WoodpeckerSecretRequest::default();
    request.repo.full_name = repo.into();
    request
}

async fn secrets_at<S, B>(app: S, path: &str, repo: &str) -> Result<Vec<String>, String>
where
    S: tower::Service<
            http::Request<http_body_util::Full<bytes::Bytes>>,
            Response = http::Response<B>,
        >,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<BoxError>,
{
    let request = testing::woodpecker_signed_request(&signer(), path, &secret_request(repo))
        .map_err(|e| e.to_string())?;
    let raw = testing::send(app, request)
        .await
        .map_err(|e| e.to_string())?;
    raw.woodpecker_secrets()
        .map(|secrets| secrets.into_iter().map(|s| s.value).collect())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn serves_the_three_extensions_at_their_default_paths() -> Result<(), BoxError> {
    let app = router();
    assert_eq!(app.paths(), ["/config", "/registry", "/secret"]);

    assert_eq!(
        secrets_at(app.clone(), "/secret", "octo/hello").await?,
        ["for octo/hello"]
    );

    let mut config = WoodpeckerConfigRequest::default();
    config.repo.full_name = "octo/hello".into();
    let request = testing::woodpecker_signed_request(&signer(), "/config", &config)?;
    let files = testing::send(app.clone(), request)
        .await?
        .woodpecker_config()?;
    assert_eq!(
        files.map(|f| f[0].data.clone()),
        Some("# octo/hello\n".into())
    );

    let mut registry = WoodpeckerRegistryRequest::default();
    registry.repo.name = "hello".into();
    let request = testing::woodpecker_signed_request(&signer(), "/registry", &registry)?;
    let registries = testing::send(app, request).await?.woodpecker_registries()?;
    assert_eq!(registries[0].address, "hello.example.com");
    Ok(())
}

#[tokio::test]
async fn refuses_unknown_paths_other_methods_unsigned_and_retargeted_requests()
-> Result<(), BoxError> {
    let app = router();
    let body = secret_request("octo/hello");

    let unknown = testing::woodpecker_signed_request(&signer(), "/environ", &body)?;
    let raw = testing::send(app.clone(), unknown).await?;
    assert_eq!(raw.status, StatusCode::NOT_FOUND);
    assert_eq!(&raw.body[..], b"404 page not found\n");

    let mut get = testing::woodpecker_signed_request(&signer(), "/secret", &body)?;
    *get.method_mut() = http::Method::GET;
    let raw = testing::send(app.clone(), get).await?;
    assert_eq!(raw.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(raw.headers["allow"], "POST");

    let unsigned = testing::woodpecker_unsigned_request("/secret", &body)?;
    assert_eq!(testing::send(app.clone(), unsigned).await?.status, 401);

    // Signed for /secret, sent to /registry: the path is signed.
    let mut retargeted = testing::woodpecker_signed_request(&signer(), "/secret", &body)?;
    *retargeted.uri_mut() = http::Uri::from_static("/registry");
    assert_eq!(testing::send(app.clone(), retargeted).await?.status, 401);

    // Signed by another Woodpecker server.
    let other = Signer::from_seed(&[43; 32]);
    let foreign = testing::woodpecker_signed_request(&other, "/secret", &body)?;
    assert_eq!(testing::send(app.clone(), foreign).await?.status, 401);

    // Signed two minutes ago: older than the default 60 s.
    let old = SystemTime::now() - Duration::from_secs(120);
    let stale = testing::woodpecker_signed_request_at(&signer(), "/secret", &body, old)?;
    assert_eq!(testing::send(app, stale).await?.status, 401);

    assert!(testing::woodpecker_signed_request(&signer(), "http://x/secret", &body).is_err());
    assert!(testing::woodpecker_signed_request(&signer(), "secret", &body).is_err());
    Ok(())
}

#[tokio::test]
async fn a_prefix_serves_below_it_and_the_signed_path_is_the_full_one() -> Result<(), BoxError> {
    // Set before or after the routes: the same.
    for app in [
        router().prefix("/woodpecker/"),
        WoodpeckerRouter::new(Verifier::new(signer().public_key()))
            .prefix("woodpecker")
            .secret(Everything),
    ] {
        assert!(app.paths().contains(&"/woodpecker/secret".to_owned()));
        assert_eq!(
            secrets_at(app.clone(), "/woodpecker/secret", "a/b").await?,
            ["for a/b"]
        );
        // The unprefixed path is not served.
        let plain =
            testing::woodpecker_signed_request(&signer(), "/secret", &secret_request("a/b"))?;
        assert_eq!(testing::send(app.clone(), plain).await?.status, 404);
        // Signed for the short path but sent to the full one: refused.
        let mut short =
            testing::woodpecker_signed_request(&signer(), "/secret", &secret_request("a/b"))?;
        *short.uri_mut() = http::Uri::from_static("/woodpecker/secret");
        assert_eq!(testing::send(app.clone(), short).await?.status, 401);
    }
    Ok(())
}

#[tokio::test]
async fn one_layer_configuration_for_every_route() -> Result<(), BoxError> {
    let layer = VerifyWoodpeckerLayer::new(Verifier::new(signer().public_key()))
        .body_limit(4096)
        .replay_guard(MemoryReplayGuard::new(1024));
    let app = WoodpeckerRouter::with_layer(layer)
        .secret(Everything)
        .registry(Everything);

    // The layer's body limit, on every route.
    for path in ["/secret", "/registry"] {
        let big = secret_request(&"x".repeat(5000));
        let request = testing::woodpecker_signed_request(&signer(), path, &big)?;
        assert_eq!(
            testing::send(app.clone(), request).await?.status,
            413,
            "{path}"
        );
    }

    // The replay guard: a 200 with a body is not served twice.
    let request = testing::woodpecker_signed_request(&signer(), "/secret", &secret_request("a/b"))?;
    let copy = clone_request(&request);
    assert_eq!(testing::send(app.clone(), request).await?.status, 200);
    assert_eq!(testing::send(app.clone(), copy).await?.status, 401);

    // Without the guard, the same copy is served again.
    let app = router();
    let request = testing::woodpecker_signed_request(&signer(), "/secret", &secret_request("a/b"))?;
    let copy = clone_request(&request);
    assert_eq!(testing::send(app.clone(), request).await?.status, 200);
    assert_eq!(testing::send(app, copy).await?.status, 200);
    Ok(())
}

fn clone_request(
    request: &http::Request<http_body_util::Full<bytes::Bytes>>,
) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

#[tokio::test]
async fn records_each_extension_under_its_name() -> Result<(), BoxError> {
    let metrics = Metrics::new();
    // Metrics set before a route is added, and after.
    let app = WoodpeckerRouter::new(Verifier::new(signer().public_key()))
        .secret(Everything)
        .metrics(&metrics)
        .registry(Everything);
    secrets_at(app.clone(), "/secret", "a/b").await?;
    let unsigned = testing::woodpecker_unsigned_request("/registry", &secret_request("a/b"))?;
    assert_eq!(testing::send(app.clone(), unsigned).await?.status, 401);
    let unknown = testing::woodpecker_unsigned_request("/nowhere", &secret_request("a/b"))?;
    assert_eq!(testing::send(app, unknown).await?.status, 404);

    let text = metrics.encode();
    assert!(
        text.contains(
            r#"drone_extension_requests_total{kind="woodpecker-secret",decision="found",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"drone_extension_refusals_total{kind="woodpecker-registry",reason="missing"} 1"#
        ),
        "{text}"
    );
    assert!(!text.contains("status=\"404\""), "{text}");
    Ok(())
}

#[tokio::test]
async fn with_axum_fallback_route_service_and_the_nest_trap() -> Result<(), BoxError> {
    let app: Router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .fallback_service(router().prefix("/woodpecker"));
    assert_eq!(
        secrets_at(app.clone(), "/woodpecker/secret", "a/b").await?,
        ["for a/b"]
    );
    let health = http::Request::get("/healthz").body(http_body_util::Full::default())?;
    assert_eq!(testing::send(app, health).await?.status, 200);

    let app: Router = Router::new().route_service("/secret", router());
    assert_eq!(secrets_at(app, "/secret", "a/b").await?, ["for a/b"]);

    // Nesting strips the prefix from the URI: the signed path no longer matches.
    let app: Router = Router::new().nest_service("/woodpecker", router());
    let request = testing::woodpecker_signed_request(
        &signer(),
        "/woodpecker/secret",
        &secret_request("a/b"),
    )?;
    assert_eq!(testing::send(app, request).await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn served_by_the_server_to_the_woodpecker_client() -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::new().shutdown_signal(async move {
        let _ = stopped.await;
    });
    let served = tokio::spawn(server.serve(listener, router().prefix("/woodpecker")));

    let client = Client::new(&format!("http://{addr}/woodpecker/secret"), signer())?
        .timeout(Duration::from_secs(10));
    let secrets = client.secrets(&secret_request("octo/hello")).await?;
    assert_eq!(secrets[0].value, "for octo/hello");
    let wrong = Client::new(
        &format!("http://{addr}/woodpecker/secret"),
        Signer::from_seed(&[1; 32]),
    )?;
    assert!(wrong.secrets(&secret_request("octo/hello")).await.is_err());

    let _ = stop.send(());
    // Bounds only a hang: the drain of an idle server takes milliseconds.
    tokio::time::timeout(Duration::from_secs(30), served).await???;
    Ok(())
}

#[tokio::test]
async fn shared_extensions_serve_through_arc_and_both_preludes_coexist() -> Result<(), BoxError> {
    // Drone's prelude names (Secret, SecretRequest) and Woodpecker's prefixed ones side by side.
    let drone = Secret {
        name: "drone".into(),
        ..Default::default()
    };
    let shared: Arc<dyn SecretExtension> = Arc::new(Everything);
    let app = WoodpeckerRouter::new(Verifier::new(signer().public_key()))
        .secret(shared.clone())
        .registry(Box::new(Everything))
        .config(Arc::new(Everything));
    assert_eq!(
        secrets_at(app, "/secret", &drone.name).await?,
        ["for drone"]
    );
    let _ = SecretRequest::default();
    Ok(())
}
