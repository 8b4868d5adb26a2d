//! Native tests of the ring-signing exports (src/ring.rs): the device derives a
//! ring-signed petition's rings from the board it checked itself, exactly as `vox voter
//! sign` does, and refuses a board it cannot vouch for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::OnceLock;

use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use vox_crypto::credential::Credential;
use vox_protocol::board::{BoardEntry, Payload, SignedTreeHead};
use vox_protocol::encoding::Hashable;
use vox_protocol::petition::{Petition, RingPetitionSignature, SignatureScheme};
use vox_verifier::synth::{honest, rings_from_log, Honest};

fn seed() {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    vox_web::seed(&b).unwrap();
}

fn ok(s: &str) -> Value {
    let v: Value = serde_json::from_str(s).unwrap();
    assert!(v.get("error").is_none(), "unexpected error: {s}");
    v["ok"].clone()
}

fn err(s: &str) -> String {
    let v: Value = serde_json::from_str(s).unwrap();
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {s}"))
        .to_string()
}

/// The verifier's honest board: petition p3 is ring-signed (voters 5, 6 and 7 signed
/// it; voter 13 was revoked before it, their replacement enrolled before it).
fn board() -> &'static Honest {
    static H: OnceLock<Honest> = OnceLock::new();
    H.get_or_init(|| honest(41, 0).unwrap())
}

fn head() -> &'static SignedTreeHead {
    let h = board();
    let last = h.record.heads.last().unwrap();
    assert_eq!(last.head.tree_size, h.record.entries.len() as u64);
    last
}

fn petition(id: &str) -> Petition {
    board()
        .record
        .entries
        .iter()
        .find_map(|e| match &e.payload {
            Payload::PetitionProposed { proposal } if proposal.petition.id == id => {
                Some(proposal.petition.clone())
            }
            _ => None,
        })
        .unwrap()
}

/// Begin with the board's key and head, and feed `entries` as API pages of 7.
fn feed(head: &SignedTreeHead, entries: &[BoardEntry]) -> Result<Value, String> {
    let begun = vox_web::ring_begin(
        &json!({ "board_public_key": board().record.header.board_public_key, "tree_head": head })
            .to_string(),
    );
    let v: Value = serde_json::from_str(&begun).unwrap();
    if let Some(e) = v.get("error") {
        return Err(e.as_str().unwrap().to_owned());
    }
    assert_eq!(v["ok"]["tree_size"], json!(head.head.tree_size));
    let mut last = Value::Null;
    for (p, page) in entries.chunks(7).enumerate() {
        let items: Vec<Value> = page
            .iter()
            .enumerate()
            .map(|(i, e)| json!({ "index": p * 7 + i, "entry": e }))
            .collect();
        let out = vox_web::ring_feed(&json!({ "entries": items }).to_string());
        let v: Value = serde_json::from_str(&out).unwrap();
        if let Some(e) = v.get("error") {
            return Err(e.as_str().unwrap().to_owned());
        }
        last = v["ok"].clone();
    }
    Ok(last)
}

fn sign_request(p: &Petition, c: &Credential) -> String {
    json!({
        "petition": p, "petition_hash": p.canonical_hash(), "credential": c.text(),
        "action": "sign",
    })
    .to_string()
}

#[test]
fn honest_board_gives_a_signature_the_board_accepts() {
    seed();
    let h = board();
    let entries = &h.record.entries;
    let fed = feed(head(), entries).unwrap();
    assert_eq!(fed["received"], json!(entries.len()));
    let p3 = petition("p3");
    assert_eq!(p3.signatures, SignatureScheme::Ring);
    let voter = &h.credentials[1];
    let facts = ok(&vox_web::ring_derive(&sign_request(&p3, voter)));
    // The rings the verifier derives from the same log, at the next leaf.
    let rings = rings_from_log(entries, &p3).unwrap();
    let (ring, _) = rings.ring_of(&voter.public_key()).unwrap();
    assert_eq!(facts["ring"], json!(ring.ring.hash().to_hex()));
    assert_eq!(facts["region"], json!(ring.region));
    assert_eq!(facts["ring_members"], json!(ring.ring.member_count()));
    assert_eq!(facts["ring_count"], json!(ring.count));
    assert_eq!(facts["rings"], json!(rings.rings().len()));
    assert_eq!(facts["tree_size"], json!(entries.len()));

    let out = ok(&vox_web::ring_sign(&sign_request(&p3, voter)));
    let sig: RingPetitionSignature = serde_json::from_value(out["signature"].clone()).unwrap();
    // It verifies against the rings derived independently (what the server and V6.8 do).
    sig.verify(&p3.canonical_hash(), &rings).unwrap();
    assert_eq!(out["tag"], json!(sig.tag().to_hex()));
    assert_eq!(out["ring"], json!(sig.ring.to_hex()));
    assert_eq!(out["signature_hash"], json!(sig.canonical_hash().to_hex()));
    // It names neither the credential nor its public key.
    let text = out["signature"].to_string();
    assert!(
        !text.contains(&voter.public_key().point().to_hex()),
        "{text}"
    );
    assert!(!text.contains(voter.text()), "{text}");
    // The same credential again: the same tag (the board refuses it as a second
    // signature); another credential: another tag.
    let again = ok(&vox_web::ring_sign(&sign_request(&p3, voter)));
    assert_eq!(again["tag"], out["tag"]);
    assert_ne!(again["signature"], out["signature"]);
    let other = ok(&vox_web::ring_sign(&sign_request(&p3, &h.credentials[2])));
    assert_ne!(other["tag"], out["tag"]);
    // The replacement of the revoked voter, enrolled before p3 was proposed, is in a ring.
    ok(&vox_web::ring_derive(&sign_request(&p3, &h.replacement)));
}

