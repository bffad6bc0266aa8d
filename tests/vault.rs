//! The `vault` module against a real OpenBao dev server (see `support/bao.rs`): logins, renewal,
//! re-login, KV v1/v2, drone-vault's mapping and filters, outages and refusals.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use drone_extension::global_secrets::{GlobalSecretsProvider, GlobalSecretsRequest};
use drone_extension::metrics::Metrics;
use drone_extension::models::{LegacyBuild, LegacyRepo};
use drone_extension::secret::{SecretFinder, SecretRequest};
use drone_extension::vault::{
    AuthMethod, KvMount, KvVersion, Refusal, Renewal, Vault, VaultClient, VaultError,
    VaultSecretFinder, VaultSecretProvider,
};
use http::Method;
use serde_json::{Value, json};
use support::bao::{Bao, NOT_SECRETS, request};
use support::bounds;

const PASSWORD: &str = "correct-horse-battery-staple";

fn client(bao: &Bao, timeout: Duration) -> VaultClient {
    VaultClient::builder(&bao.addr)
        .timeout(timeout)
        .build()
        .unwrap()
}

fn vault(bao: &Bao, method: AuthMethod) -> Vault {
    Vault::new(
        client(bao, Duration::from_secs(3)),
        method,
        Renewal::default(),
    )
}

async fn find(finder: &VaultSecretFinder, request: SecretRequest) -> Option<String> {
    finder.find(request).await.unwrap().map(|s| {
        assert!(s.pull && s.fork, "drone-vault's flags");
        s.data
    })
}

/// An AppRole login (role `drone`, `token_ttl`, `token_max_ttl`) and its first token.
async fn approle(bao: &Bao, token_ttl: &str, token_max_ttl: &str) -> (Vault, Arc<str>) {
    let (role_id, secret_id) = bao.approle(token_ttl, token_max_ttl).await;
    let method = AuthMethod::AppRole {
        role_id,
        secret_id,
        mount: "approle".into(),
    };
    let vault = vault(bao, method);
    let first = vault
        .auth()
        .wait_token(Duration::from_secs(5))
        .await
        .expect("logged in");
    (vault, first)
}

/// The finder's answer for `docker_password`'s `password` key at `secret/data/drone/docker`.
async fn docker(finder: &VaultSecretFinder) -> Option<String> {
    find(finder, request("secret/data/drone/docker", "password")).await
}

/// Seeds the data of drone-vault's README (KV v2 and KV v1) and a token with the policy.
async fn seeded() -> Option<(Bao, String)> {
    let bao = Bao::start().await?;
    bao.put_v2(
        "drone/docker",
        json!({"username": "octocat", "password": PASSWORD, "port": 5432, "value": "default"}),
    )
    .await;
    bao.mount_kv1().await;
    bao.root(Method::POST, "kv1/drone/docker", json!({"password": "pw1"}))
        .await;
    bao.put_v2("drone/old", json!({"value": "v1"})).await;
    bao.root(Method::DELETE, "secret/data/drone/old", Value::Null)
        .await;
    let token = bao.token("1h").await;
    Some((bao, token))
}

#[tokio::test]
async fn token_login_reads_kv_v1_and_v2_as_drone_vault_does() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let vault = vault(&bao, AuthMethod::Token(token));
    let finder = VaultSecretFinder::new(vault.clone());
    let found = |path: &str, name: &str| find(&finder, request(path, name));
    assert_eq!(
        found("secret/data/drone/docker", "password")
            .await
            .as_deref(),
        Some(PASSWORD)
    );
    assert_eq!(
        found("kv1/drone/docker", "password").await.as_deref(),
        Some("pw1")
    );
    // An empty name reads the key `value`.
    assert_eq!(
        found("secret/data/drone/docker", "").await.as_deref(),
        Some("default")
    );
    // Go's path cleaning: slashes collapse.
    assert_eq!(
        found("/secret//data/drone/docker/", "username")
            .await
            .as_deref(),
        Some("octocat")
    );
    // Missing key, non-string value, case-sensitive key.
    assert_eq!(found("secret/data/drone/docker", "token").await, None);
    assert_eq!(found("secret/data/drone/docker", "port").await, None);
    assert_eq!(found("secret/data/drone/docker", "Password").await, None);
    // Missing path, KV v2 path without `data/`, soft-deleted version.
    assert_eq!(found("secret/data/drone/missing", "password").await, None);
    assert!(matches!(
        vault.read("secret/data/drone/missing").await,
        Ok(None)
    ));
    assert_eq!(found("secret/drone/docker", "password").await, None);
    assert!(matches!(vault.read("secret/data/drone/old").await, Ok(Some(d)) if d.is_empty()));
    // `..` is refused rather than resolved.
    assert!(matches!(
        vault.read("secret/data/drone/../drone/docker").await,
        Err(VaultError::InvalidPath)
    ));
    // A missing mount: Vault names none (even to the root token), nothing is read.
    let root = Vault::new(
        client(&bao, Duration::from_secs(3)),
        AuthMethod::Token("root".into()),
        Renewal::default(),
    );
    let missing = root.read("nomount/drone/docker").await;
    assert!(
        matches!(missing, Err(VaultError::NotASecret(Refusal::NoMount))),
        "{missing:?}"
    );
    let health = vault.health().await;
    assert!(health.is_healthy(), "{health:?}");
    assert!(
        health.token.ttl_seconds.is_some_and(|t| t > 3000),
        "{health:?}"
    );
}

