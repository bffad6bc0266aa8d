//! The `headers` list and the signing string built from it.

use std::borrow::Cow;
use std::fmt;

use hmac::{Hmac, Mac};
use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE, DATE, HOST, HeaderName};
use http::{HeaderMap, Method, Uri};
use sha2::Sha256;

use super::Error;
use super::params::TCHAR;

/// The pseudo-header that covers the method and request URI.
pub const REQUEST_TARGET: &str = "(request-target)";

/// Most entries a `headers` list may have (bounds the work of the duplicate check).
pub const MAX_HEADER_LIST_ENTRIES: usize = 32;

/// A parsed `headers` parameter: the lower-cased names of the signed headers, in signing order.
///
/// ```
/// use drone_extension::__fuzz::HeaderList;
///
/// let list = HeaderList::parse("Date Digest")?;
/// assert_eq!(list.iter().collect::<Vec<_>>(), ["date", "digest"]);
/// assert!(HeaderList::parse("date  digest").is_err()); // an empty entry
/// # Ok::<(), drone_extension::signature::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HeaderList<'a> {
    /// The list as received, lower-cased: borrowed unless it had upper-case letters.
    names: Cow<'a, str>,
    /// Where each name ends in `names` (the next one starts one byte later). Unused slots are 0.
    ends: [u32; MAX_HEADER_LIST_ENTRIES],
    /// What each name is, decided once here rather than for every request that signs the list.
    fields: [Field; MAX_HEADER_LIST_ENTRIES],
    len: usize,
}

impl fmt::Debug for HeaderList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> HeaderList<'a> {
    /// Parses a `headers` value: names separated by single spaces, lower-cased as drone-go does.
    ///
    /// Each entry is an HTTP field name (a token) or a `(pseudo-header)`. Whether the list meets a
    /// policy (duplicates, required names, allowed pseudo-headers) is the [`Policy`](super::Policy)'s
    /// business, not the parser's.
    ///
    /// # Errors
    ///
    /// [`Error::Policy`] for an empty list (a signature over nothing can be replayed anywhere);
    /// [`Error::Malformed`] for an empty entry (double, leading or trailing space), a character
    /// outside a token, or more than [`MAX_HEADER_LIST_ENTRIES`] entries.
    pub fn parse(list: &'a str) -> Result<HeaderList<'a>, Error> {
        if list.is_empty() {
            return Err(Error::Policy("empty headers list"));
        }
        let mut ends = [0; MAX_HEADER_LIST_ENTRIES];
        let (mut len, mut end) = (0, 0);
        // One pass over the bytes: each name is checked and upper case noted in the same loop.
        let mut class = 0;
        for name in list.as_bytes().split(|&b| b == b' ') {
            if len == MAX_HEADER_LIST_ENTRIES {
                return Err(Error::Malformed("too many entries in the headers list"));
            }
            let inner = match name {
                [] => return Err(Error::Malformed("empty entry in the headers list")),
                [b'(', inner @ .., b')'] if !inner.is_empty() => inner,
                _ => name,
            };
            let name_class = inner
                .iter()
                .fold(0, |acc, &b| acc | NAME_CLASS[usize::from(b)]);
            if name_class & NOT_TCHAR != 0 {
                return Err(Error::Malformed("invalid name in the headers list"));
            }
            class |= name_class;
            end += name.len();
            ends[len] =
                u32::try_from(end).map_err(|_| Error::Malformed("headers list too long"))?;
            end += 1;
            len += 1;
        }
        // One string for the whole list, not one per entry: the common case allocates nothing.
        let names = if class & UPPER != 0 {
            Cow::Owned(list.to_ascii_lowercase())
        } else {
            Cow::Borrowed(list)
        };
        let mut list = HeaderList {
            names,
            ends,
            fields: [Field::Other; MAX_HEADER_LIST_ENTRIES],
            len,
        };
        for i in 0..len {
            list.fields[i] = Field::of(list.name(i));
        }
        Ok(list)
    }

    /// The names, lower-cased, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len).map(|i| self.name(i))
    }

    /// Name `i` (below `len`).
    fn name(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize + 1,
        };
        // ASCII only, so every offset is a character boundary.
        &self.names[start..self.ends[i] as usize]
    }

    /// Whether a `(pseudo-header)` other than `(request-target)` is listed.
    pub(crate) fn has_unsupported_pseudo_header(&self) -> bool {
        self.fields[..self.len].contains(&Field::Pseudo)
    }

    /// Whether `name` (lower-case) is in the list.
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|e| e == name)
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty (never true for a parsed list).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The lower-cased list, names separated by single spaces.
    pub(crate) fn as_str(&self) -> &str {
        &self.names
    }
}

