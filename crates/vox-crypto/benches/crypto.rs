//! vox-crypto benchmarks: group operations, ballot proofs, batch verification, tally.
//!
//! Run: `cargo bench -p vox-crypto --bench crypto` (add `-- --quick` for a fast pass).
//! Sample sizes are small on purpose so the whole suite finishes in minutes on 2 cores;
//! the figures go into BENCHMARKS.md with the command that produced them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::batch::BatchVerifier;
use vox_crypto::dlog::DlogTable;
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey, PreparedKey, SecretScalar};
use vox_crypto::proofs::link::pedersen_commit;
use vox_crypto::proofs::{ConstantProof, LinkProof, RangeProof, RangeStatement, ZeroOneProof};
use vox_crypto::transcript::new_transcript;
use vox_crypto::{Hash32, Point, Scalar, Transcript};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A fixed manifest hash (hashing it per ballot would add a SHA-256 to every item).
const MANIFEST: Hash32 = Hash32([0x42; 32]);

fn transcript() -> Transcript {
    new_transcript(b"ballot", &MANIFEST)
}

fn key(r: &mut ChaCha20Rng) -> ElectionPublicKey {
    ElectionPublicKey::new(SecretScalar::random(r).public()).unwrap()
}

/// A 128-bit scalar (the batch weights' size).
fn scalar128(r: &mut ChaCha20Rng) -> curve25519_dalek::Scalar {
    use rand::RngCore;
    let mut b = [0u8; 32];
    r.fill_bytes(&mut b[..16]);
    curve25519_dalek::Scalar::from_bytes_mod_order(b)
}

// ---------------------------------------------------------------------------
// Ballot shapes
// ---------------------------------------------------------------------------

/// One yes/no selection: a ciphertext and its 0/1 proof, as wire bytes would carry it.
#[derive(Clone)]
struct YesNo {
    ct: Ciphertext,
    proof: ZeroOneProof,
}

fn prove_yes_no(key: &ElectionPublicKey, m: u64, r: &mut ChaCha20Rng) -> YesNo {
    let (ct, nonce) = Ciphertext::encrypt(key, m, r);
    let proof = ZeroOneProof::prove(&mut transcript(), key, &ct, m, &nonce, r).unwrap();
    YesNo { ct, proof }
}

/// The wire form of a yes/no selection: 6 points and 4 scalars.
fn yes_no_bytes(y: &YesNo) -> [[u8; 32]; 10] {
    let p = &y.proof;
    [
        y.ct.a.to_bytes(),
        y.ct.b.to_bytes(),
        p.t0a.to_bytes(),
        p.t0b.to_bytes(),
        p.t1a.to_bytes(),
        p.t1b.to_bytes(),
        p.c0.to_bytes(),
        p.c1.to_bytes(),
        p.z0.to_bytes(),
        p.z1.to_bytes(),
    ]
}

fn decode_yes_no(b: &[[u8; 32]; 10]) -> YesNo {
    let pt = |i: usize| Point::try_from_bytes(&b[i]).unwrap();
    let sc = |i: usize| Scalar::try_from_bytes(&b[i]).unwrap();
    YesNo {
        ct: Ciphertext { a: pt(0), b: pt(1) },
        proof: ZeroOneProof {
            t0a: pt(2),
            t0b: pt(3),
            t1a: pt(4),
            t1b: pt(5),
            c0: sc(6),
            c1: sc(7),
            z0: sc(8),
            z1: sc(9),
        },
    }
}

/// A 1-of-k question: k 0/1 proofs and one constant proof that the sum encrypts 1.
#[derive(Clone)]
struct OneOfK {
    selections: Vec<YesNo>,
    count: ConstantProof,
}

fn prove_one_of_k(key: &ElectionPublicKey, k: usize, choice: usize, r: &mut ChaCha20Rng) -> OneOfK {
    let mut t = transcript();
    let mut selections = Vec::with_capacity(k);
    let mut r_sum = Scalar::ZERO;
    for i in 0..k {
        let m = u64::from(i == choice);
        let (ct, nonce) = Ciphertext::encrypt(key, m, r);
        let proof = ZeroOneProof::prove(&mut t, key, &ct, m, &nonce, r).unwrap();
        r_sum = r_sum + nonce;
        selections.push(YesNo { ct, proof });
    }
    let sum = Ciphertext::sum(selections.iter().map(|s| &s.ct));
    let count = ConstantProof::prove(&mut t, key, &sum, 1, &r_sum, r);
    OneOfK { selections, count }
}

