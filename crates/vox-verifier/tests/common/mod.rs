//! Shared by the tamper tests: the conformance cases (built once per test binary) and
//! assertions about reports.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;

use vox_verifier::conformance::cases::{all_from, Bases};
use vox_verifier::conformance::generate::Case;
use vox_verifier::report::{Failure, Location, Report};
use vox_verifier::synth::SynthRecord;
use vox_verifier::{verify_record, MemorySource, NoProgress, Options, Status, StepId, Verdict};

/// The honest records the cases edit.
pub fn bases() -> &'static Bases {
    static BASES: OnceLock<Bases> = OnceLock::new();
    BASES.get_or_init(|| Bases::build().unwrap())
}

/// Every conformance case.
pub fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| all_from(bases()))
}

/// The case named `name`.
pub fn case(name: &str) -> &'static Case {
    cases()
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no conformance case {name}"))
}

/// The case's report, checked against its own declaration.
pub fn run(name: &str) -> Report {
    let c = case(name);
    c.expectation().unwrap();
    c.verify().unwrap()
}

pub fn verify_source(src: &MemorySource) -> Report {
    verify_record(src, Options::default(), &mut NoProgress).unwrap()
}

pub fn verify(rec: &SynthRecord) -> Report {
    verify_source(&rec.source().unwrap())
}

/// The edited record must fail `step`; with `resigned`, the log steps must still pass.
pub fn expect(rec: &SynthRecord, step: StepId, resigned: bool) -> Report {
    let report = verify(rec);
    let text = report.to_human();
    assert_eq!(report.verdict(), Verdict::Fail, "{text}");
    assert_eq!(
        report.status(step),
        Status::Fail,
        "expected {step} to fail:\n{text}"
    );
    if resigned {
        for s in [StepId::Record, StepId::Log, StepId::TreeHeads] {
            assert_eq!(report.status(s), Status::Pass, "{s} should pass:\n{text}");
        }
    }
    report
}

/// The edited record must fail `step` and nothing else.
pub fn expect_only(rec: &SynthRecord, step: StepId) -> Report {
    let report = verify(rec);
    let text = report.to_human();
    assert_eq!(report.failed_steps(), vec![step], "{text}");
    report
}

pub fn failures(report: &Report, step: StepId) -> Vec<Failure> {
    report.step(step).unwrap().failures.clone()
}

pub fn failure_locations(report: &Report, step: StepId) -> Vec<Location> {
    failures(report, step)
        .into_iter()
        .map(|f| f.location)
        .collect()
}

/// Some fault of `step` says `needle`.
pub fn assert_fault(report: &Report, step: StepId, needle: &str) {
    assert!(
        failures(report, step)
            .iter()
            .any(|f| f.message.contains(needle)),
        "no {step} fault says {needle:?}:\n{}",
        report.to_human()
    );
}
