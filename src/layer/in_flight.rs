//! The signatures whose body is being received: one captured request holds at most one slot.
//!
//! `Content-Length` is not signed, so whoever observed one valid request could re-send its head
//! for the whole clock window, declare the largest body and trickle bytes, each copy holding a
//! body slot until the deadline. The layer therefore registers each request's MAC here once its
//! head verified, refuses a request whose MAC is registered before reading any of its body
//! ([`Rejection::DuplicateInProgress`](super::Rejection::DuplicateInProgress), 409), and registers
//! a request's MAC when its body has not arrived within [`RECEIVING_GRACE`] (a copy that finds the
//! MAC registered then is refused too). The entry goes as soon as that body was received and
//! checked, or refused, or the request dropped.
//!
//! Drone legitimately sends byte-identical signed requests concurrently (the registry and environ
//! kinds are called once per stage with the same repository and build, and two stages in the same
//! second sign identically). It sends its small bodies at once, so its requests never stay in the
//! set: only a body still arriving after the grace is registered, which is what a trickled
//! captured copy does. Each copy an attacker sends therefore holds a slot for at most the grace,
//! and once one copy is registered every later copy is refused without a byte of its body read.
//! (Registering every request at once would refuse Drone's own identical concurrent requests
//! whenever the task switch between the head and its body let them overlap: about 3% of the
//! requests of a load test sending one pre-signed request on 32 connections.)

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::layer::FINGERPRINT_LEN as MAC_LEN;

/// The most distinct requests receiving their body at once, per layer; more are answered 503.
pub(crate) const MAX_IN_FLIGHT: usize = 65_536;

/// How long a body may take to arrive before its MAC is registered: 100 ms.
pub(crate) const RECEIVING_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// The set of MACs whose body is being received, shared by every service of one layer.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    macs: Mutex<HashSet<[u8; MAC_LEN]>>,
    /// The set's length, written under the lock: every request asks whether its MAC is in the
    /// set, and the set is almost always empty (only a body slower than the grace enters it),
    /// so the question is answered without the lock or a hash then.
    len: AtomicUsize,
}

/// Why a request could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The same signature's body is being received.
    Duplicate,
    /// [`MAX_IN_FLIGHT`] bodies are being received.
    Full,
}

/// Holds one entry of an [`InFlight`] set; removes it when dropped.
#[derive(Debug)]
pub(crate) struct InFlightGuard {
    set: Arc<InFlight>,
    mac: [u8; MAC_LEN],
}

impl InFlight {
    /// Registers `mac`, unless it is registered already or the set is full.
    pub(crate) fn enter(
        set: &Arc<InFlight>,
        mac: &[u8; MAC_LEN],
    ) -> Result<InFlightGuard, Refused> {
        let mut macs = set.macs.lock().unwrap_or_else(PoisonError::into_inner);
        if macs.contains(mac) {
            return Err(Refused::Duplicate);
        }
        if macs.len() >= MAX_IN_FLIGHT {
            return Err(Refused::Full);
        }
        macs.insert(*mac);
        set.len.store(macs.len(), Ordering::Release);
        Ok(InFlightGuard {
            set: set.clone(),
            mac: *mac,
        })
    }

    /// Whether `mac` is registered: a copy of it is still receiving its body.
    pub(crate) fn contains(&self, mac: &[u8; MAC_LEN]) -> bool {
        if self.len.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.macs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(mac)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.macs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut macs = self.set.macs.lock().unwrap_or_else(PoisonError::into_inner);
        macs.remove(&self.mac);
        self.set.len.store(macs.len(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_per_signature_released_on_drop() {
        let set = Arc::new(InFlight::default());
        let a = [1u8; MAC_LEN];
        assert!(!set.contains(&a));
        let guard = InFlight::enter(&set, &a).unwrap();
        assert!(set.contains(&a));
        assert_eq!(InFlight::enter(&set, &a).unwrap_err(), Refused::Duplicate);
        let other = InFlight::enter(&set, &[2u8; MAC_LEN]).unwrap();
        assert_eq!(set.len(), 2);
        drop(guard);
        assert!(!set.contains(&a));
        assert!(set.contains(&[2u8; MAC_LEN]));
        let again = InFlight::enter(&set, &a).unwrap();
        drop((again, other));
        assert_eq!(set.len(), 0);
        assert!(!set.contains(&a));
    }

    #[test]
    fn bounded() {
        let set = Arc::new(InFlight::default());
        let guards: Vec<_> = (0..MAX_IN_FLIGHT as u32)
            .map(|i| {
                let mut mac = [0u8; MAC_LEN];
                mac[..4].copy_from_slice(&i.to_le_bytes());
                InFlight::enter(&set, &mac).unwrap()
            })
            .collect();
        assert_eq!(
            InFlight::enter(&set, &[0xff; MAC_LEN]).unwrap_err(),
            Refused::Full
        );
        drop(guards);
        assert!(InFlight::enter(&set, &[0xff; MAC_LEN]).is_ok());
    }
}
