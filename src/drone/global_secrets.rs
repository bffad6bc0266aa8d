//! The Drone 0.8 global secrets endpoint: secrets for every repository of a server.
//!
//! # What Drone sends
//!
//! A Drone 0.8 (enterprise) server configured with `DRONE_SECRET_ENDPOINT` posts
//! `{action, repo, build}` when it compiles a build, with the 0.8 model names (`owner`,
//! `full_name`, `clone_url`, `commit`, `branch`, `author`, …; see
//! [`LegacyRepo`] and [`LegacyBuild`]).
//!
//! # What to answer
//!
//! `200` with a JSON array of secrets `{name, value, event[], image[]}`; `[]` when there are none
//! (never `null`, never `204`). The endpoint **fails open, badly**: on any error the build runs
//! with no secrets at all, repository secrets included, so the service answers `[]` rather than an
//! error only when the implementation says so; an error of the implementation is a 500.
//!
//! The secrets are used by the server as 0.8 secrets: `event` and `image` are `filepath.Match`
//! patterns (empty = all), and a repository secret with the same name (case-insensitive) wins
//! over a global one. [`filter_by_event`], [`filter_by_image`] and [`merge`] apply the same rules,
//! for implementations that want to return only what a build may use.
//!
//! # Signing
//!
//! A 0.8 server probably does not sign its calls (it has no per-endpoint secret). Serve this kind
//! behind the verifying layer whenever the caller signs (it then signs `Accept: application/json`,
//! see [`ExtensionKind::GlobalSecrets`]). Serving it **unsigned** means anyone who can reach the
//! port can ask for the secrets of any repository and build: do it only on a network only the
//! Drone server reaches, and say so in your configuration (the starter,
//! `drone-extension-starter`, needs an explicit flag and logs a warning).
//!
//! # A minimal implementation
//!
//! ```
//! use drone_extension::BoxError;
//! use drone_extension::global_secrets::{self, GlobalSecretsRequest, GlobalSecretsProvider};
//! use drone_extension::models::LegacySecret;
//!
//! struct Static(Vec<LegacySecret>);
//!
//! #[drone_extension::async_trait]
//! impl GlobalSecretsProvider for Static {
//!     async fn secrets(&self, request: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
//!         // Only what this build's event may use.
//!         Ok(global_secrets::filter_by_event(self.0.clone(), &request.build.event))
//!     }
//! }
//!
//! let service = Static(vec![LegacySecret {
//!     name: "docker_password".into(),
//!     value: "correct-horse-battery-staple".into(),
//!     event: vec!["push".into(), "tag".into()],
//!     ..Default::default()
//! }])
//! .into_service();
//! ```

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::models::{LegacyBuild, LegacyRepo, LegacySecret, null_default};
use crate::service::{DroneEndpoint, Endpoint, ExtensionService, Reply, RequestContext};
use crate::{BoxError, ExtensionKind};

/// The request of a Drone 0.8 server. `repo` and `build` are required; extra keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalSecretsRequest {
    /// What happened, e.g. `created`.
    #[serde(default, deserialize_with = "null_default")]
    pub action: String,
    /// The repository (0.8 model).
    pub repo: LegacyRepo,
    /// The build being compiled (0.8 model).
    pub build: LegacyBuild,
}

/// Hands out the global secrets of a Drone 0.8 server (the "Global Secrets Endpoint"; not to be
/// confused with [`SecretFinder`](crate::secret::SecretFinder), the 1.x secret extension).
#[async_trait]
pub trait GlobalSecretsProvider: Send + Sync + 'static {
    /// The secrets for one build; an empty list when there are none.
    ///
    /// # Errors
    ///
    /// An error is answered with a generic 500 and logged. The server then runs the build with no
    /// secrets at all.
    async fn secrets(&self, request: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError>;

    /// This provider as a tower service.
    fn into_service(self) -> GlobalSecretsService<Self>
    where
        Self: Sized,
    {
        ExtensionService::new(GlobalSecretsEndpoint(self))
    }
}

