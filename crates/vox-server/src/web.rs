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
//! - The pages come from a directory, or from the binary itself: `scripts/dist.sh`
//!   builds them and compiles them in (`VOX_EMBED_WEB_DIR`, [`Bundle`]), so an operator
//!   copies one file. A directory given explicitly (`--web-dir`, `$VOX_WEB_DIR`) wins
//!   over the embedded pages, which win over `target/vox-web-dist`.
//! - Without pages (a plain build, nothing built), `GET /` answers a short page that
//!   says how to build them; the API is unaffected.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use rust_embed::RustEmbed;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Environment variable naming the directory of built pages.
pub const WEB_DIR_ENV: &str = "VOX_WEB_DIR";

/// Where `scripts/build-web.sh` puts the pages, relative to the working directory.
pub const DEFAULT_WEB_DIR: &str = "target/vox-web-dist";

const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The pages compiled into this binary: the directory named by `VOX_EMBED_WEB_DIR` at
/// build time (`scripts/dist.sh` sets it to a freshly built bundle). Without the
/// variable the folder does not exist and nothing is embedded (`allow_missing`).
#[derive(RustEmbed)]
#[folder = "${VOX_EMBED_WEB_DIR:-no-embedded-web}"]
#[allow_missing = true]
struct Bundle;

/// Read here so that rustc records the variable as an input of this crate and rebuilds
/// it when the variable changes (a derive macro's own reads are not tracked).
const _EMBED_DIR: Option<&str> = option_env!("VOX_EMBED_WEB_DIR");

/// Whether this binary carries the web pages (built with `scripts/dist.sh`).
pub fn embedded_pages() -> bool {
    Bundle::get("index.html").is_some()
}

/// The directory to serve when none is configured explicitly: `$VOX_WEB_DIR` if set
/// (an empty value turns the pages off), else none when this binary carries its own
/// pages ([`embedded_pages`]), else `target/vox-web-dist` if it holds an `index.html`,
/// else none.
pub fn default_web_dir() -> Option<PathBuf> {
    match std::env::var_os(WEB_DIR_ENV) {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None if embedded_pages() => None,
        None => {
            let d = PathBuf::from(DEFAULT_WEB_DIR);
            has_index(&d).then_some(d)
        }
    }
}

fn has_index(dir: &Path) -> bool {
    dir.join("index.html").is_file()
}

/// The pages router: merge it into the API router. Serves `dist` when it has an
/// `index.html`, else the pages compiled into the binary if any, else only `GET /` with
/// a page saying how to build them (and a warning in the log when `dist` was given but
/// holds no `index.html`).
pub fn web_router(dist: Option<PathBuf>) -> Router<()> {
    let dir = match dist {
        Some(dir) if has_index(&dir) => dir,
        other => {
            if let Some(dir) = other {
                tracing::warn!(dir = %dir.display(), "no index.html in the web directory: pages not served (run scripts/build-web.sh)");
            }
            if embedded_pages() {
                tracing::info!("serving the web pages built into this binary at /");
                return embedded_router(|path| {
                    Bundle::get(path).map(|f| (f.data, f.metadata.sha256_hash()))
                });
            }
            return Router::new().route("/", get(no_pages));
        }
    };
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
    if let Some(refused) = refuse(&req) {
        return refused;
    }
    let mut res = match files.oneshot(req).await {
        Ok(res) => res.map(Body::new),
        Err(never) => match never {},
    };
    secure(res.headers_mut());
    res
}

/// What the pages never answer: unknown API paths (the API's problem 404) and writes.
fn refuse(req: &Request) -> Option<Response> {
    if req.uri().path().starts_with("/api/") {
        return Some(problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "no resource with id \"at this path\"",
        ));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "the web pages are read-only",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(r);
    }
    None
}

/// The headers every page carries (CSP, no sniffing, no referrer, no framing,
/// revalidation).
fn secure(h: &mut axum::http::HeaderMap) {
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
}

