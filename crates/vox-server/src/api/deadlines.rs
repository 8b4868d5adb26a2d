//! The key ceremony's complaint deadline (protocol-spec/06-ceremony.md §6.11): a dealer
//! accused by a complaint has the manifest's `answer_due_ms` from the complaint's board
//! timestamp to answer; after that the server's sweep disqualifies it by a
//! `trustee-disqualified` entry (tag 28), so that no silent trustee can hold a ceremony
//! open forever. The rules are the shared [`CeremonyTracker`]'s; this module only
//! decides when to ask it.

use vox_crypto::threshold::JointPublicKeys;
use vox_protocol::board::{ComplaintRef, DisqualificationReason, Payload};
use vox_protocol::ceremony::CeremonyTracker;

use crate::api::referendums::push_completed;
use crate::app::AppState;
use crate::board::WriteTx;
use crate::error::AppError;
use crate::extract::JsonResponse;
use crate::state::RefState;

/// Disqualify `complaint`'s dealer on a copy of the tracker and stage the
/// `trustee-disqualified` entry at the write's timestamp. Returns the joint keys over
/// QUAL if this completes the ceremony (the caller appends `ceremony-completed`).
pub(crate) fn disqualify(
    w: &mut WriteTx,
    tracker: &mut CeremonyTracker,
    referendum_id: &str,
    complaint: ComplaintRef,
    reason: DisqualificationReason,
) -> Result<Option<JointPublicKeys>, AppError> {
    let joint = tracker.disqualify(complaint.dealer, complaint, reason, w.ts)?;
    w.push(Payload::TrusteeDisqualified {
        referendum_id: referendum_id.to_owned(),
        trustee: complaint.dealer,
        complaint,
        reason,
    })?;
    Ok(joint)
}

/// The sweep: for every referendum in its key ceremony, disqualify the dealer of each
/// complaint whose answer deadline has passed (reason `unanswered`), then append
/// `ceremony-completed` if the remaining trustees have all confirmed. Each referendum
/// is one write, re-checked under the board lock (another process may have answered or
/// swept meanwhile).
pub async fn ceremony_deadlines(s: &AppState) -> Result<(), AppError> {
    s.board.catch_up().await?;
    let now = s.board.clock.now_ms();
    let due: Vec<String> = {
        let st = s.board.read();
        st.referendum_order
            .iter()
            .filter(|id| {
                st.referendums.get(*id).is_some_and(|r| {
                    r.state == RefState::KeyCeremony && !r.ceremony.overdue(now).is_empty()
                })
            })
            .cloned()
            .collect()
    };
    for id in due {
        let r = s
            .write(None, |w, st, _| {
                let Some(r) = st.referendums.get(&id) else {
                    return JsonResponse::ok(&());
                };
                if r.state != RefState::KeyCeremony {
                    return JsonResponse::ok(&());
                }
                let mut c = r.ceremony.clone();
                let mut joint = None;
                // `overdue` lists one complaint per dealer; a disqualification may close
                // others (or fail the ceremony), so ask again after each.
                while let Some(complaint) = c.overdue(w.ts).first().copied() {
                    joint = disqualify(
                        w,
                        &mut c,
                        &id,
                        complaint,
                        DisqualificationReason::Unanswered,
                    )?;
                    if joint.is_some() {
                        break;
                    }
                }
                if let Some(joint) = joint {
                    push_completed(w, &id, &joint)?;
                }
                JsonResponse::ok(&())
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(referendum = %id, detail = %e.detail, "could not sweep the ceremony deadline");
        }
    }
    Ok(())
}
