//! The referendum rules (voting window, standing, audits) that both the handlers (before a ballot is queued) and the
//! board writer (again, under the board lock) apply, as HTTP errors. The rules
//! themselves are vox-protocol's (`Manifest::voting_period`, the electorate's
//! `standing`), the code the verifier replays; this module only says how the server
//! words a refusal. It sits below the handlers and the writer, so the writer never
//! reaches into an HTTP handler.

use vox_protocol::ballot::Ballot;
use vox_protocol::board::Payload;
use vox_protocol::manifest::VotingPeriod;
use vox_protocol::petition::{Crossed, PetitionTracker, ThresholdKind};

use crate::board::WriteTx;
use crate::error::{standing_error, AppError};
use crate::state::{Derived, RefState, ReferendumInfo};

/// 409 `wrong-state`: the referendum is not in the state this needs.
pub fn wrong_state(r: &ReferendumInfo, wanted: &str) -> AppError {
    AppError::conflict(
        "wrong-state",
        format!(
            "referendum {} is {}; this needs it {wanted}",
            r.manifest.referendum_id,
            r.state.as_str()
        ),
    )
}

/// Whether ballots are accepted at `ts`: the referendum is open and `ts` is within
/// `[opens_at, closes_at)`.
pub fn voting_window(r: &ReferendumInfo, ts: i64) -> Result<(), AppError> {
    if r.state != RefState::Open {
        return Err(wrong_state(r, "open"));
    }
    match r.manifest.voting_period(ts) {
        VotingPeriod::Open => Ok(()),
        VotingPeriod::NotYetOpen => Err(AppError::conflict(
            "wrong-state",
            "voting has not started yet",
        )),
        VotingPeriod::Over => Err(AppError::conflict("wrong-state", "voting has closed")),
    }
}

/// The ballot's credential may vote at leaf `leaf` (04 §4.1.3: not revoked before it),
/// or an anonymous ballot's ring is one of the referendum's rings at that leaf (04
/// §4.10: a revocation since the handler's check changes them, 409), checked by the
/// writer under the board lock (every registrar act folded is before `leaf`).
pub fn ballot_standing(
    st: &Derived,
    r: &ReferendumInfo,
    ballot: &Ballot,
    leaf: u64,
) -> Result<(), AppError> {
    let Some(credential) = ballot.credential() else {
        let rings = st
            .referendum_rings(&r.manifest.referendum_id)
            .map_err(AppError::from)?;
        return ballot.check_ring(&rings).map(|_| ()).map_err(|_| {
            AppError::conflict(
                "rings-changed",
                "the referendum's rings changed since the ballot was made (a credential was \
                 revoked): derive them again and vote again",
            )
        });
    };
    st.electorates
        .get(&r.manifest.electorate_hash)
        .ok_or_else(|| AppError::internal("referendum without its electorate"))?
        .standing(credential, leaf)
        .map_err(|e| standing_error(e, "credential"))
}

/// The referendum `id` in the folded state, or 404.
pub fn get_ref<'a>(st: &'a Derived, id: &str) -> Result<&'a ReferendumInfo, AppError> {
    st.referendums
        .get(id)
        .ok_or_else(|| AppError::not_found("referendum", id))
}

/// Audits need the election key: the referendum is ready or later, and not failed
/// (protocol-spec/10-verifier.md §10.3).
pub fn audits_allowed(r: &ReferendumInfo) -> Result<(), AppError> {
    if r.joint.is_none() || matches!(r.state, RefState::KeyCeremony | RefState::Failed) {
        return Err(wrong_state(r, "past its key ceremony"));
    }
    Ok(())
}

/// Stage the threshold entries a change made the petition cross (`t` is the working copy
/// of its tracker, the change applied) and, right after the entry of the referendum
/// threshold, the `referendum-triggered` entry it obliges (07 §7.4): the manifest the
/// petition's terms and the panel in force determine at the write's time, applied to `t`
/// too. The caller holds the board lock, so the panel is the one in force.
pub fn push_thresholds(
    w: &mut WriteTx,
    st: &Derived,
    t: &mut PetitionTracker,
    crossed: Crossed,
) -> Result<(), AppError> {
    let id = t.petition.id.clone();
    for (kind, count) in crossed.0 {
        w.push(Payload::PetitionThreshold {
            petition_id: id.clone(),
            kind,
            count,
        })?;
        if kind != ThresholdKind::Referendum {
            continue;
        }
        let panel = st.panel.as_ref().map(|p| &p.panel);
        let Some(manifest) = t.due_referendum(panel, w.ts) else {
            // Publication needs terms and a panel, and a panel is never withdrawn.
            return Err(AppError::internal(format!(
                "petition {id} reached its referendum threshold without terms or a panel"
            )));
        };
        t.apply_referendum_triggered(&manifest, panel, w.ts)
            .map_err(AppError::internal)?;
        w.push(Payload::ReferendumTriggered { manifest })?;
    }
    Ok(())
}
