//! Disjunctive Chaum–Pedersen (CDS) proof that a ciphertext encrypts 0 or 1.
//! protocol-spec/03-proofs.md §3.5.
//!
//! Sound whatever anyone knows about K: even trustees who together know log_G K
//! cannot make it accept an encryption of 2, because the relation proven is about
//! (a, b) with bases G and K, and the challenge covers K, a, b and both commitments.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::MultiscalarMul;
use curve25519_dalek::Scalar as DalekScalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConditionallySelectable};

use crate::batch::{Base, Equations, SingleVerifier};
use crate::elgamal::{Ciphertext, ElectionPublicKey, Nonce, PreparedKey};
use crate::error::{CryptoError, Result};
use crate::group::{compress_doubled, compress_doubled_all, half, Point, Scalar};
use crate::transcript::{labels, TranscriptProtocol};

/// (T₀, T₁, c₀, c₁, z₀, z₁); branch j proves (a, b − j·G) = r·(G, K).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The prover's group and selection operations, recorded in tests so that a test can
/// check that the sequence does not depend on the vote (a new `if` on the vote around
/// any traced operation makes the traces differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Select,
    Sub,
    Msm2,
    MulBase,
    Mul,
    Compress,
    ScalarArith,
}

#[cfg(test)]
thread_local! {
    static TRACE: std::cell::RefCell<Vec<Op>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
fn trace(op: Op) {
    TRACE.with(|t| t.borrow_mut().push(op));
}

#[cfg(not(test))]
#[inline(always)]
fn trace(_: Op) {}

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

/// A prepared 0/1 proof between its commitments and its challenge: the branch
/// selector and the secrets of both branches.
struct Pending {
    is_one: Choice,
    cj: Scalar,
    zj: Scalar,
    w: Scalar,
}

impl Pending {
    /// Draw c_j, z_j, w (in that order, as `ZeroOneProof::prove` does) and compute the
    /// halves of (T0a, T0b, T1a, T1b). Branch-free in the vote, as in `prove`.
    fn commit(
        key: &PreparedKey,
        m: u64,
        r: &Nonce,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Self, [RistrettoPoint; 4])> {
        if m > 1 {
            return Err(CryptoError::Parameter("zero-one proof needs m in {0, 1}"));
        }
        let is_one = Choice::from(u8::from(m == 1));
        trace(Op::Select);
        let h = half();
        let cj = Scalar::random(rng);
        let zj = Scalar::random(rng);
        let sh = (zj.0 - cj.0 * r.0) * h;
        trace(Op::ScalarArith);
        let e = DalekScalar::conditional_select(&cj.0, &-cj.0, is_one);
        trace(Op::Select);
        let tja = RistrettoPoint::mul_base(&sh);
        trace(Op::MulBase);
        let tjb = key.mul_plus_base(&sh, &(e * h));
        trace(Op::Msm2);
        // Real branch m.
        let w = Scalar::random(rng);
        let wh = w.0 * h;
        let tma = RistrettoPoint::mul_base(&wh);
        trace(Op::MulBase);
        let tmb = key.mul(&wh);
        trace(Op::Mul);
        let sel = |real: &RistrettoPoint, sim: &RistrettoPoint| {
            trace(Op::Select);
            let zero = RistrettoPoint::conditional_select(real, sim, is_one);
            let one = RistrettoPoint::conditional_select(sim, real, is_one);
            (zero, one)
        };
        let (t0a, t1a) = sel(&tma, &tja);
        let (t0b, t1b) = sel(&tmb, &tjb);
        Ok((Self { is_one, cj, zj, w }, [t0a, t0b, t1a, t1b]))
    }

    /// The challenge over the compressed commitments, and the responses.
    fn finish(
        self,
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
        r: &Nonce,
        [t0a, t0b, t1a, t1b]: [Point; 4],
    ) -> ZeroOneProof {
        let Self { is_one, cj, zj, w } = self;
        let c = challenge(transcript, key, ct, [&t0a, &t0b, &t1a, &t1b]);
        let cm = c - cj;
        let zm = w + cm * *r;
        trace(Op::ScalarArith);
        let pick = |real: &Scalar, sim: &Scalar| {
            trace(Op::Select);
            (
                Scalar(DalekScalar::conditional_select(&real.0, &sim.0, is_one)),
                Scalar(DalekScalar::conditional_select(&sim.0, &real.0, is_one)),
            )
        };
        let (c0, c1) = pick(&cm, &cj);
        let (z0, z1) = pick(&zm, &zj);
        ZeroOneProof {
            t0a,
            t0b,
            t1a,
            t1b,
            c0,
            c1,
            z0,
            z1,
        }
    }
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
        // Branch-free in the vote (protocol-spec/03-proofs.md §3.5): the same group
        // operations run in the same order for m = 0 and m = 1, and the branches are
        // placed with constant-time selections (`subtle`), never with an `if` on m.
        // Raw dalek arithmetic: only the four commitments are compressed (compression
        // is a third of the prover's cost otherwise).
        let is_one = Choice::from(u8::from(m == 1));
        trace(Op::Select);
        let k = key.point().as_point();
        let g = curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
        // The simulated branch is j = 1 − m: its statement uses b − j·G, which is b − G
        // when m = 0 and b when m = 1. Both are computed; one is selected.
        let b = *ct.b.as_point();
        let b_minus_g = b - g;
        trace(Op::Sub);
        let bj = RistrettoPoint::conditional_select(&b_minus_g, &b, is_one);
        trace(Op::Select);
        let cj = Scalar::random(rng);
        let zj = Scalar::random(rng);
        // Two-term constant-time multiscalar products: ≈ 1.3 scalar multiplications each
        // instead of 2.
        let tja = RistrettoPoint::multiscalar_mul([zj.0, -cj.0], [g, *ct.a.as_point()]);
        trace(Op::Msm2);
        let tjb = RistrettoPoint::multiscalar_mul([zj.0, -cj.0], [*k, bj]);
        trace(Op::Msm2);
        // Real branch m.
        let w = Scalar::random(rng);
        let tma = RistrettoPoint::mul_base(&w.0);
        trace(Op::MulBase);
        let tmb = w.0 * k;
        trace(Op::Mul);
        // Branch 0 holds the real commitments when m = 0, the simulated ones when m = 1.
        let sel = |real: &RistrettoPoint, sim: &RistrettoPoint| {
            trace(Op::Select);
            let zero = RistrettoPoint::conditional_select(real, sim, is_one);
            let one = RistrettoPoint::conditional_select(sim, real, is_one);
            (zero, one)
        };
        let (t0a, t1a) = sel(&tma, &tja);
        let (t0b, t1b) = sel(&tmb, &tjb);
        let t = [t0a, t0b, t1a, t1b].map(|p| {
            trace(Op::Compress);
            Point::from_point(p)
        });
        Ok(Pending { is_one, cj, zj, w }.finish(transcript, key, ct, r, t))
    }

    /// [`ZeroOneProof::prove`] for a ciphertext made by this prover: the same proof for
    /// the same random stream (c_j, z_j, w drawn in the same order), cheaper.
    ///
    /// `ct` must be Enc(m; r) under `key` (as [`PreparedKey::encrypt_bit`] or
    /// [`Ciphertext::encrypt`] made it); the simulated branch is computed from the
    /// opening (m, r) instead of from `ct`. For any other `ct` the proof does not
    /// verify, as with [`ZeroOneProof::prove`]. With a = r·G and b − j·G = (m − j)·G + r·K,
    /// and m − j = ±1 for j = 1 − m:
    ///   T_j = (z_j·G − c_j·a, z_j·K − c_j·(b − j·G)) = (s·G, s·K + e·G),
    ///   s = z_j − c_j·r, e = c_j if m = 0, −c_j if m = 1,
    /// one fixed-base multiplication instead of a two-term product on the G side. The
    /// four commitments are computed halved and compressed with one shared inversion,
    /// and K·secret uses the table in `key` when it has one.
    pub fn prove_prepared(
        transcript: &mut Transcript,
        key: &PreparedKey,
        ct: &Ciphertext,
        m: u64,
        r: &Nonce,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let (pending, halves) = Pending::commit(key, m, r, rng)?;
        trace(Op::Compress);
        let t = compress_doubled(halves);
        Ok(pending.finish(transcript, key.key(), ct, r, t))
    }

    /// [`ZeroOneProof::prove_prepared`] for many statements (transcript, ciphertext,
    /// m, r): the same proofs, in order, for the same random stream (all the
    /// randomness is drawn before any challenge, and challenges draw none), with the
    /// commitments of all the proofs compressed with one shared inversion. Errors if
    /// any m is not 0 or 1.
    pub fn prove_many_prepared<'a>(
        key: &PreparedKey,
        statements: impl IntoIterator<Item = (&'a mut Transcript, &'a Ciphertext, u64, &'a Nonce)>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<Self>> {
        let statements: Vec<_> = statements.into_iter().collect();
        let mut pending = Vec::with_capacity(statements.len());
        let mut halves = Vec::with_capacity(4 * statements.len());
        for (_, _, m, r) in &statements {
            let (p, h) = Pending::commit(key, *m, r, rng)?;
            pending.push(p);
            halves.extend(h);
        }
        trace(Op::Compress);
        let points = compress_doubled_all(&halves);
        Ok(statements
            .into_iter()
            .zip(pending)
            .zip(points.chunks_exact(4))
            .filter_map(|(((transcript, ct, _, r), p), t)| match t {
                [t0a, t0b, t1a, t1b] => {
                    Some(p.finish(transcript, key.key(), ct, r, [*t0a, *t0b, *t1a, *t1b]))
                }
                _ => None,
            })
            .collect())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::elgamal::Ciphertext;
    use rand::rngs::OsRng;

    fn key() -> ElectionPublicKey {
        ElectionPublicKey::new(Point::from_point(RistrettoPoint::mul_base(
            &DalekScalar::from(7u64),
        )))
        .unwrap()
    }

    /// The prover runs the same operations, in the same order, for a 0 and for a 1; and
    /// both proofs verify (a selection swapped the wrong way would break one of them).
    #[test]
    fn the_prover_path_does_not_depend_on_the_vote() {
        let key = key();
        let mut traces = Vec::new();
        for m in [0u64, 1] {
            let (ct, r) = Ciphertext::encrypt(&key, m, &mut OsRng);
            TRACE.with(|t| t.borrow_mut().clear());
            let proof =
                ZeroOneProof::prove(&mut Transcript::new(b"t"), &key, &ct, m, &r, &mut OsRng)
                    .unwrap();
            traces.push(TRACE.with(|t| t.borrow().clone()));
            proof.verify(&mut Transcript::new(b"t"), &key, &ct).unwrap();
        }
        assert!(traces[0].len() >= 10, "{:?}", traces[0]);
        assert_eq!(traces[0], traces[1]);
    }

    /// The same for the prepared prover, with and without the table for K.
    #[test]
    fn the_prepared_prover_path_does_not_depend_on_the_vote() {
        let key = key();
        for pk in [
            PreparedKey::without_table(&key),
            PreparedKey::with_table(&key),
        ] {
            let mut traces = Vec::new();
            for m in [0u64, 1] {
                let (ct, r) = pk.encrypt_bit(m, &mut OsRng).unwrap();
                TRACE.with(|t| t.borrow_mut().clear());
                let proof = ZeroOneProof::prove_prepared(
                    &mut Transcript::new(b"t"),
                    &pk,
                    &ct,
                    m,
                    &r,
                    &mut OsRng,
                )
                .unwrap();
                traces.push(TRACE.with(|t| t.borrow().clone()));
                proof.verify(&mut Transcript::new(b"t"), &key, &ct).unwrap();
            }
            assert!(traces[0].len() >= 10, "{:?}", traces[0]);
            assert_eq!(traces[0], traces[1]);
        }
    }

    /// A 2 has no proof, and a proof for 0 does not verify for an encryption of 1.
    #[test]
    fn only_zero_or_one() {
        let key = key();
        let (ct2, r2) = Ciphertext::encrypt(&key, 2, &mut OsRng);
        assert!(
            ZeroOneProof::prove(&mut Transcript::new(b"t"), &key, &ct2, 2, &r2, &mut OsRng)
                .is_err()
        );
        let (ct1, r1) = Ciphertext::encrypt(&key, 1, &mut OsRng);
        let lie = ZeroOneProof::prove(&mut Transcript::new(b"t"), &key, &ct1, 0, &r1, &mut OsRng)
            .unwrap();
        assert!(lie.verify(&mut Transcript::new(b"t"), &key, &ct1).is_err());
    }
}
