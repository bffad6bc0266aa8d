//! Several kinds in one server: [`ExtensionRouter`], [`verified_service`], the `route_layer` trap
//! and the log line that names it, and the in-process `testing` helpers that drive them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use drone_extension::models::User;
use drone_extension::prelude::*;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::testing;
use http::StatusCode;

const KEY: &str = "bea26a2221fd8090ea38720fc445eca6";

fn key() -> SharedSecret {
    SharedSecret::new(KEY).expect("a valid secret")
}

/// Answers every kind: one secret, one 0.8 secret, one registry, one variable, a config, a
/// conversion, passes, and admits everyone.
#[derive(Clone)]
struct Everything;

#[async_trait]
impl Admitter for Everything {
    async fn admit(&self, _: AdmissionRequest) -> Result<Admission, BoxError> {
        Ok(Admission::GrantAdmin)
    }
}

#[async_trait]
impl GlobalSecretsProvider for Everything {
    async fn secrets(&self, _: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
        Ok(vec![LegacySecret {
            name: "docker_password".into(),
            value: "legacy".into(),
            ..Default::default()
        }])
    }
}

#[async_trait]
impl SecretFinder for Everything {
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
        Ok(Some(Secret {
            name: request.name,
            data: "found".into(),
            ..Default::default()
        }))
    }
}

#[async_trait]
impl RegistryProvider for Everything {
    async fn registries(&self, _: RegistryRequest) -> Result<Vec<Registry>, BoxError> {
        Ok(vec![Registry {
            address: "index.docker.io".into(),
            username: "octocat".into(),
            password: "hunter2".into(),
            ..Default::default()
        }])
    }
}

#[async_trait]
impl EnvironProvider for Everything {
    async fn variables(&self, _: EnvironRequest) -> Result<Vec<Variable>, BoxError> {
        Ok(vec![Variable {
            name: "DEPLOY_ENV".into(),
            data: "staging".into(),
            ..Default::default()
        }])
    }
}

#[async_trait]
impl ConfigProvider for Everything {
    async fn find(&self, _: ConfigRequest) -> Result<Option<Config>, BoxError> {
        Ok(Some(Config {
            data: "kind: pipeline\n".into(),
            ..Default::default()
        }))
    }
}

#[async_trait]
impl Converter for Everything {
    async fn convert(&self, _: ConvertRequest) -> Result<Option<Config>, BoxError> {
        Ok(Some(Config {
            data: "kind: converted\n".into(),
            ..Default::default()
        }))
    }
}

#[async_trait]
impl Validator for Everything {
    async fn validate(&self, _: ValidateRequest) -> Result<Validation, BoxError> {
        Ok(Validation::Pass)
    }
}

#[async_trait]
impl WebhookReceiver for Everything {
    async fn receive(&self, _: WebhookRequest) -> Result<(), BoxError> {
        Ok(())
    }
}

fn every_kind() -> ExtensionRouter {
    let shared = Arc::new(Everything);
    ExtensionRouter::new()
        .admission(key(), shared.clone())
        .global_secrets(key(), shared.clone())
        .secret(key(), shared.clone())
        .registry(key(), shared.clone())
        .environ(key(), shared.clone())
        .config(key(), shared.clone())
        .convert(key(), shared.clone())
        .validate(key(), shared.clone())
        .webhook(key(), shared)
}

/// A body each kind decodes.
fn body(kind: ExtensionKind) -> serde_json::Value {
    match kind {
        ExtensionKind::Admission => serde_json::to_value(AdmissionRequest {
            user: User {
                login: "octocat".into(),
                ..Default::default()
            },
            ..Default::default()
        }),
        ExtensionKind::GlobalSecrets => serde_json::to_value(GlobalSecretsRequest::default()),
        ExtensionKind::Secret => serde_json::to_value(SecretRequest {
            name: "username".into(),
            ..Default::default()
        }),
        ExtensionKind::Registry => serde_json::to_value(RegistryRequest::default()),
        ExtensionKind::Environ => serde_json::to_value(EnvironRequest::default()),
        ExtensionKind::Config => serde_json::to_value(ConfigRequest::default()),
        ExtensionKind::Convert => serde_json::to_value(ConvertRequest::default()),
        ExtensionKind::Validate => serde_json::to_value(ValidateRequest::default()),
        _ => serde_json::to_value(WebhookRequest::default()),
    }
    .expect("encodes")
}

