//! Proof that an ElGamal ciphertext (a, b) and a Pedersen commitment C = m·G + s·H hold
//! the same m. protocol-spec/03-proofs.md §3.6.
//!
//! The range proof is made on C, whose blinding base H is nothing-up-my-sleeve; if it
//! were K, trustees (who jointly know log_G K) could open C to any value. This linear
//! sigma proof transfers the range statement from C to the ciphertext.

use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::{Base, Equations, SingleVerifier};
use crate::elgamal::{Ciphertext, ElectionPublicKey};
use crate::error::Result;
use crate::generators::pedersen_h;
use crate::group::{Point, Scalar};
use crate::transcript::{labels, TranscriptProtocol};

/// (T_a, T_b, T_C, z_m, z_r, z_s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkProof {
    /// T_a = w_r·G.
    pub ta: Point,
    /// T_b = w_m·G + w_r·K.
    pub tb: Point,
    /// T_C = w_m·G + w_s·H.
    pub tc: Point,
    /// z_m = w_m + c·m.
    pub zm: Scalar,
    /// z_r = w_r + c·r.
    pub zr: Scalar,
    /// z_s = w_s + c·s.
    pub zs: Scalar,
}

/// A Pedersen commitment C = m·G + s·H (never the identity).
pub fn pedersen_commit(m: &Scalar, s: &Scalar) -> Point {
    Point::from_point(
        curve25519_dalek::ristretto::RistrettoPoint::mul_base(&m.0) + s.0 * pedersen_h().as_point(),
    )
}

fn challenge(
    transcript: &mut Transcript,
    key: &ElectionPublicKey,
    ct: &Ciphertext,
    c: &Point,
    t: [&Point; 3],
) -> Scalar {
    transcript.domain_sep(labels::LINK);
    transcript.append_point(labels::ELECTION_KEY, key.point());
    transcript.append_point(labels::CT_A, &ct.a);
    transcript.append_point(labels::CT_B, &ct.b);
    transcript.append_point(labels::COMMITMENT, c);
    for p in t {
        transcript.append_point(labels::T, p);
    }
    transcript.challenge_scalar(labels::CHALLENGE)
}

impl LinkProof {
    /// Prove that `ct = Enc(m; r)` and `commitment = m·G + s·H`.
    #[allow(clippy::too_many_arguments)]
    pub fn prove(
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
        commitment: &Point,
        m: u64,
        r: &Scalar,
        s: &Scalar,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let (wm, wr, ws) = (
            Scalar::random(rng),
            Scalar::random(rng),
            Scalar::random(rng),
        );
        let ta = wr.mul_base();
        let tb = wm.mul_base() + wr.mul_point(key.point());
        let tc = pedersen_commit(&wm, &ws);
        let c = challenge(transcript, key, ct, commitment, [&ta, &tb, &tc]);
        let m = Scalar::from_u64(m);
        LinkProof {
            ta,
            tb,
            tc,
            zm: wm + c * m,
            zr: wr + c * *r,
            zs: ws + c * *s,
        }
    }

    /// Hand the three equations to `eq`.
    pub fn check(
        &self,
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
        commitment: &Point,
        eq: &mut impl Equations,
    ) -> Result<()> {
        ct.validate()?;
        commitment.ensure_not_identity("Pedersen commitment")?;
        let c = challenge(
            transcript,
            key,
            ct,
            commitment,
            [&self.ta, &self.tb, &self.tc],
        );
        let neg1 = -Scalar::ONE;
        eq.require_zero(
            &[
                (self.zr, Base::G),
                (neg1, Base::Var(&self.ta)),
                (-c, Base::Var(&ct.a)),
            ],
            "link",
            "z_r·G = T_a + c·a",
        )?;
        eq.require_zero(
            &[
                (self.zm, Base::G),
                (self.zr, Base::Shared(key.point())),
                (neg1, Base::Var(&self.tb)),
                (-c, Base::Var(&ct.b)),
            ],
            "link",
            "z_m·G + z_r·K = T_b + c·b",
        )?;
        eq.require_zero(
            &[
                (self.zm, Base::G),
                (self.zs, Base::H),
                (neg1, Base::Var(&self.tc)),
                (-c, Base::Var(commitment)),
            ],
            "link",
            "z_m·G + z_s·H = T_C + c·C",
        )
    }

    /// Verify on its own.
    pub fn verify(
        &self,
        transcript: &mut Transcript,
        key: &ElectionPublicKey,
        ct: &Ciphertext,
        commitment: &Point,
    ) -> Result<()> {
        self.check(transcript, key, ct, commitment, &mut SingleVerifier)
    }
}
