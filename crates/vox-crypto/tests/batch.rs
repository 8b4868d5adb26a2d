//! Batch verification (protocol-spec/03-proofs.md §3.8): one random linear combination
//! for many proofs, and the fallback that names the culprit when the batch fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::batch::{verify_batch_or_find_culprit, BatchVerifier, Equations, SingleVerifier};
use vox_crypto::credential::{Credential, CredentialPublicKey, CredentialSignature};
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey, SecretScalar};
use vox_crypto::error::Result;
use vox_crypto::proofs::link::pedersen_commit;
use vox_crypto::proofs::{ConstantProof, DleqProof, LinkProof, SchnorrProof, ZeroOneProof};
use vox_crypto::transcript::new_transcript;
use vox_crypto::{CryptoError, Hash32, Point, Scalar, Transcript};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn manifest() -> Hash32 {
    Hash32::sha256(&[b"batch test manifest"])
}

/// Each item gets its own transcript, bound to its index (as a ballot would be bound to
/// its credential), so proofs cannot be swapped between items.
fn item_transcript(index: usize) -> Transcript {
    let mut t = new_transcript(b"ballot", &manifest());
    t.append_message(b"item", &(index as u64).to_le_bytes());
    t
}

fn election_key(rng: &mut ChaCha20Rng) -> ElectionPublicKey {
    ElectionPublicKey::new(SecretScalar::random(rng).public()).unwrap()
}

#[derive(Clone, Debug)]
struct YesNo {
    index: usize,
    ct: Ciphertext,
    proof: ZeroOneProof,
}

fn yes_no_ballots(n: usize, key: &ElectionPublicKey, rng: &mut ChaCha20Rng) -> Vec<YesNo> {
    (0..n)
        .map(|i| {
            let m = (i % 2) as u64;
            let (ct, r) = Ciphertext::encrypt(key, m, rng);
            let proof = ZeroOneProof::prove(&mut item_transcript(i), key, &ct, m, &r, rng).unwrap();
            YesNo {
                index: i,
                ct,
                proof,
            }
        })
        .collect()
}

fn check_yes_no(key: &ElectionPublicKey) -> impl Fn(&YesNo, &mut dyn Equations) -> Result<()> + '_ {
    move |item, mut eq| {
        item.proof
            .check(&mut item_transcript(item.index), key, &item.ct, &mut eq)
    }
}

fn batch_yes_no(key: &ElectionPublicKey, items: &[YesNo], seed: u64) -> Result<()> {
    let mut batch = BatchVerifier::new(rng(seed));
    for it in items {
        it.proof
            .check(&mut item_transcript(it.index), key, &it.ct, &mut batch)?;
    }
    assert_eq!(batch.len(), 4 * items.len());
    batch.finish()
}

#[test]
fn two_hundred_valid_zero_one_proofs_pass() {
    let mut r = rng(1);
    let key = election_key(&mut r);
    let items = yes_no_ballots(200, &key, &mut r);
    batch_yes_no(&key, &items, 2).unwrap();
    verify_batch_or_find_culprit(&items, rng(3), check_yes_no(&key)).unwrap();
    // Every item also passes alone.
    for it in &items {
        it.proof
            .check(
                &mut item_transcript(it.index),
                &key,
                &it.ct,
                &mut SingleVerifier,
            )
            .unwrap();
    }
}

#[test]
fn one_bad_response_fails_the_batch_and_is_named() {
    let mut r = rng(4);
    let key = election_key(&mut r);
    let items = yes_no_ballots(200, &key, &mut r);
    for bad in [0usize, 1, 99, 100, 198, 199] {
        // A response tweak passes the structural check (c0 + c1 = c), so only the
        // random linear combination can catch it.
        let mut v = items.clone();
        v[bad].proof.z1 = v[bad].proof.z1 + Scalar::ONE;
        assert!(batch_yes_no(&key, &v, 5).is_err(), "bad at {bad}");
        match verify_batch_or_find_culprit(&v, rng(6), check_yes_no(&key)) {
            Err(CryptoError::BatchItem { index, source }) => {
                assert_eq!(index, bad);
                assert!(matches!(
                    *source,
                    CryptoError::ProofInvalid {
                        proof: "zero-one",
                        ..
                    }
                ));
            }
            other => panic!("bad at {bad}: expected BatchItem, got {other:?}"),
        }
    }
}

