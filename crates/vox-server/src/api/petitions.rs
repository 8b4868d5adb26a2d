//! Petitions: proposal, sponsors and signatures, moderation, response, invalidations,
//! closing; JSON and CSV listings. Every rule is `vox_protocol::petition::PetitionTracker`'s:
//! each change is validated on a copy of the petition's tracker at the locked board
//! state, and the tracker itself only moves when the committed entries are folded.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use vox_crypto::Hash32;
use vox_protocol::api::{
    Invalidation, PetitionDetail, PetitionSummary, PolicyInForce, PolicyView, Thresholds,
};
use vox_protocol::board::Payload;
use vox_protocol::petition::{
    Moderation, Petition, PetitionProposal, PetitionSignature, PetitionStage, PetitionTracker,
    ReferendumTerms, RingPetitionSignature, SignatureScheme, ThresholdKind,
};

use crate::acts::{authorize, check_path_id, parse_act, ActKind};
use crate::app::AppState;
use crate::board::WriteTx;
use crate::error::{rule_error, standing_error, AppError};
use crate::extract::{ApiJson, ApiResult, JsonResponse, MaybeIdem, RawBody};
use crate::rules::push_thresholds;
use crate::state::{Derived, ElectorateInfo, PetitionInfo};
use crate::writer::{Job, PendingWrite};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes, each registered with its OpenAPI operation (`#[utoipa::path]`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, propose))
        .routes(routes!(list_csv))
        .routes(routes!(show))
        .routes(routes!(sign))
        .routes(routes!(ring_sign))
        .routes(routes!(moderate))
        .routes(routes!(respond))
        .routes(routes!(invalidate))
        .routes(routes!(close))
        .routes(routes!(show_policy, set_policy))
}

fn thresholds(p: &Petition) -> Thresholds {
    Thresholds {
        sponsor: p.sponsor_threshold,
        response: p.response_threshold,
        referendum: p.referendum_threshold,
    }
}

/// The summary of a tracker at `now`.
pub fn summary(t: &PetitionTracker, now: i64) -> PetitionSummary {
    PetitionSummary {
        id: t.petition.id.clone(),
        action: t.petition.action.clone(),
        stage: t.stage.clone(),
        count: t.count(),
        thresholds: thresholds(&t.petition),
        closes_at: t.closes_at,
        response_due_by: t.response_due_by,
        response_overdue: t.response_overdue(now),
        referendum_id: t.referendum_id.clone(),
    }
}

fn reached(t: &PetitionTracker) -> Vec<ThresholdKind> {
    [
        ThresholdKind::Sponsor,
        ThresholdKind::Response,
        ThresholdKind::Referendum,
    ]
    .into_iter()
    .filter(|k| t.reached.contains(k))
    .collect()
}

#[utoipa::path(
    get,
    path = "/api/v1/petitions",
    tag = "petitions",
    summary = "Petition summaries",
    responses(
        (status = 200, description = "every petition", body = Vec<vox_protocol::api::PetitionSummary>),
    )
)]
async fn list(State(s): State<AppState>) -> ApiResult {
    s.board.catch_up().await?;
    let now = s.board.clock.now_ms();
    let st = s.board.read();
    let out: Vec<PetitionSummary> = st
        .petition_order
        .iter()
        .filter_map(|id| st.petitions.get(id))
        .map(|p| summary(&p.tracker, now))
        .collect();
    JsonResponse::ok(&out)
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

#[utoipa::path(
    get,
    path = "/api/v1/petitions.csv",
    tag = "petitions",
    summary = "Petition summaries as CSV",
    responses(
        (status = 200, description = "CSV with a header row", body = String, content_type = "text/csv"),
    )
)]
async fn list_csv(State(s): State<AppState>) -> Result<Response, AppError> {
    s.board.catch_up().await?;
    let now = s.board.clock.now_ms();
    let st = s.board.read();
    // RFC 4180 via the `csv` crate: CRLF rows, a field quoted only when it holds a
    // comma, quote or line break (quotes doubled).
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record([
        "id",
        "action",
        "stage",
        "count",
        "sponsor_threshold",
        "response_threshold",
        "referendum_threshold",
        "closes_at",
        "response_due_by",
        "response_overdue",
        "referendum_id",
    ])
    .map_err(AppError::internal)?;
    for p in st
        .petition_order
        .iter()
        .filter_map(|id| st.petitions.get(id))
    {
        let sm = summary(&p.tracker, now);
        let stage = serde_json::to_value(&sm.stage)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        w.write_record([
            sm.id.clone(),
            sm.action.clone(),
            stage,
            sm.count.to_string(),
            sm.thresholds.sponsor.to_string(),
            sm.thresholds.response.to_string(),
            sm.thresholds.referendum.to_string(),
            opt(&sm.closes_at),
            opt(&sm.response_due_by),
            sm.response_overdue.to_string(),
            opt(&sm.referendum_id),
        ])
        .map_err(AppError::internal)?;
    }
    let out = w.into_inner().map_err(|e| AppError::internal(e.error()))?;
    let mut res = (StatusCode::OK, out).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    Ok(res)
}

