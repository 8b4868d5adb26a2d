//! # vox-testkit
//!
//! One test kit for every test that talks to a vox server (vox-server's integration
//! tests, the adversarial suite in `tests/`, the CLI's crash test): before it, the same
//! "start a server, set up a referendum over HTTP, run the ceremony" helpers existed in
//! three copies that drifted apart.
//!
//! Test harness: a real server on 127.0.0.1 (free port) over SQLite in a temp dir and,
//! when `DATABASE_URL` is a PostgreSQL URL, over a fresh PostgreSQL database; a
//! blocking HTTP client; and protocol helpers (electorates, petitions, the trustees' key
//! ceremony, ballots, decryption) that talk to the server exactly like the CLI would.
//!
//! The four roles' keys ([`roles`]) are drawn once per test process from the OS RNG, and
//! so is the genesis they sign ([`genesis`]): every server a test starts (restarts and
//! second processes on one database included) is given that genesis and the operator
//! key, as `vox serve --genesis FILE --operator-key FILE` would; the other roles' keys
//! stay here, with the "authority tools", which sign acts ([`signed`], [`Client::act`]).
// Test support: a failed step is a failed test, so panicking with the server's answer
// is the intended way to report it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use rand::rngs::OsRng;
use serde::Serialize;
use serde_json::Value;
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::{Ciphertext, ElectionPublicKey};
use vox_crypto::threshold::{
    receive_share, CeremonyCommitment, CeremonyParams, CoefficientCommitments, Dealer,
    DecryptionShare, EncryptedShare, KeyShare, RevealedDealer, ShareVerdict, TrusteeIndex,
    TrusteeKeys, TrusteePublicKey,
};
use vox_crypto::Hash32;
use vox_protocol::ballot::{encrypt_ballot, Ballot, BallotContext, BallotSecrets};
use vox_protocol::board::{BoardEntry, BoardPublicKey, Payload, SignedTreeHead};
use vox_protocol::ceremony::{CeremonyBody, CeremonyMessage, DecryptionShareMessage};
use vox_protocol::electorate::{Electorate, ElectorateEntry};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{
    Manifest, Question, QuestionKind, TrusteeInfo, TrusteePanel, MANIFEST_VERSION,
};
use vox_protocol::merkle::root_from_leaf_hashes;
use vox_protocol::petition::{
    Moderation, Petition, PetitionProposal, PetitionSignature, ReferendumTerms, SignatureAction,
};
use vox_protocol::roles::{ActSignature, Genesis, RoleSigners, WitnessPolicy};
use vox_server::{RunningServer, ServerConfig, ServerError};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database for one test.
pub struct TestDb {
    pub label: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

fn unique(name: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "vox_{}_{}_{}_{}",
        name,
        std::process::id(),
        n,
        nanos % 100_000
    )
}

/// A fresh SQLite file.
pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vox.db").display());
    TestDb {
        label: "sqlite",
        url,
        _dir: Some(dir),
    }
}

/// A fresh PostgreSQL database (or schema), if `DATABASE_URL` points at PostgreSQL.
pub fn postgres_db(name: &str) -> Option<TestDb> {
    let base = std::env::var("DATABASE_URL").ok()?;
    if !base.starts_with("postgres") {
        return None;
    }
    let db = unique(name).to_lowercase();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(async {
        use sqlx::{Connection, Executor};
        if let Ok(admin) = std::env::var("VOX_TEST_POSTGRES_ADMIN_URL") {
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            c.execute(format!("CREATE DATABASE {db}").as_str())
                .await
                .unwrap();
            let (prefix, _) = admin.rsplit_once('/').unwrap();
            format!("{prefix}/{db}")
        } else {
            let mut c = sqlx::PgConnection::connect(&base).await.unwrap();
            c.execute(format!("CREATE SCHEMA {db}").as_str())
                .await
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-c%20search_path%3D{db}")
        }
    });
    Some(TestDb {
        label: "postgres",
        url,
        _dir: None,
    })
}

/// SQLite always, PostgreSQL when configured.
pub fn databases(name: &str) -> Vec<TestDb> {
    let mut v = vec![sqlite_db()];
    v.extend(postgres_db(name));
    v
}

// ---- roles and acts ------------------------------------------------------------------