#[tokio::test]
async fn a_403_is_no_secret_and_keeps_the_token() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    bao.put_v2("other/thing", json!({"value": "x"})).await;
    let vault = vault(&bao, AuthMethod::Token(token.clone()));
    let finder = VaultSecretFinder::new(vault.clone());
    assert_eq!(
        find(&finder, request("secret/data/other/thing", "value")).await,
        None
    );
    assert!(matches!(
        vault.read("secret/data/other/thing").await,
        Err(VaultError::PermissionDenied)
    ));
    // The token was checked (lookup-self) and is still the valid one.
    assert_eq!(vault.auth().token().as_deref(), Some(token.as_str()));
    assert!(vault.health().await.token.valid);
    // A bogus token: 403 on every read, reported unhealthy.
    let bogus = self::vault(&bao, AuthMethod::Token("s.bogus".into()));
    let read = bogus.read("secret/data/drone/docker").await;
    assert!(
        matches!(read, Err(VaultError::NotAuthenticated)),
        "a refused token is a token failure, not a refused path: {read:?}"
    );
    // …answered as an error, where the valid token's 403 above was "no secret".
    let answer = VaultSecretFinder::new(bogus.clone())
        .find(request("secret/data/drone/docker", "password"))
        .await;
    assert!(answer.is_err(), "{answer:?}");
    let health = bogus.health().await;
    assert!(health.reachable && !health.token.valid, "{health:?}");
}

#[tokio::test]
async fn each_filter_allows_and_refuses() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    bao.put_v2(
        "drone/filtered",
        json!({
            "password": PASSWORD,
            "x-drone-repos": "octocat/*,spaceghost/*",
            "X-Drone-Events": "push,tag",
            "x-drone-branches": "main,release/*",
        }),
    )
    .await;
    bao.put_v2(
        "drone/forks-ok",
        json!({"password": PASSWORD, "X-Drone-Disallow-Forks": "false"}),
    )
    .await;
    bao.put_v2(
        "drone/no-forks",
        json!({"password": PASSWORD, "x-drone-disallow-forks": "true"}),
    )
    .await;
    let vault = vault(&bao, AuthMethod::Token(token));
    let finder = VaultSecretFinder::new(vault.clone());
    let path = "secret/data/drone/filtered";
    assert_eq!(
        find(&finder, request(path, "password")).await.as_deref(),
        Some(PASSWORD)
    );

    let mut other_repo = request(path, "password");
    other_repo.repo.slug = "mallory/app".into();
    assert_eq!(find(&finder, other_repo).await, None);
    let mut subgroup = request(path, "password");
    subgroup.repo.slug = "octocat/sub/app".into();
    assert_eq!(
        find(&finder, subgroup).await,
        None,
        "`*` does not cross `/`"
    );
    let mut tag = request(path, "password");
    tag.build.event = "tag".into();
    assert_eq!(find(&finder, tag).await.as_deref(), Some(PASSWORD));
    let mut pr = request(path, "password");
    pr.build.event = "pull_request".into();
    assert_eq!(find(&finder, pr).await, None);
    let mut release = request(path, "password");
    release.build.target = "Release/1.0".into();
    assert_eq!(
        find(&finder, release).await.as_deref(),
        Some(PASSWORD),
        "case-insensitive"
    );
    let mut feature = request(path, "password");
    feature.build.target = "feature/x".into();
    assert_eq!(find(&finder, feature).await, None);

    // A pull request from a fork.
    let fork = |path: &str| {
        let mut r = request(path, "password");
        r.build.event = "pull_request".into();
        r.build.source_repo = "mallory/hello-world".into();
        r
    };
    assert_eq!(
        find(&finder, fork("secret/data/drone/no-forks")).await,
        None
    );
    assert_eq!(
        find(&finder, fork("secret/data/drone/docker"))
            .await
            .as_deref(),
        Some(PASSWORD),
        "forks allowed by default"
    );
    let strict = VaultSecretFinder::new(vault).disallow_forks(true);
    assert_eq!(find(&strict, fork("secret/data/drone/docker")).await, None);
    assert_eq!(
        find(&strict, fork("secret/data/drone/forks-ok"))
            .await
            .as_deref(),
        Some(PASSWORD),
        "the secret's own key wins"
    );
    // The same repository's own pull request is no fork.
    let mut own = fork("secret/data/drone/no-forks");
    own.build.source_repo = "octocat/hello-world".into();
    assert_eq!(find(&strict, own).await.as_deref(), Some(PASSWORD));
}

