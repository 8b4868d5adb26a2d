//! The hand-written decoders of the internally tagged enums (`Payload`, `SumProof`,
//! `Moderation`; issue 15 §4, size of the web bundle) against serde's derive of the same
//! enums (`#[serde(remote)]` copies below): every payload shape of the conformance
//! records, and malformed variants of each (a field missing, duplicated, of the wrong
//! type, an unknown field, an unknown or missing tag, the tag twice, the array form),
//! must be accepted with the same value or refused with the same error, from the text
//! and from a `serde_json::Value`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{json, Value};
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::proofs::{ConstantProof, LinkProof, ZeroOneProof};
use vox_crypto::ring::LinkingTag;
use vox_crypto::threshold::{
    CeremonyCommitment, CoefficientCommitments, Complaint, ComplaintAnswer, EncryptedShare,
    TrusteePublicKey,
};
use vox_crypto::{Hash32, Point};
use vox_protocol::ballot::{AuditedBallot, Ballot, SumProof};
use vox_protocol::board::{
    BoardPublicKey, ComplaintRef, Cosignature, DisqualificationReason, EncryptedTally, Payload,
    Sig, SignedTreeHead, TreeHead,
};
use vox_protocol::buffered::{Buffered, BufferedDeserializer};
use vox_protocol::ceremony::{CeremonyBody, CeremonyMessage, DecryptionShareMessage};
use vox_protocol::electorate::{Electorate, EnrolmentRequest};
use vox_protocol::enrolment::EnrolmentOpening;
use vox_protocol::manifest::{Manifest, QuestionKind, TrusteePanel};
use vox_protocol::petition::{
    Moderation, PetitionPolicy, PetitionProposal, PetitionSignature, ReferendumTerms,
    RingPetitionSignature, ThresholdKind,
};
use vox_protocol::roles::{ActSignature, Genesis, Role, WitnessPolicy};
use vox_protocol::tally::ReferendumResult;

/// serde's derive of `Payload`, as it was before the decoder was written by hand.
#[derive(Deserialize)]
#[serde(remote = "Payload", tag = "type", rename_all = "kebab-case")]
#[allow(dead_code)]
enum PayloadDerived {
    Genesis {
        genesis: Genesis,
    },
    ElectorateRegistered {
        electorate: Electorate,
        act: ActSignature,
    },
    PetitionProposed {
        proposal: PetitionProposal,
    },
    PetitionSigned {
        signature: PetitionSignature,
    },
    PetitionThreshold {
        petition_id: String,
        kind: ThresholdKind,
        count: u64,
    },
    PetitionModerated {
        petition_id: String,
        moderation: Moderation,
        act: ActSignature,
    },
    PetitionResponded {
        petition_id: String,
        text: String,
        act: ActSignature,
    },
    SignaturesInvalidated {
        petition_id: String,
        credentials: Vec<CredentialPublicKey>,
        tags: Vec<LinkingTag>,
        reason: String,
        act: ActSignature,
    },
    PetitionClosed {
        petition_id: String,
        count: u64,
    },
    ReferendumCreated {
        manifest: Manifest,
        act: ActSignature,
    },
    Ceremony {
        message: CeremonyMessage,
    },
    CeremonyCompleted {
        referendum_id: String,
        election_key: ElectionPublicKey,
        public_shares: Vec<Point>,
    },
    ReferendumOpened {
        referendum_id: String,
    },
    BallotCast {
        ballot: Ballot,
    },
    BallotAudited {
        audited: AuditedBallot,
    },
    ReferendumClosed {
        referendum_id: String,
    },
    TallyComputed {
        tally: EncryptedTally,
    },
    DecryptionShare {
        share: DecryptionShareMessage,
    },
    ResultPublished {
        result: ReferendumResult,
    },
    RoleKeyRotated {
        role: Role,
        new_key: BoardPublicKey,
        possession: Sig,
        act: ActSignature,
    },
    EnrolmentOpened {
        opening: EnrolmentOpening,
        act: ActSignature,
    },
    CredentialEnrolled {
        enrolment: EnrolmentRequest,
    },
    CredentialRevoked {
        electorate_id: String,
        credential: CredentialPublicKey,
        #[serde(default)]
        replacement: Option<Hash32>,
        reason: String,
        act: ActSignature,
    },
    ElectorateFrozen {
        electorate_id: String,
        electorate_hash: Hash32,
        act: ActSignature,
    },
    PetitionPolicySet {
        policy: PetitionPolicy,
        act: ActSignature,
    },
    TrusteePanelSet {
        panel: TrusteePanel,
        act: ActSignature,
    },
    ReferendumTriggered {
        manifest: Manifest,
    },
    SharesOverdue {
        referendum_id: String,
        trustees: Vec<u32>,
    },
    TrusteeDisqualified {
        referendum_id: String,
        trustee: u32,
        complaint: ComplaintRef,
        reason: DisqualificationReason,
    },
    WitnessPolicySet {
        policy: WitnessPolicy,
        act: ActSignature,
    },
    PetitionRingSigned {
        signature: Box<RingPetitionSignature>,
    },
}

