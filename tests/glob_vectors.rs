//! `drone_extension::glob` against Go's own answers: every case of `glob-vectors.json` (generated
//! with Go 1.19's `path/filepath.Match`), and properties that hold for Go's `Match`.

use drone_extension::glob::{self, Pattern};
use drone_extension::global_secrets;
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    pattern: String,
    name: String,
    #[serde(rename = "match")]
    matched: bool,
    bad_pattern: bool,
}

fn cases() -> Vec<Case> {
    let text = include_str!("fixtures/glob-vectors.json");
    serde_json::from_str::<File>(text).unwrap().cases
}

#[test]
fn every_go_vector() {
    let cases = cases();
    assert_eq!(cases.len(), 2640);
    let mut failures = Vec::new();
    for case in &cases {
        let got = glob::matches(&case.pattern, &case.name);
        let expected_ok = !case.bad_pattern;
        let agrees = match got {
            Ok(m) => expected_ok && m == case.matched,
            Err(_) => case.bad_pattern && !case.matched,
        };
        // Pattern::new refuses exactly the bad patterns, and a valid one answers the same.
        let via_pattern = match Pattern::new(&case.pattern) {
            Ok(p) => expected_ok && p.matches(&case.name) == case.matched,
            Err(_) => case.bad_pattern,
        };
        // global_secrets::matches (Drone's filters): a bad pattern never matches.
        let via_filter = global_secrets::matches(std::slice::from_ref(&case.pattern), &case.name)
            == case.matched;
        if !(agrees && via_pattern && via_filter) {
            failures.push(format!(
                "{:?} vs {:?}: got {got:?}, Go says match={} bad={}",
                case.pattern, case.name, case.matched, case.bad_pattern
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The vectors exercise both outcomes and malformed patterns.
    assert!(cases.iter().filter(|c| c.matched).count() > 100);
    assert!(cases.iter().filter(|c| c.bad_pattern).count() > 100);
}

#[test]
fn errors_name_a_byte_offset_inside_the_pattern() {
    for case in cases().iter().filter(|c| c.bad_pattern) {
        let err = Pattern::new(&case.pattern).unwrap_err();
        assert!(err.offset() <= case.pattern.len(), "{:?}", case.pattern);
        assert!(
            err.to_string()
                .contains(&format!("at byte {}", err.offset()))
        );
    }
}

/// Names made of characters that are not pattern syntax, `/` included.
fn literal() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_./:@é -]{0,24}"
}

proptest! {
    #[test]
    fn a_literal_pattern_matches_exactly_itself(p in literal(), name in literal()) {
        let pattern = Pattern::new(&p).unwrap();
        prop_assert!(pattern.matches(&p));
        prop_assert_eq!(pattern.matches(&name), name == p);
    }

    #[test]
    fn star_matches_any_name_without_a_slash(name in "[^/]{0,24}", other in "[^/]{0,8}/[^/]{0,8}") {
        prop_assert_eq!(glob::matches("*", &name), Ok(true));
        prop_assert_eq!(glob::matches("*", &other), Ok(false));
    }

    #[test]
    fn an_escaped_name_matches_itself(name in "\\PC{0,16}") {
        // Escaping every character makes any name a literal pattern.
        let escaped: String = name.chars().flat_map(|c| ['\\', c]).collect();
        prop_assert_eq!(glob::matches(&escaped, &name), Ok(true));
    }

    #[test]
    fn question_marks_count_characters(name in "[^/]{0,12}") {
        let pattern = "?".repeat(name.chars().count());
        prop_assert_eq!(glob::matches(&pattern, &name), Ok(true));
        let longer = format!("{pattern}?");
        prop_assert_eq!(glob::matches(&longer, &name), Ok(false));
    }

    #[test]
    fn never_panics_and_agrees_with_pattern(p in "[a\\[\\]^\\\\*?/-]{0,10}", name in "[ab/\\]^-]{0,8}") {
        let free = glob::matches(&p, &name);
        match Pattern::new(&p) {
            Ok(pattern) => prop_assert_eq!(free, Ok(pattern.matches(&name))),
            Err(e) => prop_assert_eq!(free, Err(e)),
        }
    }
}
