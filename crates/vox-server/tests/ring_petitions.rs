//! Ring-signed petitions over HTTP (protocol-spec/07 §7.10): signatures name a ring the
//! server derives itself and a linking tag, never the credential; a revocation changes
//! the rings (409 `rings-changed`); one tag signs once; the record verifies, V6.8
//! included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::rngs::OsRng;
use vox_crypto::credential::Credential;
use vox_protocol::api::IndexedEntry;
use vox_protocol::board::{Payload, SignedTreeHead};
use vox_protocol::petition::{
    Petition, PetitionProposal, RingPetitionSignature, SignatureAction, SignatureScheme,
};
use vox_protocol::record::RecordHeader;
use vox_protocol::rings::{BoardView, RingSet};
use vox_testkit::*;
use vox_verifier::{MemorySource, NoProgress, Options, Status, StepId};

const DAY_MS: i64 = 86_400_000;

fn entries(c: &Client) -> Vec<IndexedEntry> {
    let n = c.size();
    c.get(&format!("/api/v1/board/entries?start=0&end={n}"))
        .parse()
}

/// The rings a device derives from the board as the server shows it now.
fn rings(c: &Client, p: &Petition) -> RingSet {
    let mut view = BoardView::new();
    for e in entries(c) {
        view.apply(&e.entry.payload).unwrap();
    }
    view.petition_rings(p).unwrap()
}

fn ring_sign(
    c: &Client,
    p: &Petition,
    rings: &RingSet,
    cred: &Credential,
    action: SignatureAction,
) -> (Resp, RingPetitionSignature) {
    let sig = RingPetitionSignature::create(p, rings, cred, action, &mut OsRng).unwrap();
    let r = c.post(&format!("/api/v1/petitions/{}/ring-signatures", p.id), &sig);
    (r, sig)
}

fn count(c: &Client, id: &str) -> u64 {
    c.get(&format!("/api/v1/petitions/{id}")).json()["count"]
        .as_u64()
        .unwrap()
}

fn ring_petitions(db: &TestDb) {
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    c.ensure_panel();
    let voters = Voters::new("town", 8, |i| {
        Some(if i < 4 { "north" } else { "south" }.into())
    });
    let eh = voters.register(c);
    let p = Petition {
        signatures: SignatureScheme::Ring,
        ..petition("ring-p", eh, 30 * DAY_MS)
    };
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(p.clone(), &voters.creds[0], &mut OsRng),
    )
    .expect(201);
    assert_eq!(count(c, "ring-p"), 0, "the proposer is not counted");

    // Two ring signatures: the sponsor threshold (2) counts tags.
    let r0 = rings(c, &p);
    assert_eq!(r0.rings().len(), 2);
    let (r, first) = ring_sign(c, &p, &r0, &voters.creds[0], SignatureAction::Sign);
    r.expect(201);
    assert_eq!(r.json()["count"], 1);
    // The entry names the ring and the tag, never a credential.
    let last = entries(c).pop().unwrap();
    let text = serde_json::to_string(&last.entry).unwrap();
    for v in &voters.creds {
        assert!(!text.contains(&v.public_key().point().to_hex()));
    }
    assert!(matches!(
        last.entry.payload,
        Payload::PetitionRingSigned { .. }
    ));
    ring_sign(c, &p, &r0, &voters.creds[5], SignatureAction::Sign)
        .0
        .expect(201);
    assert_eq!(count(c, "ring-p"), 2);

    // The same tag again (a fresh proof): refused, nothing appended.
    let size = c.size();
    let r = ring_sign(c, &p, &r0, &voters.creds[0], SignatureAction::Sign).0;
    r.expect(422);
    assert_eq!(c.size(), size);
    // A credential signature on a ring-signed petition: refused.
    sign(c, &p, &voters.creds[1], SignatureAction::Sign).expect(422);
    // A forged proof (a flipped bit of z): refused.
    let sig =
        RingPetitionSignature::create(&p, &r0, &voters.creds[2], SignatureAction::Sign, &mut OsRng)
            .unwrap();
    let mut bytes = sig.signature.as_bytes().to_vec();
    bytes[32 + 8 + 6 * 32] ^= 1;
    let forged = RingPetitionSignature {
        signature: vox_protocol::petition::RingSignatureBytes::from_bytes(bytes).unwrap(),
        ..sig
    };
    c.post("/api/v1/petitions/ring-p/ring-signatures", &forged)
        .expect(422);
    assert_eq!(c.size(), size);

    // The registrar revokes voter 7: a signature over the rings from before is 409,
    // and one over the rings derived again is accepted.
    c.act(acts::revoked(
        "town",
        voters.creds[7].public_key(),
        None,
        "lost device",
    ))
    .expect(201);
    let r = ring_sign(c, &p, &r0, &voters.creds[6], SignatureAction::Sign).0;
    r.expect(409);
    assert_eq!(
        r.json()["type"].as_str().unwrap().rsplit('/').next(),
        Some("rings-changed")
    );
    let r1 = rings(c, &p);
    assert!(r1.ring_of(&voters.creds[7].public_key()).is_none());
    // The revoked credential cannot sign at all now.
    assert!(RingPetitionSignature::create(
        &p,
        &r1,
        &voters.creds[7],
        SignatureAction::Sign,
        &mut OsRng
    )
    .is_err());
    ring_sign(c, &p, &r1, &voters.creds[6], SignatureAction::Sign)
        .0
        .expect(201);

    // Published, then a withdrawal (the same tag) and an invalidation by tag.
    c.act(acts::publish("ring-p", 30 * DAY_MS)).expect(200);
    ring_sign(c, &p, &r1, &voters.creds[5], SignatureAction::Withdraw)
        .0
        .expect(201);
    assert_eq!(count(c, "ring-p"), 2);
    let invalidation = Payload::SignaturesInvalidated {
        petition_id: "ring-p".into(),
        credentials: Vec::new(),
        tags: vec![*first.tag()],
        reason: "bought".into(),
        act: vox_protocol::roles::ActSignature::unsigned(),
    };
    c.act(invalidation).expect(200);
    assert_eq!(count(c, "ring-p"), 1);
    // Region counts come from the rings: voter 6 (south) is the one signer left.
    let detail = c.get("/api/v1/petitions/ring-p").json();
    assert_eq!(detail["count"], 1);

    // The whole record verifies, V6.8 included (4 ring signatures checked).
    let header: RecordHeader = c.get("/api/v1/record").parse();
    let heads: Vec<SignedTreeHead> = c.get("/api/v1/board/tree-heads").parse();
    let list: Vec<_> = entries(c).into_iter().map(|e| e.entry).collect();
    let source = MemorySource::from_parts(&header, &heads, &list).unwrap();
    let report = vox_verifier::verify_record(&source, Options::default(), &mut NoProgress).unwrap();
    let v6 = report.step(StepId::Petitions).unwrap();
    assert_eq!(v6.status, Status::Pass, "{}", v6.detail);
    assert!(
        report.steps.iter().all(|s| s.status != Status::Fail),
        "{report:?}"
    );
    h.stop();
}

