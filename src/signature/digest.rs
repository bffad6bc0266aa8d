//! The `Digest` header (RFC 3230): parsing, computing and checking the SHA-256 body hash.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use super::Error;

/// The length of a SHA-256 hash.
pub const SHA256_LEN: usize = 32;

/// Finds the single SHA-256 entry of a `Digest` header value and decodes it.
///
/// The value is an RFC 3230 list `algorithm=value, …`; the algorithm token is matched
/// case-insensitively (`SHA-256`, `sha-256`). Entries for other algorithms are allowed and ignored.
///
/// ```
/// use drone_extension::__fuzz::{digest_header, parse_digest};
///
/// let header = digest_header(b"");
/// assert_eq!(header, "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
/// let hash = parse_digest(header.as_bytes())?;
/// assert_eq!(hash.len(), 32);
/// # Ok::<(), drone_extension::signature::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::DigestMalformed`] for an entry without `=`, a SHA-256 value that is not canonical
/// padded base64 of 32 bytes, or more than one SHA-256 entry; [`Error::DigestMismatch`] when there
/// is no SHA-256 entry at all (SHA-512 or MD5 alone are not accepted).
pub fn parse_digest(value: &[u8]) -> Result<[u8; SHA256_LEN], Error> {
    // What Drone sends, `SHA-256=` and the base64 alone, needs no list parsing. Anything else,
    // including a value that does not decode, takes the general path below (and its errors).
    if let Some((alg, encoded)) = value.split_at_checked(SHA256_PREFIX.len())
        && alg.eq_ignore_ascii_case(SHA256_PREFIX)
        && let Some(hash) = decode_sha256(encoded)
    {
        return Ok(hash);
    }
    let mut found: Option<[u8; SHA256_LEN]> = None;
    for entry in value.split(|&b| b == b',') {
        let entry = entry.trim_ascii();
        if entry.is_empty() {
            continue;
        }
        let eq = entry
            .iter()
            .position(|&b| b == b'=')
            .ok_or(Error::DigestMalformed("entry without `=`"))?;
        let (alg, encoded) = (entry[..eq].trim_ascii(), entry[eq + 1..].trim_ascii());
        if alg.is_empty() || encoded.is_empty() {
            return Err(Error::DigestMalformed("empty algorithm or value"));
        }
        if !alg.eq_ignore_ascii_case(b"sha-256") {
            continue;
        }
        if found.is_some() {
            return Err(Error::DigestMalformed("more than one SHA-256 entry"));
        }
        let mut out = [0u8; SHA256_LEN + 3];
        let n = STANDARD
            .decode_slice(encoded, &mut out)
            .map_err(|_| Error::DigestMalformed("SHA-256 value is not base64"))?;
        if n != SHA256_LEN {
            return Err(Error::DigestMalformed("SHA-256 value is not 32 bytes"));
        }
        let mut hash = [0u8; SHA256_LEN];
        hash.copy_from_slice(&out[..SHA256_LEN]);
        found = Some(hash);
    }
    found.ok_or(Error::DigestMismatch)
}

/// `SHA-256=`, matched without regard to case.
const SHA256_PREFIX: &[u8] = b"sha-256=";

/// The hash that `encoded`, the canonical padded base64 of 32 bytes, stands for.
fn decode_sha256(encoded: &[u8]) -> Option<[u8; SHA256_LEN]> {
    let mut out = [0u8; SHA256_LEN + 3];
    match STANDARD.decode_slice(encoded, &mut out) {
        Ok(SHA256_LEN) => out[..SHA256_LEN].try_into().ok(),
        _ => None,
    }
}

/// The `Digest` header value Drone sends for a body: `SHA-256=` and the base64 SHA-256.
pub fn digest_header(body: &[u8]) -> String {
    let mut out = String::with_capacity(52);
    out.push_str("SHA-256=");
    STANDARD.encode_string(Sha256::digest(body), &mut out);
    out
}

/// Compares the SHA-256 of `body` with an expected hash in constant time.
///
/// # Errors
///
/// [`Error::DigestMismatch`] when they differ.
pub fn check_body(expected: &[u8; SHA256_LEN], body: &[u8]) -> Result<(), Error> {
    let actual: [u8; SHA256_LEN] = Sha256::digest(body).into();
    if constant_time_eq::constant_time_eq_32(&actual, expected) {
        Ok(())
    } else {
        Err(Error::DigestMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &[u8] = br#"{"hello": "world"}"#;
    const HELLO_DIGEST: &str = "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=";

    #[test]
    fn v4_vectors() {
        assert_eq!(digest_header(HELLO), HELLO_DIGEST);
        let hash = parse_digest(HELLO_DIGEST.as_bytes()).unwrap();
        check_body(&hash, HELLO).unwrap();
        assert_eq!(check_body(&hash, b"{}"), Err(Error::DigestMismatch));
    }

    #[test]
    fn single_entry_shortcut_agrees_with_the_list_parser() {
        // A leading space does not match the shortcut: it sends the same value down the general
        // path, whose result the shortcut must reproduce, errors included.
        for value in [
            HELLO_DIGEST,
            "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE",
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPF=",
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE= ",
            "SHA-256=AAAA",
            "SHA-256=",
            "SHA-256=x,SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        ] {
            assert_eq!(
                parse_digest(value.as_bytes()),
                parse_digest(format!(" {value}").as_bytes()),
                "{value}"
            );
        }
    }

    #[test]
    fn b42_algorithm_is_case_insensitive_and_lists_are_allowed() {
        let lower = HELLO_DIGEST.replace("SHA-256", "sha-256");
        check_body(&parse_digest(lower.as_bytes()).unwrap(), HELLO).unwrap();
        let list = format!("MD5=abc , {HELLO_DIGEST},unixsum=12");
        check_body(&parse_digest(list.as_bytes()).unwrap(), HELLO).unwrap();
    }

    #[test]
    fn b43_no_sha256_entry_is_a_mismatch() {
        let sha512 = b"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
        assert_eq!(parse_digest(sha512), Err(Error::DigestMismatch));
        assert_eq!(
            parse_digest(b"MD5=Q2hlY2sgSW50ZWdyaXR5IQ=="),
            Err(Error::DigestMismatch)
        );
        assert_eq!(parse_digest(b""), Err(Error::DigestMismatch));
    }

    #[test]
    fn b44_malformed_values() {
        let two = format!("{HELLO_DIGEST},SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        let same_twice = format!("{HELLO_DIGEST},{HELLO_DIGEST}");
        for bad in [
            two.as_str(),
            same_twice.as_str(),
            "SHA-256=not base64!",
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE", // unpadded
            "SHA-256=AAAA",                                        // 3 bytes
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPEAAA==", // 34 bytes
            "SHA-256",
            "=abc",
            "SHA-256=",
        ] {
            assert!(
                matches!(parse_digest(bad.as_bytes()), Err(Error::DigestMalformed(_))),
                "{bad}"
            );
        }
    }
}
