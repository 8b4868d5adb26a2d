//! `vox witness serve` as a real process on 127.0.0.1, driven by a test log (signed
//! checkpoints over a Merkle tree) through the board's witness client
//! (`vox_server::witness_client`) and raw HTTP: cosigning, rollback and fork refusals,
//! evidence, persistence across a SIGKILL, a corrupt state file, and the client's 409 and
//! timeout paths (protocol-spec/12-witnesses.md §12.5–§12.8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use vox_protocol::merkle::{consistency_proof, leaf_hash, root_from_leaf_hashes, NodeHash};
use vox_protocol::tlog::{Checkpoint, KeyName, KeyType, Note, Origin, VerifierKey};
use vox_server::witness_client::{
    request_cosignature, request_cosignature_blocking, request_cosignature_with_retry,
    WitnessClientError, WitnessEndpoint,
};

const ORIGIN: &str = "log.test/a";

fn unique_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir =
        std::env::temp_dir().join(format!("vox-witness-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn vox(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vox"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A test log: 16 leaves, an Ed25519 note key under its origin.
struct Log {
    key: SigningKey,
    leaves: Vec<NodeHash>,
}

impl Log {
    fn new(seed: u8) -> Self {
        Self {
            key: SigningKey::from_bytes(&[seed; 32]),
            leaves: (0..16u64)
                .map(|i| leaf_hash(&[&[seed][..], &i.to_be_bytes()].concat()))
                .collect(),
        }
    }

    fn vkey(&self) -> VerifierKey {
        VerifierKey::new(
            KeyName::new(ORIGIN).unwrap(),
            KeyType::Ed25519,
            self.key.verifying_key(),
        )
    }

    /// The signed checkpoint of the first `size` leaves.
    fn note(&self, size: u64) -> Note {
        self.note_over(&self.leaves[..size as usize])
    }

    fn note_over(&self, leaves: &[NodeHash]) -> Note {
        Checkpoint {
            origin: Origin::new(ORIGIN).unwrap(),
            size: leaves.len() as u64,
            root: root_from_leaf_hashes(leaves),
            extensions: Vec::new(),
        }
        .sign(&self.key)
        .unwrap()
    }

    fn proof(&self, old: u64, new: u64) -> Vec<NodeHash> {
        consistency_proof(&self.leaves[..new as usize], old).unwrap()
    }

    /// A checkpoint of size 10 over another history (leaf 9 differs), signed by the log.
    fn forked_note(&self) -> Note {
        let mut other = self.leaves[..10].to_vec();
        other[9] = leaf_hash(b"another leaf 9");
        self.note_over(&other)
    }
}

/// `vox witness keygen` into `dir`; returns the key file and the printed vkey.
fn keygen(dir: &Path, name: &str) -> (PathBuf, VerifierKey) {
    let key = dir.join("witness.key");
    let out = vox(&[
        "witness",
        "keygen",
        "--name",
        name,
        "--out",
        key.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let vkey = String::from_utf8(out.stdout).unwrap();
    (key, VerifierKey::parse(vkey.trim()).unwrap())
}

/// A running `vox witness serve`, killed (SIGKILL) on drop.
struct WitnessProc {
    child: Child,
    url: String,
    /// Its stdout, kept open: the witness prints more startup lines after the first, and
    /// a closed pipe would kill it (SIGPIPE behaviour of `vox`).
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Drop for WitnessProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `vox witness serve` on a free loopback port; Err(stderr) if it exits instead.
fn spawn_witness(
    dir: &Path,
    key: &Path,
    state: &Path,
    logs: &[&VerifierKey],
) -> Result<WitnessProc, String> {
    let mut args: Vec<String> = vec![
        "--key".into(),
        key.display().to_string(),
        "--state".into(),
        state.display().to_string(),
    ];
    for l in logs {
        args.push("--log".into());
        args.push(l.to_string());
    }
    spawn_witness_args(dir, &args)
}

/// Start `vox witness serve --listen 127.0.0.1:0 ARGS`; Err(stderr) if it exits instead.
fn spawn_witness_args(dir: &Path, args: &[String]) -> Result<WitnessProc, String> {
    let stderr_path = dir.join(format!(
        "witness-{}.stderr",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vox"));
    cmd.args(["witness", "serve", "--listen", "127.0.0.1:0"])
        .args(args);
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // A file, not a pipe nobody reads: the witness must never block on its log.
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    match lines.next() {
        Some(Ok(first)) => {
            let addr = first
                .strip_prefix("vox witness listening on ")
                .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
            assert!(addr.starts_with("http://127.0.0.1:"), "{first}");
            Ok(WitnessProc {
                url: addr.to_owned(),
                child,
                _stdout: lines,
            })
        }
        _ => {
            child.wait().unwrap();
            Err(std::fs::read_to_string(&stderr_path).unwrap())
        }
    }
}

/// A raw request: (status, content type, body).
fn http(method: &str, url: &str, body: &[u8]) -> (u16, String, String) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let r = match method {
        "POST" => agent.post(url).send_bytes(body),
        _ => agent.get(url).call(),
    };
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let (status, ct) = (r.status(), r.content_type().to_owned());
    let mut text = String::new();
    r.into_reader().read_to_string(&mut text).unwrap();
    (status, ct, text)
}

/// An add-checkpoint body.
fn add_body(old: u64, proof: &[NodeHash], note: &Note) -> Vec<u8> {
    vox_protocol::tlog::AddCheckpointRequest {
        old_size: old,
        proof: proof.to_vec(),
        note: note.clone(),
    }
    .to_bytes()
    .unwrap()
}

fn origin_hash() -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(ORIGIN.as_bytes()))
}

#[test]
fn cosigns_extensions_refuses_rollback_and_fork_and_remembers_across_a_kill() {
    let dir = unique_dir("main");
    let (key, wvkey) = keygen(&dir, "witness.test/w1");
    let state = dir.join("state.json");
    let log = Log::new(1);
    let w = spawn_witness(&dir, &key, &state, &[&log.vkey()]).unwrap();
    let endpoint = WitnessEndpoint::new(&w.url, wvkey.clone()).unwrap();

    // Size 6 from nothing, then 10 with a consistency proof: both cosigned, verified by
    // the client; the note with the cosignature verifies under both keys.
    let c6 = request_cosignature_blocking(&endpoint, &log.note(6), 0, &[]).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(c6.cosignature.timestamp.abs_diff(now) < 60, "{c6:?}");
    let note10 = log.note(10);
    let c10 = request_cosignature_blocking(&endpoint, &note10, 6, &log.proof(6, 10)).unwrap();
    let mut cosigned = note10.clone();
    cosigned.add_signature(c10.line.clone()).unwrap();
    let verified = cosigned.verify(&[log.vkey(), wvkey.clone()]).unwrap();
    assert_eq!(verified.len(), 2);

    // The monitoring endpoint serves the cosigned size-10 note.
    let cp_url = format!("{}/{}/checkpoint", w.url, origin_hash());
    let (status, ct, served) = http("GET", &cp_url, b"");
    assert_eq!((status, ct.as_str()), (200, "text/plain"), "{served}");
    assert_eq!(served, cosigned.to_text());

    // Rollback to size 4: with the witness's size as old, W4 (400); with 4 as old, W5
    // (409, the witness's size as text/x.tlog.size); the client reports the size.
    let note4 = log.note(4);
    let (status, _, body) = http(
        "POST",
        &format!("{}/add-checkpoint", w.url),
        &add_body(10, &[], &note4),
    );
    assert_eq!(status, 400, "{body}");
    let (status, ct, body) = http(
        "POST",
        &format!("{}/add-checkpoint", w.url),
        &add_body(4, &[], &note4),
    );
    assert_eq!(
        (status, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "10\n")
    );
    match request_cosignature_blocking(&endpoint, &note4, 4, &[]) {
        Err(WitnessClientError::Conflict { size: 10, .. }) => {}
        other => panic!("{other:?}"),
    }

    // A fork: size 10, another root, signed by the log: 422, and the evidence is served.
    let fork = log.forked_note();
    let (status, _, body) = http(
        "POST",
        &format!("{}/add-checkpoint", w.url),
        &add_body(10, &[], &fork),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("equivocation"), "{body}");
    let check_evidence = |url: &str| {
        let (status, ct, body) = http("GET", &format!("{url}/evidence"), b"");
        assert_eq!((status, ct.as_str()), (200, "application/json"), "{body}");
        let list: Vec<vox_protocol::tlog::Evidence> = serde_json::from_str(&body).unwrap();
        assert_eq!(list.len(), 1, "{body}");
        let e = &list[0];
        assert_eq!(e.kind, vox_protocol::tlog::EvidenceKind::Equivocation);
        assert_eq!(e.origin.as_str(), ORIGIN);
        assert_eq!(e.cosigned_note, cosigned.to_text());
        assert_eq!(e.submitted_note, fork.to_text());
        // Both notes carry a valid log signature: proof without trusting the witness.
        for n in [&e.cosigned_note, &e.submitted_note] {
            Note::parse(n.as_bytes())
                .unwrap()
                .verify(&[log.vkey()])
                .unwrap();
        }
    };
    check_evidence(&w.url);

    // An unknown origin: 404; the monitoring endpoint of an unknown hash: 404.
    let stranger = SigningKey::from_bytes(&[2; 32]);
    let mut other = Checkpoint::parse(log.note(3).text()).unwrap();
    other.origin = Origin::new("log.test/unknown").unwrap();
    let unknown = other.sign(&stranger).unwrap();
    let (status, _, body) = http(
        "POST",
        &format!("{}/add-checkpoint", w.url),
        &add_body(0, &[], &unknown),
    );
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = http(
        "GET",
        &format!("{}/{}/checkpoint", w.url, "00".repeat(32)),
        b"",
    );
    assert_eq!(status, 404);

    // SIGKILL, restart on the same state file: the evidence is still there, the rollback
    // and the fork are still refused, the served checkpoint is the same, and the log can
    // go on from 10.
    drop(w);
    let w = spawn_witness(&dir, &key, &state, &[&log.vkey()]).unwrap();
    check_evidence(&w.url);
    let (status, _, body) = http(
        "POST",
        &format!("{}/add-checkpoint", w.url),
        &add_body(4, &[], &note4),
    );
    assert_eq!((status, body.as_str()), (409, "10\n"));
    let (status, _, _) = http(
        "POST",
        &format!("{}/add-checkpoint", w.url),
        &add_body(10, &[], &fork),
    );
    assert_eq!(status, 422);
    let (_, _, served) = http(
        "GET",
        &format!("{}/{}/checkpoint", w.url, origin_hash()),
        b"",
    );
    assert_eq!(served, cosigned.to_text());
    let endpoint = WitnessEndpoint::new(&w.url, wvkey).unwrap();
    request_cosignature_blocking(&endpoint, &log.note(12), 10, &log.proof(10, 12)).unwrap();
    drop(w);

    // `vox witness evidence` shows both notes to a person.
    let out = vox(&["witness", "evidence", "--state", state.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("equivocation"), "{text}");
    assert!(text.contains(&fork.to_text()), "{text}");
    assert!(text.contains(&cosigned.to_text()), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_client_learns_the_size_from_a_409_and_retries() {
    let dir = unique_dir("conflict");
    let (_key, wvkey) = keygen(&dir, "witness.test/w2");
    let log = Log::new(3);
    // Started from a --config file, with paths relative to the file's folder.
    let conf_dir = dir.join("conf");
    std::fs::create_dir_all(&conf_dir).unwrap();
    std::fs::write(
        conf_dir.join("witness.toml"),
        format!(
            "key = \"../witness.key\"\nstate = \"state.json\"\nlogs = [\"{}\"]\n",
            log.vkey()
        ),
    )
    .unwrap();
    let w = spawn_witness_args(
        &dir,
        &[
            "--config".into(),
            conf_dir.join("witness.toml").display().to_string(),
        ],
    )
    .unwrap();
    let endpoint = WitnessEndpoint::new(&w.url, wvkey).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(request_cosignature(&endpoint, &log.note(6), 0, &[]))
        .unwrap();
    // A board that does not know what the witness has cosigned sends old 0 ...
    let note = log.note(10);
    let size = match rt.block_on(request_cosignature(&endpoint, &note, 0, &[])) {
        Err(WitnessClientError::Conflict { size, .. }) => size,
        other => panic!("{other:?}"),
    };
    assert_eq!(size, 6);
    // ... and retries from the size the witness gave, with the proof from there.
    let c = rt
        .block_on(request_cosignature(
            &endpoint,
            &note,
            size,
            &log.proof(size, 10),
        ))
        .unwrap();
    let mut cosigned = note.clone();
    cosigned.add_signature(c.line).unwrap();
    cosigned
        .verify(std::slice::from_ref(endpoint.vkey()))
        .unwrap();
    // The same with the retry helper: a board that believes the witness is at 6 (it is at
    // 10) gets size 12 cosigned, the proof computed from the size the witness gave.
    let leaves = log.leaves.clone();
    let c = rt
        .block_on(request_cosignature_with_retry(
            &endpoint,
            &log.note(12),
            6,
            &log.proof(6, 12),
            move |from| consistency_proof(&leaves[..12], from).ok(),
        ))
        .unwrap();
    let mut cosigned = log.note(12);
    cosigned.add_signature(c.line).unwrap();
    cosigned
        .verify(std::slice::from_ref(endpoint.vkey()))
        .unwrap();
    // A rollback is not retried: the witness's size (12) is larger than the checkpoint's.
    match rt.block_on(request_cosignature_with_retry(
        &endpoint,
        &log.note(11),
        10,
        &log.proof(10, 11),
        |_| panic!("no retry for a rollback"),
    )) {
        Err(WitnessClientError::Conflict { size: 12, .. }) => {}
        other => panic!("{other:?}"),
    }
    // A wrong proof is refused (422), reported with the witness's words.
    match request_cosignature_blocking(&endpoint, &log.note(14), 12, &log.proof(9, 14)) {
        Err(WitnessClientError::Refused {
            status: 422, body, ..
        }) => {
            assert!(body.contains("consistency proof"), "{body}");
        }
        other => panic!("{other:?}"),
    }
    assert!(conf_dir.join("state.json").is_file());
    // A body above the request limit: 413, before any parsing.
    let big = vec![b'a'; vox_protocol::tlog::MAX_REQUEST_SIZE + 1];
    let (status, _, _) = http("POST", &format!("{}/add-checkpoint", w.url), &big);
    assert_eq!(status, 413);
    // A malformed body: 400.
    let (status, _, _) = http(
        "POST",
        &format!("{}/add-checkpoint", w.url),
        b"old 0\n\nnot a note\n",
    );
    assert_eq!(status, 400);
    drop(w);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_or_foreign_state_file_stops_the_start() {
    let dir = unique_dir("corrupt");
    let (key, _) = keygen(&dir, "witness.test/w3");
    let log = Log::new(4);
    let state = dir.join("state.json");
    // A first start creates the state file; then it is damaged.
    drop(spawn_witness(&dir, &key, &state, &[&log.vkey()]).unwrap());
    let good = std::fs::read_to_string(&state).unwrap();
    std::fs::write(&state, &good[..good.len() / 2]).unwrap();
    let err = spawn_witness(&dir, &key, &state, &[&log.vkey()])
        .err()
        .unwrap();
    assert!(
        err.contains("is corrupt") && err.contains("refusing to start"),
        "{err}"
    );
    // Not silently reset: the damaged file is left as it was.
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        good[..good.len() / 2]
    );

    // Another witness's state file is refused too.
    std::fs::write(&state, &good).unwrap();
    let other_dir = dir.join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let (other_key, _) = keygen(&other_dir, "witness.test/w4");
    let err = spawn_witness(&dir, &other_key, &state, &[&log.vkey()])
        .err()
        .unwrap();
    assert!(err.contains("belongs to witness"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two processes on one state file could each cosign from their own memory, and so
/// cosign two forks of one log: the second start is refused while the first runs, and
/// allowed once it is gone (even killed: the OS drops the lock).
#[test]
fn one_witness_process_per_state_file() {
    let dir = unique_dir("lock");
    let (key, _) = keygen(&dir, "witness.test/w5");
    let log = Log::new(4);
    let state = dir.join("state.json");
    let first = spawn_witness(&dir, &key, &state, &[&log.vkey()]).unwrap();
    let err = spawn_witness(&dir, &key, &state, &[&log.vkey()])
        .err()
        .unwrap();
    assert!(err.contains("another witness process"), "{err}");
    drop(first); // SIGKILL
    let again = spawn_witness(&dir, &key, &state, &[&log.vkey()]).unwrap();
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn keys_and_arguments() {
    let dir = unique_dir("keys");
    let (key, vkey) = keygen(&dir, "witness.test/w5");
    assert_eq!(vkey.key_type(), KeyType::CosignatureV1);
    assert_eq!(vkey.name().as_str(), "witness.test/w5");
    let vkey_file = std::fs::read_to_string(dir.join("witness.key.vkey")).unwrap();
    assert_eq!(vkey_file.trim(), vkey.to_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Never overwritten; `--out DIR` writes DIR/witness.key.
    let out = vox(&[
        "witness",
        "keygen",
        "--name",
        "x",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"),
        "{out:?}"
    );
    // A name with a space is refused with the rule.
    let out = vox(&[
        "witness",
        "keygen",
        "--name",
        "a b",
        "--out",
        dir.join("k2").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no spaces"),
        "{out:?}"
    );

    let log = Log::new(5);
    let state = dir.join("state.json");
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "witness",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--key",
            key.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = vox(&args);
        assert!(!out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    // The witness's own (cosignature) key given as a log key; another name; no log.
    let e = serve(&["--log", &vkey.to_string()]);
    assert!(e.contains("witness (cosignature) key"), "{e}");
    let e = serve(&[
        "--log",
        &log.vkey().to_string(),
        "--name",
        "witness.test/other",
    ]);
    assert!(e.contains("one name only"), "{e}");
    let e = serve(&[]);
    assert!(e.contains("no log to follow"), "{e}");
    assert!(!state.exists(), "no state file made by a refused start");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_dead_or_silent_witness_fails_within_the_timeout() {
    let (_, vkey) = {
        let k = SigningKey::from_bytes(&[6; 32]);
        let v = VerifierKey::new(
            KeyName::new("witness.test/dead").unwrap(),
            KeyType::CosignatureV1,
            k.verifying_key(),
        );
        (k, v)
    };
    let log = Log::new(7);
    // A closed port: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut endpoint =
        WitnessEndpoint::new(&format!("http://127.0.0.1:{port}"), vkey.clone()).unwrap();
    endpoint.timeout = Duration::from_secs(1);
    let started = Instant::now();
    let e = request_cosignature_blocking(&endpoint, &log.note(1), 0, &[]).unwrap_err();
    assert!(matches!(e, WitnessClientError::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains("did not answer"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // A listener that accepts the connection (the kernel's backlog) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut endpoint =
        WitnessEndpoint::new(&format!("http://{}", silent.local_addr().unwrap()), vkey).unwrap();
    endpoint.timeout = Duration::from_secs(1);
    let started = Instant::now();
    let e = request_cosignature_blocking(&endpoint, &log.note(1), 0, &[]).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(e, WitnessClientError::Unreachable { .. }), "{e}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}: {e}"
    );
    drop(silent);
}
