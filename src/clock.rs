//! The clock every signature scheme reads the time from: injectable for tests.

use std::time::SystemTime;

/// A source of the current time, injectable for tests.
///
/// Any `Fn() -> SystemTime` is a clock:
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use drone_extension::signature::Policy;
///
/// let fixed = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
/// let policy = Policy::drone_webhook().clock(move || fixed);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

impl<F> Clock for F
where
    F: Fn() -> SystemTime + Send + Sync + 'static,
{
    fn now(&self) -> SystemTime {
        self()
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
