//! The settings every binary reads the same way: the shared secret and the listen address.

use std::net::SocketAddr;

use drone_extension::BoxError;
use drone_extension::env::{Env, EnvError, Summary};
use drone_extension::signature::SharedSecret;

/// `DRONE_BIND` as Go reads it (`:3000` is every interface), by default `0.0.0.0:3000`,
/// recorded in `summary`.
pub fn bind(env: &mut Env, summary: &mut Summary) -> Result<SocketAddr, EnvError> {
    let bind = env.socket_addr("DRONE_BIND")?;
    Ok(summary.or_default("DRONE_BIND", bind, SocketAddr::from(([0, 0, 0, 0], 3000))))
}

/// `DRONE_SECRET` (or `DRONE_SECRET_FILE`), required, recorded in `summary` (never its value).
pub fn shared_secret(env: &mut Env, summary: &mut Summary) -> Result<SharedSecret, BoxError> {
    let secret = env
        .secret("DRONE_SECRET")?
        .ok_or_else(|| env.missing(&["DRONE_SECRET"], None))?;
    summary.secret("DRONE_SECRET", secret.source());
    Ok(SharedSecret::new(secret.expose()).map_err(|e| format!("DRONE_SECRET: {e}"))?)
}
