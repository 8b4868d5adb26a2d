//! End-to-end tests of the `vox` binary against a real server on 127.0.0.1 (started
//! in-process on a free port, with a fresh SQLite database per test): every command
//! group, the failure paths, and `vox demo`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct TestServer {
    rt: tokio::runtime::Runtime,
    server: Option<vox_server::RunningServer>,
    url: String,
    token: String,
    dir: PathBuf,
}

impl TestServer {
    fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "vox-cli-test-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = vox_server::ServerConfig::new(
            Some(format!("sqlite://{}", dir.join("vox.db").display())),
            "127.0.0.1:0".parse().unwrap(),
        );
        let server = rt.block_on(vox_server::start(config)).unwrap();
        let url = format!("http://{}", server.local_addr());
        let token = server.authority_token().unwrap();
        Self {
            rt,
            server: Some(server),
            url,
            token,
            dir,
        }
    }

    /// Run `vox ARGS` in the test directory with the server and token in the environment.
    fn vox(&self, args: &[&str]) -> Output {
        vox_in(
            &self.dir,
            &[("VOX_SERVER", &self.url), ("VOX_TOKEN", &self.token)],
            args,
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.vox(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "vox {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Run a command expected to fail; returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.vox(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "vox {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    fn path(&self, p: &str) -> String {
        self.dir.join(p).display().to_string()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = self.rt.block_on(s.shutdown());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn vox_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vox"));
    c.args(args)
        .current_dir(dir)
        .env_remove("VOX_SERVER")
        .env_remove("VOX_TOKEN")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[cfg(unix)]
fn mode(p: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn every_command_against_a_real_server() {
    let s = TestServer::start("cycle");
    let cred = |i: usize| s.path(&format!("el/credentials/voter-{i:04}.txt"));

    // Authority without a token: a clear refusal.
    let out = vox_in(
        &s.dir,
        &[("VOX_SERVER", &s.url)],
        &["authority", "petition", "respond", "x", "--text", "t"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no authority token"));

    // Electorate with credential files.
    s.ok(&[
        "authority",
        "electorate",
        "create",
        "--voters",
        "12",
        "--regions",
        "north,south",
        "--out",
        &s.path("el"),
        "--id",
        "e1",
        "--name",
        "Test town",
    ]);
    assert!(Path::new(&s.path("el/electorate.json")).exists());
    let csv = std::fs::read_to_string(s.path("el/credentials.csv")).unwrap();
    assert_eq!(csv.lines().count(), 13);
    #[cfg(unix)]
    {
        assert_eq!(mode(&cred(1)), 0o600);
        assert_eq!(mode(&s.path("el/credentials.csv")), 0o600);
    }
    assert!(s
        .ok(&["authority", "electorate", "show", "e1"])
        .contains("12 credentials"));

    // Petition: propose, sponsor, publish, sign past the thresholds, withdraw, respond.
    s.ok(&[
        "voter",
        "propose",
        "--credential",
        &cred(1),
        "--id",
        "p1",
        "--action",
        "Plant trees on Main Street",
        "--background",
        "Shade and cleaner air.",
        "--sponsors",
        "2",
        "--response-threshold",
        "3",
        "--referendum-threshold",
        "4",
        "--region-min-group",
        "1",
    ]);
    s.ok(&["voter", "sign", "p1", "--credential", &cred(2)]);
    s.ok(&[
        "authority",
        "petition",
        "moderate",
        "p1",
        "--publish",
        "--days",
        "10",
    ]);
    for i in 3..=5 {
        s.ok(&["voter", "sign", "p1", "--credential", &cred(i)]);
    }
    let err = s.fails(&["voter", "sign", "p1", "--credential", &cred(3)]);
    assert!(err.contains("refused"), "{err}");
    let out = s.ok(&[
        "voter",
        "sign",
        "p1",
        "--credential",
        &cred(5),
        "--withdraw",
    ]);
    assert!(out.contains("withdrew"), "{out}");
    s.ok(&[
        "authority",
        "petition",
        "respond",
        "p1",
        "--text",
        "We will ask everyone.",
    ]);
    let list = s.ok(&["voter", "list"]);
    assert!(list.contains("p1"), "{list}");

    // Trustees and the referendum from the petition.
    for t in 1..=3 {
        let out = s.ok(&[
            "trustee",
            "keygen",
            "--out",
            &s.path(&format!("t{t}.key")),
            "--name",
            &format!("T{t}"),
        ]);
        assert!(out.contains("public key"));
        #[cfg(unix)]
        assert_eq!(mode(&s.path(&format!("t{t}.key"))), 0o600);
    }
    // keygen never overwrites a key.
    s.fails(&["trustee", "keygen", "--out", &s.path("t1.key")]);
    // The authority is refused a secret key file.
    let err = s.fails(&[
        "authority",
        "referendum",
        "create",
        "--from-petition",
        "p1",
        "--question",
        "Plant?",
        "--trustee",
        &s.path("t1.key"),
        "--id",
        "bad",
    ]);
    assert!(err.contains("SECRET"), "{err}");
    s.ok(&[
        "authority",
        "referendum",
        "create",
        "--from-petition",
        "p1",
        "--id",
        "r1",
        "--question",
        "Should the town plant trees on Main Street?",
        "--choose-one",
        "Which trees?",
        "--option",
        "oak",
        "--option",
        "lime",
        "--option",
        "birch",
        "--trustee",
        &s.path("t1.key.pub"),
        "--trustee",
        &s.path("t2.key.pub"),
        "--trustee",
        &s.path("t3.key.pub"),
        "--threshold",
        "2",
    ]);

    // Voting before the ceremony: refused.
    let err = s.fails(&[
        "vote",
        "r1",
        "--credential",
        &cred(1),
        "--choice",
        "q1=yes",
        "--choice",
        "q2=oak",
    ]);
    assert!(err.contains("key") || err.contains("not open"), "{err}");

    // The ceremony: three trustee processes at once, each polling until done.
    let children: Vec<_> = (1..=3)
        .map(|t| {
            Command::new(env!("CARGO_BIN_EXE_vox"))
                .args([
                    "trustee",
                    "ceremony",
                    "--server",
                    &s.url,
                    "--referendum",
                    "r1",
                    "--index",
                    &t.to_string(),
                    "--key",
                    &s.path(&format!("t{t}.key")),
                    "--state",
                    &s.path(&format!("t{t}.state")),
                    "--wait",
                    "--timeout",
                    "60",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ceremony failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    #[cfg(unix)]
    assert_eq!(mode(&s.path("t1.state")), 0o600);
    // Re-running is harmless.
    let again = s.ok(&[
        "trustee",
        "ceremony",
        "--referendum",
        "r1",
        "--server",
        &s.url,
        "--key",
        &s.path("t1.key"),
        "--state",
        &s.path("t1.state"),
    ]);
    assert!(again.contains("complete"), "{again}");
    s.ok(&["authority", "referendum", "open", "r1"]);

    // Votes: plain, audited, re-vote.
    let out = s.ok(&[
        "vote",
        "r1",
        "--credential",
        &cred(1),
        "--choice",
        "q1=yes",
        "--choice",
        "q2=lime",
        "--receipt-out",
        &s.path("rc1.json"),
    ]);
    assert!(out.contains("Tracking code"), "{out}");
    let out = s.ok(&[
        "voter",
        "vote",
        "r1",
        "--credential",
        &cred(2),
        "--choice",
        "q1=no",
        "--choice",
        "q2=1",
        "--audit",
        "--receipt-out",
        &s.path("rc2.json"),
    ]);
    assert!(out.contains("Audit"), "{out}");
    s.ok(&[
        "vote",
        "r1",
        "--credential",
        &cred(3),
        "--choice",
        "1=yes",
        "--choice",
        "2=birch",
        "--receipt-out",
        &s.path("rc3a.json"),
    ]);
    s.ok(&[
        "vote",
        "r1",
        "--credential",
        &cred(3),
        "--choice",
        "q1=no",
        "--choice",
        "q2=birch",
        "--receipt-out",
        &s.path("rc3b.json"),
    ]);
    // Bad choices are refused before anything is sent.
    let err = s.fails(&[
        "vote",
        "r1",
        "--credential",
        &cred(4),
        "--choice",
        "q1=maybe",
        "--choice",
        "q2=oak",
    ]);
    assert!(err.contains("maybe"), "{err}");
    let err = s.fails(&["vote", "r1", "--credential", &cred(4), "--choice", "q1=yes"]);
    assert!(err.contains("q2"), "{err}");

    // A credential that is not in the electorate: a clear error (local check, and the
    // server's own refusal for a bare credential file).
    let outsider = vox_crypto::credential::Credential::generate(&mut rand::rngs::OsRng);
    std::fs::write(
        s.path("outsider.txt"),
        format!("electorate: e1\ncredential: {}\n", outsider.text()),
    )
    .unwrap();
    let err = s.fails(&[
        "vote",
        "r1",
        "--credential",
        &s.path("outsider.txt"),
        "--choice",
        "q1=yes",
        "--choice",
        "q2=oak",
    ]);
    assert!(err.contains("not in the electorate"), "{err}");
    std::fs::write(s.path("outsider2.txt"), outsider.text()).unwrap();
    let err = s.fails(&[
        "vote",
        "r1",
        "--credential",
        &s.path("outsider2.txt"),
        "--choice",
        "q1=yes",
        "--choice",
        "q2=oak",
    ]);
    assert!(err.contains("not accepted") && err.contains("422"), "{err}");
    let err = s.fails(&[
        "voter",
        "sign",
        "p1",
        "--credential",
        &s.path("outsider2.txt"),
    ]);
    assert!(err.contains("refused"), "{err}");

    // Receipts.
    let out = s.ok(&["voter", "check-receipt", &s.path("rc1.json")]);
    assert!(out.contains("status: counted"), "{out}");
    let out = s.ok(&["voter", "check-receipt", &s.path("rc3a.json")]);
    assert!(out.contains("superseded"), "{out}");
    let mut tampered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.path("rc1.json")).unwrap()).unwrap();
    tampered["leaf_index"] = serde_json::json!(tampered["leaf_index"].as_u64().unwrap() + 1);
    std::fs::write(s.path("tampered.json"), tampered.to_string()).unwrap();
    let err = s.fails(&["voter", "check-receipt", &s.path("tampered.json")]);
    assert!(err.contains("RECEIPT INVALID"), "{err}");

    // A decryption share before close: refused.
    let decrypt = |t: u32| {
        s.vox(&[
            "trustee",
            "decrypt",
            "--server",
            &s.url,
            "--referendum",
            "r1",
            "--key",
            &s.path(&format!("t{t}.key")),
            "--state",
            &s.path(&format!("t{t}.state")),
        ])
    };
    let out = decrypt(1);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is open") && err.contains("closed"), "{err}");

    // Close; voting is then refused; decrypting before the tally too.
    s.ok(&["authority", "referendum", "close", "r1"]);
    let err = s.fails(&[
        "vote",
        "r1",
        "--credential",
        &cred(5),
        "--choice",
        "q1=yes",
        "--choice",
        "q2=oak",
    ]);
    assert!(err.contains("closed"), "{err}");
    assert!(!decrypt(3).status.success());
    s.ok(&["authority", "referendum", "tally", "r1"]);
    for t in [1, 3] {
        let out = decrypt(t);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = s.ok(&["authority", "referendum", "publish", "r1"]);
    // Ballots counted: voter 1 yes/lime, voter 2 no/oak, voter 3 no/birch.
    assert!(out.contains("counted ballots: 3"), "{out}");
    let show = s.ok(&["authority", "referendum", "show", "r1"]);
    assert!(show.contains("published"), "{show}");

    // Export and verify.
    let rec = s.path("record");
    s.ok(&["authority", "export", "--referendum", "r1", "--out", &rec]);
    for f in ["record.json", "entries.jsonl", "tree-heads.jsonl"] {
        assert!(Path::new(&rec).join(f).exists(), "{f}");
    }
    let err = s.fails(&["authority", "export", "--referendum", "r1", "--out", &rec]);
    assert!(err.contains("not empty"), "{err}");
    let verdict = vox_cli::demo::verify_record(Path::new(&rec)).unwrap();
    assert!(verdict.passed, "{}", verdict.human);
}

#[test]
fn serve_prints_address_and_writes_the_token_once() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("vox-cli-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("token");
    let _ = std::fs::remove_file(&token);
    let db = format!("sqlite://{}", dir.join("serve.db").display());
    let start = |token_file: &Path| {
        Command::new(env!("CARGO_BIN_EXE_vox"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &db,
                "--token-file",
            ])
            .arg(token_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = start(&token);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let second = lines.next().unwrap().unwrap();
    assert!(second.contains("token written"), "{second}");
    let body = ureq::get(&format!("{url}/healthz"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(body.contains("ok"));
    let t = std::fs::read_to_string(&token).unwrap();
    assert!(!t.trim().is_empty());
    #[cfg(unix)]
    assert_eq!(mode(&token.display().to_string()), 0o600);
    child.kill().unwrap();
    child.wait().unwrap();
    // A second start of the same database does not issue a new token.
    let mut child = start(&dir.join("token2"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _ = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    assert!(second.contains("first start"), "{second}");
    assert!(!dir.join("token2").exists());
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_with_30_voters_exports_and_verifies_its_record() {
    let dir = std::env::temp_dir().join(format!("vox-cli-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = vox_in(&dir, &[], &["demo", "--voters", "30", "--clients", "4"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verification PASSED"), "{stdout}");
    let records: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap().to_string_lossy().contains("record"))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].join("entries.jsonl").exists());
    let verdict = vox_cli::demo::verify_record(&records[0]).unwrap();
    assert!(verdict.passed, "{}", verdict.human);
    let _ = std::fs::remove_dir_all(&dir);
}
