//! `pathschanged::rewrite` against the reference (drone-convert-pathschanged): the 50 whole
//! requests and the 19 `paths` decodings of `pathschanged-vectors.json`, then what the Rust port
//! does deliberately differently: the original bytes are kept and only `event` entries are
//! inserted or replaced, silently dropped conditions are refused, anchors are handled, and no
//! input makes it panic.

use drone_extension::pathschanged::{
    ErrorKind, PathsCondition, PathsProblem, Rewrite, has_paths_conditions, rewrite,
};
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    cases: Vec<Case>,
    paths_decoding: Vec<Decoding>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    input: String,
    changed_files: Vec<String>,
    result: String,
    decisions: Option<Vec<GoPipeline>>,
}

#[derive(Deserialize, Debug)]
struct GoPipeline {
    name: String,
    skipped: bool,
    steps: Vec<GoStep>,
}

#[derive(Deserialize, Debug)]
struct GoStep {
    name: String,
    skipped: bool,
}

#[derive(Deserialize)]
struct Decoding {
    trigger_paths_yaml: String,
    include: Vec<String>,
    exclude: Vec<String>,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("fixtures/pathschanged-vectors.json")).unwrap()
}

const MARKER_LINE: &str = "event: {exclude: ['*']}";

/// The output is the input plus marker lines (block mappings) and `, event: …` (flow mappings)
/// only: removing them gives the input back byte for byte.
fn assert_only_insertions(input: &str, output: &str) {
    let mut stripped = String::new();
    for line in output.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']).trim_start() == MARKER_LINE {
            continue;
        }
        stripped.push_str(line);
    }
    let stripped = stripped.replace(", event: {exclude: ['*']}", "");
    assert_eq!(stripped, input, "output:\n{output}");
}

fn skipped_steps(answer: &Rewrite) -> Vec<Vec<bool>> {
    answer
        .pipelines
        .iter()
        .map(|p| p.steps.iter().map(|s| s.skipped).collect())
        .collect()
}

/// The cases where the port refuses what the reference silently drops (deliberate).
/// What an error's kind must be.
type Expect = fn(&ErrorKind) -> bool;

fn refused(case: &str) -> Option<Expect> {
    Some(match case {
        "paths_capitalised_keys_ignored" => {
            |k| *k == ErrorKind::InvalidPaths(PathsProblem::UnknownKey("Include".into()))
        }
        "paths_unknown_key_ignored" => {
            |k| *k == ErrorKind::InvalidPaths(PathsProblem::UnknownKey("only".into()))
        }
        "glob_bad_pattern_include" => {
            |k| matches!(k, ErrorKind::Pattern { pattern, .. } if pattern == "[")
        }
        "glob_bad_pattern_exclude" => {
            |k| matches!(k, ErrorKind::Pattern { pattern, .. } if pattern == "docs/[")
        }
        _ => return None,
    })
}