#[utoipa::path(
    get,
    path = "/api/v1/petitions/{id}",
    tag = "petitions",
    summary = "A petition with counts and region counts",
    params(
        ("id" = String, Path, description = "The petition id"),
    ),
    responses(
        (status = 200, description = "the petition", body = vox_protocol::api::PetitionDetail),
    )
)]
async fn show(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.board.catch_up().await?;
    let now = s.board.clock.now_ms();
    let st = s.board.read();
    let p = st
        .petitions
        .get(&id)
        .ok_or_else(|| AppError::not_found("petition", &id))?;
    let t = &p.tracker;
    JsonResponse::ok(&PetitionDetail {
        petition: t.petition.clone(),
        petition_hash: t.hash,
        stage: t.stage.clone(),
        count: t.count(),
        region_counts: t.region_counts(),
        closes_at: t.closes_at,
        response_due_by: t.response_due_by,
        response_overdue: t.response_overdue(now),
        response: t.response.clone(),
        referendum_id: t.referendum_id.clone(),
        thresholds_reached: reached(t),
        thresholds: thresholds(&t.petition),
        rejection_reason: p.rejection_reason.clone(),
        invalidations: p
            .invalidations
            .iter()
            .map(|i| Invalidation {
                leaf_index: i.leaf_index,
                count: i.count,
                reason: i.reason.clone(),
            })
            .collect(),
        proposed_at: p.proposed_at,
        leaf_index: p.leaf_index,
    })
}

fn electorate_of(st: &Derived, hash: &Hash32) -> Option<Arc<ElectorateInfo>> {
    st.electorates.get(hash).cloned()
}

