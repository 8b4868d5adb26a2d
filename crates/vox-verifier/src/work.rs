//! The expensive checks, done in parallel chunks with batch verification
//! (protocol-spec/03-proofs.md §3.8, protocol-spec/04-ballots.md §4.5).
//!
//! Ballots and petition signatures are queued while the log streams past and verified
//! in chunks of about 256: each chunk hands every equation of every item to one
//! [`BatchVerifier`] (fresh 128-bit random weights, see [`chunk_rngs`]), which folds
//! them into a single multiscalar multiplication. Only if that fails is each item of the chunk re-checked on
//! its own, to name the culprit by leaf index. Chunks run on all cores (feature
//! `parallel`). The homomorphic sum of the counted ballots of a chunk is computed on the
//! decompressed points the ballots already hold, without recompressing.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
#[cfg(not(target_arch = "wasm32"))]
use rand_core::{OsRng, RngCore};
use vox_crypto::batch::{BatchVerifier, SingleVerifier};
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::Hash32;
use vox_protocol::ballot::{Ballot, BallotContext};
use vox_protocol::electorate::ElectorateIndex;
use vox_protocol::manifest::Manifest;
use vox_protocol::ProtocolError;

use vox_crypto::ring::{self, Ring, RingSignature, TagGenerator};
use vox_protocol::petition::{PetitionSignature, RingPetitionSignature};

use crate::report::Location;
use crate::steps::StepId;

/// Why a chunk could not be verified on wasm32 without a seed.
#[cfg(target_arch = "wasm32")]
const NO_SEED: &str = "no randomness for batch verification: this build has no OS \
                       generator, the caller must pass a seed (Options::seed)";

/// The two generators of one chunk (batch weights; proof-verification challenges): two
/// ChaCha20 streams keyed by the chunk's sub-seed ([`crate::Options::seed`]) or,
/// natively without a seed, by 32 bytes drawn from the operating system for this chunk.
///
/// The weights of a batch only have to be unpredictable to whoever wrote the entries:
/// a forged proof survives a batch with probability about 2^-128 when its weight is
/// drawn after the record is fixed, from a source its author cannot predict. A seed
/// drawn by the verifying browser from `crypto.getRandomValues` once the record was
/// downloaded, and never sent anywhere, is such a source; so is a fresh 256-bit key from
/// the OS per chunk. ChaCha20 stretches either. (Asking the OS for every weight instead
/// cost one system call per equation: 2 % of a million-ballot verification.)
pub(crate) fn chunk_rngs(
    seed: Option<&[u8; 32]>,
) -> Result<(ChaCha20Rng, ChaCha20Rng), &'static str> {
    let key = match seed {
        Some(s) => *s,
        #[cfg(not(target_arch = "wasm32"))]
        None => {
            let mut key = [0u8; 32];
            OsRng
                .try_fill_bytes(&mut key)
                .map_err(|_| "the operating system's random generator failed")?;
            key
        }
        #[cfg(target_arch = "wasm32")]
        None => return Err(NO_SEED),
    };
    let weights = ChaCha20Rng::from_seed(key);
    let mut proofs = weights.clone();
    proofs.set_stream(1);
    Ok((weights, proofs))
}

/// A running sum of ciphertexts, one (a, b) pair per tally slot.
pub(crate) type Sums = Vec<(RistrettoPoint, RistrettoPoint)>;

/// Zero sums of `width` slots.
pub(crate) fn zero_sums(width: usize) -> Sums {
    vec![(RistrettoPoint::identity(), RistrettoPoint::identity()); width]
}

/// Add `other` into `into` slot by slot.
pub(crate) fn add_sums(into: &mut Sums, other: &Sums) {
    for ((a, b), (x, y)) in into.iter_mut().zip(other) {
        *a += x;
        *b += y;
    }
}

/// Add one ballot's ciphertexts; false if its shape does not fit the tally.
pub(crate) fn add_ballot(sums: &mut Sums, ballot: &Ballot) -> bool {
    let mut n = 0usize;
    let mut cts = ballot.answers.iter().flat_map(|a| a.ciphertexts.iter());
    for (a, b) in sums.iter_mut() {
        match cts.next() {
            Some(ct) => {
                *a += ct.a.as_point();
                *b += ct.b.as_point();
                n += 1;
            }
            None => return false,
        }
    }
    cts.next().is_none() && n == sums.len()
}

/// A queued cast ballot.
pub(crate) struct BallotWork {
    pub leaf: u64,
    pub referendum: usize,
    pub ballot: Box<Ballot>,
    pub hash: Hash32,
    pub counted: bool,
    /// An anonymous ballot's ring (derived at its leaf, V10.7) and the referendum's tag
    /// generator: its ring signature is checked in the chunk (V10.8).
    pub ring: Option<(Ring, TagGenerator)>,
}

