//! Health, index and the OpenAPI document.

use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::app::AppState;
use crate::extract::{ApiResult, JsonResponse};

/// Routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1", get(index))
        .route("/api/v1/", get(index))
        .route("/api/v1/openapi.json", get(openapi))
}

async fn healthz() -> ApiResult {
    JsonResponse::ok(&json!({"status": "ok"}))
}

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

async fn openapi() -> ApiResult {
    JsonResponse::ok(&super::openapi::document())
}