/// The four roles' keys of this test process (OS RNG, drawn once).
pub fn roles() -> &'static RoleSigners {
    static ROLES: OnceLock<RoleSigners> = OnceLock::new();
    ROLES.get_or_init(|| RoleSigners::generate(&mut OsRng))
}

/// The genesis every test board starts with, signed by [`roles`].
pub fn genesis() -> &'static Genesis {
    static GENESIS: OnceLock<Genesis> = OnceLock::new();
    GENESIS.get_or_init(|| {
        roles()
            .genesis("vox.test/board", now_ms(), WitnessPolicy::default())
            .unwrap()
    })
}

/// A fresh `issued_at_ms` for an act: the clock, but never twice the same value in this
/// process (two identical acts signed in one millisecond would be one act, a replay).
pub fn issued_at() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now_ms();
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(prev + 1);
        match LAST.compare_exchange(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(p) => prev = p,
        }
    }
}

/// `payload` signed by the role it needs, with [`roles`]' keys, for [`genesis`]' log.
pub fn signed(payload: Payload) -> Payload {
    roles().sign(payload, issued_at()).unwrap()
}

/// Unsigned act payloads (placeholders for the signature), for [`signed`] or tests that
/// sign otherwise.
pub mod acts {
    use super::*;

    fn unsigned() -> ActSignature {
        ActSignature::unsigned()
    }
    pub fn electorate(e: &Electorate) -> Payload {
        Payload::ElectorateRegistered {
            electorate: e.clone(),
            act: unsigned(),
        }
    }
    pub fn moderation(petition_id: &str, moderation: Moderation) -> Payload {
        Payload::PetitionModerated {
            petition_id: petition_id.into(),
            moderation,
            act: unsigned(),
        }
    }
    /// Publish, open for `open_for_ms` from now (the longest the petition allows), with
    /// [`terms`]. (A publish needs a standing trustee panel: [`Client::act`] sets
    /// [`panel`] first when none is in force.)
    pub fn publish(petition_id: &str, open_for_ms: i64) -> Payload {
        moderation(
            petition_id,
            Moderation::Publish {
                closes_at: now_ms() + open_for_ms,
                referendum: terms(petition_id),
            },
        )
    }
    /// The referendum terms [`publish`] fixes: referendum `<petition_id>-r`, the two
    /// questions of [`super::manifest`], opening a minute after it is triggered (the
    /// ceremony runs in between), voting for an hour.
    pub fn terms(petition_id: &str) -> ReferendumTerms {
        ReferendumTerms {
            referendum_id: format!("{petition_id}-r"),
            title: format!("Referendum on petition {petition_id}"),
            description: "Triggered by the petition's referendum threshold.".into(),
            questions: super::questions(),
            opens_after_ms: 60_000,
            voting_ms: 3_600_000,
            participation: Default::default(),
        }
    }
    /// The standing trustee panel of [`super::panel_trustees`] (k = 2 of 3).
    pub fn panel() -> Payload {
        Payload::TrusteePanelSet {
            panel: TrusteePanel {
                trustees: TrusteeInfo::numbered(&super::panel_trustees().keys),
                threshold: 2,
                answer_due_ms: vox_protocol::manifest::DAY_MS,
                decryption_due_ms: vox_protocol::manifest::DAY_MS,
            },
            act: unsigned(),
        }
    }
    pub fn reject(petition_id: &str, reason: &str) -> Payload {
        moderation(
            petition_id,
            Moderation::Reject {
                reason: reason.into(),
            },
        )
    }
    pub fn response(petition_id: &str, text: &str) -> Payload {
        Payload::PetitionResponded {
            petition_id: petition_id.into(),
            text: text.into(),
            act: unsigned(),
        }
    }
    pub fn invalidation(
        petition_id: &str,
        credentials: Vec<vox_crypto::credential::CredentialPublicKey>,
        reason: &str,
    ) -> Payload {
        Payload::SignaturesInvalidated {
            petition_id: petition_id.into(),
            credentials,
            tags: Vec::new(),
            reason: reason.into(),
            act: unsigned(),
        }
    }
    pub fn created(m: &Manifest) -> Payload {
        Payload::ReferendumCreated {
            manifest: m.clone(),
            act: unsigned(),
        }
    }
    pub fn enrolment_opened(opening: &vox_protocol::enrolment::EnrolmentOpening) -> Payload {
        Payload::EnrolmentOpened {
            opening: opening.clone(),
            act: unsigned(),
        }
    }
    pub fn revoked(
        electorate_id: &str,
        credential: vox_crypto::credential::CredentialPublicKey,
        replacement: Option<Hash32>,
        reason: &str,
    ) -> Payload {
        Payload::CredentialRevoked {
            electorate_id: electorate_id.into(),
            credential,
            replacement,
            reason: reason.into(),
            act: unsigned(),
        }
    }
    pub fn policy(policy: vox_protocol::petition::PetitionPolicy) -> Payload {
        Payload::PetitionPolicySet {
            policy,
            act: unsigned(),
        }
    }
    pub fn frozen(electorate_id: &str, electorate_hash: Hash32) -> Payload {
        Payload::ElectorateFrozen {
            electorate_id: electorate_id.into(),
            electorate_hash,
            act: unsigned(),
        }
    }
}

