//! Canonical Ristretto255 points and scalars (protocol-spec/01-encodings.md).
//!
//! Every point and scalar that crosses a trust boundary is decoded here. Decoding
//! rejects non-canonical encodings instead of reducing them, so each value has exactly
//! one byte string, and hashes or signatures over encodings are unambiguous.

use core::fmt;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::traits::{Identity, IsIdentity};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

use crate::error::{CryptoError, Result};

/// A Ristretto255 group element, kept decompressed together with its canonical encoding.
///
/// Keeping both avoids recompressing for hashing and decompressing again for
/// arithmetic: decompression is most of a ballot's verification cost.
#[derive(Clone, Copy)]
pub struct Point {
    point: RistrettoPoint,
    bytes: [u8; 32],
}

impl Point {
    /// Wrap an already computed point (computes its encoding).
    pub fn from_point(point: RistrettoPoint) -> Self {
        Self {
            bytes: point.compress().to_bytes(),
            point,
        }
    }

    /// The generator G (the Ristretto basepoint), with its encoding from the constant:
    /// every Schnorr and DLEQ challenge hashes G, and compressing it each time cost an
    /// inversion (as much as a decompression) per credential signature verified.
    pub fn generator() -> Self {
        Self {
            point: curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT,
            bytes: curve25519_dalek::constants::RISTRETTO_BASEPOINT_COMPRESSED.to_bytes(),
        }
    }

    /// The identity element (encoded as 32 zero bytes).
    pub fn identity() -> Self {
        Self {
            point: RistrettoPoint::identity(),
            bytes: [0u8; 32],
        }
    }

    /// Decode 32 canonical bytes. Non-canonical encodings are an error, never normalised.
    /// The identity is accepted here; use [`Point::try_from_bytes_nonidentity`] for keys,
    /// ciphertext `a` components and commitments.
    pub fn try_from_bytes(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::Length {
            what: "point",
            expected: 32,
            got: bytes.len(),
        })?;
        let point = CompressedRistretto(arr)
            .decompress()
            .ok_or(CryptoError::NonCanonicalPoint)?;
        Ok(Self { point, bytes: arr })
    }

    /// Decode 32 canonical bytes and reject the identity (for keys, `a` components and commitments).
    pub fn try_from_bytes_nonidentity(bytes: &[u8], what: &'static str) -> Result<Self> {
        let p = Self::try_from_bytes(bytes)?;
        p.ensure_not_identity(what)?;
        Ok(p)
    }

    /// Error if this is the identity point.
    pub fn ensure_not_identity(&self, what: &'static str) -> Result<()> {
        if self.point.is_identity() {
            Err(CryptoError::IdentityPoint { what })
        } else {
            Ok(())
        }
    }

    /// Whether this is the identity.
    pub fn is_identity(&self) -> bool {
        self.point.is_identity()
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The canonical encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The dalek point, for arithmetic.
    pub fn as_point(&self) -> &RistrettoPoint {
        &self.point
    }

    /// The compressed form (for bulletproofs).
    pub fn compressed(&self) -> CompressedRistretto {
        CompressedRistretto(self.bytes)
    }

    /// Lower-case hexadecimal of the encoding.
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    /// Decode from hexadecimal (canonical encodings only).
    pub fn from_hex(s: &str) -> Result<Self> {
        if let Some(bytes) = hex32(s) {
            return Self::try_from_bytes(&bytes);
        }
        let bytes = hex::decode(s).map_err(|_| CryptoError::Hex { what: "point" })?;
        Self::try_from_bytes(&bytes)
    }
}

/// 64 hex digits decoded on the stack: the shape of every point, scalar and hash in a
/// record, decoded millions of times by the verifier. `None` for anything else; the
/// callers then decode the general way, which reports the same errors as before.
fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Deserializes a string and hands it to a decoder without copying it (serde's
/// `Cow<str>` always allocates an owned `String`).
struct HexVisitor<F>(F);

impl<'de, T, F: FnOnce(&str) -> Result<T>> serde::de::Visitor<'de> for HexVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> core::result::Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> core::result::Result<T, E> {
        match core::str::from_utf8(v) {
            Ok(s) => (self.0)(s).map_err(E::custom),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
        }
    }
}

/// 1/2 modulo ℓ, i.e. (ℓ + 1)/2, little-endian.
const HALF_BYTES: [u8; 32] = [
    247, 233, 122, 46, 141, 49, 9, 44, 107, 206, 123, 81, 239, 124, 111, 10, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 8,
];

/// The scalar 1/2: a prover that wants P computes P/2 from halved scalars and hands
/// it to [`compress_doubled`].
pub(crate) fn half() -> curve25519_dalek::Scalar {
    curve25519_dalek::Scalar::from_bytes_mod_order(HALF_BYTES)
}

/// G/2 (the basepoint times 1/2), computed once.
pub(crate) fn half_generator() -> &'static RistrettoPoint {
    static HALF_G: std::sync::OnceLock<RistrettoPoint> = std::sync::OnceLock::new();
    HALF_G.get_or_init(|| RistrettoPoint::mul_base(&half()))
}

/// The points 2·Pᵢ with their encodings, from the halves Pᵢ.
///
/// Compressing a point costs an inverse square root (≈ a quarter of a fixed-base
/// multiplication); `double_and_compress_batch` encodes 2·P for many P with one shared
/// field inversion instead. The encodings are the canonical ones, identical to
/// `(P + P).compress()`. The points compressed by the provers are all published, so
/// the timing of this step reveals nothing secret.
pub(crate) fn compress_doubled<const N: usize>(halves: [RistrettoPoint; N]) -> [Point; N] {
    let mut encodings = RistrettoPoint::double_and_compress_batch(&halves).into_iter();
    halves.map(|h| {
        let point = h + h;
        match encodings.next() {
            Some(c) => Point {
                point,
                bytes: c.to_bytes(),
            },
            // Unreachable (one encoding per point); the plain path is correct anyway.
            None => Point::from_point(point),
        }
    })
}

