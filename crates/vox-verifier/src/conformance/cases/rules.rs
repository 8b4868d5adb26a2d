//! Cases for the numbered rules of 10-verifier.md that the other modules left without a
//! case: one case per rule, named after it (`v<step>-…`), so that the corpus covers every
//! rule a static record can show. The rules it cannot show are listed, with the reason,
//! in `tests/conformance.rs` (`NOT_IN_THE_CORPUS`) and in the corpus README.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ed25519_dalek::SigningKey;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use vox_crypto::{Hash32, Scalar};
use vox_protocol::ballot::Ballot;
use vox_protocol::board::{BoardPublicKey, Payload, TreeHead};
use vox_protocol::enrolment::EnrolmentOpening;
use vox_protocol::manifest::Manifest;
use vox_protocol::merkle::NodeHash;
use vox_protocol::roles::ActSignature;

use super::civic::registrar;
use super::Bases;
use crate::conformance::edits::{
    ballot_mut, ballots, closed_at, edit, edit_resigned, find_kind, insert, restamp,
};
use crate::conformance::generate::Case;
use crate::report::Location;
use crate::synth::{Honest, SynthRecord};
use crate::{StepId, TrustAnchors};

fn r1_at(leaf: usize) -> Location {
    Location::Referendum {
        referendum: "r1".into(),
        leaf: Some(leaf as u64),
    }
}

/// The cases of this group.
pub fn cases(b: &Bases) -> Vec<Case> {
    let mut out = record_and_log(&b.by_code);
    out.extend(electorates(&b.by_code, &b.registered));
    out.extend(referendums(&b.by_code));
    out.extend(counting(&b.by_code));
    out.extend(receipts(&b.witnessed));
    out
}

/// V1.2, V2.4, V2.5, V3.3.
fn record_and_log(h: &Honest) -> Vec<Case> {
    let rec = &h.record;
    let mut version = rec.source().expect("a generated record serializes");
    let mut v: serde_json::Value = serde_json::from_str(&version.header).unwrap();
    v["version"] = serde_json::json!(3);
    version.header = v.to_string();

    let wrong_root = 2;
    let mut rng = ChaCha20Rng::seed_from_u64(90);
    let witness = SigningKey::generate(&mut rng);
    vec![
        Case::fail_text(
            "v1-header-version-3",
            "record.json says `version` 3, a record format this verifier does not \
             implement: a verifier must refuse versions it does not know rather than guess \
             their meaning (09 §9.1, V1.2). Nothing after V1 can be checked.",
            version,
            StepId::Record,
        )
        .rule("V1.2"),
        Case::fail(
            "v2-tree-heads-out-of-order",
            "The second and third lines of tree-heads.jsonl are swapped: each head is still \
             validly signed (V3 passes), but the board published a smaller log after a \
             larger one (08 §8.3, V2.4).",
            edit(h, |r| r.heads.swap(1, 2)),
            StepId::Log,
        )
        .rule("V2.4"),
        Case::fail(
            "v2-signed-head-with-a-root-not-of-the-log",
            "The operator signs the third tree head over a root that is not the root of the \
             log's first entries of that size (a log shown only to some readers): the \
             signature verifies (V3 passes), the root does not match the record (08 §8.3, \
             V2.5).",
            edit(h, |r| {
                let orig = r.heads[wrong_root].head;
                let origin = r.heads[wrong_root].origin.clone();
                r.heads[wrong_root] = crate::synth::sign_and_cosign(
                    TreeHead {
                        root_hash: NodeHash([4; 32]),
                        ..orig
                    },
                    &origin,
                    &h.board_key,
                    &[],
                );
            }),
            StepId::Log,
        )
        .rule("V2.5")
        .at(Location::TreeHead {
            tree_size: rec.heads[wrong_root].head.tree_size,
        }),
        Case::partial(
            "v3-pinned-witness-has-not-cosigned",
            "The honest record honest-by-code (no witness), checked by an observer who \
             pinned a witness that must cosign: the head covering the record carries no \
             cosignature from it, so V3 is NOT-CHECKED (it may still cosign) and the \
             verdict partial, never a pass (10 §10.1, V3.3).",
            rec.clone(),
            StepId::TreeHeads,
        )
        .rule("V3.3")
        .with_trust(TrustAnchors {
            witnesses: vec![BoardPublicKey(witness.verifying_key())],
            ..TrustAnchors::default()
        }),
    ]
}

