//! Honest records pass every step, with exit status 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use vox_verifier::report::{EXIT_PARTIAL, EXIT_PASS};
use vox_verifier::synth::honest;
use vox_verifier::{verify_record, NamedReceipt, NoProgress, Options, Status, StepId, Verdict};

#[test]
fn honest_record_passes_every_step() {
    let h = honest(1, 0).unwrap();
    let src = h.record.source().unwrap();
    let report = verify_record(&src, Options::default(), &mut NoProgress).unwrap();
    let text = report.to_human();
    println!("{text}");
    assert_eq!(report.verdict(), Verdict::Pass, "{text}");
    assert_eq!(report.exit_code(false), EXIT_PASS);
    for s in &report.steps {
        if s.id == StepId::Receipts {
            assert_eq!(s.status, Status::NotChecked);
        } else {
            assert_eq!(s.status, Status::Pass, "{:?}", s);
            assert!(s.checked > 0, "{} checked nothing", s.id);
        }
    }
    let r = &report.referendums[0];
    assert_eq!(r.result.as_ref(), Some(&h.result.counts));
    // 11 voters, and the replacement of voter 13's revoked credential.
    assert_eq!(r.counted, 12);
    assert_eq!(r.ballots_cast, 14);
    assert_eq!(r.audited, 1);
    let p1 = report.petitions.iter().find(|p| p.id == "p1").unwrap();
    assert_eq!(p1.count, 7);
    assert_eq!(p1.thresholds, ["sponsor", "response", "referendum"]);
}

#[test]
fn honest_record_with_receipts_and_witnesses_passes() {
    let h = honest(2, 2).unwrap();
    let src = h.record.source().unwrap();
    let options = Options {
        receipts: h
            .receipts
            .iter()
            .enumerate()
            .map(|(i, r)| NamedReceipt {
                name: format!("receipt-{i}"),
                receipt: r.clone(),
            })
            .collect(),
        ..Options::default()
    };
    let report = verify_record(&src, options, &mut NoProgress).unwrap();
    let text = report.to_human();
    assert_eq!(report.verdict(), Verdict::Pass, "{text}");
    assert_eq!(report.status(StepId::Receipts), Status::Pass);
    assert_eq!(report.step(StepId::Receipts).unwrap().checked, 2);
}

#[test]
fn a_missing_cosignature_of_a_listed_witness_is_not_a_pass() {
    // No witness policy in the genesis (quorum 0); the header lists a witness that has
    // cosigned nothing: V3.3 cannot conclude yet.
    let mut h = honest(3, 0).unwrap();
    let listed = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    h.record
        .header
        .witnesses
        .push(vox_protocol::board::BoardPublicKey(listed.verifying_key()));
    let report = verify_record(
        &h.record.source().unwrap(),
        Options::default(),
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(report.status(StepId::TreeHeads), Status::NotChecked);
    assert_eq!(report.verdict(), Verdict::Partial);
    assert_eq!(report.exit_code(false), EXIT_PARTIAL);
    assert_eq!(report.exit_code(true), EXIT_PASS);
}

#[test]
fn focus_on_one_referendum() {
    let h = honest(4, 0).unwrap();
    let src = h.record.source().unwrap();
    let options = Options {
        referendums: Some(vec!["r1".into()]),
        ..Options::default()
    };
    let report = verify_record(&src, options, &mut NoProgress).unwrap();
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
    assert!(report.referendums[0].verified);
    let options = Options {
        referendums: Some(vec!["r9".into()]),
        ..Options::default()
    };
    let report = verify_record(&src, options, &mut NoProgress).unwrap();
    assert_eq!(report.status(StepId::Record), Status::Fail);
    // r1 is then checked for its lifecycle only.
    assert!(!report.referendums[0].verified);
    assert_eq!(report.step(StepId::Ballots).unwrap().checked, 0);
}

#[test]
fn genesis_witness_quorum_is_required() {
    // Two witnesses, both required by the genesis (quorum 2); the header names none, so
    // only the genesis policy asks for them.
    let mut h = honest(8, 2).unwrap();
    h.record.header.witnesses.clear();
    let verify = |h: &vox_verifier::synth::Honest| {
        verify_record(
            &h.record.source().unwrap(),
            Options::default(),
            &mut NoProgress,
        )
        .unwrap()
    };
    let report = verify(&h);
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
    // One cosignature short of the quorum on the head covering the record: the record
    // is not witnessed (a board exports up to the latest head with the quorum).
    h.record.heads.last_mut().unwrap().cosignatures.pop();
    let report = verify(&h);
    assert_eq!(report.status(StepId::TreeHeads), Status::Fail);
    let failures = &report.step(StepId::TreeHeads).unwrap().failures;
    assert!(
        failures.iter().any(|f| f
            .message
            .contains("1 of the 2 witnesses of the genesis witness policy, which requires 2")),
        "{failures:?}"
    );
    // A cosignature by a witness the genesis does not name does not count.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
    let last = h.record.heads.last_mut().unwrap();
    let c = last
        .cosign("stranger.vox.example", &stranger, 1_767_226_200)
        .unwrap();
    last.cosignatures.push(c);
    let report = verify(&h);
    assert_eq!(report.status(StepId::TreeHeads), Status::Fail);
    assert_eq!(report.verdict(), Verdict::Fail);
}
