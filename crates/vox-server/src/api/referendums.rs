//! Referendums: creation from a manifest (optionally from a petition), the trustees' key
//! ceremony, opening, casting (verified in parallel, group-committed by
//! [`crate::writer`]), Benaloh audits, closing, the homomorphic tally, decryption shares
//! and the published result. Every transition is a board entry.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use rand::rngs::OsRng;
use sqlx::Row;
use vox_crypto::batch::SingleVerifier;
use vox_crypto::credential::CredentialPublicKey;
use vox_crypto::dlog::DlogTable;
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey};
use vox_crypto::threshold::JointPublicKeys;
use vox_crypto::{Hash32, Point};
use vox_protocol::api::{
    BallotStanding, BallotStatus, CeremonyPhaseName, CeremonyPosted, CeremonyView, LatestBallot,
    ReferendumCreated, ReferendumDetail, ReferendumState, ReferendumSummary, SharePosted,
};
use vox_protocol::ballot::{AuditedBallot, Ballot, BallotContext, Voter, VoterProof};
use vox_protocol::board::{DisqualificationReason, EncryptedTally, Payload};
use vox_protocol::ceremony::{
    completed_payload, CeremonyBody, CeremonyMessage, CeremonyPhase, DecryptionShareMessage,
};
use vox_protocol::encoding::{human_code, Hashable};
use vox_protocol::manifest::Manifest;
use vox_protocol::tally::{counted_hash, counts_from_slots, slot_bounds, ReferendumResult};
use vox_protocol::ProtocolError;

use crate::acts::{authorize, parse_act, ActKind};
use crate::api::petitions::unusable_electorate;
use crate::app::AppState;
use crate::board::to_u64;
use crate::error::{standing_error, took_part_error, AppError};
use crate::extract::{ApiJson, ApiResult, Idem, JsonResponse, MaybeIdem, RawBody};
use crate::rules::{audits_allowed, get_ref, voting_window, wrong_state};
use crate::state::{phase_name, ElectorateInfo, PanelInForce, RefState, ReferendumInfo};
use crate::writer::{Job, PendingWrite};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes, each registered with its OpenAPI operation (`#[utoipa::path]`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show))
        .routes(routes!(ceremony, ceremony_message))
        .routes(routes!(open))
        .routes(routes!(cast))
        .routes(routes!(ballot_status))
        .routes(routes!(latest_ballot))
        .routes(routes!(audit))
        .routes(routes!(close))
        .routes(routes!(show_panel, set_panel))
        .routes(routes!(get_tally, compute_tally))
        .routes(routes!(decryption_share))
        .routes(routes!(publish))
        .routes(routes!(result))
}

/// The wire name of a ceremony phase.
fn phase_of(p: &CeremonyPhase) -> CeremonyPhaseName {
    match p {
        CeremonyPhase::Commit => CeremonyPhaseName::Commit,
        CeremonyPhase::Reveal => CeremonyPhaseName::Reveal,
        CeremonyPhase::Shares => CeremonyPhaseName::Shares,
        CeremonyPhase::Confirm => CeremonyPhaseName::Confirm,
        CeremonyPhase::Complete => CeremonyPhaseName::Complete,
        CeremonyPhase::Failed { .. } => CeremonyPhaseName::Failed,
    }
}

fn summary(r: &ReferendumInfo) -> ReferendumSummary {
    ReferendumSummary {
        id: r.manifest.referendum_id.clone(),
        title: r.manifest.title.clone(),
        state: r.state,
        opens_at: r.manifest.opens_at,
        closes_at: r.manifest.closes_at,
        ballots_cast: r.ballots_cast,
        source_petition: r.manifest.source_petition.clone(),
    }
}

/// Before waiting for the witnesses (an entry that ends a phase): a request the state
/// refuses anyway is answered at once, not after the wait. Checked again under the lock.
fn precheck_state(s: &AppState, id: &str, want: RefState, what: &str) -> Result<(), AppError> {
    let st = s.board.read();
    let r = get_ref(&st, id)?;
    if r.state != want {
        return Err(wrong_state(r, what));
    }
    Ok(())
}

/// Decryption shares are accepted once the tally exists (tallied or published).
fn shares_allowed(r: &ReferendumInfo) -> Result<Arc<EncryptedTally>, AppError> {
    match (&r.state, &r.tally) {
        (RefState::Tallied | RefState::Published, Some(t)) => Ok(Arc::clone(t)),
        _ => Err(wrong_state(r, "tallied")),
    }
}

/// What validation outside the lock needs, copied out of the state.
struct Snapshot {
    manifest: Arc<Manifest>,
    manifest_hash: Hash32,
    joint: Option<Arc<JointPublicKeys>>,
    electorate: Option<Arc<ElectorateInfo>>,
    info: ReferendumInfo,
}

async fn snapshot(s: &AppState, id: &str) -> Result<Snapshot, AppError> {
    if !s.board.read().referendums.contains_key(id) {
        // Maybe another process created it.
        s.board.catch_up().await?;
    }
    let st = s.board.read();
    let r = get_ref(&st, id)?;
    Ok(Snapshot {
        manifest: Arc::clone(&r.manifest),
        manifest_hash: r.manifest_hash,
        joint: r.joint.clone(),
        electorate: st.electorates.get(&r.manifest.electorate_hash).cloned(),
        info: r.clone(),
    })
}

/// `snap` if it passes `check`. This process's fold may lag behind entries another
/// process appended (the opening of the referendum, say): before refusing, catch up once
/// and check a fresh snapshot, so that a process never refuses from a state the board has
/// left. (The decisive check is repeated under the board lock anyway.)
async fn recheck(
    s: &AppState,
    id: &str,
    snap: Snapshot,
    check: impl Fn(&Snapshot) -> Result<(), AppError>,
) -> Result<Snapshot, AppError> {
    if check(&snap).is_ok() {
        return Ok(snap);
    }
    s.board.catch_up().await?;
    let snap = snapshot(s, id).await?;
    check(&snap)?;
    Ok(snap)
}

