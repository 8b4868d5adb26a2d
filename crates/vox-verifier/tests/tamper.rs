//! The tampered corpus: each edit of the honest record is caught by the step that owns
//! the rule it breaks. Edits marked "re-signed" are what a dishonest server holding the
//! board key would publish (it re-signs every tree head over the edited log), so the
//! log checks V2/V3 pass and the semantic step must catch the edit on its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::credential::{Credential, CredentialPublicKey};
use vox_crypto::threshold::{DecryptionShare, TrusteeIndex, TrusteeKeys};
use vox_crypto::{Hash32, Point, Scalar};
use vox_protocol::ballot::{encrypt_ballot, Ballot, BallotContext};
use vox_protocol::board::{BoardEntry, BoardPublicKey, Payload, Sig, SignedTreeHead, TreeHead};
use vox_protocol::ceremony::DecryptionShareMessage;
use vox_protocol::electorate::{Electorate, EnrolmentRequest};
use vox_protocol::encoding::{human_code, Hashable};
use vox_protocol::enrolment::{EnrolmentCode, EnrolmentOpening};
use vox_protocol::manifest::QuestionKind;
use vox_protocol::merkle::NodeHash;
use vox_protocol::petition::{
    Moderation, PetitionPolicy, PetitionSignature, SignatureAction, ThresholdKind,
};
use vox_protocol::roles::{Role, RoleSigners};
use vox_verifier::report::{Failure, Location, Report};
use vox_verifier::synth::{
    honest, honest_with, manifest, question, rotation, Enrolment, Honest, SynthRecord, T0,
};
use vox_verifier::{
    verify_record, MemorySource, NoProgress, Options, Status, StepId, TrustAnchors, Verdict,
};

fn base() -> &'static Honest {
    static BASE: OnceLock<Honest> = OnceLock::new();
    BASE.get_or_init(|| honest(11, 0).unwrap())
}

/// The same scenario with the electorate registered whole (`electorate-registered`).
fn registered_base() -> &'static Honest {
    static BASE: OnceLock<Honest> = OnceLock::new();
    BASE.get_or_init(|| honest_with(12, 0, Enrolment::Registered).unwrap())
}

fn verify_source(src: &MemorySource) -> Report {
    verify_record(src, Options::default(), &mut NoProgress).unwrap()
}

fn verify(rec: &SynthRecord) -> Report {
    verify_source(&rec.source().unwrap())
}

/// The edited record must fail `step`; with `resigned`, the log steps must still pass.
fn expect(rec: &SynthRecord, step: StepId, resigned: bool) -> Report {
    let report = verify(rec);
    let text = report.to_human();
    assert_eq!(report.verdict(), Verdict::Fail, "{text}");
    assert_eq!(
        report.status(step),
        Status::Fail,
        "expected {step} to fail:\n{text}"
    );
    if resigned {
        for s in [StepId::Record, StepId::Log, StepId::TreeHeads] {
            assert_eq!(report.status(s), Status::Pass, "{s} should pass:\n{text}");
        }
    }
    report
}

fn edit(f: impl FnOnce(&mut SynthRecord)) -> SynthRecord {
    let mut rec = base().record.clone();
    f(&mut rec);
    rec
}

fn edit_resigned(f: impl FnOnce(&mut SynthRecord)) -> SynthRecord {
    let mut rec = edit(f);
    rec.resign(&base().board_key, &[]);
    rec
}

fn ballots(rec: &SynthRecord) -> Vec<usize> {
    rec.find_all(|p| matches!(p, Payload::BallotCast { .. }))
}

fn ballot_mut(rec: &mut SynthRecord, i: usize) -> &mut vox_protocol::ballot::Ballot {
    match &mut rec.entries[i].payload {
        Payload::BallotCast { ballot } => ballot,
        _ => panic!("not a ballot"),
    }
}

/// Insert `payload` before entry `at`, with the timestamp of the entry before it.
fn insert(rec: &mut SynthRecord, at: usize, payload: Payload) {
    let ts = rec.entries[at - 1].timestamp_ms;
    rec.entries.insert(
        at,
        BoardEntry {
            timestamp_ms: ts,
            payload,
        },
    );
}

/// A dishonest server that moves entries also restamps them to keep time monotonic.
fn restamp(rec: &mut SynthRecord) {
    let mut last = i64::MIN;
    for e in &mut rec.entries {
        e.timestamp_ms = e.timestamp_ms.max(last);
        last = e.timestamp_ms;
    }
}

fn closed_at(rec: &SynthRecord) -> usize {
    rec.find(|p| {
        matches!(
            p,
            Payload::ReferendumClosed { .. } | Payload::ReferendumClosedEarly { .. }
        )
    })
    .unwrap()
}

fn failure_locations(report: &Report, step: StepId) -> Vec<Location> {
    report
        .step(step)
        .unwrap()
        .failures
        .iter()
        .map(|f| f.location.clone())
        .collect()
}

fn g() -> Point {
    Point::generator()
}

// ---- no false alarms --------------------------------------------------------------

#[test]
fn untouched_and_resigned_records_pass() {
    assert_eq!(verify(&base().record).verdict(), Verdict::Pass);
    // Re-signing an unedited record changes nothing the verifier cares about.
    let rec = edit_resigned(|_| {});
    assert_eq!(
        verify(&rec).verdict(),
        Verdict::Pass,
        "{}",
        verify(&rec).to_human()
    );
}

// ---- ballots (V10), tally (V11) -------------------------------------------------------

#[test]
fn altered_ciphertext_is_caught_by_v10() {
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        leaf = ballots(r)[3];
        let b = ballot_mut(r, leaf);
        b.answers[0].ciphertexts[0].b = b.answers[0].ciphertexts[0].b + g();
    });
    let report = expect(&rec, StepId::Ballots, true);
    // The culprit is named by its leaf.
    assert!(failure_locations(&report, StepId::Ballots)
        .iter()
        .any(|l| matches!(l, Location::Ballot { leaf: x, .. } if *x == leaf as u64)));
}

#[test]
fn altered_proof_response_is_caught_by_v10() {
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        leaf = ballots(r)[1];
        let b = ballot_mut(r, leaf);
        let p = &mut b.answers[1].selection_proofs[2];
        p.z0 = p.z0 + Scalar::ONE;
    });
    let report = expect(&rec, StepId::Ballots, true);
    let locs = failure_locations(&report, StepId::Ballots);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert!(matches!(&locs[0], Location::Ballot { leaf: x, .. } if *x == leaf as u64));
}

#[test]
fn altered_signature_is_caught_by_v10() {
    let rec = edit_resigned(|r| {
        let i = ballots(r)[0];
        let b = ballot_mut(r, i);
        b.signature.0.z = b.signature.0.z + Scalar::ONE;
    });
    expect(&rec, StepId::Ballots, true);
}

#[test]
fn removed_ballot_is_caught_by_v11() {
    let rec = edit_resigned(|r| {
        let i = ballots(r)[0];
        r.entries.remove(i);
    });
    expect(&rec, StepId::Tally, true);
}

#[test]
fn duplicated_ballot_is_caught_by_v10() {
    let rec = edit_resigned(|r| {
        let i = ballots(r)[4];
        let dup = r.entries[i].clone();
        r.entries.insert(i + 1, dup);
    });
    expect(&rec, StepId::Ballots, true);
}

#[test]
fn ballot_without_credential_is_caught_by_v10() {
    let h = base();
    let rec = edit_resigned(|r| {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let outsider = Credential::generate(&mut rng);
        let ctx = BallotContext::new(&h.manifest, *h.joint.election_key());
        let choices = vec![vec![1, 0], vec![1, 0, 0], vec![1, 0, 0], vec![3, 3]];
        let (ballot, _) = encrypt_ballot(&ctx, &outsider, &choices, None, &mut rng).unwrap();
        let at = closed_at(r);
        insert(r, at, Payload::BallotCast { ballot });
    });
    let report = expect(&rec, StepId::Ballots, true);
    let first = &report.step(StepId::Ballots).unwrap().failures[0];
    assert!(first.message.contains("not in the electorate"), "{first}");
}

