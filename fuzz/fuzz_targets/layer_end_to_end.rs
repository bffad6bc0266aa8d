//! The verifying tower layer end to end: a Drone-signed request with optional damage, a declared
//! length and a chunked body, through `VerifySignatureLayer` with `oneshot`.
//! The oracle is in `tests/fuzz_oracles/layer.rs`, shared with the seed-replay test.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};

#[path = "../../tests/fuzz_oracles/mod.rs"]
mod oracles;

fuzz_target!(|input: oracles::layer::Input| -> Corpus {
    if oracles::layer::check(&input) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
