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

/// The probe with `env` (and none of the caller's keys or secrets) and `args`.
async fn probe_with_env(env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(PROBE);
    for name in [
        "DRONE_SECRET",
        "DRONE_SECRET_FILE",
        "WOODPECKER_SIGNING_KEY",
        "WOODPECKER_SIGNING_KEY_FILE",
        "EXTENSION_WOODPECKER_SIGNING_KEY",
        "EXTENSION_WOODPECKER_SIGNING_KEY_FILE",
    ] {
        command.env_remove(name);
    }
    let output = command
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    Run {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The PKCS#8 PEM of the seed [`SEED`].
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\n-----END PRIVATE KEY-----\n";

/// The key from `EXTENSION_WOODPECKER_SIGNING_KEY` (a PEM value), its `_FILE`, or the deprecated
/// `WOODPECKER_SIGNING_KEY` (with a warning naming the new name); `DRONE_SECRET_FILE` is read.
#[tokio::test]
async fn the_signing_key_and_secret_come_from_the_environment_or_files() {
    let addr = lax_server().await;
    let url = format!("http://{addr}/woodpecker/secret");
    let send = ["send", "woodpecker-secret", "--endpoint", url.as_str()];
    let dir = std::env::temp_dir().join(format!("probe-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("key.pem");
    std::fs::write(&key_file, PEM).unwrap();
    let key_file = key_file.to_str().unwrap();

    for env in [
        &[("EXTENSION_WOODPECKER_SIGNING_KEY", PEM)][..],
        &[("EXTENSION_WOODPECKER_SIGNING_KEY_FILE", key_file)][..],
        &[("EXTENSION_WOODPECKER_SIGNING_KEY", SEED)][..],
    ] {
        let run = probe_with_env(env, &send).await;
        assert!(run.status.success(), "{env:?}: {run}");
        assert!(!run.stderr.contains("deprecated"), "{env:?}: {run}");
    }
    let run = probe_with_env(&[("WOODPECKER_SIGNING_KEY", SEED)], &send).await;
    assert!(run.status.success(), "{run}");
    assert!(
        run.stderr.contains(
            "WOODPECKER_SIGNING_KEY is deprecated: set EXTENSION_WOODPECKER_SIGNING_KEY instead"
        ),
        "{run}"
    );

    // DRONE_SECRET_FILE: an unreadable one is named; a readable one is used (the endpoint is
    // then what fails, not the secret).
    let drone = ["send", "secret", "--endpoint", "http://127.0.0.1:1/secret"];
    let run = probe_with_env(&[("DRONE_SECRET_FILE", "/nonexistent/secret")], &drone).await;
    assert_eq!(run.status.code(), Some(2), "{run}");
    assert!(run.stderr.contains("DRONE_SECRET_FILE"), "{run}");
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, "bea26a2221fd8090ea38720fc445eca6\n").unwrap();
    let run = probe_with_env(
        &[("DRONE_SECRET_FILE", secret_file.to_str().unwrap())],
        &drone,
    )
    .await;
    assert!(
        run.stdout.contains("> POST") && !run.stderr.contains("DRONE_SECRET"),
        "the secret from the file signs the request: {run}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
