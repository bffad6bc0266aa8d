//! Realistic requests of every Drone extension kind, filled as a Drone server fills them: the
//! repository `octocat/hello-world`, a push of one commit to `master`, the user `octocat`. The
//! probe sends them (`drone-extension-probe sample <kind>` prints them) and the benchmarks measure
//! them; use them in your tests, changing what your extension looks at:
//!
//! ```
//! use drone_extension::prelude::*;
//! use drone_extension::testing::{self, sample};
//!
//! struct Docker;
//!
//! #[async_trait]
//! impl SecretFinder for Docker {
//!     async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
//!         let ours = request.repo.slug == "octocat/hello-world" && request.build.event == "push";
//!         Ok(ours.then(|| Secret { name: request.name, data: "s3cr3t".into(), ..Default::default() }))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
//! let app = ExtensionRouter::new().secret(key.clone(), Docker);
//! let mut request = sample::secret();
//! let answer = testing::call(app.clone(), ExtensionKind::Secret, &key, &request).await?;
//! assert_eq!(answer.secret()?.map(|s| s.data), Some("s3cr3t".into()));
//!
//! request.build.event = "pull_request".into();
//! let answer = testing::call(app, ExtensionKind::Secret, &key, &request).await?;
//! assert_eq!(answer.secret()?, None); // 204: no secret for a pull request
//! # Ok(()) }
//! ```

use serde::Serialize;

use crate::ExtensionKind;
use crate::admission::{AdmissionEvent, AdmissionRequest};
use crate::config::ConfigRequest;
use crate::convert::ConvertRequest;
use crate::environ::EnvironRequest;
use crate::global_secrets::GlobalSecretsRequest;
use crate::models::{Build, Config, LegacyBuild, LegacyRepo, Repo, System, Token, User};
use crate::registry::RegistryRequest;
use crate::secret::SecretRequest;
use crate::validate::ValidateRequest;
use crate::webhook::{WebhookEvent, WebhookRequest};

/// The request of one kind, as [`request`] makes it: it serializes as the kind's request (give it
/// to [`signed_request`](super::signed_request) or [`call`](super::call)), or take the typed
/// request out of it.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Sample {
    /// [`ExtensionKind::Admission`]: a login.
    Admission(AdmissionRequest),
    /// [`ExtensionKind::GlobalSecrets`]: [`global_secrets`].
    GlobalSecrets(GlobalSecretsRequest),
    /// [`ExtensionKind::Secret`]: [`secret`].
    Secret(SecretRequest),
    /// [`ExtensionKind::Registry`].
    Registry(RegistryRequest),
    /// [`ExtensionKind::Environ`].
    Environ(EnvironRequest),
    /// [`ExtensionKind::Config`].
    Config(ConfigRequest),
    /// [`ExtensionKind::Convert`]: [`config`] to convert.
    Convert(ConvertRequest),
    /// [`ExtensionKind::Validate`]: [`config`] to validate.
    Validate(ValidateRequest),
    /// [`ExtensionKind::Webhook`]: a build created.
    Webhook(WebhookRequest),
}

/// The request Drone sends `kind` for a push of one commit to `master` of [`repo`], with
/// [`build`], [`user`] and [`config`] where the kind carries them; servers newer than 2.0.4 also
/// send the user's (empty) token.
pub fn request(kind: ExtensionKind) -> Sample {
    let (repo, build, config) = (repo(), build(), config());
    let token = Some(Token::default());
    match kind {
        ExtensionKind::Admission => Sample::Admission(AdmissionRequest {
            event: AdmissionEvent::Login,
            user: user(),
            token,
        }),
        ExtensionKind::GlobalSecrets => Sample::GlobalSecrets(global_secrets()),
        ExtensionKind::Secret => Sample::Secret(secret()),
        ExtensionKind::Registry => Sample::Registry(RegistryRequest { repo, build }),
        ExtensionKind::Environ => Sample::Environ(EnvironRequest { repo, build }),
        ExtensionKind::Config => Sample::Config(ConfigRequest { build, repo, token }),
        ExtensionKind::Convert => Sample::Convert(ConvertRequest {
            build,
            config,
            repo,
            token,
        }),
        ExtensionKind::Validate => Sample::Validate(ValidateRequest {
            build,
            config,
            repo,
            token,
        }),
        ExtensionKind::Webhook => Sample::Webhook(WebhookRequest {
            event: WebhookEvent::Build,
            action: "created".into(),
            user: Some(user()),
            repo: Some(Repo {
                secret: String::new(), // the server's sender strips it
                ..repo
            }),
            build: Some(build),
            system: Some(System {
                proto: "https".into(),
                host: "drone.example.com".into(),
                link: "https://drone.example.com".into(),
                version: "2.0.4".into(),
            }),
        }),
    }
}

/// The secret request for `docker_password` at `secret/data/docker`, from a push to `master` of
/// [`repo`].
pub fn secret() -> SecretRequest {
    SecretRequest {
        path: "secret/data/docker".into(),
        name: "docker_password".into(),
        repo: repo(),
        build: build(),
    }
}

/// A one-step Docker pipeline, as a configuration extension returns it and a converter or a
/// validator receives it.
pub fn config() -> Config {
    Config {
        data: "kind: pipeline\ntype: docker\nname: default\n\nsteps:\n- name: test\n  image: golang:1.22\n  commands:\n  - go test ./...\n".into(),
        kind: String::new(),
    }
}

