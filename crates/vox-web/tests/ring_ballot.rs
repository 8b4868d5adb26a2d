//! Native tests of the anonymous-ballot exports of the ring bundle (src/ring.rs,
//! protocol-spec/04-ballots.md §4.10): after the same begin/feed as a ring-signed
//! petition, the device derives the referendum's rings from the board it checked itself
//! and encrypts a ballot that names a ring and a linking tag, never the credential.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::OnceLock;

use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use vox_crypto::credential::Credential;
use vox_protocol::ballot::{AuditedBallot, Ballot, BallotContext};
use vox_protocol::board::{BoardEntry, SignedTreeHead};
use vox_protocol::electorate::{Electorate, ElectorateEntry, ElectorateIndex};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{Manifest, Participation};
use vox_verifier::synth::{
    anonymous_referendum, honest, referendum_rings_from_log, Honest, ANONYMOUS_REVOKED,
};

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

/// The verifier's record of an anonymous referendum "ra" (8 voters, yes-no).
fn anon() -> &'static Honest {
    static H: OnceLock<Honest> = OnceLock::new();
    H.get_or_init(|| anonymous_referendum(7).unwrap())
}

/// The verifier's honest record: referendum r1 is pseudonymous.
fn pseudo() -> &'static Honest {
    static H: OnceLock<Honest> = OnceLock::new();
    H.get_or_init(|| honest(43, 0).unwrap())
}

fn last_head(h: &Honest) -> &SignedTreeHead {
    let last = h.record.heads.last().unwrap();
    assert_eq!(last.head.tree_size, h.record.entries.len() as u64);
    last
}

/// Begin with the record's board key and head and feed every entry in pages of 5.
fn feed(h: &Honest, head: &SignedTreeHead, entries: &[BoardEntry]) {
    ok(&vox_web::ring_begin(
        &json!({ "board_public_key": h.record.header.board_public_key, "tree_head": head })
            .to_string(),
    ));
    for (p, page) in entries.chunks(5).enumerate() {
        let items: Vec<Value> = page
            .iter()
            .enumerate()
            .map(|(i, e)| json!({ "index": p * 5 + i, "entry": e }))
            .collect();
        ok(&vox_web::ring_feed(
            &json!({ "entries": items }).to_string(),
        ));
    }
}

fn request(h: &Honest, manifest: &Manifest, c: &Credential, previous: Option<&str>) -> String {
    let mut r = json!({
        "manifest": manifest,
        "manifest_hash": manifest.canonical_hash(),
        "election_key": h.joint.election_key(),
        "credential": c.text(),
        "choices": [[1, 0]],
    });
    if let Some(p) = previous {
        r["previous"] = json!(p);
    }
    r.to_string()
}

/// An index of the referendum's electorate hash (an anonymous ballot's eligibility is its
/// ring, checked by `validate` against the rings; the index only scopes it).
fn index_of(h: &Honest) -> ElectorateIndex {
    let e = Electorate {
        id: "town".into(),
        name: "town".into(),
        entries: h
            .credentials
            .iter()
            .map(|c| ElectorateEntry {
                credential: c.public_key(),
                region: None,
            })
            .collect(),
    };
    let mut index = e.index();
    index.hash = h.manifest.electorate_hash;
    index
}

#[test]
fn honest_anonymous_ballot_validates_and_names_no_credential() {
    seed();
    let h = anon();
    assert_eq!(h.manifest.participation, Participation::Anonymous);
    let entries = &h.record.entries;
    feed(h, last_head(h), entries);
    let voter = &h.credentials[2];
    let rings = referendum_rings_from_log(entries, &h.manifest.referendum_id).unwrap();
    let (ring, _) = rings.ring_of(&voter.public_key()).unwrap();

    // The tag, without a session, is the one the derivation and the ballot carry.
    let tag = ok(&vox_web::ring_referendum_tag(&request(
        h,
        &h.manifest,
        voter,
        None,
    )));
    let ctx = BallotContext::new(&h.manifest, *h.joint.election_key());
    let expected_tag = vox_crypto::ring::linking_tag(voter, &ctx.tag_generator().unwrap());
    assert_eq!(tag["tag"], json!(expected_tag.to_hex()));
    assert_eq!(tag["manifest_hash"], json!(ctx.manifest_hash.to_hex()));

    let facts = ok(&vox_web::ring_referendum_derive(&request(
        h,
        &h.manifest,
        voter,
        None,
    )));
    assert_eq!(facts["ring"], json!(ring.ring.hash().to_hex()));
    assert_eq!(
        facts["region"],
        Value::Null,
        "a referendum pools every region"
    );
    assert_eq!(facts["ring_members"], json!(ring.ring.member_count()));
    assert_eq!(facts["rings"], json!(rings.rings().len()));
    assert_eq!(facts["tag"], tag["tag"]);

    let out = ok(&vox_web::ring_encrypt_ballot(&request(
        h,
        &h.manifest,
        voter,
        None,
    )));
    let ballot: Ballot = serde_json::from_value(out["ballot"].clone()).unwrap();
    // B1–B11 against the rings derived independently (what the server and V10 do).
    ballot
        .validate(&ctx, &index_of(h), Some(&rings), &mut OsRng)
        .unwrap();
    assert!(ballot.credential.is_none() && ballot.signature.is_none());
    assert_eq!(ballot.ring, Some(*ring.ring.hash()));
    assert_eq!(ballot.previous, None);
    assert_eq!(out["tag"], tag["tag"]);
    assert_eq!(out["ballot_hash"], json!(ballot.hash().to_hex()));
    assert_eq!(out["tracking_code"], json!(ballot.tracking_code()));
    assert_eq!(ballot.voter_key(), Some(expected_tag.to_bytes()));
    let text = out["ballot"].to_string();
    assert!(
        !text.contains(&voter.public_key().point().to_hex()),
        "{text}"
    );
    assert!(!text.contains(voter.text()), "{text}");

    // The secrets open it (the Benaloh audit path of the page, 04 §4.6).
    let audited: AuditedBallot = serde_json::from_value(json!({
        "ballot": out["ballot"], "choices": out["secrets"]["choices"],
        "nonces": out["secrets"]["nonces"],
    }))
    .unwrap();
    assert_eq!(audited.choices, vec![vec![1, 0]]);
    audited.verify_opening(&ctx).unwrap();
    let opened = ok(&vox_web::audit_opening(
        &json!({
            "manifest": h.manifest, "manifest_hash": ctx.manifest_hash,
            "election_key": h.joint.election_key(), "audited": audited,
        })
        .to_string(),
    ));
    assert_eq!(opened["choices"], json!([[1, 0]]));

    // A re-vote names the tag's latest ballot and carries the same tag.
    let again = ok(&vox_web::ring_encrypt_ballot(&request(
        h,
        &h.manifest,
        voter,
        Some(&ballot.hash().to_hex()),
    )));
    let second: Ballot = serde_json::from_value(again["ballot"].clone()).unwrap();
    second
        .validate(&ctx, &index_of(h), Some(&rings), &mut OsRng)
        .unwrap();
    assert_eq!(second.previous, Some(ballot.hash()));
    assert_eq!(again["tag"], out["tag"]);
    assert_ne!(again["ballot_hash"], out["ballot_hash"]);
    // Another voter: another tag.
    let other = ok(&vox_web::ring_encrypt_ballot(&request(
        h,
        &h.manifest,
        &h.credentials[3],
        None,
    )));
    assert_ne!(other["tag"], out["tag"]);
}

