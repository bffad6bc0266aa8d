//! JSON encoding that matches Go's `encoding/json` byte for byte.
//!
//! Drone is written in Go, and its bodies are what `json.Marshal` produces. serde_json writes the
//! same JSON values, but spells a few of them differently. [`to_vec`] and [`to_string`] use
//! [`GoFormatter`], which spells them the Go way:
//!
//! | in a string | serde_json | Go and [`GoFormatter`] |
//! |---|---|---|
//! | `<` `>` `&` | raw | `\u003c` `\u003e` `\u0026` |
//! | U+2028, U+2029 | raw | `\u2028`, `\u2029` |
//! | backspace, form feed | `\b`, `\f` | `\u0008`, `\u000c` |
//!
//! | number | serde_json | Go and [`GoFormatter`] |
//! |---|---|---|
//! | `1.0` | `1.0` | `1` |
//! | `1e21`, `1e-7` | `1e21`, `1e-7` | `1e+21`, `1e-7` |
//!
//! Everything else is already identical: compact output, fields in declaration order (which is
//! why the [`models`](crate::models) declare them in Go's order), `\n` `\r` `\t` `\"` `\\`, other
//! control characters as lower-case `\u00XX`, all other characters as raw UTF-8.
//!
//! Byte-identical output matters for golden tests and for a client that must send exactly what
//! Drone sends. It is **not** needed for interoperability: the signature covers the digest of
//! whatever bytes are sent, and every JSON decoder reads both spellings as the same value.
//!
//! ```
//! use drone_extension::{json, models::Config};
//!
//! let config = Config { data: "a: <b> & \"c\"\n".into(), kind: String::new() };
//! assert_eq!(
//!     json::to_string(&config)?,
//!     r#"{"data":"a: \u003cb\u003e \u0026 \"c\"\n","kind":""}"#,
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! Two differences remain, outside the formatter's reach: map keys come out in the map's own
//! order (use a [`BTreeMap`](std::collections::BTreeMap) to get Go's sorted keys), and a NaN or
//! infinite float is written as `null` (serde_json's choice) where Go fails with an error.

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};

/// A [`Formatter`] that writes compact JSON spelled like Go's `json.Marshal`.
///
/// Use it through [`to_vec`] and [`to_string`], or with [`Serializer::with_formatter`] to write
/// into any [`io::Write`].
///
/// ```
/// use drone_extension::json::GoFormatter;
/// use serde::Serialize;
///
/// let mut out = Vec::new();
/// let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
/// ["<b>", "\u{8}"].serialize(&mut ser)?;
/// assert_eq!(out, br#"["\u003cb\u003e","\u0008"]"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_f32<W>(&mut self, writer: &mut W, value: f32) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        // Go switches to exponent notation outside [1e-6, 1e21), comparing in float32.
        let abs = value.abs();
        let exponent = abs != 0.0 && !(1e-6..1e21).contains(&abs);
        write_go_float(
            writer,
            exponent,
            format_args!("{value}"),
            format_args!("{value:e}"),
        )
    }

    fn write_f64<W>(&mut self, writer: &mut W, value: f64) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let abs = value.abs();
        let exponent = abs != 0.0 && !(1e-6..1e21).contains(&abs);
        write_go_float(
            writer,
            exponent,
            format_args!("{value}"),
            format_args!("{value:e}"),
        )
    }

    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        // serde_json has already split out the characters it escapes itself (quote, backslash,
        // control characters); escape the rest of Go's HTML-safe set here.
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let (escape, len): (&[u8], usize) = match bytes[i..] {
                [b'<', ..] => (b"\\u003c", 1),
                [b'>', ..] => (b"\\u003e", 1),
                [b'&', ..] => (b"\\u0026", 1),
                // U+2028 and U+2029 in UTF-8.
                [0xE2, 0x80, 0xA8, ..] => (b"\\u2028", 3),
                [0xE2, 0x80, 0xA9, ..] => (b"\\u2029", 3),
                _ => {
                    i += 1;
                    continue;
                }
            };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(escape)?;
            i += len;
            start = i;
        }
        writer.write_all(&bytes[start..])
    }

    fn write_char_escape<W>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let escape: &[u8] = match char_escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            // Go has no short forms for these two.
            CharEscape::Backspace => b"\\u0008",
            CharEscape::FormFeed => b"\\u000c",
            CharEscape::AsciiControl(byte) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let escape = [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xF)],
                ];
                return writer.write_all(&escape);
            }
        };
        writer.write_all(escape)
    }
}

/// Writes a finite float the way Go's `strconv.AppendFloat(…, 'f' or 'e', -1, …)` does after
/// `encoding/json` picked the format: shortest round-trip digits, and in exponent form an explicit
/// `+` for positive exponents (Rust writes `1e21`, Go `1e+21`; negative ones already agree, `1e-7`).
fn write_go_float<W>(
    writer: &mut W,
    exponent: bool,
    plain: std::fmt::Arguments<'_>,
    scientific: std::fmt::Arguments<'_>,
) -> io::Result<()>
where
    W: ?Sized + io::Write,
{
    if !exponent {
        return writer.write_fmt(plain);
    }
    let scientific = scientific.to_string();
    match scientific.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => write!(writer, "{mantissa}e+{exp}"),
        _ => writer.write_all(scientific.as_bytes()),
    }
}

/// Serializes `value` as compact JSON spelled like Go's `json.Marshal`.
///
/// # Errors
///
/// Whatever `value`'s [`Serialize`] implementation reports (for example a map with non-string
/// keys); never for the [`models`](crate::models).
pub fn to_vec<T>(value: &T) -> Result<Vec<u8>, serde_json::Error>
where
    T: ?Sized + Serialize,
{
    let mut out = Vec::with_capacity(128);
    value.serialize(&mut Serializer::with_formatter(&mut out, GoFormatter))?;
    Ok(out)
}

