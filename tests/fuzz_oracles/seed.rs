//! Encoders for the structured inputs: the inverse of `arbitrary`'s decoding, so that seeds can
//! be written from the test vectors (`fuzz/examples/gen_seeds.rs`).
//!
//! `arbitrary` 1.x reads an integer as its little-endian bytes, a `bool` as the low bit of a
//! byte, an enum variant as a `u32` scaled onto the variant count, an `Option` as a `bool` and
//! then the value, and the last field of a struct as everything that is left. `tests/fuzz_seeds.rs`
//! checks `decode(encode(x)) == x`, so a change in `arbitrary` or in the input types shows up there.

use super::http_date;
use super::layer::{self, Damage, Length};
use super::mutation::{self, Mutation, Param};

#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    /// Variant `index` of an enum with `count` variants: the smallest `u32` that
    /// `(u64::from(x) * count) >> 32` maps to it.
    pub fn variant(&mut self, index: u32, count: u32) -> &mut Self {
        assert!(index < count);
        let x = (u64::from(index) << 32).div_ceil(u64::from(count));
        self.u32(u32::try_from(x).expect("index < count"))
    }

    pub fn rest(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

const MUTATIONS: u32 = 10;

fn mutation(w: &mut Writer, m: Mutation) {
    match m {
        Mutation::None => {
            w.variant(0, MUTATIONS);
        }
        Mutation::FlipHeaderByte { header, at, mask } => {
            w.variant(1, MUTATIONS).u8(header).u16(at).u8(mask);
        }
        Mutation::FlipBodyByte { at, mask } => {
            w.variant(2, MUTATIONS).u32(at).u8(mask);
        }
        Mutation::FlipParamByte { param, at, mask } => {
            let index = match param {
                Param::KeyId => 0,
                Param::Algorithm => 1,
                Param::Signature => 2,
                Param::Headers => 3,
            };
            w.variant(3, MUTATIONS).variant(index, 4).u16(at).u8(mask);
        }
        Mutation::HeaderNameCase { header, mask } => {
            w.variant(4, MUTATIONS).u8(header).u32(mask);
        }
        Mutation::DuplicateHeader { header } => {
            w.variant(5, MUTATIONS).u8(header);
        }
        Mutation::DropHeader { header } => {
            w.variant(6, MUTATIONS).u8(header);
        }
        Mutation::AddHeader { name, value } => {
            w.variant(7, MUTATIONS).u8(name).rest(&value);
        }
        Mutation::ChangeTarget { method, path } => {
            w.variant(8, MUTATIONS).u8(method).rest(&path);
        }
        Mutation::ShiftClock { secs } => {
            w.variant(9, MUTATIONS).i32(secs);
        }
    }
}

/// The bytes `verify_mutation` decodes to `input`.
pub fn mutation_input(input: &mutation::Input<'_>) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(input.kind)
        .u8(input.accept)
        .u32(input.date)
        .bool(input.authorization)
        .bool(input.padded)
        .bool(input.bound_key);
    mutation(&mut w, input.mutation);
    w.rest(input.body);
    w.into_bytes()
}

/// The bytes `http_date` decodes to `input`.
pub fn http_date_input(input: &http_date::Input<'_>) -> Vec<u8> {
    let mut w = Writer::default();
    w.i64(input.now_secs)
        .u32(input.now_nanos)
        .u64(input.skew_secs);
    for unix in [input.created, input.expires] {
        w.bool(unix.is_some());
        if let Some(t) = unix {
            w.i64(t);
        }
    }
    w.rest(input.date);
    w.into_bytes()
}

/// The bytes `layer_end_to_end` decodes to `input`.
pub fn layer_input(input: &layer::Input<'_>) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(input.kind)
        .u8(input.accept)
        .u32(input.date)
        .i16(input.clock)
        .bool(input.authorization);
    match input.length {
        Length::Absent => {
            w.variant(0, 3);
        }
        Length::Exact => {
            w.variant(1, 3);
        }
        Length::Declared {
            value,
            leading,
            trailing,
            padded,
        } => {
            w.variant(2, 3)
                .u16(value)
                .u8(leading)
                .u8(trailing)
                .bool(padded);
        }
    }
    const DAMAGES: u32 = 7;
    match input.damage {
        Damage::None => {
            w.variant(0, DAMAGES);
        }
        Damage::FlipSignedHeader { header, at, mask } => {
            w.variant(1, DAMAGES).u8(header).u16(at).u8(mask);
        }
        Damage::FlipBody { at, mask } => {
            w.variant(2, DAMAGES).u16(at).u8(mask);
        }
        Damage::FlipSignature { at, mask } => {
            w.variant(3, DAMAGES).u8(at).u8(mask);
        }
        Damage::DropHeader { header } => {
            w.variant(4, DAMAGES).u8(header);
        }
        Damage::DuplicateHeader { header } => {
            w.variant(5, DAMAGES).u8(header);
        }
        Damage::BodyError { at } => {
            w.variant(6, DAMAGES).u16(at);
        }
    }
    w.bool(input.trailers);
    // A `Vec` in the middle of a struct: a `true` byte before each element, a `false` after.
    for &cut in &input.cuts {
        w.bool(true).u16(cut);
    }
    w.bool(false);
    w.rest(input.body);
    w.into_bytes()
}
