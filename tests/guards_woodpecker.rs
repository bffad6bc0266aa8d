//! Guards for the Woodpecker verifier and services, ahead of the refactor of issue 19: each test
//! fails on one defect a mutation check injected without any other test noticing.
//!
//! The forged requests are signed for real (Ed25519 over the RFC 9421 signature base they carry),
//! so that each is refused for the one reason under test and would verify without that check.

use std::convert::Infallible;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use drone_extension::BoxError;
use drone_extension::layer::SchemeError as _;
use drone_extension::woodpecker::{
    DigestAlgorithm, LABEL, Registry, RegistryExtension, RegistryRequest, Signer, Verifier,
};
use http::header::CONTENT_TYPE;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256, Sha512};
use tower::ServiceExt;

/// When every request here is signed.
const CREATED: u64 = 1_786_000_000;
const PATH: &str = "/woodpecker/secret";
const BODY: &[u8] = br#"{"repo":{"full_name":"octo-org/hello-world"},"pipeline":{}}"#;
const OTHER_BODY: &[u8] = br#"{"repo":{"full_name":"octo-org/other"},"pipeline":{}}"#;

fn signer() -> Signer {
    Signer::from_seed(&[9; 32])
}

/// The signer's verifier, its clock 5 s after [`CREATED`].
fn verifier() -> Verifier {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(CREATED + 5);
    Verifier::new(signer().public_key()).clock(move || now)
}

fn sha256(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

fn sha512(body: &[u8]) -> String {
    format!("sha-512=:{}:", STANDARD.encode(Sha512::digest(body)))
}

/// What a forged request is made of: its covered components, the parameters after them and the
/// `Content-Digest` value.
struct Forge<'a> {
    components: &'a [&'a str],
    params: String,
    content_digest: String,
}

impl Forge<'_> {
    /// Woodpecker's components and parameters, with this `Content-Digest`.
    fn woodpecker(content_digest: String) -> Forge<'static> {
        Forge {
            components: &["@request-target", "content-digest"],
            params: format!(r#";created={CREATED};alg="ed25519""#),
            content_digest,
        }
    }

    /// The signed `Signature-Input` member (without the label) and `Signature` member value.
    fn sign(&self, target: &str) -> (String, String) {
        let list: Vec<String> = self.components.iter().map(|c| format!("\"{c}\"")).collect();
        let inner = format!("({}){}", list.join(" "), self.params);
        let mut base = String::new();
        for component in self.components {
            let value = match *component {
                "@request-target" => target,
                "content-digest" => &self.content_digest,
                other => panic!("no value for {other}"),
            };
            base.push_str(&format!("\"{component}\": {value}\n"));
        }
        base.push_str(&format!("\"@signature-params\": {inner}"));
        let signature = STANDARD.encode(signer().sign_message(base.as_bytes()));
        (inner, format!(":{signature}:"))
    }

    /// A request to `target` carrying these headers as signed.
    fn request(&self, target: &str) -> http::request::Parts {
        let (input, signature) = self.sign(target);
        headers_request(
            target,
            &format!("{LABEL}={input}"),
            &format!("{LABEL}={signature}"),
            &self.content_digest,
        )
    }
}

fn headers_request(
    target: &str,
    input: &str,
    signature: &str,
    content_digest: &str,
) -> http::request::Parts {
    Request::post(target)
        .header("content-type", "application/json")
        .header("content-digest", content_digest)
        .header("signature-input", input)
        .header("signature", signature)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

/// The verdict class of verifying `parts` with `body`, or `ok`.
fn verdict(parts: &http::request::Parts, body: &[u8]) -> &'static str {
    match verifier().verify(parts, body) {
        Ok(_) => "ok",
        Err(e) => e.class(),
    }
}

/// Guards against: the `sha-512` member of `Content-Digest` never compared with the body.
#[test]
fn a_sha512_content_digest_is_compared_with_the_body() {
    // As the signer writes it: `sha-512` alone.
    let signed = signer()
        .digest(DigestAlgorithm::Sha512)
        .sign(PATH, BODY, CREATED)
        .unwrap();
    assert!(signed.content_digest.starts_with("sha-512="));
    let parts = headers_request(
        PATH,
        &signed.signature_input,
        &signed.signature,
        &signed.content_digest,
    );
    assert_eq!(verdict(&parts, BODY), "ok");
    assert_eq!(verdict(&parts, OTHER_BODY), "digest", "a swapped body");

    // Both members signed, `sha-256` right and `sha-512` of another body: every member counts.
    let both = Forge::woodpecker(format!("{}, {}", sha256(BODY), sha512(OTHER_BODY)));
    assert_eq!(verdict(&both.request(PATH), BODY), "digest");
    let both = Forge::woodpecker(format!("{}, {}", sha256(BODY), sha512(BODY)));
    assert_eq!(verdict(&both.request(PATH), BODY), "ok");
}

