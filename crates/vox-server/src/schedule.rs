//! The referendum schedule (10 §10.3, V15): what the board does by itself, on time,
//! for every referendum — open it at `opens_at` once its ceremony completed, close it at
//! `closes_at` and tally it right after, publish the result once k valid decryption
//! shares are on the board, and name the trustees without a share once the decryption
//! deadline (tally time + `decryption_due_ms`) has passed.
//!
//! [`run_schedule`] runs from the sweeper every `sweep_interval_ms`. Each step is its
//! own write transaction that checks the state again under the board lock (another
//! process may have done it meanwhile: then it does nothing, or refuses with a 409 that
//! is not an error here). Failures are logged and retried on the next sweep.

use vox_protocol::board::Payload;

use crate::api::referendums::{close_now, open_now, publish_now, tally_now};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::JsonResponse;
use crate::state::RefState;

/// One scheduled step that is due.
#[derive(Debug)]
enum Step {
    Open,
    CloseAndTally,
    Tally,
    Publish,
    Overdue,
}

/// Run every step that is due now, referendum by referendum, in creation order.
pub async fn run_schedule(s: &AppState) -> Result<(), AppError> {
    s.board.catch_up().await?;
    let now = s.board.clock.now_ms();
    let due: Vec<(String, Vec<Step>)> = {
        let st = s.board.read();
        st.referendum_order
            .iter()
            .filter_map(|id| {
                let r = st.referendums.get(id)?;
                let m = &r.manifest;
                let mut steps = Vec::new();
                match r.state {
                    RefState::Ready if now >= m.opens_at => steps.push(Step::Open),
                    RefState::Open if now >= m.closes_at => steps.push(Step::CloseAndTally),
                    RefState::Closed => steps.push(Step::Tally),
                    RefState::Tallied if r.shares.len() >= m.threshold as usize => {
                        steps.push(Step::Publish)
                    }
                    _ => {}
                }
                if matches!(r.state, RefState::Tallied | RefState::Published)
                    && r.overdue.is_none()
                    && r.decryption_deadline().is_some_and(|d| now > d)
                    && !r.silent_trustees().is_empty()
                {
                    steps.push(Step::Overdue);
                }
                (!steps.is_empty()).then(|| (id.clone(), steps))
            })
            .collect()
    };
    for (id, steps) in due {
        for step in steps {
            let r = match step {
                Step::Open => open_now(s, &id, None).await.map(drop),
                Step::CloseAndTally => match close_now(s, &id, None).await {
                    Ok(_) => tally_now(s, &id, None).await.map(drop),
                    Err(e) => Err(e),
                },
                Step::Tally => tally_now(s, &id, None).await.map(drop),
                Step::Publish => publish_now(s, &id, None).await.map(drop),
                Step::Overdue => name_overdue(s, &id).await,
            };
            match r {
                Ok(()) => {}
                // Done meanwhile (by a request or another process): nothing to do.
                Err(e) if e.status.as_u16() == 409 => {
                    tracing::debug!(referendum = %id, ?step, detail = %e.detail, "schedule step not due any more");
                }
                Err(e) => {
                    tracing::warn!(referendum = %id, ?step, detail = %e.detail, "schedule step failed");
                }
            }
        }
    }
    Ok(())
}

/// Append `shares-overdue` naming the manifest's trustees without a decryption share,
/// if the decryption deadline has passed at the write's time, some trustee is silent and
/// none was named yet (checked under the board lock).
async fn name_overdue(s: &AppState, id: &str) -> Result<(), AppError> {
    let id = id.to_owned();
    s.write(None, move |w, st, _| {
        let Some(r) = st.referendums.get(&id) else {
            return JsonResponse::ok(&());
        };
        let silent = r.silent_trustees();
        let due = matches!(r.state, RefState::Tallied | RefState::Published)
            && r.overdue.is_none()
            && r.decryption_deadline().is_some_and(|d| w.ts > d)
            && !silent.is_empty();
        if due {
            w.push(Payload::SharesOverdue {
                referendum_id: id.clone(),
                trustees: silent,
            })?;
        }
        JsonResponse::ok(&())
    })
    .await
    .map(drop)
}
