//! Signing strings over arbitrary header maps and `headers` lists: one line per entry, no CR/LF inside a line.
//! The oracle is in `tests/fuzz_oracles/signing_string.rs`, shared with the seed-replay test.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};

#[path = "../../tests/fuzz_oracles/mod.rs"]
mod oracles;

fuzz_target!(|data: &[u8]| -> Corpus {
    if oracles::signing_string::check(data) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
