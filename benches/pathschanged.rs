//! Paths changed.
//!
//! - `pathschanged/…`: the conversion without I/O: a 20-pipeline, ~500-line configuration
//!   decided and rewritten against 5,000 changed files (issue target: ≤ 5 ms), and the
//!   pre-check that decides whether git must be asked at all.
//! - `changes/…`: the changed files of a 2-commit push range in a 20,000-file repository served
//!   by the harness's git forge (`git http-backend` on 127.0.0.1, `support::forge`), through
//!   `GitChangedFiles` (issue targets: cold ≤ 1 s, cached ≤ 50 ms):
//!   - `cold`: an empty cache directory per iteration (made and removed outside the timing):
//!     the cache repository is created, the two commits and their trees fetched, compared;
//!   - `cached`: the same range again on the instance that answered it (the set cache);
//!   - `warm`: a **new range** (the next commit) on a copy of a cache repository that holds the
//!     first range's objects, in a new instance (so the set cache is empty): only the new
//!     commit and its changed trees are fetched.
//!
//!   Without git (with `http-backend`) they are skipped with a message.
//!
//! `cargo bench --bench pathschanged --features pathschanged [-- changes]`

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use drone_extension::pathschanged::changes::{ChangeQuery, ChangedFiles, ChangedSet};
use drone_extension::pathschanged::git::GitChangedFiles;
use drone_extension::pathschanged::{has_paths_conditions, rewrite};
use support::TempDir;
use support::forge::{Forge, have_git};

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

/// 20 services × 25 packages × 40 files.
const FILES: usize = 20 * 25 * 40;

/// A `git fast-import` stream: the 20,000-file commit, then three commits of a few files each
/// (`main` ends at the last).
fn import_stream() -> Vec<u8> {
    let mut stream = String::new();
    let committer = "committer Octo Cat <octocat@example.com> 1735689600 +0000";
    let file = |stream: &mut String, path: &str, version: u32| {
        let content = format!("// {path}\npub fn version() -> u32 {{ {version} }}\n");
        let _ = write!(
            stream,
            "M 100644 inline {path}\ndata {}\n{content}\n",
            content.len()
        );
    };
    let _ = write!(
        stream,
        "commit refs/heads/main\nmark :1\n{committer}\ndata 8\nmonorepo\n"
    );
    for svc in 0..20 {
        for pkg in 0..25 {
            for f in 0..40 {
                file(
                    &mut stream,
                    &format!("services/svc{svc:02}/pkg{pkg:02}/file{f:02}.rs"),
                    0,
                );
            }
        }
    }
    for (mark, changed) in [
        (
            2,
            &[
                "services/svc00/pkg00/file00.rs",
                "services/svc00/pkg07/file13.rs",
            ][..],
        ),
        (
            3,
            &[
                "services/svc01/pkg24/file39.rs",
                "services/svc00/pkg07/file14.rs",
            ],
        ),
        (4, &["services/svc02/pkg03/file05.rs"]),
    ] {
        let _ = write!(
            stream,
            "commit refs/heads/main\nmark :{mark}\n{committer}\ndata 2\nc{mark}\nfrom :{}\n",
            mark - 1
        );
        for path in changed {
            file(&mut stream, path, mark);
        }
    }
    stream.into_bytes()
}

/// The forge with the repository, and its commits `c1` (20,000 files) to `c4`.
struct Repository {
    forge: Forge,
    commits: [String; 4],
    /// A cache directory whose repository holds `c1..c3`'s objects (the `warm` template).
    warm: TempDir,
}

impl Repository {
    fn make(runtime: &tokio::runtime::Runtime) -> Repository {
        let started = Instant::now();
        let forge = runtime.block_on(Forge::start());
        let w = forge.work();
        w.git_with_input(&["fast-import", "--quiet"], &import_stream());
        w.push("main");
        let ids = w.git(&["rev-list", "--reverse", "main"]);
        let commits: Vec<String> = ids.lines().map(str::to_owned).collect();
        let commits: [String; 4] = commits.try_into().expect("four commits");
        let files = w.git(&["ls-tree", "-r", "--name-only", &commits[0]]);
        assert_eq!(files.lines().count(), FILES);

        eprintln!(
            "changes: a {FILES}-file repository made in {:?}",
            started.elapsed()
        );

        // The warm template, made by a cold call; then a warm call on a copy of it. What each
        // costs in git processes and HTTP requests, for the report.
        let warm = TempDir::new("bench-warm");
        let git = GitChangedFiles::builder(warm.join("cache"))
            .build()
            .unwrap();
        let query = push(&forge, &commits[0], &commits[2]);
        let set = traced(&forge, "cold", || {
            runtime.block_on(git.changed_files(&query))
        });
        assert_eq!(count(set), 4);
        let copy = TempDir::new("bench-warm-copy");
        copy_dir(&warm.join("cache"), &copy.join("cache"));
        let git = GitChangedFiles::builder(copy.join("cache"))
            .build()
            .unwrap();
        let query = push(&forge, &commits[2], &commits[3]);
        let set = traced(&forge, "warm", || {
            runtime.block_on(git.changed_files(&query))
        });
        assert_eq!(count(set), 1);
        Repository {
            forge,
            commits,
            warm,
        }
    }
}