/// Serializes `value` as a compact JSON string spelled like Go's `json.Marshal`.
///
/// # Errors
///
/// As [`to_vec`].
pub fn to_string<T>(value: &T) -> Result<String, serde_json::Error>
where
    T: ?Sized + Serialize,
{
    let bytes = to_vec(value)?;
    // The formatter only writes ASCII escapes and slices of `&str`s, so this cannot fail.
    String::from_utf8(bytes).map_err(<serde_json::Error as serde::ser::Error>::custom)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// `json.Marshal(s)` in Go.
    fn go(s: &str) -> String {
        to_string(s).unwrap()
    }

    // Expected values below are the output of Go's `json.Marshal`.

    #[test]
    fn html_characters_are_escaped() {
        assert_eq!(
            go("<a href=\"x\">&</a>"),
            r#""\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e""#
        );
        assert_eq!(go("&&"), r#""\u0026\u0026""#);
        assert_eq!(go(">"), r#""\u003e""#);
    }

    #[test]
    fn line_and_paragraph_separators_are_escaped() {
        assert_eq!(go("a\u{2028}b\u{2029}c"), r#""a\u2028b\u2029c""#);
        // Neighbours in the same UTF-8 block stay raw.
        assert_eq!(go("\u{2027}\u{202a}…"), "\"\u{2027}\u{202a}…\"");
    }

    #[test]
    fn control_characters_use_go_spellings() {
        assert_eq!(go("\n\r\t"), r#""\n\r\t""#);
        assert_eq!(go("\u{8}\u{c}"), r#""\u0008\u000c""#);
        assert_eq!(
            go("\u{0}\u{1}\u{1b}\u{1f}"),
            r#""\u0000\u0001\u001b\u001f""#
        );
        assert_eq!(go("\u{7f}"), "\"\u{7f}\"");
    }

    #[test]
    fn quotes_backslashes_and_slashes() {
        assert_eq!(go(r#""\/"#), r#""\"\\/""#);
    }

    #[test]
    fn non_ascii_is_raw_utf8() {
        assert_eq!(go("é☃😀"), "\"é☃😀\"");
    }

    #[test]
    fn escapes_between_ordinary_text() {
        assert_eq!(
            go("x<y\u{2028}z&\n\u{c}w"),
            r#""x\u003cy\u2028z\u0026\n\u000cw""#
        );
    }

    #[test]
    fn map_keys_are_escaped_too() {
        let map = BTreeMap::from([("<k>", 1), ("a&b", 2)]);
        assert_eq!(
            to_string(&map).unwrap(),
            r#"{"\u003ck\u003e":1,"a\u0026b":2}"#
        );
    }

    #[test]
    fn floats_use_go_formats() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (-2.5e-10, "-2.5e-10"),
            (2.12883789947286e-308, "2.12883789947286e-308"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for &(value, expected) in cases {
            assert_eq!(to_string(&value).unwrap(), expected, "{value:e}");
        }
    }

    #[test]
    fn float32_uses_go_formats() {
        let cases: &[(f32, &str)] = &[
            (0.1, "0.1"),
            (1.0, "1"),
            (16777216.0, "16777216"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (f32::MAX, "3.4028235e+38"),
        ];
        for &(value, expected) in cases {
            assert_eq!(to_string(&value).unwrap(), expected, "{value:e}");
        }
    }

    /// The escape letters of a JSON text, e.g. `['n', 'u']` for `"\\n\\u0000"`.
    fn escape_letters(json: &str) -> Vec<char> {
        let mut letters = Vec::new();
        let mut chars = json.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                letters.extend(chars.next());
            }
        }
        letters
    }

    proptest! {
        #[test]
        fn strings_decode_back_and_hold_nothing_go_escapes(
            s in prop_oneof![any::<String>(), r"[a-z<>&\\\x00-\x1f\x7f\u2028\u2029é]{0,16}"],
        ) {
            let out = to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
            prop_assert!(!out.contains(['<', '>', '&', '\u{2028}', '\u{2029}']), "{}", out);
            for letter in escape_letters(&out) {
                prop_assert!(matches!(letter, '"' | '\\' | 'n' | 'r' | 't' | 'u'), "{}", out);
            }
        }

        #[test]
        fn floats_decode_back_in_go_notation(
            value in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
        ) {
            let out = to_string(&value).unwrap();
            // `str::parse` rounds correctly, like Go's `strconv.ParseFloat` (serde_json's own
            // parser may be one ulp off without its `float_roundtrip` feature).
            prop_assert_eq!(out.parse::<f64>().unwrap(), value, "{}", out);
            let abs = value.abs();
            let go_uses_exponent = abs != 0.0 && !(1e-6..1e21).contains(&abs);
            match out.split_once('e') {
                Some((_, exp)) => {
                    prop_assert!(go_uses_exponent, "{}", out);
                    prop_assert!(exp.starts_with(['+', '-']), "{}", out);
                }
                None => {
                    prop_assert!(!go_uses_exponent, "{}", out);
                    prop_assert!(!out.ends_with(".0"), "{}", out);
                }
            }
        }
    }

    #[test]
    fn other_values_are_unchanged() {
        let value = serde_json::json!({"b": [true, false, null], "a": -9_223_372_036_854_775_808_i64, "c": u64::MAX});
        assert_eq!(
            to_string(&value).unwrap(),
            r#"{"a":-9223372036854775808,"b":[true,false,null],"c":18446744073709551615}"#
        );
    }
}
