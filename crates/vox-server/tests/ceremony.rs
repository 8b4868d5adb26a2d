//! Key-ceremony complaints through the API, and witness cosignatures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use serde_json::json;
use vox_crypto::dlog::DlogTable;
use vox_crypto::elgamal::Ciphertext;
use vox_crypto::threshold::{
    receive_share, CeremonyParams, CoefficientCommitments, DecryptionShare, EncryptedShare,
    JointPublicKeys, KeyShare, RevealedDealer, ShareVerdict,
};
use vox_crypto::threshold::{Complaint, ComplaintAnswer, TrusteeIndex};
use vox_crypto::Scalar;
use vox_protocol::board::{
    BoardPublicKey, ComplaintRef, DisqualificationReason, Payload, SignedTreeHead,
};
use vox_protocol::ceremony::CeremonyBody;
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::Manifest;

fn idx(i: u32) -> TrusteeIndex {
    TrusteeIndex::new(i).unwrap()
}

/// The referendum's ceremony completed: it is `ready`, or already `open` (its opens_at
/// has passed, and the board's scheduler opens it within a second).
fn assert_completed(c: &Client, id: &str) {
    let v = c.get(&format!("/api/v1/referendums/{id}")).json();
    assert!(v["state"] == "ready" || v["state"] == "open", "{v}");
}

/// How many board entries concern referendum `id` (what a refused message must not
/// change; the board's total may grow meanwhile by the scheduler's own entries).
fn entries_of(c: &Client, id: &str) -> usize {
    check_log(c)
        .iter()
        .filter(|e| e.scope() == Some(id))
        .count()
}

fn complaints(db: &TestDb) {
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    let voters = Voters::new("e", 3, |_| None);
    let eh = voters.register(c);
    let trustees = Trustees::new(3);

    // 1. An answered complaint: the dealer reveals the right share; the ceremony goes on.
    let m = manifest("honest", eh, &trustees, 2, None);
    c.act(acts::created(&m)).expect(201);
    let revealed = ceremony_until_confirm(c, &m, &trustees);
    let complaint = Complaint {
        dealer: idx(1),
        recipient: idx(2),
    };
    post_ceremony(
        c,
        &m,
        &ceremony_message(&m, &trustees, 2, CeremonyBody::Complaint { complaint }),
    );
    let view = c.get("/api/v1/referendums/honest/ceremony").json();
    assert_eq!(view["complaints"].as_array().unwrap().len(), 1);
    // The complainant cannot confirm while its complaint is open.
    let before = entries_of(c, "honest");
    c.post(
        "/api/v1/referendums/honest/ceremony",
        &ceremony_message(&m, &trustees, 2, CeremonyBody::Confirm),
    )
    .expect(409);
    assert_eq!(entries_of(c, "honest"), before);
    // Only the accused dealer answers.
    let answer = revealed[0].answer_complaint(&complaint).unwrap();
    c.post(
        "/api/v1/referendums/honest/ceremony",
        &ceremony_message(&m, &trustees, 3, CeremonyBody::Answer { answer }),
    )
    .expect(422);
    let r = post_ceremony(
        c,
        &m,
        &ceremony_message(&m, &trustees, 1, CeremonyBody::Answer { answer }),
    );
    assert_eq!(r.json()["phase"], "confirm");
    let view = c.get("/api/v1/referendums/honest/ceremony").json();
    assert_eq!(view["answers"].as_array().unwrap().len(), 1);
    assert!(view["complaints"].as_array().unwrap().is_empty());
    confirm_all(c, &m, &trustees, &revealed);
    assert_completed(c, "honest");

    // 2. A complaint judged against the dealer: the dealer is disqualified by the next
    // entry, in the same write; the other two (k = 2) complete without it.
    let m = manifest("cheat", eh, &trustees, 2, None);
    c.act(acts::created(&m)).expect(201);
    let revealed = ceremony_until_confirm(c, &m, &trustees);
    let complaint = Complaint {
        dealer: idx(3),
        recipient: idx(1),
    };
    post_ceremony(
        c,
        &m,
        &ceremony_message(&m, &trustees, 1, CeremonyBody::Complaint { complaint }),
    );
    let bogus = ComplaintAnswer {
        dealer: idx(3),
        recipient: idx(1),
        share: Scalar::from_u64(42),
    };
    let r = post_ceremony(
        c,
        &m,
        &ceremony_message(&m, &trustees, 3, CeremonyBody::Answer { answer: bogus }),
    );
    assert_eq!(r.json()["phase"], "confirm");
    let answer_leaf = r.json()["leaf_index"].as_u64().unwrap() as usize;
    let entries = check_log(c);
    assert!(matches!(
        &entries[answer_leaf + 1].payload,
        Payload::TrusteeDisqualified {
            trustee: 3,
            complaint: ComplaintRef {
                dealer: 3,
                recipient: 1
            },
            reason: DisqualificationReason::BadAnswer,
            ..
        }
    ));
    // The disqualified trustee sends nothing more. (Compared per referendum: the
    // board's scheduler may open "honest", ready since part 1, at any moment.)
    let before = entries_of(c, "cheat");
    let r = c.post(
        "/api/v1/referendums/cheat/ceremony",
        &ceremony_message(&m, &trustees, 3, CeremonyBody::Confirm),
    );
    r.expect(422);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("disqualified"));
    assert_eq!(entries_of(c, "cheat"), before);
    let key_shares = confirm_qualified(c, &m, &trustees, &revealed, &[1, 2]);
    assert_completed(c, "cheat");
    decrypt_with(c, &m, &key_shares, &[1, 2]);
    check_log(c);
}

