//! `examples/vault.rs` as a child process against a real OpenBao: a runner's request (signed by
//! the crate's client and by the probe example) gets what drone-vault would answer for the same
//! Vault data, the probe's audit passes, and `/healthz` reports Vault's state.

#[path = "support/bao.rs"]
mod bao;
#[path = "support/process.rs"]
mod process;

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use bao::Bao;
use drone_extension::global_secrets::GlobalSecretsRequest;
use drone_extension::models::{Build, LegacyBuild, LegacyRepo, Repo};
use drone_extension::secret::SecretRequest;
use http::Method;
use process::{SECRET, Server, example, example_command};
use serde_json::json;

const PASSWORD: &str = "correct-horse-battery-staple";

/// The data of the README's example: `vault kv put secret/docker docker_password=… \
/// x-drone-repos='octocat/*' x-drone-events=push,tag`, and a token reading it.
async fn seeded() -> Option<(Bao, String)> {
    let bao = Bao::start().await?;
    bao.put_v2(
        "docker",
        json!({"docker_password": PASSWORD, "x-drone-repos": "octocat/*", "x-drone-events": "push,tag"}),
    )
    .await;
    bao.put_v2("drone/global", json!({"npm_token": "npm-1234"}))
        .await;
    bao.root(
        Method::PUT,
        "sys/policies/acl/drone",
        json!({"policy": "path \"secret/data/docker\" { capabilities = [\"read\"] }\npath \"secret/data/drone/*\" { capabilities = [\"read\"] }"}),
    )
    .await;
    let token = bao
        .root(
            Method::POST,
            "auth/token/create",
            json!({"policies": ["drone"], "ttl": "1h"}),
        )
        .await
        .body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Some((bao, token))
}

fn start(env: &[(&str, &str)]) -> Server {
    let mut command = example_command("vault", &[], env);
    for (key, _) in std::env::vars() {
        if key.starts_with("VAULT_") && !env.iter().any(|(k, _)| *k == key) {
            command.env_remove(key);
        }
    }
    Server::spawn("vault", command)
}

/// `GET path`: the status and the body.
fn get(server: &Server, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn probe(args: &[&str]) -> (bool, String) {
    let output = Command::new(example("probe"))
        .args(args)
        .args(["--secret", SECRET])
        .output()
        .expect("the probe runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn a_drop_in_for_drone_vault() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let server = start(&[
        ("DRONE_BIND", "127.0.0.1:0"),
        ("VAULT_ADDR", &bao.addr),
        ("VAULT_TOKEN", &token),
        ("DRONE_GLOBAL_SECRETS_PATHS", "secret/data/drone/global"),
    ]);

    // What drone-vault answers for this data and `get: {path: secret/data/docker, name:
    // docker_password}`: {"name":"docker_password","data":"…","pull":true,"fork":true}.
    let request = SecretRequest {
        path: "secret/data/docker".into(),
        name: "docker_password".into(),
        repo: Repo {
            slug: "octocat/hello-world".into(),
            ..Repo::default()
        },
        build: Build {
            event: "push".into(),
            target: "master".into(),
            ..Build::default()
        },
    };
    for path in ["/", "/secret"] {
        let secret = server
            .client(path)
            .find_secret(&request)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&secret).unwrap(),
            json!({"name": "docker_password", "data": PASSWORD, "pull": true, "fork": true}),
            "{path}"
        );
    }
    // The filters of the data: a pull request, another owner.
    let mut pr = request.clone();
    pr.build.event = "pull_request".into();
    assert_eq!(
        server.client("/secret").find_secret(&pr).await.unwrap(),
        None
    );
    let mut other = request.clone();
    other.repo.slug = "mallory/hello-world".into();
    assert_eq!(
        server.client("/secret").find_secret(&other).await.unwrap(),
        None
    );

    // The probe's sample request is that push: it gets the value, and the audit passes.
    let endpoint = server.url("/secret");
    let (ok, out) = probe(&["send", "secret", "--endpoint", &endpoint]);
    assert!(ok && out.contains(PASSWORD), "{out}");
    let (ok, out) = probe(&["audit", "secret", "--strict", "--endpoint", &endpoint]);
    assert!(ok && out.contains("passed:"), "{out}");

    // Drone 0.8's global secrets.
    let global = GlobalSecretsRequest {
        action: "created".into(),
        repo: LegacyRepo {
            full_name: "octocat/hello-world".into(),
            ..LegacyRepo::default()
        },
        build: LegacyBuild {
            event: "push".into(),
            ..LegacyBuild::default()
        },
    };
    let secrets = server
        .client("/global-secrets")
        .global_secrets(&global)
        .await
        .unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(
        (secrets[0].name.as_str(), secrets[0].value.as_str()),
        ("npm_token", "npm-1234")
    );

    // Health: Vault reachable, token valid; then Vault frozen: 503, and reads answer quickly.
    let (status, body) = get(&server, "/healthz");
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["reachable"], true, "{body}");
    assert_eq!(health["token"]["valid"], true, "{body}");
    assert!(!body.contains(&token), "the token never appears");

    // Metrics: the reads above, by outcome, and the answers by kind.
    let (status, text) = get(&server, "/metrics");
    assert_eq!(status, 200);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let value = |metric: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == metric)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    let reads = value(
        "drone_extension_vault_calls_total",
        &[("operation", "read"), ("outcome", "ok")],
    );
    // Two found, the pull request and the other owner (read, then filtered), the probe's send.
    assert!(reads >= 5.0, "{text}");
    let found = value(
        "drone_extension_requests_total",
        &[("kind", "secret"), ("decision", "found"), ("status", "200")],
    );
    assert!(found >= 3.0, "{text}");
    assert_eq!(
        value(
            "drone_extension_requests_total",
            &[("kind", "global-secrets"), ("status", "200")]
        ),
        1.0,
        "{text}"
    );
    assert!(!text.contains(&token) && !text.contains(PASSWORD));
    bao.freeze();
    let (status, body) = get(&server, "/healthz");
    assert_eq!(status, 503, "{body}");
    bao.thaw();
    assert!(!server.log().contains(&token), "the token is never logged");
    assert!(
        !server.log().contains(PASSWORD),
        "secret values are never logged"
    );
}

#[tokio::test]
async fn a_bad_approle_login_keeps_serving_and_reports_unhealthy() {
    let Some((bao, _)) = seeded().await else {
        return;
    };
    let (role_id, _) = bao.approle("1h", "2h").await;
    let mut server = start(&[
        ("VAULT_ADDR", &bao.addr),
        ("VAULT_AUTH_TYPE", "approle"),
        ("VAULT_APPROLE_ID", &role_id),
        ("VAULT_APPROLE_SECRET", "wrong-secret-id"),
    ]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = get(&server, "/healthz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"valid\":false"), "{body}");
    assert!(
        server.wait_exit(Duration::from_secs(2)).is_none(),
        "drone-vault would have exited"
    );
    assert!(!server.log().contains("wrong-secret-id"));
}