#[tokio::test]
async fn approle_token_with_a_5s_ttl_is_renewed_across_15s() {
    let Some((bao, _)) = seeded().await else {
        return;
    };
    let (vault, first) = approle(&bao, "5s", "1h").await;
    let finder = VaultSecretFinder::new(vault.clone());
    let start = Instant::now();
    let mut reads = 0;
    while start.elapsed() < Duration::from_secs(15) {
        assert_eq!(
            docker(&finder).await.as_deref(),
            Some(PASSWORD),
            "after {:?}",
            start.elapsed()
        );
        reads += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("{reads} reads over 15 s with a 5 s token");
    // Renewed, not replaced: the same token is still alive three TTLs later.
    assert_eq!(vault.auth().token(), Some(first));
    let status = vault.health().await.token;
    assert!(
        status.valid && status.ttl_seconds.is_some_and(|t| t <= 5),
        "{status:?}"
    );
}

#[tokio::test]
async fn approle_logs_in_again_after_the_token_is_revoked() {
    let Some((bao, _)) = seeded().await else {
        return;
    };
    let (vault, first) = approle(&bao, "1h", "2h").await;
    let finder = VaultSecretFinder::new(vault.clone());
    bao.revoke(&first).await;
    // The read is refused, the token found dead, a new login made, the read retried.
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));
    let second = vault.auth().token().unwrap();
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_failed_login_is_retried_and_reported_never_fatal() {
    let Some((bao, _)) = seeded().await else {
        return;
    };
    let (role_id, _) = bao.approle("1h", "2h").await;
    let vault = vault(
        &bao,
        AuthMethod::AppRole {
            role_id,
            secret_id: "wrong".into(),
            mount: "approle".into(),
        },
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let health = vault.health().await;
    assert!(health.reachable && !health.token.valid, "{health:?}");
    assert!(health.token.last_error.is_some_and(|e| e.contains("login")));
    assert!(
        !format!("{vault:?}").contains("wrong"),
        "Debug redacts the secret id"
    );
    // Reads do not wait behind the broken login.
    assert!(matches!(
        vault.read("secret/data/drone/docker").await,
        Err(VaultError::NotAuthenticated)
    ));
    // No valid token is a backend failure, answered as an error, not "no secret".
    let finder = VaultSecretFinder::new(vault);
    let answer = finder
        .find(request("secret/data/drone/docker", "password"))
        .await;
    assert!(
        answer
            .as_ref()
            .is_err_and(|e| e.to_string().contains("not logged in")),
        "{answer:?}"
    );
}

/// A TokenReview API stub: approves every token, as the service account its claims name.
async fn token_review_stub() -> String {
    async fn review(Json(body): Json<Value>) -> (http::StatusCode, Json<Value>) {
        let jwt = body["spec"]["token"].as_str().unwrap_or_default();
        let claims: Value = jwt
            .split('.')
            .nth(1)
            .and_then(|p| B64URL.decode(p).ok())
            .and_then(|p| serde_json::from_slice(&p).ok())
            .unwrap_or_default();
        let k8s = &claims["kubernetes.io"];
        let (ns, sa) = (
            k8s["namespace"].as_str().unwrap_or(""),
            k8s["serviceaccount"]["name"].as_str().unwrap_or(""),
        );
        let answer = json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "status": {
                "authenticated": true,
                "user": {
                    "username": format!("system:serviceaccount:{ns}:{sa}"),
                    "uid": k8s["serviceaccount"]["uid"],
                    "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}")],
                },
                "audiences": body["spec"]["audiences"],
            }
        });
        (http::StatusCode::CREATED, Json(answer))
    }
    let app =
        axum::Router::new().route("/apis/authentication.k8s.io/v1/tokenreviews", post(review));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A service-account JWT (the stub does not check signatures, nor does OpenBao without keys).
