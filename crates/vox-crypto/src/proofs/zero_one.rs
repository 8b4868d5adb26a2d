//! Disjunctive Chaum–Pedersen (CDS) proof that a ciphertext encrypts 0 or 1.
//! protocol-spec/03-proofs.md §3.5.
//!
//! Sound whatever anyone knows about K: even trustees who together know log_G K
//! cannot make it accept an encryption of 2, because the relation proven is about
//! (a, b) with bases G and K, and the challenge covers K, a, b and both commitments.

use curve25519_dalek::traits::MultiscalarMul;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::{Base, Equations, SingleVerifier};
use crate::elgamal::{Ciphertext, ElectionPublicKey, Nonce};
use crate::error::{CryptoError, Result};
use crate::group::{Point, Scalar};
use crate::transcript::{labels, TranscriptProtocol};

/// (T₀, T₁, c₀, c₁, z₀, z₁); branch j proves (a, b − j·G) = r·(G, K).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZeroOneProof {
    /// Branch 0 commitment (on G).
    pub t0a: Point,
    /// Branch 0 commitment (on K).
    pub t0b: Point,
    /// Branch 1 commitment (on G).
    pub t1a: Point,
    /// Branch 1 commitment (on K).
    pub t1b: Point,
    /// Branch 0 challenge.
    pub c0: Scalar,
    /// Branch 1 challenge.
    pub c1: Scalar,
    /// Branch 0 response.
    pub z0: Scalar,
    /// Branch 1 response.
    pub z1: Scalar,
}

fn challenge(
    transcript: &mut Transcript,
    key: &ElectionPublicKey,
    ct: &Ciphertext,
    t: [&Point; 4],
) -> Scalar {
    transcript.domain_sep(labels::ZERO_ONE);
    transcript.append_point(labels::ELECTION_KEY, key.point());
    transcript.append_point(labels::CT_A, &ct.a);
    transcript.append_point(labels::CT_B, &ct.b);
    for p in t {
        transcript.append_point(labels::T, p);
    }
    transcript.challenge_scalar(labels::CHALLENGE)
}

impl ZeroOneProof {
    /// Prove that `ct = Enc(m; r)` with m ∈ {0, 1}. Returns an error for any other m
    /// (an honest prover cannot prove a false statement).
    pub fn prove(
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
        m: u64,
        r: &Nonce,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        if m > 1 {
            return Err(CryptoError::Parameter("zero-one proof needs m in {0, 1}"));
        }
        // Raw dalek arithmetic: only the four commitments are compressed (compression
        // is a third of the prover's cost otherwise).
        let k = key.point().as_point();
        let g = curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
        // Simulated branch j = 1 − m.
        let j = 1 - m;
        let cj = Scalar::random(rng);
        let zj = Scalar::random(rng);
        let bj = if j == 1 {
            ct.b.as_point() - g
        } else {
            *ct.b.as_point()
        };
        // Two-term constant-time multiscalar products: ≈ 1.3 scalar multiplications each
        // instead of 2 (the simulated branch must not be distinguishable by timing).
        let tja = curve25519_dalek::ristretto::RistrettoPoint::multiscalar_mul(
            [zj.0, -cj.0],
            [g, *ct.a.as_point()],
        );
        let tjb =
            curve25519_dalek::ristretto::RistrettoPoint::multiscalar_mul([zj.0, -cj.0], [*k, bj]);
        // Real branch m.
        let w = Scalar::random(rng);
        let tma = curve25519_dalek::ristretto::RistrettoPoint::mul_base(&w.0);
        let tmb = w.0 * k;
        let [tja, tjb, tma, tmb] = [tja, tjb, tma, tmb].map(Point::from_point);
        let (t0a, t0b, t1a, t1b) = if m == 0 {
            (tma, tmb, tja, tjb)
        } else {
            (tja, tjb, tma, tmb)
        };
        let c = challenge(transcript, key, ct, [&t0a, &t0b, &t1a, &t1b]);
        let cm = c - cj;
        let zm = w + cm * *r;
        let (c0, c1, z0, z1) = if m == 0 {
            (cm, cj, zm, zj)
        } else {
            (cj, cm, zj, zm)
        };
        Ok(ZeroOneProof {
            t0a,
            t0b,
            t1a,
            t1b,
            c0,
            c1,
            z0,
            z1,
        })
    }

    /// Check c₀ + c₁ = c and hand the four equations to `eq`.
    pub fn check(
        &self,
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
        eq: &mut impl Equations,
    ) -> Result<()> {
        ct.validate()?;
        let c = challenge(
            transcript,
            key,
            ct,
            [&self.t0a, &self.t0b, &self.t1a, &self.t1b],
        );
        if self.c0 + self.c1 != c {
            return Err(CryptoError::ProofInvalid {
                proof: "zero-one",
                reason: "c0 + c1 differs from the Fiat–Shamir challenge",
            });
        }
        let k = key.point();
        // Branch 0: z0·G = T0a + c0·a ; z0·K = T0b + c0·b
        eq.require_zero(
            &[
                (self.z0, Base::G),
                (-Scalar::ONE, Base::Var(&self.t0a)),
                (-self.c0, Base::Var(&ct.a)),
            ],
            "zero-one",
            "branch 0: z0·G = T0a + c0·a",
        )?;
        eq.require_zero(
            &[
                (self.z0, Base::Shared(k)),
                (-Scalar::ONE, Base::Var(&self.t0b)),
                (-self.c0, Base::Var(&ct.b)),
            ],
            "zero-one",
            "branch 0: z0·K = T0b + c0·b",
        )?;
        // Branch 1: z1·G = T1a + c1·a ; z1·K = T1b + c1·(b − G)
        eq.require_zero(
            &[
                (self.z1, Base::G),
                (-Scalar::ONE, Base::Var(&self.t1a)),
                (-self.c1, Base::Var(&ct.a)),
            ],
            "zero-one",
            "branch 1: z1·G = T1a + c1·a",
        )?;
        eq.require_zero(
            &[
                (self.z1, Base::Shared(k)),
                (self.c1, Base::G),
                (-Scalar::ONE, Base::Var(&self.t1b)),
                (-self.c1, Base::Var(&ct.b)),
            ],
            "zero-one",
            "branch 1: z1·K = T1b + c1·(b − G)",
        )
    }

    /// Verify on its own.
    pub fn verify(
        &self,
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
    ) -> Result<()> {
        self.check(transcript, key, ct, &mut SingleVerifier)
    }
}
