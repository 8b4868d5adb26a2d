//! Every case of the conformance corpus, in the order `index.json` lists them.
//!
//! The cases are edits of honest records built from fixed seeds ([`Bases`]); each
//! submodule owns the cases of a group of steps. A case's name is its directory; it
//! never changes once published (other verifiers refer to cases by name).

pub mod anonymous;
pub mod ceremony;
pub mod civic;
pub mod core;
pub mod honest;
pub mod more;
pub mod rings;
pub mod roles;
pub mod rules;
pub mod signature_receipts;

use super::generate::Case;
use crate::synth::{
    anonymous_referendum, failed_ceremony, honest, honest_rewitnessed, honest_with,
    qualified_ceremony, Enrolment, Honest, SynthRecord,
};
use vox_protocol::manifest::{DAY_MS, SCHEDULE_GRACE_MS};

/// The honest records the cases edit.
pub struct Bases {
    /// Electorate enrolled by code, no witness (seed 11): most cases edit this one.
    pub by_code: Honest,
    /// Electorate registered whole (seed 12).
    pub registered: Honest,
    /// Two witnesses cosigning every head, with receipts (seed 13).
    pub witnessed: Honest,
    /// A short record whose key ceremony fails legitimately (seed 14).
    pub failed_ceremony: SynthRecord,
    /// A short record whose ceremony completes over QUAL after dealer 1 never answered a
    /// complaint and the board disqualified it on time (seed 15), and the same with the
    /// disqualification two grace periods late (seed 16).
    pub qualified_ceremony: SynthRecord,
    /// See `qualified_ceremony`.
    pub late_disqualification: SynthRecord,
    /// Two witnesses, the first replaced by a third with a `witness-policy-set` early on
    /// (seed 17).
    pub rewitnessed: Honest,
    /// An anonymous-participation referendum (seed 18).
    pub anonymous: Honest,
}

impl Bases {
    /// Build the records (deterministic: every key and nonce comes from the seed).
    pub fn build() -> Result<Self, String> {
        let e = |e: crate::VerifyError| e.to_string();
        Ok(Self {
            by_code: honest(11, 0).map_err(e)?,
            registered: honest_with(12, 0, Enrolment::Registered).map_err(e)?,
            witnessed: honest(13, 2).map_err(e)?,
            failed_ceremony: failed_ceremony(14).map_err(e)?,
            qualified_ceremony: qualified_ceremony(15, DAY_MS + 1_000).map_err(e)?,
            late_disqualification: qualified_ceremony(16, DAY_MS + 2 * SCHEDULE_GRACE_MS)
                .map_err(e)?,
            rewitnessed: honest_rewitnessed(17).map_err(e)?,
            anonymous: anonymous_referendum(18).map_err(e)?,
        })
    }
}

/// Every case, built from `bases`.
pub fn all_from(bases: &Bases) -> Vec<Case> {
    let mut cases = honest::cases(bases);
    cases.extend(core::cases(bases));
    cases.extend(roles::cases(bases));
    cases.extend(civic::cases(bases));
    cases.extend(more::cases(bases));
    cases.extend(rules::cases(bases));
    cases.extend(ceremony::cases(bases));
    cases.extend(rings::cases(bases));
    cases.extend(anonymous::cases(bases));
    cases.extend(signature_receipts::cases(bases));
    cases
}

/// Every case.
pub fn all() -> Result<Vec<Case>, String> {
    Ok(all_from(&Bases::build()?))
}