fn service_account_jwt() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = B64URL.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = json!({
        "iss": "kubernetes/serviceaccount",
        "sub": "system:serviceaccount:drone:drone-vault",
        "aud": ["vault"],
        "iat": now,
        "exp": now + 3600,
        "kubernetes.io": {"namespace": "drone", "serviceaccount": {"name": "drone-vault", "uid": "0c1f2a3b-0000-4000-8000-000000000001"}},
    });
    let claims = B64URL.encode(claims.to_string());
    format!(
        "{header}.{claims}.{}",
        B64URL.encode(b"not-a-real-signature")
    )
}

#[tokio::test]
async fn kubernetes_login_with_a_service_account_token() {
    let Some((bao, _)) = seeded().await else {
        return;
    };
    let stub = token_review_stub().await;
    let ca = rcgen::generate_simple_self_signed(vec!["fake-k8s-ca".into()]).unwrap();
    let der = base64::engine::general_purpose::STANDARD.encode(ca.cert.der());
    let lines: Vec<&str> = der
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let ca_pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    bao.root(
        Method::POST,
        "sys/auth/kubernetes",
        json!({"type": "kubernetes"}),
    )
    .await;
    bao.root(
        Method::POST,
        "auth/kubernetes/config",
        json!({"kubernetes_host": stub, "kubernetes_ca_cert": ca_pem, "disable_local_ca_jwt": true}),
    )
    .await;
    bao.root(
        Method::POST,
        "auth/kubernetes/role/drone",
        json!({"bound_service_account_names": "drone-vault", "bound_service_account_namespaces": "drone", "token_policies": "drone-ext", "token_ttl": "1h"}),
    )
    .await;
    let dir = std::env::temp_dir().join(format!("vault-k8s-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jwt_path: PathBuf = dir.join("token");
    std::fs::write(&jwt_path, format!("{}\n", service_account_jwt())).unwrap();
    let vault = vault(
        &bao,
        AuthMethod::Kubernetes {
            role: "drone".into(),
            jwt_path,
            mount: "kubernetes".into(),
        },
    );
    let finder = VaultSecretFinder::new(vault.clone());
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));
    let status = vault.health().await.token;
    assert!(status.valid && status.method == "kubernetes", "{status:?}");
    // The wrong role: the login fails, is reported, and nothing is served.
    let wrong = self::vault(
        &bao,
        AuthMethod::Kubernetes {
            role: "nobody".into(),
            jwt_path: dir.join("token"),
            mount: "kubernetes".into(),
        },
    );
    let answer = VaultSecretFinder::new(wrong.clone())
        .find(request("secret/data/drone/docker", "password"))
        .await;
    assert!(answer.is_err(), "a failed login is an error: {answer:?}");
    assert!(!wrong.health().await.token.valid);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn vault_stopped_mid_run_answers_within_the_timeout_and_recovers() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let timeout = Duration::from_secs(1);
    let vault = Vault::new(
        client(&bao, timeout),
        AuthMethod::Token(token),
        Renewal::default(),
    );
    let finder = VaultSecretFinder::new(vault.clone());
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));

    bao.freeze();
    let start = Instant::now();
    let answer = finder
        .find(request("secret/data/drone/docker", "password"))
        .await;
    let took = start.elapsed();
    assert!(
        answer
            .as_ref()
            .is_err_and(|e| e.to_string().contains("timeout")),
        "an outage is an error, not \"no secret\": {answer:?}"
    );
    println!("answered {took:?} after Vault stopped (timeout {timeout:?})");
    bounds::assert_not_before("the answer after Vault stopped", took, timeout);
    bounds::assert_ends_within("the answer after Vault stopped", took, timeout);
    assert!(matches!(
        vault.read("secret/data/drone/docker").await,
        Err(VaultError::Timeout)
    ));
    let health = vault.health().await;
    assert!(!health.reachable && !health.is_healthy(), "{health:?}");

    bao.thaw();
    // Recovers: a resumed server can take longer than the 1 s timeout to answer its first
    // requests on a busy machine, so a timeout meanwhile is retried (30 s is a hang bound).
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        match finder
            .find(request("secret/data/drone/docker", "password"))
            .await
        {
            Err(e) if e.to_string().contains("timeout") && Instant::now() < deadline => {}
            answer => break answer,
        }
    };
    assert_eq!(answer.unwrap().map(|s| s.data).as_deref(), Some(PASSWORD));
    assert!(vault.health().await.is_healthy());
}

