//! The `vox-verify` binary: exit codes, JSON report, receipts, download from a server
//! and the monitor, against a tiny fake vox server (std TcpListener on 127.0.0.1:0).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

use ed25519_dalek::SigningKey;
use vox_protocol::board::{BoardPublicKey, Cosignature, Payload, SignedTreeHead, TreeHead};
use vox_protocol::merkle::{consistency_proof, NodeHash};
use vox_verifier::synth::{honest, Honest, SynthRecord};

fn base() -> &'static Honest {
    static BASE: OnceLock<Honest> = OnceLock::new();
    BASE.get_or_init(|| honest(31, 0).unwrap())
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vox-verify-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vox-verify"))
        .args(args)
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(rec: &SynthRecord, name: &str) -> PathBuf {
    rec.write_dir(&tmp(name).join("record")).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn verifies_a_record_directory() {
    let dir = write(&base().record, "dir");
    let o = bin(&[s(&dir)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("verdict: PASS"), "{out}");
    let step_lines = out.lines().filter(|l| {
        let mut w = l.split_whitespace();
        w.next().is_some_and(|id| id.starts_with('V'))
            && w.next()
                .is_some_and(|st| ["PASS", "FAIL", "NOT-CHECKED"].contains(&st))
    });
    assert_eq!(step_lines.count(), 15);

    let o = bin(&[s(&dir), "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["steps"].as_array().unwrap().len(), 15);
    assert_eq!(v["steps"][9]["id"], "V10");
    assert_eq!(v["steps"][9]["status"], "pass");
    assert_eq!(v["steps"][13]["status"], "not-checked");
}

#[test]
fn tampered_record_exits_1_and_names_the_step() {
    let mut rec = base().record.clone();
    let i = rec
        .find(|p| matches!(p, Payload::ResultPublished { .. }))
        .unwrap();
    if let Payload::ResultPublished { result } = &mut rec.entries[i].payload {
        result.counts[0][0] += 1;
        result.counts[0][1] -= 1;
    }
    rec.resign(&base().board_key, &[]);
    let dir = write(&rec, "tampered");
    let o = bin(&[s(&dir), "--json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["steps"][12]["status"], "fail");
    assert_eq!(
        v["steps"][12]["failures"][0]["location"]["kind"],
        "referendum"
    );
}

#[test]
fn receipts_are_checked() {
    let h = base();
    let d = tmp("receipts");
    let dir = h.record.write_dir(&d.join("record")).unwrap();
    let good = d.join("good.json");
    std::fs::write(&good, serde_json::to_string(&h.receipts[0]).unwrap()).unwrap();
    let superseded = d.join("superseded.json");
    std::fs::write(&superseded, serde_json::to_string(&h.receipts[1]).unwrap()).unwrap();
    let o = bin(&[s(&dir), "--receipt", s(&good), "--receipt", s(&superseded)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("superseded"));

    let mut r = h.receipts[0].clone();
    r.entry_timestamp_ms += 1;
    let bad = d.join("bad.json");
    std::fs::write(&bad, serde_json::to_string(&r).unwrap()).unwrap();
    let o = bin(&[s(&dir), "--receipt", s(&bad)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let o = bin(&[s(&dir), "--receipt", s(&d.join("missing.json"))]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

#[test]
fn incomplete_record_exits_3_unless_partial_is_allowed() {
    let mut rec = base().record.clone();
    let closed = rec
        .find(|p| matches!(p, Payload::ReferendumClosed { .. }))
        .unwrap();
    rec.entries.truncate(closed + 1);
    rec.resign(&base().board_key, &[]);
    let dir = write(&rec, "partial");
    let o = bin(&[s(&dir)]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no tally yet"));
    let o = bin(&[s(&dir), "--allow-partial"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn unreadable_or_foreign_records() {
    let o = bin(&["/nonexistent/vox-record"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let dir = write(&base().record, "foreign");
    let header = dir.join("record.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&header).unwrap()).unwrap();
    v["group"] = "P-256".into();
    std::fs::write(&header, v.to_string()).unwrap();
    let o = bin(&[s(&dir)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let o = bin(&[]);
    assert_eq!(code(&o), 2, "usage error");
}

#[test]
fn prints_the_step_table() {
    let o = bin(&["steps"]);
    assert_eq!(code(&o), 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("| V1 |") && out.contains("| V14 |"), "{out}");
}

// ---- pinned keys ---------------------------------------------------------------------

fn hex_of(k: &SigningKey) -> String {
    BoardPublicKey(k.verifying_key()).to_hex()
}

#[test]
fn pinned_keys_from_flags_and_a_trust_file() {
    let h = base();
    let d = tmp("trust");
    let dir = h.record.write_dir(&d.join("record")).unwrap();
    let board = hex_of(&h.board_key);
    let registrar = hex_of(&h.roles.registrar);
    let office = hex_of(&h.roles.petitions_office);
    let authority = hex_of(&h.roles.election_authority);
    // The right keys, by flags.
    let o = bin(&[
        s(&dir),
        "--board-key",
        &board,
        "--role-key",
        &format!("registrar={registrar}"),
        "--role-key",
        &format!("petitions-office={office}"),
        "--role-key",
        &format!("operator={board}"),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // The right keys, by a trust file.
    let trust = d.join("trust.json");
    let good = serde_json::json!({
        "board_public_key": board,
        "roles": {"registrar": registrar, "petitions-office": office, "election-authority": authority},
        "witnesses": [],
    });
    std::fs::write(&trust, good.to_string()).unwrap();
    let o = bin(&[s(&dir), "--trust", s(&trust)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // Another board key: V1 fails and says so.
    let other = hex_of(&SigningKey::from_bytes(&[9u8; 32]));
    let o = bin(&[s(&dir), "--board-key", &other, "--json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["steps"][0]["status"], "fail");
    assert_eq!(
        v["steps"][0]["failures"][0]["message"],
        format!("board key mismatch: pinned {other}, record {board}")
    );
    // Another election authority in the trust file: V4 fails at leaf 0.
    let mut bad = good.clone();
    bad["roles"]["election-authority"] = other.clone().into();
    std::fs::write(&trust, bad.to_string()).unwrap();
    let o = bin(&[s(&dir), "--trust", s(&trust), "--json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["steps"][3]["id"], "V4");
    assert_eq!(v["steps"][3]["status"], "fail");
    let f = &v["steps"][3]["failures"][0];
    assert_eq!(
        f["location"],
        serde_json::json!({"kind": "leaf", "index": 0})
    );
    assert_eq!(
        f["message"],
        format!("election-authority key mismatch: pinned {other}, genesis {authority}")
    );
    // A witness the observer requires has not cosigned: NOT-CHECKED (exit 3).
    let mut w = good.clone();
    w["witnesses"] = serde_json::json!([other]);
    std::fs::write(&trust, w.to_string()).unwrap();
    let o = bin(&[s(&dir), "--trust", s(&trust)]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("has cosigned no tree head"),
        "{}",
        text(&o)
    );
    // The same by --witness with the witness's C2SP verifier key; a note key (type
    // 0x01) is a usage error.
    let vkey = |t| {
        vox_protocol::tlog::VerifierKey::new(
            vox_protocol::tlog::KeyName::new("w.example").unwrap(),
            t,
            SigningKey::from_bytes(&[9u8; 32]).verifying_key(),
        )
        .to_string()
    };
    let o = bin(&[
        s(&dir),
        "--witness",
        &vkey(vox_protocol::tlog::KeyType::CosignatureV1),
    ]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("witness {other} has cosigned no")),
        "{}",
        text(&o)
    );
    let o = bin(&[
        s(&dir),
        "--witness",
        &vkey(vox_protocol::tlog::KeyType::Ed25519),
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

#[test]
fn bad_trust_files_and_role_keys_are_usage_errors() {
    let h = base();
    let d = tmp("trust-bad");
    let dir = h.record.write_dir(&d.join("record")).unwrap();
    let board = hex_of(&h.board_key);
    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let trust = d.join("trust.json");
    for (content, expected) in [
        (
            r#"{"board_key": "00"}"#.to_owned(),
            "unknown field `board_key`",
        ),
        (
            format!(r#"{{"roles": {{"operator": "{board}"}}}}"#),
            "unknown field `operator`",
        ),
        (r#"{"board_public_key": "xyz"}"#.to_owned(), "not hex"),
        (r#"{"witnesses": ["abcd"]}"#.to_owned(), "expected 32 bytes"),
        ("not json".to_owned(), "trust file"),
    ] {
        std::fs::write(&trust, &content).unwrap();
        let o = bin(&[s(&dir), "--trust", s(&trust)]);
        assert_eq!(code(&o), 2, "{content}: {}", text(&o));
        assert!(stderr(&o).contains(expected), "{content}: {}", text(&o));
        assert!(stderr(&o).contains("trust.json"), "{content}: {}", text(&o));
    }
    let o = bin(&[s(&dir), "--trust", s(&d.join("missing.json"))]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    for (arg, expected) in [
        (format!("mayor={board}"), "unknown role \"mayor\""),
        ("registrar".to_owned(), "expected ROLE=HEX"),
        ("registrar=abcd".to_owned(), "registrar key"),
        (format!("witness={board}"), "unknown role"),
    ] {
        let o = bin(&[s(&dir), "--role-key", &arg]);
        assert_eq!(code(&o), 2, "{arg}: {}", text(&o));
        assert!(stderr(&o).contains(expected), "{arg}: {}", text(&o));
    }
    let o = bin(&[s(&dir), "--board-key", "00"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    // Two different keys for one role.
    let other = hex_of(&SigningKey::from_bytes(&[9u8; 32]));
    let o = bin(&[
        s(&dir),
        "--board-key",
        &board,
        "--role-key",
        &format!("operator={other}"),
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        stderr(&o).contains("two different board (operator) keys"),
        "{}",
        text(&o)
    );
    std::fs::write(&trust, format!(r#"{{"board_public_key": "{other}"}}"#)).unwrap();
    let o = bin(&[s(&dir), "--trust", s(&trust), "--board-key", &board]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

// ---- a fake server -------------------------------------------------------------------

struct Board {
    key: SigningKey,
    record: SynthRecord,
    /// Entries and heads served: a prefix of the record, or all of it.
    size: usize,
    posts: Vec<serde_json::Value>,
    /// Answer cosignatures with a 422 problem (a witness the board does not know).
    refuse_cosignatures: bool,
}

impl Board {
    fn heads(&self) -> Vec<&SignedTreeHead> {
        self.record
            .heads
            .iter()
            .filter(|h| h.head.tree_size as usize <= self.size)
            .collect()
    }

    fn leaves(&self) -> Vec<NodeHash> {
        self.record.entries[..self.size]
            .iter()
            .map(|e| e.leaf_hash())
            .collect()
    }

    fn answer(&mut self, method: &str, target: &str, body: &str) -> (u16, String) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let q = |k: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .and_then(|v| v.parse::<u64>().ok())
        };
        let key = BoardPublicKey(self.key.verifying_key());
        let json = |v: serde_json::Value| (200, v.to_string());
        match (method, path) {
            ("GET", "/api/v1/board") => json(serde_json::json!({
                "board_public_key": key,
                "log_id": key.log_id(),
                "tree_size": self.size,
                "witnesses": [],
                "genesis": self.record.genesis(),
                "roles": self.record.genesis().map(|g| g.keys),
            })),
            ("GET", "/api/v1/record") => {
                let mut h = self.record.header.clone();
                h.tree_size = self.size as u64;
                json(serde_json::to_value(h).unwrap())
            }
            ("GET", "/api/v1/board/tree-head") => {
                json(serde_json::to_value(self.heads().last().unwrap()).unwrap())
            }
            ("GET", "/api/v1/board/tree-heads") => {
                // As the server: heads of size ≥ since, at most 1000 (here 3, to page).
                let since = q("since").unwrap_or(0);
                let hs: Vec<&SignedTreeHead> = self
                    .heads()
                    .into_iter()
                    .filter(|h| h.head.tree_size >= since)
                    .take(3)
                    .collect();
                json(serde_json::to_value(hs).unwrap())
            }
            ("GET", "/api/v1/board/entries") => {
                let start = q("start").unwrap() as usize;
                let end = (q("end").unwrap() as usize)
                    .min(self.size)
                    .min(start + 1000);
                let page: Vec<serde_json::Value> = (start..end)
                    .map(|i| serde_json::json!({"index": i, "entry": self.record.entries[i]}))
                    .collect();
                json(serde_json::Value::Array(page))
            }
            ("GET", "/api/v1/board/consistency") => {
                let (first, second) = (q("first").unwrap(), q("second").unwrap());
                let leaves = self.leaves();
                let proof = consistency_proof(&leaves[..second as usize], first).unwrap();
                json(serde_json::json!({"first": first, "second": second, "proof": proof}))
            }
            ("POST", "/api/v1/board/cosignatures") if self.refuse_cosignatures => (
                422,
                r#"{"type":"https://vox.invalid/problems/invalid","title":"Unprocessable Entity","status":422,"detail":"witness key is not in the board's witness policy"}"#.into(),
            ),
            ("POST", "/api/v1/board/cosignatures") => {
                self.posts.push(serde_json::from_str(body).unwrap());
                (201, "{}".into())
            }
            _ => (404, r#"{"title":"not found"}"#.into()),
        }
    }
}

fn serve(board: Arc<Mutex<Board>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = handle(stream, &board);
        }
    });
    url
}

fn handle(mut stream: TcpStream, board: &Arc<Mutex<Board>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, answer) =
        board
            .lock()
            .unwrap()
            .answer(method, target, &String::from_utf8_lossy(&body));
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    stream.flush()
}

fn fake(record: SynthRecord, size: usize) -> (Arc<Mutex<Board>>, String) {
    let board = Arc::new(Mutex::new(Board {
        key: base().board_key.clone(),
        record,
        size,
        posts: Vec::new(),
        refuse_cosignatures: false,
    }));
    let url = serve(board.clone());
    (board, url)
}

#[test]
fn downloads_and_verifies_a_record() {
    let rec = base().record.clone();
    let n = rec.entries.len();
    let (_board, url) = fake(rec, n);
    let out = tmp("download").join("rec");
    let board = hex_of(&base().board_key);
    let o = bin(&[
        "--server",
        &url,
        "--out",
        s(&out),
        "--quiet",
        "--board-key",
        &board,
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let lines = std::fs::read_to_string(out.join("entries.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), n);
    let heads = std::fs::read_to_string(out.join("tree-heads.jsonl")).unwrap();
    assert_eq!(heads.lines().count(), base().record.heads.len());
    assert!(String::from_utf8_lossy(&o.stderr).contains("record written to"));
}

fn head_at(rec: &SynthRecord, size: usize) -> usize {
    // The largest head not beyond `size`.
    rec.heads
        .iter()
        .filter(|h| h.head.tree_size as usize <= size)
        .map(|h| h.head.tree_size as usize)
        .max()
        .unwrap()
}

#[test]
fn monitor_follows_cosigns_and_catches_a_fork() {
    let h = base();
    let rec = h.record.clone();
    let n = rec.entries.len();
    let first = head_at(&rec, n / 2);
    let (board, url) = fake(rec.clone(), first);
    let d = tmp("monitor");
    let state = d.join("state.json");
    let witness = SigningKey::from_bytes(&[42u8; 32]);
    let key_file = d.join("witness.key");
    std::fs::write(&key_file, hex::encode(witness.to_bytes())).unwrap();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "monitor",
            "--server",
            &url,
            "--once",
            "--state",
            s(&state),
            "--witness-key",
            s(&key_file),
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        Command::new(env!("CARGO_BIN_EXE_vox-verify"))
            .args(&a)
            .output()
            .unwrap()
    };
    // First run: bootstrap from the first half, cosign.
    let o = run(&[]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("first head"),
        "{}",
        text(&o)
    );
    // Pinned keys: the right board key passes; another is an alert before anything
    // else (exit 1), and so is a pinned role key the genesis does not name.
    let right = BoardPublicKey(board.lock().unwrap().key.verifying_key()).to_hex();
    let o = run(&["--board-key", &right]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let other = BoardPublicKey(SigningKey::from_bytes(&[7u8; 32]).verifying_key()).to_hex();
    let o = run(&["--board-key", &other]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("board key mismatch"), "{}", text(&o));
    let role_pin = format!("registrar={other}");
    let o = run(&["--role-key", &role_pin]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("registrar key mismatch"), "{}", text(&o));
    // The board grows: consistency proof, new entries, cosign again (log-only run).
    board.lock().unwrap().size = n;
    let o = run(&["--log-only"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("consistent with size {first}")),
        "{}",
        text(&o)
    );
    // A full run replays everything through the verifier.
    let o = run(&[]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    {
        let b = board.lock().unwrap();
        // Four passing runs cosigned (the first, the pinned one, the log-only and the full
        // run); the runs whose pins did not match cosigned nothing.
        assert_eq!(b.posts.len(), 4);
        for p in &b.posts {
            let c: Cosignature = serde_json::from_value(p["cosignature"].clone()).unwrap();
            let sth = b
                .record
                .heads
                .iter()
                .find(|h| serde_json::to_value(h.head.tree_size).unwrap() == p["tree_size"])
                .unwrap();
            sth.verify_cosignature(&c).unwrap();
            assert_eq!(c.witness, BoardPublicKey(witness.verifying_key()));
        }
    }
    // The board refuses the cosignature: the monitor says why (the problem's title and
    // detail) and exits non-zero (2: it could not do its job), after the checks passed.
    board.lock().unwrap().refuse_cosignatures = true;
    let o = run(&["--log-only"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("cosignature refused")
            && text(&o).contains("Unprocessable Entity")
            && text(&o).contains("not in the board's witness policy"),
        "{}",
        text(&o)
    );
    board.lock().unwrap().refuse_cosignatures = false;
    // The board now shows a rewritten history (re-signed): the monitor raises the alarm.
    let mut forked = rec.clone();
    let resp = forked
        .find(|p| matches!(p, Payload::PetitionResponded { .. }))
        .unwrap();
    if let Payload::PetitionResponded { text, .. } = &mut forked.entries[resp].payload {
        text.push_str(" Or not.");
    }
    forked.entries.push(forked.entries.last().unwrap().clone());
    forked.resign(&h.board_key, &[]);
    {
        let mut b = board.lock().unwrap();
        b.record = forked;
        b.size = n + 1;
    }
    let o = run(&["--log-only"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ALERT"),
        "{}",
        text(&o)
    );
}

#[test]
fn monitor_catches_an_invalid_ballot_on_the_board() {
    let h = base();
    let mut rec = h.record.clone();
    let i = rec
        .find(|p| matches!(p, Payload::BallotCast { .. }))
        .unwrap();
    if let Payload::BallotCast { ballot } = &mut rec.entries[i].payload {
        let sig = ballot.signature.as_mut().unwrap();
        sig.0.z = sig.0.z + vox_crypto::Scalar::ONE;
    }
    rec.resign(&h.board_key, &[]);
    let n = rec.entries.len();
    let (_board, url) = fake(rec, n);
    let state = tmp("monitor-bad").join("state.json");
    let o = bin(&["monitor", "--server", &url, "--once", "--state", s(&state)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("V10"),
        "{}",
        text(&o)
    );
}

#[test]
fn monitor_catches_equivocation_at_the_same_size() {
    let h = base();
    let rec = h.record.clone();
    let n = rec.entries.len();
    let (board, url) = fake(rec.clone(), n);
    let state = tmp("monitor-eq").join("state.json");
    let o = bin(&[
        "monitor",
        "--server",
        &url,
        "--once",
        "--log-only",
        "--state",
        s(&state),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // Same size, another root, validly signed.
    let fork = SignedTreeHead::sign(
        TreeHead {
            tree_size: n as u64,
            root_hash: NodeHash([1; 32]),
            timestamp_ms: rec.heads.last().unwrap().head.timestamp_ms + 1,
        },
        &rec.heads.last().unwrap().origin,
        &h.board_key,
    )
    .unwrap();
    board.lock().unwrap().record.heads.push(fork);
    let o = bin(&[
        "monitor",
        "--server",
        &url,
        "--once",
        "--log-only",
        "--state",
        s(&state),
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("equivocation"), "{}", text(&o));
    // Both signed notes are in the report (the remembered one from the state file).
    assert!(err.contains("evidence"), "{}", text(&o));
    assert_eq!(err.matches("\n\n— ").count(), 2, "{}", text(&o));
}
