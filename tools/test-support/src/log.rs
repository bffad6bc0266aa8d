//! A log sink a test reads back: what a `tracing` subscriber wrote, as text and as lines.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

/// A log sink the test reads back: every clone writes into the same buffer.
///
/// ```
/// use drone_extension_test_support::log::Capture;
///
/// let capture = Capture::default();
/// let _guard = capture.install();
/// tracing::info!(user = "octocat", "logged in");
/// assert!(capture.line("logged in").contains("user=\"octocat\""));
/// ```
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    /// Installs a plain-text subscriber (no colours, every level up to `DEBUG`) writing here,
    /// for this thread, until the guard is dropped.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// Everything written so far.
    ///
    /// # Panics
    ///
    /// If a line written is not UTF-8 (a log line always is).
    pub fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8(bytes).expect("the log is UTF-8")
    }

    /// Every line written so far.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }

    /// The first line containing `needle`.
    ///
    /// # Panics
    ///
    /// If no line contains it (the message shows the whole log).
    pub fn line(&self, needle: &str) -> String {
        let log = self.text();
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {log:?}"))
            .to_owned()
    }
}
