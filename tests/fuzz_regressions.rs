//! Inputs the fuzz targets once failed on, or that pin a boundary their oracles depend on, run
//! through the same oracles (`tests/fuzz_oracles/`) in a plain `cargo test`.
//!
//! When a target crashes: fix the bug, minimise the input (`cargo fuzz tmin`), and add it here as
//! a named test with the bytes inline, saying what was wrong.

mod fuzz_oracles;

use fuzz_oracles::{http_date, layer, mutation, seed};

fn check(target: &str, data: &[u8]) {
    assert!(fuzz_oracles::run(target, data), "{target}: input rejected");
}

/// Token values gain two quotes each when rendered: a header at the 8 KiB cap parses, and its
/// rendering is over the cap. The round trip must then fail as "too long", and nothing else.
#[test]
fn parse_signature_rendering_outgrows_the_cap() {
    let header = format!("keyId={},signature=x", "k".repeat(8192 - 18));
    assert_eq!(header.len(), 8192);
    check("parse_signature", header.as_bytes());
}

/// Escapes the renderer does not need (`\a`) are dropped, and the ones it needs kept.
#[test]
fn parse_signature_redundant_escapes() {
    check("parse_signature", br#"keyId="\a\"\\",signature="\x""#);
    check("parse_signature", b"keyId=\"\\\t\",signature=\"\t\"");
}

/// The ends of the clock and the window: `SystemTime` arithmetic overflows on both sides.
#[test]
fn http_date_extreme_clocks_and_windows() {
    for (now_secs, skew_secs) in [
        (i64::MAX, u64::MAX),
        (i64::MIN + 1, u64::MAX),
        (-1, 0),
        (253_402_300_799, 0), // Fri, 31 Dec 9999 23:59:59 GMT
    ] {
        let input = http_date::Input {
            now_secs,
            now_nanos: u32::MAX,
            skew_secs,
            created: Some(i64::MAX),
            expires: Some(i64::MIN),
            date: b"Fri, 31 Dec 9999 23:59:59 GMT",
        };
        check("http_date", &seed::http_date_input(&input));
    }
}

/// A flipped `Signature` param stays parseable when the flip lands on a quote or a backslash
/// (the renderer escapes it), and an unbound key accepts the new `keyId`.
#[test]
fn verify_mutation_key_id_flipped_to_a_quote() {
    for bound_key in [false, true] {
        let input = mutation::Input {
            kind: 2,
            accept: 0,
            date: 1_577_836_800,
            authorization: true,
            padded: true,
            bound_key,
            // 'h' ^ 0x4A == '"'
            mutation: mutation::Mutation::FlipParamByte {
                param: mutation::Param::KeyId,
                at: 0,
                mask: 0x4A,
            },
            body: b"{}",
        };
        check("verify_mutation", &seed::mutation_input(&input));
    }
}

/// Found by the ASan campaign: a refused header of at most 8 KiB is over the cap once
/// `Signature ` is put before it in `Authorization`; the verifier then reports the cap, not the
/// parser's error. The oracle knew only the parser's.
#[test]
fn parse_signature_authorization_form_over_the_cap() {
    let header = format!("keyId={} junk,signature=x", "k".repeat(8192 - 23));
    assert_eq!(header.len(), 8192);
    check("parse_signature", header.as_bytes());
}

/// A declared `Content-Length` with more digits than a `u64` holds ("246" and 19 zeros) failed to
/// parse and was ignored, so the layer read the body and answered 200 where a length above the
/// limit must be 413 before any body byte is read. Found by `layer_end_to_end` in 2.6k runs
/// (`kind`, `accept`, `date` and `clock` as the fuzzer wrote them); also 10^20, just past `u64`.
#[test]
fn layer_declared_length_beyond_u64_is_413_unread() {
    for trailing in [115, 20] {
        let value = if trailing == 20 { 1 } else { 246 };
        let input = layer::Input {
            kind: 226,
            accept: 115,
            date: 6_357_096,
            clock: 61,
            authorization: true,
            length: layer::Length::Declared {
                value,
                leading: 0,
                trailing,
                padded: false,
            },
            damage: layer::Damage::None,
            trailers: false,
            cuts: Vec::new(),
            body: b"",
        };
        check("layer_end_to_end", &seed::layer_input(&input));
    }
}

/// A flip of the unused low bits of `Content-Digest`'s last base64 character decodes to the same
/// digest, but the field is covered as its raw value, so the signature base changes and the
/// verifier refuses it ("signature"). The oracle counted it as no change (found by CI).
#[cfg(feature = "woodpecker")]
#[test]
fn woodpecker_mutation_digest_trailing_bits_are_covered() {
    check(
        "woodpecker_mutation",
        &[
            0xe0, 0x14, 0x7, 0x2a, 0x0, 0x0, 0xaf, 0xb0, 0xb0, 0x50, 0x56, 0x33, 0x3, 0x30, 0x3d,
            0x31,
        ],
    );
}
