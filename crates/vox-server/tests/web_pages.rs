//! The web pages mounted beside the API (when a directory is configured).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;

#[test]
fn pages_are_served_beside_the_api() {
    let db = sqlite_db();
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>vox</title>",
    )
    .unwrap();
    let mut cfg = config(&db.url);
    cfg.web_dir = Some(dist.path().to_path_buf());
    let h = Harness::start(cfg);
    let c = &h.client;
    let r = c.get("/");
    r.expect(200);
    assert!(r.body.contains("<title>vox</title>"));
    // The API is unchanged, and unknown API paths still get problem details.
    c.get("/healthz").expect(200);
    c.get("/api/v1/board").expect(200);
    let r = c.get("/api/v1/no/such/route");
    r.expect(404);
    assert_eq!(r.content_type.as_deref(), Some("application/problem+json"));
    // Without a directory (and in a plain build, without embedded pages) the server is
    // API-only, and `/` says how to build the pages.
    let db2 = sqlite_db();
    let mut cfg = config(&db2.url);
    cfg.web_dir = None;
    let h2 = Harness::start(cfg);
    let r = h2.client.get("/");
    r.expect(404);
    assert!(r.body.contains("scripts/build-web.sh"), "{}", r.body);
    assert!(r.body.contains("scripts/dist.sh"), "{}", r.body);
    h2.client.get("/api/v1/board").expect(200);
    h2.client.get("/index.html").expect(404);
}