/// V5.1, V5.2, V5.4, V6.1.
fn electorates(h: &Honest, reg: &Honest) -> Vec<Case> {
    let registered = find_kind(&reg.record, "electorate-registered");
    let mut duplicate = reg.record.clone();
    if let Payload::ElectorateRegistered { electorate, .. } =
        &mut duplicate.entries[registered].payload
    {
        let first = electorate.entries[0].clone();
        electorate.entries.push(first);
    }
    duplicate.resign_acts(&reg.roles).unwrap();
    duplicate.resign(&reg.board_key, &reg.witness_keys);

    let end = h.record.entries.len();
    let mut rng = ChaCha20Rng::seed_from_u64(91);
    let second_town = edit_resigned(h, |r| {
        let ts = r.entries[end - 1].timestamp_ms;
        let (opening, _) =
            EnrolmentOpening::draw("town", "Town again", &[(None, 2)], &mut rng).unwrap();
        let p = registrar(
            h,
            Payload::EnrolmentOpened {
                opening,
                act: ActSignature::unsigned(),
            },
            ts,
        );
        insert(r, end, p);
    });

    let mut rng = ChaCha20Rng::seed_from_u64(92);
    let unsorted = edit_resigned(h, |r| {
        let ts = r.entries[end - 1].timestamp_ms;
        let (mut opening, _) =
            EnrolmentOpening::draw("city", "City", &[(None, 3)], &mut rng).unwrap();
        opening.codes.reverse();
        let p = registrar(
            h,
            Payload::EnrolmentOpened {
                opening,
                act: ActSignature::unsigned(),
            },
            ts,
        );
        insert(r, end, p);
    });

    let proposed = find_kind(&h.record, "petition-proposed");
    let again = closed_at(&h.record);
    let proposed_twice = edit_resigned(h, |r| {
        let copy = r.entries[proposed].payload.clone();
        insert(r, again, copy);
    });

    vec![
        Case::fail(
            "v5-registered-electorate-with-a-duplicate-credential",
            "The registrar registers (and signs) an electorate whose credential list names \
             its first credential twice, the log re-signed: an electorate lists each \
             credential once, or one voter would count twice toward every threshold and \
             bound (04 §4.1, V5.1).",
            duplicate,
            StepId::Electorates,
        )
        .rule("V5.1")
        .resigned()
        .at(Location::Electorate {
            electorate: "town".into(),
            leaf: Some(registered as u64),
        }),
        Case::fail(
            "v5-second-electorate-with-the-same-id",
            "The registrar opens, at the end of the log, a second enrolment by code under \
             the id `town` that the first electorate already uses, the log re-signed: an \
             electorate id occurs once, or later entries could not say which one they mean \
             (04 §4.1.2, V5.2).",
            second_town,
            StepId::Electorates,
        )
        .rule("V5.2")
        .resigned()
        .only()
        .at(Location::Electorate {
            electorate: "town".into(),
            leaf: Some(end as u64),
        }),
        Case::fail(
            "v5-enrolment-opening-with-unsorted-codes",
            "The registrar opens a second electorate `city` by code (signed, at the end of \
             the log) whose three code hashes are listed in descending order, the log \
             re-signed: the code hashes of an opening are strictly ascending, so that each \
             occurs once and the list has one encoding (04 §4.1.2, V5.4).",
            unsorted,
            StepId::Electorates,
        )
        .rule("V5.4")
        .resigned()
        .only()
        .at(Location::Electorate {
            electorate: "city".into(),
            leaf: Some(end as u64),
        }),
        Case::fail(
            "v6-petition-proposed-twice",
            "A malicious operator posts a copy of p1's proposal (validly signed by its \
             proposer) again before r1's close and re-signs the log: a petition id is \
             proposed once; the copy is refused and the first proposal stands (07 §7.2, \
             V6.1).",
            proposed_twice,
            StepId::Petitions,
        )
        .rule("V6.1")
        .resigned()
        .at(Location::Petition {
            petition: "p1".into(),
            leaf: Some(again as u64),
        }),
    ]
}

