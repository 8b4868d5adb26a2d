//! Chaum–Pedersen proof of discrete-log equality, and the "ciphertext encrypts a known
//! constant" proof built on it. protocol-spec/03-proofs.md §3.3–3.4.

use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::{Base, Equations, SingleVerifier};
use curve25519_dalek::ristretto::RistrettoPoint;

use crate::elgamal::{Ciphertext, ElectionPublicKey, PreparedKey};
use crate::error::Result;
use crate::group::{compress_doubled, half, Point, Scalar};
use crate::transcript::{labels, TranscriptProtocol};

/// Proof that log_G X = log_Y D: (T1, T2, z) with z·G = T1 + c·X and z·Y = T2 + c·D.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DleqProof {
    /// T1 = w·G.
    pub t1: Point,
    /// T2 = w·Y.
    pub t2: Point,
    /// z = w + c·x.
    pub z: Scalar,
}

fn dleq_challenge(
    transcript: &mut Transcript,
    y: &Point,
    x_pub: &Point,
    d: &Point,
    t1: &Point,
    t2: &Point,
) -> Scalar {
    transcript.domain_sep(labels::DLEQ);
    transcript.append_point(labels::G, &Point::generator());
    transcript.append_point(labels::BASE, y);
    transcript.append_point(labels::PUBLIC, x_pub);
    transcript.append_point(labels::IMAGE, d);
    transcript.append_point(labels::T, t1);
    transcript.append_point(labels::T, t2);
    transcript.challenge_scalar(labels::CHALLENGE)
}

impl DleqProof {
    /// Prove log_G X = log_Y D = x.
    pub fn prove(
        transcript: &mut Transcript,
        x: &Scalar,
        y: &Point,
        x_pub: &Point,
        d: &Point,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let w = Scalar::random(rng);
        let t1 = w.mul_base();
        let t2 = w.mul_point(y);
        let c = dleq_challenge(transcript, y, x_pub, d, &t1, &t2);
        DleqProof {
            t1,
            t2,
            z: w + c * *x,
        }
    }

    /// Hand both equations to `eq`. `y_shared` marks Y as a base shared across a batch
    /// (the election key K) so its coefficients are merged.
    pub fn check(
        &self,
        transcript: &mut Transcript,
        y: &Point,
        y_shared: bool,
        x_pub: &Point,
        d: &Point,
        eq: &mut impl Equations,
    ) -> Result<()> {
        let c = dleq_challenge(transcript, y, x_pub, d, &self.t1, &self.t2);
        eq.require_zero(
            &[
                (self.z, Base::G),
                (-Scalar::ONE, Base::Var(&self.t1)),
                (-c, Base::Var(x_pub)),
            ],
            "dleq",
            "z·G = T1 + c·X",
        )?;
        let yb = if y_shared {
            Base::Shared(y)
        } else {
            Base::Var(y)
        };
        eq.require_zero(
            &[
                (self.z, yb),
                (-Scalar::ONE, Base::Var(&self.t2)),
                (-c, Base::Var(d)),
            ],
            "dleq",
            "z·Y = T2 + c·D",
        )
    }

    /// Verify on its own.
    pub fn verify(
        &self,
        transcript: &mut Transcript,
        y: &Point,
        x_pub: &Point,
        d: &Point,
    ) -> Result<()> {
        self.check(transcript, y, false, x_pub, d, &mut SingleVerifier)
    }
}

/// Proof that ciphertext (A, B) encrypts the public constant L:
/// DLEQ log_G A = log_K (B − L·G) with witness R (the sum of the nonces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConstantProof(pub DleqProof);

fn constant_statement(
    transcript: &mut Transcript,
    key: &ElectionPublicKey,
    ct: &Ciphertext,
    value: u64,
) -> Point {
    transcript.domain_sep(labels::CONSTANT);
    transcript.append_point(labels::ELECTION_KEY, key.point());
    transcript.append_point(labels::CT_A, &ct.a);
    transcript.append_point(labels::CT_B, &ct.b);
    transcript.append_u64_le(labels::CONSTANT_VALUE, value);
    ct.b - Scalar::from_u64(value).mul_base()
}

impl ConstantProof {
    /// Prove that `ct` = Enc(value; r).
    pub fn prove(
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
        value: u64,
        r: &Scalar,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let d = constant_statement(transcript, key, ct, value);
        ConstantProof(DleqProof::prove(transcript, r, key.point(), &ct.a, &d, rng))
    }

    /// [`ConstantProof::prove`] with K·w from `key` (its table if it has one) and the
    /// two commitments compressed with one shared inversion: the same proof for the
    /// same random stream.
    pub fn prove_prepared(
        transcript: &mut Transcript,
        key: &PreparedKey,
        ct: &Ciphertext,
        value: u64,
        r: &Scalar,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let d = constant_statement(transcript, key.key(), ct, value);
        let w = Scalar::random(rng);
        let wh = w.0 * half();
        let [t1, t2] = compress_doubled([RistrettoPoint::mul_base(&wh), key.mul(&wh)]);
        let c = dleq_challenge(transcript, key.key().point(), &ct.a, &d, &t1, &t2);
        ConstantProof(DleqProof {
            t1,
            t2,
            z: w + c * *r,
        })
    }

    /// Hand the equations to `eq`.
    pub fn check(
        &self,
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
        value: u64,
        eq: &mut impl Equations,
    ) -> Result<()> {
        let d = constant_statement(transcript, key, ct, value);
        self.0.check(transcript, key.point(), true, &ct.a, &d, eq)
    }

    /// Verify on its own.
    pub fn verify(
        &self,
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
        value: u64,
    ) -> Result<()> {
        self.check(transcript, key, ct, value, &mut SingleVerifier)
    }
}
