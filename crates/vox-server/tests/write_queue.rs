//! Writers waiting for the board lock do not starve readers of database connections.
//!
//! Found by the realistic-day load bench (`cargo bench -p vox-cli --bench day`): with a
//! few hundred clients, every petition signature took a pooled connection and then
//! waited on the board head lock in the database, so reads (tree heads, proofs) queued
//! for a connection behind them (p50 ≈ 200 ms for a tree head) and, with a slow enough
//! commit, could fail after the pool's acquire timeout. Writers of one process now queue
//! in memory, in order, and only the first holds a connection while it waits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use sqlx::{AnyConnection, Connection};
use vox_protocol::petition::SignatureAction;

fn reads_served_while_writers_wait(db: &TestDb) {
    let mut cfg = config(&db.url);
    cfg.max_connections = 2;
    let h = Harness::start(cfg);
    let c = &h.client;
    let voters = Voters::new("e", 20, |_| None);
    voters.register(c);
    let p = published_petition(c, &voters, "p", 600_000);
    let size = c.size();

    // Another process holds the board lock (as a second server in its commit would).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    sqlx::any::install_default_drivers();
    let mut other = rt
        .block_on(AnyConnection::connect(&db.url))
        .expect("second connection");
    let tx = rt.block_on(async {
        let mut tx = other.begin().await.unwrap();
        sqlx::query("UPDATE board_head SET size = size WHERE id = 1")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx
    });

    // More signers than the pool has connections queue for the lock...
    let signers: Vec<_> = (2..8)
        .map(|v| {
            let c = c.clone();
            let s = signature(&p, &voters.creds[v], SignatureAction::Sign);
            std::thread::spawn(move || c.post("/api/v1/petitions/p/signatures", &s).status)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));

    // ...and reads are still served meanwhile.
    let (done, answers) = mpsc::channel();
    let reader = c.clone();
    std::thread::spawn(move || {
        let a = reader.get("/api/v1/board/tree-head").status;
        let b = reader.get("/api/v1/petitions/p").status;
        let _ = done.send((a, b));
    });
    let read = answers.recv_timeout(Duration::from_secs(15));
    // Release the lock before judging, so that nothing is left hanging.
    rt.block_on(tx.rollback()).unwrap();
    assert_eq!(
        read.expect("a read waited for a connection held by a queued writer"),
        (200, 200)
    );
    for s in signers {
        assert_eq!(s.join().unwrap(), 201, "every queued signature is accepted");
    }
    assert_eq!(c.get("/api/v1/petitions/p").json()["count"], 2 + 6);
    assert!(c.size() >= size + 6);
    check_log(c);
    drop(other);
}

#[test]
fn writers_queue_without_starving_readers() {
    for db in databases("queue") {
        eprintln!("writers queueing on {}", db.label);
        reads_served_while_writers_wait(&db);
    }
}
