//! The expensive checks, done in parallel chunks with batch verification
//! (protocol-spec/03-proofs.md §3.8, protocol-spec/04-ballots.md §4.5).
//!
//! Ballots and petition signatures are queued while the log streams past and verified
//! in chunks of about 256: each chunk hands every equation of every item to one
//! [`BatchVerifier`] (fresh 128-bit OS-random weights), which folds them into a single
//! multiscalar multiplication. Only if that fails is each item of the chunk re-checked on
//! its own, to name the culprit by leaf index. Chunks run on all cores (feature
//! `parallel`). The homomorphic sum of the counted ballots of a chunk is computed on the
//! decompressed points the ballots already hold, without recompressing.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use rand_core::OsRng;
use vox_crypto::batch::{BatchVerifier, SingleVerifier};
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::Hash32;
use vox_protocol::ballot::{Ballot, BallotContext};
use vox_protocol::electorate::ElectorateIndex;
use vox_protocol::manifest::Manifest;
use vox_protocol::petition::PetitionSignature;

use crate::report::Location;
use crate::steps::StepId;

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
}

/// A queued petition signature.
pub(crate) struct SignatureWork {
    pub leaf: u64,
    pub petition: String,
    pub petition_hash: Hash32,
    pub electorate: Hash32,
    pub signature: PetitionSignature,
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
pub(crate) fn verify_ballots(inputs: &BallotInputs<'_>, items: &[BallotWork]) -> Outcome {
    let ctx = BallotContext::new(inputs.manifest, inputs.key);
    let mut out = Outcome::default();
    let mut ok = vec![true; items.len()];
    let mut batch = BatchVerifier::with_capacity(OsRng, items.len().saturating_mul(16));
    let mut rng = OsRng;
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
    // counted ballot already fails V9, and keeping it here keeps V10 about the sum alone.
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

/// Verify a chunk of petition signatures of one electorate.
pub(crate) fn verify_signatures(electorate: &ElectorateIndex, items: &[SignatureWork]) -> Outcome {
    let mut out = Outcome::default();
    let mut ok = vec![true; items.len()];
    let mut batch = BatchVerifier::with_capacity(OsRng, items.len().saturating_mul(2));
    let location = |w: &SignatureWork| Location::Petition {
        petition: w.petition.clone(),
        leaf: Some(w.leaf),
    };
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