#[test]
fn ballot_copied_under_another_credential_is_caught_by_v10() {
    let h = base();
    let rec = edit_resigned(|r| {
        let i = ballots(r)[0];
        let mut copy = match &r.entries[i].payload {
            Payload::BallotCast { ballot } => ballot.clone(),
            _ => unreachable!(),
        };
        // Voter 15 never voted: the copy would be their only, counted, ballot.
        copy.credential = h.credentials[15].public_key();
        let at = closed_at(r);
        insert(r, at, Payload::BallotCast { ballot: copy });
    });
    expect(&rec, StepId::Ballots, true);
}

#[test]
fn ballot_for_another_manifest_is_caught_by_v10() {
    let rec = edit_resigned(|r| {
        let i = ballots(r)[2];
        ballot_mut(r, i).manifest_hash = Hash32([7; 32]);
    });
    let report = expect(&rec, StepId::Ballots, true);
    let first = &report.step(StepId::Ballots).unwrap().failures[0];
    assert!(first.message.contains("another referendum"), "{first}");
}

#[test]
fn audited_ballot_that_is_also_cast_is_caught_by_v10() {
    let rec = edit_resigned(|r| {
        let a = r
            .find(|p| matches!(p, Payload::BallotAudited { .. }))
            .unwrap();
        let ballot = match &r.entries[a].payload {
            Payload::BallotAudited { audited } => audited.ballot.clone(),
            _ => unreachable!(),
        };
        let at = closed_at(r);
        insert(r, at, Payload::BallotCast { ballot });
    });
    expect(&rec, StepId::Ballots, true);
}

#[test]
fn ballot_after_close_is_caught_by_v9() {
    let rec = edit_resigned(|r| {
        let i = *ballots(r).last().unwrap();
        let e = r.entries.remove(i);
        let at = closed_at(r) + 1;
        insert(r, at, e.payload);
    });
    expect(&rec, StepId::Lifecycle, true);
}

#[test]
fn changed_tally_is_caught_by_v11() {
    let rec = edit_resigned(|r| {
        let i = r
            .find(|p| matches!(p, Payload::TallyComputed { .. }))
            .unwrap();
        if let Payload::TallyComputed { tally } = &mut r.entries[i].payload {
            tally.ciphertexts[0].b = tally.ciphertexts[0].b + g();
        }
    });
    expect(&rec, StepId::Tally, true);
    let rec = edit_resigned(|r| {
        let i = r
            .find(|p| matches!(p, Payload::TallyComputed { .. }))
            .unwrap();
        if let Payload::TallyComputed { tally } = &mut r.entries[i].payload {
            tally.counted_ballots += 1;
        }
    });
    expect(&rec, StepId::Tally, true);
}

// ---- shares (V12), result (V13), ceremony (V8) --------------------------------------

#[test]
fn result_changed_by_one_is_caught_by_v13() {
    let rec = edit_resigned(|r| {
        let i = r
            .find(|p| matches!(p, Payload::ResultPublished { .. }))
            .unwrap();
        if let Payload::ResultPublished { result } = &mut r.entries[i].payload {
            result.counts[1][0] += 1;
        }
    });
    let report = expect(&rec, StepId::Result, true);
    let msg = &report.step(StepId::Result).unwrap().failures[0].message;
    assert!(msg.contains("decrypt the tally to"), "{msg}");
    // Shifting a yes-no vote keeps the shape but not the decryption.
    let rec = edit_resigned(|r| {
        let i = r
            .find(|p| matches!(p, Payload::ResultPublished { .. }))
            .unwrap();
        if let Payload::ResultPublished { result } = &mut r.entries[i].payload {
            result.counts[0][0] += 1;
            result.counts[0][1] -= 1;
        }
    });
    expect(&rec, StepId::Result, true);
}

fn first_share(r: &SynthRecord) -> (usize, DecryptionShareMessage) {
    let i = r
        .find(|p| matches!(p, Payload::DecryptionShare { .. }))
        .unwrap();
    match &r.entries[i].payload {
        Payload::DecryptionShare { share } => (i, share.clone()),
        _ => unreachable!(),
    }
}

#[test]
fn share_from_a_non_trustee_is_caught_by_v12() {
    let h = base();
    let rec = edit_resigned(|r| {
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
    });
    let report = expect(&rec, StepId::Shares, true);
    assert!(failure_locations(&report, StepId::Shares)
        .iter()
        .any(|l| matches!(l, Location::Trustee { trustee: 4, .. })));
}

#[test]
fn share_with_a_bad_proof_is_caught_by_v12_naming_the_trustee() {
    let h = base();
    let rec = edit_resigned(|r| {
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
    });
    let report = expect(&rec, StepId::Shares, true);
    let (_, msg) = first_share(&base().record);
    let t = msg.share.trustee.get();
    assert!(failure_locations(&report, StepId::Shares)
        .iter()
        .any(|l| matches!(l, Location::Trustee { trustee, .. } if *trustee == t)));
    // The result used that share, so it is not proven either.
    assert_eq!(report.status(StepId::Result), Status::Fail);
}

#[test]
fn published_election_key_differing_from_the_ceremony_is_caught_by_v8() {
    let rec = edit_resigned(|r| {
        let i = r
            .find(|p| matches!(p, Payload::CeremonyCompleted { .. }))
            .unwrap();
        if let Payload::CeremonyCompleted { public_shares, .. } = &mut r.entries[i].payload {
            public_shares[0] = public_shares[0] + g();
        }
    });
    expect(&rec, StepId::Ceremony, true);
}

#[test]
fn ceremony_message_out_of_order_is_caught_by_v8() {
    let rec = edit_resigned(|r| {
        let msgs = r.find_all(|p| matches!(p, Payload::Ceremony { .. }));
        // Move the first reveal before the last commitment.
        let reveal = r.entries.remove(msgs[3]);
        r.entries.insert(msgs[2], reveal);
        restamp(r);
    });
    expect(&rec, StepId::Ceremony, true);
}

// ---- the log (V2), tree heads (V3) ---------------------------------------------------

#[test]
fn changed_leaf_is_caught_by_v2() {
    let rec = edit(|r| {
        let i = r
            .find(|p| matches!(p, Payload::PetitionResponded { .. }))
            .unwrap();
        if let Payload::PetitionResponded { text, .. } = &mut r.entries[i].payload {
            text.push_str(" Maybe.");
        }
    });
    expect(&rec, StepId::Log, false);
}

#[test]
fn dropped_leaf_is_caught_by_v2() {
    let rec = edit(|r| {
        r.entries.remove(20);
    });
    expect(&rec, StepId::Log, false);
}

#[test]
fn reordered_leaves_are_caught_by_v2() {
    let rec = edit(|r| {
        let b = ballots(r);
        r.entries.swap(b[0], b[1]);
    });
    expect(&rec, StepId::Log, false);
}

#[test]
fn corrupt_entry_line_is_caught_by_v2() {
    let mut src = base().record.source().unwrap();
    let i = ballots(&base().record)[0];
    // Flip one hex digit of a point: not a canonical encoding any more, or another point.
    let line = &mut src.entries[i];
    let pos = line.find("\"a\":\"").unwrap() + 6;
    let c = line.as_bytes()[pos];
    let flipped = if c == b'0' { "1" } else { "0" };
    line.replace_range(pos..pos + 1, flipped);
    let report = verify_source(&src);
    assert_eq!(
        report.status(StepId::Log),
        Status::Fail,
        "{}",
        report.to_human()
    );
}

#[test]
fn forged_tree_head_signature_is_caught_by_v3() {
    let rec = edit(|r| {
        let mut bytes = r.heads[2].signature.0.to_bytes();
        bytes[5] ^= 1;
        r.heads[2].signature.0 = ed25519_dalek::Signature::from_bytes(&bytes);
    });
    expect(&rec, StepId::TreeHeads, false);
}

