//! Every golden case of `fixtures/vault-compat-vectors.json` (answers of Go's `path.Match`,
//! `strings.ToLower`, `strings.EqualFold` and `strconv.ParseBool`, as drone-vault combines them)
//! through [`drone_extension::vault::access`].

#![cfg(feature = "vault")]

use drone_extension::vault::access::{AccessPolicy, Denied, Subject, equal_fold, parse_bool};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("fixtures/vault-compat-vectors.json")).unwrap()
}

#[test]
fn filter_cases_match_go() {
    let vectors = vectors();
    let cases = vectors["match"].as_array().unwrap();
    assert!(cases.len() >= 37, "{} cases", cases.len());
    for case in cases {
        let value = case["filter_value"].as_str().unwrap();
        let name = case["name"].as_str().unwrap();
        let allowed = case["allowed"].as_bool().unwrap();
        let (key, subject, denial) = match case["kind"].as_str().unwrap() {
            "events" => (
                "X-Drone-Events",
                Subject {
                    event: name,
                    repo: "",
                    target: "",
                    fork: false,
                },
                Denied::Event,
            ),
            "repos" => (
                "x-drone-repos",
                Subject {
                    event: "",
                    repo: name,
                    target: "",
                    fork: false,
                },
                Denied::Repository,
            ),
            "branches" => (
                "X-DRONE-BRANCHES",
                Subject {
                    event: "",
                    repo: "",
                    target: name,
                    fork: false,
                },
                Denied::Branch,
            ),
            other => panic!("unknown kind {other}"),
        };
        let policy = AccessPolicy::from_pairs([(key, value)]);
        let expected = if allowed { Ok(()) } else { Err(denial) };
        assert_eq!(policy.check(&subject, false), expected, "{case}");
    }
}

#[test]
fn key_folding_matches_go() {
    for case in vectors()["key_fold"].as_array().unwrap() {
        let key = case["key"].as_str().unwrap();
        let canonical = case["canonical"].as_str().unwrap();
        let expected = case["equal_fold"].as_bool().unwrap();
        assert_eq!(equal_fold(key, canonical), expected, "{case}");
        assert_eq!(AccessPolicy::is_filter_key(key), expected, "{case}");
    }
}

#[test]
fn parse_bool_matches_go() {
    for case in vectors()["parse_bool"].as_array().unwrap() {
        let value = case["value"].as_str().unwrap();
        let expected = if case["parse_error"].as_bool().unwrap() {
            None
        } else {
            Some(case["parsed"].as_bool().unwrap())
        };
        assert_eq!(parse_bool(value), expected, "{case}");
    }
}
