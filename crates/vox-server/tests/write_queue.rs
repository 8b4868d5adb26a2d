//! Writers waiting for the board lock do not starve readers of database connections;
//! ballots, signatures and audits that queue together are committed together, each
//! decided on its own.
//!
//! Found by the realistic-day load bench (`cargo bench -p vox-cli --bench day`): with a
//! few hundred clients, every petition signature took a pooled connection and then
//! waited on the board head lock in the database, so reads (tree heads, proofs) queued
//! for a connection behind them (p50 ≈ 200 ms for a tree head) and, with a slow enough
//! commit, could fail after the pool's acquire timeout. Writers of one process now queue
//! in memory, in order, and only the first holds a connection while it waits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use sqlx::{AnyConnection, Connection};
use vox_protocol::ballot::AuditedBallot;
use vox_protocol::board::Receipt;
use vox_protocol::petition::SignatureAction;

/// Hold the board lock from another connection (as a second server in its commit would)
/// until the returned guard is released.
struct OtherProcess {
    rt: tokio::runtime::Runtime,
    tx: Option<sqlx::Transaction<'static, sqlx::Any>>,
}

impl OtherProcess {
    fn lock(url: &str) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        sqlx::any::install_default_drivers();
        let tx = rt.block_on(async {
            let conn = Box::leak(Box::new(AnyConnection::connect(url).await.unwrap()));
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("UPDATE board_head SET size = size WHERE id = 1")
                .execute(&mut *tx)
                .await
                .unwrap();
            tx
        });
        Self { rt, tx: Some(tx) }
    }

    fn release(mut self) {
        if let Some(tx) = self.tx.take() {
            self.rt.block_on(tx.rollback()).unwrap();
        }
    }
}

/// While another process holds the board lock, ballots, signatures and audits queue in
/// the writer; released, they are committed in (at most) two transactions: the first
/// write that took the lock's turn, then everything that queued behind it. Every item is
/// decided on its own: a second signature of a credential, and a ballot both cast and
/// audited, lose to the first of the pair without failing the rest; a repeated
/// Idempotency-Key inside the batch gets the first answer.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

fn mixed_batch(db: &TestDb) {
    let h = Harness::start(config(&db.url));
    let c = &h.client;
    let voters = Voters::new("e", 20, |_| None);
    let eh = voters.register(c);
    let p = published_petition(c, &voters, "p", 600_000);
    let trustees = Trustees::new(3);
    let m = yes_no_manifest("r", eh, &trustees, 2);
    let (_, key) = open_referendum(c, &m, &trustees);
    let board = c.board_key();

    let post = |path: &str, body: String, idem: Option<String>| {
        let c = c.clone();
        let path = path.to_owned();
        std::thread::spawn(move || {
            let headers: Vec<(&str, &str)> = match &idem {
                Some(k) => vec![("Idempotency-Key", k.as_str())],
                None => Vec::new(),
            };
            c.request("POST", &path, Some(&body), &headers)
        })
    };

    let lock = OtherProcess::lock(&db.url);
    let ballots: Vec<_> = (2..6)
        .map(|v| encrypt(&m, key, &voters.creds[v], &choices(&m, v % 2 == 0, 0)).0)
        .collect();
    let casts: Vec<_> = ballots
        .iter()
        .map(|b| post("/api/v1/referendums/r/ballots", json(b), None))
        .collect();
    let sigs: Vec<_> = (2..7)
        .map(|v| signature(&p, &voters.creds[v], SignatureAction::Sign))
        .collect();
    let signs: Vec<_> = sigs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            post(
                "/api/v1/petitions/p/signatures",
                json(s),
                (i == 0).then(|| "sig-key".to_owned()),
            )
        })
        .collect();
    // The same request again with its key; two signatures of creds[9].
    let replay = post(
        "/api/v1/petitions/p/signatures",
        json(&sigs[0]),
        Some("sig-key".to_owned()),
    );
    let twice: Vec<_> = (0..2)
        .map(|_| {
            post(
                "/api/v1/petitions/p/signatures",
                json(&signature(&p, &voters.creds[9], SignatureAction::Sign)),
                None,
            )
        })
        .collect();
    // An audit, and a ballot both cast and audited.
    let (b7, s7) = encrypt(&m, key, &voters.creds[7], &choices(&m, true, 0));
    let audit = post(
        "/api/v1/referendums/r/audits",
        json(&AuditedBallot::new(b7, s7)),
        None,
    );
    let (b8, s8) = encrypt(&m, key, &voters.creds[8], &choices(&m, true, 0));
    let both_cast = post("/api/v1/referendums/r/ballots", json(&b8), None);
    let both_audit = post(
        "/api/v1/referendums/r/audits",
        json(&AuditedBallot::new(b8.clone(), s8)),
        None,
    );
    // Let every request reach the writer's queue (the handlers check proofs first).
    std::thread::sleep(Duration::from_millis(1500));
    lock.release();

    let mut heads_cast = BTreeSet::new();
    let mut heads_sign = BTreeSet::new();
    for t in casts {
        let r = t.join().unwrap();
        r.expect(201);
        let receipt: Receipt = r.parse();
        receipt.verify(&board).unwrap();
        heads_cast.insert(receipt.tree_head.head.tree_size);
    }
    let mut first_answer = None;
    for t in signs {
        let r = t.join().unwrap();
        r.expect(201);
        heads_sign.insert(r.json()["tree_head"]["tree_size"].as_u64().unwrap());
        first_answer.get_or_insert(r.body.clone());
    }
    // The replay gets the first answer (whichever of the two was queued first).
    let replay = replay.join().unwrap();
    replay.expect(201);
    assert_eq!(Some(replay.body.clone()), first_answer);
    // Which of the two signatures of creds[9] came first is the queue's order.
    let mut twice: Vec<u16> = twice
        .into_iter()
        .map(|t| t.join().unwrap().status)
        .collect();
    twice.sort_unstable();
    assert_eq!(twice, [201, 409], "one signature of creds[9] is refused");
    audit.join().unwrap().expect(201);
    let (cast8, audit8) = (both_cast.join().unwrap(), both_audit.join().unwrap());
    let won: Vec<u16> = vec![cast8.status, audit8.status];
    assert!(
        won == [201, 409] || won == [409, 201],
        "exactly one of cast and audit of one ballot: {} / {}",
        cast8.body,
        audit8.body
    );
    // At least one transaction held ballots and signatures together.
    assert!(
        heads_cast.intersection(&heads_sign).next().is_some(),
        "no mixed batch: ballot heads {heads_cast:?}, signature heads {heads_sign:?}"
    );
    assert_eq!(c.get("/api/v1/petitions/p").json()["count"], 2 + 5 + 1);
    check_log(c);
}