/// `GET /` on a server without pages: say how to get them (the API is unaffected).
async fn no_pages() -> Response {
    let body = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <title>vox: no web pages in this build</title></head><body><main>\
        <h1>This vox server has no web pages</h1>\
        <p>The API is served at <a href=\"/api/v1/\">/api/v1/</a>. To serve the citizens' \
        pages too, build them in a checkout with <code>scripts/build-web.sh</code> and \
        restart the server there (or pass <code>--web-dir DIR</code>), or build one \
        binary that carries them with <code>scripts/dist.sh</code> \
        (docs/operate-a-server.md).</p></main></body></html>";
    let mut res = (StatusCode::NOT_FOUND, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(h);
    res
}

/// A file of the embedded bundle: its bytes and their SHA-256 (the ETag).
type EmbeddedFile = (Cow<'static, [u8]>, [u8; 32]);

/// The router over a bundle of files looked up by path (the binary's [`Bundle`], or a
/// test's own): the same rules as the directory (API paths 404 problem, read-only,
/// `index.html` for `/` and directories, `.gz` twins for gzip clients, the same
/// headers), plus an ETag from the file's hash and 304 for a matching `If-None-Match`.
fn embedded_router(lookup: fn(&str) -> Option<EmbeddedFile>) -> Router<()> {
    let handler = move |req: Request| async move { serve_embedded(lookup, req) };
    Router::new()
        .route("/", any(handler))
        .route("/{*path}", any(handler))
}

fn serve_embedded(lookup: fn(&str) -> Option<EmbeddedFile>, req: Request) -> Response {
    if let Some(refused) = refuse(&req) {
        return refused;
    }
    let raw = req.uri().path().trim_start_matches('/');
    let mut path = raw.to_owned();
    if path.is_empty() || path.ends_with('/') {
        path.push_str("index.html");
    } else if lookup(&path).is_none() && lookup(&format!("{path}/index.html")).is_some() {
        path.push_str("/index.html");
    }
    let Some((plain, hash)) = lookup(&path) else {
        let mut r = (StatusCode::NOT_FOUND, "not found").into_response();
        secure(r.headers_mut());
        return r;
    };
    let etag = format!("\"{}\"", hex::encode(hash.get(..16).unwrap_or(&hash)));
    let accepts_gzip = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let gz = accepts_gzip
        .then(|| lookup(&format!("{path}.gz")))
        .flatten();
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else if req.method() == Method::HEAD {
        StatusCode::OK.into_response()
    } else {
        let bytes = gz.as_ref().map_or(&plain, |(g, _)| g).clone();
        (StatusCode::OK, Body::from(bytes.into_owned())).into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if gz.is_some() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    secure(h);
    res
}

/// The content type of the bundle's file kinds (what `scripts/build-web.sh` produces).
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use axum::http::Request as HttpRequest;

    /// A real rust-embed bundle over a small fixture, served by the same code as the
    /// binary's own [`Bundle`].
    #[derive(RustEmbed)]
    #[folder = "tests/fixtures/web"]
    struct Fixture;

    fn lookup(path: &str) -> Option<EmbeddedFile> {
        Fixture::get(path).map(|f| (f.data, f.metadata.sha256_hash()))
    }

    async fn call(method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut b = HttpRequest::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        embedded_router(lookup)
            .oneshot(b.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn body(r: Response) -> Vec<u8> {
        axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn embedded_pages_are_served_like_the_directory() {
        let r = call("GET", "/", &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(r.headers()[header::CONTENT_SECURITY_POLICY], CSP);
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert!(String::from_utf8(body(r).await)
            .unwrap()
            .contains("vox fixture"));

        // Revalidation: the same ETag is 304 without a body; another is a full answer.
        let r = call("GET", "/index.html", &[("if-none-match", &etag)]).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert!(body(r).await.is_empty());
        let r = call("GET", "/index.html", &[("if-none-match", "\"other\"")]).await;
        assert_eq!(r.status(), StatusCode::OK);

        // A directory's index, the gzip twin for gzip clients only, HEAD without a body.
        let r = call("GET", "/sub/", &[]).await;
        assert!(String::from_utf8(body(r).await)
            .unwrap()
            .contains("<title>sub"));
        let r = call("GET", "/sub", &[]).await;
        assert!(String::from_utf8(body(r).await)
            .unwrap()
            .contains("<title>sub"));
        let r = call("GET", "/app.js", &[("accept-encoding", "br, gzip")]).await;
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        let gz = body(r).await;
        assert_eq!(gz.get(..2), Some(&[0x1f, 0x8b][..]), "a gzip stream");
        let r = call("GET", "/app.js", &[]).await;
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body(r).await, b"console.log(\"fixture\");\n");
        let r = call("HEAD", "/app.js", &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(body(r).await.is_empty());

        // Unknown files 404; API paths get the API's problem; writes are refused.
        assert_eq!(
            call("GET", "/nope.js", &[]).await.status(),
            StatusCode::NOT_FOUND
        );
        let r = call("GET", "/api/v1/nope", &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let r = call("POST", "/index.html", &[]).await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        // `..` cannot climb out of the bundle (there is nothing outside it to reach).
        assert_eq!(
            call("GET", "/../Cargo.toml", &[]).await.status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn a_plain_build_embeds_no_pages() {
        // The test build is a plain build: `VOX_EMBED_WEB_DIR` is not set by the suite.
        if option_env!("VOX_EMBED_WEB_DIR").is_none() {
            assert!(!embedded_pages());
        }
    }
}
