//! Tally and threshold decryption of VOTERS choose-one-of-OPTIONS ballots (issue 15 §5).
//!
//! ```text
//! cargo run --release -p vox-verifier --example tally_bench -- [VOTERS] [OPTIONS]
//! ```
//!
//! Defaults: 1,000,000 voters, 10 options. Timed, on all cores:
//!
//! 1. the homomorphic sum: VOTERS × OPTIONS ciphertexts added slot by slot
//!    (2 point additions each: 2 × 10⁷ for the defaults), on decompressed points held
//!    in memory, as the verifier and the server add them;
//! 2. two of three trustees' decryption shares, each with one DLEQ proof per option;
//! 3. verifying both shares (batched) and combining them by Lagrange;
//! 4. the discrete logarithms of the totals (baby-step giant-step, bound VOTERS + 1,
//!    the table built in the timed part).
//!
//! The ciphertexts are real ElGamal encryptions under the joint key of a real 2-of-3 key
//! ceremony, one per option per voter (1 for the voter's choice, 0 elsewhere), all
//! distinct; to make 10⁷ of them in reasonable time their randomness steps by a fixed
//! random δ per slot (r, r + δ, r + 2δ, …), so each costs point additions instead of
//! two scalar multiplications. That changes nothing for the sum, which only adds points.
//! They are made (untimed) and summed (timed) in blocks of 50,000 voters to bound memory.
//! The totals must decrypt to the counts the generator chose. A benchmark, not a test:
//! it asserts only that the result is right.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use vox_crypto::dlog::DlogTable;
use vox_crypto::elgamal::Ciphertext;
use vox_crypto::threshold::{
    receive_share, CeremonyParams, Dealer, DecryptionShare, JointPublicKeys, KeyShare,
    ShareVerdict, TrusteeIndex, TrusteeKeys,
};
use vox_crypto::{Hash32, Point, Scalar};

const MANIFEST: Hash32 = Hash32([0x42; 32]);
/// Voters per generated block.
const BLOCK: usize = 50_000;

/// The option voter `v` chooses.
fn choice(v: usize, options: usize) -> usize {
    (v * 7 + v / 3) % options
}

/// CPU time (user + system) of this process so far, from /proc/self/stat (Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// A 2-of-3 ceremony: the joint keys and the three trustees' key shares.
fn ceremony(r: &mut ChaCha20Rng) -> (JointPublicKeys, Vec<KeyShare>) {
    let params = CeremonyParams::new(3, 2).unwrap();
    let keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(r)).collect();
    let idx = |i: u32| TrusteeIndex::new(i).unwrap();
    let announced: Vec<_> = (1..=3)
        .map(|i| keys[(i - 1) as usize].announce(idx(i), &MANIFEST, r))
        .collect();
    let dealers: Vec<Dealer> = (1..=3)
        .map(|i| Dealer::new(&params, idx(i), &MANIFEST, r).unwrap())
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
                let enc = d.encrypt_share(&announced[(l - 1) as usize], r).unwrap();
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
    (joint, key_shares)
}

/// The ciphertexts of voters `first..first + n`, voter-major (`OPTIONS` per voter), as
/// decompressed (a, b) pairs. Slot `o`'s randomness for voter `v` is `r_o + v·δ_o`.
fn block(
    first: usize,
    n: usize,
    options: usize,
    k: &RistrettoPoint,
    steps: &[(RistrettoPoint, RistrettoPoint, Scalar, Scalar)],
) -> Vec<(RistrettoPoint, RistrettoPoint)> {
    let g = curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
    // Split into one run per core; each run starts from scalar multiplications and then
    // steps by additions.
    let runs = rayon::current_num_threads().max(1);
    let per = n.div_ceil(runs);
    (0..runs)
        .into_par_iter()
        .flat_map_iter(|run| {
            let start = first + run * per;
            let end = (first + n).min(start + per);
            let mut cur: Vec<(RistrettoPoint, RistrettoPoint)> = steps
                .iter()
                .map(|(_, _, r0, d)| {
                    let r = *r0 + *d * Scalar::from_u64(start as u64);
                    let a = r.mul_base();
                    let b = r.mul_point(&Point::from_point(*k));
                    (*a.as_point(), *b.as_point())
                })
                .collect();
            let mut out = Vec::with_capacity(end.saturating_sub(start) * options);
            for v in start..end {
                let c = choice(v, options);
                for (o, ((a, b), (da, db, _, _))) in cur.iter_mut().zip(steps).enumerate() {
                    out.push((*a, if o == c { *b + g } else { *b }));
                    *a += da;
                    *b += db;
                }
            }
            out
        })
        .collect()
}

