//! Homomorphic tally and results (protocol-spec/05-tally.md).

use serde::{Deserialize, Serialize};
use vox_crypto::elgamal::Ciphertext;
use vox_crypto::Hash32;

use crate::ballot::Ballot;
use crate::encoding::{Canonical, Encoder};
use crate::error::{ProtocolError, Result};
use crate::manifest::{Manifest, QuestionKind};

/// The published result: counts per option per question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferendumResult {
    /// Referendum.
    pub referendum_id: String,
    /// Ballots counted.
    pub counted_ballots: u64,
    /// Per question, per option: the total (votes, approvals or score points).
    pub counts: Vec<Vec<u64>>,
    /// Trustees whose shares were combined.
    pub trustees: Vec<u32>,
}

impl Canonical for ReferendumResult {
    fn encode(&self, e: &mut Encoder) {
        e.str(&self.referendum_id)
            .u64(self.counted_ballots)
            .count(self.counts.len());
        for q in &self.counts {
            e.seq(q);
        }
        e.count(self.trustees.len());
        for t in &self.trustees {
            e.u32(*t);
        }
    }
}

/// Running homomorphic sum of counted ballots.
#[derive(Clone, Debug)]
pub struct TallyAccumulator {
    sums: Vec<Ciphertext>,
    counted: u64,
}

impl TallyAccumulator {
    /// Empty tally for a manifest.
    pub fn new(manifest: &Manifest) -> Self {
        Self {
            sums: vec![Ciphertext::zero(); manifest.tally_width()],
            counted: 0,
        }
    }

    /// Add one counted ballot (its structure must already be validated).
    pub fn add(&mut self, ballot: &Ballot) -> Result<()> {
        let cts = ballot.answers.iter().flat_map(|a| a.ciphertexts.iter());
        let mut n = 0;
        for (s, c) in self.sums.iter_mut().zip(cts) {
            *s = s.add(c);
            n += 1;
        }
        if n != self.sums.len() {
            return Err(ProtocolError::invalid(
                "answers",
                "ballot does not match the tally width",
            ));
        }
        self.counted += 1;
        Ok(())
    }

    /// The summed ciphertexts and the number of counted ballots.
    pub fn finish(self) -> (Vec<Ciphertext>, u64) {
        (self.sums, self.counted)
    }
}

/// Hash of the ordered list of counted ballot hashes (binds the tally to its inputs).
pub fn counted_hash<'a>(ballot_hashes: impl IntoIterator<Item = &'a Hash32>) -> Hash32 {
    let mut e = Encoder::new();
    for h in ballot_hashes {
        e.hash(h);
    }
    Hash32::sha256(&[b"vox/v2/counted-ballots", &[0u8], &e.into_bytes()])
}

/// Largest plaintext a tally slot can hold: counted ballots × max per option.
pub fn slot_bounds(manifest: &Manifest, counted: u64) -> Vec<u64> {
    manifest
        .questions
        .iter()
        .flat_map(|q| {
            std::iter::repeat_n(
                counted.saturating_mul(q.max_per_option()),
                q.ciphertext_count(),
            )
        })
        .collect()
}

/// Turn decrypted slot values into per-option counts (yes-no: [yes, counted − yes]).
pub fn counts_from_slots(
    manifest: &Manifest,
    counted: u64,
    slots: &[u64],
) -> Result<Vec<Vec<u64>>> {
    let mut out = Vec::with_capacity(manifest.questions.len());
    let mut it = slots.iter();
    for (qi, q) in manifest.questions.iter().enumerate() {
        let mut take = || {
            it.next()
                .copied()
                .ok_or_else(|| ProtocolError::invalid("slots", "too few tally slots"))
        };
        match q.kind {
            QuestionKind::YesNo => {
                let yes = take()?;
                let no = counted.checked_sub(yes).ok_or_else(|| {
                    ProtocolError::invalid(format!("counts/{qi}"), "more yes votes than ballots")
                })?;
                out.push(vec![yes, no]);
            }
            _ => {
                let mut v = Vec::with_capacity(q.options.len());
                for _ in 0..q.options.len() {
                    v.push(take()?);
                }
                out.push(v);
            }
        }
    }
    if it.next().is_some() {
        return Err(ProtocolError::invalid("slots", "too many tally slots"));
    }
    Ok(out)
}
