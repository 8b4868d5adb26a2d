//! The conformance corpus (protocol-spec/conformance/): the checked-in files are exactly
//! what the generator builds, `vox-verify conformance` meets every expectation, and a
//! changed expectation is reported (the runner can fail).
//!
//! Regenerate on purpose after a format change:
//! `VOX_UPDATE_CONFORMANCE=1 cargo test -p vox-verifier --test conformance`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use vox_verifier::conformance::generate::write_corpus;
use vox_verifier::conformance::{case_dir, read_index, run_case, Expectation};
use vox_verifier::STEPS;

/// The numbered rules of 10-verifier.md that no static record on disk can show, with the
/// reason (protocol-spec/conformance/README.md, "Coverage"). Every other rule has a case.
const NOT_IN_THE_CORPUS: &[(&str, &str)] = &[
    (
        "V2.8",
        "pass 1 and pass 2 disagree only if the record changes while it is read; a record on \
         disk reads the same twice",
    ),
    (
        "V7.3",
        "this verifier checks and reports a manifest's unusable electorate under V5.3 (case \
         v5-referendum-on-an-electorate-still-enrolling), so no case can make V7 fail for it",
    ),
    (
        "V7.5",
        "max per option is at most 1000 (score) and the bound is 2^34, so breaking it needs an \
         electorate of more than 17,179,869 credentials: a record of gigabytes",
    ),
    (
        "V14.4",
        "in a static record the ballot at a receipt's leaf is always its credential's last \
         ballot or superseded by a later one; it can be neither only if the passes disagree \
         (V2.8)",
    ),
];

/// The numbered rules of 10-verifier.md (`* V<step>.<n>` lines), in order.
fn spec_rules() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../protocol-spec/10-verifier.md");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("* V")?;
            let id: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let (step, n) = id.split_once('.')?;
            (!step.is_empty() && !n.is_empty()).then(|| format!("V{id}"))
        })
        .collect()
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../protocol-spec/conformance")
}

/// Every file under `dir` (relative path → bytes), README.md excepted.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                if rel != Path::new("README.md") {
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vox-conformance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn checked_in_corpus_is_what_the_generator_builds() {
    let fresh = temp_dir("fresh");
    write_corpus(&fresh, common::cases()).unwrap();
    if std::env::var_os("VOX_UPDATE_CONFORMANCE").is_some() {
        let dir = corpus();
        let _ = std::fs::remove_dir_all(dir.join("cases"));
        let _ = std::fs::remove_file(dir.join("index.json"));
        write_corpus(&dir, common::cases()).unwrap();
    }
    let want = files(&fresh);
    let have = files(&corpus());
    let _ = std::fs::remove_dir_all(&fresh);
    let missing: Vec<_> = want.keys().filter(|k| !have.contains_key(*k)).collect();
    let extra: Vec<_> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| have.get(*k).is_some_and(|h| h != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "protocol-spec/conformance is stale (regenerate with VOX_UPDATE_CONFORMANCE=1 and \
         review the diff): missing {missing:?}, extra {extra:?}, different {differ:?}"
    );
}

#[test]
fn corpus_covers_every_step_with_enough_tampered_cases() {
    let index = read_index(&corpus()).unwrap();
    let tampered = index.cases.iter().filter(|c| c.verdict == "fail").count();
    assert!(tampered >= 60, "only {tampered} tampered cases");
    for s in STEPS {
        assert!(
            index
                .cases
                .iter()
                .any(|c| c.target.as_deref() == Some(s.id)),
            "no case aimed at {}",
            s.id
        );
    }
    let mut malicious = 0;
    for c in &index.cases {
        let text =
            std::fs::read_to_string(case_dir(&corpus(), &c.case).join("expected.json")).unwrap();
        let e: Expectation = serde_json::from_str(&text).unwrap();
        malicious += usize::from(e.malicious_operator);
        if e.verdict == "fail" {
            assert_eq!(e.failures.len(), 1, "{}: one named location", c.case);
        }
    }
    assert!(malicious >= 20, "only {malicious} re-signed cases");
}

#[test]
fn vox_verify_meets_every_expectation() {
    let out = Command::new(env!("CARGO_BIN_EXE_vox-verify"))
        .args(["conformance", "--json"])
        .arg(corpus())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = read_index(&corpus()).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), index.cases.len());
    assert!(lines.iter().all(|l| l["ok"] == true), "{stdout}");
}

