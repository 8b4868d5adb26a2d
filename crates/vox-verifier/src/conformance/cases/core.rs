//! Tampered cases of the record, the log and the referendum's cryptography: the header
//! (V1), the log (V2), tree heads (V3), petitions (V6), the ceremony (V8), the
//! lifecycle (V9), ballots (V10), the tally (V11), decryption shares (V12) and the
//! result (V13). Moved from the tamper tests, which assert more about each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use vox_crypto::credential::Credential;
use vox_crypto::threshold::{DecryptionShare, TrusteeIndex, TrusteeKeys};
use vox_crypto::{Hash32, Point, Scalar};
use vox_protocol::ballot::{encrypt_ballot, BallotContext};
use vox_protocol::board::{Payload, TreeHead};
use vox_protocol::ceremony::DecryptionShareMessage;
use vox_protocol::encoding::Hashable;
use vox_protocol::merkle::NodeHash;
use vox_protocol::petition::ThresholdKind;

use super::Bases;
use crate::conformance::edits::{
    ballot_mut, ballots, closed_at, edit, edit_resigned, g, insert, restamp,
};
use crate::conformance::generate::Case;
use crate::report::Location;
use crate::synth::{Honest, SynthRecord};
use crate::{MemorySource, StepId};

/// Where the verifier names the ballot at `leaf` of `rec`.
fn ballot_at(rec: &SynthRecord, leaf: usize) -> Location {
    match &rec.entries[leaf].payload {
        Payload::BallotCast { ballot } => Location::Ballot {
            referendum: ballot.referendum_id.clone(),
            leaf: leaf as u64,
            tracking_code: ballot.tracking_code(),
        },
        _ => panic!("leaf {leaf} is not a ballot"),
    }
}

/// The first decryption share of `r`, and its leaf.
fn first_share(r: &SynthRecord) -> (usize, DecryptionShareMessage) {
    let i = r
        .find(|p| matches!(p, Payload::DecryptionShare { .. }))
        .expect("the honest record has shares");
    match &r.entries[i].payload {
        Payload::DecryptionShare { share } => (i, share.clone()),
        _ => unreachable!(),
    }
}

/// The leaf where petition p1 crosses its referendum threshold.
fn referendum_threshold(r: &SynthRecord) -> usize {
    r.find(|p| {
        matches!(
            p,
            Payload::PetitionThreshold {
                kind: ThresholdKind::Referendum,
                ..
            }
        )
    })
    .expect("p1 crosses its referendum threshold")
}

/// The leaves of petition signatures (and withdrawals).
fn petition_signatures(r: &SynthRecord) -> Vec<usize> {
    r.find_all(|p| matches!(p, Payload::PetitionSigned { .. }))
}

/// `rec`'s record text with `f` applied to the JSON of `entries[i]` (`None`: the header).
fn edit_json(
    rec: &SynthRecord,
    i: Option<usize>,
    f: impl FnOnce(&mut serde_json::Value),
) -> MemorySource {
    let mut src = rec.source().expect("a generated record serializes");
    let line = match i {
        Some(i) => &mut src.entries[i],
        None => &mut src.header,
    };
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    f(&mut v);
    *line = v.to_string();
    src
}

