//! The OpenAPI 3.1 document, written by hand from protocol-spec/api.md (cheaper than a
//! derive framework for about thirty operations whose bodies are vox-protocol types).
//!
//! There is no authentication scheme: an authority endpoint's body is an act signed by
//! the role that takes it (protocol-spec/11-roles.md §11.3), checked by the server
//! against the role's current key before it is appended (403 otherwise).

use serde_json::{json, Map, Value};

/// (method, path, summary, the role whose signed act the body is, request body, success
/// status).
type Operation = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    u16,
);

const REGISTRAR: Option<&str> = Some("registrar");
const PETITIONS_OFFICE: Option<&str> = Some("petitions-office");
const ELECTION_AUTHORITY: Option<&str> = Some("election-authority");
const ROTATED_ROLE: Option<&str> = Some("rotated role");

const OPERATIONS: &[Operation] = &[
    ("get", "/healthz", "Liveness", None, None, 200),
    (
        "get",
        "/metrics",
        "Prometheus text exposition (requests, latencies, ballots and signatures accepted, board size, batch sizes, witness lag)",
        None,
        None,
        200,
    ),
    ("get", "/api/v1/", "API index", None, None, 200),
    (
        "get",
        "/api/v1/openapi.json",
        "This document",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board",
        "Board key, log id, size, witnesses, the genesis and the roles' current keys",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/tree-head",
        "Latest signed tree head",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/tree-heads",
        "Every signed tree head (?since=SIZE)",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/entries",
        "Entries start ≤ i < end (at most 1000)",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/inclusion",
        "Inclusion proof (?index=&tree_size=)",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/board/consistency",
        "Consistency proof (?first=&second=)",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/board/cosignatures",
        "Witness cosignature of a tree head",
        None,
        Some("CosignatureRequest"),
        201,
    ),
    (
        "get",
        "/api/v1/record",
        "Record header (?referendum= or ?petition=)",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/electorates",
        "Register an electorate (registrar act)",
        REGISTRAR,
        Some("ElectorateRegistered"),
        201,
    ),
    (
        "get",
        "/api/v1/electorates/{id}",
        "An electorate (by id or hash): state (enrolling or frozen), the list (while \
         enrolling: the one that would be frozen now) and its hash, committed and enrolled \
         counts per region, revoked credentials, unspent codes",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/enrolments",
        "Open enrolment by one-time codes: commit to the codes' hashes (registrar act)",
        REGISTRAR,
        Some("EnrolmentOpened"),
        201,
    ),
    (
        "post",
        "/api/v1/electorates/{id}/credentials",
        "Enrol a credential with a one-time code (signed by the credential; no act). 404 \
         unknown electorate; 422 `code-not-committed`, `region` (replacement region) or \
         `invalid` (code not normalised, bad signature); 409 `code-spent`, \
         `credential-enrolled`, `electorate-frozen`",
        None,
        Some("EnrolmentRequest"),
        201,
    ),
    (
        "post",
        "/api/v1/electorates/{id}/revocations",
        "Revoke a credential, optionally committing to a replacement code (registrar act). \
         409 `not-current`",
        REGISTRAR,
        Some("CredentialRevoked"),
        201,
    ),
    (
        "post",
        "/api/v1/electorates/{id}/freeze",
        "Freeze an electorate enrolled by code (registrar act). 409 `frozen`; 422 \
         `hash-mismatch` naming the hash of the credentials enrolled now",
        REGISTRAR,
        Some("ElectorateFrozen"),
        201,
    ),
    (
        "get",
        "/api/v1/petitions",
        "Petition summaries",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/petitions.csv",
        "Petition summaries as CSV",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/petitions",
        "Propose a petition (credential-signed)",
        None,
        Some("PetitionProposal"),
        201,
    ),
    (
        "get",
        "/api/v1/petitions/{id}",
        "A petition with counts and region counts",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/signatures",
        "Sign or withdraw (credential-signed)",
        None,
        Some("PetitionSignature"),
        201,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/moderation",
        "Publish or reject (petitions-office act)",
        PETITIONS_OFFICE,
        Some("PetitionModerated"),
        200,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/response",
        "Official response (petitions-office act)",
        PETITIONS_OFFICE,
        Some("PetitionResponded"),
        200,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/invalidations",
        "Invalidate signatures with a public reason (petitions-office act)",
        PETITIONS_OFFICE,
        Some("SignaturesInvalidated"),
        200,
    ),
    (
        "post",
        "/api/v1/petitions/{id}/close",
        "Close at or after the deadline (anyone; the server also does it)",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/petition-policy",
        "The petitions office's bounds in force on new proposals ({\"policy\": null} when none)",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/petition-policy",
        "Set the bounds every later proposal must respect (petitions-office act; a \
         proposal outside them is 422 policy-violation)",
        PETITIONS_OFFICE,
        Some("PetitionPolicySet"),
        201,
    ),
    (
        "get",
        "/api/v1/referendums",
        "Referendum summaries",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums",
        "Create a referendum from a manifest (election-authority act)",
        ELECTION_AUTHORITY,
        Some("ReferendumCreated"),
        201,
    ),
    (
        "get",
        "/api/v1/referendums/{id}",
        "A referendum (with leaf_index, ceremony_leaves, completed_leaf and \
         role_rotation_leaves: where a device finds the entries defining its key)",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/ceremony",
        "Key ceremony state",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/ceremony",
        "Trustee ceremony message (trustee-signed)",
        None,
        Some("CeremonyMessage"),
        201,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/open",
        "Open voting (election-authority act)",
        ELECTION_AUTHORITY,
        Some("ReferendumOpened"),
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/ballots",
        "Cast a ballot; answers a signed receipt (200 for a re-post)",
        None,
        Some("Ballot"),
        201,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/ballots/{ballot_hash}",
        "Ballot status: counted, superseded or audited",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/credentials/{credential}/latest-ballot",
        "A credential's latest ballot: what its next ballot names as `previous`",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/audits",
        "Publish a Benaloh-audited ballot",
        None,
        Some("AuditedBallot"),
        201,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/close",
        "Close voting at or after the manifest's closes_at (election-authority act; \
         before closes_at: 422 early-close-needs-reason)",
        ELECTION_AUTHORITY,
        Some("ReferendumClosed"),
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/close-early",
        "Close voting before the manifest's closes_at, with a public reason \
         (election-authority act; at or after closes_at: 422 not-early)",
        ELECTION_AUTHORITY,
        Some("ReferendumClosedEarly"),
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/tally",
        "Compute the encrypted tally (anyone; closed)",
        None,
        None,
        201,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/tally",
        "The encrypted tally",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/decryption-shares",
        "Trustee decryption share (checked on arrival)",
        None,
        Some("DecryptionShareMessage"),
        201,
    ),
    (
        "post",
        "/api/v1/referendums/{id}/publish",
        "Combine ≥ k shares and publish the result (anyone)",
        None,
        None,
        201,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/result",
        "The published result",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/result.csv",
        "Open data: the result per question and option, with turnout, as CSV",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/referendums/{id}/result.json",
        "Open data: the result per question and option, with turnout",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/referendums.csv",
        "Open data: every referendum with its state, counted ballots and turnout, as CSV",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/petitions/{id}/counts.csv",
        "Open data: a petition's count in total, per region (small groups withheld) and per day, as CSV",
        None,
        None,
        200,
    ),
    (
        "get",
        "/api/v1/petitions/{id}/counts.json",
        "Open data: a petition's count in total, per region (small groups withheld) and per day",
        None,
        None,
        200,
    ),
    (
        "post",
        "/api/v1/roles/rotations",
        "Rotate a role's key (act of that role, signed with its current key)",
        ROTATED_ROLE,
        Some("RoleKeyRotated"),
        201,
    ),
];