/// Checks the typed answer of each kind, read as Drone reads it.
fn assert_answer(kind: ExtensionKind, answer: drone_extension::client::RawResponse) {
    match kind {
        ExtensionKind::Admission => assert!(answer.admission().unwrap().admin),
        ExtensionKind::GlobalSecrets => {
            assert_eq!(answer.global_secrets().unwrap()[0].value, "legacy")
        }
        ExtensionKind::Secret => assert_eq!(answer.secret().unwrap().unwrap().data, "found"),
        ExtensionKind::Registry => assert_eq!(answer.registries().unwrap()[0].password, "hunter2"),
        ExtensionKind::Environ => assert_eq!(answer.variables().unwrap()[0].data, "staging"),
        ExtensionKind::Config => {
            assert_eq!(answer.config().unwrap().unwrap().data, "kind: pipeline\n")
        }
        ExtensionKind::Convert => {
            assert_eq!(answer.config().unwrap().unwrap().data, "kind: converted\n")
        }
        ExtensionKind::Validate => assert_eq!(answer.validation(), Validation::Pass),
        _ => assert_eq!(answer.webhook(), StatusCode::NO_CONTENT),
    }
}

#[tokio::test]
async fn every_kind_is_served_on_its_path_and_verified() -> Result<(), BoxError> {
    let router = every_kind();
    assert_eq!(router.kinds().len(), ExtensionKind::ALL.len());
    for &kind in ExtensionKind::ALL {
        let answer = testing::call(router.clone(), kind, &key(), &body(kind)).await?;
        assert!(answer.status.is_success(), "{kind}: {}", answer.status);
        assert_answer(kind, answer);

        let unsigned = testing::unsigned_request(kind, &body(kind))?;
        let refused = testing::send(router.clone(), unsigned).await?;
        assert_eq!(refused.status, 401, "{kind} unsigned");

        // Signed for this kind, sent to every other kind's path: refused.
        for other in ExtensionKind::ALL.iter().copied().filter(|k| *k != kind) {
            let mut request = testing::signed_request(kind, &key(), &body(kind))?;
            *request.uri_mut() = other.path().parse()?;
            let answer = testing::send(router.clone(), request).await?;
            assert_eq!(answer.status, 401, "{kind} signed, sent to {other}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn unknown_paths_are_404_and_other_methods_405() -> Result<(), BoxError> {
    let router = ExtensionRouter::new().secret(key(), Everything);
    let mut request =
        testing::signed_request(ExtensionKind::Secret, &key(), &body(ExtensionKind::Secret))?;
    *request.uri_mut() = "/admission".parse()?;
    let answer = testing::send(router.clone(), request).await?;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body, "404 page not found\n");

    let mut request =
        testing::signed_request(ExtensionKind::Secret, &key(), &body(ExtensionKind::Secret))?;
    *request.method_mut() = http::Method::GET;
    let answer = testing::send(router, request).await?;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers["allow"], "POST");
    Ok(())
}

#[tokio::test]
async fn the_router_nests_and_falls_back_in_axum() -> Result<(), BoxError> {
    let app: Router = Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .nest_service("/drone", every_kind())
        .fallback_service(every_kind());
    let request = body(ExtensionKind::Secret);
    let mut nested = testing::signed_request(ExtensionKind::Secret, &key(), &request)?;
    *nested.uri_mut() = "/drone/secret".parse()?;
    assert_eq!(testing::send(app.clone(), nested).await?.status, 200);
    let answer = testing::call(app.clone(), ExtensionKind::Secret, &key(), &request).await?;
    assert_eq!(answer.secret()?.map(|s| s.data), Some("found".into()));
    let mut health = testing::unsigned_request(ExtensionKind::Secret, &())?;
    *health.method_mut() = http::Method::GET;
    *health.uri_mut() = "/healthz".parse()?;
    assert_eq!(testing::send(app, health).await?.body, "ok");
    Ok(())
}

#[tokio::test]
async fn verified_services_on_chosen_paths_are_each_verified_for_their_kind() -> Result<(), BoxError>
{
    // The obvious code: one route_service per kind, no route_layer.
    let app: Router = Router::new()
        .route_service(
            "/s",
            verified_service(key(), drone_extension::secret::service(Everything)),
        )
        .route_service(
            "/g",
            verified_service(key(), drone_extension::global_secrets::service(Everything)),
        );
    for (path, kind) in [
        ("/s", ExtensionKind::Secret),
        ("/g", ExtensionKind::GlobalSecrets),
    ] {
        let mut request = testing::signed_request(kind, &key(), &body(kind))?;
        *request.uri_mut() = path.parse()?;
        assert_eq!(
            testing::send(app.clone(), request).await?.status,
            200,
            "{path}"
        );
    }
    Ok(())
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The lines logged so far inside spans named `span` (the fmt subscriber prefixes each line
    /// with its spans), so that the other tests of this binary, which log concurrently, do not
    /// interfere.
    fn text(&self, span: &str) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned"))
            .lines()
            .filter(|line| line.contains(span))
            .map(|line| format!("{line}\n"))
            .collect()
    }

    /// The process-wide log of this test binary. A global subscriber, because a thread-scoped
    /// one races with the other tests over the callsites' cached interest.
    fn global() -> &'static Captured {
        static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
        LOG.get_or_init(|| {
            let log = Captured::default();
            let writer = log.clone();
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .init();
            log
        })
    }
}

