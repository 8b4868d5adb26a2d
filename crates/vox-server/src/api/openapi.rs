//! The OpenAPI 3.1 document, generated from the code: every route is registered through
//! utoipa-axum's `OpenApiRouter` together with its `#[utoipa::path]` operation (so the
//! router and the document come from one registration), and every request, response and
//! problem body is the `utoipa::ToSchema` schema derived from the vox-protocol type the
//! handler (de)serializes (feature `openapi` of vox-protocol and vox-crypto; keys,
//! points, scalars and hashes as the lower-case hex strings they are on the wire).
//!
//! There is no authentication scheme: an authority endpoint's body is an act signed by
//! the role that takes it (protocol-spec/11-roles.md §11.3), checked by the server
//! against the role's current key before it is appended (403 otherwise).

use std::sync::OnceLock;

use serde_json::Value;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vox HTTP API",
        version = "2",
        description = "Verifiable e-petitions and advisory referendums. Bodies are the serde forms of vox-protocol types (points, scalars and hashes as lower-case hex); see protocol-spec/api.md. No bearer token: authority endpoints take acts signed by the role's own key (protocol-spec/11-roles.md). Every error is RFC 9457 problem details (`application/problem+json`, schema `Problem`)."
    ),
    components(schemas(vox_protocol::api::Problem)),
    tags(
        (name = "service", description = "Health, index and this document"),
        (name = "board", description = "The append-only bulletin board: tree heads, entries, proofs, cosignatures"),
        (name = "electorates", description = "Electorates, enrolment and revocation"),
        (name = "petitions", description = "Petitions"),
        (name = "referendums", description = "Referendums: ceremony, ballots, tally, result"),
        (name = "roles", description = "Authority role keys"),
        (name = "open data", description = "Open data exports (JSON and CSV)"),
    )
)]
struct ApiDoc;

/// Every API route (with its operation), without state: `api::router` serves these.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(super::service::routes())
        .merge(super::board::routes())
        .merge(super::data::routes())
        .merge(super::electorates::routes())
        .merge(super::petitions::routes())
        .merge(super::referendums::routes())
        .merge(super::roles::routes())
}

/// `/metrics`: served outside the API's middleware (`lib.rs`), documented here too.
pub fn metrics_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(crate::middleware::scrape))
}

/// The document as a value (what `/api/v1/openapi.json` sends).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = api_routes().split_for_parts();
    let (_, metrics) = metrics_routes().split_for_parts();
    api.merge(metrics);
    add_problem_responses(&mut api);
    api
}

/// Every operation answers its errors as problem details: `4XX` and `5XX` with the
/// `Problem` schema are added here once, instead of repeating them in 50-odd
/// `#[utoipa::path]` attributes. An operation that documents any `4XX` or `5XX` itself
/// (`/metrics`, outside the API's middleware) is left as written.
fn add_problem_responses(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    for item in api.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let r = &mut op.responses.responses;
            if r.contains_key("4XX") || r.contains_key("5XX") {
                continue;
            }
            r.insert(
                "4XX".into(),
                problem(
                    "Problem details (RFC 9457): the slug in `type` says what went wrong, \
                     `field` names the offending field",
                )
                .into(),
            );
            r.insert(
                "5XX".into(),
                problem(
                    "Problem details (RFC 9457): an internal error, or the server is \
                     unavailable",
                )
                .into(),
            );
        }
    }
}

/// The document as JSON, built once. It is a function of the code alone (no input), so
/// a serialization failure would be the same on every run: `tests/openapi.rs` reads the
/// served document and fails on anything but a full one, which is why `null` here is a
/// fallback and not a panic.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(openapi()).unwrap_or(Value::Null))
}
