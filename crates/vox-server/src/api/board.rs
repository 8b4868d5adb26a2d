//! The board: tree heads, entries, proofs, cosignatures, record header.

use crate::state::DeclaredWitnessPolicies;
use axum::extract::State;
use axum::http::StatusCode;
use vox_protocol::api::{
    BoardInfo, ConsistencyProof, InclusionProof, PendingWitnessPolicy, WitnessPolicyView,
};
use vox_protocol::board::BoardPublicKey;
use vox_protocol::record::{RecordHeader, RECORD_FORMAT, RECORD_VERSION};

use crate::acts::{authorize, parse_act, ActKind};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ApiJson, ApiResult, JsonResponse, MaybeIdem, QueryParams, RawBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most entries or tree heads per page.
pub const PAGE: u64 = 1000;

/// Routes, each registered with its OpenAPI operation (`#[utoipa::path]`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(info))
        .routes(routes!(tree_head))
        .routes(routes!(tree_heads))
        .routes(routes!(checkpoint))
        .routes(routes!(entries))
        .routes(routes!(inclusion))
        .routes(routes!(consistency))
        .routes(routes!(cosign))
        .routes(routes!(record))
        .routes(routes!(show_witness_policy, set_witness_policy))
}

/// The witness policy view as of the latest head.
async fn witness_policy_view(
    s: &AppState,
    declared: &DeclaredWitnessPolicies,
) -> Result<WitnessPolicyView, AppError> {
    let size = s.board.latest_sth().await?.head.tree_size;
    let policies = crate::witnessing::policies_at(&s.board, declared, size).await?;
    Ok(WitnessPolicyView {
        in_force: policies.in_force().clone(),
        in_force_since_leaf: policies.in_force_leaf(),
        pending: policies
            .pending()
            .map(|(leaf_index, policy)| PendingWitnessPolicy {
                leaf_index,
                policy: policy.clone(),
            }),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/witness-policy",
    tag = "board",
    summary = "The witness policy in force for the latest head, and a change waiting to take effect",
    responses(
        (status = 200, description = "the policy", body = vox_protocol::api::WitnessPolicyView),
    )
)]
async fn show_witness_policy(State(s): State<AppState>) -> ApiResult {
    s.board.catch_up().await?;
    let declared = {
        let st = s.board.read();
        st.witness_policies().map_err(AppError::internal)?.clone()
    };
    JsonResponse::ok(&witness_policy_view(&s, &declared).await?)
}

/// `POST /api/v1/witness-policy`: a signed `witness-policy-set` act (operator).
#[utoipa::path(
    post,
    path = "/api/v1/witness-policy",
    tag = "board",
    summary = "Replace the witness policy (operator act; in force once the current witnesses' quorum cosigns a head covering it)",
    description = r#"The body is the board payload of the act, signed by the operator's key (its `act` field); the server checks the signature and the policy (no key twice, none a role key, quorum at most the number of keys) and appends the payload unchanged. The new policy takes effect only once a tree head covering the entry carries the quorum of the policy in force (11 §11.6): until then phase ends still wait for the current witnesses, and the server asks both. 403 `forbidden`: not signed by the operator's key; 409 `already-exists`: the act is already on the board; 409 `witness-policy-pending`: an earlier change has not taken effect yet (one change at a time); 422 `invalid`: a broken rule."#,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 201, description = "declared", body = vox_protocol::api::WitnessPolicyView),
    )
)]
async fn set_witness_policy(
    State(s): State<AppState>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::WitnessPolicySet, &body)?;
    s.board.catch_up().await?;
    // Resolve a pending change from the cosignatures first (a database read), then
    // append only if the log still declares the same policies.
    let (declared, size) = {
        let st = s.board.read();
        (
            st.witness_policies().map_err(AppError::internal)?.clone(),
            s.board.known_size(),
        )
    };
    let resolved = crate::witnessing::policies_at(&s.board, &declared, size).await?;
    let pending = resolved.pending().map(|(leaf, _)| leaf);
    let count = declared.changes.len();
    let resp = s
        .write(idem.as_ref(), move |w, st, _| {
            authorize(st, &payload)?;
            if st
                .witness_policies()
                .map_err(AppError::internal)?
                .changes
                .len()
                != count
            {
                return Err(AppError::conflict(
                    "witness-policy-pending",
                    "another witness policy change was appended meanwhile; read GET \
                     /api/v1/witness-policy and retry",
                ));
            }
            if let Some(leaf) = pending {
                return Err(AppError::conflict(
                    "witness-policy-pending",
                    format!(
                        "the witness policy change at leaf {leaf} is not in force yet: no tree \
                         head covering it carries the quorum of the policy before it. One \
                         change at a time (11 §11.6): let the current witnesses cosign first"
                    ),
                ));
            }
            w.push(payload)?;
            JsonResponse::created(&serde_json::json!({ "leaf_index": w.size() - 1 }))
        })
        .await?;
    if resp.status != StatusCode::CREATED {
        return Ok(resp);
    }
    let declared = {
        let st = s.board.read();
        st.witness_policies().map_err(AppError::internal)?.clone()
    };
    JsonResponse::created(&witness_policy_view(&s, &declared).await?)
}

