//! The conformance corpus (protocol-spec/conformance/): small records on disk, honest and
//! tampered, each with the verdict every step must reach and the location a failing step
//! must name. Any verifier, in any language, runs the corpus and compares; `vox-verify
//! conformance DIR` does it for this one.
//!
//! This module reads and judges a corpus (feature `fs`); [`generate`] builds it from the
//! honest-record generator (feature `synth`). The corpus format is versioned with the
//! record format: [`FORMAT_VERSION`] changes when expectations change meaning,
//! [`RECORD_VERSION`] is the `record.json` version its records carry.

#[cfg(feature = "synth")]
pub mod cases;
#[cfg(feature = "synth")]
pub mod edits;
#[cfg(feature = "synth")]
pub mod generate;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dir::DirSource;
use crate::report::{Location, Report};
use crate::{
    verify_record, NamedReceipt, NamedSignatureReceipt, NoProgress, Options, TrustAnchors,
    VerifyError, STEPS,
};

/// `format` of every `expected.json` and of `index.json`.
pub const FORMAT: &str = "vox-conformance";
/// Version of the corpus format.
pub const FORMAT_VERSION: u32 = 1;
/// `record.json` version of the records in this corpus (09 §9.1).
pub const RECORD_VERSION: u32 = 2;

/// `index.json`: the cases of a corpus, in the order they are run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// [`RECORD_VERSION`].
    pub record_version: u32,
    /// One line per case.
    pub cases: Vec<IndexEntry>,
}

/// A case as listed in `index.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// Directory name under `cases/`.
    pub case: String,
    /// `pass` or `fail`.
    pub verdict: String,
    /// The step the change is aimed at (`V1` … `V14`), absent for honest cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The numbered rule of 10-verifier.md the change breaks (`V10.6`), if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// `cases/NAME/expected.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// [`RECORD_VERSION`].
    pub record_version: u32,
    /// The case's name (its directory).
    pub case: String,
    /// What the record shows or what was changed in it, and why the target step must
    /// catch it.
    pub about: String,
    /// The step the change is aimed at, absent for honest cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The numbered rule of 10-verifier.md the change breaks (`V10.6`), or the rule an
    /// honest variant exercises; absent when no single rule is meant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The record was re-signed consistently after the change (every tree head signed
    /// again by the operator's key, as a malicious operator would): V1–V3 pass and only
    /// the semantic step can catch it.
    pub malicious_operator: bool,
    /// What the observer gives beside the record.
    pub inputs: Inputs,
    /// The overall verdict: `pass`, `fail` or `partial` (10 §10.2).
    pub verdict: String,
    /// Every step's status, V1 … V14 in order: `pass`, `fail` or `not-checked`.
    pub steps: Vec<StepExpectation>,
    /// Locations a failing step must name (each among that step's failures; a
    /// verifier may report more).
    pub failures: Vec<ExpectedFailure>,
}

/// The observer's inputs of a case, paths relative to the case directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// The record directory (`record`).
    pub record: String,
    /// Pinned keys (`vox-verify --trust` format, 10 §10.1), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    /// Receipts to check (V14), in order; each is named by its path in locations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receipts: Vec<String>,
}

/// One step's expected status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepExpectation {
    /// `V1` … `V14`.
    pub step: String,
    /// `pass`, `fail` or `not-checked`.
    pub status: String,
}

/// A location a failing step must name, as the JSON report prints it (10 §10.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFailure {
    /// `V1` … `V14`.
    pub step: String,
    /// The location object (`kind` plus its fields).
    pub location: serde_json::Value,
}

/// How one case went.
#[derive(Clone, Debug, Serialize)]
pub struct CaseOutcome {
    /// The case.
    pub case: String,
    /// Differences between the expectation and the report; empty when the case passes.
    pub mismatches: Vec<String>,
}

impl CaseOutcome {
    /// Whether the verifier did what the case expects.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

fn malformed(what: &'static str, reason: String) -> VerifyError {
    VerifyError::Malformed { what, reason }
}

fn read_json<T: for<'de> Deserialize<'de>>(
    path: &Path,
    what: &'static str,
) -> Result<T, VerifyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VerifyError::io(path.display().to_string(), e))?;
    serde_json::from_str(&text).map_err(|e| malformed(what, format!("{}: {e}", path.display())))
}

