//! The ceremony's complaint deadline and disqualification (protocol-spec/06-ceremony.md
//! §6.6, §6.11): an unanswered complaint disqualifies its dealer after the deadline, a
//! bad answer disqualifies at once, the ceremony completes over QUAL or fails when fewer
//! than k trustees remain, and a disqualified trustee sends nothing more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::threshold::{
    Complaint, ComplaintAnswer, Dealer, JointPublicKeys, RevealedDealer, TrusteeIndex, TrusteeKeys,
};
use vox_crypto::{Hash32, Scalar};
use vox_protocol::board::{ComplaintRef, DisqualificationReason};
use vox_protocol::ceremony::{CeremonyBody, CeremonyMessage, CeremonyPhase, CeremonyTracker};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{Manifest, Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};

const DUE: i64 = 1_000;

fn idx(i: u32) -> TrusteeIndex {
    TrusteeIndex::new(i).unwrap()
}

fn manifest(trustees: &[TrusteeKeys], threshold: u32) -> Manifest {
    Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "ref-1".into(),
        title: "Test".into(),
        description: "Deadlines".into(),
        questions: vec![Question {
            id: "q1".into(),
            text: "Yes or no?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        }],
        opens_at: 0,
        closes_at: 10,
        electorate_hash: Hash32::sha256(&[b"electorate"]),
        trustees: TrusteeInfo::numbered(trustees.iter()),
        threshold,
        answer_due_ms: DUE,
        decryption_due_ms: DUE,
        source_petition: None,
        participation: Default::default(),
    }
}

/// A ceremony driven to the confirm phase (every commit, reveal and shares at ts 0).
struct Run {
    rng: ChaCha20Rng,
    keys: Vec<TrusteeKeys>,
    m: Manifest,
    mh: Hash32,
    tracker: CeremonyTracker,
    dealers: Vec<RevealedDealer>,
}

impl Run {
    fn new(n: u32, k: u32) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(n * 10 + k));
        let keys: Vec<TrusteeKeys> = (0..n).map(|_| TrusteeKeys::generate(&mut rng)).collect();
        let m = manifest(&keys, k);
        m.validate().unwrap();
        let mh = m.canonical_hash();
        let tracker = CeremonyTracker::new(&m, mh).unwrap();
        let params = *tracker.params();
        let dealers: Vec<Dealer> = (1..=n)
            .map(|i| Dealer::new(&params, idx(i), &mh, &mut rng).unwrap())
            .collect();
        let mut run = Run {
            rng,
            keys,
            m,
            mh,
            tracker,
            dealers: Vec::new(),
        };
        for (pos, d) in dealers.iter().enumerate() {
            let i = pos as u32 + 1;
            let key = run.keys[pos].announce(idx(i), &run.mh, &mut run.rng);
            run.send(
                i,
                CeremonyBody::Commit {
                    key,
                    commitment: d.commitment(),
                },
                0,
            )
            .unwrap();
        }
        let posted = run.tracker.commitments();
        run.dealers = dealers
            .into_iter()
            .map(|d| d.reveal(&posted).unwrap())
            .collect();
        for pos in 0..n as usize {
            let coefficients = run.dealers[pos].commitments().clone();
            run.send(pos as u32 + 1, CeremonyBody::Reveal { coefficients }, 0)
                .unwrap();
        }
        let announced = run.tracker.trustee_keys();
        for pos in 0..n as usize {
            let shares = run.dealers[pos]
                .encrypt_shares(&announced, &mut run.rng)
                .unwrap();
            run.send(pos as u32 + 1, CeremonyBody::Shares { shares }, 0)
                .unwrap();
        }
        assert_eq!(run.tracker.phase, CeremonyPhase::Confirm);
        run
    }

    fn send(
        &mut self,
        i: u32,
        body: CeremonyBody,
        ts: i64,
    ) -> vox_protocol::error::Result<Option<JointPublicKeys>> {
        let msg = CeremonyMessage::sign(
            &self.m,
            &self.mh,
            i,
            &self.keys[(i - 1) as usize],
            body,
            &mut self.rng,
        );
        msg.verify_signature(&self.m, &self.mh).unwrap();
        self.tracker.apply(&self.m, &msg, ts)
    }

    fn complain(&mut self, dealer: u32, recipient: u32, ts: i64) {
        let complaint = Complaint {
            dealer: idx(dealer),
            recipient: idx(recipient),
        };
        self.send(recipient, CeremonyBody::Complaint { complaint }, ts)
            .unwrap();
    }

    fn answer(&self, dealer: u32, recipient: u32) -> ComplaintAnswer {
        self.dealers[(dealer - 1) as usize]
            .answer_complaint(&Complaint {
                dealer: idx(dealer),
                recipient: idx(recipient),
            })
            .unwrap()
    }
}