#[test]
fn entries_that_do_not_hash_to_the_head_are_refused() {
    seed();
    let h = board();
    let mut entries = h.record.entries.clone();
    // A server that shows this device another log than the one it signed: one ballot's
    // timestamp moved (the view itself has nothing to object to).
    let i = entries
        .iter()
        .position(|e| matches!(e.payload, Payload::BallotCast { .. }))
        .unwrap();
    entries[i].timestamp_ms += 1;
    feed(head(), &entries).unwrap();
    let p3 = petition("p3");
    let e = err(&vox_web::ring_derive(&sign_request(&p3, &h.credentials[1])));
    assert!(e.contains("do not hash to its signed tree head"), "{e}");
    let e = err(&vox_web::ring_sign(&sign_request(&p3, &h.credentials[1])));
    assert!(e.contains("do not hash to its signed tree head"), "{e}");

    // Fewer entries than the head: refused until all are fed.
    let honest_entries = &h.record.entries;
    feed(head(), &honest_entries[..honest_entries.len() - 1]).unwrap();
    let e = err(&vox_web::ring_derive(&sign_request(&p3, &h.credentials[1])));
    assert!(e.contains("all of them are needed"), "{e}");
    // A page out of order ends the session.
    let item = json!({ "index": honest_entries.len() + 5, "entry": honest_entries[0] });
    let e = err(&vox_web::ring_feed(
        &json!({ "entries": [item] }).to_string(),
    ));
    assert!(e.contains("out of order"), "{e}");
    let e = err(&vox_web::ring_sign(&sign_request(&p3, &h.credentials[1])));
    assert!(e.contains("call ring_begin first"), "{e}");

    // An authority act whose text is not what its role signed: refused at its leaf.
    let mut forged = h.record.entries.clone();
    let j = forged
        .iter()
        .position(|e| matches!(e.payload, Payload::PetitionResponded { .. }))
        .unwrap();
    if let Payload::PetitionResponded { text, .. } = &mut forged[j].payload {
        text.push_str(" (edited by the server)");
    }
    let e = feed(head(), &forged).unwrap_err();
    assert!(e.starts_with(&format!("board entry {j}:")), "{e}");
    // A log that does not start with its genesis.
    let mut shuffled = h.record.entries.clone();
    shuffled.swap(0, 1);
    let e = feed(head(), &shuffled).unwrap_err();
    assert!(e.contains("not a genesis"), "{e}");
}

#[test]
fn a_credential_in_no_ring_is_refused() {
    seed();
    let h = board();
    feed(head(), &h.record.entries).unwrap();
    let p3 = petition("p3");
    // Revoked before the petition: in none of its rings.
    let revoked = &h.credentials[h.revoked];
    for out in [
        vox_web::ring_derive(&sign_request(&p3, revoked)),
        vox_web::ring_sign(&sign_request(&p3, revoked)),
    ] {
        let e = err(&out);
        assert!(e.starts_with("not-in-ring:"), "{e}");
    }
    // Never on the electorate.
    let stranger = Credential::generate(&mut OsRng);
    let e = err(&vox_web::ring_sign(&sign_request(&p3, &stranger)));
    assert!(e.starts_with("not-in-ring:"), "{e}");
    // A credential-signed petition is not signed here.
    let p1 = petition("p1");
    let e = err(&vox_web::ring_sign(&sign_request(&p1, &h.credentials[1])));
    assert!(e.contains("credential signatures"), "{e}");
    // A petition text other than the one proposed on the board under its id (the
    // server's detail is not trusted): refused, even with a matching hash.
    let mut edited = p3.clone();
    edited.action.push_str(" (and something else)");
    let e = err(&vox_web::ring_sign(&sign_request(
        &edited,
        &h.credentials[1],
    )));
    assert!(e.contains("not the petition proposed on the board"), "{e}");
    let mut unknown = p3.clone();
    unknown.id = "p9".into();
    let e = err(&vox_web::ring_derive(&sign_request(
        &unknown,
        &h.credentials[1],
    )));
    assert!(e.contains("is not proposed on the board"), "{e}");
    // A petition hash that is not the petition's.
    let mut req: Value = serde_json::from_str(&sign_request(&p3, &h.credentials[1])).unwrap();
    req["petition_hash"] = json!(p1.canonical_hash());
    let e = err(&vox_web::ring_sign(&req.to_string()));
    assert!(e.starts_with("petition_hash:"), "{e}");
}

