//! Voter receipts (V14): a valid receipt passes; a tampered one, or one the record
//! contradicts, fails; a receipt newer than the record is NOT-CHECKED.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use vox_protocol::board::{Payload, Receipt};
use vox_verifier::report::Report;
use vox_verifier::synth::{honest, Honest, SynthRecord};
use vox_verifier::{verify_record, NamedReceipt, NoProgress, Options, Status, StepId, Verdict};

fn run(rec: &SynthRecord, receipts: &[Receipt]) -> Report {
    let options = Options {
        receipts: receipts
            .iter()
            .enumerate()
            .map(|(i, r)| NamedReceipt {
                name: format!("r{i}.json"),
                receipt: r.clone(),
            })
            .collect(),
        ..Options::default()
    };
    verify_record(&rec.source().unwrap(), options, &mut NoProgress).unwrap()
}

fn h() -> Honest {
    honest(21, 0).unwrap()
}

#[test]
fn valid_receipts_pass_counted_and_superseded() {
    let h = h();
    let report = run(&h.record, &h.receipts);
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
    let detail = &report.step(StepId::Receipts).unwrap().detail;
    assert!(detail.contains("is counted"), "{detail}");
    assert!(detail.contains("is superseded"), "{detail}");
}

#[test]
fn tampered_receipt_fails() {
    let h = h();
    // Any edited field breaks the board's signature.
    let mut r = h.receipts[0].clone();
    r.leaf_index += 1;
    let report = run(&h.record, &[r]);
    assert_eq!(
        report.status(StepId::Receipts),
        Status::Fail,
        "{}",
        report.to_human()
    );
    // A wrong inclusion proof under a valid signature is refused too.
    let mut r = h.receipts[0].clone();
    r.inclusion_proof.pop();
    let r = r.sign(&h.board_key);
    let report = run(&h.record, &[r]);
    assert_eq!(report.status(StepId::Receipts), Status::Fail);
    // So is a receipt for another leaf's ballot.
    let mut r = h.receipts[0].clone();
    r.leaf_index = h.receipts[1].leaf_index;
    let r = r.sign(&h.board_key);
    let report = run(&h.record, &[r]);
    assert_eq!(report.status(StepId::Receipts), Status::Fail);
}

#[test]
fn receipt_for_a_ballot_the_server_dropped_fails() {
    let h = h();
    let mut rec = h.record.clone();
    let leaf = h.receipts[0].leaf_index as usize;
    assert!(matches!(
        rec.entries[leaf].payload,
        Payload::BallotCast { .. }
    ));
    rec.entries.remove(leaf);
    rec.resign(&h.board_key, &[]);
    let report = run(&rec, &h.receipts[..1]);
    assert_eq!(
        report.status(StepId::Receipts),
        Status::Fail,
        "{}",
        report.to_human()
    );
    let faults = &report.step(StepId::Receipts).unwrap().failures;
    assert!(
        faults.iter().any(|f| f.message.contains("another log")),
        "{faults:?}"
    );
}

#[test]
fn receipt_newer_than_the_record_is_not_checked() {
    let h = h();
    let mut rec = h.record.clone();
    let leaf = h.receipts[0].leaf_index as usize;
    rec.entries.truncate(leaf);
    rec.resign(&h.board_key, &[]);
    let report = run(&rec, &h.receipts[..1]);
    assert_eq!(
        report.status(StepId::Receipts),
        Status::NotChecked,
        "{}",
        report.to_human()
    );
}