/// The trustees in `qual` (the others are disqualified) sum the shares of QUAL dealers
/// only (06 §6.7), each checks its x_l against the X_l of the published
/// `ceremony-completed`, and confirms. Returns their key shares.
fn confirm_qualified(
    c: &Client,
    m: &Manifest,
    trustees: &Trustees,
    revealed: &[RevealedDealer],
    qual: &[u32],
) -> Vec<KeyShare> {
    let mh = m.canonical_hash();
    let params = CeremonyParams::new(m.trustees.len() as u32, m.threshold).unwrap();
    let path = format!("/api/v1/referendums/{}/ceremony", m.referendum_id);
    let view = c.get(&path).json();
    let reveals: Vec<CoefficientCommitments> =
        serde_json::from_value(view["reveals"].clone()).unwrap();
    let all_shares: Vec<EncryptedShare> = serde_json::from_value(view["shares"].clone()).unwrap();
    let q: Vec<TrusteeIndex> = qual.iter().map(|i| idx(*i)).collect();
    let mut key_shares = Vec::new();
    for &l in qual {
        let li = idx(l);
        let slot = (l - 1) as usize;
        let mut got = vec![(li, revealed[slot].own_share())];
        for es in all_shares
            .iter()
            .filter(|s| s.recipient == li && q.contains(&s.dealer))
        {
            let dealer_reveal = reveals.iter().find(|c| c.dealer == es.dealer).unwrap();
            match receive_share(&mh, li, &trustees.keys[slot], dealer_reveal, es).unwrap() {
                ShareVerdict::Accepted(s) => got.push((es.dealer, s)),
                ShareVerdict::Complaint(_) => panic!("honest share refused"),
            }
        }
        key_shares.push(KeyShare::combine_qualified(&params, li, &got, &q).unwrap());
        post_ceremony(
            c,
            m,
            &ceremony_message(m, trustees, l, CeremonyBody::Confirm),
        );
    }
    let joint = JointPublicKeys::from_qualified(&params, &mh, &reveals, &q).unwrap();
    let completed = check_log(c)
        .into_iter()
        .rev()
        .find_map(|e| match e.payload {
            Payload::CeremonyCompleted {
                referendum_id,
                election_key,
                public_shares,
            } if referendum_id == m.referendum_id => Some((election_key, public_shares)),
            _ => None,
        })
        .expect("ceremony-completed");
    assert_eq!(completed.0, *joint.election_key());
    for ks in &key_shares {
        ks.check(&joint).unwrap();
        assert_eq!(completed.1[(ks.trustee().get() - 1) as usize], ks.public());
    }
    key_shares
}