#[tokio::test]
async fn the_cache_serves_a_burst_from_one_read() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let vault = vault(&bao, AuthMethod::Token(token)).with_cache(Duration::from_secs(60), 16);
    let finder = VaultSecretFinder::new(vault);
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));
    // Vault frozen: the cached answer is still served, at once.
    bao.freeze();
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));
    bao.thaw();
}

#[tokio::test]
async fn global_secrets_for_drone_0_8() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    bao.put_v2(
        "drone/global",
        json!({"docker_password": PASSWORD, "npm_token": "npm", "X-Drone-Events": "push,tag", "x-drone-images": "plugins/*", "x-drone-repos": "octocat/*"}),
    )
    .await;
    let vault = vault(&bao, AuthMethod::Token(token));
    let provider = VaultSecretProvider::new(
        vault,
        ["secret/data/drone/global", "secret/data/drone/missing"],
    );
    let request = |repo: &str| GlobalSecretsRequest {
        action: "created".into(),
        repo: LegacyRepo {
            full_name: repo.into(),
            ..LegacyRepo::default()
        },
        build: LegacyBuild {
            event: "push".into(),
            branch: "main".into(),
            ..LegacyBuild::default()
        },
    };
    let secrets = provider
        .secrets(request("octocat/hello-world"))
        .await
        .unwrap();
    let names: Vec<_> = secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["docker_password", "npm_token"]);
    assert_eq!(secrets[0].value, PASSWORD);
    assert_eq!(secrets[0].event, ["push", "tag"]);
    assert_eq!(secrets[0].image, ["plugins/*"]);
    assert!(
        provider
            .secrets(request("mallory/app"))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A path not served is skipped; Vault down fails the whole answer (an error, never a partial or
/// empty list that would pass for "no global secrets").
#[tokio::test]
async fn global_secrets_skip_refused_paths_and_fail_when_vault_is_down() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    bao.put_v2("drone/global", json!({"npm_token": "npm"}))
        .await;
    let vault = Vault::new(
        client(&bao, Duration::from_secs(1)),
        AuthMethod::Token(token),
        Renewal::default(),
    );
    let provider = VaultSecretProvider::new(
        vault,
        [
            "sys/health",
            "secret/data/drone/global",
            "auth/token/lookup-self",
        ],
    );
    let request = GlobalSecretsRequest {
        action: "created".into(),
        repo: LegacyRepo {
            full_name: "octocat/hello-world".into(),
            ..LegacyRepo::default()
        },
        build: LegacyBuild {
            event: "push".into(),
            branch: "main".into(),
            ..LegacyBuild::default()
        },
    };
    let secrets = provider.secrets(request.clone()).await.unwrap();
    let names: Vec<_> = secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["npm_token"], "the refused paths are skipped");
    bao.freeze();
    let answer = provider.secrets(request.clone()).await;
    assert!(
        answer
            .as_ref()
            .is_err_and(|e| e.to_string().contains("timeout")),
        "{answer:?}"
    );
    bao.thaw();
    assert_eq!(provider.secrets(request).await.unwrap().len(), 1);
}

