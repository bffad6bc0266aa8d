//! The `Signature` header's parameters: an RFC 7235 auth-param parser and Drone's rendering.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::Error;

/// Longest signature header value the parser looks at (8 KiB).
pub const MAX_HEADER_LEN: usize = 8 * 1024;
/// Most parameters one signature header may carry.
pub const MAX_PARAMS: usize = 16;

/// The parameters of a draft-cavage `Signature` header.
///
/// Values are kept exactly as received (the `headers` list is interpreted later, by the policy),
/// so that [`parse`](SignatureParams::parse) of [`Display`](fmt::Display) gives back an equal value.
/// The rendering follows Drone's layout: `keyId`, `algorithm`, `signature`, `headers`, every value
/// quoted, no spaces.
///
/// ```
/// use drone_extension::signature::SignatureParams;
///
/// let header = r#"keyId="hmac-key",algorithm="hmac-sha256",signature="c2ln",headers="date digest""#;
/// let params = SignatureParams::parse(header)?;
/// assert_eq!(params.key_id, "hmac-key");
/// assert_eq!(params.headers.as_deref(), Some("date digest"));
/// assert_eq!(params.to_string(), header);
///
/// // RFC 7235 grammar: spaces around `=` and `,`, token values, any name case, escapes.
/// let relaxed = SignatureParams::parse(r#"KEYID = "a\"b" , Signature=c2ln"#)?;
/// assert_eq!(relaxed.key_id, "a\"b");
/// # Ok::<(), drone_extension::signature::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignatureParams {
    /// `keyId`: which key signed. Drone always sends `hmac-key`.
    pub key_id: String,
    /// `algorithm`, when given. Absent means `hmac-sha256`.
    pub algorithm: Option<String>,
    /// `signature`: the base64 MAC, as received.
    pub signature: String,
    /// `headers`: the space-separated list of signed header names, as received.
    pub headers: Option<String>,
    /// `created`: Unix time the signature was made, when given.
    pub created: Option<i64>,
    /// `expires`: Unix time the signature expires, when given.
    pub expires: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Name {
    KeyId,
    Algorithm,
    Signature,
    Headers,
    Created,
    Expires,
}

impl Name {
    fn from_bytes(name: &[u8]) -> Option<Name> {
        const NAMES: [(&str, Name); 6] = [
            ("keyid", Name::KeyId),
            ("algorithm", Name::Algorithm),
            ("signature", Name::Signature),
            ("headers", Name::Headers),
            ("created", Name::Created),
            ("expires", Name::Expires),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            .map(|&(_, n)| n)
    }
}

/// RFC 7230 `tchar`, as a table: the parser's loops cost one load per byte.
pub(crate) const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
            | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z');
        b += 1;
    }
    table
};

/// RFC 7230 `qdtext` (obs-text excluded: signature values are ASCII), as a table.
const QDTEXT: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E);
        b += 1;
    }
    table
};

/// RFC 7230 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

fn is_qdtext(b: u8) -> bool {
    QDTEXT[usize::from(b)]
}

