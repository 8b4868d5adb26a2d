//! Cases for rules the tamper tests of the other modules do not reach: witness
//! cosignatures (V3), manifests (V7), receipts (V14), and a few more faults of the
//! ceremony, lifecycle, shares and result that only a consistent, re-signing dishonest
//! party could publish.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ed25519_dalek::SigningKey;
use vox_protocol::board::{BoardEntry, BoardPublicKey, Payload, Sig};
use vox_protocol::manifest::Manifest;
use vox_protocol::roles::{ActSignature, WitnessPolicy};

use super::Bases;
use crate::conformance::edits::{ballots, edit, edit_resigned, find_kind};
use crate::conformance::generate::Case;
use crate::report::Location;
use crate::synth::{Honest, SynthRecord};
use crate::StepId;

/// Flip one bit of an Ed25519 signature.
fn flip(sig: &mut Sig) {
    let mut bytes = sig.0.to_bytes();
    bytes[17] ^= 0x04;
    sig.0 = ed25519_dalek::Signature::from_bytes(&bytes);
}

/// Edit r1's manifest in the `referendum-triggered` system entry (a malicious operator's
/// doing) and re-sign the log: the manifest rules object (V7.2), and so does V7.4, since
/// the manifest is no longer the one p1's terms and the panel determine.
fn edit_manifest(b: &Honest, f: impl FnOnce(&mut Manifest)) -> SynthRecord {
    let mut rec = edit(b, |r| {
        let i = find_kind(r, "referendum-triggered");
        if let Payload::ReferendumTriggered { manifest } = &mut r.entries[i].payload {
            f(manifest);
        }
    });
    rec.resign_acts(&b.roles).unwrap();
    rec.resign(&b.board_key, &b.witness_keys);
    rec
}

fn r1_at(leaf: usize) -> Location {
    Location::Referendum {
        referendum: "r1".into(),
        leaf: Some(leaf as u64),
    }
}