/// V7.1, V9.1, V9.3.
fn referendums(h: &Honest) -> Vec<Case> {
    let log_id = h.roles.log_id();
    let created = find_kind(&h.record, "referendum-triggered");
    let end = h.record.entries.len();
    let created_twice = edit_resigned(h, |r| {
        let copy = match &r.entries[created].payload {
            Payload::ReferendumTriggered { manifest } => Payload::ReferendumCreated {
                manifest: Manifest {
                    source_petition: None,
                    ..manifest.clone()
                },
                act: ActSignature::unsigned(),
            },
            other => panic!("not r1's creation: {}", other.kind()),
        };
        let ts = r.entries[end - 1].timestamp_ms;
        let copy = copy
            .signed_act(&log_id, ts, &h.roles.election_authority)
            .unwrap();
        insert(r, end, copy);
    });
    let never_created = edit_resigned(h, |r| {
        let ts = r.entries[end - 1].timestamp_ms;
        let _ = ts;
        let p = Payload::ReferendumOpened {
            referendum_id: "r9".into(),
        };
        insert(r, end, p);
    });
    let last = *ballots(&h.record).last().unwrap();
    let late = edit_resigned(h, |r| {
        let at = crate::conformance::edits::closed_at(r);
        assert_eq!(at, last + 1, "the last ballot comes right before the close");
        r.entries[last].timestamp_ms = h.manifest.closes_at;
        r.entries[at].timestamp_ms = h.manifest.closes_at;
        restamp(r);
    });
    vec![
        Case::fail(
            "v7-referendum-created-twice",
            "The election authority signs a referendum-created for r1 (the triggered \
             manifest, a later issued_at, so it is no replay), appended at the end of the \
             log, the log re-signed: a referendum id is created once; the copy is refused \
             and the first creation stands (04 §4.2, V7.1).",
            created_twice,
            StepId::Manifests,
        )
        .rule("V7.1")
        .resigned()
        .only()
        .at(r1_at(end)),
        Case::fail(
            "v9-referendum-opened-that-was-never-created",
            "The election authority signs the opening of a referendum r9 that no entry \
             creates, appended at the end of the log, the log re-signed: every referendum \
             entry refers to a referendum created earlier (10 §10.3, V9.1).",
            never_created,
            StepId::Lifecycle,
        )
        .rule("V9.1")
        .resigned()
        .only(),
        Case::fail(
            "v9-ballot-cast-at-closes-at",
            "A malicious operator stamps the last cast ballot at r1's closes_at (the close \
             right after it keeps that time; later entries restamped) and re-signs the \
             log: the referendum is still open, but a ballot's entry time must be before \
             closes_at (10 §10.3, V9.3).",
            late,
            StepId::Lifecycle,
        )
        .rule("V9.3")
        .resigned()
        .only(),
    ]
}

/// The hash of r1's counted ballots (the last of each credential) in log order (05 §5.2).
fn counted_hash(r: &SynthRecord) -> Hash32 {
    let all: Vec<Ballot> = ballots(r)
        .into_iter()
        .map(|i| match &r.entries[i].payload {
            Payload::BallotCast { ballot } => ballot.clone(),
            _ => unreachable!(),
        })
        .collect();
    let mut hasher = Sha256::new();
    hasher.update(b"vox/v2/counted-ballots");
    hasher.update([0u8]);
    for (i, b) in all.iter().enumerate() {
        if !all[i + 1..].iter().any(|l| l.credential == b.credential) {
            hasher.update(b.hash().0);
        }
    }
    Hash32(hasher.finalize().into())
}