/// Why no usable electorate has this hash: 409 `electorate-not-frozen` if it is the
/// list of an electorate still enrolling (the registrar must freeze it first), else 422
/// naming `field`.
pub fn unusable_electorate(st: &Derived, hash: &Hash32, field: &str) -> AppError {
    match st.enrolling_with_hash(hash) {
        Some(id) => AppError::conflict(
            "electorate-not-frozen",
            format!(
                "electorate {id:?} is still enrolling: only a frozen electorate can be named \
                 (the registrar freezes it, and its hash is then final)"
            ),
        )
        .with_field(field),
        None => AppError::invalid(
            field,
            "no electorate with this hash is registered or frozen",
        ),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/petitions",
    tag = "petitions",
    summary = "Propose a petition (credential-signed)",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::petition::PetitionProposal, content_type = "application/json"),
    responses(
        (status = 201, description = "proposed", body = vox_protocol::api::PetitionSummary),
    )
)]
async fn propose(
    State(s): State<AppState>,
    MaybeIdem(idem): MaybeIdem,
    ApiJson(proposal): ApiJson<PetitionProposal>,
) -> ApiResult {
    s.board.catch_up().await?;
    let electorate = {
        let st = s.board.read();
        electorate_of(&st, &proposal.petition.electorate_hash).ok_or_else(|| {
            unusable_electorate(
                &st,
                &proposal.petition.electorate_hash,
                "petition/electorate_hash",
            )
        })?
    };
    s.limit_credential(&proposal.proposer.to_bytes())?;
    // A revoked proposer is refused before its signature is checked: a revocation is
    // final, so standing at any later leaf (`u64::MAX`) is already decided by the fold.
    electorate
        .standing(&proposal.proposer, u64::MAX)
        .map_err(|e| standing_error(e, "proposer"))?;
    let proposal =
        tokio::task::spawn_blocking(move || proposal.verify(&electorate.index).map(|()| proposal))
            .await
            .map_err(AppError::internal)?
            .map_err(|e| match e {
                vox_protocol::ProtocolError::Invalid { field, reason } => {
                    AppError::invalid(format!("petition/{field}"), reason)
                }
                other => AppError::from(other),
            })?;
    s.write(idem.as_ref(), move |w, st, _| {
        if st.petitions.contains_key(&proposal.petition.id) {
            return Err(AppError::conflict(
                "already-exists",
                format!("petition {:?} already exists", proposal.petition.id),
            )
            .with_field("petition/id"));
        }
        // 07 §7.8: the bounds the petitions office published, as of this leaf.
        if let Some(p) = &st.petition_policy {
            p.policy
                .check(&proposal.petition)
                .map_err(|e| policy_error(e, p))?;
        }
        let electorate = electorate_of(st, &proposal.petition.electorate_hash)
            .ok_or_else(|| AppError::internal("electorate vanished"))?;
        // At the leaf this proposal gets, with the revocations up to it.
        electorate
            .standing(&proposal.proposer, w.size())
            .map_err(|e| standing_error(e, "proposer"))?;
        let proposer_region = electorate.region_of(&proposal.proposer);
        let tracker = PetitionTracker::new(&proposal, proposer_region);
        w.push(Payload::PetitionProposed { proposal })?;
        JsonResponse::created(&summary(&tracker, w.ts))
    })
    .await
}

/// A proposal outside the published policy: 422 `policy-violation` naming the
/// petition's field, the bound and the leaf that set it.
fn policy_error(e: vox_protocol::ProtocolError, p: &crate::state::PolicyInForce) -> AppError {
    let (field, reason) = match e {
        vox_protocol::ProtocolError::Invalid { field, reason } => (field, reason),
        other => (String::new(), other.to_string()),
    };
    AppError::unprocessable(
        "policy-violation",
        format!("petition/{field}"),
        format!(
            "{reason} (policy set at leaf {}; see GET /api/v1/petition-policy)",
            p.leaf_index
        ),
    )
}

/// The wire form of the policy in force.
fn policy_in_force(p: &crate::state::PolicyInForce) -> PolicyInForce {
    PolicyInForce {
        policy: p.policy.clone(),
        leaf_index: p.leaf_index,
        set_at: p.set_at,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/petition-policy",
    tag = "petitions",
    summary = r#"The petitions office's bounds in force on new proposals ({"policy": null} when none)"#,
    responses(
        (status = 200, description = "the policy", body = vox_protocol::api::PolicyView),
    )
)]
async fn show_policy(State(s): State<AppState>) -> ApiResult {
    s.board.catch_up().await?;
    let st = s.board.read();
    JsonResponse::ok(&PolicyView {
        policy: st.petition_policy.as_ref().map(policy_in_force),
    })
}

/// `POST /api/v1/petition-policy`: a signed `petition-policy-set` act (petitions office).
/// It replaces the policy in force for every later proposal; petitions already proposed
/// keep the rules they were proposed under.
#[utoipa::path(
    post,
    path = "/api/v1/petition-policy",
    tag = "petitions",
    summary = "Set the bounds every later proposal must respect (petitions-office act; a proposal outside them is 422 policy-violation)",
    description = r#"The body is the board payload of the act, signed by the petitions office's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule."#,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 201, description = "set", body = vox_protocol::api::PolicyView),
    )
)]
async fn set_policy(
    State(s): State<AppState>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::PetitionPolicySet, &body)?;
    let Payload::PetitionPolicySet { policy, .. } = &payload else {
        return Err(AppError::internal("parsed act of another kind"));
    };
    let policy = policy.clone();
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        let leaf_index = w.size();
        w.push(payload)?;
        JsonResponse::created(&PolicyView {
            policy: Some(PolicyInForce {
                policy,
                leaf_index,
                set_at: w.ts,
            }),
        })
    })
    .await
}