/// A burst of ring signatures sent at once is checked in batches (13 §13.8), and each
/// request still gets its own answer: the forged ones 422, the others 201, counted once.
/// (How the burst splits into batches depends on timing; that every signature is checked
/// exactly once in some batch does not.)
#[test]
fn a_burst_of_ring_signatures_gets_exact_answers() {
    let db = sqlite_db();
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    c.ensure_panel();
    let voters = Voters::new("town", 12, |_| None);
    let eh = voters.register(c);
    let p = Petition {
        signatures: SignatureScheme::Ring,
        ..petition("burst", eh, 30 * DAY_MS)
    };
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(p.clone(), &voters.creds[0], &mut OsRng),
    )
    .expect(201);
    let r = rings(c, &p);
    // Every third one forged (another action than the one it proves).
    let sigs: Vec<(RingPetitionSignature, bool)> = voters
        .creds
        .iter()
        .enumerate()
        .map(|(i, cred)| {
            let mut sig =
                RingPetitionSignature::create(&p, &r, cred, SignatureAction::Sign, &mut OsRng)
                    .unwrap();
            let forged = i % 3 == 1;
            if forged {
                sig.action = SignatureAction::Withdraw;
            }
            (sig, !forged)
        })
        .collect();
    let size = c.size();
    std::thread::scope(|scope| {
        for (sig, good) in &sigs {
            scope.spawn(move || {
                let r = c.post("/api/v1/petitions/burst/ring-signatures", sig);
                r.expect(if *good { 201 } else { 422 });
            });
        }
    });
    let good = sigs.iter().filter(|(_, g)| *g).count() as u64;
    assert_eq!(count(c, "burst"), good);
    let appended = entries(c)
        .into_iter()
        .skip(size as usize)
        .filter(|e| matches!(e.entry.payload, Payload::PetitionRingSigned { .. }))
        .count();
    assert_eq!(appended as u64, good, "one entry per accepted signature");
    let metrics = c.get("/metrics").body;
    let sum = metrics
        .lines()
        .find_map(|l| l.strip_prefix("vox_ring_signature_verify_batch_size_sum "))
        .unwrap();
    assert_eq!(sum.parse::<f64>().unwrap(), sigs.len() as f64, "{metrics}");
    h.stop();
}

#[test]
fn ring_signed_petitions_on_every_backend() {
    for db in databases("ring_petitions") {
        ring_petitions(&db);
    }
}