/// serde's derive of `SumProof`.
#[derive(Deserialize)]
#[serde(remote = "SumProof", tag = "type", rename_all = "kebab-case")]
#[allow(dead_code)]
enum SumProofDerived {
    Constant { proof: ConstantProof },
    ZeroOne { proof: ZeroOneProof },
    Range { commitment: Point, link: LinkProof },
}

/// serde's derive of `CeremonyBody`.
#[derive(Deserialize)]
#[serde(remote = "CeremonyBody", tag = "step", rename_all = "kebab-case")]
#[allow(dead_code, clippy::large_enum_variant)]
enum CeremonyBodyDerived {
    Commit {
        key: TrusteePublicKey,
        commitment: CeremonyCommitment,
    },
    Reveal {
        coefficients: CoefficientCommitments,
    },
    Shares {
        shares: Vec<EncryptedShare>,
    },
    Confirm,
    Complaint {
        complaint: Complaint,
    },
    Answer {
        answer: ComplaintAnswer,
    },
}

/// serde's derive of `QuestionKind`.
#[derive(Deserialize)]
#[serde(remote = "QuestionKind", tag = "type", rename_all = "kebab-case")]
#[allow(dead_code)]
enum QuestionKindDerived {
    YesNo,
    ChooseOne { blank_allowed: bool },
    Approve { min: u32, max: u32 },
    Score { max: u32 },
}

/// serde's derive of `Moderation`.
#[derive(Deserialize)]
#[serde(remote = "Moderation", tag = "decision", rename_all = "kebab-case")]
#[allow(dead_code)]
enum ModerationDerived {
    Publish {
        closes_at: i64,
        referendum: ReferendumTerms,
    },
    Reject {
        reason: String,
    },
}

/// serde's derive of `SignedTreeHead`.
#[derive(Deserialize)]
#[serde(remote = "SignedTreeHead")]
#[allow(dead_code)]
struct SignedTreeHeadDerived {
    origin: String,
    #[serde(flatten)]
    head: TreeHead,
    signature: Sig,
    #[serde(default)]
    cosignatures: Vec<Cosignature>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Up to three payloads of every type found in the conformance records.
fn sample_payloads() -> Vec<Value> {
    let mut by_type: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let cases = repo().join("protocol-spec/conformance/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|d| d.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("record/entries.jsonl")) else {
            continue;
        };
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(p) = entry.get("payload") else {
                continue;
            };
            let Some(t) = p.get("type").and_then(Value::as_str) else {
                continue;
            };
            let v = by_type.entry(t.to_owned()).or_default();
            if v.len() < 3 {
                v.push(p.clone());
            }
        }
    }
    assert!(
        by_type.len() >= 30,
        "payload types found: {:?}",
        by_type.keys()
    );
    by_type.into_values().flatten().collect()
}

