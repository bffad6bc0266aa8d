//! End to end, per kind: the client signs and sends as Drone does, to a service behind the
//! verifying layer on 127.0.0.1, and gets the typed answer back.
#![cfg(feature = "client")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use drone_extension::admission::{Admission, AdmissionEvent, AdmissionRequest, Admitter};
use drone_extension::client::{Client, ClientError};
use drone_extension::config::{ConfigProvider, ConfigRequest};
use drone_extension::convert::{ConvertRequest, Converter};
use drone_extension::environ::{EnvironProvider, EnvironRequest};
use drone_extension::global_secrets::{GlobalSecretsProvider, GlobalSecretsRequest};
use drone_extension::models::{
    Build, Config, LegacySecret, Registry, Repo, Secret, User, Variable,
};
use drone_extension::registry::{RegistryProvider, RegistryRequest};
use drone_extension::secret::{SecretFinder, SecretRequest};
use drone_extension::signature::SharedSecret;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::validate::{ValidateRequest, Validation, Validator};
use drone_extension::webhook::{WebhookEvent, WebhookReceiver, WebhookRequest};
use drone_extension::{BoxError, ExtensionKind};

const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";

/// One implementation of every kind; answers depend on the request, so that a wrong decoding
/// shows.
#[derive(Clone, Default)]
struct Ext {
    webhooks: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl Admitter for Ext {
    async fn admit(&self, r: AdmissionRequest) -> Result<Admission, BoxError> {
        Ok(match (r.event, r.user.login.as_str()) {
            (_, "mallory") => Admission::deny("no mallory"),
            (_, "octocat") => Admission::GrantAdmin,
            (AdmissionEvent::Register, _) => Admission::AllowAndClearAdmin,
            _ => Admission::Allow,
        })
    }
}

#[async_trait::async_trait]
impl GlobalSecretsProvider for Ext {
    async fn secrets(&self, r: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
        Ok(vec![LegacySecret {
            name: format!("for_{}", r.repo.name),
            value: "v".into(),
            event: vec!["push".into()],
            ..Default::default()
        }])
    }
}

#[async_trait::async_trait]
impl SecretFinder for Ext {
    async fn find(&self, r: SecretRequest) -> Result<Option<Secret>, BoxError> {
        Ok((r.name == "username").then(|| Secret {
            name: r.name.clone(),
            data: format!("octocat@{}", r.repo.slug),
            pull: true,
            ..Default::default()
        }))
    }
}

#[async_trait::async_trait]
impl RegistryProvider for Ext {
    async fn registries(&self, r: RegistryRequest) -> Result<Vec<Registry>, BoxError> {
        Ok(vec![Registry {
            address: "index.docker.io".into(),
            username: r.repo.namespace.clone(),
            password: "correct-horse-battery-staple".into(),
            ..Default::default()
        }])
    }
}

#[async_trait::async_trait]
impl EnvironProvider for Ext {
    async fn variables(&self, r: EnvironRequest) -> Result<Vec<Variable>, BoxError> {
        Ok(vec![Variable {
            name: "BRANCH".into(),
            data: r.build.target.clone(),
            mask: false,
        }])
    }
}

#[async_trait::async_trait]
impl ConfigProvider for Ext {
    async fn find(&self, r: ConfigRequest) -> Result<Option<Config>, BoxError> {
        Ok((r.repo.namespace == "some-organization").then(|| Config {
            data: "kind: pipeline\nname: default\n".into(),
            kind: String::new(),
        }))
    }
}

#[async_trait::async_trait]
impl Converter for Ext {
    async fn convert(&self, r: ConvertRequest) -> Result<Option<Config>, BoxError> {
        Ok((!r.repo.config_path.ends_with(".xyz")).then(|| Config {
            data: format!("{}\n", r.config.data),
            kind: String::new(),
        }))
    }
}

#[async_trait::async_trait]
impl Validator for Ext {
    async fn validate(&self, r: ValidateRequest) -> Result<Validation, BoxError> {
        Ok(match r.config.data.as_str() {
            "skip" => Validation::Skip,
            "block" => Validation::Block,
            "bad" => Validation::reject("cannot use image from external registry"),
            "boom" => return Err("database unavailable at 10.0.0.7".into()),
            _ => Validation::Pass,
        })
    }
}

#[async_trait::async_trait]
impl WebhookReceiver for Ext {
    async fn receive(&self, _r: WebhookRequest) -> Result<(), BoxError> {
        self.webhooks.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn serve(ext: Ext) -> SocketAddr {
    let secret = SharedSecret::new(SECRET).unwrap();
    let mut app = Router::new();
    macro_rules! route {
        ($kind:expr, $service:expr) => {
            app = app.merge(
                Router::new()
                    .route_service($kind.path(), $service)
                    .route_layer(VerifySignatureLayer::for_kind($kind, secret.clone())),
            );
        };
    }
    route!(
        ExtensionKind::Admission,
        Admitter::into_service(ext.clone())
    );
    route!(
        ExtensionKind::GlobalSecrets,
        GlobalSecretsProvider::into_service(ext.clone())
    );
    #[cfg(feature = "aesgcm")]
    {
        route!(
            ExtensionKind::Secret,
            SecretFinder::into_service(ext.clone()).aesgcm_key(secret.clone())
        );
        route!(
            ExtensionKind::Registry,
            RegistryProvider::into_service(ext.clone()).aesgcm_key(secret.clone())
        );
        route!(
            ExtensionKind::Environ,
            EnvironProvider::into_service(ext.clone()).aesgcm_key(secret.clone())
        );
    }
    #[cfg(not(feature = "aesgcm"))]
    {
        route!(
            ExtensionKind::Secret,
            SecretFinder::into_service(ext.clone())
        );
        route!(
            ExtensionKind::Registry,
            RegistryProvider::into_service(ext.clone())
        );
        route!(
            ExtensionKind::Environ,
            EnvironProvider::into_service(ext.clone())
        );
    }
    route!(
        ExtensionKind::Config,
        ConfigProvider::into_service(ext.clone())
    );
    route!(ExtensionKind::Convert, Converter::into_service(ext.clone()));
    route!(
        ExtensionKind::Validate,
        Validator::into_service(ext.clone())
    );
    route!(ExtensionKind::Webhook, WebhookReceiver::into_service(ext));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn client(addr: SocketAddr, kind: ExtensionKind) -> Client {
    Client::new(
        &format!("http://{addr}{}", kind.path()),
        SharedSecret::new(SECRET).unwrap(),
    )
    .unwrap()
}

fn repo() -> Repo {
    Repo {
        id: 42,
        namespace: "octocat".into(),
        name: "hello-world".into(),
        slug: "octocat/hello-world".into(),
        config_path: ".drone.yml".into(),
        ..Default::default()
    }
}

fn build() -> Build {
    Build {
        event: "push".into(),
        target: "main".into(),
        ..Default::default()
    }
}

fn user(login: &str, admin: bool) -> User {
    User {
        id: 7,
        login: login.into(),
        admin,
        ..Default::default()
    }
}

fn admission(event: AdmissionEvent, login: &str, admin: bool) -> AdmissionRequest {
    AdmissionRequest {
        event,
        user: user(login, admin),
        token: None,
    }
}

#[tokio::test]
async fn admission_end_to_end() {
    let addr = serve(Ext::default()).await;
    let c = client(addr, ExtensionKind::Admission);
    let kept = c
        .admit(&admission(AdmissionEvent::Login, "hubot", true))
        .await
        .unwrap();
    assert!(kept.admin, "Allow keeps the admin flag");
    assert_eq!(kept.login, "hubot");
    let granted = c
        .admit(&admission(AdmissionEvent::Login, "octocat", false))
        .await
        .unwrap();
    assert!(granted.admin);
    let cleared = c
        .admit(&admission(AdmissionEvent::Register, "newbie", true))
        .await
        .unwrap();
    assert!(!cleared.admin, "204 clears the admin flag, as in Drone");
    match c
        .admit(&admission(AdmissionEvent::Login, "mallory", false))
        .await
    {
        Err(ClientError::Status { code: 403, message }) => assert_eq!(message, "no mallory\n"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn global_secrets_end_to_end() {
    let addr = serve(Ext::default()).await;
    let request: GlobalSecretsRequest = serde_json::from_str(
        r#"{"action":"created","repo":{"owner":"octocat","name":"hello-world","full_name":"octocat/hello-world"},"build":{"event":"push","commit":"2deb"}}"#,
    )
    .unwrap();
    let secrets = client(addr, ExtensionKind::GlobalSecrets)
        .global_secrets(&request)
        .await
        .unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].name, "for_hello-world");
    assert_eq!(secrets[0].event, ["push"]);
}

#[tokio::test]
async fn secret_end_to_end() {
    let addr = serve(Ext::default()).await;
    let c = client(addr, ExtensionKind::Secret);
    let mut request = SecretRequest {
        path: "secret/data/docker".into(),
        name: "username".into(),
        repo: repo(),
        build: build(),
    };
    let found = c.find_secret(&request).await.unwrap().unwrap();
    assert_eq!(found.data, "octocat@octocat/hello-world");
    assert!(found.pull);
    request.name = "password".into();
    assert_eq!(c.find_secret(&request).await.unwrap(), None);
}

#[tokio::test]
async fn registry_and_environ_end_to_end() {
    let addr = serve(Ext::default()).await;
    let registries = client(addr, ExtensionKind::Registry)
        .registries(&RegistryRequest {
            repo: repo(),
            build: build(),
        })
        .await
        .unwrap();
    assert_eq!(registries.len(), 1);
    assert_eq!(registries[0].username, "octocat");
    let variables = client(addr, ExtensionKind::Environ)
        .variables(&EnvironRequest {
            repo: repo(),
            build: build(),
        })
        .await
        .unwrap();
    assert_eq!(variables.len(), 1);
    assert_eq!(
        (variables[0].name.as_str(), variables[0].data.as_str()),
        ("BRANCH", "main")
    );
}

#[tokio::test]
async fn config_and_convert_end_to_end() {
    let addr = serve(Ext::default()).await;
    let c = client(addr, ExtensionKind::Config);
    let mut request = ConfigRequest {
        build: build(),
        repo: repo(),
        token: None,
    };
    assert_eq!(
        c.config(&request).await.unwrap(),
        None,
        "204: the repository's file"
    );
    request.repo.namespace = "some-organization".into();
    let config = c.config(&request).await.unwrap().unwrap();
    assert!(config.data.starts_with("kind: pipeline"));

    let c = client(addr, ExtensionKind::Convert);
    let mut request = ConvertRequest {
        build: build(),
        config: Config {
            data: "kind: pipeline".into(),
            kind: String::new(),
        },
        repo: repo(),
        token: None,
    };
    let converted = c.convert(&request).await.unwrap().unwrap();
    assert_eq!(converted.data, "kind: pipeline\n");
    request.repo.config_path = "pipeline.xyz".into();
    assert_eq!(c.convert(&request).await.unwrap(), None, "204: unchanged");
}

#[tokio::test]
async fn validate_end_to_end() {
    let addr = serve(Ext::default()).await;
    let c = client(addr, ExtensionKind::Validate);
    let request = |data: &str| ValidateRequest {
        build: build(),
        config: Config {
            data: data.into(),
            kind: String::new(),
        },
        repo: repo(),
        token: None,
    };
    assert_eq!(c.validate(&request("ok")).await.unwrap(), Validation::Pass);
    assert_eq!(
        c.validate(&request("skip")).await.unwrap(),
        Validation::Skip
    );
    assert_eq!(
        c.validate(&request("block")).await.unwrap(),
        Validation::Block
    );
    assert_eq!(
        c.validate(&request("bad")).await.unwrap(),
        Validation::Reject(
            r#"{"code":400,"message":"cannot use image from external registry"}"#.into()
        )
    );
    // An internal error reaches Drone as a generic message, never the cause.
    match c.validate(&request("boom")).await.unwrap() {
        Validation::Reject(message) => {
            assert_eq!(message, "Internal Server Error\n");
            assert!(!message.contains("10.0.0.7"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn webhook_end_to_end_as_the_server_sends_it() {
    let ext = Ext::default();
    let addr = serve(ext.clone()).await;
    let request = WebhookRequest {
        event: WebhookEvent::User,
        action: "created".into(),
        user: Some(user("octocat", false)),
        repo: None,
        build: None,
        system: None,
    };
    let status = client(addr, ExtensionKind::Webhook)
        .webhook(&request)
        .await
        .unwrap();
    assert_eq!(status, 204);
    assert_eq!(ext.webhooks.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_client_with_another_secret_is_refused_by_every_kind() {
    let addr = serve(Ext::default()).await;
    for &kind in ExtensionKind::ALL {
        let c = Client::new(
            &format!("http://{addr}{}", kind.path()),
            SharedSecret::new("another-secret-0123456789abcdef").unwrap(),
        )
        .unwrap();
        let raw = c.call(kind, &serde_json::json!({})).await.unwrap();
        assert_eq!(raw.status, 401, "{kind}");
        assert_eq!(raw.body, "Invalid signature\n", "{kind}");
    }
}

#[tokio::test]
async fn a_request_for_one_kind_is_refused_by_another() {
    let addr = serve(Ext::default()).await;
    // A valid secret-extension request replayed to the registry route (same secret).
    let c = client(addr, ExtensionKind::Registry);
    let body = serde_json::to_vec(&RegistryRequest {
        repo: repo(),
        build: build(),
    })
    .unwrap();
    let request = c
        .extension_request(
            ExtensionKind::Secret.media_type(),
            body.into(),
            std::time::SystemTime::now(),
        )
        .unwrap();
    let raw = c.send(request).await.unwrap();
    assert_eq!(raw.status, 401);
}

#[cfg(feature = "aesgcm")]
#[tokio::test]
async fn aesgcm_answers_are_decrypted_by_the_client() {
    let addr = serve(Ext::default()).await;
    let c = client(addr, ExtensionKind::Secret).request_aesgcm(true);
    let request = SecretRequest {
        path: "secret/data/docker".into(),
        name: "username".into(),
        repo: repo(),
        build: build(),
    };
    let raw = c.call(ExtensionKind::Secret, &request).await.unwrap();
    assert_eq!(raw.headers["content-encoding"], "aesgcm");
    let found = c.find_secret(&request).await.unwrap().unwrap();
    assert_eq!(found.data, "octocat@octocat/hello-world");
    let registries = client(addr, ExtensionKind::Registry)
        .request_aesgcm(true)
        .registries(&RegistryRequest {
            repo: repo(),
            build: build(),
        })
        .await
        .unwrap();
    assert_eq!(registries[0].password, "correct-horse-battery-staple");
}
