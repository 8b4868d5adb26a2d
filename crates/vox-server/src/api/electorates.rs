//! Electorates (protocol-spec/04-ballots.md §4.1): the registrar either publishes a
//! whole credential list (a signed `electorate-registered` act), or opens enrolment by
//! one-time codes (`enrolment-opened`), lets citizens' devices enrol their credentials
//! (`credential-enrolled`, signed by the credential itself), revokes lost credentials
//! (`credential-revoked`) and freezes the list (`electorate-frozen`). Only a registered
//! or frozen electorate may be named by a manifest or a petition.
//!
//! Every rule is [`vox_protocol::enrolment::Roll`]'s, checked at the locked, caught-up
//! board head just before appending: the same replay the verifier runs over the record.

use axum::extract::{Path, State};
use vox_crypto::Hash32;
use vox_protocol::api::{
    CredentialEnrolled, CredentialRevoked, ElectorateInfo, ElectorateRegistered, ElectorateState,
    EnrolmentOpened,
};
use vox_protocol::board::Payload;
use vox_protocol::electorate::{Electorate, EnrolmentRequest};
use vox_protocol::encoding::Hashable;
use vox_protocol::enrolment::EnrolmentError;

use crate::acts::{authorize, check_path_id, parse_act, ActKind};
use crate::app::AppState;
use crate::error::{enrolment_error, AppError};
use crate::extract::{ApiJson, ApiResult, JsonResponse, MaybeIdem, RawBody};
use crate::state::Derived;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes, each registered with its OpenAPI operation (`#[utoipa::path]`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(show))
        .routes(routes!(open))
        .routes(routes!(enrol))
        .routes(routes!(revoke))
        .routes(routes!(freeze))
}

#[utoipa::path(
    post,
    path = "/api/v1/electorates",
    tag = "electorates",
    summary = "Register an electorate (registrar act)",
    description = r#"The body is the board payload of the act, signed by the registrar's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule."#,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 201, description = "registered", body = vox_protocol::api::ElectorateRegistered),
    )
)]
async fn register(
    State(s): State<AppState>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::ElectorateRegistered, &body)?;
    let Payload::ElectorateRegistered { electorate, .. } = &payload else {
        return Err(AppError::internal("parsed act of another kind"));
    };
    let hash = electorate.canonical_hash();
    let electorate_id = electorate.id.clone();
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        // An id opened for enrolment is taken too (the roll's rule).
        if st.roll.exists(&electorate_id) {
            return Err(AppError::conflict(
                "already-exists",
                format!("electorate {electorate_id:?} already exists on this board"),
            )
            .with_field("electorate/id"));
        }
        let leaf_index = w.push(payload)?;
        JsonResponse::created(&ElectorateRegistered {
            electorate_id,
            electorate_hash: hash,
            leaf_index,
        })
    })
    .await
}

/// `POST /api/v1/enrolments`: the registrar's commitment to the codes of a new
/// electorate.
#[utoipa::path(
    post,
    path = "/api/v1/enrolments",
    tag = "electorates",
    summary = "Open enrolment by one-time codes: commit to the codes' hashes (registrar act)",
    description = r#"The body is the board payload of the act, signed by the registrar's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule."#,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 201, description = "opened", body = vox_protocol::api::EnrolmentOpened),
    )
)]
async fn open(
    State(s): State<AppState>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::EnrolmentOpened, &body)?;
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        let Payload::EnrolmentOpened { opening, .. } = &payload else {
            return Err(AppError::internal("parsed act of another kind"));
        };
        st.roll.check_open(opening).map_err(enrolment_error)?;
        let electorate_id = opening.electorate_id.clone();
        let leaf_index = w.push(payload)?;
        JsonResponse::created(&EnrolmentOpened {
            electorate_id,
            leaf_index,
        })
    })
    .await
}

