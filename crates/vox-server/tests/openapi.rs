//! The OpenAPI document (`GET /api/v1/openapi.json`) against the server that serves it.
//!
//! Routes ⇄ document, both directions:
//! - documented → served: every documented operation is requested on a running server
//!   (path parameters filled with a dummy id, POST with `{}`); the answer must be
//!   neither the router's fallback (404 `no resource with id "at this path"`) nor 405.
//!   Any status the handler itself gives (400, 404 of an unknown id, 422, …) proves the
//!   route exists.
//! - served → documented: every API route is registered through utoipa-axum's
//!   `OpenApiRouter::routes(routes!(handler))` (`src/api/openapi.rs`), which adds the
//!   handler's `#[utoipa::path]` operation to the document in the same call, so a route
//!   registered that way cannot be undocumented. What could escape is a plain axum
//!   `.route(…)`/`.nest(…)`/`.route_service(…)` call: a scan of the crate's sources
//!   fails on any such call outside `web.rs` (the web pages, which are not the API).
//!   A scan is a source check, not a runtime one: a route added by some other
//!   mechanism would escape it.
//!
//! Answers against schemas: a real run (electorate, petition, referendum, key
//! ceremony, ballots with a re-post and an audit, close, tally, decryption shares,
//! result, open data, and some errors) is recorded by the test client; every answer is
//! matched to its documented operation and status, its content type must be the
//! documented one, and every JSON body is validated with the `jsonschema` crate against
//! the documented schema (compiled with the document's `components` at its root, so
//! `#/components/schemas/…` resolves). The body of every request the server accepted is
//! validated the same way against the operation's documented `requestBody`. Mutated
//! answers and requests (and a request the server refused) must be rejected, so that
//! the validation cannot pass vacuously.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};
use vox_protocol::ballot::AuditedBallot;
use vox_protocol::petition::SignatureAction;

/// The documented (method, path template) pairs.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.push((method.clone(), path.clone()));
            }
        }
    }
    out
}

/// Does a concrete path match a template (`{x}` = one segment)?
fn matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// The documented operation of a request: the matching template with the fewest
/// parameters (a literal segment wins over `{id}`).
fn operation_of<'a>(doc: &'a Value, method: &str, path: &str) -> Option<(String, &'a Value)> {
    let path = path.split('?').next().unwrap();
    let method = method.to_ascii_lowercase();
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(t, item)| matches(t, path) && item.get(&method).is_some())
        .min_by_key(|(t, _)| t.matches('{').count())
        .map(|(t, item)| (t.clone(), &item[&method]))
}

/// The documented response of an operation for a status (exact, then `4XX`/`5XX`).
fn response_for(op: &Value, status: u16) -> Option<&Value> {
    let r = &op["responses"];
    r.get(status.to_string())
        .or_else(|| r.get(format!("{}XX", status / 100)))
}

/// A validator for a schema of the document (its `$ref`s resolved in the document).
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    if let Value::Object(m) = &mut root {
        m.insert("components".into(), doc["components"].clone());
        m.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
    } else {
        root = json!({"allOf": [schema], "components": doc["components"]});
    }
    jsonschema::draft202012::new(&root)
        .unwrap_or_else(|e| panic!("schema does not compile ({e}): {schema}"))
}

/// Check one answer against the document; returns the JSON schema's validator result
/// as a list of errors (empty = valid). Panics on what is not a schema question
/// (undocumented operation or status, wrong content type).
fn check(
    doc: &Value,
    method: &str,
    path: &str,
    status: u16,
    ct: Option<&str>,
    body: &str,
) -> Vec<String> {
    let (template, op) = operation_of(doc, method, path)
        .unwrap_or_else(|| panic!("{method} {path}: no documented operation"));
    let resp = response_for(op, status).unwrap_or_else(|| {
        panic!("{method} {template}: status {status} is not documented: {body}")
    });
    let Some(content) = resp.get("content").and_then(Value::as_object) else {
        assert!(
            body.is_empty(),
            "{method} {template} {status}: undocumented body {body}"
        );
        return Vec::new();
    };
    let ct = ct.unwrap_or_else(|| panic!("{method} {path}: no content type"));
    let essence = ct.split(';').next().unwrap().trim();
    let media = content.get(essence).unwrap_or_else(|| {
        panic!(
            "{method} {template} {status}: content type {ct} is not documented ({:?})",
            content.keys().collect::<Vec<_>>()
        )
    });
    if !essence.ends_with("json") {
        return Vec::new();
    }
    let schema = media
        .get("schema")
        .unwrap_or_else(|| panic!("{method} {template} {status}: no schema"));
    let instance: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {body}"));
    let v = validator(doc, schema);
    v.iter_errors(&instance)
        .map(|e| format!("{method} {path} {status}: {e} at {}", e.instance_path))
        .collect()
}

