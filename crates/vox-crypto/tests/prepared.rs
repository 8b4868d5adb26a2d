//! The prepared prover (`PreparedKey`, `prove_prepared`) against the plain one.
//!
//! Both are driven by two copies of one random stream (fresh seed per case), so they
//! draw the same nonces and the same proof randomness; every ciphertext and proof must
//! come out byte-identical, with and without the table for K, for 0s and 1s. The
//! decoded point kept beside each encoding must be the point the encoding decodes to
//! (the prepared path builds both itself).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::rngs::OsRng;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey, PreparedKey, SecretScalar};
use vox_crypto::proofs::{ConstantProof, ZeroOneProof};
use vox_crypto::{Point, Scalar, Transcript};

fn seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    OsRng.fill_bytes(&mut s);
    s
}

fn key() -> ElectionPublicKey {
    ElectionPublicKey::new(SecretScalar::random(&mut OsRng).public()).unwrap()
}

fn transcript() -> Transcript {
    Transcript::new(b"vox prepared-prover test")
}

/// The point beside the encoding is the one the encoding decodes to.
fn consistent(p: &Point) {
    assert_eq!(
        Point::try_from_bytes(p.as_bytes()).unwrap().as_point(),
        p.as_point(),
        "{p:?}"
    );
}

fn consistent_proof(p: &ZeroOneProof) {
    for t in [&p.t0a, &p.t0b, &p.t1a, &p.t1b] {
        consistent(t);
    }
}

struct Question {
    cts: Vec<Ciphertext>,
    proofs: Vec<ZeroOneProof>,
    count: ConstantProof,
}

/// One transcript per option, as `encrypt_ballot` derives them.
fn option_transcripts(k: usize) -> Vec<Transcript> {
    (0..k)
        .map(|i| {
            let mut t = transcript();
            t.append_u64(b"option", i as u64);
            t
        })
        .collect()
}

/// A 1-of-k question the plain way (what `encrypt_ballot` did before): all
/// encryptions, then the 0/1 proofs, then the exact-count proof.
fn plain(key: &ElectionPublicKey, votes: &[u64], rng: &mut ChaCha20Rng) -> Question {
    let (cts, nonces): (Vec<_>, Vec<_>) = votes
        .iter()
        .map(|m| Ciphertext::encrypt(key, *m, rng))
        .unzip();
    let mut ts = option_transcripts(votes.len());
    let proofs = ts
        .iter_mut()
        .zip(&cts)
        .zip(&nonces)
        .zip(votes)
        .map(|(((t, ct), r), m)| ZeroOneProof::prove(t, key, ct, *m, r, rng).unwrap())
        .collect();
    let sum = Ciphertext::sum(&cts);
    let r_sum = nonces.iter().fold(Scalar::ZERO, |a, r| a + *r);
    let count = ConstantProof::prove(&mut transcript(), key, &sum, 1, &r_sum, rng);
    Question { cts, proofs, count }
}

/// The prepared prover one option at a time.
fn prepared(key: &PreparedKey, votes: &[u64], rng: &mut ChaCha20Rng) -> Question {
    let (cts, nonces): (Vec<_>, Vec<_>) = votes
        .iter()
        .map(|m| key.encrypt_bit(*m, rng).unwrap())
        .unzip();
    let mut ts = option_transcripts(votes.len());
    let proofs = ts
        .iter_mut()
        .zip(&cts)
        .zip(&nonces)
        .zip(votes)
        .map(|(((t, ct), r), m)| ZeroOneProof::prove_prepared(t, key, ct, *m, r, rng).unwrap())
        .collect();
    let sum = Ciphertext::sum(&cts);
    let r_sum = nonces.iter().fold(Scalar::ZERO, |a, r| a + *r);
    let count = ConstantProof::prove_prepared(&mut transcript(), key, &sum, 1, &r_sum, rng);
    Question { cts, proofs, count }
}

/// The prepared prover a question at a time (what `encrypt_ballot` does).
fn batched(key: &PreparedKey, votes: &[u64], rng: &mut ChaCha20Rng) -> Question {
    let (cts, nonces): (Vec<_>, Vec<_>) = key.encrypt_bits(votes, rng).unwrap().into_iter().unzip();
    let mut ts = option_transcripts(votes.len());
    let statements = ts
        .iter_mut()
        .zip(&cts)
        .zip(votes)
        .zip(&nonces)
        .map(|(((t, ct), m), r)| (t, ct, *m, r));
    let proofs = ZeroOneProof::prove_many_prepared(key, statements, rng).unwrap();
    let sum = Ciphertext::sum(&cts);
    let r_sum = nonces.iter().fold(Scalar::ZERO, |a, r| a + *r);
    let count = ConstantProof::prove_prepared(&mut transcript(), key, &sum, 1, &r_sum, rng);
    Question { cts, proofs, count }
}

