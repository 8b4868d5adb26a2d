//! Errors: [`ServerError`] for starting the server, [`AppError`] for HTTP answers
//! (RFC 9457 problem details that name the offending field and never leak internals).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use vox_protocol::api::Problem;
use vox_protocol::electorate::Ineligible;
use vox_protocol::enrolment::EnrolmentError;
use vox_protocol::roles::{ActError, Role};
use vox_protocol::ProtocolError;

/// Why the server could not start (or stopped).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The database configuration could lose acknowledged writes.
    #[error("refusing to start: {0}")]
    Durability(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The stored board is inconsistent (e.g. a board key that does not decode).
    #[error("stored state: {0}")]
    Corrupt(String),
    /// The log's genesis is missing, invalid, or not this server's (protocol-spec/11-roles.md
    /// §11.2).
    #[error("genesis: {0}")]
    Genesis(String),
    /// Binding or serving failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Problem type URIs are `https://vox.invalid/problems/<slug>`.
const PROBLEM_BASE: &str = "https://vox.invalid/problems/";

/// An HTTP error answer: RFC 9457 problem details.
#[derive(Debug, Clone)]
pub struct AppError {
    /// HTTP status.
    pub status: StatusCode,
    /// Last segment of the problem type URI.
    pub slug: &'static str,
    /// Human-readable detail.
    pub detail: String,
    /// The offending field (JSON-pointer-like path), if any.
    pub field: Option<String>,
    /// Seconds before retrying (429).
    pub retry_after: Option<u64>,
}

impl AppError {
    fn new(status: StatusCode, slug: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            slug,
            detail: detail.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Attach the offending field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400: malformed JSON, wrong types, non-canonical encodings.
    pub fn bad_request(field: Option<String>, detail: impl Into<String>) -> Self {
        Self {
            field,
            ..Self::new(StatusCode::BAD_REQUEST, "malformed-request", detail)
        }
    }

    /// 403: an authority act not signed by its role's current key.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404: unknown id.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no {what} with id {id:?}"),
        )
    }

    /// 409: wrong state, or a conflict with what is already recorded.
    pub fn conflict(slug: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, slug, detail)
    }

    /// 422: well-formed but invalid.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail).with_field(field)
    }

    /// 422 with its own problem type, for refusals a client tells apart
    /// (`code-not-committed`, `hash-mismatch`, …).
    pub fn unprocessable(
        slug: &'static str,
        field: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, slug, detail).with_field(field)
    }

    /// 413: body too large.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("request body exceeds the limit of {limit} bytes"),
        )
    }

    /// 408: the request body did not arrive in time.
    pub fn request_timeout(after_ms: u64) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            format!("the request body did not arrive within {after_ms} ms"),
        )
    }

    /// 429 with Retry-After.
    pub fn rate_limited(what: &str, retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!("too many requests from this {what}; retry later"),
            )
        }
    }

    /// 503 with Retry-After: the witnesses have not cosigned the head an entry that ends a
    /// phase must follow (08 §8.4); `detail` says which witness answered what.
    pub fn witness_quorum(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "witness-quorum", detail)
        }
    }

    /// 503: the server is shutting down or overloaded.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    /// 500, logged with its cause; the client learns nothing internal.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; nothing was recorded",
        )
    }

    /// The problem-details JSON body.
    pub fn body(&self) -> String {
        let title = self.status.canonical_reason().unwrap_or("Error");
        serde_json::to_string(&Problem {
            problem_type: format!("{PROBLEM_BASE}{}", self.slug),
            title: title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            field: self.field.clone(),
        })
        .unwrap_or_else(|_| String::from("{}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.body()).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                h.insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

impl From<ProtocolError> for AppError {
    /// A broken protocol rule on well-formed input: 422 naming the field.
    fn from(e: ProtocolError) -> Self {
        let detail = e.to_string();
        match e {
            ProtocolError::Invalid { field, .. } | ProtocolError::Crypto { field, .. } => {
                AppError::invalid(field, detail)
            }
            ProtocolError::NotEligible(_) => AppError::invalid("credential", detail),
            ProtocolError::WrongScope { what, .. } => AppError::invalid(what, detail),
            ProtocolError::Signature(what) => AppError::invalid(what, detail),
            ProtocolError::Json { .. } => AppError::bad_request(None, detail),
            _ => AppError::invalid("body", detail),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::internal(format!("database: {e}"))
    }
}

/// A state-rule error from a lifecycle tracker: fields that name the object's state
/// (`petition`, `source_petition`, `credential` for "already signed") are conflicts with
/// what is recorded (409); anything else is invalid input (422).
pub fn rule_error(e: ProtocolError) -> AppError {
    match &e {
        ProtocolError::Invalid { field, reason }
            if matches!(
                field.as_str(),
                "petition" | "source_petition" | "credential"
            ) =>
        {
            AppError::conflict("wrong-state", reason.clone()).with_field(field.clone())
        }
        _ => AppError::from(e),
    }
}

/// A role's name in prose ("the petitions office").
fn role_prose(role: Role) -> &'static str {
    match role {
        Role::Operator => "board operator",
        Role::Registrar => "registrar",
        Role::PetitionsOffice => "petitions office",
        Role::ElectionAuthority => "election authority",
    }
}

/// An authority act the roles' replay refuses: a signature that is not the role's current
/// key's is 403 `forbidden` (naming the role), a replayed act 409 `already-exists`, a
/// broken rotation or genesis rule 422 `invalid`.
pub fn act_error(e: ActError) -> AppError {
    match e {
        ActError::BadSignature { role, kind } => AppError::forbidden(format!(
            "this {kind} act is not signed by the {}'s current key",
            role_prose(role)
        ))
        .with_field("act/signature"),
        ActError::Replayed { role } => AppError::conflict(
            "already-exists",
            format!(
                "this {} act is already on the board (an act can be appended only once; \
                 sign a new one)",
                role_prose(role)
            ),
        )
        .with_field("act"),
        ActError::Rotation(reason) => {
            let field = if reason.contains("operator") {
                "role"
            } else if reason.contains("possession") {
                "possession"
            } else {
                "new_key"
            };
            AppError::invalid(field, format!("role key rotation: {reason}"))
        }
        ActError::Genesis(reason) => AppError::invalid("type", format!("genesis: {reason}")),
        ActError::WitnessPolicy(reason) => {
            AppError::invalid("policy", format!("witness policy: {reason}"))
        }
        other => AppError::invalid("act", other.to_string()),
    }
}

/// An enrolment rule broken (protocol-spec/04-ballots.md §4.1.2–§4.1.4, the problem
/// types of protocol-spec/api.md): what a citizen or the registrar can fix or must know
/// apart gets its own type.
pub fn enrolment_error(e: EnrolmentError) -> AppError {
    let detail = e.to_string();
    match e {
        EnrolmentError::Code(_) => AppError::invalid("code", detail),
        EnrolmentError::Opening(_) => AppError::invalid("opening", detail),
        EnrolmentError::UnknownElectorate(id) => AppError::not_found("electorate", &id),
        EnrolmentError::Duplicate(_) => {
            AppError::conflict("already-exists", detail).with_field("opening/electorate_id")
        }
        EnrolmentError::NotCommitted => {
            AppError::unprocessable("code-not-committed", "code", detail)
        }
        EnrolmentError::Spent(_) => AppError::conflict("code-spent", detail).with_field("code"),
        EnrolmentError::KeyTaken => {
            AppError::conflict("credential-enrolled", detail).with_field("credential")
        }
        EnrolmentError::Signature(_) => AppError::invalid("signature", detail),
        EnrolmentError::Frozen => AppError::conflict("electorate-frozen", detail),
        EnrolmentError::Freeze(_) => AppError::invalid("electorate_hash", detail),
        EnrolmentError::NotCurrent => {
            AppError::conflict("not-current", detail).with_field("credential")
        }
        EnrolmentError::Region => AppError::unprocessable("region", "region", detail),
    }
}

/// A credential that may not act at the leaf its entry would get (04 §4.1.3): revoked
/// is 403 `credential-revoked`; never eligible is 422 naming `field`, as before
/// revocations existed.
pub fn standing_error(e: Ineligible, field: &str) -> AppError {
    match e {
        Ineligible::Revoked(_) => AppError::new(
            StatusCode::FORBIDDEN,
            "credential-revoked",
            format!("{e}; it can no longer sign or vote"),
        )
        .with_field(field),
        Ineligible::NotMember => AppError::invalid(field, e.to_string()),
        Ineligible::NotYet(_) => AppError::conflict("wrong-state", e.to_string()).with_field(field),
    }
}

/// 409 `replaced-credential-took-part`: one vote (or signature) per citizen, never two.
pub fn took_part_error(field: &str, what: &str) -> AppError {
    AppError::conflict(
        "replaced-credential-took-part",
        format!(
            "this credential replaces a revoked one that already {what}; a citizen takes \
             part once"
        ),
    )
    .with_field(field)
}