/// Check one request's body against its operation's documented `requestBody`; returns
/// the validator's errors (empty = valid).
fn check_request(doc: &Value, method: &str, path: &str, body: &str) -> Vec<String> {
    let (template, op) = operation_of(doc, method, path)
        .unwrap_or_else(|| panic!("{method} {path}: no documented operation"));
    let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
        return vec![format!(
            "{method} {template}: a body was sent but none is documented"
        )];
    };
    let instance: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return vec![format!("{method} {path}: request is not JSON ({e})")],
    };
    validator(doc, schema)
        .iter_errors(&instance)
        .map(|e| format!("{method} {path} request: {e} at {}", e.instance_path))
        .collect()
}

#[test]
fn documented_operations_are_routed_and_routes_are_documented() {
    let db = sqlite_db();
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    let doc = c.get("/api/v1/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = operations(&doc);
    assert!(ops.len() >= 50, "{} operations", ops.len());
    // The probe can fail: an unrouted path gets the fallback, a wrong method 405.
    let unrouted = c.get("/api/v1/no-such-thing");
    assert_eq!(unrouted.status, 404);
    assert!(unrouted.body.contains("at this path"), "{}", unrouted.body);
    assert_eq!(c.request("DELETE", "/api/v1/board", None, &[]).status, 405);
    for (method, template) in &ops {
        let path: String = template
            .split('/')
            .map(|s| if s.starts_with('{') { "x0" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let r = match method.as_str() {
            "get" => c.get(&path),
            _ => c.request(&method.to_ascii_uppercase(), &path, Some("{}"), &[]),
        };
        assert_ne!(r.status, 405, "{method} {template}: 405");
        assert!(
            !(r.status == 404 && r.body.contains("at this path")),
            "{method} {template} is documented but not routed: {}",
            r.body
        );
    }
    // Served → documented: only OpenApiRouter registrations (see the module doc).
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut stack = vec![std::path::PathBuf::from(src)];
    let mut scanned = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("rs") || p.ends_with("web.rs") {
                continue;
            }
            scanned += 1;
            let text = std::fs::read_to_string(&p).unwrap();
            for needle in [".route(", ".nest(", ".route_service(", ".nest_service("] {
                assert!(
                    !text.contains(needle),
                    "{}: `{needle}` registers a route outside OpenApiRouter::routes(routes!(…)), \
                     so it would not be in the OpenAPI document",
                    p.display()
                );
            }
        }
    }
    assert!(scanned > 20, "the scan read {scanned} files");
    // And the registrations that are there name as many handlers as there are
    // documented operations (one `routes!` handler = one operation).
    let mut handlers = 0;
    let mut stack = vec![std::path::PathBuf::from(src)];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|x| x.to_str()) == Some("rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (i, _) in text.match_indices("routes!(") {
                    let rest = &text[i + "routes!(".len()..];
                    let inner = &rest[..rest.find(')').unwrap()];
                    handlers += inner.split(',').filter(|s| !s.trim().is_empty()).count();
                }
            }
        }
    }
    assert_eq!(
        handlers,
        ops.len(),
        "routes! handlers vs documented operations"
    );
}

#[test]
fn schemas_are_real() {
    let db = sqlite_db();
    let h = Harness::start(config(&db.url));
    let doc = h.client.get("/api/v1/openapi.json").json();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Problem",
        "Ballot",
        "Payload",
        "Manifest",
        "BoardInfo",
        "Receipt",
        "Hash32",
        "Point",
    ] {
        assert!(schemas.contains_key(name), "no schema {name}");
    }
    for (name, s) in schemas {
        let text = s.to_string();
        assert!(
            !text.contains("vox_protocol::"),
            "{name} is a placeholder: {text}"
        );
        assert!(
            s.get("properties").is_some()
                || s.get("oneOf").is_some()
                || s.get("allOf").is_some()
                || s.get("anyOf").is_some()
                || s.get("enum").is_some()
                || s.get("pattern").is_some()
                || s.get("$ref").is_some()
                || s.get("items").is_some()
                || s.get("prefixItems").is_some()
                || matches!(
                    s["type"].as_str(),
                    Some("integer" | "string" | "boolean" | "number")
                ),
            "{name} says nothing: {text}"
        );
    }
    // Every schema compiles.
    for s in schemas.values() {
        validator(&doc, s);
    }
    // Every operation documents its errors as problem details (`5XX` at least; `4XX`
    // everywhere but `/metrics`, which is outside the API's middleware).
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][&method];
        for class in ["4XX", "5XX"] {
            if class == "4XX" && path == "/metrics" {
                continue;
            }
            assert_eq!(
                op.pointer(&format!(
                    "/responses/{class}/content/application~1problem+json/schema/$ref"
                )),
                Some(&json!("#/components/schemas/Problem")),
                "{method} {path}: no {class} problem response"
            );
        }
    }
}

