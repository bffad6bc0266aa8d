//! The `Signature` header parser on arbitrary bytes: no panic, caps, `parse(render(p)) == p`.
//! The oracle is in `tests/fuzz_oracles/params.rs`, shared with the seed-replay test.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};

#[path = "../../tests/fuzz_oracles/mod.rs"]
mod oracles;

fuzz_target!(|data: &[u8]| -> Corpus {
    if oracles::params::check(data) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