#[test]
fn two_heads_of_one_size_with_different_roots_are_caught_by_v2() {
    let h = base();
    let rec = edit(|r| {
        let orig = r.heads[3].head;
        let fork = SignedTreeHead::sign(
            TreeHead {
                tree_size: orig.tree_size,
                root_hash: NodeHash([9; 32]),
                timestamp_ms: orig.timestamp_ms,
            },
            &h.board_key,
        );
        r.heads.insert(4, fork);
    });
    let report = expect(&rec, StepId::Log, false);
    let faults = &report.step(StepId::Log).unwrap().failures;
    assert!(
        faults.iter().any(|f| f.message.contains("equivocation")),
        "{faults:?}"
    );
    // Both heads are validly signed: V3 has nothing to object to.
    assert_eq!(report.status(StepId::TreeHeads), Status::Pass);
}

#[test]
fn head_not_covering_the_record_is_caught_by_v2() {
    let rec = edit(|r| {
        r.heads.pop();
    });
    expect(&rec, StepId::Log, false);
}

// ---- petitions (V6) -----------------------------------------------------------------

#[test]
fn inflated_petition_count_is_caught_by_v6() {
    let rec = edit_resigned(|r| {
        let i = r
            .find(|p| matches!(p, Payload::PetitionClosed { .. }))
            .unwrap();
        if let Payload::PetitionClosed { count, .. } = &mut r.entries[i].payload {
            *count += 1;
        }
    });
    expect(&rec, StepId::Petitions, true);
    let rec = edit_resigned(|r| {
        let i = r
            .find(|p| {
                matches!(
                    p,
                    Payload::PetitionThreshold {
                        kind: ThresholdKind::Referendum,
                        ..
                    }
                )
            })
            .unwrap();
        if let Payload::PetitionThreshold { count, .. } = &mut r.entries[i].payload {
            *count += 1;
        }
    });
    expect(&rec, StepId::Petitions, true);
}

#[test]
fn duplicated_petition_signature_is_caught_by_v6() {
    let rec = edit_resigned(|r| {
        let i = r.find_all(|p| matches!(p, Payload::PetitionSigned { .. }))[5];
        let dup = r.entries[i].clone();
        r.entries.insert(i + 1, dup);
    });
    expect(&rec, StepId::Petitions, true);
}

#[test]
fn missing_threshold_entry_is_caught_by_v6() {
    let rec = edit_resigned(|r| {
        let i = r
            .find(|p| {
                matches!(
                    p,
                    Payload::PetitionThreshold {
                        kind: ThresholdKind::Referendum,
                        ..
                    }
                )
            })
            .unwrap();
        r.entries.remove(i);
    });
    expect(&rec, StepId::Petitions, true);
}

#[test]
fn early_threshold_entry_is_caught_by_v6() {
    let rec = edit_resigned(|r| {
        let i = r
            .find(|p| {
                matches!(
                    p,
                    Payload::PetitionThreshold {
                        kind: ThresholdKind::Referendum,
                        ..
                    }
                )
            })
            .unwrap();
        // Move it before the signature that crossed it.
        let e = r.entries.remove(i);
        r.entries.insert(i - 1, e);
        restamp(r);
    });
    expect(&rec, StepId::Petitions, true);
}

#[test]
fn forged_petition_signature_is_caught_by_v6() {
    let rec = edit_resigned(|r| {
        let i = r.find_all(|p| matches!(p, Payload::PetitionSigned { .. }))[3];
        if let Payload::PetitionSigned { signature } = &mut r.entries[i].payload {
            signature.signature.0.z = signature.signature.0.z + Scalar::ONE;
        }
    });
    let report = expect(&rec, StepId::Petitions, true);
    assert!(failure_locations(&report, StepId::Petitions)
        .iter()
        .any(|l| matches!(l, Location::Petition { leaf: Some(_), .. })));
}

// ---- the header (V1) -----------------------------------------------------------------

#[test]
fn header_with_its_own_generators_is_refused_by_v1() {
    let mut src = base().record.source().unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&src.header).unwrap();
    v["generators"] = serde_json::json!({"H": Point::generator().to_hex()});
    src.header = v.to_string();
    let report = verify_source(&src);
    assert_eq!(report.status(StepId::Record), Status::Fail);
    assert_eq!(report.status(StepId::Ballots), Status::NotChecked);
    assert_eq!(report.verdict(), Verdict::Fail);
}

#[test]
fn header_with_a_wrong_log_id_is_refused_by_v1() {
    let rec = edit(|r| r.header.log_id = Hash32([3; 32]));
    expect(&rec, StepId::Record, false);
}

#[test]
fn header_naming_an_unknown_referendum_fails_v1() {
    let rec = edit(|r| r.header.referendum_id = Some("nope".into()));
    expect(&rec, StepId::Record, false);
}

#[test]
fn manifest_carrying_its_own_generators_is_refused_by_v1() {
    let mut src = base().record.source().unwrap();
    let i = base()
        .record
        .find(|p| matches!(p, Payload::ReferendumCreated { .. }))
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&src.entries[i]).unwrap();
    v["payload"]["manifest"]["generators"] = serde_json::json!({"H": g().to_hex()});
    src.entries[i] = v.to_string();
    let report = verify_source(&src);
    assert_eq!(
        report.status(StepId::Record),
        Status::Fail,
        "{}",
        report.to_human()
    );
    let f = &report.step(StepId::Record).unwrap().failures[0];
    assert!(f.message.contains("/payload/manifest/generators"), "{f}");
    // A null optional field is not an extra field.
    let mut src = base().record.source().unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&src.entries[i]).unwrap();
    v["payload"]["manifest"]["source_petition"] = serde_json::Value::Null;
    src.entries[i] = v.to_string();
    // (This changes the manifest's source petition, so other steps may object; V1 not.)
    assert_eq!(verify_source(&src).status(StepId::Record), Status::Pass);
}

// ---- genesis, roles and authority signatures (V4) --------------------------------------

/// The edited, re-signed record fails V4 and nothing else; V1–V3 pass.
fn expect_only_v4(rec: &SynthRecord) -> Report {
    let report = verify(rec);
    let text = report.to_human();
    assert_eq!(report.verdict(), Verdict::Fail, "{text}");
    assert_eq!(report.failed_steps(), vec![StepId::Roles], "{text}");
    report
}

fn v4_failures(report: &Report) -> Vec<Failure> {
    report.step(StepId::Roles).unwrap().failures.clone()
}

fn log_id() -> Hash32 {
    base().roles.log_id()
}

/// Flip one bit of an act's signature.
fn flip_act_signature(payload: &mut Payload) {
    let act = payload.act_mut().expect("not an act");
    let mut bytes = act.signature.0.to_bytes();
    bytes[9] ^= 0x10;
    act.signature = Sig(ed25519_dalek::Signature::from_bytes(&bytes));
}

fn find_kind(rec: &SynthRecord, kind: &str) -> usize {
    rec.find(|p| p.kind() == kind).unwrap()
}

#[test]
fn act_signed_by_wrong_role_is_caught_by_v4() {
    let h = base();
    // The petition office's publication of p1, signed by the election authority.
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        leaf = r
            .find(|p| {
                matches!(
                    p,
                    Payload::PetitionModerated {
                        moderation: Moderation::Publish { .. },
                        ..
                    }
                )
            })
            .unwrap();
        let p = &mut r.entries[leaf].payload;
        let at = p.act().unwrap().issued_at_ms;
        p.sign_act(&log_id(), at, &h.roles.election_authority)
            .unwrap();
    });
    let report = expect_only_v4(&rec);
    let f = v4_failures(&report);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: leaf as u64,
            role: Role::PetitionsOffice
        }
    );
    assert!(f[0].message.contains("petitions-office"), "{}", f[0]);
    // The operator cannot register an electorate in the registrar's name either.
    let registered = registered_base();
    let mut rec = registered.record.clone();
    let i = find_kind(&rec, "electorate-registered");
    let p = &mut rec.entries[i].payload;
    let at = p.act().unwrap().issued_at_ms;
    p.sign_act(&registered.roles.log_id(), at, &registered.board_key)
        .unwrap();
    rec.resign(&registered.board_key, &[]);
    let report = expect_only_v4(&rec);
    let f = v4_failures(&report);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: i as u64,
            role: Role::Registrar
        }
    );
}

