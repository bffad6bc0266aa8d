//! [`RedisReplayGuard`]: one replay guard for several replicas, in Redis or Valkey.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Notify;

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
/// A claim is `SET <prefix><hex of the MAC> <token> NX PX <ms until the window closes>` (in a
/// small Lua script, see below): atomic, so two replicas receiving the same bytes at once cannot
/// both proceed, and expiring by itself, so the store never grows past the signatures of one
/// clock window. Releasing a claim (the answer was not a 2xx with a body, see [`ReplayGuard`]) is
/// a `DEL`.
///
/// # A claim refused with 503 leaves nothing behind
///
/// When Redis does not answer within the timeout (it is stalled, paused, overloaded), the request
/// is refused with 503, but its claim may still be sitting in the connection, and Redis would
/// make it once it resumes: the caller's retry of the same bytes would then be refused as a
/// replay. So each claim carries a token of its own (a per-guard random seed and a counter), and
/// a claim that did not answer in time is released in the background as soon as Redis answers
/// again: a script deletes the claim if it holds that token, and leaves a marker
/// (`<prefix>released:<token>`, expiring after the window) that turns the claim into a no-op
/// should it reach Redis later still. A retry of the same bytes at the same replica releases
/// its earlier claim before claiming anew. The guard keeps at most 10 000 such claims to release
/// (more are logged and left to expire), each for at most its clock window.
///
/// # The replay window when replicas' clocks differ
///
/// A replica accepts a request while its `Date` is within the clock window (`skew`, 5 minutes by
/// default) of **its own** clock, and claims it until the `Date` plus the window, counted from
/// **its own** clock too (`PX` is relative: Redis' clock plays no part). When replica A's clock
/// is `d` seconds ahead of replica B's, a claim made by A expires `d` seconds (real time) before
/// B stops accepting the request: for those `d` seconds a replay of it sent to B is served. A
/// claim made by B holds as long as A accepts. So the window in which a replay can succeed is
/// the largest clock difference between replicas, after the claim expires. Keep the replicas'
/// clocks synchronised (NTP: milliseconds apart); a smaller `skew` narrows the window too.
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
/// use drone_extension::layer::RedisReplayGuard;
/// use drone_extension::signature::VerifySignatureLayer;
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
    unsettled: Arc<Unsettled>,
}

/// Claims only if the claim's token was not released before the claim arrived.
/// `KEYS`: the claim, its token's release marker. `ARGV`: the token, the claim's lifetime (ms).
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
",
    )
});

/// Releases claims by token: marks each token released (so that its claim, if it arrives later,
/// does nothing) and deletes a claim already made with it. `KEYS`: claim and marker, pairwise.
/// `ARGV`: token and marker lifetime (ms), pairwise.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
for i = 1, #KEYS, 2 do
  redis.call('SET', KEYS[i + 1], '1', 'PX', ARGV[i + 1])
  if redis.call('GET', KEYS[i]) == ARGV[i] then redis.call('DEL', KEYS[i]) end
end
return 1
",
    )
});

/// At most this many unanswered claims wait to be released.
const MAX_UNSETTLED: usize = 10_000;

/// Claims released by one script call.
const RELEASE_BATCH: usize = 128;

/// The pause between two attempts to release while Redis does not answer.
const RELEASE_RETRY: Duration = Duration::from_millis(250);

/// A claim sent to Redis without an answer in time: its request was refused.
#[derive(Debug, Clone)]
struct Unanswered {
    key: String,
    token: String,
    marker: String,
    /// The claim's lifetime in ms: the marker's too.
    hold: u64,
    /// After this the claim has expired (had it been made on time) and is no longer released.
    expires: Instant,
}

/// Claim tokens, and the claims to release.
struct Unsettled {
    seed: u64,
    counter: AtomicU64,
    /// By claim key.
    pending: Mutex<HashMap<String, Vec<Unanswered>>>,
    /// Wakes the releasing task: a claim to release, or the guard is gone.
    wake: Arc<Notify>,
    started: AtomicBool,
}

impl Unsettled {
    fn new() -> Unsettled {
        // Tokens need to be unique, not secret: when the operating system's random source fails
        // (it does not in practice), the standard library's hasher keys are random enough.
        let seed = getrandom::u64().unwrap_or_else(|_| {
            use std::hash::{BuildHasher, Hasher};
            std::hash::RandomState::new().build_hasher().finish()
        });
        Unsettled {
            seed,
            counter: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
            wake: Arc::new(Notify::new()),
            started: AtomicBool::new(false),
        }
    }

    fn token(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{n:016x}", self.seed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Unanswered>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the claims of `key` waiting to be released.
    fn take(&self, key: &str) -> Option<Vec<Unanswered>> {
        let mut pending = self.lock();
        if pending.is_empty() {
            return None;
        }
        pending.remove(key)
    }

    /// Copies up to [`RELEASE_BATCH`] claims waiting to be released, dropping expired ones.
    /// They stay pending until [`settle`](Self::settle): a retry arriving meanwhile still finds
    /// (and releases) its earlier claim before claiming again, whatever the releasing task is
    /// doing (releasing twice is harmless).
    fn peek_batch(&self) -> Vec<Unanswered> {
        let now = Instant::now();
        let mut pending = self.lock();
        let mut batch = Vec::new();
        pending.retain(|_, claims| {
            claims.retain(|c| c.expires > now);
            batch.extend(claims.iter().take(RELEASE_BATCH - batch.len()).cloned());
            !claims.is_empty()
        });
        batch
    }

    /// Forgets claims that were released.
    fn settle(&self, released: &[Unanswered]) {
        let mut pending = self.lock();
        for claim in released {
            if let Some(claims) = pending.get_mut(&claim.key) {
                claims.retain(|c| c.token != claim.token);
                if claims.is_empty() {
                    pending.remove(&claim.key);
                }
            }
        }
    }

    /// Puts claims back after a failed release (unless they have expired meanwhile).
    fn put_back(&self, claims: Vec<Unanswered>) {
        let now = Instant::now();
        let mut pending = self.lock();
        for claim in claims.into_iter().filter(|c| c.expires > now) {
            pending.entry(claim.key.clone()).or_default().push(claim);
        }
    }

    /// Adds an unanswered claim; whether there was room.
    fn add(&self, claim: Unanswered) -> bool {
        let mut pending = self.lock();
        let held: usize = pending.values().map(Vec::len).sum();
        if held >= MAX_UNSETTLED {
            return false;
        }
        pending.entry(claim.key.clone()).or_default().push(claim);
        true
    }
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        // Ends the releasing task (it holds a weak reference only).
        self.wake.notify_one();
    }
}