fn cref(dealer: u32, recipient: u32) -> ComplaintRef {
    ComplaintRef { dealer, recipient }
}

#[test]
fn unanswered_complaint_disqualifies_after_the_deadline_and_completes_over_qual() {
    let mut run = Run::new(4, 2);
    run.complain(2, 1, 100);
    for i in [3, 4] {
        assert!(run.send(i, CeremonyBody::Confirm, 150).unwrap().is_none());
    }
    assert_eq!(run.tracker.overdue(100 + DUE), vec![]);
    // At the deadline itself the dealer may still answer: too early to disqualify.
    let early =
        run.tracker
            .disqualify(2, cref(2, 1), DisqualificationReason::Unanswered, 100 + DUE);
    assert!(early.unwrap_err().to_string().contains("has not passed"));
    // Reason bad-answer without a bad answer is refused.
    assert!(run
        .tracker
        .disqualify(
            2,
            cref(2, 1),
            DisqualificationReason::BadAnswer,
            100 + DUE + 1
        )
        .is_err());
    assert_eq!(run.tracker.overdue(100 + DUE + 1), vec![cref(2, 1)]);
    let joint = run
        .tracker
        .disqualify(
            2,
            cref(2, 1),
            DisqualificationReason::Unanswered,
            100 + DUE + 1,
        )
        .unwrap();
    assert!(joint.is_none(), "trustees 1 and 2 have not confirmed yet");
    assert!(run.tracker.is_disqualified(2));
    assert_eq!(run.tracker.qualified(), vec![idx(1), idx(3), idx(4)]);
    assert!(run.tracker.complaints().is_empty());
    let log = run.tracker.complaint_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].complaint_ts, 100);
    assert_eq!(log[0].answer_deadline, 100 + DUE);
    assert_eq!(log[0].answered_at, None);
    assert_eq!(log[0].disqualified_at, Some(100 + DUE + 1));
    // The disqualified dealer's late answer and confirmation are refused.
    let answer = run.answer(2, 1);
    let late = run.send(2, CeremonyBody::Answer { answer }, 100 + DUE + 2);
    assert!(late.unwrap_err().to_string().contains("disqualified"));
    assert!(run.send(2, CeremonyBody::Confirm, 100 + DUE + 2).is_err());
    // The complainer confirms now that its complaint is closed: complete over QUAL.
    let joint = run
        .send(1, CeremonyBody::Confirm, 100 + DUE + 3)
        .unwrap()
        .expect("complete");
    assert_eq!(run.tracker.phase, CeremonyPhase::Complete);
    let expected = JointPublicKeys::from_qualified(
        run.tracker.params(),
        &run.mh,
        &run.tracker.reveals(),
        &[idx(1), idx(3), idx(4)],
    )
    .unwrap();
    assert_eq!(joint, expected);
}

#[test]
fn disqualification_completes_when_everyone_else_confirmed() {
    let mut run = Run::new(3, 2);
    run.complain(3, 1, 0);
    run.send(2, CeremonyBody::Confirm, 1).unwrap();
    // Trustee 1 cannot confirm while its complaint is open.
    assert!(run.send(1, CeremonyBody::Confirm, 2).is_err());
    // Trustee 3 (the accused) confirms its own received shares.
    run.send(3, CeremonyBody::Confirm, 3).unwrap();
    assert!(run
        .tracker
        .disqualify(3, cref(3, 1), DisqualificationReason::Unanswered, DUE + 1)
        .unwrap()
        .is_none());
    let joint = run.send(1, CeremonyBody::Confirm, DUE + 2).unwrap();
    assert!(joint.is_some());
}

