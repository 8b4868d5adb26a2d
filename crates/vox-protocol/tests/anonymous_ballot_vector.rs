//! The anonymous-ballot test vector `protocol-spec/vectors/ballot-anonymous.json`
//! (protocol-spec/04-ballots.md §4.3, §4.10).
//!
//! Same harness as `tests/vectors.rs`: generated from a seeded ChaCha20 RNG; the
//! checked-in file is first *verified* — the manifest's participation byte, the tag
//! generator's context, the rings, J = x⁻¹·U_r, the body and ballot byte layouts written
//! out, and the ballot's validation (B1–B11) — then compared byte for byte with what the
//! code generates now.
//!
//! Regenerate (only for an intended protocol change):
//!
//! ```text
//! VOX_UPDATE_VECTORS=1 cargo test -p vox-protocol --test anonymous_ballot_vector
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::ring::TagGenerator;
use vox_crypto::threshold::TrusteeKeys;
use vox_crypto::{Hash32, Point, Scalar};
use vox_protocol::ballot::{encrypt_anonymous_ballot, Ballot, BallotContext};
use vox_protocol::electorate::{Electorate, ElectorateEntry};
use vox_protocol::encoding::{Canonical, Hashable};
use vox_protocol::manifest::{
    Manifest, Participation, Question, QuestionKind, TrusteeInfo, DAY_MS, MANIFEST_VERSION,
};
use vox_protocol::rings::{referendum_tag_generator, verify_ring_statements, RingSet};

const REGENERATE: &str =
    "VOX_UPDATE_VECTORS=1 cargo test -p vox-protocol --test anonymous_ballot_vector";
const SEED: u64 = 1404;

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../protocol-spec/vectors/ballot-anonymous.json")
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut items: Vec<(String, Value)> = m.into_iter().collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(items.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(s(v)).unwrap()
}

fn tagged(tag: &str, bytes: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update(b"vox/v2/");
    h.update(tag.as_bytes());
    h.update([0u8]);
    h.update(bytes);
    Hash32(h.finalize().into())
}