impl Snapshot {
    fn election_key(&self) -> Result<ElectionPublicKey, AppError> {
        self.joint
            .as_ref()
            .map(|j| *j.election_key())
            .ok_or_else(|| wrong_state(&self.info, "past its key ceremony"))
    }

    fn electorate(&self) -> Result<Arc<ElectorateInfo>, AppError> {
        self.electorate
            .clone()
            .ok_or_else(|| AppError::internal("referendum without its electorate"))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(AppError::internal)?
}

// ---- list, create, show ------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/referendums",
    tag = "referendums",
    summary = "Referendum summaries",
    responses(
        (status = 200, description = "every referendum", body = Vec<vox_protocol::api::ReferendumSummary>),
    )
)]
async fn list(State(s): State<AppState>) -> ApiResult {
    s.board.catch_up().await?;
    let st = s.board.read();
    let out: Vec<ReferendumSummary> = st
        .referendum_order
        .iter()
        .filter_map(|id| st.referendums.get(id))
        .map(summary)
        .collect();
    JsonResponse::ok(&out)
}

#[utoipa::path(
    post,
    path = "/api/v1/referendums",
    tag = "referendums",
    summary = "Create a referendum from a manifest (election-authority act)",
    description = r#"The body is the board payload of the act, signed by the election authority's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule."#,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 201, description = "created", body = vox_protocol::api::ReferendumCreated),
    )
)]
async fn create(
    State(s): State<AppState>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::ReferendumCreated, &body)?;
    let Payload::ReferendumCreated { manifest, .. } = &payload else {
        return Err(AppError::internal("parsed act of another kind"));
    };
    let manifest = manifest.clone();
    let manifest_hash = manifest.canonical_hash();
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        if let Some(pid) = &manifest.source_petition {
            return Err(AppError::invalid(
                "manifest/source_petition",
                format!(
                    "names petition {pid:?}: the referendum a petition obliges is created by \
                     the board itself when the petition reaches its referendum threshold \
                     (referendum-triggered, 07 §7.4), never by an act"
                ),
            ));
        }
        if let Some(pid) = st.reserved_ids.get(&manifest.referendum_id) {
            return Err(AppError::invalid(
                "manifest/referendum_id",
                format!(
                    "referendum id {:?} is reserved for the referendum petition {pid:?} obliges",
                    manifest.referendum_id
                ),
            ));
        }
        if st.referendums.contains_key(&manifest.referendum_id) {
            return Err(AppError::conflict(
                "already-exists",
                format!("referendum {:?} already exists", manifest.referendum_id),
            )
            .with_field("manifest/referendum_id"));
        }
        let Some(electorate) = st.electorates.get(&manifest.electorate_hash) else {
            return Err(unusable_electorate(
                st,
                &manifest.electorate_hash,
                "manifest/electorate_hash",
            ));
        };
        // Every slot's total must stay within the discrete-log limit (04 §4.2 rule 6).
        manifest
            .check_slot_bound(electorate.electorate.entries.len() as u64)
            .map_err(|e| match e {
                vox_protocol::ProtocolError::Invalid { field, reason } => {
                    AppError::invalid(format!("manifest/{field}"), reason)
                }
                other => AppError::from(other),
            })?;
        let leaf_index = w.push(payload)?;
        JsonResponse::created(&ReferendumCreated {
            referendum_id: manifest.referendum_id,
            manifest_hash,
            state: ReferendumState::KeyCeremony,
            leaf_index,
        })
    })
    .await
}

fn failure_reason(p: &CeremonyPhase) -> Option<&str> {
    match p {
        CeremonyPhase::Failed { reason } => Some(reason),
        _ => None,
    }
}

async fn counted_now(s: &AppState, id: &str) -> Result<u64, AppError> {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM latest_ballot WHERE referendum_id = $1")
        .bind(id)
        .fetch_one(&s.board.db.pool)
        .await?
        .try_get(0)?;
    Ok(to_u64(n))
}

#[utoipa::path(
    get,
    path = "/api/v1/referendums/{id}",
    tag = "referendums",
    summary = "A referendum (with leaf_index, ceremony_leaves, completed_leaf and role_rotation_leaves: where a device finds the entries defining its key)",
    params(
        ("id" = String, Path, description = "The referendum id"),
    ),
    responses(
        (status = 200, description = "the referendum", body = vox_protocol::api::ReferendumDetail),
    )
)]
async fn show(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.board.catch_up().await?;
    let needs_count = {
        let st = s.board.read();
        let r = get_ref(&st, &id)?;
        matches!(r.state, RefState::Closed)
    };
    let counted = if needs_count {
        Some(counted_now(&s, &id).await?)
    } else {
        None
    };
    let st = s.board.read();
    let r = get_ref(&st, &id)?;
    let (election_key, public_shares) = match r.joint.as_deref().map(completed_payload) {
        Some(Ok((k, shares))) => (Some(k), Some(shares)),
        _ => (None, None),
    };
    JsonResponse::ok(&ReferendumDetail {
        manifest: Manifest::clone(&r.manifest),
        manifest_hash: r.manifest_hash,
        state: r.state,
        ceremony_phase: phase_of(&r.ceremony.phase),
        failure_reason: failure_reason(&r.ceremony.phase).map(str::to_owned),
        election_key,
        public_shares,
        ballots_cast: r.ballots_cast,
        audited_ballots: r.audited,
        counted_ballots: r.tally.as_ref().map(|t| t.counted_ballots).or(counted),
        result: r.result.clone(),
        leaf_index: r.leaf_index,
        ceremony_leaves: r.ceremony_leaves.clone(),
        completed_leaf: r.completed_leaf,
        role_rotation_leaves: st
            .rotation_leaves
            .iter()
            .copied()
            .filter(|l| *l < r.leaf_index)
            .collect(),
        trigger: r.trigger,
    })
}