#[tokio::test]
async fn the_route_layer_trap_is_named_at_the_first_request() -> Result<(), BoxError> {
    use tracing::Instrument;
    let log = Captured::global();
    let span = "route_layer_trap";
    async move {
        // The mis-wiring of the issue: the global-secrets layer also wraps `/secret`.
        let app: Router = Router::new()
            .route_service("/secret", drone_extension::secret::service(Everything))
            .route_layer(VerifySignatureLayer::for_kind(ExtensionKind::Secret, key()))
            .route_service(
                "/global-secrets",
                drone_extension::global_secrets::service(Everything),
            )
            .route_layer(VerifySignatureLayer::for_kind(
                ExtensionKind::GlobalSecrets,
                key(),
            ));

        let request = body(ExtensionKind::GlobalSecrets);
        let answer =
            testing::call(app.clone(), ExtensionKind::GlobalSecrets, &key(), &request).await?;
        assert_eq!(answer.status, 200, "the last route works");
        assert!(!log.text(span).contains("stacked"), "{}", log.text(span));

        let request = body(ExtensionKind::Secret);
        let answer = testing::call(app, ExtensionKind::Secret, &key(), &request).await?;
        assert_eq!(
            answer.status, 401,
            "an earlier route is behind the later layer"
        );
        let text = log.text(span);
        let line = text
            .lines()
            .find(|line| line.contains("request rejected"))
            .unwrap_or_else(|| panic!("no refusal logged:\n{text}"));
        assert!(
            line.contains("is a layer of another route stacked on this one?"),
            "{line}"
        );
        assert!(line.contains("route_layer"), "{line}");
        // Both media types are named: the one this route expects and the one signed.
        assert!(
            line.contains("expected \"application/json\"")
                && line.contains(drone_extension::kind::SECRET_V1),
            "{line}"
        );
        Ok(())
    }
    .instrument(tracing::info_span!("route_layer_trap"))
    .await
}