/// A named mutation of one yes/no item.
type Tweak = (&'static str, fn(&mut YesNo));

#[test]
fn each_kind_of_tweak_in_the_batch_is_named() {
    let mut r = rng(7);
    let key = election_key(&mut r);
    let items = yes_no_ballots(50, &key, &mut r);
    let tweaks: [Tweak; 8] = [
        ("t0a", |y| y.proof.t0a = y.proof.t0a + Point::generator()),
        ("t1b", |y| y.proof.t1b = y.proof.t1b + Point::generator()),
        ("c0", |y| y.proof.c0 = y.proof.c0 + Scalar::ONE),
        ("z0", |y| y.proof.z0 = y.proof.z0 + Scalar::ONE),
        ("a", |y| y.ct.a = y.ct.a + Point::generator()),
        ("b", |y| y.ct.b = y.ct.b + Point::generator()),
        ("a = identity", |y| y.ct.a = Point::identity()),
        ("swap branches", |y| {
            let p = y.proof;
            y.proof = ZeroOneProof {
                t0a: p.t1a,
                t0b: p.t1b,
                t1a: p.t0a,
                t1b: p.t0b,
                c0: p.c1,
                c1: p.c0,
                z0: p.z1,
                z1: p.z0,
            };
        }),
    ];
    for (name, tweak) in tweaks {
        for bad in [0usize, 25, 49] {
            let mut v = items.clone();
            tweak(&mut v[bad]);
            let err = verify_batch_or_find_culprit(&v, rng(8), check_yes_no(&key));
            assert!(
                matches!(err, Err(CryptoError::BatchItem { index, .. }) if index == bad),
                "{name} at {bad}: {err:?}"
            );
        }
    }
}

#[test]
fn errors_that_cancel_in_a_plain_sum_are_caught_by_random_weights() {
    // Two bad proofs whose errors cancel exactly if the equations were simply added:
    // z0 + 1 in one and z0 − 1 in the other, on the same kind of equation with the
    // same shared base K. Random weights must still catch it.
    let mut r = rng(9);
    let key = election_key(&mut r);
    let mut items = yes_no_ballots(10, &key, &mut r);
    items[3].proof.z0 = items[3].proof.z0 + Scalar::ONE;
    items[6].proof.z0 = items[6].proof.z0 - Scalar::ONE;
    for seed in 0..16 {
        assert!(batch_yes_no(&key, &items, seed).is_err());
    }
    let err = verify_batch_or_find_culprit(&items, rng(10), check_yes_no(&key));
    assert!(matches!(err, Err(CryptoError::BatchItem { index: 3, .. })));
}

#[test]
fn empty_batch_passes() {
    let b = BatchVerifier::new(rng(11));
    assert!(b.is_empty());
    assert_eq!(b.len(), 0);
    b.finish().unwrap();
    let none: [YesNo; 0] = [];
    let mut r = rng(12);
    let key = election_key(&mut r);
    verify_batch_or_find_culprit(&none, rng(13), check_yes_no(&key)).unwrap();
}

#[test]
fn batches_with_several_election_keys_merge_correctly() {
    // Shared-base coefficients are merged per key; two keys must not be confused.
    let mut r = rng(14);
    let k1 = election_key(&mut r);
    let k2 = election_key(&mut r);
    let a = yes_no_ballots(20, &k1, &mut r);
    let b = yes_no_ballots(20, &k2, &mut r);
    let mut batch = BatchVerifier::new(rng(15));
    for (i, it) in a.iter().enumerate() {
        it.proof
            .check(&mut item_transcript(i), &k1, &it.ct, &mut batch)
            .unwrap();
    }
    for (i, it) in b.iter().enumerate() {
        it.proof
            .check(&mut item_transcript(i), &k2, &it.ct, &mut batch)
            .unwrap();
    }
    batch.finish().unwrap();
    // The same proofs checked under the other key fail (structurally: the challenge
    // covers K).
    let mut batch = BatchVerifier::new(rng(16));
    assert!(a[0]
        .proof
        .check(&mut item_transcript(0), &k2, &a[0].ct, &mut batch)
        .is_err());
}

// ---------------------------------------------------------------------------
// Mixed batches
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Item {
    ZeroOne {
        ct: Ciphertext,
        proof: ZeroOneProof,
    },
    Dleq {
        y: Point,
        x: Point,
        d: Point,
        proof: DleqProof,
    },
    Constant {
        ct: Ciphertext,
        value: u64,
        proof: ConstantProof,
    },
    Link {
        ct: Ciphertext,
        c: Point,
        proof: LinkProof,
    },
    Schnorr {
        public: Point,
        msg: Vec<u8>,
        proof: SchnorrProof,
    },
    Signature {
        key: CredentialPublicKey,
        msg: Vec<u8>,
        sig: CredentialSignature,
    },
}

/// Every item's transcript is its own; the index is part of the item so the check can
/// rebuild it.
#[derive(Clone, Debug)]
struct Indexed {
    index: usize,
    item: Item,
}

fn check_item(key: &ElectionPublicKey) -> impl Fn(&Indexed, &mut dyn Equations) -> Result<()> + '_ {
    move |it, mut eq| {
        let t = &mut item_transcript(it.index);
        match &it.item {
            Item::ZeroOne { ct, proof } => proof.check(t, key, ct, &mut eq),
            Item::Dleq { y, x, d, proof } => proof.check(t, y, false, x, d, &mut eq),
            Item::Constant { ct, value, proof } => proof.check(t, key, ct, *value, &mut eq),
            Item::Link { ct, c, proof } => proof.check(t, key, ct, c, &mut eq),
            Item::Schnorr { public, msg, proof } => proof.check(t, public, msg, &mut eq),
            Item::Signature { key, msg, sig } => sig.check(t, key, msg, &mut eq),
        }
    }
}