#[test]
fn every_case_decides_as_the_reference() {
    let cases = vectors().cases;
    assert_eq!(cases.len(), 50);
    let mut compared = 0;
    for case in &cases {
        let answer = rewrite(&case.input, &case.changed_files);
        if let Some(expected) = refused(&case.name) {
            let error = answer.expect_err(&case.name);
            assert!(expected(error.kind()), "{}: {error}", case.name);
            continue;
        }
        if case.result == "error" {
            assert!(answer.is_err(), "{}", case.name);
            continue;
        }
        let answer = answer.unwrap_or_else(|e| panic!("{}: {e}", case.name));
        // Nothing skipped <=> no configuration (the reference's passthrough, or its
        // re-serialisation without a marker).
        assert_eq!(
            answer.config.is_some(),
            answer.skips_anything(),
            "{}",
            case.name
        );
        match &case.decisions {
            None => {
                assert_eq!(case.result, "unchanged");
                assert!(answer.config.is_none(), "{}", case.name);
            }
            Some(go) => {
                assert_eq!(answer.pipelines.len(), go.len(), "{}", case.name);
                for (ours, theirs) in answer.pipelines.iter().zip(go) {
                    assert_eq!(ours.name.as_deref(), Some(theirs.name.as_str()));
                    assert_eq!(ours.skipped, theirs.skipped, "{}", case.name);
                    assert_eq!(ours.steps.len(), theirs.steps.len(), "{}", case.name);
                    for (s, t) in ours.steps.iter().zip(&theirs.steps) {
                        assert_eq!(s.skipped, t.skipped, "{} step {}", case.name, t.name);
                        // yaml.v2 v2.1.0 lets `<<` override an earlier explicit `name`; YAML
                        // (and this report) keep the explicit one.
                        if case.name == "yaml_anchor_merge_after_name" {
                            assert_eq!(
                                (s.name.as_deref(), t.name.as_str()),
                                (Some("test"), "from-anchor")
                            );
                        } else {
                            assert_eq!(s.name.as_deref(), Some(t.name.as_str()), "{}", case.name);
                        }
                    }
                }
                compared += 1;
            }
        }
        if let Some(output) = &answer.config {
            assert_only_insertions_or_replacements(&case.input, output, &case.name);
            // The output evaluates to the same decisions and needs nothing more.
            let again = rewrite(output, &case.changed_files).unwrap();
            assert_eq!(again.config, None, "{}", case.name);
            assert_eq!(skipped_steps(&again), skipped_steps(&answer));
            assert_eq!(
                again
                    .pipelines
                    .iter()
                    .map(|p| p.skipped)
                    .collect::<Vec<_>>(),
                answer
                    .pipelines
                    .iter()
                    .map(|p| p.skipped)
                    .collect::<Vec<_>>()
            );
        }
        // The pre-check agrees: a case without any condition never needs the changed files.
        let any = answer
            .pipelines
            .iter()
            .any(|p| p.condition.is_some() || p.steps.iter().any(|s| s.condition.is_some()));
        assert_eq!(has_paths_conditions(&case.input), Ok(any), "{}", case.name);
    }
    assert_eq!(compared, 41);
}

/// For the vector cases: only marker insertions, except where an `event` value was replaced.
fn assert_only_insertions_or_replacements(input: &str, output: &str, case: &str) {
    match case {
        "step_when_event_overwritten" => assert_eq!(
            output,
            input.replace(
                "    event:\n    - push\n    - pull_request\n",
                "    event: {exclude: ['*']}\n"
            )
        ),
        "trigger_nomatch_existing_event_and_branch" => assert_eq!(
            output,
            input.replace("  event:\n  - push\n", "  event: {exclude: ['*']}\n")
        ),
        _ => assert_only_insertions(input, output),
    }
}

#[test]
fn paths_decoding_as_the_reference_or_refused() {
    let decodings = vectors().paths_decoding;
    assert_eq!(decodings.len(), 19);
    // What the reference drops silently, refused here (value → problem).
    let refusals: &[(&str, PathsProblem)] = &[
        ("{include: a}", PathsProblem::NotAList("include")),
        ("{exclude: b}", PathsProblem::NotAList("exclude")),
        (
            "{include: [a], exclude: b}",
            PathsProblem::NotAList("exclude"),
        ),
        ("\"\"", PathsProblem::EmptyPattern),
        ("{Include: [a]}", PathsProblem::UnknownKey("Include".into())),
        (
            "{includes: [a]}",
            PathsProblem::UnknownKey("includes".into()),
        ),
        ("[[a]]", PathsProblem::NotAPattern),
        ("{include: [a, [b]]}", PathsProblem::NotAPattern),
        ("[a, {include: b}]", PathsProblem::NotAPattern),
        (
            "{include: [a], include2: [c]}",
            PathsProblem::UnknownKey("include2".into()),
        ),
    ];
    let mut accepted = 0;
    for decoding in &decodings {
        let config = format!(
            "kind: pipeline\nname: p\ntrigger:\n  paths: {}\n",
            decoding.trigger_paths_yaml
        );
        let answer = rewrite(&config, &["x"]);
        if let Some((_, problem)) = refusals
            .iter()
            .find(|(value, _)| *value == decoding.trigger_paths_yaml)
        {
            let error = answer.expect_err(&decoding.trigger_paths_yaml);
            assert_eq!(error.kind(), &ErrorKind::InvalidPaths(problem.clone()));
            assert_eq!(error.location().line, 4, "{error}");
            assert_eq!(error.location().pipeline.as_deref(), Some("p"));
            continue;
        }
        let answer = answer.unwrap_or_else(|e| panic!("{}: {e}", decoding.trigger_paths_yaml));
        let expected = PathsCondition::new(&decoding.include, &decoding.exclude);
        let got = answer.pipelines[0].condition.clone();
        if expected.is_empty() {
            assert_eq!(got, None, "{}", decoding.trigger_paths_yaml);
        } else {
            assert_eq!(got, Some(expected), "{}", decoding.trigger_paths_yaml);
        }
        accepted += 1;
    }
    assert_eq!(accepted, 9);
}

