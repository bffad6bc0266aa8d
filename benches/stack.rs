//! Benchmarks of the whole tower stack, in process: one signed request per extension kind
//! through an [`ExtensionRouter`] with metrics (router → metrics → verifying layer →
//! `ExtensionService` → the kind's trait), as the starter serves it, without the server.
//!
//! * `stack/<kind>`: the request signed as Drone signs it (`testing::signed_request`), its body
//!   a realistic one for the kind (about 1 KiB: a repository and a build filled as Drone fills
//!   them), answered by a trait implementation that does next to nothing. Each iteration builds
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
use drone_extension::admission::{Admission, AdmissionEvent, AdmissionRequest, Admitter};
use drone_extension::config::{ConfigProvider, ConfigRequest};
use drone_extension::convert::{ConvertRequest, Converter};
use drone_extension::environ::{EnvironProvider, EnvironRequest};
use drone_extension::global_secrets::{GlobalSecretsProvider, GlobalSecretsRequest};
use drone_extension::metrics::Metrics;
use drone_extension::models::{
    Build, Config, LegacyBuild, LegacyRepo, LegacySecret, Registry, Repo, Secret, User, Variable,
};
use drone_extension::registry::{RegistryProvider, RegistryRequest};
use drone_extension::router::ExtensionRouter;
use drone_extension::secret::{SecretFinder, SecretRequest};
use drone_extension::signature::SharedSecret;
use drone_extension::validate::{ValidateRequest, Validation, Validator};
use drone_extension::webhook::{WebhookEvent, WebhookReceiver, WebhookRequest};
use drone_extension::{BoxError, ExtensionKind, testing};
use http::request::Parts;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::Serialize;
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

/// `octocat/hello-world` as Drone sends it.
fn repo() -> Repo {
    Repo {
        id: 42,
        uid: "1296269".into(),
        user_id: 1,
        namespace: "octocat".into(),
        name: "hello-world".into(),
        slug: "octocat/hello-world".into(),
        scm: "git".into(),
        git_http_url: "https://github.com/octocat/hello-world.git".into(),
        git_ssh_url: "git@github.com:octocat/hello-world.git".into(),
        link: "https://github.com/octocat/hello-world".into(),
        default_branch: "master".into(),
        visibility: "public".into(),
        active: true,
        config_path: ".drone.yml".into(),
        timeout: 60,
        counter: 41,
        synced: 1_577_836_800,
        created: 1_577_836_800,
        updated: 1_577_836_800,
        version: 3,
        ..Default::default()
    }
}

/// A push to `master` of [`repo`], as Drone sends it.
fn build() -> Build {
    Build {
        id: 100,
        repo_id: 42,
        trigger: "@hook".into(),
        number: 42,
        status: "pending".into(),
        event: "push".into(),
        link: "https://github.com/octocat/hello-world/compare/553c2077f0ed...7fd1a60b01f9".into(),
        timestamp: 1_577_836_800,
        message: "Update README.md".into(),
        before: "553c2077f0edc3d5dc5d17262f6aa498e69d6f8e".into(),
        after: "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d".into(),
        r#ref: "refs/heads/master".into(),
        source: "master".into(),
        target: "master".into(),
        author_login: "octocat".into(),
        author_name: "The Octocat".into(),
        author_email: "octocat@github.com".into(),
        author_avatar: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
        sender: "octocat".into(),
        created: 1_577_836_800,
        updated: 1_577_836_800,
        version: 1,
        ..Default::default()
    }
}

fn config() -> Config {
    Config {
        data: "kind: pipeline\nname: default\nsteps:\n- name: test\n  image: golang\n  commands:\n  - go test ./...\n".into(),
        kind: String::new(),
    }
}

/// The Drone 0.8 request of `benches/load.sh`.
fn global_secrets() -> GlobalSecretsRequest {
    GlobalSecretsRequest {
        action: "created".into(),
        repo: LegacyRepo {
            id: 1,
            owner: "octocat".into(),
            name: "hello-world".into(),
            full_name: "octocat/hello-world".into(),
            avatar_url: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
            link_url: "https://github.com/octocat/hello-world".into(),
            scm: "git".into(),
            clone_url: "https://github.com/octocat/hello-world.git".into(),
            default_branch: "master".into(),
            timeout: 60,
            visibility: "public".into(),
            active: true,
            allow_pr: true,
            allow_push: true,
            allow_tags: true,
            last_build: 41,
            config_file: ".drone.yml".into(),
            ..Default::default()
        },
        build: LegacyBuild {
            id: 42,
            number: 42,
            event: "push".into(),
            status: "pending".into(),
            enqueued_at: 1_577_836_800,
            created_at: 1_577_836_800,
            commit: "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d".into(),
            branch: "master".into(),
            r#ref: "refs/heads/master".into(),
            message: "Update README.md".into(),
            timestamp: 1_577_836_800,
            sender: "octocat".into(),
            author: "octocat".into(),
            author_avatar: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
            author_email: "octocat@github.com".into(),
            link_url: "https://github.com/octocat/hello-world/commit/7fd1a60b01f91b314f59955a4e4d4e80d8edf11d".into(),
            verified: true,
            ..Default::default()
        },
    }
}

/// Every kind and the body Drone sends it.
fn bodies() -> Vec<(ExtensionKind, serde_json::Value)> {
    fn json(value: impl Serialize) -> serde_json::Value {
        serde_json::to_value(value).unwrap()
    }
    let user = User {
        id: 1,
        login: "octocat".into(),
        email: "octocat@github.com".into(),
        avatar_url: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
        active: true,
        ..Default::default()
    };
    vec![
        (
            ExtensionKind::Admission,
            json(AdmissionRequest {
                event: AdmissionEvent::Login,
                user: user.clone(),
                token: None,
            }),
        ),
        (ExtensionKind::GlobalSecrets, json(global_secrets())),
        (
            ExtensionKind::Secret,
            json(SecretRequest {
                path: "secret/data/docker".into(),
                name: "username".into(),
                repo: repo(),
                build: build(),
            }),
        ),
        (
            ExtensionKind::Registry,
            json(RegistryRequest {
                repo: repo(),
                build: build(),
            }),
        ),
        (
            ExtensionKind::Environ,
            json(EnvironRequest {
                repo: repo(),
                build: build(),
            }),
        ),
        (
            ExtensionKind::Config,
            json(ConfigRequest {
                build: build(),
                repo: repo(),
                token: None,
            }),
        ),
        (
            ExtensionKind::Convert,
            json(ConvertRequest {
                build: build(),
                config: config(),
                repo: repo(),
                token: None,
            }),
        ),
        (
            ExtensionKind::Validate,
            json(ValidateRequest {
                build: build(),
                config: config(),
                repo: repo(),
                token: None,
            }),
        ),
        (
            ExtensionKind::Webhook,
            json(WebhookRequest {
                event: WebhookEvent::Build,
                action: "created".into(),
                user: Some(user),
                repo: Some(repo()),
                build: Some(build()),
                ..Default::default()
            }),
        ),
    ]
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
fn signed(kind: ExtensionKind, body: &serde_json::Value) -> (Parts, Bytes) {
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
    for (kind, body) in bodies() {
        // Signed now: this kind's measurement runs well within the clock window.
        let (parts, bytes) = signed(kind, &body);
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