/// The second byte of a `quoted-pair` (obs-text excluded).
fn is_quoted_pair_char(b: u8) -> bool {
    b == b'\t' || (0x20..=0x7E).contains(&b)
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

struct Cursor<'a> {
    s: &'a [u8],
    /// `s` as text, when it is UTF-8: values are sliced from it, not validated one by one.
    text: Option<&'a str>,
    /// Every byte of `s` is HTAB, SP or visible ASCII: the only bytes the grammar admits. Then a
    /// quoted string's text runs up to the next `"` or a backslash, found without a per-byte check.
    visible: bool,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The input not consumed yet.
    fn rest(&self) -> &'a [u8] {
        self.s.get(self.pos..).unwrap_or_default()
    }

    /// Consumes the longest run of bytes in `class` and returns it.
    fn run(&mut self, class: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest();
        let len = rest.iter().position(|&b| !class(b)).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// The input from `start` to the current position, as text. The grammar admits only ASCII,
    /// so this fails only on input that is not UTF-8 (then each value is checked on its own).
    fn text_from(&self, start: usize) -> Result<&'a str, Error> {
        match self.text {
            Some(text) => text.get(start..self.pos),
            None => std::str::from_utf8(&self.s[start..self.pos]).ok(),
        }
        .ok_or(Error::Malformed("non-ASCII value"))
    }

    fn skip_ows(&mut self) {
        self.run(is_ows);
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn token(&mut self) -> &'a [u8] {
        self.run(is_tchar)
    }

    /// A quoted-string, the opening quote not yet consumed. Returns the unescaped value, borrowed
    /// from the input unless it contained a quoted-pair.
    fn quoted(&mut self) -> Result<Cow<'a, str>, Error> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.pos += 1;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            let start = self.pos;
            let run = if self.visible {
                let rest = self.rest();
                // An escape right after another (`\"\"…`) needs no search.
                let len = match rest.first() {
                    Some(b'"' | b'\\') => 0,
                    _ => memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len()),
                };
                self.pos += len;
                &rest[..len]
            } else {
                self.run(is_qdtext)
            };
            match self.peek() {
                Some(b'"') => {
                    let value = match owned {
                        None => self.text_from(start).map(Cow::Borrowed),
                        Some(mut buf) => {
                            buf.extend_from_slice(run);
                            String::from_utf8(buf)
                                .map(Cow::Owned)
                                .map_err(|_| Error::Malformed("non-ASCII value"))
                        }
                    };
                    self.pos += 1;
                    return value;
                }
                Some(b'\\') => match self.s.get(self.pos + 1) {
                    Some(&b) if is_quoted_pair_char(b) => {
                        let buf = owned.get_or_insert_with(Vec::new);
                        buf.extend_from_slice(run);
                        buf.push(b);
                        self.pos += 2;
                        // A run of escapes (`\"\"…`, the costliest input) in one tight loop.
                        while let [b'\\', b, ..] = self.s[self.pos..] {
                            if !is_quoted_pair_char(b) {
                                break;
                            }
                            buf.push(b);
                            self.pos += 2;
                        }
                    }
                    _ => return Err(Error::Malformed("bad escape in quoted string")),
                },
                None => return Err(Error::Malformed("unterminated quoted string")),
                Some(_) => return Err(Error::Malformed("invalid character in quoted string")),
            }
        }
    }
}

/// How Drone's signature header begins, up to and including the comma after `algorithm`.
const DRONE_PREFIX: &[u8] = br#"keyId="hmac-key",algorithm="hmac-sha256","#;

/// Parameters borrowed from the header value: what the verifier works on, without allocating.
#[derive(Debug)]
pub(crate) struct RawParams<'a> {
    pub(crate) key_id: Cow<'a, str>,
    pub(crate) algorithm: Option<Cow<'a, str>>,
    pub(crate) signature: Cow<'a, str>,
    pub(crate) headers: Option<Cow<'a, str>>,
    pub(crate) created: Option<i64>,
    pub(crate) expires: Option<i64>,
}

