//! The examples, run as a user runs them: each example's executable (built by `cargo test`
//! with the test run's features) is started as a child process (`DRONE_BIND=127.0.0.1:0`, the
//! port read from its `listening addr=…` log line), then driven with the crate's own client and
//! audited with the probe (`drone-extension-probe`). `examples/testing.rs` runs its own tests.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::admission::AdmissionRequest;
use drone_extension::client::ClientError;
use http::{Request, StatusCode};
use http_body_util::Full;
use support::process::{Probe, SECRET, Server, example, listening_addr};
use support::requests::{global_secrets_request, login, user};

fn get(url: &str) -> Request<Full<Bytes>> {
    Request::get(url).body(Full::new(Bytes::new())).unwrap()
}

#[test]
fn the_listening_line_is_read_with_or_without_colours() {
    let plain = "2026-01-01T00:00:00Z  INFO starter: listening addr=127.0.0.1:40123";
    let coloured = "\u{1b}[2m2026-01-01T00:00:00Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2mstarter\u{1b}[0m\u{1b}[2m:\u{1b}[0m listening \u{1b}[3maddr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:40123";
    let expected: SocketAddr = "127.0.0.1:40123".parse().unwrap();
    assert_eq!(listening_addr(plain), Some(expected));
    assert_eq!(listening_addr(coloured), Some(expected));
    assert_eq!(listening_addr("DRONE_SECRET=0123"), None);
}

#[tokio::test]
async fn the_axum_and_hyper_examples_serve_the_same_extension() {
    let probe = Probe::built();
    for name in ["axum", "hyper"] {
        let server = Server::start(example(name), &[]);
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
            let run = probe
                .audit(kind.name(), &server.url(kind.path()), SECRET)
                .await;
            assert!(run.status.success(), "{name} {kind}: {run}");
        }
        stops_on_ctrl_c(server).await;
    }
}

/// Sends SIGINT (what Ctrl-C sends) and expects a clean exit.
#[cfg(unix)]
async fn stops_on_ctrl_c(mut server: Server) {
    support::process::signal(&server.child, "-INT");
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
// The Woodpecker and Vault examples
// ---------------------------------------------------------------------------------------------

/// `examples/woodpecker.rs`: Woodpecker's signed request gets the secret for the repository of
/// the example, a pipeline from a fork or another repository gets none, an unsigned request is
/// refused; `/healthz` answers unsigned.
#[cfg(feature = "woodpecker")]
#[tokio::test]
async fn the_woodpecker_example_serves_signed_requests_only() {
    use drone_extension::woodpecker::{Client, SecretRequest, Signer};

    let signer = Signer::from_seed(&[9; 32]);
    let key = support::hex(&signer.public_key().to_bytes());
    // The key from a file, as an operator mounts it (`EXTENSION_WOODPECKER_PUBLIC_KEY_FILE`).
    let key_file =
        std::env::temp_dir().join(format!("woodpecker-example-{}.key", std::process::id()));
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let server = Server::start(
        example("woodpecker"),
        &[(
            "EXTENSION_WOODPECKER_PUBLIC_KEY_FILE",
            key_file.to_str().unwrap(),
        )],
    );
    let _ = std::fs::remove_file(&key_file);
    let client = Client::new(&server.url("/woodpecker/secret"), signer)
        .unwrap()
        .timeout(Duration::from_secs(10));
    let mut request = SecretRequest::default();
    request.repo.full_name = "octo-org/hello-world".into();
    let names = |secrets: Vec<drone_extension::woodpecker::Secret>| -> Vec<String> {
        secrets.into_iter().map(|s| s.name).collect()
    };
    assert_eq!(
        names(client.secrets(&request).await.unwrap()),
        ["deploy_token"]
    );
    let mut fork = request.clone();
    fork.pipeline.from_fork = true;
    assert!(client.secrets(&fork).await.unwrap().is_empty());
    let mut other = request.clone();
    other.repo.full_name = "mallory/hello-world".into();
    assert!(client.secrets(&other).await.unwrap().is_empty());

    let unsigned =
        drone_extension::testing::woodpecker_unsigned_request("/woodpecker/secret", &request)
            .unwrap();
    let (status, _) = support::http::send(server.addr, unsigned).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        support::http::get(server.addr, "/healthz").await,
        (StatusCode::OK, "OK".into())
    );
    stops_on_ctrl_c(server).await;
}

/// `examples/vault_secret.rs` against a real OpenBao: a runner's push gets the secret its
/// filters admit, a pull request gets none, `/readyz` follows the token.
#[cfg(feature = "vault")]
#[tokio::test]
async fn the_vault_example_serves_what_the_secret_filters_admit() {
    use support::requests::{build, secret_request};

    let Some(bao) = support::bao::Bao::start().await else {
        return;
    };
    bao.put_v2(
        "drone/docker",
        serde_json::json!({"docker_password": support::PASSWORD, "x-drone-events": "push"}),
    )
    .await;
    let token = bao.token("1h").await;
    let mut command = support::process::command(
        example("vault_secret"),
        &[],
        &[("VAULT_ADDR", &bao.addr), ("VAULT_TOKEN", &token)],
    );
    for (key, _) in std::env::vars() {
        if key.starts_with("VAULT_") && key != "VAULT_ADDR" && key != "VAULT_TOKEN" {
            command.env_remove(key);
        }
    }
    let server = Server::spawn("vault_secret", command);
    let client = server.client("/secret");
    let mut push = secret_request("docker_password", build("push"));
    push.path = "secret/data/drone/docker".into();
    let found = client.find_secret(&push).await.unwrap();
    assert_eq!(found.map(|s| s.data).as_deref(), Some(support::PASSWORD));
    let pull = drone_extension::secret::SecretRequest {
        build: build("pull_request"),
        ..push.clone()
    };
    assert_eq!(client.find_secret(&pull).await.unwrap(), None);

    let deadline = Instant::now() + Duration::from_secs(30);
    while support::http::get(server.addr, "/readyz").await.0 != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "/readyz not 200 within 30 s: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bao.revoke(&token).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while support::http::get(server.addr, "/readyz").await.0 != StatusCode::SERVICE_UNAVAILABLE {
        assert!(
            Instant::now() < deadline,
            "/readyz still 200 30 s after the token was revoked: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stops_on_ctrl_c(server).await;
}
