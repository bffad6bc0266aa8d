//! The `Digest` header: accepted iff the single SHA-256 entry is the body's hash.
//! The oracle is in `tests/fuzz_oracles/digest.rs`, shared with the seed-replay test.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};

#[path = "../../tests/fuzz_oracles/mod.rs"]
mod oracles;

fuzz_target!(|data: &[u8]| -> Corpus {
    if oracles::digest::check(data) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