#[tokio::test]
async fn https_with_a_private_ca_and_a_server_name() {
    let Some(bao) = Bao::start_tls().await else {
        return;
    };
    bao.put_v2("drone/docker", json!({"password": PASSWORD}))
        .await;
    let ca = bao.ca_pem.clone().unwrap();
    let read = |builder: drone_extension::vault::VaultClientBuilder| async move {
        let vault = Vault::new(
            builder.build().unwrap(),
            AuthMethod::Token("root".into()),
            Renewal::default(),
        );
        vault.read("secret/data/drone/docker").await
    };
    let builder = || VaultClient::builder(&bao.addr).timeout(Duration::from_secs(3));
    // The private CA trusted: the secret is read.
    let data = read(builder().ca_certificate_pem(ca.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(data.get("password"), Some(PASSWORD));
    // Not trusted: a TLS error, no read.
    assert!(matches!(read(builder()).await, Err(VaultError::Tls { .. })));
    // The certificate is verified for the server name given (it names `localhost`, not
    // `vault.example.com`), whatever the address's host.
    let data = read(
        builder()
            .ca_certificate_pem(ca.clone())
            .server_name("localhost"),
    )
    .await;
    assert!(matches!(data, Ok(Some(_))), "{data:?}");
    let wrong = read(
        builder()
            .ca_certificate_pem(ca)
            .server_name("vault.example.com"),
    )
    .await;
    assert!(matches!(wrong, Err(VaultError::Tls { .. })), "{wrong:?}");
}

#[tokio::test]
async fn a_namespace_is_sent_with_every_call() {
    let Some(bao) = Bao::start().await else {
        return;
    };
    bao.root(Method::POST, "sys/namespaces/team", json!({}))
        .await;
    let team = VaultClient::builder(&bao.addr)
        .namespace("team")
        .build()
        .unwrap();
    let root_in_team = |method, path: &'static str, body: Value| {
        let team = team.clone();
        async move {
            let response = team
                .call(method, path, Some("root"), Some(&body))
                .await
                .unwrap();
            assert!(response.status.is_success(), "{path}: {}", response.body);
        }
    };
    root_in_team(
        Method::POST,
        "sys/mounts/secret",
        json!({"type": "kv", "options": {"version": "2"}}),
    )
    .await;
    root_in_team(
        Method::POST,
        "secret/data/drone/docker",
        json!({"data": {"password": "in-team"}}),
    )
    .await;
    let in_team = Vault::new(
        team.clone(),
        AuthMethod::Token("root".into()),
        Renewal::default(),
    );
    let data = in_team
        .read("secret/data/drone/docker")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(data.get("password"), Some("in-team"));
    // Without the namespace the same path is the root namespace's: nothing there.
    let root = Vault::new(
        client(&bao, Duration::from_secs(3)),
        AuthMethod::Token("root".into()),
        Renewal::default(),
    );
    assert!(matches!(
        root.read("secret/data/drone/docker").await,
        Ok(None)
    ));
}

/// The number of Vault calls `metrics` counted for `operation` (all: `""`).
fn calls(metrics: &Metrics, operation: &str) -> f64 {
    let label = match operation {
        "" => String::new(),
        operation => format!("operation=\"{operation}\""),
    };
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("drone_extension_vault_calls_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Every attack of [`NOT_SECRETS`] against `token` (whose cubbyhole holds a value): nothing
/// served, each refused before any read: a reserved path (`auth/`, `sys/`, …, or with `..`)
/// without any call to Vault, the others after the mount lookup only (a `403` to it has the
/// token checked with lookup-self), never with a `read`.
async fn attack(bao: &Bao, token: &str) {
    bao.fill_cubbyhole(token).await;
    // The data is there, and today's generic read would serve it.
    let direct = bao
        .client
        .call(Method::GET, "auth/token/lookup-self", Some(token), None)
        .await
        .unwrap();
    assert_eq!(direct.body["data"]["id"], token);
    let metrics = Metrics::new();
    let client = VaultClient::builder(&bao.addr)
        .timeout(Duration::from_secs(3))
        .metrics(&metrics)
        .build()
        .unwrap();
    // No background checks: every `lookup` counted would come from a read.
    let renewal = Renewal {
        check: None,
        ..Renewal::default()
    };
    let vault = Vault::new(client, AuthMethod::Token(token.into()), renewal);
    let finder = VaultSecretFinder::new(vault.clone());
    // A real secret first: the token works, the mount of `secret/` is learned.
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));
    let start = Instant::now();
    for &(path, name) in NOT_SECRETS {
        let (all, reads) = (calls(&metrics, ""), calls(&metrics, "read"));
        for attempt in [request(path, name), {
            // A fork's pull request, as an attacker would send it.
            let mut r = request(path, name);
            r.build.event = "pull_request".into();
            r.build.source_repo = "mallory/hello-world".into();
            r
        }] {
            let answer = tokio::time::timeout(Duration::from_secs(10), finder.find(attempt))
                .await
                .expect("answered within 10 s")
                .unwrap();
            assert_eq!(answer, None, "{path} {name} was served");
        }
        let read = vault.read(path).await;
        assert!(
            matches!(
                read,
                Err(VaultError::NotASecret(_) | VaultError::InvalidPath)
            ),
            "{path}: {read:?}"
        );
        assert_eq!(calls(&metrics, "read"), reads, "{path} was read");
        let first = path
            .split('/')
            .find(|s| !s.is_empty() && *s != ".")
            .unwrap();
        if ["auth", "sys", "identity", "cubbyhole"].contains(&first.to_lowercase().as_str())
            || path.contains("..")
        {
            assert_eq!(calls(&metrics, ""), all, "{path} reached Vault");
        }
    }
    println!(
        "{} paths refused in {:?}",
        NOT_SECRETS.len() * 3,
        start.elapsed()
    );
    // The token still serves secrets.
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));
}