#[utoipa::path(
    get,
    path = "/api/v1/board",
    tag = "board",
    summary = "Board key, log id, size, witnesses, the genesis and the roles' current keys",
    responses(
        (status = 200, description = "the board", body = vox_protocol::api::BoardInfo),
    )
)]
async fn info(State(s): State<AppState>) -> ApiResult {
    s.board.catch_up().await?;
    let sth = s.board.latest_sth().await?;
    let (genesis, roles, declared) = {
        let st = s.board.read();
        let a = st.authorities().map_err(AppError::internal)?;
        let w = st.witness_policies().map_err(AppError::internal)?;
        (a.genesis().clone(), *a.current(), w.clone())
    };
    let mut witnesses: Vec<BoardPublicKey> = declared.known_keys();
    let asked = s
        .config
        .witness_endpoints
        .iter()
        .map(|e| BoardPublicKey(*e.vkey().verifying_key()));
    for w in s.config.witnesses.iter().copied().chain(asked) {
        if !witnesses.contains(&w) {
            witnesses.push(w);
        }
    }
    JsonResponse::ok(&BoardInfo {
        board_public_key: s.board.public,
        log_id: s.board.log_id(),
        tree_size: sth.head.tree_size,
        witnesses,
        genesis: Some(genesis),
        roles,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/board/tree-head",
    tag = "board",
    summary = "Latest signed tree head",
    responses(
        (status = 200, description = "the latest head", body = vox_protocol::board::SignedTreeHead),
    )
)]
async fn tree_head(State(s): State<AppState>) -> ApiResult {
    JsonResponse::ok(&s.board.latest_sth().await?)
}

#[utoipa::path(
    get,
    path = "/api/v1/board/checkpoint",
    tag = "board",
    summary = "Latest signed tree head as a C2SP checkpoint signed note, with its cosignatures",
    responses(
        (status = 200, description = "the signed note (protocol-spec 08 §8.3, 12 §12.2)", body = String, content_type = "text/plain"),
    )
)]
async fn checkpoint(State(s): State<AppState>) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let sth = s.board.latest_sth().await?;
    let note = sth
        .to_note(&s.board.public)
        .map_err(|e| AppError::internal(format!("checkpoint note: {e}")))?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        note,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/board/tree-heads",
    tag = "board",
    summary = "Every signed tree head (?since=SIZE)",
    params(
        ("since" = Option<u64>, Query, description = "Smallest tree size (default 0)"),
    ),
    responses(
        (status = 200, description = "heads of size ≥ since, oldest first (at most 1000)", body = Vec<vox_protocol::board::SignedTreeHead>),
    )
)]
async fn tree_heads(State(s): State<AppState>, q: QueryParams) -> ApiResult {
    let since = q.opt_u64("since")?.unwrap_or(0);
    JsonResponse::ok(&s.board.sths_since(since, PAGE as i64).await?)
}

