//! Starting a server: the operator key and the genesis (protocol-spec/11-roles.md §11.2).
//! An empty board needs a genesis, which is appended as leaf 0 exactly once, even by
//! several processes starting at once; a board that has entries must start with a
//! genesis naming this server's operator key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use rand::rngs::OsRng;
use vox_protocol::board::Payload;
use vox_protocol::roles::{RoleSigners, WitnessPolicy};
use vox_server::integrity::{check, Depth, IntegrityError};
use vox_server::ServerError;

#[track_caller]
fn start_error(cfg: vox_server::ServerConfig) -> ServerError {
    match Harness::try_start(cfg) {
        Err(e) => e,
        Ok(_) => panic!("the server started"),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn exec(url: &str, sql: &str) {
    rt().block_on(async {
        use sqlx::{AnyConnection, Connection, Executor};
        sqlx::any::install_default_drivers();
        let mut c = AnyConnection::connect(url).await.unwrap();
        c.execute(sql).await.unwrap();
        c.close().await.unwrap();
    })
}

fn genesis_entries(c: &Client) -> usize {
    check_log(c)
        .iter()
        .filter(|e| matches!(e.payload, Payload::Genesis { .. }))
        .count()
}

fn genesis_at_start(db: &TestDb) {
    // No genesis on an empty board: refused, saying how to make one; nothing appended.
    let mut cfg = bare_config(&db.url);
    cfg.operator_key = Some(roles().operator.clone());
    match start_error(cfg) {
        ServerError::Genesis(m) => {
            assert!(m.contains("no genesis"), "{m}");
            assert!(m.contains("vox genesis new"), "{m}");
        }
        e => panic!("wrong error: {e}"),
    }
    // No operator key at all: refused, naming the option.
    let mut cfg = bare_config(&db.url);
    cfg.genesis = Some(genesis().clone());
    match start_error(cfg) {
        ServerError::Config(m) => assert!(m.contains("--operator-key"), "{m}"),
        e => panic!("wrong error: {e}"),
    }
    // A genesis naming another operator key than the one given.
    let other = RoleSigners::generate(&mut OsRng);
    let foreign = other
        .genesis("vox.test/other", now_ms(), WitnessPolicy::default())
        .unwrap();
    let mut cfg = config(&db.url);
    cfg.genesis = Some(foreign.clone());
    match start_error(cfg) {
        ServerError::Genesis(m) => assert!(m.contains("names operator key"), "{m}"),
        e => panic!("wrong error: {e}"),
    }
    // A genesis missing a role's signature.
    let mut unsigned = genesis().clone();
    unsigned.signatures.pop();
    let mut cfg = config(&db.url);
    cfg.genesis = Some(unsigned);
    match start_error(cfg) {
        ServerError::Genesis(m) => {
            assert!(
                m.contains("not valid") && m.contains("election-authority"),
                "{m}"
            )
        }
        e => panic!("wrong error: {e}"),
    }

    // The first start appends the genesis as leaf 0.
    let h = Harness::start(config(&db.url));
    assert_eq!(h.client.size(), 1);
    assert_eq!(genesis_entries(&h.client), 1);
    h.stop();
    // A restart with the same configuration serves the same board: no second genesis.
    let h = Harness::start(config(&db.url));
    assert_eq!(h.client.size(), 1);
    Voters::new("e", 2, |_| None).register(&h.client);
    h.stop();
    // So does one without a genesis (the board has one).
    let mut cfg = config(&db.url);
    cfg.genesis = None;
    let h = Harness::start(cfg);
    assert_eq!(h.client.size(), 2);
    assert_eq!(genesis_entries(&h.client), 1);
    h.stop();

    // Another operator key (with its own genesis) on this board: refused.
    let mut cfg = config(&db.url);
    cfg.operator_key = Some(other.operator.clone());
    cfg.genesis = Some(foreign);
    match start_error(cfg) {
        ServerError::Genesis(m) => {
            assert!(
                m.contains("leaf 0") && m.contains("names operator key"),
                "{m}"
            )
        }
        e => panic!("wrong error: {e}"),
    }
    // The same keys, another genesis: refused.
    let mut cfg = config(&db.url);
    cfg.genesis = Some(
        roles()
            .genesis("vox.test/renamed", now_ms(), WitnessPolicy::default())
            .unwrap(),
    );
    match start_error(cfg) {
        ServerError::Genesis(m) => assert!(m.contains("not this board's genesis"), "{m}"),
        e => panic!("wrong error: {e}"),
    }
    let h = Harness::start(config(&db.url));
    assert_eq!(h.client.size(), 2);
}

#[test]
fn genesis_at_start_on_every_backend() {
    for db in databases("genesis") {
        eprintln!("genesis at start on {}", db.label);
        genesis_at_start(&db);
    }
}

/// Several processes start at once on one empty database: one genesis.
fn racing_starts(db: &TestDb) {
    let n = 3;
    let barrier = Arc::new(Barrier::new(n));
    let servers: Vec<Harness> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let url = db.url.clone();
                s.spawn(move || {
                    let cfg = config(&url);
                    barrier.wait();
                    Harness::start(cfg)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for h in &servers {
        assert_eq!(h.client.size(), 1);
        assert_eq!(genesis_entries(&h.client), 1);
    }
    // They serve one log: an act through one is seen by the others.
    Voters::new("e", 2, |_| None).register(&servers[0].client);
    for h in &servers {
        h.client.get("/api/v1/electorates/e").expect(200);
    }
    assert_eq!(genesis_entries(&servers[n - 1].client), 1);
    for h in servers {
        h.stop();
    }
    rt().block_on(check(&db.url, Depth::Full)).unwrap();
}

#[test]
fn racing_starts_append_one_genesis() {
    for round in 0..3 {
        for db in databases("race") {
            eprintln!("racing starts on {} (round {round})", db.label);
            racing_starts(&db);
        }
    }
}

#[test]
fn leaf_zero_must_be_a_genesis() {
    let db = sqlite_db();
    Harness::start(config(&db.url)).stop();
    // As if the board were from before v2: leaf 0 is something else.
    exec(
        &db.url,
        r#"UPDATE board_entries SET kind = 'petition-closed', body = '{"timestamp_ms":1,"payload":{"type":"petition-closed","petition_id":"x","count":0}}' WHERE seq = 0"#,
    );
    match start_error(config(&db.url)) {
        ServerError::Genesis(m) => assert!(m.contains("not a genesis"), "{m}"),
        e => panic!("wrong error: {e}"),
    }
    match rt().block_on(check(&db.url, Depth::Quick)) {
        Err(IntegrityError::Inconsistent(p)) => assert!(
            p.iter()
                .any(|m| m.contains("leaf 0 is a petition-closed entry, not a genesis")),
            "{p:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_legacy_stored_board_key() {
    // A key stored in the database by an earlier version is used when none is given…
    let db = sqlite_db();
    let _ = Harness::try_start(bare_config(&db.url)); // migrates, then refuses (no key)
    exec(
        &db.url,
        &format!(
            "INSERT INTO server_keys (name, value) VALUES ('board_signing_key', x'{}')",
            hex::encode(roles().operator.to_bytes())
        ),
    );
    let mut cfg = config(&db.url);
    cfg.operator_key = None;
    let h = Harness::start(cfg);
    assert_eq!(h.client.board_key(), roles().public_keys().operator);
    h.stop();
    // …and one given must equal it.
    let mut cfg = config(&db.url);
    cfg.operator_key = Some(ed25519_dalek::SigningKey::generate(&mut OsRng));
    match start_error(cfg) {
        ServerError::Config(m) => assert!(m.contains("is not the board key stored"), "{m}"),
        e => panic!("wrong error: {e}"),
    }
    Harness::start(config(&db.url)).stop();
}

#[test]
fn the_config_debug_form_shows_no_secret() {
    let cfg = config("sqlite://x.db");
    let text = format!("{cfg:?}");
    let secret = hex::encode(roles().operator.to_bytes());
    assert!(!text.contains(&secret), "{text}");
    assert!(!text.contains(&format!("{:?}", roles().operator.to_bytes())));
    assert!(
        text.contains(&roles().public_keys().operator.to_hex()),
        "{text}"
    );
}
