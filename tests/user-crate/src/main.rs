//! `DRONE_SECRET=… SECRETS_FILE=secrets.txt drone-extension-user-test`: serves the extension on
//! `DRONE_BIND` (default `127.0.0.1:3000`).

use drone_extension::prelude::*;
use drone_extension_user_test::{FileSecrets, Policy, app};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let key = SharedSecret::new(std::env::var("DRONE_SECRET")?)?;
    let secrets = FileSecrets::new(std::env::var("SECRETS_FILE").unwrap_or("secrets.txt".into()));
    let policy = Policy {
        denied: vec!["mallory".into()],
        admins: vec!["octocat".into()],
    };
    let bind = std::env::var("DRONE_BIND").unwrap_or("127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening addr={}", listener.local_addr()?);
    // Header and idle deadlines, connection and in-flight bounds, drain on SIGTERM.
    drone_extension::server::Server::new()
        .serve(listener, app(key, secrets, policy))
        .await?;
    Ok(())
}
