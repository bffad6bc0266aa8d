//! `parse_signature`: the `Signature` header parser on arbitrary bytes.
//!
//! Properties:
//! * it never panics (libFuzzer's `-timeout` also catches super-linear time);
//! * the caps hold: nothing over [`MAX_HEADER_LEN`] bytes parses;
//! * `parse(render(p)) == p` for every `p` it returns, and rendering is canonical (rendering
//!   the re-parsed value gives the same bytes). The one exception is a rendering that outgrows
//!   the cap (token values gain two quotes each): that must be refused as too long, nothing else;
//! * the verifier agrees: a header the parser refuses makes `Verifier::verify_headers` fail with
//!   the same error, whether it comes as `Signature:` or as `Authorization: Signature …`.

use std::sync::OnceLock;

use drone_extension::signature::{
    Error, MAX_HEADER_LEN, Policy, SharedSecret, SignatureParams, Verifier,
};
use http::header::{AUTHORIZATION, HeaderValue};
use http::{HeaderMap, Method, Uri};

pub fn check(data: &[u8]) -> bool {
    let parsed = SignatureParams::parse_bytes(data);
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(
            SignatureParams::parse(text),
            parsed,
            "parse and parse_bytes differ"
        );
    }
    agrees_with_verifier(data, &parsed);
    let Ok(params) = parsed else {
        return true;
    };
    assert!(data.len() <= MAX_HEADER_LEN, "a header over the cap parsed");

    let rendered = params.to_string();
    match SignatureParams::parse(&rendered) {
        Ok(again) => {
            assert_eq!(again, params, "parse(render(p)) != p for {rendered:?}");
            assert_eq!(again.to_string(), rendered, "rendering is not canonical");
        }
        Err(err) => {
            assert!(
                rendered.len() > MAX_HEADER_LEN
                    && err == Error::Malformed("signature header too long"),
                "the rendering {rendered:?} of {params:?} does not parse: {err:?}"
            );
        }
    }
    true
}

/// The verifier reports the parser's own error for a header the parser refuses.
fn agrees_with_verifier(data: &[u8], parsed: &Result<SignatureParams, Error>) {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    let verifier = VERIFIER.get_or_init(|| {
        let secret = SharedSecret::new("fuzz-secret-0123456789abcdef0123").expect("a secret");
        Verifier::new(secret, Policy::drone_webhook())
    });
    let Err(expected) = parsed else {
        return;
    };
    let uri = Uri::from_static("/");
    let mut authorization = b"Signature ".to_vec();
    authorization.extend_from_slice(data);
    // `HeaderValue` refuses control bytes, and hyper would never hand such a header over.
    for (name, value) in [
        (&drone_extension::signature::SIGNATURE, data),
        (&AUTHORIZATION, &authorization[..]),
    ] {
        let Ok(value) = HeaderValue::from_bytes(value) else {
            continue;
        };
        let field_len = value.len();
        let mut headers = HeaderMap::new();
        headers.insert(name.clone(), value);
        let got = verifier.verify_headers(&Method::POST, &uri, &headers);
        // The 8 KiB cap applies to the whole `Authorization` field, scheme included: a value the
        // parser would still look at can be refused for its length first.
        let capped = Error::Malformed("authorization header too long");
        let expected = if *name == AUTHORIZATION && field_len > MAX_HEADER_LEN {
            &capped
        } else {
            expected
        };
        // `Authorization` values are trimmed of leading whitespace after the scheme: the parser
        // itself skips leading OWS, so the result is the same either way.
        assert_eq!(got.as_ref().err(), Some(expected), "{name}: {data:?}");
    }
}
