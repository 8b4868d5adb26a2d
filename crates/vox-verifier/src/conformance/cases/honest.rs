//! Honest cases: every step passes.

use super::Bases;
use crate::conformance::generate::Case;

/// The honest cases.
pub fn cases(b: &Bases) -> Vec<Case> {
    vec![
        Case::pass(
            "honest-by-code",
            "An honest record: an electorate of 16 enrolled by code and frozen, a revoked \
             credential and its replacement; petition p1 sponsored, published, signed, \
             withdrawn from, partly invalidated, crossing its response and referendum \
             thresholds, answered and closed; petition p2 rejected; referendum r1 with a \
             yes-no, a choose-one, an approve (1..2 of 3) and a score (0..3) question, a \
             ceremony of 3 trustees (k = 2), 12 counted ballots of which two are re-votes, \
             a Benaloh audit, an early close, the tally, two trustees' shares and the result.",
            b.by_code.record.clone(),
        ),
        Case::pass(
            "honest-registered",
            "The same civic story with the electorate registered whole by one registrar act.",
            b.registered.record.clone(),
        ),
        Case::pass(
            "honest-witnessed-with-receipts",
            "An honest record whose genesis names two witnesses (quorum 2) that cosign \
             every tree head; the observer checks two receipts: one of a counted ballot, \
             one of a ballot superseded by the voter's re-vote.",
            b.witnessed.record.clone(),
        )
        .with_receipts(b.witnessed.receipts.clone()),
        Case::pass(
            "honest-witness-policy-changed",
            "The honest witnessed story, where the operator replaces one of its two witnesses \
             early on with a signed `witness-policy-set` (tag 30, 11 §11.6): the next tree \
             head is cosigned by the old pair and the new one, so the old quorum vouches for \
             the change and the new policy is in force from that head; every later head, \
             including those before the close, tally and result, is cosigned by the new \
             pair only.",
            b.rewitnessed.record.clone(),
        )
        .with_receipts(b.rewitnessed.receipts.clone()),
        Case::pass(
            "honest-failed-ceremony",
            "Referendum r1's key ceremony fails legitimately: dealer 1 encrypts to trustee 2 \
             a share that does not match its commitments, trustee 2 complains, and dealer 1's \
             public answer fails the commitment check, so the next entry disqualifies dealer 1 \
             (tag 28, bad-answer); with k = 3 of 3 trustees, two remaining are too few, so \
             the ceremony and the referendum end in `failed` (06 §6.6, §6.11) with nothing to \
             tally. A correct verifier \
             accepts it: the failure is itself recorded on the board, and anyone can check \
             that the revealed share justifies it.",
            b.failed_ceremony.clone(),
        ),
    ]
}