/// [`NAME_CLASS`] bit: the byte is not a `tchar`.
const NOT_TCHAR: u8 = 1;
/// [`NAME_CLASS`] bit: the byte is an upper-case letter.
const UPPER: u8 = 2;

/// What each byte is in a header name, as [`NOT_TCHAR`] and [`UPPER`] bits.
const NAME_CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = if !TCHAR[b] {
            NOT_TCHAR
        } else if (b as u8).is_ascii_uppercase() {
            UPPER
        } else {
            0
        };
        b += 1;
    }
    table
};

/// Where a signing string is written: a byte buffer, or straight into a MAC.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
    fn byte(&mut self, byte: u8);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn byte(&mut self, byte: u8) {
        self.push(byte);
    }
}

/// Feeds a MAC through a stack buffer. Drone's signing string comes in some twenty pieces of a
/// few bytes each, and a MAC update per piece costs more than copying them.
struct MacSink<'m> {
    mac: &'m mut Hmac<Sha256>,
    buf: [u8; 256],
    len: usize,
}

impl MacSink<'_> {
    fn flush(&mut self) {
        self.mac.update(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl Sink for MacSink<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        if bytes.len() > self.buf.len() - self.len {
            self.flush();
            if bytes.len() > self.buf.len() {
                self.mac.update(bytes);
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// One byte, stored without a call to `memcpy`: the separators of every line.
    #[inline]
    fn byte(&mut self, byte: u8) {
        if self.len == self.buf.len() {
            self.flush();
        }
        self.buf[self.len] = byte;
        self.len += 1;
    }
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The `Digest` header.
static DIGEST: HeaderName = HeaderName::from_static("digest");

/// What a listed name stands for: the headers a verifier reads besides signing them and the
/// headers Drone signs, which are looked up as constants (no name to parse for each request).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    /// `(request-target)`.
    RequestTarget,
    /// Any other `(pseudo-header)`: not supported.
    Pseudo,
    Accept,
    AcceptEncoding,
    ContentType,
    Date,
    Digest,
    Host,
    /// A header looked up by its name.
    Other,
}

impl Field {
    /// The field a lower-case listed name stands for.
    fn of(name: &str) -> Field {
        match name {
            REQUEST_TARGET => Field::RequestTarget,
            _ if name.starts_with('(') => Field::Pseudo,
            "accept" => Field::Accept,
            "accept-encoding" => Field::AcceptEncoding,
            "content-type" => Field::ContentType,
            "date" => Field::Date,
            "digest" => Field::Digest,
            "host" => Field::Host,
            _ => Field::Other,
        }
    }
}

/// Finds the single value of the listed header `name`, which stands for `field`, for the
/// signing string: the value, trimmed of optional whitespace, or `b""` for `(request-target)` (a
/// header value is never empty).
///
/// `host` falls back to the URI's authority (HTTP/2 has no `Host` field).
fn resolve<'a>(
    field: Field,
    name: &str,
    uri: &'a Uri,
    headers: &'a HeaderMap,
) -> Result<&'a [u8], Error> {
    let all = match field {
        Field::RequestTarget => return Ok(b""),
        Field::Pseudo => return Err(Error::Policy("pseudo-header not supported")),
        Field::Accept => headers.get_all(ACCEPT),
        Field::AcceptEncoding => headers.get_all(ACCEPT_ENCODING),
        Field::ContentType => headers.get_all(CONTENT_TYPE),
        Field::Date => headers.get_all(DATE),
        Field::Digest => headers.get_all(&DIGEST),
        Field::Host => headers.get_all(HOST),
        Field::Other => headers.get_all(name),
    };
    let mut values = all.iter();
    let value = match (values.next(), values.next()) {
        (Some(v), None) => trim_ows(v.as_bytes()),
        (Some(_), Some(_)) => return Err(Error::Malformed("a signed header appears twice")),
        (None, _) if field == Field::Host => match uri.authority() {
            Some(authority) => authority.as_str().as_bytes(),
            None => return Err(Error::HeaderAbsent(name.to_owned())),
        },
        (None, _) => return Err(Error::HeaderAbsent(name.to_owned())),
    };
    if value.is_empty() {
        return Err(Error::HeaderAbsent(name.to_owned()));
    }
    // A fold rather than `all`: no early exit, so the check runs on whole vectors of bytes.
    let visible = value.iter().fold(true, |ok, &b| {
        ok & (b == b'\t' || (b' '..=b'~').contains(&b))
    });
    if !visible {
        return Err(Error::Malformed("a signed header has non-visible bytes"));
    }
    Ok(value)
}

/// A header list resolved against a request: everything its signing string is made of.
pub(crate) struct Resolved<'a> {
    list: &'a HeaderList<'a>,
    /// The value of each listed name, in order; `b""` for `(request-target)`.
    values: [&'a [u8]; MAX_HEADER_LIST_ENTRIES],
    method: &'a Method,
    uri: &'a Uri,
    /// The signed `Accept`, found while resolving.
    pub(crate) accept: Option<&'a [u8]>,
    /// The signed `Date`.
    pub(crate) date: Option<&'a [u8]>,
    /// The signed `Digest`.
    pub(crate) digest: Option<&'a [u8]>,
}

impl<'a> Resolved<'a> {
    /// Resolves every name of `list` against a request, without allocating.
    pub(crate) fn new(
        list: &'a HeaderList<'a>,
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
    ) -> Result<Resolved<'a>, Error> {
        let mut resolved = Resolved {
            list,
            values: [b""; MAX_HEADER_LIST_ENTRIES],
            method,
            uri,
            accept: None,
            date: None,
            digest: None,
        };
        // A parsed list has at most MAX_HEADER_LIST_ENTRIES names, so `zip` sees every one.
        let names = list.iter().zip(&list.fields);
        for (slot, (name, &field)) in resolved.values.iter_mut().zip(names) {
            let value = resolve(field, name, uri, headers)?;
            *slot = value;
            match field {
                Field::Accept => resolved.accept = Some(value),
                Field::Date => resolved.date = Some(value),
                Field::Digest => resolved.digest = Some(value),
                _ => {}
            }
        }
        Ok(resolved)
    }

    /// Writes `name: value` lines joined by `\n`, with no trailing newline.
    fn write<S: Sink>(&self, sink: &mut S) {
        for (i, (name, &value)) in self.list.iter().zip(&self.values).enumerate() {
            if i > 0 {
                sink.byte(b'\n');
            }
            sink.put(name.as_bytes());
            sink.byte(b':');
            sink.byte(b' ');
            if value.is_empty() {
                // `(request-target)`: lower-case method and the request URI as received.
                for b in self.method.as_str().bytes() {
                    sink.byte(b.to_ascii_lowercase());
                }
                sink.byte(b' ');
                let target = self.uri.path_and_query().map_or("/", |pq| pq.as_str());
                sink.put(target.as_bytes());
            } else {
                sink.put(value);
            }
        }
    }

    /// Feeds the signing string into `mac`.
    pub(crate) fn mac(&self, mac: &mut Hmac<Sha256>) {
        let mut sink = MacSink {
            mac,
            buf: [0; 256],
            len: 0,
        };
        self.write(&mut sink);
        sink.flush();
    }
}