/// The roll's enrolment rules at this process's fold; if they refuse, catch up once and
/// ask again, so that a process never refuses from a state the board has left (a
/// replacement code committed through another process, say).
async fn check_enrol_fresh(s: &AppState, req: &EnrolmentRequest) -> Result<(), AppError> {
    let check = |st: &Derived| -> Result<(), AppError> {
        if !st.roll.exists(&req.electorate_id) {
            return Err(AppError::not_found("electorate", &req.electorate_id));
        }
        st.roll.check_enrol(req).map_err(enrolment_error)
    };
    if check(&s.board.read()).is_ok() {
        return Ok(());
    }
    s.board.catch_up().await?;
    check(&s.board.read())
}

/// `POST /api/v1/electorates/{id}/credentials`: a citizen's device enrols its
/// credential with a one-time code. No authority act: the credential signs the request
/// (the code inside), which proves the device holds the secret. The secret itself never
/// reaches the server.
#[utoipa::path(
    post,
    path = "/api/v1/electorates/{id}/credentials",
    tag = "electorates",
    summary = "Enrol a credential with a one-time code (signed by the credential; no act)",
    description = r#"404 unknown electorate; 422 `code-not-committed`, `region` (replacement region) or `invalid` (code not normalised, bad signature); 409 `code-spent`, `credential-enrolled`, `electorate-frozen`."#,
    params(
        ("id" = String, Path, description = "The electorate id or its hash"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::electorate::EnrolmentRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "enrolled", body = vox_protocol::api::CredentialEnrolled),
    )
)]
async fn enrol(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    ApiJson(req): ApiJson<EnrolmentRequest>,
) -> ApiResult {
    check_path_id("electorate_id", &req.electorate_id, &id)?;
    s.limit_credential(&req.credential.to_bytes())?;
    // The cheap rules first: no signature verification for a code that cannot be used.
    check_enrol_fresh(&s, &req).await?;
    let req = tokio::task::spawn_blocking(move || req.verify().map(|()| req))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| enrolment_error(EnrolmentError::Signature(e.to_string())))?;
    s.write(idem.as_ref(), move |w, st, _| {
        // Again at the locked head: of two enrolments with one code, one wins; the
        // other finds the code spent.
        st.roll.check_enrol(&req).map_err(enrolment_error)?;
        let answer = CredentialEnrolled {
            electorate_id: req.electorate_id.clone(),
            credential: req.credential,
            leaf_index: w.size(),
        };
        let leaf_index = w.push(Payload::CredentialEnrolled { enrolment: req })?;
        debug_assert_eq!(leaf_index, answer.leaf_index);
        JsonResponse::created(&answer)
    })
    .await
}

/// `POST /api/v1/electorates/{id}/revocations`: the registrar revokes a credential,
/// optionally committing to one replacement code.
#[utoipa::path(
    post,
    path = "/api/v1/electorates/{id}/revocations",
    tag = "electorates",
    summary = "Revoke a credential, optionally committing to a replacement code (registrar act)",
    description = r#"The body is the board payload of the act, signed by the registrar's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule. 409 `not-current`."#,
    params(
        ("id" = String, Path, description = "The electorate id or its hash"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 201, description = "revoked", body = vox_protocol::api::CredentialRevoked),
    )
)]
async fn revoke(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::CredentialRevoked, &body)?;
    let Payload::CredentialRevoked {
        electorate_id,
        credential,
        replacement,
        ..
    } = &payload
    else {
        return Err(AppError::internal("parsed act of another kind"));
    };
    check_path_id("electorate_id", electorate_id, &id)?;
    let (credential, replacement) = (*credential, *replacement);
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        st.roll
            .check_revoke(&id, &credential, replacement.as_ref())
            .map_err(|e| match e {
                // The only opening rule of a revocation: its replacement hash is new.
                EnrolmentError::Opening(reason) => AppError::invalid("replacement", reason),
                other => enrolment_error(other),
            })?;
        let leaf_index = w.push(payload)?;
        JsonResponse::created(&CredentialRevoked { leaf_index })
    })
    .await
}