/// Ballots (V10), the lifecycle (V9) and the tally (V11).
fn ballot_cases(h: &Honest) -> Vec<Case> {
    let rec = &h.record;
    let b = ballots(rec);
    let close = closed_at(rec);
    let tally_of = |r: &mut SynthRecord| -> usize {
        r.find(|p| matches!(p, Payload::TallyComputed { .. }))
            .expect("the honest record has a tally")
    };

    let altered_ct = edit_resigned(h, |r| {
        let b = ballot_mut(r, ballots(r)[3]);
        b.answers[0].ciphertexts[0].b = b.answers[0].ciphertexts[0].b + g();
    });
    let altered_proof = edit_resigned(h, |r| {
        let b = ballot_mut(r, ballots(r)[1]);
        let p = &mut b.answers[1].selection_proofs[2];
        p.z0 = p.z0 + Scalar::ONE;
    });
    let altered_sig = edit_resigned(h, |r| {
        let b = ballot_mut(r, ballots(r)[0]);
        let s = b.signature.as_mut().unwrap();
        s.0.z = s.0.z + Scalar::ONE;
    });
    let duplicated = edit_resigned(h, |r| {
        let i = ballots(r)[4];
        let dup = r.entries[i].clone();
        r.entries.insert(i + 1, dup);
    });
    let outsider = edit_resigned(h, |r| {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let outsider = Credential::generate(&mut rng);
        let ctx = BallotContext::new(&h.manifest, *h.joint.election_key());
        let choices = vec![vec![1, 0], vec![1, 0, 0], vec![1, 0, 0], vec![3, 3]];
        let (ballot, _) = encrypt_ballot(&ctx, &outsider, &choices, None, &mut rng).unwrap();
        let at = closed_at(r);
        insert(r, at, Payload::BallotCast { ballot });
    });
    let copied = edit_resigned(h, |r| {
        let i = ballots(r)[0];
        let mut copy = match &r.entries[i].payload {
            Payload::BallotCast { ballot } => ballot.clone(),
            _ => unreachable!(),
        };
        // Voter 15 never voted: the copy would be their only, counted, ballot.
        copy.credential = Some(h.credentials[15].public_key());
        let at = closed_at(r);
        insert(r, at, Payload::BallotCast { ballot: copy });
    });
    let other_manifest = edit_resigned(h, |r| {
        let i = ballots(r)[2];
        ballot_mut(r, i).manifest_hash = Hash32([7; 32]);
    });
    let audited_cast = edit_resigned(h, |r| {
        let a = r
            .find(|p| matches!(p, Payload::BallotAudited { .. }))
            .expect("the honest record has an audit");
        let ballot = match &r.entries[a].payload {
            Payload::BallotAudited { audited } => audited.ballot.clone(),
            _ => unreachable!(),
        };
        let at = closed_at(r);
        insert(r, at, Payload::BallotCast { ballot });
    });

    vec![
        Case::fail(
            "v10-ciphertext-altered",
            "A malicious operator adds G to the second half of one ciphertext of a cast \
             ballot and re-signs the log: the ballot's proofs and the voter's signature no \
             longer hold for what the log carries (04 §4.5, V10.1).",
            altered_ct.clone(),
            StepId::Ballots,
        )
        .rule("V10.1")
        .resigned()
        .at(ballot_at(&altered_ct, b[3])),
        Case::fail(
            "v10-selection-proof-response-altered",
            "A malicious operator changes one response of a selection proof of a cast \
             ballot (question 2, option 3) and re-signs the log: the proof that the \
             ciphertext encrypts 0 or 1 no longer verifies (03, 04 §4.5, V10.1).",
            altered_proof.clone(),
            StepId::Ballots,
        )
        .rule("V10.1")
        .resigned()
        .at(ballot_at(&altered_proof, b[1])),
        Case::fail(
            "v10-ballot-signature-altered",
            "A malicious operator changes the credential signature of a cast ballot and \
             re-signs the log: a ballot counts only if its credential signed it (04 §4.5, V10.1).",
            altered_sig.clone(),
            StepId::Ballots,
        )
        .rule("V10.1")
        .resigned()
        .at(ballot_at(&altered_sig, b[0])),
        Case::fail(
            "v11-ballot-removed",
            "A malicious operator removes the first cast ballot from the log and re-signs \
             it, leaving the tally as published: the tally is no longer the sum of the \
             counted ballots (05 §5.2, V11.1–V11.3).",
            edit_resigned(h, |r| {
                let i = ballots(r)[0];
                r.entries.remove(i);
            }),
            StepId::Tally,
        )
        .rule("V11.1")
        .resigned(),
        Case::fail(
            "v10-ballot-duplicated",
            "A malicious operator appends a second copy of a cast ballot right after it and \
             re-signs the log: the same ballot may not be cast twice (V10.2).",
            duplicated.clone(),
            StepId::Ballots,
        )
        .rule("V10.2")
        .resigned(),
        Case::fail(
            "v10-ballot-from-a-credential-not-in-the-electorate",
            "A malicious operator casts a well-formed ballot, with valid proofs, under a \
             credential the registrar never enrolled, just before the close, and re-signs \
             the log: only the electorate's credentials may vote (04 §4.5, V10.1).",
            outsider.clone(),
            StepId::Ballots,
        )
        .rule("V10.1")
        .resigned()
        .at(ballot_at(&outsider, close)),
        Case::fail(
            "v10-ballot-copied-under-another-credential",
            "A malicious operator copies a cast ballot, puts the credential of a voter who \
             never voted on it, casts it just before the close and re-signs the log: the \
             copied signature does not verify under that credential (04 §4.5, V10.1).",
            copied.clone(),
            StepId::Ballots,
        )
        .rule("V10.1")
        .resigned()
        .at(ballot_at(&copied, close)),
        Case::fail(
            "v10-ballot-for-another-manifest",
            "A malicious operator rewrites the manifest hash a cast ballot names and \
             re-signs the log: a ballot counts only for the referendum whose manifest it \
             was made for (04 §4.5, V10.1).",
            other_manifest.clone(),
            StepId::Ballots,
        )
        .rule("V10.1")
        .resigned()
        .at(ballot_at(&other_manifest, b[2])),
        Case::fail(
            "v10-audited-ballot-also-cast",
            "A malicious operator casts the ballot a voter audited (whose randomness is \
             now public) just before the close and re-signs the log: an audited ballot is \
             spoiled and may never be cast (04 §4.6, V10.4).",
            audited_cast.clone(),
            StepId::Ballots,
        )
        .rule("V10.4")
        .resigned()
        .at(ballot_at(&audited_cast, close)),
        Case::fail(
            "v9-ballot-after-close",
            "A malicious operator moves the last cast ballot to just after the \
             referendum's close and re-signs the log: no ballot may be cast after the \
             close (10 §10.3, V9.2).",
            edit_resigned(h, |r| {
                let i = *ballots(r).last().unwrap();
                let e = r.entries.remove(i);
                let at = closed_at(r) + 1;
                insert(r, at, e.payload);
            }),
            StepId::Lifecycle,
        )
        .rule("V9.2")
        .resigned(),
        Case::fail(
            "v11-tally-ciphertext-altered",
            "A malicious operator adds G to one ciphertext of the published encrypted tally \
             and re-signs the log: the tally must be the product of the counted ballots' \
             ciphertexts (05 §5.2, V11.3).",
            edit_resigned(h, |r| {
                let i = tally_of(r);
                if let Payload::TallyComputed { tally } = &mut r.entries[i].payload {
                    tally.ciphertexts[0].b = tally.ciphertexts[0].b + g();
                }
            }),
            StepId::Tally,
        )
        .rule("V11.3")
        .resigned(),
        Case::fail(
            "v11-tally-counted-ballots-inflated",
            "A malicious operator increases the tally's count of counted ballots by one and \
             re-signs the log: it must equal the number of counted ballots (V11.1).",
            edit_resigned(h, |r| {
                let i = tally_of(r);
                if let Payload::TallyComputed { tally } = &mut r.entries[i].payload {
                    tally.counted_ballots += 1;
                }
            }),
            StepId::Tally,
        )
        .rule("V11.1")
        .resigned(),
    ]
}