/// The endpoint that takes an act.
pub fn act_path(p: &Payload) -> String {
    match p {
        Payload::ElectorateRegistered { .. } => "/api/v1/electorates".into(),
        Payload::PetitionModerated { petition_id, .. } => {
            format!("/api/v1/petitions/{petition_id}/moderation")
        }
        Payload::PetitionResponded { petition_id, .. } => {
            format!("/api/v1/petitions/{petition_id}/response")
        }
        Payload::SignaturesInvalidated { petition_id, .. } => {
            format!("/api/v1/petitions/{petition_id}/invalidations")
        }
        Payload::ReferendumCreated { .. } => "/api/v1/referendums".into(),
        Payload::TrusteePanelSet { .. } => "/api/v1/panel".into(),
        Payload::RoleKeyRotated { .. } => "/api/v1/roles/rotations".into(),
        Payload::PetitionPolicySet { .. } => "/api/v1/petition-policy".into(),
        Payload::EnrolmentOpened { .. } => "/api/v1/enrolments".into(),
        Payload::CredentialRevoked { electorate_id, .. } => {
            format!("/api/v1/electorates/{electorate_id}/revocations")
        }
        Payload::ElectorateFrozen { electorate_id, .. } => {
            format!("/api/v1/electorates/{electorate_id}/freeze")
        }
        other => panic!("{} is not an authority act", other.kind()),
    }
}

/// A config for tests: free port, generous limits, fast sweeps, [`genesis`] and the
/// operator key of [`roles`].
pub fn config(url: &str) -> ServerConfig {
    let mut c = bare_config(url);
    c.genesis = Some(genesis().clone());
    c.operator_key = Some(roles().operator.clone());
    c
}

/// [`config`] without a genesis or an operator key.
pub fn bare_config(url: &str) -> ServerConfig {
    let mut c = ServerConfig::new(Some(url.to_owned()), "127.0.0.1:0".parse().unwrap());
    c.sweep_interval_ms = 100;
    c.rate_limit_per_credential = Some(vox_server::RateLimit {
        burst: 50,
        per_second: 50.0,
    });
    c
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("does not parse ({e}): {}", self.body))
    }
    /// The problem's `field`.
    pub fn field(&self) -> Option<String> {
        self.json()
            .get("field")
            .and_then(|f| f.as_str())
            .map(str::to_owned)
    }
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        self
    }
}

/// One request and its answer, as the client saw it (`Client::exchanges`).
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    /// The path with its query string.
    pub path: String,
    /// The request's body, if it had one.
    pub request: Option<String>,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// Blocking client. It keeps every exchange (`exchanges`), for tests that check the
/// answers of a whole run afterwards (e.g. against the OpenAPI document).
#[derive(Clone)]
pub struct Client {
    pub base: String,
    agent: ureq::Agent,
    log: std::sync::Arc<std::sync::Mutex<Vec<Exchange>>>,
    /// How far the server's clock is ahead of the wall clock (ms): [`Harness`] gives its
    /// server a clock that adds it.
    pub offset: std::sync::Arc<AtomicI64>,
}

