//! Crash safety (issue 7, "Crash safety"): a real `vox serve` child process, on SQLite
//! and on PostgreSQL, is killed with SIGKILL at random moments or aborted at named
//! failpoints while clients cast ballots, sign a petition and publish Benaloh audits
//! concurrently, hundreds of times in the long runs (RELIABILITY.md). The three go
//! through one group-commit writer, so a round's requests often share a transaction: the
//! kills and failpoints hit mixed batches (the summary line counts the tree heads seen
//! in both a receipt and a signature answer: batches known to have been mixed). The `vox` binary `cargo test` builds has
//! vox-server's `failpoints` feature (this package's dev-dependency turns it on; normal
//! builds do not have it); `VOX_FAILPOINT=NAME:N` makes it abort on the N-th hit of
//! `after-proofs`, `after-insert`, `after-append`, `before-commit` or `after-commit`.
//!
//! After every kill, before the restart, the database is read directly (no writes) by
//! `vox_server::integrity::check` at full depth: no ballot without its log leaf or the
//! reverse, head, entries, tree nodes and every signed tree head agree, every stored
//! Idempotency-Key answer points at a committed entry. After every restart:
//! - every receipt and signature answer a client ever got verifies (board signature,
//!   inclusion proof against its own signed tree head) and its tree head is consistent
//!   with the current one (consistency proofs from the server: every head first seen
//!   since the last check is checked against the current head directly, older ones
//!   through the previous current head, the prefix relation being transitive) — so its
//!   leaf is still at its index; and the server's own inclusion proof is fetched and
//!   verified for every answer obtained in the last round and a random sample of older
//!   ones (all of them after the last restart);
//! - a signature answer is first checked against the entry the restarted server holds
//!   at its index (that signature, its leaf hash in the answer's tree head); an audit
//!   answer (a leaf index only) likewise (that opened ballot at that index);
//! - a retry with the same Idempotency-Key returns exactly the first answer.
//!
//! At the end every ballot, signature and audit is re-sent with its key until answered,
//! the exported record must pass the verifier, and every ballot, signature and audit
//! must be in the log exactly once.
//!
//! `VOX_CRASH_ROUNDS` (200), `VOX_CRASH_SECS` (45: the kill loop stops there),
//! `VOX_CRASH_SEED` (replays the choices), `VOX_CRASH_VOTERS` (default: twice the rounds,
//! 40 to 1,000), `VOX_CRASH_VOX` (another `vox` binary built with failpoints, e.g. a copy
//! for a long run while the shared target directory is rebuilt).
//! PostgreSQL runs when `VOX_TEST_POSTGRES_ADMIN_URL` is set (scripts/with-postgres.sh),
//! in a fresh database dropped after a passing run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use vox_crypto::threshold::TrusteeKeys;
use vox_crypto::Hash32;
use vox_protocol::ballot::{encrypt_ballot, AuditedBallot, Ballot, BallotContext};
use vox_protocol::board::{BoardEntry, BoardPublicKey, Payload, Receipt, SignedTreeHead};
use vox_protocol::manifest::{Manifest, Question, QuestionKind, TrusteeInfo, MANIFEST_VERSION};
use vox_protocol::merkle::{verify_consistency, verify_inclusion, NodeHash};
use vox_protocol::petition::{
    Moderation, Petition, PetitionProposal, PetitionSignature, SignatureAction,
};
use vox_protocol::record::{self, RecordHeader, ENTRIES_FILE, HEADER_FILE, TREE_HEADS_FILE};
use vox_protocol::roles::{ActSignature, Role};
use vox_server::integrity::{self, Depth};
use vox_verifier::dir::DirSource;
use vox_verifier::{verify_record, NoProgress, Options, Status};

const FAILPOINTS: [&str; 5] = [
    "after-proofs",
    "after-insert",
    "after-append",
    "before-commit",
    "after-commit",
];
const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;
const PETITION: &str = "p";
const REFERENDUM: &str = "r";

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

// ---- the `vox serve` child ----------------------------------------------------------

