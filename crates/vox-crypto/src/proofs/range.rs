//! Aggregated Bulletproofs range proofs over Pedersen commitments with the
//! nothing-up-my-sleeve H. protocol-spec/03-proofs.md §3.7.
//!
//! For each statement "C commits to m with lo ≤ m ≤ hi" the prover shows that
//! C − lo·G commits to m − lo and hi·G − C commits to hi − m, both in [0, 2ⁿ), with
//! 2ⁿ > hi − lo. All values of a ballot go into one aggregated proof, padded to a power
//! of two with commitments to 0 under blinding 1 (the point H itself). The verifier
//! derives C_lo, C_hi, n and the padding itself; the ballot carries only C and the proof.

use curve25519_dalek::ristretto::CompressedRistretto;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{CryptoError, Result};
use crate::generators::{bulletproof_gens, pedersen_gens, pedersen_h, MAX_RANGE_PARTIES};
use crate::group::{Point, Scalar};
use crate::transcript::{labels, TranscriptProtocol};

/// A public range statement: `commitment` opens to a value in `lo..=hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeStatement {
    /// C = m·G + s·H.
    pub commitment: Point,
    /// Inclusive lower bound.
    pub lo: u64,
    /// Inclusive upper bound.
    pub hi: u64,
}

/// The smallest Bulletproofs bit size n ∈ {8, 16, 32, 64} with 2ⁿ > max(hi − lo).
pub fn bits_for(statements: &[RangeStatement]) -> Result<usize> {
    let mut span = 0u64;
    for s in statements {
        if s.hi < s.lo {
            return Err(CryptoError::Parameter("range with hi < lo"));
        }
        span = span.max(s.hi - s.lo);
    }
    Ok(match span {
        0..=0xff => 8,
        0x100..=0xffff => 16,
        0x1_0000..=0xffff_ffff => 32,
        _ => 64,
    })
}

/// Number of aggregated values (2 per statement, padded to a power of two).
fn party_count(statements: usize) -> Result<usize> {
    let m = (2 * statements).next_power_of_two();
    if statements == 0 || m > MAX_RANGE_PARTIES {
        return Err(CryptoError::Parameter(
            "number of range statements out of 1..=32",
        ));
    }
    Ok(m)
}

/// The commitments the aggregated proof is over, derived by the verifier itself.
fn derived_commitments(statements: &[RangeStatement]) -> Result<Vec<CompressedRistretto>> {
    let m = party_count(statements.len())?;
    let mut out = Vec::with_capacity(m);
    for s in statements {
        let lo = Scalar::from_u64(s.lo).mul_base();
        let hi = Scalar::from_u64(s.hi).mul_base();
        out.push((s.commitment - lo).compressed());
        out.push((hi - s.commitment).compressed());
    }
    while out.len() < m {
        out.push(pedersen_h().compressed());
    }
    Ok(out)
}

fn append_statement(transcript: &mut Transcript, statements: &[RangeStatement], n: usize) {
    transcript.domain_sep(labels::RANGE);
    transcript.append_u64_le(labels::RANGE_BITS, n as u64);
    transcript.append_u64_le(labels::RANGE_COUNT, statements.len() as u64);
    for s in statements {
        transcript.append_point(labels::COMMITMENT, &s.commitment);
        transcript.append_u64_le(labels::RANGE_LO, s.lo);
        transcript.append_u64_le(labels::RANGE_HI, s.hi);
    }
}

/// An aggregated range proof (Bulletproofs), serialized as hex.
#[derive(Clone, Debug)]
pub struct RangeProof(bulletproofs::RangeProof);

impl RangeProof {
    /// Prove every statement at once. `openings[i] = (m, s)` opens `statements[i]`.
    pub fn prove(
        transcript: &mut Transcript,
        statements: &[RangeStatement],
        openings: &[(u64, Scalar)],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        if statements.len() != openings.len() {
            return Err(CryptoError::Parameter("one opening per range statement"));
        }
        let n = bits_for(statements)?;
        let m = party_count(statements.len())?;
        append_statement(transcript, statements, n);
        let mut values = Vec::with_capacity(m);
        let mut blindings = Vec::with_capacity(m);
        for (st, (v, s)) in statements.iter().zip(openings) {
            if *v < st.lo || *v > st.hi {
                return Err(CryptoError::Parameter("value outside its range"));
            }
            values.push(v - st.lo);
            blindings.push(s.0);
            values.push(st.hi - v);
            blindings.push(-s.0);
        }
        while values.len() < m {
            values.push(0);
            blindings.push(curve25519_dalek::Scalar::ONE);
        }
        let (proof, _) = bulletproofs::RangeProof::prove_multiple_with_rng(
            bulletproof_gens(),
            &pedersen_gens(),
            transcript,
            &values,
            &blindings,
            n,
            rng,
        )
        .map_err(|_| CryptoError::Parameter("bulletproofs refused the statement"))?;
        Ok(RangeProof(proof))
    }

    /// Verify against statements the verifier built from the manifest and the ballot.
    pub fn verify(
        &self,
        transcript: &mut Transcript,
        statements: &[RangeStatement],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<()> {
        for s in statements {
            s.commitment.ensure_not_identity("range commitment")?;
        }
        let n = bits_for(statements)?;
        let commitments = derived_commitments(statements)?;
        append_statement(transcript, statements, n);
        self.0
            .verify_multiple_with_rng(
                bulletproof_gens(),
                &pedersen_gens(),
                transcript,
                &commitments,
                n,
                rng,
            )
            .map_err(|_| CryptoError::ProofInvalid {
                proof: "range",
                reason: "aggregated bulletproof does not verify",
            })
    }

    /// Canonical bytes (the bulletproofs encoding).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Decode; rejects malformed or non-canonical encodings.
    pub fn try_from_bytes(bytes: &[u8]) -> Result<Self> {
        let p =
            bulletproofs::RangeProof::from_bytes(bytes).map_err(|_| CryptoError::ProofInvalid {
                proof: "range",
                reason: "malformed Bulletproofs encoding",
            })?;
        // bulletproofs 5 already refuses non-canonical scalars; re-encoding is the
        // protocol's own rule (03 §3.7: an encoding must re-encode identically), kept
        // so it does not depend on the crate's decoder.
        if p.to_bytes() != bytes {
            return Err(CryptoError::NonCanonicalScalar);
        }
        Ok(RangeProof(p))
    }
}

impl PartialEq for RangeProof {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}
impl Eq for RangeProof {}

impl Serialize for RangeProof {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for RangeProof {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = hex::decode(s.as_ref()).map_err(serde::de::Error::custom)?;
        RangeProof::try_from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}
