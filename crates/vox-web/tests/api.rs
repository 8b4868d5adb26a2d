//! Native tests of the functions the browser calls (same code as the wasm exports).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use std::sync::OnceLock;
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::threshold::{CeremonyParams, Dealer, TrusteeIndex};
use vox_crypto::Hash32;
use vox_protocol::ballot::{AuditedBallot, Ballot, BallotContext};
use vox_protocol::board::{BoardEntry, BoardPublicKey, Payload, SignedTreeHead, TreeHead};
use vox_protocol::ceremony::CeremonyBody;
use vox_protocol::device::fingerprint;
use vox_protocol::electorate::{Electorate, EnrolmentRequest};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::Manifest;
use vox_protocol::merkle::{inclusion_proof, root_from_leaf_hashes};
use vox_protocol::petition::{Moderation, Petition, PetitionProposal, PetitionSignature};
use vox_verifier::synth::{honest_with, Enrolment, Honest};

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

/// An honest board from the verifier's generator (the same constructors as the server,
/// the roles' and the trustees' tools): referendum r1 with a signed ceremony of three
/// trustees, and the electorate registered whole (so that its list is on the board).
fn honest() -> &'static Honest {
    static H: OnceLock<Honest> = OnceLock::new();
    H.get_or_init(|| honest_with(31, 0, Enrolment::Registered).unwrap())
}

struct Setup {
    manifest: Manifest,
    key: ElectionPublicKey,
    electorate: Electorate,
    credential: Credential,
    /// What the page gathers for the device check (D1–D7), from an honest server.
    evidence: Value,
}

/// The server's view of r1 (`GET /api/v1/referendums/r1`, with fields the check does
/// not use) and its signed head, from the board's entries.
fn server_view(entries: &[BoardEntry], key: &SigningKey, election_key: Value) -> (Value, Value) {
    let at = |f: &dyn Fn(&Payload) -> bool| -> Vec<u64> {
        entries
            .iter()
            .enumerate()
            .filter(|(_, e)| f(&e.payload))
            .map(|(i, _)| i as u64)
            .collect()
    };
    // r1 is created by the authority or, in the honest record, triggered by a petition.
    let created = at(&|p| match p {
        Payload::ReferendumCreated { manifest, .. } | Payload::ReferendumTriggered { manifest } => {
            manifest.referendum_id == "r1"
        }
        _ => false,
    })[0];
    let (manifest, triggered) = match &entries[created as usize].payload {
        Payload::ReferendumCreated { manifest, .. } => (manifest, false),
        Payload::ReferendumTriggered { manifest } => (manifest, true),
        _ => unreachable!(),
    };
    // For a triggered referendum the server names the leaves that determine its manifest
    // (the petition, the office's publication with the terms, the panel in force).
    let trigger = triggered.then(|| {
        let pid = manifest.source_petition.clone().unwrap();
        let last_before = |v: Vec<u64>| v.into_iter().rfind(|i| *i < created).unwrap();
        json!({
            "petition_leaf": last_before(at(&|p| matches!(p,
                Payload::PetitionProposed { proposal } if proposal.petition.id == pid))),
            "publish_leaf": last_before(at(&|p| matches!(p,
                Payload::PetitionModerated { petition_id, moderation: Moderation::Publish { .. }, .. }
                    if *petition_id == pid))),
            "panel_leaf": last_before(at(&|p| matches!(p, Payload::TrusteePanelSet { .. }))),
        })
    });
    let rotations: Vec<u64> = at(&|p| matches!(p, Payload::RoleKeyRotated { .. }))
        .into_iter()
        .filter(|i| *i < created)
        .collect();
    let ceremony =
        at(&|p| matches!(p, Payload::Ceremony { message } if message.referendum_id == "r1"));
    let completed = at(
        &|p| matches!(p, Payload::CeremonyCompleted { referendum_id, .. } if referendum_id == "r1"),
    )[0];
    let detail = json!({
        "manifest": manifest, "manifest_hash": manifest.canonical_hash(),
        "state": "open", "ballots_cast": 12, "election_key": election_key,
        "leaf_index": created, "role_rotation_leaves": rotations,
        "ceremony_leaves": ceremony, "completed_leaf": completed,
    });
    let mut detail = detail;
    if let Some(t) = trigger {
        detail["trigger"] = t;
    }
    let hashes: Vec<_> = entries.iter().map(BoardEntry::leaf_hash).collect();
    let sth = SignedTreeHead::sign(
        TreeHead {
            tree_size: hashes.len() as u64,
            root_hash: root_from_leaf_hashes(&hashes),
            timestamp_ms: 1,
        },
        vox_verifier::synth::LOG_NAME,
        key,
    )
    .unwrap();
    (detail, json!(sth))
}

