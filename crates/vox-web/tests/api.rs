//! Native tests of the functions the browser calls (same code as the wasm exports).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::{ElectionPublicKey, SecretScalar};
use vox_protocol::ballot::{AuditedBallot, Ballot, BallotContext};
use vox_protocol::electorate::{Electorate, ElectorateEntry, EnrolmentRequest};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{Manifest, Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
use vox_protocol::petition::{Petition, PetitionSignature};

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

struct Setup {
    manifest: Manifest,
    key: ElectionPublicKey,
    electorate: Electorate,
    credential: Credential,
}

fn setup() -> Setup {
    let credential = Credential::generate(&mut OsRng);
    let electorate = Electorate {
        id: "town".into(),
        name: "Town".into(),
        entries: vec![ElectorateEntry {
            credential: credential.public_key(),
            region: None,
        }],
    };
    let trustee = SecretScalar::random(&mut OsRng);
    let x = SecretScalar::random(&mut OsRng);
    let key = ElectionPublicKey::new(x.public()).unwrap();
    let q = |id: &str, kind, options: &[&str]| Question {
        id: id.into(),
        text: format!("question {id}"),
        options: options.iter().map(|s| s.to_string()).collect(),
        kind,
    };
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "r1".into(),
        title: "Test".into(),
        description: "".into(),
        questions: vec![
            q("yn", QuestionKind::YesNo, &["yes", "no"]),
            q(
                "one",
                QuestionKind::ChooseOne {
                    blank_allowed: true,
                },
                &["a", "b", "c"],
            ),
            q(
                "appr",
                QuestionKind::Approve { min: 1, max: 2 },
                &["a", "b", "c"],
            ),
            q("score", QuestionKind::Score { max: 5 }, &["x", "y"]),
        ],
        opens_at: 0,
        closes_at: 1,
        electorate_hash: electorate.canonical_hash(),
        trustees: vec![TrusteeInfo {
            index: 1,
            name: "t1".into(),
            public_key: trustee.public(),
        }],
        threshold: 1,
        source_petition: None,
    };
    manifest.validate().unwrap();
    Setup {
        manifest,
        key,
        electorate,
        credential,
    }
}

fn choices() -> Value {
    json!([[0, 1], [0, 0, 1], [1, 1, 0], [3, 5]])
}

#[test]
fn encrypt_gives_a_valid_ballot() {
    seed();
    let s = setup();
    let req = json!({
        "manifest": s.manifest,
        "manifest_hash": s.manifest.canonical_hash(),
        "election_key": s.key,
        "credential": s.credential.text().to_lowercase(),
        "choices": choices(),
    });
    let out = ok(&vox_web::encrypt_ballot(&req.to_string()));
    let ballot: Ballot = serde_json::from_value(out["ballot"].clone()).unwrap();
    let ctx = BallotContext::new(&s.manifest, s.key);
    ballot
        .validate(&ctx, &s.electorate.index(), &mut OsRng)
        .unwrap();
    assert_eq!(out["tracking_code"], ballot.tracking_code());
    assert_eq!(out["ballot_hash"], ballot.hash().to_hex());
    assert_eq!(out["secrets"]["choices"], choices());
    // The credential text is never echoed back.
    assert!(!out.to_string().contains(s.credential.text()));
}

#[test]
fn audit_opening_decrypts_and_detects_lies() {
    seed();
    let s = setup();
    let req = json!({
        "manifest": s.manifest, "election_key": s.key,
        "credential": s.credential.text(), "choices": choices(),
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
    let areq = json!({"manifest": s.manifest, "manifest_hash": s.manifest.canonical_hash(),
        "election_key": s.key, "audited": audited});
    let a = ok(&vox_web::audit_opening(&areq.to_string()));
    assert_eq!(a["choices"], choices());
    assert_eq!(a["tracking_code"], out["tracking_code"]);
    assert_eq!(a["answers"][0]["selected"][0]["option"], "no");

    // A device that claims other choices than it encrypted is caught.
    audited["choices"] = json!([[1, 0], [0, 0, 1], [1, 1, 0], [3, 5]]);
    let areq = json!({"manifest": s.manifest, "election_key": s.key, "audited": audited});
    let e = err(&vox_web::audit_opening(&areq.to_string()));
    assert!(e.contains("does not encrypt the choices"), "{e}");

    // A wrong manifest hash is refused.
    let req = json!({
        "manifest": s.manifest, "manifest_hash": "00".repeat(32), "election_key": s.key,
        "credential": s.credential.text(), "choices": choices(),
    });
    let e = err(&vox_web::encrypt_ballot(&req.to_string()));
    assert!(e.contains("manifest_hash"), "{e}");
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
fn bad_input_is_an_error_not_a_panic() {
    seed();
    for f in [
        vox_web::encrypt_ballot,
        vox_web::audit_opening,
        vox_web::sign_petition,
        vox_web::credential_public_key,
        vox_web::verify_receipt,
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
    let req = json!({"manifest": s.manifest, "election_key": s.key,
        "credential": s.credential.text(), "choices": [[1, 1]]});
    assert!(err(&vox_web::encrypt_ballot(&req.to_string())).contains("choices"));
    // A non-canonical election key.
    let req = json!({"manifest": s.manifest, "election_key": "ff".repeat(32),
        "credential": s.credential.text(), "choices": choices()});
    assert!(err(&vox_web::encrypt_ballot(&req.to_string())).contains("bad request JSON"));
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
    let req = json!({"manifest": s.manifest, "election_key": s.key,
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
            &key,
        )
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
