//! Exponential ElGamal over Ristretto255 (protocol-spec/03-proofs.md §3.1).
//!
//! A plaintext m is encrypted as (a, b) = (r·G, m·G + r·K) under the joint election
//! key K. Ciphertexts add component-wise, so the product of all counted ballots
//! encrypts the tally; trustees never decrypt an individual ballot.

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{CryptoError, Result};
use crate::group::{Point, Scalar};

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
        use curve25519_dalek::traits::Identity;
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