/// JSON text of an object with these entries, in this order (duplicates allowed).
fn object_text(entries: &[(String, Value)]) -> String {
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Malformed and reshaped spellings of one tagged object (`tag` is its tag key).
fn variants_of(obj: &Value, tag: &str) -> Vec<(String, String)> {
    let map = obj.as_object().unwrap();
    let entries: Vec<(String, Value)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let fields: Vec<(String, Value)> = entries.iter().filter(|(k, _)| k != tag).cloned().collect();
    let tag_value = map[tag].clone();
    let mut out = vec![("as is".to_owned(), object_text(&entries))];
    for (i, (k, _)) in entries.iter().enumerate() {
        let mut e = entries.clone();
        e.remove(i);
        out.push((format!("without {k}"), object_text(&e)));
        let mut e = entries.clone();
        e.insert(i, entries[i].clone());
        out.push((format!("{k} twice"), object_text(&e)));
        let mut e = entries.clone();
        e[i].1 = json!(true);
        out.push((format!("{k} a boolean"), object_text(&e)));
        let mut e = entries.clone();
        e[i].1 = json!([1, "x"]);
        out.push((format!("{k} an array"), object_text(&e)));
    }
    let mut e = entries.clone();
    e.push(("no_such_field".to_owned(), json!({"x": [1, 2.5, null]})));
    out.push(("an unknown field".to_owned(), object_text(&e)));
    let mut e = entries.clone();
    e.rotate_left(1);
    out.push(("the tag last".to_owned(), object_text(&e)));
    for bad in [json!("no-such-type"), json!(3), json!(null), json!("")] {
        let mut e = entries.clone();
        for (k, v) in &mut e {
            if k == tag {
                *v = bad.clone();
            }
        }
        out.push((format!("tag {bad}"), object_text(&e)));
    }
    // The array form: the tag, then the field values in order.
    let mut seq = vec![tag_value];
    seq.extend(fields.iter().map(|(_, v)| v.clone()));
    out.push((
        "as an array".to_owned(),
        Value::Array(seq.clone()).to_string(),
    ));
    let mut longer = seq.clone();
    longer.push(json!(0));
    out.push((
        "as a longer array".to_owned(),
        Value::Array(longer).to_string(),
    ));
    if seq.len() > 1 {
        let mut shorter = seq.clone();
        shorter.pop();
        out.push((
            "as a shorter array".to_owned(),
            Value::Array(shorter).to_string(),
        ));
    }
    out.push(("an empty array".to_owned(), "[]".to_owned()));
    out.push(("an empty object".to_owned(), "{}".to_owned()));
    out.push(("a string".to_owned(), "\"x\"".to_owned()));
    out
}

/// Both decoders of `T` agree on `text`: the same value, or both refuse (with the same
/// message, except where a struct is written as an array: serde's array visitor says
/// "invalid length", the buffered decoder, which reads the array as the object it
/// names, "missing field" or "invalid type").
fn agree<T: PartialEq + std::fmt::Debug>(
    what: &str,
    text: &str,
    hand: impl Fn(
        &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
    ) -> Result<T, serde_json::Error>,
    derived: impl Fn(
        &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
    ) -> Result<T, serde_json::Error>,
    hand_value: impl Fn(Value) -> Result<T, serde_json::Error>,
    derived_value: impl Fn(Value) -> Result<T, serde_json::Error>,
) {
    let a = hand(&mut serde_json::Deserializer::from_str(text));
    let b = derived(&mut serde_json::Deserializer::from_str(text));
    let array = what.contains("array");
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "{what}: different values"),
        (Err(x), Err(y)) => {
            if !array {
                assert_eq!(x.to_string(), y.to_string(), "{what}: different errors");
            }
        }
        _ => panic!("{what}: hand-written {a:?}, derived {b:?}"),
    }
    let v: Value = serde_json::from_str(text).unwrap();
    let a = hand_value(v.clone());
    let b = derived_value(v);
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "{what} (from a Value): different values"),
        (Err(x), Err(y)) => {
            if !array {
                assert_eq!(
                    x.to_string(),
                    y.to_string(),
                    "{what} (from a Value): different errors"
                );
            }
        }
        _ => panic!("{what} (from a Value): hand-written {a:?}, derived {b:?}"),
    }
}

fn agree_payload(what: &str, text: &str) {
    agree(
        what,
        text,
        |d| Payload::deserialize(d),
        |d| PayloadDerived::deserialize(d),
        Payload::deserialize,
        PayloadDerived::deserialize,
    );
}

#[test]
fn payload_decoder_agrees_with_serde_derive() {
    let mut n = 0;
    for p in sample_payloads() {
        let t = p["type"].as_str().unwrap().to_owned();
        for (how, text) in variants_of(&p, "type") {
            agree_payload(&format!("{t}, {how}"), &text);
            n += 1;
        }
        // The round trip: what serialization writes decodes to the same payload.
        let decoded: Payload = serde_json::from_value(p.clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&decoded).unwrap(),
            p,
            "{t}: round trip"
        );
    }
    assert!(n > 500, "{n} inputs");
}

