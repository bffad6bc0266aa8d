//! The `headers` list and the signing string built from it.

use std::borrow::Cow;

use http::{HeaderMap, Method, Uri};

use super::Error;
use super::params::is_tchar;

/// The pseudo-header that covers the method and request URI.
pub const REQUEST_TARGET: &str = "(request-target)";

/// Most entries a `headers` list may have (bounds the work of the duplicate check).
pub const MAX_HEADER_LIST_ENTRIES: usize = 32;

/// A parsed `headers` parameter: the lower-cased names of the signed headers, in signing order.
///
/// ```
/// use drone_extension::signature::HeaderList;
///
/// let list = HeaderList::parse("Date Digest")?;
/// assert_eq!(list.iter().collect::<Vec<_>>(), ["date", "digest"]);
/// assert!(HeaderList::parse("date  digest").is_err()); // an empty entry
/// # Ok::<(), drone_extension::signature::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderList<'a> {
    entries: Vec<Cow<'a, str>>,
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
        let mut entries = Vec::with_capacity(8);
        for name in list.split(' ') {
            if entries.len() == MAX_HEADER_LIST_ENTRIES {
                return Err(Error::Malformed("too many entries in the headers list"));
            }
            let bytes = name.as_bytes();
            let valid = match bytes {
                [] => return Err(Error::Malformed("empty entry in the headers list")),
                [b'(', inner @ .., b')'] => !inner.is_empty() && inner.iter().all(|&b| is_tchar(b)),
                _ => bytes.iter().all(|&b| is_tchar(b)),
            };
            if !valid {
                return Err(Error::Malformed("invalid name in the headers list"));
            }
            entries.push(if bytes.iter().any(u8::is_ascii_uppercase) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name)
            });
        }
        Ok(HeaderList { entries })
    }

    /// The names, lower-cased, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|e| e.as_ref())
    }

    /// Whether `name` (lower-case) is in the list.
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|e| e == name)
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty (never true for a parsed list).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first name that appears twice, if any.
    pub(crate) fn first_duplicate(&self) -> Option<&str> {
        let names: Vec<&str> = self.iter().collect();
        names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
            .map(|(_, n)| *n)
    }
}

/// One line of the signing string: a lower-case name and the value it covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: LineValue<'a>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum LineValue<'a> {
    /// A header value, trimmed of optional whitespace.
    Header(&'a [u8]),
    /// `(request-target)`: lower-case method and the request URI as received.
    RequestTarget { method: &'a Method, uri: &'a Uri },
}

/// Where a signing string is written: a byte buffer, or straight into a MAC.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for hmac::Hmac<sha2::Sha256> {
    fn put(&mut self, bytes: &[u8]) {
        hmac::Mac::update(self, bytes);
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

/// Finds the single value of header `name` (lower-case) for the signing string.
///
/// `host` falls back to the URI's authority (HTTP/2 has no `Host` field).
pub(crate) fn resolve<'a>(
    name: &'a str,
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
) -> Result<Line<'a>, Error> {
    if name == REQUEST_TARGET {
        return Ok(Line {
            name,
            value: LineValue::RequestTarget { method, uri },
        });
    }
    if name.starts_with('(') {
        return Err(Error::Policy("pseudo-header not supported"));
    }
    let mut values = headers.get_all(name).iter();
    let value = match (values.next(), values.next()) {
        (Some(v), None) => trim_ows(v.as_bytes()),
        (Some(_), Some(_)) => return Err(Error::Malformed("a signed header appears twice")),
        (None, _) if name == "host" => match uri.authority() {
            Some(authority) => authority.as_str().as_bytes(),
            None => return Err(Error::HeaderAbsent(name.to_owned())),
        },
        (None, _) => return Err(Error::HeaderAbsent(name.to_owned())),
    };
    if value.is_empty() {
        return Err(Error::HeaderAbsent(name.to_owned()));
    }
    if !value
        .iter()
        .all(|&b| b == b'\t' || (0x20..=0x7E).contains(&b))
    {
        return Err(Error::Malformed("a signed header has non-visible bytes"));
    }
    Ok(Line {
        name,
        value: LineValue::Header(value),
    })
}

/// Writes `name: value` lines joined by `\n`, with no trailing newline.
pub(crate) fn write_lines<S: Sink>(sink: &mut S, lines: &[Line<'_>]) {
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            sink.put(b"\n");
        }
        sink.put(line.name.as_bytes());
        sink.put(b": ");
        match line.value {
            LineValue::Header(v) => sink.put(v),
            LineValue::RequestTarget { method, uri } => {
                sink.put(method.as_str().to_ascii_lowercase().as_bytes());
                sink.put(b" ");
                sink.put(
                    uri.path_and_query()
                        .map_or("/", |pq| pq.as_str())
                        .as_bytes(),
                );
            }
        }
    }
}

/// Resolves every name of `list` against a request.
pub(crate) fn resolve_all<'a>(
    list: &'a HeaderList<'_>,
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
) -> Result<Vec<Line<'a>>, Error> {
    list.iter()
        .map(|name| resolve(name, method, uri, headers))
        .collect()
}

/// Builds the draft-cavage signing string of a request for a header list.
///
/// Each name becomes a line `name: value`: the header's value trimmed of optional whitespace, or
/// for `(request-target)` the lower-case method, a space and the path with query as received.
/// Lines are joined with `\n`, with no trailing newline. This is byte for byte what
/// httpsignatures-go (and so Drone) signs.
///
/// ```
/// use drone_extension::signature::{HeaderList, signing_string};
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
    let lines = resolve_all(list, method, uri, headers)?;
    let mut out = Vec::with_capacity(256);
    write_lines(&mut out, &lines);
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
    fn duplicates_are_found() {
        assert_eq!(
            HeaderList::parse("date digest date")
                .unwrap()
                .first_duplicate(),
            Some("date")
        );
        assert_eq!(
            HeaderList::parse("date digest").unwrap().first_duplicate(),
            None
        );
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
