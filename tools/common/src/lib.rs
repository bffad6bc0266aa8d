//! What the binaries of `tools/` share: [`policy`], the starter's policy file (read by
//! `drone-extension-starter` and `drone-extension-woodpecker`), and [`log`], the log's bounded,
//! non-blocking way to stdout (every binary's), with its `tracing` set-up and the `/metrics`
//! answer that counts the lines it dropped, and [`log_format`], the log line in
//! `tracing-subscriber`'s default format written with less work, [`settings`], the shared
//! secret and the listen address as every binary reads them, and [`startup`], every binary's
//! `main`: settings read and diagnosed, the log started and flushed, the exit code.

pub mod log;
pub mod log_format;
pub mod policy;
pub mod settings;
pub mod startup;
