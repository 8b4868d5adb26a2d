//! What anonymous participation costs a verifier (issue 12 §2, 04 §4.10): one yes/no
//! ballot checked as a verifier checks a record — structure, every proof in a batch, and
//! for an anonymous ballot the ring signature, batched with the others of its chunk — in
//! each mode, in one run, so the ratio is measured on the same machine at the same time.
//! A program, not a criterion benchmark (proving the anonymous ballots is the slow part
//! of the setup).
//!
//! ```text
//! cargo bench -p vox-protocol --bench ballot_modes -- --ring 4096 --ballots 64 --rounds 5
//! ```
//!
//! `--ring N`: the electorate (one pooled ring of N ≤ 4,096 members); `--ballots B`:
//! ballots per chunk (the verifier batches up to its chunk size); `--rounds R`: each
//! chunk is verified R times and the median is reported. Single-threaded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vox_crypto::batch::BatchVerifier;
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::Scalar;
use vox_protocol::ballot::{encrypt_anonymous_ballot, encrypt_ballot, Ballot, BallotContext};
use vox_protocol::electorate::{Electorate, ElectorateEntry};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{
    Manifest, Participation, Question, QuestionKind, DAY_MS, MANIFEST_VERSION,
};
use vox_protocol::rings::{verify_ring_statements, RingSet};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn manifest(electorate: &Electorate, participation: Participation) -> Manifest {
    Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "bench".into(),
        title: "Bench".into(),
        description: String::new(),
        questions: vec![Question {
            id: "q".into(),
            text: "Yes?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        }],
        opens_at: 0,
        closes_at: 1,
        electorate_hash: electorate.canonical_hash(),
        trustees: Vec::new(),
        threshold: 1,
        answer_due_ms: DAY_MS,
        decryption_due_ms: DAY_MS,
        source_petition: None,
        participation,
    }
}

/// Median of `rounds` timings of `f`, in seconds.
fn median(rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let ring = arg("--ring", 4096).clamp(2, 4096);
    let ballots = arg("--ballots", 64).clamp(1, ring);
    let rounds = arg("--rounds", 5);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    eprintln!("electorate of {ring}, {ballots} ballots per chunk, {rounds} rounds");
    let creds: Vec<Credential> = (0..ring).map(|_| Credential::generate(&mut rng)).collect();
    let electorate = Electorate {
        id: "bench".into(),
        name: "Bench".into(),
        entries: creds
            .iter()
            .map(|c| ElectorateEntry {
                credential: c.public_key(),
                region: None,
            })
            .collect(),
    };
    let index = electorate.index();
    let key = ElectionPublicKey::new(Scalar::random(&mut rng).mul_base()).unwrap();
    let pseudo = manifest(&electorate, Participation::Pseudonymous);
    let anon = manifest(&electorate, Participation::Anonymous);
    let pctx = BallotContext::new(&pseudo, key);
    let actx = BallotContext::new(&anon, key);
    let rings = RingSet::for_referendum(&electorate, &index, 1, 0).unwrap();
    let choice = vec![vec![1, 0]];

    let t0 = Instant::now();
    let named: Vec<Ballot> = creds[..ballots]
        .iter()
        .map(|c| encrypt_ballot(&pctx, c, &choice, None, &mut rng).unwrap().0)
        .collect();
    let encrypt_pseudo = t0.elapsed().as_secs_f64() / ballots as f64;
    let t0 = Instant::now();
    let hidden: Vec<Ballot> = creds[..ballots]
        .iter()
        .map(|c| {
            encrypt_anonymous_ballot(&actx, &rings, c, &choice, None, &mut rng)
                .unwrap()
                .0
        })
        .collect();
    let encrypt_anon = t0.elapsed().as_secs_f64() / ballots as f64;
    let size = |b: &[Ballot]| serde_json::to_vec(&b[0]).unwrap().len();

    // What V10 does per chunk: structure, then every proof into one batch.
    let check = |ctx: &BallotContext<'_>, bs: &[Ballot], rng: &mut ChaCha20Rng| {
        let mut batch = BatchVerifier::new(rng.clone());
        for b in bs {
            b.check_structure(ctx, &index).unwrap();
            // Ring signatures are timed apart (the anonymous rows add them).
            let _left = b.check_proofs(ctx, &mut batch, rng).unwrap();
        }
        batch.finish().unwrap();
    };
    let pseudo_chunk = median(rounds, || check(&pctx, &named, &mut rng.clone()));
    let generator = actx.tag_generator().unwrap();
    let anon_chunk = median(rounds, || {
        let mut r = rng.clone();
        check(&actx, &hidden, &mut r);
        let statements = hidden
            .iter()
            .map(|b| b.ring_statement(&rings, &generator))
            .collect();
        for res in verify_ring_statements(statements, &mut r) {
            res.unwrap();
        }
    });
    let anon_alone = median(rounds, || {
        let mut r = rng.clone();
        let statements = vec![hidden[0].ring_statement(&rings, &generator)];
        for res in verify_ring_statements(statements, &mut r) {
            res.unwrap();
        }
    });
    let per = |t: f64| t * 1e3 / ballots as f64;
    println!("ballot modes: yes/no, one pooled ring of {ring}, chunks of {ballots}, 1 thread");
    println!(
        "  encrypt + prove on the device: pseudonymous {:.2} ms, anonymous {:.1} ms",
        encrypt_pseudo * 1e3,
        encrypt_anon * 1e3
    );
    println!(
        "  size (JSON): pseudonymous {} B, anonymous {} B",
        size(&named),
        size(&hidden)
    );
    println!(
        "  verify per ballot, batched chunk: pseudonymous {:.3} ms, anonymous {:.3} ms ({:.1}×)",
        per(pseudo_chunk),
        per(anon_chunk),
        anon_chunk / pseudo_chunk
    );
    println!(
        "  verify one anonymous ballot's ring signature alone (a quiet server): {:.2} ms",
        anon_alone * 1e3
    );
}
