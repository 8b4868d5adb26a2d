//! The verification report: one verdict per step, with locations, counts and times
//! (protocol-spec/10-verifier.md §10.2).
//!
//! A step is PASS only when it checked everything it is responsible for and found no
//! fault; FAIL names every fault (the first [`MAX_FAILURES`] in detail); NOT-CHECKED
//! says what could not be checked and why, and is never counted as a pass.

use core::fmt;
use core::time::Duration;

use serde::Serialize;

use vox_protocol::roles::Role;

use crate::steps::{StepId, StepInfo, STEPS};

/// Failures kept in detail per step (the total is always counted).
pub const MAX_FAILURES: usize = 50;

/// Exit status: every step passed.
pub const EXIT_PASS: i32 = 0;
/// Exit status: at least one step failed.
pub const EXIT_FAIL: i32 = 1;
/// Exit status: usage, I/O or download error (no verdict).
pub const EXIT_ERROR: i32 = 2;
/// Exit status: nothing failed, but a step is NOT-CHECKED (the record is incomplete,
/// e.g. a referendum without a result yet) and `--allow-partial` was not given.
pub const EXIT_PARTIAL: i32 = 3;

/// The verdict of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Everything checked, nothing wrong.
    Pass,
    /// At least one fault.
    Fail,
    /// Something could not be checked (the reason is in the detail).
    NotChecked,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotChecked => "NOT-CHECKED",
        })
    }
}

/// Where a fault is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Location {
    /// The record as a whole, or one of its files or header fields.
    Record {
        /// What.
        what: String,
    },
    /// A log leaf.
    Leaf {
        /// Leaf index.
        index: u64,
    },
    /// An authority act (V4).
    Act {
        /// Leaf index.
        leaf: u64,
        /// The role whose act the entry is (`registrar`, `petitions-office`, …).
        role: Role,
    },
    /// A signed tree head.
    TreeHead {
        /// Its size.
        tree_size: u64,
    },
    /// A witness.
    Witness {
        /// Hex key.
        key: String,
    },
    /// An electorate.
    Electorate {
        /// Its id.
        electorate: String,
        /// Leaf, if any.
        leaf: Option<u64>,
    },
    /// A petition.
    Petition {
        /// Its id.
        petition: String,
        /// Leaf, if any.
        leaf: Option<u64>,
    },
    /// A referendum.
    Referendum {
        /// Its id.
        referendum: String,
        /// Leaf, if any.
        leaf: Option<u64>,
    },
    /// A cast or audited ballot.
    Ballot {
        /// Referendum.
        referendum: String,
        /// Leaf index.
        leaf: u64,
        /// The ballot's tracking code.
        tracking_code: String,
    },
    /// A trustee.
    Trustee {
        /// Referendum.
        referendum: String,
        /// Trustee index.
        trustee: u32,
        /// Leaf, if any.
        leaf: Option<u64>,
    },
    /// A receipt given with `--receipt`.
    Receipt {
        /// File name or label.
        name: String,
    },
}

