//! What a verifier requires of a signature beyond a correct MAC.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::ExtensionKind;
use crate::kind::WEBHOOK_V1;

use super::{Error, HeaderList, MAX_HEADER_LIST_ENTRIES};

/// The default clock-skew window: 300 seconds either way.
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(300);

/// The headers Drone's extension client signs.
pub const DRONE_EXTENSION_HEADERS: [&str; 5] = [
    "accept",
    "accept-encoding",
    "content-type",
    "date",
    "digest",
];

/// The headers Drone's global-webhook sender signs.
pub const DRONE_WEBHOOK_HEADERS: [&str; 2] = ["date", "digest"];

pub use crate::clock::{Clock, SystemClock};

/// What a signature must cover, which `Accept` it may sign, and how fresh it must be.
///
/// Two presets match what Drone sends:
///
/// * [`drone_extension`](Policy::drone_extension): the signed headers include
///   `accept accept-encoding content-type date digest`, and the signed `Accept` equals the
///   endpoint's media type. The media-type check stops a request signed for one extension from
///   being replayed to another extension that shares the secret.
/// * [`drone_webhook`](Policy::drone_webhook): `date digest`, what the server's webhook sender
///   signs; a signed `Accept`, if any, must be the webhook media type.
///
/// Both allow a clock skew of [`DEFAULT_MAX_SKEW`] either way (inclusive) and fail closed on a
/// `Date` that does not parse. Only `hmac-sha256` is accepted, whatever the policy.
///
/// ```
/// use std::time::Duration;
/// use drone_extension::signature::Policy;
/// use drone_extension::kind::SECRET_V1;
///
/// let policy = Policy::drone_extension(SECRET_V1).max_skew(Duration::from_secs(60));
/// assert_eq!(policy.required_headers().collect::<Vec<_>>(),
///            ["accept", "accept-encoding", "content-type", "date", "digest"]);
/// ```
#[derive(Clone)]
pub struct Policy {
    required: Vec<String>,
    media_types: Option<Vec<String>>,
    /// Whether `accept` may be left out of the signature (the bound media types then apply only
    /// to a signed `Accept`).
    accept_optional: bool,
    max_skew: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("required", &self.required)
            .field("media_types", &self.media_types)
            .field("accept_optional", &self.accept_optional)
            .field("max_skew", &self.max_skew)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// The preset for an extension endpoint whose callers sign `Accept: media_type`.
    pub fn drone_extension(media_type: &str) -> Policy {
        Policy {
            required: DRONE_EXTENSION_HEADERS.map(String::from).to_vec(),
            media_types: Some(vec![media_type.to_owned()]),
            accept_optional: false,
            max_skew: DEFAULT_MAX_SKEW,
            clock: Arc::new(SystemClock),
        }
    }

    /// The preset for a global-webhook endpoint: `date digest` must be signed.
    ///
    /// `Accept` need not be signed: the server's own webhook sender signs `date digest` only. When
    /// it is signed, as drone-go's webhook client does, it must be
    /// [`WEBHOOK_V1`](crate::kind::WEBHOOK_V1): a request signed for another extension kind is
    /// refused even when one secret serves every route.
    ///
    /// ```
    /// use drone_extension::signature::Policy;
    ///
    /// let policy = Policy::drone_webhook();
    /// assert_eq!(policy.required_headers().collect::<Vec<_>>(), ["date", "digest"]);
    /// assert_eq!(
    ///     policy.allowed_media_types().unwrap().collect::<Vec<_>>(),
    ///     ["application/vnd.drone.webhook.v1+json"],
    /// );
    /// ```
    pub fn drone_webhook() -> Policy {
        Policy {
            required: DRONE_WEBHOOK_HEADERS.map(String::from).to_vec(),
            media_types: Some(vec![WEBHOOK_V1.to_owned()]),
            accept_optional: true,
            max_skew: DEFAULT_MAX_SKEW,
            clock: Arc::new(SystemClock),
        }
    }

    /// The preset for one extension kind: [`drone_webhook`](Policy::drone_webhook) for webhooks,
    /// otherwise [`drone_extension`](Policy::drone_extension) with every media type of the kind
    /// (environ: v1 and v2).
    pub fn for_kind(kind: ExtensionKind) -> Policy {
        match kind {
            ExtensionKind::Webhook => Policy::drone_webhook(),
            _ => Policy::drone_extension(kind.media_type())
                .media_types(kind.media_types().iter().copied()),
        }
    }