#[test]
fn a_pseudonymous_referendum_is_refused() {
    seed();
    let h = pseudo();
    assert_eq!(h.manifest.participation, Participation::Pseudonymous);
    feed(h, last_head(h), &h.record.entries);
    let voter = &h.credentials[0];
    for out in [
        vox_web::ring_referendum_tag(&request(h, &h.manifest, voter, None)),
        vox_web::ring_referendum_derive(&request(h, &h.manifest, voter, None)),
        vox_web::ring_encrypt_ballot(&request(h, &h.manifest, voter, None)),
    ] {
        let e = err(&out);
        assert!(e.contains("takes pseudonymous"), "{e}");
    }
}

#[test]
fn a_credential_in_no_ring_is_refused() {
    seed();
    let h = anon();
    feed(h, last_head(h), &h.record.entries);
    // The replacement enrolled after the referendum was created, the revoked credential,
    // and a credential never enrolled: none is in a ring.
    let stranger = Credential::generate(&mut OsRng);
    for c in [&h.replacement, &h.credentials[ANONYMOUS_REVOKED], &stranger] {
        for out in [
            vox_web::ring_referendum_derive(&request(h, &h.manifest, c, None)),
            vox_web::ring_encrypt_ballot(&request(h, &h.manifest, c, None)),
        ] {
            let e = err(&out);
            assert!(e.starts_with("not-in-ring:"), "{e}");
        }
    }
}

#[test]
fn a_manifest_other_than_the_boards_is_refused() {
    seed();
    let h = anon();
    feed(h, last_head(h), &h.record.entries);
    let voter = &h.credentials[1];
    // Anonymous too, and self-consistent (its own hash announced), but not the one
    // created on the board under "ra".
    let mut other = h.manifest.clone();
    other.title.push_str(" (edited)");
    for out in [
        vox_web::ring_referendum_derive(&request(h, &other, voter, None)),
        vox_web::ring_encrypt_ballot(&request(h, &other, voter, None)),
    ] {
        let e = err(&out);
        assert!(e.contains("not the one created on the board"), "{e}");
    }
    // A referendum the board never created.
    let mut unknown = h.manifest.clone();
    unknown.referendum_id = "elsewhere".into();
    let e = err(&vox_web::ring_encrypt_ballot(&request(
        h, &unknown, voter, None,
    )));
    assert!(e.contains("is not created on the board"), "{e}");
    // A manifest hash announced for another manifest.
    let mut r: Value = serde_json::from_str(&request(h, &h.manifest, voter, None)).unwrap();
    r["manifest_hash"] = json!(other.canonical_hash());
    let e = err(&vox_web::ring_encrypt_ballot(&r.to_string()));
    assert!(e.starts_with("manifest_hash:"), "{e}");
    // Missing inputs: clear errors, nothing encrypted.
    let mut r: Value = serde_json::from_str(&request(h, &h.manifest, voter, None)).unwrap();
    r.as_object_mut().unwrap().remove("election_key");
    let e = err(&vox_web::ring_encrypt_ballot(&r.to_string()));
    assert!(e.starts_with("election_key:"), "{e}");
    // Bad choices are the protocol's refusal, not a panic.
    let mut r: Value = serde_json::from_str(&request(h, &h.manifest, voter, None)).unwrap();
    r["choices"] = json!([[1, 1]]);
    let e = err(&vox_web::ring_encrypt_ballot(&r.to_string()));
    assert!(e.starts_with("ballot:"), "{e}");
}

#[test]
fn a_board_fed_in_part_is_refused() {
    seed();
    let h = anon();
    let entries = &h.record.entries;
    // The whole board is needed: the rings of the head's size, checked against its root.
    feed(h, last_head(h), &entries[..10]);
    let e = err(&vox_web::ring_encrypt_ballot(&request(
        h,
        &h.manifest,
        &h.credentials[0],
        None,
    )));
    assert!(
        e.starts_with(&format!(
            "entries: 10 of the board's {} entries",
            entries.len()
        )),
        "{e}"
    );
}
