//! `vault::VaultWoodpeckerSecrets` against a real OpenBao dev server (see `support/bao.rs`,
//! `BAO_BIN`): the operator's `path#key` list, the access filters read against Woodpecker's
//! repository and pipeline (repository, event, branch, fork), KV v1 and v2, refused paths, a
//! Vault outage answered 500 (Woodpecker retries), and the extension served by the
//! `WoodpeckerRouter`, signed as Woodpecker signs.

use std::time::Duration;

use drone_extension::testing;
use drone_extension::vault::{
    AuthMethod, Renewal, SecretSource, Vault, VaultClient, VaultError, VaultWoodpeckerSecrets,
};
use drone_extension::woodpecker::{
    SecretExtension, SecretRequest, Signer, Verifier, WoodpeckerRouter,
};
use http::Method;
use serde_json::json;
use support::bao::Bao;

/// The secrets every repository of `octo-org` gets on a push or its own pull request.
const ORG_WIDE: [&str; 4] = [
    "docker_username",
    "docker_password",
    "fork_token",
    "npm_token",
];

/// A pipeline of `repo` for `event` on `branch`.
fn pipeline(repo: &str, event: &str, branch: &str, from_fork: bool) -> SecretRequest {
    let mut request = SecretRequest::default();
    request.repo.full_name = repo.into();
    request.pipeline.event = event.into();
    request.pipeline.branch = branch.into();
    request.pipeline.from_fork = from_fork;
    request
}

/// Seeds filtered secrets and returns the server and a token with the extension's policy.
async fn seeded() -> Option<(Bao, String)> {
    let bao = Bao::start().await?;
    bao.put_v2(
        "drone/docker",
        json!({"username": "octocat", "password": "pw-docker", "port": 5432,
               "X-Drone-Repos": "octo-org/*", "X-Drone-Events": "push,tag,pull_request*"}),
    )
    .await;
    bao.put_v2(
        "drone/deploy",
        json!({"key": "pw-deploy", "x-drone-repos": "octo-org/hello-world",
               "x-drone-events": "push,deployment", "x-drone-branches": "main,release/*"}),
    )
    .await;
    bao.put_v2(
        "drone/forks",
        json!({"token": "pw-forks", "X-Drone-Disallow-Forks": "false",
               "X-Drone-Repos": "octo-org/*"}),
    )
    .await;
    bao.put_v2(
        "drone/lists",
        json!({"token": "pw-list", "X-Drone-Repos": ["octo-org/*"]}),
    )
    .await;
    bao.mount_kv1().await;
    bao.root(
        Method::POST,
        "kv1/drone/npm",
        json!({"token": "pw-npm", "X-Drone-Repos": "octo-org/*"}),
    )
    .await;
    let token = bao.token("1h").await;
    Some((bao, token))
}

fn vault(bao: &Bao, token: &str, timeout: Duration) -> Vault {
    let client = VaultClient::builder(&bao.addr)
        .timeout(timeout)
        .build()
        .unwrap();
    Vault::new(client, AuthMethod::Token(token.into()), Renewal::default())
}

fn extension(vault: Vault) -> VaultWoodpeckerSecrets {
    VaultWoodpeckerSecrets::new(vault)
        .secret("docker_username", "secret/data/drone/docker#username")
        .unwrap()
        .secret("docker_password", "secret/data/drone/docker#password")
        .unwrap()
        .source(
            SecretSource::new("deploy_key", "secret/data/drone/deploy#key")
                .unwrap()
                .images(["plugins/ssh"]),
        )
        .secret("fork_token", "secret/data/drone/forks#token")
        .unwrap()
        .secret("list_token", "secret/data/drone/lists#token")
        .unwrap()
        .secret("npm_token", "kv1/drone/npm#token")
        .unwrap()
        .secret("missing_key", "secret/data/drone/docker#nope")
        .unwrap()
        .secret("missing_path", "secret/data/drone/nowhere#token")
        .unwrap()
        .secret("not_allowed", "secret/data/other/thing#token")
        .unwrap()
        .disallow_forks(true)
}

async fn names(extension: &VaultWoodpeckerSecrets, request: SecretRequest) -> Vec<String> {
    extension
        .secrets(request)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

#[tokio::test]
async fn the_listed_secrets_filtered_by_repository_event_branch_and_fork() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let ext = extension(vault(&bao, &token, Duration::from_secs(3)));

    // A push to main of the repository: everything its filters admit, in the listed order; the
    // missing key and path, the path the token may not read and the list-valued filter give
    // nothing.
    let secrets = ext
        .secrets(pipeline("octo-org/hello-world", "push", "main", false))
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = secrets
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("docker_username", "octocat"),
            ("docker_password", "pw-docker"),
            ("deploy_key", "pw-deploy"),
            ("fork_token", "pw-forks"),
            ("npm_token", "pw-npm"),
        ]
    );
    assert_eq!(secrets[2].images, ["plugins/ssh"]);
    assert!(secrets[0].images.is_empty() && secrets[0].events.is_empty());

    // Branch: deploy_key is for main and release/* only.
    let feature = names(
        &ext,
        pipeline("octo-org/hello-world", "push", "feature/x", false),
    )
    .await;
    assert!(!feature.contains(&"deploy_key".to_owned()), "{feature:?}");
    assert!(
        feature.contains(&"docker_password".to_owned()),
        "{feature:?}"
    );
    let release = names(
        &ext,
        pipeline("octo-org/hello-world", "push", "release/1.0", false),
    )
    .await;
    assert!(release.contains(&"deploy_key".to_owned()), "{release:?}");

    // Repository: another organisation gets nothing; a sibling gets the org-wide secrets only.
    assert!(
        names(&ext, pipeline("mallory/hello-world", "push", "main", false))
            .await
            .is_empty()
    );
    let sibling = names(&ext, pipeline("octo-org/other", "push", "main", false)).await;
    assert_eq!(sibling, ORG_WIDE);

    // Event: a cron pipeline gets the secrets without an event filter only.
    let cron = names(
        &ext,
        pipeline("octo-org/hello-world", "cron", "main", false),
    )
    .await;
    assert_eq!(cron, ["fork_token", "npm_token"]);

    // Fork: the process-wide default (disallow) refuses forks unless a secret allows them.
    let own_pr = names(
        &ext,
        pipeline("octo-org/hello-world", "pull_request", "main", false),
    )
    .await;
    assert_eq!(own_pr, ORG_WIDE);
    let fork_pr = names(
        &ext,
        pipeline("octo-org/hello-world", "pull_request", "main", true),
    )
    .await;
    assert_eq!(fork_pr, ["fork_token"]);
    // With forks allowed by default, the fork gets what the repository's own PR gets.
    let lax = extension(vault(&bao, &token, Duration::from_secs(3))).disallow_forks(false);
    assert_eq!(
        names(
            &lax,
            pipeline("octo-org/hello-world", "pull_request", "main", true)
        )
        .await,
        own_pr
    );
}

