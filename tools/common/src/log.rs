//! The log's way to stdout: a bounded buffer in memory that request tasks append their lines to,
//! and a thread of its own that writes the buffer out. Nothing but that thread ever waits for
//! stdout.
//!
//! - A line is copied into the buffer under a short lock: no write, no allocation (the buffer and
//!   its spare are allocated once), no wake-up of the writer unless the buffer passes 64 KiB.
//! - The writer takes the whole buffer at once (swapping it with its spare) every 100 ms, or as
//!   soon as it passes 64 KiB, and writes it without holding the lock.
//! - When stdout does not take the bytes (a pipe whose reader stopped: a stuck log shipper), the
//!   writer waits alone. Once the buffer is full (1 MiB), new lines are **dropped and counted**
//!   ([`Log::dropped_lines`]; the starter serves it as `drone_extension_log_lines_dropped_total`),
//!   never waited for; when stdout takes bytes again, one warning says how many were lost.
//! - At exit, [`Log::flush`] gives the writer a bounded time to write what is left: a process
//!   whose stdout is stuck still exits.
//!
//! `tracing-appender`'s non-blocking writer does the same job with an allocation per line and
//! no warning when writing resumes, hence this small one.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Bytes of log held in memory at most (plus as much being written).
const CAPACITY: usize = 1024 * 1024;

/// A buffer this full wakes the writer.
const WAKE_AT: usize = 64 * 1024;

/// The writer writes at least this often.
const WRITE_EVERY: Duration = Duration::from_millis(100);

/// The log of the process: cheap to copy (it lives as long as the process).
#[derive(Clone, Copy)]
pub struct Log(&'static Shared);

struct Shared {
    state: Mutex<State>,
    /// The writer: the buffer passed [`WAKE_AT`], or a flush is asked for.
    wake: Condvar,
    /// [`Log::flush`]: the writer wrote a buffer.
    wrote: Condvar,
    /// Lines dropped since start.
    dropped_total: AtomicU64,
}

struct State {
    /// Lines not yet taken by the writer.
    buffer: Vec<u8>,
    /// Lines dropped since the last warning.
    dropped: u64,
    /// Bytes appended since start.
    appended: u64,
    /// Bytes written out (or failed to be) since start.
    written: u64,
    /// [`Log::flush`] is waiting.
    flush: bool,
}

/// Starts the log and installs it as the `tracing` subscriber: the filter is `RUST_LOG`, else
/// `default_level` (`info`, or `debug` for `DRONE_DEBUG=true`); colours only on a terminal and
/// without `NO_COLOR`. Call once, first thing in `main`; [`Log::flush`] it before exiting.
pub fn init(default_level: &str) -> Log {
    let ansi = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let log = Log::start();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_ansi(ansi)
        .with_writer(log.writer())
        .fmt_fields(crate::log_format::LineFields::default())
        .event_format(crate::log_format::LineFormat::default())
        .init();
    log
}

/// `drone_extension_log_lines_dropped_total`: the log's dropped lines, read at each scrape.
#[derive(Debug)]
pub struct Drops(pub Log);

impl prometheus_client::collector::Collector for Drops {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        let counter =
            prometheus_client::metrics::counter::ConstCounter::new(self.0.dropped_lines());
        let metric = encoder.encode_descriptor(
            "drone_extension_log_lines_dropped",
            "Log lines dropped because stdout did not take them (a stuck log reader)",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)
    }
}

/// The answer of an unsigned `GET /metrics`: the crate's families of `metrics` and the log's
/// [`Drops`], in one registry (OpenMetrics text). Cheap to clone: a route handler.
pub fn scrape(
    metrics: &drone_extension::metrics::Metrics,
    log: Log,
) -> impl Fn() -> std::future::Ready<http::Response<String>> + Clone + Send + Sync + 'static {
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    registry.register_collector(Box::new(Drops(log)));
    let registry = std::sync::Arc::new(registry);
    move || {
        let mut text = String::with_capacity(4096);
        // Writing into a String cannot fail, nor can these collectors.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        let mut response = http::Response::new(text);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(drone_extension::metrics::CONTENT_TYPE_OPENMETRICS),
        );
        std::future::ready(response)
    }
}

impl Log {
    /// The log, and its writer thread writing to stdout.
    pub fn start() -> Log {
        Log::start_with(std::io::stdout())
    }

