//! Schnorr proof of knowledge of x with X = x·G, optionally over a message
//! (credential signatures). protocol-spec/03-proofs.md §3.2.

use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::{Base, Equations, SingleVerifier};
use crate::error::Result;
use crate::group::{Point, Scalar};
use crate::transcript::{labels, TranscriptProtocol};

/// Proof (T, z): z·G = T + c·X.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchnorrProof {
    /// Commitment T = w·G.
    pub t: Point,
    /// Response z = w + c·x.
    pub z: Scalar,
}

fn challenge(transcript: &mut Transcript, public: &Point, msg: &[u8], t: &Point) -> Scalar {
    transcript.domain_sep(labels::SCHNORR);
    transcript.append_point(labels::G, &Point::generator());
    transcript.append_point(labels::PUBLIC, public);
    transcript.append_bytes(labels::MESSAGE, msg);
    transcript.append_point(labels::T, t);
    transcript.challenge_scalar(labels::CHALLENGE)
}

impl SchnorrProof {
    /// Prove knowledge of `x` for `public = x·G`, binding `msg`.
    pub fn prove(
        transcript: &mut Transcript,
        x: &Scalar,
        public: &Point,
        msg: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let w = Scalar::random(rng);
        let t = w.mul_base();
        let c = challenge(transcript, public, msg, &t);
        SchnorrProof { t, z: w + c * *x }
    }

    /// Hand the equation z·G − T − c·X = 0 to `eq`.
    pub fn check(
        &self,
        transcript: &mut Transcript,
        public: &Point,
        msg: &[u8],
        eq: &mut impl Equations,
    ) -> Result<()> {
        public.ensure_not_identity("schnorr public key")?;
        let c = challenge(transcript, public, msg, &self.t);
        eq.require_zero(
            &[
                (self.z, Base::G),
                (-Scalar::ONE, Base::Var(&self.t)),
                (-c, Base::Var(public)),
            ],
            "schnorr",
            "z·G = T + c·X",
        )
    }

    /// Verify on its own.
    pub fn verify(&self, transcript: &mut Transcript, public: &Point, msg: &[u8]) -> Result<()> {
        self.check(transcript, public, msg, &mut SingleVerifier)
    }
}