/// Builds the draft-cavage signing string of a request for a header list.
///
/// Each name becomes a line `name: value`: the header's value trimmed of optional whitespace, or
/// for `(request-target)` the lower-case method, a space and the path with query as received.
/// Lines are joined with `\n`, with no trailing newline. This is byte for byte what
/// httpsignatures-go (and so Drone) signs.
///
/// ```
/// use drone_extension::__fuzz::{HeaderList, signing_string};
/// use http::{HeaderMap, Method, Uri};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("date", "Wed, 01 Jan 2020 00:00:00 GMT".parse().unwrap());
/// let uri: Uri = "/?x=1".parse().unwrap();
/// let list = HeaderList::parse("(request-target) date")?;
/// let s = signing_string(&Method::POST, &uri, &headers, &list)?;
/// assert_eq!(s, "(request-target): post /?x=1\ndate: Wed, 01 Jan 2020 00:00:00 GMT");
/// # Ok::<(), drone_extension::signature::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::HeaderAbsent`] when a listed header is missing or empty; [`Error::Malformed`] when a
/// listed header appears more than once (which value was signed cannot be known) or carries
/// control or non-ASCII bytes; [`Error::Policy`] for a pseudo-header other than
/// `(request-target)`.
pub fn signing_string(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    list: &HeaderList<'_>,
) -> Result<String, Error> {
    let mut out = Vec::with_capacity(256);
    Resolved::new(list, method, uri, headers)?.write(&mut out);
    // Every byte written is visible ASCII, a space or a tab.
    String::from_utf8(out).map_err(|_| Error::Malformed("non-ASCII signing string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn req(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn build(pairs: &[(&str, &str)], list: &str) -> Result<String, Error> {
        let uri = Uri::from_static("/");
        signing_string(&Method::POST, &uri, &req(pairs), &HeaderList::parse(list)?)
    }

    #[test]
    fn b24_upper_case_list_is_lower_cased() {
        let list = HeaderList::parse("Date DIGEST").unwrap();
        assert_eq!(list.iter().collect::<Vec<_>>(), ["date", "digest"]);
    }

    #[test]
    fn b25_empty_entries_and_bad_characters_are_malformed() {
        for bad in [
            "date  digest",
            " date",
            "date ",
            "date\tdigest",
            "da:te",
            "()",
            "(x",
        ] {
            assert!(
                matches!(HeaderList::parse(bad), Err(Error::Malformed(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(HeaderList::parse(""), Err(Error::Policy(_))));
        let long = vec!["a"; MAX_HEADER_LIST_ENTRIES + 1].join(" ");
        assert!(matches!(HeaderList::parse(&long), Err(Error::Malformed(_))));
    }

    #[test]
    fn each_name_is_classified_once_after_lower_casing() {
        let list =
            HeaderList::parse("(request-target) (created) Accept DATE digest Host x-date").unwrap();
        assert_eq!(
            list.fields[..list.len()],
            [
                Field::RequestTarget,
                Field::Pseudo,
                Field::Accept,
                Field::Date,
                Field::Digest,
                Field::Host,
                Field::Other,
            ]
        );
        assert!(list.fields[list.len()..].iter().all(|f| *f == Field::Other));
        // A name looked up by a constant and one looked up by its text resolve alike.
        let h = req(&[("date", "d"), ("x-date", "x"), ("accept", "a")]);
        let uri = Uri::from_static("/");
        let list = HeaderList::parse("DATE X-Date accept").unwrap();
        assert_eq!(
            signing_string(&Method::POST, &uri, &h, &list).unwrap(),
            "date: d\nx-date: x\naccept: a"
        );
    }

    #[test]
    fn request_target_lower_cases_any_method() {
        let uri = Uri::from_static("/p");
        let list = HeaderList::parse("(request-target)").unwrap();
        let method = Method::from_bytes(b"MkCol").unwrap();
        let s = signing_string(&method, &uri, &HeaderMap::new(), &list).unwrap();
        assert_eq!(s, "(request-target): mkcol /p");
    }

    #[test]
    fn b28_values_are_trimmed() {
        assert_eq!(build(&[("date", "  x \t")], "date").unwrap(), "date: x");
    }

    #[test]
    fn b22_b29_b31_absent_and_empty_headers() {
        assert_eq!(
            build(&[("date", "x")], "date digest"),
            Err(Error::HeaderAbsent("digest".into()))
        );
        assert_eq!(
            build(&[("date", "x"), ("accept-encoding", "")], "accept-encoding"),
            Err(Error::HeaderAbsent("accept-encoding".into()))
        );
        assert_eq!(
            build(
                &[("date", "x"), ("accept-encoding", "   ")],
                "accept-encoding"
            ),
            Err(Error::HeaderAbsent("accept-encoding".into()))
        );
    }

    #[test]
    fn b27_duplicate_signed_header_is_malformed() {
        assert!(matches!(
            build(&[("date", "a"), ("date", "b")], "date"),
            Err(Error::Malformed(_))
        ));
        // An unsigned duplicate does not matter.
        assert_eq!(
            build(&[("date", "a"), ("x", "1"), ("x", "2")], "date").unwrap(),
            "date: a"
        );
    }

    #[test]
    fn b30_non_visible_bytes_are_malformed() {
        let mut h = HeaderMap::new();
        h.insert("date", HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        let list = HeaderList::parse("date").unwrap();
        let uri = Uri::from_static("/");
        assert!(matches!(
            signing_string(&Method::POST, &uri, &h, &list),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn request_target_and_host() {
        let uri: Uri = "http://example.com:3000/a/B?x=1&y".parse().unwrap();
        let list = HeaderList::parse("(request-target) host").unwrap();
        let s = signing_string(&Method::PUT, &uri, &HeaderMap::new(), &list).unwrap();
        assert_eq!(
            s,
            "(request-target): put /a/B?x=1&y\nhost: example.com:3000"
        );
        let with_host = req(&[("host", "other")]);
        let s = signing_string(&Method::PUT, &uri, &with_host, &list).unwrap();
        assert_eq!(s, "(request-target): put /a/B?x=1&y\nhost: other");
        let other = HeaderList::parse("(created)").unwrap();
        assert!(matches!(
            signing_string(&Method::PUT, &uri, &with_host, &other),
            Err(Error::Policy(_))
        ));
    }
}
