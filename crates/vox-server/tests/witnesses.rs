//! The board asks its witnesses (C2SP tlog-witness) and waits for the genesis quorum
//! before an entry that ends a phase (protocol-spec 08 §8.4, 10 V3.6).
//!
//! The witnesses here run `vox_protocol::tlog::Witness` (the state machine `vox witness
//! serve` runs, without its state file) behind a minimal add-checkpoint endpoint on
//! 127.0.0.1; one more witness is a closed port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use vox_protocol::board::{board_note_key, BoardPublicKey, SignedTreeHead};
use vox_protocol::roles::WitnessPolicy;
use vox_protocol::tlog::{KeyName, KeyType, Origin, VerifierKey, Witness, WitnessState};
use vox_server::witness_client::WitnessEndpoint;
use vox_testkit::*;

const LOG: &str = "vox.test/witnessed";

/// A witness process stand-in: the real state machine behind `POST /add-checkpoint`.
struct TestWitness {
    name: String,
    key: SigningKey,
    url: String,
    /// The witness's state machine (None for a dead witness).
    state: Option<Arc<Mutex<Witness>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestWitness {
    fn vkey(&self) -> VerifierKey {
        VerifierKey::new(
            KeyName::new(&self.name).unwrap(),
            KeyType::CosignatureV1,
            self.key.verifying_key(),
        )
    }

    fn endpoint(&self) -> WitnessEndpoint {
        WitnessEndpoint::new(&self.url, self.vkey()).unwrap()
    }

    /// Start a witness of the log signed by `board` (origin [`LOG`]).
    fn start(name: &str, board: &BoardPublicKey) -> Self {
        let key = SigningKey::generate(&mut OsRng);
        let mut logs = BTreeMap::new();
        logs.insert(
            Origin::new(LOG).unwrap(),
            vec![board_note_key(board, LOG).unwrap()],
        );
        let witness = Witness::new(
            KeyName::new(name).unwrap(),
            key.clone(),
            logs,
            WitnessState::default(),
        );
        let state = Arc::new(Mutex::new(witness));
        let shared = Arc::clone(&state);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = axum::Router::new()
                    .route("/add-checkpoint", axum::routing::post(add_checkpoint))
                    .with_state(state);
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self {
            name: name.into(),
            key,
            url,
            state: Some(shared),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A witness whose port refuses connections.
    fn dead(name: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            name: name.into(),
            key: SigningKey::generate(&mut OsRng),
            url: format!("http://127.0.0.1:{port}"),
            state: None,
            stop: None,
            thread: None,
        }
    }

    /// Lose the state (a witness restored without it): it starts again from size 0.
    fn forget(&self, board: &BoardPublicKey) {
        let mut logs = BTreeMap::new();
        logs.insert(
            Origin::new(LOG).unwrap(),
            vec![board_note_key(board, LOG).unwrap()],
        );
        let fresh = Witness::new(
            KeyName::new(&self.name).unwrap(),
            self.key.clone(),
            logs,
            WitnessState::default(),
        );
        *self.state.as_ref().unwrap().lock().unwrap() = fresh;
    }

    fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for TestWitness {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn add_checkpoint(
    State(w): State<Arc<Mutex<Witness>>>,
    body: Bytes,
) -> axum::response::Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let answer = w.lock().unwrap().add_checkpoint(&body, now);
    match answer {
        Ok(c) => (StatusCode::OK, c.body()).into_response(),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap();
            match e.conflict_body() {
                Some(b) => (
                    status,
                    [(
                        header::CONTENT_TYPE,
                        vox_protocol::tlog::TLOG_SIZE_CONTENT_TYPE,
                    )],
                    b,
                )
                    .into_response(),
                None => (status, e.to_string()).into_response(),
            }
        }
    }
}

/// Valid cosignatures from the policy's witnesses on every head of size `size`.
fn cosigners_at(c: &Client, size: u64, policy: &WitnessPolicy) -> usize {
    let heads: Vec<SignedTreeHead> = c
        .get(&format!("/api/v1/board/tree-heads?since={size}"))
        .parse();
    let mut keys = std::collections::HashSet::new();
    for h in heads.iter().filter(|h| h.head.tree_size == size) {
        for co in &h.cosignatures {
            if policy.keys.contains(&co.witness) && h.verify_cosignature(co).is_ok() {
                keys.insert(co.witness.0.to_bytes());
            }
        }
    }
    keys.len()
}

/// The leaf of the last entry of `kind`.
fn last_leaf(c: &Client, kind: &str) -> u64 {
    let entries = check_log(c);
    entries
        .iter()
        .rposition(|e| e.payload.kind() == kind)
        .unwrap() as u64
}

#[test]
fn phases_end_only_after_the_witness_quorum_cosigned() {
    let board_key = &roles().operator;
    let board = BoardPublicKey(board_key.verifying_key());
    let a = TestWitness::start("a.witness.test", &board);
    let mut b = TestWitness::start("b.witness.test", &board);
    let c_dead = TestWitness::dead("c.witness.test");
    let witnesses = [&a, &b, &c_dead];
    let policy = WitnessPolicy {
        keys: witnesses
            .iter()
            .map(|w| BoardPublicKey(w.key.verifying_key()))
            .collect(),
        quorum: 2,
    };
    let db = sqlite_db();
    let mut cfg = bare_config(&db.url);
    cfg.genesis = Some(roles().genesis(LOG, now_ms(), policy.clone()).unwrap());
    cfg.operator_key = Some(board_key.clone());
    cfg.witness_endpoints = witnesses.iter().map(|w| w.endpoint()).collect();
    cfg.witness_wait_ms = 3_000;
    cfg.witness_interval_ms = 100;
    let h = Harness::start(cfg);
    let c = &h.client;

    // 2 of 3: one witness is down, the two others make the quorum.
    let voters = Voters::new("e", 3, |_| None);
    let eh = voters.register(c);
    let trustees = Trustees::new(3);
    let m = yes_no_manifest("r1", eh, &trustees, 2);
    let (shares, key) = open_referendum(c, &m, &trustees);
    for cred in &voters.creds {
        let (ballot, _) = encrypt(&m, key, cred, &choices(&m, true, 0));
        cast(c, &m, &ballot).expect(201);
    }
    let result = close_and_publish(c, &m, &trustees, &shares, &[0, 1]);
    assert_eq!(result["referendum_id"], "r1");
    for kind in ["referendum-closed", "tally-computed", "result-published"] {
        let at = last_leaf(c, kind);
        assert!(
            cosigners_at(c, at, &policy) >= 2,
            "the head before {kind} (size {at}) lacks the quorum"
        );
    }
    // The background rounds cosign the latest head too, and the checkpoint note carries
    // the witnesses' lines.
    let mut tries = 0;
    while c.sth().cosignatures.len() < 2 && tries < 100 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        tries += 1;
    }
    let sth = c.sth();
    let note =
        vox_protocol::tlog::Note::parse(c.get("/api/v1/board/checkpoint").body.as_bytes()).unwrap();
    let keys = [board_note_key(&board, LOG).unwrap(), a.vkey(), b.vkey()];
    assert_eq!(note.text(), sth.checkpoint_text().unwrap());
    assert_eq!(note.verify(&keys).unwrap().len(), 3, "board + a + b");

    // A witness that lost its state answers the board's `old` with 409 and size 0: the
    // board retries from 0 and the witness cosigns again.
    a.forget(&board);
    let grown = c.size();
    Voters::new("e2", 1, |_| None).register(c);
    let mut tries = 0;
    loop {
        let sth = c.sth();
        let by_a = sth
            .cosignatures
            .iter()
            .any(|co| co.witness.0 == a.key.verifying_key());
        if sth.head.tree_size > grown && by_a {
            break;
        }
        assert!(
            tries < 200,
            "witness a never cosigned again after losing its state"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
        tries += 1;
    }

    // 1 of 3: closing waits, then says why, and appends nothing.
    b.kill();
    let m2 = yes_no_manifest("r2", eh, &trustees, 2);
    let _ = open_referendum(c, &m2, &trustees);
    let before = c.size();
    c.advance_to(m2.closes_at);
    let r = c.post_empty("/api/v1/referendums/r2/close");
    r.expect(503);
    let p = r.json();
    assert_eq!(p["type"], "https://vox.invalid/problems/witness-quorum");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 of the 3 genesis witnesses, 2 are required"),
        "{detail}"
    );
    assert!(detail.contains("b.witness.test"), "{detail}");
    assert!(detail.contains("c.witness.test"), "{detail}");
    assert!(r.retry_after.is_some());
    assert_eq!(c.size(), before, "nothing appended");
    let st = c.get("/api/v1/referendums/r2").json();
    assert_eq!(st["state"], "open");
}

#[test]
fn without_a_quorum_in_the_genesis_nothing_waits() {
    // The default test genesis has no witness policy: a close goes through at once even
    // with a configured witness that is down.
    let db = sqlite_db();
    let mut cfg = config(&db.url);
    let dead = TestWitness::dead("d.witness.test");
    cfg.witness_endpoints = vec![dead.endpoint()];
    cfg.witness_wait_ms = 60_000;
    let h = Harness::start(cfg);
    let c = &h.client;
    let voters = Voters::new("e", 1, |_| None);
    let eh = voters.register(c);
    let trustees = Trustees::new(3);
    let m = yes_no_manifest("r1", eh, &trustees, 2);
    let _ = open_referendum(c, &m, &trustees);
    close_and_tally(c, &m);
}