/// The registrar's enrolment acts (opening, revocation, freeze), signed by another role
/// or with a forged signature, fail V4 and nothing else.
#[test]
fn enrolment_acts_signed_by_wrong_role_or_forged_are_caught_by_v4() {
    let h = base();
    for kind in [
        "enrolment-opened",
        "credential-revoked",
        "electorate-frozen",
    ] {
        for (how, key) in [
            ("operator", Some(&h.board_key)),
            ("election authority", Some(&h.roles.election_authority)),
            ("forged", None),
        ] {
            let mut leaf = 0;
            let rec = edit_resigned(|r| {
                leaf = find_kind(r, kind);
                let p = &mut r.entries[leaf].payload;
                match key {
                    Some(k) => {
                        let at = p.act().unwrap().issued_at_ms;
                        p.sign_act(&log_id(), at, k).unwrap();
                    }
                    None => flip_act_signature(p),
                }
            });
            let report = expect_only_v4(&rec);
            let f = v4_failures(&report);
            assert_eq!(f.len(), 1, "{kind} {how}: {f:?}");
            assert_eq!(
                f[0].location,
                Location::Act {
                    leaf: leaf as u64,
                    role: Role::Registrar
                },
                "{kind} {how}"
            );
            assert!(f[0].message.contains("does not verify"), "{}", f[0]);
        }
    }
}

#[test]
fn forged_act_signature_is_caught_by_v4() {
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        leaf = find_kind(r, "referendum-opened");
        flip_act_signature(&mut r.entries[leaf].payload);
    });
    let report = expect_only_v4(&rec);
    let f = v4_failures(&report);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: leaf as u64,
            role: Role::ElectionAuthority
        }
    );
    // A changed decision under the old signature: the same.
    let rec = edit_resigned(|r| {
        let i = find_kind(r, "petition-responded");
        if let Payload::PetitionResponded { text, .. } = &mut r.entries[i].payload {
            *text = "The council will do nothing.".into();
        }
    });
    let f = v4_failures(&expect_only_v4(&rec));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("does not verify"), "{}", f[0]);
}

#[test]
fn replayed_act_is_caught_by_v4() {
    let mut first = 0;
    let rec = edit_resigned(|r| {
        first = find_kind(r, "referendum-closed-early");
        let copy = r.entries[first].payload.clone();
        insert(r, first + 1, copy);
    });
    let report = expect(&rec, StepId::Roles, true);
    let f = v4_failures(&report);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: first as u64 + 1,
            role: Role::ElectionAuthority
        }
    );
    assert!(
        f[0].message.contains("replay") && f[0].message.contains(&format!("leaf {first}")),
        "{}",
        f[0]
    );
}

/// A dishonest operator rewrites the log under its own fresh key: header, genesis
/// operator key and every tree head. It can sign as the operator, not as the roles.
fn resigned_by_other_operator(change_genesis: bool) -> (SynthRecord, SigningKey) {
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let other = SigningKey::generate(&mut rng);
    let board = BoardPublicKey(other.verifying_key());
    let mut rec = base().record.clone();
    if change_genesis {
        if let Payload::Genesis { genesis } = &mut rec.entries[0].payload {
            genesis.keys.operator = board;
            genesis.sign(&other).unwrap();
        }
    }
    rec.header.board_public_key = board;
    rec.header.log_id = board.log_id();
    rec.resign(&other, &[]);
    (rec, other)
}

#[test]
fn resigned_by_other_operator_is_caught_by_v4() {
    let (rec, _) = resigned_by_other_operator(true);
    let report = expect_only_v4(&rec);
    let f = v4_failures(&report);
    assert_eq!(f.len(), 1, "one clear failure, not one per act: {f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: 0 });
    assert!(f[0].message.contains("genesis is not valid"), "{}", f[0]);
    assert!(report
        .step(StepId::Roles)
        .unwrap()
        .detail
        .contains("not verifiable"));
    // Keeping the roles' genesis does not help: it names the real operator.
    let (rec, other) = resigned_by_other_operator(false);
    let f = v4_failures(&expect_only_v4(&rec));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: 0 });
    assert!(
        f[0].message
            .contains(&BoardPublicKey(other.verifying_key()).to_hex()),
        "{}",
        f[0]
    );
}

#[test]
fn resigned_by_other_operator_with_the_board_key_pinned_fails_v1() {
    let (rec, other) = resigned_by_other_operator(true);
    let original = BoardPublicKey(base().board_key.verifying_key());
    let options = Options {
        trust: TrustAnchors {
            board_public_key: Some(original),
            ..TrustAnchors::default()
        },
        ..Options::default()
    };
    let report = verify_record(&rec.source().unwrap(), options, &mut NoProgress).unwrap();
    assert_eq!(
        report.status(StepId::Record),
        Status::Fail,
        "{}",
        report.to_human()
    );
    let f = &report.step(StepId::Record).unwrap().failures[0];
    assert_eq!(
        f.message,
        format!(
            "board key mismatch: pinned {}, record {}",
            original.to_hex(),
            BoardPublicKey(other.verifying_key()).to_hex()
        )
    );
    // The honest record with the right key pinned passes.
    let options = Options {
        trust: TrustAnchors {
            board_public_key: Some(original),
            ..TrustAnchors::default()
        },
        ..Options::default()
    };
    let report = verify_record(&base().record.source().unwrap(), options, &mut NoProgress).unwrap();
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
}

#[test]
fn regenesis_by_fresh_roles_passes_unpinned_and_fails_v4_with_pinned_role_keys() {
    let h = base();
    let mut rng = ChaCha20Rng::seed_from_u64(78);
    let fresh = RoleSigners::generate(&mut rng);
    let mut rec = h.record.clone();
    rec.regenesis(&fresh).unwrap();
    rec.resign(&fresh.operator, &[]);
    // Consistent on its own: only keys learned elsewhere can tell.
    let report = verify(&rec);
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
    let real = h.roles.public_keys();
    let mut trust = TrustAnchors::default();
    for role in [
        Role::Registrar,
        Role::PetitionsOffice,
        Role::ElectionAuthority,
    ] {
        trust.pin(role, *real.get(role)).unwrap();
    }
    let options = Options {
        trust: trust.clone(),
        ..Options::default()
    };
    let report = verify_record(&rec.source().unwrap(), options, &mut NoProgress).unwrap();
    assert_eq!(
        report.failed_steps(),
        vec![StepId::Roles],
        "{}",
        report.to_human()
    );
    let f = v4_failures(&report);
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(f.iter().all(|f| f.location == Location::Leaf { index: 0 }));
    assert_eq!(
        f[0].message,
        format!(
            "registrar key mismatch: pinned {}, genesis {}",
            real.registrar.to_hex(),
            fresh.public_keys().registrar.to_hex()
        )
    );
    // The honest record passes with the same pins.
    let options = Options {
        trust,
        ..Options::default()
    };
    let report = verify_record(&h.record.source().unwrap(), options, &mut NoProgress).unwrap();
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
}

#[test]
fn leaf_0_that_is_not_a_genesis_is_caught_by_v4() {
    let rec = edit_resigned(|r| {
        r.entries.remove(0);
    });
    let f = v4_failures(&expect_only_v4(&rec));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: 0 });
    assert!(f[0].message.contains("not the genesis"), "{}", f[0]);
    // A genesis short of one role's signature is not valid.
    let rec = edit_resigned(|r| {
        if let Payload::Genesis { genesis } = &mut r.entries[0].payload {
            genesis
                .signatures
                .retain(|s| s.role != Role::ElectionAuthority);
        }
    });
    let f = v4_failures(&expect_only_v4(&rec));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: 0 });
    assert!(f[0].message.contains("election-authority"), "{}", f[0]);
}

#[test]
fn second_genesis_is_caught_by_v4() {
    let mut at = 0;
    let rec = edit_resigned(|r| {
        let genesis = r.entries[0].payload.clone();
        at = find_kind(r, "referendum-created");
        insert(r, at, genesis);
    });
    let f = v4_failures(&expect_only_v4(&rec));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, Location::Leaf { index: at as u64 });
    assert!(f[0].message.contains("second genesis"), "{}", f[0]);
}