/// Deprecated: the old name of [`GlobalSecretsProvider`] (too close to the 1.x
/// [`SecretFinder`](crate::secret::SecretFinder)), kept so that existing `impl SecretProvider`
/// and bounds still compile; it will be removed before 1.0. Use [`GlobalSecretsProvider`].
///
/// A plain alias: rustc ignores `#[deprecated]` on a re-export, and a deprecated trait with a
/// blanket implementation would conflict with the forwarding implementations for `Box`, `&`
/// and `Arc`, so this name compiles without a warning.
#[doc(no_inline)]
pub use GlobalSecretsProvider as SecretProvider;

/// The [`Endpoint`] adapter of a [`GlobalSecretsProvider`].
#[derive(Debug, Clone)]
pub struct GlobalSecretsEndpoint<P>(pub P);

/// The tower service of a [`GlobalSecretsProvider`].
pub type GlobalSecretsService<P> = ExtensionService<GlobalSecretsEndpoint<P>>;

/// `provider` as a tower service: the same as [`GlobalSecretsProvider::into_service`], without the ambiguity of a
/// method call when a type implements several kind traits.
pub fn service<P: GlobalSecretsProvider>(provider: P) -> GlobalSecretsService<P> {
    ExtensionService::new(GlobalSecretsEndpoint(provider))
}

impl<P: GlobalSecretsProvider> DroneEndpoint for GlobalSecretsEndpoint<P> {
    const KIND: ExtensionKind = ExtensionKind::GlobalSecrets;
}

#[async_trait]
impl<P: GlobalSecretsProvider> Endpoint for GlobalSecretsEndpoint<P> {
    const NAME: &'static str = ExtensionKind::GlobalSecrets.name();
    type Request = GlobalSecretsRequest;

    fn subject(request: &GlobalSecretsRequest) -> String {
        request.repo.full_name.clone()
    }

    async fn respond(&self, request: GlobalSecretsRequest, _cx: &RequestContext) -> Reply {
        match self.0.secrets(request).await {
            Ok(secrets) if secrets.is_empty() => Reply::json("none", &secrets),
            Ok(secrets) => Reply::json("found", &secrets),
            Err(e) => Reply::internal_error(e),
        }
    }
}

/// Whether any of `patterns` matches `value` with Go's `filepath.Match` (see [`crate::glob`]:
/// `*`, `?`, `[…]`, `\` escapes, where `*` and `?` do not match `/`); an empty list matches
/// everything. A malformed pattern matches nothing.
///
/// ```
/// use drone_extension::global_secrets::matches;
///
/// assert!(matches(&["octocat/*".into()], "octocat/hello-world"));
/// assert!(!matches(&["octocat/*".into()], "spacekitty/hello-world"));
/// assert!(!matches(&["*".into()], "octocat/hello-world")); // `*` stops at `/`, as in Go
/// assert!(matches(&[], "anything"));
/// ```
pub fn matches(patterns: &[String], value: &str) -> bool {
    patterns.is_empty()
        || patterns
            .iter()
            .any(|p| crate::glob::matches(p, value).unwrap_or(false))
}

/// The secrets whose `event` patterns match the build event (an empty list matches every event).
///
/// ```
/// use drone_extension::global_secrets::filter_by_event;
/// use drone_extension::models::LegacySecret;
///
/// let secret = |name: &str, events: &[&str]| LegacySecret {
///     name: name.into(),
///     event: events.iter().map(|e| e.to_string()).collect(),
///     ..Default::default()
/// };
/// let kept = filter_by_event(
///     vec![secret("a", &["push"]), secret("b", &["pull_*"]), secret("c", &[])],
///     "pull_request",
/// );
/// assert_eq!(kept.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["b", "c"]);
/// ```
pub fn filter_by_event(secrets: Vec<LegacySecret>, event: &str) -> Vec<LegacySecret> {
    secrets
        .into_iter()
        .filter(|s| matches(&s.event, event))
        .collect()
}

