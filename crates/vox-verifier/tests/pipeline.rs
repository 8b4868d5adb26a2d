//! `verify_record` decodes block k + 1 while it applies block k: on a record of several
//! blocks it must give the same report as the one-block-at-a-time staged driver, and
//! place a fault in a later block at its own leaf.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use vox_verifier::dir::DirSource;
use vox_verifier::report::Location;
use vox_verifier::run::BLOCK;
use vox_verifier::source::RecordSource;
use vox_verifier::synth::{write_bench_record, BenchKind};
use vox_verifier::{
    verify_record, NoProgress, Options, Report, Seed, StagedVerification, Status, StepId, Verdict,
};

/// 2.5 blocks of ballots.
const VOTERS: usize = BLOCK * 5 / 2;

fn record(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vox-pipeline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_bench_record(&dir, VOTERS, &[BenchKind::YesNo], 7, |_, _| {}).unwrap();
    dir
}

fn options() -> Options {
    Options {
        seed: Some(Seed([3; 32])),
        ..Options::default()
    }
}

fn staged(src: &DirSource) -> Report {
    let heads: Vec<String> = src.tree_heads().unwrap().map(Result::unwrap).collect();
    let mut s = StagedVerification::new(&src.header().unwrap(), heads, options());
    s.add_entries(src.entries().unwrap().map(Result::unwrap).collect());
    s.finish().unwrap()
}

fn outcome(r: &Report) -> Vec<(StepId, Status, u64, Vec<String>)> {
    r.steps
        .iter()
        .map(|s| {
            let f = s.failures.iter().map(ToString::to_string).collect();
            (s.id, s.status, s.checked, f)
        })
        .collect()
}

#[test]
fn pipelined_pass_two_matches_the_staged_driver() {
    let dir = record("honest");
    let src = DirSource::new(&dir);
    let whole = verify_record(&src, options(), &mut NoProgress).unwrap();
    assert_eq!(whole.verdict(), Verdict::Pass, "{}", whole.to_human());
    assert!(whole.tree_size > 2 * BLOCK as u64);
    let one = staged(&src);
    assert_eq!(outcome(&whole), outcome(&one));
    assert_eq!(whole.referendums[0].result, one.referendums[0].result);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_forged_ballot_in_the_third_block_is_found_at_its_leaf() {
    let dir = record("forged");
    let path = dir.join("entries.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // A ballot well inside the third block: swap the two halves of its ciphertext (the
    // shape stays valid, the proofs do not).
    let leaf = 2 * BLOCK + 100;
    let mut v: serde_json::Value = serde_json::from_str(&lines[leaf]).unwrap();
    let ct = &mut v["payload"]["ballot"]["answers"][0]["ciphertexts"][0];
    let (a, b) = (ct["a"].clone(), ct["b"].clone());
    ct["a"] = b;
    ct["b"] = a;
    lines[leaf] = v.to_string();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let src = DirSource::new(&dir);
    let whole = verify_record(&src, options(), &mut NoProgress).unwrap();
    assert_eq!(whole.status(StepId::Ballots), Status::Fail);
    let failures = &whole.step(StepId::Ballots).unwrap().failures;
    assert_eq!(failures.len(), 1, "{}", whole.to_human());
    assert!(
        matches!(&failures[0].location, Location::Ballot { leaf: l, .. } if *l == leaf as u64),
        "{}",
        whole.to_human()
    );
    // The entry no longer matches the signed tree heads either (V2).
    assert_eq!(whole.status(StepId::Log), Status::Fail);
    assert_eq!(outcome(&whole), outcome(&staged(&src)));
    let _ = std::fs::remove_dir_all(&dir);
}