/// The runner is not a rubber stamp: an expectation that differs from what the record
/// shows (a step's status, the verdict, a location) is a mismatch, and the CLI exits 1.
#[test]
fn a_wrong_expectation_is_reported() {
    let index = read_index(&corpus()).unwrap();
    let tampered = index.cases.iter().find(|c| c.verdict == "fail").unwrap();
    let honest = index.cases.iter().find(|c| c.verdict == "pass").unwrap();
    let copy = |case: &str, name: &str| {
        let to = temp_dir(name);
        let from = case_dir(&corpus(), case);
        for (rel, bytes) in files(&from) {
            let p = to.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        let e: Expectation =
            serde_json::from_str(&std::fs::read_to_string(to.join("expected.json")).unwrap())
                .unwrap();
        (to, e)
    };
    let save = |dir: &Path, e: &Expectation| {
        std::fs::write(dir.join("expected.json"), serde_json::to_string(e).unwrap()).unwrap();
    };

    // A tampered record expected to pass.
    let (dir, mut e) = copy(&tampered.case, "verdict");
    e.verdict = "pass".into();
    for s in &mut e.steps {
        if s.status == "fail" {
            s.status = "pass".into();
        }
    }
    e.failures.clear();
    save(&dir, &e);
    let o = run_case(&dir).unwrap();
    assert!(!o.ok());
    assert!(o.mismatches.iter().any(|m| m.starts_with("verdict")));
    let _ = std::fs::remove_dir_all(&dir);

    // The right verdict, the wrong location.
    let (dir, mut e) = copy(&tampered.case, "location");
    e.failures[0].location = serde_json::json!({"kind": "leaf", "index": 999_999});
    save(&dir, &e);
    let o = run_case(&dir).unwrap();
    assert_eq!(o.mismatches.len(), 1, "{:?}", o.mismatches);
    let _ = std::fs::remove_dir_all(&dir);

    // An honest record expected to fail a step.
    let (dir, mut e) = copy(&honest.case, "status");
    e.steps[9].status = "fail".into();
    save(&dir, &e);
    let o = run_case(&dir).unwrap();
    assert_eq!(o.mismatches.len(), 1, "{:?}", o.mismatches);
    assert!(o.mismatches[0].starts_with("V10"), "{:?}", o.mismatches);

    // The CLI on a corpus holding that case exits 1 and names it.
    let root = temp_dir("corpus");
    std::fs::create_dir_all(root.join("cases")).unwrap();
    std::fs::rename(&dir, case_dir(&root, &honest.case)).unwrap();
    let mut one = index.clone();
    one.cases = vec![honest.clone()];
    std::fs::write(
        root.join("index.json"),
        serde_json::to_string(&one).unwrap(),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vox-verify"))
        .arg("conformance")
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("DIFF  {}", honest.case)));
    let _ = std::fs::remove_dir_all(&root);
}

/// The corpus covers every numbered rule of 10-verifier.md: each has a case declaring it,
/// or is listed in [`NOT_IN_THE_CORPUS`] with the reason (and only then).
#[test]
fn every_numbered_rule_has_a_case() {
    let rules = spec_rules();
    assert!(
        rules.first().map(String::as_str) == Some("V1.1")
            && rules.last().map(String::as_str) == Some("V15.7"),
        "10-verifier.md parsed as {rules:?}"
    );
    let index = read_index(&corpus()).unwrap();
    let covered: BTreeSet<&str> = index
        .cases
        .iter()
        .filter_map(|c| c.rule.as_deref())
        .collect();
    let excused: BTreeSet<&str> = NOT_IN_THE_CORPUS.iter().map(|(r, _)| *r).collect();
    let mut problems = Vec::new();
    for r in &rules {
        if !covered.contains(r.as_str()) && !excused.contains(r.as_str()) {
            problems.push(format!("{r} has no case"));
        }
    }
    for r in &excused {
        if covered.contains(r) {
            problems.push(format!("{r} is in NOT_IN_THE_CORPUS but has a case"));
        }
        if !rules.iter().any(|x| x == r) {
            problems.push(format!(
                "{r} is in NOT_IN_THE_CORPUS but is not a rule of 10-verifier.md"
            ));
        }
    }
    for c in &index.cases {
        if let Some(r) = &c.rule {
            if !rules.iter().any(|x| x == r) {
                problems.push(format!(
                    "case {} names {r}, not a rule of 10-verifier.md",
                    c.case
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