#[tokio::test]
async fn the_token_cubbyhole_and_system_paths_are_never_served() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    bao.root(
        Method::POST,
        "sys/mounts/transit",
        json!({"type": "transit"}),
    )
    .await;
    bao.root(Method::POST, "transit/keys/drone", json!({}))
        .await;
    // The extension's token (the policy plus Vault's default policy: lookup-self, cubbyhole),
    // then the root token, which Vault would let read everything.
    attack(&bao, &token).await;
    attack(&bao, "root").await;
}

#[tokio::test]
async fn list_and_number_filters_deny_an_empty_string_does_not_filter() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let cases = [
        (
            "list",
            json!({"password": PASSWORD, "x-drone-repos": ["octocat/*"]}),
        ),
        (
            "number",
            json!({"password": PASSWORD, "X-Drone-Events": 123}),
        ),
        (
            "object",
            json!({"password": PASSWORD, "x-drone-branches": {"main": true}}),
        ),
        (
            "bool",
            json!({"password": PASSWORD, "x-drone-disallow-forks": false}),
        ),
        ("null", json!({"password": PASSWORD, "X-DRONE-REPOS": null})),
    ];
    for (name, data) in &cases {
        bao.put_v2(&format!("drone/{name}"), data.clone()).await;
    }
    bao.put_v2(
        "drone/empty",
        json!({"password": PASSWORD, "x-drone-repos": "", "port": 5432}),
    )
    .await;
    bao.root(
        Method::POST,
        "kv1/drone/list",
        json!({"password": "pw1", "x-drone-repos": ["octocat/*"]}),
    )
    .await;
    let finder = VaultSecretFinder::new(vault(&bao, AuthMethod::Token(token)));
    for (name, data) in &cases {
        let path = format!("secret/data/drone/{name}");
        assert_eq!(
            find(&finder, request(&path, "password")).await,
            None,
            "{data}: served although a filter is not a string"
        );
    }
    assert_eq!(
        find(&finder, request("kv1/drone/list", "password")).await,
        None
    );
    assert_eq!(
        find(&finder, request("secret/data/drone/empty", "password"))
            .await
            .as_deref(),
        Some(PASSWORD),
        "an empty filter is no filter, as in drone-vault"
    );
}

#[tokio::test]
async fn a_kv_v1_secret_with_a_data_object_keeps_its_filters() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    // KV v1 at `kv1/`: the secret's own member `data` is an object; its filters are top-level.
    bao.root(
        Method::POST,
        "kv1/drone/nested",
        json!({
            "password": "spaceghost-only",
            "x-drone-repos": "spaceghost/*",
            "data": {"password": "inner", "value": "inner"},
        }),
    )
    .await;
    // KV v2 holding a user key `data` (an object): ignored, the other values served.
    bao.put_v2(
        "drone/nested",
        json!({"password": PASSWORD, "data": {"password": "inner"}}),
    )
    .await;
    let vault = vault(&bao, AuthMethod::Token(token));
    let finder = VaultSecretFinder::new(vault.clone());
    assert_eq!(
        find(&finder, request("kv1/drone/nested", "password")).await,
        None,
        "octocat is not spaceghost"
    );
    assert_eq!(find(&finder, request("kv1/drone/nested", "")).await, None);
    let mut spaceghost = request("kv1/drone/nested", "password");
    spaceghost.repo.slug = "spaceghost/app".into();
    assert_eq!(
        find(&finder, spaceghost).await.as_deref(),
        Some("spaceghost-only")
    );
    let data = vault.read("kv1/drone/nested").await.unwrap().unwrap();
    assert!(data.policy().repos.is_some(), "{data:?}");
    assert_eq!(
        find(&finder, request("secret/data/drone/nested", "password"))
            .await
            .as_deref(),
        Some(PASSWORD)
    );
}

