//! The OpenAPI 3.1 document, written by hand from protocol-spec/api.md (cheaper than a
//! derive framework for about thirty operations whose bodies are vox-protocol types).

use serde_json::{json, Map, Value};

/// (method, path, summary, authority token needed, request body, success status).
type Operation = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    Option<&'static str>,
    u16,
);

const OPERATIONS: &[Operation] = &[
    ("get", "/healthz", "Liveness", false, None, 200),
    ("get", "/api/v1/", "API index", false, None, 200),
    (
        "get",
        "/api/v1/openapi.json",
        "This document",
        false,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board",
        "Board key, log id, size and witnesses",
        false,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/tree-head",
        "Latest signed tree head",
        false,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/tree-heads",
        "Every signed tree head (?since=SIZE)",
        false,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/entries",
        "Entries start ≤ i < end (at most 1000)",
        false,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/inclusion",
        "Inclusion proof (?index=&tree_size=)",
        false,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/consistency",
        "Consistency proof (?first=&second=)",
        false,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/board/cosignatures",
        "Witness cosignature of a tree head",
        false,
        Some("CosignatureRequest"),
        201,
    ),
    (
        "get",
        "/api/v1/record",
        "Record header (?referendum= or ?petition=)",
        false,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/electorates",
        "Register an electorate",
        true,
        Some("Electorate"),
        201,
    ),
    (
        "get",
        "/api/v1/electorates/{id}",
        "An electorate (by id or hash)",
        false,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/petitions",
        "Petition summaries",
        false,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/petitions.csv",
        "Petition summaries as CSV",
        false,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/petitions",
        "Propose a petition (credential-signed)",
        false,
        Some("PetitionProposal"),
        201,
    ),
    (
        "get",
        "/api/v1/petitions/{id}",
        "A petition with counts and region counts",
        false,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/signatures",
        "Sign or withdraw (credential-signed)",
        false,
        Some("PetitionSignature"),
        201,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/moderation",
        "Publish or reject",
        true,
        Some("Moderation"),
        200,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/response",
        "Official response",
        true,
        Some("ResponseText"),
        200,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/invalidations",
        "Invalidate signatures with a public reason",
        true,
        Some("Invalidation"),
        200,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/close",
        "Close after the deadline",
        true,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/referendums",
        "Referendum summaries",
        false,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums",
        "Create a referendum from a manifest",
        true,
        Some("Manifest"),
        201,
    ),
    (
        "get",
        "/api/v1/referendums/{id}",
        "A referendum",
        false,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/ceremony",
        "Key ceremony state",
        false,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/ceremony",
        "Trustee ceremony message (trustee-signed)",
        false,
        Some("CeremonyMessage"),
        201,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/open",
        "Open voting",
        true,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/ballots",
        "Cast a ballot; answers a signed receipt (200 for a re-post)",
        false,
        Some("Ballot"),
        201,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/ballots/{ballot_hash}",
        "Ballot status: counted, superseded or audited",
        false,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/audits",
        "Publish a Benaloh-audited ballot",
        false,
        Some("AuditedBallot"),
        201,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/close",
        "Close voting",
        true,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/tally",
        "Compute the encrypted tally",
        true,
        None,
        201,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/tally",
        "The encrypted tally",
        false,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/decryption-shares",
        "Trustee decryption share (checked on arrival)",
        false,
        Some("DecryptionShareMessage"),
        201,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/publish",
        "Combine ≥ k shares and publish the result",
        true,
        None,
        201,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/result",
        "The published result",
        false,
        None,
        200,
    ),
];

fn operation(summary: &str, auth: bool, body: Option<&str>, status: u16, path: &str) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), json!(summary));
    let params: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let mut params = params;
    if body.is_some() {
        params.push(
            json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "schema": {"type": "string", "maxLength": 128}}),
        );
    }
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(schema) = body {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {
                "schema": {"$ref": format!("#/components/schemas/{schema}")}}}}),
        );
    }
    if auth {
        op.insert("security".into(), json!([{"authority": []}]));
    }
    let content_type = if path.ends_with(".csv") {
        "text/csv"
    } else {
        "application/json"
    };
    op.insert(
        "responses".into(),
        json!({
            status.to_string(): {"description": "success", "content": {content_type: {}}},
            "4XX": {"description": "problem details (RFC 9457) naming the offending field",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        }),
    );
    Value::Object(op)
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, summary, auth, body, status) in OPERATIONS {
        let item = paths
            .entry((*path).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = item {
            m.insert(
                (*method).to_owned(),
                operation(summary, *auth, *body, *status, path),
            );
        }
    }
    let vox_type = |d: &str| json!({"type": "object", "description": d});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "vox HTTP API",
            "version": "1",
            "description": "Verifiable e-petitions and advisory referendums. Bodies are the serde forms of vox-protocol types (points, scalars and hashes as lower-case hex); see protocol-spec/api.md."
        },
        "paths": Value::Object(paths),
        "components": {
            "securitySchemes": {"authority": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status"],
                    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                        "status": {"type": "integer"}, "detail": {"type": "string"},
                        "field": {"type": "string"}}},
                "Electorate": vox_type("vox_protocol::electorate::Electorate"),
                "PetitionProposal": vox_type("vox_protocol::petition::PetitionProposal"),
                "PetitionSignature": vox_type("vox_protocol::petition::PetitionSignature"),
                "Moderation": {"type": "object", "required": ["decision"], "properties": {
                    "decision": {"enum": ["publish", "reject"]},
                    "closes_at": {"type": "integer", "description": "optional; at most now + open_for_ms (the default)"},
                    "reason": {"type": "string"}}},
                "ResponseText": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
                "Invalidation": {"type": "object", "required": ["credentials", "reason"], "properties": {
                    "credentials": {"type": "array", "items": {"type": "string"}}, "reason": {"type": "string"}}},
                "Manifest": vox_type("vox_protocol::manifest::Manifest"),
                "CeremonyMessage": vox_type("vox_protocol::ceremony::CeremonyMessage"),
                "Ballot": vox_type("vox_protocol::ballot::Ballot"),
                "AuditedBallot": vox_type("vox_protocol::ballot::AuditedBallot"),
                "DecryptionShareMessage": vox_type("vox_protocol::ceremony::DecryptionShareMessage"),
                "CosignatureRequest": {"type": "object", "required": ["tree_size", "root_hash", "timestamp_ms", "cosignature"]}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_path_is_documented_once_per_method() {
        let doc = super::document();
        let paths = doc.get("paths").and_then(|p| p.as_object());
        assert!(paths.is_some_and(|p| p.len() >= 30));
    }
}