// ---- key ceremony --------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/referendums/{id}/ceremony",
    tag = "referendums",
    summary = "Key ceremony state",
    params(
        ("id" = String, Path, description = "The referendum id"),
    ),
    responses(
        (status = 200, description = "the ceremony", body = vox_protocol::api::CeremonyView),
    )
)]
async fn ceremony(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.board.catch_up().await?;
    let st = s.board.read();
    let r = get_ref(&st, &id)?;
    let c = &r.ceremony;
    let n = u32::try_from(r.manifest.trustees.len()).unwrap_or(0);
    JsonResponse::ok(&CeremonyView {
        phase: phase_of(&c.phase),
        failure_reason: failure_reason(&c.phase).map(str::to_owned),
        keys: c.trustee_keys(),
        commitments: c.commitments(),
        reveals: c.reveals(),
        shares: (1..=n).flat_map(|i| c.shares_for(i)).collect(),
        complaints: c.complaints().to_vec(),
        answers: r.answers.clone(),
        confirmed: r.confirmed.clone(),
        disqualified: (1..=n).filter(|i| c.is_disqualified(*i)).collect(),
    })
}

/// Whether a message of this kind can arrive in this phase (out of phase → 409).
fn expected_now(phase: &CeremonyPhase, body: &CeremonyBody) -> bool {
    matches!(
        (phase, body),
        (CeremonyPhase::Commit, CeremonyBody::Commit { .. })
            | (CeremonyPhase::Reveal, CeremonyBody::Reveal { .. })
            | (CeremonyPhase::Shares, CeremonyBody::Shares { .. })
            | (
                CeremonyPhase::Confirm,
                CeremonyBody::Confirm
                    | CeremonyBody::Complaint { .. }
                    | CeremonyBody::Answer { .. }
            )
    )
}

/// Append `ceremony-completed` with the joint keys over QUAL.
pub(crate) fn push_completed(
    w: &mut crate::board::WriteTx,
    id: &str,
    joint: &JointPublicKeys,
) -> Result<u64, AppError> {
    let (election_key, public_shares) = completed_payload(joint)?;
    w.push(Payload::CeremonyCompleted {
        referendum_id: id.to_owned(),
        election_key,
        public_shares,
    })
}

/// Tracker errors about what was already said are conflicts; the rest is invalid input.
fn ceremony_error(e: ProtocolError) -> AppError {
    match &e {
        ProtocolError::Invalid { field, reason }
            if reason.contains("already")
                || reason.contains("open complaint")
                || reason.contains("not expected now") =>
        {
            AppError::conflict("wrong-state", reason.clone()).with_field(field.clone())
        }
        _ => AppError::from(e),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/referendums/{id}/ceremony",
    tag = "referendums",
    summary = "Trustee ceremony message (trustee-signed)",
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::ceremony::CeremonyMessage, content_type = "application/json"),
    responses(
        (status = 201, description = "accepted", body = vox_protocol::api::CeremonyPosted),
    )
)]
async fn ceremony_message(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    ApiJson(msg): ApiJson<CeremonyMessage>,
) -> ApiResult {
    let snap = snapshot(&s, &id).await?;
    if msg.referendum_id != id {
        return Err(AppError::invalid(
            "referendum_id",
            "does not match the referendum in the path",
        ));
    }
    let msg = blocking(move || {
        msg.verify_signature(&snap.manifest, &snap.manifest_hash)?;
        Ok(msg)
    })
    .await?;
    s.write(idem.as_ref(), move |w, st, _| {
        let r = get_ref(st, &id)?;
        if r.state != RefState::KeyCeremony || !expected_now(&r.ceremony.phase, &msg.body) {
            return Err(AppError::conflict(
                "wrong-state",
                format!(
                    "not expected now: the ceremony is in the {} phase",
                    phase_name(&r.ceremony.phase)
                ),
            )
            .with_field("body/step"));
        }
        let mut c = r.ceremony.clone();
        let mut joint = c.apply(&r.manifest, &msg, w.ts).map_err(ceremony_error)?;
        let leaf_index = w.push(Payload::Ceremony { message: msg })?;
        // A bad answer: its dealer's disqualification is the very next entry, in the
        // same write (06 §6.11, V8.4).
        if let Some(complaint) = c.pending_disqualification() {
            joint = crate::api::deadlines::disqualify(
                w,
                &mut c,
                &id,
                complaint,
                DisqualificationReason::BadAnswer,
            )?;
        }
        if let Some(joint) = joint {
            push_completed(w, &id, &joint)?;
        }
        JsonResponse::created(&CeremonyPosted {
            leaf_index,
            phase: phase_of(&c.phase),
            failure_reason: failure_reason(&c.phase).map(str::to_owned),
        })
    })
    .await
}

// ---- the trustee panel ----------------------------------------------------------------

/// The standing trustee panel in force and where it was set.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PanelView {
    /// The panel.
    pub panel: vox_protocol::manifest::TrusteePanel,
    /// Leaf of its `trustee-panel-set` entry.
    pub leaf_index: u64,
    /// Its board timestamp (Unix ms).
    pub set_at: i64,
}

fn panel_view(p: &PanelInForce) -> PanelView {
    PanelView {
        panel: p.panel.clone(),
        leaf_index: p.leaf_index,
        set_at: p.set_at,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/panel",
    tag = "referendums",
    summary = "The standing trustee panel in force: who runs the ceremony of every referendum a petition triggers (404 if none)",
    responses(
        (status = 200, description = "the panel", body = PanelView),
    )
)]
async fn show_panel(State(s): State<AppState>) -> ApiResult {
    s.board.catch_up().await?;
    let st = s.board.read();
    match &st.panel {
        Some(p) => JsonResponse::ok(&panel_view(p)),
        None => Err(AppError::not_found("trustee panel", "in force")),
    }
}

