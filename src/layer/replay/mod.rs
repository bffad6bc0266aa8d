//! An optional guard against verbatim replays inside the clock window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::BoxError;
use crate::layer::FINGERPRINT_LEN as MAC_LEN;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use self::redis::{
    DEFAULT_REDIS_KEY_PREFIX, DEFAULT_REDIS_TIMEOUT, RedisGuardError, RedisReplayGuard,
};

/// Remembers the MACs of answered requests so that the same signed request is served once.
///
/// Drone sends no nonce and its `Date` has one-second resolution: two legitimate, identical
/// requests in the same second (two stages of one build fetching the same registry credentials)
/// carry the same MAC and the second would be refused. That is why the guard is off by default.
///
/// # What is remembered, and when
///
/// The layer calls [`first_seen`](ReplayGuard::first_seen) once the body is verified, before the
/// inner service runs: the signature is claimed, so a copy arriving meanwhile (at this replica or
/// another one sharing the store) is refused. When the answer is **not** a 2xx with a body (an
/// error, a 4xx, a 204, an empty 200), the layer calls [`forget`](ReplayGuard::forget) before the
/// response leaves, so a retry of the same bytes is served:
///
/// - **Drone** does not retry an extension call (its client has no retry loop; a failed call
///   fails the step, or for the secret kind yields no secret). A repeated signature from Drone is
///   two stages asking the same question in the same second.
/// - **Woodpecker** retries up to three times, 1–2 s apart and byte-identical within the same
///   second, after a transport error, a 5xx below 511, or **any 2xx with an empty body (every
///   204)**. Only a 2xx with a body ends its loop, and only those are remembered.
///
/// A request refused with 503 because the store did not answer leaves no claim behind once the
/// store answers again (see `RedisReplayGuard`): a store that makes the claim late must not
/// refuse the caller's retry of the same bytes.
///
/// # Several replicas: the window under clock skew
///
/// Each replica checks a request's `Date` against its own clock, and a claim expires at the
/// `Date` plus the clock window by the clock of the replica that made it. When two replicas'
/// clocks differ by `d`, a claim made by the one ahead expires `d` before the other stops
/// accepting the request, so a replay sent to the one behind in those last `d` seconds is
/// served. Synchronise the replicas' clocks (NTP); the exposure is that difference, not the
/// window.
///
/// Implement this trait over a shared store (Redis `SET NX PX`, a database) when several
/// replicas serve one endpoint: [`MemoryReplayGuard`] serves a single process, and the `redis`
/// feature's `RedisReplayGuard` several.
#[async_trait]
pub trait ReplayGuard: Send + Sync + 'static {
    /// Claims `mac`, to be remembered until `until`. Returns `Ok(true)` when it was not seen
    /// before (the request may proceed), `Ok(false)` when it is a replay.
    ///
    /// # Errors
    ///
    /// When the store cannot answer; the layer then refuses the request with 503 (fail closed).
    async fn first_seen(
        &self,
        mac: &[u8; MAC_LEN],
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, BoxError>;

    /// Releases a claim made by [`first_seen`](ReplayGuard::first_seen) whose request was not
    /// answered with a 2xx and a body, so that a retry of the same bytes is served. The default
    /// does nothing (every claim is kept until it expires).
    ///
    /// # Errors
    ///
    /// When the store cannot answer; the layer logs it and answers as the service did (the
    /// signature then stays remembered until it expires, and a retry is refused).
    async fn forget(&self, mac: &[u8; MAC_LEN]) -> Result<(), BoxError> {
        let _ = mac;
        Ok(())
    }
}