/// The petition's tracker, copied for validation.
fn tracker_copy(
    st: &Derived,
    id: &str,
) -> Result<(PetitionTracker, Option<Arc<ElectorateInfo>>), AppError> {
    let p: &PetitionInfo = st
        .petitions
        .get(id)
        .ok_or_else(|| AppError::not_found("petition", id))?;
    Ok((
        p.tracker.clone(),
        electorate_of(st, &p.tracker.petition.electorate_hash),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/signatures",
    tag = "petitions",
    summary = "Sign or withdraw (credential-signed)",
    params(
        ("id" = String, Path, description = "The petition id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::petition::PetitionSignature, content_type = "application/json"),
    responses(
        (status = 201, description = "accepted, with the tree head and inclusion proof of its entry", body = vox_protocol::api::SignatureAccepted),
    )
)]
async fn sign(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    ApiJson(sig): ApiJson<PetitionSignature>,
) -> ApiResult {
    if !s.board.read().petitions.contains_key(&id) {
        s.board.catch_up().await?;
    }
    let (hash, electorate) = {
        let st = s.board.read();
        let p = st
            .petitions
            .get(&id)
            .ok_or_else(|| AppError::not_found("petition", &id))?;
        (
            p.tracker.hash,
            electorate_of(&st, &p.tracker.petition.electorate_hash),
        )
    };
    if sig.petition_id != id {
        return Err(AppError::invalid(
            "petition_id",
            "does not match the petition in the path",
        ));
    }
    s.limit_credential(&sig.credential.to_bytes())?;
    let mut electorate =
        electorate.ok_or_else(|| AppError::internal("petition without its electorate"))?;
    if electorate.standing(&sig.credential, u64::MAX).is_err() {
        // Maybe a replacement credential enrolled through another process.
        s.board.catch_up().await?;
        let st = s.board.read();
        electorate = tracker_copy(&st, &id)?
            .1
            .ok_or_else(|| AppError::internal("petition without its electorate"))?;
    }
    electorate
        .standing(&sig.credential, u64::MAX)
        .map_err(|e| standing_error(e, "credential"))?;
    // Batched with the ballots and signatures waiting (`proof_verifier`).
    let sig = s
        .proof_verifier
        .verify_signature(sig, hash, electorate)
        .await?;
    PendingWrite::submit(
        &s.writer,
        Job::Signature {
            signature: Box::new(sig),
        },
        idem,
    )
    .await
}

/// Sign or withdraw from a ring-signed petition (07 §7.10): the body names a ring and
/// carries a linking tag and a Triptych proof, never the credential. The server derives
/// the petition's rings itself (13 §13.3) and checks the proof against the named one.
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/ring-signatures",
    tag = "petitions",
    summary = "Sign or withdraw (ring-signed: names no one)",
    params(
        ("id" = String, Path, description = "The petition id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::petition::RingPetitionSignature, content_type = "application/json"),
    responses(
        (status = 201, description = "accepted, with the tree head and inclusion proof of its entry", body = vox_protocol::api::SignatureAccepted),
        (status = 409, description = "`rings-changed`: a revocation or replacement changed the rings since; derive them again and sign again"),
    )
)]
async fn ring_sign(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    ApiJson(sig): ApiJson<RingPetitionSignature>,
) -> ApiResult {
    if !s.board.read().petitions.contains_key(&id) {
        s.board.catch_up().await?;
    }
    if sig.petition_id != id {
        return Err(AppError::invalid(
            "petition_id",
            "does not match the petition in the path",
        ));
    }
    // One signer, one tag: the per-credential limit applies to the tag.
    s.limit_credential(&sig.tag().to_bytes())?;
    let (hash, scheme, rings) = {
        let st = s.board.read();
        let p = st
            .petitions
            .get(&id)
            .ok_or_else(|| AppError::not_found("petition", &id))?;
        (
            p.tracker.hash,
            p.tracker.petition.signatures,
            st.petition_rings(&id).map_err(rule_error)?,
        )
    };
    if scheme != SignatureScheme::Ring {
        return Err(AppError::invalid(
            "signature",
            "this petition takes credential signatures: POST them to \
             /api/v1/petitions/{id}/signatures",
        ));
    }
    let rings = if rings.position_of(&sig.ring).is_none() {
        // Maybe another process folded a revocation or replacement already.
        s.board.catch_up().await?;
        let st = s.board.read();
        st.petition_rings(&id).map_err(rule_error)?
    } else {
        rings
    };
    if rings.position_of(&sig.ring).is_none() {
        return Err(AppError::conflict(
            "rings-changed",
            "the signature's ring is not one of the petition's rings now (a credential was \
             revoked or replaced since it was derived): derive them again and sign again",
        ));
    }
    // Batched with the other ring signatures waiting (13 §13.8): same answer, cheaper.
    let sig = s.ring_verifier.verify(sig, hash, rings).await?;
    PendingWrite::submit(
        &s.writer,
        Job::RingSignature {
            signature: Box::new(sig),
        },
        idem,
    )
    .await
}

/// What publishing with `terms` needs from the board (07 §7.4): a standing trustee panel
/// in force (the referendum the threshold obliges needs trustees), a referendum id that
/// is neither an existing referendum nor reserved by another petition, and a manifest
/// that the petition's electorate can tally (04 §4.2 rule 6). 422 naming the field.
fn check_terms(
    st: &Derived,
    t: &PetitionTracker,
    electorate: Option<&ElectorateInfo>,
    terms: &ReferendumTerms,
    now: i64,
) -> Result<(), AppError> {
    let Some(panel) = &st.panel else {
        return Err(AppError::unprocessable(
            "no-trustee-panel",
            "moderation/referendum",
            "no standing trustee panel is in force: the referendum this petition's threshold \
             obliges could not be run; the election authority sets one first (POST \
             /api/v1/panel)",
        ));
    };
    let rid = &terms.referendum_id;
    let field = "moderation/referendum/referendum_id";
    if st.referendums.contains_key(rid) {
        return Err(AppError::invalid(
            field,
            format!("referendum {rid:?} already exists"),
        ));
    }
    if let Some(other) = st.reserved_ids.get(rid) {
        return Err(AppError::invalid(
            field,
            format!("referendum id {rid:?} is reserved by petition {other:?}"),
        ));
    }
    let manifest = terms.manifest(&t.petition, &panel.panel, now);
    manifest
        .validate()
        .map_err(|e| AppError::invalid("moderation/referendum", e.to_string()))?;
    if let Some(e) = electorate {
        manifest
            .check_slot_bound(e.electorate.entries.len() as u64)
            .map_err(|e| AppError::invalid("moderation/referendum", e.to_string()))?;
    }
    Ok(())
}

/// A tracker rule broken by a petitions-office act; fields inside the act's nested
/// moderation are named with their path in the body.
fn moderation_error(e: vox_protocol::ProtocolError) -> AppError {
    let mut a = rule_error(e);
    if let Some(f) = a.field.take() {
        a.field = Some(match f.as_str() {
            "closes_at" | "reason" => format!("moderation/{f}"),
            _ => f,
        });
    }
    a
}

#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/moderation",
    tag = "petitions",
    summary = "Publish or reject (petitions-office act)",
    description = r#"The body is the board payload of the act, signed by the petitions office's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule."#,
    params(
        ("id" = String, Path, description = "The petition id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 200, description = "moderated", body = vox_protocol::api::PetitionSummary),
    )
)]
async fn moderate(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::PetitionModerated, &body)?;
    let Payload::PetitionModerated {
        petition_id,
        moderation,
        ..
    } = &payload
    else {
        return Err(AppError::internal("parsed act of another kind"));
    };
    check_path_id("petition_id", petition_id, &id)?;
    let moderation = moderation.clone();
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        let (mut t, electorate) = tracker_copy(st, &id)?;
        // The signed closes_at is used as it is: it must lie in (now, now + open_for_ms].
        let crossed = t
            .apply_moderation(&moderation, w.ts)
            .map_err(moderation_error)?;
        if let Moderation::Publish { referendum, .. } = &moderation {
            check_terms(st, &t, electorate.as_deref(), referendum, w.ts)?;
        }
        w.push(payload)?;
        push_thresholds(w, st, &mut t, crossed)?;
        JsonResponse::ok(&summary(&t, w.ts))
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/response",
    tag = "petitions",
    summary = "Official response (petitions-office act)",
    description = r#"The body is the board payload of the act, signed by the petitions office's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule."#,
    params(
        ("id" = String, Path, description = "The petition id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 200, description = "responded", body = vox_protocol::api::PetitionSummary),
    )
)]
async fn respond(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::PetitionResponded, &body)?;
    let Payload::PetitionResponded {
        petition_id, text, ..
    } = &payload
    else {
        return Err(AppError::internal("parsed act of another kind"));
    };
    check_path_id("petition_id", petition_id, &id)?;
    let text = text.clone();
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        let (mut t, _) = tracker_copy(st, &id)?;
        t.apply_response(&text, w.ts).map_err(rule_error)?;
        w.push(payload)?;
        JsonResponse::ok(&summary(&t, w.ts))
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/invalidations",
    tag = "petitions",
    summary = "Invalidate signatures with a public reason (petitions-office act)",
    description = r#"The body is the board payload of the act, signed by the petitions office's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule."#,
    params(
        ("id" = String, Path, description = "The petition id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 200, description = "invalidated", body = vox_protocol::api::PetitionSummary),
    )
)]
async fn invalidate(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::SignaturesInvalidated, &body)?;
    let Payload::SignaturesInvalidated {
        petition_id,
        credentials,
        tags,
        ..
    } = &payload
    else {
        return Err(AppError::internal("parsed act of another kind"));
    };
    check_path_id("petition_id", petition_id, &id)?;
    let credentials = credentials.clone();
    let tags = tags.clone();
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        let (mut t, _) = tracker_copy(st, &id)?;
        t.apply_invalidation(&credentials, &tags)
            .map_err(rule_error)?;
        w.push(payload)?;
        JsonResponse::ok(&summary(&t, w.ts))
    })
    .await
}