/// Everything but the marker stays byte for byte: comments, anchors, quoting, YAML 1.1 scalars,
/// key order, blank lines, `---`/`...`, other documents.
#[test]
fn bytes_are_kept() {
    let input = "\
# build the thing
---
kind: pipeline   # inline comment
type: docker
name: \"default\"

x-defaults: &defaults
  image: 'alpine:3.20'

steps:
  # first step
  - <<: *defaults
    name: a
    environment:
      ANSWER: yes
      MODE: 0755
      VERSION: 1.10
      on: push
      QUOTED: \"yes\"
    commands:
      - |
        echo one
        echo two
      - >
        folded text
      - echo this is a very long command line that is definitely longer than eighty characters in total width
    when:
      # only sources
      paths: [src/**]   # trailing
      branch: main

trigger:
  branch: [main]
...
---
kind: secret
name: docker_password
get: {path: secret/data/docker, name: password}
---
kind: signature
hmac: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
...
";
    let answer = rewrite(input, &["docs/a.md"]).unwrap();
    let output = answer.config.unwrap();
    assert_only_insertions(input, &output);
    // Under the `when:` line, above its comment, with the keys' indentation.
    assert!(output.contains(
        "    when:\n      event: {exclude: ['*']}\n      # only sources\n      paths: [src/**]   # trailing\n"
    ));
    // The documents after the pipeline are the same bytes.
    let tail = &input[input.find("---\nkind: secret").unwrap()..];
    assert!(output.ends_with(tail));
}

#[test]
fn crlf_and_unicode() {
    let input = "kind: pipeline\r\nname: \u{e9}t\u{e9} \u{1f680}\r\nsteps:\r\n- name: \u{4e2d}\u{6587}\r\n  when:\r\n    paths: [src/**]\r\n";
    let output = rewrite(input, &["README.md"]).unwrap().config.unwrap();
    assert_eq!(
        output,
        "kind: pipeline\r\nname: \u{e9}t\u{e9} \u{1f680}\r\nsteps:\r\n- name: \u{4e2d}\u{6587}\r\n  when:\r\n    event: {exclude: ['*']}\r\n    paths: [src/**]\r\n"
    );
    // A byte order mark and a file without a final line break.
    let input = "\u{feff}kind: pipeline\ntrigger:\n  paths: [src/**]";
    let output = rewrite(input, &["README.md"]).unwrap().config.unwrap();
    assert_eq!(
        output,
        "\u{feff}kind: pipeline\ntrigger:\n  event: {exclude: ['*']}\n  paths: [src/**]"
    );
}

#[test]
fn flow_mappings() {
    let cases = [
        (
            "kind: pipeline\ntrigger: {paths: [a/**]}\n",
            "kind: pipeline\ntrigger: {paths: [a/**], event: {exclude: ['*']}}\n",
        ),
        (
            "kind: pipeline\nsteps:\n- {name: a, when: {paths: {include: [a/**]}, branch: main}}\n",
            "kind: pipeline\nsteps:\n- {name: a, when: {paths: {include: [a/**]}, branch: main, event: {exclude: ['*']}}}\n",
        ),
        (
            "kind: pipeline\nsteps: [{name: a, when: {paths: [a/**], }}]\n",
            "kind: pipeline\nsteps: [{name: a, when: {paths: [a/**], event: {exclude: ['*']}, }}]\n",
        ),
        (
            "kind: pipeline\ntrigger: {\n  paths: [a/**],   # c\n  branch\n}\n",
            "kind: pipeline\ntrigger: {\n  paths: [a/**],   # c\n  branch, event: {exclude: ['*']}\n}\n",
        ),
        (
            "kind: pipeline\ntrigger: {\"paths\":[\"a/**\"],\"event\":[\"push\"]}\n",
            "kind: pipeline\ntrigger: {\"paths\":[\"a/**\"],\"event\": {exclude: ['*']}}\n",
        ),
        (
            "kind: pipeline\ntrigger: {paths: a/**, event: {}}\n",
            "kind: pipeline\ntrigger: {paths: a/**, event: {exclude: ['*']}}\n",
        ),
    ];
    for (input, expected) in cases {
        let answer = rewrite(input, &["b/x"]).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(answer.config.as_deref(), Some(expected), "{input}");
    }
}

#[test]
fn existing_event_values_are_replaced() {
    let cases = [
        // Scalar, null, with a comment, with properties, block mapping, block scalar.
        ("event: push", "event: {exclude: ['*']}"),
        ("event:", "event: {exclude: ['*']}"),
        ("event: ~ # was null", "event: {exclude: ['*']} # was null"),
        ("event: &e [push]", "event: {exclude: ['*']}"),
        (
            "event:\n    include: [push]\n    exclude: [tag]",
            "event: {exclude: ['*']}",
        ),
        ("event: |\n    push\n", "event: {exclude: ['*']}\n"),
        ("event: # which\n    - push", "event: {exclude: ['*']}"),
        ("? event\n  : push", "? event\n  : {exclude: ['*']}"),
    ];
    for (event, replaced) in cases {
        let input =
            format!("kind: pipeline\ntrigger:\n  {event}\n  paths: [a/**]\n  branch: main\n");
        let expected =
            format!("kind: pipeline\ntrigger:\n  {replaced}\n  paths: [a/**]\n  branch: main\n");
        let answer = rewrite(&input, &["b"]).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(answer.config.as_deref(), Some(expected.as_str()), "{input}");
    }
    // Already the marker (any spelling): nothing to do.
    let marked = "kind: pipeline\ntrigger:\n  event:\n    exclude:\n    - \"*\"\n  paths: [a/**]\n";
    let answer = rewrite(marked, &["b"]).unwrap();
    assert!(answer.pipelines[0].skipped);
    assert_eq!(answer.config, None);
}

#[test]
fn indentation_follows_the_siblings() {
    let input = "kind: pipeline\nsteps:\n    -   name: a\n        when:\n                branch: main\n                paths:\n                    - a/**\n";
    let output = rewrite(input, &["b"]).unwrap().config.unwrap();
    assert_eq!(
        output,
        "kind: pipeline\nsteps:\n    -   name: a\n        when:\n                event: {exclude: ['*']}\n                branch: main\n                paths:\n                    - a/**\n"
    );
    // `when:` as the step's first key, on the `-` line.
    let input = "kind: pipeline\nsteps:\n- when:\n    paths: [a/**]\n  name: z\n";
    let output = rewrite(input, &["b"]).unwrap().config.unwrap();
    assert_eq!(
        output,
        "kind: pipeline\nsteps:\n- when:\n    event: {exclude: ['*']}\n    paths: [a/**]\n  name: z\n"
    );
    // An explicit first key: not edited (refused, never broken).
    let input = "kind: pipeline\ntrigger:\n  ? paths\n  : [a/**]\n";
    let error = rewrite(input, &["b"]).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Unsupported(_)), "{error}");
    assert_eq!(rewrite(input, &["a/x"]).unwrap().config, None);
    // Tabs inside values and comments are fine.
    let input = "kind: pipeline\ntrigger: # a\tcomment\n  paths: [\"a/**\"]\n  branch: \"x\ty\"\n";
    assert_only_insertions(input, &rewrite(input, &["b"]).unwrap().config.unwrap());
}

#[test]
fn nothing_to_do() {
    for input in [
        "",
        "# only a comment\n",
        "kind: pipeline\nname: a\nsteps:\n- name: a\n",
        "kind: pipeline\ntrigger:\n",
        "kind: pipeline\ntrigger: ~\nsteps:\n- name: a\n  when: ~\n",
        "kind: pipeline\ntrigger:\n  branch: main\n",
        "kind: pipeline\ntrigger:\n  paths: []\nsteps: ~\n",
        "kind: pipeline\ntrigger:\n  paths: {}\n",
        "kind: pipeline\ntrigger:\n  paths: ~\n",
        "kind: Pipeline\ntrigger:\n  paths: [a]\n",
        "kind: secret\ntrigger:\n  paths: [a]\nsteps: 5\n",
        "kind: pipeline\nservices:\n- name: db\n  when:\n    paths: [a]\n",
        "---\n---\n...\n",
    ] {
        assert_eq!(has_paths_conditions(input), Ok(false), "{input:?}");
        let answer = rewrite(input, &["b"]).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(answer.config, None);
        assert!(!answer.skips_anything());
    }
    // Conditions, but nothing changed: never skipped.
    let input = "kind: pipeline\ntrigger:\n  paths: [a/**]\n";
    assert_eq!(has_paths_conditions(input), Ok(true));
    let answer = rewrite::<&str>(input, &[]).unwrap();
    assert_eq!(answer.config, None);
    assert!(!answer.pipelines[0].skipped);
}

#[test]
fn anchors_and_merge_keys() {
    // A step anchored and merged into others: they share its `when`, so they share its
    // decision; the marker goes once into the anchored step.
    let input = "\
kind: pipeline
steps:
- &build
  name: build
  image: golang
  when:
    paths: [api/**]
- <<: *build
  name: build-arm
- <<: *build
  name: docs
  when:
    paths: [docs/**]
";
    let answer = rewrite(input, &["docs/a.md"]).unwrap();
    assert_eq!(skipped_steps(&answer), [[true, true, false]]);
    let output = answer.config.unwrap();
    assert_eq!(output.matches(MARKER_LINE).count(), 1);
    assert_only_insertions(input, &output);

    // `when` merging a shared base: the marker goes into the local `when`.
    let input = "\
kind: pipeline
x-base: &base
  paths: [api/**]
steps:
- name: a
  when:
    <<: *base
    branch: main
- name: b
  when:
    <<: *base
";
    let answer = rewrite(input, &["web/x"]).unwrap();
    assert_eq!(skipped_steps(&answer), [[true, true]]);
    let output = answer.config.unwrap();
    assert_eq!(output.matches(MARKER_LINE).count(), 2);
    assert_only_insertions(input, &output);

    // The same `when` mapping aliased by another step: one marker.
    let input = "kind: pipeline\nsteps:\n- name: a\n  when: &w\n    paths: [api/**]\n- name: b\n  when: *w\n";
    let answer = rewrite(input, &["web/x"]).unwrap();
    assert_eq!(skipped_steps(&answer), [[true, true]]);
    assert_eq!(answer.config.unwrap().matches(MARKER_LINE).count(), 1);

    // Kept: anchors anywhere are fine, nothing is edited.
    let shared = "kind: pipeline\nx-when: &w\n  paths: [api/**]\nsteps:\n- name: a\n  when: *w\n";
    assert_eq!(rewrite(shared, &["api/x"]).unwrap().config, None);
    // Skipped: the mapping lives under `x-when`, the marker would land there.
    let error = rewrite(shared, &["web/x"]).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::SharedCondition(_)),
        "{error}"
    );
    assert_eq!(error.location().step, Some(1));

    // `when` brought by a merge from outside `steps`.
    let input =
        "kind: pipeline\nx-step: &s\n  when:\n    paths: [api/**]\nsteps:\n- <<: *s\n  name: a\n";
    let error = rewrite(input, &["web/x"]).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::SharedCondition(_)),
        "{error}"
    );

    // A step anchor used by a service: refused.
    let input =
        "kind: pipeline\nsteps:\n- &s\n  name: a\n  when:\n    paths: [api/**]\nservices:\n- *s\n";
    assert!(matches!(
        rewrite(input, &["web/x"]).unwrap_err().kind(),
        ErrorKind::SharedCondition(_)
    ));

    // `event` brought by a merge: refused (the marker would not override it in Drone).
    let input = "kind: pipeline\nx: &e\n  event: [push]\ntrigger:\n  <<: *e\n  paths: [api/**]\n";
    assert!(matches!(
        rewrite(input, &["web/x"]).unwrap_err().kind(),
        ErrorKind::SharedCondition(_)
    ));

    // An explicit key before a `<<` that brings it too: YAML and yaml.v2 v2.1.0 disagree.
    let input = "kind: pipeline\nx: &t\n  when:\n    paths: [b/**]\nsteps:\n- name: a\n  when:\n    paths: [a/**]\n  <<: *t\n";
    let error = rewrite(input, &["c"]).unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::MergeConflict("when".into()));
    assert_eq!(error.location().line, 9);
    // After the `<<`, the explicit key wins in both.
    let input = "kind: pipeline\nx: &t\n  when:\n    paths: [b/**]\nsteps:\n- <<: *t\n  name: a\n  when:\n    paths: [a/**]\n";
    let answer = rewrite(input, &["b/x"]).unwrap();
    assert_eq!(skipped_steps(&answer), [[true]]);

    // `kind` and `steps` through a merge count.
    let input = "x: &p\n  kind: pipeline\n  trigger:\n    paths: [a/**]\n<<: *p\nname: merged\n";
    assert_eq!(has_paths_conditions(input), Ok(true));
}

#[test]
fn refusals_name_the_place() {
    let input = "kind: pipeline\nname: api\nsteps:\n- name: test\n  when:\n    paths:\n      include: README.md\n";
    let error = rewrite(input, &["x"]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 7, column 16 (document 1, pipeline \"api\", step 1 \"test\"): `paths.include` \
         must be a list of patterns (write `include: [pattern]`)"
    );
    // The pre-check fails the same way, before any changed file is asked for.
    assert_eq!(has_paths_conditions(input), Err(error));

    let cases: &[(&str, Expect)] = &[
        ("kind: pipeline\nsteps:\n-\tname: a\n", |k| {
            *k == ErrorKind::Tab
        }),
        ("kind: pipeline\nsteps: [\n", |k| {
            matches!(k, ErrorKind::Syntax(_))
        }),
        ("- kind: pipeline\n", |k| {
            *k == ErrorKind::NotAMapping { found: "a list" }
        }),
        ("just text\n", |k| {
            *k == ErrorKind::NotAMapping { found: "a scalar" }
        }),
        ("kind: [pipeline]\n", |k| {
            matches!(k, ErrorKind::WrongType { key: "kind", .. })
        }),
        ("kind: pipeline\nsteps: {a: 1}\n", |k| {
            matches!(k, ErrorKind::WrongType { key: "steps", .. })
        }),
        ("kind: pipeline\nsteps: [just a string]\n", |k| {
            matches!(k, ErrorKind::WrongType { key: "step", .. })
        }),
        ("kind: pipeline\ntrigger: [a]\n", |k| {
            matches!(k, ErrorKind::WrongType { key: "trigger", .. })
        }),
        ("kind: pipeline\nsteps:\n- when: x\n", |k| {
            matches!(k, ErrorKind::WrongType { key: "when", .. })
        }),
        (
            "kind: pipeline\ntrigger:\n  paths: [a]\n  paths: [b]\n",
            |k| *k == ErrorKind::DuplicateKey("paths".into()),
        ),
        ("kind: pipeline\nkind: pipeline\n", |k| {
            *k == ErrorKind::DuplicateKey("kind".into())
        }),
        ("kind: pipeline\ntrigger:\n  <<: [a]\n", |k| {
            *k == ErrorKind::InvalidMerge
        }),
        ("kind: pipeline\ntrigger:\n  paths: [a, ~]\n", |k| {
            *k == ErrorKind::InvalidPaths(PathsProblem::NotAPattern)
        }),
        (
            "kind: pipeline\ntrigger:\n  paths: [!!binary YQ==]\n",
            |k| *k == ErrorKind::InvalidPaths(PathsProblem::Tagged("!!binary".into())),
        ),
        (
            "kind: pipeline\ntrigger:\n  paths: {include: [\"a{b\"]}\n",
            |k| matches!(k, ErrorKind::Pattern { .. }),
        ),
        (
            "kind: pipeline\ntrigger:\n  paths: &p [a]\nx: *unknown\n",
            |k| matches!(k, ErrorKind::Syntax(_)),
        ),
    ];
    for (input, expected) in cases {
        let error = rewrite(input, &["x"]).expect_err(input);
        assert!(expected(error.kind()), "{input:?}: {error}");
        assert!(error.location().line >= 1, "{error}");
        assert!(has_paths_conditions(input).is_err(), "{input:?}");
    }
    // Deep nesting is refused, not a stack overflow.
    let deep = format!(
        "kind: pipeline\nx: {}{}\n",
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(rewrite(&deep, &["x"]).is_err());
    let mut deep = String::from("kind: pipeline\nx:\n");
    for level in 1..300 {
        deep.push_str(&" ".repeat(level));
        deep.push_str("a:\n");
    }
    let error = rewrite(&deep, &["x"]).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::TooDeep { .. }), "{error}");
}

#[test]
fn reports_every_pipeline_and_step() {
    let input = "\
kind: secret
name: s
---
kind: pipeline
name: one
trigger:
  paths: [one/**]
steps:
- name: a
- ~
- name: b
  when:
    paths:
      exclude: ['**/*.md']
---
kind: pipeline
steps:
- image: alpine
";
    let answer = rewrite(input, &["one/README.md"]).unwrap();
    let [one, two] = answer.pipelines.as_slice() else {
        panic!("{answer:?}");
    };
    assert_eq!(
        (one.document, one.line, one.name.as_deref()),
        (2, 3, Some("one"))
    );
    assert!(!one.skipped);
    assert_eq!(one.condition, Some(PathsCondition::new(["one/**"], [])));
    assert_eq!(
        one.steps
            .iter()
            .map(|s| (s.index, s.line, s.name.as_deref(), s.skipped))
            .collect::<Vec<_>>(),
        [(1, 9, Some("a"), false), (3, 11, Some("b"), true)]
    );
    assert_eq!(
        (two.document, two.name.as_deref(), two.steps.len()),
        (3, None, 1)
    );
}

static INPUTS: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| vectors().cases.into_iter().map(|c| c.input).collect());