/// Encrypt 3 under the published election key; the remaining trustees' shares decrypt it.
fn decrypt_with(c: &Client, m: &Manifest, key_shares: &[KeyShare], qual: &[u32]) {
    let mh = m.canonical_hash();
    let params = CeremonyParams::new(m.trustees.len() as u32, m.threshold).unwrap();
    let view = c
        .get(&format!("/api/v1/referendums/{}/ceremony", m.referendum_id))
        .json();
    let reveals: Vec<CoefficientCommitments> =
        serde_json::from_value(view["reveals"].clone()).unwrap();
    let q: Vec<TrusteeIndex> = qual.iter().map(|i| idx(*i)).collect();
    let joint = JointPublicKeys::from_qualified(&params, &mh, &reveals, &q).unwrap();
    let (ct, _) = Ciphertext::encrypt(joint.election_key(), 3, &mut OsRng);
    let shares: Vec<DecryptionShare> = key_shares
        .iter()
        .take(m.threshold as usize)
        .map(|ks| DecryptionShare::create(ks, &mh, &[ct], &mut OsRng))
        .collect();
    let points = joint
        .verify_and_combine(&mh, &[ct], &shares, &mut OsRng)
        .unwrap();
    let table = DlogTable::new(10).unwrap();
    assert_eq!(table.solve(&points[0]).unwrap(), 3);
}

/// A complaint nobody answers: before the deadline the sweep does nothing; once the
/// injectable clock passes complaint ts + answer_due_ms, the sweep appends
/// `trustee-disqualified` (unanswered) and, as the others have confirmed,
/// `ceremony-completed` over QUAL; the remaining trustees decrypt.
fn unanswered(db: &TestDb) {
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let mut cfg = config(&db.url);
    let o = offset.clone();
    cfg.clock = vox_server::config::Clock(std::sync::Arc::new(move || {
        now_ms() + o.load(std::sync::atomic::Ordering::SeqCst)
    }));
    let h = Harness::start(cfg);
    let c = &h.client;
    let voters = Voters::new("e", 3, |_| None);
    let eh = voters.register(c);
    let trustees = Trustees::new(4);
    let m = manifest("silent", eh, &trustees, 2, None);
    c.act(acts::created(&m)).expect(201);
    let revealed = ceremony_until_confirm(c, &m, &trustees);
    let complaint = Complaint {
        dealer: idx(4),
        recipient: idx(1),
    };
    post_ceremony(
        c,
        &m,
        &ceremony_message(&m, &trustees, 1, CeremonyBody::Complaint { complaint }),
    );
    // Two sweeps' time: nothing happens before the deadline.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        c.get("/api/v1/referendums/silent").json()["state"],
        "key-ceremony"
    );
    offset.store(m.answer_due_ms + 1_000, std::sync::atomic::Ordering::SeqCst);
    // A late answer is refused with a clear reason.
    let answer = revealed[3].answer_complaint(&complaint).unwrap();
    let r = c.post(
        "/api/v1/referendums/silent/ceremony",
        &ceremony_message(&m, &trustees, 4, CeremonyBody::Answer { answer }),
    );
    r.expect(422);
    let detail = r.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("late answer") || detail.contains("disqualified"),
        "{detail}"
    );
    let mut waited = 0;
    while !check_log(c).iter().any(|e| {
        matches!(
            e.payload,
            Payload::TrusteeDisqualified {
                trustee: 4,
                reason: DisqualificationReason::Unanswered,
                ..
            }
        )
    }) {
        assert!(
            waited < 100,
            "the sweep did not disqualify the silent dealer"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    }
    let key_shares = confirm_qualified(c, &m, &trustees, &revealed, &[1, 2, 3]);
    assert_completed(c, "silent");
    decrypt_with(c, &m, &key_shares, &[1, 2, 3]);
}

#[test]
fn unanswered_complaint_disqualifies_after_the_deadline() {
    for db in databases("unanswered") {
        eprintln!("unanswered complaint on {}", db.label);
        unanswered(&db);
    }
}

#[test]
fn ceremony_complaints_on_every_backend() {
    for db in databases("complaint") {
        eprintln!("complaints on {}", db.label);
        complaints(&db);
    }
}

