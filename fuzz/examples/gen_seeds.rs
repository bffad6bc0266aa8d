//! Writes the seed corpora under `fuzz/seeds/<target>/` from the test vectors
//! (`tests/fixtures/signature-vectors.json`) and the header strings of `security.md` §5 and §7.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example gen_seeds
//! ```
//!
//! The output is deterministic: running it again rewrites the same files. Every seed is checked
//! by its target's oracle before it is written, and `tests/fuzz_seeds.rs` replays them all in
//! `cargo test`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

#[path = "../../tests/fuzz_oracles/mod.rs"]
mod oracles;

use oracles::layer::{self, Damage, Length};
use oracles::mutation::{self, Mutation, Param};
use oracles::{http_date, seed, structured};

/// One case of the vector file, reduced to what the seeds need.
struct Case {
    id: String,
    policy: String,
    now: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
    expect: String,
}

impl Case {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The signature parameters of every signature header of the request.
    fn signature_params(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter_map(|(n, v)| {
                if n.eq_ignore_ascii_case("signature") {
                    Some(v.as_str())
                } else if n.eq_ignore_ascii_case("authorization") {
                    v.strip_prefix("Signature ")
                } else {
                    None
                }
            })
            .collect()
    }
}

fn cases(root: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(root.join("tests/fixtures/signature-vectors.json"))
        .expect("the vector file");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let s = |v: &Value| v.as_str().expect("a string").to_owned();
    doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            id: s(&c["id"]),
            policy: s(&c["policy"]),
            now: s(&c["now"]),
            method: s(&c["method"]),
            target: s(&c["target"]),
            headers: c["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .map(|h| (s(&h[0]), s(&h[1])))
                .collect(),
            body: s(&c["body"]),
            expect: s(&c["expect"]),
        })
        .collect()
}

/// The seeds of one target, by file name; checked by the target's oracle when written.
struct Corpus {
    target: &'static str,
    seeds: BTreeMap<String, Vec<u8>>,
}

impl Corpus {
    fn new(target: &'static str) -> Corpus {
        Corpus {
            target,
            seeds: BTreeMap::new(),
        }
    }

    /// Adds a seed unless the same bytes are already there.
    fn add(&mut self, name: &str, bytes: impl Into<Vec<u8>>) {
        let bytes = bytes.into();
        if self.seeds.values().any(|b| *b == bytes) {
            return;
        }
        assert!(
            oracles::run(self.target, &bytes),
            "{}/{name} is not usable by its target",
            self.target
        );
        let previous = self.seeds.insert(name.to_owned(), bytes);
        assert!(previous.is_none(), "two seeds named {name}");
    }

    fn write(&self, root: &Path) {
        let dir = root.join("fuzz/seeds").join(self.target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove the old seeds");
        }
        std::fs::create_dir_all(&dir).expect("create the seed directory");
        for (name, bytes) in &self.seeds {
            std::fs::write(dir.join(name), bytes).expect("write a seed");
        }
        println!("{:>18}: {} seeds", self.target, self.seeds.len());
    }
}

