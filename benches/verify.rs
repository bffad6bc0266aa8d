//! Benchmarks of the signature verifier (filled in by issue 6).
fn main() {}
