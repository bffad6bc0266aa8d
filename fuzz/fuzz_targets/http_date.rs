//! `Policy::check_freshness` for arbitrary `Date` bytes, clocks, windows, `created` and `expires`.
//! The oracle is in `tests/fuzz_oracles/http_date.rs`, shared with the seed-replay test.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};

#[path = "../../tests/fuzz_oracles/mod.rs"]
mod oracles;

fuzz_target!(|input: oracles::http_date::Input| -> Corpus {
    if oracles::http_date::check(&input) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