impl<'a> RawParams<'a> {
    pub(crate) fn parse(value: &'a [u8]) -> Result<RawParams<'a>, Error> {
        if value.len() > MAX_HEADER_LEN {
            return Err(Error::Malformed("signature header too long"));
        }
        // A fold rather than `all`: no early exit, so the check runs on whole vectors of bytes.
        let visible = value.iter().fold(true, |ok, &b| {
            ok & (b == b'\t' || (b' '..=b'~').contains(&b))
        });
        let mut cur = Cursor {
            s: value,
            text: std::str::from_utf8(value).ok(),
            visible,
            pos: 0,
        };
        let mut seen: [bool; 6] = [false; 6];
        let mut count = 0usize;
        let (mut key_id, mut algorithm, mut signature, mut headers) = (None, None, None, None);
        let (mut created, mut expires) = (None, None);

        cur.skip_ows();
        // Every Drone request opens with the same two parameters: recognised in one comparison,
        // they leave the parser where it would be after reading them, on the comma that follows.
        if value.starts_with(DRONE_PREFIX) {
            key_id = Some(Cow::Borrowed(super::DRONE_KEY_ID));
            algorithm = Some(Cow::Borrowed(super::HMAC_SHA256));
            seen[Name::KeyId as usize] = true;
            seen[Name::Algorithm as usize] = true;
            count = 2;
            cur.pos = DRONE_PREFIX.len() - 1;
        }
        loop {
            // Empty list elements (`a=b,,c=d`) are allowed by RFC 7230 §7.
            while cur.peek() == Some(b',') {
                cur.pos += 1;
                cur.skip_ows();
            }
            if cur.peek().is_none() {
                break;
            }
            count += 1;
            if count > MAX_PARAMS {
                return Err(Error::Malformed("too many parameters"));
            }
            let name = cur.token();
            if name.is_empty() {
                return Err(Error::Malformed("expected a parameter name"));
            }
            cur.skip_ows();
            if cur.peek() != Some(b'=') {
                return Err(Error::Malformed("expected `=` after a parameter name"));
            }
            cur.pos += 1;
            cur.skip_ows();
            let value = match cur.peek() {
                Some(b'"') => cur.quoted()?,
                _ => {
                    let start = cur.pos;
                    if cur.token().is_empty() {
                        return Err(Error::Malformed("expected a parameter value"));
                    }
                    Cow::Borrowed(cur.text_from(start)?)
                }
            };
            let name = Name::from_bytes(name).ok_or(Error::Malformed("unknown parameter"))?;
            let slot = name as usize;
            if seen[slot] {
                return Err(Error::Malformed("duplicate parameter"));
            }
            seen[slot] = true;
            match name {
                Name::KeyId => key_id = Some(value),
                Name::Algorithm => algorithm = Some(value),
                Name::Signature => signature = Some(value),
                Name::Headers => headers = Some(value),
                Name::Created => created = Some(parse_unix(&value)?),
                Name::Expires => expires = Some(parse_unix(&value)?),
            }
            cur.skip_ows();
            match cur.peek() {
                None => break,
                Some(b',') => {}
                Some(_) => return Err(Error::Malformed("expected `,` between parameters")),
            }
        }
        Ok(RawParams {
            key_id: key_id.ok_or(Error::Malformed("missing keyId"))?,
            algorithm,
            signature: signature.ok_or(Error::Malformed("missing signature"))?,
            headers,
            created,
            expires,
        })
    }

    pub(crate) fn algorithm(&self) -> &str {
        self.algorithm.as_deref().unwrap_or(super::HMAC_SHA256)
    }
}

impl SignatureParams {
    /// Parses the value of a `Signature` header, or of an `Authorization` header after its
    /// `Signature` scheme word.
    ///
    /// The grammar is RFC 7235's `#auth-param`: `name BWS "=" BWS ( token / quoted-string )`,
    /// separated by commas with optional whitespace; names are case-insensitive; quoted strings may
    /// contain commas, spaces and `\"` escapes. Known names are `keyId`, `algorithm`, `signature`,
    /// `headers`, `created` and `expires`; `keyId` and `signature` are required.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for anything else: an unknown or duplicate parameter, text between
    /// parameters, an unterminated quote, a value over [`MAX_HEADER_LEN`] bytes, more than
    /// [`MAX_PARAMS`] parameters, a non-integer `created`/`expires`. The parser runs in time linear
    /// in the input and never panics.
    pub fn parse(value: &str) -> Result<SignatureParams, Error> {
        Self::parse_bytes(value.as_bytes())
    }

    /// Like [`parse`](SignatureParams::parse), on raw header bytes.
    ///
    /// # Errors
    ///
    /// As [`parse`](SignatureParams::parse); bytes outside the grammar are malformed.
    pub fn parse_bytes(value: &[u8]) -> Result<SignatureParams, Error> {
        let raw = RawParams::parse(value)?;
        Ok(SignatureParams {
            key_id: raw.key_id.into_owned(),
            algorithm: raw.algorithm.map(Cow::into_owned),
            signature: raw.signature.into_owned(),
            headers: raw.headers.map(Cow::into_owned),
            created: raw.created,
            expires: raw.expires,
        })
    }