#[test]
fn rotation_with_bad_possession_is_caught_by_v4() {
    let h = base();
    let mut rng = ChaCha20Rng::seed_from_u64(79);
    let new_key = SigningKey::generate(&mut rng);
    let someone_else = SigningKey::generate(&mut rng);
    let rec = edit_resigned(|r| {
        // The possession proof is made by another key than the one rotated to.
        let mut p = rotation(&log_id(), Role::Registrar, &someone_else).unwrap();
        if let Payload::RoleKeyRotated { new_key: k, .. } = &mut p {
            *k = BoardPublicKey(new_key.verifying_key());
        }
        let p = p.signed_act(&log_id(), T0 + 5, &h.roles.registrar).unwrap();
        insert(r, 2, p);
    });
    let f = v4_failures(&expect_only_v4(&rec));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: 2,
            role: Role::Registrar
        }
    );
    assert!(f[0].message.contains("possession"), "{}", f[0]);
    // The operator key is never rotated within a log.
    let rec = edit_resigned(|r| {
        let p = rotation(&log_id(), Role::Operator, &new_key)
            .unwrap()
            .signed_act(&log_id(), T0 + 5, &h.board_key)
            .unwrap();
        insert(r, 2, p);
    });
    let f = v4_failures(&expect_only_v4(&rec));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("operator key cannot be rotated"),
        "{}",
        f[0]
    );
}

#[test]
fn act_signed_by_the_old_key_after_a_rotation_is_caught_by_v4() {
    let h = base();
    let mut rng = ChaCha20Rng::seed_from_u64(80);
    let new_key = SigningKey::generate(&mut rng);
    let rotate = |r: &mut SynthRecord| -> usize {
        let at = find_kind(r, "petition-responded");
        let p = rotation(&log_id(), Role::PetitionsOffice, &new_key)
            .unwrap()
            .signed_act(&log_id(), T0 + 6, &h.roles.petitions_office)
            .unwrap();
        insert(r, at, p);
        at + 1
    };
    // The response that follows is still signed by the old key.
    let mut leaf = 0;
    let rec = edit_resigned(|r| leaf = rotate(r));
    let f = v4_failures(&expect_only_v4(&rec));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Act {
            leaf: leaf as u64,
            role: Role::PetitionsOffice
        }
    );
    // Signed by the new key, it passes: the rotation took effect.
    let rec = edit_resigned(|r| {
        let i = rotate(r);
        let p = &mut r.entries[i].payload;
        let at = p.act().unwrap().issued_at_ms;
        p.sign_act(&log_id(), at, &new_key).unwrap();
    });
    let report = verify(&rec);
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
}

// ---- enrolment by code, revocation, freezing (V5), standing (V6.6, V10.5) ---------------

/// The edited, re-signed record fails `step` and nothing else.
fn expect_only(rec: &SynthRecord, step: StepId) -> Report {
    let report = verify(rec);
    let text = report.to_human();
    assert_eq!(report.verdict(), Verdict::Fail, "{text}");
    assert_eq!(report.failed_steps(), vec![step], "{text}");
    report
}

fn failures(report: &Report, step: StepId) -> Vec<Failure> {
    report.step(step).unwrap().failures.clone()
}

fn at_town(leaf: usize) -> Location {
    Location::Electorate {
        electorate: "town".into(),
        leaf: Some(leaf as u64),
    }
}

fn enrolment_at(rec: &SynthRecord, i: usize) -> EnrolmentRequest {
    match &rec.entries[i].payload {
        Payload::CredentialEnrolled { enrolment } => enrolment.clone(),
        _ => panic!("not an enrolment"),
    }
}

/// A registrar act signed with the base record's registrar key.
fn registrar(payload: Payload, issued_at_ms: i64) -> Payload {
    payload
        .signed_act(&log_id(), issued_at_ms, &base().roles.registrar)
        .unwrap()
}

/// A ballot for r1 by `credential`, and where the verifier names it.
fn r1_ballot(credential: &Credential, seed: u64) -> Ballot {
    let h = base();
    let ctx = BallotContext::new(&h.manifest, *h.joint.election_key());
    let choices = vec![vec![1, 0], vec![0, 1, 0], vec![1, 0, 0], vec![1, 2]];
    let (ballot, _) = encrypt_ballot(
        &ctx,
        credential,
        &choices,
        None,
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    ballot
}

fn ballot_location(ballot: &Ballot, leaf: usize) -> Location {
    Location::Ballot {
        referendum: "r1".into(),
        leaf: leaf as u64,
        tracking_code: human_code(&ballot.hash()),
    }
}

#[test]
fn honest_record_enrols_by_code_revokes_and_replaces() {
    let rec = &base().record;
    for kind in [
        "enrolment-opened",
        "credential-enrolled",
        "credential-revoked",
        "electorate-frozen",
    ] {
        assert!(rec.find(|p| p.kind() == kind).is_some(), "no {kind}");
    }
    // The replacement enrols after the freeze and votes.
    let frozen = find_kind(rec, "electorate-frozen");
    let revoked = find_kind(rec, "credential-revoked");
    assert!(revoked > frozen);
    let replacement = base().replacement.public_key();
    assert!(
        rec.find_all(
            |p| matches!(p, Payload::BallotCast { ballot } if ballot.credential == replacement)
        )
        .len()
            == 1
    );
    let report = verify(rec);
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
    // 1 opening + 16 enrolments + 1 freeze + 1 revocation + 1 replacement enrolment, and
    // the uses by 2 petitions and 1 manifest.
    assert_eq!(report.step(StepId::Electorates).unwrap().checked, 20 + 3);
}

#[test]
fn honest_record_with_a_registered_electorate_passes() {
    let h = registered_base();
    assert!(h.record.find(|p| p.kind() == "enrolment-opened").is_none());
    assert!(h
        .record
        .find(|p| p.kind() == "credential-revoked")
        .is_some());
    let report = verify(&h.record);
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
}

#[test]
fn enrolment_with_an_uncommitted_code_is_caught_by_v5() {
    let mut rng = ChaCha20Rng::seed_from_u64(40);
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        // Before the freeze, with a valid credential signature: only the code is wrong.
        leaf = find_kind(r, "electorate-frozen");
        let c = Credential::generate(&mut rng);
        let code = EnrolmentCode::generate(&mut rng);
        let enrolment = EnrolmentRequest::create("town", Some("north"), Some(&code), &c, &mut rng);
        insert(r, leaf, Payload::CredentialEnrolled { enrolment });
    });
    let f = failures(&expect_only(&rec, StepId::Electorates), StepId::Electorates);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, at_town(leaf));
    assert!(
        f[0].message.contains("V5.5") && f[0].message.contains("not one the registrar committed"),
        "{}",
        f[0]
    );
}

#[test]
fn code_spent_twice_is_caught_by_v5() {
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    let (mut first, mut leaf) = (0, 0);
    let rec = edit_resigned(|r| {
        first = r
            .find(|p| matches!(p, Payload::CredentialEnrolled { .. }))
            .unwrap();
        let spent = enrolment_at(r, first);
        let code = EnrolmentCode::from_normalised(spent.code.as_deref().unwrap()).unwrap();
        // A second device enrols another key with the same letter.
        let c = Credential::generate(&mut rng);
        let enrolment =
            EnrolmentRequest::create("town", spent.region.as_deref(), Some(&code), &c, &mut rng);
        leaf = find_kind(r, "electorate-frozen");
        insert(r, leaf, Payload::CredentialEnrolled { enrolment });
    });
    let f = failures(&expect_only(&rec, StepId::Electorates), StepId::Electorates);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, at_town(leaf));
    assert!(
        f[0].message.contains("V5.5")
            && f[0]
                .message
                .contains(&format!("already spent at leaf {first}")),
        "{}",
        f[0]
    );
}

#[test]
fn enrolment_with_a_bad_credential_signature_is_caught_by_v5() {
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        leaf = r.find_all(|p| matches!(p, Payload::CredentialEnrolled { .. }))[4];
        if let Payload::CredentialEnrolled { enrolment } = &mut r.entries[leaf].payload {
            enrolment.signature.0.z = enrolment.signature.0.z + Scalar::ONE;
        }
    });
    let report = expect(&rec, StepId::Electorates, true);
    let f = failures(&report, StepId::Electorates);
    assert_eq!(f[0].location, at_town(leaf));
    assert!(f[0].message.contains("signature"), "{}", f[0]);
}

