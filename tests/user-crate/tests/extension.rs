//! The extension tested in process with `drone_extension::testing`: requests signed as Drone signs
//! them, answers read as Drone reads them, no socket.

use drone_extension::models::{Build, Repo, User};
use drone_extension::prelude::*;
use drone_extension::testing;
use drone_extension_user_test::{FileSecrets, Policy, app};

const KEY: &str = "bea26a2221fd8090ea38720fc445eca6";

/// The app, serving secrets from a file written for this test.
fn server(test: &str) -> Result<(axum::Router, SharedSecret), BoxError> {
    let file = std::env::temp_dir().join(format!("user-crate-{}-{test}.txt", std::process::id()));
    std::fs::write(
        &file,
        "# path name value\nsecret/data/docker username octocat\nsecret/data/docker password correct horse\n",
    )?;
    let key = SharedSecret::new(KEY)?;
    let policy = Policy {
        denied: vec!["mallory".into()],
        admins: vec!["octocat".into()],
    };
    Ok((app(key.clone(), FileSecrets::new(file), policy), key))
}

fn secret_request(name: &str) -> SecretRequest {
    SecretRequest {
        path: "secret/data/docker".into(),
        name: name.into(),
        repo: Repo {
            slug: "octocat/hello-world".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn runners_get_the_secrets_of_the_file() -> Result<(), BoxError> {
    let (app, key) = server("secret")?;
    let kind = ExtensionKind::Secret;
    let answer = testing::call(app.clone(), kind, &key, &secret_request("password")).await?;
    assert_eq!(
        answer.secret()?.map(|s| s.data),
        Some("correct horse".into())
    );

    let answer = testing::call(app.clone(), kind, &key, &secret_request("token")).await?;
    assert_eq!(answer.status, 204);
    assert_eq!(answer.secret()?, None);

    let mut from_fork = secret_request("password");
    from_fork.build = Build {
        source_repo: "mallory/hello-world".into(),
        ..Default::default()
    };
    let answer = testing::call(app, kind, &key, &from_fork).await?;
    assert_eq!(answer.secret()?, None);
    Ok(())
}

#[tokio::test]
async fn a_drone_08_server_gets_every_secret() -> Result<(), BoxError> {
    let (app, key) = server("global")?;
    let request = GlobalSecretsRequest::default();
    let answer = testing::call(app, ExtensionKind::GlobalSecrets, &key, &request).await?;
    let secrets = answer.global_secrets()?;
    let names: Vec<_> = secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["username", "password"]);
    assert_eq!(secrets[1].value, "correct horse");
    Ok(())
}

#[tokio::test]
async fn admission_follows_the_policy() -> Result<(), BoxError> {
    let (app, key) = server("admission")?;
    let login = |login: &str| AdmissionRequest {
        user: User {
            login: login.into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let kind = ExtensionKind::Admission;
    let octocat = testing::call(app.clone(), kind, &key, &login("octocat")).await?;
    assert!(octocat.admission()?.admin);
    let hubot = testing::call(app.clone(), kind, &key, &login("hubot")).await?;
    assert!(!hubot.admission()?.admin);
    let mallory = testing::call(app, kind, &key, &login("mallory")).await?;
    assert_eq!(mallory.status, 403);
    assert!(mallory.admission().is_err());
    Ok(())
}

#[tokio::test]
async fn only_requests_signed_for_the_route_get_through() -> Result<(), BoxError> {
    let (app, key) = server("refusals")?;
    let request = secret_request("password");

    let unsigned = testing::unsigned_request(ExtensionKind::Secret, &request)?;
    assert_eq!(testing::send(app.clone(), unsigned).await?.status, 401);

    let other_key = SharedSecret::new("another-secret-of-32-characters!")?;
    let answer = testing::call(app.clone(), ExtensionKind::Secret, &other_key, &request).await?;
    assert_eq!(answer.status, 401);

    // Signed for the secret kind, sent to the admission route.
    let mut misrouted = testing::signed_request(ExtensionKind::Secret, &key, &request)?;
    *misrouted.uri_mut() = "/admission".parse()?;
    assert_eq!(testing::send(app.clone(), misrouted).await?.status, 401);

    let health = http_get(&app, "/healthz").await?;
    assert_eq!(health, 200);
    assert_eq!(http_get(&app, "/secret").await?, 405);
    assert_eq!(http_get(&app, "/nothing-here").await?, 404);
    Ok(())
}

/// The status of an unsigned `GET`.
async fn http_get(app: &axum::Router, path: &str) -> Result<u16, BoxError> {
    let mut request = testing::unsigned_request(ExtensionKind::Secret, &())?;
    *request.method_mut() = axum::http::Method::GET;
    *request.uri_mut() = path.parse()?;
    Ok(testing::send(app.clone(), request).await?.status.as_u16())
}