impl Client {
    pub fn new(base: String) -> Self {
        Self {
            base,
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .max_idle_connections_per_host(64)
                .build(),
            log: Default::default(),
            offset: Default::default(),
        }
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .agent
            .request(method, &format!("{}{}", self.base, path));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let body_sent = body.map(str::to_owned);
        let res = match body {
            Some(b) => req.set("Content-Type", "application/json").send_string(b),
            None => req.call(),
        };
        let r = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = r.status();
        let retry_after = r.header("Retry-After").map(str::to_owned);
        let content_type = r.header("Content-Type").map(str::to_owned);
        let body = r.into_string().unwrap();
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Exchange {
                method: method.to_owned(),
                path: path.to_owned(),
                request: body_sent,
                status,
                content_type: content_type.clone(),
                body: body.clone(),
            });
        Resp {
            status,
            body,
            retry_after,
            content_type,
        }
    }

    /// Every exchange so far (of this client and its clones), oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, None, &[])
    }

    pub fn post<T: Serialize>(&self, path: &str, body: &T) -> Resp {
        let b = serde_json::to_string(body).unwrap();
        self.request("POST", path, Some(&b), &[])
    }

    /// POST without a body (the open triggers: petition close, tally, publish).
    pub fn post_empty(&self, path: &str) -> Resp {
        self.request("POST", path, Some(""), &[])
    }

    /// Sign an act with the role's key ([`signed`]) and post it to its endpoint. A
    /// publish is preceded by the standing panel [`acts::panel`] if none is in force.
    pub fn act(&self, payload: Payload) -> Resp {
        if matches!(
            &payload,
            Payload::PetitionModerated {
                moderation: Moderation::Publish { .. },
                ..
            }
        ) {
            self.ensure_panel();
        }
        self.post_act(&signed(payload))
    }

    /// Set the standing trustee panel [`acts::panel`] unless one is in force.
    pub fn ensure_panel(&self) {
        if self.get("/api/v1/panel").status == 404 {
            self.post_act(&signed(acts::panel())).expect(201);
        }
    }

    /// Move the server's clock forward by `ms` (servers started by [`Harness`]).
    pub fn advance(&self, ms: i64) {
        self.offset.fetch_add(ms, Ordering::SeqCst);
    }

    /// Move the server's clock forward so that it reads at least `t` (Unix ms).
    pub fn advance_to(&self, t: i64) {
        let need = t - (now_ms() + self.offset.load(Ordering::SeqCst));
        if need > 0 {
            self.advance(need);
        }
    }

    /// The server's clock now (Unix ms), for servers started by [`Harness`].
    pub fn server_now(&self) -> i64 {
        now_ms() + self.offset.load(Ordering::SeqCst)
    }

    /// An act signed by its role's key, posted to `path` (which may not be its own
    /// endpoint: adversarial tests send acts where they do not belong).
    pub fn act_at(&self, path: &str, payload: Payload) -> Resp {
        self.post(path, &signed(payload))
    }

    /// Post an act as it is (signed or not) to its endpoint.
    pub fn post_act(&self, payload: &Payload) -> Resp {
        self.post(&act_path(payload), payload)
    }

    /// Current board size.
    pub fn size(&self) -> u64 {
        self.get("/api/v1/board").json()["tree_size"]
            .as_u64()
            .unwrap()
    }

    pub fn sth(&self) -> SignedTreeHead {
        self.get("/api/v1/board/tree-head").parse()
    }

    pub fn board_key(&self) -> BoardPublicKey {
        let v = self.get("/api/v1/board").json();
        BoardPublicKey::from_hex(v["board_public_key"].as_str().unwrap()).unwrap()
    }
}

/// A server on its own runtime.
pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    pub client: Client,
}

impl Harness {
    pub fn try_start(mut cfg: ServerConfig) -> Result<Self, ServerError> {
        // The server's clock runs `offset` ahead of the given one: tests move it with
        // `Client::advance`.
        let offset = std::sync::Arc::new(AtomicI64::new(0));
        let inner = cfg.clock.clone();
        let o = std::sync::Arc::clone(&offset);
        cfg.clock = vox_server::Clock(std::sync::Arc::new(move || {
            inner.now_ms() + o.load(Ordering::SeqCst)
        }));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(vox_server::start(cfg))?;
        let base = format!("http://{}", server.local_addr());
        let mut client = Client::new(base);
        client.offset = offset;
        Ok(Self {
            client,
            rt,
            server: Some(server),
        })
    }

    pub fn start(cfg: ServerConfig) -> Self {
        Self::try_start(cfg).unwrap()
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().unwrap()
    }

