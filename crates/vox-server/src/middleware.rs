//! Router-wide middleware and the metrics endpoint: the HTTP layer above the shared
//! state ([`AppState`]), so that nothing below it (the state, the board, the writer)
//! imports it. The body limit and Idempotency-Key middleware is `idempotency`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::metrics::{render, Sources, CONTENT_TYPE};

/// Per-address limit (loopback optionally exempt).
pub async fn per_address(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(limiter) = &state.address_limiter {
        let addr = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(ip) = addr {
            let exempt = state.config.rate_limit_exempt_loopback && ip.is_loopback();
            if !exempt {
                if let Err(e) = limiter.check(&ip, "address") {
                    return e.into_response();
                }
            }
        }
    }
    next.run(req).await
}

/// Count and time every request by its route template (`Router::layer` runs after
/// routing, so the template is known; `unmatched` otherwise). Never a concrete path: ids
/// would make one series per petition or referendum.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Both are cheap clones (an `Arc<str>` and a standard method), not string copies.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let t0 = Instant::now();
    let res = next.run(req).await;
    state.http_metrics.record(
        method.as_str(),
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        res.status().as_u16(),
        t0.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /metrics`: the Prometheus text exposition (`crate::metrics`).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    summary = "Prometheus text exposition (requests, latencies, ballots and signatures accepted, board size, batch sizes, witness lag)",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"),
        (status = "5XX", description = "Problem details (RFC 9457): an internal error", body = vox_protocol::api::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn scrape(State(state): State<AppState>) -> Response {
    let witnessed = match crate::board::largest_cosigned_size(&state.board).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let body = render(&Sources {
        metrics: &state.metrics,
        http: &state.http_metrics,
        appended: &state.board.appended,
        batch_sizes: &state.batch_sizes,
        ring_batch_sizes: &state.ring_batch_sizes,
        proof_batch_sizes: &state.proof_batch_sizes,
        board_size: state.board.known_size(),
        witnessed,
    });
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