#[test]
fn mixed_writes_are_committed_together() {
    for db in databases("mixed") {
        eprintln!("mixed batch on {}", db.label);
        mixed_batch(&db);
    }
}

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

/// A batch larger than one lookup round (256 ballots): re-votes whose latest ballot is
/// in the first round or the second are checked against it, a stale one is refused,
/// and a re-post of a cast ballot gets its receipt again — every decision the lookups
/// feed holds past the first round.
fn batch_past_one_lookup_round(db: &TestDb) {
    const N: usize = 270;
    let mut cfg = config(&db.url);
    cfg.max_ballot_batch = 1024;
    let h = Harness::start(cfg);
    let c = &h.client;
    let voters = Voters::new("e", N, |_| None);
    let eh = voters.register(c);
    let trustees = Trustees::new(3);
    let m = yes_no_manifest("r", eh, &trustees, 2);
    let (_, key) = open_referendum(c, &m, &trustees);

    // Every voter's first ballot, one by one.
    let first: Vec<_> = (0..N)
        .map(|v| encrypt(&m, key, &voters.creds[v], &choices(&m, true, 0)).0)
        .collect();
    for b in &first {
        c.post("/api/v1/referendums/r/ballots", b).expect(201);
    }
    // Under the lock: a re-vote of every voter (the last ten name no previous ballot:
    // stale), then the first ballots of voters 0..10 again (re-posts).
    let lock = OtherProcess::lock(&db.url);
    let post = |body: String| {
        let c = c.clone();
        std::thread::spawn(move || {
            c.request("POST", "/api/v1/referendums/r/ballots", Some(&body), &[])
        })
    };
    let revotes: Vec<_> = (0..N)
        .map(|v| {
            let previous = (v < N - 10).then(|| first[v].hash());
            let b = encrypt_after(&m, key, &voters.creds[v], &choices(&m, false, 0), previous).0;
            post(json(&b))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let reposts: Vec<_> = first[..10].iter().map(|b| post(json(b))).collect();
    std::thread::sleep(Duration::from_millis(1500));
    lock.release();

    for (v, t) in revotes.into_iter().enumerate() {
        let r = t.join().unwrap();
        if v < N - 10 {
            r.expect(201);
        } else {
            r.expect(409);
            let kind = r.json()["type"].as_str().unwrap_or_default().to_owned();
            assert!(kind.ends_with("/ballot-not-latest"), "{}", r.body);
        }
    }
    for (v, t) in reposts.into_iter().enumerate() {
        let r = t.join().unwrap();
        r.expect(200);
        let receipt: Receipt = r.parse();
        assert_eq!(receipt.ballot_hash, first[v].hash());
    }
    check_log(c);
}

#[test]
fn batches_past_one_lookup_round_decide_every_item() {
    for db in databases("bigbatch") {
        eprintln!("a batch past one lookup round on {}", db.label);
        batch_past_one_lookup_round(&db);
    }
}