    pub fn stop(mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown()).unwrap();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = self.rt.block_on(s.shutdown());
        }
    }
}

pub fn now_ms() -> i64 {
    vox_server::now_ms()
}

// ---- electorates and petitions ------------------------------------------------------

pub struct Voters {
    pub creds: Vec<Credential>,
    pub electorate: Electorate,
}

impl Voters {
    pub fn new(id: &str, n: usize, region: impl Fn(usize) -> Option<String>) -> Self {
        let creds: Vec<Credential> = (0..n).map(|_| Credential::generate(&mut OsRng)).collect();
        let electorate = Electorate {
            id: id.into(),
            name: format!("Electorate {id}"),
            entries: creds
                .iter()
                .enumerate()
                .map(|(i, c)| ElectorateEntry {
                    credential: c.public_key(),
                    region: region(i),
                })
                .collect(),
        };
        Self { creds, electorate }
    }

    pub fn hash(&self) -> Hash32 {
        self.electorate.canonical_hash()
    }

    pub fn register(&self, c: &Client) -> Hash32 {
        let r = c.act(acts::electorate(&self.electorate));
        r.expect(201);
        let h = self.hash();
        assert_eq!(r.json()["electorate_hash"].as_str().unwrap(), h.to_hex());
        h
    }
}

pub fn petition(id: &str, electorate_hash: Hash32, open_for_ms: i64) -> Petition {
    Petition {
        id: id.into(),
        action: format!("Do the thing {id}"),
        background: "Because it matters".into(),
        details: String::new(),
        electorate_hash,
        sponsor_threshold: 2,
        response_threshold: 3,
        referendum_threshold: 4,
        open_for_ms,
        response_due_ms: 60_000,
        region_min_group: 2,
        signatures: Default::default(),
    }
}

pub fn signature(p: &Petition, cred: &Credential, action: SignatureAction) -> PetitionSignature {
    PetitionSignature::create(p, cred, action, &mut OsRng)
}

pub fn sign(c: &Client, p: &Petition, cred: &Credential, action: SignatureAction) -> Resp {
    c.post(
        &format!("/api/v1/petitions/{}/signatures", p.id),
        &signature(p, cred, action),
    )
}

/// Petition `id` proposed by voter 0, sponsored by voter 1 and published by the
/// authority: the usual starting point of a petition test.
pub fn published_petition(c: &Client, voters: &Voters, id: &str, open_for_ms: i64) -> Petition {
    let p = petition(id, voters.hash(), open_for_ms);
    c.post(
        "/api/v1/petitions",
        &PetitionProposal::create(p.clone(), &voters.creds[0], &mut OsRng),
    )
    .expect(201);
    sign(c, &p, &voters.creds[1], SignatureAction::Sign).expect(201);
    c.act(acts::publish(id, open_for_ms)).expect(200);
    p
}

// ---- referendums ------------------------------------------------------------------

pub struct Trustees {
    pub keys: Vec<TrusteeKeys>,
}

impl Trustees {
    pub fn new(n: usize) -> Self {
        Self {
            keys: (0..n).map(|_| TrusteeKeys::generate(&mut OsRng)).collect(),
        }
    }
}

/// A yes/no question and a choose-one question (no blank) with three options.
pub fn manifest(
    id: &str,
    electorate_hash: Hash32,
    trustees: &Trustees,
    k: u32,
    source_petition: Option<String>,
) -> Manifest {
    let now = now_ms();
    Manifest {
        version: MANIFEST_VERSION,
        referendum_id: id.into(),
        title: format!("Referendum {id}"),
        description: "Advisory".into(),
        questions: questions(),
        opens_at: now - 60_000,
        closes_at: now + 3_600_000,
        electorate_hash,
        trustees: TrusteeInfo::numbered(trustees.keys.iter()),
        threshold: k,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition,
        participation: Default::default(),
    }
}

/// A yes/no question and a choose-one question (no blank) with three options.
pub fn questions() -> Vec<Question> {
    vec![
        Question {
            id: "q1".into(),
            text: "Yes or no?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        },
        Question {
            id: "q2".into(),
            text: "Pick one".into(),
            options: vec!["a".into(), "b".into(), "c".into()],
            kind: QuestionKind::ChooseOne {
                blank_allowed: false,
            },
        },
    ]
}

/// The trustees of the standing panel [`acts::panel`] (3 of them, k = 2), drawn once per
/// test process.
pub fn panel_trustees() -> &'static Trustees {
    static T: OnceLock<Trustees> = OnceLock::new();
    T.get_or_init(|| Trustees::new(3))
}

