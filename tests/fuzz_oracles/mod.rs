//! The fuzzing oracles, in one place.
//!
//! Each submodule holds one target's input type and the property it checks. The cargo-fuzz
//! targets under `fuzz/fuzz_targets/` include this directory with
//! `#[path = "../../tests/fuzz_oracles/mod.rs"]` and call [`run`]; the plain `cargo test` files
//! `tests/fuzz_seeds.rs` (every committed seed) and `tests/fuzz_regressions.rs` (every crash once
//! found) include it with `mod fuzz_oracles;` and call the same function. So a seed or a crash
//! reproducer is checked by exactly the code the fuzzer ran, on stable, without cargo-fuzz.
//!
//! Every oracle takes the raw input bytes, decodes them as libfuzzer-sys does, checks its
//! properties with `assert!` (a failed assertion is the crash libFuzzer reports) and returns
//! whether the input was usable: `false` maps to `Corpus::Reject`, so that inputs that cannot
//! even be built into a request stay out of the corpus.
#![allow(dead_code, missing_docs, clippy::missing_panics_doc)]

pub mod digest;
pub mod http_date;
pub mod layer;
pub mod mutation;
pub mod params;
pub mod seed;
pub mod signing_string;
pub mod structured;
#[cfg(feature = "woodpecker")]
pub mod woodpecker;

use arbitrary::{Arbitrary, Unstructured};

/// An oracle: checks one input (panicking on a bug) and says whether it was usable.
pub type Oracle = fn(&[u8]) -> bool;

/// Every fuzz target: its name (the directory under `fuzz/seeds/`) and its oracle.
pub const TARGETS: &[(&str, Oracle)] = &[
    ("parse_signature", params::check),
    ("structured_params", structured::run),
    ("signing_string", signing_string::check),
    ("verify_mutation", mutation::run),
    ("digest_header", digest::check),
    ("http_date", http_date::run),
    ("layer_end_to_end", layer::run),
    ("woodpecker_fields", woodpecker_fields),
    ("woodpecker_mutation", woodpecker_mutation),
];

/// The Woodpecker oracles need feature `woodpecker` (on in the fuzz crate); without it their
/// seeds are not checked.
#[cfg(feature = "woodpecker")]
fn woodpecker_fields(data: &[u8]) -> bool {
    woodpecker::fields_run(data)
}

#[cfg(feature = "woodpecker")]
fn woodpecker_mutation(data: &[u8]) -> bool {
    woodpecker::mutation_run(data)
}

#[cfg(not(feature = "woodpecker"))]
fn woodpecker_fields(_: &[u8]) -> bool {
    true
}

#[cfg(not(feature = "woodpecker"))]
fn woodpecker_mutation(_: &[u8]) -> bool {
    true
}

/// Runs the oracle of the target `name` on one input.
///
/// # Panics
///
/// When the oracle finds a bug, and for an unknown target name.
pub fn run(name: &str, data: &[u8]) -> bool {
    let (_, oracle) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target named {name}"));
    oracle(data)
}

/// Decodes a structured input exactly as `libfuzzer_sys::fuzz_target!(|input: T| …)` does:
/// inputs shorter than `T`'s minimal size are rejected, the rest go through `arbitrary_take_rest`.
pub fn decode<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
    if data.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(data)).ok()
}

/// RFC 9110 `tchar`, written out independently of the crate's own table.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Optional whitespace trimmed from both ends (space and tab only, as RFC 9110 §5.5 says).
pub fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}
