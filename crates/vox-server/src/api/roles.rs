//! Roles: key rotation (protocol-spec/11-roles.md §11.4). The current keys are shown by
//! `GET /api/v1/board`.

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use vox_protocol::api::RoleKeyRotated;
use vox_protocol::board::Payload;

use crate::acts::{authorize, parse_act, ActKind};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ApiResult, JsonResponse, MaybeIdem, RawBody};

/// Routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/roles/rotations", post(rotate))
}

/// A role replaces its key: a `role-key-rotated` act signed with its current key, with
/// the new key's proof of possession. From the next entry on, only the new key signs.
async fn rotate(
    State(s): State<AppState>,
    MaybeIdem(idem): MaybeIdem,
    RawBody(body): RawBody,
) -> ApiResult {
    let payload = parse_act(ActKind::RoleKeyRotated, &body)?;
    s.write(idem.as_ref(), move |w, st, _| {
        authorize(st, &payload)?;
        let mut after = st.authorities().map_err(AppError::internal)?.clone();
        after.apply(&payload);
        debug_assert!(matches!(payload, Payload::RoleKeyRotated { .. }));
        let leaf_index = w.push(payload)?;
        JsonResponse::created(&RoleKeyRotated {
            leaf_index,
            roles: *after.current(),
        })
    })
    .await
}