fn leaf_suffix(leaf: &Option<u64>) -> String {
    leaf.map(|l| format!(" (leaf {l})")).unwrap_or_default()
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Record { what } => write!(f, "record {what}"),
            Location::Leaf { index } => write!(f, "leaf {index}"),
            Location::Act { leaf, role } => write!(f, "leaf {leaf} ({role} act)"),
            Location::TreeHead { tree_size } => write!(f, "tree head of size {tree_size}"),
            Location::Witness { key } => write!(f, "witness {key}"),
            Location::Electorate { electorate, leaf } => {
                write!(f, "electorate {electorate}{}", leaf_suffix(leaf))
            }
            Location::Petition { petition, leaf } => {
                write!(f, "petition {petition}{}", leaf_suffix(leaf))
            }
            Location::Referendum { referendum, leaf } => {
                write!(f, "referendum {referendum}{}", leaf_suffix(leaf))
            }
            Location::Ballot {
                referendum,
                leaf,
                tracking_code,
            } => write!(
                f,
                "leaf {leaf}, ballot {tracking_code} of referendum {referendum}"
            ),
            Location::Trustee {
                referendum,
                trustee,
                leaf,
            } => write!(
                f,
                "trustee {trustee} of referendum {referendum}{}",
                leaf_suffix(leaf)
            ),
            Location::Receipt { name } => write!(f, "receipt {name}"),
        }
    }
}

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Where.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// The outcome of one step.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    /// `"V1"` …
    pub id: StepId,
    /// Title from [`STEPS`].
    pub title: &'static str,
    /// Spec section.
    pub spec: &'static str,
    /// The verdict.
    pub status: Status,
    /// How many items the step checked.
    pub checked: u64,
    /// What the items are ("entries", "ballots", …).
    pub unit: &'static str,
    /// Summary (counts, and for NOT-CHECKED the reasons).
    pub detail: String,
    /// Reasons something was not checked.
    pub not_checked: Vec<String>,
    /// The first [`MAX_FAILURES`] faults.
    pub failures: Vec<Failure>,
    /// All faults, including those not kept in detail.
    pub failures_total: u64,
    /// Time spent in this step (wall clock, summed over the passes). V2's decoding of a
    /// block overlaps the checks of the previous one in `verify_record`, so the steps'
    /// times can add up to more than the run's.
    #[serde(serialize_with = "ser_ms")]
    pub elapsed_ms: Duration,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// What a referendum looked like to the verifier.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReferendumSummary {
    /// Id.
    pub id: String,
    /// Last lifecycle state reached.
    pub state: String,
    /// Whether its ballots, tally and result were verified (the focus of the run).
    pub verified: bool,
    /// BallotCast entries.
    pub ballots_cast: u64,
    /// Ballots counted (last per credential).
    pub counted: u64,
    /// Audited (spoiled) ballots.
    pub audited: u64,
    /// The verified result, if published.
    pub result: Option<Vec<Vec<u64>>>,
}

/// What a petition looked like to the verifier.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PetitionSummary {
    /// Id.
    pub id: String,
    /// Stage.
    pub stage: String,
    /// Recomputed count.
    pub count: u64,
    /// Thresholds reached.
    pub thresholds: Vec<String>,
}

/// The overall verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every step passed.
    Pass,
    /// Some step failed.
    Fail,
    /// Nothing failed but something was not checked.
    Partial,
}

/// The full report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Log size.
    pub tree_size: u64,
    /// Log id (hex), if the header could be read.
    pub log_id: Option<String>,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
    /// Referendums seen.
    pub referendums: Vec<ReferendumSummary>,
    /// Petitions seen.
    pub petitions: Vec<PetitionSummary>,
    /// Total time.
    #[serde(serialize_with = "ser_ms")]
    pub elapsed_ms: Duration,
}

