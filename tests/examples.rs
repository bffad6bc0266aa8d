//! The examples, run as a user runs them: the example binaries are built once with
//! `cargo build --example …` and started as child processes (`DRONE_BIND=127.0.0.1:0`, the port
//! read from their `listening addr=…` log line), then driven with the crate's own client and
//! with the probe.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::admission::{AdmissionEvent, AdmissionRequest};
use drone_extension::client::ClientError;
use drone_extension::config::ConfigRequest;
use drone_extension::convert::ConvertRequest;
use drone_extension::environ::EnvironRequest;
use drone_extension::global_secrets::GlobalSecretsRequest;
use drone_extension::models::{Build, Config, LegacyBuild, LegacyRepo, Repo, User};
use drone_extension::registry::RegistryRequest;
use drone_extension::secret::SecretRequest;
use drone_extension::signature::SIGNATURE;
use drone_extension::validate::{ValidateRequest, Validation};
use drone_extension::webhook::{WebhookEvent, WebhookRequest};
use http::{Method, Request, StatusCode};
use http_body_util::Full;

#[path = "support/process.rs"]
mod process;

use process::{SECRET, Server, example, listening_addr};

#[test]
fn the_listening_line_is_read_with_or_without_colours() {
    let plain = "2026-01-01T00:00:00Z  INFO starter: listening addr=127.0.0.1:40123";
    let coloured = "\u{1b}[2m2026-01-01T00:00:00Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2mstarter\u{1b}[0m\u{1b}[2m:\u{1b}[0m listening \u{1b}[3maddr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:40123";
    let expected: SocketAddr = "127.0.0.1:40123".parse().unwrap();
    assert_eq!(listening_addr(plain), Some(expected));
    assert_eq!(listening_addr(coloured), Some(expected));
    assert_eq!(listening_addr("DRONE_SECRET=0123"), None);
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

fn repo() -> Repo {
    Repo {
        id: 42,
        namespace: "octocat".into(),
        name: "hello-world".into(),
        slug: "octocat/hello-world".into(),
        ..Default::default()
    }
}

fn build(event: &str) -> Build {
    Build {
        id: 100,
        repo_id: 42,
        number: 7,
        event: event.into(),
        r#ref: "refs/heads/master".into(),
        target: "master".into(),
        ..Default::default()
    }
}

fn pipeline() -> Config {
    Config {
        data: "kind: pipeline\nname: default\n".into(),
        kind: String::new(),
    }
}

fn user(login: &str, admin: bool) -> User {
    User {
        id: 1,
        login: login.into(),
        email: format!("{login}@example.com"),
        active: true,
        admin,
        ..Default::default()
    }
}

fn login(login: &str) -> AdmissionRequest {
    AdmissionRequest {
        event: AdmissionEvent::Login,
        user: user(login, true),
        token: None,
    }
}

fn global_secrets_request(full_name: &str, event: &str) -> GlobalSecretsRequest {
    let (owner, name) = full_name.split_once('/').unwrap();
    GlobalSecretsRequest {
        action: String::new(),
        repo: LegacyRepo {
            owner: owner.into(),
            name: name.into(),
            full_name: full_name.into(),
            ..Default::default()
        },
        build: LegacyBuild {
            number: 7,
            event: event.into(),
            branch: "master".into(),
            ..Default::default()
        },
    }
}

fn secret_request(name: &str, build: Build) -> SecretRequest {
    SecretRequest {
        path: "secret/data/docker".into(),
        name: name.into(),
        repo: repo(),
        build,
    }
}

/// A JSON `POST` to `url` with no signature at all.
fn unsigned_post(url: &str, body: &[u8]) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap()
}