#[test]
fn freeze_naming_a_wrong_hash_is_caught_by_v5() {
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        leaf = find_kind(r, "electorate-frozen");
        let p = &mut r.entries[leaf].payload;
        let at = p.act().unwrap().issued_at_ms;
        if let Payload::ElectorateFrozen {
            electorate_hash, ..
        } = p
        {
            *electorate_hash = Hash32([5; 32]);
        }
        // Correctly signed by the registrar: only the hash is wrong.
        *p = registrar(p.clone(), at);
    });
    let report = expect(&rec, StepId::Electorates, true);
    assert_eq!(report.status(StepId::Roles), Status::Pass);
    let f = failures(&report, StepId::Electorates);
    assert_eq!(f[0].location, at_town(leaf));
    assert!(f[0].message.contains("V5.7"), "{}", f[0]);
    // The electorate never became usable: its petitions and manifest fail V5.3.
    assert!(f[1..].iter().all(|f| f.message.contains("V5.3")), "{f:?}");
}

#[test]
fn revocation_of_a_credential_not_current_is_caught_by_v5() {
    let h = base();
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        // Revoking the revoked credential again.
        let first = find_kind(r, "credential-revoked");
        leaf = first + 1;
        let ts = r.entries[first].timestamp_ms;
        let p = Payload::CredentialRevoked {
            electorate_id: "town".into(),
            credential: h.credentials[h.revoked].public_key(),
            replacement: None,
            reason: "Reported twice.".into(),
            act: vox_protocol::roles::ActSignature::unsigned(),
        };
        insert(r, leaf, registrar(p, ts));
    });
    let f = failures(&expect_only(&rec, StepId::Electorates), StepId::Electorates);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, at_town(leaf));
    assert!(f[0].message.contains("V5.6"), "{}", f[0]);
}

#[test]
fn manifest_naming_an_electorate_still_enrolling_is_caught_by_v5() {
    let h = base();
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        // A second electorate is opened and two citizens enrol, but it is never frozen;
        // a referendum on it is created all the same.
        let end = r.entries.len();
        let ts = r.entries[end - 1].timestamp_ms;
        let (opening, letters) =
            EnrolmentOpening::draw("city", "City", &[(None, 3)], &mut rng).unwrap();
        let mut payloads = vec![registrar(
            Payload::EnrolmentOpened {
                opening,
                act: vox_protocol::roles::ActSignature::unsigned(),
            },
            ts,
        )];
        let mut entries = Vec::new();
        for (region, code) in letters.iter().take(2) {
            let c = Credential::generate(&mut rng);
            let enrolment =
                EnrolmentRequest::create("city", region.as_deref(), Some(code), &c, &mut rng);
            entries.push(enrolment.entry());
            payloads.push(Payload::CredentialEnrolled { enrolment });
        }
        let pending = Electorate {
            id: "city".into(),
            name: "City".into(),
            entries,
        };
        let m = manifest(
            "r2",
            &pending,
            vec![question("q", 2, QuestionKind::YesNo)],
            &h.trustee_keys,
            2,
            ts + vox_verifier::synth::DAY,
            None,
        );
        payloads.push(
            Payload::ReferendumCreated {
                manifest: m,
                act: vox_protocol::roles::ActSignature::unsigned(),
            }
            .signed_act(&log_id(), ts, &h.roles.election_authority)
            .unwrap(),
        );
        for (i, p) in payloads.into_iter().enumerate() {
            insert(r, end + i, p);
        }
        leaf = r.entries.len() - 1;
    });
    let f = failures(&expect_only(&rec, StepId::Electorates), StepId::Electorates);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].location,
        Location::Referendum {
            referendum: "r2".into(),
            leaf: Some(leaf as u64)
        }
    );
    assert!(
        f[0].message.contains("V5.3") && f[0].message.contains("still enrolling"),
        "{}",
        f[0]
    );
}

#[test]
fn ballot_by_a_revoked_credential_is_caught_by_v10() {
    let h = base();
    let revoked = find_kind(&h.record, "credential-revoked");
    let ballot = r1_ballot(&h.credentials[h.revoked], 43);
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        leaf = closed_at(r);
        insert(
            r,
            leaf,
            Payload::BallotCast {
                ballot: ballot.clone(),
            },
        );
    });
    let report = expect(&rec, StepId::Ballots, true);
    let f = failures(&report, StepId::Ballots);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, ballot_location(&ballot, leaf));
    assert!(
        f[0].message.contains("V10.5")
            && f[0]
                .message
                .contains(&format!("revoked by the registrar at leaf {revoked}")),
        "{}",
        f[0]
    );
    // The same ballot before the revocation is an ordinary vote, but then the
    // replacement's vote is the citizen's second one.
    let rec = edit_resigned(|r| {
        insert(
            r,
            revoked,
            Payload::BallotCast {
                ballot: ballot.clone(),
            },
        );
    });
    let report = expect(&rec, StepId::Ballots, true);
    let f = failures(&report, StepId::Ballots);
    let replacement = h.replacement.public_key();
    let second = rec
        .find(|p| matches!(p, Payload::BallotCast { ballot } if ballot.credential == replacement))
        .unwrap();
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        matches!(&f[0].location, Location::Ballot { leaf, .. } if *leaf == second as u64),
        "{f:?}"
    );
    assert!(f[0].message.contains("cast a ballot earlier"), "{}", f[0]);
}

#[test]
fn petition_signature_by_a_revoked_credential_is_caught_by_v6() {
    let h = base();
    let revoked = find_kind(&h.record, "credential-revoked");
    let petition = match &h.record.entries
        [h.record.find(|p| p.kind() == "petition-proposed").unwrap()]
    .payload
    {
        Payload::PetitionProposed { proposal } => proposal.petition.clone(),
        _ => unreachable!(),
    };
    assert_eq!(petition.id, "p1");
    let mut rng = ChaCha20Rng::seed_from_u64(44);
    let sig = PetitionSignature::create(
        &petition,
        &h.credentials[h.revoked],
        SignatureAction::Sign,
        &mut rng,
    );
    let leaf = revoked + 1;
    let rec = edit_resigned(|r| {
        insert(
            r,
            leaf,
            Payload::PetitionSigned {
                signature: sig.clone(),
            },
        )
    });
    let report = expect(&rec, StepId::Petitions, true);
    let f = failures(&report, StepId::Petitions);
    assert_eq!(
        f[0].location,
        Location::Petition {
            petition: "p1".into(),
            leaf: Some(leaf as u64)
        }
    );
    assert!(
        f[0].message.contains("V6.6")
            && f[0]
                .message
                .contains(&format!("revoked by the registrar at leaf {revoked}")),
        "{}",
        f[0]
    );
    // The signature itself verifies: nothing else objects to it at its leaf.
    assert!(f[1..].iter().all(|x| x.location != f[0].location), "{f:?}");
}

/// Revoke voter `voter` (who voted in r1) with a replacement code, enrol a replacement
/// and have it vote: entries inserted before the close. Returns the record, the
/// replacement's ballot and its leaf.
fn replacement_votes_again(voter: usize) -> (SynthRecord, Ballot, usize) {
    let h = base();
    let mut rng = ChaCha20Rng::seed_from_u64(45);
    let old = h.credentials[voter].public_key();
    let region = Some(if voter.is_multiple_of(2) {
        "north"
    } else {
        "south"
    });
    let code = EnrolmentCode::generate(&mut rng);
    let new = Credential::generate(&mut rng);
    let ballot = r1_ballot(&new, 46);
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        let at = closed_at(r);
        let ts = r.entries[at - 1].timestamp_ms;
        let revoke = registrar(
            Payload::CredentialRevoked {
                electorate_id: "town".into(),
                credential: old,
                replacement: Some(code.hash("town", region)),
                reason: "Device stolen.".into(),
                act: vox_protocol::roles::ActSignature::unsigned(),
            },
            ts,
        );
        let enrolment = EnrolmentRequest::create("town", region, Some(&code), &new, &mut rng);
        insert(r, at, revoke);
        insert(r, at + 1, Payload::CredentialEnrolled { enrolment });
        insert(
            r,
            at + 2,
            Payload::BallotCast {
                ballot: ballot.clone(),
            },
        );
        leaf = at + 2;
    });
    (rec, ballot, leaf)
}