/// `POST /api/v1/electorates/{id}/freeze`: enrolment ends; the electorate is the list
/// of enrolled, non-revoked credentials, whose hash the act names.
#[utoipa::path(
    post,
    path = "/api/v1/electorates/{id}/freeze",
    tag = "electorates",
    summary = "Freeze an electorate enrolled by code (registrar act)",
    description = r#"The body is the board payload of the act, signed by the registrar's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule. 409 `frozen`; 422 `hash-mismatch` naming the hash of the credentials enrolled now."#,
    params(
        ("id" = String, Path, description = "The electorate id or its hash"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 201, description = "frozen", body = vox_protocol::api::ElectorateRegistered),
    )
)]
async fn freeze(
    State(s): State<AppState>,
    Path(id): Path<String>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::ElectorateFrozen, &body)?;
    let Payload::ElectorateFrozen {
        electorate_id,
        electorate_hash,
        ..
    } = &payload
    else {
        return Err(AppError::internal("parsed act of another kind"));
    };
    check_path_id("electorate_id", electorate_id, &id)?;
    let hash = *electorate_hash;
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        if !st.roll.exists(&id) {
            return Err(AppError::not_found("electorate", &id));
        }
        if st.roll.is_frozen(&id) {
            return Err(AppError::conflict(
                "frozen",
                format!("electorate {id:?} is frozen (or was registered whole) already"),
            ));
        }
        // Tell the registrar which list the board holds: its client froze another one
        // (an enrolment or revocation came in meanwhile).
        let expected = st
            .roll
            .pending(&id)
            .map_err(enrolment_error)?
            .canonical_hash();
        if expected != hash {
            return Err(AppError::unprocessable(
                "hash-mismatch",
                "electorate_hash",
                format!(
                    "the act names electorate hash {hash}, but the credentials enrolled now \
                     give {expected}; fetch the electorate and sign again"
                ),
            ));
        }
        st.roll.check_freeze(&id, &hash).map_err(enrolment_error)?;
        let leaf_index = w.push(payload)?;
        JsonResponse::created(&ElectorateRegistered {
            electorate_id: id,
            electorate_hash: hash,
            leaf_index,
        })
    })
    .await
}

/// `GET /api/v1/electorates/{id}`, by id or hash. While enrolling, the electorate is the
/// list that would be frozen now (by id only: it has no hash of its own yet).
#[utoipa::path(
    get,
    path = "/api/v1/electorates/{id}",
    tag = "electorates",
    summary = "An electorate (by id or hash): state (enrolling or frozen), the list (while enrolling: the one that would be frozen now) and its hash, committed and enrolled counts per region, revoked credentials, unspent codes",
    params(
        ("id" = String, Path, description = "The electorate id or its hash"),
    ),
    responses(
        (status = 200, description = "the electorate", body = vox_protocol::api::ElectorateInfo),
    )
)]
async fn show(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.board.catch_up().await?;
    let enrolling = {
        let st = s.board.read();
        match st.openings.get(&id) {
            Some(leaf) if !st.roll.is_frozen(&id) => Some((
                st.roll.pending(&id).map_err(enrolment_error)?,
                *leaf,
                st.roll.tallies(&id).unwrap_or_default(),
                st.revocations.get(&id).copied().unwrap_or(0),
                st.roll.unspent_codes(&id),
            )),
            _ => None,
        }
    };
    if let Some((pending, leaf_index, regions, revoked, unspent_codes)) = enrolling {
        // Hashed outside the state lock: the list may be long.
        return JsonResponse::ok(&ElectorateInfo {
            electorate_hash: pending.canonical_hash(),
            electorate: pending,
            leaf_index,
            state: ElectorateState::Enrolling,
            regions,
            revoked,
            unspent_codes,
        });
    }
    let st = s.board.read();
    let hash = st
        .electorate_ids
        .get(&id)
        .copied()
        .or_else(|| Hash32::from_hex(&id).ok());
    let info = hash
        .and_then(|h| st.electorates.get(&h))
        .ok_or_else(|| AppError::not_found("electorate", &id))?;
    let eid = &info.electorate.id;
    JsonResponse::ok(&ElectorateInfo {
        electorate: Electorate::clone(&info.electorate),
        electorate_hash: info.hash,
        leaf_index: info.leaf_index,
        state: ElectorateState::Frozen,
        regions: st.roll.tallies(eid).unwrap_or_default(),
        revoked: st.revocations.get(eid).copied().unwrap_or(0),
        unspent_codes: st.roll.unspent_codes(eid),
    })
}
