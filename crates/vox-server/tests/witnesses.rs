//! The board asks its witnesses (C2SP tlog-witness) and waits for the quorum of the
//! witness policy in force before an entry that ends a phase (protocol-spec 08 §8.4,
//! 10 V3.6); a policy change takes effect once the old quorum cosigned it (11 §11.6).
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
use vox_crypto::threshold::KeyShare;
use vox_crypto::Hash32;
use vox_protocol::board::{board_note_key, BoardPublicKey, SignedTreeHead};
use vox_protocol::manifest::Manifest;
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

/// The witness policy naming `witnesses`, `quorum` of whom must cosign.
fn policy_of(witnesses: &[&TestWitness], quorum: u32) -> WitnessPolicy {
    WitnessPolicy {
        keys: witnesses
            .iter()
            .map(|w| BoardPublicKey(w.key.verifying_key()))
            .collect(),
        quorum,
    }
}

/// A board on SQLite whose genesis has `policy`, run by the test roles' operator, asking
/// the witnesses `asked` (in the background every `interval_ms`; a phase end waits at
/// most `wait_ms`). Keep the database guard alive as long as the harness.
fn witnessed_board(
    policy: &WitnessPolicy,
    asked: &[&TestWitness],
    wait_ms: u64,
    interval_ms: u64,
) -> (TestDb, Harness) {
    let db = sqlite_db();
    let mut cfg = bare_config(&db.url);
    cfg.genesis = Some(roles().genesis(LOG, now_ms(), policy.clone()).unwrap());
    cfg.operator_key = Some(roles().operator.clone());
    cfg.witness_endpoints = asked.iter().map(|w| w.endpoint()).collect();
    cfg.witness_wait_ms = wait_ms;
    cfg.witness_interval_ms = interval_ms;
    let h = Harness::start(cfg);
    (db, h)
}

/// Move the clock to `m`'s closes_at and ask to close: the board must answer 503
/// `witness-quorum` with a Retry-After and append nothing. Returns the detail.
fn close_waits_for_witnesses(c: &Client, m: &Manifest) -> String {
    let before = c.size();
    c.advance_to(m.closes_at);
    let r = c.post_empty(&format!("/api/v1/referendums/{}/close", m.referendum_id));
    r.expect(503);
    let p = r.json();
    assert_eq!(p["type"], "https://vox.invalid/problems/witness-quorum");
    assert!(r.retry_after.is_some());
    assert_eq!(c.size(), before, "nothing appended");
    p["detail"].as_str().unwrap().to_owned()
}

/// Register `voters` voters, open r1 (3 trustees, 2 decrypt) and have each vote yes.
fn r1_with_votes(c: &Client, voters: usize) -> (Hash32, Trustees, Manifest, Vec<KeyShare>) {
    let voters = Voters::new("e", voters, |_| None);
    let eh = voters.register(c);
    let trustees = Trustees::new(3);
    let m = yes_no_manifest("r1", eh, &trustees, 2);
    let (shares, key) = open_referendum(c, &m, &trustees);
    for cred in &voters.creds {
        let (ballot, _) = encrypt(&m, key, cred, &choices(&m, true, 0));
        cast(c, &m, &ballot).expect(201);
    }
    (eh, trustees, m, shares)
}

#[test]
fn phases_end_only_after_the_witness_quorum_cosigned() {
    let board = BoardPublicKey(roles().operator.verifying_key());
    let a = TestWitness::start("a.witness.test", &board);
    let mut b = TestWitness::start("b.witness.test", &board);
    let c_dead = TestWitness::dead("c.witness.test");
    let policy = policy_of(&[&a, &b, &c_dead], 2);
    let (_db, h) = witnessed_board(&policy, &[&a, &b, &c_dead], 3_000, 100);
    let c = &h.client;

    // 2 of 3: one witness is down, the two others make the quorum.
    let (eh, trustees, m, shares) = r1_with_votes(c, 3);
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
    let detail = close_waits_for_witnesses(c, &m2);
    assert!(
        detail.contains("1 of the 3 witnesses of the genesis witness policy, 2 are required"),
        "{detail}"
    );
    assert!(detail.contains("b.witness.test"), "{detail}");
    assert!(detail.contains("c.witness.test"), "{detail}");
    let st = c.get("/api/v1/referendums/r2").json();
    assert_eq!(st["state"], "open");
    // A record exported now ends at the latest head the quorum vouched for (V3.4), not
    // at the newest head, which only witness a has cosigned.
    let header = c.get("/api/v1/record").json();
    let size = header["tree_size"].as_u64().unwrap();
    assert!(size < c.size(), "record of {size}, board of {}", c.size());
    assert!(cosigners_at(c, size, &policy) >= 2, "size {size}");
}

/// The operator's signed `witness-policy-set`.
fn witness_policy_set(keys: &[&TestWitness], quorum: u32) -> vox_protocol::board::Payload {
    roles()
        .sign(
            vox_protocol::board::Payload::WitnessPolicySet {
                policy: policy_of(keys, quorum),
                act: vox_protocol::roles::ActSignature::unsigned(),
            },
            now_ms(),
        )
        .unwrap()
}

