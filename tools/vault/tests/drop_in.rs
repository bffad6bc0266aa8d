//! The drone-vault drop-in (`drone-extension-vault`) as a child process against a real OpenBao:
//! a runner's request (signed by the crate's client and by the probe) gets what drone-vault would answer for the same
//! Vault data, the probe's audit passes, nothing but KV secrets is ever served, `/healthz` is
//! liveness and `/readyz` readiness (a revoked token or a frozen Vault turns it `503`).

use std::time::{Duration, Instant};

use drone_extension::client::ClientError;
use drone_extension::global_secrets::GlobalSecretsRequest;
use drone_extension::models::{Build, LegacyBuild, LegacyRepo, Repo};
use drone_extension::secret::SecretRequest;
use http::Method;
use serde_json::json;
use support::bao::{Bao, NOT_SECRETS, request};
use support::process::{Probe, SECRET, Server, command};

const VAULT: &str = env!("CARGO_BIN_EXE_drone-extension-vault");

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
    let mut command = command(VAULT, &[], env);
    for (key, _) in std::env::vars() {
        if key.starts_with("VAULT_") && !env.iter().any(|(k, _)| *k == key) {
            command.env_remove(key);
        }
    }
    Server::spawn("drone-extension-vault", command)
}

/// `GET path`: the status and the body.
async fn get(server: &Server, path: &str) -> (u16, String) {
    let (status, body) = support::http::get(server.addr, path).await;
    (status.as_u16(), body)
}

/// Runs the probe with the shared secret: whether it passed, and what it printed.
async fn probe(args: &[&str]) -> (bool, String) {
    let mut args = args.to_vec();
    args.extend(["--secret", SECRET]);
    let run = Probe::built().run(&args).await;
    (
        run.status.success(),
        format!("{}{}", run.stdout, run.stderr),
    )
}

/// Polls `GET path` every 100 ms until it answers `status`, at most `bound`: how long it took.
async fn wait_status(server: &Server, path: &str, status: u16, bound: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (got, body) = get(server, path).await;
        if got == status {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < bound,
            "{path} still {got} {bound:?} later (waiting for {status}): {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    let (ok, out) = probe(&["send", "secret", "--endpoint", &endpoint]).await;
    assert!(ok && out.contains(PASSWORD), "{out}");
    let (ok, out) = probe(&["audit", "secret", "--strict", "--endpoint", &endpoint]).await;
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

    // Liveness and readiness: Vault reachable, token valid.
    let (status, body) = get(&server, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["ready"], true, "{body}");
    assert_eq!(ready["draining"], false, "{body}");
    assert_eq!(ready["vault"]["reachable"], true, "{body}");
    assert_eq!(ready["vault"]["token"]["valid"], true, "{body}");
    assert!(!body.contains(&token), "the token never appears");

    // Metrics: the reads above, by outcome, and the answers by kind.
    let (status, text) = get(&server, "/metrics").await;
    assert_eq!(status, 200);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    // The log goes through the bounded, non-blocking writer, which counts what it drops.
    assert!(
        text.contains("drone_extension_log_lines_dropped_total 0"),
        "the log's dropped lines in:\n{text}"
    );
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
    // Vault frozen: not ready once a background check times out (every 2 s, 5 s timeout), still
    // alive; ready again once it answers.
    bao.freeze();
    let took = wait_status(&server, "/readyz", 503, Duration::from_secs(60)).await;
    println!("/readyz 503 {took:?} after Vault froze (checks every 2 s, 5 s timeout)");
    let (status, body) = get(&server, "/healthz").await;
    assert_eq!(status, 200, "alive: {body}");
    bao.thaw();
    let took = wait_status(&server, "/readyz", 200, Duration::from_secs(60)).await;
    println!("/readyz 200 {took:?} after Vault resumed");
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
    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"valid\":false"), "{body}");
    let (status, body) = get(&server, "/healthz").await;
    assert_eq!(status, 200, "alive, not ready: {body}");
    assert!(
        server.wait_exit(Duration::from_secs(2)).is_none(),
        "drone-vault would have exited"
    );
    assert!(!server.log().contains("wrong-secret-id"));
}

