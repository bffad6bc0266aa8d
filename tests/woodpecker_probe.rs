//! The probe's Woodpecker kinds: `probe --help` lists them, `probe audit` passes against the
//! crate's own Woodpecker example server for each extension, and fails against a deliberately lax
//! server that checks the signature but not the body's digest (as `httpsign.VerifyRequest` does).

#[path = "support/process.rs"]
mod process;

use std::process::{ExitStatus, Stdio};

use axum::Router;
use drone_extension::woodpecker::{PublicKey, Signer, Verifier};
use http::StatusCode;
use process::{Server, example};

/// The seed the probe signs with; the example server is given its public key.
const SEED: &str = "0707070707070707070707070707070707070707070707070707070707070707";

fn public_key_hex() -> String {
    Signer::from_seed(&[7; 32])
        .public_key()
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Run {
    status: ExitStatus,
    stdout: String,
}

async fn probe(args: &[&str]) -> Run {
    let output = tokio::process::Command::new(example("probe"))
        .args(args)
        .env_remove("WOODPECKER_SIGNING_KEY")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the probe runs");
    Run {
        status: output.status,
        stdout: format!(
            "{}\n--- stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

async fn audit(kind: &str, url: &str) -> Run {
    probe(&["audit", kind, "--endpoint", url, "--woodpecker-key", SEED]).await
}

#[tokio::test]
async fn help_lists_the_woodpecker_kinds() {
    let run = probe(&["audit", "--help"]).await;
    assert!(run.status.success(), "{}", run.stdout);
    for kind in [
        "woodpecker-config",
        "woodpecker-secret",
        "woodpecker-registry",
    ] {
        assert!(run.stdout.contains(kind), "{kind}: {}", run.stdout);
    }
    assert!(run.stdout.contains("--woodpecker-key"), "{}", run.stdout);
}

#[tokio::test]
async fn the_audit_passes_against_the_woodpecker_example_for_each_extension() {
    let key = public_key_hex();
    let server = Server::start(
        "woodpecker",
        &[
            ("WOODPECKER_PUBLIC_KEY", key.as_str()),
            (
                "DRONE_CONFIG",
                concat!(env!("CARGO_MANIFEST_DIR"), "/examples/starter.toml"),
            ),
        ],
    );
    for (kind, path) in [
        ("woodpecker-config", "/woodpecker/config"),
        ("woodpecker-secret", "/woodpecker/secret"),
        ("woodpecker-registry", "/woodpecker/registry"),
    ] {
        let run = audit(kind, &server.url(path)).await;
        assert!(run.status.success(), "{kind}: {}", run.stdout);
        assert!(
            run.stdout.contains("all 11 forgeries were refused"),
            "{}",
            run.stdout
        );
    }
    // The sample is the starter policy's repository: the secret extension hands its secrets.
    let run = probe(&[
        "send",
        "woodpecker-secret",
        "--endpoint",
        &server.url("/woodpecker/secret"),
        "--woodpecker-key",
        SEED,
    ])
    .await;
    assert!(run.status.success(), "{}", run.stdout);
    assert!(
        run.stdout.contains("Woodpecker's reading: 2 secret(s)"),
        "{}",
        run.stdout
    );

    // Unsigned: /metrics (each extension counted under its name, the refusals by reason),
    // /readyz; a path the router does not serve is 404.
    let get = |path: &str| {
        let client = drone_extension::woodpecker::Client::new(
            &server.url(path),
            Signer::from_seed(&[7; 32]),
        )
        .unwrap()
        .timeout(std::time::Duration::from_secs(10));
        async move {
            let request = http::Request::get(client.endpoint().clone())
                .body(http_body_util::Full::default())
                .unwrap();
            client.send(request).await.unwrap()
        }
    };
    let metrics = get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&metrics.body);
    for expected in [
        r#"drone_extension_requests_total{kind="woodpecker-secret",decision="found",status="200"}"#,
        r#"drone_extension_refusals_total{kind="woodpecker-config",reason="signature"}"#,
        r#"drone_extension_refusals_total{kind="woodpecker-registry",reason="digest"}"#,
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    assert_eq!(get("/readyz").await.status, StatusCode::OK);
    assert_eq!(
        get("/woodpecker/environ").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get("/woodpecker/secret").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

/// A server that verifies the signed head but never hashes the body.
async fn lax_server() -> std::net::SocketAddr {
    let verifier = Verifier::new(PublicKey::from_hex(&public_key_hex()).unwrap());
    let handler = move |request: http::Request<axum::body::Body>| {
        let verifier = verifier.clone();
        async move {
            let (parts, _) = request.into_parts();
            match verifier.verify_parts(&parts) {
                // The digest is never compared with the body.
                Ok(_) => (StatusCode::OK, "{\"secrets\":[]}"),
                Err(_) => (StatusCode::UNAUTHORIZED, "no"),
            }
        }
    };
    let app = Router::new().route("/woodpecker/secret", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn the_audit_fails_against_a_server_that_skips_the_digest() {
    let addr = lax_server().await;
    let run = audit(
        "woodpecker-secret",
        &format!("http://{addr}/woodpecker/secret"),
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stdout);
    let swapped = run
        .stdout
        .lines()
        .find(|l| l.starts_with("body swapped, Content-Digest unchanged"))
        .unwrap();
    assert!(swapped.ends_with("FORGERY ACCEPTED"), "{}", run.stdout);
    assert!(
        run.stdout.contains("FAILED: 1 forged request(s) ACCEPTED"),
        "{}",
        run.stdout
    );
}
