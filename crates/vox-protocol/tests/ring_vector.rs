//! The ring-signature test vector `protocol-spec/vectors/ring.json`
//! (protocol-spec/13-ring-signatures.md §13.10).
//!
//! Same harness as `tests/vectors.rs` (kept in its own file so it builds alone): the
//! vector is generated from a seeded ChaCha20 RNG, the checked-in file is first
//! *verified* — with the protocol code, and its derived values (U_p, padding points,
//! ring hash, J) a second time from the byte layouts of chapter 13 with SHA-512/SHA-256
//! written out — then compared byte for byte with what the code generates now.
//!
//! Regenerate (only for an intended protocol change):
//!
//! ```text
//! VOX_UPDATE_VECTORS=1 cargo test -p vox-protocol --test ring_vector
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use curve25519_dalek::ristretto::RistrettoPoint;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};
use vox_crypto::credential::{Credential, CredentialPublicKey};
use vox_crypto::ring::{self, Ring, RingSignature, TagGenerator};
use vox_crypto::transcript::new_transcript;
use vox_crypto::{Hash32, Point};
use vox_protocol::electorate::{Electorate, ElectorateEntry};
use vox_protocol::rings::{petition_tag_generator, RingSet};

const REGENERATE: &str = "VOX_UPDATE_VECTORS=1 cargo test -p vox-protocol --test ring_vector";
const SEED: u64 = 1312;
const PURPOSE: &str = "petition-signature";

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../protocol-spec/vectors/ring.json")
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

fn map_sha512(parts: &[&[u8]]) -> Point {
    let mut h = Sha512::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let wide: [u8; 64] = h.finalize().into();
    Point::from_point(RistrettoPoint::from_uniform_bytes(&wide))
}

fn generate() -> Value {
    let mut rng = ChaCha20Rng::seed_from_u64(SEED);
    let creds: Vec<Credential> = (0..10).map(|_| Credential::generate(&mut rng)).collect();
    let electorate = Electorate {
        id: "vector".into(),
        name: "Ring vector electorate".into(),
        entries: creds
            .iter()
            .map(|c| ElectorateEntry {
                credential: c.public_key(),
                region: Some("north".into()),
            })
            .collect(),
    };
    let set = RingSet::derive(&electorate, &electorate.index(), 1).unwrap();
    let derived = &set.rings()[0];
    let ring = &derived.ring;
    let petition = Hash32::sha256(&[b"ring vector petition"]);
    let u = petition_tag_generator(&petition).unwrap();
    let signer = &creds[3];
    let slot = ring.position_of(&signer.public_key()).unwrap();
    let message = b"sign".to_vec();
    let sig = ring::sign(
        &mut new_transcript(PURPOSE.as_bytes(), &petition),
        signer,
        ring,
        slot,
        &u,
        &message,
        &mut rng,
    )
    .unwrap();
    let hexes = |ps: &[Point]| ps.iter().map(Point::to_hex).collect::<Vec<_>>();

    // Tampered copies, each with the reason it must fail.
    let bytes = sig.to_bytes();
    let mut flipped_z = bytes.clone();
    flipped_z[40 + 6 * 32] ^= 1; // lowest byte of z
    let other_petition = Hash32::sha256(&[b"another petition"]);
    let other_u = petition_tag_generator(&other_petition).unwrap();
    json!({
        "description": "A linkable ring signature (Triptych, n = 4, m = 2) by member 3 of a \
            10-credential ring padded to 16 slots, with tampered copies that must fail.",
        "spec": "protocol-spec/13-ring-signatures.md",
        "generated_by": "crates/vox-protocol/tests/ring_vector.rs",
        "rng": format!("ChaCha20Rng::seed_from_u64({SEED}) (rand_chacha 0.3): 10 credentials, then the prover's randomness"),
        "electorate_hash": set.electorate().to_hex(),
        "region": "north",
        "ring_label": hex::encode(ring.label()),
        "members": hexes(ring.members()),
        "padding": hexes(&ring.slots()[ring.member_count()..]),
        "member_count": ring.member_count(),
        "n": ring::RING_BASE,
        "m": ring.exponent(),
        "ring_hash": ring.hash().to_hex(),
        "petition_hash": petition.to_hex(),
        "tag_generator_context": hex::encode([&8u32.to_be_bytes()[..], b"petition", &petition.0].concat()),
        "tag_generator": u.point().to_hex(),
        "signer_credential": signer.text(),
        "signer_slot": slot,
        "context": { "purpose": PURPOSE, "manifest_hash": petition.to_hex() },
        "message": hex::encode(&message),
        "linking_tag": sig.tag().to_hex(),
        "signature": sig.to_hex(),
        "signature_bytes": bytes.len(),
        "expected": "valid",
        "tampered": [
            { "case": "another message", "message": hex::encode(b"withdraw"), "expected": "invalid" },
            { "case": "another petition's tag generator",
              "tag_generator_context": hex::encode([&8u32.to_be_bytes()[..], b"petition", &other_petition.0].concat()),
              "tag_generator": other_u.point().to_hex(), "expected": "invalid" },
            { "case": "ring without its last member", "members_without_last": true, "expected": "invalid" },
            { "case": "z with its lowest bit flipped", "signature": hex::encode(&flipped_z), "expected": "invalid" },
        ],
    })
}