/// A running `vox serve`; SIGKILLed and reaped on drop.
struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `vox` binary: the one `cargo test` built (with failpoints), or `VOX_CRASH_VOX` (a
/// copy of it, for long runs while others build in the same target directory).
fn vox_binary() -> std::path::PathBuf {
    std::env::var_os("VOX_CRASH_VOX")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_vox").into())
}

fn tail(path: &Path, lines: usize) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Start `vox serve` on a free loopback port, with the genesis and the operator key
/// written by [`write_parties`]; wait for its "listening" line.
fn spawn_serve(url: &str, dir: &Path, failpoint: Option<&str>) -> Serve {
    let out = dir.join("serve.out");
    let log = dir.join("serve.log");
    let stdout = File::create(&out).unwrap();
    let stderr = File::options()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut cmd = Command::new(vox_binary());
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        url,
        "--rate-limit-address",
        "off",
        "--rate-limit-credential",
        "off",
        "--max-connections",
        "8",
    ])
    .env_remove("VOX_FAILPOINT")
    .env("RUST_LOG", "warn")
    .stdin(Stdio::null())
    .stdout(stdout)
    .stderr(stderr);
    cmd.arg("--genesis")
        .arg(dir.join(GENESIS_FILE))
        .arg("--operator-key")
        .arg(dir.join(OPERATOR_KEY_FILE));
    if let Some(fp) = failpoint {
        cmd.env("VOX_FAILPOINT", fp);
    }
    let mut s = Serve {
        child: cmd.spawn().unwrap(),
        base: String::new(),
    };
    let t0 = Instant::now();
    loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let addr = text
            .lines()
            .find_map(|l| l.strip_prefix("vox server listening on http://"));
        if let Some(a) = addr {
            assert!(a.starts_with("127.0.0.1:"), "{a}");
            s.base = format!("http://{a}");
            return s;
        }
        if let Some(st) = s.child.try_wait().unwrap() {
            panic!(
                "vox serve exited at start ({st}):\n{text}\n{}",
                tail(&log, 30)
            );
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "vox serve did not start:\n{}",
            tail(&log, 30)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---- HTTP ---------------------------------------------------------------------------

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(timeout).build()
}

/// `None` when there was no answer (connection refused or cut).
/// POST `body` with its Idempotency-Key from a thread of its own (the requests of a
/// round are in flight together when the server is killed).
fn post_in_thread(
    url: &str,
    body: &str,
    key: &str,
) -> std::thread::JoinHandle<Option<(u16, String)>> {
    let (url, body, key) = (url.to_owned(), body.to_owned(), key.to_owned());
    std::thread::spawn(move || {
        send(
            &agent(Duration::from_secs(10)),
            "POST",
            &url,
            Some(&body),
            &[("Idempotency-Key", &key)],
        )
    })
}

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

const GENESIS_FILE: &str = "genesis.json";
const OPERATOR_KEY_FILE: &str = "operator.key";

/// The parties' keys: the genesis and the operator's key file for `vox serve` (the other
/// roles sign their acts in this process, as their tools would).
fn write_parties(dir: &Path) {
    std::fs::write(
        dir.join(GENESIS_FILE),
        serde_json::to_string(vox_testkit::genesis()).unwrap(),
    )
    .unwrap();
    let _ = std::fs::remove_file(dir.join(OPERATOR_KEY_FILE));
    vox_cli::files::save_role_key(
        &dir.join(OPERATOR_KEY_FILE),
        Role::Operator,
        &vox_testkit::roles().operator,
    )
    .unwrap();
}

struct Api {
    base: String,
    agent: ureq::Agent,
}

impl Api {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            agent: agent(Duration::from_secs(60)),
        }
    }
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
}

// ---- setup (on the first `vox serve`) -------------------------------------------------

