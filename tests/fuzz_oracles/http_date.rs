//! `http_date`: `Policy::check_freshness` for arbitrary `Date` bytes, clocks, windows,
//! `created` and `expires`.
//!
//! Properties: it never panics, whatever the clock (before 1970, near the ends of `SystemTime`)
//! or the window (up to `u64::MAX` seconds); it accepts iff the date is an HTTP-date inside the
//! window computed exactly (in `i128` nanoseconds, boundaries inclusive) and `created`/`expires`
//! are Unix times that are not beyond it; it returns the parsed date; and every date it accepts
//! is rendered back by `httpdate` to an HTTP-date of the same instant.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use drone_extension::signature::{Error, Policy};

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Input<'a> {
    /// The clock, in seconds from 1970 (negative: before).
    pub now_secs: i64,
    pub now_nanos: u32,
    pub skew_secs: u64,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    /// The `Date` value.
    /// Everything left in the input, as is.
    pub date: &'a [u8],
}

const NANOS: i128 = 1_000_000_000;

fn system_time(secs: i64, nanos: u32) -> Option<SystemTime> {
    let whole = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    };
    whole?.checked_add(Duration::from_nanos(u64::from(nanos % 1_000_000_000)))
}

fn nanos_since_epoch(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).expect("fits"),
        Err(before) => -i128::try_from(before.duration().as_nanos()).expect("fits"),
    }
}

pub fn check(input: &Input<'_>) -> bool {
    let Some(now) = system_time(input.now_secs, input.now_nanos) else {
        return false;
    };
    let policy = Policy::drone_webhook()
        .max_skew(Duration::from_secs(input.skew_secs))
        .clock(move || now);
    let got = policy.check_freshness(input.date, input.created, input.expires);

    let parsed = std::str::from_utf8(input.date)
        .ok()
        .and_then(|d| httpdate::parse_http_date(d).ok());
    let now_ns = nanos_since_epoch(now);
    let skew_ns = i128::from(input.skew_secs) * NANOS;
    let (earliest, latest) = (now_ns - skew_ns, now_ns + skew_ns);
    let fresh = parsed.is_some_and(|d| (earliest..=latest).contains(&nanos_since_epoch(d)));
    let created_ok = input
        .created
        .is_none_or(|c| c >= 0 && i128::from(c) * NANOS <= latest);
    let expires_ok = input
        .expires
        .is_none_or(|e| e >= 0 && i128::from(e) * NANOS >= earliest);

    match got {
        Ok(date) => {
            assert!(
                fresh && created_ok && expires_ok,
                "accepted {input:?} (model: fresh {fresh}, created {created_ok}, expires {expires_ok})"
            );
            assert_eq!(Some(date), parsed);
            let rendered = httpdate::fmt_http_date(date);
            assert_eq!(httpdate::parse_http_date(&rendered).ok(), Some(date));
        }
        Err(Error::Stale(_)) => assert!(
            !(fresh && created_ok && expires_ok),
            "refused {input:?}: {got:?}"
        ),
        Err(other) => panic!("check_freshness gave {other:?}: only Stale is allowed"),
    }
    true
}

pub fn run(data: &[u8]) -> bool {
    super::decode::<Input>(data).is_some_and(|input| check(&input))
}
