//! `security.md` §5.1, rows B-01 … B-49 and B-58 … B-60, against the signature core, plus the
//! decisions of §5.2 and the keyring's behaviour.
//!
//! Every test starts from a Drone-exact vector of `tests/fixtures/signature-vectors.json`
//! (`drone-admission-login` unless stated), applies the row's mutation and, where the row is about
//! a *validly signed* variant, signs the mutated request again, so that the check under test is the
//! only one that can fail. Each failure is checked for its class ([`Error::class`]) and HTTP status
//! ([`Error::status`]).
//!
//! Not here:
//!
//! * B-50 … B-57 (body limits, deadlines, slowloris, header-section limits, not reading the body of a
//!   badly signed request, concurrency) are properties of the tower layer and of hyper, not of the
//!   synchronous core; they are tested with the layer.
//! * B-59 (an unsigned `X-Drone-Event` that contradicts the body) is about what the webhook kind
//!   exposes to the handler; the core accepts such a request like any other (the header is not
//!   signed), and the kind's tests pin the rest.
//! * The obs-fold half of B-30 cannot be expressed with `http::HeaderValue` (it refuses CR and LF);
//!   hyper refuses folded request headers before the layer. The non-visible-byte half is here.

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use drone_extension::__fuzz::digest_header;
use drone_extension::kind::{ADMISSION_V1, CONFIG_V1, SECRET_V1};
use drone_extension::layer::SchemeError as _;
use drone_extension::signature::{
    Error, KeyError, Keyring, MAX_HEADER_LEN, MAX_PARAMS, Policy, SharedSecret, SignatureParams,
    Signer, Verified, Verifier,
};
use hmac::{Hmac, KeyInit, Mac};
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use sha2::Sha256;
use support::drone_vectors::{self, Case};

/// The request list Drone's extension client signs.
const DRONE_LIST: &str = "accept accept-encoding content-type date digest";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// protocol.md Example 1: an admission login exactly as Drone sends it.
fn admission() -> Case {
    drone_vectors::case("drone-admission-login")
}

fn verify(case: &Case) -> Result<Verified, Error> {
    case.verifier().verify(&case.parts(), case.body.as_bytes())
}

fn verify_with(case: &Case, keys: impl Into<Keyring>, policy: Policy) -> Result<Verified, Error> {
    Verifier::new(keys, policy).verify(&case.parts(), case.body.as_bytes())
}

fn secret(case: &Case) -> SharedSecret {
    SharedSecret::new(&case.secret).unwrap()
}

/// The case's own policy preset, clock pinned.
fn policy(case: &Case) -> Policy {
    drone_vectors::policy(&case.policy, case.now)
}

#[track_caller]
fn passes(case: &Case) -> Verified {
    match verify(case) {
        Ok(v) => v,
        Err(e) => panic!("{}: expected ok, got {} ({e})", case.id, e.class()),
    }
}

#[track_caller]
fn assert_fails(result: Result<Verified, Error>, class: &str, status: u16) -> Error {
    match result {
        Ok(v) => panic!("expected {class} ({status}), but verified: {v:?}"),
        Err(e) => {
            assert_eq!(e.class(), class, "wrong class: {e}");
            assert_eq!(e.status().as_u16(), status, "wrong status: {e}");
            e
        }
    }
}

#[track_caller]
fn fails(case: &Case, class: &str, status: u16) -> Error {
    assert_fails(verify(case), class, status)
}

/// The parameters of the case's `Signature` header.
fn params(case: &Case) -> SignatureParams {
    SignatureParams::parse(case.header("Signature").expect("a Signature header")).unwrap()
}

/// Signs the case's current head over `list` with the case's secret.
fn sign(case: &Case, list: &str) -> SignatureParams {
    let parts = case.parts();
    Signer::new(secret(case))
        .sign(&parts.method, &parts.uri, &parts.headers, list)
        .unwrap()
}

fn set_signature(case: &mut Case, params: &SignatureParams) {
    case.set_header("Signature", &params.to_string());
}

/// Signs the case again over `list` (after a mutation of a signed header).
fn resign(case: &mut Case, list: &str) {
    let params = sign(case, list);
    set_signature(case, &params);
}

