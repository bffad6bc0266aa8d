//! The sample requests the tests send: the repository `octocat/hello-world`, a push to
//! `master`, the secret `docker_password` at `secret/data/docker` (what the starter's
//! `starter.toml` and the probe's samples hand out).

use drone_extension::admission::{AdmissionEvent, AdmissionRequest};
use drone_extension::global_secrets::GlobalSecretsRequest;
use drone_extension::models::{Build, Config, LegacyBuild, LegacyRepo, Repo, User};
use drone_extension::secret::SecretRequest;

/// `octocat/hello-world`, id 42.
pub fn repo() -> Repo {
    Repo {
        id: 42,
        namespace: "octocat".into(),
        name: "hello-world".into(),
        slug: "octocat/hello-world".into(),
        ..Default::default()
    }
}

/// Build 7 of [`repo`], started by `event`, on `master`.
pub fn build(event: &str) -> Build {
    Build {
        id: 100,
        repo_id: 42,
        number: 7,
        event: event.into(),
        r#ref: "refs/heads/master".into(),
        target: "master".into(),
        ..Default::default()
    }
}

/// [`build`] of a push.
pub fn push() -> Build {
    build("push")
}

/// A pull request whose change comes from `source_repo` (a fork when it is not [`repo`]).
pub fn pull_request(source_repo: &str) -> Build {
    Build {
        event: "pull_request".into(),
        r#ref: "refs/pull/12/head".into(),
        source: "feature".into(),
        source_repo: source_repo.into(),
        ..push()
    }
}

/// A one-document pipeline.
pub fn pipeline() -> Config {
    Config {
        data: "kind: pipeline\nname: default\n".into(),
        kind: String::new(),
    }
}

/// An active user, `login@example.com`.
pub fn user(login: &str, admin: bool) -> User {
    User {
        id: 1,
        login: login.into(),
        email: format!("{login}@example.com"),
        active: true,
        admin,
        ..Default::default()
    }
}

/// The login of [`user`]`(login, true)`, an administrator.
pub fn login(login: &str) -> AdmissionRequest {
    AdmissionRequest {
        event: AdmissionEvent::Login,
        user: user(login, true),
        token: None,
    }
}

/// The login of a user known by `login` alone.
pub fn admission(login: &str) -> AdmissionRequest {
    AdmissionRequest {
        event: AdmissionEvent::Login,
        user: User {
            login: login.into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Drone 0.8's request for the global secrets of `full_name` (`owner/name`), build 7 on
/// `master` started by `event`.
pub fn global_secrets_request(full_name: &str, event: &str) -> GlobalSecretsRequest {
    let (owner, name) = full_name.split_once('/').unwrap();
    GlobalSecretsRequest {
        action: String::new(),
        repo: LegacyRepo {
            owner: owner.into(),
            name: name.into(),
            full_name: full_name.into(),
            ..Default::default()
        },
        build: LegacyBuild {
            number: 7,
            event: event.into(),
            branch: "master".into(),
            ..Default::default()
        },
    }
}

/// A runner's request for the secret `name` at `secret/data/docker`, for `build` of [`repo`].
pub fn secret_request(name: &str, build: Build) -> SecretRequest {
    SecretRequest {
        path: "secret/data/docker".into(),
        name: name.into(),
        repo: repo(),
        build,
    }
}