/// `POST /api/v1/panel`: a signed `trustee-panel-set` act (election authority). It
/// replaces the panel in force; referendums already triggered keep their trustees.
#[utoipa::path(
    post,
    path = "/api/v1/panel",
    tag = "referendums",
    summary = "Set the standing trustee panel (election-authority act; 422 for an invalid panel)",
    description = r#"The body is the board payload of the act, signed by the election authority's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, or an invalid panel (trustee indices 1..=n, 1 ≤ threshold ≤ n, positive deadlines)."#,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 201, description = "set", body = PanelView),
    )
)]
async fn set_panel(
    State(s): State<AppState>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::TrusteePanelSet, &body)?;
    let Payload::TrusteePanelSet { panel, .. } = &payload else {
        return Err(AppError::internal("parsed act of another kind"));
    };
    let panel = panel.clone();
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        let leaf_index = w.push(payload)?;
        JsonResponse::created(&PanelView {
            panel,
            leaf_index,
            set_at: w.ts,
        })
    })
    .await
}

// ---- open, close: system steps on the manifest's schedule ---------------------------

/// 409 `too-early`: a scheduled step asked for before its time.
fn too_early(id: &str, what: &str, field: &str, at: i64, now: i64) -> AppError {
    AppError::conflict(
        "too-early",
        format!(
            "referendum {id} is {what} at the manifest's {field} {at} (Unix ms), {} ms from \
             now; nothing starts or ends early (the board does it on schedule)",
            at.saturating_sub(now)
        ),
    )
}

/// Append `referendum-opened` for the ready referendum `id` if its `opens_at` has come
/// (the schedule's step, and `POST …/open`): 409 before opens_at or in another state.
pub async fn open_now(s: &AppState, id: &str, idem: Option<&Idem>) -> ApiResult {
    s.board.catch_up().await?;
    let id = id.to_owned();
    s.write(idem, move |w, st, _| {
        let r = get_ref(st, &id)?;
        if r.state != RefState::Ready {
            return Err(wrong_state(r, "ready (key ceremony complete)"));
        }
        if w.ts < r.manifest.opens_at {
            return Err(too_early(
                &id,
                "opened",
                "opens_at",
                r.manifest.opens_at,
                w.ts,
            ));
        }
        let mut sm = summary(r);
        w.push(Payload::ReferendumOpened {
            referendum_id: id.clone(),
        })?;
        sm.state = ReferendumState::Open;
        JsonResponse::ok(&sm)
    })
    .await
}

/// Append `referendum-closed` for the open referendum `id` if its `closes_at` has come
/// (after the witness quorum cosigned the head, as for every entry that ends a phase):
/// 409 before closes_at or in another state.
pub async fn close_now(s: &AppState, id: &str, idem: Option<&Idem>) -> ApiResult {
    s.board.catch_up().await?;
    let too_soon = |r: &ReferendumInfo, now: i64| {
        (now < r.manifest.closes_at).then(|| {
            too_early(
                &r.manifest.referendum_id,
                "closed",
                "closes_at",
                r.manifest.closes_at,
                now,
            )
        })
    };
    precheck_state(s, id, RefState::Open, "open")?;
    {
        let st = s.board.read();
        if let Some(e) = too_soon(get_ref(&st, id)?, s.board.clock.now_ms()) {
            return Err(e);
        }
    }
    let id = id.to_owned();
    s.write_ending_phase(idem, move |w, st, _| {
        let r = get_ref(st, &id)?;
        if r.state != RefState::Open {
            return Err(wrong_state(r, "open"));
        }
        if let Some(e) = too_soon(r, w.ts) {
            return Err(e);
        }
        let mut sm = summary(r);
        w.push(Payload::ReferendumClosed {
            referendum_id: id.clone(),
        })?;
        sm.state = ReferendumState::Closed;
        JsonResponse::ok(&sm)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/referendums/{id}/open",
    tag = "referendums",
    summary = "Open voting at or after the manifest's opens_at (anyone may trigger it; the server does it on schedule)",
    description = r#"No body. Appends the system entry `referendum-opened` once the key ceremony completed and the board's time has reached the manifest's `opens_at`. 409 `too-early` before opens_at (the detail names the time); 409 `wrong-state` if the referendum is not ready."#,
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    responses(
        (status = 200, description = "opened", body = vox_protocol::api::ReferendumSummary),
    )
)]
async fn open(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
) -> ApiResult {
    open_now(&s, &id, idem.as_ref()).await
}

#[utoipa::path(
    post,
    path = "/api/v1/referendums/{id}/close",
    tag = "referendums",
    summary = "Close voting at or after the manifest's closes_at (anyone may trigger it; the server does it on schedule)",
    description = r#"No body. Appends the system entry `referendum-closed` once the board's time has reached the manifest's `closes_at`, after the witness quorum cosigned the head. 409 `too-early` before closes_at (the detail names the time; nothing is appended); 409 `wrong-state` if the referendum is not open; 503 while the witness quorum is not reached."#,
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    responses(
        (status = 200, description = "closed", body = vox_protocol::api::ReferendumSummary),
    )
)]
async fn close(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
) -> ApiResult {
    close_now(&s, &id, idem.as_ref()).await
}

// ---- ballots --------------------------------------------------------------------------

/// The referendum's rings now, one of which the anonymous `ballot` must name (04
/// §4.10): if it names none, the state catches up with other processes once (a
/// revocation folded elsewhere), then 409 `rings-changed` (derive again, prove again).
async fn current_rings(
    s: &AppState,
    id: &str,
    ballot: &Ballot,
) -> Result<Arc<vox_protocol::rings::RingSet>, AppError> {
    let derive = |s: &AppState| {
        let st = s.board.read();
        st.referendum_rings(id).map_err(AppError::from)
    };
    let mut rings = derive(s)?;
    if ballot.check_ring(&rings).is_err() {
        s.board.catch_up().await?;
        rings = derive(s)?;
    }
    if ballot.check_ring(&rings).is_err() {
        return Err(AppError::conflict(
            "rings-changed",
            "the ballot's ring is not one of the referendum's rings now (a credential was \
             revoked since it was derived, or the ballot names a ring of its own): derive \
             them again and vote again",
        ));
    }
    Ok(rings)
}