fn mutate(input: &str, edits: &[(usize, u8)]) -> String {
    const PIECES: [&str; 16] = [
        "\n", " ", "\t", "-", ":", "{", "}", "[", "]", ",", "&a", "*a", "<<: ", "#", "\"", "\r\n",
    ];
    let mut text: Vec<char> = input.chars().collect();
    for &(at, what) in edits {
        let at = at % (text.len() + 1);
        match what % 3 {
            0 if at < text.len() => {
                text.remove(at);
            }
            _ => {
                let piece = PIECES[usize::from(what) % PIECES.len()];
                for (i, c) in piece.chars().enumerate() {
                    text.insert(at + i, c);
                }
            }
        }
    }
    text.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// No input panics; an answer is always idempotent and made of insertions and
    /// replacements of `event` only.
    #[test]
    fn mutated_inputs_never_panic(
        case in 0usize..50,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        changed in proptest::sample::select(vec![vec![], vec!["README.md"], vec!["src/a.go", "x"]]),
    ) {
        let input = mutate(&INPUTS[case], &edits);
        let _ = has_paths_conditions(&input);
        if let Ok(answer) = rewrite(&input, &changed)
            && let Some(output) = answer.config
        {
            let again = rewrite(&output, &changed).expect("the output rewrites");
            prop_assert_eq!(again.config, None);
            // The marker's value; the key keeps its own spelling (`event :` stays `event :`).
            prop_assert!(
                output.contains("{exclude: ['*']}"),
                "no marker in:\n{}\nfrom:\n{}",
                output,
                input
            );
        }
    }

    /// Arbitrary text: errors, never panics.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = has_paths_conditions(&text);
        let _ = rewrite(&text, &["a"]);
    }
}