/// A queued petition signature.
pub(crate) struct SignatureWork {
    pub leaf: u64,
    pub petition: String,
    pub petition_hash: Hash32,
    pub electorate: Hash32,
    pub signature: PetitionSignature,
}

/// A queued ring signature (V6.8): its scope and ring were checked in log order; the
/// proof waits for a batch.
pub(crate) struct RingSignatureWork {
    pub leaf: u64,
    pub petition: String,
    /// The signature's ring, as derived at its leaf (cheap to clone: shared points).
    pub ring: Ring,
    /// The petition's tag generator U_p.
    pub tag_generator: TagGenerator,
    pub signature: RingPetitionSignature,
    /// Its proof, decoded (13 §13.8 R1).
    pub proof: RingSignature,
}

/// What one chunk found.
#[derive(Default)]
pub(crate) struct Outcome {
    pub failures: Vec<(StepId, Location, String)>,
    pub checked: u64,
    /// (referendum, sums of the chunk's counted ballots, whether every counted ballot fit).
    pub sums: Option<(usize, Sums, bool)>,
}

/// Public inputs of one referendum's ballot checks.
pub(crate) struct BallotInputs<'a> {
    pub manifest: &'a Manifest,
    pub key: ElectionPublicKey,
    pub electorate: &'a ElectorateIndex,
}

fn ballot_location(manifest: &Manifest, w: &BallotWork) -> Location {
    Location::Ballot {
        referendum: manifest.referendum_id.clone(),
        leaf: w.leaf,
        tracking_code: vox_protocol::encoding::human_code(&w.hash),
    }
}

/// Verify a chunk of ballots of one referendum and sum the counted ones.
pub(crate) fn verify_ballots(
    inputs: &BallotInputs<'_>,
    items: &[BallotWork],
    seed: Option<&[u8; 32]>,
) -> Outcome {
    let ctx = BallotContext::new(inputs.manifest, inputs.key);
    let mut out = Outcome::default();
    let (weights, mut rng) = match chunk_rngs(seed) {
        Ok(r) => r,
        Err(why) => {
            out.checked = items.len() as u64;
            if let Some(first) = items.first() {
                out.failures.push((
                    StepId::Ballots,
                    ballot_location(inputs.manifest, first),
                    why.into(),
                ));
            }
            return out;
        }
    };
    let mut ok = vec![true; items.len()];
    let mut batch = BatchVerifier::with_capacity(weights, items.len().saturating_mul(16));
    for (w, good) in items.iter().zip(ok.iter_mut()) {
        out.checked += 1;
        let res = w
            .ballot
            .check_structure(&ctx, inputs.electorate)
            .and_then(|()| w.ballot.check_proofs(&ctx, &mut batch, &mut rng));
        if let Err(e) = res {
            *good = false;
            out.failures.push((
                StepId::Ballots,
                ballot_location(inputs.manifest, w),
                e.to_string(),
            ));
        }
    }
    // V10.8: the ring signatures of the chunk's anonymous ballots, as one batch (one
    // multiplication per distinct ring). A ballot whose ring was not derived (V10.7
    // failed already) has none to check.
    let anonymous: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, w)| w.ballot.ring.is_some())
        .map(|(i, _)| i)
        .collect();
    if !anonymous.is_empty() {
        let statements = anonymous
            .iter()
            .filter_map(|i| items.get(*i))
            .map(|w| match &w.ring {
                Some((ring, generator)) => w.ballot.ring_statement_on(ring, generator),
                None => Err(ProtocolError::invalid(
                    "ring",
                    "not one of the referendum's rings (V10.7)",
                )),
            })
            .collect();
        let results = vox_protocol::rings::verify_ring_statements(statements, &mut rng);
        for (i, res) in anonymous.iter().zip(results) {
            let (Some(w), Err(e)) = (items.get(*i), res) else {
                continue;
            };
            if w.ring.is_some() {
                if let Some(good) = ok.get_mut(*i) {
                    *good = false;
                }
                out.failures.push((
                    StepId::Ballots,
                    ballot_location(inputs.manifest, w),
                    format!("V10.8: ring signature: {e}"),
                ));
            }
        }
    }
    if !batch.is_empty() && batch.finish().is_err() {
        // Name every culprit: re-check each ballot that passed so far on its own.
        let mut found = false;
        for (w, good) in items.iter().zip(ok.iter_mut()).filter(|(_, g)| **g) {
            if let Err(e) = w.ballot.check_proofs(&ctx, &mut SingleVerifier, &mut rng) {
                *good = false;
                found = true;
                out.failures.push((
                    StepId::Ballots,
                    ballot_location(inputs.manifest, w),
                    e.to_string(),
                ));
            }
        }
        if !found {
            if let Some(first) = items.first() {
                out.failures.push((
                    StepId::Ballots,
                    ballot_location(inputs.manifest, first),
                    "the chunk's batch check failed but no ballot fails alone; verify again".into(),
                ));
            }
        }
    }
    // The tally adds every counted ballot whose shape fits, valid or not: an invalid
    // counted ballot already fails V10, and keeping it here keeps V11 about the sum alone.
    if let Some(first) = items.first() {
        let mut sums = zero_sums(inputs.manifest.tally_width());
        let mut fits = true;
        for w in items.iter().filter(|w| w.counted) {
            fits &= add_ballot(&mut sums, &w.ballot);
        }
        out.sums = Some((first.referendum, sums, fits));
    }
    out
}