/// A 1-of-k question through the prepared prover, as `encrypt_ballot` drives it: the
/// encryptions in one batch, one transcript per option, the 0/1 proofs in one batch.
/// (Not the same transcripts as [`prove_one_of_k`], so not the same proofs; the same
/// work plus k transcript clones.)
fn prove_one_of_k_prepared(
    key: &PreparedKey,
    k: usize,
    choice: usize,
    r: &mut ChaCha20Rng,
) -> OneOfK {
    let base = transcript();
    let votes: Vec<u64> = (0..k).map(|i| u64::from(i == choice)).collect();
    let (cts, nonces): (Vec<_>, Vec<_>) = key.encrypt_bits(&votes, r).unwrap().into_iter().unzip();
    let mut ts: Vec<Transcript> = (0..k)
        .map(|i| {
            let mut t = base.clone();
            t.append_u64(b"option", i as u64);
            t
        })
        .collect();
    let statements = ts
        .iter_mut()
        .zip(&cts)
        .zip(&votes)
        .zip(&nonces)
        .map(|(((t, ct), m), n)| (t, ct, *m, n));
    let proofs = ZeroOneProof::prove_many_prepared(key, statements, r).unwrap();
    let r_sum = nonces.iter().fold(Scalar::ZERO, |a, n| a + *n);
    let sum = Ciphertext::sum(&cts);
    let count = ConstantProof::prove_prepared(&mut transcript(), key, &sum, 1, &r_sum, r);
    OneOfK {
        selections: cts
            .into_iter()
            .zip(proofs)
            .map(|(ct, proof)| YesNo { ct, proof })
            .collect(),
        count,
    }
}

fn check_one_of_k(
    key: &ElectionPublicKey,
    b: &OneOfK,
    eq: &mut impl vox_crypto::batch::Equations,
) -> vox_crypto::error::Result<()> {
    let mut t = transcript();
    for s in &b.selections {
        s.proof.check(&mut t, key, &s.ct, eq)?;
    }
    let sum = Ciphertext::sum(b.selections.iter().map(|s| &s.ct));
    b.count.check(&mut t, key, &sum, 1, eq)
}

/// A score ballot: each of k options scored 0..=max, a link proof per option and one
/// aggregated range proof.
#[derive(Clone)]
struct Score {
    cts: Vec<Ciphertext>,
    commitments: Vec<Point>,
    links: Vec<LinkProof>,
    range: RangeProof,
}

fn prove_score(key: &ElectionPublicKey, scores: &[u64], max: u64, r: &mut ChaCha20Rng) -> Score {
    let mut t = transcript();
    let (mut cts, mut commitments, mut links, mut openings) = (vec![], vec![], vec![], vec![]);
    for &m in scores {
        let (ct, nonce) = Ciphertext::encrypt(key, m, r);
        let s = Scalar::random(r);
        let c = pedersen_commit(&Scalar::from_u64(m), &s);
        links.push(LinkProof::prove(&mut t, key, &ct, &c, m, &nonce, &s, r));
        cts.push(ct);
        commitments.push(c);
        openings.push((m, s));
    }
    let st = statements(&commitments, max);
    let range = RangeProof::prove(&mut t, &st, &openings, r).unwrap();
    Score {
        cts,
        commitments,
        links,
        range,
    }
}

fn statements(commitments: &[Point], max: u64) -> Vec<RangeStatement> {
    commitments
        .iter()
        .map(|&commitment| RangeStatement {
            commitment,
            lo: 0,
            hi: max,
        })
        .collect()
}

fn verify_score(key: &ElectionPublicKey, b: &Score, max: u64, r: &mut ChaCha20Rng) {
    let mut t = transcript();
    for ((ct, c), l) in b.cts.iter().zip(&b.commitments).zip(&b.links) {
        l.verify(&mut t, key, ct, c).unwrap();
    }
    b.range
        .verify(&mut t, &statements(&b.commitments, max), r)
        .unwrap();
}

// ---------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------

