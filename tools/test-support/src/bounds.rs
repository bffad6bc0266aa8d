//! Time in tests: bounds on what would otherwise hang, never on speed.
//!
//! A loaded machine (two parallel builds, a busy CI runner) makes anything slow, so no test
//! asserts that something is fast: performance lives in `benches/`. What a test may assert:
//!
//! - that something **ends** (a timeout fires, a drain finishes, a request is answered) within a
//!   bound of at least [`MARGIN`] times what it takes on an idle machine, and never less than
//!   [`FLOOR`]: only a hang crosses it ([`assert_ends_within`]);
//! - that a timer did **not fire early** ([`assert_not_before`]): load only makes timers late, so
//!   a lower bound holds on any machine as long as it is measured from a point before the one the
//!   server measures from (the test connects before the server accepts).
//!
//! Where the bound must tell two behaviours apart (a 1 s deadline from a 10 s one), the test
//! checks what differs besides the time (the status, the bytes sent, the answer), and the
//! time bound stays a hang bound.

use std::time::Duration;

/// The factor between what a step takes on an idle machine and the bound a test puts on it.
pub const MARGIN: u32 = 5;

/// The smallest bound: below it, a scheduler stall on a loaded 2-core machine (seen: over 1 s)
/// could cross it.
pub const FLOOR: Duration = Duration::from_secs(10);

/// The bound on a step that takes `expected` on an idle machine: `expected × MARGIN`, at least
/// [`FLOOR`].
pub fn hang_bound(expected: Duration) -> Duration {
    (expected * MARGIN).max(FLOOR)
}

/// Asserts that `what` ended within [`hang_bound`]`(expected)`; the message says what was
/// measured against what.
#[track_caller]
pub fn assert_ends_within(what: &str, took: Duration, expected: Duration) {
    let bound = hang_bound(expected);
    assert!(
        took < bound,
        "{what}: took {took:?}; about {expected:?} on an idle machine, and the bound for a hang \
         is {bound:?} (x{MARGIN}, at least {FLOOR:?})"
    );
}

/// Asserts that `what` (a timer's effect) did not happen before `earliest`: load makes timers
/// late, never early.
#[track_caller]
pub fn assert_not_before(what: &str, took: Duration, earliest: Duration) {
    assert!(
        took >= earliest,
        "{what}: happened after {took:?}, earlier than its timer allows ({earliest:?})"
    );
}
