//! The board: tree heads, entries, proofs, cosignatures, record header.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use vox_protocol::api::{BoardInfo, ConsistencyProof, InclusionProof};
use vox_protocol::record::{RecordHeader, RECORD_FORMAT, RECORD_VERSION};

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ApiJson, ApiResult, JsonResponse, QueryParams};

/// Most entries or tree heads per page.
pub const PAGE: u64 = 1000;

/// Routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/board", get(info))
        .route("/api/v1/board/tree-head", get(tree_head))
        .route("/api/v1/board/tree-heads", get(tree_heads))
        .route("/api/v1/board/entries", get(entries))
        .route("/api/v1/board/inclusion", get(inclusion))
        .route("/api/v1/board/consistency", get(consistency))
        .route("/api/v1/board/cosignatures", post(cosign))
        .route("/api/v1/record", get(record))
}

async fn info(State(s): State<AppState>) -> ApiResult {
    s.board.catch_up().await?;
    let sth = s.board.latest_sth().await?;
    let (genesis, roles) = {
        let st = s.board.read();
        let a = st.authorities().map_err(AppError::internal)?;
        (a.genesis().clone(), *a.current())
    };
    let mut witnesses = genesis.witnesses.keys.clone();
    for w in &s.config.witnesses {
        if !witnesses.contains(w) {
            witnesses.push(*w);
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

async fn tree_head(State(s): State<AppState>) -> ApiResult {
    JsonResponse::ok(&s.board.latest_sth().await?)
}

async fn tree_heads(State(s): State<AppState>, q: QueryParams) -> ApiResult {
    let since = q.opt_u64("since")?.unwrap_or(0);
    JsonResponse::ok(&s.board.sths_since(since, PAGE as i64).await?)
}

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

async fn cosign(State(s): State<AppState>, ApiJson(req): ApiJson<CosignRequest>) -> ApiResult {
    // The board's witnesses: those the genesis names (its witness policy, 11 §11.2) and
    // any the operator configured besides.
    let in_genesis = {
        let st = s.board.read();
        let a = st.authorities().map_err(AppError::internal)?;
        a.genesis()
            .witnesses
            .keys
            .contains(&req.cosignature.witness)
    };
    if !in_genesis && !s.config.witnesses.contains(&req.cosignature.witness) {
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
    sth.verify_cosignature(&s.board.public, &req.cosignature)
        .map_err(|e| AppError::invalid("cosignature/signature", e.to_string()))?;
    crate::board::store_cosignature(&s.board, req.tree_size, &req.cosignature).await?;
    let sth = s
        .board
        .sth_at(req.tree_size)
        .await?
        .ok_or_else(|| AppError::internal("tree head vanished"))?;
    JsonResponse::created(&sth)
}

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
    let sth = s.board.latest_sth().await?;
    JsonResponse::ok(&RecordHeader {
        format: RECORD_FORMAT.into(),
        version: RECORD_VERSION,
        board_public_key: s.board.public,
        log_id: s.board.log_id(),
        tree_size: sth.head.tree_size,
        referendum_id,
        petition_id,
        witnesses: s.config.witnesses.clone(),
    })
}