fn group_ops(c: &mut Criterion) {
    let mut r = rng(1);
    let mut g = c.benchmark_group("group");
    let s = Scalar::random(&mut r);
    let p = Scalar::random(&mut r).mul_base();
    let bytes = p.to_bytes();
    g.bench_function("point_decompress", |b| {
        b.iter(|| Point::try_from_bytes(black_box(&bytes)).unwrap())
    });
    g.bench_function("fixed_base_mul", |b| b.iter(|| black_box(s).mul_base()));
    g.bench_function("variable_base_mul", |b| {
        b.iter(|| black_box(s).mul_point(black_box(&p)))
    });
    g.bench_function("compress", |b| {
        b.iter(|| black_box(p.as_point()).compress())
    });
    g.bench_function("table_create", |b| {
        b.iter(|| {
            curve25519_dalek::ristretto::RistrettoBasepointTable::create(black_box(p.as_point()))
        })
    });
    let table = curve25519_dalek::ristretto::RistrettoBasepointTable::create(p.as_point());
    g.bench_function("table_mul", |b| b.iter(|| &table * black_box(s.as_dalek())));
    for n in [64usize, 1024] {
        let scalars: Vec<_> = (0..n).map(|_| scalar128(&mut r)).collect();
        let points: Vec<RistrettoPoint> = (0..n)
            .map(|_| *Scalar::random(&mut r).mul_base().as_point())
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("vartime_msm_128bit/{n}"), |b| {
            b.iter(|| RistrettoPoint::vartime_multiscalar_mul(black_box(&scalars), &points))
        });
    }
    g.finish();
}

fn yes_no(c: &mut Criterion) {
    let mut r = rng(2);
    let key = key(&mut r);
    let mut g = c.benchmark_group("yes_no");
    g.bench_function("encrypt_and_prove", |b| {
        b.iter(|| prove_yes_no(&key, 1, &mut r))
    });
    for (name, table) in [
        ("encrypt_and_prove_prepared", false),
        ("encrypt_and_prove_prepared_table", true),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let pk = if table {
                    PreparedKey::with_table(&key)
                } else {
                    PreparedKey::without_table(&key)
                };
                let (ct, nonce) = pk.encrypt_bit(1, &mut r).unwrap();
                let proof =
                    ZeroOneProof::prove_prepared(&mut transcript(), &pk, &ct, 1, &nonce, &mut r)
                        .unwrap();
                YesNo { ct, proof }
            })
        });
    }
    let one = prove_yes_no(&key, 1, &mut rng(3));
    g.bench_function("verify_one", |b| {
        b.iter(|| one.proof.verify(&mut transcript(), &key, &one.ct).unwrap())
    });
    let wire = yes_no_bytes(&one);
    g.bench_function("decode_and_verify_one", |b| {
        b.iter(|| {
            let y = decode_yes_no(black_box(&wire));
            y.proof.verify(&mut transcript(), &key, &y.ct).unwrap()
        })
    });

    const N: usize = 10_000;
    let mut r2 = rng(4);
    let ballots: Vec<YesNo> = (0..N)
        .map(|i| prove_yes_no(&key, (i % 2) as u64, &mut r2))
        .collect();
    let wires: Vec<_> = ballots.iter().map(yes_no_bytes).collect();
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("batch_verify_10000_decoded", |b| {
        b.iter(|| {
            let mut batch = BatchVerifier::with_capacity(rng(5), 7 * N);
            for y in &ballots {
                y.proof
                    .check(&mut transcript(), &key, &y.ct, &mut batch)
                    .unwrap();
            }
            batch.finish().unwrap()
        })
    });
    g.bench_function("batch_verify_10000_from_bytes", |b| {
        b.iter(|| {
            let mut batch = BatchVerifier::with_capacity(rng(5), 7 * N);
            for w in &wires {
                let y = decode_yes_no(w);
                y.proof
                    .check(&mut transcript(), &key, &y.ct, &mut batch)
                    .unwrap();
            }
            batch.finish().unwrap()
        })
    });
    g.finish();
}

fn one_of_ten(c: &mut Criterion) {
    let mut r = rng(6);
    let key = key(&mut r);
    let mut g = c.benchmark_group("one_of_10");
    g.bench_function("encrypt_and_prove", |b| {
        b.iter(|| prove_one_of_k(&key, 10, 3, &mut r))
    });
    // The prepared prover (the path `encrypt_ballot` takes), the key prepared per ballot:
    // without the table for K, and with it (its construction included).
    g.bench_function("encrypt_and_prove_prepared", |b| {
        b.iter(|| prove_one_of_k_prepared(&PreparedKey::without_table(&key), 10, 3, &mut r))
    });
    g.bench_function("encrypt_and_prove_prepared_table", |b| {
        b.iter(|| prove_one_of_k_prepared(&PreparedKey::with_table(&key), 10, 3, &mut r))
    });
    let ballot = prove_one_of_k(&key, 10, 3, &mut rng(7));
    g.bench_function("verify_one", |b| {
        b.iter(|| check_one_of_k(&key, &ballot, &mut vox_crypto::batch::SingleVerifier).unwrap())
    });
    let mut r2 = rng(8);
    let ballots: Vec<OneOfK> = (0..100)
        .map(|i| prove_one_of_k(&key, 10, i % 10, &mut r2))
        .collect();
    g.throughput(Throughput::Elements(100));
    g.bench_function("batch_verify_100", |b| {
        b.iter(|| {
            let mut batch = BatchVerifier::with_capacity(rng(9), 100 * 75);
            for ballot in &ballots {
                check_one_of_k(&key, ballot, &mut batch).unwrap();
            }
            batch.finish().unwrap()
        })
    });
    g.finish();
}