#[cfg(feature = "metrics")]
#[tokio::test]
async fn the_router_records_each_kind_into_metrics() -> Result<(), BoxError> {
    use drone_extension::metrics::Metrics;
    let metrics = Metrics::new();
    let router = every_kind().metrics(&metrics);
    for &kind in ExtensionKind::ALL {
        let answer = testing::call(router.clone(), kind, &key(), &body(kind)).await?;
        assert!(answer.status.is_success(), "{kind}: {}", answer.status);
    }
    let unsigned = testing::unsigned_request(ExtensionKind::Secret, &body(ExtensionKind::Secret))?;
    assert_eq!(testing::send(router.clone(), unsigned).await?.status, 401);
    // Not a kind's path: the router's own 404, not recorded.
    let mut stray = testing::unsigned_request(ExtensionKind::Secret, &body(ExtensionKind::Secret))?;
    *stray.uri_mut() = "/nowhere".parse()?;
    assert_eq!(testing::send(router, stray).await?.status, 404);

    // A kind added after `metrics` is recorded too.
    let later = Metrics::new();
    let router = ExtensionRouter::new()
        .metrics(&later)
        .secret(key(), Everything);
    let kind = ExtensionKind::Secret;
    assert_eq!(
        testing::call(router, kind, &key(), &body(kind))
            .await?
            .status,
        200
    );
    assert!(
        later
            .encode()
            .contains(r#"drone_extension_request_duration_seconds_count{kind="secret"} 1"#),
        "{}",
        later.encode()
    );

    let text = metrics.encode();
    let count = |prefix: &str| {
        text.lines()
            .filter(|line| line.starts_with(prefix))
            .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        count("drone_extension_requests_total{"),
        ExtensionKind::ALL.len() as u64 + 1
    );
    assert_eq!(
        count(r#"drone_extension_refusals_total{kind="secret",reason="missing"}"#),
        1
    );
    for &kind in ExtensionKind::ALL {
        let prefix = format!(
            r#"drone_extension_request_duration_seconds_count{{kind="{}"}}"#,
            kind.name()
        );
        let expected = if kind == ExtensionKind::Secret { 2 } else { 1 };
        assert_eq!(count(&prefix), expected, "{kind}\n{text}");
    }
    Ok(())
}

/// The `aesgcm` feature changes no answer by itself: only a router told to with `aesgcm()`
/// encrypts, and only for a caller that asks.
#[cfg(feature = "aesgcm")]
#[tokio::test]
async fn the_router_encrypts_only_once_told_to() -> Result<(), BoxError> {
    use drone_extension::signature::{SIGNATURE, Signer};

    let asking = || -> Result<http::Request<http_body_util::Full<bytes::Bytes>>, BoxError> {
        let kind = ExtensionKind::Secret;
        let mut request = testing::signed_request(kind, &key(), &body(kind))?;
        request
            .headers_mut()
            .insert(http::header::ACCEPT_ENCODING, "aesgcm".parse()?);
        let params = Signer::new(key()).sign(
            request.method(),
            request.uri(),
            request.headers(),
            "accept accept-encoding content-type date digest",
        )?;
        request
            .headers_mut()
            .insert(SIGNATURE.clone(), params.to_string().parse()?);
        Ok(request)
    };

    let plain = testing::send(every_kind(), asking()?).await?;
    assert_eq!(plain.status, 200);
    assert!(plain.headers.get("content-encoding").is_none());
    assert_eq!(plain.secret()?.map(|s| s.data), Some("found".to_owned()));

    let told = ExtensionRouter::new().aesgcm().secret(key(), Everything);
    let encrypted = testing::send(told, asking()?).await?;
    assert_eq!(encrypted.status, 200);
    assert_eq!(encrypted.headers["content-encoding"], "aesgcm");
    let opened = drone_extension::aesgcm::decrypt(&key(), &encrypted.body)?;
    let secret: Secret = serde_json::from_slice(&opened)?;
    assert_eq!(secret.data, "found");
    Ok(())
}