/// A manifest with one yes/no question only (the fast path).
pub fn yes_no_manifest(id: &str, electorate_hash: Hash32, trustees: &Trustees, k: u32) -> Manifest {
    let mut m = manifest(id, electorate_hash, trustees, k, None);
    m.questions.truncate(1);
    m
}

pub fn ceremony_message(
    m: &Manifest,
    trustees: &Trustees,
    i: u32,
    body: CeremonyBody,
) -> CeremonyMessage {
    let mh = m.canonical_hash();
    CeremonyMessage::sign(
        m,
        &mh,
        i,
        &trustees.keys[(i - 1) as usize],
        body,
        &mut OsRng,
    )
}

pub fn post_ceremony(c: &Client, m: &Manifest, msg: &CeremonyMessage) -> Resp {
    let r = c.post(
        &format!("/api/v1/referendums/{}/ceremony", m.referendum_id),
        msg,
    );
    r.expect(201);
    r
}

/// Commit, reveal and share through the API (honest trustees); the ceremony is then in
/// its confirm phase. Returns the revealed dealers.
pub fn ceremony_until_confirm(
    c: &Client,
    m: &Manifest,
    trustees: &Trustees,
) -> Vec<RevealedDealer> {
    let mh = m.canonical_hash();
    let n = m.trustees.len() as u32;
    let params = CeremonyParams::new(n, m.threshold).unwrap();
    let path = format!("/api/v1/referendums/{}/ceremony", m.referendum_id);
    let dealers: Vec<Dealer> = (1..=n)
        .map(|i| Dealer::new(&params, TrusteeIndex::new(i).unwrap(), &mh, &mut OsRng).unwrap())
        .collect();
    for (i, d) in dealers.iter().enumerate() {
        let i = i as u32 + 1;
        let key = trustees.keys[(i - 1) as usize].announce(
            TrusteeIndex::new(i).unwrap(),
            &mh,
            &mut OsRng,
        );
        let msg = ceremony_message(
            m,
            trustees,
            i,
            CeremonyBody::Commit {
                key,
                commitment: d.commitment(),
            },
        );
        post_ceremony(c, m, &msg);
    }
    let view = c.get(&path).json();
    assert_eq!(view["phase"], "reveal");
    let posted: Vec<CeremonyCommitment> =
        serde_json::from_value(view["commitments"].clone()).unwrap();
    let revealed: Vec<RevealedDealer> = dealers
        .into_iter()
        .map(|d| d.reveal(&posted).unwrap())
        .collect();
    for (i, r) in revealed.iter().enumerate() {
        let msg = ceremony_message(
            m,
            trustees,
            i as u32 + 1,
            CeremonyBody::Reveal {
                coefficients: r.commitments().clone(),
            },
        );
        post_ceremony(c, m, &msg);
    }
    let view = c.get(&path).json();
    assert_eq!(view["phase"], "shares");
    let announced: Vec<TrusteePublicKey> = serde_json::from_value(view["keys"].clone()).unwrap();
    for (i, r) in revealed.iter().enumerate() {
        let shares = r.encrypt_shares(&announced, &mut OsRng).unwrap();
        let msg = ceremony_message(m, trustees, i as u32 + 1, CeremonyBody::Shares { shares });
        post_ceremony(c, m, &msg);
    }
    let view = c.get(&path).json();
    assert_eq!(view["phase"], "confirm");
    revealed
}