/// Every (a, b) of a ballot in tally order, 64 bytes each.
fn ciphertext_blob(ballot: &Ballot) -> Vec<u8> {
    let mut out = Vec::new();
    for ct in ballot.answers.iter().flat_map(|a| a.ciphertexts.iter()) {
        out.extend_from_slice(ct.a.as_bytes());
        out.extend_from_slice(ct.b.as_bytes());
    }
    out
}

#[utoipa::path(
    post,
    path = "/api/v1/referendums/{id}/ballots",
    tag = "referendums",
    summary = "Cast a ballot; answers a signed receipt (200 for a re-post)",
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::ballot::Ballot, content_type = "application/json"),
    responses(
        (status = 201, description = "cast: the signed receipt", body = vox_protocol::board::Receipt),
        (status = 200, description = "already cast: its receipt", body = vox_protocol::board::Receipt),
    )
)]
async fn cast(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    ApiJson(ballot): ApiJson<Ballot>,
) -> ApiResult {
    let snap = snapshot(&s, &id).await?;
    if ballot.referendum_id != id {
        return Err(AppError::invalid(
            "referendum_id",
            "does not match the referendum in the path",
        ));
    }
    // The voter: a credential (pseudonymous) or a ring and a linking tag (anonymous);
    // one voter key either way, which the per-credential limit applies to.
    let credential = match ballot.voter()? {
        Voter::Credential { credential, .. } => Some(*credential),
        Voter::Ring { .. } => None,
    };
    if let Some(key) = ballot.voter_key() {
        s.limit_credential(&key)?;
    }
    let snap = recheck(&s, &id, snap, |snap| {
        voting_window(&snap.info, s.board.clock.now_ms())?;
        snap.election_key()?;
        // A revocation is final: standing at any later leaf (`u64::MAX`) is decided by
        // the fold already (a replacement enrolled through another process: the
        // recheck catches up). The writer checks again at the ballot's leaf.
        match &credential {
            Some(c) => snap
                .electorate()?
                .standing(c, u64::MAX)
                .map_err(|e| standing_error(e, "credential")),
            None => Ok(()),
        }
    })
    .await?;
    let election_key = snap.election_key()?;
    let electorate = snap.electorate()?;
    // One vote per citizen: a replacement may not vote where a credential it replaces
    // voted. No race: those are revoked, so none of their ballots can still be appended.
    for predecessor in credential
        .iter()
        .flat_map(|c| electorate.index.predecessors(c))
    {
        let voted =
            sqlx::query("SELECT 1 FROM latest_ballot WHERE referendum_id = $1 AND credential = $2")
                .bind(&id)
                .bind(predecessor.to_vec())
                .fetch_optional(&s.board.db.pool)
                .await?;
        if voted.is_some() {
            return Err(took_part_error("credential", "voted in this referendum"));
        }
    }
    // Structure, sizes, the form the manifest asks for and eligibility first: no scalar
    // multiplication (and no ring derivation) for bad ballots.
    {
        let ctx = BallotContext {
            manifest: &snap.manifest,
            manifest_hash: snap.manifest_hash,
            election_key,
        };
        ballot.check_structure(&ctx, &electorate.index)?;
    }
    // An anonymous ballot names one of the referendum's rings as they stand now (04
    // §4.10); the writer checks again at the ballot's leaf.
    let rings = match credential {
        Some(_) => None,
        None => Some(current_rings(&s, &id, &ballot).await?),
    };
    // B5–B9: the proofs (and a pseudonymous ballot's credential signature), batched with
    // the other ballots and signatures waiting (`proof_verifier`): same answer, cheaper
    // under load.
    let (ballot, left) = s
        .proof_verifier
        .verify_ballot(
            ballot,
            Arc::clone(&snap.manifest),
            snap.manifest_hash,
            election_key,
        )
        .await?;
    // B10–B11: an anonymous ballot's ring signature, batched with the other ring
    // signatures waiting (13 §13.8): same answer, cheaper under load.
    let ballot = match (left, rings) {
        (VoterProof::Checked, None) => ballot,
        (VoterProof::RingSignaturePending, Some(rings)) => {
            let generator = vox_protocol::rings::referendum_tag_generator(&snap.manifest_hash)?;
            s.ring_verifier
                .verify_ballot(ballot, generator, rings)
                .await?
        }
        // The structure check (B1) ties the form to the manifest; never reached.
        _ => {
            return Err(AppError::internal(
                "a ballot's proofs and its form disagree about its ring signature",
            ))
        }
    };
    crate::failpoint::hit("after-proofs");

    PendingWrite::submit(
        &s.writer,
        Job::Ballot {
            hash: ballot.hash(),
            ciphertexts: ciphertext_blob(&ballot),
            ballot: Box::new(ballot),
        },
        idem,
    )
    .await
}