/// Guards against: `@request-target` dropped from the required components. A signature over
/// `content-digest` alone would be valid on every endpoint.
#[test]
fn a_signature_not_covering_request_target_is_refused_by_policy() {
    let forge = Forge {
        components: &["content-digest"],
        ..Forge::woodpecker(sha256(BODY))
    };
    for target in [PATH, "/woodpecker/registry", "/woodpecker/config"] {
        assert_eq!(verdict(&forge.request(target), BODY), "policy", "{target}");
    }
    // The same forge covering `@request-target` too verifies: only the component list differs.
    assert_eq!(
        verdict(&Forge::woodpecker(sha256(BODY)).request(PATH), BODY),
        "ok"
    );
}

/// Guards against: the verifier parsing `Signature-Input`, `Signature` (and `Content-Digest`)
/// without the duplicate-key pass, so that a dictionary naming a key twice is read as its last
/// member (RFC 8941 parsers keep the last) instead of being refused.
#[test]
fn the_verifier_refuses_a_duplicate_key_in_each_signature_field() {
    let forge = Forge::woodpecker(sha256(BODY));
    let (input, signature) = forge.sign(PATH);
    let digest = sha256(BODY);
    let valid = headers_request(
        PATH,
        &format!("{LABEL}={input}"),
        &format!("{LABEL}={signature}"),
        &digest,
    );
    assert_eq!(verdict(&valid, BODY), "ok");

    // A bogus member first, the valid one last.
    let bogus_signature = format!(":{}:", STANDARD.encode([0u8; 64]));
    let twice = headers_request(
        PATH,
        &format!("{LABEL}={input}"),
        &format!("{LABEL}={bogus_signature}, {LABEL}={signature}"),
        &digest,
    );
    assert_eq!(verdict(&twice, BODY), "malformed", "Signature");

    let bogus_input = r#"("@request-target" "content-digest");created=1;alg="ed25519""#;
    let twice = headers_request(
        PATH,
        &format!("{LABEL}={bogus_input}, {LABEL}={input}"),
        &format!("{LABEL}={signature}"),
        &digest,
    );
    assert_eq!(verdict(&twice, BODY), "malformed", "Signature-Input");

    // Content-Digest: the whole field is signed, a digest of another body first.
    let twice = Forge::woodpecker(format!("{}, {}", sha256(OTHER_BODY), sha256(BODY)));
    let refused = verifier().verify(&twice.request(PATH), BODY).unwrap_err();
    assert_eq!(
        (refused.class(), refused.status()),
        ("digest", StatusCode::BAD_REQUEST),
        "Content-Digest: {refused:?}"
    );
}

/// Guards against: an `expires` parameter in the past accepted.
#[test]
fn a_signature_whose_expires_has_passed_is_stale() {
    let expiring = |expires: u64| Forge {
        params: format!(r#";created={CREATED};alg="ed25519";expires={expires}"#),
        ..Forge::woodpecker(sha256(BODY))
    };
    // The verifier's clock is CREATED + 5.
    assert_eq!(verdict(&expiring(CREATED + 4).request(PATH), BODY), "stale");
    assert_eq!(verdict(&expiring(CREATED).request(PATH), BODY), "stale");
    assert_eq!(verdict(&expiring(CREATED + 30).request(PATH), BODY), "ok");
}

struct NoRegistries;

#[drone_extension::async_trait]
impl RegistryExtension for NoRegistries {
    async fn registries(&self, _: RegistryRequest) -> Result<Vec<Registry>, BoxError> {
        Ok(Vec::new())
    }
}

/// Guards against: an empty registry list answered `204`. Woodpecker treats every empty 2xx as a
/// transport failure and sends the request three times (docs/woodpecker.md §3), so "no
/// registries" is `200 {"registries":[]}`.
#[tokio::test]
async fn an_empty_registry_list_is_answered_200_with_an_empty_json_list() {
    let body = serde_json::to_vec(&RegistryRequest::default()).unwrap();
    let request = Request::post("/woodpecker/registry")
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response: http::Response<_> = NoRegistries
        .into_service()
        .oneshot(request)
        .await
        .unwrap_or_else(|e: Infallible| match e {});
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&bytes)));
    assert_eq!(answer, serde_json::json!({ "registries": [] }));
}
