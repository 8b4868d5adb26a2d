//! Roles: key rotation (protocol-spec/11-roles.md §11.4). The current keys are shown by
//! `GET /api/v1/board`.

use axum::extract::State;
use vox_protocol::api::RoleKeyRotated;
use vox_protocol::board::Payload;

use crate::acts::{authorize, parse_act, ActKind};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ApiResult, JsonResponse, MaybeIdem, RawBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes, each registered with its OpenAPI operation (`#[utoipa::path]`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(rotate))
}

/// A role replaces its key: a `role-key-rotated` act signed with its current key, with
/// the new key's proof of possession. From the next entry on, only the new key signs.
#[utoipa::path(
    post,
    path = "/api/v1/roles/rotations",
    tag = "roles",
    summary = "Rotate a role's key (act of that role, signed with its current key)",
    description = r#"The body is the board payload of the act, signed by the rotated role's current key (its `act` field); the server checks the signature against the board's roles under the board lock and appends the payload unchanged. 403 `forbidden`: not signed by the role's current key; 409 `already-exists`: the act is already on the board; 422 `invalid`: wrong `type` for this path, an id other than the path's, or a broken rule."#,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a repeated request with the same key and body gets the first answer again (at most 128 characters)"),
    ),
    request_body(content = vox_protocol::board::Payload, content_type = "application/json"),
    responses(
        (status = 201, description = "rotated", body = vox_protocol::api::RoleKeyRotated),
    )
)]
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
