//! How to test an extension with `drone_extension::testing`: requests signed exactly as Drone
//! signs them, sent to the app in process (no socket, no port), answers read as Drone reads
//! them. The tests are at the bottom of this file; `cargo test --example testing` runs them
//! (and `cargo test` does, with the crate's other tests).
//!
//! ```sh
//! cargo test --example testing
//! DRONE_SECRET=$(openssl rand -hex 16) cargo run --example testing   # serves it on :3000
//! ```

use axum::Router;
use axum::routing::get;
use drone_extension::prelude::*;
use tracing_subscriber::EnvFilter;

/// The extension: pushes to `octocat/*` get the Docker password; nothing else does.
struct Docker;

#[async_trait]
impl SecretFinder for Docker {
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
        let admitted = request.repo.slug.starts_with("octocat/") && request.build.event == "push";
        if !admitted || request.name != "docker_password" {
            return Ok(None); // 204: no such secret
        }
        Ok(Some(Secret {
            name: request.name,
            data: "correct-horse-battery-staple".into(),
            ..Default::default()
        }))
    }
}

/// The app, as `main` serves it and as the tests drive it.
fn app(key: SharedSecret) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "OK" }))
        .fallback_service(ExtensionRouter::new().secret(key, Docker))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // `info` and up unless RUST_LOG says otherwise: one line a request, a reason a refusal.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let key = SharedSecret::new(std::env::var("DRONE_SECRET").map_err(|_| "set DRONE_SECRET")?)?;
    let bind = std::env::var("DRONE_BIND").unwrap_or_else(|_| "0.0.0.0:3000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    Server::new().serve(listener, app(key)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use drone_extension::testing;

    use super::*;

    const KEY: &str = "bea26a2221fd8090ea38720fc445eca6";

    /// A pipeline's request for `name`, from a build of `slug` started by `event`.
    fn request(slug: &str, event: &str, name: &str) -> SecretRequest {
        let mut request = SecretRequest {
            name: name.into(),
            path: "secret/data/docker".into(),
            ..Default::default()
        };
        request.repo.slug = slug.into();
        request.build.event = event.into();
        request
    }

    /// Signed as Drone signs it, answered as Drone reads it (`RawResponse::secret`).
    #[tokio::test]
    async fn a_push_gets_the_password() -> Result<(), BoxError> {
        let key = SharedSecret::new(KEY)?;
        let push = request("octocat/hello-world", "push", "docker_password");
        let answer = testing::call(app(key.clone()), ExtensionKind::Secret, &key, &push).await?;
        assert_eq!(answer.status, 200);
        let secret = answer.secret()?.expect("a secret for a push");
        assert_eq!(secret.data, "correct-horse-battery-staple");
        Ok(())
    }

    /// "No secret" is a 204, which Drone reads as `None`.
    #[tokio::test]
    async fn others_get_nothing() -> Result<(), BoxError> {
        let key = SharedSecret::new(KEY)?;
        for asked in [
            request("octocat/hello-world", "pull_request", "docker_password"),
            request("mallory/hello-world", "push", "docker_password"),
            request("octocat/hello-world", "push", "ssh_key"),
        ] {
            let answer = testing::call(app(key.clone()), ExtensionKind::Secret, &key, &asked);
            assert_eq!(answer.await?.secret()?, None, "{asked:?}");
        }
        Ok(())
    }

    /// What the layer refuses before the extension sees it: no signature, another key, an old
    /// `Date` (a replay). `testing::send` drives the app with any request.
    #[tokio::test]
    async fn forgeries_are_refused() -> Result<(), BoxError> {
        let key = SharedSecret::new(KEY)?;
        let push = request("octocat/hello-world", "push", "docker_password");
        let unsigned = testing::unsigned_request(ExtensionKind::Secret, &push)?;
        assert_eq!(testing::send(app(key.clone()), unsigned).await?.status, 401);

        let other = SharedSecret::new("another-secret-of-32-characters!")?;
        let answer = testing::call(app(key.clone()), ExtensionKind::Secret, &other, &push).await?;
        assert_eq!(answer.status, 401);

        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let stale = testing::signed_request_at(ExtensionKind::Secret, &key, &push, an_hour_ago)?;
        assert_eq!(testing::send(app(key), stale).await?.status, 401);
        Ok(())
    }

    /// Routes outside the router stay unsigned.
    #[tokio::test]
    async fn healthz_is_unsigned() -> Result<(), BoxError> {
        let healthz = http::Request::get("/healthz").body(Default::default())?;
        let answer = testing::send(app(SharedSecret::new(KEY)?), healthz).await?;
        assert_eq!(
            (answer.status.as_u16(), &answer.body[..]),
            (200, &b"OK"[..])
        );
        Ok(())
    }
}
