//! The Woodpecker vectors (`tests/fixtures/woodpecker-vectors.json`), loaded for the tests.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use drone_extension::woodpecker::{PublicKey, Signer, Verifier};
use serde_json::Value;

/// The parsed vector file.
pub fn vectors() -> Value {
    serde_json::from_str(include_str!(
        "../../../tests/fixtures/woodpecker-vectors.json"
    ))
    .unwrap()
}

/// One case.
pub struct Case {
    pub name: String,
    pub expected: String,
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Case {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request head as an `http` request.
    pub fn request<B>(&self, body: B) -> http::Request<B> {
        let mut builder = http::Request::builder()
            .method(self.method.as_str())
            .uri(self.target.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder.body(body).unwrap()
    }
}

pub fn cases() -> Vec<Case> {
    let v = vectors();
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let line = c["request_line"].as_str().unwrap();
            let mut words = line.split(' ');
            let method = words.next().unwrap().to_owned();
            let target = words.next().unwrap().to_owned();
            Case {
                name: c["name"].as_str().unwrap().to_owned(),
                expected: c["expected_verdict"].as_str().unwrap().to_owned(),
                method,
                target,
                headers: crate::header_pairs(&c["headers"]),
                body: STANDARD.decode(c["body_base64"].as_str().unwrap()).unwrap(),
            }
        })
        .collect()
}

/// The vectors' clock.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(vectors()["now"].as_u64().unwrap())
}

/// The vectors' key.
pub fn public_key() -> PublicKey {
    PublicKey::from_pem(vectors()["key"]["public_key_pem"].as_str().unwrap()).unwrap()
}

/// The vectors' signing key, as Woodpecker stores it.
pub fn signer() -> Signer {
    Signer::from_woodpecker_hex(
        vectors()["key"]["private_key_hex_as_stored_by_woodpecker"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

/// The verifier under the vectors' policy (300 s old, 60 s ahead, their clock).
pub fn verifier() -> Verifier {
    let now = now();
    Verifier::new(public_key())
        .max_age(Duration::from_secs(300))
        .max_future_skew(Duration::from_secs(60))
        .clock(move || now)
}