fn assert_predecessor_voted(
    f: &[Failure],
    ballot: &Ballot,
    leaf: usize,
    old: &CredentialPublicKey,
) {
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, ballot_location(ballot, leaf));
    assert!(
        f[0].message.contains("V10.5")
            && f[0].message.contains("cast a ballot earlier")
            && f[0].message.contains(&hex::encode(old.to_bytes())),
        "{}",
        f[0]
    );
}

#[test]
fn replacement_voting_where_its_predecessor_voted_is_caught_by_v10() {
    let h = base();
    let voter = 1;
    let (rec, ballot, leaf) = replacement_votes_again(voter);
    let report = expect(&rec, StepId::Ballots, true);
    // V5 accepts the revocation and the enrolment: the fault is the second vote.
    assert_eq!(report.status(StepId::Electorates), Status::Pass);
    let old = h.credentials[voter].public_key();
    assert_predecessor_voted(&failures(&report, StepId::Ballots), &ballot, leaf, &old);
    // The monitor, without pass 1, finds it from the ballots it has seen.
    let mut v = vox_verifier::Verifier::for_monitor(
        BoardPublicKey(h.board_key.verifying_key()),
        TrustAnchors::default(),
    );
    v.push_entries(rec.entries.clone());
    let f: Vec<Failure> = v
        .take_new_failures()
        .into_iter()
        .filter(|(s, _)| *s == StepId::Ballots)
        .map(|(_, f)| f)
        .collect();
    assert_predecessor_voted(&f, &ballot, leaf, &old);
    // A voter who had not voted may be replaced and vote (the honest record does so).
    let (rec, _, _) = replacement_votes_again(14);
    let report = verify(&rec);
    assert_eq!(
        report.status(StepId::Ballots),
        Status::Pass,
        "{}",
        report.to_human()
    );
}

#[test]
fn replacement_ballot_before_its_enrolment_is_caught_by_v10() {
    let h = base();
    let replacement = h.replacement.public_key();
    let mut leaf = 0;
    let mut ballot = None;
    let rec = edit_resigned(|r| {
        let i = r
            .find(
                |p| matches!(p, Payload::BallotCast { ballot } if ballot.credential == replacement),
            )
            .unwrap();
        leaf = r
            .find(|p| matches!(p, Payload::CredentialEnrolled { enrolment } if enrolment.credential == replacement))
            .unwrap();
        let e = r.entries.remove(i);
        if let Payload::BallotCast { ballot: b } = &e.payload {
            ballot = Some(b.clone());
        }
        // After the revocation, just before the replacement's enrolment.
        r.entries.insert(leaf, e);
        restamp(r);
    });
    let report = expect(&rec, StepId::Ballots, true);
    let f = failures(&report, StepId::Ballots);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].location, ballot_location(&ballot.unwrap(), leaf));
    assert!(f[0].message.contains("not in the electorate"), "{}", f[0]);
}

#[test]
fn replacement_signing_a_petition_its_predecessor_signed_is_caught_by_v6() {
    let h = base();
    let voter = 1; // signed p1
    let mut rng = ChaCha20Rng::seed_from_u64(47);
    let old = h.credentials[voter].public_key();
    let code = EnrolmentCode::generate(&mut rng);
    let new = Credential::generate(&mut rng);
    let petition = match &h.record.entries[find_kind(&h.record, "petition-proposed")].payload {
        Payload::PetitionProposed { proposal } => proposal.petition.clone(),
        _ => unreachable!(),
    };
    let sig = PetitionSignature::create(&petition, &new, SignatureAction::Sign, &mut rng);
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        let at = closed_at(r);
        let ts = r.entries[at - 1].timestamp_ms;
        let revoke = registrar(
            Payload::CredentialRevoked {
                electorate_id: "town".into(),
                credential: old,
                replacement: Some(code.hash("town", Some("south"))),
                reason: "Device stolen.".into(),
                act: vox_protocol::roles::ActSignature::unsigned(),
            },
            ts,
        );
        let enrolment =
            EnrolmentRequest::create("town", Some("south"), Some(&code), &new, &mut rng);
        insert(r, at, revoke);
        insert(r, at + 1, Payload::CredentialEnrolled { enrolment });
        insert(
            r,
            at + 2,
            Payload::PetitionSigned {
                signature: sig.clone(),
            },
        );
        leaf = at + 2;
    });
    let report = expect(&rec, StepId::Petitions, true);
    assert_eq!(report.status(StepId::Electorates), Status::Pass);
    let f = failures(&report, StepId::Petitions);
    assert_eq!(
        f[0].location,
        Location::Petition {
            petition: "p1".into(),
            leaf: Some(leaf as u64)
        }
    );
    assert!(
        f[0].message.contains("V6.6")
            && f[0].message.contains("already took part")
            && f[0].message.contains(&hex::encode(old.to_bytes())),
        "{}",
        f[0]
    );
}

// ---- V9.4 early close ------------------------------------------------------------------

/// Replace the honest early close with `payload` (same entry timestamp), signed by the
/// election authority at the original act's `issued_at_ms`: only V9 can catch it.
fn replace_close(r: &mut SynthRecord, payload: impl FnOnce(String) -> Payload) -> usize {
    let at = closed_at(r);
    let (id, issued) = match &r.entries[at].payload {
        Payload::ReferendumClosedEarly {
            referendum_id, act, ..
        } => (referendum_id.clone(), act.issued_at_ms),
        other => panic!("not an early close: {}", other.kind()),
    };
    let log_id = base().roles.log_id();
    r.entries[at].payload = payload(id)
        .signed_act(&log_id, issued, base().roles.key(Role::ElectionAuthority))
        .unwrap();
    at
}

fn v9_messages(report: &Report) -> Vec<String> {
    report
        .step(StepId::Lifecycle)
        .unwrap()
        .failures
        .iter()
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn honest_early_close_is_reported() {
    let report = verify(&base().record);
    assert_eq!(report.verdict(), Verdict::Pass);
    // The early close is in V9's detail (notes) and in the human report.
    let detail = &report.step(StepId::Lifecycle).unwrap().detail;
    assert!(
        detail.contains("closed early")
            && detail.contains(vox_verifier::synth::HONEST_EARLY_CLOSE_REASON),
        "{detail}"
    );
    assert!(report.to_human().contains("closed early"));
}

#[test]
fn early_close_without_reason_is_caught_by_v9() {
    // The election authority closes before closes_at with a plain referendum-closed.
    let rec = edit_resigned(|r| {
        replace_close(r, |referendum_id| Payload::ReferendumClosed {
            referendum_id,
            act: vox_protocol::roles::ActSignature::unsigned(),
        });
    });
    let report = expect(&rec, StepId::Lifecycle, true);
    assert_eq!(report.status(StepId::Roles), Status::Pass);
    let m = v9_messages(&report);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("without a reason"), "{}", m[0]);
}

#[test]
fn blank_early_close_reason_is_caught_by_v9() {
    let rec = edit_resigned(|r| {
        replace_close(r, |referendum_id| Payload::ReferendumClosedEarly {
            referendum_id,
            reason: " \t".into(),
            act: vox_protocol::roles::ActSignature::unsigned(),
        });
    });
    let report = expect(&rec, StepId::Lifecycle, true);
    assert_eq!(report.status(StepId::Roles), Status::Pass);
    let m = v9_messages(&report);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("reason"), "{}", m[0]);
}

#[test]
fn early_close_reason_on_a_close_at_closes_at_is_caught_by_v9() {
    // The close is stamped at closes_at (later entries restamped to keep time
    // monotonic): a reason on a close that is not early.
    let rec = edit_resigned(|r| {
        let at = closed_at(r);
        r.entries[at].timestamp_ms = base().manifest.closes_at;
        restamp(r);
    });
    let report = expect(&rec, StepId::Lifecycle, true);
    assert_eq!(report.status(StepId::Roles), Status::Pass);
    let m = v9_messages(&report);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("not before"), "{}", m[0]);
}