/// Decryption shares (V12), the result (V13) and the ceremony (V8).
fn trustee_cases(h: &Honest) -> Vec<Case> {
    let result_of = |r: &mut SynthRecord| -> usize {
        r.find(|p| matches!(p, Payload::ResultPublished { .. }))
            .expect("the honest record has a result")
    };
    let (share_leaf, share_msg) = first_share(&h.record);
    let share_trustee = share_msg.share.trustee.get();
    let referendum = h.manifest.referendum_id.clone();
    vec![
        Case::fail(
            "v13-result-count-increased-by-one",
            "A malicious operator adds one vote to the first option of the second question \
             in the published result and re-signs the log: the counts must be what the \
             decryption shares decrypt the tally to (05 §5.5, V13.3).",
            edit_resigned(h, |r| {
                let i = result_of(r);
                if let Payload::ResultPublished { result } = &mut r.entries[i].payload {
                    result.counts[1][0] += 1;
                }
            }),
            StepId::Result,
        )
        .rule("V13.3")
        .resigned(),
        Case::fail(
            "v13-result-yes-no-vote-shifted",
            "A malicious operator moves one vote from the second to the first option of \
             the yes-no question in the published result and re-signs the log: the shape \
             and the total are right, the decryption is not (05 §5.5, V13.3).",
            edit_resigned(h, |r| {
                let i = result_of(r);
                if let Payload::ResultPublished { result } = &mut r.entries[i].payload {
                    result.counts[0][0] += 1;
                    result.counts[0][1] -= 1;
                }
            }),
            StepId::Result,
        )
        .rule("V13.3")
        .resigned(),
        Case::fail(
            "v12-share-from-a-non-trustee",
            "Someone who is not a trustee of the referendum publishes a decryption share, \
             signed with their own trustee key, as trustee 4 of 3, after the first share; \
             the log re-signed: only the manifest's trustees may decrypt (V12.1).",
            edit_resigned(h, |r| {
                let (i, msg) = first_share(r);
                let mut rng = ChaCha20Rng::seed_from_u64(9);
                let outsider = TrusteeKeys::generate(&mut rng);
                let share = DecryptionShare {
                    trustee: TrusteeIndex::new(4).unwrap(),
                    ..msg.share
                };
                let forged = DecryptionShareMessage::sign(
                    &h.manifest,
                    &h.manifest.canonical_hash(),
                    &outsider,
                    share,
                    &mut rng,
                );
                insert(r, i + 1, Payload::DecryptionShare { share: forged });
            }),
            StepId::Shares,
        )
        .rule("V12.1")
        .resigned()
        .at(Location::Trustee {
            referendum: referendum.clone(),
            trustee: 4,
            leaf: Some(share_leaf as u64 + 1),
        }),
        Case::fail(
            "v12-share-with-a-bad-proof",
            "A trustee publishes a decryption share, correctly signed with its own key, \
             whose first DLEQ proof has a wrong response; the log re-signed: a share must \
             prove it was computed with the trustee's key share (06 §6.8, V12.3). The result \
             used the share, so it is not proven either (V13.2).",
            edit_resigned(h, |r| {
                let (i, msg) = first_share(r);
                let mut share = msg.share.clone();
                share.proofs[0].z = share.proofs[0].z + Scalar::ONE;
                let t = share.trustee.get();
                let mut rng = ChaCha20Rng::seed_from_u64(10);
                // Correctly signed by the real trustee: only the DLEQ proof is wrong.
                let resigned = DecryptionShareMessage::sign(
                    &h.manifest,
                    &h.manifest.canonical_hash(),
                    &h.trustee_keys[(t - 1) as usize],
                    share,
                    &mut rng,
                );
                r.entries[i].payload = Payload::DecryptionShare { share: resigned };
            }),
            StepId::Shares,
        )
        .rule("V12.3")
        .resigned()
        .at(Location::Trustee {
            referendum,
            trustee: share_trustee,
            leaf: Some(share_leaf as u64),
        }),
        Case::fail(
            "v8-published-public-share-differs-from-the-ceremony",
            "A malicious operator adds G to the first trustee's public key share in the \
             ceremony-completed entry and re-signs the log: the published keys must be \
             those the ceremony's reveals determine (06 §6.7, §6.12, V8.3).",
            edit_resigned(h, |r| {
                let i = r
                    .find(|p| matches!(p, Payload::CeremonyCompleted { .. }))
                    .expect("the honest record completes its ceremony");
                if let Payload::CeremonyCompleted { public_shares, .. } = &mut r.entries[i].payload
                {
                    public_shares[0] = public_shares[0] + g();
                }
            }),
            StepId::Ceremony,
        )
        .rule("V8.3")
        .resigned(),
        Case::fail(
            "v8-ceremony-reveal-before-the-last-commitment",
            "A malicious operator moves the first trustee's share reveal before the last \
             trustee's commitment (restamping to keep time monotonic) and re-signs the \
             log: no trustee may reveal before every commitment is published (06 §6.11, V8.2).",
            edit_resigned(h, |r| {
                let msgs = r.find_all(|p| matches!(p, Payload::Ceremony { .. }));
                // Move the first reveal before the last commitment.
                let reveal = r.entries.remove(msgs[3]);
                r.entries.insert(msgs[2], reveal);
                restamp(r);
            }),
            StepId::Ceremony,
        )
        .rule("V8.2")
        .resigned(),
    ]
}