/// The evidence the page gathers: the plan from `device_plan`, then each leaf with its
/// inclusion proof, as `referendum.js` fetches them.
fn gather(entries: &[BoardEntry], board: &BoardPublicKey, detail: Value, sth: Value) -> Value {
    let plan = ok(&vox_web::device_plan(
        &json!({"referendum_id": "r1", "board_public_key": board, "tree_head": sth, "detail": detail})
            .to_string(),
    ));
    let hashes: Vec<_> = entries.iter().map(BoardEntry::leaf_hash).collect();
    let leaves: Vec<Value> = plan["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let i = i.as_u64().unwrap();
            json!({"index": i, "entry": entries[i as usize], "proof": inclusion_proof(&hashes, i).unwrap()})
        })
        .collect();
    json!({"referendum_id": "r1", "board_public_key": board, "tree_head": sth,
        "detail": detail, "leaves": leaves})
}

fn setup() -> Setup {
    let h = honest();
    let entries = &h.record.entries;
    let electorate = entries
        .iter()
        .find_map(|e| match &e.payload {
            Payload::ElectorateRegistered { electorate, .. } => Some(electorate.clone()),
            _ => None,
        })
        .unwrap();
    let key = *h.joint.election_key();
    let (detail, sth) = server_view(entries, &h.board_key, json!(key));
    let board = BoardPublicKey(h.board_key.verifying_key());
    Setup {
        manifest: h.manifest.clone(),
        key,
        electorate,
        credential: Credential::from_text(h.credentials[0].text()).unwrap(),
        evidence: gather(entries, &board, detail, sth),
    }
}

fn choices() -> Value {
    json!([[0, 1], [0, 0, 1], [1, 1, 0], [3, 2]])
}

#[test]
fn encrypt_gives_a_valid_ballot() {
    seed();
    let s = setup();
    let req = json!({
        "evidence": s.evidence,
        "credential": s.credential.text().to_lowercase(),
        "choices": choices(),
    });
    let out = ok(&vox_web::encrypt_ballot(&req.to_string()));
    let ballot: Ballot = serde_json::from_value(out["ballot"].clone()).unwrap();
    let ctx = BallotContext::new(&s.manifest, s.key);
    ballot
        .validate(&ctx, &s.electorate.index(), None, &mut OsRng)
        .unwrap();
    assert_eq!(out["tracking_code"], ballot.tracking_code());
    assert_eq!(out["ballot_hash"], ballot.hash().to_hex());
    assert_eq!(out["secrets"]["choices"], choices());
    // What the page shows: the board's manifest hash, its fingerprint, the key.
    let mh = s.manifest.canonical_hash();
    assert_eq!(out["checked"]["manifest_hash"], mh.to_hex());
    assert_eq!(out["checked"]["fingerprint"], fingerprint(&mh));
    assert_eq!(out["checked"]["election_key"], json!(s.key));
    // The credential text is never echoed back.
    assert!(!out.to_string().contains(s.credential.text()));
    // The check alone gives the same.
    let c = ok(&vox_web::check_election_key(
        &json!({"evidence": s.evidence}).to_string(),
    ));
    assert_eq!(c, out["checked"]);
}

