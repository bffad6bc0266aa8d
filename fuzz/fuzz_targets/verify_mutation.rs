//! The mutation oracle: a Drone-signed request plus one mutation verifies iff nothing covered changed.
//! The oracle is in `tests/fuzz_oracles/mutation.rs`, shared with the seed-replay test.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};

#[path = "../../tests/fuzz_oracles/mod.rs"]
mod oracles;

fuzz_target!(|input: oracles::mutation::Input| -> Corpus {
    if oracles::mutation::check(&input) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