fn mixed_items(n: usize, key: &ElectionPublicKey, r: &mut ChaCha20Rng) -> Vec<Indexed> {
    (0..n)
        .map(|index| {
            let t = &mut item_transcript(index);
            let item = match index % 6 {
                0 => {
                    let (ct, nonce) = Ciphertext::encrypt(key, 1, r);
                    let proof = ZeroOneProof::prove(t, key, &ct, 1, &nonce, r).unwrap();
                    Item::ZeroOne { ct, proof }
                }
                1 => {
                    // A decryption share: D = x·A with X = x·G, proven against base A.
                    let x = Scalar::random(r);
                    let y = Scalar::random(r).mul_base();
                    let (xp, d) = (x.mul_base(), x.mul_point(&y));
                    let proof = DleqProof::prove(t, &x, &y, &xp, &d, r);
                    Item::Dleq { y, x: xp, d, proof }
                }
                2 => {
                    let (ct, nonce) = Ciphertext::encrypt(key, 3, r);
                    let proof = ConstantProof::prove(t, key, &ct, 3, &nonce, r);
                    Item::Constant {
                        ct,
                        value: 3,
                        proof,
                    }
                }
                3 => {
                    let (ct, nonce) = Ciphertext::encrypt(key, 9, r);
                    let s = Scalar::random(r);
                    let c = pedersen_commit(&Scalar::from_u64(9), &s);
                    let proof = LinkProof::prove(t, key, &ct, &c, 9, &nonce, &s, r);
                    Item::Link { ct, c, proof }
                }
                4 => {
                    let x = Scalar::random(r);
                    let msg = format!("trustee {index} coefficient").into_bytes();
                    let proof = SchnorrProof::prove(t, &x, &x.mul_base(), &msg, r);
                    Item::Schnorr {
                        public: x.mul_base(),
                        msg,
                        proof,
                    }
                }
                _ => {
                    let cred = Credential::generate(r);
                    let msg = format!("ballot {index}").into_bytes();
                    let sig = cred.sign(t, &msg, r);
                    Item::Signature {
                        key: cred.public_key(),
                        msg,
                        sig,
                    }
                }
            };
            Indexed { index, item }
        })
        .collect()
}