#[tokio::test]
async fn a_source_must_be_a_kv_path_and_a_key() {
    for (name, source) in [
        ("", "secret/data/drone/docker#password"),
        ("x", "secret/data/drone/docker"),
        ("x", "secret/data/drone/docker#"),
        ("x", "#password"),
        ("x", "secret/data/../../sys/mounts#x"),
        ("x", "auth/token/lookup-self#id"),
        ("x", "cubbyhole/x#y"),
        ("x", "sys/health#version"),
    ] {
        assert!(
            SecretSource::new(name, source).is_err(),
            "{name:?} <- {source:?} accepted"
        );
    }
    let source = SecretSource::new(" docker ", "/secret//data/drone/docker/#pass#word").unwrap();
    assert_eq!(
        (source.name(), source.path(), source.key()),
        ("docker", "secret/data/drone/docker/#pass", "word")
    );
    // Listed twice: the later one replaces the first, in place.
    let ext = VaultWoodpeckerSecrets::new(Vault::new(
        VaultClient::builder("http://127.0.0.1:1").build().unwrap(),
        AuthMethod::Token("unused".into()),
        Renewal::default(),
    ))
    .secret("a", "secret/data/a#x")
    .unwrap()
    .secret("b", "secret/data/b#x")
    .unwrap()
    .secret("a", "secret/data/c#y")
    .unwrap();
    let listed: Vec<(&str, &str)> = ext.sources().iter().map(|s| (s.name(), s.path())).collect();
    assert_eq!(listed, [("a", "secret/data/c"), ("b", "secret/data/b")]);
}

#[tokio::test]
async fn vault_down_is_an_error_woodpecker_retries_then_served_again() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let ext = extension(vault(&bao, &token, Duration::from_secs(1)));
    let request = || pipeline("octo-org/hello-world", "push", "main", false);
    assert_eq!(names(&ext, request()).await.len(), 5);

    bao.freeze();
    let error = ext.secrets(request()).await.unwrap_err();
    assert!(
        matches!(
            error.downcast_ref::<VaultError>(),
            Some(VaultError::Timeout)
        ),
        "{error}"
    );
    // Through the service: 500, with a body that says nothing about Vault.
    let signer = Signer::from_seed(&[9; 32]);
    let app = WoodpeckerRouter::new(Verifier::new(signer.public_key())).secret(ext.clone());
    let signed = testing::woodpecker_signed_request(&signer, "/secret", &request()).unwrap();
    let raw = testing::send(app, signed).await.unwrap();
    assert_eq!(raw.status, 500);
    assert_eq!(&raw.body[..], b"Internal Server Error\n");

    bao.thaw();
    assert_eq!(names(&ext, request()).await.len(), 5);
}

#[tokio::test]
async fn a_revoked_token_is_an_error_not_an_empty_list() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let ext = extension(vault(&bao, &token, Duration::from_secs(3)));
    bao.revoke(&token).await;
    let result = ext
        .secrets(pipeline("octo-org/hello-world", "push", "main", false))
        .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn served_in_a_router_signed_as_woodpecker() {
    let Some((bao, token)) = seeded().await else {
        return;
    };
    let signer = Signer::from_seed(&[9; 32]);
    let app = WoodpeckerRouter::new(Verifier::new(signer.public_key()))
        .prefix("/woodpecker")
        .secret(extension(vault(&bao, &token, Duration::from_secs(3))));

    let request = pipeline("octo-org/hello-world", "tag", "main", false);
    let signed =
        testing::woodpecker_signed_request(&signer, "/woodpecker/secret", &request).unwrap();
    let secrets = testing::send(app.clone(), signed)
        .await
        .unwrap()
        .woodpecker_secrets()
        .unwrap();
    let names: Vec<&str> = secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ORG_WIDE);
    // The Debug of the answer never shows a value.
    assert!(!format!("{secrets:?}").contains("pw-docker"));

    // Unsigned: refused before Vault is read.
    let unsigned = testing::woodpecker_unsigned_request("/woodpecker/secret", &request).unwrap();
    assert_eq!(testing::send(app, unsigned).await.unwrap().status, 401);
}