/// Verify a chunk of ring signatures (13 §13.8) with one multiscalar multiplication:
/// each ring's slots enter it once however many signatures use the ring. On a failed
/// batch each signature is checked alone, to name the culprits.
pub(crate) fn verify_ring_signatures(
    items: &[RingSignatureWork],
    seed: Option<&[u8; 32]>,
) -> Outcome {
    let mut out = Outcome::default();
    let location = |w: &RingSignatureWork| Location::Petition {
        petition: w.petition.clone(),
        leaf: Some(w.leaf),
    };
    out.checked = items.len() as u64;
    let mut weights = match chunk_rngs(seed) {
        Ok((weights, _)) => weights,
        Err(why) => {
            if let Some(first) = items.first() {
                out.failures
                    .push((StepId::Petitions, location(first), why.into()));
            }
            return out;
        }
    };
    let messages: Vec<Vec<u8>> = items.iter().map(|w| w.signature.message()).collect();
    let batch: Vec<ring::BatchItem<'_>> = items
        .iter()
        .zip(&messages)
        .map(|(w, message)| ring::BatchItem {
            transcript: w.signature.transcript(),
            signature: &w.proof,
            ring: &w.ring,
            tag_generator: &w.tag_generator,
            message,
        })
        .collect();
    if ring::verify_batch(&batch, &mut weights).is_err() {
        let mut found = false;
        for (w, item) in items.iter().zip(batch) {
            let mut t = item.transcript;
            if let Err(e) = ring::verify(
                &mut t,
                item.signature,
                item.ring,
                item.tag_generator,
                item.message,
            ) {
                found = true;
                out.failures.push((
                    StepId::Petitions,
                    location(w),
                    format!("V6.8: ring signature: {e}"),
                ));
            }
        }
        if !found {
            if let Some(first) = items.first() {
                out.failures.push((
                    StepId::Petitions,
                    location(first),
                    "the chunk's ring-signature batch check failed but no signature fails \
                     alone; verify again"
                        .into(),
                ));
            }
        }
    }
    out
}

/// Verify a chunk of petition signatures of one electorate.
pub(crate) fn verify_signatures(
    electorate: &ElectorateIndex,
    items: &[SignatureWork],
    seed: Option<&[u8; 32]>,
) -> Outcome {
    let mut out = Outcome::default();
    let location = |w: &SignatureWork| Location::Petition {
        petition: w.petition.clone(),
        leaf: Some(w.leaf),
    };
    let weights = match chunk_rngs(seed) {
        Ok((weights, _)) => weights,
        Err(why) => {
            out.checked = items.len() as u64;
            if let Some(first) = items.first() {
                out.failures
                    .push((StepId::Petitions, location(first), why.into()));
            }
            return out;
        }
    };
    let mut ok = vec![true; items.len()];
    let mut batch = BatchVerifier::with_capacity(weights, items.len().saturating_mul(2));
    for (w, good) in items.iter().zip(ok.iter_mut()) {
        out.checked += 1;
        if let Err(e) = w.signature.check(&w.petition_hash, electorate, &mut batch) {
            *good = false;
            out.failures
                .push((StepId::Petitions, location(w), format!("signature: {e}")));
        }
    }
    if !batch.is_empty() && batch.finish().is_err() {
        let mut found = false;
        for (w, _) in items.iter().zip(ok.iter()).filter(|(_, g)| **g) {
            if let Err(e) = w.signature.verify(&w.petition_hash, electorate) {
                found = true;
                out.failures
                    .push((StepId::Petitions, location(w), format!("signature: {e}")));
            }
        }
        if !found {
            if let Some(first) = items.first() {
                out.failures.push((
                    StepId::Petitions,
                    location(first),
                    "the chunk's batch check failed but no signature fails alone; verify again"
                        .into(),
                ));
            }
        }
    }
    out
}