/// `octocat`, as Drone sends a user.
pub fn user() -> User {
    User {
        id: 1,
        login: "octocat".into(),
        email: "octocat@github.com".into(),
        avatar_url: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
        active: true,
        synced: 1_577_836_800,
        created: 1_577_836_800,
        updated: 1_577_836_800,
        last_login: 1_577_836_800,
        ..Default::default()
    }
}

/// `octocat/hello-world`, as Drone sends a repository.
pub fn repo() -> Repo {
    Repo {
        id: 42,
        uid: "1296269".into(),
        user_id: 1,
        namespace: "octocat".into(),
        name: "hello-world".into(),
        slug: "octocat/hello-world".into(),
        scm: "git".into(),
        git_http_url: "https://github.com/octocat/hello-world.git".into(),
        git_ssh_url: "git@github.com:octocat/hello-world.git".into(),
        link: "https://github.com/octocat/hello-world".into(),
        default_branch: "master".into(),
        visibility: "public".into(),
        active: true,
        config_path: ".drone.yml".into(),
        timeout: 60,
        counter: 7,
        created: 1_577_836_800,
        updated: 1_577_836_800,
        version: 3,
        ..Default::default()
    }
}

/// A push of one commit to `master` of [`repo`], as Drone sends a build.
pub fn build() -> Build {
    Build {
        id: 100,
        repo_id: 42,
        trigger: "@hook".into(),
        number: 7,
        status: "running".into(),
        event: "push".into(),
        link: "https://github.com/octocat/hello-world/compare/553c207...7fd1a60".into(),
        timestamp: 1_577_836_800,
        message: "Update README.md".into(),
        before: "553c2077f0edc3d5dc5d17262f6aa498e69d6f8e".into(),
        after: "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d".into(),
        r#ref: "refs/heads/master".into(),
        source: "master".into(),
        target: "master".into(),
        author_login: "octocat".into(),
        author_name: "The Octocat".into(),
        author_email: "octocat@github.com".into(),
        author_avatar: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
        sender: "octocat".into(),
        started: 1_577_836_801,
        created: 1_577_836_800,
        updated: 1_577_836_801,
        version: 2,
        ..Default::default()
    }
}

/// The Drone 0.8 global secrets request for a push to `master` of `octocat/hello-world` (the
/// request `benches/load.sh` measures).
pub fn global_secrets() -> GlobalSecretsRequest {
    GlobalSecretsRequest {
        action: "created".into(),
        repo: LegacyRepo {
            id: 1,
            owner: "octocat".into(),
            name: "hello-world".into(),
            full_name: "octocat/hello-world".into(),
            avatar_url: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
            link_url: "https://github.com/octocat/hello-world".into(),
            scm: "git".into(),
            clone_url: "https://github.com/octocat/hello-world.git".into(),
            default_branch: "master".into(),
            timeout: 60,
            visibility: "public".into(),
            active: true,
            allow_pr: true,
            allow_push: true,
            allow_tags: true,
            last_build: 41,
            config_file: ".drone.yml".into(),
            ..Default::default()
        },
        build: LegacyBuild {
            id: 42,
            number: 42,
            event: "push".into(),
            status: "pending".into(),
            enqueued_at: 1_577_836_800,
            created_at: 1_577_836_800,
            commit: "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d".into(),
            branch: "master".into(),
            r#ref: "refs/heads/master".into(),
            message: "Update README.md".into(),
            timestamp: 1_577_836_800,
            sender: "octocat".into(),
            author: "octocat".into(),
            author_avatar: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
            author_email: "octocat@github.com".into(),
            link_url: "https://github.com/octocat/hello-world/commit/7fd1a60b01f91b314f59955a4e4d4e80d8edf11d".into(),
            verified: true,
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind's sample is its kind's request, and decodes back into it from its JSON.
    #[test]
    fn every_kind_has_its_own_request() {
        fn again<T: serde::de::DeserializeOwned + Serialize>(value: &T) -> serde_json::Value {
            let json = crate::json::to_vec(value).unwrap();
            let decoded: T = serde_json::from_slice(&json).unwrap();
            serde_json::to_value(decoded).unwrap()
        }
        for &kind in ExtensionKind::ALL {
            let sample = request(kind);
            let (variant, decoded) = match &sample {
                Sample::Admission(r) => (ExtensionKind::Admission, again(r)),
                Sample::GlobalSecrets(r) => (ExtensionKind::GlobalSecrets, again(r)),
                Sample::Secret(r) => (ExtensionKind::Secret, again(r)),
                Sample::Registry(r) => (ExtensionKind::Registry, again(r)),
                Sample::Environ(r) => (ExtensionKind::Environ, again(r)),
                Sample::Config(r) => (ExtensionKind::Config, again(r)),
                Sample::Convert(r) => (ExtensionKind::Convert, again(r)),
                Sample::Validate(r) => (ExtensionKind::Validate, again(r)),
                Sample::Webhook(r) => (ExtensionKind::Webhook, again(r)),
            };
            assert_eq!(variant, kind);
            // Untagged: the sample encodes as the request itself, and nothing is lost on the way.
            assert_eq!(serde_json::to_value(&sample).unwrap(), decoded, "{kind}");
            let text = decoded.to_string();
            assert!(
                text.contains("octocat/hello-world") || text.contains("\"octocat\""),
                "{kind}: {text}"
            );
        }
    }
}
