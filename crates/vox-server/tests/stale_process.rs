//! Two server processes on one database: a process whose in-memory fold lags behind the
//! other's entries must not refuse a ballot or an audit from that stale state.
//!
//! Seen as an intermittent failure of `two_servers_on_one_postgres_keep_one_log`
//! (tests/concurrency.rs) while working on the two-process load bench: a referendum
//! opened through process A got `409 … is key-ceremony; this needs it open` for ballots
//! cast through process B until B happened to catch up (its petition sweep or a read),
//! because the cast and audit handlers checked the referendum's state against B's fold
//! before taking the board lock. They now catch up once before refusing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use vox_protocol::ballot::AuditedBallot;

fn second_process_follows(db: &TestDb) {
    // Neither process runs its schedule: the test opens and closes through A.
    let mut cfg = config(&db.url);
    cfg.sweep_interval_ms = 3_600_000;
    let a = Harness::start(cfg);
    // B catches up only when asked: no petition sweep during the test.
    let mut cfg = config(&db.url);
    cfg.sweep_interval_ms = 3_600_000;
    let b = Harness::start(cfg);
    let (ca, cb) = (&a.client, &b.client);

    let voters = Voters::new("e-stale", 10, |_| None);
    let eh = voters.register(ca);
    let trustees = Trustees::new(3);
    let m = yes_no_manifest("r-stale", eh, &trustees, 2);
    ca.act(acts::created(&m)).expect(201);
    // B reads the referendum during its key ceremony, and folds no further.
    let seen = cb.get("/api/v1/referendums/r-stale").json();
    assert!(seen["election_key"].is_null(), "{seen}");
    let key_shares = run_ceremony(ca, &m, &trustees);
    let key = election_key(ca, "r-stale");

    // Ready through A; B's fold still says key ceremony. An audit through B:
    let (ballot, secrets) = encrypt(&m, key, &voters.creds[0], &choices(&m, true, 0));
    cb.post(
        "/api/v1/referendums/r-stale/audits",
        &AuditedBallot::new(ballot, secrets),
    )
    .expect(201);

    // Opened through A; B's fold says ready. A ballot through B:
    ca.post_empty("/api/v1/referendums/r-stale/open")
        .expect(200);
    let ballot = encrypt(&m, key, &voters.creds[1], &choices(&m, false, 0)).0;
    cast(cb, &m, &ballot).expect(201);

    // Closed through A: B still refuses, after catching up (and so does its writer).
    ca.advance_to(m.closes_at);
    ca.post_empty("/api/v1/referendums/r-stale/close")
        .expect(200);
    let late = encrypt(&m, key, &voters.creds[2], &choices(&m, true, 0)).0;
    let r = cast(cb, &m, &late);
    assert_eq!(r.status, 409, "{}", r.body);

    // Anyone may trigger the tally, through either process.
    let t = cb.post_empty("/api/v1/referendums/r-stale/tally");
    t.expect(201);
    assert_eq!(t.json()["counted_ballots"], 1);
    drop(key_shares);
    check_log(cb);
}

#[test]
fn a_lagging_process_catches_up_before_refusing() {
    for db in databases("stale") {
        eprintln!("two processes on {}", db.label);
        second_process_follows(&db);
    }
}
