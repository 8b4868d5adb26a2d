//! A whole referendum in memory: ceremony, ballots of every kind, audit, tally,
//! threshold decryption, result. Exercises the protocol API end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::batch::{BatchVerifier, SingleVerifier};
use vox_crypto::credential::Credential;
use vox_crypto::dlog::DlogTable;
use vox_crypto::threshold::{
    receive_share, Dealer, DecryptionShare, KeyShare, ShareVerdict, TrusteeIndex, TrusteeKeys,
};
use vox_crypto::Hash32;
use vox_protocol::ballot::{encrypt_ballot, AuditedBallot, BallotContext, VoterProof};
use vox_protocol::ceremony::{
    CeremonyBody, CeremonyMessage, CeremonyPhase, CeremonyTracker, DecryptionShareMessage,
};
use vox_protocol::electorate::{Electorate, ElectorateEntry};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{Manifest, Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
use vox_protocol::tally::{counts_from_slots, slot_bounds, TallyAccumulator};

fn manifest(electorate_hash: Hash32, trustees: &[TrusteeKeys]) -> Manifest {
    Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "ref-1".into(),
        title: "Test".into(),
        description: "All question kinds".into(),
        questions: vec![
            Question {
                id: "q1".into(),
                text: "Yes or no?".into(),
                options: vec!["yes".into(), "no".into()],
                kind: QuestionKind::YesNo,
            },
            Question {
                id: "q2".into(),
                text: "Pick one".into(),
                options: vec!["a".into(), "b".into(), "c".into()],
                kind: QuestionKind::ChooseOne {
                    blank_allowed: true,
                },
            },
            Question {
                id: "q3".into(),
                text: "Approve 1..2".into(),
                options: vec!["a".into(), "b".into(), "c".into()],
                kind: QuestionKind::Approve { min: 1, max: 2 },
            },
            Question {
                id: "q4".into(),
                text: "Score".into(),
                options: vec!["a".into(), "b".into()],
                kind: QuestionKind::Score { max: 5 },
            },
        ],
        opens_at: 0,
        closes_at: 10,
        electorate_hash,
        trustees: TrusteeInfo::numbered(trustees.iter()),
        threshold: 2,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition: None,
        participation: Default::default(),
    }
}

#[test]
fn whole_referendum_in_memory() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let creds: Vec<Credential> = (0..4).map(|_| Credential::generate(&mut rng)).collect();
    let electorate = Electorate {
        id: "e1".into(),
        name: "Town".into(),
        entries: creds
            .iter()
            .map(|c| ElectorateEntry {
                credential: c.public_key(),
                region: None,
            })
            .collect(),
    };
    electorate.validate().unwrap();
    let index = electorate.index();
    let tkeys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    let m = manifest(electorate.canonical_hash(), &tkeys);
    m.validate().unwrap();
    let mh = m.canonical_hash();

    // Ceremony through the tracker, with signed messages.
    let mut tracker = CeremonyTracker::new(&m, mh).unwrap();
    let params = *tracker.params();
    let dealers: Vec<Dealer> = (1..=3)
        .map(|i| Dealer::new(&params, TrusteeIndex::new(i).unwrap(), &mh, &mut rng).unwrap())
        .collect();
    let send =
        |tracker: &mut CeremonyTracker, i: u32, body: CeremonyBody, rng: &mut ChaCha20Rng| {
            let msg = CeremonyMessage::sign(&m, &mh, i, &tkeys[(i - 1) as usize], body, rng);
            msg.verify_signature(&m, &mh).unwrap();
            tracker.apply(&m, &msg, 0).unwrap()
        };
    for (i, d) in dealers.iter().enumerate() {
        let i = i as u32 + 1;
        let key = tkeys[(i - 1) as usize].announce(TrusteeIndex::new(i).unwrap(), &mh, &mut rng);
        send(
            &mut tracker,
            i,
            CeremonyBody::Commit {
                key,
                commitment: d.commitment(),
            },
            &mut rng,
        );
    }
    assert_eq!(tracker.phase, CeremonyPhase::Reveal);
    let posted = tracker.commitments();
    let revealed: Vec<_> = dealers
        .into_iter()
        .map(|d| d.reveal(&posted).unwrap())
        .collect();
    for (i, r) in revealed.iter().enumerate() {
        send(
            &mut tracker,
            i as u32 + 1,
            CeremonyBody::Reveal {
                coefficients: r.commitments().clone(),
            },
            &mut rng,
        );
    }
    let announced = tracker.trustee_keys();
    for (i, r) in revealed.iter().enumerate() {
        let shares = r.encrypt_shares(&announced, &mut rng).unwrap();
        send(
            &mut tracker,
            i as u32 + 1,
            CeremonyBody::Shares { shares },
            &mut rng,
        );
    }
    let reveals = tracker.reveals();
    let mut key_shares = Vec::new();
    let mut joint = None;
    for (l, r) in revealed.iter().enumerate() {
        let li = TrusteeIndex::new(l as u32 + 1).unwrap();
        let mut got = vec![(li, r.own_share())];
        for es in tracker.shares_for(l as u32 + 1) {
            let dealer_reveal = reveals.iter().find(|c| c.dealer == es.dealer).unwrap();
            match receive_share(&mh, li, &tkeys[l], dealer_reveal, &es).unwrap() {
                ShareVerdict::Accepted(s) => got.push((es.dealer, s)),
                ShareVerdict::Complaint(_) => panic!("honest share refused"),
            }
        }
        key_shares.push(KeyShare::combine(&params, li, &got).unwrap());
        joint = send(&mut tracker, l as u32 + 1, CeremonyBody::Confirm, &mut rng).or(joint);
    }
    let joint = joint.expect("ceremony completes");
    assert_eq!(tracker.phase, CeremonyPhase::Complete);

    // Ballots.
    let ctx = BallotContext::new(&m, *joint.election_key());
    let choices = [
        vec![vec![1, 0], vec![0, 1, 0], vec![1, 1, 0], vec![5, 0]],
        vec![vec![0, 1], vec![0, 0, 0], vec![0, 0, 1], vec![3, 4]],
        vec![vec![1, 0], vec![1, 0, 0], vec![0, 1, 1], vec![0, 5]],
        vec![vec![1, 0], vec![0, 0, 1], vec![1, 0, 0], vec![1, 1]],
    ];
    let mut acc = TallyAccumulator::new(&m);
    let mut batch = BatchVerifier::new(rand::rngs::OsRng);
    for (c, ch) in creds.iter().zip(&choices) {
        let (b, secrets) = encrypt_ballot(&ctx, c, &ch.to_vec(), None, &mut rng).unwrap();
        b.validate(&ctx, &index, None, &mut rng).unwrap();
        b.check_structure(&ctx, &index).unwrap();
        assert_eq!(
            b.check_proofs(&ctx, &mut batch, &mut rng).unwrap(),
            VoterProof::Checked
        );
        // A Benaloh audit of the same ballot opens correctly.
        AuditedBallot::new(b.clone(), secrets)
            .verify_opening(&ctx)
            .unwrap();
        // The same ballot under another credential fails.
        let mut stolen = b.clone();
        stolen.credential = Some(
            creds[(creds
                .iter()
                .position(|x| x.public_key() == c.public_key())
                .unwrap()
                + 1)
                % 4]
            .public_key(),
        );
        assert!(stolen
            .check_proofs(&ctx, &mut SingleVerifier, &mut rng)
            .is_err());
        acc.add(&b).unwrap();
    }
    batch.finish().unwrap();
    let (tally, counted) = acc.finish();

    // Two of three trustees decrypt.
    let shares: Vec<DecryptionShare> = [0usize, 2]
        .iter()
        .map(|&t| {
            let s = DecryptionShare::create(&key_shares[t], &mh, &tally, &mut rng);
            let msg = DecryptionShareMessage::sign(&m, &mh, &tkeys[t], s.clone(), &mut rng);
            msg.check(&m, &mh, &joint, &tally, &mut SingleVerifier)
                .unwrap();
            s
        })
        .collect();
    let points = joint
        .verify_and_combine(&mh, &tally, &shares, &mut rng)
        .unwrap();
    let bounds = slot_bounds(&m, counted);
    let slots: Vec<u64> = points
        .iter()
        .zip(&bounds)
        .map(|(p, b)| DlogTable::new(b + 1).unwrap().solve(p).unwrap())
        .collect();
    let counts = counts_from_slots(&m, counted, &slots).unwrap();
    assert_eq!(
        counts,
        vec![vec![3, 1], vec![1, 1, 1], vec![2, 2, 2], vec![9, 10]]
    );
}

