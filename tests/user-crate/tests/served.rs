//! The user crate's binary (a secret extension, a Drone 0.8 global secrets provider and an
//! admission policy in one axum `Router`) run as a child process on 127.0.0.1:0, and called over
//! HTTP with the crate's client: every kind answers requests signed with its secret and refuses
//! unsigned ones and ones signed with another secret; the probe's audit passes for each kind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::client::{Client, ClientError};
use drone_extension::global_secrets::GlobalSecretsRequest;
use drone_extension::models::Repo;
use drone_extension::secret::SecretRequest;
use drone_extension::signature::{SIGNATURE, SharedSecret};
use support::process::{Probe, SECRET, Server};
use support::requests::admission;

/// The user crate's server on 127.0.0.1:0, serving the secrets of `secrets_file`.
fn start(secrets_file: &Path) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drone-extension-user-test"));
    command
        .env("DRONE_BIND", "127.0.0.1:0")
        .env("DRONE_SECRET", SECRET)
        .env("SECRETS_FILE", secrets_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Server::spawn("the user crate", command)
}

/// A client of `kind`'s route signing with `secret`.
fn client(server: &Server, kind: ExtensionKind, secret: &str) -> Client {
    Client::new(&server.url(kind.path()), SharedSecret::new(secret).unwrap())
        .unwrap()
        .timeout(Duration::from_secs(10))
}

/// The status of `body` sent for `kind` as Drone sends it, but without its signature.
async fn unsigned_status(server: &Server, kind: ExtensionKind, body: &str) -> u16 {
    let client = client(server, kind, SECRET);
    let body = Bytes::from(body.to_owned());
    let mut request = client
        .extension_request(kind.media_type(), body, SystemTime::now())
        .unwrap();
    request.headers_mut().remove(&SIGNATURE);
    client.send(request).await.unwrap().status.as_u16()
}

fn refused_with(result: Result<impl std::fmt::Debug, ClientError>, code: u16) {
    match result {
        Err(ClientError::Status { code: c, .. }) if c == code => {}
        other => panic!("expected status {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn each_kind_of_the_user_crate_answers_drone_and_only_drone() {
    let file = std::env::temp_dir().join(format!("user-crate-{}.txt", std::process::id()));
    std::fs::write(
        &file,
        "secret/data/docker password correct-horse-battery-staple\n",
    )
    .unwrap();
    let server = start(&file);
    let wrong = "another-secret-of-32-characters!";

    // Secret (runners).
    let request = SecretRequest {
        path: "secret/data/docker".into(),
        name: "password".into(),
        repo: Repo {
            slug: "octocat/hello-world".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let kind = ExtensionKind::Secret;
    let found = client(&server, kind, SECRET)
        .find_secret(&request)
        .await
        .unwrap();
    assert_eq!(found.unwrap().data, "correct-horse-battery-staple");
    refused_with(
        client(&server, kind, wrong).find_secret(&request).await,
        401,
    );
    let body = serde_json::to_string(&request).unwrap();
    assert_eq!(unsigned_status(&server, kind, &body).await, 401);

    // Global secrets (Drone 0.8).
    let request = GlobalSecretsRequest::default();
    let kind = ExtensionKind::GlobalSecrets;
    let secrets = client(&server, kind, SECRET)
        .global_secrets(&request)
        .await
        .unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].name, "password");
    refused_with(
        client(&server, kind, wrong).global_secrets(&request).await,
        401,
    );
    let body = serde_json::to_string(&request).unwrap();
    assert_eq!(unsigned_status(&server, kind, &body).await, 401);

    // Admission (server).
    let login = admission;
    let kind = ExtensionKind::Admission;
    let octocat = client(&server, kind, SECRET)
        .admit(&login("octocat"))
        .await
        .unwrap();
    assert!(octocat.admin);
    refused_with(
        client(&server, kind, SECRET).admit(&login("mallory")).await,
        403,
    );
    refused_with(
        client(&server, kind, wrong).admit(&login("octocat")).await,
        401,
    );
    let body = serde_json::to_string(&login("octocat")).unwrap();
    assert_eq!(unsigned_status(&server, kind, &body).await, 401);

    let _ = std::fs::remove_file(file);
}

/// The probe audits each kind of the user crate as it audits any extension: the valid request
/// gets through and every forgery is refused.
#[tokio::test]
async fn the_probe_audit_passes_for_each_kind_of_the_user_crate() {
    let file = std::env::temp_dir().join(format!("user-crate-audit-{}.txt", std::process::id()));
    std::fs::write(
        &file,
        "secret/data/docker password correct-horse-battery-staple\n",
    )
    .unwrap();
    let server = start(&file);
    let probe = Probe::built();
    for kind in [
        ExtensionKind::Secret,
        ExtensionKind::GlobalSecrets,
        ExtensionKind::Admission,
    ] {
        let endpoint = server.url(kind.path());
        let run = probe
            .run(&[
                "audit",
                kind.name(),
                "--endpoint",
                &endpoint,
                "--secret",
                SECRET,
                "--strict",
                "--timeout",
                "10",
            ])
            .await;
        assert!(run.status.success(), "audit of {kind} failed:\n{run}");
        assert!(run.stdout.contains("passed"), "{run}");
    }
    let _ = std::fs::remove_file(file);
}