    /// The `algorithm` in effect: the parameter's value, or `hmac-sha256` when it is absent.
    pub fn algorithm(&self) -> &str {
        self.algorithm.as_deref().unwrap_or(super::HMAC_SHA256)
    }
}

fn parse_unix(value: &str) -> Result<i64, Error> {
    // `i64::from_str` accepts a leading `+`; cavage's values are plain digits.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Malformed("created/expires is not a Unix time"));
    }
    value
        .parse()
        .map_err(|_| Error::Malformed("created/expires out of range"))
}

impl FromStr for SignatureParams {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignatureParams::parse(s)
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    f.write_str("\"")?;
    let mut rest = value;
    while let Some(i) = rest.find(['"', '\\']) {
        f.write_str(&rest[..i])?;
        f.write_str("\\")?;
        f.write_str(&rest[i..=i])?;
        rest = &rest[i + 1..];
    }
    f.write_str(rest)?;
    f.write_str("\"")
}

impl fmt::Display for SignatureParams {
    /// Renders the parameters in Drone's exact layout:
    /// `keyId="…",algorithm="…",signature="…",headers="…"`, then `created=…,expires=…` when set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("keyId=")?;
        write_quoted(f, &self.key_id)?;
        if let Some(alg) = &self.algorithm {
            f.write_str(",algorithm=")?;
            write_quoted(f, alg)?;
        }
        f.write_str(",signature=")?;
        write_quoted(f, &self.signature)?;
        if let Some(headers) = &self.headers {
            f.write_str(",headers=")?;
            write_quoted(f, headers)?;
        }
        if let Some(created) = self.created {
            write!(f, ",created={created}")?;
        }
        if let Some(expires) = self.expires {
            write!(f, ",expires={expires}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRONE: &str = r#"keyId="hmac-key",algorithm="hmac-sha256",signature="rTfEZCy4nPkRRXWFosH7dQkHBFLyxJ+oVpDoSXFkxOc=",headers="accept accept-encoding content-type date digest""#;

    fn malformed(input: &str) -> &'static str {
        match SignatureParams::parse(input) {
            Err(Error::Malformed(why)) => why,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    #[test]
    fn drone_header_round_trips_byte_for_byte() {
        let p = SignatureParams::parse(DRONE).unwrap();
        assert_eq!(p.key_id, "hmac-key");
        assert_eq!(p.algorithm(), "hmac-sha256");
        assert_eq!(p.signature, "rTfEZCy4nPkRRXWFosH7dQkHBFLyxJ+oVpDoSXFkxOc=");
        assert_eq!(
            p.headers.as_deref(),
            Some("accept accept-encoding content-type date digest")
        );
        assert_eq!(p.to_string(), DRONE);
    }

    #[test]
    fn whitespace_tokens_and_case_are_accepted() {
        let p = SignatureParams::parse(
            " KeyId = hmac-key ,\tALGORITHM=hmac-sha256 , signature = \"abc=\" ,headers=\"date\" ",
        )
        .unwrap();
        assert_eq!(p.key_id, "hmac-key");
        assert_eq!(p.algorithm.as_deref(), Some("hmac-sha256"));
        assert_eq!(p.signature, "abc=");
        assert_eq!(p.headers.as_deref(), Some("date"));
    }

    #[test]
    fn b09_comma_inside_quotes_is_not_a_separator() {
        let p = SignatureParams::parse(r#"keyId="a,b",signature="x""#).unwrap();
        assert_eq!(p.key_id, "a,b");
    }

    #[test]
    fn b10_quoted_pair_is_unescaped_and_rendered_back() {
        let p = SignatureParams::parse(r#"keyId="a\"b\\c",signature="x""#).unwrap();
        assert_eq!(p.key_id, "a\"b\\c");
        assert_eq!(SignatureParams::parse(&p.to_string()).unwrap(), p);
    }

    #[test]
    fn b07_duplicates_in_any_case_are_malformed() {
        assert_eq!(
            malformed(r#"keyId="a",signature="x",signature="y""#),
            "duplicate parameter"
        );
        assert_eq!(
            malformed(r#"keyId="a",KeyId="b",signature="x""#),
            "duplicate parameter"
        );
    }

    #[test]
    fn b08_required_parameters() {
        assert_eq!(malformed(r#"signature="x""#), "missing keyId");
        assert_eq!(malformed(r#"keyId="k""#), "missing signature");
        assert_eq!(malformed(""), "missing keyId");
    }

    #[test]
    fn b11_garbage_and_unterminated_quotes() {
        assert_eq!(
            malformed(r#"keyId="k",signature="x"#),
            "unterminated quoted string"
        );
        assert_eq!(
            malformed(r#"keyId="k" junk,signature="x""#),
            "expected `,` between parameters"
        );
        // A second scheme word inside the Signature header value.
        assert_eq!(
            malformed(r#"Signature keyId="k",signature="x""#),
            "expected `=` after a parameter name"
        );
        assert_eq!(
            malformed(r#"keyId="k",signature="x",="y""#),
            "expected a parameter name"
        );
        assert_eq!(
            malformed(r#"keyId=,signature="x""#),
            "expected a parameter value"
        );
        assert_eq!(
            malformed("keyId=\"k\\\u{1}\",signature=\"x\""),
            "bad escape in quoted string"
        );
        assert_eq!(
            malformed("keyId=\"k\u{1}\",signature=\"x\""),
            "invalid character in quoted string"
        );
    }

    #[test]
    fn unknown_parameters_are_malformed_like_go() {
        assert_eq!(
            malformed(r#"keyId="k",signature="x",foo="bar""#),
            "unknown parameter"
        );
    }

    #[test]
    fn created_and_expires_are_integers() {
        let p = SignatureParams::parse(
            r#"keyId="k",signature="x",created=1577836800,expires="1577837100""#,
        )
        .unwrap();
        assert_eq!(p.created, Some(1_577_836_800));
        assert_eq!(p.expires, Some(1_577_837_100));
        assert_eq!(SignatureParams::parse(&p.to_string()).unwrap(), p);
        assert_eq!(
            malformed(r#"keyId="k",signature="x",created="+5""#),
            "created/expires is not a Unix time"
        );
        assert_eq!(
            malformed(r#"keyId="k",signature="x",created=99999999999999999999999"#),
            "created/expires out of range"
        );
    }

    #[test]
    fn drone_prefix_shortcut_parses_like_the_general_grammar() {
        // `KeyId` does not match the shortcut's exact bytes, so it takes the general path.
        for rest in [
            r#"signature="c2ln",headers="date digest""#,
            r#"signature="c2ln""#,
            r#" , ,signature = c2ln , headers="date""#,
            r#"signature="a\"b",created=5"#,
            r#"keyId="other",signature="x""#,
            r#"algorithm="hmac-sha1",signature="x""#,
            r#"signature="x","#,
            r#"signature="x" junk"#,
            "",
            ",",
            r#"foo="bar""#,
            "signature=\"\u{1}\"",
        ] {
            let fast = format!(r#"keyId="hmac-key",algorithm="hmac-sha256",{rest}"#);
            let general = format!(r#"KeyId="hmac-key",algorithm="hmac-sha256",{rest}"#);
            assert_eq!(
                SignatureParams::parse(&fast),
                SignatureParams::parse(&general),
                "{fast}"
            );
        }
        let p = SignatureParams::parse(DRONE).unwrap();
        assert_eq!(
            (p.key_id.as_str(), p.algorithm()),
            ("hmac-key", "hmac-sha256")
        );
    }

    #[test]
    fn b06_caps() {
        let long = format!(r#"keyId="{}",signature="x""#, "k".repeat(MAX_HEADER_LEN));
        assert_eq!(malformed(&long), "signature header too long");
        let many = format!("{}keyId=\"k\",signature=\"x\"", ",".repeat(100));
        assert!(
            SignatureParams::parse(&many).is_ok(),
            "empty elements do not count"
        );
        // Every parameter past the sixth is a duplicate or unknown: the parser stops there.
        let too_many: String = (0..MAX_PARAMS + 1).map(|_| "keyId=k,").collect();
        assert_eq!(malformed(&too_many), "duplicate parameter");
    }
}
