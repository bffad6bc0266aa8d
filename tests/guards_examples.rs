//! Guards for the examples' policies, ahead of the refactor of issue 19: each test fails on one
//! defect a mutation check injected without any other test noticing.
//!
//! The built example runs as a child process on 127.0.0.1 (`tests/support/process.rs`), called
//! as Woodpecker calls it: signed by the crate's Woodpecker client.

#[path = "support/process.rs"]
mod process;

use std::time::Duration;

use drone_extension::woodpecker::{Client, RegistryRequest, SecretRequest, Signer};
use process::Server;

fn signer() -> Signer {
    Signer::from_seed(&[11; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A secret (and registry) request for a pull request of `octocat/hello-world`.
fn pull_request(from_fork: bool) -> SecretRequest {
    let mut request = SecretRequest::default();
    request.repo.full_name = "octocat/hello-world".into();
    request.pipeline.event = "pull_request".into();
    request.pipeline.from_fork = from_fork;
    request
}

/// Guards against: `examples/woodpecker.rs` ignoring the pipeline's `from_fork` (its rules' fork
/// setting). A pull request from a fork gets only the secrets and registries whose rule says
/// `pull_request = true`; one from the repository itself gets every rule for the event.
#[tokio::test]
async fn the_woodpecker_example_gives_forks_only_what_their_rules_allow() {
    let key = hex(&signer().public_key().to_bytes());
    let server = Server::start(
        "woodpecker",
        &[
            ("WOODPECKER_PUBLIC_KEY", key.as_str()),
            (
                "DRONE_CONFIG",
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/starter-forks.toml"
                ),
            ),
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
