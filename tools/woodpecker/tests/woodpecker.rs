//! The Woodpecker extension (`drone-extension-woodpecker`) as a child process on 127.0.0.1,
//! called as Woodpecker calls it (signed by the crate's Woodpecker client) and audited by the
//! probe: forks get only what their rules allow, a weak key is refused at start, health,
//! readiness and metrics answer unsigned.

use std::io::Read;
use std::time::Duration;

use drone_extension::woodpecker::{Client, RegistryRequest, SecretRequest, Signer};
use http::StatusCode;
use support::hex;
use support::http::get;
use support::process::{Probe, Run, Server, command, exit_within};

const WOODPECKER: &str = env!("CARGO_BIN_EXE_drone-extension-woodpecker");

/// The seed the probe signs with; the server is given its public key.
const SEED: &str = "0707070707070707070707070707070707070707070707070707070707070707";

async fn audit(kind: &str, url: &str) -> Run {
    Probe::built()
        .run(&["audit", kind, "--endpoint", url, "--woodpecker-key", SEED])
        .await
}

fn signer() -> Signer {
    Signer::from_seed(&[11; 32])
}

/// A secret (and registry) request for a pull request of `octocat/hello-world`.
fn pull_request(from_fork: bool) -> SecretRequest {
    let mut request = SecretRequest::default();
    request.repo.full_name = "octocat/hello-world".into();
    request.pipeline.event = "pull_request".into();
    request.pipeline.from_fork = from_fork;
    request
}

/// Guards against: the Woodpecker extension ignoring the pipeline's `from_fork` (its rules' fork
/// setting). A pull request from a fork gets only the secrets and registries whose rule says
/// `pull_request = true`; one from the repository itself gets every rule for the event.
#[tokio::test]
async fn the_woodpecker_extension_gives_forks_only_what_their_rules_allow() {
    let key = hex(&signer().public_key().to_bytes());
    let policy = support::fixture("starter-forks.toml");
    let server = Server::start(
        WOODPECKER,
        &[
            ("EXTENSION_WOODPECKER_PUBLIC_KEY", key.as_str()),
            ("DRONE_CONFIG", policy.to_str().unwrap()),
        ],
    );
    let client = |path: &str| {
        Client::new(&server.url(path), signer())
            .unwrap()
            .timeout(Duration::from_secs(10))
    };
    let (secrets, registries) = (client("/woodpecker/secret"), client("/woodpecker/registry"));

    let mut answers = Vec::new();
    for from_fork in [false, true] {
        let request = pull_request(from_fork);
        let secret_names: Vec<String> = secrets
            .secrets(&request)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        let request = RegistryRequest::new(request.repo, request.pipeline);
        let addresses: Vec<String> = registries
            .registries(&request)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.address)
            .collect();
        answers.push((from_fork, secret_names, addresses));
    }
    let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        answers,
        [
            (
                false,
                strings(&["docker_password", "codecov_token"]),
                strings(&["index.docker.io", "ghcr.io"])
            ),
            (true, strings(&["codecov_token"]), strings(&["ghcr.io"])),
        ],
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn the_probe_audit_passes_for_each_extension() {
    let key = hex(&Signer::from_seed(&[7; 32]).public_key().to_bytes());
    let policy = support::workspace_root().join("tools/starter/starter.toml");
    let server = Server::start(
        WOODPECKER,
        &[
            ("EXTENSION_WOODPECKER_PUBLIC_KEY", key.as_str()),
            ("DRONE_CONFIG", policy.to_str().unwrap()),
        ],
    );
    for (kind, path) in [
        ("woodpecker-config", "/woodpecker/config"),
        ("woodpecker-secret", "/woodpecker/secret"),
        ("woodpecker-registry", "/woodpecker/registry"),
    ] {
        let run = audit(kind, &server.url(path)).await;
        assert!(run.status.success(), "{kind}: {run}");
        assert!(
            run.stdout.contains("all 11 forgeries were refused"),
            "{run}"
        );
    }
    // The sample is the starter policy's repository: the secret extension hands its secrets.
    let run = Probe::built()
        .run(&[
            "send",
            "woodpecker-secret",
            "--endpoint",
            &server.url("/woodpecker/secret"),
            "--woodpecker-key",
            SEED,
        ])
        .await;
    assert!(run.status.success(), "{run}");
    assert!(
        run.stdout.contains("Woodpecker's reading: 2 secret(s)"),
        "{run}"
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
        // The log goes through the bounded, non-blocking writer, which counts what it drops.
        "drone_extension_log_lines_dropped_total 0",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_keys_are_refused_at_start_and_health_and_readiness_answer() {
    for weak in [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    ] {
        let mut child = command(
            WOODPECKER,
            &[],
            &[("EXTENSION_WOODPECKER_PUBLIC_KEY", weak)],
        )
        .spawn()
        .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let Some((status, _)) = exit_within(&mut child, Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the Woodpecker extension started with the weak key {weak}");
        };
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        assert!(!status.success());
        assert!(text.contains("weak Ed25519 public key"), "{weak}: {text}");
    }

    let strong = "26b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb";
    let server = Server::start(WOODPECKER, &[("EXTENSION_WOODPECKER_PUBLIC_KEY", strong)]);
    assert_eq!(get(server.addr, "/healthz").await.0, StatusCode::OK);
    assert_eq!(
        get(server.addr, "/readyz").await,
        (StatusCode::OK, "ready".into())
    );
}
