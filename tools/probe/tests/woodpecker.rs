//! The probe's Woodpecker kinds: `--help` lists them, and `audit` fails against a deliberately
//! lax server that checks the signature but not the body's digest (as `httpsign.VerifyRequest`
//! does). Its audit of the Woodpecker extension is that binary's test.

use axum::Router;
use drone_extension::woodpecker::{PublicKey, Signer, Verifier};
use http::StatusCode;
use support::process::{Probe, Run};

const PROBE: &str = env!("CARGO_BIN_EXE_drone-extension-probe");

/// The seed the probe signs with; the server is given its public key.
const SEED: &str = "0707070707070707070707070707070707070707070707070707070707070707";

fn public_key_hex() -> String {
    support::hex(&Signer::from_seed(&[7; 32]).public_key().to_bytes())
}

async fn probe(args: &[&str]) -> Run {
    Probe::at(PROBE).run(args).await
}

async fn audit(kind: &str, url: &str) -> Run {
    probe(&["audit", kind, "--endpoint", url, "--woodpecker-key", SEED]).await
}

#[tokio::test]
async fn help_lists_the_woodpecker_kinds() {
    let run = probe(&["audit", "--help"]).await;
    assert!(run.status.success(), "{run}");
    for kind in [
        "woodpecker-config",
        "woodpecker-secret",
        "woodpecker-registry",
    ] {
        assert!(run.stdout.contains(kind), "{kind}: {run}");
    }
    assert!(run.stdout.contains("--woodpecker-key"), "{run}");
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
    assert_eq!(run.status.code(), Some(1), "{run}");
    let swapped = run
        .stdout
        .lines()
        .find(|l| l.starts_with("body swapped, Content-Digest unchanged"))
        .unwrap();
    assert!(swapped.ends_with("FORGERY ACCEPTED"), "{run}");
    assert!(
        run.stdout.contains("FAILED: 1 forged request(s) ACCEPTED"),
        "{run}"
    );
}
