//! Native tests of the signature-receipt exports (src/signature_receipt.rs): a petition
//! signature's saved receipt checked later, R1–R6 of protocol-spec/07 §7.10, as `vox
//! voter check-receipt` does; and the receipt file `ring_check_receipt` returns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use vox_protocol::api::{ConsistencyProof, IndexedEntry, SignatureAccepted};
use vox_protocol::board::{BoardEntry, BoardPublicKey, Payload, SignedTreeHead, TreeHead};
use vox_protocol::encoding::Hashable;
use vox_protocol::merkle::{consistency_proof, inclusion_proof, root_from_leaf_hashes, NodeHash};
use vox_protocol::petition::{Petition, RingPetitionSignature, SignatureAction};
use vox_protocol::signature_receipt::{SignatureReceipt, Signer};
use vox_verifier::synth::{honest, rings_from_log, Honest};

fn seed() {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    vox_web::seed(&b).unwrap();
}

/// The verifier's honest board: petition p1 is credential-signed (voter 4 signs then
/// withdraws, voter 8 is invalidated, voter 5 counts), petition p3 ring-signed (voters 5,
/// 6 and 7 sign; the office invalidates voter 7's tag).
fn board() -> &'static Honest {
    static H: OnceLock<Honest> = OnceLock::new();
    H.get_or_init(|| honest(41, 0).unwrap())
}

fn pinned() -> BoardPublicKey {
    board().record.header.board_public_key
}

fn origin() -> String {
    board().record.heads.last().unwrap().origin.clone()
}

fn leaves(entries: &[BoardEntry]) -> Vec<NodeHash> {
    entries.iter().map(BoardEntry::leaf_hash).collect()
}