type Prover = fn(&PreparedKey, &[u64], &mut ChaCha20Rng) -> Question;

#[test]
fn prepared_prover_is_byte_identical_to_the_plain_one() {
    for case in 0..8usize {
        let key = key();
        let k = 2 + case;
        let votes: Vec<u64> = (0..k).map(|i| u64::from(i == case % k)).collect();
        let s = seed();
        let expected = plain(&key, &votes, &mut ChaCha20Rng::from_seed(s));
        let provers: [(PreparedKey, Prover, &str); 4] = [
            (PreparedKey::without_table(&key), prepared, "one by one"),
            (PreparedKey::with_table(&key), prepared, "one by one, table"),
            (PreparedKey::without_table(&key), batched, "batched"),
            (PreparedKey::with_table(&key), batched, "batched, table"),
        ];
        for (pk, prover, name) in provers {
            let got = prover(&pk, &votes, &mut ChaCha20Rng::from_seed(s));
            assert_eq!(got.cts, expected.cts, "case {case}, {name}");
            assert_eq!(got.proofs, expected.proofs, "case {case}, {name}");
            assert_eq!(got.count, expected.count, "case {case}, {name}");
            let mut ts = option_transcripts(k);
            for ((ct, p), t) in got.cts.iter().zip(&got.proofs).zip(ts.iter_mut()) {
                consistent(&ct.a);
                consistent(&ct.b);
                consistent_proof(p);
                p.verify(t, &key, ct).unwrap();
            }
            consistent(&got.count.0.t1);
            consistent(&got.count.0.t2);
            got.count
                .verify(&mut transcript(), &key, &Ciphertext::sum(&got.cts), 1)
                .unwrap();
        }
    }
}

/// A lone 0/1 proof (the yes/no shape) for both values, and the bit encryption against
/// `encrypt_with` for a given nonce.
#[test]
fn yes_no_and_fixed_nonces() {
    let key = key();
    for pk in [
        PreparedKey::without_table(&key),
        PreparedKey::with_table(&key),
    ] {
        for m in [0u64, 1] {
            let s = seed();
            let mut r1 = ChaCha20Rng::from_seed(s);
            let (ct, r) = Ciphertext::encrypt(&key, m, &mut r1);
            let p = ZeroOneProof::prove(&mut transcript(), &key, &ct, m, &r, &mut r1).unwrap();
            let mut r2 = ChaCha20Rng::from_seed(s);
            let (ct2, r2n) = pk.encrypt_bit(m, &mut r2).unwrap();
            let p2 = ZeroOneProof::prove_prepared(&mut transcript(), &pk, &ct2, m, &r2n, &mut r2)
                .unwrap();
            assert_eq!((ct, r, p), (ct2, r2n, p2));
            let n = Scalar::random(&mut OsRng);
            assert_eq!(
                pk.encrypt_bit_with(m == 1, &n),
                Ciphertext::encrypt_with(&key, m, &n)
            );
        }
    }
}

#[test]
fn only_bits() {
    let pk = PreparedKey::without_table(&key());
    assert!(pk.encrypt_bit(2, &mut OsRng).is_err());
    assert!(pk.encrypt_bits(&[0, 1, 2], &mut OsRng).is_err());
    let (ct, r) = pk.encrypt_bit(1, &mut OsRng).unwrap();
    assert!(ZeroOneProof::prove_prepared(&mut transcript(), &pk, &ct, 2, &r, &mut OsRng).is_err());
    // A lie (0 for an encryption of 1) does not verify.
    let lie = ZeroOneProof::prove_prepared(&mut transcript(), &pk, &ct, 0, &r, &mut OsRng).unwrap();
    assert!(lie.verify(&mut transcript(), pk.key(), &ct).is_err());
}

#[test]
fn the_table_is_built_only_where_it_pays() {
    let key = key();
    assert!(!PreparedKey::for_options(&key, 10).has_table());
    assert!(PreparedKey::for_options(&key, PreparedKey::TABLE_PAYS_FROM).has_table());
}