#[test]
fn witnesses_cosign_tree_heads() {
    let db = sqlite_db();
    let witness = SigningKey::generate(&mut OsRng);
    let stranger = SigningKey::generate(&mut OsRng);
    let mut cfg = config(&db.url);
    cfg.witnesses = vec![BoardPublicKey(witness.verifying_key())];
    let h = Harness::start(cfg);
    let c = &h.client;
    let info = c.get("/api/v1/board").json();
    assert_eq!(
        info["witnesses"][0],
        BoardPublicKey(witness.verifying_key()).to_hex()
    );
    Voters::new("e", 2, |_| None).register(c);
    let sth = c.sth();
    let cosign = |head: &SignedTreeHead, key: &SigningKey| {
        head.cosign("w.vox.test", key, 1_767_226_200).unwrap()
    };
    let post = |cos: &vox_protocol::board::Cosignature, head: &SignedTreeHead| {
        c.post(
            "/api/v1/board/cosignatures",
            &json!({
                "tree_size": head.head.tree_size,
                "root_hash": head.head.root_hash,
                "timestamp_ms": head.head.timestamp_ms,
                "cosignature": cos,
            }),
        )
    };
    // A stranger's cosignature, a forged one, and one for a head the board never signed.
    post(&cosign(&sth, &stranger), &sth).expect(422);
    let mut forged = cosign(&sth, &witness);
    forged.signature = cosign(&sth, &stranger).signature;
    post(&forged, &sth).expect(422);
    // A cosignature whose time was changed after signing, and one at time 0.
    let mut retimed = cosign(&sth, &witness);
    retimed.timestamp += 1;
    post(&retimed, &sth).expect(422);
    post(&sth.cosign("w.vox.test", &witness, 0).unwrap(), &sth).expect(422);
    let mut other = sth.clone();
    other.head.tree_size += 7;
    post(&cosign(&other, &witness), &other).expect(422);
    // The real thing.
    let cos = cosign(&sth, &witness);
    let r = post(&cos, &sth);
    r.expect(201);
    let head: SignedTreeHead = c.get("/api/v1/board/tree-head").parse();
    assert_eq!(head.cosignatures, vec![cos.clone()]);
    head.verify_cosignature(&cos).unwrap();
    let all: Vec<SignedTreeHead> = c.get("/api/v1/board/tree-heads").parse();
    assert_eq!(all.last().unwrap().cosignatures.len(), 1);
    // The same head as a C2SP signed note: the board's line and the witness's, each
    // verifying under its C2SP verifier key.
    let note = c.get("/api/v1/board/checkpoint").body;
    let note = vox_protocol::tlog::Note::parse(note.as_bytes()).unwrap();
    let board = c.board_key();
    let keys = [
        vox_protocol::board::board_note_key(&board, &head.origin).unwrap(),
        cos.verifier_key().unwrap(),
    ];
    assert_eq!(note.verify(&keys).unwrap().len(), 2);
    assert_eq!(
        note.text(),
        head.checkpoint_text().unwrap(),
        "the note is the latest head"
    );
    // Posting it again is harmless.
    post(&cos, &sth).expect(201);
}

#[test]
fn the_genesis_witnesses_are_the_boards_witnesses() {
    // A board whose genesis names a witness (quorum 1) and whose operator configured
    // none: that witness's cosignatures are accepted, and /board lists it.
    let db = sqlite_db();
    let witness = SigningKey::generate(&mut OsRng);
    let roles = vox_protocol::roles::RoleSigners::generate(&mut OsRng);
    let genesis = roles
        .genesis(
            "vox.test/witnessed",
            now_ms(),
            vox_protocol::roles::WitnessPolicy {
                keys: vec![BoardPublicKey(witness.verifying_key())],
                quorum: 1,
            },
        )
        .unwrap();
    let mut cfg = bare_config(&db.url);
    cfg.genesis = Some(genesis);
    cfg.operator_key = Some(roles.operator.clone());
    let h = Harness::start(cfg);
    let c = &h.client;
    let info = c.get("/api/v1/board").json();
    assert_eq!(
        info["witnesses"],
        json!([BoardPublicKey(witness.verifying_key()).to_hex()])
    );
    let sth = c.sth();
    let cos = sth.cosign("w.vox.test", &witness, 1_767_226_200).unwrap();
    c.post(
        "/api/v1/board/cosignatures",
        &json!({
            "tree_size": sth.head.tree_size,
            "root_hash": sth.head.root_hash,
            "timestamp_ms": sth.head.timestamp_ms,
            "cosignature": cos,
        }),
    )
    .expect(201);
    let head: SignedTreeHead = c.get("/api/v1/board/tree-head").parse();
    assert_eq!(head.cosignatures, vec![cos]);
}
