//! The log line's format: exactly `tracing_subscriber`'s default (`Full`) format and its default
//! fields (`DefaultFields`), written with less work.
//!
//! The default format spends most of a request's log line on its frame and its field names: it
//! formats the timestamp's seven numbers through `core::fmt`, and paints the timestamp, the
//! target, the colon, every field name and every `=` with `nu_ansi_term` styles even when
//! colours are off. [`LineFormat`] writes the same bytes directly: the date and time of the
//! current second formatted once per thread and second, the microseconds as six digits, the
//! level and the target as they are. [`LineFields`] writes each field as `DefaultFields` does
//! (`name=` and the value's `Debug`, the message escaped for the terminal), the names, numbers,
//! booleans and plain strings without `core::fmt`. Whatever the fast paths do not write
//! (colours, an event inside a span, an event from the `log` crate, a clock before 1970 or after
//! 9999, a string that needs escaping) goes to the default format and the default fields
//! themselves, or to the same `Debug` they use.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{
    self, DefaultFields, Format, FormatEvent, FormatFields, Full, Writer,
};
use tracing_subscriber::fmt::{FmtContext, time};
use tracing_subscriber::registry::LookupSpan;

/// `tracing_subscriber`'s default event format, with a fast path for a plain line.
#[derive(Debug)]
pub struct LineFormat {
    full: Format<Full, time::SystemTime>,
}

impl Default for LineFormat {
    fn default() -> LineFormat {
        LineFormat { full: format() }
    }
}

/// The default format, as `tracing_subscriber::fmt()` builds it.
fn format() -> Format<Full, time::SystemTime> {
    format::Format::default()
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // tracing-log's events from the `log` crate carry the record's own metadata in fields,
        // which the default format puts back: their callsites' target is `log`.
        let plain =
            !writer.has_ansi_escapes() && meta.target() != "log" && ctx.event_scope().is_none();
        let Some(stamp) = plain.then(now).flatten() else {
            return self.full.format_event(ctx, writer, event);
        };
        writer.write_str(stamp.as_str())?;
        writer.write_str(level(meta.level()))?;
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// The level as the default format pads it, and the space after it.
fn level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE ",
        Level::DEBUG => "DEBUG ",
        Level::INFO => " INFO ",
        Level::WARN => " WARN ",
        Level::ERROR => "ERROR ",
    }
}

/// `DefaultFields`, with a fast path for a writer without colours.
#[derive(Debug, Default)]
pub struct LineFields {
    default: DefaultFields,
}

impl<'writer> FormatFields<'writer> for LineFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        if writer.has_ansi_escapes() {
            return self.default.format_fields(writer, fields);
        }
        let mut visitor = PlainVisitor {
            sanitize: writer.sanitizes_ansi_escapes(),
            writer,
            is_empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// `DefaultVisitor` without colours: the same text.
struct PlainVisitor<'a> {
    writer: Writer<'a>,
    sanitize: bool,
    is_empty: bool,
    result: fmt::Result,
}