/// The JSON name of a status or verdict (`pass`, `fail`, `not-checked`, `partial`).
fn json_name(v: impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The observer's options a case asks for.
pub fn case_options(case_dir: &Path, inputs: &Inputs) -> Result<Options, VerifyError> {
    let mut options = Options::default();
    if let Some(trust) = &inputs.trust {
        let path = case_dir.join(trust);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| VerifyError::io(path.display().to_string(), e))?;
        options.trust = TrustAnchors::from_json(&text)
            .map_err(|e| malformed("trust file", format!("{}: {e}", path.display())))?;
    }
    for name in &inputs.receipts {
        // A petition signature's receipt has a `kind` (07 §7.10); a ballot's has none.
        let value: serde_json::Value = read_json(&case_dir.join(name), "receipt")?;
        let bad = |e: serde_json::Error| malformed("receipt", format!("{name}: {e}"));
        if value.get("kind").is_some() {
            options.signature_receipts.push(NamedSignatureReceipt {
                name: name.clone(),
                receipt: serde_json::from_value(value).map_err(bad)?,
            });
        } else {
            options.receipts.push(NamedReceipt {
                name: name.clone(),
                receipt: serde_json::from_value(value).map_err(bad)?,
            });
        }
    }
    Ok(options)
}

/// Compare a report with an expectation: the verdict, every step's status, and each
/// expected location among its step's failures.
pub fn compare(expected: &Expectation, report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let verdict = json_name(report.verdict());
    if verdict != expected.verdict {
        out.push(format!(
            "verdict: expected {}, got {verdict}",
            expected.verdict
        ));
    }
    let listed: Vec<&str> = expected.steps.iter().map(|s| s.step.as_str()).collect();
    let known: Vec<&str> = STEPS.iter().map(|s| s.id).collect();
    if listed != known {
        out.push(format!(
            "steps: expected.json lists {listed:?}, this verifier has {known:?}"
        ));
    }
    for want in &expected.steps {
        let Some(info) = STEPS.iter().find(|s| s.id == want.step) else {
            continue;
        };
        let got = json_name(report.status(info.step));
        if got != want.status {
            let first = report
                .step(info.step)
                .and_then(|s| s.failures.first())
                .map(|f| format!(" (first fault: {f})"))
                .unwrap_or_default();
            out.push(format!(
                "{}: expected {}, got {got}{first}",
                want.step, want.status
            ));
        }
    }
    for want in &expected.failures {
        let Some(info) = STEPS.iter().find(|s| s.id == want.step) else {
            out.push(format!("{}: no such step", want.step));
            continue;
        };
        let named = report
            .step(info.step)
            .map(|s| {
                s.failures
                    .iter()
                    .any(|f| location_json(&f.location) == want.location)
            })
            .unwrap_or(false);
        if !named {
            out.push(format!("{}: no failure names {}", want.step, want.location));
        }
    }
    out
}

/// A location as the JSON report prints it.
pub fn location_json(location: &Location) -> serde_json::Value {
    serde_json::to_value(location).unwrap_or(serde_json::Value::Null)
}

/// Run one case directory.
pub fn run_case(case_dir: &Path) -> Result<CaseOutcome, VerifyError> {
    let expected: Expectation = read_json(&case_dir.join("expected.json"), "expected.json")?;
    if expected.format != FORMAT || expected.version != FORMAT_VERSION {
        return Err(malformed(
            "expected.json",
            format!(
                "{}: format {} version {}, this verifier reads {FORMAT} version {FORMAT_VERSION}",
                case_dir.display(),
                expected.format,
                expected.version
            ),
        ));
    }
    let options = case_options(case_dir, &expected.inputs)?;
    let source = DirSource::new(case_dir.join(&expected.inputs.record));
    let report = verify_record(&source, options, &mut NoProgress)?;
    Ok(CaseOutcome {
        case: expected.case.clone(),
        mismatches: compare(&expected, &report),
    })
}

/// The cases of a corpus directory, from its `index.json`.
pub fn read_index(corpus: &Path) -> Result<Index, VerifyError> {
    let index: Index = read_json(&corpus.join("index.json"), "index.json")?;
    if index.format != FORMAT || index.version != FORMAT_VERSION {
        return Err(malformed(
            "index.json",
            format!(
                "format {} version {}, this verifier reads {FORMAT} version {FORMAT_VERSION}",
                index.format, index.version
            ),
        ));
    }
    Ok(index)
}

/// A case's directory.
pub fn case_dir(corpus: &Path, case: &str) -> PathBuf {
    corpus.join("cases").join(case)
}
