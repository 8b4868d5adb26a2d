//! Request extractors and the JSON answer type, all failing with problem details.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::AppError;

/// A JSON answer whose body is kept as text (so Idempotency-Key replays return the
/// very same bytes).
#[derive(Debug, Clone)]
pub struct JsonResponse {
    /// Status.
    pub status: StatusCode,
    /// JSON text.
    pub body: String,
}

impl JsonResponse {
    /// Serialize `value`.
    pub fn new<T: Serialize>(status: StatusCode, value: &T) -> Result<Self, AppError> {
        Ok(Self {
            status,
            body: serde_json::to_string(value).map_err(AppError::internal)?,
        })
    }

    /// 200.
    pub fn ok<T: Serialize>(value: &T) -> Result<Self, AppError> {
        Self::new(StatusCode::OK, value)
    }

    /// 201.
    pub fn created<T: Serialize>(value: &T) -> Result<Self, AppError> {
        Self::new(StatusCode::CREATED, value)
    }
}

impl IntoResponse for JsonResponse {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }
}

/// Handler result.
pub type ApiResult = Result<JsonResponse, AppError>;

/// Format a serde path as `answers/0/ciphertexts/1`.
fn field_path(path: &serde_path_to_error::Path) -> Option<String> {
    use serde_path_to_error::Segment;
    let parts: Vec<String> = path
        .iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Parse JSON, naming the offending field on failure (400).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = field_path(e.path());
        AppError::bad_request(field, format!("malformed JSON: {}", e.inner()))
    })?;
    de.end()
        .map_err(|e| AppError::bad_request(None, format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// A JSON body (size already limited by the middleware), parsed with field paths.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::bad_request(None, format!("unreadable body: {e}")))?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The raw body (size already limited by the middleware), for bodies parsed in steps
/// (authority acts: see `crate::acts`).
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| AppError::bad_request(None, format!("unreadable body: {e}")))
    }
}

/// The request's Idempotency-Key context, if it carried one.
#[derive(Debug, Clone)]
pub struct MaybeIdem(pub Option<Idem>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeIdem {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        Ok(MaybeIdem(parts.extensions.get::<Idem>().cloned()))
    }
}

/// Decoded query parameters.
#[derive(Debug, Default)]
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        Ok(QueryParams::parse(parts.uri.query()))
    }
}

impl QueryParams {
    /// Decode a query string (`a=1&b=x%20y`; a repeated name keeps its last value) with
    /// `serde_urlencoded` (application/x-www-form-urlencoded: `+` is a space, a malformed
    /// `%` escape is kept literally, invalid UTF-8 becomes U+FFFD, empty pairs are
    /// skipped, a name without `=` has an empty value).
    pub fn parse(query: Option<&str>) -> Self {
        // Into a map of strings this cannot fail; an empty map is the safe answer anyway.
        QueryParams(
            query
                .and_then(|q| serde_urlencoded::from_str::<HashMap<String, String>>(q).ok())
                .unwrap_or_default(),
        )
    }

    /// A required unsigned integer parameter (400 naming it otherwise).
    pub fn u64(&self, name: &str) -> Result<u64, AppError> {
        self.opt_u64(name)?.ok_or_else(|| {
            AppError::bad_request(
                Some(name.into()),
                format!("query parameter {name} is required"),
            )
        })
    }

    /// An optional unsigned integer parameter.
    pub fn opt_u64(&self, name: &str) -> Result<Option<u64>, AppError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                AppError::bad_request(
                    Some(name.into()),
                    format!("query parameter {name} must be a non-negative integer"),
                )
            }),
        }
    }

    /// A string parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Outer>(br#"{"items":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.field.as_deref(), Some("items/1/n"));
        let e = parse_json::<Outer>(b"{").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(parse_json::<Outer>(br#"{"items":[]} x"#).is_err());
        assert!(parse_json::<Outer>(br#"{"items":[]}"#).is_ok());
    }

    #[test]
    fn query_decoding() {
        let q = QueryParams::parse(Some("a=a%20b+c%2&b&&c=1&c=2&d=%zz&e=%C3&f%3D=x%2By"));
        assert_eq!(q.get("a"), Some("a b c%2"));
        assert_eq!(q.get("b"), Some(""));
        assert_eq!(q.get("c"), Some("2"));
        assert_eq!(q.get("d"), Some("%zz"));
        assert_eq!(q.get("e"), Some("\u{fffd}"));
        assert_eq!(q.get("f="), Some("x+y"));
        assert_eq!(q.0.len(), 6);
        assert!(QueryParams::parse(None).0.is_empty());
        assert!(QueryParams::parse(Some("")).0.is_empty());
    }
}

// ---- Idempotency-Key ------------------------------------------------------------
// The key's type lives here, below the middleware that reads it (`idempotency`), so that
// the state, the writer and the handlers need not import the middleware.

/// Longest accepted Idempotency-Key.
pub const MAX_KEY_LEN: usize = 128;

/// A new Idempotency-Key and the fingerprint of its request.
#[derive(Debug, Clone)]
pub struct Idem {
    /// The client's key.
    pub key: String,
    /// SHA-256 of method, path, authorization and body.
    pub hash: Vec<u8>,
}

impl Idem {
    /// Answer a request whose key is already stored.
    pub fn replay(&self, stored: (Vec<u8>, u16, String)) -> Result<JsonResponse, AppError> {
        let (hash, status, body) = stored;
        if hash == self.hash {
            Ok(JsonResponse {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                body,
            })
        } else {
            Err(idempotency_conflict())
        }
    }
}

/// 409: the key was used for another request.
pub(crate) fn idempotency_conflict() -> AppError {
    AppError::conflict(
        "idempotency-key-reused",
        "this Idempotency-Key was used for a different request",
    )
    .with_field("Idempotency-Key")
}
