//! [`TtlCache`]: a small bounded cache with a time to live, so that a burst of steps asking for
//! the secrets of one path reads Vault once.
//!
//! Hand-written (40 lines) rather than a caching crate: the need is one mutex-guarded map with
//! a size bound and an expiry, which `moka`/`quick_cache` cover with far more code and
//! dependencies.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A map from keys to values that expire `ttl` after insertion, holding at most `capacity`
/// entries (the oldest is dropped first).
///
/// ```
/// use std::time::Duration;
/// use drone_extension::vault::TtlCache;
///
/// let cache = TtlCache::new(Duration::from_secs(5), 100);
/// cache.insert("secret/data/docker".into(), 1);
/// assert_eq!(cache.get("secret/data/docker"), Some(1));
/// assert_eq!(cache.get("secret/data/other"), None);
/// ```
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    /// A cache of at most `capacity` entries living `ttl` each.
    pub fn new(ttl: Duration, capacity: usize) -> TtlCache<V> {
        TtlCache {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key`, unless it expired.
    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Stores `value` for `key`, first dropping expired entries and, when full, the oldest.
    pub fn insert(&self, key: String, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let cache = TtlCache::new(Duration::from_millis(50), 2);
        cache.insert("a".into(), 1);
        cache.insert("b".into(), 2);
        cache.insert("c".into(), 3);
        assert_eq!(cache.get("a"), None, "the oldest was dropped");
        assert_eq!(cache.get("c"), Some(3));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("c"), None, "expired");
    }
}