    /// Replaces the set of headers the signature must cover. `date` is always required, since a
    /// signature without it can never be checked for freshness.
    ///
    /// Leaving out `digest` leaves the body unauthenticated: do so only to verify callers that do
    /// not send bodies, or in tests.
    pub fn require_headers<I, S>(mut self, names: I) -> Policy
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.required = names
            .into_iter()
            .map(|n| n.as_ref().to_ascii_lowercase())
            .collect();
        if !self.required.iter().any(|n| n == "date") {
            self.required.push("date".to_owned());
        }
        self
    }

    /// Restricts the signed `Accept` to these media types (`accept` is then required to be signed).
    pub fn media_types<I, S>(mut self, types: I) -> Policy
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.media_types = Some(types.into_iter().map(|t| t.as_ref().to_owned()).collect());
        self.accept_optional = false;
        self
    }

    /// Restricts a signed `Accept` to these media types, but lets a signature leave `Accept`
    /// out (the [`drone_webhook`](Policy::drone_webhook) rule).
    pub fn media_types_if_signed<I, S>(self, types: I) -> Policy
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut policy = self.media_types(types);
        policy.accept_optional = true;
        policy
    }

    /// Accepts any signed `Accept` (no media-type binding).
    pub fn any_media_type(mut self) -> Policy {
        self.media_types = None;
        self.accept_optional = false;
        self
    }

    /// Sets the clock-skew window, applied in both directions, boundaries included.
    pub fn max_skew(mut self, window: Duration) -> Policy {
        self.max_skew = window;
        self
    }

    /// Sets the clock (tests pin it to a vector's `Date`).
    pub fn clock(mut self, clock: impl Clock) -> Policy {
        self.clock = Arc::new(clock);
        self
    }

    /// The headers the signature must cover.
    pub fn required_headers(&self) -> impl Iterator<Item = &str> + '_ {
        self.required.iter().map(String::as_str)
    }

    /// The allowed signed `Accept` values, if the policy binds them (for
    /// [`drone_webhook`](Policy::drone_webhook), only when `Accept` is signed at all).
    pub fn allowed_media_types(&self) -> Option<impl Iterator<Item = &str> + '_> {
        self.media_types
            .as_ref()
            .map(|t| t.iter().map(String::as_str))
    }

    /// The clock-skew window.
    pub fn skew(&self) -> Duration {
        self.max_skew
    }

    /// The current time by the policy's clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Step 4 of the check order: the header list meets the policy.
    pub(crate) fn check_coverage(&self, list: &HeaderList<'_>) -> Result<(), Error> {
        // The names once, on the stack: every check below scans this slice.
        let mut names = [""; MAX_HEADER_LIST_ENTRIES];
        for (slot, name) in names.iter_mut().zip(list.iter()) {
            *slot = name;
        }
        let names = &names[..list.len()];
        if names
            .iter()
            .enumerate()
            .any(|(i, name)| names[..i].contains(name))
        {
            return Err(Error::Policy("a header is listed twice"));
        }
        if list.has_unsupported_pseudo_header() {
            return Err(Error::Policy(
                "pseudo-headers other than (request-target) are not allowed with hmac-sha256",
            ));
        }
        if !self.required.iter().all(|r| names.contains(&r.as_str())) {
            return Err(Error::Policy("a required header is not signed"));
        }
        if self.media_types.is_some() && !self.accept_optional && !names.contains(&"accept") {
            return Err(Error::Policy("the media type (Accept) is not signed"));
        }
        Ok(())
    }

    /// The signed `Accept` is one of the allowed media types.
    pub(crate) fn check_media_type(&self, accept: Option<&[u8]>) -> Result<(), Error> {
        match (&self.media_types, accept) {
            (None, _) => Ok(()),
            (Some(_), None) if self.accept_optional => Ok(()),
            (Some(types), Some(accept)) if types.iter().any(|t| t.as_bytes() == accept) => Ok(()),
            (Some(types), accept) => Err(Error::MediaType {
                expected: types.join(" or "),
                received: accept.map(|a| {
                    let shown = &a[..a.len().min(MAX_SHOWN_MEDIA_TYPE)];
                    String::from_utf8_lossy(shown).into_owned()
                }),
            }),
        }
    }

    /// Checks a signed `Date` value (and the `created`/`expires` parameters, when present) against
    /// the clock window, and returns the parsed date.
    ///
    /// All three HTTP-date forms of RFC 9110 are accepted (IMF-fixdate, RFC 850, asctime); anything
    /// else fails closed.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use drone_extension::signature::Policy;
    ///
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
    /// let policy = Policy::drone_webhook().clock(move || now);
    /// assert!(policy.check_freshness(b"Wed, 01 Jan 2020 00:05:00 GMT", None, None).is_ok());
    /// assert!(policy.check_freshness(b"Wed, 01 Jan 2020 00:05:01 GMT", None, None).is_err());
    /// assert!(policy.check_freshness(b"yesterday", None, None).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Stale`] when the date does not parse or lies outside the window, when `created`
    /// is later than now plus the window, or when `expires` is earlier than now minus the window.
    pub fn check_freshness(
        &self,
        date: &[u8],
        created: Option<i64>,
        expires: Option<i64>,
    ) -> Result<SystemTime, Error> {
        let date = parse_date(date).ok_or(Error::Stale("Date is not an HTTP-date"))?;
        let now = self.now();
        let earliest = now
            .checked_sub(self.max_skew)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let latest = now.checked_add(self.max_skew);
        if date < earliest {
            return Err(Error::Stale("Date is older than the window"));
        }
        if latest.is_some_and(|l| date > l) {
            return Err(Error::Stale("Date is in the future beyond the window"));
        }
        let unix = |t: i64| {
            u64::try_from(t)
                .ok()
                .and_then(|s| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        };
        if let Some(created) = created {
            match unix(created) {
                Some(c) if latest.is_none_or(|l| c <= l) => {}
                _ => return Err(Error::Stale("created is in the future")),
            }
        }
        if let Some(expires) = expires {
            match unix(expires) {
                Some(e) if e >= earliest => {}
                _ => return Err(Error::Stale("signature has expired")),
            }
        }
        Ok(date)
    }
}