fn verify(v: &Value) {
    let s = |k: &str| v[k].as_str().unwrap().to_owned();
    let point = |h: &str| Point::from_hex(h).unwrap();
    let members: Vec<Point> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| point(h.as_str().unwrap()))
        .collect();
    let padding: Vec<Point> = v["padding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| point(h.as_str().unwrap()))
        .collect();
    let label = hex::decode(s("ring_label")).unwrap();
    let m = v["m"].as_u64().unwrap();
    let count = v["member_count"].as_u64().unwrap();
    assert_eq!(members.len() as u64, count);
    assert_eq!((members.len() + padding.len()) as u64, 4u64.pow(m as u32));

    // From the spec alone: the ring label (§13.3 step 4).
    let mut expect_label = Vec::new();
    expect_label.extend_from_slice(&11u32.to_be_bytes());
    expect_label.extend_from_slice(b"vox/v2/ring");
    expect_label.extend_from_slice(&hex::decode(s("electorate_hash")).unwrap());
    expect_label.push(1);
    expect_label.extend_from_slice(&5u32.to_be_bytes());
    expect_label.extend_from_slice(b"north");
    expect_label.extend_from_slice(&0u32.to_be_bytes());
    expect_label.extend_from_slice(&1u32.to_be_bytes());
    assert_eq!(label, expect_label);
    // Members in ascending byte order (§13.3 step 2).
    assert!(members
        .windows(2)
        .all(|w| w[0].as_bytes() < w[1].as_bytes()));
    // Padding points (§13.3).
    for (i, p) in padding.iter().enumerate() {
        let slot = (members.len() + i) as u64;
        assert_eq!(
            *p,
            map_sha512(&[b"vox/v2/ring-padding", &label, &slot.to_le_bytes()])
        );
    }
    // Ring hash (§13.3).
    let mut h = Sha256::new();
    for part in [&b"vox/v2/ring-hash"[..], &label] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    for x in [4u64, m, count] {
        h.update(x.to_le_bytes());
    }
    for p in members.iter().chain(&padding) {
        h.update(p.as_bytes());
    }
    let ring_hash = Hash32(h.finalize().into());
    assert_eq!(ring_hash.to_hex(), s("ring_hash"));
    // U_p (§13.1).
    let ctx = hex::decode(s("tag_generator_context")).unwrap();
    let petition = Hash32::from_hex(&s("petition_hash")).unwrap();
    assert_eq!(
        ctx,
        [&8u32.to_be_bytes()[..], b"petition", &petition.0].concat()
    );
    let u_point = map_sha512(&[b"vox/v2/ring-tag-generator", &ctx]);
    assert_eq!(u_point.to_hex(), s("tag_generator"));
    // J = x⁻¹·U_p, with x from the credential (04 §4.1: SHA-512(label ‖ text) mod ℓ).
    let text: String = s("signer_credential")
        .chars()
        .filter(|c| *c != '-')
        .collect();
    let wide: [u8; 64] = Sha512::new()
        .chain_update(b"vox/v2/credential-key")
        .chain_update(text.as_bytes())
        .finalize()
        .into();
    let x = curve25519_dalek::Scalar::from_bytes_mod_order_wide(&wide);
    assert_eq!(
        members[v["signer_slot"].as_u64().unwrap() as usize],
        Point::from_point(RistrettoPoint::mul_base(&x))
    );
    let j = Point::from_point(x.invert() * u_point.as_point());
    assert_eq!(j.to_hex(), s("linking_tag"));
    assert_eq!(s("signature")[..64], s("linking_tag"));

    // With the protocol code: the ring rebuilt from the listed members and label, and
    // the signature verified (and the tampered copies refused).
    let keys: Vec<_> = members
        .iter()
        .map(|p| CredentialPublicKey::new(*p).unwrap())
        .collect();
    let ring = Ring::new(&label, &keys).unwrap();
    assert_eq!(ring.hash(), &ring_hash);
    let u = TagGenerator::derive(&ctx).unwrap();
    assert_eq!(u.point(), &u_point);
    let context = || new_transcript(PURPOSE.as_bytes(), &petition);
    let message = hex::decode(s("message")).unwrap();
    let sig = RingSignature::from_hex(&s("signature")).unwrap();
    assert_eq!(
        sig.to_bytes().len() as u64,
        v["signature_bytes"].as_u64().unwrap()
    );
    assert_eq!(v["expected"], "valid");
    ring::verify(&mut context(), &sig, &ring, &u, &message).unwrap();
    let shorter = Ring::new(&label, &keys[..keys.len() - 1]).unwrap();
    for t in v["tampered"].as_array().unwrap() {
        assert_eq!(t["expected"], "invalid");
        let msg = t["message"]
            .as_str()
            .map(|h| hex::decode(h).unwrap())
            .unwrap_or(message.clone());
        let tu = t["tag_generator_context"].as_str().map(|h| {
            let tu = TagGenerator::derive(&hex::decode(h).unwrap()).unwrap();
            assert_eq!(tu.point().to_hex(), t["tag_generator"].as_str().unwrap());
            tu
        });
        let r = if t["members_without_last"] == true {
            &shorter
        } else {
            &ring
        };
        let result = match t["signature"].as_str() {
            Some(h) => RingSignature::from_hex(h).and_then(|s2| {
                ring::verify(&mut context(), &s2, r, tu.as_ref().unwrap_or(&u), &msg)
            }),
            None => ring::verify(&mut context(), &sig, r, tu.as_ref().unwrap_or(&u), &msg),
        };
        assert!(result.is_err(), "tampered case {} verifies", t["case"]);
    }
}

#[test]
fn ring_vector() {
    let generated = serde_json::to_string_pretty(&sorted(generate())).unwrap() + "\n";
    if std::env::var("VOX_UPDATE_VECTORS").as_deref() == Ok("1") {
        std::fs::write(path(), &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path()).unwrap_or_else(|e| {
        panic!("ring.json is missing ({e}). Generate it with:\n    {REGENERATE}")
    });
    let parsed: Value = serde_json::from_str(&on_disk).unwrap();
    verify(&parsed);
    assert!(
        on_disk == generated,
        "ring.json differs from what the code generates now; if intended, regenerate with:\n    {REGENERATE}"
    );
}