/// The attack of protocol-spec/04-ballots.md §4.7: a server that shows its own key, or
/// puts its own polynomials in a trustee's place on a board it re-signs, or is not the
/// board this browser pinned. Each makes `encrypt_ballot` refuse and return no ballot.
#[test]
fn encrypt_refuses_a_key_the_board_does_not_define() {
    seed();
    let h = honest();
    let s = setup();
    let encrypt = |evidence: &Value| {
        let req =
            json!({"evidence": evidence, "credential": s.credential.text(), "choices": choices()});
        let v: Value = serde_json::from_str(&vox_web::encrypt_ballot(&req.to_string())).unwrap();
        assert!(v.get("ok").is_none(), "encrypted: {v}");
        v["error"].as_str().unwrap().to_owned()
    };
    // The server's view names a key the attacker knows.
    let x = vox_crypto::elgamal::SecretScalar::random(&mut OsRng);
    let fake = ElectionPublicKey::new(x.public()).unwrap();
    let mut e = s.evidence.clone();
    e["detail"]["election_key"] = json!(fake);
    let refusal = encrypt(&e);
    assert!(refusal.starts_with("refusing to encrypt"), "{refusal}");
    assert!(refusal.contains("NOT the key"), "{refusal}");

    // A trustee's reveal replaced by the server's own polynomial, on a board it re-signs
    // with its (real) board key.
    let mut entries = h.record.entries.clone();
    let at = s.evidence["detail"]["ceremony_leaves"][3].as_u64().unwrap() as usize;
    let Payload::Ceremony { message } = &mut entries[at].payload else {
        panic!("not a ceremony leaf")
    };
    let params = CeremonyParams::new(3, 2).unwrap();
    let dealer = Dealer::new(
        &params,
        TrusteeIndex::new(message.trustee).unwrap(),
        &s.manifest.canonical_hash(),
        &mut OsRng,
    )
    .unwrap();
    message.body = CeremonyBody::Reveal {
        coefficients: dealer.coefficients().clone(),
    };
    let (detail, sth) = server_view(&entries, &h.board_key, json!(s.key));
    let board = BoardPublicKey(h.board_key.verifying_key());
    let refusal = encrypt(&gather(&entries, &board, detail, sth));
    assert!(refusal.contains("is not signed by trustee"), "{refusal}");

    // Another board key than the pinned one.
    let other = SigningKey::from_bytes(&[7u8; 32]);
    let (detail, sth) = server_view(&h.record.entries, &other, json!(s.key));
    let mut e = s.evidence.clone();
    e["tree_head"] = sth;
    e["detail"] = detail;
    let refusal = encrypt(&e);
    assert!(
        refusal.contains("not signed by the pinned board key"),
        "{refusal}"
    );

    // A leaf the server serves differently from its signed tree.
    let mut e = s.evidence.clone();
    e["leaves"][0]["entry"]["timestamp_ms"] = json!(5);
    assert!(encrypt(&e).contains("leaf 0 is not in the board's signed tree"));
    // Without evidence, or with a key of its own, there is nothing to encrypt to.
    for req in [
        json!({"credential": s.credential.text(), "choices": choices()}),
        json!({"evidence": s.evidence, "election_key": s.key, "credential": s.credential.text(), "choices": choices()}),
    ] {
        let e = err(&vox_web::encrypt_ballot(&req.to_string()));
        assert!(e.contains("bad request JSON"), "{e}");
    }
}

#[test]
fn board_key_and_plan_check_what_the_server_presents() {
    let h = honest();
    let s = setup();
    let board = BoardPublicKey(h.board_key.verifying_key());
    let out = ok(&vox_web::board_key(
        &json!({"board_public_key": board, "log_id": board.log_id()}).to_string(),
    ));
    assert_eq!(out["fingerprint"], fingerprint(&board.log_id()));
    let e = err(&vox_web::board_key(
        &json!({"board_public_key": board, "log_id": Hash32([1; 32])}).to_string(),
    ));
    assert!(e.contains("log id does not match"), "{e}");
    // Before the ceremony completes there is nothing to check.
    let mut detail = s.evidence["detail"].clone();
    detail["completed_leaf"] = Value::Null;
    let e = err(&vox_web::device_plan(
        &json!({"referendum_id": "r1", "board_public_key": board,
            "tree_head": s.evidence["tree_head"], "detail": detail})
        .to_string(),
    ));
    assert!(e.contains("not complete"), "{e}");
}