#[test]
fn a_real_run_matches_the_schemas() {
    let db = sqlite_db();
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    let doc = c.get("/api/v1/openapi.json").json();
    c.get("/healthz").expect(200);
    c.get("/api/v1/").expect(200);
    c.get("/api/v1").expect(200);
    c.get("/metrics").expect(200);
    c.get("/api/v1/board").expect(200);
    c.get("/api/v1/board/tree-head").expect(200);

    // Electorate and petition.
    let voters = Voters::new("town", 6, |i| {
        Some(if i < 4 { "north" } else { "south" }.into())
    });
    let eh = voters.register(c);
    c.get("/api/v1/electorates/town").expect(200);
    let p = published_petition(c, &voters, "p1", 60_000);
    sign(c, &p, &voters.creds[2], SignatureAction::Sign).expect(201);
    sign(c, &p, &voters.creds[2], SignatureAction::Sign); // a repeat: an error
    c.get("/api/v1/petitions/p1").expect(200);
    c.get("/api/v1/petitions").expect(200);
    c.get("/api/v1/petitions.csv").expect(200);
    c.get("/api/v1/petition-policy").expect(200);
    c.get("/api/v1/petitions/p1/counts.json").expect(200);
    c.get("/api/v1/petitions/p1/counts.csv").expect(200);
    c.act(acts::response("p1", "Noted.")).expect(200);

    // Referendum: ceremony, ballots (a re-post, an audit), close, tally, shares, result.
    let trustees = Trustees::new(3);
    let m = manifest("r1", eh, &trustees, 2, None);
    let (key_shares, key) = open_referendum(c, &m, &trustees);
    c.get("/api/v1/referendums/r1/ceremony").expect(200);
    for (i, cred) in voters.creds.iter().enumerate() {
        let (b, secrets) = encrypt(&m, key, cred, &choices(&m, i % 2 == 0, 0));
        if i == 1 {
            let audited = AuditedBallot::new(b.clone(), secrets);
            c.post("/api/v1/referendums/r1/audits", &audited)
                .expect(201);
            let (b2, _) = encrypt(&m, key, cred, &choices(&m, false, 0));
            cast(c, &m, &b2).expect(201);
            continue;
        }
        cast(c, &m, &b).expect(201);
        if i == 0 {
            cast(c, &m, &b).expect(200);
            c.get(&format!(
                "/api/v1/referendums/r1/ballots/{}",
                b.hash().to_hex()
            ))
            .expect(200);
            c.get(&format!(
                "/api/v1/referendums/r1/credentials/{}/latest-ballot",
                cred.public_key().point().to_hex()
            ))
            .expect(200);
        }
    }
    c.get("/api/v1/referendums/r1").expect(200);
    c.get("/api/v1/referendums").expect(200);
    close_and_publish(c, &m, &trustees, &key_shares, &[0, 2]);
    c.get("/api/v1/referendums/r1/tally").expect(200);
    c.get("/api/v1/referendums/r1/result").expect(200);
    c.get("/api/v1/referendums/r1/result.json").expect(200);
    c.get("/api/v1/referendums/r1/result.csv").expect(200);
    c.get("/api/v1/referendums.csv").expect(200);
    c.get("/api/v1/record?referendum=r1").expect(200);
    let size = c.size();
    c.get(&format!("/api/v1/board/entries?start=0&end={size}"))
        .expect(200);
    c.get(&format!("/api/v1/board/inclusion?index=1&tree_size={size}"))
        .expect(200);
    c.get(&format!("/api/v1/board/consistency?first=1&second={size}"))
        .expect(200);
    c.get("/api/v1/board/tree-heads").expect(200);

    // Errors: unknown ids, bad query, bad body, wrong state.
    c.get("/api/v1/referendums/nope").expect(404);
    c.get("/api/v1/board/entries?start=x&end=1").expect(400);
    c.request("POST", "/api/v1/petitions", Some("{\"nope\": 1}"), &[]);
    c.post_empty("/api/v1/referendums/r1/open");
    c.act_at("/api/v1/panel", acts::response("p1", "wrong path"));

    // Validate everything the client saw.
    let exchanges = c.exchanges();
    let mut errors = Vec::new();
    let mut validated = BTreeSet::new();
    let mut json_bodies = 0;
    for e in &exchanges {
        let errs = check(
            &doc,
            &e.method,
            &e.path,
            e.status,
            e.content_type.as_deref(),
            &e.body,
        );
        errors.extend(errs);
        let (template, _) = operation_of(&doc, &e.method, &e.path).unwrap();
        validated.insert(format!("{} {template} {}", e.method, e.status));
        if e.content_type
            .as_deref()
            .is_some_and(|ct| ct.contains("json"))
        {
            json_bodies += 1;
        }
    }
    // Requests the server accepted must match the documented request bodies.
    let mut requests = 0;
    for e in &exchanges {
        // (An empty body is no body: the client posts "" to body-less actions.)
        let req = e.request.as_deref().filter(|r| !r.is_empty());
        if let (Some(req), true) = (req, (200..300).contains(&e.status)) {
            errors.extend(check_request(&doc, &e.method, &e.path, req));
            requests += 1;
        }
    }
    assert!(requests > 30, "{requests} accepted requests with a body");
    assert!(
        errors.is_empty(),
        "{} exchanges do not match their schemas:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(json_bodies > 60, "{json_bodies} JSON answers");
    assert!(
        validated.len() >= 40,
        "{} (operation, status) pairs: {validated:#?}",
        validated.len()
    );
    for s in [400, 404, 409, 422] {
        assert!(
            validated.iter().any(|v| v.ends_with(&format!(" {s}"))),
            "no {s} in the run: {validated:#?}"
        );
    }

    // Negative checks: the validation rejects mutated answers.
    let find = |m: &str, p: &str| {
        exchanges
            .iter()
            .find(|e| e.method == m && e.path == p)
            .unwrap()
            .clone()
    };
    let board = find("GET", "/api/v1/board");
    let result = find("GET", "/api/v1/referendums/r1/result");
    let missing = find("GET", "/api/v1/referendums/nope");
    let mutate = |body: &str, f: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_str(body).unwrap();
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(&Exchange, String)> = vec![
        (
            &board,
            mutate(&board.body, &|v| v["log_id"] = json!("not hex")),
        ),
        (
            &board,
            mutate(&board.body, &|v| {
                v.as_object_mut().unwrap().remove("tree_size");
            }),
        ),
        (
            &board,
            mutate(&board.body, &|v| v["tree_size"] = json!("1")),
        ),
        (
            &result,
            mutate(&result.body, &|v| v["counted_ballots"] = json!(-1)),
        ),
        (
            &missing,
            mutate(&missing.body, &|v| v["status"] = json!("404")),
        ),
    ];
    // … and rejects requests that are not what the operation takes: the refused
    // petition, and accepted ones (an act, a proposal, a ballot) emptied or with a field
    // of the wrong type.
    let refused = exchanges
        .iter()
        .find(|e| e.request.as_deref() == Some("{\"nope\": 1}"))
        .unwrap();
    assert!(!check_request(&doc, &refused.method, &refused.path, "{\"nope\": 1}").is_empty());
    let accepted = |m: &str, path: &str| {
        exchanges
            .iter()
            .find(|e| {
                e.method == m
                    && e.path == path
                    && (200..300).contains(&e.status)
                    && e.request.is_some()
            })
            .unwrap_or_else(|| panic!("no accepted {m} {path}"))
            .clone()
    };
    let clear = |v: &mut Value| v.as_object_mut().unwrap().clear();
    let mistype = |v: &mut Value| {
        let first = v.as_object().unwrap().keys().next().unwrap().clone();
        v[first] = json!(true);
    };
    for e in [
        accepted("POST", "/api/v1/petitions"),
        accepted("POST", "/api/v1/referendums/r1/ballots"),
        accepted("POST", "/api/v1/referendums/r1/close-early"),
    ] {
        let req = e.request.as_deref().unwrap();
        assert_eq!(
            check_request(&doc, &e.method, &e.path, req),
            Vec::<String>::new()
        );
        for edit in [&clear as &dyn Fn(&mut Value), &mistype] {
            let bad = mutate(req, edit);
            assert!(
                !check_request(&doc, &e.method, &e.path, &bad).is_empty(),
                "{} {}: a mutated request passed: {bad}",
                e.method,
                e.path
            );
        }
    }
    for (e, body) in cases {
        assert_eq!(
            check(
                &doc,
                &e.method,
                &e.path,
                e.status,
                e.content_type.as_deref(),
                &e.body
            ),
            Vec::<String>::new()
        );
        assert!(
            !check(
                &doc,
                &e.method,
                &e.path,
                e.status,
                e.content_type.as_deref(),
                &body
            )
            .is_empty(),
            "{} {}: a mutated answer passed: {body}",
            e.method,
            e.path
        );
    }
}
