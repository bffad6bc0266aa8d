//! `structured_params`: signature headers built from parts, checked against a small model.
//!
//! An `Arbitrary` list of parameters (known names in any case, unknown names, duplicates; token,
//! quoted, escaped, numeric and empty values; whitespace and comma noise) is rendered to a header.
//! The model below states the grammar of `security.md` §2 directly, and the parser must agree
//! with it: same success or failure, and on success the same values.

use arbitrary::Arbitrary;
use drone_extension::signature::{MAX_HEADER_LEN, SignatureParams};

/// The tchar alphabet token bytes are drawn from.
const TCHARS: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub leading: Ws,
    pub leading_commas: u8,
    pub params: Vec<Param>,
}

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: Name,
    /// Bit `i % 16` upper-cases the `i`-th byte of a known name.
    pub case: u16,
    pub before_eq: Ws,
    pub after_eq: Ws,
    pub value: Value,
    pub after_value: Ws,
    /// Commas after the value; none between two parameters is an error.
    pub commas: u8,
    pub after_comma: Ws,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ws {
    None,
    Space,
    Tab,
    Mixed,
}

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum Name {
    KeyId,
    Algorithm,
    Signature,
    Headers,
    Created,
    Expires,
    /// Bytes mapped onto tchar: may spell a known name, in any case.
    Other(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Bytes mapped onto tchar; empty is an error.
    Token(Vec<u8>),
    /// A quoted-string: `"` and `\` are always escaped, every character when `escape_all`.
    Quoted {
        text: String,
        escape_all: bool,
    },
    Unix(u64),
    QuotedUnix(u64),
    Empty,
}

impl Ws {
    fn as_str(self) -> &'static str {
        match self {
            Ws::None => "",
            Ws::Space => " ",
            Ws::Tab => "\t",
            Ws::Mixed => " \t  ",
        }
    }
}

fn tchars(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| char::from(TCHARS[usize::from(b) % TCHARS.len()]))
        .collect()
}

const KNOWN: [&str; 6] = [
    "keyId",
    "algorithm",
    "signature",
    "headers",
    "created",
    "expires",
];

impl Name {
    fn spelling(&self, case: u16) -> String {
        let known = match self {
            Name::KeyId => KNOWN[0],
            Name::Algorithm => KNOWN[1],
            Name::Signature => KNOWN[2],
            Name::Headers => KNOWN[3],
            Name::Created => KNOWN[4],
            Name::Expires => KNOWN[5],
            Name::Other(bytes) => return tchars(bytes),
        };
        known
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if case & (1 << (i % 16)) != 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }
}

impl Value {
    fn render(&self, out: &mut String) {
        match self {
            Value::Token(bytes) => out.push_str(&tchars(bytes)),
            Value::Quoted { text, escape_all } => {
                out.push('"');
                for c in text.chars() {
                    if *escape_all || c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            Value::Unix(n) => out.push_str(&n.to_string()),
            Value::QuotedUnix(n) => {
                out.push('"');
                out.push_str(&n.to_string());
                out.push('"');
            }
            Value::Empty => {}
        }
    }

    /// The value the grammar gives, or `None` when it is not a valid token or quoted-string.
    fn model(&self) -> Option<String> {
        match self {
            Value::Token(bytes) if !bytes.is_empty() => Some(tchars(bytes)),
            Value::Token(_) | Value::Empty => None,
            // Quoted strings carry visible ASCII, space and tab, escaped or not; nothing else.
            Value::Quoted { text, .. } => text
                .bytes()
                .all(|b| b == b'\t' || (0x20..=0x7E).contains(&b))
                .then(|| text.clone()),
            Value::Unix(n) | Value::QuotedUnix(n) => Some(n.to_string()),
        }
    }
}

impl Input {
    pub fn render(&self) -> String {
        let mut out = String::from(self.leading.as_str());
        for _ in 0..self.leading_commas % 3 {
            out.push(',');
        }
        for p in &self.params {
            out.push_str(&p.name.spelling(p.case));
            out.push_str(p.before_eq.as_str());
            out.push('=');
            out.push_str(p.after_eq.as_str());
            p.value.render(&mut out);
            out.push_str(p.after_value.as_str());
            for _ in 0..p.commas % 4 {
                out.push(',');
            }
            out.push_str(p.after_comma.as_str());
        }
        out
    }

    /// What a strict RFC 7235 parser with the caps of `security.md` §2 must return.
    pub fn model(&self, rendered: &str) -> Option<SignatureParams> {
        if rendered.len() > MAX_HEADER_LEN {
            return None;
        }
        let mut out = SignatureParams::default();
        let mut seen = [false; 6];
        for (i, p) in self.params.iter().enumerate() {
            // Two parameters with no comma between them is garbage between parameters.
            if p.commas % 4 == 0 && i + 1 < self.params.len() {
                return None;
            }
            let spelled = p.name.spelling(p.case);
            let slot = KNOWN
                .iter()
                .position(|k| k.eq_ignore_ascii_case(&spelled))?;
            if std::mem::replace(&mut seen[slot], true) {
                return None;
            }
            let value = p.value.model()?;
            match slot {
                0 => out.key_id = value,
                1 => out.algorithm = Some(value),
                2 => out.signature = value,
                3 => out.headers = Some(value),
                _ => {
                    let unix = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| value.parse::<i64>().ok())
                        .flatten()?;
                    if slot == 4 {
                        out.created = Some(unix);
                    } else {
                        out.expires = Some(unix);
                    }
                }
            }
        }
        (seen[0] && seen[2]).then_some(out)
    }
}

pub fn check(input: &Input) -> bool {
    let rendered = input.render();
    let expected = input.model(&rendered);
    let got = SignatureParams::parse(&rendered);
    assert_eq!(
        got.as_ref().ok(),
        expected.as_ref(),
        "{rendered:?}: parser {got:?}, model {expected:?}"
    );
    true
}

pub fn run(data: &[u8]) -> bool {
    super::decode::<Input>(data).is_some_and(|input| check(&input))
}