/// Every trustee checks the shares addressed to it (as published by the server) and
/// confirms; returns the key shares.
pub fn confirm_all(
    c: &Client,
    m: &Manifest,
    trustees: &Trustees,
    revealed: &[RevealedDealer],
) -> Vec<KeyShare> {
    let mh = m.canonical_hash();
    let params = CeremonyParams::new(m.trustees.len() as u32, m.threshold).unwrap();
    let view = c
        .get(&format!("/api/v1/referendums/{}/ceremony", m.referendum_id))
        .json();
    let reveals: Vec<CoefficientCommitments> =
        serde_json::from_value(view["reveals"].clone()).unwrap();
    let all_shares: Vec<EncryptedShare> = serde_json::from_value(view["shares"].clone()).unwrap();
    let mut key_shares = Vec::new();
    for (l, r) in revealed.iter().enumerate() {
        let li = TrusteeIndex::new(l as u32 + 1).unwrap();
        let mut got = vec![(li, r.own_share())];
        for es in all_shares.iter().filter(|s| s.recipient == li) {
            let dealer_reveal = reveals.iter().find(|c| c.dealer == es.dealer).unwrap();
            match receive_share(&mh, li, &trustees.keys[l], dealer_reveal, es).unwrap() {
                ShareVerdict::Accepted(s) => got.push((es.dealer, s)),
                ShareVerdict::Complaint(_) => panic!("honest share refused"),
            }
        }
        key_shares.push(KeyShare::combine(&params, li, &got).unwrap());
        let msg = ceremony_message(m, trustees, l as u32 + 1, CeremonyBody::Confirm);
        post_ceremony(c, m, &msg);
    }
    key_shares
}

/// Run the whole key ceremony through the API; returns each trustee's key share.
pub fn run_ceremony(c: &Client, m: &Manifest, trustees: &Trustees) -> Vec<KeyShare> {
    let revealed = ceremony_until_confirm(c, m, trustees);
    let key_shares = confirm_all(c, m, trustees, &revealed);
    let v = c
        .get(&format!("/api/v1/referendums/{}", m.referendum_id))
        .json();
    // The ceremony completed; the board's scheduler may already have opened it (when
    // opens_at has passed), so "open" is as good as "ready" here.
    assert!(v["state"] == "ready" || v["state"] == "open", "{v}");
    key_shares
}

pub fn election_key(c: &Client, id: &str) -> ElectionPublicKey {
    let v = c.get(&format!("/api/v1/referendums/{id}")).json();
    serde_json::from_value(v["election_key"].clone()).unwrap()
}

/// Create, run the ceremony, open: returns the key shares and the election key.
pub fn open_referendum(
    c: &Client,
    m: &Manifest,
    trustees: &Trustees,
) -> (Vec<KeyShare>, ElectionPublicKey) {
    c.act(acts::created(m)).expect(201);
    let shares = run_ceremony(c, m, trustees);
    open_now(c, &m.referendum_id);
    let key = election_key(c, &m.referendum_id);
    (shares, key)
}

/// Open the ready referendum `id` (its opens_at has come): `POST …/open`, or the
/// server's schedule got there first.
pub fn open_now(c: &Client, id: &str) {
    let r = c.post_empty(&format!("/api/v1/referendums/{id}/open"));
    assert!(r.status == 200 || r.status == 409, "open: {}", r.body);
    wait_state(c, id, &["open", "closed", "tallied", "published"]);
}

