//! A synthetic board for timing a ring signature in the browser (BENCHMARKS.md "Web
//! bundle", `scripts/bench-web.sh ring`): the genesis, an electorate of MEMBERS
//! credentials (default 8,192) registered whole by the registrar, in regions "north" and
//! "south" alternately (so each region is one ring of MEMBERS / 2 members: 4,096 by
//! default, the largest ring, 13 §13.2), and a ring-signed petition "bench" proposed by
//! the first citizen. Every act is signed by its role, the head by the board key: the
//! browser checks all of it as it would on a real server's board. Deterministic (seeded
//! ChaCha20): the same files every run.
//!
//!   cargo run --release -p vox-web --example ring_board -- DIR [MEMBERS]
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
        .map_or(8192, |m| m.parse().expect("MEMBERS: a number"));
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
}
