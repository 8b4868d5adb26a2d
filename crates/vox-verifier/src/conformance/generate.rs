//! Build the conformance corpus from the honest-record generator ([`crate::synth`]):
//! every case's record, inputs and expectation, written byte for byte the same on every
//! run (all randomness is seeded), so the checked-in corpus can be compared with a fresh
//! build.
//!
//! A case declares what it is for (honest, or the step its change is aimed at, whether
//! the operator re-signed the log, and where the fault is); the generator runs this
//! verifier on it, refuses a case whose report contradicts the declaration, and records
//! the status of every step as the expectation other verifiers must meet. A change in
//! any verdict therefore shows as a diff of the checked-in `expected.json` files.

use std::path::Path;

use vox_protocol::board::Receipt;
use vox_protocol::signature_receipt::SignatureReceipt;

use super::{
    location_json, Expectation, ExpectedFailure, Index, IndexEntry, Inputs, StepExpectation,
    FORMAT, FORMAT_VERSION, RECORD_VERSION,
};
use crate::dir::RecordWriter;
use crate::report::{Location, Report, Status, Verdict};
use crate::synth::SynthRecord;
use crate::{
    verify_record, MemorySource, NamedReceipt, NamedSignatureReceipt, NoProgress, Options, StepId,
    TrustAnchors, STEPS,
};

/// What a case must show.
#[derive(Clone, Debug)]
pub enum Expect {
    /// Every step passes (V14 may be NOT-CHECKED when the case gives no receipt).
    Pass,
    /// Nothing fails, and the `target` step cannot conclude yet (verdict partial: e.g.
    /// a witness has not cosigned the head covering the record).
    Partial {
        /// The step that is NOT-CHECKED.
        target: StepId,
    },
    /// The `target` step fails.
    Fail {
        /// The step that owns the broken rule.
        target: StepId,
        /// The log was re-signed consistently after the change: V1–V3 must pass.
        malicious_operator: bool,
        /// Where the fault is; `None`: the generator records the first (by leaf) location
        /// the target step names.
        location: Option<Location>,
        /// No other step may fail.
        only: bool,
    },
}

/// One case of the corpus.
#[derive(Clone, Debug)]
pub struct Case {
    /// Directory name, kebab-case, unique.
    pub name: String,
    /// What the record shows or what was changed, and why the target step catches it.
    pub about: String,
    /// The record, as the text of its three files (so that a case can also break a
    /// file's syntax, not only its meaning).
    pub record: MemorySource,
    /// Keys the observer pins, if any.
    pub trust: Option<TrustAnchors>,
    /// Receipts the observer checks (V14).
    pub receipts: Vec<Receipt>,
    /// Petition signatures' receipts the observer checks (V14, 07 §7.10).
    pub signature_receipts: Vec<SignatureReceipt>,
    /// The declaration.
    pub expect: Expect,
    /// The numbered rule of 10-verifier.md (`V10.6`) the case is about, if one.
    pub rule: Option<String>,
}

impl Case {
    /// An honest record: every step passes.
    pub fn pass(name: &str, about: &str, record: SynthRecord) -> Self {
        Self::pass_text(name, about, text(&record))
    }

    /// A record on which nothing fails but `target` cannot conclude.
    pub fn partial(name: &str, about: &str, record: SynthRecord, target: StepId) -> Self {
        Self {
            expect: Expect::Partial { target },
            ..Self::pass(name, about, record)
        }
    }

    /// A record whose change `target` must catch.
    pub fn fail(name: &str, about: &str, record: SynthRecord, target: StepId) -> Self {
        Self::fail_text(name, about, text(&record), target)
    }

    /// [`Case::pass`] for a record given as text.
    pub fn pass_text(name: &str, about: &str, record: MemorySource) -> Self {
        Self {
            name: name.into(),
            about: about.into(),
            record,
            trust: None,
            receipts: Vec::new(),
            signature_receipts: Vec::new(),
            expect: Expect::Pass,
            rule: None,
        }
    }

    /// [`Case::fail`] for a record given as text (a file edited below the JSON model).
    pub fn fail_text(name: &str, about: &str, record: MemorySource, target: StepId) -> Self {
        Self {
            expect: Expect::Fail {
                target,
                malicious_operator: false,
                location: None,
                only: false,
            },
            ..Self::pass_text(name, about, record)
        }
    }

