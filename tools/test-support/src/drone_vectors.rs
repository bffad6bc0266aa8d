//! Drone's signature vectors (`tests/fixtures/signature-vectors.json`), loaded for the tests,
//! and request builders.

use std::time::{Duration, SystemTime};

use drone_extension::layer::SchemeError as _;
use drone_extension::signature::{Policy, SharedSecret, Verifier};
use http::request::Parts;
use http::{HeaderName, HeaderValue, Request};
use serde_json::Value;

/// The vector file.
pub const VECTORS: &str = include_str!("../../../tests/fixtures/signature-vectors.json");

/// One case of `signature-vectors.json`.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub b_case: Option<String>,
    pub policy: String,
    pub secret: String,
    pub now: SystemTime,
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub expect: String,
    pub signing_string: Option<String>,
}

pub fn cases() -> Vec<Case> {
    let doc: Value = serde_json::from_str(VECTORS).expect("vector file is JSON");
    doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            id: c["id"].as_str().unwrap().to_owned(),
            b_case: c["b_case"].as_str().map(str::to_owned),
            policy: c["policy"].as_str().unwrap().to_owned(),
            secret: c["secret"].as_str().unwrap().to_owned(),
            now: httpdate::parse_http_date(c["now"].as_str().unwrap()).unwrap(),
            method: c["method"].as_str().unwrap().to_owned(),
            target: c["target"].as_str().unwrap().to_owned(),
            headers: crate::header_pairs(&c["headers"]),
            body: c["body"].as_str().unwrap().to_owned(),
            expect: c["expect"].as_str().unwrap().to_owned(),
            signing_string: c["signing_string"].as_str().map(str::to_owned),
        })
        .collect()
}

pub fn case(id: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
}

/// The policy preset named in the vector file, with the clock pinned.
pub fn policy(name: &str, now: SystemTime) -> Policy {
    let base = match name {
        "drone-extension:admission" => Policy::drone_extension(drone_extension::kind::ADMISSION_V1),
        "drone-extension:secret" => Policy::drone_extension(drone_extension::kind::SECRET_V1),
        "drone-webhook" => Policy::drone_webhook(),
        other => panic!("unknown policy {other}"),
    };
    base.clock(move || now)
}

impl Case {
    pub fn parts(&self) -> Parts {
        let mut builder = Request::builder()
            .method(self.method.as_str())
            .uri(self.target.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        builder.body(()).unwrap().into_parts().0
    }

    pub fn verifier(&self) -> Verifier {
        Verifier::new(
            SharedSecret::new(&self.secret).unwrap(),
            policy(&self.policy, self.now),
        )
    }

    /// The outcome class of verifying this case as given.
    pub fn outcome(&self) -> String {
        match self.verifier().verify(&self.parts(), self.body.as_bytes()) {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.class().to_owned(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn shift_clock(&mut self, secs: i64) {
        self.now = if secs >= 0 {
            self.now + Duration::from_secs(secs as u64)
        } else {
            self.now - Duration::from_secs(secs.unsigned_abs())
        };
    }
}

pub fn unix(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}