#[test]
fn too_few_remaining_trustees_fail_the_ceremony_visibly() {
    let mut run = Run::new(3, 3);
    run.complain(1, 2, 10);
    let out = run
        .tracker
        .disqualify(
            1,
            cref(1, 2),
            DisqualificationReason::Unanswered,
            10 + DUE + 1,
        )
        .unwrap();
    assert!(out.is_none());
    match &run.tracker.phase {
        CeremonyPhase::Failed { reason } => assert!(reason.contains("fewer than the threshold")),
        p => panic!("expected failed, got {p:?}"),
    }
    // Nothing more is accepted.
    assert!(run.send(3, CeremonyBody::Confirm, 10 + DUE + 2).is_err());
}

#[test]
fn late_answer_is_refused_and_timely_answer_closes_the_complaint() {
    let mut run = Run::new(3, 2);
    run.complain(2, 1, 50);
    run.complain(3, 1, 60);
    let late = run.answer(2, 1);
    let err = run
        .send(2, CeremonyBody::Answer { answer: late }, 50 + DUE + 1)
        .unwrap_err();
    assert!(err.to_string().contains("late answer"), "{err}");
    // Exactly at the deadline is in time.
    let ok = run.answer(3, 1);
    run.send(3, CeremonyBody::Answer { answer: ok }, 60 + DUE)
        .unwrap();
    assert_eq!(run.tracker.answers(), &[ok]);
    let rec = run.tracker.complaint_log()[1];
    assert_eq!(rec.answered_at, Some(60 + DUE));
    // An answered complaint cannot be turned into a disqualification.
    assert!(run
        .tracker
        .disqualify(
            3,
            cref(3, 1),
            DisqualificationReason::Unanswered,
            60 + DUE + 5
        )
        .is_err());
    assert_eq!(run.tracker.overdue(60 + DUE + 5), vec![cref(2, 1)]);
}

#[test]
fn bad_answer_must_be_followed_by_its_disqualification() {
    let mut run = Run::new(3, 2);
    run.complain(2, 1, 0);
    let mut bad = run.answer(2, 1);
    bad.share = bad.share + Scalar::from_u64(1);
    run.send(2, CeremonyBody::Answer { answer: bad }, 5)
        .unwrap();
    assert!(
        !matches!(run.tracker.phase, CeremonyPhase::Failed { .. }),
        "a bad answer alone does not fail the ceremony"
    );
    assert_eq!(run.tracker.pending_disqualification(), Some(cref(2, 1)));
    // Nothing else may come first, and the reason must be bad-answer.
    assert!(run.send(3, CeremonyBody::Confirm, 6).is_err());
    assert!(run
        .tracker
        .disqualify(2, cref(2, 1), DisqualificationReason::Unanswered, 6)
        .is_err());
    run.tracker
        .disqualify(2, cref(2, 1), DisqualificationReason::BadAnswer, 6)
        .unwrap();
    assert_eq!(run.tracker.pending_disqualification(), None);
    assert!(run.tracker.is_disqualified(2));
    // The disqualified trustee's later message is refused; the rest complete.
    assert!(run.send(2, CeremonyBody::Confirm, 7).is_err());
    run.send(1, CeremonyBody::Confirm, 7).unwrap();
    assert!(run.send(3, CeremonyBody::Confirm, 8).unwrap().is_some());
    assert_eq!(run.tracker.phase, CeremonyPhase::Complete);
}

#[test]
fn complaints_by_a_disqualified_trustee_are_withdrawn() {
    let mut run = Run::new(4, 2);
    run.complain(3, 2, 0);
    run.complain(2, 1, 10);
    run.tracker
        .disqualify(3, cref(3, 2), DisqualificationReason::Unanswered, DUE + 1)
        .unwrap();
    // Trustee 2's dealer is gone; trustee 2 is then disqualified for its own complaint.
    run.tracker
        .disqualify(2, cref(2, 1), DisqualificationReason::Unanswered, DUE + 11)
        .unwrap();
    assert_eq!(run.tracker.qualified(), vec![idx(1), idx(4)]);
    // A complaint against a disqualified dealer is refused.
    let c = Complaint {
        dealer: idx(3),
        recipient: idx(4),
    };
    assert!(run
        .send(4, CeremonyBody::Complaint { complaint: c }, DUE + 12)
        .is_err());
    run.send(1, CeremonyBody::Confirm, DUE + 13).unwrap();
    assert!(run
        .send(4, CeremonyBody::Confirm, DUE + 14)
        .unwrap()
        .is_some());
}
