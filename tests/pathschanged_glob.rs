//! `pathschanged::doublestar` and `PathsCondition` against the reference's own answers: every
//! `glob_pairs` entry of `pathschanged-vectors.json` (doublestar v1.3.4 `Match`, its error read
//! as `false` as the plugin does) and every `condition_pairs` entry (the plugin's
//! `condition.match`).

use drone_extension::pathschanged::PathsCondition;
use drone_extension::pathschanged::doublestar::{Pattern, PatternError};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    glob_pairs: Vec<GlobPair>,
    condition_pairs: Vec<ConditionPair>,
}

#[derive(Deserialize)]
struct GlobPair {
    pattern: String,
    path: String,
    #[serde(rename = "match")]
    matched: bool,
}

#[derive(Deserialize)]
struct ConditionPair {
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    path: String,
    #[serde(rename = "match")]
    matched: bool,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("fixtures/pathschanged-vectors.json")).unwrap()
}

/// The patterns of the vectors that doublestar reports as malformed.
const MALFORMED: [&str; 4] = ["[", "[a-]", "docs/[", "{a,b"];

#[test]
fn every_glob_pair() {
    let pairs = vectors().glob_pairs;
    assert_eq!(pairs.len(), 1175);
    let mut failures = Vec::new();
    for pair in &pairs {
        // The compiled pattern (the rewrite's path), or the reference's lazy handling of a
        // malformed one (the condition's path).
        let compiled = Pattern::new(&pair.pattern);
        let lenient = PathsCondition::new([&pair.pattern], []).matches(&pair.path);
        let agrees = match &compiled {
            Ok(pattern) => pattern.matches(&pair.path) == pair.matched && lenient == pair.matched,
            Err(_) => MALFORMED.contains(&pair.pattern.as_str()) && lenient == pair.matched,
        };
        if !agrees {
            failures.push(format!(
                "{:?} vs {:?}: expected {}, compiled {:?}, lenient {lenient}",
                pair.pattern,
                pair.path,
                pair.matched,
                compiled.map(|p| p.matches(&pair.path))
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every malformed pattern of the vectors is refused by `Pattern::new` and never matches.
    for pattern in MALFORMED {
        assert!(Pattern::new(pattern).is_err(), "{pattern}");
        assert!(
            pairs
                .iter()
                .filter(|p| p.pattern == pattern)
                .all(|p| !p.matched)
        );
    }
}

#[test]
fn every_condition_pair() {
    let pairs = vectors().condition_pairs;
    assert_eq!(pairs.len(), 90);
    for pair in &pairs {
        let condition = PathsCondition::new(
            pair.include.clone().unwrap_or_default(),
            pair.exclude.clone().unwrap_or_default(),
        );
        assert_eq!(
            condition.matches(&pair.path),
            pair.matched,
            "{condition} vs {:?}",
            pair.path
        );
        // One file: kept exactly when it matches.
        assert_eq!(condition.keeps(&[&pair.path]), pair.matched);
    }
}

#[test]
fn documented_semantics() {
    let m = |p: &str, path: &str| Pattern::new(p).unwrap().matches(path);
    // `*` includes a leading dot; `**` as a whole component is zero or more components.
    assert!(m("*", ".drone.yml"));
    assert!(m("**/*.go", "main.go"));
    assert!(m("src/**/main.go", "src/main.go"));
    assert!(m("a/**/b", "a/b"));
    assert!(m("**", ""));
    assert!(!m("a/**", "a"));
    // `**` inside a component is two stars.
    assert!(m("**.md", "README.md"));
    assert!(!m("**.md", "docs/README.md"));
    assert!(!m("a**b", "a/b"));
    // Classes: `^` negates, `!` does not.
    assert!(m("[!a-c].md", "a.md"));
    assert!(!m("[!a-c].md", "d.md"));
    assert!(m("[^a-c].md", "d.md"));
    // Alternatives, nested, with `/`.
    assert!(m("{docs,src/{a,b}}/**", "src/b/x"));
    // No normalisation, case-sensitive.
    assert!(!m("/README.md", "README.md"));
    assert!(!m("./README.md", "README.md"));
    assert!(!m("docs/", "docs/index.md"));
    assert!(!m("docs", "docs/index.md"));
    assert!(!m("readme.md", "README.md"));
    assert!(m("dir with space/é*", "dir with space/été.txt"));
}

#[test]
fn condition_rules() {
    // Empty changed list: never skipped, whatever the condition.
    let never = PathsCondition::new(["nothing/**"], []);
    assert!(never.keeps::<&str>(&[]));
    assert!(!never.keeps(&["a"]));
    // No pattern at all: no condition, everything kept.
    let none = PathsCondition::new::<[&str; 0], _>([], []);
    assert!(none.is_empty());
    assert!(none.keeps(&["x"]));
    // Exclude-only: kept as soon as one file is not excluded.
    let no_md = PathsCondition::new([], ["**/*.md"]);
    assert!(no_md.keeps(&["README.md", "main.go"]));
    assert!(!no_md.keeps(&["README.md", "docs/a.md"]));
    // A malformed pattern never matches (reference); try_new refuses it.
    let bad = PathsCondition::new(["["], []);
    assert!(!bad.keeps(&["["]));
    assert_eq!(
        PathsCondition::try_new(["ok/**"], ["docs/["]).unwrap_err(),
        PatternError::UnclosedClass { offset: 5 }
    );
    assert_eq!(
        PathsCondition::new(["a", "b"], ["c"]).to_string(),
        r#"include ["a", "b"] exclude ["c"]"#
    );
    assert_eq!(
        PathsCondition::new(["a"], []).include().collect::<Vec<_>>(),
        ["a"]
    );
}