/// The cases of this group.
pub fn cases(b: &Bases) -> Vec<Case> {
    let w = &b.witnessed;
    let by_code = &b.by_code;
    let created = find_kind(&by_code.record, "referendum-triggered");
    let mut out = vec![
        // ---- V3: witnesses -----------------------------------------------------------
        Case::fail(
            "v3-witness-cosignature-forged",
            "One witness cosignature on the last tree head has a flipped bit. Witnesses \
             vouch that they saw this head and no conflicting one (08 §8.4, 11 §11.2); a \
             cosignature that does not verify under the witness key is a fault (V3).",
            edit(w, |r| {
                let last = r.heads.len() - 1;
                flip(&mut r.heads[last].cosignatures[0].signature);
            }),
            StepId::TreeHeads,
        )
        .rule("V3.2"),
        Case::fail(
            "v3-one-witness-counted-twice",
            "The second witness's cosignature on the heads covering the record (after the \
             result) is replaced by a copy of the first witness's: each verifies, but they \
             come from one witness, so the head covering the record has 1 of the 2 distinct \
             witnesses the genesis quorum requires (11 §11.2). A board exports a record up \
             to the latest head its witnesses vouched for (08 §8.4), so a record that ends \
             on a head without the quorum is not witnessed: V3 fails there.",
            edit(w, |r| {
                let last = r.heads.last().map(|h| h.head.tree_size);
                for h in r
                    .heads
                    .iter_mut()
                    .filter(|h| Some(h.head.tree_size) == last)
                {
                    let first = h.cosignatures[0].clone();
                    h.cosignatures[1] = first;
                }
            }),
            StepId::TreeHeads,
        )
        .rule("V3.4")
        .at(Location::TreeHead {
            tree_size: w.record.header.tree_size,
        }),
        Case::fail(
            "v3-one-head-is-a-checkpoint-of-another-log",
            "The operator signs the third tree head (same size, root and time) as a \
             checkpoint of another origin, and the witnesses cosign it: the signatures \
             verify, but the heads of one log all name one origin (08 §8.3, V3.5).",
            edit(w, |r| {
                let h = r.heads[2].head;
                r.heads[2] = crate::synth::sign_and_cosign(
                    h,
                    "other.vox.example/log",
                    &w.board_key,
                    &w.witness_keys,
                );
            }),
            StepId::TreeHeads,
        )
        .rule("V3.5")
        .at(Location::TreeHead {
            tree_size: w.record.heads[2].head.tree_size,
        }),
        Case::fail(
            "v3-every-head-names-another-log-than-the-genesis",
            "Every tree head is signed and cosigned as a checkpoint of an origin other than \
             the genesis log name: the heads agree with each other, but they are not \
             checkpoints of the log the genesis names (08 §8.3, V3.5).",
            {
                let mut rec = w.record.clone();
                rec.heads = rec
                    .heads
                    .iter()
                    .map(|h| {
                        crate::synth::sign_and_cosign(
                            h.head,
                            "other.vox.example/log",
                            &w.board_key,
                            &w.witness_keys,
                        )
                    })
                    .collect();
                rec
            },
            StepId::TreeHeads,
        )
        .rule("V3.5"),
        Case::fail(
            "v3-result-published-before-the-witness-quorum",
            "The head just before the result-published entry carries only the first \
             witness's cosignature: the genesis asks 2 witnesses, and the board must wait for \
             them before it appends an entry that ends a phase (08 §8.4, V3.6).",
            edit(w, |r| {
                let at = find_kind(r, "result-published") as u64;
                for h in r.heads.iter_mut().filter(|h| h.head.tree_size == at) {
                    h.cosignatures.truncate(1);
                }
            }),
            StepId::TreeHeads,
        )
        .rule("V3.6")
        .at(Location::Leaf {
            index: find_kind(&w.record, "result-published") as u64,
        }),
        Case::fail(
            "v3-tally-with-no-head-before-it",
            "The tree heads of the size just before the tally-computed entry are removed \
             from the record: nothing shows that witnesses saw the log before the tally was \
             appended (08 §8.4, V3.6).",
            edit(w, |r| {
                let at = find_kind(r, "tally-computed") as u64;
                r.heads.retain(|h| h.head.tree_size != at);
            }),
            StepId::TreeHeads,
        )
        .rule("V3.6")
        .at(Location::Leaf {
            index: find_kind(&w.record, "tally-computed") as u64,
        }),
        Case::fail(
            "v3-new-witnesses-used-before-the-old-quorum-cosigned",
            "The operator replaces witness 1 of two (quorum 2) by a third, but the retired \
             witness never cosigns a head covering the change: its cosignatures are gone from \
             every head after the `witness-policy-set`. The new pair cosigns everything, yet \
             the change never takes effect (11 §11.6: the old quorum must vouch that every \
             view holds it), so the close needs the old quorum and lacks it (V3.6).",
            {
                let rw = &b.rewitnessed;
                edit(rw, |r| {
                    let at = find_kind(r, "witness-policy-set") as u64;
                    let retired = rw.witness_keys[0].verifying_key();
                    for h in r.heads.iter_mut().filter(|h| h.head.tree_size > at) {
                        h.cosignatures.retain(|c| c.witness.0 != retired);
                    }
                })
            },
            StepId::TreeHeads,
        )
        .rule("V3.6")
        .at(Location::Leaf {
            index: find_kind(&b.rewitnessed.record, "referendum-closed") as u64,
        }),
        Case::fail(
            "v3-witness-policy-changed-again-before-the-first-change-took-effect",
            "Two `witness-policy-set` entries appended one after the other at the end of the \
             witnessed log, with no tree head between them: the first change is not in force \
             when the second is declared (no head covering it carries the genesis quorum \
             yet), and one change at a time is the rule (11 §11.6, V3.7).",
            {
                let mut rec = w.record.clone();
                let fresh: Vec<BoardPublicKey> = (1..=2u8)
                    .map(|i| {
                        BoardPublicKey(SigningKey::from_bytes(&[0x70 + i; 32]).verifying_key())
                    })
                    .collect();
                let ts = rec.entries.last().map_or(0, |e| e.timestamp_ms);
                let log_id = w.roles.log_id();
                for (i, keys) in [vec![fresh[0]], vec![fresh[1]]].into_iter().enumerate() {
                    let payload = Payload::WitnessPolicySet {
                        policy: WitnessPolicy { keys, quorum: 1 },
                        act: ActSignature::unsigned(),
                    }
                    .signed_act(&log_id, ts + i as i64, &w.roles.operator)
                    .unwrap();
                    rec.entries.push(BoardEntry {
                        timestamp_ms: ts + i as i64,
                        payload,
                    });
                }
                rec.resign(&w.board_key, &w.witness_keys);
                rec
            },
            StepId::TreeHeads,
        )
        .rule("V3.7")
        .at(Location::Leaf {
            index: w.record.entries.len() as u64 + 1,
        }),
        Case::fail(
            "v4-witness-policy-set-signed-by-the-election-authority",
            "The `witness-policy-set` of the rewitnessed record is signed by the election \
             authority instead of the operator (and the heads re-signed): only the operator \
             may change the witness policy (11 §11.3, §11.6), so the act fails V4 and the \
             change is not adopted.",
            {
                let rw = &b.rewitnessed;
                let mut rec = edit(rw, |r| {
                    let i = find_kind(r, "witness-policy-set");
                    let at = r.entries[i].payload.act().unwrap().issued_at_ms;
                    r.entries[i]
                        .payload
                        .sign_act(&rw.roles.log_id(), at, &rw.roles.election_authority)
                        .unwrap();
                });
                rec.resign(&rw.board_key, &rw.witness_keys);
                rec
            },
            StepId::Roles,
        )
        .rule("V4.3")
        .resigned()
        .at(Location::Act {
            leaf: find_kind(&b.rewitnessed.record, "witness-policy-set") as u64,
            role: vox_protocol::roles::Role::Operator,
        }),
        Case::fail(
            "v4-witness-policy-with-a-quorum-above-its-witnesses",
            "The operator appends, at the end of the witnessed log, a properly signed \
             `witness-policy-set` asking 3 cosignatures of its 2 witnesses: no head could \
             ever meet it, so the policy is invalid (11 §11.6, V4.6) and is not adopted.",
            {
                let mut rec = w.record.clone();
                let ts = rec.entries.last().map_or(0, |e| e.timestamp_ms);
                let keys = (1..=2u8)
                    .map(|i| {
                        BoardPublicKey(SigningKey::from_bytes(&[0x60 + i; 32]).verifying_key())
                    })
                    .collect();
                let payload = Payload::WitnessPolicySet {
                    policy: WitnessPolicy { keys, quorum: 3 },
                    act: ActSignature::unsigned(),
                }
                .signed_act(&w.roles.log_id(), ts, &w.roles.operator)
                .unwrap();
                rec.entries.push(BoardEntry {
                    timestamp_ms: ts,
                    payload,
                });
                rec.resign(&w.board_key, &w.witness_keys);
                rec
            },
            StepId::Roles,
        )
        .rule("V4.6")
        .resigned()
        .at(Location::Act {
            leaf: w.record.entries.len() as u64,
            role: vox_protocol::roles::Role::Operator,
        }),
        // ---- V7: manifests -------------------------------------------------------------
        Case::fail(
            "v7-manifest-threshold-above-trustee-count",
            "The operator's referendum-triggered entry carries a manifest asking 4 of its 3 \
             trustees to decrypt: no tally could ever be decrypted (04 §4.2, V7).",
            edit_manifest(by_code, |m| m.threshold = 4),
            StepId::Manifests,
        )
        .rule("V7.2")
        .resigned()
        .at(r1_at(created)),
        Case::fail(
            "v7-manifest-with-a-question-without-options",
            "The triggered manifest's yes-no question has had its options removed (04 §4.2: \
             every question has at least two options, V7).",
            edit_manifest(by_code, |m| m.questions[0].options.clear()),
            StepId::Manifests,
        )
        .rule("V7.2")
        .resigned()
        .at(r1_at(created)),
        Case::fail(
            "v7-manifest-trustee-with-one-key-for-both-jobs",
            "The triggered manifest gives trustee 2 its signing key as its communication key \
             too: a trustee's signing and share-encryption keys must be separate keys \
             (04 §4.2 rule 5, 06 §6.2, V7).",
            edit_manifest(by_code, |m| {
                m.trustees[1].communication_key = m.trustees[1].signing_key;
            }),
            StepId::Manifests,
        )
        .rule("V7.2")
        .resigned()
        .at(r1_at(created)),
        Case::fail(
            "v7-referendum-from-a-petition-that-never-reached-its-threshold",
            "The triggered manifest names petition p2 (rejected with 1 sponsor) as its \
             source: a referendum may only come from a petition that reached its referendum \
             threshold (07 §7.4, V7.4); p1's own referendum is then never triggered (V15).",
            edit_manifest(by_code, |m| m.source_petition = Some("p2".into())),
            StepId::Manifests,
        )
        .rule("V7.4")
        .resigned()
        .at(r1_at(created)),
        // ---- V14: receipts -------------------------------------------------------------
        Case::fail(
            "v14-receipt-with-a-forged-board-signature",
            "The voter's receipt of a counted ballot carries a board signature with one bit \
             flipped: a receipt proves nothing unless the board's key signed it (08 §8.5).",
            w.record.clone(),
            StepId::Receipts,
        )
        .rule("V14.1")
        .with_receipts({
            let mut rs = w.receipts.clone();
            flip(&mut rs[0].signature);
            rs
        })
        .at(Location::Receipt {
            name: "receipts/0.json".into(),
        }),
        Case::fail(
            "v14-ballot-dropped-after-its-receipt",
            "A malicious operator removes a counted ballot from the log after handing out \
             its receipt and re-signs every head: the log steps pass, the tally no longer \
             matches the counted ballots (V11), and the receipt's signed tree head has a \
             root the record does not have at that size (08 §8.5, V14): the voter can prove \
             their ballot was taken.",
            dropped_after_receipt(w),
            StepId::Receipts,
        )
        .rule("V14.2")
        .resigned()
        .with_receipts(w.receipts.clone())
        .at(Location::Receipt {
            name: "receipts/0.json".into(),
        }),
        // ---- V8: ceremony --------------------------------------------------------------
        Case::fail(
            "v8-ceremony-message-with-a-forged-trustee-signature",
            "The first ceremony message's trustee signature has a flipped bit, the log \
             re-signed: only the trustee may speak for itself in the ceremony (06 §6.10, \
             V8).",
            edit_resigned(by_code, |r| {
                let i = find_kind(r, "ceremony");
                if let Payload::Ceremony { message } = &mut r.entries[i].payload {
                    message.signature.z = message.signature.z + vox_crypto::Scalar::ONE;
                }
            }),
            StepId::Ceremony,
        )
        .rule("V8.1")
        .resigned(),
    ];
    // ---- V10: a replayed ballot
    let first = ballots(&by_code.record)[0];
    out.push(
        Case::fail(
            "v10-ballot-replayed-later-in-the-log",
            "A malicious operator appends a copy of an early ballot just before the close \
             (same credential, same signature) and re-signs: a replayed ballot would \
             silently undo the voter's later re-vote (04 §4.6, V10).",
            edit_resigned(by_code, |r| {
                let close = crate::conformance::edits::closed_at(r);
                let copy = r.entries[first].payload.clone();
                crate::conformance::edits::insert(r, close, copy);
            }),
            StepId::Ballots,
        )
        .rule("V10.2")
        .resigned(),
    );
    out
}

/// `w` with the ballot of receipt 0 removed, the tally and the result recomputed without
/// it (a consistent lie), every head re-signed.
fn dropped_after_receipt(w: &Honest) -> SynthRecord {
    let leaf = w.receipts[0].leaf_index as usize;
    let mut rec = w.record.clone();
    rec.entries.remove(leaf);
    rec.resign(&w.board_key, &w.witness_keys);
    rec
}