/// A head of the first `size` entries, signed by `key` for `origin`.
fn head_of(entries: &[BoardEntry], size: usize, key: &SigningKey, origin: &str) -> SignedTreeHead {
    let head = TreeHead {
        tree_size: size as u64,
        root_hash: root_from_leaf_hashes(&leaves(&entries[..size])),
        timestamp_ms: entries[size - 1].timestamp_ms,
    };
    SignedTreeHead::sign(head, origin, key).unwrap()
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

/// The receipt of the signature at `leaf`, under a board-signed head of the board as it
/// was just after it (so that the latest head is later: R3 has a consistency proof).
fn receipt_at(entries: &[BoardEntry], leaf: u64) -> SignatureReceipt {
    let size = leaf as usize + 1;
    let answer = SignatureAccepted {
        leaf_index: leaf,
        tree_head: head_of(entries, size, &board().board_key, &origin()),
        inclusion_proof: inclusion_proof(&leaves(&entries[..size]), leaf).unwrap(),
        count: 1,
    };
    SignatureReceipt::from_answer(answer, &entries[leaf as usize]).unwrap()
}

/// What the page sends: the receipt, the pinned key, a latest head and its consistency
/// proof from the receipt's head.
struct Check {
    receipt: Value,
    key: BoardPublicKey,
    latest: SignedTreeHead,
    consistency: Option<ConsistencyProof>,
    /// The entries the server shows, from leaf 0 (only those from the receipt's leaf are
    /// fed).
    entries: Vec<BoardEntry>,
}

impl Check {
    /// An honest server: the latest head of `entries` signed by the board, and the
    /// consistency proof between the heads.
    fn honest(receipt: &SignatureReceipt, entries: &[BoardEntry]) -> Self {
        let latest = head_of(entries, entries.len(), &board().board_key, &origin());
        let old = receipt.tree_head.head.tree_size;
        let consistency = (old < latest.head.tree_size).then(|| ConsistencyProof {
            first: old,
            second: latest.head.tree_size,
            proof: consistency_proof(&leaves(entries), old).unwrap(),
        });
        Self {
            receipt: serde_json::to_value(receipt).unwrap(),
            key: pinned(),
            latest,
            consistency,
            entries: entries.to_vec(),
        }
    }

    /// begin, feed in API pages of 5 from the receipt's leaf, finish.
    fn run(&self) -> Result<Value, String> {
        let mut req = json!({
            "receipt": self.receipt, "board_public_key": self.key, "tree_head": self.latest,
        });
        if let Some(c) = &self.consistency {
            req["consistency"] = json!(c);
        }
        let begun = answer(&vox_web::signature_receipt_begin(&req.to_string()))?;
        let from = begun["from"].as_u64().unwrap();
        assert_eq!(begun["tree_size"], json!(self.latest.head.tree_size));
        assert_eq!(
            begun["from"], self.receipt["leaf_index"],
            "feed from the receipt's leaf"
        );
        let end = self.latest.head.tree_size.min(self.entries.len() as u64);
        let mut next = from;
        while next < end {
            let stop = (next + 5).min(end);
            let page: Vec<IndexedEntry> = (next..stop)
                .map(|i| IndexedEntry {
                    index: i,
                    entry: self.entries[i as usize].clone(),
                })
                .collect();
            let fed = answer(&vox_web::signature_receipt_feed(
                &json!({ "entries": page }).to_string(),
            ))?;
            assert_eq!(fed["received"], json!(stop));
            next = stop;
        }
        answer(&vox_web::signature_receipt_finish("{}"))
    }
}

fn answer(s: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(s).unwrap();
    match v.get("error") {
        Some(e) => Err(e.as_str().unwrap().to_owned()),
        None => Ok(v["ok"].clone()),
    }
}

fn refused(c: &Check, code: &str) -> String {
    let e = c.run().expect_err("the check must fail");
    assert!(e.starts_with(&format!("{code}: ")), "expected {code}: {e}");
    e
}

fn ring_leaves() -> Vec<u64> {
    board().record.signature_leaves("p3")
}

fn tag_at(entries: &[BoardEntry], leaf: u64) -> String {
    match Signer::of_entry(&entries[leaf as usize].payload).unwrap().2 {
        Signer::Tag(t) => t.to_hex(),
        Signer::Credential(_) => panic!("not a ring signature"),
    }
}

#[test]
fn an_honest_ring_signature_receipt_is_counted() {
    let entries = &board().record.entries;
    let leaf = ring_leaves()[0];
    let receipt = receipt_at(entries, leaf);
    let out = Check::honest(&receipt, entries).run().unwrap();
    assert_eq!(out["standing"], json!("counted"));
    assert!(out.get("standing_leaf").is_none() && out.get("reason").is_none());
    assert_eq!(out["tree_size"], json!(entries.len()));
    assert_eq!(out["cosigned"], json!(false));
    assert_eq!(receipt.tree_head.head.tree_size, leaf + 1);
    assert_eq!(receipt.petition_id, "p3");
    assert_eq!(
        serde_json::to_value(receipt.signer).unwrap(),
        json!({ "tag": tag_at(entries, leaf) })
    );
    // The receipt's head is the latest one (no consistency proof needed).
    let last = board().record.signature_receipt(leaf).unwrap();
    assert_eq!(last.tree_head.head.tree_size, entries.len() as u64);
    let c = Check::honest(&last, entries);
    assert!(c.consistency.is_none());
    assert_eq!(c.run().unwrap()["standing"], json!("counted"));
}

#[test]
fn an_invalidated_ring_signature_says_where_and_why() {
    let entries = &board().record.entries;
    let leaf = ring_leaves()[2];
    let out = Check::honest(&receipt_at(entries, leaf), entries)
        .run()
        .unwrap();
    let at = entries
        .iter()
        .position(|e| matches!(&e.payload, Payload::SignaturesInvalidated { petition_id, .. } if petition_id == "p3"))
        .unwrap();
    assert_eq!(out["standing"], json!("invalidated"));
    assert_eq!(out["standing_leaf"], json!(at));
    assert_eq!(
        out["reason"],
        json!("Example: a signature the office found to be bought.")
    );
}

/// The board after a later ring withdrawal by the signer of p3's first signature.
fn with_withdrawal() -> Vec<BoardEntry> {
    let h = board();
    let mut entries = h.record.entries.clone();
    let p3 = petition("p3");
    let tag = tag_at(&entries, ring_leaves()[0]);
    let gen = vox_protocol::rings::petition_tag_generator(&p3.canonical_hash()).unwrap();
    let cred = h
        .credentials
        .iter()
        .find(|c| vox_crypto::ring::linking_tag(c, &gen).to_hex() == tag)
        .unwrap();
    let rings = rings_from_log(&entries, &p3).unwrap();
    let sig =
        RingPetitionSignature::create(&p3, &rings, cred, SignatureAction::Withdraw, &mut OsRng)
            .unwrap();
    let t = entries.last().unwrap().timestamp_ms + 1;
    entries.push(BoardEntry {
        timestamp_ms: t,
        payload: Payload::PetitionRingSigned {
            signature: Box::new(sig),
        },
    });
    entries
}

#[test]
fn a_withdrawn_ring_signature_says_where() {
    let entries = with_withdrawal();
    let leaf = ring_leaves()[0];
    let out = Check::honest(&receipt_at(&entries, leaf), &entries)
        .run()
        .unwrap();
    assert_eq!(out["standing"], json!("withdrawn"));
    assert_eq!(out["standing_leaf"], json!(entries.len() - 1));
    // The other signers still count.
    let out = Check::honest(&receipt_at(&entries, ring_leaves()[1]), &entries)
        .run()
        .unwrap();
    assert_eq!(out["standing"], json!("counted"));
}

/// Credential-signed receipts (the CLI's) check the same way: p1's voter who signed and
/// withdrew, the one invalidated, one counted.
#[test]
fn credential_signature_receipts_follow_their_credential() {
    let entries = &board().record.entries;
    let p1 = board().record.signature_leaves("p1");
    let standings: Vec<Value> = p1
        .iter()
        .map(|&l| {
            let r = receipt_at(entries, l);
            assert!(matches!(r.signer, Signer::Credential(_)));
            Check::honest(&r, entries).run().unwrap()["standing"].clone()
        })
        .collect();
    for s in ["counted", "withdrawn", "invalidated"] {
        assert!(standings.contains(&json!(s)), "{s} in {standings:?}");
    }
    // A withdrawal's own receipt starts withdrawn, at its leaf.
    let (i, w) = p1
        .iter()
        .enumerate()
        .find(|(_, &l)| {
            Signer::of_entry(&entries[l as usize].payload).unwrap().3 == SignatureAction::Withdraw
        })
        .unwrap();
    assert_eq!(standings[i], json!("withdrawn"));
    let r = receipt_at(entries, *w);
    assert_eq!(r.action, SignatureAction::Withdraw);
    let out = Check::honest(&r, entries).run().unwrap();
    assert_eq!(out["standing_leaf"], json!(w));
}

#[test]
fn a_flipped_proof_node_fails_r2() {
    let entries = &board().record.entries;
    let receipt = receipt_at(entries, ring_leaves()[0]);
    for k in 0..receipt.inclusion_proof.len() {
        let mut r = receipt.clone();
        r.inclusion_proof[k].0[0] ^= 1;
        refused(&Check::honest(&r, entries), "r2");
    }
    let mut r = receipt.clone();
    r.leaf_hash.0[0] ^= 1;
    refused(&Check::honest(&r, entries), "r2");
    // Nothing to conclude after a refused begin.
    let e = answer(&vox_web::signature_receipt_finish("{}")).unwrap_err();
    assert!(e.contains("signature_receipt_begin first"), "{e}");
}

#[test]
fn another_signer_fails_r4() {
    let entries = &board().record.entries;
    let leaves = ring_leaves();
    let mut r = receipt_at(entries, leaves[0]);
    let other = receipt_at(entries, leaves[1]);
    r.signer = other.signer;
    refused(&Check::honest(&r, entries), "r4");
    // Another action or petition, likewise.
    let mut r = receipt_at(entries, leaves[0]);
    r.action = SignatureAction::Withdraw;
    refused(&Check::honest(&r, entries), "r4");
    // The server shows another entry at the leaf (and so another log): R4 first.
    let r = receipt_at(entries, leaves[0]);
    let mut c = Check::honest(&r, entries);
    c.entries.swap(leaves[0] as usize, leaves[1] as usize);
    refused(&c, "r4");
}

#[test]
fn heads_not_signed_by_the_pinned_key_fail() {
    let entries = &board().record.entries;
    let receipt = receipt_at(entries, ring_leaves()[0]);
    // The receipt's head under another board's key (the browser pinned that one).
    let mut c = Check::honest(&receipt, entries);
    c.key = honest(42, 0).unwrap().record.header.board_public_key;
    refused(&c, "r1");
    // The receipt's head edited.
    let mut r = receipt.clone();
    r.tree_head.head.tree_size += 1;
    refused(&Check::honest(&r, entries), "r1");
    // A latest head signed by another key than the pinned one.
    let mut c = Check::honest(&receipt, entries);
    let stranger = SigningKey::from_bytes(&[7; 32]);
    c.latest = head_of(entries, entries.len(), &stranger, &origin());
    refused(&c, "r3-head");
    // A latest head of another log (signed by the board key for another origin).
    let mut c = Check::honest(&receipt, entries);
    c.latest = head_of(
        entries,
        entries.len(),
        &board().board_key,
        "another.example/log",
    );
    refused(&c, "r3-origin");
    // A latest head smaller than the receipt's.
    let late = receipt_at(entries, ring_leaves()[2]);
    let mut c = Check::honest(&late, entries);
    c.latest = head_of(
        entries,
        late.leaf_index as usize,
        &board().board_key,
        &origin(),
    );
    c.consistency = None;
    refused(&c, "r3-smaller");
}

#[test]
fn a_consistency_proof_that_does_not_hold_fails_r3() {
    let entries = &board().record.entries;
    let receipt = receipt_at(entries, ring_leaves()[0]);
    let honest_check = Check::honest(&receipt, entries);
    let n = honest_check.consistency.as_ref().unwrap().proof.len();
    for k in 0..n {
        let mut c = Check::honest(&receipt, entries);
        c.consistency.as_mut().unwrap().proof[k].0[31] ^= 1;
        refused(&c, "r3-consistency");
    }
    // None at all, or one for other sizes.
    let mut c = Check::honest(&receipt, entries);
    c.consistency = None;
    refused(&c, "r3-consistency");
    let mut c = Check::honest(&receipt, entries);
    c.consistency.as_mut().unwrap().first -= 1;
    refused(&c, "r3-consistency");
    // A board that rewrote history after the receipt: its latest head, honestly signed
    // by the board key, is of a log whose leaf is another entry.
    let mut forked = entries.clone();
    forked[0].timestamp_ms += 1;
    let mut c = Check::honest(&receipt, entries);
    c.latest = head_of(&forked, forked.len(), &board().board_key, &origin());
    c.consistency = Some(ConsistencyProof {
        first: receipt.tree_head.head.tree_size,
        second: forked.len() as u64,
        proof: consistency_proof(&leaves(&forked), receipt.tree_head.head.tree_size).unwrap(),
    });
    refused(&c, "r3-consistency");
}

#[test]
fn entries_that_do_not_hash_to_the_latest_root_fail_r5() {
    let entries = &board().record.entries;
    let leaf = ring_leaves()[2];
    let receipt = receipt_at(entries, leaf);
    // A server hiding the invalidation from this device: it shows the entry without the
    // tag. Alone, the watch would say "counted"; the root says no.
    let at = entries
        .iter()
        .position(|e| matches!(&e.payload, Payload::SignaturesInvalidated { petition_id, .. } if petition_id == "p3"))
        .unwrap();
    let mut c = Check::honest(&receipt, entries);
    if let Payload::SignaturesInvalidated { tags, .. } = &mut c.entries[at].payload {
        tags.clear();
    }
    let e = refused(&c, "r5");
    assert!(e.contains("another log"), "{e}");
    // One entry's time moved.
    let mut c = Check::honest(&receipt, entries);
    c.entries.last_mut().unwrap().timestamp_ms += 1;
    refused(&c, "r5");
    // Too few entries: not concluded.
    let mut c = Check::honest(&receipt, entries);
    c.entries.pop();
    refused(&c, "entries");
}

#[test]
fn pages_out_of_order_end_the_check() {
    let entries = &board().record.entries;
    let receipt = receipt_at(entries, ring_leaves()[0]);
    let c = Check::honest(&receipt, entries);
    let req = json!({
        "receipt": c.receipt, "board_public_key": c.key, "tree_head": c.latest,
        "consistency": c.consistency,
    });
    answer(&vox_web::signature_receipt_begin(&req.to_string())).unwrap();
    let skip = receipt.leaf_index + 1;
    let page = [IndexedEntry {
        index: skip,
        entry: entries[skip as usize].clone(),
    }];
    let e = answer(&vox_web::signature_receipt_feed(
        &json!({ "entries": page }).to_string(),
    ))
    .unwrap_err();
    assert!(
        e.starts_with("entries: ") && e.contains("out of order"),
        "{e}"
    );
    let e = answer(&vox_web::signature_receipt_finish("{}")).unwrap_err();
    assert!(e.contains("signature_receipt_begin first"), "{e}");
    // A ballot receipt (no kind) is not a signature receipt.
    let ballot = json!({
        "receipt": board().receipts[0], "board_public_key": c.key, "tree_head": c.latest,
    });
    let e = answer(&vox_web::signature_receipt_begin(&ballot.to_string())).unwrap_err();
    assert!(e.starts_with("receipt: "), "{e}");
}

/// The petition page saves what `ring_check_receipt` returns: exactly the file `vox
/// voter sign` writes (pretty JSON and a newline), and it checks as above.
#[test]
fn ring_check_receipt_returns_the_receipt_file() {
    seed();
    let h = board();
    let entries = &h.record.entries;
    let leaf = ring_leaves()[1];
    let size = leaf as usize + 1;
    let answer_ = SignatureAccepted {
        leaf_index: leaf,
        tree_head: head_of(entries, size, &h.board_key, &origin()),
        inclusion_proof: inclusion_proof(&leaves(&entries[..size]), leaf).unwrap(),
        count: 3,
    };
    let signature = match &entries[leaf as usize].payload {
        Payload::PetitionRingSigned { signature } => (**signature).clone(),
        _ => unreachable!(),
    };
    let req = json!({
        "board_public_key": pinned(),
        "answer": answer_,
        "entries": [IndexedEntry { index: leaf, entry: entries[leaf as usize].clone() }],
        "signature": signature,
    });
    let out = answer(&vox_web::ring_check_receipt(&req.to_string())).unwrap();
    let file = out["receipt_file"].as_str().unwrap();
    let expected = SignatureReceipt::from_answer(answer_, &entries[leaf as usize]).unwrap();
    assert_eq!(
        file,
        format!("{}\n", serde_json::to_string_pretty(&expected).unwrap())
    );
    assert!(file.contains("\"kind\": \"petition-signature\""), "{file}");
    assert!(file.contains(&format!("\"tag\": \"{}\"", tag_at(entries, leaf))));
    let saved: SignatureReceipt = serde_json::from_str(file).unwrap();
    assert_eq!(saved.count, 3);
    let out = Check::honest(&saved, entries).run().unwrap();
    assert_eq!(out["standing"], json!("counted"));
}

/// Witnesses' cosignatures on the latest head are checked too (extra evidence, as `vox
/// voter check-receipt` shows them): valid ones are reported, a forged one refused.
#[test]
fn witness_cosignatures_on_the_latest_head_are_checked() {
    let h = honest(43, 2).unwrap();
    let entries = &h.record.entries;
    let leaf = h.record.signature_leaves("p3")[0];
    let receipt = h.record.signature_receipt(leaf).unwrap();
    let latest = h.record.heads.last().unwrap().clone();
    assert_eq!(latest.cosignatures.len(), 2);
    let mut c = Check {
        receipt: serde_json::to_value(&receipt).unwrap(),
        key: h.record.header.board_public_key,
        latest,
        consistency: None,
        entries: entries.clone(),
    };
    let out = c.run().unwrap();
    assert_eq!(out["cosigned"], json!(true));
    assert_eq!(out["standing"], json!("counted"));
    let sig = serde_json::to_value(&c.latest.cosignatures[1]).unwrap();
    let mut forged = sig.clone();
    forged["timestamp"] = json!(sig["timestamp"].as_u64().unwrap() + 1);
    c.latest.cosignatures[1] = serde_json::from_value(forged).unwrap();
    refused(&c, "r3-cosignature");
}