/// The log (V2) and tree heads (V3): edits the operator did not re-sign.
fn log_cases(h: &Honest) -> Vec<Case> {
    let rec = &h.record;
    let i = ballots(rec)[0];
    // Flip one hex digit of a point: not a canonical encoding any more, or another point.
    let mut corrupt = rec.source().expect("a generated record serializes");
    let line = &mut corrupt.entries[i];
    let pos = line.find("\"a\":\"").unwrap() + 6;
    let c = line.as_bytes()[pos];
    let flipped = if c == b'0' { "1" } else { "0" };
    line.replace_range(pos..pos + 1, flipped);
    let forged_head = 2;
    vec![
        Case::fail(
            "v2-leaf-changed",
            "The text of the petitions office's response to p1 is extended after the \
             log was signed, the tree heads left as they were: the leaf no longer hashes to \
             the signed root (V2.3, V2.5).",
            edit(h, |r| {
                let i = r
                    .find(|p| matches!(p, Payload::PetitionResponded { .. }))
                    .expect("p1 is answered");
                if let Payload::PetitionResponded { text, .. } = &mut r.entries[i].payload {
                    text.push_str(" Maybe.");
                }
            }),
            StepId::Log,
        )
        .rule("V2.3"),
        Case::fail(
            "v2-leaf-dropped",
            "Leaf 20 is removed from the log, the tree heads left as they were: the \
             remaining leaves do not make the signed roots (V2.1, V2.5).",
            edit(h, |r| {
                r.entries.remove(20);
            }),
            StepId::Log,
        )
        .rule("V2.1"),
        Case::fail(
            "v2-leaves-reordered",
            "The first two cast ballots swap places in the log, the tree heads left as they \
             were: the order of leaves is part of the signed root (V2.2, V2.5).",
            edit(h, |r| {
                let b = ballots(r);
                r.entries.swap(b[0], b[1]);
            }),
            StepId::Log,
        )
        .rule("V2.2"),
        Case::fail_text(
            "v2-entry-line-with-a-corrupt-point",
            "One hex digit of a point in the first cast ballot's line of entries.jsonl is \
             changed (not a canonical encoding any more, or another point): the line no \
             longer parses with canonical encodings (01 §1.3, V2.1).",
            corrupt,
            StepId::Log,
        )
        .rule("V2.1"),
        Case::fail(
            "v3-tree-head-signature-forged",
            "One bit of the operator's signature on the third tree head is flipped: every \
             head must verify under the board key (08 §8.3, V3.1).",
            edit(h, |r| {
                let mut bytes = r.heads[forged_head].signature.0.to_bytes();
                bytes[5] ^= 1;
                r.heads[forged_head].signature.0 = ed25519_dalek::Signature::from_bytes(&bytes);
            }),
            StepId::TreeHeads,
        )
        .rule("V3.1")
        .at(Location::TreeHead {
            tree_size: rec.heads[forged_head].head.tree_size,
        }),
        Case::fail(
            "v2-two-heads-of-one-size-with-different-roots",
            "The operator signs a second tree head of the fourth head's size with another \
             root (a fork shown to some readers): both are validly signed, so V3 passes, \
             and two roots for one size are an equivocation (V2.6).",
            edit(h, |r| {
                let orig = r.heads[3].head;
                let origin = r.heads[3].origin.clone();
                let fork = crate::synth::sign_and_cosign(
                    TreeHead {
                        tree_size: orig.tree_size,
                        root_hash: NodeHash([9; 32]),
                        timestamp_ms: orig.timestamp_ms,
                    },
                    &origin,
                    &h.board_key,
                    &[],
                );
                r.heads.insert(4, fork);
            }),
            StepId::Log,
        )
        .rule("V2.6"),
        Case::fail(
            "v2-last-head-does-not-cover-the-record",
            "The last tree head is removed: the record has leaves no signed head covers, so \
             nothing binds the operator to them (V2.7).",
            edit(h, |r| {
                r.heads.pop();
            }),
            StepId::Log,
        )
        .rule("V2.7"),
    ]
}