/// A pattern the rewrite accepts (well-formed, not empty), from the pieces of real conditions.
fn valid_pattern() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec![
            "a",
            "b",
            "/",
            "src/",
            "svc1/",
            ".",
            "*",
            "**",
            "**/",
            "?",
            "[ab]",
            "{a,src/b}",
            "*.md",
        ]),
        1..5,
    )
    .prop_map(|parts| parts.concat())
}

fn changed_file() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec!["a", "b", "/", "src/", "svc1/", ".", "x.md", "\\"]),
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn flow_list(patterns: &[String]) -> String {
    let quoted: Vec<String> = patterns.iter().map(|p| format!("'{p}'")).collect();
    format!("[{}]", quoted.join(", "))
}

type Conditions = Vec<(Vec<String>, Vec<String>)>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The rewrite decides every pipeline and step as the plain [`PathsCondition::keeps`] over
    /// the changed files in their order (the rewrite sorts them once and searches by prefix).
    #[test]
    fn decisions_are_the_plain_conditions(
        conditions in proptest::collection::vec(
            (
                proptest::collection::vec(valid_pattern(), 0..3),
                proptest::collection::vec(valid_pattern(), 0..3),
            ),
            2..9,
        ),
        files in proptest::collection::vec(changed_file(), 0..10),
    ) {
        // Pipelines of a trigger and a step each, from the conditions in pairs.
        let pairs: Vec<Conditions> = conditions.chunks(2).map(<[_]>::to_vec).collect();
        let mut config = String::new();
        for (i, pair) in pairs.iter().enumerate() {
            if i > 0 {
                config.push_str("---\n");
            }
            let (include, exclude) = &pair[0];
            config.push_str(&format!(
                "kind: pipeline\nname: p{i}\ntrigger:\n  paths:\n    include: {}\n    exclude: {}\nsteps:\n- name: build\n",
                flow_list(include),
                flow_list(exclude),
            ));
            if let Some((include, exclude)) = pair.get(1) {
                config.push_str(&format!(
                    "  when: {{paths: {{include: {}, exclude: {}}}}}\n",
                    flow_list(include),
                    flow_list(exclude),
                ));
            }
        }
        let answer = rewrite(&config, &files).expect("a valid configuration");
        prop_assert_eq!(answer.pipelines.len(), pairs.len());
        let expect = |(include, exclude): &(Vec<String>, Vec<String>)| {
            let condition = PathsCondition::new(include, exclude);
            let skipped = !condition.is_empty() && !condition.keeps(&files);
            ((!condition.is_empty()).then_some(condition), skipped)
        };
        for (pipeline, pair) in answer.pipelines.iter().zip(&pairs) {
            prop_assert_eq!((pipeline.condition.clone(), pipeline.skipped), expect(&pair[0]));
            if let Some(step) = pair.get(1) {
                let decided = &pipeline.steps[0];
                prop_assert_eq!((decided.condition.clone(), decided.skipped), expect(step));
            }
        }
        if let Some(output) = answer.config {
            prop_assert_eq!(rewrite(&output, &files).unwrap().config, None);
        }
    }
}