/// Break one response of an item (an equation-level fault, not a structural one).
fn break_item(it: &mut Indexed) {
    let one = Scalar::ONE;
    match &mut it.item {
        Item::ZeroOne { proof, .. } => proof.z0 = proof.z0 + one,
        Item::Dleq { proof, .. } => proof.z = proof.z + one,
        Item::Constant { proof, .. } => proof.0.z = proof.0.z + one,
        Item::Link { proof, .. } => proof.zs = proof.zs + one,
        Item::Schnorr { proof, .. } => proof.z = proof.z + one,
        Item::Signature { sig, .. } => sig.0.z = sig.0.z + one,
    }
}

#[test]
fn mixed_batch_passes() {
    let mut r = rng(20);
    let key = election_key(&mut r);
    let items = mixed_items(60, &key, &mut r);
    let check = check_item(&key);
    let mut batch = BatchVerifier::new(rng(21));
    for it in &items {
        check(it, &mut batch).unwrap();
    }
    batch.finish().unwrap();
    verify_batch_or_find_culprit(&items, rng(22), check_item(&key)).unwrap();
}

#[test]
fn mixed_batch_names_the_culprit_of_each_kind() {
    let mut r = rng(23);
    let key = election_key(&mut r);
    let items = mixed_items(36, &key, &mut r);
    // One culprit of each kind, at several positions.
    for bad in [0usize, 1, 2, 3, 4, 5, 17, 30, 35] {
        let mut v = items.clone();
        break_item(&mut v[bad]);
        let err = verify_batch_or_find_culprit(&v, rng(24), check_item(&key));
        assert!(
            matches!(err, Err(CryptoError::BatchItem { index, .. }) if index == bad),
            "culprit {bad} ({:?}): {err:?}",
            std::mem::discriminant(&v[bad].item)
        );
    }
    // Two culprits: the first is named.
    let mut v = items.clone();
    break_item(&mut v[8]);
    break_item(&mut v[20]);
    let err = verify_batch_or_find_culprit(&v, rng(25), check_item(&key));
    assert!(matches!(err, Err(CryptoError::BatchItem { index: 8, .. })));
}

#[test]
fn proofs_replayed_in_another_item_fail() {
    // Item transcripts differ, so a valid ciphertext and proof moved to another item fail.
    let mut r = rng(26);
    let key = election_key(&mut r);
    let mut items = yes_no_ballots(4, &key, &mut r);
    // Item 1's ciphertext and proof, replayed as item 2: valid bytes, wrong context.
    items[2] = YesNo {
        index: 2,
        ..items[1].clone()
    };
    let err = verify_batch_or_find_culprit(&items, rng(27), check_yes_no(&key));
    assert!(matches!(err, Err(CryptoError::BatchItem { index: 2, .. })));
}

#[test]
fn the_first_culprit_is_named_when_a_later_item_is_malformed() {
    // Item 3 fails an equation (only the MSM or a single check can see it); item 5 fails
    // a structural check (c0 + c1 ≠ c) while the batch is being filled. The error must
    // name item 3, the first item that fails on its own (CryptoError::BatchItem's contract).
    let mut r = rng(28);
    let key = election_key(&mut r);
    let mut items = yes_no_ballots(8, &key, &mut r);
    items[3].proof.z1 = items[3].proof.z1 + Scalar::ONE;
    items[5].proof.c0 = items[5].proof.c0 + Scalar::ONE;
    let err = verify_batch_or_find_culprit(&items, rng(29), check_yes_no(&key));
    assert!(
        matches!(err, Err(CryptoError::BatchItem { index: 3, .. })),
        "{err:?}"
    );
    // With item 3 repaired, item 5 is named.
    items[3].proof.z1 = items[3].proof.z1 - Scalar::ONE;
    let err = verify_batch_or_find_culprit(&items, rng(30), check_yes_no(&key));
    assert!(
        matches!(err, Err(CryptoError::BatchItem { index: 5, .. })),
        "{err:?}"
    );
}