// ---- V6.7 petitions office policy ------------------------------------------------------

/// Replace the honest policy with `edit(policy)`, re-signed by the petitions office at the
/// original act's `issued_at_ms` (so V4 passes and only V6.7 can catch it).
fn replace_policy(r: &mut SynthRecord, edit: impl FnOnce(&mut PetitionPolicy)) -> usize {
    let at = find_kind(r, "petition-policy-set");
    let (mut policy, issued) = match &r.entries[at].payload {
        Payload::PetitionPolicySet { policy, act } => (policy.clone(), act.issued_at_ms),
        other => panic!("not a policy: {}", other.kind()),
    };
    edit(&mut policy);
    let log_id = base().roles.log_id();
    r.entries[at].payload = Payload::PetitionPolicySet {
        policy,
        act: vox_protocol::roles::ActSignature::unsigned(),
    }
    .signed_act(&log_id, issued, base().roles.key(Role::PetitionsOffice))
    .unwrap();
    at
}

#[test]
fn proposal_breaking_the_published_policy_is_caught_by_v6() {
    // p1 asks for a referendum threshold of 6; the office's published minimum becomes 7.
    let mut policy_leaf = 0;
    let rec = edit_resigned(|r| {
        policy_leaf = replace_policy(r, |p| p.min_referendum_threshold = Some(7));
    });
    let report = expect(&rec, StepId::Petitions, true);
    assert_eq!(report.status(StepId::Roles), Status::Pass);
    let f = failures(&report, StepId::Petitions);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("V6.7")
            && f[0].message.contains("referendum_threshold")
            && f[0].message.contains(&format!("leaf {policy_leaf}")),
        "{}",
        f[0]
    );
    let p1 = find_kind(&rec, "petition-proposed");
    assert_eq!(
        f[0].location,
        Location::Petition {
            petition: "p1".into(),
            leaf: Some(p1 as u64)
        }
    );
}

#[test]
fn policy_with_a_maximum_below_its_minimum_is_caught_by_v6() {
    let rec = edit_resigned(|r| {
        replace_policy(r, |p| {
            p.max_open_for_ms = Some(p.min_open_for_ms.unwrap() - 1)
        });
    });
    let report = expect(&rec, StepId::Petitions, true);
    let f = failures(&report, StepId::Petitions);
    assert!(
        f.iter()
            .any(|x| x.message.contains("V6.7") && x.message.contains("max_open_for_ms")),
        "{f:?}"
    );
}

#[test]
fn altered_policy_without_the_office_signature_is_caught_by_v4() {
    // The operator lifts a bound without the petitions office's key.
    let rec = edit_resigned(|r| {
        let at = find_kind(r, "petition-policy-set");
        if let Payload::PetitionPolicySet { policy, .. } = &mut r.entries[at].payload {
            policy.min_referendum_threshold = None;
        }
    });
    expect(&rec, StepId::Roles, true);
}

#[test]
fn a_policy_governs_only_later_proposals() {
    // The same stricter policy, set after both proposals: nothing to judge.
    let rec = edit_resigned(|r| {
        let at = replace_policy(r, |p| p.min_referendum_threshold = Some(1000));
        let entry = r.entries.remove(at);
        let after = r
            .find_all(|p| p.kind() == "petition-proposed")
            .last()
            .copied()
            .unwrap();
        r.entries.insert(after + 1, entry);
        restamp(r);
    });
    let report = verify(&rec);
    assert_eq!(
        report.status(StepId::Petitions),
        Status::Pass,
        "{}",
        report.to_human()
    );
}

// ---- ballot ordering (V10.6) and signed audits (V10.4) ------------------------------------

/// The credential of the first ballot that has no `previous` and no later ballot of its
/// credential, and that ballot's entry.
fn lone_first_ballot(rec: &SynthRecord) -> (usize, CredentialPublicKey) {
    let all = ballots(rec);
    let cred = |i: usize| match &rec.entries[i].payload {
        Payload::BallotCast { ballot } => ballot.credential,
        _ => unreachable!(),
    };
    let i = all
        .iter()
        .copied()
        .find(|&i| all.iter().filter(|&&j| cred(j) == cred(i)).count() == 1)
        .unwrap();
    (i, cred(i))
}

#[test]
fn honest_revote_names_the_ballot_it_supersedes() {
    let rec = &base().record;
    let all = ballots(rec);
    let chained = all.iter().any(|&i| match &rec.entries[i].payload {
        Payload::BallotCast { ballot } => ballot.previous.is_some(),
        _ => false,
    });
    assert!(
        chained,
        "the honest record has a re-vote naming its predecessor"
    );
    assert_eq!(verify(rec).verdict(), Verdict::Pass);
}

#[test]
fn withheld_ballot_posted_after_the_voters_later_ballot_is_caught_by_v10() {
    // A coercer (or the server) holds ballot A, signed by the voter's device but never
    // cast; the voter votes B. Posting A after B must not make A count.
    let h = base();
    let mut leaf = 0;
    let rec = edit_resigned(|r| {
        let (_, cred) = lone_first_ballot(r);
        let credential = h
            .credentials
            .iter()
            .find(|c| c.public_key() == cred)
            .unwrap();
        let withheld = r1_ballot(credential, 77);
        assert_eq!(withheld.previous, None);
        let at = closed_at(r);
        insert(r, at, Payload::BallotCast { ballot: withheld });
        leaf = at;
    });
    let report = expect(&rec, StepId::Ballots, true);
    let f = failures(&report, StepId::Ballots);
    assert!(
        f.iter().any(|f| f.message.contains("V10.6")
            && matches!(&f.location, Location::Ballot { leaf: x, .. } if *x == leaf as u64)),
        "{f:?}"
    );
}

#[test]
fn revote_moved_before_the_ballot_it_supersedes_is_caught_by_v10() {
    let rec = edit_resigned(|r| {
        let all = ballots(r);
        let j = all
            .iter()
            .copied()
            .find(|&i| matches!(&r.entries[i].payload, Payload::BallotCast { ballot } if ballot.previous.is_some()))
            .unwrap();
        let e = r.entries.remove(j);
        let first = ballots(r)[0];
        insert(r, first.max(1), e.payload);
        restamp(r);
    });
    let report = expect(&rec, StepId::Ballots, true);
    assert!(
        failures(&report, StepId::Ballots)
            .iter()
            .any(|f| f.message.contains("V10.6")),
        "{}",
        report.to_human()
    );
}

fn audited_mut(rec: &mut SynthRecord) -> &mut vox_protocol::ballot::AuditedBallot {
    let a = rec
        .find(|p| matches!(p, Payload::BallotAudited { .. }))
        .unwrap();
    match &mut rec.entries[a].payload {
        Payload::BallotAudited { audited } => audited,
        _ => unreachable!(),
    }
}

#[test]
fn audit_in_another_credentials_name_is_caught_by_v10() {
    // The opening still checks (it does not involve the credential), but the ballot is
    // not signed by the credential it names.
    let h = base();
    let rec = edit_resigned(|r| {
        let audited = audited_mut(r);
        let other = h
            .credentials
            .iter()
            .map(|c| c.public_key())
            .find(|k| *k != audited.ballot.credential)
            .unwrap();
        audited.ballot.credential = other;
    });
    let report = expect(&rec, StepId::Ballots, true);
    assert!(
        failures(&report, StepId::Ballots)
            .iter()
            .any(|f| f.message.contains("not signed by its credential")),
        "{}",
        report.to_human()
    );
}

#[test]
fn audit_with_a_forged_signature_is_caught_by_v10() {
    let rec = edit_resigned(|r| {
        let audited = audited_mut(r);
        audited.ballot.signature.0.z = audited.ballot.signature.0.z + Scalar::ONE;
    });
    let report = expect(&rec, StepId::Ballots, true);
    assert!(
        failures(&report, StepId::Ballots)
            .iter()
            .any(|f| f.message.contains("not signed by its credential")),
        "{}",
        report.to_human()
    );
}