/// Petitions (V6).
fn petition_cases(h: &Honest) -> Vec<Case> {
    let forged = petition_signatures(&h.record)[3];
    vec![
        Case::fail(
            "v6-petition-closed-count-inflated",
            "A malicious operator adds one to the signature count of p1's closing entry and \
             re-signs the log: the count must be what the signatures in the log give \
             (07 §7.4, V6.4).",
            edit_resigned(h, |r| {
                let i = r
                    .find(|p| matches!(p, Payload::PetitionClosed { .. }))
                    .expect("a petition is closed");
                if let Payload::PetitionClosed { count, .. } = &mut r.entries[i].payload {
                    *count += 1;
                }
            }),
            StepId::Petitions,
        )
        .rule("V6.4")
        .resigned(),
        Case::fail(
            "v6-petition-threshold-count-inflated",
            "A malicious operator adds one to the count in p1's referendum-threshold entry \
             and re-signs the log: the count must be what the signatures before it give \
             (07 §7.4, V6.4, V6.5).",
            edit_resigned(h, |r| {
                let i = referendum_threshold(r);
                if let Payload::PetitionThreshold { count, .. } = &mut r.entries[i].payload {
                    *count += 1;
                }
            }),
            StepId::Petitions,
        )
        .rule("V6.4")
        .resigned(),
        Case::fail(
            "v6-petition-signature-duplicated",
            "A malicious operator appends a second copy of a petition signature right after \
             it and re-signs the log: one credential signs a petition at most once \
             (07 §7.3, V6.3).",
            edit_resigned(h, |r| {
                let i = petition_signatures(r)[5];
                let dup = r.entries[i].clone();
                r.entries.insert(i + 1, dup);
            }),
            StepId::Petitions,
        )
        .rule("V6.3")
        .resigned(),
        Case::fail(
            "v6-referendum-threshold-entry-missing",
            "A malicious operator removes the entry recording that p1 crossed its \
             referendum threshold and re-signs the log: the board must record the crossing \
             right after the signature that crossed it (07 §7.4, V6.5).",
            edit_resigned(h, |r| {
                let i = referendum_threshold(r);
                r.entries.remove(i);
            }),
            StepId::Petitions,
        )
        .rule("V6.5")
        .resigned(),
        Case::fail(
            "v6-referendum-threshold-entry-before-its-crossing",
            "A malicious operator moves p1's referendum-threshold entry before the \
             signature that crossed it (restamping to keep time monotonic) and re-signs \
             the log: the threshold is recorded when it is crossed, not before (07 §7.4, V6.5).",
            edit_resigned(h, |r| {
                let i = referendum_threshold(r);
                // Move it before the signature that crossed it.
                let e = r.entries.remove(i);
                r.entries.insert(i - 1, e);
                restamp(r);
            }),
            StepId::Petitions,
        )
        .rule("V6.5")
        .resigned(),
        Case::fail(
            "v6-petition-signature-forged",
            "A malicious operator changes the credential signature of a petition signature \
             and re-signs the log: only the credential's holder can sign (07 §7.3, V6.2).",
            edit_resigned(h, |r| {
                let i = petition_signatures(r)[3];
                if let Payload::PetitionSigned { signature } = &mut r.entries[i].payload {
                    signature.signature.0.z = signature.signature.0.z + Scalar::ONE;
                }
            }),
            StepId::Petitions,
        )
        .rule("V6.2")
        .resigned()
        .at(petition_at(&h.record, forged)),
    ]
}