    /// The log was re-signed after the change (V1–V3 pass).
    pub fn resigned(mut self) -> Self {
        if let Expect::Fail {
            malicious_operator, ..
        } = &mut self.expect
        {
            *malicious_operator = true;
        }
        self
    }

    /// The case is about rule `rule` of 10-verifier.md (`"V10.6"`); for a failing case
    /// it must be a rule of the target step.
    pub fn rule(mut self, rule: &str) -> Self {
        self.rule = Some(rule.into());
        self
    }

    /// The target step must name `location`.
    pub fn at(mut self, at: Location) -> Self {
        if let Expect::Fail { location, .. } = &mut self.expect {
            *location = Some(at);
        }
        self
    }

    /// Only the target step may fail.
    pub fn only(mut self) -> Self {
        if let Expect::Fail { only, .. } = &mut self.expect {
            *only = true;
        }
        self
    }

    /// The observer pins these keys.
    pub fn with_trust(mut self, trust: TrustAnchors) -> Self {
        self.trust = Some(trust);
        self
    }

    /// The observer checks these receipts.
    pub fn with_receipts(mut self, receipts: Vec<Receipt>) -> Self {
        self.receipts = receipts;
        self
    }

    /// The observer checks these petition signatures' receipts.
    pub fn with_signature_receipts(mut self, receipts: Vec<SignatureReceipt>) -> Self {
        self.signature_receipts = receipts;
        self
    }

    /// The file names of the receipts, relative to the case directory.
    fn receipt_names(&self) -> Vec<String> {
        (0..self.receipts.len())
            .map(|i| format!("receipts/{i}.json"))
            .collect()
    }

    /// The file names of the signature receipts, relative to the case directory.
    fn signature_receipt_names(&self) -> Vec<String> {
        (0..self.signature_receipts.len())
            .map(|i| format!("receipts/signature-{i}.json"))
            .collect()
    }

    /// The options an observer runs the case with.
    pub fn options(&self) -> Options {
        Options {
            trust: self.trust.clone().unwrap_or_default(),
            receipts: self
                .receipt_names()
                .into_iter()
                .zip(&self.receipts)
                .map(|(name, receipt)| NamedReceipt {
                    name,
                    receipt: receipt.clone(),
                })
                .collect(),
            signature_receipts: self
                .signature_receipt_names()
                .into_iter()
                .zip(&self.signature_receipts)
                .map(|(name, receipt)| NamedSignatureReceipt {
                    name,
                    receipt: receipt.clone(),
                })
                .collect(),
            ..Options::default()
        }
    }

    /// Verify the case in memory.
    pub fn verify(&self) -> Result<Report, String> {
        verify_record(&self.record, self.options(), &mut NoProgress).map_err(|e| e.to_string())
    }

    /// Run the verifier, check the report against the declaration and derive the
    /// expectation. `Err` names the case and says what contradicts it.
    pub fn expectation(&self) -> Result<Expectation, String> {
        let report = self.verify()?;
        let bad = |why: String| Err(format!("case {}: {why}\n{}", self.name, report.to_human()));
        let status_of = |s: StepId| report.status(s);
        let mut failures = Vec::new();
        let target = match &self.expect {
            Expect::Pass => {
                if report.verdict() != Verdict::Pass {
                    return bad("an honest case does not pass".into());
                }
                None
            }
            Expect::Partial { target } => {
                if report.verdict() != Verdict::Partial
                    || report.status(*target) != Status::NotChecked
                {
                    return bad(format!("not partial with {target} NOT-CHECKED"));
                }
                Some(target.code().to_owned())
            }
            Expect::Fail {
                target,
                malicious_operator,
                location,
                only,
            } => {
                if status_of(*target) != Status::Fail {
                    return bad(format!("{target} does not fail"));
                }
                if *malicious_operator {
                    for s in [StepId::Record, StepId::Log, StepId::TreeHeads] {
                        if status_of(s) != Status::Pass {
                            return bad(format!("re-signed, yet {s} does not pass"));
                        }
                    }
                }
                if *only && report.failed_steps() != vec![*target] {
                    return bad(format!("steps other than {target} fail"));
                }
                let named: Vec<&Location> = report
                    .step(*target)
                    .map(|s| s.failures.iter().map(|f| &f.location).collect())
                    .unwrap_or_default();
                let at = match location {
                    Some(l) if named.contains(&l) => l.clone(),
                    Some(l) => return bad(format!("{target} does not name {l}")),
                    None => match first_by_leaf(&named) {
                        Some(l) => l.clone(),
                        None => return bad(format!("{target} names no location")),
                    },
                };
                failures.push(ExpectedFailure {
                    step: target.code().into(),
                    location: location_json(&at),
                });
                Some(target.code().to_owned())
            }
        };
        if let (Some(rule), Some(step)) = (&self.rule, &target) {
            if !rule.starts_with(&format!("{step}.")) {
                return bad(format!("rule {rule} is not a rule of {step}"));
            }
        }
        let malicious_operator = matches!(
            self.expect,
            Expect::Fail {
                malicious_operator: true,
                ..
            }
        );
        Ok(Expectation {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            record_version: RECORD_VERSION,
            case: self.name.clone(),
            about: self.about.clone(),
            target,
            rule: self.rule.clone(),
            malicious_operator,
            inputs: Inputs {
                record: "record".into(),
                trust: self.trust.as_ref().map(|_| "trust.json".into()),
                receipts: self
                    .receipt_names()
                    .into_iter()
                    .chain(self.signature_receipt_names())
                    .collect(),
            },
            verdict: super::json_name(report.verdict()),
            steps: STEPS
                .iter()
                .map(|s| StepExpectation {
                    step: s.id.into(),
                    status: super::json_name(report.status(s.step)),
                })
                .collect(),
            failures,
        })
    }
}