/// Where the table for K starts to pay: 1-of-k prepared provers without and with it.
fn table_break_even(c: &mut Criterion) {
    let mut r = rng(13);
    let key = key(&mut r);
    let mut g = c.benchmark_group("one_of_k_prepared");
    for k in [16usize, 32, 64] {
        g.bench_function(format!("{k}/without_table"), |b| {
            b.iter(|| prove_one_of_k_prepared(&PreparedKey::without_table(&key), k, 3, &mut r))
        });
        g.bench_function(format!("{k}/with_table"), |b| {
            b.iter(|| prove_one_of_k_prepared(&PreparedKey::with_table(&key), k, 3, &mut r))
        });
    }
    g.finish();
}

fn score(c: &mut Criterion) {
    let mut r = rng(10);
    let key = key(&mut r);
    let scores = [0u64, 1, 2, 3, 4, 5, 6, 7, 8, 10];
    let mut g = c.benchmark_group("score_10_options_0_to_10");
    g.bench_function("encrypt_and_prove", |b| {
        b.iter(|| prove_score(&key, &scores, 10, &mut r))
    });
    let ballot = prove_score(&key, &scores, 10, &mut rng(11));
    let mut r2 = rng(12);
    g.bench_function("verify", |b| {
        b.iter(|| verify_score(&key, &ballot, 10, &mut r2))
    });
    g.finish();
}