impl Report {
    /// The step report of `step`.
    pub fn step(&self, step: StepId) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.id == step)
    }

    /// The status of `step` (NOT-CHECKED if absent).
    pub fn status(&self, step: StepId) -> Status {
        self.step(step).map_or(Status::NotChecked, |s| s.status)
    }

    /// Steps that failed.
    pub fn failed_steps(&self) -> Vec<StepId> {
        self.steps
            .iter()
            .filter(|s| s.status == Status::Fail)
            .map(|s| s.id)
            .collect()
    }

    /// FAIL if any step failed; PARTIAL if a record step is NOT-CHECKED (a step that
    /// needs outside input, like receipts, does not count when that input was absent);
    /// PASS otherwise.
    pub fn verdict(&self) -> Verdict {
        if self.steps.iter().any(|s| s.status == Status::Fail) {
            return Verdict::Fail;
        }
        let partial = self.steps.iter().any(|s| {
            s.status == Status::NotChecked && !(s.id.info().needs_input && s.checked == 0)
        });
        if partial {
            Verdict::Partial
        } else {
            Verdict::Pass
        }
    }

    /// The process exit status for this report ([`EXIT_PASS`], [`EXIT_FAIL`],
    /// [`EXIT_PARTIAL`]; `allow_partial` turns PARTIAL into 0).
    pub fn exit_code(&self, allow_partial: bool) -> i32 {
        match self.verdict() {
            Verdict::Pass => EXIT_PASS,
            Verdict::Fail => EXIT_FAIL,
            Verdict::Partial if allow_partial => EXIT_PASS,
            Verdict::Partial => EXIT_PARTIAL,
        }
    }

    /// The human report: one line per step, then the faults.
    pub fn to_human(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            out.push_str(&format!(
                "{:<4} {:<11} {:<39} {:>10} {:<14} {:>8.2} s  {}\n",
                s.id.code(),
                s.status.to_string(),
                s.title,
                s.checked,
                s.unit,
                s.elapsed_ms.as_secs_f64(),
                s.detail
            ));
        }
        for s in self.steps.iter().filter(|s| s.failures_total > 0) {
            out.push_str(&format!(
                "\n{} {} — {} fault(s):\n",
                s.id.code(),
                s.title,
                s.failures_total
            ));
            for f in &s.failures {
                out.push_str(&format!("  {f}\n"));
            }
            let hidden = s.failures_total.saturating_sub(s.failures.len() as u64);
            if hidden > 0 {
                out.push_str(&format!("  … and {hidden} more\n"));
            }
        }
        for s in self.steps.iter().filter(|s| !s.not_checked.is_empty()) {
            out.push_str(&format!("\n{} not checked:\n", s.id.code()));
            for r in &s.not_checked {
                out.push_str(&format!("  {r}\n"));
            }
        }
        for r in &self.referendums {
            if let Some(counts) = &r.result {
                out.push_str(&format!(
                    "\nreferendum {}: {} counted ballots, result {:?}\n",
                    r.id, r.counted, counts
                ));
            }
        }
        out.push_str(&format!(
            "\nverdict: {} ({} entries, {:.2} s)\n",
            match self.verdict() {
                Verdict::Pass => "PASS",
                Verdict::Fail => "FAIL",
                Verdict::Partial => "PARTIAL (some steps NOT-CHECKED)",
            },
            self.tree_size,
            self.elapsed_ms.as_secs_f64()
        ));
        out
    }

    /// The JSON report (`--json`), with the verdict.
    pub fn to_json(&self, allow_partial: bool) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "verdict".into(),
                serde_json::to_value(self.verdict()).unwrap_or(serde_json::Value::Null),
            );
            obj.insert(
                "exit_code".into(),
                serde_json::Value::from(self.exit_code(allow_partial)),
            );
        }
        v
    }
}

/// Accumulates one step's outcome while the verifier runs.
#[derive(Clone, Debug)]
pub(crate) struct StepState {
    pub info: &'static StepInfo,
    pub checked: u64,
    pub failures: Vec<Failure>,
    pub failures_total: u64,
    pub not_checked: Vec<String>,
    pub notes: Vec<String>,
    pub elapsed: Duration,
}

impl StepState {
    pub fn new(info: &'static StepInfo) -> Self {
        Self {
            info,
            checked: 0,
            failures: Vec::new(),
            failures_total: 0,
            not_checked: Vec::new(),
            notes: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    pub fn fail(&mut self, location: Location, message: impl Into<String>) {
        self.failures_total += 1;
        if self.failures.len() < MAX_FAILURES {
            self.failures.push(Failure {
                location,
                message: message.into(),
            });
        }
    }

    pub fn finish(self, unit: &'static str) -> StepReport {
        let status = if self.failures_total > 0 {
            Status::Fail
        } else if !self.not_checked.is_empty() {
            Status::NotChecked
        } else {
            Status::Pass
        };
        let mut detail = self.notes.join("; ");
        if let Some(first) = self.failures.first() {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(&format!("first fault: {first}"));
        } else if let Some(reason) = self.not_checked.first() {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(&format!("not checked: {reason}"));
        }
        StepReport {
            id: self.info.step,
            title: self.info.title,
            spec: self.info.spec,
            status,
            checked: self.checked,
            unit,
            detail,
            not_checked: self.not_checked,
            failures: self.failures,
            failures_total: self.failures_total,
            elapsed_ms: self.elapsed,
        }
    }
}

/// The step states of one run, in [`STEPS`] order.
#[derive(Clone, Debug)]
pub(crate) struct Steps {
    states: Vec<StepState>,
    // Never reached: every step has a row in STEPS (a unit test checks it).
    sink: StepState,
}

impl Steps {
    pub fn new() -> Self {
        Self {
            states: STEPS.iter().map(StepState::new).collect(),
            sink: StepState::new(StepId::Record.info()),
        }
    }

    pub fn get(&mut self, step: StepId) -> &mut StepState {
        match self.states.iter_mut().find(|s| s.info.step == step) {
            Some(s) => s,
            None => &mut self.sink,
        }
    }

    pub fn into_states(self) -> Vec<StepState> {
        self.states
    }
}