/// Runs `call`, then prints how long it took, the git processes it started (the library's
/// `git` trace events) and the HTTP requests the forge got.
fn traced<T>(forge: &Forge, what: &str, call: impl FnOnce() -> T) -> T {
    use tracing_subscriber::layer::SubscriberExt as _;

    /// Collects the `args` of the `git` trace events of `pathschanged::git`.
    struct Processes(Arc<Mutex<Vec<String>>>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Processes {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            struct Args(String);
            impl tracing::field::Visit for Args {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "args" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let meta = event.metadata();
            if *meta.level() == tracing::Level::TRACE
                && meta.target().ends_with("pathschanged::git")
            {
                let mut args = Args(String::new());
                event.record(&mut args);
                self.0.lock().unwrap().push(args.0);
            }
        }
    }

    let processes = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry().with(Processes(Arc::clone(&processes)));
    let (requests, packs) = (forge.requests(), forge.upload_packs());
    let started = Instant::now();
    let outcome = tracing::subscriber::with_default(subscriber, call);
    let elapsed = started.elapsed();
    let processes = processes.lock().unwrap();
    let commands: Vec<&str> = processes
        .iter()
        .map(|args| args.split('"').nth(1).unwrap_or("?"))
        .collect();
    eprintln!(
        "changes: {what}: {elapsed:?}, {} git processes ({}), {} HTTP requests ({} upload-pack)",
        commands.len(),
        commands.join(" "),
        forge.requests() - requests,
        forge.upload_packs() - packs,
    );
    outcome
}

fn push(forge: &Forge, before: &str, after: &str) -> ChangeQuery {
    let mut query = ChangeQuery::new(forge.url(), "push", after);
    query.before = before.to_owned();
    query.default_branch = "main".into();
    query
}

fn count(set: Result<ChangedSet, drone_extension::pathschanged::ChangesError>) -> usize {
    match set {
        Ok(ChangedSet::Files(files)) => files.len(),
        other => panic!("expected files, got {other:?}"),
    }
}

/// `cp -a from to`.
fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

fn changes(c: &mut Criterion) {
    if !have_git() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Made on first use: not at all when the filter selects none of these benchmarks.
    let repository: OnceLock<Repository> = OnceLock::new();
    let repository = || repository.get_or_init(|| Repository::make(&runtime));

    let mut group = c.benchmark_group("changes");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(10));

    group.bench_function("cold/20000-files-2-commits", |b| {
        let repo = repository();
        let query = push(&repo.forge, &repo.commits[0], &repo.commits[2]);
        b.to_async(&runtime).iter_custom(|iters| {
            let query = query.clone();
            async move {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let cache = TempDir::new("bench-cold");
                    let git = GitChangedFiles::builder(cache.join("cache"))
                        .build()
                        .unwrap();
                    let started = Instant::now();
                    let set = git.changed_files(&query).await;
                    timed += started.elapsed();
                    assert_eq!(count(set), 4);
                }
                timed
            }
        });
    });

    group.bench_function("warm/20000-files-new-range", |b| {
        let repo = repository();
        let query = push(&repo.forge, &repo.commits[2], &repo.commits[3]);
        let template = repo.warm.join("cache");
        b.to_async(&runtime).iter_custom(|iters| {
            let query = query.clone();
            let template = template.clone();
            async move {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let cache = TempDir::new("bench-warm-copy");
                    copy_dir(&template, &cache.join("cache"));
                    let git = GitChangedFiles::builder(cache.join("cache"))
                        .build()
                        .unwrap();
                    let started = Instant::now();
                    let set = git.changed_files(&query).await;
                    timed += started.elapsed();
                    assert_eq!(count(set), 1);
                }
                timed
            }
        });
    });

    group.sample_size(100);
    group.sampling_mode(SamplingMode::Auto);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("cached/20000-files-2-commits", |b| {
        let repo = repository();
        let query = push(&repo.forge, &repo.commits[0], &repo.commits[2]);
        let cache = TempDir::new("bench-cached");
        let git = GitChangedFiles::builder(cache.join("cache"))
            .build()
            .unwrap();
        assert_eq!(count(runtime.block_on(git.changed_files(&query))), 4);
        b.to_async(&runtime)
            .iter(|| async { count(git.changed_files(black_box(&query)).await) });
    });
    group.finish();
}

criterion_group!(benches, bench, changes);
criterion_main!(benches);
