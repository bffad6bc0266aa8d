//! The paths-changed conversion without I/O: a 20-pipeline, ~500-line configuration decided and
//! rewritten against 5,000 changed files (issue target: ≤ 5 ms), and the pre-check that decides
//! whether git must be asked at all.
//!
//! `cargo bench --bench pathschanged --features pathschanged`

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use drone_extension::pathschanged::{has_paths_conditions, rewrite};

/// 20 pipelines of 24 lines each (and 19 separators) (a trigger condition, four steps, two with conditions, comments
/// and an anchor): 499 lines.
fn config() -> String {
    let mut text = String::new();
    for p in 0..20 {
        if p > 0 {
            text.push_str("---\n");
        }
        let _ = write!(
            text,
            "# service {p}\nkind: pipeline\ntype: docker\nname: svc{p}\n\ntrigger:\n  paths:\n    include:\n    - svc{p}/**\n    - shared/**\n\nsteps:\n- name: build\n  image: &img rust:1.95\n  commands: [cargo build]\n- name: test\n  image: *img\n  commands: [cargo test]\n  when:\n    paths: [svc{p}/src/**]\n- name: docs\n  image: alpine\n  when:\n    paths: {{include: [svc{p}/docs/**], exclude: ['**/*.tmp']}}\n"
        );
    }
    text
}

/// 5,000 changed files, all in three of the twenty services (so most pipelines are skipped:
/// no changed file under their conditions' directories).
fn changed() -> Vec<String> {
    (0..5_000)
        .map(|i| format!("svc{}/src/module{}/file{i}.rs", i % 3, i % 97))
        .collect()
}

fn bench(c: &mut Criterion) {
    let config = config();
    let lines = config.lines().count();
    assert!(
        (490..=510).contains(&lines),
        "about 500 lines, as the target says: {lines}"
    );
    let files = changed();
    let answer = rewrite(&config, &files).expect("a valid configuration");
    assert!(answer.config.is_some(), "something is skipped");

    let mut group = c.benchmark_group("pathschanged");
    group.throughput(Throughput::Elements(1));
    group.bench_function("rewrite/20-pipelines-500-lines-5000-files", |b| {
        b.iter(|| rewrite(black_box(&config), black_box(&files)))
    });
    group.bench_function("has_paths_conditions/20-pipelines", |b| {
        b.iter(|| has_paths_conditions(black_box(&config)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
