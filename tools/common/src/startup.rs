//! Every binary's `main`, written once: read `DRONE_DEBUG` and `DRONE_WORKER_THREADS`, start the
//! log and the runtime, read the settings, warn about unknown and misspelled variables (also when
//! a value was refused: a misspelling is often why a required one is missing), log the
//! configuration, run, flush the log within a bound (a stuck stdout cannot hold the exit), and
//! exit non-zero with the error on stderr too.
//!
//! `DRONE_WORKER_THREADS` chooses tokio's scheduler: unset or `0`, the multi-thread scheduler
//! with one worker per core (tokio's default); `1`, the current-thread scheduler, every
//! connection on one thread (blocking work such as YAML parsing still goes to tokio's blocking
//! pool); `N`, the multi-thread scheduler with `N` workers. One thread cost about a fifth less
//! CPU per request in `benches/load.sh` (no wake-ups across threads, and, on its 2-core machine,
//! less competition with the load generator; `benches/README.md`) and serves tens of thousands
//! of requests per second, far more than a Drone server asks of an extension, but a request
//! whose verification takes long (a 4 MiB body: about 2 ms) holds the others for that time.

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use drone_extension::BoxError;
use drone_extension::env::{Env, Summary};

use crate::log::{self, Log};

/// How long the log may take to write what it holds before the process exits; what a stuck
/// stdout holds past it is lost.
pub const EXIT_FLUSH: Duration = Duration::from_millis(500);

/// A binary's settings: what it logs about them at start (never a secret's value).
pub trait Settings {
    /// The configuration as read: each variable, its source, and the defaults taken.
    fn summary(&self) -> &Summary;
}

/// Runs a binary: `name` prefixes the error on stderr; `env` is the process environment with
/// the binary's prefixes; `settings` reads them; `run` serves until shutdown, on the runtime
/// `DRONE_WORKER_THREADS` chooses (see the module docs).
///
/// `DRONE_DEBUG` (a Go boolean) raises the default log level from `info` to `debug`; `RUST_LOG`
/// overrides both.
pub fn main<S, F>(
    name: &str,
    mut env: Env,
    settings: fn(&mut Env) -> Result<S, BoxError>,
    run: impl FnOnce(S, Log) -> F,
) -> ExitCode
where
    S: Settings,
    F: Future<Output = Result<(), BoxError>>,
{
    let early = env
        .bool("DRONE_DEBUG")
        .and_then(|debug| Ok((debug, env.number::<usize>("DRONE_WORKER_THREADS")?)));
    let (debug, workers) = match early {
        Ok((debug, workers)) => (debug.unwrap_or(false), workers.unwrap_or(0)),
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if workers > 1 {
            builder.worker_threads(workers);
        }
        builder
    }
    .enable_all()
    .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let log = log::init(if debug { "debug" } else { "info" });
        match workers {
            0 => {
                tracing::debug!("runtime: one worker thread per core (DRONE_WORKER_THREADS unset)")
            }
            1 => tracing::info!("runtime: one thread (DRONE_WORKER_THREADS=1)"),
            n => tracing::info!("runtime: {n} worker threads (DRONE_WORKER_THREADS={n})"),
        }
        let settings = settings(&mut env);
        for warning in env.finish() {
            tracing::warn!("{warning}");
        }
        let result = match settings {
            Ok(settings) => {
                settings.summary().log();
                run(settings, log).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::error!("{e}");
        }
        // Before the message below and the exit.
        log.flush(EXIT_FLUSH);
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name}: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