#[async_trait]
impl<G: ReplayGuard + ?Sized> ReplayGuard for std::sync::Arc<G> {
    async fn first_seen(
        &self,
        mac: &[u8; MAC_LEN],
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, BoxError> {
        (**self).first_seen(mac, now, until).await
    }

    async fn forget(&self, mac: &[u8; MAC_LEN]) -> Result<(), BoxError> {
        (**self).forget(mac).await
    }
}

/// A bounded in-memory [`ReplayGuard`] for a single process.
///
/// Entries expire at their `Date` plus the clock window. When the guard is full of live entries,
/// the oldest is forgotten first, so memory stays bounded at the price of, under a flood, letting
/// that oldest signature through once more.
///
/// ```
/// # tokio_test_block_on(async {
/// use std::time::{Duration, SystemTime};
/// use drone_extension::layer::{MemoryReplayGuard, ReplayGuard};
///
/// let guard = MemoryReplayGuard::new(1024);
/// let now = SystemTime::now();
/// let until = now + Duration::from_secs(300);
/// assert!(guard.first_seen(&[1; 32], now, until).await.unwrap());
/// assert!(!guard.first_seen(&[1; 32], now, until).await.unwrap());
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryReplayGuard {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashMap<[u8; MAC_LEN], SystemTime>,
    order: VecDeque<([u8; MAC_LEN], SystemTime)>,
}

impl MemoryReplayGuard {
    /// A guard remembering at most `capacity` signatures (at least one).
    pub fn new(capacity: usize) -> MemoryReplayGuard {
        MemoryReplayGuard {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// How many signatures are remembered now.
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether no signature is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that matters
        // for safety: at worst an entry is missing. Keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryReplayGuard {
    /// Room for 100 000 signatures (about 6 MiB).
    fn default() -> MemoryReplayGuard {
        MemoryReplayGuard::new(100_000)
    }
}

#[async_trait]
impl ReplayGuard for MemoryReplayGuard {
    async fn first_seen(
        &self,
        mac: &[u8; MAC_LEN],
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, BoxError> {
        let mut state = self.lock();
        let State { seen, order } = &mut *state;
        // Forget what has expired, oldest insertions first. An entry whose MAC was re-inserted
        // later is only removed when its current expiry matches.
        while let Some(&(old, expiry)) = order.front() {
            if expiry > now && seen.len() < self.capacity {
                break;
            }
            order.pop_front();
            if seen.get(&old) == Some(&expiry) {
                seen.remove(&old);
            }
        }
        match seen.get(mac) {
            Some(&expiry) if expiry > now => Ok(false),
            _ => {
                seen.insert(*mac, until);
                order.push_back((*mac, until));
                Ok(true)
            }
        }
    }

    async fn forget(&self, mac: &[u8; MAC_LEN]) -> Result<(), BoxError> {
        // Its entry in `order` stays until it reaches the front, where it no longer matches.
        self.lock().seen.remove(mac);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    #[tokio::test]
    async fn replays_are_refused_until_expiry() {
        let g = MemoryReplayGuard::new(10);
        assert!(g.first_seen(&[1; 32], t(100), t(400)).await.unwrap());
        assert!(!g.first_seen(&[1; 32], t(399), t(700)).await.unwrap());
        assert!(g.first_seen(&[2; 32], t(399), t(700)).await.unwrap());
        // Past its expiry the first MAC is forgotten.
        assert!(g.first_seen(&[1; 32], t(400), t(700)).await.unwrap());
        assert_eq!(g.len(), 2);
    }

    #[tokio::test]
    async fn memory_is_bounded() {
        let g = MemoryReplayGuard::new(3);
        for i in 0..100u8 {
            assert!(g.first_seen(&[i; 32], t(0), t(1000)).await.unwrap());
            assert!(g.len() <= 3);
        }
        // The most recent ones are still remembered.
        assert!(!g.first_seen(&[99; 32], t(0), t(1000)).await.unwrap());
    }

    #[tokio::test]
    async fn a_forgotten_claim_is_served_again_and_its_old_entry_expires_harmlessly() {
        let g = MemoryReplayGuard::new(10);
        assert!(g.first_seen(&[1; 32], t(100), t(400)).await.unwrap());
        g.forget(&[1; 32]).await.unwrap();
        assert!(g.is_empty());
        // Claimed again later, with a later expiry: the stale queue entry for t(400) must not
        // remove the new claim when it is swept.
        assert!(g.first_seen(&[1; 32], t(200), t(500)).await.unwrap());
        assert!(g.first_seen(&[2; 32], t(450), t(700)).await.unwrap());
        assert!(!g.first_seen(&[1; 32], t(450), t(700)).await.unwrap());
    }
}
