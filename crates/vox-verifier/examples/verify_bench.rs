//! Verifier throughput on a large synthetic record, next to the raw floor.
//!
//! ```text
//! cargo run --release -p vox-verifier --example verify_bench -- [VOTERS] [--only yes-no|ten] [--dir DIR] [--regen] [--no-floor]
//! ```
//!
//! Generates once (and reuses) a record of VOTERS (default 100,000) yes/no ballots and
//! VOTERS choose-one-of-10 ballots (or only one kind) under
//! `$CARGO_TARGET_DIR/vox-bench/record-v2-VOTERS[-KIND]` (default `target/`), verifies it end to end with `verify_record` (both passes, JSON
//! decoding, Merkle roots, every check) and reports ballots per second. In the same run it
//! measures the raw floor for the same ballots on the same cores: decompressing every
//! point the ballots carry plus one batched vartime multiscalar multiplication per chunk
//! of 256 ballots over exactly the equations the verifier batches. A benchmark, not a
//! timed test: it asserts only that the record passes. `--no-floor` stops after the
//! verification (for profiling the verifier alone).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand::RngCore;
use rayon::prelude::*;
use vox_crypto::batch::{Base, Equations};
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::generators::pedersen_h;
use vox_crypto::{Point, Scalar};
use vox_protocol::ballot::{Ballot, BallotContext, SumProof};
use vox_protocol::board::{BoardEntry, Payload};
use vox_protocol::manifest::Manifest;
use vox_verifier::dir::DirSource;
use vox_verifier::synth::{write_bench_record, BenchKind};
use vox_verifier::{verify_record, NoProgress, Options, StepId, Verdict};

/// Collects the batch's terms exactly as `BatchVerifier` folds them (random 128-bit
/// weights, G, H and shared bases merged), so the floor can time the MSM alone.
struct Collect {
    g: curve25519_dalek::Scalar,
    h: curve25519_dalek::Scalar,
    shared: Vec<(Point, curve25519_dalek::Scalar)>,
    scalars: Vec<curve25519_dalek::Scalar>,
    points: Vec<RistrettoPoint>,
}

impl Collect {
    fn new() -> Self {
        Self {
            g: curve25519_dalek::Scalar::ZERO,
            h: curve25519_dalek::Scalar::ZERO,
            shared: Vec::new(),
            scalars: Vec::new(),
            points: Vec::new(),
        }
    }

    fn msm(&self) -> RistrettoPoint {
        let g = curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
        let h = *pedersen_h().as_point();
        RistrettoPoint::vartime_multiscalar_mul(
            [self.g, self.h]
                .into_iter()
                .chain(self.shared.iter().map(|(_, s)| *s))
                .chain(self.scalars.iter().copied()),
            [g, h]
                .into_iter()
                .chain(self.shared.iter().map(|(p, _)| *p.as_point()))
                .chain(self.points.iter().copied()),
        )
    }
}