/// [`compress_doubled`] for any number of points (one shared inversion for all).
pub(crate) fn compress_doubled_all(halves: &[RistrettoPoint]) -> Vec<Point> {
    let encodings = RistrettoPoint::double_and_compress_batch(halves);
    halves
        .iter()
        .zip(encodings.iter().map(Some).chain(core::iter::repeat(None)))
        .map(|(h, c)| {
            let point = h + h;
            match c {
                Some(c) => Point {
                    point,
                    bytes: c.to_bytes(),
                },
                // Unreachable (one encoding per point); the plain path is correct anyway.
                None => Point::from_point(point),
            }
        })
        .collect()
}

impl PartialEq for Point {
    fn eq(&self, other: &Self) -> bool {
        // Canonical encodings are unique, so comparing bytes compares points.
        self.bytes == other.bytes
    }
}
impl Eq for Point {}

impl fmt::Debug for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Point({})", self.to_hex())
    }
}

impl From<RistrettoPoint> for Point {
    fn from(p: RistrettoPoint) -> Self {
        Self::from_point(p)
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        d.deserialize_str(HexVisitor(Point::from_hex))
    }
}

/// A scalar modulo the Ristretto255 group order ℓ, always canonical.
#[derive(Clone, Copy, PartialEq, Eq, Zeroize)]
pub struct Scalar(pub(crate) curve25519_dalek::Scalar);

impl Scalar {
    /// Zero.
    pub const ZERO: Scalar = Scalar(curve25519_dalek::Scalar::ZERO);
    /// One.
    pub const ONE: Scalar = Scalar(curve25519_dalek::Scalar::ONE);

    /// Uniformly random scalar.
    pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Scalar(curve25519_dalek::Scalar::random(rng))
    }

    /// From a small integer.
    pub fn from_u64(v: u64) -> Self {
        Scalar(curve25519_dalek::Scalar::from(v))
    }

    /// Wrap a dalek scalar (already reduced by construction).
    pub fn from_dalek(s: curve25519_dalek::Scalar) -> Self {
        Scalar(s)
    }

    /// The dalek scalar, for arithmetic.
    pub fn as_dalek(&self) -> &curve25519_dalek::Scalar {
        &self.0
    }

    /// Decode 32 bytes; rejects values ≥ ℓ instead of reducing them.
    pub fn try_from_bytes(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::Length {
            what: "scalar",
            expected: 32,
            got: bytes.len(),
        })?;
        Option::<curve25519_dalek::Scalar>::from(curve25519_dalek::Scalar::from_canonical_bytes(
            arr,
        ))
        .map(Scalar)
        .ok_or(CryptoError::NonCanonicalScalar)
    }

    /// The canonical little-endian encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// Decode from hexadecimal (canonical only).
    pub fn from_hex(s: &str) -> Result<Self> {
        if let Some(bytes) = hex32(s) {
            return Self::try_from_bytes(&bytes);
        }
        let bytes = hex::decode(s).map_err(|_| CryptoError::Hex { what: "scalar" })?;
        Self::try_from_bytes(&bytes)
    }

    /// Multiplicative inverse (zero maps to zero; callers never invert zero).
    pub fn invert(&self) -> Self {
        Scalar(self.0.invert())
    }

    /// `self · G`.
    pub fn mul_base(&self) -> Point {
        Point::from_point(RistrettoPoint::mul_base(&self.0))
    }

    /// `self · P`.
    pub fn mul_point(&self, p: &Point) -> Point {
        Point::from_point(self.0 * p.as_point())
    }
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scalar({})", self.to_hex())
    }
}

impl core::ops::Add for Scalar {
    type Output = Scalar;
    fn add(self, o: Scalar) -> Scalar {
        Scalar(self.0 + o.0)
    }
}
impl core::ops::Sub for Scalar {
    type Output = Scalar;
    fn sub(self, o: Scalar) -> Scalar {
        Scalar(self.0 - o.0)
    }
}
impl core::ops::Mul for Scalar {
    type Output = Scalar;
    fn mul(self, o: Scalar) -> Scalar {
        Scalar(self.0 * o.0)
    }
}
impl core::ops::Neg for Scalar {
    type Output = Scalar;
    fn neg(self) -> Scalar {
        Scalar(-self.0)
    }
}
impl core::ops::Add for Point {
    type Output = Point;
    fn add(self, o: Point) -> Point {
        Point::from_point(self.point + o.point)
    }
}
impl core::ops::Sub for Point {
    type Output = Point;
    fn sub(self, o: Point) -> Point {
        Point::from_point(self.point - o.point)
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        d.deserialize_str(HexVisitor(Scalar::from_hex))
    }
}

/// A 32-byte SHA-256 digest, used for manifest hashes, tracking codes and log hashes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Decode from exactly 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self> {
        if let Some(bytes) = hex32(s) {
            return Ok(Hash32(bytes));
        }
        let bytes = hex::decode(s).map_err(|_| CryptoError::Hex { what: "hash" })?;
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Length {
                what: "hash",
                expected: 32,
                got: bytes.len(),
            })?;
        Ok(Hash32(arr))
    }
    /// SHA-256 of the given parts, concatenated.
    pub fn sha256(parts: &[&[u8]]) -> Self {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for p in parts {
            h.update(p);
        }
        Hash32(h.finalize().into())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        d.deserialize_str(HexVisitor(Hash32::from_hex))
    }
}