#[test]
fn sum_proof_and_moderation_decoders_agree_with_serde_derive() {
    let mut sums = 0;
    let mut moderations = 0;
    let mut kinds = 0;
    let mut bodies = 0;
    for p in sample_payloads() {
        let mut objects = Vec::new();
        fn walk(v: &Value, out: &mut Vec<(String, Value)>) {
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        if k == "sum_proof" && x.is_object() {
                            out.push(("type".to_owned(), x.clone()));
                        }
                        if k == "moderation" && x.is_object() {
                            out.push(("decision".to_owned(), x.clone()));
                        }
                        if k == "kind" && x.is_object() {
                            out.push(("kind".to_owned(), x.clone()));
                        }
                        if k == "body" && x.is_object() {
                            out.push(("body".to_owned(), x.clone()));
                        }
                        walk(x, out);
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(&p, &mut objects);
        for (tag, obj) in objects {
            if tag == "kind" {
                for (how, text) in variants_of(&obj, "type") {
                    kinds += 1;
                    agree(
                        &format!("question kind, {how}"),
                        &text,
                        |d| QuestionKind::deserialize(d),
                        |d| QuestionKindDerived::deserialize(d),
                        QuestionKind::deserialize,
                        QuestionKindDerived::deserialize,
                    );
                }
                continue;
            }
            if tag == "body" {
                for (how, text) in variants_of(&obj, "step") {
                    bodies += 1;
                    agree(
                        &format!("ceremony body, {how}"),
                        &text,
                        |d| CeremonyBody::deserialize(d),
                        |d| CeremonyBodyDerived::deserialize(d),
                        CeremonyBody::deserialize,
                        CeremonyBodyDerived::deserialize,
                    );
                }
                continue;
            }
            for (how, text) in variants_of(&obj, &tag) {
                if tag == "type" {
                    sums += 1;
                    agree(
                        &format!("sum proof, {how}"),
                        &text,
                        |d| SumProof::deserialize(d),
                        |d| SumProofDerived::deserialize(d),
                        SumProof::deserialize,
                        SumProofDerived::deserialize,
                    );
                } else {
                    moderations += 1;
                    agree(
                        &format!("moderation, {how}"),
                        &text,
                        |d| Moderation::deserialize(d),
                        |d| ModerationDerived::deserialize(d),
                        Moderation::deserialize,
                        ModerationDerived::deserialize,
                    );
                }
            }
        }
    }
    assert!(
        sums > 50 && moderations > 20 && kinds > 50 && bodies > 50,
        "{sums} sum proofs, {moderations} moderations, {kinds} question kinds, {bodies} \
         ceremony bodies"
    );
}

#[test]
fn payload_errors_are_serde_s() {
    let err = |text: &str| {
        serde_json::from_str::<Payload>(text)
            .unwrap_err()
            .to_string()
    };
    assert!(err(r#"{"type":"no-such-type"}"#).starts_with("unknown variant `no-such-type`"));
    assert!(err(r#"{"referendum_id":"r"}"#).starts_with("missing field `type`"));
    assert!(
        err(r#"{"type":"referendum-opened","type":"referendum-opened"}"#)
            .starts_with("duplicate field `type`")
    );
    assert!(err(r#"{"type":"referendum-opened"}"#).starts_with("missing field `referendum_id`"));
    assert!(
        err(r#"{"type":"referendum-opened","referendum_id":"a","referendum_id":"b"}"#)
            .starts_with("duplicate field `referendum_id`")
    );
    assert!(
        err(r#"{"type":"petition-closed","petition_id":"p","count":-1}"#)
            .starts_with("invalid value: integer `-1`, expected u64")
    );
    // Unknown fields are ignored, as the derive (without deny_unknown_fields) did.
    let p: Payload =
        serde_json::from_str(r#"{"x":[1,{"y":2}],"type":"referendum-opened","referendum_id":"r"}"#)
            .unwrap();
    assert_eq!(
        p,
        Payload::ReferendumOpened {
            referendum_id: "r".to_owned()
        }
    );
    // `replacement` may be absent or null.
    let revoked = |extra: &str| {
        format!(
            r#"{{"type":"credential-revoked","electorate_id":"e","credential":"{}",{extra}"reason":"lost","act":{{"role":"registrar","signature":"{}"}}}}"#,
            "00".repeat(32),
            "00".repeat(64)
        )
    };
    for extra in ["", r#""replacement":null,"#] {
        let text = revoked(extra);
        agree_payload(&format!("credential-revoked {extra}"), &text);
    }
}

/// The buffered decoder (what the browser decodes its requests with) agrees with the
/// text on every sampled payload and its malformed spellings, except that a struct
/// written as an array reads as the object it names, and that a tag given as a variant
/// index (`"type": 3`) is taken, as serde's own buffer takes it (the derived decoder of a
/// payload nested in a buffered value did), where the text refuses it.
#[test]
fn buffered_decoding_agrees_with_the_text() {
    for p in sample_payloads() {
        let t = p["type"].as_str().unwrap().to_owned();
        for (how, text) in variants_of(&p, "type") {
            if how == "tag 3" {
                continue;
            }
            let from_text = serde_json::from_str::<Payload>(&text);
            let b: Buffered<'_> = serde_json::from_str(&text).unwrap();
            let from_buffer =
                Payload::deserialize(BufferedDeserializer::<serde_json::Error>::new(b));
            match (&from_text, &from_buffer) {
                (Ok(x), Ok(y)) => assert_eq!(x, y, "{t}, {how}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{t}, {how}: text {from_text:?}, buffered {from_buffer:?}"),
            }
        }
    }
}

/// The signed tree heads of the conformance records (with and without cosignatures),
/// and malformed spellings of them, decode as serde's derive (with its flattened head)
/// decoded them.
#[test]
fn signed_tree_head_decoder_agrees_with_serde_derive() {
    let cases = repo().join("protocol-spec/conformance/cases");
    let mut heads: Vec<Value> = Vec::new();
    let mut cosigned = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|d| d.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("record/tree-heads.jsonl")) else {
            continue;
        };
        for line in text.lines().take(2) {
            let v: Value = serde_json::from_str(line).unwrap();
            if v.get("cosignatures").is_some() {
                cosigned += 1;
            }
            heads.push(v);
        }
        if heads.len() > 40 && cosigned > 3 {
            break;
        }
    }
    assert!(cosigned > 0, "no cosigned head found");
    let mut n = 0;
    for h in heads {
        // Tagged by `origin` only to reuse the mutations; the array forms are refused
        // by both (a flattened struct is read as a map).
        for (how, text) in variants_of(&h, "origin") {
            n += 1;
            let a = serde_json::from_str::<SignedTreeHead>(&text);
            let b =
                SignedTreeHeadDerived::deserialize(&mut serde_json::Deserializer::from_str(&text));
            match (&a, &b) {
                (Ok(x), Ok(y)) => assert_eq!(x, y, "{how}"),
                (Err(x), Err(y)) if !how.contains("an array") => {
                    assert_eq!(x.to_string(), y.to_string(), "{how}")
                }
                (Err(_), Err(_)) => {}
                _ => panic!("{how}: hand-written {a:?}, derived {b:?}"),
            }
            let v: Value = serde_json::from_str(&text).unwrap();
            let a = SignedTreeHead::deserialize(v.clone());
            let b = SignedTreeHeadDerived::deserialize(v);
            assert_eq!(a.is_ok(), b.is_ok(), "{how} (from a Value)");
            if let (Ok(x), Ok(y)) = (a, b) {
                assert_eq!(x, y, "{how} (from a Value)");
            }
        }
    }
    assert!(n > 500, "{n} inputs");
}

/// Decoding speed of the hand-written `Payload` decoder against the derived one, on
/// every entry of the conformance records (the verifier's hot path: a record is decoded
/// entry by entry from its text). Not a correctness test; run with
/// `cargo test --release -p vox-protocol --test payload_decoder -- --ignored --nocapture`.
#[test]
#[ignore]
fn decoding_speed() {
    let cases = repo().join("protocol-spec/conformance/cases");
    let mut payloads = Vec::new();
    for d in std::fs::read_dir(&cases).unwrap() {
        let Ok(text) = std::fs::read_to_string(d.unwrap().path().join("record/entries.jsonl"))
        else {
            continue;
        };
        for line in text.lines() {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                if let Some(p) = v.get("payload") {
                    payloads.push(p.to_string());
                }
            }
        }
    }
    let bytes: usize = payloads.iter().map(String::len).sum();
    for round in 0..3 {
        let t = std::time::Instant::now();
        let mut ok = 0;
        for p in &payloads {
            ok += usize::from(serde_json::from_str::<Payload>(p).is_ok());
        }
        let hand = t.elapsed();
        let t = std::time::Instant::now();
        let mut ok2 = 0;
        for p in &payloads {
            ok2 += usize::from(
                PayloadDerived::deserialize(&mut serde_json::Deserializer::from_str(p)).is_ok(),
            );
        }
        let derived = t.elapsed();
        assert_eq!(ok, ok2);
        println!(
            "round {round}: {} payloads ({bytes} B): hand-written {hand:?}, derived {derived:?}",
            payloads.len()
        );
    }
}
