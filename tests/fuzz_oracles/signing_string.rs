//! `signing_string`: arbitrary header maps × arbitrary `headers` lists.
//!
//! The input is text, so that seeds are readable and the dictionary applies:
//!
//! ```text
//! accept accept-encoding content-type date digest      <- the `headers` parameter
//! POST /path?query                                     <- method and request target
//! Accept: application/vnd.drone.secret.v1+json         <- header fields, one a line, in order;
//! Date:   Wed, 01 Jan 2020 00:00:00 GMT                   names repeat freely
//! ```
//!
//! Properties: `HeaderList::parse` and `signing_string` never panic and agree with a small model
//! of the draft-cavage rules (same list, same lines, same error class); every signing string has
//! exactly one line per list entry, each `name: value` with the entry's name, and no CR or LF
//! inside a line: a header value can never forge a line of its own (RFC 9421 §7.5.5).

use drone_extension::__fuzz::{
    HeaderList, MAX_HEADER_LIST_ENTRIES, REQUEST_TARGET, signing_string,
};
use drone_extension::layer::SchemeError as _;
use drone_extension::signature::Error;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::{is_tchar, trim_ows};

/// A request head and a list, decoded from the text format above.
pub struct Input<'a> {
    pub list: &'a str,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
}

impl<'a> Input<'a> {
    /// `None` when a line cannot be a real request's (not a method, not a URI, not a header).
    pub fn decode(data: &'a [u8]) -> Option<Input<'a>> {
        let mut lines = data.split(|&b| b == b'\n');
        let list = std::str::from_utf8(lines.next()?).ok()?;
        let request_line = lines.next().unwrap_or(b"POST /");
        let space = request_line.iter().position(|&b| b == b' ')?;
        let method = Method::from_bytes(&request_line[..space]).ok()?;
        let uri = Uri::try_from(&request_line[space + 1..]).ok()?;
        let mut headers = HeaderMap::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = HeaderName::from_bytes(&line[..colon]).ok()?;
            let value = HeaderValue::from_bytes(&line[colon + 1..]).ok()?;
            headers.append(name, value);
        }
        Some(Input {
            list,
            method,
            uri,
            headers,
        })
    }
}

/// The model of `HeaderList::parse`: the lower-cased entries, or the error class.
fn model_list(list: &str) -> Result<Vec<String>, &'static str> {
    if list.is_empty() {
        return Err("policy");
    }
    let entries: Vec<&str> = list.split(' ').collect();
    let valid = |e: &str| match e.as_bytes() {
        [b'(', inner @ .., b')'] => !inner.is_empty() && inner.iter().copied().all(is_tchar),
        bytes => !bytes.is_empty() && bytes.iter().copied().all(is_tchar),
    };
    if entries.len() > MAX_HEADER_LIST_ENTRIES || !entries.iter().all(|e| valid(e)) {
        return Err("malformed");
    }
    Ok(entries.iter().map(|e| e.to_ascii_lowercase()).collect())
}

/// The model of one line: `Ok(value)` or the error.
fn model_line(input: &Input<'_>, name: &str) -> Result<Vec<u8>, Error> {
    if name == REQUEST_TARGET {
        let target = input.uri.path_and_query().map_or("/", |pq| pq.as_str());
        return Ok(format!("{} {target}", input.method.as_str().to_ascii_lowercase()).into_bytes());
    }
    if name.starts_with('(') {
        return Err(Error::Policy("pseudo-header"));
    }
    let values: Vec<&HeaderValue> = input.headers.get_all(name).iter().collect();
    let value = match values.as_slice() {
        [one] => trim_ows(one.as_bytes()),
        [] if name == "host" && input.uri.authority().is_some() => input
            .uri
            .authority()
            .map_or(&b""[..], |a| a.as_str().as_bytes()),
        [] => return Err(Error::HeaderAbsent(name.to_owned())),
        _ => return Err(Error::Malformed("twice")),
    };
    if value.is_empty() {
        return Err(Error::HeaderAbsent(name.to_owned()));
    }
    if !value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        return Err(Error::Malformed("non-visible"));
    }
    Ok(value.to_vec())
}

fn same_class(got: &Error, expected: &Error) -> bool {
    match (got, expected) {
        (Error::HeaderAbsent(a), Error::HeaderAbsent(b)) => a == b,
        _ => got.class() == expected.class(),
    }
}

pub fn check(data: &[u8]) -> bool {
    let Some(input) = Input::decode(data) else {
        return false;
    };
    let list = HeaderList::parse(input.list);
    let entries = match (&list, model_list(input.list)) {
        (Ok(list), Ok(entries)) => {
            assert_eq!(list.iter().collect::<Vec<_>>(), entries, "{:?}", input.list);
            assert_eq!(list.len(), entries.len());
            entries
        }
        (Err(err), Err(class)) => {
            assert_eq!(err.class(), class, "{:?}: {err:?}", input.list);
            return true;
        }
        (got, expected) => panic!("{:?}: parsed {got:?}, model {expected:?}", input.list),
    };
    let list = list.expect("checked above");

    let got = signing_string(&input.method, &input.uri, &input.headers, &list);
    let expected: Result<Vec<Vec<u8>>, Error> =
        entries.iter().map(|e| model_line(&input, e)).collect();
    match (&got, &expected) {
        (Ok(s), Ok(values)) => {
            assert!(!s.contains('\r'), "CR in {s:?}");
            let lines: Vec<&str> = s.split('\n').collect();
            assert_eq!(lines.len(), entries.len(), "one line per entry: {s:?}");
            for ((line, name), value) in lines.iter().zip(&entries).zip(values) {
                let rest = line
                    .strip_prefix(name.as_str())
                    .and_then(|r| r.strip_prefix(": "))
                    .unwrap_or_else(|| panic!("line {line:?} is not for {name}"));
                assert_eq!(rest.as_bytes(), value.as_slice(), "{name}");
            }
        }
        (Err(err), Err(model)) => assert!(same_class(err, model), "{err:?} vs model {model:?}"),
        _ => panic!("signing_string gave {got:?}, model {expected:?}"),
    }
    true
}