#[test]
fn audit_opening_decrypts_and_detects_lies() {
    seed();
    let s = setup();
    let req = json!({
        "evidence": s.evidence, "credential": s.credential.text(), "choices": choices(),
    });
    let out = ok(&vox_web::encrypt_ballot(&req.to_string()));
    let mut audited = json!({
        "ballot": out["ballot"],
        "choices": out["secrets"]["choices"],
        "nonces": out["secrets"]["nonces"],
    });
    // It is a valid AuditedBallot for the server.
    let ab: AuditedBallot = serde_json::from_value(audited.clone()).unwrap();
    ab.verify_opening(&BallotContext::new(&s.manifest, s.key))
        .unwrap();
    // The page passes the checked key (from the encrypt answer), not the server's.
    let areq = json!({"manifest": s.manifest, "manifest_hash": s.manifest.canonical_hash(),
        "election_key": out["checked"]["election_key"], "audited": audited});
    let a = ok(&vox_web::audit_opening(&areq.to_string()));
    assert_eq!(a["choices"], choices());
    assert_eq!(a["tracking_code"], out["tracking_code"]);
    assert_eq!(a["answers"][0]["selected"][0]["option"], "no");

    // A device that claims other choices than it encrypted is caught.
    audited["choices"] = json!([[1, 0], [0, 0, 1], [1, 1, 0], [3, 2]]);
    let areq = json!({"manifest": s.manifest, "election_key": s.key, "audited": audited});
    let e = err(&vox_web::audit_opening(&areq.to_string()));
    assert!(e.contains("does not encrypt the choices"), "{e}");

    // A wrong manifest hash is refused.
    let areq = json!({"manifest": s.manifest, "manifest_hash": "00".repeat(32),
        "election_key": s.key, "audited": audited});
    let e = err(&vox_web::audit_opening(&areq.to_string()));
    assert!(e.contains("manifest_hash"), "{e}");
    // So is a server manifest other than the board's, before encrypting.
    let mut e = s.evidence.clone();
    e["detail"]["manifest"]["title"] = json!("Another question");
    let req = json!({"evidence": e, "credential": s.credential.text(), "choices": choices()});
    let e = err(&vox_web::encrypt_ballot(&req.to_string()));
    assert!(e.contains("not the one on the board"), "{e}");
}

#[test]
fn petition_signature_verifies() {
    seed();
    let s = setup();
    let petition = Petition {
        id: "p1".into(),
        action: "Build a cycle lane".into(),
        background: "Because".into(),
        details: "".into(),
        electorate_hash: s.electorate.canonical_hash(),
        sponsor_threshold: 2,
        response_threshold: 2,
        referendum_threshold: 3,
        open_for_ms: 1000,
        response_due_ms: 1000,
        region_min_group: 1,
        signatures: Default::default(),
    };
    let h = petition.canonical_hash();
    let req = json!({"petition": petition, "petition_hash": h, "credential": s.credential.text()});
    let out = ok(&vox_web::sign_petition(&req.to_string()));
    let sig: PetitionSignature = serde_json::from_value(out["signature"].clone()).unwrap();
    sig.verify(&h, &s.electorate.index()).unwrap();
    assert_eq!(out["signature"]["action"], "sign");

    let req =
        json!({"petition": petition, "credential": s.credential.text(), "action": "withdraw"});
    let out = ok(&vox_web::sign_petition(&req.to_string()));
    assert_eq!(out["signature"]["action"], "withdraw");

    let req = json!({"petition": petition, "petition_hash": "11".repeat(32), "credential": s.credential.text()});
    assert!(err(&vox_web::sign_petition(&req.to_string())).contains("petition_hash"));

    let pk = ok(&vox_web::credential_public_key(
        &json!({"credential": s.credential.text()}).to_string(),
    ));
    assert_eq!(pk["public_key"], s.credential.public_key().point().to_hex());
}

