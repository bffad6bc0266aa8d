//! What the binaries of `tools/` share: [`policy`], the starter's policy file (read by
//! `drone-extension-starter` and `drone-extension-woodpecker`), and [`log`], the log's bounded,
//! non-blocking way to stdout.

pub mod log;
pub mod policy;