#[test]
fn a_witness_policy_change_takes_effect_once_the_old_quorum_cosigned_it() {
    let board = BoardPublicKey(roles().operator.verifying_key());
    let mut a = TestWitness::start("a.witness.test", &board);
    let mut b = TestWitness::start("b.witness.test", &board);
    let c3 = TestWitness::start("c.witness.test", &board);
    let genesis_policy = policy_of(&[&a, &b], 2);
    // No background round in this test: the witnesses are asked only when a phase ends,
    // so what is in force at each step is deterministic.
    let (_db, h) = witnessed_board(&genesis_policy, &[&a, &b, &c3], 3_000, 3_600_000);
    let c = &h.client;
    let (eh, trustees, m, shares) = r1_with_votes(c, 2);

    // Witness a retires, c joins: declared, not in force yet.
    let r = c.post("/api/v1/witness-policy", &witness_policy_set(&[&b, &c3], 2));
    r.expect(201);
    let change_leaf = last_leaf(c, "witness-policy-set");
    let view: vox_protocol::api::WitnessPolicyView = r.parse();
    assert_eq!(view.in_force, genesis_policy);
    assert_eq!(view.in_force_since_leaf, 0);
    assert_eq!(view.pending.as_ref().unwrap().leaf_index, change_leaf);
    // One change at a time.
    let r = c.post("/api/v1/witness-policy", &witness_policy_set(&[&c3], 1));
    r.expect(409);
    assert_eq!(
        r.json()["type"],
        "https://vox.invalid/problems/witness-policy-pending"
    );
    // Only the operator sets it; an invalid policy is refused.
    let forged = vox_protocol::board::Payload::WitnessPolicySet {
        policy: WitnessPolicy {
            keys: vec![BoardPublicKey(c3.key.verifying_key())],
            quorum: 1,
        },
        act: vox_protocol::roles::ActSignature::unsigned(),
    }
    .signed_act(&board.log_id(), now_ms(), &roles().election_authority)
    .unwrap();
    c.post("/api/v1/witness-policy", &forged).expect(403);

    // The close asks every witness: a and b (the old quorum) cosign the head covering
    // the change, so the new policy is in force, and b and c (its quorum) cosign it too.
    let result = close_and_publish(c, &m, &trustees, &shares, &[0, 1]);
    assert_eq!(result["referendum_id"], "r1");
    let view: vox_protocol::api::WitnessPolicyView = c.get("/api/v1/witness-policy").parse();
    assert_eq!(view.in_force_since_leaf, change_leaf);
    assert!(view.pending.is_none());
    let new_policy = view.in_force.clone();
    for kind in ["referendum-closed", "tally-computed", "result-published"] {
        let at = last_leaf(c, kind);
        assert!(
            cosigners_at(c, at, &new_policy) >= 2,
            "the head before {kind} (size {at}) lacks the new quorum"
        );
    }
    // No background round ran since: the latest witnessed head is the one before the
    // result, where an exported record ends.
    let header = c.get("/api/v1/record").json();
    assert_eq!(
        header["tree_size"].as_u64().unwrap(),
        last_leaf(c, "result-published")
    );
    // The retired witness no longer matters; with b gone too, closing waits and names
    // the policy in force.
    a.kill();
    b.kill();
    let m2 = yes_no_manifest("r2", eh, &trustees, 2);
    let _ = open_referendum(c, &m2, &trustees);
    let detail = close_waits_for_witnesses(c, &m2);
    assert!(
        detail.contains(&format!(
            "1 of the 2 witnesses of the witness policy set at leaf {change_leaf}, 2 are required"
        )),
        "{detail}"
    );
}

#[test]
fn a_witness_policy_change_the_old_witnesses_never_cosign_never_takes_effect() {
    let board = BoardPublicKey(roles().operator.verifying_key());
    let a_dead = TestWitness::dead("a.witness.test");
    let b = TestWitness::start("b.witness.test", &board);
    let c3 = TestWitness::start("c.witness.test", &board);
    let (_db, h) = witnessed_board(
        &policy_of(&[&a_dead, &b], 2),
        &[&a_dead, &b, &c3],
        2_000,
        100,
    );
    let c = &h.client;
    let voters = Voters::new("e", 1, |_| None);
    let eh = voters.register(c);
    let trustees = Trustees::new(3);
    // The operator swaps the dead witness for c; b and c cosign everything, but the
    // old quorum (a and b) never vouches for the change: it never takes effect.
    c.post("/api/v1/witness-policy", &witness_policy_set(&[&b, &c3], 2))
        .expect(201);
    let change_leaf = last_leaf(c, "witness-policy-set");
    let m = yes_no_manifest("r1", eh, &trustees, 2);
    let _ = open_referendum(c, &m, &trustees);
    let detail = close_waits_for_witnesses(c, &m);
    assert!(
        detail.contains("of the genesis witness policy, 2 are required"),
        "{detail}"
    );
    assert!(
        detail.contains(&format!(
            "the witness policy set at leaf {change_leaf} takes effect once"
        )),
        "{detail}"
    );
    let view: vox_protocol::api::WitnessPolicyView = c.get("/api/v1/witness-policy").parse();
    assert_eq!(view.pending.unwrap().leaf_index, change_leaf);
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
