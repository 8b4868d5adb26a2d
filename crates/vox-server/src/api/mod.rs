//! The HTTP API (protocol-spec/api.md): one router per resource, merged here.

pub mod board;
pub mod data;
pub mod deadlines;
pub mod electorates;
pub mod openapi;
pub mod petitions;
pub mod referendums;
pub mod roles;
pub mod service;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::error::AppError;

/// The whole API (and the web pages, when configured) with its middleware (outermost
/// first): request tracing, per-address rate limit, body limit + Idempotency-Key.
pub fn router(state: AppState) -> Router {
    let web = crate::web::web_router(state.config.web_dir.clone());
    // The routes and the OpenAPI document come from one registration (`openapi.rs`).
    let (api, _) = openapi::api_routes().split_for_parts();
    api.with_state(state.clone())
        // The pages (if configured) answer every other GET path.
        .merge(web)
        .fallback(|| async { AppError::not_found("resource", "at this path") })
        .method_not_allowed_fallback(|| async {
            let mut e = AppError::bad_request(None, "this method is not allowed on this path");
            e.status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
            e.slug = "method-not-allowed";
            e
        })
        // Bodies are limited (with a problem-details 413) by our own middleware.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::body_and_idempotency,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::middleware::per_address,
        ))
        .layer(axum::middleware::from_fn(require_host))
        .layer(TraceLayer::new_for_http())
}

/// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
/// HTTP/1.1 request message that lacks a Host header field" (HTTP/1.0 has none to send;
/// HTTP/2 carries the authority in the request line).
async fn require_host(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if req.version() == axum::http::Version::HTTP_11
        && !req.headers().contains_key(axum::http::header::HOST)
    {
        return AppError::bad_request(
            Some("Host".into()),
            "an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)",
        )
        .into_response();
    }
    next.run(req).await
}