/// Add a block's ciphertexts into `OPTIONS` slots, on all cores.
fn sum(
    cts: &[(RistrettoPoint, RistrettoPoint)],
    options: usize,
) -> Vec<(RistrettoPoint, RistrettoPoint)> {
    let zero = || vec![(RistrettoPoint::identity(), RistrettoPoint::identity()); options];
    cts.par_chunks(options * 1024)
        .fold(zero, |mut acc, chunk| {
            for voter in chunk.chunks_exact(options) {
                for ((sa, sb), (a, b)) in acc.iter_mut().zip(voter) {
                    *sa += a;
                    *sb += b;
                }
            }
            acc
        })
        .reduce(zero, |mut x, y| {
            for ((xa, xb), (ya, yb)) in x.iter_mut().zip(&y) {
                *xa += ya;
                *xb += yb;
            }
            x
        })
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let voters = args.first().copied().unwrap_or(1_000_000);
    let options = args.get(1).copied().unwrap_or(10).max(1);
    let cores = rayon::current_num_threads();
    let mut r = ChaCha20Rng::seed_from_u64(2026);
    let (joint, key_shares) = ceremony(&mut r);
    let k = *joint.election_key().point().as_point();
    let steps: Vec<(RistrettoPoint, RistrettoPoint, Scalar, Scalar)> = (0..options)
        .map(|_| {
            let (r0, d) = (Scalar::random(&mut r), Scalar::random(&mut r));
            let da = *d.mul_base().as_point();
            (da, d.as_dalek() * k, r0, d)
        })
        .collect();
    println!(
        "{voters} voters × {options} options = {} ciphertexts, {cores} threads",
        voters * options
    );

    // 1. The homomorphic sum, block by block (generation untimed).
    let mut totals = vec![(RistrettoPoint::identity(), RistrettoPoint::identity()); options];
    let (mut sum_wall, mut sum_cpu, mut gen_wall) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut first = 0;
    while first < voters {
        let n = BLOCK.min(voters - first);
        let t = Instant::now();
        let cts = block(first, n, options, &k, &steps);
        gen_wall += t.elapsed();
        let c = cpu_time();
        let t = Instant::now();
        let s = sum(&cts, options);
        sum_wall += t.elapsed();
        sum_cpu += cpu_time() - c;
        for ((ta, tb), (a, b)) in totals.iter_mut().zip(&s) {
            *ta += a;
            *tb += b;
        }
        first += n;
    }
    let tally: Vec<Ciphertext> = totals
        .iter()
        .map(|(a, b)| Ciphertext {
            a: Point::from_point(*a),
            b: Point::from_point(*b),
        })
        .collect();

    // 2. Two trustees' shares (in parallel: two trustees work on their own machines).
    let c = cpu_time();
    let t = Instant::now();
    let shares: Vec<DecryptionShare> = [0usize, 2]
        .par_iter()
        .map(|&l| {
            let mut r = ChaCha20Rng::seed_from_u64(l as u64);
            DecryptionShare::create(&key_shares[l], &MANIFEST, &tally, &mut r)
        })
        .collect();
    let (share_wall, share_cpu) = (t.elapsed(), cpu_time() - c);

    // 3. Verify both shares and combine.
    let c = cpu_time();
    let t = Instant::now();
    let points = joint
        .verify_and_combine(&MANIFEST, &tally, &shares, &mut r)
        .unwrap();
    let (combine_wall, combine_cpu) = (t.elapsed(), cpu_time() - c);

    // 4. Discrete logarithms.
    let c = cpu_time();
    let t = Instant::now();
    let table = DlogTable::new(voters as u64 + 1).unwrap();
    let counts: Vec<u64> = points.par_iter().map(|p| table.solve(p).unwrap()).collect();
    let (dlog_wall, dlog_cpu) = (t.elapsed(), cpu_time() - c);

    let mut expected = vec![0u64; options];
    for v in 0..voters {
        expected[choice(v, options)] += 1;
    }
    assert_eq!(counts, expected);
    println!("counts {counts:?} (as chosen)");
    println!(
        "(generating the ciphertexts, untimed: {:.2} s wall)",
        gen_wall.as_secs_f64()
    );
    let row = |what: &str, w: Duration, c: Duration| {
        println!(
            "{what:<44} {:>8.3} s wall  {:>8.3} s CPU",
            w.as_secs_f64(),
            c.as_secs_f64()
        )
    };
    row(
        &format!("sum of {} ciphertexts", voters * options),
        sum_wall,
        sum_cpu,
    );
    row(
        "2 decryption shares with DLEQ proofs",
        share_wall,
        share_cpu,
    );
    row(
        "verify 2 shares (batched) + combine",
        combine_wall,
        combine_cpu,
    );
    row("discrete logs (table + solve)", dlog_wall, dlog_cpu);
    row(
        "total: tally + threshold decryption",
        sum_wall + share_wall + combine_wall + dlog_wall,
        sum_cpu + share_cpu + combine_cpu + dlog_cpu,
    );
}