#[tokio::test]
async fn the_token_cubbyhole_and_system_paths_are_never_served_and_readyz_follows_a_revocation() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    // The extension's cubbyhole holds a value (drone-vault would serve it).
    bao.fill_cubbyhole(&token).await;
    let server = start(&[
        ("DRONE_BIND", "127.0.0.1:0"),
        ("VAULT_ADDR", &bao.addr),
        ("VAULT_TOKEN", &token),
    ]);
    let push = request;
    // The KV secret is served, on both routes.
    for route in ["/", "/secret"] {
        let secret = server
            .client(route)
            .find_secret(&push("secret/data/docker", "docker_password"))
            .await
            .unwrap();
        assert_eq!(secret.map(|s| s.data).as_deref(), Some(PASSWORD), "{route}");
    }
    let start_attacks = Instant::now();
    for route in ["/", "/secret"] {
        for &(path, name) in NOT_SECRETS {
            let answer = tokio::time::timeout(
                Duration::from_secs(10),
                server.client(route).find_secret(&push(path, name)),
            )
            .await
            .expect("answered within 10 s")
            .unwrap();
            assert_eq!(answer, None, "{route} served {path} {name}");
        }
    }
    println!(
        "{} attacks refused in {:?}",
        NOT_SECRETS.len() * 2,
        start_attacks.elapsed()
    );
    // The probe's audit asks for the token and the cubbyhole too: refused, so it passes.
    let endpoint = server.url("/");
    let (ok, out) = probe(&["audit", "secret", "--endpoint", &endpoint]).await;
    assert!(ok && out.contains("passed:"), "{out}");
    assert!(out.contains("lookup-self"), "{out}");
    let log = server.log_with(&["secret path refused"]);
    assert!(!log.contains(&token), "the token is never logged");
    assert!(
        log.contains("secret path refused"),
        "refusals are logged: {log}"
    );

    // Readiness: revoke the token, no request sent: the background lookup-self (every 2 s)
    // turns /readyz to 503; /healthz stays 200 (alive).
    wait_status(&server, "/readyz", 200, Duration::from_secs(30)).await;
    bao.revoke(&token).await;
    let took = wait_status(&server, "/readyz", 503, Duration::from_secs(30)).await;
    println!("/readyz 503 {took:?} after the token was revoked (checks every 2 s)");
    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"valid\":false"), "{body}");
    let (status, _) = get(&server, "/healthz").await;
    assert_eq!(status, 200, "alive");
}

#[tokio::test]
async fn request_fields_are_logged_escaped() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    bao.put_v2("other/thing", json!({"value": "not for drone"}))
        .await;
    let server = start(&[
        ("DRONE_BIND", "127.0.0.1:0"),
        ("VAULT_ADDR", &bao.addr),
        ("VAULT_TOKEN", &token),
        ("DRONE_DEBUG", "true"),
    ]);
    let forged = "INFO forged line";
    let hostile = |path: String, repo: &str| SecretRequest {
        path,
        name: format!("docker_password\n{forged}"),
        repo: Repo {
            slug: repo.into(),
            ..Repo::default()
        },
        build: Build {
            event: format!("push\n{forged}"),
            target: format!("main\n{forged}\u{1b}[2J"),
            ..Build::default()
        },
    };
    for request in [
        // Refused before any read.
        hostile(format!("auth/token/lookup-self\n{forged}"), "octocat/x"),
        // Vault answers 403 (outside the token's policy): a warning with the path.
        hostile(
            format!("secret/data/other/thing\n{forged}\u{1b}[2J"),
            "octocat/x",
        ),
        // Not found: a debug line.
        hostile(format!("secret/data/missing\n{forged}"), "octocat/x"),
        // Found, then denied by the filters: an info line with the repository, event, target.
        SecretRequest {
            name: "docker_password".into(),
            ..hostile("secret/data/docker".into(), &format!("mallory/x\n{forged}"))
        },
    ] {
        assert_eq!(
            server
                .client("/secret")
                .find_secret(&request)
                .await
                .unwrap(),
            None
        );
    }
    let expected = [
        "lookup-self\\nINFO forged line",
        "other/thing\\nINFO forged line\\u{1b}[2J",
        "missing\\nINFO forged line",
        "mallory/x\\nINFO forged line",
    ];
    let log = server.log_with(&expected);
    assert!(
        !log.lines()
            .any(|l| l.contains(forged) && !l.contains("\\n")),
        "a line was forged: {log}"
    );
    assert!(!log.contains('\u{1b}'), "an escape reached the log: {log}");
    for logged in expected {
        assert!(log.contains(logged), "{logged}: {log}");
    }
}

