//! The Woodpecker verifier's mutation oracle.
//! The oracle is in `tests/fuzz_oracles/woodpecker.rs`, shared with the seed-replay test.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};

#[path = "../../tests/fuzz_oracles/mod.rs"]
mod oracles;

fuzz_target!(|data: &[u8]| -> Corpus {
    if oracles::run("woodpecker_mutation", data) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
