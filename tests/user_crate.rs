//! The user crate (`tests/user-crate`, a secret extension, a Drone 0.8 global secrets provider
//! and an admission policy in one axum `Router`), built and run as a child process on
//! 127.0.0.1:0, and called over HTTP with the crate's client: every kind answers requests signed
//! with its secret and refuses unsigned ones and ones signed with another secret.
#![cfg(feature = "client")]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::admission::AdmissionRequest;
use drone_extension::client::{Client, ClientError};
use drone_extension::global_secrets::GlobalSecretsRequest;
use drone_extension::models::{Repo, User};
use drone_extension::secret::SecretRequest;
use drone_extension::signature::{SIGNATURE, SharedSecret};

#[path = "support/process.rs"]
mod process;

use process::SECRET;
const STARTUP: Duration = Duration::from_secs(20);

/// `cargo build -p drone-extension-user-test` with the test build's profile; the executable
/// from cargo's JSON messages.
fn build_user_crate() -> PathBuf {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "-p", "drone-extension-user-test", "--bins"])
        .arg("--message-format=json-render-diagnostics");
    if !cfg!(debug_assertions) {
        cargo.arg("--release");
    }
    let output = cargo.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "building the user crate failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|m| {
            m["reason"] == "compiler-artifact" && m["target"]["kind"] == serde_json::json!(["bin"])
        })
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the user crate's executable")
}

/// The user crate's server; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(secrets_file: &std::path::Path) -> Server {
        let mut child = Command::new(build_user_crate())
            .env("DRONE_BIND", "127.0.0.1:0")
            .env("DRONE_SECRET", SECRET)
            .env("SECRETS_FILE", secrets_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the user crate's binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, listening) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let addr = listening
            .recv_timeout(STARTUP)
            .ok()
            .and_then(|line| line.strip_prefix("listening addr=")?.trim().parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the user crate did not print its address within {STARTUP:?}");
        };
        Server { child, addr }
    }

    fn client(&self, kind: ExtensionKind, secret: &str) -> Client {
        let url = format!("http://{}{}", self.addr, kind.path());
        Client::new(&url, SharedSecret::new(secret).unwrap())
            .unwrap()
            .timeout(Duration::from_secs(10))
    }

    /// The status of `body` sent for `kind` as Drone sends it, but without its signature.
    async fn unsigned_status(&self, kind: ExtensionKind, body: &str) -> u16 {
        let client = self.client(kind, SECRET);
        let body = Bytes::from(body.to_owned());
        let mut request = client
            .extension_request(kind.media_type(), body, SystemTime::now())
            .unwrap();
        request.headers_mut().remove(&SIGNATURE);
        client.send(request).await.unwrap().status.as_u16()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let server = Server::start(&file);
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
    let found = server
        .client(kind, SECRET)
        .find_secret(&request)
        .await
        .unwrap();
    assert_eq!(found.unwrap().data, "correct-horse-battery-staple");
    refused_with(server.client(kind, wrong).find_secret(&request).await, 401);
    let body = serde_json::to_string(&request).unwrap();
    assert_eq!(server.unsigned_status(kind, &body).await, 401);

    // Global secrets (Drone 0.8).
    let request = GlobalSecretsRequest::default();
    let kind = ExtensionKind::GlobalSecrets;
    let secrets = server
        .client(kind, SECRET)
        .global_secrets(&request)
        .await
        .unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].name, "password");
    refused_with(
        server.client(kind, wrong).global_secrets(&request).await,
        401,
    );
    let body = serde_json::to_string(&request).unwrap();
    assert_eq!(server.unsigned_status(kind, &body).await, 401);

    // Admission (server).
    let login = |login: &str| AdmissionRequest {
        user: User {
            login: login.into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let kind = ExtensionKind::Admission;
    let octocat = server
        .client(kind, SECRET)
        .admit(&login("octocat"))
        .await
        .unwrap();
    assert!(octocat.admin);
    refused_with(
        server.client(kind, SECRET).admit(&login("mallory")).await,
        403,
    );
    refused_with(
        server.client(kind, wrong).admit(&login("octocat")).await,
        401,
    );
    let body = serde_json::to_string(&login("octocat")).unwrap();
    assert_eq!(server.unsigned_status(kind, &body).await, 401);

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
    let server = Server::start(&file);
    for kind in [
        ExtensionKind::Secret,
        ExtensionKind::GlobalSecrets,
        ExtensionKind::Admission,
    ] {
        let endpoint = format!("http://{}{}", server.addr, kind.path());
        let output = tokio::process::Command::new(process::example("probe"))
            .args([
                "audit",
                kind.name(),
                "--endpoint",
                &endpoint,
                "--secret",
                SECRET,
            ])
            .args(["--strict", "--timeout", "10"])
            .output()
            .await
            .expect("the probe runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "audit of {kind} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("passed"), "{stdout}");
    }
    let _ = std::fs::remove_file(file);
}