#[test]
fn a_tampered_or_foreign_head_is_refused() {
    seed();
    let h = board();
    // Another root under the board's signature.
    let mut head = head().clone();
    head.head.root_hash.0[0] ^= 1;
    let e = feed(&head, &h.record.entries).unwrap_err();
    assert!(e.contains("does not verify"), "{e}");
    // A larger size under the board's signature.
    let mut head = self::head().clone();
    head.head.tree_size += 1;
    let e = feed(&head, &h.record.entries).unwrap_err();
    assert!(e.contains("does not verify"), "{e}");
    // A head signed by another key than the pinned one.
    let other = honest(42, 0).unwrap();
    let foreign = other.record.heads.last().unwrap();
    let e = feed(foreign, &other.record.entries).unwrap_err();
    assert!(e.contains("does not verify"), "{e}");
    // Nothing to sign from after a refused begin.
    let e = err(&vox_web::ring_sign(&sign_request(
        &petition("p3"),
        &h.credentials[1],
    )));
    assert!(e.contains("call ring_begin first"), "{e}");
}

/// The answer to a ring signature is checked as a receipt: head signed under the pinned
/// key, the leaf's entry exactly the posted signature, included under the head.
#[test]
fn the_answer_to_a_ring_signature_is_checked_as_a_receipt() {
    use vox_protocol::api::{IndexedEntry, SignatureAccepted};
    use vox_protocol::merkle::inclusion_proof;
    let h = board();
    let entries = &h.record.entries;
    let leaves: Vec<_> = entries.iter().map(BoardEntry::leaf_hash).collect();
    let (leaf, signature) = entries
        .iter()
        .enumerate()
        .find_map(|(i, e)| match &e.payload {
            Payload::PetitionRingSigned { signature } => Some((i, (**signature).clone())),
            _ => None,
        })
        .unwrap();
    let answer = SignatureAccepted {
        leaf_index: leaf as u64,
        tree_head: head().clone(),
        inclusion_proof: inclusion_proof(&leaves, leaf as u64).unwrap(),
        count: 1,
    };
    let request = |answer: &SignatureAccepted, at: usize, sig: &RingPetitionSignature| {
        json!({
            "board_public_key": h.record.header.board_public_key,
            "answer": answer,
            "entries": [IndexedEntry { index: at as u64, entry: entries[at].clone() }],
            "signature": sig,
        })
        .to_string()
    };
    let checked = ok(&vox_web::ring_check_receipt(&request(
        &answer, leaf, &signature,
    )));
    assert_eq!(checked["leaf_index"], json!(leaf));
    assert_eq!(checked["tree_size"], json!(entries.len()));
    // Another entry at that leaf (the board recorded something else): refused.
    let other = entries
        .iter()
        .enumerate()
        .find_map(|(i, e)| match &e.payload {
            Payload::PetitionRingSigned { signature: s } if i != leaf => Some((**s).clone()),
            _ => None,
        })
        .unwrap();
    assert!(err(&vox_web::ring_check_receipt(&request(
        &answer, leaf, &other
    )))
    .contains("not the signature this device posted"));
    // The entry of another leaf: refused.
    assert!(!err(&vox_web::ring_check_receipt(&request(
        &answer,
        leaf + 1,
        &signature
    )))
    .is_empty());
    // A proof that does not lead to the signed root: refused.
    let mut bad = answer.clone();
    bad.inclusion_proof[0].0[0] ^= 1;
    assert!(err(&vox_web::ring_check_receipt(&request(
        &bad, leaf, &signature
    )))
    .contains("not included"));
    // A head not signed by the pinned key: refused.
    let mut forged = answer.clone();
    forged.tree_head.head.root_hash.0[0] ^= 1;
    assert!(err(&vox_web::ring_check_receipt(&request(
        &forged, leaf, &signature
    )))
    .contains("does not verify"));
}
