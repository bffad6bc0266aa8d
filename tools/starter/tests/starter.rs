//! The starter (`drone-extension-starter`) run as a user runs it: started as a child process
//! (`DRONE_BIND=127.0.0.1:0`, the port read from its `listening addr=…` log line), then driven
//! with the crate's own client and audited with the probe (`drone-extension-probe`).

use std::time::SystemTime;

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::client::ClientError;
use drone_extension::config::ConfigRequest;
use drone_extension::convert::ConvertRequest;
use drone_extension::environ::EnvironRequest;
use drone_extension::models::Build;
use drone_extension::registry::RegistryRequest;
use drone_extension::signature::SIGNATURE;
use drone_extension::validate::{ValidateRequest, Validation};
use drone_extension::webhook::{WebhookEvent, WebhookRequest};
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use support::process::{Probe, SECRET, Server};
use support::requests::{
    build, global_secrets_request, login, pipeline, repo, secret_request, user,
};

const STARTER: &str = env!("CARGO_BIN_EXE_drone-extension-starter");

/// The policy file that documents every setting.
const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/starter.toml");

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

#[tokio::test]
async fn healthz_answers_ok_unsigned() {
    let starter = Server::start(STARTER, &[]);
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
    let starter = Server::start(STARTER, &[]);
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
    let starter = Server::start(STARTER, &[("DRONE_CONFIG", POLICY)]);
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
        let starter = Server::start(STARTER, &env);
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
// Audited and called by the probe
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_probe_audit_passes_against_the_starter_for_every_kind() {
    let starter = Server::start(STARTER, &[]);
    let probe = Probe::built();
    for &kind in ExtensionKind::ALL {
        let run = probe
            .audit(kind.name(), &starter.url(kind.path()), SECRET)
            .await;
        assert!(run.status.success(), "audit {kind}: {run}");
        assert!(run.stdout.contains("passed"), "audit {kind}: {run}");
        let checks = match kind {
            ExtensionKind::Webhook => 15,
            // Also the extension's own Vault token (two spellings) and its cubbyhole.
            ExtensionKind::Secret => 19,
            _ => 16,
        };
        assert_eq!(run.verdicts("refused"), checks, "audit {kind}: {run}");
        assert_eq!(run.verdicts("FORGERY"), 0, "audit {kind}: {run}");
        assert_eq!(run.verdicts("hardening"), 0, "audit {kind}: {run}");
    }
}

#[tokio::test]
async fn the_probe_send_prints_the_answer_and_fails_on_a_wrong_secret() {
    let starter = Server::start(STARTER, &[]);
    let probe = Probe::built();
    let url = starter.url("/secret");
    let run = probe
        .run(&["send", "secret", "--endpoint", &url, "--secret", SECRET])
        .await;
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(run.stdout.contains("204 No Content"), "{run}");
    assert!(run.stdout.contains("not found"), "{run}");

    let run = probe
        .run(&[
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
    let run = probe
        .run(&[
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
async fn the_samples_get_what_the_starter_policy_file_hands_out() {
    let starter = Server::start(STARTER, &[("DRONE_CONFIG", POLICY)]);
    let probe = Probe::built();
    for (kind, expected) in [
        (ExtensionKind::Secret, "correct-horse-battery-staple"),
        (ExtensionKind::Registry, "index.docker.io"),
        (ExtensionKind::Environ, "DEPLOY_ENV"),
        (ExtensionKind::GlobalSecrets, "docker_password"),
    ] {
        let url = starter.url(kind.path());
        let run = probe
            .run(&["send", kind.name(), "--endpoint", &url, "--secret", SECRET])
            .await;
        assert_eq!(run.status.code(), Some(0), "{kind}: {run}");
        assert!(run.stdout.contains("< 200 OK"), "{kind}: {run}");
        assert!(run.stdout.contains(expected), "{kind}: {run}");
    }
}