#[utoipa::path(
    get,
    path = "/api/v1/board/entries",
    tag = "board",
    summary = "Entries start ≤ i < end (at most 1000)",
    params(
        ("start" = u64, Query, description = "First leaf index"),
        ("end" = u64, Query, description = "One past the last leaf index"),
    ),
    responses(
        (status = 200, description = "the entries", body = Vec<vox_protocol::api::IndexedEntry>),
    )
)]
async fn entries(State(s): State<AppState>, q: QueryParams) -> ApiResult {
    let start = q.u64("start")?;
    let end = q.u64("end")?;
    if end < start {
        return Err(AppError::bad_request(
            Some("end".into()),
            "end must not be below start",
        ));
    }
    let end = end.min(start.saturating_add(PAGE));
    let rows = s.board.entries(start, end).await?;
    // Entries are stored as JSON text; splice them without re-serializing.
    let mut body = String::from("[");
    for (i, (index, json)) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!("{{\"index\":{index},\"entry\":{json}}}"));
    }
    body.push(']');
    Ok(JsonResponse {
        status: StatusCode::OK,
        body,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/board/inclusion",
    tag = "board",
    summary = "Inclusion proof (?index=&tree_size=)",
    params(
        ("index" = u64, Query, description = "The leaf"),
        ("tree_size" = Option<u64>, Query, description = "The tree (default: the current size)"),
    ),
    responses(
        (status = 200, description = "the proof", body = vox_protocol::api::InclusionProof),
    )
)]
async fn inclusion(State(s): State<AppState>, q: QueryParams) -> ApiResult {
    let index = q.u64("index")?;
    let size = s.board.size().await?;
    let tree_size = q.opt_u64("tree_size")?.unwrap_or(size);
    if tree_size > size {
        return Err(AppError::bad_request(
            Some("tree_size".into()),
            format!("the board has {size} entries"),
        ));
    }
    if index >= tree_size {
        return Err(AppError::bad_request(
            Some("index".into()),
            format!("leaf {index} is not in a tree of size {tree_size}"),
        ));
    }
    let (leaf_hash, proof) = s.board.inclusion(index, tree_size).await?;
    JsonResponse::ok(&InclusionProof {
        leaf_index: index,
        tree_size,
        leaf_hash,
        proof,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/board/consistency",
    tag = "board",
    summary = "Consistency proof (?first=&second=)",
    params(
        ("first" = u64, Query, description = "Older tree size"),
        ("second" = u64, Query, description = "Newer tree size"),
    ),
    responses(
        (status = 200, description = "the proof", body = vox_protocol::api::ConsistencyProof),
    )
)]
async fn consistency(State(s): State<AppState>, q: QueryParams) -> ApiResult {
    let first = q.u64("first")?;
    let second = q.u64("second")?;
    let size = s.board.size().await?;
    if second > size {
        return Err(AppError::bad_request(
            Some("second".into()),
            format!("the board has {size} entries"),
        ));
    }
    if first > second {
        return Err(AppError::bad_request(
            Some("first".into()),
            "first must not exceed second",
        ));
    }
    let proof = s.board.consistency(first, second).await?;
    JsonResponse::ok(&ConsistencyProof {
        first,
        second,
        proof,
    })
}

/// The body of `POST /api/v1/board/cosignatures` (also parsed by the body checks).
pub(crate) use vox_protocol::api::CosignatureRequest as CosignRequest;

#[utoipa::path(
    post,
    path = "/api/v1/board/cosignatures",
    tag = "board",
    summary = "Witness cosignature of a tree head",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::api::CosignatureRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "the head with its cosignatures", body = vox_protocol::board::SignedTreeHead),
    )
)]
async fn cosign(State(s): State<AppState>, ApiJson(req): ApiJson<CosignRequest>) -> ApiResult {
    // The board's witnesses: those a witness policy of the log names (the genesis's or
    // a `witness-policy-set`'s, 11 §11.2, §11.6) and any the operator configured besides.
    let in_genesis = {
        let st = s.board.read();
        st.witness_policies()
            .map_err(AppError::internal)?
            .knows(&req.cosignature.witness)
    };
    let asked = s
        .config
        .witness_endpoints
        .iter()
        .any(|e| e.vkey().verifying_key() == &req.cosignature.witness.0);
    if !in_genesis && !asked && !s.config.witnesses.contains(&req.cosignature.witness) {
        return Err(AppError::invalid(
            "cosignature/witness",
            "not one of this board's witnesses",
        ));
    }
    let sth = s
        .board
        .sth_at(req.tree_size)
        .await?
        .filter(|h| h.head.root_hash == req.root_hash && h.head.timestamp_ms == req.timestamp_ms)
        .ok_or_else(|| AppError::invalid("tree_size", "this board signed no such tree head"))?;
    sth.verify_cosignature(&req.cosignature)
        .map_err(|e| AppError::invalid("cosignature/signature", e.to_string()))?;
    crate::board::store_cosignature(&s.board, req.tree_size, &req.cosignature).await?;
    let sth = s
        .board
        .sth_at(req.tree_size)
        .await?
        .ok_or_else(|| AppError::internal("tree head vanished"))?;
    JsonResponse::created(&sth)
}

#[utoipa::path(
    get,
    path = "/api/v1/record",
    tag = "board",
    summary = "Record header (?referendum= or ?petition=)",
    params(
        ("referendum" = Option<String>, Query, description = "A referendum id"),
        ("petition" = Option<String>, Query, description = "A petition id"),
    ),
    responses(
        (status = 200, description = "the header of the election record", body = vox_protocol::record::RecordHeader),
    )
)]
async fn record(State(s): State<AppState>, q: QueryParams) -> ApiResult {
    s.board.catch_up().await?;
    let referendum_id = q.get("referendum").map(str::to_owned);
    let petition_id = q.get("petition").map(str::to_owned);
    {
        let st = s.board.read();
        if let Some(id) = &referendum_id {
            if !st.referendums.contains_key(id) {
                return Err(AppError::not_found("referendum", id));
            }
        }
        if let Some(id) = &petition_id {
            if !st.petitions.contains_key(id) {
                return Err(AppError::not_found("petition", id));
            }
        }
    }
    // The record ends at the latest head its witnesses vouched for (V3.4).
    let declared = {
        let st = s.board.read();
        st.witness_policies().map_err(AppError::internal)?.clone()
    };
    let tree_size = crate::witnessing::latest_witnessed_size(&s.board, &declared).await?;
    JsonResponse::ok(&RecordHeader {
        format: RECORD_FORMAT.into(),
        version: RECORD_VERSION,
        board_public_key: s.board.public,
        log_id: s.board.log_id(),
        tree_size,
        referendum_id,
        petition_id,
        witnesses: s.config.witnesses.clone(),
    })
}