/// `GET …/credentials/{credential}/latest-ballot`: the credential's latest ballot, or
/// `null` if it has none (a normal answer, not an error: a first-time voter's device asks
/// it too). Public like the ballots themselves (each names its credential); the device
/// checks what it is told: a hash it did not cast is an alarm, a wrong hash only gets its
/// next ballot refused.
#[utoipa::path(
    get,
    path = "/api/v1/referendums/{id}/credentials/{credential}/latest-ballot",
    tag = "referendums",
    summary = "A credential's latest ballot: what its next ballot names as `previous`",
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("credential" = String, Path, description = "The credential public key (hex); for an anonymous referendum, the credential's linking tag (04 §4.10)"),
    ),
    responses(
        (status = 200, description = "the latest ballot, or null", body = Option<vox_protocol::api::LatestBallot>),
    )
)]
async fn latest_ballot(
    State(s): State<AppState>,
    Path((id, credential)): Path<(String, String)>,
) -> ApiResult {
    let credential = Point::from_hex(&credential)
        .and_then(CredentialPublicKey::new)
        .map_err(|e| AppError::bad_request(Some("credential".into()), e.to_string()))?;
    {
        let st = s.board.read();
        get_ref(&st, &id)?;
    }
    let row = sqlx::query(
        "SELECT ballot_hash, seq FROM latest_ballot WHERE referendum_id = $1 AND credential = $2",
    )
    .bind(&id)
    .bind(credential.to_bytes().to_vec())
    .fetch_optional(&s.board.db.pool)
    .await?;
    let latest = match row {
        None => None,
        Some(r) => {
            let hash = hash_column(r.try_get(0)?)?;
            Some(LatestBallot {
                tracking_code: human_code(&hash),
                ballot_hash: hash,
                leaf_index: to_u64(r.try_get::<i64, _>(1)?),
            })
        }
    };
    JsonResponse::ok(&latest)
}

fn hash_column(bytes: Vec<u8>) -> Result<Hash32, AppError> {
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(Hash32)
        .map_err(|_| AppError::internal("a stored ballot hash is not 32 bytes"))
}

#[utoipa::path(
    get,
    path = "/api/v1/referendums/{id}/ballots/{ballot_hash}",
    tag = "referendums",
    summary = "Ballot status: counted, superseded or audited",
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("ballot_hash" = String, Path, description = "The ballot hash (hex)"),
    ),
    responses(
        (status = 200, description = "its standing", body = vox_protocol::api::BallotStatus),
    )
)]
async fn ballot_status(
    State(s): State<AppState>,
    Path((id, hash)): Path<(String, String)>,
) -> ApiResult {
    let hash = Hash32::from_hex(&hash)
        .map_err(|e| AppError::bad_request(Some("ballot_hash".into()), e.to_string()))?;
    let row = sqlx::query(
        "SELECT b.seq, l.ballot_hash, l.seq FROM ballots b LEFT JOIN latest_ballot l \
         ON l.referendum_id = b.referendum_id AND l.credential = b.credential \
         WHERE b.ballot_hash = $1 AND b.referendum_id = $2",
    )
    .bind(hash.0.to_vec())
    .bind(&id)
    .fetch_optional(&s.board.db.pool)
    .await?;
    if let Some(r) = row {
        let seq: i64 = r.try_get(0)?;
        let latest: Option<Vec<u8>> = r.try_get(1)?;
        let latest_seq: Option<i64> = r.try_get(2)?;
        let counted = latest.as_deref() == Some(hash.0.as_slice());
        let superseded_by = match (counted, latest, latest_seq) {
            (false, Some(h), Some(seq)) => {
                let h = hash_column(h)?;
                Some(LatestBallot {
                    tracking_code: human_code(&h),
                    ballot_hash: h,
                    leaf_index: to_u64(seq),
                })
            }
            _ => None,
        };
        return JsonResponse::ok(&BallotStatus {
            leaf_index: to_u64(seq),
            status: if counted {
                BallotStanding::Counted
            } else {
                BallotStanding::Superseded
            },
            superseded_by,
        });
    }
    let row = sqlx::query(
        "SELECT seq FROM audited_ballots WHERE ballot_hash = $1 AND referendum_id = $2",
    )
    .bind(hash.0.to_vec())
    .bind(&id)
    .fetch_optional(&s.board.db.pool)
    .await?;
    match row {
        Some(r) => JsonResponse::ok(&BallotStatus {
            leaf_index: to_u64(r.try_get::<i64, _>(0)?),
            status: BallotStanding::Audited,
            superseded_by: None,
        }),
        None => Err(AppError::not_found("ballot", &hash.to_hex())),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/referendums/{id}/audits",
    tag = "referendums",
    summary = "Publish a Benaloh-audited ballot",
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::ballot::AuditedBallot, content_type = "application/json"),
    responses(
        (status = 201, description = "published", body = vox_protocol::api::AuditPosted),
        (status = 200, description = "already published", body = vox_protocol::api::AuditPosted),
    )
)]
async fn audit(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    ApiJson(audited): ApiJson<AuditedBallot>,
) -> ApiResult {
    // Audits cost the board an entry each, like casts: the same per-credential limit.
    if let Some(key) = audited.ballot.voter_key() {
        s.limit_credential(&key)?;
    }
    let snap = snapshot(&s, &id).await?;
    if audited.ballot.referendum_id != id {
        return Err(AppError::invalid(
            "ballot/referendum_id",
            "does not match the referendum in the path",
        ));
    }
    let snap = recheck(&s, &id, snap, |snap| {
        audits_allowed(&snap.info)?;
        snap.election_key().map(|_| ())
    })
    .await?;
    let election_key = snap.election_key()?;
    let electorate = snap.electorate()?;
    let manifest = Arc::clone(&snap.manifest);
    let manifest_hash = snap.manifest_hash;
    // An anonymous audit's ring, derived now (a ballot of the wrong form for the manifest
    // is refused below, by its structure).
    let anonymous = snap.manifest.participation == vox_protocol::manifest::Participation::Anonymous;
    let rings = match (&audited.ballot.ring, anonymous) {
        (Some(_), true) => Some(current_rings(&s, &id, &audited.ballot).await?),
        _ => None,
    };
    let audited = blocking(move || {
        let ctx = BallotContext {
            manifest: &manifest,
            manifest_hash,
            election_key,
        };
        audited
            .ballot
            .check_structure(&ctx, &electorate.index)
            .map_err(|e| match e {
                ProtocolError::Invalid { field, reason } => {
                    AppError::invalid(format!("ballot/{field}"), reason)
                }
                other => AppError::from(other),
            })?;
        // Only the credential's own device may publish an opening in its name (04 §4.6);
        // an anonymous one, only a device holding a credential of the ring (04 §4.10).
        match &rings {
            None => audited
                .ballot
                .check_signature(&manifest_hash)
                .map_err(|e| {
                    AppError::invalid(
                        "ballot/signature",
                        format!("not signed by the ballot's credential: {e}"),
                    )
                })?,
            Some(rings) => {
                let generator = ctx.tag_generator()?;
                audited
                    .ballot
                    .ring_statement(rings, &generator)
                    .and_then(|st| st.verify())
                    .map_err(|e| AppError::invalid("ballot/ring_signature", e.to_string()))?
            }
        }
        audited.verify_opening(&ctx)?;
        Ok(audited)
    })
    .await?;
    let hash = audited.ballot.hash();
    // Cast or audited already, the referendum's state, the Idempotency-Key: decided by
    // the writer under the board lock, in the same transaction as other writes.
    PendingWrite::submit(
        &s.writer,
        Job::Audit {
            audited: Box::new(audited),
            hash,
        },
        idem,
    )
    .await
}