/// Choices come from untrusted audit openings: values whose sum passes u64::MAX are an
/// invalid answer, not an overflow panic (found while writing the audit fuzz target).
#[test]
fn choices_summing_past_u64_max_are_invalid() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    let m = manifest(Hash32([0; 32]), &keys);
    for (q, values) in [
        (0, vec![u64::MAX, 2]),
        (1, vec![u64::MAX, 1, 0]),
        (2, vec![u64::MAX, 1, 1]),
        (2, vec![1, u64::MAX, u64::MAX]),
    ] {
        let mut choices = vec![vec![1, 0], vec![0, 1, 0], vec![1, 1, 0], vec![5, 0]];
        choices[q] = values.clone();
        let e = vox_protocol::ballot::validate_choices(&m, &choices).unwrap_err();
        assert!(
            e.to_string().contains(&format!("choices/{q}")),
            "{values:?}: {e}"
        );
    }
}

/// Score maxima and tally bounds are capped (04 §4.2 rules 3 and 6): a discrete log
/// never needs a table beyond the protocol's limit, whatever a manifest says.
#[test]
fn score_max_and_tally_bound_are_limited() {
    use vox_protocol::manifest::{MAX_SCORE, MAX_SLOT_VALUE};
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let tkeys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut rng)).collect();
    let mut m = manifest(Hash32([1; 32]), &tkeys);
    m.questions[3].kind = QuestionKind::Score { max: MAX_SCORE };
    m.validate().unwrap();
    m.questions[3].kind = QuestionKind::Score { max: MAX_SCORE + 1 };
    let e = m.validate().unwrap_err().to_string();
    assert!(e.contains("questions/3/kind"), "{e}");
    m.questions[3].kind = QuestionKind::Score { max: u32::MAX };
    assert!(m.validate().is_err());

    // max × eligible: at the limit passes, one more credential fails, naming the question.
    m.questions[3].kind = QuestionKind::Score { max: MAX_SCORE };
    let at_limit = MAX_SLOT_VALUE / u64::from(MAX_SCORE);
    m.check_slot_bound(at_limit).unwrap();
    let e = m.check_slot_bound(at_limit + 1).unwrap_err().to_string();
    assert!(
        e.contains("questions/3/kind") && e.contains("tally limit"),
        "{e}"
    );
    // Questions with max 1 per option allow MAX_SLOT_VALUE credentials.
    m.questions.truncate(3);
    m.check_slot_bound(MAX_SLOT_VALUE).unwrap();
    assert!(m.check_slot_bound(MAX_SLOT_VALUE + 1).is_err());
    assert!(m.check_slot_bound(u64::MAX).is_err());
}