fn operation(
    summary: &str,
    role: Option<&str>,
    body: Option<&str>,
    status: u16,
    path: &str,
) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), json!(summary));
    if let Some(role) = role {
        op.insert(
            "description".into(),
            json!(format!(
                "The body is the board payload of the act, signed by the {role}'s current key \
                 (its `act` field); the server checks the signature against the board's roles \
                 under the board lock and appends the payload unchanged. 403 `forbidden`: not \
                 signed by the role's current key; 409 `already-exists`: the act is already on \
                 the board; 422 `invalid`: wrong `type` for this path, an id other than the \
                 path's, or a broken rule."
            )),
        );
    }
    let params: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let mut params = params;
    if body.is_some()
        || path.ends_with("/close")
        || path.ends_with("/tally")
        || path.ends_with("/publish")
    {
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

/// The schema of a signed act: `type`, the entry's fields, `act`.
fn act_schema(kind: &str, role: &str, fields: Value, required: &[&str]) -> Value {
    let mut props = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    props.insert("type".into(), json!({"const": kind}));
    props.insert(
        "act".into(),
        json!({"$ref": "#/components/schemas/ActSignature"}),
    );
    let mut req: Vec<&str> = vec!["type"];
    req.extend_from_slice(required);
    req.push("act");
    json!({
        "type": "object",
        "description": format!("A `{kind}` board payload signed by the {role} (protocol-spec/08-board.md table 8.1, 11-roles.md §11.3)."),
        "required": req,
        "additionalProperties": false,
        "properties": Value::Object(props),
    })
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, summary, role, body, status) in OPERATIONS {
        let item = paths
            .entry((*path).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = item {
            m.insert(
                (*method).to_owned(),
                operation(summary, *role, *body, *status, path),
            );
        }
    }
    let vox_type = |d: &str| json!({"type": "object", "description": d});
    let hex64 = json!({"type": "string", "pattern": "^[0-9a-f]{64}$"});
    let hex128 = json!({"type": "string", "pattern": "^[0-9a-f]{128}$"});
    let string = json!({"type": "string"});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "vox HTTP API",
            "version": "2",
            "description": "Verifiable e-petitions and advisory referendums. Bodies are the serde forms of vox-protocol types (points, scalars and hashes as lower-case hex); see protocol-spec/api.md. No bearer token: authority endpoints take acts signed by the role's own key (protocol-spec/11-roles.md)."
        },
        "paths": Value::Object(paths),
        "components": {
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status"],
                    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                        "status": {"type": "integer"}, "detail": {"type": "string"},
                        "field": {"type": "string"}}},
                "ActSignature": {"type": "object", "required": ["issued_at_ms", "signature"],
                    "additionalProperties": false,
                    "description": "Ed25519 by the role's current key over \"vox/v2/act\" ‖ 0x00 ‖ log id ‖ u8(role) ‖ i64(issued_at_ms) ‖ the payload's canonical body.",
                    "properties": {"issued_at_ms": {"type": "integer"}, "signature": hex128}},
                "ElectorateRegistered": act_schema("electorate-registered", "registrar",
                    json!({"electorate": {"$ref": "#/components/schemas/Electorate"}}), &["electorate"]),
                "PetitionModerated": act_schema("petition-moderated", "petitions office",
                    json!({"petition_id": string, "moderation": {"$ref": "#/components/schemas/Moderation"}}),
                    &["petition_id", "moderation"]),
                "PetitionResponded": act_schema("petition-responded", "petitions office",
                    json!({"petition_id": string, "text": string}), &["petition_id", "text"]),
                "SignaturesInvalidated": act_schema("signatures-invalidated", "petitions office",
                    json!({"petition_id": string, "credentials": {"type": "array", "items": hex64, "minItems": 1},
                        "reason": string}), &["petition_id", "credentials", "reason"]),
                "PetitionPolicySet": act_schema("petition-policy-set", "petitions office",
                    json!({"policy": {"$ref": "#/components/schemas/PetitionPolicy"}}), &["policy"]),
                "PetitionPolicy": {
                    "type": "object",
                    "description": "Bounds on the rules of new proposals (protocol-spec/07-petitions.md §7.8); an absent bound is not enforced, no minimum may exceed its maximum.",
                    "additionalProperties": false,
                    "properties": {
                        "min_sponsor_threshold": {"type": "integer", "minimum": 0, "maximum": 4294967295u64},
                        "min_response_threshold": {"type": "integer", "minimum": 0, "maximum": 4294967295u64},
                        "max_response_threshold": {"type": "integer", "minimum": 0, "maximum": 4294967295u64},
                        "min_referendum_threshold": {"type": "integer", "minimum": 0, "maximum": 4294967295u64},
                        "max_referendum_threshold": {"type": "integer", "minimum": 0, "maximum": 4294967295u64},
                        "min_open_for_ms": {"type": "integer", "minimum": 1},
                        "max_open_for_ms": {"type": "integer", "minimum": 1},
                        "min_response_due_ms": {"type": "integer", "minimum": 1},
                        "max_response_due_ms": {"type": "integer", "minimum": 1},
                        "min_region_min_group": {"type": "integer", "minimum": 0, "maximum": 4294967295u64}
                    }
                },
                "ReferendumCreated": act_schema("referendum-created", "election authority",
                    json!({"manifest": {"$ref": "#/components/schemas/Manifest"}}), &["manifest"]),
                "ReferendumOpened": act_schema("referendum-opened", "election authority",
                    json!({"referendum_id": string}), &["referendum_id"]),
                "ReferendumClosed": act_schema("referendum-closed", "election authority",
                    json!({"referendum_id": string}), &["referendum_id"]),
                "ReferendumClosedEarly": act_schema("referendum-closed-early", "election authority",
                    json!({"referendum_id": string,
                        "reason": {"type": "string", "minLength": 1, "maxLength": 1000,
                            "description": "public reason of the early close (at most 1000 UTF-8 bytes, not only whitespace)"}}),
                    &["referendum_id", "reason"]),
                "RoleKeyRotated": act_schema("role-key-rotated", "role rotated, with its current key",
                    json!({"role": {"enum": ["registrar", "petitions-office", "election-authority"]},
                        "new_key": hex64, "possession": hex128}), &["role", "new_key", "possession"]),
                "EnrolmentOpened": act_schema("enrolment-opened", "registrar",
                    json!({"opening": {"$ref": "#/components/schemas/EnrolmentOpening"}}), &["opening"]),
                "CredentialRevoked": act_schema("credential-revoked", "registrar",
                    json!({"electorate_id": string, "credential": hex64,
                        "replacement": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                            "description": "hash of one replacement code (vox_protocol::enrolment::EnrolmentCode::hash, with the revoked credential's region)"},
                        "reason": string}), &["electorate_id", "credential", "reason"]),
                "ElectorateFrozen": act_schema("electorate-frozen", "registrar",
                    json!({"electorate_id": string, "electorate_hash": hex64}),
                    &["electorate_id", "electorate_hash"]),
                "EnrolmentOpening": vox_type("vox_protocol::enrolment::EnrolmentOpening: electorate_id, name, regions [{region?, count}], codes (code hashes, strictly ascending)"),
                "EnrolmentRequest": {"type": "object",
                    "required": ["electorate_id", "credential", "code", "signature"],
                    "additionalProperties": false,
                    "description": "vox_protocol::electorate::EnrolmentRequest: the public key only (the credential's secret never leaves the device), the normalised one-time code, and the credential's signature over both.",
                    "properties": {"electorate_id": string, "credential": hex64,
                        "region": string, "code": {"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{20}$"},
                        "signature": {"type": "object", "required": ["t", "z"],
                            "description": "Schnorr signature (T, z) by the credential",
                            "properties": {"t": hex64, "z": hex64}}}},
                "Electorate": vox_type("vox_protocol::electorate::Electorate"),
                "PetitionProposal": vox_type("vox_protocol::petition::PetitionProposal"),
                "PetitionSignature": vox_type("vox_protocol::petition::PetitionSignature"),
                "Moderation": {"type": "object", "required": ["decision"], "properties": {
                    "decision": {"enum": ["publish", "reject"]},
                    "closes_at": {"type": "integer", "description": "required with publish (it is signed): now < closes_at ≤ now + open_for_ms when the board appends it"},
                    "reason": {"type": "string", "description": "required with reject"}}},
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
        // No bearer scheme any more; every act body is documented.
        assert!(doc.pointer("/components/securitySchemes").is_none());
        for (_, _, _, _, body, _) in super::OPERATIONS {
            if let Some(b) = body {
                assert!(
                    doc.pointer(&format!("/components/schemas/{b}")).is_some(),
                    "{b}"
                );
            }
        }
    }
}
