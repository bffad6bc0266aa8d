//! [`BodyBudget`]: a process-wide bound on the request bytes the layer buffers at once.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The size of the default, process-wide [`BodyBudget`]: 64 MiB.
pub const DEFAULT_BODY_BUDGET: usize = 64 * 1024 * 1024;

/// How long a request waits for room in the budget by default before it is answered 503: 5 s.
pub const DEFAULT_BUDGET_WAIT: Duration = Duration::from_secs(5);

/// The budget's unit: it counts KiB, so a `u32` of permits covers 4 TiB.
const UNIT: usize = 1024;

/// A bound on the body bytes buffered at once by every layer that shares it.
///
/// Before reading a body, the layer takes from the budget the declared `Content-Length` (the body
/// limit when there is none), rounded up to whole KiB, at least 1 KiB, and at most the budget's
/// size; it waits for room at most [`budget_wait`](super::VerifyLayer::budget_wait) and
/// answers 503 with `Retry-After: 1` after that
/// ([`Rejection::Busy`](super::Rejection::Busy)). It gives the bytes back when the inner service's
/// response future completes, since the verified bytes, and what the service decodes from them,
/// live until then.
///
/// Every layer built without [`body_budget`](super::VerifyLayer::body_budget) shares
/// one process-wide budget of [`DEFAULT_BODY_BUDGET`] ([`BodyBudget::shared_default`]), so the
/// default bound holds for the whole process however many routes it serves. A handle is cheap to
/// clone; clones share the budget.
///
/// # The memory bound
///
/// The request bytes the layer holds are at most the budget. What the inner service makes of them
/// comes on top, per copy: [`ExtensionService`](crate::service::ExtensionService) passes the
/// verified bytes on without copying them and decodes them once (the decoded strings are about
/// the size of the body), so behind it the request data held is at most about
/// budget × (1 + 1), 128 MiB by default; a handler that copies the body twice more, budget × 4.
/// Connection buffers (hyper's, about 400 KiB per connection at most) are not counted: bound
/// the connections themselves (a concurrency limit in front of the layer).
///
/// ```
/// use std::time::Duration;
/// use drone_extension::ExtensionKind;
/// use drone_extension::layer::BodyBudget;
/// use drone_extension::signature::VerifySignatureLayer;
/// use drone_extension::signature::SharedSecret;
///
/// // One budget for the two routes of this process: 16 MiB of bodies at once.
/// let budget = BodyBudget::new(16 * 1024 * 1024);
/// let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
/// let convert = VerifySignatureLayer::for_kind(ExtensionKind::Convert, secret.clone())
///     .body_budget(budget.clone())
///     .budget_wait(Duration::from_secs(2));
/// let validate = VerifySignatureLayer::for_kind(ExtensionKind::Validate, secret)
///     .body_budget(budget.clone());
/// assert_eq!(budget.available(), 16 * 1024 * 1024);
/// # Ok::<(), drone_extension::signature::KeyError>(())
/// ```
#[derive(Clone)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    /// The size in units.
    units: u32,
}

impl BodyBudget {
    /// A budget of `bytes`, rounded up to whole KiB (at least 1 KiB, at most 4 TiB).
    pub fn new(bytes: usize) -> BodyBudget {
        let units = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        BodyBudget {
            permits: Arc::new(Semaphore::new(units as usize)),
            units,
        }
    }

    /// The process-wide budget of [`DEFAULT_BODY_BUDGET`] that every layer without an explicit
    /// budget shares.
    pub fn shared_default() -> BodyBudget {
        static DEFAULT: OnceLock<BodyBudget> = OnceLock::new();
        DEFAULT
            .get_or_init(|| BodyBudget::new(DEFAULT_BODY_BUDGET))
            .clone()
    }

    /// The budget's size in bytes.
    pub fn capacity(&self) -> usize {
        self.units as usize * UNIT
    }

    /// The bytes not taken at the moment.
    pub fn available(&self) -> usize {
        self.permits.available_permits() * UNIT
    }

    /// Whether `other` is a clone of this budget (the same room), not merely one of the same
    /// size.
    pub fn same_as(&self, other: &BodyBudget) -> bool {
        Arc::ptr_eq(&self.permits, &other.permits)
    }

    /// Takes room for a body of `bytes`, waiting at most `wait`; `None` when there was none.
    pub(crate) async fn acquire(&self, bytes: usize, wait: Duration) -> Option<BudgetPermit> {
        let units = u32::try_from(bytes.div_ceil(UNIT).max(1))
            .unwrap_or(u32::MAX)
            .min(self.units);
        // Room at hand is taken at once, with no timer (the semaphore hands released room to
        // its waiters first, so this takes nothing a waiter is owed).
        if let Ok(permit) = self.permits.clone().try_acquire_many_owned(units) {
            return Some(BudgetPermit { _permit: permit });
        }
        let acquire = self.permits.clone().acquire_many_owned(units);
        match tokio::time::timeout(wait, acquire).await {
            Ok(Ok(permit)) => Some(BudgetPermit { _permit: permit }),
            // The semaphore is never closed; time out or not, there is no room.
            Ok(Err(_)) | Err(_) => None,
        }
    }
}

impl fmt::Debug for BodyBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyBudget")
            .field("capacity", &self.capacity())
            .field("available", &self.available())
            .finish()
    }
}

/// Room taken in a [`BodyBudget`]; given back when dropped.
#[derive(Debug)]
pub(crate) struct BudgetPermit {
    _permit: OwnedSemaphorePermit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn takes_rounded_and_clamped_and_gives_back() {
        let budget = BodyBudget::new(10 * 1024);
        assert_eq!(budget.capacity(), 10 * 1024);
        let wait = Duration::from_millis(100);
        let small = budget.acquire(1, wait).await.unwrap();
        assert_eq!(budget.available(), 9 * 1024);
        let zero = budget.acquire(0, wait).await.unwrap();
        assert_eq!(budget.available(), 8 * 1024);
        drop((small, zero));
        // Larger than the whole budget: clamped, so it takes everything rather than never fitting.
        let all = budget.acquire(usize::MAX, wait).await.unwrap();
        assert_eq!(budget.available(), 0);
        assert!(budget.acquire(1, wait).await.is_none());
        drop(all);
        assert_eq!(budget.available(), 10 * 1024);
    }

    #[test]
    fn the_default_is_shared() {
        let a = BodyBudget::shared_default();
        let b = BodyBudget::shared_default();
        assert!(Arc::ptr_eq(&a.permits, &b.permits));
        assert_eq!(a.capacity(), DEFAULT_BODY_BUDGET);
    }
}