fn get(url: &str) -> Request<Full<Bytes>> {
    Request::get(url).body(Full::new(Bytes::new())).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------------

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs the probe to completion (without blocking the test's runtime, which may be serving).
async fn probe(args: &[&str]) -> Run {
    let output = tokio::process::Command::new(example("probe"))
        .args(args)
        .env_remove("DRONE_SECRET")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the probe runs");
    Run {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn audit(kind: ExtensionKind, url: &str, secret: &str) -> Run {
    probe(&[
        "audit",
        kind.name(),
        "--endpoint",
        url,
        "--secret",
        secret,
        "--timeout",
        "10",
    ])
    .await
}

// ---------------------------------------------------------------------------------------------
// The starter
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn healthz_answers_ok_unsigned() {
    let starter = Server::start("starter", &[]);
    let raw = starter
        .client("/healthz")
        .send(get(&starter.url("/healthz")))
        .await
        .unwrap();
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.body, "OK");
}

#[tokio::test]
async fn every_route_accepts_drone_requests_and_refuses_unsigned_ones() {
    let starter = Server::start("starter", &[]);
    let c = |kind: ExtensionKind| starter.client(kind.path());

    // The embedded default policy: admit everyone as they are, hand out nothing, pass.
    let admitted = c(ExtensionKind::Admission)
        .admit(&login("octocat"))
        .await
        .unwrap();
    assert_eq!(admitted, user("octocat", true), "admin flag unchanged");
    let secrets = c(ExtensionKind::GlobalSecrets)
        .global_secrets(&global_secrets_request("octocat/hello-world", "push"))
        .await
        .unwrap();
    assert!(secrets.is_empty());
    let secret = c(ExtensionKind::Secret)
        .find_secret(&secret_request("username", build("push")))
        .await
        .unwrap();
    assert!(secret.is_none());
    let (repo, build) = (repo(), build("push"));
    let registries = c(ExtensionKind::Registry)
        .registries(&RegistryRequest {
            repo: repo.clone(),
            build: build.clone(),
        })
        .await
        .unwrap();
    assert!(registries.is_empty());
    let variables = c(ExtensionKind::Environ)
        .variables(&EnvironRequest {
            repo: repo.clone(),
            build: build.clone(),
        })
        .await
        .unwrap();
    assert!(variables.is_empty());
    let config = c(ExtensionKind::Config)
        .config(&ConfigRequest {
            build: build.clone(),
            repo: repo.clone(),
            token: None,
        })
        .await
        .unwrap();
    assert!(config.is_none());
    let converted = c(ExtensionKind::Convert)
        .convert(&ConvertRequest {
            build: build.clone(),
            config: pipeline(),
            repo: repo.clone(),
            token: None,
        })
        .await
        .unwrap();
    assert!(converted.is_none());
    let validation = c(ExtensionKind::Validate)
        .validate(&ValidateRequest {
            build: build.clone(),
            config: pipeline(),
            repo: repo.clone(),
            token: None,
        })
        .await
        .unwrap();
    assert_eq!(validation, Validation::Pass);
    let webhook = WebhookRequest {
        event: WebhookEvent::Build,
        action: "created".into(),
        user: None,
        repo: Some(repo),
        build: Some(build),
        system: None,
    };
    let status = c(ExtensionKind::Webhook).webhook(&webhook).await.unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The same routes, unsigned: a valid signed request with its Signature header removed.
    for &kind in ExtensionKind::ALL {
        let client = c(kind);
        let mut request = client
            .extension_request(
                kind.media_type(),
                Bytes::from_static(b"{}"),
                SystemTime::now(),
            )
            .unwrap();
        request.headers_mut().remove(&SIGNATURE);
        let raw = client.send(request).await.unwrap();
        assert_eq!(raw.status, StatusCode::UNAUTHORIZED, "{kind}");
    }
}

#[tokio::test]
async fn the_policy_file_hands_out_secrets_to_pushes_not_to_pull_requests_from_forks() {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/starter.toml");
    let policy = policy.to_str().unwrap();
    let starter = Server::start("starter", &[("DRONE_CONFIG", policy)]);
    let client = starter.client("/secret");

    let push = secret_request("docker_password", build("push"));
    let secret = client
        .find_secret(&push)
        .await
        .unwrap()
        .expect("a secret for a push");
    assert_eq!(secret.name, "docker_password");
    assert_eq!(secret.data, "correct-horse-battery-staple");

    let fork = Build {
        event: "pull_request".into(),
        r#ref: "refs/pull/12/head".into(),
        source_repo: "spacekitty/hello-world".into(),
        ..build("pull_request")
    };
    let secret = client
        .find_secret(&secret_request("docker_password", fork))
        .await
        .unwrap();
    assert!(secret.is_none(), "no secret for a pull request from a fork");

    // And the admission section of the file.
    let admission = starter.client("/admission");
    assert!(admission.admit(&login("octocat")).await.unwrap().admin);
    match admission.admit(&login("mallory")).await {
        Err(ClientError::Status { code: 403, .. }) => {}
        other => panic!("mallory must be refused: {other:?}"),
    }
}

#[tokio::test]
async fn unsigned_global_secrets_only_with_the_flag() {
    let body = serde_json::to_vec(&global_secrets_request("octocat/hello-world", "push")).unwrap();
    for (flag, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("true"), StatusCode::OK),
    ] {
        let env: Vec<(&str, &str)> = flag
            .map(|v| ("DRONE_GLOBAL_SECRETS_UNSIGNED", v))
            .into_iter()
            .collect();
        let starter = Server::start("starter", &env);
        let url = starter.url("/global-secrets");
        let raw = starter
            .client("/global-secrets")
            .send(unsigned_post(&url, &body))
            .await
            .unwrap();
        assert_eq!(
            raw.status, expected,
            "DRONE_GLOBAL_SECRETS_UNSIGNED={flag:?}"
        );
        if expected == StatusCode::OK {
            assert_eq!(raw.body, "[]");
            assert!(
                starter.log().contains("UNSIGNED"),
                "the flag is logged as a warning"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_probe_audit_passes_against_the_starter_for_every_kind() {
    let starter = Server::start("starter", &[]);
    for &kind in ExtensionKind::ALL {
        let run = audit(kind, &starter.url(kind.path()), SECRET).await;
        assert!(run.status.success(), "audit {kind}: {run}");
        assert!(run.stdout.contains("passed"), "audit {kind}: {run}");
        let checks = match kind {
            ExtensionKind::Webhook => 15,
            // Also the extension's own Vault token (two spellings) and its cubbyhole.
            ExtensionKind::Secret => 19,
            _ => 16,
        };
        assert_eq!(verdicts(&run, "refused"), checks, "audit {kind}: {run}");
        assert_eq!(verdicts(&run, "FORGERY"), 0, "audit {kind}: {run}");
        assert_eq!(verdicts(&run, "hardening"), 0, "audit {kind}: {run}");
    }
}

#[tokio::test]
async fn the_probe_audit_fails_against_a_lax_server() {
    // Answers `200 {}` to anything, signed or not.
    let app = axum::Router::new()
        .fallback(|| async { ([(http::header::CONTENT_TYPE, "application/json")], "{}") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let run = audit(
        ExtensionKind::Secret,
        &format!("http://{addr}/secret"),
        SECRET,
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert!(run.stdout.contains("valid request"), "{run}");
    // Every forgery but the oversize body, which the server may answer before or after the
    // client has sent it all (a connection closed mid-body reads as refused).
    assert!(verdicts(&run, "FORGERY ACCEPTED") >= 11, "{run}");
    for row in [
        "unsigned",
        "wrong secret",
        "body tampered",
        "stale Date",
        "digest mismatch",
    ] {
        assert_eq!(verdict(&run, row), "FORGERY ACCEPTED", "{row}: {run}");
    }
    assert_eq!(verdicts(&run, "hardening: accepted"), 4, "{run}");
    assert!(run.stdout.contains("FAILED"), "{run}");
    server.abort();
}

#[tokio::test]
async fn the_probe_send_prints_the_answer_and_fails_on_a_wrong_secret() {
    let starter = Server::start("starter", &[]);
    let url = starter.url("/secret");
    let run = probe(&["send", "secret", "--endpoint", &url, "--secret", SECRET]).await;
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(run.stdout.contains("204 No Content"), "{run}");
    assert!(run.stdout.contains("not found"), "{run}");

    let run = probe(&[
        "send",
        "secret",
        "--endpoint",
        &url,
        "--secret",
        "not-the-secret",
    ])
    .await;
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert!(run.stdout.contains("401 Unauthorized"), "{run}");

    // A body from a file, byte for byte, and Drone's reading of a validation.
    let file = std::env::temp_dir().join(format!("probe-validate-{}.json", std::process::id()));
    let body = serde_json::json!({"build": {"event": "push"}, "repo": {"slug": "octocat/hello-world"}, "config": {"data": "kind: pipeline\n"}});
    std::fs::write(&file, body.to_string()).unwrap();
    let file_arg = file.to_str().unwrap();
    let url = starter.url("/validate");
    let run = probe(&[
        "send",
        "validate",
        "--endpoint",
        &url,
        "--secret",
        SECRET,
        "--body",
        file_arg,
    ])
    .await;
    let _ = std::fs::remove_file(&file);
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(run.stdout.contains("pass"), "{run}");
}

#[tokio::test]
async fn the_probe_reports_bad_input_without_panicking() {
    let unreachable = "http://127.0.0.1:1/secret";
    let cases: [&[&str]; 8] = [
        &[
            "send",
            "secrets",
            "--endpoint",
            unreachable,
            "--secret",
            SECRET,
        ],
        &[
            "send",
            "secret",
            "--endpoint",
            "not a url",
            "--secret",
            SECRET,
        ],
        &[
            "send",
            "secret",
            "--endpoint",
            "ftp://127.0.0.1:1/",
            "--secret",
            SECRET,
        ],
        &[
            "send",
            "secret",
            "--endpoint",
            unreachable,
            "--secret",
            SECRET,
        ],
        &[
            "send",
            "secret",
            "--endpoint",
            unreachable,
            "--secret",
            SECRET,
            "--body",
            "/nonexistent/body.json",
        ],
        &[
            "audit",
            "secret",
            "--endpoint",
            unreachable,
            "--secret",
            SECRET,
            "--timeout",
            "-1",
        ],
        &[
            "audit",
            "secret",
            "--endpoint",
            "https://127.0.0.1:1/secret",
            "--secret",
            SECRET,
            "--ca",
            "/nonexistent/ca.pem",
        ],
        &["sample", "no-such-kind"],
    ];
    for args in cases {
        let run = probe(args).await;
        assert_eq!(run.status.code(), Some(2), "{args:?}: {run}");
        assert!(!run.stderr.contains("panicked"), "{args:?}: {run}");
        assert!(
            !run.stderr.trim().is_empty(),
            "{args:?}: an explanation on stderr"
        );
    }
    let run = probe(&["send", "secret", "--endpoint", unreachable]).await;
    assert_eq!(run.status.code(), Some(2), "{run}");
    assert!(run.stderr.contains("DRONE_SECRET"), "{run}");
}

// ---------------------------------------------------------------------------------------------
// The axum and hyper examples
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_axum_and_hyper_examples_serve_the_same_extension() {
    for name in ["axum", "hyper"] {
        let server = Server::start(name, &[]);
        let client = server.client("/");
        let raw = client.send(get(&server.url("/healthz"))).await.unwrap();
        assert_eq!(
            (raw.status, &raw.body[..]),
            (StatusCode::OK, &b"OK"[..]),
            "{name}"
        );
        let raw = client.send(get(&server.url("/nowhere"))).await.unwrap();
        assert_eq!(raw.status, StatusCode::NOT_FOUND, "{name}");

        let admission = server.client("/admission");
        let octocat = AdmissionRequest {
            user: user("octocat", false),
            ..login("octocat")
        };
        assert!(admission.admit(&octocat).await.unwrap().admin, "{name}");
        assert!(matches!(
            admission.admit(&login("mallory")).await,
            Err(ClientError::Status { code: 403, .. })
        ));

        let secrets = server.client("/global-secrets");
        let push = global_secrets_request("octocat/hello-world", "push");
        let found = secrets.global_secrets(&push).await.unwrap();
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(found[0].name, "docker_password");
        let pull = global_secrets_request("octocat/hello-world", "pull_request");
        assert!(
            secrets.global_secrets(&pull).await.unwrap().is_empty(),
            "{name}"
        );
        let other = global_secrets_request("spacekitty/hello-world", "push");
        assert!(
            secrets.global_secrets(&other).await.unwrap().is_empty(),
            "{name}"
        );

        for kind in [ExtensionKind::Admission, ExtensionKind::GlobalSecrets] {
            let run = audit(kind, &server.url(kind.path()), SECRET).await;
            assert!(run.status.success(), "{name} {kind}: {run}");
        }
        stops_on_ctrl_c(server).await;
    }
}

/// Sends SIGINT (what Ctrl-C sends) and expects a clean exit.
#[cfg(unix)]
async fn stops_on_ctrl_c(mut server: Server) {
    let pid = server.child.id().to_string();
    let kill = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            // The process is gone: its output is complete once the readers reach the end.
            for reader in server.readers.drain(..) {
                reader.join().unwrap();
            }
            assert!(status.success(), "exit status {status}:\n{}", server.log());
            assert!(server.log().contains("shutting down"));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGINT:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(not(unix))]
async fn stops_on_ctrl_c(_server: Server) {}

// ---------------------------------------------------------------------------------------------
// The probe's grading, its output, its samples, and https
// ---------------------------------------------------------------------------------------------

/// Serves `app` on 127.0.0.1 (plain http) until the task is aborted.
async fn serve_http(app: axum::Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

/// What Go's verifier does with ambiguous requests, before the crate's layer: keeps the first
/// value of each repeated header, and ignores `Authorization` next to `Signature`.
async fn first_values(mut request: axum::extract::Request) -> axum::extract::Request {
    let mut first = http::HeaderMap::new();
    for (name, value) in request.headers() {
        if !first.contains_key(name) {
            first.insert(name.clone(), value.clone());
        }
    }
    if first.contains_key(&SIGNATURE) {
        first.remove(http::header::AUTHORIZATION);
    }
    *request.headers_mut() = first;
    request
}

/// As [`first_values`], and also takes `hmac-sha1` for `hmac-sha256`: a real downgrade.
async fn first_values_and_any_algorithm(request: axum::extract::Request) -> axum::extract::Request {
    let mut request = first_values(request).await;
    let headers = request.headers_mut();
    if let Some(signature) = headers.get(&SIGNATURE).and_then(|v| v.to_str().ok()) {
        let rewritten = signature.replace("\"hmac-sha1\"", "\"hmac-sha256\"");
        headers.insert(SIGNATURE.clone(), rewritten.parse().unwrap());
    }
    request
}

/// The verdict column of the audit table's row whose request starts with `request`.
fn verdict<'a>(run: &'a Run, request: &str) -> &'a str {
    let mut lines = run.stdout.lines();
    let column = lines
        .by_ref()
        .find_map(|line| line.starts_with("request ").then(|| line.find("verdict"))?)
        .unwrap_or_else(|| panic!("no table: {run}"));
    let line = lines
        .find(|line| line.starts_with(request))
        .unwrap_or_else(|| panic!("no row {request:?}: {run}"));
    line.get(column..).unwrap_or("").trim()
}

/// How many rows of the audit's table have a verdict starting with `prefix`.
fn verdicts(run: &Run, prefix: &str) -> usize {
    let mut lines = run.stdout.lines();
    let Some(column) = lines
        .by_ref()
        .find_map(|line| line.starts_with("request ").then(|| line.find("verdict"))?)
    else {
        return 0;
    };
    lines
        .take_while(|line| !line.is_empty())
        .filter(|line| line.get(column..).is_some_and(|v| v.starts_with(prefix)))
        .count()
}

#[tokio::test]
async fn the_audit_warns_about_hardening_and_fails_on_it_only_when_strict() {
    let app = support::secret_app().layer(axum::middleware::map_request(first_values));
    let (addr, server) = serve_http(app).await;
    let url = format!("http://{addr}/secret");

    let run = audit(ExtensionKind::Secret, &url, SECRET).await;
    assert_eq!(run.status.code(), Some(0), "{run}");
    for row in [
        "duplicate Signature header",
        "duplicate Date header",
        "duplicate Digest header",
        "Signature + Authorization",
    ] {
        assert_eq!(
            verdict(&run, row),
            "hardening: accepted (warning)",
            "{row}: {run}"
        );
    }
    assert_eq!(verdicts(&run, "FORGERY"), 0, "{run}");
    assert!(
        run.stdout
            .contains("warning: 4 hardening check(s) accepted"),
        "{run}"
    );
    assert!(run.stdout.contains("passed"), "{run}");
    assert!(run.stdout.contains("status `-`"), "the legend: {run}");

    let strict = probe(&[
        "audit",
        "secret",
        "--endpoint",
        &url,
        "--secret",
        SECRET,
        "--strict",
    ])
    .await;
    assert_eq!(strict.status.code(), Some(1), "{strict}");
    assert!(strict.stdout.contains("FAILED (--strict)"), "{strict}");
    assert!(!strict.stdout.contains("passed"), "{strict}");
    server.abort();
}

#[tokio::test]
async fn the_audit_fails_on_a_single_real_forgery() {
    let app = support::secret_app().layer(axum::middleware::map_request(
        first_values_and_any_algorithm,
    ));
    let (addr, server) = serve_http(app).await;
    let run = audit(
        ExtensionKind::Secret,
        &format!("http://{addr}/secret"),
        SECRET,
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert_eq!(
        verdict(&run, "algorithm hmac-sha1"),
        "FORGERY ACCEPTED",
        "{run}"
    );
    assert_eq!(
        verdicts(&run, "FORGERY ACCEPTED"),
        1,
        "only the downgrade: {run}"
    );
    assert!(
        run.stdout.contains("FAILED: 1 forged request(s) ACCEPTED"),
        "{run}"
    );
    server.abort();
}

#[tokio::test]
async fn the_probe_prints_samples_that_parse() {
    for &kind in ExtensionKind::ALL {
        for pretty in [false, true] {
            let mut args = vec!["sample", kind.name()];
            if pretty {
                args.push("--pretty");
            }
            let run = probe(&args).await;
            assert_eq!(run.status.code(), Some(0), "{args:?}: {run}");
            let json: serde_json::Value = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|e| panic!("{args:?}: {e}: {run}"));
            assert!(json.is_object(), "{args:?}");
            assert_eq!(run.stdout.lines().count() > 1, pretty, "{args:?}");
        }
    }
    let run = probe(&["sample", "secret"]).await;
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["name"], "docker_password");
    assert_eq!(json["path"], "secret/data/docker");
    assert_eq!(json["repo"]["slug"], "octocat/hello-world");
    assert_eq!(json["build"]["event"], "push");
}

#[tokio::test]
async fn the_probe_send_shows_the_answer_byte_for_byte() {
    // Keys out of order, odd spacing, an escape: what a re-encoding would change.
    const BODY: &str =
        "{\"name\":\"docker_password\",  \"data\" : \"a\\u0041\",\"zzz\":1,\"aaa\":[ ]}\n";
    let app = axum::Router::new()
        .fallback(|| async { ([(http::header::CONTENT_TYPE, "application/json")], BODY) });
    let (addr, server) = serve_http(app).await;
    let url = format!("http://{addr}/secret");
    let output = tokio::process::Command::new(example("probe"))
        .args(["send", "secret", "--endpoint", &url, "--secret", SECRET])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let expected = format!("\n\n{BODY}\nDrone's reading: ");
    let stdout = output.stdout;
    assert!(
        stdout
            .windows(expected.len())
            .any(|w| w == expected.as_bytes()),
        "{}",
        String::from_utf8_lossy(&stdout)
    );

    let run = probe(&[
        "send",
        "secret",
        "--endpoint",
        &url,
        "--secret",
        SECRET,
        "--pretty",
    ])
    .await;
    let pretty = "{\n  \"name\": \"docker_password\",\n  \"data\": \"a\\u0041\",\n  \"zzz\": 1,\n  \"aaa\": []\n}\n";
    assert!(run.stdout.contains(pretty), "{run}");
    server.abort();
}

#[tokio::test]
async fn the_samples_get_what_the_starter_policy_file_hands_out() {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/starter.toml");
    let starter = Server::start("starter", &[("DRONE_CONFIG", policy.to_str().unwrap())]);
    for (kind, expected) in [
        (ExtensionKind::Secret, "correct-horse-battery-staple"),
        (ExtensionKind::Registry, "index.docker.io"),
        (ExtensionKind::Environ, "DEPLOY_ENV"),
        (ExtensionKind::GlobalSecrets, "docker_password"),
    ] {
        let url = starter.url(kind.path());
        let run = probe(&["send", kind.name(), "--endpoint", &url, "--secret", SECRET]).await;
        assert_eq!(run.status.code(), Some(0), "{kind}: {run}");
        assert!(run.stdout.contains("< 200 OK"), "{kind}: {run}");
        assert!(run.stdout.contains(expected), "{kind}: {run}");
    }
}

#[tokio::test]
async fn the_audit_passes_over_https_with_the_ca_given() {
    let pki = support::private_pki(&["127.0.0.1"]);
    let (addr, server) = support::serve(support::secret_app(), &pki).await;
    let url = format!("https://{addr}/secret");
    let ca = std::env::temp_dir().join(format!("probe-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let ca_arg = ca.to_str().unwrap();

    let run = probe(&[
        "audit",
        "secret",
        "--endpoint",
        &url,
        "--secret",
        SECRET,
        "--ca",
        ca_arg,
    ])
    .await;
    let _ = std::fs::remove_file(&ca);
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(run.stdout.contains("passed"), "{run}");

    // Without the CA the certificate is not trusted; with --insecure it is not checked.
    let run = probe(&["send", "secret", "--endpoint", &url, "--secret", SECRET]).await;
    assert_eq!(run.status.code(), Some(2), "{run}");
    assert!(run.stderr.contains("certificate not trusted"), "{run}");
    assert!(run.stderr.contains("--ca"), "the hint: {run}");
    let run = probe(&[
        "send",
        "secret",
        "--endpoint",
        &url,
        "--secret",
        SECRET,
        "--insecure",
    ])
    .await;
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(run.stderr.contains("warning: --insecure"), "{run}");
    assert!(run.stdout.contains(support::PASSWORD), "{run}");
    server.abort();
}
