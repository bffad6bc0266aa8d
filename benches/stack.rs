//! Benchmarks of the whole tower stack, in process: one signed request per extension kind
//! through an [`ExtensionRouter`] with metrics (router → metrics → verifying layer →
//! `ExtensionService` → the kind's trait), as the starter serves it, without the server.
//!
//! * `stack/<kind>`: the request signed as Drone signs it (`testing::signed_request`), its body
//!   the kind's realistic one (`testing::sample::request`, about 1 KiB: a repository and a build
//!   filled as Drone fills them), answered by a trait implementation that does next to nothing. Each iteration builds
//!   a new `http::Request` from the pre-signed head and body (as a server makes one per
//!   request), calls a clone of the router and reads the whole response body.
//!
//! The requests are signed with the current time just before each kind is measured: a kind's
//! measurement must end within the verifier's clock window (300 s), which criterion's default
//! settings (3 s warm-up, 5 s measurement) leave far behind. Every answer's status is checked:
//! a request refused (a stale `Date`) stops the benchmark instead of measuring refusals.
//!
//! Compare `stack/secret` with `verify/layer/accept/1KiB` (benches/verify.rs) for the cost of the
//! service, the JSON and the metrics around the layer; `benches/README.md` has the profile.
//!
//! ```text
//! cargo bench -p drone-extension --features client,metrics --bench stack
//! cargo bench -p drone-extension --features client,metrics --bench stack -- stack/global-secrets
//! ```

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use drone_extension::admission::{Admission, AdmissionRequest, Admitter};
use drone_extension::config::{ConfigProvider, ConfigRequest};
use drone_extension::convert::{ConvertRequest, Converter};
use drone_extension::environ::{EnvironProvider, EnvironRequest};
use drone_extension::global_secrets::{GlobalSecretsProvider, GlobalSecretsRequest};
use drone_extension::metrics::Metrics;
use drone_extension::models::{Config, LegacySecret, Registry, Secret, Variable};
use drone_extension::registry::{RegistryProvider, RegistryRequest};
use drone_extension::router::ExtensionRouter;
use drone_extension::secret::{SecretFinder, SecretRequest};
use drone_extension::signature::SharedSecret;
use drone_extension::testing::{self, sample, sample::Sample};
use drone_extension::validate::{ValidateRequest, Validation, Validator};
use drone_extension::webhook::{WebhookReceiver, WebhookRequest};
use drone_extension::{BoxError, ExtensionKind};
use http::request::Parts;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{Service, ServiceExt};

const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";

/// An extension that answers every kind at once, as a policy lookup would.
#[derive(Clone)]
struct Quick;

#[drone_extension::async_trait]
impl Admitter for Quick {
    async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError> {
        Ok(if request.user.login == "root" {
            Admission::deny("access denied")
        } else {
            Admission::Allow
        })
    }
}

#[drone_extension::async_trait]
impl GlobalSecretsProvider for Quick {
    async fn secrets(&self, request: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
        Ok(vec![LegacySecret {
            name: "docker_password".into(),
            value: format!("for-{}", request.repo.full_name),
            event: vec!["push".into()],
            ..Default::default()
        }])
    }
}

#[drone_extension::async_trait]
impl SecretFinder for Quick {
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
        Ok(Some(Secret {
            name: request.name,
            data: "correct-horse-battery-staple".into(),
            ..Default::default()
        }))
    }
}

#[drone_extension::async_trait]
impl RegistryProvider for Quick {
    async fn registries(&self, _: RegistryRequest) -> Result<Vec<Registry>, BoxError> {
        Ok(vec![Registry {
            address: "ghcr.io".into(),
            username: "octocat".into(),
            password: "correct-horse-battery-staple".into(),
            ..Default::default()
        }])
    }
}

#[drone_extension::async_trait]
impl EnvironProvider for Quick {
    async fn variables(&self, _: EnvironRequest) -> Result<Vec<Variable>, BoxError> {
        Ok(vec![Variable {
            name: "GOPROXY".into(),
            data: "https://proxy.golang.org".into(),
            mask: false,
        }])
    }
}

#[drone_extension::async_trait]
impl ConfigProvider for Quick {
    async fn find(&self, _: ConfigRequest) -> Result<Option<Config>, BoxError> {
        Ok(Some(Config {
            data: "kind: pipeline\nname: default\nsteps:\n- name: test\n  image: golang\n".into(),
            kind: String::new(),
        }))
    }
}

#[drone_extension::async_trait]
impl Converter for Quick {
    async fn convert(&self, request: ConvertRequest) -> Result<Option<Config>, BoxError> {
        Ok(Some(request.config))
    }
}

#[drone_extension::async_trait]
impl Validator for Quick {
    async fn validate(&self, _: ValidateRequest) -> Result<Validation, BoxError> {
        Ok(Validation::Pass)
    }
}

#[drone_extension::async_trait]
impl WebhookReceiver for Quick {
    async fn receive(&self, request: WebhookRequest) -> Result<(), BoxError> {
        black_box(&request);
        Ok(())
    }
}

/// The starter's stack: every kind on its path, verified with its kind's policy, recorded into
/// metrics.
fn router(metrics: &Metrics) -> ExtensionRouter {
    let key = SharedSecret::new(SECRET).unwrap();
    ExtensionRouter::new()
        .metrics(metrics)
        .admission(key.clone(), Quick)
        .global_secrets(key.clone(), Quick)
        .secret(key.clone(), Quick)
        .registry(key.clone(), Quick)
        .environ(key.clone(), Quick)
        .config(key.clone(), Quick)
        .convert(key.clone(), Quick)
        .validate(key.clone(), Quick)
        .webhook(key, Quick)
}

/// A signed request, split so that each iteration can build a fresh one.
fn signed(kind: ExtensionKind, body: &Sample) -> (Parts, Bytes) {
    let key = SharedSecret::new(SECRET).unwrap();
    let request = testing::signed_request(kind, &key, body).unwrap();
    let (parts, body) = request.into_parts();
    let body = futures_block(body.collect()).unwrap().to_bytes();
    (parts, body)
}

fn fresh(parts: &Parts, body: &Bytes) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(body.clone()));
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.headers_mut() = parts.headers.clone();
    request
}

/// One request through a clone of `router`: its status and the length of its body.
async fn send(router: &ExtensionRouter, request: Request<Full<Bytes>>) -> (StatusCode, usize) {
    let mut router = router.clone();
    let response = ServiceExt::<Request<Full<Bytes>>>::ready(&mut router)
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.len())
}

fn futures_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn stack(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let metrics = Metrics::new();
    let router = router(&metrics);
    let mut group = c.benchmark_group("stack");
    for &kind in ExtensionKind::ALL {
        // Signed now: this kind's measurement runs well within the clock window.
        let (parts, bytes) = signed(kind, &sample::request(kind));
        let (status, _) = runtime.block_on(send(&router, fresh(&parts, &bytes)));
        assert!(
            status.is_success() || status.as_u16() == 498 || status.as_u16() == 499,
            "{kind}: {status}"
        );
        group.bench_function(kind.name(), |b| {
            b.to_async(&runtime).iter(|| async {
                let answer = send(&router, fresh(&parts, &bytes)).await;
                assert_eq!(answer.0, status, "{kind}: refused (a stale Date?)");
                black_box(answer)
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(4));
    targets = stack
}
criterion_main!(benches);
