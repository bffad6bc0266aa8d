//! Every extension kind through its tower service.
//!
//! * Golden requests: the bodies of protocol.md §7 (Examples 1, 1b, 2, 3 in `fixtures/bodies/`,
//!   Example 6, the 0.8 request of §2.2) and Go-shaped bodies for the other kinds, assembled from
//!   the repository and build of Example 2. Bodies that are exactly Go's `json.Marshal` output
//!   re-encode to the same bytes.
//! * Responses byte-compatible with drone-go: status, `Content-Type` and exact body.
//! * Every status of every answer of every kind.
//! * Bad input: statuses and generic bodies, never a panic, and the same service instance answers
//!   the next good request.
//! * aesgcm (feature `aesgcm`): encrypted answers and the vector of protocol.md Example 5.

use std::convert::Infallible;
use std::sync::Mutex;

use bytes::Bytes;
use drone_extension::admission::{Admission, AdmissionEvent, AdmissionRequest, Admitter};
use drone_extension::config::{ConfigProvider, ConfigRequest};
use drone_extension::convert::{ConvertRequest, Converter};
use drone_extension::environ::{EnvironProvider, EnvironRequest};
use drone_extension::global_secrets::{GlobalSecretsProvider, GlobalSecretsRequest};
use drone_extension::models::{
    Build, Config, LegacySecret, Registry, Repo, Secret, System, Token, Variable,
};
use drone_extension::registry::{RegistryProvider, RegistryRequest};
use drone_extension::secret::{SecretFinder, SecretRequest};
use drone_extension::service::ExtensionResponse;
use drone_extension::validate::{ValidateRequest, Validation, Validator};
use drone_extension::webhook::{WebhookEvent, WebhookReceiver, WebhookRequest};
use drone_extension::{BoxError, json, kind};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::{Service, ServiceExt};

// ---------------------------------------------------------------------------------------------
// Bodies.

/// Example 1: admission `login`, drone-go HEAD (with `token`).
const ADMISSION_LOGIN: &str = include_str!("fixtures/bodies/admission-login.json");
/// Example 1b: admission `register` as a v2.0.4 server sends it (no `token`).
const ADMISSION_REGISTER: &str = include_str!("fixtures/bodies/admission-register.json");
/// Example 2: secret request from a runner.
const SECRET: &str = include_str!("fixtures/bodies/secret.json");
/// Example 3: global webhook as the server sends it (`core` types).
const WEBHOOK_USER_CREATED: &str = include_str!("fixtures/bodies/webhook-user-created.json");
/// Example 6: a minimal secret request, without `repo` and `build`.
const SECRET_MINIMAL: &str = r#"{"path":"secrets/data/docker","name":"username"}"#;
/// §2.2: the documented Drone 0.8 global secrets request.
const GLOBAL_SECRETS: &str = r#"{"action":"created","repo":{"id":1,"owner":"octocat","name":"hello-world","full_name":"octocat/hello-world","clone_url":"https://github.com/octocat/hello-world.git","default_branch":"master"},"build":{"id":1,"number":1,"event":"push","status":"pending","commit":"2deb…","branch":"master","ref":"refs/heads/master","author":"Spaceghost","author_email":"octocat@github.com"}}"#;

/// The `system` of Example 3.
const SYSTEM: &str = r#"{"proto":"https","host":"drone.example.com","link":"https://drone.example.com","version":"2.0.4"}"#;
/// A token member as newer servers send it.
const TOKEN: &str = r#"{"access":"gho_16C7e42F292c6912E7710c838347Ae178B4a","refresh":"ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498"}"#;
/// A configuration member, JSON-encoded (Go escapes `<` and `>`).
const CONFIG: &str = r#"{"data":"kind: pipeline\ntype: docker\nname: default\n\nsteps:\n- name: greeting\n  image: alpine\n  commands:\n  - echo \u003chello\u003e\n","kind":""}"#;