/// The most bytes of a refused `Accept` that [`Error::MediaType`] keeps for the log.
const MAX_SHOWN_MEDIA_TYPE: usize = 128;

/// Length of an IMF-fixdate (`Wed, 01 Jan 2020 00:00:00 GMT`), the form Drone sends.
const IMF_FIXDATE_LEN: usize = 29;

thread_local! {
    /// The last IMF-fixdate this thread parsed, and its time: Drone sends the same `Date` with
    /// every request of the same second, so most requests are answered from here.
    static LAST_DATE: Cell<Option<([u8; IMF_FIXDATE_LEN], SystemTime)>> = const { Cell::new(None) };
}

/// Parses an HTTP-date (any of RFC 9110's three forms), remembering the last IMF-fixdate.
fn parse_date(date: &[u8]) -> Option<SystemTime> {
    let parse = |date: &[u8]| {
        std::str::from_utf8(date)
            .ok()
            .and_then(|d| httpdate::parse_http_date(d).ok())
    };
    let Ok(fixdate) = <[u8; IMF_FIXDATE_LEN]>::try_from(date) else {
        return parse(date);
    };
    if let Some((last, time)) = LAST_DATE.get()
        && last == fixdate
    {
        return Some(time);
    }
    let time = parse(date)?;
    LAST_DATE.set(Some((fixdate, time)));
    Some(time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::SchemeError;

    const DATE: &[u8] = b"Wed, 01 Jan 2020 00:00:00 GMT";
    const T: u64 = 1_577_836_800;

    fn at(secs: u64) -> Policy {
        Policy::drone_webhook().clock(move || SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn remembered_date_answers_like_a_fresh_parse() {
        let other = b"Thu, 02 Jan 2020 00:00:00 GMT";
        let bogus = b"Xyz, 01 Jan 2020 00:00:00 GMT"; // 29 bytes, not a date
        let expected = SystemTime::UNIX_EPOCH + Duration::from_secs(T);
        for _ in 0..2 {
            assert_eq!(parse_date(DATE), Some(expected));
            assert_eq!(parse_date(bogus), None);
            assert_eq!(parse_date(DATE), Some(expected));
            assert_eq!(
                parse_date(other),
                Some(expected + Duration::from_secs(86_400))
            );
            assert_eq!(
                parse_date(b"Wednesday, 01-Jan-20 00:00:00 GMT"),
                Some(expected)
            );
            assert_eq!(parse_date(DATE), Some(expected));
        }
    }

    #[test]
    fn b33_b34_b35_window_is_inclusive_both_ways() {
        assert!(at(T + 300).check_freshness(DATE, None, None).is_ok());
        assert!(at(T - 300).check_freshness(DATE, None, None).is_ok());
        assert!(matches!(
            at(T + 301).check_freshness(DATE, None, None),
            Err(Error::Stale(_))
        ));
        assert!(matches!(
            at(T - 301).check_freshness(DATE, None, None),
            Err(Error::Stale(_))
        ));
    }

    #[test]
    fn b32_b36_date_formats() {
        let p = at(T);
        assert!(matches!(
            p.check_freshness(b"wrong date", None, None),
            Err(Error::Stale(_))
        ));
        assert!(matches!(
            p.check_freshness(b"Wed, 01 Jan 2020 00:00:00 UTC", None, None),
            Err(Error::Stale(_))
        ));
        assert!(matches!(
            p.check_freshness(b"\xff", None, None),
            Err(Error::Stale(_))
        ));
        // RFC 850 and asctime forms of the same instant.
        assert!(
            p.check_freshness(b"Wednesday, 01-Jan-20 00:00:00 GMT", None, None)
                .is_ok()
        );
        assert!(
            p.check_freshness(b"Wed Jan  1 00:00:00 2020", None, None)
                .is_ok()
        );
    }

    #[test]
    fn created_and_expires_are_enforced() {
        let p = at(T);
        let t = T as i64;
        assert!(p.check_freshness(DATE, Some(t), Some(t + 10)).is_ok());
        assert!(matches!(
            p.check_freshness(DATE, Some(t + 301), None),
            Err(Error::Stale(_))
        ));
        assert!(matches!(
            p.check_freshness(DATE, None, Some(t - 301)),
            Err(Error::Stale(_))
        ));
        assert!(matches!(
            p.check_freshness(DATE, Some(i64::MAX), None),
            Err(Error::Stale(_))
        ));
    }

    #[test]
    fn coverage() {
        let ext = Policy::drone_extension("application/json");
        let full = HeaderList::parse("accept accept-encoding content-type date digest").unwrap();
        ext.check_coverage(&full).unwrap();
        for bad in [
            "date",
            "digest",
            "date digest",
            "accept content-type date digest",
            "accept accept-encoding content-type date digest date",
            "accept accept-encoding content-type date digest (created)",
        ] {
            let list = HeaderList::parse(bad).unwrap();
            assert!(
                matches!(ext.check_coverage(&list), Err(Error::Policy(_))),
                "{bad}"
            );
        }
        let webhook = Policy::drone_webhook();
        webhook
            .check_coverage(&HeaderList::parse("date digest").unwrap())
            .unwrap();
        webhook
            .check_coverage(&HeaderList::parse("(request-target) host date digest").unwrap())
            .unwrap();
        // `date` stays required whatever the caller asks for.
        let relaxed = Policy::drone_webhook().require_headers(["(request-target)"]);
        assert_eq!(
            relaxed.required_headers().collect::<Vec<_>>(),
            ["(request-target)", "date"]
        );
    }

    #[test]
    fn media_type_binding() {
        let p = Policy::for_kind(ExtensionKind::Environ);
        p.check_media_type(Some(b"application/vnd.drone.env.v1+json"))
            .unwrap();
        p.check_media_type(Some(b"application/vnd.drone.env.v2+json"))
            .unwrap();
        assert!(
            p.check_media_type(Some(b"application/vnd.drone.secret.v1+json"))
                .is_err()
        );
        assert!(p.check_media_type(None).is_err());
        let webhook = Policy::for_kind(ExtensionKind::Webhook);
        webhook.check_media_type(None).unwrap();
        webhook
            .check_media_type(Some(WEBHOOK_V1.as_bytes()))
            .unwrap();
        let err = webhook
            .check_media_type(Some(b"application/vnd.drone.secret.v1+json"))
            .unwrap_err();
        assert_eq!(
            err,
            Error::MediaType {
                expected: WEBHOOK_V1.into(),
                received: Some("application/vnd.drone.secret.v1+json".into()),
            }
        );
        assert_eq!(err.class(), "policy");
        // Coverage: the webhook needs no signed Accept, an extension does.
        let list = HeaderList::parse("date digest").unwrap();
        webhook.check_coverage(&list).unwrap();
        assert!(p.check_coverage(&list).is_err());
        // Any media type, and media_types() makes Accept required again.
        Policy::drone_webhook()
            .any_media_type()
            .check_media_type(Some(b"x"))
            .unwrap();
        assert!(
            Policy::drone_webhook()
                .media_types([WEBHOOK_V1])
                .check_coverage(&list)
                .is_err()
        );
    }
}
