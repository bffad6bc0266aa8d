//! Every case of `woodpecker-vectors.json` yields its expected verdict through the verifier, and
//! every valid case re-signs to the same `Signature-Input`, `Signature` and `Content-Digest`.

use drone_extension::__fuzz::SignatureFields;
use drone_extension::layer::SchemeError as _;
use drone_extension::woodpecker::{DigestAlgorithm, PublicKey, PublicKeys};
use support::woodpecker_vectors::{self, cases, public_key, signer, vectors, verifier};

#[test]
fn every_vector_yields_its_expected_verdict() {
    let cases = cases();
    assert_eq!(cases.len(), 33, "the whole vector file is exercised");
    let verifier = verifier();
    let mut failures = Vec::new();
    for case in &cases {
        let (parts, ()) = case.request(()).into_parts();
        let got = match verifier.verify(&parts, &case.body) {
            Ok(_) => "ok",
            Err(e) => e.class(),
        };
        if got != case.expected {
            failures.push(format!(
                "{}: expected {}, got {got}",
                case.name, case.expected
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn valid_vectors_re_sign_byte_for_byte() {
    let signer = signer();
    let mut checked = 0;
    for case in cases().iter().filter(|c| c.expected == "ok") {
        let input = case.header("Signature-Input").unwrap();
        let fields = SignatureFields::parse(
            input.as_bytes(),
            case.header("Signature").unwrap().as_bytes(),
        )
        .unwrap();
        let digest = case.header("Content-Digest").unwrap();
        let signer = signer.clone().digest(if digest.starts_with("sha-512") {
            DigestAlgorithm::Sha512
        } else {
            DigestAlgorithm::Sha256
        });
        let created = u64::try_from(fields.created()).unwrap();
        let signed = signer.sign(&case.target, &case.body, created).unwrap();
        assert_eq!(signed.content_digest, digest, "{}", case.name);
        assert_eq!(signed.signature_input, input, "{}", case.name);
        assert_eq!(
            signed.signature,
            case.header("Signature").unwrap(),
            "{}",
            case.name
        );
        checked += 1;
    }
    assert_eq!(checked, 14, "12 valid cases and 2 weakness demonstrations");
}

#[test]
fn signature_bases_match_the_vectors() {
    // The re-serialised @signature-params equals the raw member text for Woodpecker's output.
    let v = vectors();
    for case in v["cases"].as_array().unwrap() {
        let Some(base) = case["signature_base"].as_str() else {
            continue;
        };
        let params = base.rsplit_once("\"@signature-params\": ").unwrap().1;
        let headers = case["headers"].as_array().unwrap();
        let get = |name: &str| {
            headers
                .iter()
                .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
                .map(|h| h[1].as_str().unwrap().as_bytes())
        };
        let (Some(input), Some(sig)) = (get("Signature-Input"), get("Signature")) else {
            continue;
        };
        if let Ok(fields) = SignatureFields::parse(input, sig) {
            assert_eq!(fields.signature_params(), params);
        }
    }
}

#[test]
fn several_keys_are_tried_in_turn() {
    let other =
        PublicKey::from_hex(vectors()["other_key"]["public_key_hex"].as_str().unwrap()).unwrap();
    let keys = PublicKeys::new([other, public_key()]).unwrap();
    let now = woodpecker_vectors::now();
    let verifier = drone_extension::woodpecker::Verifier::new(keys)
        .max_age(std::time::Duration::from_secs(300))
        .clock(move || now);
    let case = cases()
        .into_iter()
        .find(|c| c.name == "config_valid")
        .unwrap();
    let (parts, ()) = case.request(()).into_parts();
    assert_eq!(verifier.verify(&parts, &case.body).unwrap().key_index(), 1);
    // Only the other key: the signature class.
    let verifier = drone_extension::woodpecker::Verifier::new(other).clock(move || now);
    assert_eq!(
        verifier.verify(&parts, &case.body).unwrap_err().class(),
        "signature"
    );
}

#[test]
fn the_default_window_is_60_s_old_and_10_s_ahead() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "config_valid")
        .unwrap();
    let (parts, ()) = case.request(()).into_parts();
    let created = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_786_000_000);
    let at = |offset: i64| {
        let now = if offset >= 0 {
            created + std::time::Duration::from_secs(offset.unsigned_abs())
        } else {
            created - std::time::Duration::from_secs(offset.unsigned_abs())
        };
        drone_extension::woodpecker::Verifier::new(public_key())
            .clock(move || now)
            .verify(&parts, &case.body)
            .map(|_| ())
            .map_err(|e| e.class())
    };
    assert_eq!(at(60), Ok(()));
    assert_eq!(at(61), Err("stale"));
    assert_eq!(at(-10), Ok(()));
    assert_eq!(at(-11), Err("stale"));
}