/// A generated record as the text of its files. The generator's records always
/// serialize; a failure here is a bug in it.
fn text(record: &SynthRecord) -> MemorySource {
    #[allow(clippy::expect_used)]
    record.source().expect("a generated record serializes")
}

fn write_record(dir: &Path, record: &MemorySource) -> Result<(), crate::VerifyError> {
    let mut w = RecordWriter::create(dir)?;
    w.header(&record.header)?;
    for e in &record.entries {
        w.entry(e)?;
    }
    for h in &record.tree_heads {
        w.tree_head(h)?;
    }
    w.finish().map(|_| ())
}

/// The leaf a location points at, if it points at one.
fn leaf_of(l: &Location) -> Option<u64> {
    match l {
        Location::Leaf { index } => Some(*index),
        Location::Act { leaf, .. } | Location::Ballot { leaf, .. } => Some(*leaf),
        Location::Electorate { leaf, .. }
        | Location::Petition { leaf, .. }
        | Location::Referendum { leaf, .. }
        | Location::Trustee { leaf, .. } => *leaf,
        Location::TreeHead { tree_size } => Some(*tree_size),
        Location::Record { .. } | Location::Witness { .. } | Location::Receipt { .. } => None,
    }
}

/// The location with the smallest leaf (then the smallest JSON text): the report's order
/// of failures found in parallel is not fixed, this choice is.
fn first_by_leaf<'a>(named: &[&'a Location]) -> Option<&'a Location> {
    named
        .iter()
        .copied()
        .min_by_key(|l| (leaf_of(l).unwrap_or(u64::MAX), location_json(l).to_string()))
}

fn pretty<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Write `cases` as a corpus into `dir` (`index.json` and `cases/NAME/…`). The caller
/// empties `dir` first if it wants no stale case left behind.
pub fn write_corpus(dir: &Path, cases: &[Case]) -> Result<(), String> {
    let mut index = Index {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        record_version: RECORD_VERSION,
        cases: Vec::new(),
    };
    for case in cases {
        if index.cases.iter().any(|c| c.case == case.name) {
            return Err(format!("two cases are named {}", case.name));
        }
        let expected = case.expectation()?;
        let at = super::case_dir(dir, &case.name);
        write_record(&at.join("record"), &case.record)
            .map_err(|e| format!("{}: {e}", case.name))?;
        if let Some(trust) = &case.trust {
            write(&at.join("trust.json"), &pretty(trust)?)?;
        }
        for (name, receipt) in case.receipt_names().iter().zip(&case.receipts) {
            write(&at.join(name), &pretty(receipt)?)?;
        }
        for (name, receipt) in case
            .signature_receipt_names()
            .iter()
            .zip(&case.signature_receipts)
        {
            write(&at.join(name), &pretty(receipt)?)?;
        }
        write(&at.join("expected.json"), &pretty(&expected)?)?;
        index.cases.push(IndexEntry {
            case: case.name.clone(),
            verdict: expected.verdict.clone(),
            target: expected.target.clone(),
            rule: expected.rule.clone(),
        });
    }
    write(&dir.join("index.json"), &pretty(&index)?)
}