#[test]
fn petition_proposal_verifies() {
    seed();
    let s = setup();
    let petition = Petition {
        id: "p2".into(),
        action: "Plant trees on the square".into(),
        background: "Shade in summer".into(),
        details: "".into(),
        electorate_hash: s.electorate.canonical_hash(),
        sponsor_threshold: 2,
        response_threshold: 2,
        referendum_threshold: 3,
        open_for_ms: 1000,
        response_due_ms: 1000,
        region_min_group: 1,
        signatures: Default::default(),
    };
    let req = json!({"petition": petition, "credential": s.credential.text()});
    let out = ok(&vox_web::propose_petition(&req.to_string()));
    let p: PetitionProposal = serde_json::from_value(out["proposal"].clone()).unwrap();
    p.verify(&s.electorate.index()).unwrap();
    assert_eq!(p.proposer, s.credential.public_key());
    assert_eq!(out["petition_hash"], petition.canonical_hash().to_hex());

    // The structural rules are checked before anything is signed.
    let mut bad = petition.clone();
    bad.sponsor_threshold = 1;
    let req = json!({"petition": bad, "credential": s.credential.text()});
    assert!(err(&vox_web::propose_petition(&req.to_string())).contains("sponsor_threshold"));
    let req = json!({"petition": petition, "credential": "not a credential"});
    assert!(err(&vox_web::propose_petition(&req.to_string())).contains("credential"));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    seed();
    for f in [
        vox_web::encrypt_ballot,
        vox_web::audit_opening,
        vox_web::sign_petition,
        vox_web::propose_petition,
        vox_web::credential_public_key,
        vox_web::verify_receipt,
        vox_web::check_election_key,
        vox_web::device_plan,
        vox_web::board_key,
    ] {
        for input in ["", "{", "null", "[]", "{}", r#"{"manifest": 3}"#, "\u{0}"] {
            let e = err(&f(input));
            assert!(e.contains("bad request JSON"), "{e}");
        }
    }
    let e = err(&vox_web::credential_public_key(r#"{"credential": "ABC"}"#));
    assert!(e.starts_with("credential:"), "{e}");
    // Wrong choices for the manifest.
    let s = setup();
    let req = json!({"evidence": s.evidence,
        "credential": s.credential.text(), "choices": [[1, 1]]});
    assert!(err(&vox_web::encrypt_ballot(&req.to_string())).contains("choices"));
    // Too little seed material.
    assert!(vox_web::seed(&[0u8; 8]).is_err());
}

#[test]
fn receipt_verifies_against_a_later_tree_head() {
    use ed25519_dalek::SigningKey;
    use vox_protocol::board::{
        unsigned, BoardEntry, BoardPublicKey, Payload, Receipt, SignedTreeHead, TreeHead,
    };
    use vox_protocol::merkle::{consistency_proof, inclusion_proof, root_from_leaf_hashes};

    seed();
    let s = setup();
    let req = json!({"evidence": s.evidence,
        "credential": s.credential.text(), "choices": choices()});
    let out = ok(&vox_web::encrypt_ballot(&req.to_string()));
    let ballot: Ballot = serde_json::from_value(out["ballot"].clone()).unwrap();

    let mut sk_bytes = [0u8; 32];
    OsRng.fill_bytes(&mut sk_bytes);
    let key = SigningKey::from_bytes(&sk_bytes);
    let board = BoardPublicKey(key.verifying_key());
    let filler = |i: i64| BoardEntry {
        timestamp_ms: i,
        payload: Payload::PetitionClosed {
            petition_id: format!("x{i}"),
            count: 0,
        },
    };
    let mut leaves: Vec<_> = (0..5).map(|i| filler(i).leaf_hash()).collect();
    let entry = BoardEntry {
        timestamp_ms: 10,
        payload: Payload::BallotCast {
            ballot: ballot.clone(),
        },
    };
    leaves.push(entry.leaf_hash());
    let index = 5u64;
    let head = |leaves: &[_], t| {
        SignedTreeHead::sign(
            TreeHead {
                tree_size: leaves.len() as u64,
                root_hash: root_from_leaf_hashes(leaves),
                timestamp_ms: t,
            },
            "web.vox.example/test",
            &key,
        )
        .unwrap()
    };
    let sth = head(&leaves, 11);
    let receipt = Receipt {
        referendum_id: ballot.referendum_id.clone(),
        tracking_code: ballot.tracking_code(),
        ballot_hash: ballot.hash(),
        leaf_index: index,
        entry_timestamp_ms: 10,
        leaf_hash: entry.leaf_hash(),
        tree_head: sth.clone(),
        inclusion_proof: inclusion_proof(&leaves, index).unwrap(),
        signature: unsigned(),
    }
    .sign(&key);
    let old_size = leaves.len() as u64;
    leaves.extend((20..27).map(|i| filler(i).leaf_hash()));
    let current = head(&leaves, 30);
    let req = json!({
        "receipt": receipt, "board_public_key": board, "tree_head": current,
        "ballot": ballot,
        "consistency": {"first": old_size, "second": leaves.len(),
            "proof": consistency_proof(&leaves, old_size).unwrap()},
        "inclusion": {"leaf_index": index, "tree_size": leaves.len(),
            "leaf_hash": entry.leaf_hash(), "proof": inclusion_proof(&leaves, index).unwrap()},
    });
    let v = ok(&vox_web::verify_receipt(&req.to_string()));
    assert_eq!(v["current_tree_size"], leaves.len());
    let checks = v["checks"].to_string();
    assert!(
        checks.contains("inclusion-in-current-tree-head"),
        "{checks}"
    );
    assert!(
        checks.contains("current-tree-head-extends-receipt"),
        "{checks}"
    );

    // Without the consistency proof, a later head is not accepted on trust.
    let mut r2 = req.clone();
    r2.as_object_mut().unwrap().remove("consistency");
    assert!(err(&vox_web::verify_receipt(&r2.to_string())).contains("consistency"));
    // A forked board (same size, other root) is equivocation.
    let mut forked = leaves[..old_size as usize].to_vec();
    forked[0] = filler(99).leaf_hash();
    let mut r3 = req.clone();
    r3["tree_head"] = json!(head(&forked, 31));
    r3.as_object_mut().unwrap().remove("inclusion");
    assert!(err(&vox_web::verify_receipt(&r3.to_string())).contains("equivocation"));
    // A tampered receipt fails.
    let mut r4 = req.clone();
    r4["receipt"]["leaf_index"] = json!(4);
    assert!(err(&vox_web::verify_receipt(&r4.to_string())).contains("receipt"));
    // A receipt signed by another board fails.
    let mut r5 = req;
    r5["board_public_key"] = json!(BoardPublicKey(
        SigningKey::from_bytes(&[7u8; 32]).verifying_key()
    ));
    assert!(err(&vox_web::verify_receipt(&r5.to_string())).contains("receipt"));
}

#[test]
fn make_credential_gives_a_verified_request_for_its_key() {
    seed();
    let out = ok(&vox_web::make_credential(
        r#"{"electorate_id": " town ", "region": "north"}"#,
    ));
    let text = out["credential"].as_str().unwrap();
    let cred = Credential::from_text(text).unwrap();
    assert_eq!(cred.text(), text, "the text is in its grouped form");
    let request: EnrolmentRequest = serde_json::from_value(out["request"].clone()).unwrap();
    request.verify().unwrap();
    assert_eq!(request.electorate_id, "town");
    assert_eq!(request.region.as_deref(), Some("north"));
    // The credential text derives the request's key, and the answer's public key.
    assert_eq!(request.credential, cred.public_key());
    assert_eq!(
        out["public_key"].as_str().unwrap(),
        cred.public_key().point().to_hex()
    );
    // The request holds no secret: neither the text nor its undashed form.
    let req_json = out["request"].to_string();
    assert!(!req_json.contains(text));
    assert!(!req_json.contains(&text.replace('-', "")));
    // The credential file: comment lines, then the labels, then the credential line,
    // which parses back to the same key.
    let file = out["file"].as_str().unwrap();
    let lines: Vec<&str> = file.lines().collect();
    assert!(
        lines[0].starts_with("# ") && lines[1].starts_with("# "),
        "{file}"
    );
    let cred_line = format!("credential: {text}");
    assert_eq!(
        lines[2..],
        ["electorate: town", "region: north", cred_line.as_str()]
    );
    assert_eq!(
        file,
        vox_web::credential_file_text(&cred, "town", Some("north"))
    );
    let line = lines
        .iter()
        .find_map(|l| l.strip_prefix("credential:"))
        .unwrap();
    assert_eq!(
        Credential::from_text(line.trim()).unwrap().public_key(),
        request.credential
    );
    // A second call draws a different credential.
    let again = ok(&vox_web::make_credential(r#"{"electorate_id": "town"}"#));
    assert_ne!(again["credential"], out["credential"]);
    let r2: EnrolmentRequest = serde_json::from_value(again["request"].clone()).unwrap();
    r2.verify().unwrap();
    assert_eq!(r2.region, None);
    assert!(!again["file"].as_str().unwrap().contains("region:"));
    // An empty region is no region.
    let blank = ok(&vox_web::make_credential(
        r#"{"electorate_id": "town", "region": "  "}"#,
    ));
    assert!(blank["request"].get("region").is_none(), "{blank}");
}

#[test]
fn make_credential_refuses_bad_labels() {
    seed();
    for (input, needle) in [
        (r#"{"electorate_id": ""}"#, "electorate_id"),
        (r#"{"electorate_id": "   "}"#, "electorate_id"),
        (r#"{"region": "north"}"#, "bad request JSON"),
        (r#"{"electorate_id": "town\nvoter: x"}"#, "line breaks"),
        (
            r#"{"electorate_id": "town", "region": "north\ncredential: x"}"#,
            "line breaks",
        ),
        (
            r#"{"electorate_id": "town", "extra": 1}"#,
            "bad request JSON",
        ),
    ] {
        let e = err(&vox_web::make_credential(input));
        assert!(e.contains(needle), "{input}: {e}");
    }
    let long = format!(r#"{{"electorate_id": "{}"}}"#, "x".repeat(65));
    assert!(err(&vox_web::make_credential(&long)).contains("at most 64"));
}

/// The code path of enrol.html: the page passes the code as the citizen typed it (lower
/// case, spaces, O for 0, I for 1); the request carries the normalised code and is one the
/// shared enrolment rules (the server's and the verifier's `Roll`) accept; the same code
/// a second time is spent.
#[test]
fn make_credential_with_a_code_is_accepted_by_the_roll() {
    use vox_protocol::enrolment::{EnrolmentError, EnrolmentOpening, Roll};
    seed();
    let (opening, letters) = EnrolmentOpening::draw(
        "district",
        "District",
        &[(Some("north".into()), 2), (Some("south".into()), 1)],
        &mut OsRng,
    )
    .unwrap();
    let mut roll = Roll::new();
    roll.open(&opening).unwrap();
    let (region, code) = letters
        .iter()
        .find(|(r, _)| r.as_deref() == Some("north"))
        .unwrap();
    let region = region.as_deref().unwrap();
    // As a citizen might type it: grouped differently, lower case, O for 0, I for 1.
    let typed: String = code
        .grouped()
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'I',
            '-' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let input = json!({ "electorate_id": "district", "region": region, "code": typed });
    let out = ok(&vox_web::make_credential(&input.to_string()));
    assert_eq!(out["code"], code.as_str());
    assert_eq!(out["code_grouped"], code.grouped());
    let request: EnrolmentRequest = serde_json::from_value(out["request"].clone()).unwrap();
    assert_eq!(request.code.as_deref(), Some(code.as_str()));
    assert_eq!(request.region.as_deref(), Some("north"));
    let text = out["credential"].as_str().unwrap();
    assert_eq!(
        Credential::from_text(text).unwrap().public_key(),
        request.credential
    );
    // What leaves the device holds the code but never the secret.
    let sent = out["request"].to_string().to_uppercase();
    assert!(!sent.contains(text) && !sent.contains(&text.replace('-', "")));
    roll.enrol(7, &request).unwrap();
    assert_eq!(roll.pending("district").unwrap().entries.len(), 1);
    // The same code again (another credential drawn by the page): spent.
    let again = ok(&vox_web::make_credential(&input.to_string()));
    let second: EnrolmentRequest = serde_json::from_value(again["request"].clone()).unwrap();
    assert_eq!(roll.enrol(8, &second), Err(EnrolmentError::Spent(7)));
    // The code with another region is not one the registrar committed to.
    let wrong = json!({ "electorate_id": "district", "region": "south", "code": code.as_str() });
    let out = ok(&vox_web::make_credential(&wrong.to_string()));
    let r: EnrolmentRequest = serde_json::from_value(out["request"].clone()).unwrap();
    assert_eq!(roll.enrol(9, &r), Err(EnrolmentError::NotCommitted));
}

/// A mistyped code is refused before a credential is drawn, with an error the page
/// recognises (`code:`).
#[test]
fn make_credential_refuses_a_malformed_code() {
    seed();
    for typed in [
        "",
        "7K2QM-7K2QM-7K2QM",
        "7K2QM-7K2QM-7K2QM-7K2QM-7",
        "7K2QU-7K2QM-7K2QM-7K2QM",
        "7K2QM_7K2QM_7K2QM_7K2QM",
        "7K2QM-7K2QM-7K2QM-7K2Qé",
    ] {
        let input = json!({ "electorate_id": "district", "code": typed });
        let e = err(&vox_web::make_credential(&input.to_string()));
        assert!(e.starts_with("code: "), "{typed:?}: {e}");
    }
}

/// Requests are decoded from a buffered value (`parse` in src/api.rs, for the size of the
/// wasm): the requests marked `deny_unknown_fields` still refuse an unknown field, the
/// others still ignore it, a missing, duplicated or mistyped field is still an error, and
/// a request that is not an object is refused.
#[test]
fn request_fields_are_checked_as_before() {
    seed();
    let cred = Credential::generate(&mut OsRng);
    let e = err(&vox_web::make_credential(
        &json!({ "electorate_id": "town", "colour": "blue" }).to_string(),
    ));
    assert!(
        e.contains("bad request JSON: unknown field `colour`"),
        "{e}"
    );
    let e = err(&vox_web::make_credential(
        &json!({ "region": "north" }).to_string(),
    ));
    assert!(e.contains("missing field `electorate_id`"), "{e}");
    let e = err(&vox_web::make_credential(
        &json!({ "electorate_id": 7 }).to_string(),
    ));
    assert!(e.contains("bad request JSON: invalid type"), "{e}");
    let e = err(&vox_web::make_credential(
        r#"{"electorate_id": "town", "electorate_id": "city"}"#,
    ));
    assert!(e.contains("duplicate field `electorate_id`"), "{e}");
    let e = err(&vox_web::make_credential(r#"["town"]"#));
    assert!(
        e.contains("bad request JSON: invalid type: sequence, expected a JSON object"),
        "{e}"
    );
    let lenient = json!({ "credential": cred.text(), "colour": "blue" }).to_string();
    let v = ok(&vox_web::credential_public_key(&lenient));
    assert_eq!(v["public_key"], cred.public_key().point().to_hex());
    // Nested objects keep their own `deny_unknown_fields` (Evidence).
    let e = err(&vox_web::check_election_key(
        &json!({ "evidence": { "referendum_id": "r1", "extra": 1 } }).to_string(),
    ));
    assert!(e.contains("unknown field `extra`"), "{e}");
}
