//! Health, index and the OpenAPI document.

use serde_json::json;

use crate::app::AppState;
use crate::extract::{ApiResult, JsonResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes, each registered with its OpenAPI operation (`#[utoipa::path]`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(index))
        .routes(routes!(index_bare))
        .routes(routes!(openapi))
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    summary = "Liveness",
    responses(
        (status = 200, description = "alive", body = Health),
    )
)]
async fn healthz() -> ApiResult {
    JsonResponse::ok(&Health {
        status: "ok".into(),
    })
}

/// `GET /healthz`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`.
    status: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/",
    tag = "service",
    summary = "API index",
    responses(
        (status = 200, description = "where things are", body = Object),
    )
)]
async fn index() -> ApiResult {
    JsonResponse::ok(&json!({
        "name": "vox",
        "api": "v1",
        "version": env!("CARGO_PKG_VERSION"),
        "openapi": "/api/v1/openapi.json",
        "board": "/api/v1/board",
        "petitions": "/api/v1/petitions",
        "referendums": "/api/v1/referendums",
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    summary = "This document",
    responses(
        (status = 200, description = "the OpenAPI 3.1 document, generated from the handlers and the types", body = Object),
    )
)]
async fn openapi() -> ApiResult {
    JsonResponse::ok(super::openapi::document())
}

#[utoipa::path(
    get,
    path = "/api/v1",
    tag = "service",
    summary = "API index (as /api/v1/)",
    responses(
        (status = 200, description = "where things are", body = Object),
    )
)]
async fn index_bare() -> ApiResult {
    index().await
}