/// HMAC-SHA256 computed here, independently of the crate's signer.
fn hmac_sha256(key: &str, message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn mac_of(case: &Case) -> Vec<u8> {
    STANDARD.decode(params(case).signature).unwrap()
}

/// A request head from a header map (for bodies that are not UTF-8).
fn head(headers: HeaderMap) -> Parts {
    let mut request = http::Request::post("/").body(()).unwrap();
    *request.headers_mut() = headers;
    request.into_parts().0
}

#[test]
fn the_starting_vectors_verify() {
    // Every mutation below is measured against a request that passes.
    passes(&admission());
    passes(&drone_vectors::case("drone-secret-find"));
    passes(&drone_vectors::case("drone-server-webhook"));
    // And a request signed again by this file's helper is the same request.
    let mut case = admission();
    let original = case.header("Signature").unwrap().to_owned();
    resign(&mut case, DRONE_LIST);
    assert_eq!(case.header("Signature"), Some(original.as_str()));
}

// ---------------------------------------------------------------------------------------------
// B-01 … B-06: locating the signature header
// ---------------------------------------------------------------------------------------------

#[test]
fn b01_no_signature_header() {
    let mut case = admission();
    case.remove_header("Signature");
    let err = fails(&case, "missing", 401);
    assert_eq!(err, Error::Missing);
}

#[test]
fn b02_bearer_only() {
    let mut case = admission();
    case.remove_header("Signature");
    case.set_header("Authorization", "Bearer x");
    assert_eq!(fails(&case, "missing", 401), Error::Missing);
    // A Bearer token that looks like signature parameters is still not a signature.
    let sig = admission().header("Signature").unwrap().to_owned();
    case.set_header("Authorization", &format!("Bearer {sig}"));
    assert_eq!(fails(&case, "missing", 401), Error::Missing);
    // Nor is a scheme that merely starts with the word.
    case.set_header("Authorization", &format!("Signatures {sig}"));
    assert_eq!(fails(&case, "missing", 401), Error::Missing);
}

#[test]
fn b03_authorization_signature_only() {
    let sig = admission().header("Signature").unwrap().to_owned();
    for scheme in ["Signature", "signature", "SIGNATURE", "Signature  "] {
        let mut case = admission();
        case.remove_header("Signature");
        case.set_header("Authorization", &format!("{scheme} {sig}"));
        let verified = passes(&case);
        assert_eq!(verified.key_id(), "hmac-key");
    }
}

#[test]
fn b04_signature_and_authorization_signature() {
    let sig = admission().header("Signature").unwrap().to_owned();
    // Differing: the one a Go verifier would silently prefer is valid, the other is not.
    let mut case = admission();
    let mut other = params(&case);
    other.signature = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned();
    case.set_header("Authorization", &format!("Signature {other}"));
    assert!(matches!(
        fails(&case, "malformed", 400),
        Error::Malformed(_)
    ));
    // Differing the other way round.
    let mut case = admission();
    case.set_header("Signature", &other.to_string());
    case.set_header("Authorization", &format!("Signature {sig}"));
    fails(&case, "malformed", 400);
    // Even two identical copies are one too many ("exactly one", §2).
    let mut case = admission();
    case.set_header("Authorization", &format!("Signature {sig}"));
    fails(&case, "malformed", 400);
}

#[test]
fn b05_two_signature_fields() {
    let sig = admission().header("Signature").unwrap().to_owned();
    // Identical copies.
    let mut case = admission();
    case.headers.push(("Signature".into(), sig.clone()));
    fails(&case, "malformed", 400);
    // A valid one and an invalid one, in both orders.
    let mut bad = params(&case);
    bad.signature = STANDARD.encode([0u8; 32]);
    for (first, second) in [
        (sig.clone(), bad.to_string()),
        (bad.to_string(), sig.clone()),
    ] {
        let mut case = admission();
        case.remove_header("Signature");
        case.headers.push(("Signature".into(), first));
        case.headers.push(("Signature".into(), second));
        fails(&case, "malformed", 400);
    }
    // Two `Authorization: Signature` fields are as ambiguous.
    let mut case = admission();
    case.remove_header("Signature");
    case.headers
        .push(("Authorization".into(), format!("Signature {sig}")));
    case.headers
        .push(("Authorization".into(), format!("Signature {sig}")));
    fails(&case, "malformed", 400);
}

#[test]
fn b06_header_over_8_kib_or_over_16_parameters() {
    // A valid header padded (through its unsigned keyId) to exactly the cap still verifies…
    let mut case = admission();
    let mut p = params(&case);
    let base = p.to_string().len() - p.key_id.len();
    p.key_id = "k".repeat(MAX_HEADER_LEN - base);
    assert_eq!(p.to_string().len(), MAX_HEADER_LEN);
    assert_eq!(MAX_HEADER_LEN, 8 * 1024);
    set_signature(&mut case, &p);
    assert_eq!(passes(&case).key_id().len(), MAX_HEADER_LEN - base);
    // …and one byte more is malformed, although nothing else changed.
    p.key_id.push('k');
    set_signature(&mut case, &p);
    assert!(matches!(
        fails(&case, "malformed", 400),
        Error::Malformed(_)
    ));

    // 17 parameters.
    let mut case = admission();
    let mut header = case.header("Signature").unwrap().to_owned();
    for i in 0..(MAX_PARAMS + 1 - 4) {
        header.push_str(&format!(",x{i}=\"y\""));
    }
    assert_eq!(MAX_PARAMS, 16);
    assert!(SignatureParams::parse(&header).is_err());
    case.set_header("Signature", &header);
    fails(&case, "malformed", 400);
}

// ---------------------------------------------------------------------------------------------
// B-07 … B-11: the parameter grammar
// ---------------------------------------------------------------------------------------------

#[test]
fn b07_duplicate_parameter() {
    let sig = admission().header("Signature").unwrap().to_owned();
    let p = params(&admission());
    for header in [
        // The same valid signature twice.
        format!("{sig},signature=\"{}\"", p.signature),
        // keyId and KeyId.
        format!("{sig},KeyId=\"other\""),
        format!("KEYID=\"hmac-key\",{sig}"),
        format!("{sig},headers=\"{DRONE_LIST}\""),
        format!("{sig},algorithm=hmac-sha256"),
    ] {
        let mut case = admission();
        case.set_header("Signature", &header);
        fails(&case, "malformed", 400);
    }
}

#[test]
fn b08_missing_key_id_or_signature() {
    let p = params(&admission());
    let no_key_id = format!(
        "algorithm=\"hmac-sha256\",signature=\"{}\",headers=\"{DRONE_LIST}\"",
        p.signature
    );
    let no_signature =
        format!("keyId=\"hmac-key\",algorithm=\"hmac-sha256\",headers=\"{DRONE_LIST}\"");
    for header in [no_key_id, no_signature] {
        let mut case = admission();
        case.set_header("Signature", &header);
        fails(&case, "malformed", 400);
    }
}

#[test]
fn b09_comma_inside_quotes() {
    let mut case = admission();
    let mut p = params(&case);
    p.key_id = "a,b".to_owned();
    set_signature(&mut case, &p);
    assert!(case.header("Signature").unwrap().contains(r#"keyId="a,b""#));
    // Any keyId: parsed whole, accepted by an unbound key.
    assert_eq!(passes(&case).key_id(), "a,b");
    // Per key policy: a key bound to `a` (what comma splitting would give) refuses it…
    let bound_a = Keyring::bound("a", secret(&case));
    assert_eq!(
        assert_fails(verify_with(&case, bound_a, policy(&case)), "key", 401),
        Error::Key
    );
    // …and a key bound to `a,b` accepts it.
    let bound_ab = Keyring::bound("a,b", secret(&case));
    assert_eq!(
        verify_with(&case, bound_ab, policy(&case))
            .unwrap()
            .key_id(),
        "a,b"
    );
}

#[test]
fn b10_quoted_pair() {
    let mut case = admission();
    let p = params(&case);
    case.set_header(
        "Signature",
        &format!(
            r#"keyId="a\"b",algorithm="hmac-sha256",signature="{}",headers="{DRONE_LIST}""#,
            p.signature
        ),
    );
    // The value is `a"b`, never truncated at the escaped quote as Go's regex does.
    assert_eq!(passes(&case).key_id(), "a\"b");
    let exact = Keyring::bound("a\"b", secret(&case));
    assert_eq!(
        verify_with(&case, exact, policy(&case)).unwrap().key_id(),
        "a\"b"
    );
    for truncated in ["a", "a\\"] {
        let keys = Keyring::bound(truncated, secret(&case));
        assert_fails(verify_with(&case, keys, policy(&case)), "key", 401);
    }
    // An escaped ordinary character is the character itself.
    case.set_header(
        "Signature",
        &format!(
            r#"keyId="hm\ac-key",signature="{}",headers="{DRONE_LIST}""#,
            p.signature
        ),
    );
    assert_eq!(passes(&case).key_id(), "hmac-key");
}

#[test]
fn b11_unterminated_quote_garbage_and_scheme_prefix() {
    let sig = admission().header("Signature").unwrap().to_owned();
    let p = params(&admission());
    let garbage = format!(
        r#"keyId="hmac-key" junk,algorithm="hmac-sha256",signature="{}",headers="{DRONE_LIST}""#,
        p.signature
    );
    let between = format!(
        r#"keyId="hmac-key",;algorithm="hmac-sha256",signature="{}",headers="{DRONE_LIST}""#,
        p.signature
    );
    for header in [
        // The last quote is missing.
        sig[..sig.len() - 1].to_owned(),
        garbage,
        between,
        // A scheme word inside the `Signature:` value.
        format!("Signature {sig}"),
    ] {
        let mut case = admission();
        case.set_header("Signature", &header);
        fails(&case, "malformed", 400);
    }
    // The vector's own unterminated-quote case agrees.
    assert_eq!(
        drone_vectors::case("unterminated-quote").outcome(),
        "malformed"
    );
}

// ---------------------------------------------------------------------------------------------
// B-12 … B-16: the algorithm
// ---------------------------------------------------------------------------------------------

#[test]
fn b12_hmac_sha1_with_a_correct_mac() {
    // The vector carries a correct HMAC-SHA1 (20 bytes) of the Drone signing string.
    let case = drone_vectors::case("hmac-sha1");
    let p = params(&case);
    assert_eq!(p.algorithm(), "hmac-sha1");
    assert_eq!(STANDARD.decode(&p.signature).unwrap().len(), 20);
    assert_eq!(fails(&case, "algorithm", 401), Error::Algorithm);
    // Control: the same MAC under `hmac-sha256` is simply a wrong MAC, so it is the algorithm
    // that was refused above.
    let mut as_sha256 = case.clone();
    let mut p = params(&case);
    p.algorithm = Some("hmac-sha256".into());
    set_signature(&mut as_sha256, &p);
    fails(&as_sha256, "signature", 401);
}

/// Replaces the algorithm of an otherwise valid, correctly signed request.
fn with_algorithm(algorithm: &str) -> Case {
    let mut case = admission();
    let mut p = params(&case);
    p.algorithm = Some(algorithm.to_owned());
    set_signature(&mut case, &p);
    case
}

#[test]
fn b13_rsa_ecdsa_none_empty_unknown_algorithms() {
    for algorithm in [
        "rsa-sha256",
        "ecdsa-sha256",
        "none",
        "",
        "hmac-sha512",
        "hmac-sha256 ",
        "x",
    ] {
        let case = with_algorithm(algorithm);
        assert_eq!(
            fails(&case, "algorithm", 401),
            Error::Algorithm,
            "{algorithm:?}"
        );
    }
}

#[test]
fn b14_upper_case_algorithm() {
    for algorithm in ["HMAC-SHA256", "Hmac-Sha256", "hmac-SHA256"] {
        assert_eq!(
            fails(&with_algorithm(algorithm), "algorithm", 401),
            Error::Algorithm
        );
    }
}

#[test]
fn b15_hs2019() {
    assert_eq!(
        fails(&with_algorithm("hs2019"), "algorithm", 401),
        Error::Algorithm
    );
}

#[test]
fn b16_absent_algorithm_is_hmac_sha256() {
    let mut case = admission();
    let mut p = sign(&case, DRONE_LIST);
    p.algorithm = None;
    set_signature(&mut case, &p);
    let header = case.header("Signature").unwrap();
    assert!(
        !header.to_ascii_lowercase().contains("algorithm"),
        "{header}"
    );
    passes(&case);
    // Without `algorithm` the MAC is still checked as HMAC-SHA256.
    let mut wrong = case.clone();
    p.signature = STANDARD.encode(hmac_sha256("another-secret", b"x"));
    set_signature(&mut wrong, &p);
    fails(&wrong, "signature", 401);
}

// ---------------------------------------------------------------------------------------------
// B-17 … B-26: the `headers` list and the coverage policy
// ---------------------------------------------------------------------------------------------

#[test]
fn b17_empty_headers_parameter() {
    // A correct MAC over the empty signing string: a signature that fits every request.
    let mut case = admission();
    let mut p = params(&case);
    p.headers = Some(String::new());
    p.signature = STANDARD.encode(hmac_sha256(&case.secret, b""));
    set_signature(&mut case, &p);
    assert!(matches!(fails(&case, "policy", 401), Error::Policy(_)));
    let webhook = Policy::drone_webhook().clock({
        let now = case.now;
        move || now
    });
    assert_fails(verify_with(&case, secret(&case), webhook), "policy", 401);
}

#[test]
fn b18_absent_headers_parameter() {
    // Signed over `date`, the draft's old default, with the parameter left out.
    let mut case = admission();
    let mut p = sign(&case, "date");
    p.headers = None;
    set_signature(&mut case, &p);
    assert!(!case.header("Signature").unwrap().contains("headers"));
    assert!(matches!(fails(&case, "policy", 401), Error::Policy(_)));
}

#[test]
fn b19_digest_without_date() {
    let mut case = admission();
    resign(&mut case, "digest");
    fails(&case, "policy", 401);
    // Even a policy that asked for `digest` alone requires `date`.
    let relaxed = policy(&case).require_headers(["digest"]).any_media_type();
    assert!(relaxed.required_headers().any(|h| h == "date"));
    assert_fails(verify_with(&case, secret(&case), relaxed), "policy", 401);
}

#[test]
fn b20_date_only_with_a_body() {
    let mut case = admission();
    assert!(!case.body.is_empty());
    resign(&mut case, "date");
    fails(&case, "policy", 401);
    let webhook = drone_vectors::policy("drone-webhook", case.now);
    assert_fails(verify_with(&case, secret(&case), webhook), "policy", 401);
}

#[test]
fn b21_drone_extension_list_lacks_a_header() {
    for list in [
        "accept content-type date digest",
        "accept-encoding content-type date digest",
        "accept accept-encoding date digest",
        "accept accept-encoding content-type digest",
        "accept accept-encoding content-type date",
    ] {
        let mut case = admission();
        resign(&mut case, list);
        assert!(
            matches!(fails(&case, "policy", 401), Error::Policy(_)),
            "{list}"
        );
    }
    // The required set is configurable: without `accept-encoding` in it, the same request passes.
    let mut case = admission();
    resign(&mut case, "accept content-type date digest");
    let relaxed = policy(&case).require_headers(["accept", "content-type", "date", "digest"]);
    verify_with(&case, secret(&case), relaxed).unwrap();
}

#[test]
fn b22_listed_header_not_in_request() {
    let mut case = admission();
    case.set_header("X-Extra", "1");
    resign(&mut case, &format!("{DRONE_LIST} x-extra"));
    passes(&case);
    case.remove_header("X-Extra");
    assert_eq!(
        fails(&case, "header-absent", 401),
        Error::HeaderAbsent("x-extra".into())
    );
}

#[test]
fn b23_duplicate_entry_in_headers() {
    for list in [
        "accept accept-encoding content-type date date digest",
        "accept accept-encoding content-type date digest accept",
        "accept accept-encoding content-type date digest Date",
    ] {
        let mut case = admission();
        resign(&mut case, list);
        assert!(
            matches!(fails(&case, "policy", 401), Error::Policy(_)),
            "{list}"
        );
    }
    // The webhook preset as well (the table's own example).
    let mut case = drone_vectors::case("drone-server-webhook");
    resign(&mut case, "date date digest");
    fails(&case, "policy", 401);
}

#[test]
fn b24_upper_case_headers_list() {
    let mut case = admission();
    let mut p = sign(&case, DRONE_LIST);
    p.headers = Some("Accept Accept-Encoding CONTENT-TYPE Date Digest".into());
    set_signature(&mut case, &p);
    let verified = passes(&case);
    assert_eq!(
        verified.signed_headers().collect::<Vec<_>>(),
        DRONE_LIST.split(' ').collect::<Vec<_>>()
    );
    // Same on the webhook vector (`Date Digest`).
    let mut webhook = drone_vectors::case("drone-server-webhook");
    let mut p = params(&webhook);
    p.headers = Some("Date Digest".into());
    set_signature(&mut webhook, &p);
    passes(&webhook);
}

#[test]
fn b25_empty_entries_in_headers() {
    for list in [
        "accept accept-encoding content-type date  digest",
        " accept accept-encoding content-type date digest",
        "accept accept-encoding content-type date digest ",
        "accept\taccept-encoding content-type date digest",
        "accept accept-encoding content-type date\tdigest",
    ] {
        let mut case = admission();
        let mut p = params(&case);
        p.headers = Some(list.to_owned());
        set_signature(&mut case, &p);
        assert!(
            matches!(fails(&case, "malformed", 400), Error::Malformed(_)),
            "{list:?}"
        );
    }
}

#[test]
fn b26_pseudo_headers_and_invalid_names() {
    // `(created)`, `(expires)`, an unknown pseudo-header: refused by policy, whatever the MAC.
    for extra in ["(created)", "(expires)", "(foo)"] {
        let mut case = admission();
        let mut p = params(&case);
        p.headers = Some(format!("{DRONE_LIST} {extra}"));
        set_signature(&mut case, &p);
        assert!(
            matches!(fails(&case, "policy", 401), Error::Policy(_)),
            "{extra}"
        );
    }
    // Characters that cannot be in a field name.
    for extra in ["x@y", "da:te", "(x", "x)", "()", "é", "a\"b", "a,b"] {
        let mut case = admission();
        let mut p = params(&case);
        p.headers = Some(format!("{DRONE_LIST} {extra}"));
        set_signature(&mut case, &p);
        assert!(
            matches!(fails(&case, "malformed", 400), Error::Malformed(_)),
            "{extra:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// B-27 … B-31: the signed header values
// ---------------------------------------------------------------------------------------------

#[test]
fn b27_signed_header_given_twice() {
    let case0 = admission();
    for name in ["Date", "Digest", "Accept", "Content-Type"] {
        let value = case0.header(name).unwrap().to_owned();
        // The same value twice: which one was signed does not matter, the verifier never guesses.
        let mut case = admission();
        case.headers.push((name.into(), value));
        assert!(
            matches!(fails(&case, "malformed", 400), Error::Malformed(_)),
            "{name}"
        );
        // A second, different value after the signed one (what Go would ignore).
        let mut case = admission();
        case.headers.push((name.into(), "other".into()));
        fails(&case, "malformed", 400);
    }
    // An unsigned header given twice is not a problem.
    let mut case = admission();
    case.headers.push(("X-Drone-Event".into(), "a".into()));
    case.headers.push(("X-Drone-Event".into(), "b".into()));
    passes(&case);
}

#[test]
fn b28_optional_whitespace_around_values() {
    // No re-signing: the MAC covers the trimmed values.
    for date in [
        "   Wed, 01 Jan 2020 00:00:00 GMT  ",
        "\tWed, 01 Jan 2020 00:00:00 GMT\t",
    ] {
        let mut case = admission();
        case.set_header("Date", date);
        passes(&case);
    }
    let mut case = admission();
    case.set_header("Accept-Encoding", "  identity ");
    passes(&case);
    // Whitespace inside a value is not trimmed: it is part of what is signed.
    let mut case = admission();
    case.set_header("Accept-Encoding", "iden tity");
    fails(&case, "signature", 401);
}

#[test]
fn b29_signed_header_present_but_empty() {
    for value in ["", "   ", "\t"] {
        let mut case = admission();
        case.set_header("Accept-Encoding", value);
        assert_eq!(
            fails(&case, "header-absent", 401),
            Error::HeaderAbsent("accept-encoding".into()),
            "{value:?}"
        );
    }
}

#[test]
fn b30_signed_header_with_non_visible_bytes() {
    assert_eq!(
        HeaderValue::from_bytes("café".as_bytes())
            .unwrap()
            .as_bytes(),
        b"caf\xc3\xa9"
    );
    for name in ["Content-Type", "Accept-Encoding", "Date"] {
        let mut case = admission();
        case.set_header(name, "café");
        assert!(
            matches!(fails(&case, "malformed", 400), Error::Malformed(_)),
            "{name}"
        );
    }
    // The signer refuses to produce such a signature too, so there is no valid variant.
    let mut case = admission();
    case.set_header("Content-Type", "application/json\u{a0}");
    let parts = case.parts();
    let signed =
        Signer::new(secret(&case)).sign(&parts.method, &parts.uri, &parts.headers, DRONE_LIST);
    assert!(matches!(signed, Err(Error::Malformed(_))));
    fails(&case, "malformed", 400);
    // The same bytes in an unsigned header are none of the verifier's business.
    let mut case = admission();
    case.set_header("X-Note", "café");
    passes(&case);
}

#[test]
fn b31_listed_date_missing() {
    let mut case = admission();
    case.remove_header("Date");
    assert_eq!(
        fails(&case, "header-absent", 401),
        Error::HeaderAbsent("date".into())
    );
}

// ---------------------------------------------------------------------------------------------
// B-32 … B-36: freshness
// ---------------------------------------------------------------------------------------------

/// The admission vector with another `Date`, correctly signed.
fn dated(date: &str) -> Case {
    let mut case = admission();
    case.set_header("Date", date);
    resign(&mut case, DRONE_LIST);
    case
}

#[test]
fn b32_unparseable_date_fails_closed() {
    for date in [
        "wrong date",
        "1577836800",
        "2020-01-01T00:00:00Z",
        "Wed, 01 Jan 2020",
    ] {
        let case = dated(date);
        assert!(
            matches!(fails(&case, "stale", 401), Error::Stale(_)),
            "{date}"
        );
    }
}

#[test]
fn b33_date_older_than_the_window() {
    let mut case = admission();
    case.shift_clock(301);
    fails(&case, "stale", 401);
    // Far older still.
    case.shift_clock(86_400 * 365);
    fails(&case, "stale", 401);
}

#[test]
fn b34_date_in_the_future_beyond_the_window() {
    let mut case = admission();
    case.shift_clock(-301);
    fails(&case, "stale", 401);
    case.shift_clock(-86_400);
    fails(&case, "stale", 401);
}

#[test]
fn b35_date_exactly_at_the_window_edges() {
    for secs in [300, -300, 299, -299, 0] {
        let mut case = admission();
        case.shift_clock(secs);
        passes(&case);
    }
    // A custom window moves both edges.
    let case = admission();
    let narrow = |shift: u64| {
        let now = case.now + std::time::Duration::from_secs(shift);
        policy(&case)
            .max_skew(std::time::Duration::from_secs(10))
            .clock(move || now)
    };
    verify_with(&case, secret(&case), narrow(10)).unwrap();
    assert_fails(verify_with(&case, secret(&case), narrow(11)), "stale", 401);
}

#[test]
fn b36_rfc850_and_asctime_dates() {
    let expected = drone_vectors::unix(1_577_836_800);
    for date in [
        "Wednesday, 01-Jan-20 00:00:00 GMT",
        "Wed Jan  1 00:00:00 2020",
        "Wed, 01 Jan 2020 00:00:00 GMT",
    ] {
        let case = dated(date);
        assert_eq!(passes(&case).date(), expected, "{date}");
    }
    // Inside the window, not at its centre.
    assert_eq!(
        passes(&dated("Wed Jan  1 00:04:59 2020")).date(),
        drone_vectors::unix(1_577_836_800 + 299)
    );
    assert_eq!(
        passes(&dated("Tuesday, 31-Dec-19 23:55:00 GMT")).date(),
        drone_vectors::unix(1_577_836_800 - 300)
    );
    // Go's RFC1123 fallback with `UTC`, correctly signed: refused.
    fails(&dated("Wed, 01 Jan 2020 00:00:00 UTC"), "stale", 401);
}

// ---------------------------------------------------------------------------------------------
// B-37 … B-40: the MAC
// ---------------------------------------------------------------------------------------------

/// The admission vector with its `signature` parameter replaced.
fn with_signature(signature: &str) -> Case {
    let mut case = admission();
    let mut p = params(&case);
    p.signature = signature.to_owned();
    set_signature(&mut case, &p);
    case
}

#[test]
fn b37_empty_signature() {
    assert_eq!(
        fails(&with_signature(""), "signature", 401),
        Error::Signature
    );
}

#[test]
fn b38_truncated_or_over_long_mac() {
    let mac = mac_of(&admission());
    assert_eq!(mac.len(), 32);
    let mut longer = mac.clone();
    longer.push(0);
    let mut much_longer = mac.clone();
    much_longer.extend_from_slice(&mac);
    much_longer.extend_from_slice(&mac);
    for bytes in [&mac[..16], &mac[..31], &longer[..], &much_longer[..]] {
        let case = with_signature(&STANDARD.encode(bytes));
        assert_eq!(
            fails(&case, "signature", 401),
            Error::Signature,
            "{}",
            bytes.len()
        );
    }
}

#[test]
fn b39_non_canonical_base64() {
    let good = params(&admission()).signature;
    let mac = mac_of(&admission());
    // A lenient decoder reads every variant below as the correct MAC: only strictness refuses them.
    let lenient = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let url_safe = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );

    let unpadded = good.trim_end_matches('=').to_owned();
    assert_eq!(lenient.decode(&unpadded).unwrap(), mac);

    assert!(
        good.contains(['+', '/']),
        "the vector's MAC exercises the alphabet"
    );
    let url = good.replace('+', "-").replace('/', "_");
    assert_eq!(url_safe.decode(&url).unwrap(), mac);

    let spaced = format!("{} {}", &good[..20], &good[20..]);
    assert_eq!(lenient.decode(spaced.replace(' ', "")).unwrap(), mac);

    // 32 bytes take 43 characters and 2 spare bits: set one of them.
    let mut trailing = good.clone().into_bytes();
    let last = trailing.len() - 2;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let index = alphabet.iter().position(|&c| c == trailing[last]).unwrap();
    trailing[last] = alphabet[index ^ 1];
    let trailing = String::from_utf8(trailing).unwrap();
    assert_ne!(trailing, good);
    assert_eq!(lenient.decode(&trailing).unwrap(), mac);

    for signature in [unpadded, url, spaced, trailing, format!("{good}=")] {
        assert_eq!(
            fails(&with_signature(&signature), "signature", 401),
            Error::Signature,
            "{signature}"
        );
    }
    // Control: the canonical form passes.
    passes(&with_signature(&good));
}

#[test]
fn b40_wrong_key_or_flipped_bit() {
    // Wrong key: the verifier holds another secret (one byte longer).
    let case = admission();
    let other = SharedSecret::new("correct-horse-battery-stapler").unwrap();
    assert_eq!(
        assert_fails(verify_with(&case, other, policy(&case)), "signature", 401),
        Error::Signature
    );
    // Each bit of the MAC matters.
    let mac = mac_of(&case);
    for bit in [0, 7, 100, 255] {
        let mut flipped = mac.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let case = with_signature(&STANDARD.encode(&flipped));
        assert_eq!(
            fails(&case, "signature", 401),
            Error::Signature,
            "bit {bit}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// B-41 … B-45: the Digest
// ---------------------------------------------------------------------------------------------

#[test]
fn b41_body_replaced() {
    let mut case = admission();
    case.body = case.body.replace("\"admin\":false", "\"admin\":true");
    assert_ne!(case.body, admission().body);
    // The head still verifies on its own: it is the body check that refuses the request.
    let verifier = case.verifier();
    let head = verifier.verify_parts(&case.parts()).unwrap();
    assert!(head.covers_body());
    assert_eq!(
        head.verify_body(case.body.as_bytes()).unwrap_err(),
        Error::DigestMismatch
    );
    assert_eq!(fails(&case, "digest", 401), Error::DigestMismatch);
    // Trailing bytes and truncation too.
    let mut longer = admission();
    longer.body.push('\n');
    fails(&longer, "digest", 401);
    let mut shorter = admission();
    shorter.body.pop();
    fails(&shorter, "digest", 401);
}

/// The admission vector with another `Digest` value, correctly signed.
fn with_digest(digest: &str) -> Case {
    let mut case = admission();
    case.set_header("Digest", digest);
    resign(&mut case, DRONE_LIST);
    case
}

#[test]
fn b42_lower_case_digest_algorithm() {
    let canonical = digest_header(admission().body.as_bytes());
    assert_eq!(Some(canonical.as_str()), admission().header("Digest"));
    let hash = canonical.strip_prefix("SHA-256=").unwrap();
    for digest in [
        format!("sha-256={hash}"),
        format!("Sha-256={hash}"),
        format!("MD5=Q2hlY2sgSW50ZWdyaXR5IQ==, sha-256={hash}"),
    ] {
        passes(&with_digest(&digest));
    }
    // Lower-case, but of another body: still a mismatch.
    let other = digest_header(b"{}");
    let other = other.strip_prefix("SHA-256=").unwrap();
    fails(&with_digest(&format!("sha-256={other}")), "digest", 401);
}

#[test]
fn b43_digest_without_sha256() {
    let body = admission().body;
    let md5ish = "Q2hlY2sgSW50ZWdyaXR5IQ==";
    for digest in [
        "SHA-512=WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==".to_owned(),
        format!("MD5={md5ish}"),
        "UNIXsum=30637".to_owned(),
        format!("MD5={md5ish}, UNIXsum=30637"),
        // SHA-256's bytes under another name.
        digest_header(body.as_bytes()).replace("SHA-256", "SHA256"),
    ] {
        let case = with_digest(&digest);
        assert_eq!(fails(&case, "digest", 401), Error::DigestMismatch, "{digest}");
    }
}

#[test]
fn b44_malformed_digest() {
    let good = digest_header(admission().body.as_bytes());
    let other = digest_header(b"{}");
    let hash = good.strip_prefix("SHA-256=").unwrap();
    for digest in [
        // Two SHA-256 entries, different or equal; the right one first.
        format!("{good},{other}"),
        format!("{good}, {good}"),
        format!("{good},sha-256={hash}"),
        // Bad base64.
        "SHA-256=not base64!".to_owned(),
        format!("SHA-256={}", hash.trim_end_matches('=')),
        format!("SHA-256={}", hash.replace('+', "-").replace('/', "_")),
        // Not 32 bytes.
        format!("SHA-256={}", STANDARD.encode([0u8; 31])),
        format!("SHA-256={}", STANDARD.encode([0u8; 33])),
        format!("SHA-256={}", STANDARD.encode([0u8; 64])),
        // No `=`.
        "SHA-256".to_owned(),
    ] {
        let case = with_digest(&digest);
        assert!(
            matches!(fails(&case, "digest", 400), Error::DigestMalformed(_)),
            "{digest}"
        );
    }
}

#[test]
fn b45_empty_body() {
    let mut case = admission();
    case.body = String::new();
    case.set_header(
        "Digest",
        "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    );
    resign(&mut case, DRONE_LIST);
    passes(&case);
    // An empty body under the digest of something else.
    let mut wrong = admission();
    wrong.body = String::new();
    resign(&mut wrong, DRONE_LIST);
    assert_eq!(fails(&wrong, "digest", 401), Error::DigestMismatch);
    // And the empty-body digest with a non-empty body.
    case.body = " ".to_owned();
    assert_eq!(fails(&case, "digest", 401), Error::DigestMismatch);
}

// ---------------------------------------------------------------------------------------------
// B-46 … B-49: what the MAC binds
// ---------------------------------------------------------------------------------------------

#[test]
fn b46_mac_over_values_only() {
    let case = admission();
    let parts = case.parts();
    let values: Vec<&str> = DRONE_LIST
        .split(' ')
        .map(|n| parts.headers[n].to_str().unwrap())
        .collect();
    // Control: the independent HMAC over the proper signing string is the vector's MAC.
    let lines: Vec<String> = DRONE_LIST
        .split(' ')
        .zip(&values)
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    assert_eq!(
        hmac_sha256(&case.secret, lines.join("\n").as_bytes()).to_vec(),
        mac_of(&case)
    );
    // Values only, however joined.
    for joined in [values.join("\n"), values.concat(), values.join(" ")] {
        let case = with_signature(&STANDARD.encode(hmac_sha256(&case.secret, joined.as_bytes())));
        assert_eq!(fails(&case, "signature", 401), Error::Signature);
    }
}

#[test]
fn b47_permuted_headers_list() {
    let permuted = "digest date content-type accept-encoding accept";
    let mut case = admission();
    let mut p = params(&case);
    p.headers = Some(permuted.to_owned());
    set_signature(&mut case, &p);
    assert_eq!(fails(&case, "signature", 401), Error::Signature);
    // The order itself is allowed: signed in that order, the request passes.
    let mut case = admission();
    resign(&mut case, permuted);
    let verified = passes(&case);
    assert_eq!(
        verified.signed_headers().collect::<Vec<_>>().join(" "),
        permuted
    );
}

#[test]
fn b48_verbatim_replay_inside_the_window() {
    // The core has no memory: the optional replay cache lives in the layer.
    let case = admission();
    let verifier = case.verifier();
    let first = verifier
        .verify(&case.parts(), case.body.as_bytes())
        .unwrap();
    let second = verifier
        .verify(&case.parts(), case.body.as_bytes())
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(first.mac().to_vec(), mac_of(&case));
    // Later in the window too.
    let mut later = case.clone();
    later.shift_clock(300);
    passes(&later);
}

#[test]
fn b49_request_for_another_extension() {
    // A valid secret-extension request…
    let case = drone_vectors::case("drone-secret-find");
    passes(&case);
    // …sent to the admission and config endpoints that share the secret.
    let admission = drone_vectors::policy("drone-extension:admission", case.now);
    assert!(matches!(
        assert_fails(verify_with(&case, secret(&case), admission), "policy", 401),
        Error::MediaType { .. }
    ));
    let config = Policy::drone_extension(CONFIG_V1).clock({
        let now = case.now;
        move || now
    });
    assert_fails(verify_with(&case, secret(&case), config), "policy", 401);
    // Without the media-type binding it is accepted: hence "one secret per extension".
    let unbound = Policy::drone_extension(ADMISSION_V1)
        .any_media_type()
        .clock({
            let now = case.now;
            move || now
        });
    verify_with(&case, secret(&case), unbound).unwrap();
    // A list of allowed media types.
    let both = Policy::drone_extension(ADMISSION_V1)
        .media_types([ADMISSION_V1, SECRET_V1])
        .clock({
            let now = case.now;
            move || now
        });
    verify_with(&case, secret(&case), both).unwrap();
}

// ---------------------------------------------------------------------------------------------
// B-58, B-60
// ---------------------------------------------------------------------------------------------

#[test]
fn b58_gzip_body_is_checked_as_received() {
    let now = drone_vectors::unix(1_577_836_800);
    let signer = Signer::new(SharedSecret::new("correct-horse-battery-staple").unwrap());
    let verifier = Verifier::new(
        SharedSecret::new("correct-horse-battery-staple").unwrap(),
        Policy::drone_extension(ADMISSION_V1).clock(move || now),
    );
    // gzip-looking bytes (magic, method, flags, …): never decompressed by the verifier.
    let plain: &[u8] = br#"{"event":"login"}"#;
    let gzipped: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\x56\x4a\x2d\x4b\xcd\x2b\x51\xb2\x52\xca\xc9\x4f\xcf\xcc\x53\xaa\x05\x00\xff\xfe";
    assert!(gzipped.starts_with(&[0x1f, 0x8b]) && gzipped.len() > plain.len());

    // Digest over the received (compressed) bytes: accepted.
    let mut headers = signer
        .extension_headers(ADMISSION_V1, gzipped, now)
        .unwrap();
    headers.insert("content-encoding", HeaderValue::from_static("gzip"));
    let parts = head(headers);
    verifier.verify(&parts, gzipped).unwrap();
    // The same head with the decompressed body: refused.
    assert_fails(verifier.verify(&parts, plain), "digest", 401);

    // Digest over the decompressed content while the compressed bytes arrive: refused.
    let mut headers = signer.extension_headers(ADMISSION_V1, plain, now).unwrap();
    headers.insert("content-encoding", HeaderValue::from_static("gzip"));
    let parts = head(headers);
    assert_eq!(
        assert_fails(verifier.verify(&parts, gzipped), "digest", 401),
        Error::DigestMismatch
    );
}

#[test]
fn b60_empty_and_short_secrets() {
    assert_eq!(SharedSecret::new("").unwrap_err(), KeyError::Empty);
    assert_eq!(
        SharedSecret::new(Vec::<u8>::new()).unwrap_err(),
        KeyError::Empty
    );
    assert_eq!("".parse::<SharedSecret>().unwrap_err(), KeyError::Empty);
    // 28 bytes (protocol.md Examples 1–4): accepted, usable for HMAC, not for aesgcm.
    let short = SharedSecret::new("correct-horse-battery-staple").unwrap();
    assert_eq!(short.len(), 28);
    assert!(!short.supports_aesgcm());
    let case = admission();
    assert_eq!(case.secret.len(), 28);
    verify_with(&case, short, policy(&case)).unwrap();
    // 31 and 32 bytes: the aesgcm boundary.
    assert!(!SharedSecret::new([b'k'; 31]).unwrap().supports_aesgcm());
    assert!(SharedSecret::new([b'k'; 32]).unwrap().supports_aesgcm());
}

// ---------------------------------------------------------------------------------------------
// §5.2 decisions
// ---------------------------------------------------------------------------------------------

#[test]
fn decision_unknown_parameter_is_malformed() {
    let sig = admission().header("Signature").unwrap().to_owned();
    for extra in [",foo=\"bar\"", ",nonce=1", ",keyid2=\"x\"", ",ext=\"\""] {
        let mut case = admission();
        case.set_header("Signature", &format!("{sig}{extra}"));
        assert!(
            matches!(fails(&case, "malformed", 400), Error::Malformed(_)),
            "{extra}"
        );
    }
}

#[test]
fn decision_parameter_names_are_case_insensitive() {
    let p = params(&admission());
    for header in [
        format!(
            r#"KeyId="hmac-key",Algorithm="hmac-sha256",Signature="{}",Headers="{DRONE_LIST}""#,
            p.signature
        ),
        format!(
            r#"KEYID="hmac-key",ALGORITHM="hmac-sha256",SIGNATURE="{}",HEADERS="{DRONE_LIST}""#,
            p.signature
        ),
    ] {
        let mut case = admission();
        case.set_header("Signature", &header);
        assert_eq!(passes(&case).key_id(), "hmac-key");
    }
}

#[test]
fn decision_unquoted_token_values() {
    let p = params(&admission());
    let mut case = admission();
    case.set_header(
        "Signature",
        &format!(
            r#"keyId=hmac-key , algorithm = hmac-sha256,signature="{}", headers="{DRONE_LIST}""#,
            p.signature
        ),
    );
    assert_eq!(passes(&case).key_id(), "hmac-key");
    // A token algorithm is compared like a quoted one.
    case.set_header(
        "Signature",
        &format!(
            r#"keyId=hmac-key,algorithm=hmac-sha1,signature="{}",headers="{DRONE_LIST}""#,
            p.signature
        ),
    );
    fails(&case, "algorithm", 401);
}

/// The admission vector with `created` / `expires` parameters (Unix seconds).
fn with_created_expires(created: Option<i64>, expires: Option<i64>) -> Case {
    let mut case = admission();
    let mut p = params(&case);
    p.created = created;
    p.expires = expires;
    set_signature(&mut case, &p);
    case
}

#[test]
fn decision_created_and_expires_are_enforced() {
    const NOW: i64 = 1_577_836_800;
    // Parsed, not refused as unknown: plausible values pass.
    passes(&with_created_expires(Some(NOW), Some(NOW + 60)));
    passes(&with_created_expires(Some(NOW - 10), None));
    passes(&with_created_expires(None, Some(NOW + 3600)));
    // `created` in the future (beyond the clock skew): stale.
    for created in [NOW + 301, NOW + 86_400, i64::MAX] {
        let case = with_created_expires(Some(created), None);
        assert!(
            matches!(fails(&case, "stale", 401), Error::Stale(_)),
            "{created}"
        );
    }
    // `expires` in the past (beyond the clock skew): stale.
    for expires in [NOW - 301, NOW - 86_400, 0] {
        let case = with_created_expires(None, Some(expires));
        assert!(
            matches!(fails(&case, "stale", 401), Error::Stale(_)),
            "{expires}"
        );
    }
    // Non-integers are malformed.
    let sig = admission().header("Signature").unwrap().to_owned();
    for extra in [",created=\"soon\"", ",expires=-1", ",created=1.5"] {
        let mut case = admission();
        case.set_header("Signature", &format!("{sig}{extra}"));
        fails(&case, "malformed", 400);
    }
}

#[test]
fn decision_host_is_verified_against_the_host_header() {
    let list = format!("{DRONE_LIST} host");
    let mut case = admission();
    case.set_header("Host", "ext.example.com:3000");
    resign(&mut case, &list);
    assert!(passes(&case).is_signed("host"));
    // Another Host: the MAC no longer verifies.
    let mut moved = case.clone();
    moved.set_header("Host", "evil.example.com:3000");
    fails(&moved, "signature", 401);
    // HTTP/2: no Host field, the authority of the request target stands in for it.
    let mut h2 = case.clone();
    h2.remove_header("Host");
    h2.target = "http://ext.example.com:3000/".to_owned();
    passes(&h2);
    // Neither: the listed header is absent.
    let mut none = case.clone();
    none.remove_header("Host");
    assert_eq!(
        fails(&none, "header-absent", 401),
        Error::HeaderAbsent("host".into())
    );
    // Not required by the presets.
    assert!(!policy(&case).required_headers().any(|h| h == "host"));
}

#[test]
fn decision_signature_with_authorization_bearer() {
    let mut case = admission();
    case.set_header("Authorization", "Bearer some-token");
    passes(&case);
    // The Bearer header does not rescue a request whose Signature is bad.
    let mut bad = with_signature(&STANDARD.encode([1u8; 32]));
    bad.set_header("Authorization", "Bearer some-token");
    fails(&bad, "signature", 401);
}

// ---------------------------------------------------------------------------------------------
// Keyring
// ---------------------------------------------------------------------------------------------

#[test]
fn keyring_bound_key_refuses_another_key_id() {
    let case = admission();
    assert_eq!(params(&case).key_id, "hmac-key");
    let keys = Keyring::bound("drone-prod", secret(&case));
    assert_eq!(
        assert_fails(verify_with(&case, keys, policy(&case)), "key", 401),
        Error::Key
    );
    // Bound to the request's keyId: accepted.
    let keys = Keyring::bound("hmac-key", secret(&case));
    verify_with(&case, keys, policy(&case)).unwrap();
    // A bound key for another keyId next to an unbound one does not get in the way.
    let other = SharedSecret::new("a-completely-different-secret").unwrap();
    let keys = Keyring::bound("drone-prod", other).with_key(secret(&case));
    verify_with(&case, keys, policy(&case)).unwrap();
    // A key bound to the request's keyId, but the wrong secret: the MAC decides.
    let wrong = SharedSecret::new("a-completely-different-secret").unwrap();
    let keys = Keyring::bound("hmac-key", wrong);
    assert_fails(verify_with(&case, keys, policy(&case)), "signature", 401);
}

#[test]
fn keyring_rotation() {
    let case = admission();
    let old = SharedSecret::new("the-previous-secret-0123456789ab").unwrap();
    let unrelated = SharedSecret::new("some-unrelated-secret-0123456789").unwrap();
    // The request is signed by the second key of the ring.
    let keys = Keyring::new(old.clone()).with_key(secret(&case));
    assert_eq!(keys.len(), 2);
    verify_with(&case, keys, policy(&case)).unwrap();
    // And by the first.
    let keys = Keyring::new(secret(&case)).with_key(old.clone());
    verify_with(&case, keys, policy(&case)).unwrap();
    // By neither.
    let keys = Keyring::new(old).with_key(unrelated);
    assert_fails(verify_with(&case, keys, policy(&case)), "signature", 401);
    // A bound second key during a rotation.
    let keys =
        Keyring::new(SharedSecret::new("x").unwrap()).with_bound_key("hmac-key", secret(&case));
    verify_with(&case, keys, policy(&case)).unwrap();
}