fn dlog(c: &mut Criterion) {
    let mut g = c.benchmark_group("dlog");
    for (name, bound) in [("1e6", 1_000_000u64), ("1e9", 1_000_000_000u64)] {
        g.bench_function(format!("table_new/{name}"), |b| {
            b.iter(|| DlogTable::new(black_box(bound)).unwrap())
        });
        let table = DlogTable::new(bound).unwrap();
        // Worst case: the largest value needs every giant step.
        let target = Scalar::from_u64(bound - 1).mul_base();
        g.bench_function(format!("solve_worst/{name}"), |b| {
            b.iter(|| table.solve(black_box(&target)).unwrap())
        });
        let mid = Scalar::from_u64(bound / 2).mul_base();
        g.bench_function(format!("new_and_solve_mid/{name}"), |b| {
            b.iter_batched(
                || mid,
                |t| DlogTable::new(bound).unwrap().solve(&t).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// Threshold decryption of a 100-option tally: 2 of 3 trustees post shares with DLEQ
/// proofs; the combiner verifies both shares (batched) and combines them by Lagrange.
fn decryption(c: &mut Criterion) {
    use vox_crypto::threshold::{
        receive_share, CeremonyParams, Dealer, DecryptionShare, JointPublicKeys, KeyShare,
        ShareVerdict, TrusteeIndex, TrusteeKeys,
    };
    let mut r = rng(11);
    let params = CeremonyParams::new(3, 2).unwrap();
    let keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut r)).collect();
    let idx = |i: u32| TrusteeIndex::new(i).unwrap();
    let announced: Vec<_> = (1..=3)
        .map(|i| keys[(i - 1) as usize].announce(idx(i), &MANIFEST, &mut r))
        .collect();
    let dealers: Vec<Dealer> = (1..=3)
        .map(|i| Dealer::new(&params, idx(i), &MANIFEST, &mut r).unwrap())
        .collect();
    let posted: Vec<_> = dealers.iter().map(Dealer::commitment).collect();
    let revealed: Vec<_> = dealers
        .into_iter()
        .map(|d| d.reveal(&posted).unwrap())
        .collect();
    let reveals: Vec<_> = revealed.iter().map(|d| d.commitments().clone()).collect();
    let joint = JointPublicKeys::from_commitments(&params, &MANIFEST, &reveals).unwrap();
    let mut key_shares = Vec::new();
    for l in 1..=3u32 {
        let mut got = Vec::new();
        for d in &revealed {
            if d.dealer() == idx(l) {
                got.push((idx(l), d.own_share()));
            } else {
                let enc = d
                    .encrypt_share(&announced[(l - 1) as usize], &mut r)
                    .unwrap();
                match receive_share(
                    &MANIFEST,
                    idx(l),
                    &keys[(l - 1) as usize],
                    d.commitments(),
                    &enc,
                )
                .unwrap()
                {
                    ShareVerdict::Accepted(s) => got.push((d.dealer(), s)),
                    ShareVerdict::Complaint(_) => panic!("honest share refused"),
                }
            }
        }
        key_shares.push(KeyShare::combine(&params, idx(l), &got).unwrap());
    }
    let tally: Vec<Ciphertext> = (0..100)
        .map(|i| Ciphertext::encrypt(joint.election_key(), i, &mut r).0)
        .collect();
    let shares: Vec<DecryptionShare> = [0usize, 2]
        .iter()
        .map(|&t| DecryptionShare::create(&key_shares[t], &MANIFEST, &tally, &mut r))
        .collect();
    let mut g = c.benchmark_group("decryption_100_options");
    g.bench_function("trustee_share_with_proofs", |b| {
        b.iter(|| DecryptionShare::create(&key_shares[0], &MANIFEST, black_box(&tally), &mut r))
    });
    g.bench_function("verify_2_shares_and_combine", |b| {
        b.iter(|| {
            joint
                .verify_and_combine(&MANIFEST, black_box(&tally), &shares, &mut r)
                .unwrap()
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .without_plots()
}

/// Linkable ring signatures on a full ring of 4,096 credentials (issue 12 §1): prove,
/// verify one, and batches of 64 and 256 signatures on the same ring (one multiscalar
/// multiplication per batch, the ring's points merged).
fn ring_signatures(c: &mut Criterion) {
    use vox_crypto::credential::Credential;
    use vox_crypto::ring::{self, BatchItem, Ring, TagGenerator};
    let mut r = rng(13);
    let creds: Vec<Credential> = (0..4096).map(|_| Credential::generate(&mut r)).collect();
    let keys: Vec<_> = creds.iter().map(Credential::public_key).collect();
    let ring = Ring::new(b"bench-ring", &keys).unwrap();
    let u = TagGenerator::derive(&MANIFEST.0).unwrap();
    let ctx = || new_transcript(b"petition-signature", &MANIFEST);
    let sign = |i: usize, r: &mut ChaCha20Rng| {
        ring::sign(&mut ctx(), &creds[i], &ring, i, &u, b"sign", r).unwrap()
    };
    // 64 distinct signatures (proving is the slow part of the setup); the batch of 256
    // repeats each four times, which costs the verifier the same as 256 distinct ones
    // (every item's equations are added separately, nothing is deduplicated).
    let sigs: Vec<_> = (0..64).map(|i| sign(i * 64, &mut r)).collect();
    eprintln!(
        "ring signature on a 4,096-member ring: {} bytes (tag 32 + proof {})",
        sigs[0].to_bytes().len(),
        sigs[0].to_bytes().len() - 32
    );
    let mut g = c.benchmark_group("ring_4096");
    g.sample_size(10);
    g.bench_function("ring_new", |b| {
        b.iter(|| Ring::new(b"bench-ring", black_box(&keys)).unwrap())
    });
    g.bench_function("prove", |b| b.iter(|| sign(black_box(1234), &mut r)));
    g.bench_function("verify_one", |b| {
        b.iter(|| ring::verify(&mut ctx(), black_box(&sigs[0]), &ring, &u, b"sign").unwrap())
    });
    let bytes: Vec<Vec<u8>> = sigs
        .iter()
        .cycle()
        .take(256)
        .map(|s| s.to_bytes())
        .collect();
    for n in [64usize, 256] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("verify_batch_{n}_from_bytes"), |b| {
            b.iter(|| {
                let decoded: Vec<_> = bytes[..n]
                    .iter()
                    .map(|b| ring::RingSignature::try_from_bytes(b).unwrap())
                    .collect();
                let items: Vec<_> = decoded
                    .iter()
                    .map(|s| BatchItem {
                        transcript: ctx(),
                        signature: s,
                        ring: &ring,
                        tag_generator: &u,
                        message: b"sign",
                    })
                    .collect();
                ring::verify_batch(&items, &mut rand::rngs::OsRng).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = group_ops, yes_no, one_of_ten, table_break_even, score, dlog, decryption, ring_signatures
}
criterion_main!(benches);
