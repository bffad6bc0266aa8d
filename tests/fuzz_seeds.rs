//! Replays every committed fuzz seed (`fuzz/seeds/<target>/*`) through the oracle its fuzz
//! target runs, so that the seeds, and the properties they exercise, are checked by a plain
//! `cargo test` on stable, without cargo-fuzz.

mod fuzz_oracles;

use std::path::PathBuf;

use fuzz_oracles::{TARGETS, decode, http_date, layer, mutation, seed};

fn seeds_of(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("a seed file");
            (path, bytes)
        })
        .collect()
}

/// Every seed of `target` passes its oracle, and is usable (not rejected from the corpus).
fn replay(target: &str) {
    let seeds = seeds_of(target);
    assert!(!seeds.is_empty(), "no seeds for {target}");
    for (path, bytes) in &seeds {
        let usable = fuzz_oracles::run(target, bytes);
        assert!(usable, "{} is rejected by its target", path.display());
    }
}

#[test]
fn every_target_has_a_seed_directory() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("fuzz/seeds")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .into_string()
                .expect("UTF-8")
        })
        .collect();
    on_disk.sort();
    let mut targets: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    targets.sort();
    assert_eq!(on_disk, targets);
}

#[test]
fn parse_signature_seeds() {
    replay("parse_signature");
}

#[test]
fn structured_params_seeds() {
    replay("structured_params");
}

#[test]
fn signing_string_seeds() {
    replay("signing_string");
}

#[test]
fn verify_mutation_seeds() {
    replay("verify_mutation");
}

#[test]
fn digest_header_seeds() {
    replay("digest_header");
}

#[test]
fn http_date_seeds() {
    replay("http_date");
}

/// Through the layer, on the oracle's own current-thread runtime.
#[test]
fn layer_end_to_end_seeds() {
    replay("layer_end_to_end");
}

/// The seed encoders are the inverse of `arbitrary`'s decoding, for every mutation variant.
#[test]
fn structured_encoders_round_trip() {
    use mutation::{Mutation, Param};
    let mutations = [
        Mutation::None,
        Mutation::FlipHeaderByte {
            header: 3,
            at: 513,
            mask: 0x20,
        },
        Mutation::FlipBodyByte {
            at: 70_000,
            mask: 1,
        },
        Mutation::FlipParamByte {
            param: Param::KeyId,
            at: 2,
            mask: 0x7F,
        },
        Mutation::FlipParamByte {
            param: Param::Algorithm,
            at: 0,
            mask: 1,
        },
        Mutation::FlipParamByte {
            param: Param::Signature,
            at: 9,
            mask: 4,
        },
        Mutation::FlipParamByte {
            param: Param::Headers,
            at: 0,
            mask: 0x20,
        },
        Mutation::HeaderNameCase {
            header: 1,
            mask: u32::MAX,
        },
        Mutation::DuplicateHeader { header: 255 },
        Mutation::DropHeader { header: 0 },
        Mutation::AddHeader {
            name: 6,
            value: *b"12345678",
        },
        Mutation::ChangeTarget {
            method: 1,
            path: [0xFF; 8],
        },
        Mutation::ShiftClock { secs: -301 },
        Mutation::ShiftClock { secs: i32::MAX },
    ];
    for (i, m) in mutations.into_iter().enumerate() {
        for body in [&b""[..], b"{}", &[0u8; 300]] {
            let input = mutation::Input {
                kind: i as u8,
                accept: 1,
                date: 1_577_836_800,
                authorization: i % 2 == 0,
                padded: i % 3 == 0,
                bound_key: i % 5 == 0,
                mutation: m,
                body,
            };
            let bytes = seed::mutation_input(&input);
            assert_eq!(decode::<mutation::Input>(&bytes), Some(input));
        }
    }
    for (created, expires) in [(None, None), (Some(-1), None), (None, Some(i64::MAX))] {
        let input = http_date::Input {
            now_secs: -5,
            now_nanos: 999_999_999,
            skew_secs: u64::MAX,
            created,
            expires,
            date: b"Wed, 01 Jan 2020 00:00:00 GMT",
        };
        let bytes = seed::http_date_input(&input);
        assert_eq!(decode::<http_date::Input>(&bytes), Some(input));
    }
}

/// The `layer_end_to_end` encoder is the inverse of `arbitrary`'s decoding, for every length and
/// damage variant, with and without cuts.
#[test]
fn layer_encoder_round_trips() {
    use layer::{Damage, Length};
    let lengths = [
        Length::Absent,
        Length::Exact,
        Length::Declared {
            value: u16::MAX,
            leading: 3,
            trailing: 255,
            padded: true,
        },
    ];
    let damages = [
        Damage::None,
        Damage::FlipSignedHeader {
            header: 9,
            at: 1000,
            mask: 0x80,
        },
        Damage::FlipBody { at: 65535, mask: 1 },
        Damage::FlipSignature { at: 43, mask: 0x7F },
        Damage::DropHeader { header: 255 },
        Damage::DuplicateHeader { header: 0 },
        Damage::BodyError { at: 4097 },
    ];
    for (i, damage) in damages.into_iter().enumerate() {
        for (j, length) in lengths.into_iter().enumerate() {
            for cuts in [vec![], vec![0, 1], vec![u16::MAX; 5]] {
                for body in [&b""[..], b"{}", &[0u8; 300]] {
                    let input = layer::Input {
                        kind: i as u8,
                        accept: j as u8,
                        date: 1_577_836_800,
                        clock: if i % 2 == 0 { -301 } else { i16::MAX },
                        authorization: j % 2 == 0,
                        length,
                        damage,
                        trailers: i % 3 == 0,
                        cuts: cuts.clone(),
                        body,
                    };
                    let bytes = seed::layer_input(&input);
                    assert_eq!(decode::<layer::Input>(&bytes), Some(input));
                }
            }
        }
    }
}

#[test]
fn woodpecker_fields_seeds() {
    replay("woodpecker_fields");
}

#[test]
fn woodpecker_mutation_seeds() {
    replay("woodpecker_mutation");
}

#[cfg(feature = "woodpecker")]
#[test]
fn woodpecker_mutation_seeds_decode_to_the_mutation_their_name_says() {
    use fuzz_oracles::woodpecker::{Mutation, MutationInput};
    for (path, bytes) in seeds_of("woodpecker_mutation") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = decode::<MutationInput>(&bytes).expect("decodes");
        let got = format!("{:?}", input.mutation).to_lowercase();
        let want = name.split(['-']).next().unwrap();
        let want = want.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        assert!(got.starts_with(want), "{name}: {got}");
        if let Mutation::Clock(s) = input.mutation {
            assert!(name.ends_with(&s.to_string()), "{name}");
        }
    }
}