/// The `repo` member of Example 2, as Go encodes a full `drone.Repo`.
fn repo_json() -> &'static str {
    let start = SECRET.find(r#""repo":"#).unwrap() + r#""repo":"#.len();
    let end = SECRET.find(r#"},"build":{"id":100"#).unwrap() + 1;
    &SECRET[start..end]
}

/// The `build` member of Example 2, as Go encodes a full `drone.Build`.
fn build_json() -> &'static str {
    let start = SECRET.find(r#","build":{"id":100"#).unwrap() + r#","build":"#.len();
    &SECRET[start..SECRET.len() - 1]
}

/// The `user` member of Example 1, as Go encodes a `drone.User`.
fn user_json() -> &'static str {
    let start = ADMISSION_LOGIN.find(r#""user":"#).unwrap() + r#""user":"#.len();
    let end = ADMISSION_LOGIN.find(r#"},"token":{"access""#).unwrap() + 1;
    &ADMISSION_LOGIN[start..end]
}

/// `{"repo":…,"build":…}`: drone-go's registry and environ requests.
fn repo_build_body() -> String {
    format!(r#"{{"repo":{},"build":{}}}"#, repo_json(), build_json())
}

/// drone-go's config request as a v2.0.4 server sends it (no `token`).
fn config_body() -> String {
    format!(r#"{{"build":{},"repo":{}}}"#, build_json(), repo_json())
}

/// drone-go's config request with the `token` of newer servers.
fn config_body_with_token() -> String {
    format!(
        r#"{{"build":{},"repo":{},"token":{TOKEN}}}"#,
        build_json(),
        repo_json()
    )
}

/// drone-go's convert or validate request: `{build, config, repo, token}`.
fn build_config_repo_body(token: bool) -> String {
    let token = if token {
        format!(r#","token":{TOKEN}"#)
    } else {
        String::new()
    };
    format!(
        r#"{{"build":{},"config":{CONFIG},"repo":{}{token}}}"#,
        build_json(),
        repo_json()
    )
}

/// drone-go's webhook request for `build:created`, with drone-go types throughout.
fn webhook_build_body() -> String {
    format!(
        r#"{{"event":"build","action":"created","user":{},"repo":{},"build":{},"system":{SYSTEM}}}"#,
        user_json(),
        repo_json(),
        build_json()
    )
}

fn decode<T: DeserializeOwned>(body: &str) -> T {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn encode<T: Serialize>(value: &T) -> String {
    String::from_utf8(json::to_vec(value).unwrap()).unwrap()
}

/// Decodes `body` and checks that Go's encoding of the result is `body` again.
fn decode_exact<T: DeserializeOwned + Serialize>(body: &str) -> T {
    let value: T = decode(body);
    assert_eq!(encode(&value), body, "re-encoding differs from Go's bytes");
    value
}

// ---------------------------------------------------------------------------------------------
// Trait implementations that give a configured answer and remember what they were asked.

struct Fixed<T, R> {
    answer: Result<T, &'static str>,
    seen: Mutex<Vec<R>>,
}

impl<T: Clone, R: Clone> Fixed<T, R> {
    fn ok(answer: T) -> Self {
        Fixed {
            answer: Ok(answer),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn err() -> Self {
        Fixed {
            answer: Err("database unreachable at 10.0.0.7: password rejected"),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn answer(&self, request: R) -> Result<T, BoxError> {
        self.seen.lock().unwrap().push(request);
        self.answer.clone().map_err(Into::into)
    }

    fn last(&self) -> R {
        self.seen.lock().unwrap().last().cloned().expect("called")
    }
}

macro_rules! fixed {
    ($trait:ident :: $method:ident ($request:ty) -> $answer:ty) => {
        #[async_trait::async_trait]
        impl $trait for Fixed<$answer, $request> {
            async fn $method(&self, request: $request) -> Result<$answer, BoxError> {
                self.answer(request)
            }
        }
    };
}

type FixedAdmission = Fixed<Admission, AdmissionRequest>;
type FixedGlobalSecrets = Fixed<Vec<LegacySecret>, GlobalSecretsRequest>;
type FixedSecret = Fixed<Option<Secret>, SecretRequest>;
type FixedRegistry = Fixed<Vec<Registry>, RegistryRequest>;
type FixedEnviron = Fixed<Vec<Variable>, EnvironRequest>;
type FixedConfig = Fixed<Option<Config>, ConfigRequest>;
type FixedConvert = Fixed<Option<Config>, ConvertRequest>;
type FixedValidate = Fixed<Validation, ValidateRequest>;
type FixedWebhook = Fixed<(), WebhookRequest>;

fixed!(Admitter::admit(AdmissionRequest) -> Admission);
fixed!(GlobalSecretsProvider::secrets(GlobalSecretsRequest) -> Vec<LegacySecret>);
fixed!(SecretFinder::find(SecretRequest) -> Option<Secret>);
fixed!(RegistryProvider::registries(RegistryRequest) -> Vec<Registry>);
fixed!(EnvironProvider::variables(EnvironRequest) -> Vec<Variable>);
fixed!(ConfigProvider::find(ConfigRequest) -> Option<Config>);
fixed!(Converter::convert(ConvertRequest) -> Option<Config>);
fixed!(Validator::validate(ValidateRequest) -> Validation);
fixed!(WebhookReceiver::receive(WebhookRequest) -> ());

// ---------------------------------------------------------------------------------------------
// Calling services.

type Body = Full<Bytes>;

fn post(body: impl Into<Bytes>) -> Request<Body> {
    Request::post("/")
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .unwrap()
}

fn post_with(body: impl Into<Bytes>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = post(body);
    for (name, value) in headers {
        request.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    request
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn content_type(&self) -> Option<&str> {
        self.headers
            .get("content-type")
            .map(|v| v.to_str().unwrap())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// Status, `Content-Type` and body, for one-line comparisons.
    fn triple(&self) -> Triple<'_> {
        (self.status.as_u16(), self.content_type(), self.text())
    }
}

async fn answer(response: ExtensionResponse) -> Answer {
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// One request through a fresh handle of the service (`ServiceExt::oneshot`).
async fn oneshot<S>(service: &S, request: Request<Body>) -> Answer
where
    S: Service<Request<Body>, Response = ExtensionResponse, Error = Infallible> + Clone,
{
    answer(service.clone().oneshot(request).await.unwrap()).await
}

/// One request through this very service value.
async fn call<S>(service: &mut S, request: Request<Body>) -> Answer
where
    S: Service<Request<Body>, Response = ExtensionResponse, Error = Infallible>,
{
    let ready = service.ready().await.unwrap();
    answer(ready.call(request).await.unwrap()).await
}

/// Status, `Content-Type` and body of an answer.
type Triple<'a> = (u16, Option<&'a str>, &'a str);

const JSON: Option<&str> = Some("application/json");
const TEXT: Option<&str> = Some("text/plain; charset=utf-8");
const INTERNAL_ERROR: Triple = (500, TEXT, "Internal Server Error\n");

// ---------------------------------------------------------------------------------------------
// Golden requests.

#[tokio::test]
async fn admission_examples_1_and_1b() {
    let login: AdmissionRequest = decode_exact(ADMISSION_LOGIN);
    assert_eq!(login.event, AdmissionEvent::Login);
    assert_eq!(login.user.login, "octocat");
    assert_eq!(login.user.id, 1);
    assert_eq!(login.token, Some(Token::default()));

    let register: AdmissionRequest = decode_exact(ADMISSION_REGISTER);
    assert_eq!(register.event, AdmissionEvent::Register);
    assert_eq!((register.user.id, register.user.email.as_str()), (0, ""));
    assert!(register.user.syncing);
    assert_eq!(register.token, None);

    // The service hands the trait exactly the decoded request.
    let service = FixedAdmission::ok(Admission::Allow).into_service();
    for body in [ADMISSION_LOGIN, ADMISSION_REGISTER] {
        assert_eq!(oneshot(&service, post(body)).await.status, StatusCode::OK);
        assert_eq!(
            service.endpoint().0.last(),
            decode::<AdmissionRequest>(body)
        );
    }
}

#[tokio::test]
async fn global_secrets_documented_request() {
    let request: GlobalSecretsRequest = decode(GLOBAL_SECRETS);
    assert_eq!(request.action, "created");
    assert_eq!(request.repo.owner, "octocat");
    assert_eq!(request.repo.full_name, "octocat/hello-world");
    assert_eq!(
        request.repo.clone_url,
        "https://github.com/octocat/hello-world.git"
    );
    assert_eq!(request.build.event, "push");
    assert_eq!(request.build.commit, "2deb…");
    assert_eq!(request.build.branch, "master");
    assert_eq!(request.build.author, "Spaceghost");

    let service = FixedGlobalSecrets::ok(Vec::new()).into_service();
    assert_eq!(oneshot(&service, post(GLOBAL_SECRETS)).await.status, 200);
    assert_eq!(service.endpoint().0.last(), request);
}

#[tokio::test]
async fn secret_examples_2_and_6() {
    let full: SecretRequest = decode_exact(SECRET);
    assert_eq!(full.path, "secret/data/docker");
    assert_eq!(full.name, "username");
    assert_eq!(full.repo.slug, "octocat/hello-world");
    assert_eq!(full.build.number, 7);
    assert!(!full.build.is_fork(&full.repo));

    // Example 6 has neither repo nor build: both default, as in Go.
    let minimal: SecretRequest = decode(SECRET_MINIMAL);
    assert_eq!(minimal.path, "secrets/data/docker");
    assert_eq!(minimal.name, "username");
    assert_eq!(minimal.repo, Repo::default());
    assert_eq!(minimal.build, Build::default());
    // `null` members default too.
    let nulls: SecretRequest =
        decode(r#"{"path":null,"name":"username","repo":null,"build":null}"#);
    assert_eq!(nulls.path, "");
    assert_eq!(nulls.repo, Repo::default());

    let service = FixedSecret::ok(None).into_service();
    for body in [SECRET, SECRET_MINIMAL] {
        assert_eq!(oneshot(&service, post(body)).await.status, 204);
        assert_eq!(service.endpoint().0.last(), decode::<SecretRequest>(body));
    }
}

#[tokio::test]
async fn registry_and_environ_go_shaped_requests() {
    let body = repo_build_body();
    let registry: RegistryRequest = decode_exact(&body);
    assert_eq!(registry.repo.slug, "octocat/hello-world");
    assert_eq!(
        registry.build.after,
        "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"
    );
    let environ: EnvironRequest = decode_exact(&body);
    assert_eq!(
        (&environ.repo, &environ.build),
        (&registry.repo, &registry.build)
    );

    let service = FixedRegistry::ok(Vec::new()).into_service();
    assert_eq!(oneshot(&service, post(body.clone())).await.status, 200);
    assert_eq!(service.endpoint().0.last(), registry);
    let service = FixedEnviron::ok(Vec::new()).into_service();
    assert_eq!(oneshot(&service, post(body)).await.status, 200);
    assert_eq!(service.endpoint().0.last(), environ);
}

#[tokio::test]
async fn config_convert_validate_go_shaped_requests() {
    let old: ConfigRequest = decode_exact(&config_body());
    assert_eq!(old.token, None);
    assert_eq!(old.repo.config_path, ".drone.yml");
    let new: ConfigRequest = decode_exact(&config_body_with_token());
    assert_eq!(
        new.token.as_ref().map(|t| t.access.as_str()),
        Some("gho_16C7e42F292c6912E7710c838347Ae178B4a")
    );
    assert_eq!((&new.build, &new.repo), (&old.build, &old.repo));

    for token in [false, true] {
        let body = build_config_repo_body(token);
        let convert: ConvertRequest = decode_exact(&body);
        assert_eq!(convert.token.is_some(), token);
        assert!(convert.config.data.contains("echo <hello>\n"));
        assert_eq!(convert.config.kind, "");
        let validate: ValidateRequest = decode_exact(&body);
        assert_eq!(validate.config, convert.config);
        assert_eq!(validate.build.number, 7);

        let service = FixedConvert::ok(None).into_service();
        assert_eq!(oneshot(&service, post(body.clone())).await.status, 204);
        assert_eq!(service.endpoint().0.last(), convert);
        let service = FixedValidate::ok(Validation::Pass).into_service();
        assert_eq!(oneshot(&service, post(body)).await.status, 204);
        assert_eq!(service.endpoint().0.last(), validate);
    }

    let service = FixedConfig::ok(None).into_service();
    assert_eq!(
        oneshot(&service, post(config_body_with_token()))
            .await
            .status,
        204
    );
    assert_eq!(service.endpoint().0.last(), new);
}

#[tokio::test]
async fn webhook_example_3_and_drone_go_body() {
    // The server's body: `core` types (`avatar`), no repo or build.
    let server: WebhookRequest = decode(WEBHOOK_USER_CREATED);
    assert_eq!(server.event, WebhookEvent::User);
    assert_eq!(server.action, "created");
    let user = server.user.as_ref().unwrap();
    assert_eq!(user.login, "octocat");
    assert_eq!(
        user.avatar_url,
        "https://avatars.githubusercontent.com/u/583231?v=4"
    );
    assert!(server.repo.is_none() && server.build.is_none());
    assert_eq!(
        server.system,
        Some(System {
            proto: "https".into(),
            host: "drone.example.com".into(),
            link: "https://drone.example.com".into(),
            version: "2.0.4".into(),
        })
    );
    // Re-encoded with drone-go's types (`avatar_url`, `token`), absent members omitted.
    let reencoded = encode(&server);
    assert!(reencoded.starts_with(r#"{"event":"user","action":"created","user":{"id":1,"#));
    assert!(reencoded.contains(r#""avatar_url":"#) && !reencoded.contains(r#""repo""#));
    assert_eq!(decode::<WebhookRequest>(&reencoded), server);

    // drone-go's webhook client: drone-go types, byte for byte.
    let build: WebhookRequest = decode_exact(&webhook_build_body());
    assert_eq!(build.event, WebhookEvent::Build);
    assert_eq!(build.repo.as_ref().unwrap().slug, "octocat/hello-world");
    assert_eq!(build.build.as_ref().unwrap().number, 7);

    // The event comes from the signed body, never from the unsigned `X-Drone-Event` header.
    let service = FixedWebhook::ok(()).into_service();
    let request = post_with(WEBHOOK_USER_CREATED, &[("x-drone-event", "build")]);
    assert_eq!(oneshot(&service, request).await.status, 204);
    assert_eq!(service.endpoint().0.last(), server);
    assert_eq!(service.endpoint().0.last().event, WebhookEvent::User);
}

// ---------------------------------------------------------------------------------------------
// Responses, byte for byte.

#[tokio::test]
async fn admission_answers_the_full_user_with_an_explicit_admin_flag() {
    let admin = user_json().replace(r#""admin":false"#, r#""admin":true"#);
    assert_ne!(admin, user_json());
    let cases = [
        (Admission::Allow, user_json().to_owned()),
        (Admission::GrantAdmin, admin.clone()),
        (Admission::RevokeAdmin, user_json().to_owned()),
    ];
    for (admission, body) in cases {
        let service = FixedAdmission::ok(admission.clone()).into_service();
        let answer = oneshot(&service, post(ADMISSION_LOGIN)).await;
        assert_eq!(answer.triple(), (200, JSON, body.as_str()), "{admission:?}");
    }

    // Allow echoes the stored flag; RevokeAdmin clears it.
    let admin_login = ADMISSION_LOGIN.replace(r#""admin":false"#, r#""admin":true"#);
    let service = FixedAdmission::ok(Admission::Allow).into_service();
    let answer = oneshot(&service, post(admin_login.clone())).await;
    assert_eq!(answer.triple(), (200, JSON, admin.as_str()));
    let service = FixedAdmission::ok(Admission::RevokeAdmin).into_service();
    let answer = oneshot(&service, post(admin_login)).await;
    assert_eq!(answer.triple(), (200, JSON, user_json()));

    let service = FixedAdmission::ok(Admission::deny("only octocats may log in")).into_service();
    let answer = oneshot(&service, post(ADMISSION_LOGIN)).await;
    assert_eq!(answer.triple(), (403, TEXT, "only octocats may log in\n"));
}

#[tokio::test]
async fn global_secrets_answer_an_array() {
    let service = FixedGlobalSecrets::ok(vec![LegacySecret {
        name: "docker_username".into(),
        value: "octocat".into(),
        event: vec!["push".into(), "tag".into()],
        ..Default::default()
    }])
    .into_service();
    let answer = oneshot(&service, post(GLOBAL_SECRETS)).await;
    assert_eq!(
        answer.triple(),
        (
            200,
            JSON,
            r#"[{"name":"docker_username","value":"octocat","event":["push","tag"]}]"#
        )
    );
    let service = FixedGlobalSecrets::ok(Vec::new()).into_service();
    let answer = oneshot(&service, post(GLOBAL_SECRETS)).await;
    assert_eq!(answer.triple(), (200, JSON, "[]"));
}

#[tokio::test]
async fn secret_answers_like_drone_go_and_204_for_none() {
    let service = FixedSecret::ok(Some(Secret {
        name: "username".into(),
        data: "octocat".into(),
        pull: true,
        ..Default::default()
    }))
    .into_service();
    let answer = oneshot(&service, post(SECRET)).await;
    assert_eq!(
        answer.triple(),
        (
            200,
            JSON,
            r#"{"name":"username","data":"octocat","pull":true}"#
        )
    );
    assert!(answer.headers.get("content-encoding").is_none());

    let service = FixedSecret::ok(None).into_service();
    let answer = oneshot(&service, post(SECRET)).await;
    assert_eq!(answer.triple(), (204, None, ""));
}

#[tokio::test]
async fn registry_answers_an_array_never_null() {
    let service = FixedRegistry::ok(vec![Registry {
        address: "index.docker.io".into(),
        username: "octocat".into(),
        password: "correct-horse-battery-staple".into(),
        ..Default::default()
    }])
    .into_service();
    let answer = oneshot(&service, post(repo_build_body())).await;
    assert_eq!(
        answer.triple(),
        (
            200,
            JSON,
            r#"[{"address":"index.docker.io","username":"octocat","password":"correct-horse-battery-staple","email":"","token":""}]"#
        )
    );
    let service = FixedRegistry::ok(Vec::new()).into_service();
    let answer = oneshot(&service, post(repo_build_body())).await;
    assert_eq!(answer.triple(), (200, JSON, "[]"));
}

fn variables() -> Vec<Variable> {
    vec![
        Variable {
            name: "FOO".into(),
            data: "bar".into(),
            mask: false,
        },
        Variable {
            name: "TOKEN".into(),
            data: "s3cr3t".into(),
            mask: true,
        },
    ]
}

#[tokio::test]
async fn environ_answers_v2_arrays_and_v1_objects() {
    let service = FixedEnviron::ok(variables()).into_service();
    let v2 = r#"[{"name":"FOO","data":"bar"},{"name":"TOKEN","data":"s3cr3t","mask":true}]"#;
    for accept in [Some(kind::ENVIRON_V2), None, Some("application/json")] {
        let headers: Vec<_> = accept.iter().map(|a| ("accept", *a)).collect();
        let answer = oneshot(&service, post_with(repo_build_body(), &headers)).await;
        assert_eq!(answer.triple(), (200, JSON, v2), "Accept: {accept:?}");
    }
    let v1 = [("accept", kind::ENVIRON_V1)];
    let answer = oneshot(&service, post_with(repo_build_body(), &v1)).await;
    assert_eq!(
        answer.triple(),
        (200, JSON, r#"{"FOO":"bar","TOKEN":"s3cr3t"}"#)
    );

    // v1: keys sorted like Go's map encoding, the last of two equal names wins.
    let mut unsorted = variables();
    unsorted.insert(
        0,
        Variable {
            name: "ZED".into(),
            data: "z".into(),
            mask: false,
        },
    );
    unsorted.push(Variable {
        name: "FOO".into(),
        data: "baz".into(),
        mask: false,
    });
    let service = FixedEnviron::ok(unsorted).into_service();
    let answer = oneshot(&service, post_with(repo_build_body(), &v1)).await;
    assert_eq!(
        answer.triple(),
        (200, JSON, r#"{"FOO":"baz","TOKEN":"s3cr3t","ZED":"z"}"#)
    );

    // Empty: `[]` and `{}`, never `null`.
    let service = FixedEnviron::ok(Vec::new()).into_service();
    let answer = oneshot(&service, post(repo_build_body())).await;
    assert_eq!(answer.triple(), (200, JSON, "[]"));
    let answer = oneshot(&service, post_with(repo_build_body(), &v1)).await;
    assert_eq!(answer.triple(), (200, JSON, "{}"));
}

#[tokio::test]
async fn config_and_convert_answer_a_config_or_204() {
    let config = Config {
        data: "kind: pipeline\ntype: docker\nname: <default>\n".into(),
        kind: String::new(),
    };
    let golden =
        r#"{"data":"kind: pipeline\ntype: docker\nname: \u003cdefault\u003e\n","kind":""}"#;

    let service = FixedConfig::ok(Some(config.clone())).into_service();
    let answer = oneshot(&service, post(config_body())).await;
    assert_eq!(answer.triple(), (200, JSON, golden));
    let service = FixedConfig::ok(None).into_service();
    let answer = oneshot(&service, post(config_body())).await;
    assert_eq!(answer.triple(), (204, None, ""));

    let service = FixedConvert::ok(Some(config)).into_service();
    let answer = oneshot(&service, post(build_config_repo_body(true))).await;
    assert_eq!(answer.triple(), (200, JSON, golden));
    let service = FixedConvert::ok(None).into_service();
    let answer = oneshot(&service, post(build_config_repo_body(true))).await;
    assert_eq!(answer.triple(), (204, None, ""));
}

#[tokio::test]
async fn validate_answers_drone_go_statuses_and_error_bodies() {
    let body = build_config_repo_body(false);
    let cases = [
        (Validation::Pass, (204, None, "")),
        (Validation::Skip, (498, None, "")),
        (Validation::Block, (499, None, "")),
        (
            Validation::reject("cannot use image from external registry"),
            (
                400,
                JSON,
                r#"{"code":400,"message":"cannot use image from external registry"}"#,
            ),
        ),
        (
            Validation::reject("image <none> & no tag"),
            (
                400,
                JSON,
                r#"{"code":400,"message":"image \u003cnone\u003e \u0026 no tag"}"#,
            ),
        ),
    ];
    for (validation, expected) in cases {
        let service = FixedValidate::ok(validation.clone()).into_service();
        let answer = oneshot(&service, post(body.clone())).await;
        assert_eq!(answer.triple(), expected, "{validation:?}");
    }
}

#[tokio::test]
async fn errors_are_generic_500s_that_never_show_the_cause() {
    macro_rules! assert_500 {
        ($fixed:ty, $body:expr) => {
            let service = <$fixed>::err().into_service();
            let answer = oneshot(&service, post($body)).await;
            assert_eq!(answer.triple(), INTERNAL_ERROR, stringify!($fixed));
            assert_eq!(answer.headers["x-content-type-options"], "nosniff");
        };
    }
    assert_500!(FixedAdmission, ADMISSION_LOGIN);
    assert_500!(FixedGlobalSecrets, GLOBAL_SECRETS);
    assert_500!(FixedSecret, SECRET);
    assert_500!(FixedRegistry, repo_build_body());
    assert_500!(FixedEnviron, repo_build_body());
    assert_500!(FixedConfig, config_body());
    assert_500!(FixedConvert, build_config_repo_body(true));
    assert_500!(FixedValidate, build_config_repo_body(true));
    assert_500!(FixedWebhook, WEBHOOK_USER_CREATED);
}

// ---------------------------------------------------------------------------------------------
// Every status of every answer of every kind.

#[tokio::test]
async fn every_answer_of_every_kind_has_its_status() {
    let secret = Secret {
        name: "username".into(),
        data: "octocat".into(),
        pull: true,
        ..Default::default()
    };
    let registry = Registry {
        address: "ghcr.io".into(),
        ..Default::default()
    };
    let config = Config {
        data: "kind: pipeline\n".into(),
        kind: String::new(),
    };
    let legacy = LegacySecret {
        name: "docker_password".into(),
        value: "x".into(),
        ..Default::default()
    };

    async fn status<S>(service: S, body: String) -> u16
    where
        S: Service<Request<Body>, Response = ExtensionResponse, Error = Infallible> + Clone,
    {
        oneshot(&service, post(body)).await.status.as_u16()
    }
    let admission = || ADMISSION_LOGIN.to_owned();
    let global = || GLOBAL_SECRETS.to_owned();
    let rb = repo_build_body;
    let bcr = || build_config_repo_body(true);
    let webhook = || WEBHOOK_USER_CREATED.to_owned();

    #[rustfmt::skip]
    let table: Vec<(&str, u16, u16)> = vec![
        ("admission deny", 403, status(FixedAdmission::ok(Admission::deny("no")).into_service(), admission()).await),
        ("admission allow", 200, status(FixedAdmission::ok(Admission::Allow).into_service(), admission()).await),
        ("admission grant admin", 200, status(FixedAdmission::ok(Admission::GrantAdmin).into_service(), admission()).await),
        ("admission revoke admin", 200, status(FixedAdmission::ok(Admission::RevokeAdmin).into_service(), admission()).await),
        ("admission allow, clear admin", 204, status(FixedAdmission::ok(Admission::AllowAndClearAdmin).into_service(), admission()).await),
        ("admission error", 500, status(FixedAdmission::err().into_service(), admission()).await),
        ("global secrets none", 200, status(FixedGlobalSecrets::ok(vec![]).into_service(), global()).await),
        ("global secrets list", 200, status(FixedGlobalSecrets::ok(vec![legacy]).into_service(), global()).await),
        ("global secrets error", 500, status(FixedGlobalSecrets::err().into_service(), global()).await),
        ("secret found", 200, status(FixedSecret::ok(Some(secret)).into_service(), SECRET.to_owned()).await),
        ("secret none", 204, status(FixedSecret::ok(None).into_service(), SECRET.to_owned()).await),
        ("secret error", 500, status(FixedSecret::err().into_service(), SECRET.to_owned()).await),
        ("registry none", 200, status(FixedRegistry::ok(vec![]).into_service(), rb()).await),
        ("registry list", 200, status(FixedRegistry::ok(vec![registry]).into_service(), rb()).await),
        ("registry error", 500, status(FixedRegistry::err().into_service(), rb()).await),
        ("environ none", 200, status(FixedEnviron::ok(vec![]).into_service(), rb()).await),
        ("environ list", 200, status(FixedEnviron::ok(variables()).into_service(), rb()).await),
        ("environ error", 500, status(FixedEnviron::err().into_service(), rb()).await),
        ("config found", 200, status(FixedConfig::ok(Some(config.clone())).into_service(), config_body()).await),
        ("config none", 204, status(FixedConfig::ok(None).into_service(), config_body()).await),
        ("config error", 500, status(FixedConfig::err().into_service(), config_body()).await),
        ("convert converted", 200, status(FixedConvert::ok(Some(config)).into_service(), bcr()).await),
        ("convert unchanged", 204, status(FixedConvert::ok(None).into_service(), bcr()).await),
        ("convert error", 500, status(FixedConvert::err().into_service(), bcr()).await),
        ("validate pass", 204, status(FixedValidate::ok(Validation::Pass).into_service(), bcr()).await),
        ("validate skip", 498, status(FixedValidate::ok(Validation::Skip).into_service(), bcr()).await),
        ("validate block", 499, status(FixedValidate::ok(Validation::Block).into_service(), bcr()).await),
        ("validate reject", 400, status(FixedValidate::ok(Validation::reject("no")).into_service(), bcr()).await),
        ("validate error", 500, status(FixedValidate::err().into_service(), bcr()).await),
        ("webhook received", 204, status(FixedWebhook::ok(()).into_service(), webhook()).await),
        ("webhook error", 500, status(FixedWebhook::err().into_service(), webhook()).await),
    ];
    let wrong: Vec<_> = table
        .iter()
        .filter(|(_, expected, actual)| expected != actual)
        .collect();
    assert!(wrong.is_empty(), "(answer, expected, actual): {wrong:#?}");
    assert_eq!(table.len(), 31);
}

// ---------------------------------------------------------------------------------------------
// Bad input.

/// A body whose string `needle` (a `"key":"value"` pair of `good`) is replaced by a 5 MiB value:
/// larger than the body limit, which is also the default string limit (a 2 MiB string is a
/// valid request: `tests/layer_hardening.rs`).
fn with_huge_string(good: &str, needle: &str) -> String {
    let key = needle.split(':').next().unwrap();
    let huge = format!(r#"{key}:"{}""#, "a".repeat(5 * 1024 * 1024));
    assert!(good.contains(needle), "{needle} not in the good body");
    good.replacen(needle, &huge, 1)
}

/// Sends every bad request to one service instance, each followed by the good request, which
/// must get the same answer as before.
async fn assert_refuses_bad_input<S>(
    kind: &str,
    mut service: S,
    good: &str,
    huge_field: &str,
    specific: &[(&str, &str)],
) where
    S: Service<Request<Body>, Response = ExtensionResponse, Error = Infallible>,
{
    let expected = call(&mut service, post(good.to_owned())).await;
    assert!(expected.status.is_success(), "{kind}: {expected:?}");

    const INVALID: Triple = (400, TEXT, "Invalid Input\n");
    let truncated = &good[..good.len() / 2];
    let trailing = format!("{good} {{}}");
    let huge = with_huge_string(good, huge_field);
    let mut cases: Vec<(String, Request<Body>, Triple)> = vec![
        ("invalid JSON".into(), post("{\"event\":"), INVALID),
        ("empty body".into(), post(""), INVALID),
        ("null".into(), post("null"), INVALID),
        ("a string".into(), post("\"x\""), INVALID),
        ("an empty array".into(), post("[]"), INVALID),
        (
            "a truncated body".into(),
            post(truncated.to_owned()),
            INVALID,
        ),
        ("trailing data".into(), post(trailing), INVALID),
        (
            "not UTF-8".into(),
            post(&b"{\"a\":\"\xff\xfe\"}"[..]),
            INVALID,
        ),
        (
            "a 5 MiB string".into(),
            post(huge),
            (413, TEXT, "Payload too large\n"),
        ),
        (
            "a text/plain body".into(),
            Request::post("/")
                .header("content-type", "text/plain")
                .body(Full::new(Bytes::from(good.to_owned())))
                .unwrap(),
            (415, TEXT, "Unsupported Media Type\n"),
        ),
        (
            "no content type".into(),
            Request::post("/")
                .body(Full::new(Bytes::from(good.to_owned())))
                .unwrap(),
            (415, TEXT, "Unsupported Media Type\n"),
        ),
        (
            "a GET".into(),
            Request::get("/")
                .header("content-type", "application/json")
                .body(Full::new(Bytes::new()))
                .unwrap(),
            (405, TEXT, "Method Not Allowed\n"),
        ),
    ];
    for (what, body) in specific {
        cases.push(((*what).to_owned(), post((*body).to_owned()), INVALID));
    }

    for (what, request, want) in cases {
        let got = call(&mut service, request).await;
        assert_eq!(got.triple(), want, "{kind}: {what}");
        if want.0 == 405 {
            assert_eq!(got.headers["allow"], "POST", "{kind}: {what}");
        }
        let again = call(&mut service, post(good.to_owned())).await;
        assert_eq!(
            (again.status, &again.body),
            (expected.status, &expected.body),
            "{kind}: the good request after {what}"
        );
    }
}

#[tokio::test]
async fn admission_refuses_bad_input() {
    assert_refuses_bad_input(
        "admission",
        FixedAdmission::ok(Admission::GrantAdmin).into_service(),
        ADMISSION_LOGIN,
        r#""login":"octocat""#,
        &[
            ("a string user", r#"{"event":"login","user":"x"}"#),
            ("a string id", r#"{"event":"login","user":{"id":"1"}}"#),
            ("an unknown event", r#"{"event":"logout","user":{}}"#),
            ("a numeric event", r#"{"event":1,"user":{}}"#),
            ("no event", r#"{"user":{}}"#),
            ("no user", r#"{"event":"login"}"#),
            (
                "a string token",
                r#"{"event":"login","user":{},"token":"x"}"#,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn global_secrets_refuse_bad_input() {
    assert_refuses_bad_input(
        "global secrets",
        FixedGlobalSecrets::ok(Vec::new()).into_service(),
        GLOBAL_SECRETS,
        r#""full_name":"octocat/hello-world""#,
        &[
            ("a string repo", r#"{"repo":"x","build":{}}"#),
            ("a numeric action", r#"{"action":1,"repo":{},"build":{}}"#),
            ("no repo", r#"{"build":{}}"#),
            ("no build", r#"{"repo":{}}"#),
        ],
    )
    .await;
}

#[tokio::test]
async fn secret_refuses_bad_input() {
    assert_refuses_bad_input(
        "secret",
        FixedSecret::ok(Some(Secret {
            name: "username".into(),
            data: "octocat".into(),
            ..Default::default()
        }))
        .into_service(),
        SECRET,
        r#""name":"username""#,
        &[
            ("no name", r#"{"path":"secret/data/docker"}"#),
            ("a null name", r#"{"path":"p","name":null}"#),
            ("a numeric name", r#"{"path":"p","name":1}"#),
            ("a string repo", r#"{"name":"n","repo":"x"}"#),
            (
                "a string build number",
                r#"{"name":"n","build":{"number":"7"}}"#,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn registry_and_environ_refuse_bad_input() {
    let specific = [
        ("no repo", r#"{"build":{}}"#),
        ("no build", r#"{"repo":{}}"#),
        ("a string repo", r#"{"repo":"x","build":{}}"#),
        ("a string repo id", r#"{"repo":{"id":"42"},"build":{}}"#),
        (
            "a numeric build event",
            r#"{"repo":{},"build":{"event":1}}"#,
        ),
    ];
    let good = repo_build_body();
    let huge = r#""message":"Update README.md""#;
    assert_refuses_bad_input(
        "registry",
        FixedRegistry::ok(Vec::new()).into_service(),
        &good,
        huge,
        &specific,
    )
    .await;
    assert_refuses_bad_input(
        "environ",
        FixedEnviron::ok(variables()).into_service(),
        &good,
        huge,
        &specific,
    )
    .await;
}

#[tokio::test]
async fn config_convert_validate_refuse_bad_input() {
    let huge = r#""message":"Update README.md""#;
    assert_refuses_bad_input(
        "config",
        FixedConfig::ok(None).into_service(),
        &config_body_with_token(),
        huge,
        &[
            ("no build", r#"{"repo":{}}"#),
            ("no repo", r#"{"build":{}}"#),
            ("a string token", r#"{"build":{},"repo":{},"token":"x"}"#),
            (
                "a numeric access token",
                r#"{"build":{},"repo":{},"token":{"access":1}}"#,
            ),
        ],
    )
    .await;
    let specific = [
        ("no config", r#"{"build":{},"repo":{}}"#),
        ("no build", r#"{"config":{},"repo":{}}"#),
        ("no repo", r#"{"build":{},"config":{}}"#),
        ("a string config", r#"{"build":{},"config":"x","repo":{}}"#),
        (
            "numeric config data",
            r#"{"build":{},"config":{"data":1},"repo":{}}"#,
        ),
    ];
    let good = build_config_repo_body(true);
    assert_refuses_bad_input(
        "convert",
        FixedConvert::ok(None).into_service(),
        &good,
        huge,
        &specific,
    )
    .await;
    assert_refuses_bad_input(
        "validate",
        FixedValidate::ok(Validation::Pass).into_service(),
        &good,
        huge,
        &specific,
    )
    .await;
}

#[tokio::test]
async fn webhook_refuses_bad_input() {
    assert_refuses_bad_input(
        "webhook",
        FixedWebhook::ok(()).into_service(),
        WEBHOOK_USER_CREATED,
        r#""action":"created""#,
        &[
            (
                "an unknown event",
                r#"{"event":"deploy","action":"created"}"#,
            ),
            (
                "a capitalised event",
                r#"{"event":"User","action":"created"}"#,
            ),
            ("no event", r#"{"action":"created"}"#),
            ("a null event", r#"{"event":null}"#),
            ("a string user", r#"{"event":"user","user":"x"}"#),
            ("a numeric action", r#"{"event":"user","action":1}"#),
        ],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// aesgcm.

#[cfg(feature = "aesgcm")]
mod aesgcm {
    use base64::Engine as _;
    use drone_extension::aesgcm::{self, AesGcmError, NONCE_LEN};
    use drone_extension::signature::SharedSecret;

    use super::*;

    /// The 32-character secret of protocol.md Example 5.
    const KEY: &str = "bea26a2221fd8090ea38720fc445eca6";
    /// The 28-character secret of Examples 1–4: too short to key aesgcm.
    const SHORT: &str = "correct-horse-battery-staple";

    fn key() -> SharedSecret {
        SharedSecret::new(KEY).unwrap()
    }

    fn asking(body: String, accept: Option<&str>) -> Request<Body> {
        let mut headers = vec![("accept-encoding", "aesgcm")];
        headers.extend(accept.map(|a| ("accept", a)));
        post_with(body, &headers)
    }

    fn assert_encrypted(answer: &Answer, plain: &str) {
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["content-encoding"], "aesgcm");
        assert_eq!(answer.content_type(), Some("application/octet-stream"));
        assert_eq!(answer.body.len(), NONCE_LEN + plain.len() + 16);
        let opened = aesgcm::decrypt(&key(), &answer.body).unwrap();
        assert_eq!(std::str::from_utf8(&opened).unwrap(), plain);
    }

    #[tokio::test]
    async fn secret_registry_environ_answer_encrypted_when_asked() {
        let secret = FixedSecret::ok(Some(Secret {
            name: "username".into(),
            data: "octocat".into(),
            pull: true,
            ..Default::default()
        }))
        .into_service()
        .aesgcm_key(key());
        let answer = oneshot(&secret, asking(SECRET.into(), Some(kind::SECRET_V1))).await;
        assert_encrypted(
            &answer,
            r#"{"name":"username","data":"octocat","pull":true}"#,
        );

        let registry = FixedRegistry::ok(vec![Registry {
            address: "index.docker.io".into(),
            username: "octocat".into(),
            password: "correct-horse-battery-staple".into(),
            ..Default::default()
        }])
        .into_service()
        .aesgcm_key(key());
        let answer = oneshot(&registry, asking(repo_build_body(), None)).await;
        assert_encrypted(
            &answer,
            r#"[{"address":"index.docker.io","username":"octocat","password":"correct-horse-battery-staple","email":"","token":""}]"#,
        );
        let empty = FixedRegistry::ok(Vec::new())
            .into_service()
            .aesgcm_key(key());
        assert_encrypted(
            &oneshot(&empty, asking(repo_build_body(), None)).await,
            "[]",
        );

        let environ = FixedEnviron::ok(variables())
            .into_service()
            .aesgcm_key(key());
        let answer = oneshot(&environ, asking(repo_build_body(), Some(kind::ENVIRON_V2))).await;
        assert_encrypted(
            &answer,
            r#"[{"name":"FOO","data":"bar"},{"name":"TOKEN","data":"s3cr3t","mask":true}]"#,
        );
        let answer = oneshot(&environ, asking(repo_build_body(), Some(kind::ENVIRON_V1))).await;
        assert_encrypted(&answer, r#"{"FOO":"bar","TOKEN":"s3cr3t"}"#);

        // Nothing to encrypt: a "none" secret is still a 204, errors still a generic 500.
        let none = FixedSecret::ok(None).into_service().aesgcm_key(key());
        let answer = oneshot(&none, asking(SECRET.into(), None)).await;
        assert_eq!(answer.triple(), (204, None, ""));
        let failing = FixedSecret::err().into_service().aesgcm_key(key());
        let answer = oneshot(&failing, asking(SECRET.into(), None)).await;
        assert_eq!(answer.triple(), INTERNAL_ERROR);
    }

    #[tokio::test]
    async fn a_short_secret_or_no_key_answers_plain_json_never_an_error() {
        // drone-go answers `500 aesgcm: invalid key length` to every such request; this crate
        // answers as if aesgcm was not asked for (the short secret was warned about when made).
        let short = SharedSecret::new(SHORT).unwrap();
        let secret = || {
            FixedSecret::ok(Some(Secret {
                name: "username".into(),
                data: "octocat".into(),
                ..Default::default()
            }))
        };
        let plain_secret = (200, JSON, r#"{"name":"username","data":"octocat"}"#);

        let service = secret().into_service().aesgcm_key(short.clone());
        let answer = oneshot(&service, asking(SECRET.into(), None)).await;
        assert_eq!(answer.triple(), plain_secret);
        assert!(!answer.headers.contains_key("content-encoding"));
        let service = secret().into_service();
        let answer = oneshot(&service, asking(SECRET.into(), None)).await;
        assert_eq!(answer.triple(), plain_secret);
        let service = FixedRegistry::ok(Vec::new())
            .into_service()
            .aesgcm_key(short.clone());
        let answer = oneshot(&service, asking(repo_build_body(), None)).await;
        assert_eq!(answer.triple(), (200, JSON, "[]"));
        let service = FixedEnviron::ok(variables())
            .into_service()
            .aesgcm_key(short);
        let asked = oneshot(&service, asking(repo_build_body(), None)).await;
        let unasked = oneshot(&service, post(repo_build_body())).await;
        assert_eq!(asked.status, 200);
        assert_eq!(asked.triple(), unasked.triple());

        // Without `Accept-Encoding: aesgcm`, the short secret does not matter.
        let service = secret()
            .into_service()
            .aesgcm_key(SharedSecret::new(SHORT).unwrap());
        assert_eq!(oneshot(&service, post(SECRET)).await.status, 200);
    }

    #[tokio::test]
    async fn only_an_exact_aesgcm_on_three_kinds_encrypts() {
        let plain = r#"{"name":"username","data":"octocat"}"#;
        let secret = FixedSecret::ok(Some(Secret {
            name: "username".into(),
            data: "octocat".into(),
            ..Default::default()
        }))
        .into_service()
        .aesgcm_key(key());
        for encoding in ["gzip, aesgcm", "identity", "AESGCM"] {
            let request = post_with(SECRET, &[("accept-encoding", encoding)]);
            let answer = oneshot(&secret, request).await;
            assert_eq!(answer.triple(), (200, JSON, plain), "{encoding}");
        }

        // Config, convert, validate, admission and webhook never encrypt.
        let config = FixedConfig::ok(Some(Config::default()))
            .into_service()
            .aesgcm_key(key());
        let answer = oneshot(&config, asking(config_body(), None)).await;
        assert_eq!(answer.triple(), (200, JSON, r#"{"data":"","kind":""}"#));
        let admission = FixedAdmission::ok(Admission::Allow)
            .into_service()
            .aesgcm_key(key());
        let answer = oneshot(&admission, asking(ADMISSION_LOGIN.into(), None)).await;
        assert_eq!(answer.triple(), (200, JSON, user_json()));
        let validate = FixedValidate::ok(Validation::reject("no"))
            .into_service()
            .aesgcm_key(key());
        let answer = oneshot(&validate, asking(build_config_repo_body(true), None)).await;
        assert_eq!(
            answer.triple(),
            (400, JSON, r#"{"code":400,"message":"no"}"#)
        );
    }

    #[test]
    fn the_vectors_reproduce_byte_for_byte() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("fixtures/aesgcm-vectors.json")).unwrap();
        let cases = doc["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 2);
        for case in cases {
            let secret = SharedSecret::new(case["secret"].as_str().unwrap()).unwrap();
            let plaintext = case["plaintext"]
                .as_str()
                .unwrap_or(r#"{"name":"username","data":"octocat"}"#);
            let nonce: [u8; NONCE_LEN] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
            let sealed = aesgcm::encrypt_with_nonce(&secret, &nonce, plaintext.as_bytes());
            match case["body_base64"].as_str() {
                Some(body) => {
                    assert_eq!(case["nonce_hex"], "000102030405060708090a0b");
                    let sealed = sealed.unwrap();
                    let expected = base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .unwrap();
                    assert_eq!(sealed, expected);
                    assert_eq!(
                        aesgcm::decrypt(&secret, &expected).unwrap(),
                        plaintext.as_bytes()
                    );
                }
                None => {
                    assert!(case["error"].as_str().unwrap().contains("shorter than 32"));
                    assert_eq!(sealed, Err(AesGcmError::InvalidKeyLength));
                }
            }
        }
    }
}