/// Wait (a few seconds at most) until referendum `id` is in one of `states`.
pub fn wait_state(c: &Client, id: &str, states: &[&str]) -> Value {
    for _ in 0..200 {
        let v = c.get(&format!("/api/v1/referendums/{id}")).json();
        if states.iter().any(|s| v["state"] == *s) {
            return v;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("referendum {id} never reached {states:?}");
}

/// Move the server's clock to the manifest's closes_at and close and tally: `POST
/// …/close` and `…/tally`, or the server's schedule got there first. Returns the tally.
pub fn close_and_tally(c: &Client, m: &Manifest) -> vox_protocol::board::EncryptedTally {
    let id = &m.referendum_id;
    c.advance_to(m.closes_at);
    // The schedule may get there first: a 409, or, with witnesses, a 503 saying the board
    // grew (by the schedule's own entry) while the witnesses cosigned; either way the
    // referendum must then reach `tallied` by itself.
    let raced = |status: u16, body: &str| {
        status == 409 || (status == 503 && body.contains("while its witnesses cosigned"))
    };
    let r = c.post_empty(&format!("/api/v1/referendums/{id}/close"));
    assert!(
        r.status == 200 || raced(r.status, &r.body),
        "close: {}",
        r.body
    );
    let t = c.post_empty(&format!("/api/v1/referendums/{id}/tally"));
    assert!(
        t.status == 201 || raced(t.status, &t.body),
        "tally: {}",
        t.body
    );
    wait_state(c, id, &["tallied", "published"]);
    let t = c.get(&format!("/api/v1/referendums/{id}/tally"));
    t.expect(200);
    t.parse()
}

/// Choices for the two-question manifest: yes/no, then option `pick`.
pub fn choices(m: &Manifest, yes: bool, pick: usize) -> Vec<Vec<u64>> {
    let mut out = vec![if yes { vec![1, 0] } else { vec![0, 1] }];
    if m.questions.len() > 1 {
        let mut c = vec![0, 0, 0];
        c[pick] = 1;
        out.push(c);
    }
    out
}

/// A credential's first ballot (`previous` = None).
pub fn encrypt(
    m: &Manifest,
    key: ElectionPublicKey,
    cred: &Credential,
    choices: &[Vec<u64>],
) -> (Ballot, BallotSecrets) {
    encrypt_after(m, key, cred, choices, None)
}

/// A ballot that extends the credential's ballot `previous` (a re-vote).
pub fn encrypt_after(
    m: &Manifest,
    key: ElectionPublicKey,
    cred: &Credential,
    choices: &[Vec<u64>],
    previous: Option<vox_crypto::Hash32>,
) -> (Ballot, BallotSecrets) {
    let ctx = BallotContext::new(m, key);
    encrypt_ballot(&ctx, cred, &choices.to_vec(), previous, &mut OsRng).unwrap()
}

pub fn cast(c: &Client, m: &Manifest, ballot: &Ballot) -> Resp {
    c.post(
        &format!("/api/v1/referendums/{}/ballots", m.referendum_id),
        ballot,
    )
}

/// Close and tally (at the manifest's closes_at, the server's clock moved there), send
/// shares from `which` trustees (0-based), publish; returns the result.
pub fn close_and_publish(
    c: &Client,
    m: &Manifest,
    trustees: &Trustees,
    key_shares: &[KeyShare],
    which: &[usize],
) -> Value {
    let id = &m.referendum_id;
    // The tests' manifests close an hour after creation: the server's clock moves there.
    let tally = close_and_tally(c, m);
    let mh = m.canonical_hash();
    for &i in which {
        let share = DecryptionShare::create(&key_shares[i], &mh, &tally.ciphertexts, &mut OsRng);
        let msg = DecryptionShareMessage::sign(m, &mh, &trustees.keys[i], share, &mut OsRng);
        c.post(&format!("/api/v1/referendums/{id}/decryption-shares"), &msg)
            .expect(201);
    }
    let r = c.post_empty(&format!("/api/v1/referendums/{id}/publish"));
    let raced =
        r.status == 409 || (r.status == 503 && r.body.contains("while its witnesses cosigned"));
    assert!(r.status == 201 || raced, "publish: {}", r.body);
    wait_state(c, id, &["published"]);
    let r = c.get(&format!("/api/v1/referendums/{id}/result"));
    r.expect(200);
    r.json()
}

/// Download the whole log, recompute every leaf hash from the parsed entries, and check
/// the root against the latest signed tree head (signature included).
pub fn check_log(c: &Client) -> Vec<BoardEntry> {
    let sth = c.sth();
    sth.verify(&c.board_key()).unwrap();
    let n = sth.head.tree_size;
    let mut entries = Vec::new();
    let mut start = 0;
    while start < n {
        let page = c
            .get(&format!("/api/v1/board/entries?start={start}&end={n}"))
            .json();
        let page = page.as_array().unwrap();
        assert!(!page.is_empty());
        for item in page {
            assert_eq!(
                item["index"].as_u64().unwrap(),
                start + (entries.len() as u64 - start)
            );
            let e: BoardEntry = serde_json::from_value(item["entry"].clone()).unwrap();
            entries.push(e);
        }
        start = entries.len() as u64;
    }
    assert_eq!(entries.len() as u64, n);
    let leaves: Vec<_> = entries.iter().map(BoardEntry::leaf_hash).collect();
    assert_eq!(
        root_from_leaf_hashes(&leaves),
        sth.head.root_hash,
        "exported log matches the STH"
    );
    // Timestamps never go back.
    assert!(entries
        .windows(2)
        .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
    entries
}

/// Sum of ciphertexts, for tests that recompute the tally.
pub fn sum(cts: &[Ciphertext]) -> Ciphertext {
    Ciphertext::sum(cts)
}
