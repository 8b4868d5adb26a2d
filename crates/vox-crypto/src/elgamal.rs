//! Exponential ElGamal over Ristretto255 (protocol-spec/03-proofs.md §3.1).
//!
//! A plaintext m is encrypted as (a, b) = (r·G, m·G + r·K) under the joint election
//! key K. Ciphertexts add component-wise, so the product of all counted ballots
//! encrypts the tally; trustees never decrypt an individual ballot.

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::traits::{Identity, MultiscalarMul};
use curve25519_dalek::Scalar as DalekScalar;
use subtle::{Choice, ConditionallySelectable};

use crate::error::{CryptoError, Result};
use crate::group::{compress_doubled, compress_doubled_all, half, half_generator, Point, Scalar};

/// The joint election public key K (never the identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ElectionPublicKey(Point);

impl ElectionPublicKey {
    /// Wrap a point, rejecting the identity (an identity key would encrypt in the clear).
    pub fn new(p: Point) -> Result<Self> {
        p.ensure_not_identity("election public key")?;
        Ok(Self(p))
    }
    /// The point K.
    pub fn point(&self) -> &Point {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ElectionPublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let p = Point::deserialize(d)?;
        ElectionPublicKey::new(p).map_err(serde::de::Error::custom)
    }
}

/// The election key K prepared for a prover that multiplies it by many secret scalars.
///
/// A variable-base multiplication by K costs ≈ 2.5 fixed-base ones (the 252 doublings
/// dominate). A precomputed table for K (curve25519-dalek's constant-time
/// `RistrettoBasepointTable`, which works for any point) makes every K·secret a
/// fixed-base multiplication, but building it converts 256 points to affine form, one
/// field inversion each: ≈ 55–60 fixed-base multiplications, not the tens of µs one
/// might expect. Measured (BENCHMARKS.md, "Client prover") it pays only for a ballot
/// with at least [`PreparedKey::TABLE_PAYS_FROM`] 0/1-proven options (three
/// multiplications by K each): not for a yes/no ballot (7–9 times slower with it), nor
/// for a 1-of-10 (35–75 % slower). Build one per ballot with
/// [`PreparedKey::for_options`]; keep one with a table across ballots if a client
/// encrypts many under the same key.
///
/// Whichever form is used, every multiplication is constant-time in the scalar and the
/// results are the same points, so ciphertexts and proofs are byte-identical.
#[derive(Clone)]
pub struct PreparedKey {
    key: ElectionPublicKey,
    table: Option<Box<RistrettoBasepointTable>>,
}

impl core::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedKey")
            .field("key", &self.key)
            .field("table", &self.table.is_some())
            .finish()
    }
}

impl PreparedKey {
    /// The number of 0/1-proven options in a ballot from which building the table for
    /// K pays for itself. Measured under load (BENCHMARKS.md, "Client prover"): with
    /// it a 1-of-16 is 15–36 % slower, a 1-of-32 3–39 % slower, a 1-of-64 17–20 %
    /// faster. The estimate from the parts (table ≈ 60 fixed-base multiplications,
    /// ≈ 45 µs saved per option when idle) is lower, 20–30; 48 sits between the
    /// measured points.
    pub const TABLE_PAYS_FROM: usize = 48;

    /// K with a precomputed table (fixed-base multiplications by K).
    pub fn with_table(key: &ElectionPublicKey) -> Self {
        Self {
            key: *key,
            table: Some(Box::new(RistrettoBasepointTable::create(key.0.as_point()))),
        }
    }

    /// K without a table (variable-base multiplications by K).
    pub fn without_table(key: &ElectionPublicKey) -> Self {
        Self {
            key: *key,
            table: None,
        }
    }

    /// K with a table if a ballot of `options` 0/1-proven options pays for it.
    pub fn for_options(key: &ElectionPublicKey, options: usize) -> Self {
        if options >= Self::TABLE_PAYS_FROM {
            Self::with_table(key)
        } else {
            Self::without_table(key)
        }
    }

    /// The key K.
    pub fn key(&self) -> &ElectionPublicKey {
        &self.key
    }

    /// Whether the table was built.
    pub fn has_table(&self) -> bool {
        self.table.is_some()
    }

    /// x·K, constant-time in x.
    pub(crate) fn mul(&self, x: &DalekScalar) -> RistrettoPoint {
        match &self.table {
            Some(t) => t.as_ref() * x,
            None => x * self.key.0.as_point(),
        }
    }

    /// x·K + y·G, constant-time in x and y.
    pub(crate) fn mul_plus_base(&self, x: &DalekScalar, y: &DalekScalar) -> RistrettoPoint {
        match &self.table {
            Some(t) => t.as_ref() * x + RistrettoPoint::mul_base(y),
            // A two-term constant-time product shares the doublings: ≈ one
            // variable-base multiplication instead of one plus a fixed-base one.
            None => RistrettoPoint::multiscalar_mul(
                [*x, *y],
                [*self.key.0.as_point(), RISTRETTO_BASEPOINT_POINT],
            ),
        }
    }

    /// Encrypt m ∈ {0, 1} with fresh randomness: the same ciphertext as
    /// [`Ciphertext::encrypt`] for the same random stream (one scalar drawn), but m·G
    /// is a constant-time selection between the identity and G instead of a
    /// multiplication, and both points are compressed with one shared inversion.
    /// Errors for any other m.
    pub fn encrypt_bit(
        &self,
        m: u64,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Ciphertext, Nonce)> {
        if m > 1 {
            return Err(CryptoError::Parameter("encrypt_bit needs m in {0, 1}"));
        }
        let r = Scalar::random(rng);
        Ok((self.encrypt_bit_with(m == 1, &r), r))
    }