// ---- tally, decryption, result ------------------------------------------------------------

/// Sum the counted ballots' ciphertexts (rows in log order).
fn sum_ciphertexts(
    width: usize,
    rows: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<(Vec<Ciphertext>, Vec<Hash32>), AppError> {
    let mut sums = vec![(RistrettoPoint::identity(), RistrettoPoint::identity()); width];
    let mut hashes = Vec::with_capacity(rows.len());
    for (hash, blob) in rows {
        if blob.len() != width * 64 {
            return Err(AppError::internal(
                "stored ballot has the wrong tally width",
            ));
        }
        for (slot, ct) in sums.iter_mut().zip(blob.chunks_exact(64)) {
            let (a, b) = ct.split_at(32);
            let a = Point::try_from_bytes(a).map_err(AppError::internal)?;
            let b = Point::try_from_bytes(b).map_err(AppError::internal)?;
            slot.0 += a.as_point();
            slot.1 += b.as_point();
        }
        let h: [u8; 32] = hash
            .as_slice()
            .try_into()
            .map_err(|_| AppError::internal("stored ballot hash is not 32 bytes"))?;
        hashes.push(Hash32(h));
    }
    let cts = sums
        .into_iter()
        .map(|(a, b)| Ciphertext {
            a: Point::from_point(a),
            b: Point::from_point(b),
        })
        .collect();
    Ok((cts, hashes))
}

/// The encrypted tally of a closed referendum: a system step anyone may trigger (its
/// result is fixed by the counted ballots, which the verifier sums again).
#[utoipa::path(
    post,
    path = "/api/v1/referendums/{id}/tally",
    tag = "referendums",
    summary = "Compute the encrypted tally (anyone; closed)",
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    responses(
        (status = 201, description = "the tally", body = vox_protocol::board::EncryptedTally),
    )
)]
async fn compute_tally(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
) -> ApiResult {
    tally_now(&s, &id, idem.as_ref()).await
}

