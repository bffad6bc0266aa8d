//! The README's extension and its "Testing your extension" test, run as written there: keep the
//! two in step.

use drone_extension::{prelude::*, testing};

struct Docker;

#[async_trait]
impl SecretFinder for Docker {
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
        // Runners hand whatever you answer to the step: never give a build from a fork a secret.
        if request.build.is_fork(&request.repo) || request.name != "docker_password" {
            return Ok(None); // 204: no such secret
        }
        Ok(Some(Secret {
            name: request.name,
            data: "correct-horse-battery-staple".into(),
            pull: true,
            pull_request: true,
            ..Default::default()
        }))
    }
}

#[tokio::test]
async fn runners_get_the_docker_password() -> Result<(), BoxError> {
    let key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
    let app = ExtensionRouter::new().secret(key.clone(), Docker); // or your axum Router
    let request = SecretRequest {
        name: "docker_password".into(),
        ..Default::default()
    };
    let answer = testing::call(app.clone(), ExtensionKind::Secret, &key, &request).await?;
    assert_eq!(
        answer.secret()?.unwrap().data,
        "correct-horse-battery-staple"
    ); // as Drone reads it
    let unsigned = testing::unsigned_request(ExtensionKind::Secret, &request)?;
    assert_eq!(testing::send(app, unsigned).await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn a_build_from_a_fork_gets_nothing() -> Result<(), BoxError> {
    let key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
    let app = ExtensionRouter::new().secret(key.clone(), Docker);
    let mut request = SecretRequest {
        name: "docker_password".into(),
        ..Default::default()
    };
    request.repo.slug = "octocat/hello-world".into();
    request.build.source_repo = "mallory/hello-world".into();
    let answer = testing::call(app, ExtensionKind::Secret, &key, &request).await?;
    assert_eq!(answer.secret()?, None);
    Ok(())
}
