//! Crash safety (issue "Reliability"): kill the server at random moments and at named
//! failpoints in the cast path (`vox-server` feature `failpoints`), and after every
//! restart check that every receipt a client got is still valid and included in the
//! current board, that the log only grew (consistency with every tree head seen), and
//! that retried ballots (same Idempotency-Key) are accepted at most once.
//!
//! The child server is this test binary re-executed (`crash_child_server` with
//! `VOX_CRASH_CHILD=1`), so it can be aborted or SIGKILLed without touching the test.
//! SQLite only; a PostgreSQL variant would point `VOX_CRASH_DB` at a fresh
//! `postgres://` database (left for later). `VOX_CRASH_ROUNDS` raises the rounds (60 by
//! default), `VOX_CRASH_SEED` replays a run, `VOX_CRASH_SECS` bounds the loop (40 s).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use vox_crypto::credential::Credential;
use vox_crypto::elgamal::ElectionPublicKey;
use vox_crypto::threshold::{
    CeremonyCommitment, CeremonyParams, Dealer, RevealedDealer, TrusteeIndex, TrusteeKeys,
};
use vox_crypto::Hash32;
use vox_protocol::ballot::{encrypt_ballot, BallotContext};
use vox_protocol::board::{BoardEntry, BoardPublicKey, Payload, Receipt, SignedTreeHead};
use vox_protocol::electorate::{Electorate, ElectorateEntry};
use vox_protocol::encoding::Hashable;
use vox_protocol::manifest::{Manifest, Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
use vox_protocol::merkle::{verify_consistency, verify_inclusion, NodeHash};
use vox_protocol::record::{self, RecordHeader, ENTRIES_FILE, HEADER_FILE, TREE_HEADS_FILE};
use vox_server::ServerConfig;
use vox_verifier::dir::DirSource;
use vox_verifier::{verify_record, NoProgress, Options, Status};

const FAILPOINTS: [&str; 5] = [
    "after-proofs",
    "after-insert",
    "after-append",
    "before-commit",
    "after-commit",
];
const VOTERS: usize = 40;
const REVOTES: usize = 30;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

// ---- the child --------------------------------------------------------------------

/// The server process of [`crash_safety_under_kills_and_failpoints`]; a no-op unless
/// `VOX_CRASH_CHILD=1`.
#[test]
fn crash_child_server() {
    if std::env::var("VOX_CRASH_CHILD").as_deref() != Ok("1") {
        return;
    }
    let url = std::env::var("VOX_CRASH_DB").unwrap();
    let addr_file = PathBuf::from(std::env::var("VOX_CRASH_ADDR_FILE").unwrap());
    let mut cfg = ServerConfig::new(Some(url), "127.0.0.1:0".parse().unwrap());
    cfg.rate_limit_per_credential = None;
    cfg.rate_limit_per_address = None;
    cfg.web_dir = None;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(vox_server::start(cfg)).unwrap();
    let tmp = addr_file.with_extension("tmp");
    std::fs::write(&tmp, server.local_addr().to_string()).unwrap();
    std::fs::rename(&tmp, &addr_file).unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// A running child; killed (SIGKILL) and reaped on drop.
struct ChildGuard {
    child: Child,
    base: String,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_child(url: &str, dir: &Path, failpoint: Option<&str>) -> ChildGuard {
    let addr_file = dir.join("child.addr");
    let _ = std::fs::remove_file(&addr_file);
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "crash_child_server",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("VOX_CRASH_CHILD", "1")
    .env("VOX_CRASH_DB", url)
    .env("VOX_CRASH_ADDR_FILE", &addr_file)
    .env_remove("VOX_FAILPOINT")
    .env_remove("RUST_LOG")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(fp) = failpoint {
        cmd.env("VOX_FAILPOINT", fp);
    }
    let mut guard = ChildGuard {
        child: cmd.spawn().unwrap(),
        base: String::new(),
    };
    let t0 = Instant::now();
    loop {
        if let Ok(a) = std::fs::read_to_string(&addr_file) {
            assert!(a.starts_with("127.0.0.1:"), "{a}");
            guard.base = format!("http://{a}");
            return guard;
        }
        if let Some(st) = guard.child.try_wait().unwrap() {
            panic!("the child server exited at start: {st}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the child did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---- HTTP ---------------------------------------------------------------------------

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(timeout).build()
}

/// `None` when the connection failed (no answer).
fn send(
    a: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Option<(u16, String)> {
    let mut req = a.request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let res = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    let r = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(_) => return None,
    };
    let status = r.status();
    r.into_string().ok().map(|b| (status, b))
}

struct Api {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Api {
    fn get(&self, path: &str) -> Value {
        let (st, body) = send(
            &self.agent,
            "GET",
            &format!("{}{path}", self.base),
            None,
            &[],
        )
        .unwrap_or_else(|| panic!("GET {path}: no answer"));
        assert_eq!(st, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }
    fn post<T: serde::Serialize>(&self, path: &str, body: &T, auth: bool, want: u16) {
        let b = serde_json::to_string(body).unwrap();
        let bearer = format!("Bearer {}", self.token);
        let h: Vec<(&str, &str)> = if auth {
            vec![("Authorization", bearer.as_str())]
        } else {
            vec![]
        };
        let (st, body) = send(
            &self.agent,
            "POST",
            &format!("{}{path}", self.base),
            Some(&b),
            &h,
        )
        .unwrap();
        assert_eq!(st, want, "POST {path}: {body}");
    }
}

// ---- setup (in process, then shut down) --------------------------------------------

fn manifest(electorate_hash: Hash32, trustees: &[TrusteeKeys]) -> Manifest {
    let now = vox_server::now_ms();
    Manifest {
        version: MANIFEST_VERSION,
        referendum_id: "r".into(),
        title: "Referendum r".into(),
        description: "Crash test".into(),
        questions: vec![Question {
            id: "q1".into(),
            text: "Yes or no?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        }],
        opens_at: now - 60_000,
        closes_at: now + 3_600_000,
        electorate_hash,
        trustees: TrusteeInfo::numbered(trustees.iter().map(TrusteeKeys::public)),
        threshold: 2,
        source_petition: None,
    }
}

fn run_ceremony(c: &Api, m: &Manifest, trustees: &[TrusteeKeys]) {
    use vox_protocol::ceremony::{CeremonyBody, CeremonyMessage};
    let mh = m.canonical_hash();
    let params = CeremonyParams::new(3, 2).unwrap();
    let path = "/api/v1/referendums/r/ceremony";
    let post = |i: u32, body: CeremonyBody| {
        let msg = CeremonyMessage::sign(m, &mh, i, &trustees[(i - 1) as usize], body, &mut OsRng);
        c.post(path, &msg, false, 201);
    };
    let dealers: Vec<Dealer> = (1..=3)
        .map(|i| Dealer::new(&params, TrusteeIndex::new(i).unwrap(), &mh, &mut OsRng).unwrap())
        .collect();
    for (i, d) in dealers.iter().enumerate() {
        let i = i as u32 + 1;
        let key =
            trustees[(i - 1) as usize].announce(TrusteeIndex::new(i).unwrap(), &mh, &mut OsRng);
        post(
            i,
            CeremonyBody::Commit {
                key,
                commitment: d.commitment(),
            },
        );
    }
    let posted: Vec<CeremonyCommitment> =
        serde_json::from_value(c.get(path)["commitments"].clone()).unwrap();
    let revealed: Vec<RevealedDealer> = dealers
        .into_iter()
        .map(|d| d.reveal(&posted).unwrap())
        .collect();
    for (i, r) in revealed.iter().enumerate() {
        post(
            i as u32 + 1,
            CeremonyBody::Reveal {
                coefficients: r.commitments().clone(),
            },
        );
    }
    let announced: Vec<vox_crypto::threshold::TrusteePublicKey> =
        serde_json::from_value(c.get(path)["keys"].clone()).unwrap();
    for (i, r) in revealed.iter().enumerate() {
        let shares = r.encrypt_shares(&announced, &mut OsRng).unwrap();
        post(i as u32 + 1, CeremonyBody::Shares { shares });
    }
    for i in 1..=3 {
        post(i, CeremonyBody::Confirm);
    }
    assert_eq!(c.get("/api/v1/referendums/r")["state"], "ready");
}

/// A ballot to cast (a first vote or a re-vote), and what the clients got for it.
struct Cast {
    body: String,
    key: String,
    hash: Hash32,
    receipt: Option<Receipt>,
    /// Requests that got no answer (connection cut).
    unanswered: u32,
}

/// Register the electorate, create, key and open "r", encrypt the ballots; returns the
/// board key and the ballots.
fn setup(url: &str) -> (BoardPublicKey, Vec<Cast>) {
    let mut cfg = ServerConfig::new(Some(url.into()), "127.0.0.1:0".parse().unwrap());
    cfg.web_dir = None;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(vox_server::start(cfg)).unwrap();
    let board = server.board_public_key();
    let c = Api {
        base: format!("http://{}", server.local_addr()),
        token: server.authority_token().unwrap(),
        agent: agent(Duration::from_secs(60)),
    };
    let creds: Vec<Credential> = (0..VOTERS)
        .map(|_| Credential::generate(&mut OsRng))
        .collect();
    let electorate = Electorate {
        id: "e".into(),
        name: "Electorate e".into(),
        entries: creds
            .iter()
            .map(|k| ElectorateEntry {
                credential: k.public_key(),
                region: None,
            })
            .collect(),
    };
    c.post("/api/v1/electorates", &electorate, true, 201);
    let trustees: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut OsRng)).collect();
    let m = manifest(electorate.canonical_hash(), &trustees);
    c.post("/api/v1/referendums", &m, true, 201);
    run_ceremony(&c, &m, &trustees);
    c.post("/api/v1/referendums/r/open", &Value::Null, true, 200);
    let key: ElectionPublicKey =
        serde_json::from_value(c.get("/api/v1/referendums/r")["election_key"].clone()).unwrap();
    rt.block_on(server.shutdown()).unwrap();

    let ctx = BallotContext::new(&m, key);
    let casts = (0..VOTERS + REVOTES)
        .map(|i| {
            let choice = if i % 2 == 0 { vec![1, 0] } else { vec![0, 1] };
            let (b, _) =
                encrypt_ballot(&ctx, &creds[i % VOTERS], &vec![choice], &mut OsRng).unwrap();
            Cast {
                body: serde_json::to_string(&b).unwrap(),
                key: format!("crash-{i}"),
                hash: b.hash(),
                receipt: None,
                unanswered: 0,
            }
        })
        .collect();
    (board, casts)
}

// ---- checks -------------------------------------------------------------------------

/// Every seen tree head, by size (two different roots for one size is a fork).
#[derive(Default)]
struct Heads(BTreeMap<u64, NodeHash>);

impl Heads {
    fn see(&mut self, sth: &SignedTreeHead) {
        if let Some(r) = self.0.insert(sth.head.tree_size, sth.head.root_hash) {
            assert_eq!(
                r, sth.head.root_hash,
                "two signed roots for tree size {}",
                sth.head.tree_size
            );
        }
    }
}

fn nodes(v: &Value) -> Vec<NodeHash> {
    serde_json::from_value(v.clone()).unwrap()
}

/// Every receipt verifies and is included in the current board at its index, and the
/// current tree head is consistent with every head seen. Returns receipts checked.
fn check(api: &Api, board: &BoardPublicKey, casts: &[Cast], heads: &mut Heads) -> u64 {
    let sth: SignedTreeHead = serde_json::from_value(api.get("/api/v1/board/tree-head")).unwrap();
    sth.verify(board).unwrap();
    let (size, root) = (sth.head.tree_size, sth.head.root_hash);
    let mut checked = 0;
    let mut lost = Vec::new();
    for c in casts {
        let Some(r) = &c.receipt else { continue };
        r.verify(board).unwrap();
        heads.see(&r.tree_head);
        if r.leaf_index >= size {
            lost.push(format!(
                "{}: leaf {} beyond the board's size {size}",
                c.key, r.leaf_index
            ));
            continue;
        }
        let v = api.get(&format!(
            "/api/v1/board/inclusion?index={}&tree_size={size}",
            r.leaf_index
        ));
        let leaf: NodeHash = serde_json::from_value(v["leaf_hash"].clone()).unwrap();
        if leaf != r.leaf_hash {
            lost.push(format!(
                "{}: leaf {} now holds another entry",
                c.key, r.leaf_index
            ));
            continue;
        }
        verify_inclusion(&leaf, r.leaf_index, size, &nodes(&v["proof"]), &root).unwrap();
        checked += 1;
    }
    assert!(lost.is_empty(), "LOST RECEIPTS: {lost:#?}");
    heads.see(&sth);
    for (&old, old_root) in heads.0.range(..size) {
        let v = api.get(&format!(
            "/api/v1/board/consistency?first={old}&second={size}"
        ));
        verify_consistency(old, size, old_root, &root, &nodes(&v["proof"]))
            .unwrap_or_else(|e| panic!("head {old} is not consistent with {size}: {e}"));
    }
    assert!(
        heads.0.range(size + 1..).next().is_none(),
        "the board shrank below a tree head a client saw: now {size}, seen {:?}",
        heads.0.keys().last()
    );
    checked
}

/// Record a cast answer; a receipt already held must come back unchanged.
fn record_answer(c: &mut Cast, board: &BoardPublicKey, answer: Option<(u16, String)>) -> bool {
    let Some((status, body)) = answer else {
        c.unanswered += 1;
        return false;
    };
    match status {
        200 | 201 => {
            let r: Receipt = serde_json::from_str(&body).unwrap();
            r.verify(board).unwrap();
            assert_eq!(r.ballot_hash, c.hash, "a receipt for another ballot");
            if let Some(old) = &c.receipt {
                assert_eq!(old, &r, "{}: a retry got another receipt", c.key);
            }
            c.receipt = Some(r);
            true
        }
        // The server was going down.
        503 => {
            c.unanswered += 1;
            false
        }
        _ => panic!("{}: unexpected answer {status}: {body}", c.key),
    }
}

fn cast_url(base: &str) -> String {
    format!("{base}/api/v1/referendums/r/ballots")
}

// ---- export and verify --------------------------------------------------------------

fn export_and_verify(api: &Api, out: &Path) -> HashMap<Hash32, u32> {
    let header: RecordHeader =
        serde_json::from_value(api.get("/api/v1/record?referendum=r")).unwrap();
    let size = header.tree_size;
    let mut w = std::io::BufWriter::new(std::fs::File::create(out.join(ENTRIES_FILE)).unwrap());
    let mut cast: HashMap<Hash32, u32> = HashMap::new();
    let mut next = 0;
    while next < size {
        let page = api.get(&format!("/api/v1/board/entries?start={next}&end={size}"));
        let page = page.as_array().unwrap();
        assert!(!page.is_empty());
        for e in page {
            assert_eq!(e["index"].as_u64(), Some(next));
            let entry: BoardEntry = serde_json::from_value(e["entry"].clone()).unwrap();
            if let Payload::BallotCast { ballot } = &entry.payload {
                *cast.entry(ballot.hash()).or_default() += 1;
            }
            record::write_line(&mut w, &entry).unwrap();
            next += 1;
        }
    }
    w.flush().unwrap();
    drop(w);
    let mut heads: Vec<SignedTreeHead> = Vec::new();
    let mut since: Option<u64> = None;
    loop {
        let path = match since {
            Some(s) => format!("/api/v1/board/tree-heads?since={s}"),
            None => "/api/v1/board/tree-heads".into(),
        };
        let page: Vec<SignedTreeHead> = serde_json::from_value(api.get(&path)).unwrap();
        let last = heads.last().map(|h| h.head.tree_size);
        let fresh: Vec<SignedTreeHead> = page
            .into_iter()
            .filter(|h| last.is_none_or(|l| h.head.tree_size > l))
            .collect();
        let Some(max) = fresh.iter().map(|h| h.head.tree_size).max() else {
            break;
        };
        heads.extend(fresh.into_iter().filter(|h| h.head.tree_size <= size));
        heads.sort_by_key(|h| h.head.tree_size);
        heads.dedup_by_key(|h| h.head.tree_size);
        if max >= size {
            break;
        }
        since = Some(max);
    }
    let mut w = std::fs::File::create(out.join(TREE_HEADS_FILE)).unwrap();
    for h in &heads {
        record::write_line(&mut w, h).unwrap();
    }
    std::fs::write(
        out.join(HEADER_FILE),
        serde_json::to_string_pretty(&header).unwrap(),
    )
    .unwrap();
    let report = verify_record(&DirSource::new(out), Options::default(), &mut NoProgress).unwrap();
    let failed: Vec<_> = report
        .steps
        .iter()
        .filter(|s| s.status == Status::Fail)
        .collect();
    assert!(failed.is_empty(), "{}", report.to_human());
    cast
}

// ---- the test -----------------------------------------------------------------------

#[test]
fn crash_safety_under_kills_and_failpoints() {
    if std::env::var("VOX_CRASH_CHILD").is_ok() {
        return;
    }
    let t0 = Instant::now();
    let rounds = env_u64("VOX_CRASH_ROUNDS").unwrap_or(60);
    let budget = Duration::from_secs(env_u64("VOX_CRASH_SECS").unwrap_or(40));
    let seed = env_u64("VOX_CRASH_SEED").unwrap_or_else(|| OsRng.gen());
    println!("crash test: seed {seed} (VOX_CRASH_SEED), {rounds} rounds");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vox.db").display());
    let (board, mut casts) = setup(&url);
    let setup_time = t0.elapsed();

    let mut heads = Heads::default();
    let mut kills = 0u32;
    let mut aborts: BTreeMap<&str, u32> = BTreeMap::new();
    let mut armed_not_hit = 0u32;
    let mut receipts_checked = 0u64;
    let mut requests = 0u32;
    let mut done_rounds = 0;
    let loop_start = Instant::now();
    for _ in 0..rounds {
        if loop_start.elapsed() > budget {
            break;
        }
        done_rounds += 1;
        // `after-proofs` is hit per ballot, the others per batch (a round is often one).
        let fp = if rng.gen_bool(0.6) {
            let name = FAILPOINTS[rng.gen_range(0..FAILPOINTS.len())];
            let n = if name == "after-proofs" {
                rng.gen_range(1..=3u32)
            } else if rng.gen_bool(0.8) {
                1
            } else {
                2
            };
            Some((name, n))
        } else {
            None
        };
        let spec = fp.map(|(n, k)| format!("{n}:{k}"));
        let mut child = spawn_child(&url, dir.path(), spec.as_deref());
        let api = Api {
            base: child.base.clone(),
            token: String::new(),
            agent: agent(Duration::from_secs(10)),
        };
        receipts_checked += check(&api, &board, &casts, &mut heads);

        // Cast a few ballots concurrently: mostly ones without a receipt (first tries and
        // retries with the same key), sometimes one that already has one.
        let mut pick: Vec<usize> = Vec::new();
        let open: Vec<usize> = (0..casts.len())
            .filter(|&i| casts[i].receipt.is_none())
            .collect();
        for _ in 0..rng.gen_range(2..=6) {
            let i = if !open.is_empty() && rng.gen_bool(0.85) {
                open[rng.gen_range(0..open.len())]
            } else {
                rng.gen_range(0..casts.len())
            };
            if !pick.contains(&i) {
                pick.push(i);
            }
        }
        let url_cast = cast_url(&child.base);
        let threads: Vec<_> = pick
            .iter()
            .map(|&i| {
                let (body, key, u) = (
                    casts[i].body.clone(),
                    casts[i].key.clone(),
                    url_cast.clone(),
                );
                std::thread::spawn(move || {
                    let a = agent(Duration::from_secs(10));
                    send(&a, "POST", &u, Some(&body), &[("Idempotency-Key", &key)])
                })
            })
            .collect();
        requests += pick.len() as u32;
        match fp {
            Some((name, _)) => {
                // Wait for the abort; kill if the failpoint was not reached.
                let until = Instant::now() + Duration::from_millis(800);
                loop {
                    if let Some(st) = child.child.try_wait().unwrap() {
                        assert!(!st.success(), "the child exited cleanly");
                        *aborts.entry(name).or_default() += 1;
                        break;
                    }
                    if Instant::now() > until {
                        armed_not_hit += 1;
                        kills += 1;
                        child.child.kill().unwrap();
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            None => {
                std::thread::sleep(Duration::from_millis(rng.gen_range(0..60)));
                kills += 1;
                child.child.kill().unwrap();
            }
        }
        let _ = child.child.wait();
        for (t, &i) in threads.into_iter().zip(&pick) {
            let answer = t.join().unwrap();
            record_answer(&mut casts[i], &board, answer);
        }
        drop(child);
    }

    // Last restart: every ballot (re)sent with its key until it has a receipt.
    let child = spawn_child(&url, dir.path(), None);
    let api = Api {
        base: child.base.clone(),
        token: String::new(),
        agent: agent(Duration::from_secs(30)),
    };
    receipts_checked += check(&api, &board, &casts, &mut heads);
    let url_cast = cast_url(&child.base);
    for c in casts.iter_mut() {
        let answer = send(
            &api.agent,
            "POST",
            &url_cast,
            Some(&c.body),
            &[("Idempotency-Key", &c.key)],
        );
        assert!(record_answer(c, &board, answer), "{}: no receipt", c.key);
    }
    receipts_checked += check(&api, &board, &casts, &mut heads);

    let out = tempfile::tempdir().unwrap();
    let in_log = export_and_verify(&api, out.path());
    for c in &casts {
        assert_eq!(
            in_log.get(&c.hash).copied(),
            Some(1),
            "{}: ballot in the log {:?} times",
            c.key,
            in_log.get(&c.hash)
        );
    }
    assert_eq!(in_log.len(), casts.len());
    drop(child);

    let unanswered: u32 = casts.iter().map(|c| c.unanswered).sum();
    println!(
        "crash test: {done_rounds} rounds in {:.1?} (setup {:.1?}): {kills} SIGKILLs \
         ({armed_not_hit} with an unreached failpoint), failpoint aborts {aborts:?}, \
         {requests} casts sent, {unanswered} unanswered, {} ballots, \
         {receipts_checked} receipt checks, tree heads seen {}, lost = 0",
        t0.elapsed(),
        setup_time,
        casts.len(),
        heads.0.len(),
    );
    assert!(
        rounds < 20 || aborts.len() >= 3,
        "too few failpoints reached: {aborts:?}"
    );
}
