//! Body size limits and Idempotency-Key handling for state-changing requests.
//!
//! The middleware reads every POST body up to the limit (413 above it, from the
//! Content-Length header before reading anything when the client sends one). A request
//! with `Idempotency-Key` is fingerprinted (method, path, authorization, body): a key
//! already answered returns the stored answer if the fingerprint matches and 409
//! otherwise. New keys travel to the handler, whose transaction stores the answer
//! together with the state change — so a crash can never leave a change without its
//! answer or an answer without its change.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::app::AppState;
use crate::error::AppError;

pub use crate::extract::{Idem, MAX_KEY_LEN};

fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// The body limit that applies to a path: electorate registrations list every
/// credential, enrolment openings every code's hash.
fn limit_for(state: &AppState, path: &str) -> usize {
    if matches!(
        path.trim_end_matches('/'),
        "/api/v1/electorates" | "/api/v1/enrolments"
    ) {
        state.config.max_electorate_body_bytes
    } else {
        state.config.max_body_bytes
    }
}

/// The middleware (see the module documentation).
pub async fn body_and_idempotency(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::POST && req.method() != Method::PUT {
        return next.run(req).await;
    }
    let limit = limit_for(&state, req.uri().path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (mut parts, mut body) = req.into_parts();
    if declared.is_some_and(|n| n > limit as u64) {
        drain(body, limit).await;
        return AppError::too_large(limit).into_response();
    }
    let mut buf: Vec<u8> = Vec::new();
    // One deadline for the whole body: a client that sends a byte and goes silent (or
    // trickles bytes to keep a per-read timer alive) is cut off and its connection closed.
    let deadline = tokio::time::Instant::now()
        + std::time::Duration::from_millis(state.config.body_read_timeout_ms);
    loop {
        let Ok(frame) = tokio::time::timeout_at(deadline, body.frame()).await else {
            let mut res =
                AppError::request_timeout(state.config.body_read_timeout_ms).into_response();
            res.headers_mut().insert(
                header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return res;
        };
        match frame {
            None => break,
            Some(Err(_)) => {
                return AppError::bad_request(None, "could not read the request body")
                    .into_response()
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > limit {
                        drain(body, limit).await;
                        return AppError::too_large(limit).into_response();
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
    let bytes = axum::body::Bytes::from(buf);
    if let Some(v) = parts.headers.get("idempotency-key") {
        let key = match v.to_str() {
            Ok(k) if valid_key(k) => k.to_owned(),
            _ => {
                return AppError::bad_request(
                    Some("Idempotency-Key".into()),
                    format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
                )
                .into_response()
            }
        };
        let mut h = Sha256::new();
        h.update(parts.method.as_str().as_bytes());
        h.update([0]);
        h.update(parts.uri.path().as_bytes());
        h.update([0]);
        h.update(&bytes);
        let idem = Idem {
            key,
            hash: h.finalize().to_vec(),
        };
        match lookup(&state, &idem.key).await {
            Ok(Some(stored)) => {
                return match idem.replay(stored) {
                    Ok(r) => r.into_response(),
                    Err(e) => e.into_response(),
                }
            }
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
        parts.extensions.insert(idem);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Read and discard what the client is still sending (a little, briefly) so that it
/// can read our 413 instead of seeing its upload reset; HTTP servers call this
/// lingering close. Larger or slower uploads are simply cut off.
async fn drain(mut body: Body, limit: usize) {
    let cap = limit.saturating_mul(4).clamp(1 << 20, 16 << 20);
    let mut seen = 0usize;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len();
                if seen > cap {
                    break;
                }
            }
        }
    })
    .await;
}

async fn lookup(state: &AppState, key: &str) -> Result<Option<(Vec<u8>, u16, String)>, AppError> {
    let row = sqlx::query("SELECT request_hash, status, body FROM idempotency WHERE key = $1")
        .bind(key)
        .fetch_optional(&state.board.db.pool)
        .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let status: i64 = r.try_get(1)?;
            Ok(Some((
                r.try_get(0)?,
                u16::try_from(status).unwrap_or(500),
                r.try_get(2)?,
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(valid_key("abc-123"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"x".repeat(129)));
        assert!(valid_key(&"x".repeat(128)));
    }
}