fn parse_signature(cases: &[Case]) -> Corpus {
    let mut corpus = Corpus::new("parse_signature");
    for case in cases {
        for (i, params) in case.signature_params().into_iter().enumerate() {
            corpus.add(&format!("{}-{i}", case.id), params);
        }
    }
    // security.md §7 V6 and the §5 cases that are header strings.
    let extra: [(&str, &str); 8] = [
        (
            "v6-drone-go-invalid",
            r#"keyId="hmac-key",algorithm="hmac-sha256",signature="QrS16+RlRsFjXn5IVW8tWz+3ZRAypjpNgzehEuvJksk=",headers="(request-target) accept accept-encoding content-type date digest""#,
        ),
        (
            "v6-mastodon-spacing",
            r#"keyId = "https://remote.domain/users/bob#main-key,",algorithm=  rsa-sha256  , headers="host date digest (request-target)",signature="c2ln""#,
        ),
        (
            "v6-cavage-12",
            r#"keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date",signature="qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=""#,
        ),
        ("b09-comma-in-quotes", r#"keyId="a,b",signature="x""#),
        ("b10-quoted-pair", r#"keyId="a\"b\\c",signature="x""#),
        ("b11-garbage-between", r#"keyId="k" junk,signature="x""#),
        (
            "created-expires",
            r#"keyId="k",signature="x",created=1577836800,expires="1577837100""#,
        ),
        (
            "b24-b25-list-case-and-spacing",
            r#"KEYID=hmac-key ,, Signature = "c2ln" ,headers="Date  DIGEST" "#,
        ),
    ];
    for (name, header) in extra {
        corpus.add(name, header);
    }
    // At the cap: token values gain quotes when rendered, so the rendering outgrows 8 KiB.
    let near_cap = format!("keyId={},signature=x", "k".repeat(8192 - 18));
    corpus.add("b06-at-cap-tokens", near_cap);
    corpus
}

/// `structured_params` decodes any bytes: pseudo-random inputs, kept when they parse (and a few
/// that do not), give the fuzzer both sides of the model.
fn structured_params() -> Corpus {
    let mut corpus = Corpus::new("structured_params");
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut ok, mut err) = (0, 0);
    while ok < 12 || err < 4 {
        let len = 24 + (next() % 200) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let Some(input) = oracles::decode::<structured::Input>(&bytes) else {
            continue;
        };
        let parses = input.model(&input.render()).is_some();
        if parses && ok < 12 {
            corpus.add(&format!("parses-{ok:02}"), bytes);
            ok += 1;
        } else if !parses && err < 4 && !input.params.is_empty() {
            corpus.add(&format!("refused-{err:02}"), bytes);
            err += 1;
        }
    }
    corpus
}

fn signing_string(cases: &[Case]) -> Corpus {
    let mut corpus = Corpus::new("signing_string");
    for case in cases {
        let list = case
            .signature_params()
            .first()
            .and_then(|p| drone_extension::signature::SignatureParams::parse(p).ok())
            .and_then(|p| p.headers)
            .unwrap_or_else(|| "date digest".to_owned());
        let mut text = format!("{list}\n{} {}\n", case.method, case.target);
        for (name, value) in &case.headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        corpus.add(&case.id, text);
    }
    let extra: [(&str, &str); 4] = [
        (
            "v3-request-target",
            "(request-target) date\nGET /foo?param=value&pet=dog\nDate: Thu, 05 Jan 2012 21:31:40 GMT\n",
        ),
        (
            "host-from-authority",
            "(request-target) host date\nPUT http://example.com:3000/a/B?x=1&y\nDate: Thu, 05 Jan 2012 21:31:40 GMT\n",
        ),
        (
            "b27-duplicate-and-b29-empty",
            "date accept-encoding\nPOST /\nDate: a\nDate: b\nAccept-Encoding:\n",
        ),
        (
            "b26-pseudo-headers",
            "(created) (expires) (foo) date\nPOST /\nDate: x\n",
        ),
    ];
    for (name, text) in extra {
        corpus.add(name, text);
    }
    corpus
}

fn kind_index(policy: &str) -> u8 {
    use drone_extension::ExtensionKind;
    let kind = match policy {
        "drone-extension:admission" => ExtensionKind::Admission,
        "drone-extension:secret" => ExtensionKind::Secret,
        "drone-webhook" => ExtensionKind::Webhook,
        other => panic!("unknown policy {other}"),
    };
    let index = ExtensionKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("a kind");
    u8::try_from(index).expect("few kinds")
}

fn unix(date: &str) -> u32 {
    let t = httpdate::parse_http_date(date).expect("an HTTP-date");
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    u32::try_from(secs).expect("before 2106")
}

fn verify_mutation(cases: &[Case]) -> Corpus {
    let mut corpus = Corpus::new("verify_mutation");
    let mutations: [(&str, Mutation); 16] = [
        ("none", Mutation::None),
        // Header positions are those of an extension request (see `build` in the oracle).
        (
            "flip-date",
            Mutation::FlipHeaderByte {
                header: 3,
                at: 5,
                mask: 1,
            },
        ),
        (
            "flip-accept-case",
            Mutation::FlipHeaderByte {
                header: 0,
                at: 0,
                mask: 0x20,
            },
        ),
        (
            "flip-user-agent",
            Mutation::FlipHeaderByte {
                header: 6,
                at: 0,
                mask: 1,
            },
        ),
        ("flip-body", Mutation::FlipBodyByte { at: 0, mask: 1 }),
        (
            "flip-keyid",
            Mutation::FlipParamByte {
                param: Param::KeyId,
                at: 0,
                mask: 1,
            },
        ),
        (
            "flip-algorithm",
            Mutation::FlipParamByte {
                param: Param::Algorithm,
                at: 0,
                mask: 0x20,
            },
        ),
        (
            "flip-signature",
            Mutation::FlipParamByte {
                param: Param::Signature,
                at: 7,
                mask: 2,
            },
        ),
        (
            "headers-param-case",
            Mutation::FlipParamByte {
                param: Param::Headers,
                at: 0,
                mask: 0x20,
            },
        ),
        (
            "name-case",
            Mutation::HeaderNameCase {
                header: 3,
                mask: 0x5555_5555,
            },
        ),
        ("duplicate-digest", Mutation::DuplicateHeader { header: 4 }),
        ("drop-content-type", Mutation::DropHeader { header: 2 }),
        (
            "add-bearer",
            Mutation::AddHeader {
                name: 6,
                value: *b"token123",
            },
        ),
        (
            "change-target",
            Mutation::ChangeTarget {
                method: 2,
                path: *b"registry",
            },
        ),
        ("clock-edge", Mutation::ShiftClock { secs: 300 }),
        ("clock-stale", Mutation::ShiftClock { secs: -301 }),
    ];
    let mut bodies_seen = Vec::new();
    for case in cases.iter().filter(|c| c.expect == "ok") {
        let date = unix(case.header("Date").expect("a Date"));
        let base = mutation::Input {
            kind: kind_index(&case.policy),
            accept: 0,
            date,
            authorization: case.header("Authorization").is_some(),
            padded: case.id == "header-value-ows",
            bound_key: false,
            mutation: Mutation::None,
            body: case.body.as_bytes(),
        };
        // Every mutation on each distinct body, the unmutated request for the other vectors.
        let all = !bodies_seen.contains(&case.body);
        bodies_seen.push(case.body.clone());
        for (i, (name, m)) in mutations.iter().enumerate() {
            if !all && i > 0 {
                break;
            }
            let input = mutation::Input {
                mutation: *m,
                bound_key: i % 3 == 1,
                ..base
            };
            corpus.add(&format!("{}-{name}", case.id), seed::mutation_input(&input));
        }
    }
    corpus
}

fn digest_header(cases: &[Case]) -> Corpus {
    let mut corpus = Corpus::new("digest_header");
    for case in cases {
        if let Some(digest) = case.header("Digest") {
            corpus.add(&case.id, format!("{digest}\n{}", case.body));
        }
    }
    // security.md §7 V4 and B-42…B-45.
    let hello = r#"{"hello": "world"}"#;
    let extra = [
        (
            "v4-hello",
            format!("SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\n{hello}"),
        ),
        (
            "v4-empty",
            "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".to_owned(),
        ),
        (
            "b42-list",
            format!(
                "MD5=abc , sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=,unixsum=12\n{hello}"
            ),
        ),
        (
            "b43-sha512-only",
            format!(
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n{hello}"
            ),
        ),
        (
            "b44-unpadded",
            format!("SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE\n{hello}"),
        ),
        (
            "b44-trailing-bits",
            format!("SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPF=\n{hello}"),
        ),
    ];
    for (name, text) in extra {
        corpus.add(name, text);
    }
    corpus
}

fn http_date_seeds(cases: &[Case]) -> Corpus {
    let mut corpus = Corpus::new("http_date");
    for case in cases {
        let Some(date) = case.header("Date") else {
            continue;
        };
        let now = i64::from(unix(&case.now));
        let input = http_date::Input {
            now_secs: now,
            now_nanos: 0,
            skew_secs: 300,
            created: None,
            expires: None,
            date: date.as_bytes(),
        };
        corpus.add(&case.id, seed::http_date_input(&input));
    }
    let t = 1_577_836_800;
    let clock = |now_secs, skew_secs, created, expires, date: &'static str| http_date::Input {
        now_secs,
        now_nanos: 0,
        skew_secs,
        created,
        expires,
        date: date.as_bytes(),
    };
    let imf = "Wed, 01 Jan 2020 00:00:00 GMT";
    let extra = [
        (
            "b36-rfc850",
            clock(t, 300, None, None, "Wednesday, 01-Jan-20 00:00:00 GMT"),
        ),
        (
            "b36-asctime",
            clock(t, 300, None, None, "Wed Jan  1 00:00:00 2020"),
        ),
        (
            "b36-utc",
            clock(t, 300, None, None, "Wed, 01 Jan 2020 00:00:00 UTC"),
        ),
        ("created-expires", clock(t, 300, Some(t), Some(t + 10), imf)),
        (
            "clock-before-1970",
            clock(-86_400, 300, None, Some(0), "Thu, 01 Jan 1970 00:00:00 GMT"),
        ),
        (
            "huge-window",
            clock(
                i64::MAX / 2,
                u64::MAX,
                Some(i64::MAX),
                None,
                "Fri, 31 Dec 9999 23:59:59 GMT",
            ),
        ),
        ("b33-just-stale", clock(t + 301, 300, None, None, imf)),
    ];
    for (name, input) in extra {
        corpus.add(name, seed::http_date_input(&input));
    }
    corpus
}

/// How a `layer_end_to_end` seed differs from the plain request of a vector.
#[derive(Clone, Copy)]
struct Variant {
    clock: i16,
    length: Length,
    damage: Damage,
    trailers: bool,
    cuts: &'static [u16],
}

const PLAIN: Variant = Variant {
    clock: 0,
    length: Length::Exact,
    damage: Damage::None,
    trailers: false,
    cuts: &[],
};

const fn declared(value: u16, trailing: u8) -> Length {
    Length::Declared {
        value,
        leading: 0,
        trailing,
        padded: false,
    }
}

const fn damaged(damage: Damage) -> Variant {
    Variant { damage, ..PLAIN }
}

fn layer_end_to_end(cases: &[Case]) -> Corpus {
    let mut corpus = Corpus::new("layer_end_to_end");
    // Header indexes are those of `build` in the oracle: for an extension Accept,
    // Accept-Encoding, Content-Type, Date, Digest, the signature header, Host, User-Agent, then
    // Content-Length; the signed ones are the first five.
    let variants: [(&str, Variant); 17] = [
        ("none", PLAIN),
        (
            "chunked",
            Variant {
                length: Length::Absent,
                trailers: true,
                cuts: &[1, 5, 5, 30, 300],
                ..PLAIN
            },
        ),
        (
            "clock-edge",
            Variant {
                clock: -300,
                cuts: &[7],
                ..PLAIN
            },
        ),
        (
            "clock-stale",
            Variant {
                clock: 301,
                ..PLAIN
            },
        ),
        (
            "flip-date",
            damaged(Damage::FlipSignedHeader {
                header: 3,
                at: 5,
                mask: 1,
            }),
        ),
        (
            "flip-digest",
            damaged(Damage::FlipSignedHeader {
                header: 4,
                at: 9,
                mask: 1,
            }),
        ),
        (
            "flip-body",
            Variant {
                cuts: &[2],
                ..damaged(Damage::FlipBody { at: 3, mask: 1 })
            },
        ),
        (
            "flip-mac",
            damaged(Damage::FlipSignature { at: 7, mask: 2 }),
        ),
        ("drop-date", damaged(Damage::DropHeader { header: 3 })),
        ("drop-signature", damaged(Damage::DropHeader { header: 5 })),
        (
            "drop-length",
            Variant {
                cuts: &[4, 8],
                ..damaged(Damage::DropHeader { header: 8 })
            },
        ),
        (
            "duplicate-signature",
            damaged(Damage::DuplicateHeader { header: 5 }),
        ),
        (
            "duplicate-length",
            damaged(Damage::DuplicateHeader { header: 8 }),
        ),
        (
            "body-error",
            Variant {
                length: Length::Absent,
                cuts: &[3, 12],
                ..damaged(Damage::BodyError { at: 6 })
            },
        ),
        (
            "declared-lie-small",
            Variant {
                length: declared(1, 0),
                trailers: true,
                ..PLAIN
            },
        ),
        (
            "declared-over-limit",
            Variant {
                length: declared(4097, 0),
                ..PLAIN
            },
        ),
        // 1 followed by 23 zeros: more than a u64 holds, so more than any limit.
        (
            "declared-beyond-u64",
            Variant {
                length: declared(1, 23),
                ..PLAIN
            },
        ),
    ];
    let mut bodies_seen = Vec::new();
    for case in cases.iter().filter(|c| c.expect == "ok") {
        let base = layer::Input {
            kind: kind_index(&case.policy),
            accept: 0,
            date: unix(case.header("Date").expect("a Date")),
            clock: 0,
            authorization: case.header("Authorization").is_some(),
            length: Length::Exact,
            damage: Damage::None,
            trailers: false,
            cuts: Vec::new(),
            body: case.body.as_bytes(),
        };
        // Every variant on each distinct body, the undamaged request for the other vectors.
        let all = !bodies_seen.contains(&case.body);
        bodies_seen.push(case.body.clone());
        for (i, (name, v)) in variants.iter().enumerate() {
            if !all && i > 0 {
                break;
            }
            let input = layer::Input {
                clock: v.clock,
                length: v.length,
                damage: v.damage,
                trailers: v.trailers,
                cuts: v.cuts.to_vec(),
                ..base.clone()
            };
            corpus.add(&format!("{}-{name}", case.id), seed::layer_input(&input));
        }
    }
    // Bodies at the limit and one byte over it, declared or found while reading.
    let json: Vec<u8> = br#"{"build":{"id":1,"message":"fuzz"},"repo":{"slug":"octocat/hello"}}"#
        .iter()
        .copied()
        .cycle()
        .take(layer::LIMIT + 1)
        .collect();
    let t = 1_577_836_800;
    for (name, len, length, cuts) in [
        (
            "at-limit",
            layer::LIMIT,
            Length::Exact,
            &[1000u16, 2000, 3000][..],
        ),
        (
            "at-limit-undeclared",
            layer::LIMIT,
            Length::Absent,
            &[4095][..],
        ),
        (
            "over-limit-declared",
            layer::LIMIT + 1,
            Length::Exact,
            &[][..],
        ),
        (
            "over-limit-read",
            layer::LIMIT + 1,
            Length::Absent,
            &[2048, 4096][..],
        ),
        (
            "over-limit-lie",
            layer::LIMIT + 1,
            declared(100, 0),
            &[4097][..],
        ),
    ] {
        let input = layer::Input {
            kind: 2,
            accept: 0,
            date: t,
            clock: 0,
            authorization: false,
            length,
            damage: Damage::None,
            trailers: false,
            cuts: cuts.to_vec(),
            body: &json[..len],
        };
        corpus.add(name, seed::layer_input(&input));
    }
    corpus
}

fn main() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ is inside the repository")
        .to_owned();
    let cases = cases(&root);
    for corpus in [
        parse_signature(&cases),
        structured_params(),
        signing_string(&cases),
        verify_mutation(&cases),
        digest_header(&cases),
        http_date_seeds(&cases),
        layer_end_to_end(&cases),
    ] {
        corpus.write(&root);
    }
}