/// Sum the counted ballots of the closed referendum `id` and append `tally-computed`
/// (after the witness quorum): the step `POST …/tally` and the schedule share.
pub async fn tally_now(s: &AppState, id: &str, idem: Option<&Idem>) -> ApiResult {
    s.board.catch_up().await?;
    let id = id.to_owned();
    let snap = snapshot(s, &id).await?;
    if snap.info.state != RefState::Closed {
        return Err(wrong_state(&snap.info, "closed and not yet tallied"));
    }
    // The counted set is final once the close entry is committed: the writer refuses
    // ballots for a referendum that is not open.
    let rows = sqlx::query(
        "SELECT b.ballot_hash, b.ciphertexts FROM latest_ballot l \
         JOIN ballots b ON b.ballot_hash = l.ballot_hash \
         WHERE l.referendum_id = $1 ORDER BY l.seq",
    )
    .bind(&id)
    .fetch_all(&s.board.db.pool)
    .await?;
    let rows = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<Vec<(Vec<u8>, Vec<u8>)>, sqlx::Error>>()?;
    let width = snap.manifest.tally_width();
    let rid = id.clone();
    let tally = blocking(move || {
        let (ciphertexts, hashes) = sum_ciphertexts(width, rows)?;
        Ok(EncryptedTally {
            referendum_id: rid,
            counted_ballots: hashes.len() as u64,
            counted_hash: counted_hash(&hashes),
            ciphertexts,
        })
    })
    .await?;
    s.write_ending_phase(idem, move |w, st, _| {
        let r = get_ref(st, &id)?;
        if r.state != RefState::Closed {
            return Err(wrong_state(r, "closed and not yet tallied"));
        }
        let answer = JsonResponse::created(&tally)?;
        w.push(Payload::TallyComputed { tally })?;
        Ok(answer)
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/referendums/{id}/tally",
    tag = "referendums",
    summary = "The encrypted tally",
    params(
        ("id" = String, Path, description = "The referendum id"),
    ),
    responses(
        (status = 200, description = "the tally", body = vox_protocol::board::EncryptedTally),
    )
)]
async fn get_tally(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.board.catch_up().await?;
    let st = s.board.read();
    let r = get_ref(&st, &id)?;
    match &r.tally {
        Some(t) => JsonResponse::ok(t.as_ref()),
        None => Err(AppError::not_found("tally of referendum", &id)),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/referendums/{id}/decryption-shares",
    tag = "referendums",
    summary = "Trustee decryption share (checked on arrival)",
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::ceremony::DecryptionShareMessage, content_type = "application/json"),
    responses(
        (status = 201, description = "accepted", body = vox_protocol::api::SharePosted),
    )
)]
async fn decryption_share(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    ApiJson(msg): ApiJson<DecryptionShareMessage>,
) -> ApiResult {
    s.board.catch_up().await?;
    let snap = snapshot(&s, &id).await?;
    if msg.referendum_id != id {
        return Err(AppError::invalid(
            "referendum_id",
            "does not match the referendum in the path",
        ));
    }
    let tally = shares_allowed(&snap.info)?;
    let trustee = msg.share.trustee;
    if snap.info.shares.iter().any(|m| m.share.trustee == trustee) {
        return Err(AppError::conflict(
            "already-exists",
            format!("trustee {trustee} already sent a decryption share"),
        ));
    }
    let joint = snap
        .joint
        .clone()
        .ok_or_else(|| AppError::internal("tallied without joint keys"))?;
    let (manifest, manifest_hash) = (Arc::clone(&snap.manifest), snap.manifest_hash);
    let msg = blocking(move || {
        msg.check(
            &manifest,
            &manifest_hash,
            &joint,
            &tally.ciphertexts,
            &mut SingleVerifier,
        )?;
        Ok(msg)
    })
    .await?;
    s.write(idem.as_ref(), move |w, st, _| {
        let r = get_ref(st, &id)?;
        shares_allowed(r)?;
        if r.shares.iter().any(|m| m.share.trustee == trustee) {
            return Err(AppError::conflict(
                "already-exists",
                format!("trustee {trustee} already sent a decryption share"),
            ));
        }
        let shares_received = u64::try_from(r.shares.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let leaf_index = w.push(Payload::DecryptionShare { share: msg })?;
        JsonResponse::created(&SharePosted {
            leaf_index,
            shares_received,
        })
    })
    .await
}

/// Combine the shares (Lagrange), solve each slot's discrete log and form the counts.
fn decrypt_result(
    manifest: &Manifest,
    manifest_hash: &Hash32,
    joint: &JointPublicKeys,
    tally: &EncryptedTally,
    shares: &[DecryptionShareMessage],
) -> Result<ReferendumResult, AppError> {
    let decryption: Vec<_> = shares.iter().map(|m| m.share.clone()).collect();
    let points = joint
        .verify_and_combine(manifest_hash, &tally.ciphertexts, &decryption, &mut OsRng)
        .map_err(|e| AppError::invalid("decryption_shares", e.to_string()))?;
    let bounds = slot_bounds(manifest, tally.counted_ballots);
    let mut tables: HashMap<u64, DlogTable> = HashMap::new();
    let mut slots = Vec::with_capacity(points.len());
    for (p, b) in points.iter().zip(&bounds) {
        // Creation checked max × electorate (04 §4.2 rule 6) and a replacement never adds
        // a counted ballot, so this holds; refuse rather than build a huge table.
        if *b > vox_protocol::manifest::MAX_SLOT_VALUE {
            return Err(AppError::internal(format!(
                "tally bound {b} exceeds the protocol's limit"
            )));
        }
        let bound = b.saturating_add(1);
        let table = match tables.entry(bound) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(DlogTable::new(bound).map_err(AppError::internal)?)
            }
        };
        slots.push(
            table
                .solve(p)
                .map_err(|e| AppError::invalid("decryption_shares", e.to_string()))?,
        );
    }
    let counts = counts_from_slots(manifest, tally.counted_ballots, &slots)?;
    let mut trustees: Vec<u32> = shares.iter().map(|m| m.share.trustee.get()).collect();
    trustees.sort_unstable();
    Ok(ReferendumResult {
        referendum_id: tally.referendum_id.clone(),
        counted_ballots: tally.counted_ballots,
        counts,
        trustees,
    })
}

/// Combine the decryption shares and publish the result: a system step anyone may
/// trigger once k valid shares are on the board.
#[utoipa::path(
    post,
    path = "/api/v1/referendums/{id}/publish",
    tag = "referendums",
    summary = "Combine ≥ k shares and publish the result (anyone)",
    params(
        ("id" = String, Path, description = "The referendum id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    responses(
        (status = 201, description = "the result", body = vox_protocol::tally::ReferendumResult),
    )
)]
async fn publish(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
) -> ApiResult {
    publish_now(&s, &id, idem.as_ref()).await
}

/// Combine the tallied referendum's decryption shares and append `result-published`
/// (after the witness quorum): the step `POST …/publish` and the schedule share.
pub async fn publish_now(s: &AppState, id: &str, idem: Option<&Idem>) -> ApiResult {
    s.board.catch_up().await?;
    let id = id.to_owned();
    let snap = snapshot(s, &id).await?;
    let tally = match (&snap.info.state, &snap.info.tally) {
        (RefState::Tallied, Some(t)) => Arc::clone(t),
        _ => return Err(wrong_state(&snap.info, "tallied")),
    };
    let k = snap.manifest.threshold as usize;
    if snap.info.shares.len() < k {
        return Err(AppError::conflict(
            "wrong-state",
            format!(
                "{} of the {k} decryption shares needed have arrived",
                snap.info.shares.len()
            ),
        ));
    }
    let joint = snap
        .joint
        .clone()
        .ok_or_else(|| AppError::internal("tallied without joint keys"))?;
    let shares = snap.info.shares.clone();
    let (manifest, manifest_hash) = (Arc::clone(&snap.manifest), snap.manifest_hash);
    let result =
        blocking(move || decrypt_result(&manifest, &manifest_hash, &joint, &tally, &shares))
            .await?;
    s.write_ending_phase(idem, move |w, st, _| {
        let r = get_ref(st, &id)?;
        if r.state != RefState::Tallied {
            return Err(wrong_state(r, "tallied"));
        }
        let answer = JsonResponse::created(&result)?;
        w.push(Payload::ResultPublished { result })?;
        Ok(answer)
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/referendums/{id}/result",
    tag = "referendums",
    summary = "The published result",
    params(
        ("id" = String, Path, description = "The referendum id"),
    ),
    responses(
        (status = 200, description = "the result", body = vox_protocol::tally::ReferendumResult),
    )
)]
async fn result(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.board.catch_up().await?;
    let st = s.board.read();
    let r = get_ref(&st, &id)?;
    match &r.result {
        Some(res) => JsonResponse::ok(res),
        None => Err(AppError::not_found("result of referendum", &id)),
    }
}