/// V10.3, V11.2, V12.2, V12.4, V13.1, V13.2.
fn counting(h: &Honest) -> Vec<Case> {
    let rec = &h.record;
    let revote = *ballots(rec).last().unwrap();
    let invalid_revote = edit_resigned(h, |r| {
        let b = ballot_mut(r, revote);
        assert!(b.previous.is_some(), "the last ballot is a re-vote");
        let p = &mut b.answers[1].selection_proofs[0];
        p.z0 = p.z0 + Scalar::ONE;
        // The operator's consistent lie: the tally commits to the altered re-vote.
        let counted_hash = counted_hash(r);
        let t = find_kind(r, "tally-computed");
        if let Payload::TallyComputed { tally } = &mut r.entries[t].payload {
            tally.counted_hash = counted_hash;
        }
    });
    let revote_at = {
        let mut copy = invalid_revote.clone();
        let b = ballot_mut(&mut copy, revote);
        Location::Ballot {
            referendum: "r1".into(),
            leaf: revote as u64,
            tracking_code: b.tracking_code(),
        }
    };
    let tally = find_kind(rec, "tally-computed");
    let shares = rec.find_all(|p| matches!(p, Payload::DecryptionShare { .. }));
    let result = find_kind(rec, "result-published");
    let (share_trustee, share_leaf) = match &rec.entries[shares[0]].payload {
        Payload::DecryptionShare { share } => (share.share.trustee.get(), shares[0]),
        _ => unreachable!(),
    };
    vec![
        Case::fail(
            "v10-invalid-revote-is-still-the-counted-ballot",
            "A malicious operator alters one selection-proof response of the last re-vote \
             and re-signs the log: the re-vote fails its checks (V10.1) and is still the \
             credential's counted ballot, not the ballot it superseded. The tally, computed \
             over the re-vote, must therefore still match (V11 passes): a verifier that \
             counts the last valid ballot instead fails V11 (05 §5.1, V10.3).",
            invalid_revote,
            StepId::Ballots,
        )
        .rule("V10.3")
        .resigned()
        .only()
        .at(revote_at),
        Case::fail(
            "v11-tally-counted-hash-altered",
            "A malicious operator changes one byte of the tally's counted_hash and re-signs \
             the log: it must commit to exactly the counted ballot hashes in log order, so \
             that a voter can see their ballot was summed (05 §5.2, V11.2).",
            edit_resigned(h, |r| {
                if let Payload::TallyComputed { tally } = &mut r.entries[tally].payload {
                    tally.counted_hash.0[0] ^= 1;
                }
            }),
            StepId::Tally,
        )
        .rule("V11.2")
        .resigned()
        .only()
        .at(r1_at(tally)),
        Case::fail(
            "v12-share-signature-forged",
            "A malicious operator alters the response of the trustee signature on the first \
             decryption share (the share and its proofs untouched) and re-signs the log: a \
             share counts only if its trustee signed it with the manifest key (06 §6.10, \
             V12.2). The result used the share, so it is not proven either (V13.2).",
            edit_resigned(h, |r| {
                if let Payload::DecryptionShare { share } = &mut r.entries[share_leaf].payload {
                    share.signature.z = share.signature.z + Scalar::ONE;
                }
            }),
            StepId::Shares,
        )
        .rule("V12.2")
        .resigned()
        .at(Location::Trustee {
            referendum: "r1".into(),
            trustee: share_trustee,
            leaf: Some(share_leaf as u64),
        }),
        Case::partial(
            "v12-one-share-of-two-and-no-result",
            "The log ends right after the first decryption share (everything later removed, \
             the log re-signed): r1 is tallied with 1 of the k = 2 shares it needs and the \
             decryption deadline has not passed. Nothing is wrong yet, so V12 (and V13) are \
             NOT-CHECKED, the remaining shares and the result are still running obligations \
             (V15), and the verdict partial (06 §6.8, V12.4).",
            edit_resigned(h, |r| {
                r.entries.truncate(shares[0] + 1);
            }),
            StepId::Shares,
        )
        .rule("V12.4"),
        Case::fail(
            "v13-result-counted-ballots-changed",
            "A malicious operator adds one to the result's counted_ballots and re-signs the \
             log: the result must count the ballots the tally counted (05 §5.3, V13.1).",
            edit_resigned(h, |r| {
                if let Payload::ResultPublished { result } = &mut r.entries[result].payload {
                    result.counted_ballots += 1;
                }
            }),
            StepId::Result,
        )
        .rule("V13.1")
        .resigned()
        .at(r1_at(result)),
        Case::fail(
            "v13-result-naming-a-trustee-without-a-share",
            "A malicious operator lists trustee 2, who published no decryption share, among \
             the result's trustees in place of the trustee whose share was used, and \
             re-signs the log: every trustee the result names has a valid share earlier in \
             the log (06 §6.9, V13.2).",
            edit_resigned(h, |r| {
                if let Payload::ResultPublished { result } = &mut r.entries[result].payload {
                    let last = result.trustees.len() - 1;
                    result.trustees[last] = 2;
                }
            }),
            StepId::Result,
        )
        .rule("V13.2")
        .resigned()
        .at(Location::Trustee {
            referendum: "r1".into(),
            trustee: 2,
            leaf: Some(result as u64),
        }),
    ]
}

/// V14.3.
fn receipts(w: &Honest) -> Vec<Case> {
    let mut rs = w.receipts.clone();
    rs[0].entry_timestamp_ms += 1;
    rs[0] = rs[0].clone().sign(&w.board_key);
    vec![Case::fail(
        "v14-receipt-with-another-entry-timestamp",
        "The board hands the voter a receipt, validly signed with its key and with a \
         correct inclusion proof, whose entry timestamp is one millisecond later than that \
         of the ballot's leaf in the record: the record's leaf must be exactly the entry \
         the receipt describes (08 §8.5, V14.3).",
        w.record.clone(),
        StepId::Receipts,
    )
    .rule("V14.3")
    .only()
    .with_receipts(rs)
    .at(Location::Receipt {
        name: "receipts/0.json".into(),
    })]
}
