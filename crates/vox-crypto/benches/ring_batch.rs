//! Batch verification of many ring signatures on 4,096-member rings, split over threads
//! (issue 12: 100,000 petition signatures in ≤ 60 s on 2 cores). A program, not a
//! criterion benchmark: one run of 100,000 signatures takes tens of seconds.
//!
//! ```text
//! cargo bench -p vox-crypto --bench ring_batch -- --signatures 100000 --threads 2 --batch 256
//! ```
//!
//! Proving is the slow part of the setup (≈ 0.3 s per signature), so `--distinct`
//! signatures (default 64) are proved and repeated to make up `--signatures`: repeats cost
//! the verifier exactly what distinct signatures cost (each item's four equations are
//! weighted and added separately, nothing is deduplicated). Every signature's bytes are
//! decoded again inside the timed region, as a verifier reading a record does.
//!
//! Reports wall time, process CPU time (user + system from `/proc/self/stat`) and the
//! per-signature cost, next to a floor measured in the same run: one batch of `--batch`
//! on one thread, scaled to the whole count and divided by the threads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::credential::Credential;
use vox_crypto::ring::{self, BatchItem, Ring, RingSignature, TagGenerator};
use vox_crypto::transcript::new_transcript;
use vox_crypto::Hash32;

const PETITION: Hash32 = Hash32([7; 32]);

fn ctx() -> merlin::Transcript {
    new_transcript(b"petition-ring-signature", &PETITION)
}

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat(5); here, indices 11 and 12.
    (ticks(11) + ticks(12)) / 100.0
}

fn verify_chunk(bytes: &[Vec<u8>], ring: &Ring, u: &TagGenerator) {
    let decoded: Vec<RingSignature> = bytes
        .iter()
        .map(|b| RingSignature::try_from_bytes(b).unwrap())
        .collect();
    let items: Vec<BatchItem<'_>> = decoded
        .iter()
        .map(|s| BatchItem {
            transcript: ctx(),
            signature: s,
            ring,
            tag_generator: u,
            message: b"sign",
        })
        .collect();
    ring::verify_batch(&items, &mut rand::rngs::OsRng).expect("an honest batch verifies");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!(
            "ring_batch: run with `cargo bench -p vox-crypto --bench ring_batch -- \
             [--signatures N] [--threads T] [--batch B] [--distinct D]`"
        );
        return;
    }
    let opt = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().expect("a number"))
    };
    let total = opt("--signatures", 100_000);
    let threads = opt("--threads", 2).max(1);
    let batch = opt("--batch", 256).max(1);
    let distinct = opt("--distinct", 64).clamp(1, 4096);

    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let creds: Vec<Credential> = (0..4096).map(|_| Credential::generate(&mut rng)).collect();
    let keys: Vec<_> = creds.iter().map(Credential::public_key).collect();
    let ring = Ring::new(b"bench-ring", &keys).unwrap();
    let u = TagGenerator::derive(&PETITION.0).unwrap();
    eprintln!("proving {distinct} distinct signatures on a 4,096-member ring …");
    let started = Instant::now();
    let step = 4096 / distinct;
    let proofs: Vec<Vec<u8>> = (0..distinct)
        .map(|i| {
            ring::sign(
                &mut ctx(),
                &creds[i * step],
                &ring,
                i * step,
                &u,
                b"sign",
                &mut rng,
            )
            .unwrap()
            .to_bytes()
        })
        .collect();
    let prove = started.elapsed().as_secs_f64() / distinct as f64;
    let all: Vec<Vec<u8>> = proofs.iter().cycle().take(total).cloned().collect();

    // The floor: one batch on one thread, in this run.
    let floor_batch = &all[..batch.min(total)];
    verify_chunk(floor_batch, &ring, &u); // warm-up
    let t = Instant::now();
    let reps = 3;
    for _ in 0..reps {
        verify_chunk(floor_batch, &ring, &u);
    }
    let per_sig_floor = t.elapsed().as_secs_f64() / (reps * floor_batch.len()) as f64;
    let floor_wall = per_sig_floor * total as f64 / threads as f64;

    eprintln!("verifying {total} signatures in batches of {batch} on {threads} threads …");
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let chunks: Vec<&[Vec<u8>]> = all.chunks(batch).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else { break };
                verify_chunk(chunk, &ring, &u);
            });
        }
    });
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("ring size                 4,096 (n = 4, m = 6)");
    println!(
        "signature size            {} bytes",
        proofs.first().map_or(0, Vec::len)
    );
    println!("prove (mean of {distinct})        {:.0} ms", prove * 1e3);
    println!("signatures                {total} in batches of {batch}, {threads} threads");
    println!(
        "wall                      {wall:.2} s ({:.3} ms/signature)",
        wall * 1e3 / total as f64
    );
    println!(
        "CPU (user + system)       {cpu:.2} s ({:.3} ms/signature)",
        cpu * 1e3 / total as f64
    );
    println!(
        "floor (1 batch, 1 thread) {:.3} ms/signature → {floor_wall:.2} s on {threads} threads; wall / floor {:.2}",
        per_sig_floor * 1e3,
        wall / floor_wall
    );
    println!("load average at the end   {}", load.trim());
}
