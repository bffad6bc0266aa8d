//! `digest_header`: the `Digest` parser and the body check.
//!
//! Input: the header value, a line feed, then the body (no line feed: empty body). Properties:
//! parsing never panics; the body is accepted iff the header has well-formed entries and exactly
//! one SHA-256 entry (algorithm case-insensitive) whose value is the canonical base64 of
//! SHA-256(body); and `digest_header` output always parses back to the body's hash.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use drone_extension::__fuzz::{check_body, digest_header, parse_digest};
use drone_extension::signature::Error;
use sha2::{Digest, Sha256};

/// The model: `Ok(value)` of the single SHA-256 entry, or why there is none (`true`: malformed).
fn model(header: &[u8]) -> Result<&[u8], bool> {
    let mut found = None;
    for entry in header.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
        if entry.is_empty() {
            continue;
        }
        let Some(eq) = entry.iter().position(|&b| b == b'=') else {
            return Err(true);
        };
        let (alg, value) = (entry[..eq].trim_ascii(), entry[eq + 1..].trim_ascii());
        if alg.is_empty() || value.is_empty() {
            return Err(true);
        }
        if alg.eq_ignore_ascii_case(b"SHA-256") && found.replace(value).is_some() {
            return Err(true);
        }
    }
    found.ok_or(false)
}

pub fn check(data: &[u8]) -> bool {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(nl) => (&data[..nl], &data[nl + 1..]),
        None => (data, &b""[..]),
    };
    let hash = Sha256::digest(body);
    let canonical = STANDARD.encode(hash);

    let parsed = parse_digest(header);
    let accepted = parsed
        .as_ref()
        .is_ok_and(|expected| check_body(expected, body).is_ok());
    let model = model(header);
    let model_accepts = model.is_ok_and(|value| value == canonical.as_bytes());
    assert_eq!(
        accepted, model_accepts,
        "{header:?}: parsed {parsed:?}, model {model:?}"
    );
    match (&parsed, model) {
        (Ok(_), Ok(_)) => {}
        (Err(Error::DigestMismatch), Err(false)) => {}
        // The model does not decode base64: a single SHA-256 entry may still be malformed.
        (Err(Error::DigestMalformed(_)), Err(true) | Ok(_)) => {}
        (got, model) => panic!("{header:?}: parsed {got:?}, model {model:?}"),
    }
    if let Ok(expected) = parsed {
        // A 32-byte value is accepted iff it is the body's hash.
        assert_eq!(
            check_body(&expected, body).is_ok(),
            expected[..] == hash[..]
        );
    }

    let ours = digest_header(body);
    assert_eq!(ours, format!("SHA-256={canonical}"));
    assert_eq!(parse_digest(ours.as_bytes()).ok(), Some(hash.into()));
    true
}
