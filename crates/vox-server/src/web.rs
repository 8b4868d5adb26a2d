//! The citizens' web pages (`crates/vox-web`, built into a directory by
//! `scripts/build-web.sh`) served at `/`, beside the API.
//!
//! Self-contained on purpose (no other module of this crate is used), so that mounting
//! it is one line: `.merge(crate::web::web_router(config.web_dir.clone()))`.
//!
//! - `GET /` and `GET /<file>` serve files from the directory (`.wasm` as
//!   `application/wasm`; a precompressed `<file>.gz` is used when the client accepts
//!   gzip). Nothing outside the directory is reachable (ServeDir rejects `..`).
//! - Paths under `/api/` that no API route matched get the API's problem-details 404,
//!   so the catch-all never hides an API mistake behind an HTML page.
//! - Every page carries a strict Content-Security-Policy: scripts only from this origin
//!   (plus `wasm-unsafe-eval` to compile the crypto module), no inline script or style,
//!   no third-party connections, no framing.
//! - Without a directory (none configured and no `target/vox-web-dist`), the router is
//!   empty and the server is API-only, exactly as before.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Environment variable naming the directory of built pages.
pub const WEB_DIR_ENV: &str = "VOX_WEB_DIR";

/// Where `scripts/build-web.sh` puts the pages, relative to the working directory.
pub const DEFAULT_WEB_DIR: &str = "target/vox-web-dist";

const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The directory to serve when none is configured explicitly: `$VOX_WEB_DIR` if set
/// (an empty value turns the pages off), else `target/vox-web-dist` if it holds an
/// `index.html`, else none.
pub fn default_web_dir() -> Option<PathBuf> {
    match std::env::var_os(WEB_DIR_ENV) {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => {
            let d = PathBuf::from(DEFAULT_WEB_DIR);
            has_index(&d).then_some(d)
        }
    }
}

fn has_index(dir: &Path) -> bool {
    dir.join("index.html").is_file()
}

/// The pages router: merge it into the API router. Empty when `dist` is `None` or has
/// no `index.html` (a warning is logged in the latter case).
pub fn web_router(dist: Option<PathBuf>) -> Router<()> {
    let Some(dir) = dist else {
        return Router::new();
    };
    if !has_index(&dir) {
        tracing::warn!(dir = %dir.display(), "no index.html in the web directory: pages not served (run scripts/build-web.sh)");
        return Router::new();
    }
    tracing::info!(dir = %dir.display(), "serving the web pages at /");
    let files = ServeDir::new(dir)
        .precompressed_gzip()
        .append_index_html_on_directories(true);
    let handler = move |req: Request| {
        let files = files.clone();
        async move { serve(files, req).await }
    };
    Router::new()
        .route("/", any(handler.clone()))
        .route("/{*path}", any(handler))
}

async fn serve(files: ServeDir, req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        return problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "no resource with id \"at this path\"",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "the web pages are read-only",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let mut res = match files.oneshot(req).await {
        Ok(res) => res.map(Body::new),
        Err(never) => match never {},
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages and the wasm change with every build; revalidate (ETag/Last-Modified).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// An RFC 9457 problem, shaped like the API's own.
fn problem(status: StatusCode, slug: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("https://vox.invalid/problems/{slug}"),
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body.to_string(),
    )
        .into_response()
}