    /// Encrypt every m ∈ {0, 1} of `ms` in order, as many calls of
    /// [`PreparedKey::encrypt_bit`] would (one scalar drawn per value, in order), with
    /// all the points compressed with one shared inversion. Errors, before drawing
    /// anything, if any value is not 0 or 1.
    pub fn encrypt_bits(
        &self,
        ms: &[u64],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<(Ciphertext, Nonce)>> {
        if ms.iter().any(|m| *m > 1) {
            return Err(CryptoError::Parameter(
                "encrypt_bits needs every m in {0, 1}",
            ));
        }
        let mut nonces = Vec::with_capacity(ms.len());
        let mut halves = Vec::with_capacity(2 * ms.len());
        for m in ms {
            let r = Scalar::random(rng);
            let [a, b] = self.encrypt_bit_halves(*m == 1, &r);
            halves.push(a);
            halves.push(b);
            nonces.push(r);
        }
        let points = compress_doubled_all(&halves);
        Ok(points
            .chunks_exact(2)
            .zip(nonces)
            .filter_map(|(ab, r)| match ab {
                [a, b] => Some((Ciphertext { a: *a, b: *b }, r)),
                _ => None,
            })
            .collect())
    }

    /// (a/2, b/2) for the bit m and the nonce r.
    fn encrypt_bit_halves(&self, m: bool, r: &Nonce) -> [RistrettoPoint; 2] {
        let is_one = Choice::from(u8::from(m));
        let rh = r.0 * half();
        let a = RistrettoPoint::mul_base(&rh);
        let mg = RistrettoPoint::conditional_select(
            &RistrettoPoint::identity(),
            half_generator(),
            is_one,
        );
        [a, self.mul(&rh) + mg]
    }

    /// Encrypt the bit m with randomness r (see [`PreparedKey::encrypt_bit`]).
    pub fn encrypt_bit_with(&self, m: bool, r: &Nonce) -> Ciphertext {
        // Halves: compress_doubled encodes twice the points it is given.
        let [a, b] = compress_doubled(self.encrypt_bit_halves(m, r));
        Ciphertext { a, b }
    }
}

/// A secret scalar (a trustee's key share, or a test-only full key). Zeroized on drop,
/// never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretScalar(Scalar);

impl SecretScalar {
    /// Wrap a scalar.
    pub fn new(s: Scalar) -> Self {
        Self(s)
    }
    /// Random secret.
    pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(Scalar::random(rng))
    }
    /// The scalar (use sparingly).
    pub fn expose(&self) -> &Scalar {
        &self.0
    }
    /// The matching public point x·G.
    pub fn public(&self) -> Point {
        self.0.mul_base()
    }
}

impl core::fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretScalar(<redacted>)")
    }
}

/// Encryption randomness r, kept secret by the voter (revealed only for an audited ballot).
pub type Nonce = Scalar;

/// An exponential ElGamal ciphertext (a, b).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ciphertext {
    /// a = r·G
    pub a: Point,
    /// b = m·G + r·K
    pub b: Point,
}

impl Ciphertext {
    /// Encrypt small integer `m` with randomness `r`.
    pub fn encrypt_with(key: &ElectionPublicKey, m: u64, r: &Nonce) -> Self {
        let a = r.mul_base();
        let b = Point::from_point(
            curve25519_dalek::ristretto::RistrettoPoint::mul_base(&Scalar::from_u64(m).0)
                + r.0 * key.0.as_point(),
        );
        Self { a, b }
    }

    /// Encrypt `m` with fresh randomness; returns the ciphertext and the nonce.
    pub fn encrypt(
        key: &ElectionPublicKey,
        m: u64,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> (Self, Nonce) {
        let r = Scalar::random(rng);
        (Self::encrypt_with(key, m, &r), r)
    }

    /// The neutral ciphertext (identity, identity): the sum of no ballots.
    pub fn zero() -> Self {
        Self {
            a: Point::identity(),
            b: Point::identity(),
        }
    }

    /// Homomorphic addition.
    pub fn add(&self, other: &Self) -> Self {
        Self {
            a: self.a + other.a,
            b: self.b + other.b,
        }
    }

    /// Homomorphic sum of many ciphertexts, without recompressing every partial sum.
    pub fn sum<'a>(cts: impl IntoIterator<Item = &'a Ciphertext>) -> Self {
        let mut a = curve25519_dalek::ristretto::RistrettoPoint::identity();
        let mut b = a;
        for c in cts {
            a += c.a.as_point();
            b += c.b.as_point();
        }
        Self {
            a: Point::from_point(a),
            b: Point::from_point(b),
        }
    }

    /// Reject a ciphertext whose `a` is the identity (r = 0 reveals m·G directly).
    pub fn validate(&self) -> Result<()> {
        self.a.ensure_not_identity("ciphertext a")
    }

    /// Check that this ciphertext encrypts `m` with nonce `r` (Benaloh audit).
    pub fn check_opening(&self, key: &ElectionPublicKey, m: u64, r: &Nonce) -> Result<()> {
        if Self::encrypt_with(key, m, r) == *self {
            Ok(())
        } else {
            Err(CryptoError::ProofInvalid {
                proof: "opening",
                reason: "ciphertext does not encrypt the revealed value with the revealed nonce",
            })
        }
    }

    /// Decrypt to m·G with a full secret key (tests and single-trustee tools only).
    pub fn decrypt_to_point(&self, x: &SecretScalar) -> Point {
        self.b - x.expose().mul_point(&self.a)
    }
}