/// Where the verifier names the petition signature at `leaf`.
fn petition_at(rec: &SynthRecord, leaf: usize) -> Location {
    match &rec.entries[leaf].payload {
        Payload::PetitionSigned { signature } => Location::Petition {
            petition: signature.petition_id.clone(),
            leaf: Some(leaf as u64),
        },
        _ => panic!("leaf {leaf} is not a petition signature"),
    }
}

/// The header and the record's files (V1).
fn header_cases(h: &Honest) -> Vec<Case> {
    let rec = &h.record;
    let created = rec
        .find(|p| matches!(p, Payload::ReferendumTriggered { .. }))
        .expect("r1 is created");
    vec![
        Case::fail_text(
            "v1-header-with-its-own-generators",
            "record.json carries a `generators` field naming G as H: the generators are \
             fixed by the protocol, never taken from a record, and an unknown field is \
             refused (01 §1.4, V1.1). Nothing after V1 can be checked against such a \
             record.",
            edit_json(rec, None, |v| {
                v["generators"] = serde_json::json!({"H": Point::generator().to_hex()});
            }),
            StepId::Record,
        )
        .rule("V1.1"),
        Case::fail(
            "v1-header-log-id-wrong",
            "record.json's log id is not the hash of the board key it names (V1.3).",
            edit(h, |r| r.header.log_id = Hash32([3; 32])),
            StepId::Record,
        )
        .rule("V1.3"),
        Case::fail(
            "v1-header-names-an-unknown-referendum",
            "record.json names a referendum (`nope`) the log never creates (V1.4).",
            edit(h, |r| r.header.referendum_id = Some("nope".into())),
            StepId::Record,
        )
        .rule("V1.4"),
        Case::fail_text(
            "v1-manifest-with-its-own-generators",
            "The referendum-triggered entry's manifest carries a `generators` field naming G \
             as H: the generators are fixed by the protocol and an unknown field in an \
             entry is refused (01 §1.7, V1.6).",
            edit_json(rec, Some(created), |v| {
                v["payload"]["manifest"]["generators"] = serde_json::json!({"H": g().to_hex()});
            }),
            StepId::Record,
        )
        .rule("V1.6")
        .at(Location::Leaf {
            index: created as u64,
        }),
        Case::fail_text(
            "v7-manifest-source-petition-set-to-null",
            "The referendum-triggered entry's manifest has its optional `source_petition` \
             written as JSON null, which is the same as leaving it out: a null optional \
             field is not a field outside the protocol, so V1 passes (V1.6). It does change \
             the manifest (p1 is no longer its source), so the entry no longer is the \
             referendum p1 obliges (07 §7.4, V7.4). The log was not re-signed, so V2 fails \
             as well.",
            edit_json(rec, Some(created), |v| {
                v["payload"]["manifest"]["source_petition"] = serde_json::Value::Null;
            }),
            StepId::Manifests,
        )
        .rule("V7.4"),
    ]
}

/// The cases of this group.
pub fn cases(b: &Bases) -> Vec<Case> {
    let h = &b.by_code;
    let mut out = ballot_cases(h);
    out.extend(trustee_cases(h));
    out.extend(log_cases(h));
    out.extend(petition_cases(h));
    out.extend(header_cases(h));
    out
}