    /// The log, and its writer thread writing to `out`.
    fn start_with(out: impl Write + Send + 'static) -> Log {
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            state: Mutex::new(State {
                buffer: Vec::with_capacity(CAPACITY),
                dropped: 0,
                appended: 0,
                written: 0,
                flush: false,
            }),
            wake: Condvar::new(),
            wrote: Condvar::new(),
            dropped_total: AtomicU64::new(0),
        }));
        let log = Log(shared);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || log.write_out(out))
            .expect("the log writer thread starts");
        log
    }

    fn lock(&self) -> MutexGuard<'static, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lines dropped since start because stdout did not take them.
    pub fn dropped_lines(&self) -> u64 {
        self.0.dropped_total.load(Ordering::Relaxed)
    }

    /// A writer of one line, for `tracing_subscriber`'s `with_writer`.
    pub fn writer(&self) -> impl Fn() -> LogWriter + Send + Sync + 'static {
        let log = *self;
        move || LogWriter(log)
    }

    /// Appends one line, or drops it when the buffer is full.
    fn append(&self, line: &[u8]) {
        let mut state = self.lock();
        if state.buffer.len() + line.len() > CAPACITY {
            state.dropped += 1;
            self.0.dropped_total.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let before = state.buffer.len();
        state.buffer.extend_from_slice(line);
        state.appended += line.len() as u64;
        if before < WAKE_AT && state.buffer.len() >= WAKE_AT {
            self.0.wake.notify_one();
        }
    }

    /// The writer thread: takes the buffer and writes it to `out`, forever.
    fn write_out(self, mut out: impl Write) {
        let mut spare = Vec::with_capacity(CAPACITY);
        loop {
            let mut state = self.lock();
            if state.buffer.len() < WAKE_AT && !state.flush {
                state = self
                    .0
                    .wake
                    .wait_timeout(state, WRITE_EVERY)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut state.buffer, &mut spare);
            let dropped = std::mem::take(&mut state.dropped);
            let upto = state.appended;
            state.flush = false;
            drop(state);

            if !spare.is_empty() {
                // An error (stdout closed) loses these lines; there is nowhere to report it.
                let _ = out.write_all(&spare).and_then(|()| out.flush());
                spare.clear();
            }
            if dropped > 0 {
                // Into the buffer, written on the next turn.
                tracing::warn!(
                    dropped,
                    "log lines dropped: stdout did not take them (a stuck log reader?); \
                     serving went on"
                );
            }
            let mut state = self.lock();
            state.written = upto;
            drop(state);
            self.0.wrote.notify_all();
        }
    }

    /// Waits at most `within` for what the log holds now to be written out; whether it was.
    pub fn flush(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut state = self.lock();
        let target = state.appended;
        state.flush = true;
        self.0.wake.notify_one();
        while state.written < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .0
                .wrote
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field(
                "dropped_lines",
                &self.0.dropped_total.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// One line's writer: appends to the log's buffer, never waits for stdout.
pub struct LogWriter(Log);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.append(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(()) // the writer thread writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::mpsc;

    /// A writer that takes bytes only while the test lets it.
    struct Stuck {
        open: mpsc::Receiver<()>,
        out: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Stuck {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            // Blocks until the test opens it (or is gone).
            let _ = self.open.recv();
            self.out.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_writer_drops_and_counts_lines_and_never_blocks_the_caller() {
        let (open, opened) = mpsc::channel();
        let out = Arc::new(Mutex::new(Vec::new()));
        let log = Log::start_with(Stuck {
            open: opened,
            out: out.clone(),
        });
        let line = [b'x'; 99]
            .iter()
            .copied()
            .chain(*b"\n")
            .collect::<Vec<u8>>();
        let mut writer = log.writer()();
        // 3 MiB of lines into a 1 MiB buffer whose writer is stuck: every call returns.
        let lines = 3 * CAPACITY / line.len();
        for _ in 0..lines {
            writer.write_all(&line).unwrap();
        }
        let dropped = log.dropped_lines();
        assert!(
            dropped as usize >= lines - 2 * CAPACITY / line.len(),
            "{dropped} of {lines} lines dropped; the buffer and the writer's share hold 2 MiB"
        );
        assert!(!log.flush(Duration::from_millis(50)), "the writer is stuck");

        // The writer is let go: what was kept is written, whole lines only.
        drop(open);
        assert!(log.flush(Duration::from_secs(30)), "flushed once unstuck");
        let out = out.lock().unwrap();
        assert_eq!(out.len() % line.len(), 0);
        assert_eq!(out.len() / line.len() + dropped as usize, lines);
        assert!(out.chunks(line.len()).all(|l| l == line.as_slice()));
    }

    #[test]
    fn flush_writes_what_the_log_holds() {
        let out = Arc::new(Mutex::new(Vec::new()));
        let (open, opened) = mpsc::channel();
        let log = Log::start_with(Stuck {
            open: opened,
            out: out.clone(),
        });
        drop(open); // never stuck
        let mut writer = log.writer()();
        writer.write_all(b"one\n").unwrap();
        writer.write_all(b"two\n").unwrap();
        assert!(log.flush(Duration::from_secs(30)));
        assert_eq!(out.lock().unwrap().as_slice(), b"one\ntwo\n");
        assert_eq!(log.dropped_lines(), 0);
    }
}
