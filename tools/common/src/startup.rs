//! Every binary's `main`, written once: read `DRONE_DEBUG`, start the log, read the settings,
//! warn about unknown and misspelled variables (also when a value was refused: a misspelling is
//! often why a required one is missing), log the configuration, run, flush the log within a
//! bound (a stuck stdout cannot hold the exit), and exit non-zero with the error on stderr too.

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
/// the binary's prefixes; `settings` reads them; `run` serves until shutdown.
///
/// `DRONE_DEBUG` (a Go boolean) raises the default log level from `info` to `debug`; `RUST_LOG`
/// overrides both.
pub async fn main<S, F>(
    name: &str,
    mut env: Env,
    settings: fn(&mut Env) -> Result<S, BoxError>,
    run: impl FnOnce(S, Log) -> F,
) -> ExitCode
where
    S: Settings,
    F: Future<Output = Result<(), BoxError>>,
{
    let debug = match env.bool("DRONE_DEBUG") {
        Ok(debug) => debug.unwrap_or(false),
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let log = log::init(if debug { "debug" } else { "info" });
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
}