impl Equations for Collect {
    fn require_zero(
        &mut self,
        terms: &[(Scalar, Base<'_>)],
        _: &'static str,
        _: &'static str,
    ) -> vox_crypto::error::Result<()> {
        let mut w = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut w[..16]);
        let w = curve25519_dalek::Scalar::from_bytes_mod_order(w);
        for (s, b) in terms {
            let ws = w * s.as_dalek();
            match b {
                Base::G => self.g += ws,
                Base::H => self.h += ws,
                Base::Shared(p) => match self.shared.iter_mut().find(|(q, _)| q == *p) {
                    Some(e) => e.1 += ws,
                    None => self.shared.push((**p, ws)),
                },
                Base::Var(p) => {
                    self.scalars.push(ws);
                    self.points.push(*p.as_point());
                }
            }
        }
        Ok(())
    }
}

/// Every point encoding a ballot carries (all are decompressed when it is read).
fn ballot_points(b: &Ballot) -> Vec<[u8; 32]> {
    let mut v: Vec<[u8; 32]> = b.credential.iter().map(|c| c.to_bytes()).collect();
    v.extend(b.signature.iter().map(|s| s.0.t.to_bytes()));
    for a in &b.answers {
        for ct in &a.ciphertexts {
            v.extend([ct.a.to_bytes(), ct.b.to_bytes()]);
        }
        for p in &a.selection_proofs {
            v.extend([p.t0a, p.t0b, p.t1a, p.t1b].map(|x| x.to_bytes()));
        }
        match &a.sum_proof {
            Some(SumProof::Constant { proof }) => {
                v.extend([proof.0.t1.to_bytes(), proof.0.t2.to_bytes()])
            }
            Some(SumProof::ZeroOne { proof: p }) => {
                v.extend([p.t0a, p.t0b, p.t1a, p.t1b].map(|x| x.to_bytes()))
            }
            Some(SumProof::Range { commitment, link }) => {
                v.extend([*commitment, link.ta, link.tb, link.tc].map(|x| x.to_bytes()))
            }
            None => {}
        }
        for s in &a.scores {
            v.extend([s.commitment, s.link.ta, s.link.tb, s.link.tc].map(|x| x.to_bytes()));
        }
    }
    v
}

/// CPU time (user + system) of this process so far, from /proc/self/stat (Linux):
/// unlike wall time it does not depend on what else the shared machine is running.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime
    // the 13th, in clock ticks (USER_HZ = 100 on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

struct Floor {
    ballots: u64,
    points: u64,
    msm_terms: u64,
    decompress: Duration,
    msm: Duration,
    cpu: Duration,
}

/// Time decompression + one MSM per 256-ballot chunk, on all cores, for every ballot.
fn floor(dir: &Path) -> Floor {
    let mut contexts: Vec<(String, Manifest, Option<ElectionPublicKey>)> = Vec::new();
    let file = std::fs::File::open(dir.join("entries.jsonl")).unwrap();
    let mut lines = BufReader::with_capacity(1 << 20, file).lines();
    let mut f = Floor {
        ballots: 0,
        points: 0,
        msm_terms: 0,
        decompress: Duration::ZERO,
        msm: Duration::ZERO,
        cpu: Duration::ZERO,
    };
    loop {
        let block: Vec<String> = lines.by_ref().take(8192).map(|l| l.unwrap()).collect();
        if block.is_empty() {
            break;
        }
        let entries: Vec<BoardEntry> = block
            .par_iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut ballots: Vec<(usize, Ballot)> = Vec::new();
        for e in entries {
            match e.payload {
                Payload::ReferendumCreated { manifest, .. } => {
                    contexts.push((manifest.referendum_id.clone(), manifest, None))
                }
                Payload::CeremonyCompleted {
                    referendum_id,
                    election_key,
                    ..
                } => {
                    if let Some(c) = contexts.iter_mut().find(|c| c.0 == referendum_id) {
                        c.2 = Some(election_key);
                    }
                }
                Payload::BallotCast { ballot } => {
                    let r = contexts
                        .iter()
                        .position(|c| c.0 == ballot.referendum_id)
                        .unwrap();
                    ballots.push((r, ballot));
                }
                _ => {}
            }
        }
        if ballots.is_empty() {
            continue;
        }
        // Untimed: gather the encodings and the batch terms of each 256-ballot chunk.
        // Chunks never mix referendums (as in the verifier).
        let chunks: Vec<&[(usize, Ballot)]> = ballots
            .chunk_by(|a, b| a.0 == b.0)
            .flat_map(|group| group.chunks(256))
            .collect();
        let prepared: Vec<(Vec<[u8; 32]>, Collect)> = chunks
            .par_iter()
            .map(|chunk| {
                let (r, _) = &chunk[0];
                let (_, m, k) = &contexts[*r];
                let ctx = BallotContext::new(m, k.unwrap());
                let mut c = Collect::new();
                let mut bytes = Vec::new();
                for (_, b) in chunk.iter() {
                    bytes.extend(ballot_points(b));
                    // The records here are pseudonymous: nothing is left.
                    let _left = b
                        .check_proofs(&ctx, &mut c, &mut rand::rngs::OsRng)
                        .unwrap();
                }
                (bytes, c)
            })
            .collect();
        f.ballots += ballots.len() as u64;
        f.points += prepared.iter().map(|(b, _)| b.len() as u64).sum::<u64>();
        f.msm_terms += prepared
            .iter()
            .map(|(_, c)| c.points.len() as u64 + 2 + c.shared.len() as u64)
            .sum::<u64>();
        // Timed: decompress every point, on all cores.
        let c = cpu_time();
        let t = Instant::now();
        let ok = prepared
            .par_iter()
            .map(|(bytes, _)| {
                bytes
                    .iter()
                    .filter(|b| CompressedRistretto(**b).decompress().is_some())
                    .count()
            })
            .sum::<usize>();
        f.decompress += t.elapsed();
        assert_eq!(
            ok as u64,
            prepared.iter().map(|(b, _)| b.len() as u64).sum::<u64>()
        );
        // Timed: one MSM per chunk, on all cores.
        let t = Instant::now();
        let all_zero = prepared.par_iter().all(|(_, c)| c.msm().is_identity());
        f.msm += t.elapsed();
        f.cpu += cpu_time() - c;
        assert!(all_zero);
    }
    f
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let voters: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let regen = args.iter().any(|a| a == "--regen");
    let no_floor = args.iter().any(|a| a == "--no-floor");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let (kinds, suffix, what) = match only.as_deref() {
        Some("yes-no") => (
            vec![BenchKind::YesNo],
            "-yes-no",
            format!("{voters} yes/no"),
        ),
        Some("ten") => (
            vec![BenchKind::ChooseOneOfTen],
            "-ten",
            format!("{voters} choose-one-of-10"),
        ),
        _ => (
            vec![BenchKind::YesNo, BenchKind::ChooseOneOfTen],
            "",
            format!("{voters} yes/no + {voters} choose-one-of-10"),
        ),
    };
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join(format!("vox-bench/record-v2-{voters}{suffix}")));
    let cores = rayon::current_num_threads();

