//! Key-ceremony complaints through the API, and witness cosignatures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use serde_json::json;
use vox_crypto::threshold::{Complaint, ComplaintAnswer, TrusteeIndex};
use vox_crypto::Scalar;
use vox_protocol::board::{BoardPublicKey, SignedTreeHead};
use vox_protocol::ceremony::CeremonyBody;

fn idx(i: u32) -> TrusteeIndex {
    TrusteeIndex::new(i).unwrap()
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
    let size = c.size();
    c.post(
        "/api/v1/referendums/honest/ceremony",
        &ceremony_message(&m, &trustees, 2, CeremonyBody::Confirm),
    )
    .expect(409);
    assert_eq!(c.size(), size);
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
    assert_eq!(c.get("/api/v1/referendums/honest").json()["state"], "ready");

    // 2. A complaint judged against the dealer stops the ceremony with a clear reason.
    let m = manifest("cheat", eh, &trustees, 2, None);
    c.act(acts::created(&m)).expect(201);
    ceremony_until_confirm(c, &m, &trustees);
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
    assert_eq!(r.json()["phase"], "failed");
    let d = c.get("/api/v1/referendums/cheat").json();
    assert_eq!(d["state"], "failed");
    assert_eq!(d["ceremony_phase"], "failed");
    let reason = d["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("trustee 3") && reason.contains("disqualified"),
        "{reason}"
    );
    // Nothing more is accepted.
    let size = c.size();
    c.post(
        "/api/v1/referendums/cheat/ceremony",
        &ceremony_message(&m, &trustees, 2, CeremonyBody::Confirm),
    )
    .expect(409);
    c.post_empty("/api/v1/referendums/cheat/open").expect(409);
    assert_eq!(c.size(), size);
    check_log(c);
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
