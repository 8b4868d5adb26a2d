//! Canonical binary encoding for everything that is hashed or signed
//! (protocol-spec/01-encodings.md §1.5).
//!
//! JSON is for transport only: two JSON documents that differ in whitespace or key
//! order describe the same object and must hash the same. So every hashed or signed
//! object is re-encoded here with a fixed, unambiguous layout:
//! - integers: fixed width, big-endian (`u8`, `u32`, `u64`, `i64` as two's complement);
//! - bool: one byte 0 or 1;
//! - byte strings and UTF-8 strings: u32 length, then the bytes;
//! - points, scalars, hashes: their 32 canonical bytes, no length;
//! - sequences: u32 count, then each element;
//! - options: one byte 0 (absent) or 1 followed by the value;
//! - enums: one tag byte, then the variant's fields.
//!
//! A hash of an object is SHA-256(`"vox/v2/" ‖ type tag ‖ 0x00 ‖ encoding`).

use vox_crypto::{Hash32, Point, Scalar};

/// Appends canonical encodings to a byte buffer.
#[derive(Default, Debug, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// Empty encoder.
    pub fn new() -> Self {
        Self::default()
    }
    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// Big-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Big-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Big-endian two's complement i64.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// 0 or 1.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }
    /// Length-prefixed bytes. Lengths above u32::MAX cannot occur (bodies are size-limited).
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(v);
        self
    }
    /// Length-prefixed UTF-8.
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    /// Fixed 32 bytes.
    pub fn raw32(&mut self, v: &[u8; 32]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// Fixed 64 bytes (an Ed25519 signature).
    pub fn raw64(&mut self, v: &[u8; 64]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// A point's canonical encoding.
    pub fn point(&mut self, p: &Point) -> &mut Self {
        self.raw32(p.as_bytes())
    }
    /// A scalar's canonical encoding.
    pub fn scalar(&mut self, s: &Scalar) -> &mut Self {
        self.raw32(&s.to_bytes())
    }
    /// A hash.
    pub fn hash(&mut self, h: &Hash32) -> &mut Self {
        self.raw32(&h.0)
    }
    /// Sequence count.
    pub fn count(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }
    /// A sequence of canonical values.
    pub fn seq<T: Canonical>(&mut self, items: &[T]) -> &mut Self {
        self.count(items.len());
        for i in items {
            i.encode(self);
        }
        self
    }
    /// An optional canonical value.
    pub fn opt<T: Canonical>(&mut self, v: &Option<T>) -> &mut Self {
        match v {
            None => self.u8(0),
            Some(x) => {
                self.u8(1);
                x.encode(self);
                self
            }
        }
    }
}

/// A type with a canonical encoding.
pub trait Canonical {
    /// Append the canonical encoding.
    fn encode(&self, e: &mut Encoder);

    /// The canonical bytes.
    fn canonical_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        self.encode(&mut e);
        e.into_bytes()
    }
}

/// A canonical type with a hash tag (e.g. `"manifest"`, `"ballot"`).
pub trait Hashable: Canonical {
    /// The type tag in the hash's domain separation.
    const TAG: &'static str;

    /// SHA-256("vox/v2/" ‖ TAG ‖ 0x00 ‖ canonical bytes).
    fn canonical_hash(&self) -> Hash32 {
        let bytes = self.canonical_bytes();
        Hash32::sha256(&[b"vox/v2/", Self::TAG.as_bytes(), &[0u8], &bytes])
    }
}

impl Canonical for Point {
    fn encode(&self, e: &mut Encoder) {
        e.point(self);
    }
}
impl Canonical for Scalar {
    fn encode(&self, e: &mut Encoder) {
        e.scalar(self);
    }
}
impl Canonical for Hash32 {
    fn encode(&self, e: &mut Encoder) {
        e.hash(self);
    }
}
impl Canonical for String {
    fn encode(&self, e: &mut Encoder) {
        e.str(self);
    }
}
impl Canonical for u64 {
    fn encode(&self, e: &mut Encoder) {
        e.u64(*self);
    }
}
impl<T: Canonical> Canonical for Vec<T> {
    fn encode(&self, e: &mut Encoder) {
        e.seq(self);
    }
}

/// Crockford base32 (`0123456789ABCDEFGHJKMNPQRSTVWXYZ`, no I L O U), most significant
/// bit first, no padding: the alphabet of tracking codes, credentials and enrolment codes.
pub const CROCKFORD_SYMBOLS: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The `data-encoding` encoder of [`CROCKFORD_SYMBOLS`] (built once).
fn crockford() -> &'static data_encoding::Encoding {
    static ENC: std::sync::OnceLock<data_encoding::Encoding> = std::sync::OnceLock::new();
    ENC.get_or_init(|| {
        let mut spec = data_encoding::Specification::new();
        spec.symbols.push_str(CROCKFORD_SYMBOLS);
        // 32 distinct ASCII symbols, no padding: always a valid specification (and the
        // unit test below builds it).
        #[allow(clippy::expect_used)]
        spec.encoding().expect("Crockford base32 specification")
    })
}

/// Human-friendly tracking code: the first 80 bits of a hash in Crockford base32,
/// grouped by four ("K3F9-2QXA-7MTB-04WD"). Enough to find one's ballot; the full
/// hash is in the receipt.
pub fn human_code(h: &Hash32) -> String {
    // 10 bytes = 80 bits = exactly 16 symbols, no padding.
    let plain = crockford().encode(h.0.get(..10).unwrap_or(&h.0));
    let mut out = String::with_capacity(19);
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod human_code_tests {
    use super::*;

    /// The hand-written bit-shifting encoder `human_code` used before `data-encoding`.
    fn reference(h: &Hash32) -> String {
        const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut bits: u128 = 0;
        for b in h.0.iter().take(10) {
            bits = (bits << 8) | u128::from(*b);
        }
        let mut out = String::with_capacity(19);
        for i in 0..16 {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            let shift = 80 - 5 * (i + 1);
            out.push(char::from(ALPHABET[((bits >> shift) & 31) as usize]));
        }
        out
    }

    #[test]
    fn alphabet_is_the_credential_alphabet() {
        assert_eq!(
            CROCKFORD_SYMBOLS.as_bytes(),
            vox_crypto::credential::ALPHABET.as_slice()
        );
    }

    #[test]
    fn matches_the_hand_written_encoder() {
        let mut h = Hash32([0u8; 32]);
        assert_eq!(human_code(&h), "0000-0000-0000-0000");
        h.0 = [0xff; 32];
        assert_eq!(human_code(&h), "ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        let mut x: u32 = 0x9e37_79b9;
        for _ in 0..2000 {
            for b in h.0.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            assert_eq!(human_code(&h), reference(&h));
        }
    }
}