    if regen || !dir.join("record.json").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!("generating {what} ballots into {} …", dir.display());
        let t = Instant::now();
        // Ballots arrive in chunks of 1,024: report each time a multiple of 10,000 is
        // passed (`done` restarts from zero for the next referendum).
        let mut last = 0usize;
        let rec = write_bench_record(&dir, voters, &kinds, 2026, |phase, done| {
            if done < last {
                last = 0;
            }
            let passed = done / 10_000 > last / 10_000;
            last = done;
            if passed || done == voters {
                eprintln!(
                    "  {phase}: {done}/{voters} ({:.0} s)",
                    t.elapsed().as_secs_f64()
                );
            }
        })
        .unwrap();
        eprintln!(
            "generated {} entries in {:.1} s",
            rec.entries,
            t.elapsed().as_secs_f64()
        );
    }
    let size: u64 = std::fs::metadata(dir.join("entries.jsonl")).unwrap().len();
    let ballots = (kinds.len() * voters) as u64;
    println!(
        "record {} ({:.0} MB), {ballots} ballots ({what}), {cores} threads",
        dir.display(),
        size as f64 / 1e6
    );

    let c = cpu_time();
    let t = Instant::now();
    let report = verify_record(&DirSource::new(&dir), Options::default(), &mut NoProgress).unwrap();
    let total = t.elapsed();
    let total_cpu = cpu_time() - c;
    assert_eq!(report.verdict(), Verdict::Pass, "{}", report.to_human());
    print!("{}", report.to_human());
    let v9 = report.step(StepId::Ballots).unwrap().elapsed_ms;
    let v2 = report.step(StepId::Log).unwrap().elapsed_ms;

    if no_floor {
        println!(
            "verify_record (everything): {:.2} s wall, {:.2} s CPU; V2 decode+hash {:.2} s, V10 proofs+tally {:.2} s (wall); floor not measured (--no-floor)",
            total.as_secs_f64(),
            total_cpu.as_secs_f64(),
            v2.as_secs_f64(),
            v9.as_secs_f64()
        );
        return;
    }
    let fl = floor(&dir);
    let floor_time = fl.decompress + fl.msm;
    let rate = |d: Duration| ballots as f64 / d.as_secs_f64();
    println!();
    println!(
        "                               wall       ballots/s   |  CPU (user+sys)  ballots/CPU-s"
    );
    println!(
        "verify_record (everything):  {:>7.2} s  {:>9.0}      |  {:>7.2} s       {:>7.0}",
        total.as_secs_f64(),
        rate(total),
        total_cpu.as_secs_f64(),
        rate(total_cpu)
    );
    println!(
        "raw floor (decompress+MSM):  {:>7.2} s  {:>9.0}      |  {:>7.2} s       {:>7.0}",
        floor_time.as_secs_f64(),
        rate(floor_time),
        fl.cpu.as_secs_f64(),
        rate(fl.cpu)
    );
    println!(
        "ratio verify / floor:        {:>7.2}                  |  {:>7.2}",
        total.as_secs_f64() / floor_time.as_secs_f64(),
        total_cpu.as_secs_f64() / fl.cpu.as_secs_f64()
    );
    println!(
        "  verify: V2 decode+hash {:.2} s, V10 proofs+tally {:.2} s (wall)",
        v2.as_secs_f64(),
        v9.as_secs_f64()
    );
    println!(
        "  floor: {} points decompressed in {:.2} s, {} MSM terms in {:.2} s (wall), 256 ballots per MSM",
        fl.points,
        fl.decompress.as_secs_f64(),
        fl.msm_terms,
        fl.msm.as_secs_f64()
    );
    assert_eq!(fl.ballots, ballots);

    // The server signs one tree head per write transaction, so a real record carries
    // about one head per ballot; the synthetic one signs every 10,000 entries. Measure
    // what each extra head costs the verifier (Ed25519 verify_strict, in parallel).
    let key = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
    let board = vox_protocol::board::BoardPublicKey(key.verifying_key());
    let n = 20_000u64;
    let heads: Vec<vox_protocol::board::SignedTreeHead> = (1..=n)
        .into_par_iter()
        .map(|i| {
            vox_protocol::board::SignedTreeHead::sign(
                vox_protocol::board::TreeHead {
                    tree_size: i,
                    root_hash: vox_protocol::merkle::NodeHash([(i % 251) as u8; 32]),
                    timestamp_ms: i as i64,
                },
                vox_verifier::synth::LOG_NAME,
                &key,
            )
            .expect("a valid origin")
        })
        .collect();
    let c = cpu_time();
    let t = Instant::now();
    assert!(heads.par_iter().all(|h| h.verify(&board).is_ok()));
    let (wall, cpu) = (t.elapsed(), cpu_time() - c);
    println!(
        "  tree heads: {n} signatures verified in {:.2} s wall / {:.2} s CPU: +{:.1} CPU-s per 100,000 heads",
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 100_000.0 / n as f64
    );
}