fn generate() -> Value {
    let mut rng = ChaCha20Rng::seed_from_u64(SEED);
    let creds: Vec<Credential> = (0..5).map(|_| Credential::generate(&mut rng)).collect();
    let electorate = Electorate {
        id: "vector-anonymous".into(),
        name: "Vector town".into(),
        entries: creds
            .iter()
            .enumerate()
            .map(|(i, c)| ElectorateEntry {
                credential: c.public_key(),
                region: Some(if i < 2 { "east" } else { "west" }.into()),
            })
            .collect(),
    };
    let x = Scalar::random(&mut rng);
    let key = ElectionPublicKey::new(x.mul_base()).unwrap();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "vector-anonymous".into(),
        title: "Anonymous vote".into(),
        description: "Ballots name no credential.".into(),
        questions: vec![Question {
            id: "pool".into(),
            text: "Should the town reopen the pool?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        }],
        opens_at: 1_767_225_600_000,
        closes_at: 1_767_312_000_000,
        electorate_hash: electorate.canonical_hash(),
        trustees: TrusteeInfo::numbered(&[TrusteeKeys::generate(&mut rng)]),
        threshold: 1,
        answer_due_ms: DAY_MS,
        decryption_due_ms: DAY_MS,
        source_petition: None,
        participation: Participation::Anonymous,
    };
    // Created at leaf 3, the ballot at leaf 9: nothing revoked, no replacement.
    let rings = RingSet::for_referendum(&electorate, &electorate.index(), 9, 3).unwrap();
    let ctx = BallotContext::new(&manifest, key);
    let voter = &creds[3];
    let (ballot, _) =
        encrypt_anonymous_ballot(&ctx, &rings, voter, &vec![vec![1, 0]], None, &mut rng).unwrap();
    let ring = &rings.rings()[0];
    json!({
        "description": "An anonymous yes/no ballot (04 §4.10): an electorate of five in two \
            regions, pooled into one ring (padded to 16 slots); the ballot carries the ring \
            hash and a linkable ring signature by credential 3 over its body hash, never the \
            credential. Check: the manifest's last canonical byte is 1 (anonymous); U_r = \
            TagGenerator::derive(str(\"referendum\") ‖ MH); the ring is the derivation of 13 \
            §13.3 with every region pooled (label: electorate hash, no region, ring 0 of 1); \
            J = ring_signature[0..32] = x⁻¹·U_r for the credential's secret x; the body and \
            ballot layouts of 04 §4.3; B1–B11.",
        "spec": "protocol-spec/04-ballots.md §4.3, §4.10; 13-ring-signatures.md",
        "seed": SEED,
        "electorate": serde_json::to_value(&electorate).unwrap(),
        "electorate_hash": electorate.canonical_hash().to_hex(),
        "manifest": serde_json::to_value(&manifest).unwrap(),
        "manifest_canonical": hex::encode(manifest.canonical_bytes()),
        "manifest_hash": manifest.canonical_hash().to_hex(),
        "election_key": key.point().to_hex(),
        "created_leaf": 3,
        "ballot_leaf": 9,
        "ring_members": ring.ring.members().iter().map(Point::to_hex).collect::<Vec<_>>(),
        "ring_hash": ring.ring.hash().to_hex(),
        "tag_generator": ctx.tag_generator().unwrap().point().to_hex(),
        "credential_text": voter.text(),
        "linking_tag": ballot.ring_signature.as_ref().unwrap().tag().to_hex(),
        "ballot": serde_json::to_value(&ballot).unwrap(),
        "ballot_canonical": hex::encode(ballot.canonical_bytes()),
        "body_hash": ballot.body_hash().to_hex(),
        "ballot_hash": ballot.hash().to_hex(),
    })
}

fn verify(v: &Value) {
    let electorate: Electorate = serde_json::from_value(v["electorate"].clone()).unwrap();
    let manifest: Manifest = serde_json::from_value(v["manifest"].clone()).unwrap();
    manifest.validate().unwrap();
    assert_eq!(v["manifest"]["participation"], "anonymous");
    let mc = unhex(&v["manifest_canonical"]);
    assert_eq!(*mc.last().unwrap(), 1, "participation byte");
    assert_eq!(
        hex::encode(manifest.canonical_bytes()),
        s(&v["manifest_canonical"])
    );
    let mh = tagged("manifest", &mc);
    assert_eq!(mh.to_hex(), s(&v["manifest_hash"]));
    // U_r from its context bytes: str("referendum") ‖ MH.
    let mut context = (b"referendum".len() as u32).to_be_bytes().to_vec();
    context.extend_from_slice(b"referendum");
    context.extend_from_slice(&mh.0);
    let u = TagGenerator::derive(&context).unwrap();
    assert_eq!(u.point().to_hex(), s(&v["tag_generator"]));
    assert_eq!(referendum_tag_generator(&mh).unwrap().point(), u.point());
    // The rings, derived from the electorate alone (one pooled ring).
    let created = v["created_leaf"].as_u64().unwrap();
    let leaf = v["ballot_leaf"].as_u64().unwrap();
    let rings = RingSet::for_referendum(&electorate, &electorate.index(), leaf, created).unwrap();
    assert_eq!(rings.rings().len(), 1);
    let ring = &rings.rings()[0];
    assert_eq!(ring.region, None);
    assert_eq!(ring.ring.hash().to_hex(), s(&v["ring_hash"]));
    let members: Vec<String> = ring.ring.members().iter().map(Point::to_hex).collect();
    assert_eq!(json!(members), v["ring_members"]);
    let mut sorted_keys: Vec<[u8; 32]> = electorate
        .entries
        .iter()
        .map(|e| e.credential.to_bytes())
        .collect();
    sorted_keys.sort();
    assert_eq!(
        members,
        sorted_keys.iter().map(hex::encode).collect::<Vec<_>>(),
        "members sorted by their encoding, regions pooled"
    );
    // The ballot: no credential; J = x⁻¹·U_r is the first 32 bytes of the ring signature.
    let ballot: Ballot = serde_json::from_value(v["ballot"].clone()).unwrap();
    assert!(v["ballot"].get("credential").is_none() && v["ballot"].get("signature").is_none());
    let credential = Credential::from_text(s(&v["credential_text"])).unwrap();
    let j = vox_crypto::ring::linking_tag(&credential, &u);
    assert_eq!(j.to_hex(), s(&v["linking_tag"]));
    let sig_hex = s(&v["ballot"]["ring_signature"]);
    assert_eq!(&sig_hex[..64], s(&v["linking_tag"]));
    // Byte layouts (04 §4.3).
    let canonical = unhex(&v["ballot_canonical"]);
    assert_eq!(
        hex::encode(ballot.canonical_bytes()),
        s(&v["ballot_canonical"])
    );
    let sig = hex::decode(sig_hex).unwrap();
    let tail_len = 1 + 1 + 4 + sig.len();
    let (body, tail) = canonical.split_at(canonical.len() - tail_len);
    assert_eq!(tail[0], 0, "no credential signature");
    assert_eq!(tail[1], 1, "a ring signature");
    assert_eq!(tail[2..6], (sig.len() as u32).to_be_bytes());
    assert_eq!(&tail[6..], &sig[..]);
    assert_eq!(body[..4], 4u32.to_be_bytes());
    let rid = manifest.referendum_id.as_bytes();
    let mut at = 4 + 4 + rid.len();
    assert_eq!(&body[at..at + 32], &mh.0);
    at += 32;
    assert_eq!(body[at], 0, "no credential");
    assert_eq!(body[at + 1], 1, "a ring");
    assert_eq!(hex::encode(&body[at + 2..at + 34]), s(&v["ring_hash"]));
    assert_eq!(body[at + 34], 1, "a tag");
    assert_eq!(hex::encode(&body[at + 35..at + 67]), s(&v["linking_tag"]));
    assert_eq!(body[at + 67], 0, "no previous");
    assert_eq!(tagged("ballot-body", body).to_hex(), s(&v["body_hash"]));
    assert_eq!(tagged("ballot", &canonical).to_hex(), s(&v["ballot_hash"]));
    assert_eq!(ballot.hash().to_hex(), s(&v["ballot_hash"]));
    // B1–B11.
    let key = ElectionPublicKey::new(Point::from_hex(s(&v["election_key"])).unwrap()).unwrap();
    let ctx = BallotContext::new(&manifest, key);
    ballot
        .validate(
            &ctx,
            &electorate.index(),
            Some(&rings),
            &mut ChaCha20Rng::seed_from_u64(0),
        )
        .unwrap();
    let statement = ballot.ring_statement(&rings, &u);
    assert!(verify_ring_statements(vec![statement], &mut ChaCha20Rng::seed_from_u64(1))[0].is_ok());
    // Another voter's tag, the same bytes otherwise: refused.
    let mut other = ballot.clone();
    let mut bytes = sig.clone();
    bytes[..32].copy_from_slice(
        &vox_crypto::ring::linking_tag(
            &Credential::generate(&mut ChaCha20Rng::seed_from_u64(5)),
            &u,
        )
        .to_bytes(),
    );
    other.ring_signature =
        Some(vox_protocol::petition::RingSignatureBytes::from_bytes(bytes).unwrap());
    assert!(other
        .validate(
            &ctx,
            &electorate.index(),
            Some(&rings),
            &mut ChaCha20Rng::seed_from_u64(0)
        )
        .is_err());
}

#[test]
fn anonymous_ballot_vector() {
    let generated = serde_json::to_string_pretty(&sorted(generate())).unwrap() + "\n";
    if std::env::var("VOX_UPDATE_VECTORS").as_deref() == Ok("1") {
        std::fs::write(path(), &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path())
        .unwrap_or_else(|e| panic!("ballot-anonymous.json is missing ({e}); run {REGENERATE}"));
    verify(&serde_json::from_str(&on_disk).unwrap());
    assert!(
        on_disk == generated,
        "ballot-anonymous.json differs from what the code generates now; if the protocol \
         changed on purpose, regenerate with {REGENERATE}"
    );
}