#[tokio::test]
async fn non_string_filters_deny_and_a_kv_v1_data_object_keeps_its_filters() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    bao.put_v2(
        "drone/list",
        json!({"docker_password": PASSWORD, "x-drone-repos": ["octocat/*"]}),
    )
    .await;
    bao.put_v2(
        "drone/number",
        json!({"docker_password": PASSWORD, "X-Drone-Events": 123}),
    )
    .await;
    bao.mount_kv1().await;
    bao.root(
        Method::POST,
        "kv1/docker",
        json!({"docker_password": "spaceghost-only", "x-drone-repos": "spaceghost/*", "data": {"docker_password": "inner"}}),
    )
    .await;
    bao.root(
        Method::PUT,
        "sys/policies/acl/drone",
        json!({"policy": "path \"secret/data/*\" { capabilities = [\"read\"] }\npath \"kv1/*\" { capabilities = [\"read\"] }"}),
    )
    .await;
    let server = start(&[
        ("DRONE_BIND", "127.0.0.1:0"),
        ("VAULT_ADDR", &bao.addr),
        ("VAULT_TOKEN", &token),
    ]);
    let find = |path: &str, repo: &str| {
        let request = SecretRequest {
            path: path.into(),
            name: "docker_password".into(),
            repo: Repo {
                slug: repo.into(),
                ..Repo::default()
            },
            build: Build {
                event: "push".into(),
                target: "main".into(),
                ..Build::default()
            },
        };
        let client = server.client("/secret");
        async move {
            let answer = client.find_secret(&request).await.unwrap();
            answer.map(|s| s.data)
        }
    };
    // Without the filters, everyone would get these (drone-vault ignores non-strings).
    assert_eq!(find("secret/data/drone/list", "mallory/app").await, None);
    assert_eq!(find("secret/data/drone/list", "octocat/app").await, None);
    assert_eq!(find("secret/data/drone/number", "octocat/app").await, None);
    // KV v1: the secret's own `data` object is a value like any other, its filter holds.
    assert_eq!(find("kv1/docker", "octocat/app").await, None);
    assert_eq!(
        find("kv1/docker", "spaceghost/app").await.as_deref(),
        Some("spaceghost-only")
    );
    // The README's secret still works.
    assert_eq!(
        find("secret/data/docker", "octocat/app").await.as_deref(),
        Some(PASSWORD)
    );
}

/// Vault frozen: a runner's secret request is answered `500` (an error the runner reports), not
/// `204` ("no secret"), and `/metrics` counts it as `decision="error"`; a missing secret is still
/// `204` `decision="not-found"`, and global secrets fail the same way.
#[tokio::test]
async fn a_vault_outage_is_an_error_in_the_answer_and_the_metrics() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let server = start(&[
        ("DRONE_BIND", "127.0.0.1:0"),
        ("VAULT_ADDR", &bao.addr),
        ("VAULT_TOKEN", &token),
        ("VAULT_CLIENT_TIMEOUT", "1s"),
        ("DRONE_GLOBAL_SECRETS_PATHS", "secret/data/drone/global"),
    ]);
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
    let mut missing = request.clone();
    missing.path = "secret/data/drone/missing".into();
    assert_eq!(
        server
            .client("/secret")
            .find_secret(&missing)
            .await
            .unwrap(),
        None,
        "no such secret: 204"
    );
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

    bao.freeze();
    let answer = server.client("/secret").find_secret(&request).await;
    let Err(ClientError::Status { code, message }) = &answer else {
        panic!("Vault frozen: expected an error status, got {answer:?}");
    };
    assert_eq!(*code, 500, "{message}");
    assert!(
        !message.contains("Vault") && !message.contains(&bao.addr),
        "a generic body, the detail in the log: {message}"
    );
    let answer = server
        .client("/global-secrets")
        .global_secrets(&global)
        .await;
    assert!(
        matches!(answer, Err(ClientError::Status { code: 500, .. })),
        "{answer:?}"
    );
    bao.thaw();

    let (status, text) = get(&server, "/metrics").await;
    assert_eq!(status, 200);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let value = |labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == "drone_extension_requests_total")
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    let secret_errors = value(&[("kind", "secret"), ("decision", "error"), ("status", "500")]);
    assert_eq!(secret_errors, 1.0, "{text}");
    let global_errors = value(&[
        ("kind", "global-secrets"),
        ("decision", "error"),
        ("status", "500"),
    ]);
    assert_eq!(global_errors, 1.0, "{text}");
    let not_found = value(&[
        ("kind", "secret"),
        ("decision", "not-found"),
        ("status", "204"),
    ]);
    assert_eq!(not_found, 1.0, "{text}");
    let log = server.log_with(&["Vault read failed"]);
    assert!(log.contains("Vault read failed"), "{log}");
    assert!(!log.contains(&token), "the token is never logged");

    // Vault back: served again.
    let secret = server
        .client("/secret")
        .find_secret(&request)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secret.data, PASSWORD);
}