fn manifest(electorate_hash: Hash32, trustees: &[TrusteeKeys], open_ms: i64) -> Manifest {
    let now = vox_server::now_ms();
    Manifest {
        version: MANIFEST_VERSION,
        referendum_id: REFERENDUM.into(),
        title: "Crash test referendum".into(),
        description: "Crash test".into(),
        questions: vec![Question {
            id: "q1".into(),
            text: "Yes or no?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        }],
        opens_at: now,
        closes_at: now + open_ms,
        electorate_hash,
        trustees: TrusteeInfo::numbered(trustees),
        threshold: 2,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition: None,
        participation: Default::default(),
    }
}

/// A ballot to cast (a first vote or a re-vote) and what the clients got for it.
struct Cast {
    ballot: Ballot,
    body: String,
    key: String,
    hash: Hash32,
    receipt: Option<Receipt>,
    /// The round the receipt arrived in (its server inclusion proof is fetched next).
    fresh: bool,
    unanswered: u32,
}

/// A petition signature and what the clients got for it.
struct Sig {
    signature: PetitionSignature,
    body: String,
    key: String,
    /// The first answer, verbatim (a retry must return exactly this).
    answer: Option<Value>,
    /// Its leaf hash, once checked against the entry the server holds at its index.
    leaf_hash: Option<NodeHash>,
    fresh: bool,
    unanswered: u32,
}

/// Signature answer fields.
fn sig_fields(v: &Value) -> (u64, SignedTreeHead, Vec<NodeHash>) {
    (
        v["leaf_index"].as_u64().unwrap(),
        serde_json::from_value(v["tree_head"].clone()).unwrap(),
        serde_json::from_value(v["inclusion_proof"].clone()).unwrap(),
    )
}

/// A Benaloh audit (an opened ballot that is never cast) and what the clients got.
struct Audit {
    audited: AuditedBallot,
    body: String,
    key: String,
    /// The leaf index answered first (a retry must answer the same).
    leaf_index: Option<u64>,
    /// Checked against the entry the server holds at that index.
    matched: bool,
    unanswered: u32,
}

struct World {
    board: BoardPublicKey,
    casts: Vec<Cast>,
    sigs: Vec<Sig>,
    audits: Vec<Audit>,
    /// Credentials that signed during setup (the sponsor).
    setup_signers: usize,
}

/// On the first `vox serve` (which appends the genesis): register the electorate,
/// create, key and open the referendum, propose, sponsor and publish the petition (each
/// act signed by its role); encrypt the ballots and sign the signatures the rounds will
/// send.
fn setup(url: &str, dir: &Path, voters: usize, open_ms: i64) -> World {
    write_parties(dir);
    let serve = spawn_serve(url, dir, None);
    let c = Api::new(&serve.base);
    // The setup speaks through the shared test kit (`vox-testkit`), as every server test
    // does; the rounds below use their own client, with the timeouts and retries a
    // crashing server needs.
    let tk = vox_testkit::Client::new(serve.base.clone());
    let electorate_voters = vox_testkit::Voters::new("e", voters, |_| None);
    let electorate_hash = electorate_voters.register(&tk);
    let creds = electorate_voters.creds;
    let trustees = vox_testkit::Trustees::new(3);
    let m = manifest(electorate_hash, &trustees.keys, open_ms);
    let (_, key) = vox_testkit::open_referendum(&tk, &m, &trustees);

    // The petition: creds[0] proposes, creds[1] sponsors, the authority publishes; the
    // rounds' signers cross the response and referendum thresholds along the way.
    let signers = voters - 2;
    let petition = Petition {
        id: PETITION.into(),
        action: "Keep every acknowledged signature".into(),
        background: "Crash test".into(),
        details: String::new(),
        electorate_hash,
        sponsor_threshold: 2,
        response_threshold: (signers / 4).max(1) as u32,
        referendum_threshold: (signers / 2).max(1) as u32,
        open_for_ms: open_ms,
        response_due_ms: open_ms,
        region_min_group: 2,
        signatures: Default::default(),
    };
    tk.post(
        "/api/v1/petitions",
        &PetitionProposal::create(petition.clone(), &creds[0], &mut OsRng),
    )
    .expect(201);
    vox_testkit::sign(&tk, &petition, &creds[1], SignatureAction::Sign).expect(201);
    // The standing trustee panel (a publication needs one): the referendum the rounds'
    // signers trigger gets these trustees.
    tk.act(vox_testkit::acts::panel()).expect(201);
    // Open for the whole period (the server finds it in (now, now + open_for_ms]).
    tk.act(Payload::PetitionModerated {
        petition_id: PETITION.into(),
        moderation: Moderation::Publish {
            closes_at: vox_server::now_ms() + open_ms - 1000,
            referendum: vox_testkit::acts::terms(PETITION),
        },
        act: ActSignature::unsigned(),
    })
    .expect(200);
    assert_eq!(
        c.get(&format!("/api/v1/petitions/{PETITION}"))["stage"],
        "open"
    );
    let board = board_key(&c);
    drop(serve);

    let ctx = BallotContext::new(&m, key);
    let revotes = voters * 3 / 4;
    // A re-vote (i >= voters) names its credential's first ballot as `previous`: sent
    // before that one is on the board, it is refused (409 ballot-not-latest) and sent
    // again later, like a device would.
    let mut hashes: Vec<Hash32> = Vec::new();
    let casts = (0..voters + revotes)
        .map(|i| {
            let choice = if i % 2 == 0 { vec![1, 0] } else { vec![0, 1] };
            let previous = i.checked_sub(voters).map(|j| hashes[j]);
            let (b, _) = encrypt_ballot(
                &ctx,
                &creds[i % voters],
                &vec![choice],
                previous,
                &mut OsRng,
            )
            .unwrap();
            hashes.push(b.hash());
            Cast {
                body: serde_json::to_string(&b).unwrap(),
                key: format!("cast-{i}"),
                hash: b.hash(),
                ballot: b,
                receipt: None,
                fresh: false,
                unanswered: 0,
            }
        })
        .collect();
    let sigs = creds[2..]
        .iter()
        .enumerate()
        .map(|(i, cred)| {
            let s = PetitionSignature::create(&petition, cred, SignatureAction::Sign, &mut OsRng);
            Sig {
                body: serde_json::to_string(&s).unwrap(),
                key: format!("sign-{i}"),
                signature: s,
                answer: None,
                leaf_hash: None,
                fresh: false,
                unanswered: 0,
            }
        })
        .collect();
    // Audits: fresh encryptions by the first voters' credentials, opened, never cast.
    let audits = (0..(voters / 4).max(2))
        .map(|i| {
            let (b, secrets) = encrypt_ballot(
                &ctx,
                &creds[i % voters],
                &vec![vec![1, 0]],
                None,
                &mut OsRng,
            )
            .unwrap();
            let audited = AuditedBallot::new(b, secrets);
            Audit {
                body: serde_json::to_string(&audited).unwrap(),
                key: format!("audit-{i}"),
                audited,
                leaf_index: None,
                matched: false,
                unanswered: 0,
            }
        })
        .collect();
    World {
        board,
        casts,
        sigs,
        audits,
        setup_signers: 1,
    }
}

/// The board key, from the record header.
fn board_key(c: &Api) -> BoardPublicKey {
    let h: RecordHeader =
        serde_json::from_value(c.get(&format!("/api/v1/record?referendum={REFERENDUM}"))).unwrap();
    h.board_public_key
}

// ---- checks after a restart -----------------------------------------------------------

/// Every signed tree head seen, by size; `unchecked` ones were first seen after the last
/// current head was checked.
#[derive(Default)]
struct Heads {
    seen: BTreeMap<u64, NodeHash>,
    unchecked: BTreeSet<u64>,
    last_current: Option<u64>,
    consistency_proofs: u64,
}

impl Heads {
    fn see(&mut self, sth: &SignedTreeHead) {
        let (size, root) = (sth.head.tree_size, sth.head.root_hash);
        match self.seen.insert(size, root) {
            Some(r) => assert_eq!(r, root, "two signed roots for tree size {size}"),
            None => {
                self.unchecked.insert(size);
            }
        }
    }
}

#[derive(Default)]
struct Counts {
    receipt_checks: u64,
    server_inclusion_proofs: u64,
}

fn nodes(v: &Value) -> Vec<NodeHash> {
    serde_json::from_value(v["proof"].clone()).unwrap()
}

/// The server's inclusion proof of `index` in the tree of `size`; its leaf must be `leaf`.
fn server_inclusion(api: &Api, index: u64, size: u64, root: &NodeHash, leaf: &NodeHash) -> bool {
    let v = api.get(&format!(
        "/api/v1/board/inclusion?index={index}&tree_size={size}"
    ));
    let got: NodeHash = serde_json::from_value(v["leaf_hash"].clone()).unwrap();
    got == *leaf && verify_inclusion(leaf, index, size, &nodes(&v), root).is_ok()
}

/// Everything a client got is still on the board (see the module documentation).
/// `all_inclusions` fetches the server's inclusion proof for every answer.
fn check(
    api: &Api,
    w: &mut World,
    heads: &mut Heads,
    counts: &mut Counts,
    rng: &mut ChaCha20Rng,
    all_inclusions: bool,
) {
    let board = w.board;
    let sth: SignedTreeHead = serde_json::from_value(api.get("/api/v1/board/tree-head")).unwrap();
    sth.verify(&board).unwrap();
    let (size, root) = (sth.head.tree_size, sth.head.root_hash);
    let mut lost: Vec<String> = Vec::new();

    // Signature answers not yet matched with their entry.
    for s in w.sigs.iter_mut().filter(|s| s.answer.is_some()) {
        let (index, ans_head, proof) = sig_fields(s.answer.as_ref().unwrap());
        ans_head.verify(&board).unwrap();
        heads.see(&ans_head);
        if s.leaf_hash.is_some() {
            continue;
        }
        if index >= size {
            lost.push(format!(
                "{}: leaf {index} beyond the board's size {size}",
                s.key
            ));
            continue;
        }
        let page = api.get(&format!(
            "/api/v1/board/entries?start={index}&end={}",
            index + 1
        ));
        let entry: BoardEntry = serde_json::from_value(page[0]["entry"].clone()).unwrap();
        match &entry.payload {
            Payload::PetitionSigned { signature } if *signature == s.signature => {}
            _ => {
                lost.push(format!("{}: leaf {index} holds another entry", s.key));
                continue;
            }
        }
        let leaf = entry.leaf_hash();
        verify_inclusion(
            &leaf,
            index,
            ans_head.head.tree_size,
            &proof,
            &ans_head.head.root_hash,
        )
        .unwrap_or_else(|e| panic!("{}: the answer's inclusion proof fails: {e}", s.key));
        s.leaf_hash = Some(leaf);
    }
    // Audit answers not yet matched with their entry.
    for a in w.audits.iter_mut().filter(|a| !a.matched) {
        let Some(index) = a.leaf_index else { continue };
        if index >= size {
            lost.push(format!(
                "{}: leaf {index} beyond the board's size {size}",
                a.key
            ));
            continue;
        }
        let page = api.get(&format!(
            "/api/v1/board/entries?start={index}&end={}",
            index + 1
        ));
        let entry: BoardEntry = serde_json::from_value(page[0]["entry"].clone()).unwrap();
        match &entry.payload {
            Payload::BallotAudited { audited }
                if audited.ballot.hash() == a.audited.ballot.hash() =>
            {
                a.matched = true;
            }
            _ => lost.push(format!("{}: leaf {index} holds another entry", a.key)),
        }
    }
    // Every answer: in its own tree head, at an index the current board has.
    let mut sample: Vec<(u64, NodeHash, String)> = Vec::new();
    for c in w.casts.iter_mut() {
        let Some(r) = &c.receipt else { continue };
        r.verify(&board).unwrap();
        r.matches_ballot(&c.ballot).unwrap();
        heads.see(&r.tree_head);
        if r.leaf_index >= size {
            lost.push(format!(
                "{}: leaf {} beyond the board's size {size}",
                c.key, r.leaf_index
            ));
        }
        counts.receipt_checks += 1;
        if all_inclusions || c.fresh || rng.gen_bool(0.03) {
            sample.push((r.leaf_index, r.leaf_hash, c.key.clone()));
        }
        c.fresh = false;
    }
    for s in w.sigs.iter_mut() {
        let (Some(a), Some(leaf)) = (&s.answer, s.leaf_hash) else {
            continue;
        };
        let index = a["leaf_index"].as_u64().unwrap();
        counts.receipt_checks += 1;
        if all_inclusions || s.fresh || rng.gen_bool(0.03) {
            sample.push((index, leaf, s.key.clone()));
        }
        s.fresh = false;
    }
    assert!(lost.is_empty(), "LOST: {lost:#?}");

    // The current head is consistent with every head seen.
    heads.see(&sth);
    if let Some((&max, _)) = heads.seen.iter().next_back() {
        assert!(
            max <= size,
            "the board shrank below a tree head a client saw: now {size}, seen {max}"
        );
    }
    let mut to_check: BTreeSet<u64> = std::mem::take(&mut heads.unchecked);
    to_check.extend(heads.last_current);
    for old in to_check.into_iter().filter(|&o| o < size) {
        let old_root = heads.seen[&old];
        let v = api.get(&format!(
            "/api/v1/board/consistency?first={old}&second={size}"
        ));
        verify_consistency(old, size, &old_root, &root, &nodes(&v))
            .unwrap_or_else(|e| panic!("head {old} is not consistent with {size}: {e}"));
        heads.consistency_proofs += 1;
    }
    heads.last_current = Some(size);

    // The server's own inclusion proofs.
    for (index, leaf, key) in sample {
        assert!(
            server_inclusion(api, index, size, &root, &leaf),
            "LOST: {key}: the server's inclusion proof of leaf {index} fails"
        );
        counts.server_inclusion_proofs += 1;
    }
}

/// Record a cast answer; a receipt already held must come back unchanged.
fn record_cast(c: &mut Cast, board: &BoardPublicKey, answer: Option<(u16, String)>) -> bool {
    let Some((status, body)) = answer else {
        c.unanswered += 1;
        return false;
    };
    match status {
        200 | 201 => {
            let r: Receipt = serde_json::from_str(&body).unwrap();
            r.verify(board).unwrap();
            assert_eq!(r.ballot_hash, c.hash, "a receipt for another ballot");
            match &c.receipt {
                Some(old) => assert_eq!(old, &r, "{}: a retry got another receipt", c.key),
                None => c.fresh = true,
            }
            c.receipt = Some(r);
            true
        }
        // The server was going down.
        503 => {
            c.unanswered += 1;
            false
        }
        // A re-vote sent before its credential's first ballot is on the board.
        409 if c.ballot.previous.is_some() && body.contains("ballot-not-latest") => false,
        _ => panic!("{}: unexpected answer {status}: {body}", c.key),
    }
}

/// Record a signature answer; an answer already held must come back verbatim.
fn record_sig(s: &mut Sig, board: &BoardPublicKey, answer: Option<(u16, String)>) -> bool {
    let Some((status, body)) = answer else {
        s.unanswered += 1;
        return false;
    };
    match status {
        201 => {
            let v: Value = serde_json::from_str(&body).unwrap();
            let (_, head, _) = sig_fields(&v);
            head.verify(board).unwrap();
            match &s.answer {
                Some(old) => assert_eq!(old, &v, "{}: a retry got another answer", s.key),
                None => s.fresh = true,
            }
            s.answer = Some(v);
            true
        }
        503 => {
            s.unanswered += 1;
            false
        }
        _ => panic!("{}: unexpected answer {status}: {body}", s.key),
    }
}

/// Record an audit answer; a leaf index already held must come back unchanged.
fn record_audit(a: &mut Audit, answer: Option<(u16, String)>) -> bool {
    let Some((status, body)) = answer else {
        a.unanswered += 1;
        return false;
    };
    match status {
        200 | 201 => {
            let v: Value = serde_json::from_str(&body).unwrap();
            let index = v["leaf_index"].as_u64().unwrap();
            if let Some(old) = a.leaf_index {
                assert_eq!(old, index, "{}: a retry got another leaf", a.key);
            }
            a.leaf_index = Some(index);
            true
        }
        503 => {
            a.unanswered += 1;
            false
        }
        _ => panic!("{}: unexpected answer {status}: {body}", a.key),
    }
}

/// Tree sizes that are both in a receipt and in a signature answer: transactions that
/// held a ballot and a signature (a mixed batch).
fn mixed_heads(w: &World) -> usize {
    let receipts: BTreeSet<u64> = w
        .casts
        .iter()
        .filter_map(|c| c.receipt.as_ref().map(|r| r.tree_head.head.tree_size))
        .collect();
    let sigs: BTreeSet<u64> = w
        .sigs
        .iter()
        .filter_map(|s| s.answer.as_ref().map(|a| sig_fields(a).1.head.tree_size))
        .collect();
    receipts.intersection(&sigs).count()
}

// ---- the orphan check ------------------------------------------------------------------

fn integrity_check(rt: &tokio::runtime::Runtime, url: &str) -> integrity::IntegrityReport {
    rt.block_on(integrity::check(url, Depth::Full))
        .unwrap_or_else(|e| panic!("integrity check after a kill: {e}"))
}

// ---- export and verify ------------------------------------------------------------------

/// Export the record (as `vox-verify` reads it), verify it; returns how many times each
/// ballot hash and each signer's signature is in the log.
/// How many times each ballot hash is cast, each signer's signature and each audited
/// ballot is in the log.
type InLog = (
    HashMap<Hash32, u32>,
    HashMap<[u8; 32], u32>,
    HashMap<Hash32, u32>,
);

fn export_and_verify(api: &Api, out: &Path) -> InLog {
    let header: RecordHeader =
        serde_json::from_value(api.get(&format!("/api/v1/record?referendum={REFERENDUM}")))
            .unwrap();
    let size = header.tree_size;
    let mut w = std::io::BufWriter::new(File::create(out.join(ENTRIES_FILE)).unwrap());
    let mut cast: HashMap<Hash32, u32> = HashMap::new();
    let mut signed: HashMap<[u8; 32], u32> = HashMap::new();
    let mut audited: HashMap<Hash32, u32> = HashMap::new();
    let mut next = 0;
    while next < size {
        let page = api.get(&format!("/api/v1/board/entries?start={next}&end={size}"));
        let page = page.as_array().unwrap();
        assert!(!page.is_empty());
        for e in page {
            assert_eq!(e["index"].as_u64(), Some(next));
            let entry: BoardEntry = serde_json::from_value(e["entry"].clone()).unwrap();
            match &entry.payload {
                Payload::BallotCast { ballot } => *cast.entry(ballot.hash()).or_default() += 1,
                Payload::PetitionSigned { signature } => {
                    *signed.entry(signature.credential.to_bytes()).or_default() += 1
                }
                Payload::BallotAudited { audited: a } => {
                    *audited.entry(a.ballot.hash()).or_default() += 1
                }
                _ => {}
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
    let mut f = File::create(out.join(TREE_HEADS_FILE)).unwrap();
    for h in &heads {
        record::write_line(&mut f, h).unwrap();
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
    (cast, signed, audited)
}

// ---- the loop ------------------------------------------------------------------------------

/// What a round's request is.
#[derive(Clone, Copy)]
enum Kind {
    Cast,
    Sign,
    Audit,
}

fn run(label: &str, url: &str, dir: &Path) {
    let t0 = Instant::now();
    let rounds = env_u64("VOX_CRASH_ROUNDS").unwrap_or(200);
    let budget = Duration::from_secs(env_u64("VOX_CRASH_SECS").unwrap_or(45));
    let seed = env_u64("VOX_CRASH_SEED").unwrap_or_else(|| OsRng.gen());
    let voters = env_u64("VOX_CRASH_VOTERS")
        .map(|v| v as usize)
        .unwrap_or_else(|| (rounds as usize * 2).clamp(40, 1000))
        .max(4);
    println!(
        "crash test [{label}]: seed {seed} (VOX_CRASH_SEED), {rounds} rounds within {budget:?}, \
         {voters} voters, work dir {}",
        dir.display()
    );
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let open_ms = i64::try_from(budget.as_millis()).unwrap() + 3_600_000;
    let mut w = setup(url, dir, voters, open_ms);
    let setup_time = t0.elapsed();
    let board = w.board;

    let mut heads = Heads::default();
    let mut counts = Counts::default();
    let mut kills = 0u32;
    let mut unreached = 0u32;
    let mut aborts: BTreeMap<&str, u32> = BTreeMap::new();
    let (mut casts_sent, mut sigs_sent, mut audits_sent) = (0u32, 0u32, 0u32);
    let mut orphan_checks = 0u32;
    let mut done_rounds = 0u64;
    let loop_start = Instant::now();
    let api_for = |s: &Serve| Api {
        agent: agent(Duration::from_secs(30)),
        ..Api::new(&s.base)
    };
    for _ in 0..rounds {
        if loop_start.elapsed() > budget {
            break;
        }
        done_rounds += 1;
        // `after-proofs` is hit per ballot, the others per transaction (mixed batches of
        // ballots, signatures and audits, and every other write; `after-insert` only in
        // batches with a ballot).
        let fp = rng.gen_bool(0.6).then(|| {
            let name = FAILPOINTS[rng.gen_range(0..FAILPOINTS.len())];
            let n = if name == "after-proofs" {
                rng.gen_range(1..=3u32)
            } else if rng.gen_bool(0.8) {
                1
            } else {
                2
            };
            (name, n)
        });
        let spec = fp.map(|(n, k)| format!("{n}:{k}"));
        let mut serve = spawn_serve(url, dir, spec.as_deref());
        let api = api_for(&serve);
        check(&api, &mut w, &mut heads, &mut counts, &mut rng, false);

        // A few ballots and signatures at once: mostly ones without an answer (first
        // tries and retries with the same key), sometimes one that has its answer.
        let pick = |rng: &mut ChaCha20Rng, open: Vec<usize>, all: usize, n: usize| {
            let mut out: Vec<usize> = Vec::new();
            for _ in 0..n {
                let i = if !open.is_empty() && rng.gen_bool(0.85) {
                    open[rng.gen_range(0..open.len())]
                } else {
                    rng.gen_range(0..all)
                };
                if !out.contains(&i) {
                    out.push(i);
                }
            }
            out
        };
        let open_casts = (0..w.casts.len())
            .filter(|&i| w.casts[i].receipt.is_none())
            .collect();
        let n = rng.gen_range(2..=5);
        let cast_pick = pick(&mut rng, open_casts, w.casts.len(), n);
        let open_sigs = (0..w.sigs.len())
            .filter(|&i| w.sigs[i].answer.is_none())
            .collect();
        let n = rng.gen_range(1..=3);
        let sig_pick = pick(&mut rng, open_sigs, w.sigs.len(), n);
        let open_audits = (0..w.audits.len())
            .filter(|&i| w.audits[i].leaf_index.is_none())
            .collect();
        let n = rng.gen_range(0..=2);
        let audit_pick = pick(&mut rng, open_audits, w.audits.len(), n);
        let mut threads = Vec::new();
        let ballots = format!("{}/api/v1/referendums/{REFERENDUM}/ballots", serve.base);
        for &i in &cast_pick {
            let c = &w.casts[i];
            threads.push((Kind::Cast, i, post_in_thread(&ballots, &c.body, &c.key)));
        }
        let signatures = format!("{}/api/v1/petitions/{PETITION}/signatures", serve.base);
        for &i in &sig_pick {
            let s = &w.sigs[i];
            threads.push((Kind::Sign, i, post_in_thread(&signatures, &s.body, &s.key)));
        }
        let audits = format!("{}/api/v1/referendums/{REFERENDUM}/audits", serve.base);
        for &i in &audit_pick {
            let a = &w.audits[i];
            threads.push((Kind::Audit, i, post_in_thread(&audits, &a.body, &a.key)));
        }
        casts_sent += cast_pick.len() as u32;
        sigs_sent += sig_pick.len() as u32;
        audits_sent += audit_pick.len() as u32;
        match fp {
            Some((name, _)) => {
                // Wait for the abort; SIGKILL if the failpoint was not reached.
                let until = Instant::now() + Duration::from_millis(1000);
                loop {
                    if let Some(st) = serve.child.try_wait().unwrap() {
                        assert_eq!(
                            st.signal(),
                            Some(SIGABRT),
                            "vox serve ended otherwise than by its failpoint ({st}):\n{}",
                            tail(&dir.join("serve.log"), 30)
                        );
                        *aborts.entry(name).or_default() += 1;
                        break;
                    }
                    if Instant::now() > until {
                        unreached += 1;
                        kills += 1;
                        serve.child.kill().unwrap();
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            None => {
                std::thread::sleep(Duration::from_millis(rng.gen_range(0..80)));
                kills += 1;
                serve.child.kill().unwrap();
            }
        }
        let st = serve.child.wait().unwrap();
        assert!(
            matches!(st.signal(), Some(SIGKILL | SIGABRT)),
            "vox serve exited by itself ({st}):\n{}",
            tail(&dir.join("serve.log"), 30)
        );
        for (kind, i, t) in threads {
            let answer = t.join().unwrap();
            match kind {
                Kind::Cast => {
                    record_cast(&mut w.casts[i], &board, answer);
                }
                Kind::Sign => {
                    record_sig(&mut w.sigs[i], &board, answer);
                }
                Kind::Audit => {
                    record_audit(&mut w.audits[i], answer);
                }
            }
        }
        drop(serve);
        // The server is dead: read the database as it was left.
        integrity_check(&rt, url);
        orphan_checks += 1;
    }

    // Last restart: every ballot, signature and audit (re)sent with its key until answered.
    let serve = spawn_serve(url, dir, None);
    let api = api_for(&serve);
    check(&api, &mut w, &mut heads, &mut counts, &mut rng, false);
    let cast_url = format!("{}/api/v1/referendums/{REFERENDUM}/ballots", serve.base);
    for c in w.casts.iter_mut() {
        let a = send(
            &api.agent,
            "POST",
            &cast_url,
            Some(&c.body),
            &[("Idempotency-Key", &c.key)],
        );
        assert!(record_cast(c, &board, a), "{}: no receipt", c.key);
    }
    let sig_url = format!("{}/api/v1/petitions/{PETITION}/signatures", serve.base);
    for s in w.sigs.iter_mut() {
        let a = send(
            &api.agent,
            "POST",
            &sig_url,
            Some(&s.body),
            &[("Idempotency-Key", &s.key)],
        );
        assert!(record_sig(s, &board, a), "{}: no answer", s.key);
    }
    let audit_url = format!("{}/api/v1/referendums/{REFERENDUM}/audits", serve.base);
    for a in w.audits.iter_mut() {
        let answer = send(
            &api.agent,
            "POST",
            &audit_url,
            Some(&a.body),
            &[("Idempotency-Key", &a.key)],
        );
        assert!(record_audit(a, answer), "{}: no answer", a.key);
    }
    check(&api, &mut w, &mut heads, &mut counts, &mut rng, true);
    assert!(
        w.audits.iter().all(|a| a.matched),
        "an audit answer not matched with its entry"
    );

    let out = tempfile::tempdir().unwrap();
    let (in_log, signed, audited) = export_and_verify(&api, out.path());
    for a in &w.audits {
        let n = audited.get(&a.audited.ballot.hash()).copied();
        assert_eq!(n, Some(1), "{}: audit in the log {n:?} times", a.key);
    }
    assert_eq!(audited.len(), w.audits.len());
    for c in &w.casts {
        assert_eq!(
            in_log.get(&c.hash).copied(),
            Some(1),
            "{}: ballot in the log {:?} times",
            c.key,
            in_log.get(&c.hash)
        );
    }
    assert_eq!(in_log.len(), w.casts.len());
    for s in &w.sigs {
        let n = signed.get(&s.signature.credential.to_bytes()).copied();
        assert_eq!(n, Some(1), "{}: signature in the log {n:?} times", s.key);
    }
    assert_eq!(signed.len(), w.sigs.len() + w.setup_signers);
    let petition = api.get(&format!("/api/v1/petitions/{PETITION}"));
    assert_eq!(
        petition["count"].as_u64(),
        Some((w.sigs.len() + w.setup_signers + 1) as u64),
        "petition count (proposer, sponsor and every signer)"
    );
    drop(serve);
    let last = integrity_check(&rt, url);
    orphan_checks += 1;
    assert_eq!(last.ballots, w.casts.len() as u64);
    assert_eq!(last.signatures, (w.sigs.len() + w.setup_signers) as u64);

    let unanswered: u32 = w.casts.iter().map(|c| c.unanswered).sum::<u32>()
        + w.sigs.iter().map(|s| s.unanswered).sum::<u32>()
        + w.audits.iter().map(|a| a.unanswered).sum::<u32>();
    let mixed = mixed_heads(&w);
    let total_aborts: u32 = aborts.values().sum();
    println!(
        "crash test [{label}]: {done_rounds} rounds in {:.1?} (setup {:.1?}): {kills} SIGKILLs \
         ({unreached} with an armed failpoint not reached), {total_aborts} failpoint aborts \
         {aborts:?}, {casts_sent} casts, {sigs_sent} signatures and {audits_sent} audits sent, \
         {unanswered} unanswered, {} ballots, {} signatures and {} audits answered, {mixed} \
         mixed batches (a ballot and a signature under one tree head), {} receipt checks, {} server \
         inclusion proofs, {} consistency proofs, {} tree heads seen, {orphan_checks} orphan \
         checks (last: {} entries, {} nodes, {} idempotency answers checked), lost = 0",
        t0.elapsed(),
        setup_time,
        w.casts.len(),
        w.sigs.len(),
        w.audits.len(),
        counts.receipt_checks,
        counts.server_inclusion_proofs,
        heads.consistency_proofs,
        heads.seen.len(),
        last.tree_size,
        last.merkle_nodes,
        last.idempotency_checked,
    );
    assert!(
        done_rounds < 20 || aborts.len() >= 3,
        "too few failpoints reached: {aborts:?}; is {} built without the failpoints feature \
         (by a later plain `cargo build`)? `cargo test -p vox-cli --test crash --no-run` \
         rebuilds it with them",
        vox_binary().display()
    );
}

#[test]
fn crash_safety_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vox.db").display());
    run("sqlite", &url, dir.path());
}

#[test]
fn crash_safety_postgres() {
    let Ok(admin) = std::env::var("VOX_TEST_POSTGRES_ADMIN_URL") else {
        println!(
            "crash test [postgres]: skipped: VOX_TEST_POSTGRES_ADMIN_URL not set \
             (run under scripts/with-postgres.sh)"
        );
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let db = format!("vox_crash_{}_{nanos}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let admin_sql = |sql: String| {
        rt.block_on(async {
            use sqlx::{Connection, Executor};
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            c.execute(sql.as_str()).await.unwrap();
            c.close().await.unwrap();
        })
    };
    admin_sql(format!("CREATE DATABASE {db}"));
    let (prefix, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{db}");
    let dir = tempfile::tempdir().unwrap();
    run("postgres", &url, dir.path());
    // Passed: drop the database (a failing run leaves it for inspection).
    admin_sql(format!("DROP DATABASE {db} WITH (FORCE)"));
}
