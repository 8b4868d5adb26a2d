//! The staged driver (browsers) and injected randomness give the same report as
//! `verify_record` with `OsRng`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use vox_protocol::board::Payload;
use vox_verifier::synth::{honest, SynthRecord};
use vox_verifier::{
    verify_record, NoProgress, Options, Report, Seed, StagedVerification, Status, StepId, Verdict,
};

fn staged(rec: &SynthRecord, page: usize, step: usize, seed: [u8; 32]) -> Report {
    let src = rec.source().unwrap();
    let options = Options {
        seed: Some(Seed(seed)),
        ..Options::default()
    };
    let mut s = StagedVerification::new(&src.header, src.tree_heads.clone(), options);
    assert_eq!(s.expected_entries(), rec.entries.len() as u64);
    for chunk in src.entries.chunks(page) {
        s.add_entries(chunk.to_vec());
    }
    let mut last = 0;
    loop {
        let (done, total) = s.verify_some(step).unwrap();
        assert!(done >= last && done <= total);
        last = done;
        if done == total {
            break;
        }
    }
    s.finish().unwrap()
}

fn statuses(r: &Report) -> Vec<(StepId, Status, u64)> {
    r.steps
        .iter()
        .map(|s| (s.id, s.status, s.checked))
        .collect()
}

#[test]
fn staged_with_a_seed_matches_verify_record() {
    let h = honest(5, 0).unwrap();
    let whole = verify_record(
        &h.record.source().unwrap(),
        Options::default(),
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(whole.verdict(), Verdict::Pass, "{}", whole.to_human());
    for (page, step) in [(1000, 2048), (7, 3), (1, 1)] {
        let r = staged(&h.record, page, step, [page as u8; 32]);
        assert_eq!(r.verdict(), Verdict::Pass, "{}", r.to_human());
        assert_eq!(statuses(&r), statuses(&whole));
        assert_eq!(r.referendums[0].result, whole.referendums[0].result);
    }
}

#[test]
fn staged_catches_a_forged_ballot_proof() {
    let h = honest(6, 0).unwrap();
    let mut rec = h.record.clone();
    let i = rec
        .find(|p| matches!(p, Payload::BallotCast { .. }))
        .unwrap();
    // Swap the two halves of a ciphertext: the shape stays valid, the proofs do not.
    if let Payload::BallotCast { ballot } = &mut rec.entries[i].payload {
        let ct = &mut ballot.answers[0].ciphertexts[0];
        std::mem::swap(&mut ct.a, &mut ct.b);
    }
    rec.resign(&h.board_key, &[]);
    let r = staged(&rec, 4, 5, [9; 32]);
    assert_eq!(r.verdict(), Verdict::Fail);
    assert_eq!(r.status(StepId::Ballots), Status::Fail, "{}", r.to_human());
    for s in [StepId::Record, StepId::Log, StepId::TreeHeads] {
        assert_eq!(r.status(s), Status::Pass, "{}", r.to_human());
    }
}

#[test]
fn staged_with_an_unusable_header_fails_v1_only() {
    let mut s = StagedVerification::new("{}", Vec::new(), Options::default());
    s.add_entries(vec!["{}".into()]);
    assert_eq!(s.verify_some(10).unwrap(), (0, 0));
    let r = s.finish().unwrap();
    assert_eq!(r.status(StepId::Record), Status::Fail);
    assert!(r
        .steps
        .iter()
        .skip(1)
        .all(|s| s.status == Status::NotChecked));
}
