//! A synthetic board for timing a ring signature in the browser (BENCHMARKS.md "Web
//! bundle", `scripts/bench-web.sh ring`): the genesis, an electorate of MEMBERS
//! credentials (default 8,192) registered whole by the registrar, in regions "north" and
//! "south" alternately (so each region is one ring of MEMBERS / 2 members: 4,096 by
//! default, the largest ring, 13 §13.2), and a ring-signed petition "bench" proposed by
//! the first citizen. Every act is signed by its role, the head by the board key: the
//! browser checks all of it as it would on a real server's board. Deterministic (seeded
//! ChaCha20): the same files every run.
//!
//!   cargo run --release -p vox-web --example ring_board -- DIR [MEMBERS] [--native RUNS]
//!
//! With `--native RUNS`, it then signs natively RUNS times through the same functions
//! the wasm exports (`vox_web::ring_begin`, `ring_feed`, `ring_derive`, `ring_sign`) and
//! prints each step's time: the native figure beside the browser's.
//!
//! Writes DIR/board.json (`GET /api/v1/board`'s key fields), DIR/tree-head.json,
//! DIR/entries.jsonl (one entry per line), DIR/petition.json (`GET
//! /api/v1/petitions/bench`'s petition and hash) and DIR/credential.txt (a member's
//! credential, the one the benchmark signs with).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;
use vox_protocol::encoding::Hashable;
use vox_protocol::petition::{Petition, SignatureScheme};
use vox_protocol::roles::RoleSigners;
use vox_verifier::synth::{petition, Board, ElectorateRun, PetitionRun};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(args.first().expect("usage: ring_board DIR [MEMBERS]"));
    let members: usize = args
        .get(1)
        .filter(|a| !a.starts_with("--"))
        .map_or(8192, |m| m.parse().expect("MEMBERS: a number"));
    let native: Option<usize> = args.iter().position(|a| a == "--native").map(|i| {
        args.get(i + 1)
            .map_or(5, |r| r.parse().expect("RUNS: a number"))
    });
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(4096);
    let roles = RoleSigners::generate(&mut rng);
    let mut board = Board::new(roles, Vec::new(), 1_800_000_000_000, Vec::new()).unwrap();
    let run = ElectorateRun::register(&mut board, "bench", members, &mut rng).unwrap();
    let p = Petition {
        signatures: SignatureScheme::Ring,
        ..petition("bench", &run.electorate, 2, 3, 6)
    };
    PetitionRun::propose(
        &mut board,
        &run.electorate,
        p.clone(),
        &run.credentials[0],
        &mut rng,
    )
    .unwrap();
    let key = board.public_key();
    let record = board.finish();
    let head = record.heads.last().unwrap();
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
    write(
        "board.json",
        json!({ "board_public_key": key, "log_id": key.log_id() }).to_string(),
    );
    write("tree-head.json", serde_json::to_string(head).unwrap());
    let mut lines = String::new();
    for e in &record.entries {
        lines.push_str(&serde_json::to_string(e).unwrap());
        lines.push('\n');
    }
    write("entries.jsonl", lines);
    write(
        "petition.json",
        json!({
            "petition": p, "petition_hash": p.canonical_hash(), "stage": "proposed",
            "count": 0, "region_counts": [],
        })
        .to_string(),
    );
    write("credential.txt", format!("{}\n", run.credentials[2].text()));
    println!(
        "{}: {} entries, {members} members in two regions, petition bench",
        dir.display(),
        record.entries.len()
    );
    if let Some(runs) = native {
        sign_natively(&record.entries, head, &key, &p, &run.credentials[2], runs);
    }
}

/// The wasm exports' functions, natively: begin, feed, derive, then `runs` proofs.
fn sign_natively(
    entries: &[vox_protocol::board::BoardEntry],
    head: &vox_protocol::board::SignedTreeHead,
    key: &vox_protocol::board::BoardPublicKey,
    p: &Petition,
    credential: &vox_crypto::credential::Credential,
    runs: usize,
) {
    use rand::RngCore;
    use std::time::Instant;
    let ok = |out: String| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v.get("error").is_none(), "{out}");
        v["ok"].clone()
    };
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    vox_web::seed(&seed).unwrap();
    let t = Instant::now();
    ok(vox_web::ring_begin(
        &json!({ "board_public_key": key, "tree_head": head }).to_string(),
    ));
    let items: Vec<_> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| json!({ "index": i, "entry": e }))
        .collect();
    ok(vox_web::ring_feed(&json!({ "entries": items }).to_string()));
    let fed = t.elapsed();
    let req = json!({
        "petition": p, "petition_hash": p.canonical_hash(), "credential": credential.text(),
        "action": "sign",
    })
    .to_string();
    let t = Instant::now();
    let facts = ok(vox_web::ring_derive(&req));
    let derived = t.elapsed();
    println!(
        "native: begin + feed {:.1} ms, derive {:.1} ms (ring of {} members)",
        fed.as_secs_f64() * 1e3,
        derived.as_secs_f64() * 1e3,
        facts["ring_members"]
    );
    for run in 1..=runs {
        let t = Instant::now();
        let out = ok(vox_web::ring_sign(&req));
        println!(
            "native: prove run {run}: {:.1} ms (tag {})",
            t.elapsed().as_secs_f64() * 1e3,
            out["tag"].as_str().unwrap_or("?")
        );
    }
}
