//! [`RedisReplayGuard`]: one replay guard for several replicas, in Redis or Valkey.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::ReplayGuard;
use crate::BoxError;
use crate::layer::FINGERPRINT_LEN as MAC_LEN;

/// The default timeout of each call to Redis (connecting included).
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// The default prefix of the keys the guard writes.
pub const DEFAULT_REDIS_KEY_PREFIX: &str = "drone-extension:replay:";

/// A [`ReplayGuard`] in Redis (or Valkey), shared by every replica that points at the same
/// server: a signature answered by one replica is refused by all of them inside the window.
///
/// A claim is `SET <prefix><hex of the MAC> 1 NX PX <ms until the window closes>`: atomic, so
/// two replicas receiving the same bytes at once cannot both proceed, and expiring by itself, so
/// the store never grows past the signatures of one clock window. Releasing a claim (the answer
/// was not a 2xx with a body, see [`ReplayGuard`]) is a `DEL`.
///
/// The connection is made on first use and re-made after a failure by redis-rs'
/// `ConnectionManager`; every call is bounded by the [timeout](RedisReplayGuard::with_timeout)
/// (default 500 ms). When Redis cannot answer, the guard **fails closed**: the layer refuses
/// the request with 503 (`Rejection::ReplayGuardFailed`), and Drone fails the step rather than
/// serving a possible replay. [`fail_open`](RedisReplayGuard::fail_open) lets requests through
/// instead, logging each at error level.
///
/// ```no_run
/// # async fn run() -> Result<(), drone_extension::BoxError> {
/// use drone_extension::ExtensionKind;
/// use drone_extension::layer::{RedisReplayGuard, VerifySignatureLayer};
/// use drone_extension::signature::SharedSecret;
///
/// let guard = RedisReplayGuard::new("redis://127.0.0.1:6379")?;
/// let key = SharedSecret::new("correct-horse-battery-staple")?;
/// // One guard for every route: clone it (clones share the connection).
/// let layer = VerifySignatureLayer::for_kind(ExtensionKind::Secret, key).replay_guard(guard.clone());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayGuard {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    fail_open: bool,
    target: String,
}

impl fmt::Debug for RedisReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The target is host and port only: a URL's password is never printed.
        f.debug_struct("RedisReplayGuard")
            .field("target", &self.target)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

/// Why a [`RedisReplayGuard`] could not be made or could not answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum RedisGuardError {
    /// The URL is not a Redis URL (`redis://`, `rediss://` needs a TLS feature of redis-rs that
    /// this crate does not enable, `unix://`).
    Url(String),
    /// Redis answered with an error, or the connection failed.
    Redis(redis::RedisError),
    /// Redis did not answer within the timeout.
    Timeout(Duration),
}

impl fmt::Display for RedisGuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisGuardError::Url(why) => write!(f, "invalid Redis URL: {why}"),
            RedisGuardError::Redis(e) => write!(f, "Redis: {e}"),
            RedisGuardError::Timeout(after) => write!(f, "Redis did not answer within {after:?}"),
        }
    }
}

impl std::error::Error for RedisGuardError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedisGuardError::Redis(e) => Some(e),
            _ => None,
        }
    }
}

impl RedisReplayGuard {
    /// A guard on the Redis at `url` (`redis://[user:password@]host:port[/db]`). Nothing is
    /// connected yet: a Redis that is down at start-up makes requests fail closed until it is up.
    /// Must be called within a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`RedisGuardError::Url`] when the URL cannot be used (the message never contains the
    /// password).
    pub fn new(url: &str) -> Result<RedisReplayGuard, RedisGuardError> {
        RedisReplayGuard::with_timeout(url, DEFAULT_REDIS_TIMEOUT)
    }

    /// [`new`](RedisReplayGuard::new) with another timeout for each call, connecting included
    /// (default 500 ms): a request waits at most this long for the guard before it is refused
    /// (or, with [`fail_open`](RedisReplayGuard::fail_open), let through).
    ///
    /// # Errors
    ///
    /// As [`new`](RedisReplayGuard::new).
    pub fn with_timeout(url: &str, timeout: Duration) -> Result<RedisReplayGuard, RedisGuardError> {
        let client = redis::Client::open(url).map_err(|e| {
            // redis-rs' parse errors name the part that failed, not the URL itself.
            RedisGuardError::Url(format!("{:?}", e.kind()))
        })?;
        let target = client.get_connection_info().addr().to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // Reconnection attempts are made in the background; a request never waits for more
            // than its own call's timeout.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(RedisGuardError::Redis)?;
        Ok(RedisReplayGuard {
            connection,
            prefix: DEFAULT_REDIS_KEY_PREFIX.to_owned(),
            timeout,
            fail_open: false,
            target,
        })
    }

    /// The prefix of the keys (default `drone-extension:replay:`): give each deployment sharing a
    /// Redis its own.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> RedisReplayGuard {
        self.prefix = prefix.into();
        self
    }

    /// Lets requests through when Redis cannot answer, instead of refusing them with 503. Each
    /// such request is logged at error level: while Redis is down, replays are accepted.
    pub fn fail_open(mut self, fail_open: bool) -> RedisReplayGuard {
        self.fail_open = fail_open;
        self
    }

    fn key(&self, mac: &[u8; MAC_LEN]) -> String {
        use std::fmt::Write;
        let mut key = String::with_capacity(self.prefix.len() + 2 * MAC_LEN);
        key.push_str(&self.prefix);
        for byte in mac {
            let _ = write!(key, "{byte:02x}");
        }
        key
    }

    async fn query<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
    ) -> Result<T, RedisGuardError> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, command.query_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(RedisGuardError::Redis(e)),
            Err(_) => Err(RedisGuardError::Timeout(self.timeout)),
        }
    }

    /// Whether Redis answers a `PING` within the timeout: for a readiness probe.
    ///
    /// # Errors
    ///
    /// The reason it did not.
    pub async fn ping(&self) -> Result<(), RedisGuardError> {
        self.query::<String>(&redis::cmd("PING")).await.map(drop)
    }
}

#[async_trait]
impl ReplayGuard for RedisReplayGuard {
    async fn first_seen(
        &self,
        mac: &[u8; MAC_LEN],
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, BoxError> {
        let window = until.duration_since(now).unwrap_or_default();
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut set = redis::cmd("SET");
        set.arg(self.key(mac))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis);
        // `OK` when the key was set, nil when it existed.
        match self.query::<Option<String>>(&set).await {
            Ok(answer) => Ok(answer.is_some()),
            Err(e) if self.fail_open => {
                tracing::error!(
                    target = %self.target,
                    error = %e,
                    "replay guard FAILING OPEN: Redis cannot answer, a request is served \
                     without replay protection"
                );
                Ok(true)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn forget(&self, mac: &[u8; MAC_LEN]) -> Result<(), BoxError> {
        let mut del = redis::cmd("DEL");
        del.arg(self.key(mac));
        self.query::<i64>(&del).await?;
        Ok(())
    }
}