/// Close a petition at or after its deadline: a system step anyone may trigger (the
/// server's own sweep does it too); the tracker refuses it before `closes_at`.
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/close",
    tag = "petitions",
    summary = "Close at or after the deadline (anyone; the server also does it)",
    params(
        ("id" = String, Path, description = "The petition id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    responses(
        (status = 200, description = "closed", body = vox_protocol::api::PetitionSummary),
    )
)]
async fn close(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
) -> ApiResult {
    s.write(idem.as_ref(), move |w, st, _| close_plan(w, st, &id))
        .await
}

fn close_plan(w: &mut WriteTx, st: &Derived, id: &str) -> ApiResult {
    let (mut t, _) = tracker_copy(st, id)?;
    t.apply_close(w.ts).map_err(rule_error)?;
    w.push(Payload::PetitionClosed {
        petition_id: id.to_owned(),
        count: t.count(),
    })?;
    JsonResponse::ok(&summary(&t, w.ts))
}

/// Close every open petition past its deadline (the server's own sweep).
pub async fn close_overdue(s: &AppState) -> Result<(), AppError> {
    s.board.catch_up().await?;
    let now = s.board.clock.now_ms();
    let due: Vec<String> = {
        let st = s.board.read();
        st.petition_order
            .iter()
            .filter(|id| {
                st.petitions.get(*id).is_some_and(|p| {
                    p.tracker.stage == PetitionStage::Open
                        && p.tracker.closes_at.is_some_and(|c| now >= c)
                })
            })
            .cloned()
            .collect()
    };
    for id in due {
        let r = s
            .write(None, |w, st, _| {
                // Another process may have closed it meanwhile: then there is nothing to do.
                match st.petitions.get(&id) {
                    Some(p) if p.tracker.stage == PetitionStage::Open => close_plan(w, st, &id),
                    _ => JsonResponse::ok(&()),
                }
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(petition = %id, detail = %e.detail, "could not close overdue petition");
        }
    }
    Ok(())
}