/// The secrets whose `image` patterns match `image` (an empty list matches every image). A
/// pattern matches the image as written or without its tag or digest, so `plugins/docker`
/// matches `plugins/docker:18`.
pub fn filter_by_image(secrets: Vec<LegacySecret>, image: &str) -> Vec<LegacySecret> {
    let untagged = strip_tag(image);
    secrets
        .into_iter()
        .filter(|s| matches(&s.image, image) || matches(&s.image, untagged))
        .collect()
}

/// `name[:tag][@digest]` → `name` (a `:` before the last `/` is a registry port, not a tag).
fn strip_tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    match image[name_start..].find(':') {
        Some(i) => &image[..name_start + i],
        None => image,
    }
}

/// Global secrets followed by repository secrets, a repository secret replacing a global one of
/// the same name (compared case-insensitively): the 0.8 precedence rule.
///
/// ```
/// use drone_extension::global_secrets::merge;
/// use drone_extension::models::LegacySecret;
///
/// let s = |name: &str, value: &str| LegacySecret { name: name.into(), value: value.into(), ..Default::default() };
/// let merged = merge(vec![s("TOKEN", "global"), s("other", "g")], vec![s("token", "repo")]);
/// assert_eq!(merged.len(), 2);
/// assert_eq!(merged.iter().find(|x| x.name.eq_ignore_ascii_case("token")).unwrap().value, "repo");
/// ```
pub fn merge(global: Vec<LegacySecret>, repository: Vec<LegacySecret>) -> Vec<LegacySecret> {
    let mut merged: Vec<LegacySecret> = global
        .into_iter()
        .filter(|g| {
            !repository
                .iter()
                .any(|r| r.name.eq_ignore_ascii_case(&g.name))
        })
        .collect();
    merged.extend(repository);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, images: &[&str]) -> LegacySecret {
        LegacySecret {
            name: name.into(),
            image: images.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn image_patterns_match_with_and_without_tags() {
        let secrets = vec![
            secret("docker", &["plugins/docker"]),
            secret("any", &[]),
            secret("ecr", &["plugins/ecr*"]),
            secret("bad", &["[unclosed"]),
        ];
        let names = |v: Vec<LegacySecret>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(
            names(filter_by_image(secrets.clone(), "plugins/docker:18")),
            ["docker", "any"]
        );
        assert_eq!(
            names(filter_by_image(secrets.clone(), "plugins/ecr:latest")),
            ["any", "ecr"]
        );
        assert_eq!(names(filter_by_image(secrets, "golang")), ["any"]);
    }

    #[test]
    fn tags_digests_and_ports() {
        assert_eq!(strip_tag("plugins/docker:18"), "plugins/docker");
        assert_eq!(strip_tag("registry:5000/app"), "registry:5000/app");
        assert_eq!(
            strip_tag("registry:5000/app:1@sha256:abc"),
            "registry:5000/app"
        );
        assert_eq!(strip_tag("alpine"), "alpine");
    }

    /// Code written against the old name still implements and serves the renamed trait.
    #[tokio::test]
    async fn the_old_name_still_implements_the_trait() {
        struct Old;
        #[async_trait]
        impl SecretProvider for Old {
            async fn secrets(
                &self,
                _: GlobalSecretsRequest,
            ) -> Result<Vec<LegacySecret>, BoxError> {
                Ok(vec![LegacySecret {
                    name: "npm_token".into(),
                    ..LegacySecret::default()
                }])
            }
        }
        fn served<P: GlobalSecretsProvider>(p: P) -> GlobalSecretsService<P> {
            service(p)
        }
        let _ = served(Old);
        let got = GlobalSecretsProvider::secrets(&Old, GlobalSecretsRequest::default())
            .await
            .unwrap();
        assert_eq!(got[0].name, "npm_token");
    }
}