/// Runs [`RELEASE`] for `claims`, bounded by `timeout`.
async fn release(
    connection: &ConnectionManager,
    claims: &[Unanswered],
    timeout: Duration,
) -> Result<(), RedisGuardError> {
    let mut invocation = RELEASE.prepare_invoke();
    for claim in claims {
        invocation
            .key(&claim.key)
            .key(&claim.marker)
            .arg(&claim.token)
            .arg(claim.hold);
    }
    let mut connection = connection.clone();
    match tokio::time::timeout(timeout, invocation.invoke_async::<i64>(&mut connection)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(RedisGuardError::Redis(e)),
        Err(_) => Err(RedisGuardError::Timeout(timeout)),
    }
}

/// Releases unanswered claims as soon as Redis answers; ends when the guard is dropped.
async fn release_unanswered(
    unsettled: Weak<Unsettled>,
    wake: Arc<Notify>,
    connection: ConnectionManager,
    timeout: Duration,
) {
    loop {
        wake.notified().await;
        loop {
            let Some(claims) = unsettled.upgrade() else {
                return;
            };
            let batch = claims.peek_batch();
            if batch.is_empty() {
                break;
            }
            match release(&connection, &batch, timeout).await {
                Ok(()) => claims.settle(&batch),
                Err(e) => {
                    tracing::debug!(error = %e, "replay guard: claims not released yet");
                    drop(claims);
                    tokio::time::sleep(RELEASE_RETRY).await;
                }
            }
        }
    }
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
            unsettled: Arc::new(Unsettled::new()),
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

    /// The marker that voids the claim made with `token`.
    fn marker(&self, token: &str) -> String {
        let mut marker = String::with_capacity(self.prefix.len() + 9 + token.len());
        marker.push_str(&self.prefix);
        marker.push_str("released:");
        marker.push_str(token);
        marker
    }

    /// Remembers a claim that got no answer in time, and wakes the task that releases it (started
    /// on first use, within the runtime of the request).
    fn unanswered(&self, claim: Unanswered) {
        if !self.unsettled.add(claim) {
            tracing::warn!(
                target = %self.target,
                "replay guard: too many unanswered claims to release; a retry of this request \
                 may be refused as a replay until its clock window ends"
            );
            return;
        }
        if !self.unsettled.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(release_unanswered(
                Arc::downgrade(&self.unsettled),
                self.unsettled.wake.clone(),
                self.connection.clone(),
                self.timeout,
            ));
        }
        self.unsettled.wake.notify_one();
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
        let key = self.key(mac);
        // An earlier claim of these bytes that got no answer (its request was refused) is
        // released first: this may be its retry.
        if let Some(earlier) = self.unsettled.take(&key)
            && let Err(e) = release(&self.connection, &earlier, self.timeout).await
        {
            self.unsettled.put_back(earlier);
            return if self.fail_open {
                self.failing_open(&e);
                Ok(true)
            } else {
                Err(e.into())
            };
        }
        let token = self.unsettled.token();
        let marker = self.marker(&token);
        let mut claim = CLAIM.prepare_invoke();
        claim.key(&key).key(&marker).arg(&token).arg(millis);
        let mut connection = self.connection.clone();
        let answer =
            match tokio::time::timeout(self.timeout, claim.invoke_async::<i64>(&mut connection))
                .await
            {
                Ok(Ok(claimed)) => Ok(claimed == 1),
                Ok(Err(e)) => Err(RedisGuardError::Redis(e)),
                Err(_) => Err(RedisGuardError::Timeout(self.timeout)),
            };
        match answer {
            Ok(claimed) => Ok(claimed),
            Err(e) if self.fail_open => {
                // Served: should the claim reach Redis later, it follows a served answer.
                self.failing_open(&e);
                Ok(true)
            }
            Err(e) => {
                // Refused with 503: the claim, if Redis makes it late, must not outlive it.
                self.unanswered(Unanswered {
                    key,
                    token,
                    marker,
                    hold: millis,
                    expires: Instant::now() + window,
                });
                Err(e.into())
            }
        }
    }

    async fn forget(&self, mac: &[u8; MAC_LEN]) -> Result<(), BoxError> {
        let mut del = redis::cmd("DEL");
        del.arg(self.key(mac));
        self.query::<i64>(&del).await?;
        Ok(())
    }
}

impl RedisReplayGuard {
    fn failing_open(&self, e: &RedisGuardError) {
        tracing::error!(
            target = %self.target,
            error = %e,
            "replay guard FAILING OPEN: Redis cannot answer, a request is served without \
             replay protection"
        );
    }
}
