//! Electorates: the registrar publishes the credential list (a signed act) before
//! anything uses it.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use vox_crypto::Hash32;
use vox_protocol::board::Payload;
use vox_protocol::electorate::Electorate;
use vox_protocol::encoding::Hashable;

use crate::acts::{authorize, parse_act, ActKind};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ApiResult, JsonResponse, MaybeIdem, RawBody};

/// Routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/electorates", post(register))
        .route("/api/v1/electorates/{id}", get(show))
}

#[derive(Serialize)]
struct Registered {
    electorate_id: String,
    electorate_hash: Hash32,
    leaf_index: u64,
}

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
        if st.electorate_ids.contains_key(&electorate_id) {
            return Err(AppError::conflict(
                "already-exists",
                format!("electorate {electorate_id:?} is already registered"),
            )
            .with_field("electorate/id"));
        }
        if st.electorates.contains_key(&hash) {
            return Err(AppError::conflict(
                "already-exists",
                "an identical electorate is already registered",
            ));
        }
        let leaf_index = w.push(payload)?;
        JsonResponse::created(&Registered {
            electorate_id,
            electorate_hash: hash,
            leaf_index,
        })
    })
    .await
}

#[derive(Serialize)]
struct Shown<'a> {
    electorate: &'a Electorate,
    electorate_hash: Hash32,
    leaf_index: u64,
}

async fn show(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.board.catch_up().await?;
    let st = s.board.read();
    // By id, or by hash (manifests and petitions reference electorates by hash).
    let hash = st
        .electorate_ids
        .get(&id)
        .copied()
        .or_else(|| Hash32::from_hex(&id).ok());
    let info = hash
        .and_then(|h| st.electorates.get(&h))
        .ok_or_else(|| AppError::not_found("electorate", &id))?;
    JsonResponse::ok(&Shown {
        electorate: &info.electorate,
        electorate_hash: info.hash,
        leaf_index: info.leaf_index,
    })
}