#[tokio::test]
async fn a_least_privilege_token_reads_its_secrets() {
    let Some((bao, _)) = seeded().await else {
        return;
    };
    bao.root(
        Method::PUT,
        "sys/policies/acl/least",
        json!({"policy": "path \"secret/data/drone/docker\" { capabilities = [\"read\"] }\npath \"sys/internal/ui/mounts/*\" { capabilities = [\"read\"] }"}),
    )
    .await;
    bao.root(
        Method::PUT,
        "sys/policies/acl/kv-only",
        json!({"policy": "path \"secret/data/drone/docker\" { capabilities = [\"read\"] }"}),
    )
    .await;
    let create = |policies: Value, no_default: bool| {
        let bao = &bao;
        async move {
            bao.root(
                Method::POST,
                "auth/token/create",
                json!({"policies": policies, "no_default_policy": no_default, "ttl": "1h"}),
            )
            .await
            .body["auth"]["client_token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // The KV path and the mount lookup, with Vault's default policy (lookup-self, for the
    // token checks): served, and ready.
    let least = vault(
        &bao,
        AuthMethod::Token(create(json!(["least"]), false).await),
    );
    let finder = VaultSecretFinder::new(least.clone());
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));
    assert!(least.readiness().ready, "{:?}", least.readiness());
    assert_eq!(
        find(&finder, request("secret/data/drone/filtered", "password")).await,
        None
    );
    // Only the KV path, not even the default policy: OpenBao still names the mount of a path
    // the token may read, so the secret is served (the token checks fail: not ready).
    let bare = vault(
        &bao,
        AuthMethod::Token(create(json!(["kv-only"]), true).await),
    );
    let finder = VaultSecretFinder::new(bare.clone());
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));
    assert!(!bare.readiness().ready, "lookup-self is refused");
}

#[tokio::test]
async fn an_allow_list_of_kv_mounts_reads_nothing_else() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let listed = vault(&bao, AuthMethod::Token(token.clone()))
        .with_kv_mounts(KvMount::parse_list("secret=2").unwrap());
    let finder = VaultSecretFinder::new(listed.clone());
    assert_eq!(docker(&finder).await.as_deref(), Some(PASSWORD));
    let kv1 = listed.read("kv1/drone/docker").await;
    assert!(
        matches!(kv1, Err(VaultError::NotASecret(Refusal::NotAllowed))),
        "{kv1:?}"
    );
    for &(path, _) in NOT_SECRETS {
        assert!(listed.read(path).await.is_err(), "{path}");
    }
    // The version is the list's: `kv1/` declared KV v1 reads its map as is.
    let both = vault(&bao, AuthMethod::Token(token)).with_kv_mounts([
        KvMount::new("secret", KvVersion::V2).unwrap(),
        KvMount::new("/kv1/", KvVersion::V1).unwrap(),
    ]);
    let data = both.read("kv1/drone/docker").await.unwrap().unwrap();
    assert_eq!(data.get("password"), Some("pw1"));
}

#[tokio::test]
async fn readiness_follows_a_revoked_token_within_the_check_interval() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let vault = vault(&bao, AuthMethod::Token(token.clone()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !vault.readiness().ready {
        assert!(Instant::now() < deadline, "{:?}", vault.readiness());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bao.revoke(&token).await;
    let revoked = Instant::now();
    // No read: only the background checks (every 2 s by default) can notice.
    while vault.readiness().ready {
        assert!(
            revoked.elapsed() < Duration::from_secs(30),
            "still ready 30 s after the revocation (checks every 2 s)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("not ready {:?} after the revocation", revoked.elapsed());
    let readiness = vault.readiness();
    assert!(
        readiness.reachable && !readiness.token.valid,
        "{readiness:?}"
    );
}