impl PlainVisitor<'_> {
    /// The space between two fields.
    fn maybe_pad(&mut self) {
        if self.is_empty {
            self.is_empty = false;
        } else {
            self.result = self.writer.write_char(' ');
        }
    }

    /// Starts the field `name`, unless the default skips it or the line failed: `name=` (a raw
    /// identifier without its `r#`).
    fn start(&mut self, name: &str) -> bool {
        // tracing-log's fields, which the default format puts back as the line's metadata.
        if self.result.is_err() || name.starts_with("log.") {
            return false;
        }
        self.maybe_pad();
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.result = self
            .writer
            .write_str(name)
            .and_then(|()| self.writer.write_char('='));
        true
    }

    /// A value whose `Debug` is `text`, after `start`.
    fn text(&mut self, text: &str) {
        if self.result.is_ok() {
            self.result = self.writer.write_str(text);
        }
    }
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let name = field.name();
        if name == "message" {
            // `DefaultVisitor` passes `format_args!("{value}")`: the text itself, escaped.
            return self.record_debug(field, &format_args!("{value}"));
        }
        // `Debug` of a string that needs no escape is the string between quotes.
        let plain = value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
        if !plain {
            return self.record_debug(field, &value);
        }
        if self.start(name) {
            self.text("\"");
            self.text(value);
            self.text("\"");
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "message" {
            return self.record_debug(field, &value);
        }
        if self.start(field.name()) {
            let mut digits = [0u8; 20];
            self.text(decimal(&mut digits, value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "message" {
            return self.record_debug(field, &value);
        }
        if self.start(field.name()) {
            if value < 0 {
                self.text("-");
            }
            let mut digits = [0u8; 20];
            self.text(decimal(&mut digits, value.unsigned_abs()));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "message" {
            return self.record_debug(field, &value);
        }
        if self.start(field.name()) {
            self.text(if value { "true" } else { "false" });
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let sanitize = self.sanitize;
        match value.source() {
            Some(source) => self.record_debug(
                field,
                &format_args!(
                    "{} {}.sources={}",
                    EscapeGuard(format_args!("{value}"), sanitize),
                    field.name(),
                    ErrorSourceList(source, sanitize),
                ),
            ),
            None => self.record_debug(
                field,
                &format_args!("{}", EscapeGuard(format_args!("{value}"), sanitize)),
            ),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        if name == "message" {
            if self.result.is_err() {
                return;
            }
            self.maybe_pad();
            self.result = write!(self.writer, "{:?}", EscapeGuard(value, self.sanitize));
        } else if self.start(name) && self.result.is_ok() {
            self.result = write!(self.writer, "{value:?}");
        }
    }
}

/// `value` in decimal, in the end of `digits`.
fn decimal(digits: &mut [u8; 20], mut value: u64) -> &str {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&digits[at..]).unwrap_or_default()
}

/// tracing-subscriber's escaping of terminal controls in messages and errors (its private
/// `EscapeGuard`), writing the runs between controls in one piece.
struct EscapeGuard<T>(T, bool);

impl<T: fmt::Debug> fmt::Debug for EscapeGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 {
            write!(Escaping(f), "{:?}", self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

impl<T: fmt::Display> fmt::Display for EscapeGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 {
            write!(Escaping(f), "{}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Writes ESC, BEL, BS, FF and DEL as `\x1b`, …, and the C1 controls as `\u{80}`, ….
struct Escaping<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl fmt::Write for Escaping<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut run = 0;
        for (at, c) in s.char_indices() {
            let escaped = match c {
                '\x1b' => Some("\\x1b"),
                '\x07' => Some("\\x07"),
                '\x08' => Some("\\x08"),
                '\x0c' => Some("\\x0c"),
                '\x7f' => Some("\\x7f"),
                '\u{80}'..='\u{9f}' => None,
                _ => continue,
            };
            self.0.write_str(&s[run..at])?;
            match escaped {
                Some(text) => self.0.write_str(text)?,
                None => write!(self.0, "\\u{{{:x}}}", c as u32)?,
            }
            run = at + c.len_utf8();
        }
        self.0.write_str(&s[run..])
    }
}

/// An error and its sources, as tracing-subscriber lists them (its private `ErrorSourceList`).
struct ErrorSourceList<'a>(&'a (dyn std::error::Error + 'static), bool);

impl fmt::Display for ErrorSourceList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        let mut current = Some(self.0);
        while let Some(error) = current {
            list.entry(&EscapeGuard(format_args!("{error}"), self.1));
            current = error.source();
        }
        list.finish()
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ ` (28 bytes), as the default format writes the time.
pub struct Stamp([u8; 28]);

impl Stamp {
    fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The first second that would need a fifth digit of year (10000-01-01T00:00:00Z).
const YEAR_10000: u64 = 253_402_300_800;

thread_local! {
    /// The second last formatted on this thread, and its `YYYY-MM-DDTHH:MM:SS`.
    static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

/// The current time as the default format writes it; `None` before 1970 or from year 10000.
fn now() -> Option<Stamp> {
    stamp(SystemTime::now())
}

/// `at` as the default format writes it; `None` before 1970 or from year 10000.
pub fn stamp(at: SystemTime) -> Option<Stamp> {
    let since = at.duration_since(UNIX_EPOCH).ok()?;
    let secs = since.as_secs();
    if secs >= YEAR_10000 {
        return None;
    }
    let date = SECOND.with(|cached| {
        let (second, text) = cached.get();
        if second == secs {
            return text;
        }
        let text = date_time(secs);
        cached.set((secs, text));
        text
    });
    let mut out = [0u8; 28];
    out[..19].copy_from_slice(&date);
    out[19] = b'.';
    digits(&mut out[20..26], u64::from(since.subsec_micros()));
    out[26] = b'Z';
    out[27] = b' ';
    Some(Stamp(out))
}

/// `YYYY-MM-DDTHH:MM:SS` of a second since 1970 (before year 10000).
fn date_time(secs: u64) -> [u8; 19] {
    let (year, month, day) = civil(secs / 86_400);
    let rem = secs % 86_400;
    let mut out = *b"0000-00-00T00:00:00";
    digits(&mut out[0..4], year);
    digits(&mut out[5..7], month);
    digits(&mut out[8..10], day);
    digits(&mut out[11..13], rem / 3600);
    digits(&mut out[14..16], rem / 60 % 60);
    digits(&mut out[17..19], rem % 60);
    out
}

/// The proleptic Gregorian `(year, month, day)` of a day since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `value` in decimal, zero-padded to the width of `out` (its lowest digits).
fn digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use support::log::Capture;
    use tracing_subscriber::fmt::time::FormatTime;

    use super::*;

    /// Events of every shape the starter logs, and a few it does not.
    fn events() {
        let subject = "octocat\tINFO forged\x1b[2J\u{85}é";
        tracing::info!(
            kind = "global-secrets",
            subject = %subject,
            status = 200u16,
            decision = "none",
            latency_us = 53u64,
            "extension request"
        );
        tracing::warn!(kind = "secret", reason = %"a \"quoted\" reason", "invalid request body");
        tracing::error!(error = %std::io::Error::other("disk\x07full"), "extension failed");
        let error = std::io::Error::other("outer");
        tracing::error!(
            error = &error as &(dyn std::error::Error + 'static),
            "with source"
        );
        tracing::debug!(r#type = "raw", "a raw identifier");
        tracing::trace!("trace");
        tracing::info!("message only, with a tab\there");
        tracing::info!(only = 1, "");
        tracing::warn!(addr = ?"127.0.0.1:3000", tls = false, "listening");
        tracing::info!(target: "custom::target", value = 1.5, "another target");
        tracing::info!(
            quoted = "a \"quoted\" \\ value\twith\ncontrols\x1b[0m and é",
            negative = -42i64,
            zero = 0u64,
            max = u64::MAX,
            min = i64::MIN,
            yes = true,
            no = false,
            bytes = tracing::field::debug(b"\x00\xff".as_slice()),
            log.target = "skipped",
            r#loop = "raw",
            "message with controls \x07\x08\x0c\x7f\u{9b} and é"
        );
        tracing::warn!(message = "message as a field", other = 1);
        tracing::warn!(message = %"displayed message", other = 2);
        tracing::info!(message = 7u64);
        let nested = Nested(std::io::Error::other("inner\x1b cause"));
        tracing::error!(
            error = &nested as &(dyn std::error::Error + 'static),
            "with a chain"
        );
        let span = tracing::info_span!("metrics_listener", port = 9000);
        span.in_scope(|| tracing::info!(addr = "x", "listening within a span"));
        tracing::info!(parent: &span, "explicit parent");
    }

    /// An error with a source, whose text needs escaping.
    #[derive(Debug)]
    struct Nested(std::io::Error);

    impl fmt::Display for Nested {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer\u{85} failure")
        }
    }

    impl std::error::Error for Nested {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn capture(ansi: bool, fast: bool) -> Vec<String> {
        let capture = Capture::default();
        let builder = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_ansi(ansi)
            .with_max_level(Level::TRACE);
        if fast {
            let subscriber = builder
                .fmt_fields(LineFields::default())
                .event_format(LineFormat::default())
                .finish();
            tracing::subscriber::with_default(subscriber, events);
        } else {
            let subscriber = builder.finish();
            tracing::subscriber::with_default(subscriber, events);
        }
        capture.lines()
    }

    #[test]
    fn lines_are_the_default_formats_byte_for_byte() {
        for ansi in [false, true] {
            let (fast, default) = (capture(ansi, true), capture(ansi, false));
            assert_eq!(fast.len(), default.len());
            assert_eq!(fast.len(), 17);
            for (fast, default) in fast.iter().zip(&default) {
                // Both start with the time (27 bytes, plus colour codes with ansi): equal after it.
                let (f, d) = (fast.find(' ').unwrap(), default.find(' ').unwrap());
                assert_eq!(fast[f..], default[d..], "ansi {ansi}");
                if !ansi {
                    assert_eq!(f, 27, "{fast}");
                    assert_eq!(d, 27, "{default}");
                }
            }
        }
    }

    #[test]
    fn the_time_is_the_default_formats() {
        // The default format's reading of the clock falls between two of ours.
        for _ in 0..100 {
            let before = stamp(SystemTime::now()).unwrap();
            let mut theirs = String::new();
            time::SystemTime
                .format_time(&mut Writer::new(&mut theirs))
                .unwrap();
            let after = stamp(SystemTime::now()).unwrap();
            let (before, after) = (before.as_str().trim_end(), after.as_str().trim_end());
            assert!(
                before <= theirs.as_str() && theirs.as_str() <= after,
                "{before} {theirs} {after}"
            );
            assert_eq!(theirs.len(), before.len());
        }
    }

    #[test]
    fn dates_are_gregorian() {
        let at = |secs: u64, micros: u64| {
            stamp(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros))
                .map(|s| s.as_str().to_owned())
        };
        assert_eq!(at(0, 0).unwrap(), "1970-01-01T00:00:00.000000Z ");
        assert_eq!(at(951_782_400, 7).unwrap(), "2000-02-29T00:00:00.000007Z ");
        assert_eq!(
            at(1_709_251_199, 999_999).unwrap(),
            "2024-02-29T23:59:59.999999Z "
        );
        assert_eq!(
            at(4_107_542_400, 0).unwrap(),
            "2100-03-01T00:00:00.000000Z "
        );
        assert_eq!(
            at(YEAR_10000 - 1, 0).unwrap(),
            "9999-12-31T23:59:59.000000Z "
        );
        assert_eq!(at(YEAR_10000, 0), None);
        assert!(stamp(UNIX_EPOCH - Duration::from_secs(1)).is_none());
        // Every day from 1970 to 2200 against `httpdate`'s calendar.
        for day in 0..84_000u64 {
            let secs = day * 86_400 + (day * 7919) % 86_400;
            let ours = at(secs, 0).unwrap();
            let http = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
            // `Sun, 06 Nov 1994 08:49:37 GMT`
            let months = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let month = months.iter().position(|m| *m == &http[8..11]).unwrap() + 1;
            let expected = format!(
                "{}-{month:02}-{}T{}.000000Z ",
                &http[12..16],
                &http[5..7],
                &http[17..25]
            );
            assert_eq!(ours, expected);
        }
    }
}
