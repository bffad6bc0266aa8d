//! Signature headers built from `Arbitrary` parameters, checked against a grammar model.
//! The oracle is in `tests/fuzz_oracles/structured.rs`, shared with the seed-replay test.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};

#[path = "../../tests/fuzz_oracles/mod.rs"]
mod oracles;

fuzz_target!(|input: oracles::structured::Input| -> Corpus {
    if oracles::structured::check(&input) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
