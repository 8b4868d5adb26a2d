//! End-to-end tests of the `vox` binary against a real server on 127.0.0.1 (started
//! in-process on a free port, with a fresh SQLite database per test, from a genesis and
//! role keys made with `vox keys new` / `vox genesis new`): every command group, the
//! failure paths, role keys and the genesis, and `vox demo`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use vox_protocol::roles::Role;

fn unique_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vox-cli-test-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run `vox ARGS` in `dir`; panics unless it succeeds; returns stdout.
fn vox_ok(dir: &Path, args: &[&str]) -> String {
    let out = vox_in(dir, &[], args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "vox {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Run `vox ARGS` in `dir`, expected to fail; returns stderr.
fn vox_fails(dir: &Path, args: &[&str]) -> String {
    let out = vox_in(dir, &[], args);
    assert!(
        !out.status.success(),
        "vox {args:?} should have failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The four role key files (`vox keys new`, in DIR/keys/ROLE.key) and a genesis signed
/// by all of them (`vox genesis new`, DIR/genesis.json).
fn make_parties(dir: &Path, log_name: &str) -> PathBuf {
    for role in Role::ALL {
        let key = dir.join("keys").join(format!("{role}.key"));
        let out = vox_ok(
            dir,
            &[
                "keys",
                "new",
                "--role",
                role.name(),
                "--out",
                key.to_str().unwrap(),
            ],
        );
        assert_eq!(out.trim().len(), 64, "{out}");
    }
    let key = |r: &str| {
        dir.join("keys")
            .join(format!("{r}.key"))
            .display()
            .to_string()
    };
    let genesis = dir.join("genesis.json");
    vox_ok(
        dir,
        &[
            "genesis",
            "new",
            "--log-name",
            log_name,
            "--operator",
            &key("operator"),
            "--registrar",
            &key("registrar"),
            "--petitions-office",
            &key("petitions-office"),
            "--election-authority",
            &key("election-authority"),
            "--out",
            genesis.to_str().unwrap(),
        ],
    );
    genesis
}

struct TestServer {
    rt: tokio::runtime::Runtime,
    server: Option<vox_server::RunningServer>,
    url: String,
    /// Where the commands run (the parties' key files are in keys/).
    dir: PathBuf,
    /// The server's own directory (its database).
    server_dir: PathBuf,
}

impl TestServer {
    /// The key ceremony of referendum `id`: trustee processes 1..=`n` at once
    /// (`vox trustee ceremony --wait`, keys t{i}.key, state t{i}.state), each polling
    /// until done; every one must succeed.
    fn ceremony(&self, id: &str, n: u32) {
        let children: Vec<_> = (1..=n)
            .map(|t| {
                Command::new(env!("CARGO_BIN_EXE_vox"))
                    .args([
                        "trustee",
                        "ceremony",
                        "--server",
                        &self.url,
                        "--referendum",
                        id,
                        "--index",
                        &t.to_string(),
                        "--key",
                        &self.path(&format!("t{t}.key")),
                        "--state",
                        &self.path(&format!("t{t}.state")),
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
    }

    fn start(name: &str) -> Self {
        let dir = unique_dir(name);
        let server_dir = dir.join("server");
        let work = dir.join("work");
        std::fs::create_dir_all(&server_dir).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        let genesis = make_parties(&work, &format!("test.vox.invalid/{name}"));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut config = vox_server::ServerConfig::new(
            Some(format!("sqlite://{}", server_dir.join("vox.db").display())),
            "127.0.0.1:0".parse().unwrap(),
        );
        config.genesis = Some(vox_cli::keys::load_genesis(&genesis).unwrap());
        config.operator_key = Some(
            vox_cli::files::load_role_key(&work.join("keys/operator.key"))
                .unwrap()
                .key
                .clone(),
        );
        let server = rt.block_on(vox_server::start(config)).unwrap();
        let url = format!("http://{}", server.local_addr());
        Self {
            rt,
            server: Some(server),
            url,
            dir: work,
            server_dir,
        }
    }

    /// Run `vox ARGS` in the working directory with the server in the environment
    /// (and HOME there too: nothing may be written elsewhere).
    fn vox(&self, args: &[&str]) -> Output {
        vox_in(
            &self.dir,
            &[
                ("VOX_SERVER", &self.url),
                ("HOME", self.dir.to_str().unwrap()),
            ],
            args,
        )
    }

    /// `vox ARGS` as another device of the same citizen: its own state directory
    /// (`VOX_HOME`: pinned board keys, journal of cast ballots).
    fn other_device(&self, args: &[&str]) -> Output {
        let home = self.dir.join("other-device");
        vox_in(
            &self.dir,
            &[
                ("VOX_SERVER", &self.url),
                ("HOME", self.dir.to_str().unwrap()),
                ("VOX_HOME", home.to_str().unwrap()),
            ],
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

    /// `vox authority --key KEYS/ROLE.key ARGS`.
    fn auth_args(&self, role: &str, args: &[&str]) -> Vec<String> {
        let mut v = vec!["authority".to_owned(), "--key".to_owned(), self.key(role)];
        v.extend(args.iter().map(|a| (*a).to_owned()));
        v
    }

    /// An authority command signed with `role`'s key file; must succeed.
    /// Wait (at most 90 s) until `authority referendum show ID` says `state`: the board's
    /// scheduler opens, closes, tallies and publishes by itself.
    fn await_state(&self, id: &str, state: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            let show = self.ok(&["authority", "referendum", "show", id]);
            if show.contains(&format!("state {state}")) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "referendum {id} did not become {state}: {show}"
            );
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }

    /// Three trustee keys (tp1..tp3.key) and the election authority's standing panel of
    /// them (2 of 3): a petition can be published only with a panel in force.
    fn set_panel(&self) {
        let mut args = vec!["panel".to_owned()];
        for t in 1..=3 {
            let key = self.path(&format!("tp{t}.key"));
            self.ok(&[
                "trustee",
                "keygen",
                "--out",
                &key,
                "--name",
                &format!("P{t}"),
            ]);
            args.push("--trustee".into());
            args.push(format!("{key}.pub"));
        }
        self.auth(
            "election-authority",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }

    fn auth(&self, role: &str, args: &[&str]) -> String {
        let v = self.auth_args(role, args);
        self.ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// An authority command signed with `role`'s key file; must fail (stderr).
    fn auth_fails(&self, role: &str, args: &[&str]) -> String {
        let v = self.auth_args(role, args);
        self.fails(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn key(&self, role: &str) -> String {
        self.path(&format!("keys/{role}.key"))
    }

    fn path(&self, p: &str) -> String {
        self.dir.join(p).display().to_string()
    }

    /// `n` citizens make their credentials on their "devices" (`vox voter keygen`,
    /// `el/credentials/voter-000i.txt`) and hand their enrolment requests
    /// (`el/requests/`) to the registrar, who registers electorate `id` from them.
    fn enrol(&self, id: &str, n: usize, regions: &[&str]) -> String {
        std::fs::create_dir_all(self.dir.join("el/credentials")).unwrap();
        std::fs::create_dir_all(self.dir.join("el/requests")).unwrap();
        for i in 1..=n {
            let cred = self.path(&format!("el/credentials/voter-{i:04}.txt"));
            let req = self.path(&format!("el/requests/voter-{i:04}.json"));
            let mut args = vec![
                "voter",
                "keygen",
                "--electorate",
                id,
                "--out",
                &cred,
                "--request-out",
                &req,
            ];
            if !regions.is_empty() {
                args.extend(["--region", regions[(i - 1) % regions.len()]]);
            }
            self.ok(&args);
        }
        self.auth(
            "registrar",
            &[
                "electorate",
                "create",
                "--requests",
                &self.path("el/requests"),
                "--out",
                &self.path("el"),
                "--id",
                id,
                "--name",
                "Test town",
            ],
        )
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = self.rt.block_on(s.shutdown());
        }
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}

fn vox_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vox"));
    c.args(args)
        .current_dir(dir)
        .env_remove("VOX_SERVER")
        .env_remove("VOX_ROLE_KEY")
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

    // An act without a key: a clear refusal, before anything is sent.
    let err = s.fails(&["authority", "petition", "respond", "x", "--text", "t"]);
    assert!(
        err.contains("petitions office") && err.contains("--key FILE"),
        "{err}"
    );

    // Electorate: every citizen makes a credential on their own device and hands the
    // registrar only an enrolment request.
    let out = s.enrol("e1", 12, &["north", "south"]);
    assert!(out.contains("12 enrolment requests checked"), "{out}");
    assert!(Path::new(&s.path("el/electorate.json")).exists());
    assert!(!Path::new(&s.path("el/credentials.csv")).exists());
    #[cfg(unix)]
    {
        assert_eq!(mode(&cred(1)), 0o600);
    }
    // A request holds the public key and no secret; a tampered request is refused.
    let req_text = std::fs::read_to_string(s.path("el/requests/voter-0001.json")).unwrap();
    let cred_text = std::fs::read_to_string(cred(1)).unwrap();
    let secret = cred_text
        .lines()
        .find_map(|l| l.strip_prefix("credential: "))
        .unwrap()
        .trim()
        .to_owned();
    assert!(!req_text.contains(&secret) && !req_text.contains(&secret.replace('-', "")));
    let mut forged: serde_json::Value = serde_json::from_str(&req_text).unwrap();
    forged["region"] = serde_json::json!("elsewhere");
    std::fs::write(s.path("forged.json"), forged.to_string()).unwrap();
    let err = s.auth_fails(
        "registrar",
        &[
            "electorate",
            "create",
            "--requests",
            &s.path("forged.json"),
            "--out",
            &s.path("el-forged"),
            "--id",
            "e1",
        ],
    );
    assert!(err.contains("does not prove possession"), "{err}");
    // A citizen checks their own enrolment from the credential file alone; a credential
    // the registrar never registered is told so.
    let out = s.ok(&["voter", "check-enrolment", "--credential", &cred(1)]);
    assert!(
        out.contains("ENROLLED") && out.contains("region north"),
        "{out}"
    );
    let stray = s.path("stray.txt");
    s.ok(&["voter", "keygen", "--electorate", "e1", "--out", &stray]);
    let err = s.fails(&["voter", "check-enrolment", "--credential", &stray]);
    assert!(err.contains("NOT ENROLLED"), "{err}");
    assert!(s
        .ok(&["authority", "electorate", "show", "e1"])
        .contains("12 credentials"));

    // Trustees and the election authority's standing panel: the referendum the
    // petition triggers gets these trustees. Without a panel, no publication.
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
    let err = s.auth_fails(
        "election-authority",
        &["panel", "--trustee", &s.path("t1.key")],
    );
    assert!(err.contains("SECRET"), "{err}");
    let out = s.ok(&["authority", "panel", "--show"]);
    assert!(out.contains("no trustee panel"), "{out}");
    let out = s.auth(
        "election-authority",
        &[
            "panel",
            "--trustee",
            &s.path("t1.key.pub"),
            "--trustee",
            &s.path("t2.key.pub"),
            "--trustee",
            &s.path("t3.key.pub"),
            "--threshold",
            "2",
        ],
    );
    assert!(out.contains("2 of 3 trustees"), "{out}");
    let out = s.ok(&["authority", "panel", "--show"]);
    assert!(out.contains("T1") && out.contains("2 of 3"), "{out}");

    // The operator's witness policy (11 §11.6): only its key signs a change; with no
    // quorum in force (this genesis names no witness) it takes effect at once. Quorum 0
    // keeps the rest of this test from waiting for a witness that does not run.
    let w_pub = vox_protocol::board::BoardPublicKey(
        ed25519_dalek::SigningKey::from_bytes(&[0x57; 32]).verifying_key(),
    )
    .to_hex();
    let err = s.auth_fails(
        "registrar",
        &["witnesses", "--witness", &w_pub, "--quorum", "0"],
    );
    assert!(err.contains("operator"), "{err}");
    let err = s.auth_fails(
        "operator",
        &["witnesses", "--witness", &w_pub, "--quorum", "2"],
    );
    assert!(err.contains("more than the 1 witnesses"), "{err}");
    let err = s.auth_fails("operator", &["witnesses", "--witness", "not-a-key"]);
    assert!(err.contains("witness key not-a-key"), "{err}");
    let out = s.auth(
        "operator",
        &["witnesses", "--witness", &w_pub, "--quorum", "0"],
    );
    assert!(out.contains("witness policy in force (since leaf"), "{out}");
    assert!(out.contains(&w_pub), "{out}");
    let out = s.ok(&["authority", "witnesses", "--show"]);
    assert!(out.contains(&w_pub) && !out.contains("pending"), "{out}");

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
    // Ring-signed (the default): the proposer counts only by signing too.
    let out = s.ok(&["voter", "sign", "p1", "--credential", &cred(1)]);
    // The answer is checked as a receipt: the entry is the posted signature, included
    // under the board-signed head.
    assert!(
        out.contains("receipt checked: the signature is leaf") && out.contains("inclusion proof"),
        "{out}"
    );
    // ... and saved (by default in the working directory), to be checked again later.
    let receipt1 = out
        .lines()
        .find_map(|l| l.strip_prefix("Receipt:"))
        .map(|p| s.dir.join(p.trim()).display().to_string())
        .expect("the receipt's path is printed");
    assert!(receipt1.contains("signature-receipt-p1-"), "{receipt1}");
    s.ok(&["voter", "sign", "p1", "--credential", &cred(2)]);
    // Longer than the petition's open period (180 days by default): refused locally.
    let err = s.auth_fails(
        "petitions-office",
        &[
            "petition",
            "moderate",
            "p1",
            "--publish",
            "--open-for",
            "200d",
        ],
    );
    assert!(err.contains("at most 180 days"), "{err}");
    // The referendum the threshold obliges: r1, voting opening 20 s after the threshold
    // (the trustees' ceremony runs in between) and lasting 40 s.
    let out = s.auth(
        "petitions-office",
        &[
            "petition",
            "moderate",
            "p1",
            "--publish",
            "--open-for",
            "10d",
            "--referendum-id",
            "r1",
            "--referendum-question",
            "Should the town plant trees on Main Street?",
            "--referendum-choose-one",
            "Which trees?",
            "--referendum-option",
            "oak",
            "--referendum-option",
            "lime",
            "--referendum-option",
            "birch",
            "--opens-after",
            "20s",
            "--voting",
            "40s",
        ],
    );
    assert!(
        out.contains("will close at") && out.contains("open for 10 days"),
        "{out}"
    );
    assert!(
        out.contains("triggers referendum r1") && out.contains("lasts 40 s"),
        "{out}"
    );
    // Published once: moderating again is refused by the rules (409), not by the key.
    let err = s.auth_fails(
        "petitions-office",
        &["petition", "moderate", "p1", "--publish"],
    );
    assert!(err.contains("409"), "{err}");
    for i in 3..=5 {
        let receipt = s.path(&format!("sig{i}.json"));
        s.ok(&[
            "voter",
            "sign",
            "p1",
            "--credential",
            &cred(i),
            "--receipt-out",
            &receipt,
        ]);
    }
    let err = s.fails(&["voter", "sign", "p1", "--credential", &cred(3)]);
    assert!(err.contains("refused"), "{err}");
    // The fourth signature reached the referendum threshold: the board created r1 by
    // itself, with the panel's trustees.
    let show = s.ok(&["authority", "referendum", "show", "r1"]);
    assert!(show.contains("key-ceremony"), "{show}");
    let out = s.ok(&[
        "voter",
        "sign",
        "p1",
        "--credential",
        &cred(5),
        "--withdraw",
    ]);
    assert!(out.contains("withdrew"), "{out}");
    // Signature receipts checked later (07 §7.10 R1–R6): the standing is read from the
    // board's entries after the signature, checked against the current signed root.
    let check = s.ok(&["voter", "check-receipt", &receipt1]);
    assert!(
        check.contains("hash to the current signed root")
            && check.contains("status: counted")
            && check.contains("linking tag"),
        "{check}"
    );
    let check = s.ok(&["voter", "check-receipt", &s.path("sig5.json")]);
    assert!(check.contains("status: withdrawn at leaf"), "{check}");
    // The petitions office invalidates citizen 4's signature by its tag (from the
    // receipt: the office would read it off the board entry).
    let sig4: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.path("sig4.json")).unwrap()).unwrap();
    let tag4 = sig4["signer"]["tag"].as_str().unwrap().to_owned();
    s.auth(
        "petitions-office",
        &[
            "petition",
            "invalidate",
            "p1",
            "--tag",
            &tag4,
            "--reason",
            "signed twice from one device farm",
        ],
    );
    let check = s.ok(&["voter", "check-receipt", &s.path("sig4.json")]);
    assert!(
        check.contains("status: invalidated by the petitions office")
            && check.contains("signed twice from one device farm"),
        "{check}"
    );
    // A receipt whose inclusion proof was altered is refused.
    let mut bad = sig4.clone();
    let node = bad["inclusion_proof"][0].as_str().unwrap().to_owned();
    let flipped = if node.starts_with('0') { "1" } else { "0" };
    bad["inclusion_proof"][0] = serde_json::Value::from(format!("{flipped}{}", &node[1..]));
    std::fs::write(s.path("bad-sig.json"), bad.to_string()).unwrap();
    let err = s.fails(&["voter", "check-receipt", &s.path("bad-sig.json")]);
    assert!(err.contains("RECEIPT INVALID"), "{err}");
    s.auth(
        "petitions-office",
        &[
            "petition",
            "respond",
            "p1",
            "--text",
            "We will ask everyone.",
        ],
    );
    let list = s.ok(&["voter", "list"]);
    assert!(list.contains("p1"), "{list}");

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
    s.ceremony("r1", 3);
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
    // The board opens voting by itself at opens_at; before that the nudge is refused.
    s.await_state("r1", "open");

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
    // A ring-signed petition: the device finds no ring for it and sends nothing.
    assert!(
        err.contains("in none of the petition's rings") && err.contains("nothing was sent"),
        "{err}"
    );

    // Receipts.
    let out = s.ok(&["voter", "check-receipt", &s.path("rc1.json")]);
    assert!(out.contains("status: counted"), "{out}");
    // The standing is read from the board's entries after the ballot (04 §4.8).
    assert!(
        out.contains("hash to the current signed root; the standing is read from them"),
        "{out}"
    );
    let out = s.ok(&["voter", "check-receipt", &s.path("rc3a.json")]);
    assert!(out.contains("superseded"), "{out}");
    let mut tampered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.path("rc1.json")).unwrap()).unwrap();
    tampered["leaf_index"] = serde_json::json!(tampered["leaf_index"].as_u64().unwrap() + 1);
    std::fs::write(s.path("tampered.json"), tampered.to_string()).unwrap();
    let err = s.fails(&["voter", "check-receipt", &s.path("tampered.json")]);
    assert!(err.contains("RECEIPT INVALID"), "{err}");

    // Voter 3 votes again from another device (same choices, so the result below is
    // unchanged): that device sees on the board a ballot it did not cast, an alarm, and
    // its ballot names it as `previous` (04 §4.8). This device then finds its ballot
    // superseded by a ballot it did not cast: an alarm, and the check fails; the other
    // device knows that ballot as its own.
    let out = s.other_device(&[
        "vote",
        "r1",
        "--credential",
        &cred(3),
        "--choice",
        "q1=no",
        "--choice",
        "q2=birch",
        "--receipt-out",
        &s.path("rc3c.json"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "ALARM: the board holds a ballot of this credential that this device did not cast"
        ),
        "{err}"
    );
    let err = s.fails(&["voter", "check-receipt", &s.path("rc3b.json")]);
    assert!(
        err.contains("superseded by a ballot this device did not cast"),
        "{err}"
    );
    let out = s.other_device(&["voter", "check-receipt", &s.path("rc3b.json")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("superseded by your later ballot"),
        "{stdout}"
    );

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

    // Nothing closes a referendum before its closes_at (refused locally); the board
    // closes it by itself then, and tallies; voting is then refused.
    let err = s.fails(&["authority", "referendum", "close", "r1"]);
    assert!(err.contains("nothing closes a referendum earlier"), "{err}");
    s.await_state("r1", "tallied");
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
    assert!(err.contains("closed") || err.contains("tallied"), "{err}");
    for t in [1, 3] {
        let out = decrypt(t);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The board publishes the result once two shares are in.
    s.await_state("r1", "published");
    let show = s.ok(&["authority", "referendum", "show", "r1"]);
    // Ballots counted: voter 1 yes/lime, voter 2 no/oak, voter 3 no/birch.
    assert!(show.contains("counted ballots: 3"), "{show}");

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

    // The verifier checks signature receipts against the record too (V14, 07 §7.10):
    // the standing of each, read from the record's later entries; a receipt naming
    // another signer than its leaf's entry fails.
    let signature_receipt = |name: &str| -> vox_protocol::signature_receipt::SignatureReceipt {
        serde_json::from_str(&std::fs::read_to_string(s.path(name)).unwrap()).unwrap()
    };
    let named = |name: &str, receipt| vox_verifier::NamedSignatureReceipt {
        name: name.to_owned(),
        receipt,
    };
    let mut forged = signature_receipt("sig3.json");
    forged.signer = signature_receipt("sig4.json").signer;
    let verify_with = |receipts| {
        let options = vox_verifier::Options {
            signature_receipts: receipts,
            ..vox_verifier::Options::default()
        };
        let source = vox_verifier::dir::DirSource::new(Path::new(&rec));
        vox_verifier::verify_record(&source, options, &mut vox_verifier::NoProgress).unwrap()
    };
    let report = verify_with(
        ["sig3.json", "sig4.json", "sig5.json"]
            .into_iter()
            .map(|n| named(n, signature_receipt(n)))
            .collect(),
    );
    let step = report.step(vox_verifier::StepId::Receipts).unwrap();
    assert_eq!(step.status, vox_verifier::Status::Pass, "{step:?}");
    for expected in [
        "sig3.json: signature of petition p1 at leaf",
        ": counted as of entry",
        "sig4.json: signature of petition p1 at leaf",
        "invalidated by the petitions office at leaf",
        "(signed twice from one device farm)",
        "sig5.json: signature of petition p1 at leaf",
        ": withdrawn at leaf",
    ] {
        assert!(
            step.detail.contains(expected),
            "{expected}: {}",
            step.detail
        );
    }
    let report = verify_with(vec![named("forged.json", forged)]);
    let step = report.step(vox_verifier::StepId::Receipts).unwrap();
    assert_eq!(step.status, vox_verifier::Status::Fail, "{step:?}");
    assert!(
        step.failures
            .iter()
            .any(|f| f.message.contains("not the receipt's petition signature")),
        "{step:?}"
    );
}

/// Start `vox serve ARGS` on a free port; returns the child and its first stdout lines
/// (up to the log line), or the child's stderr if it exited.
fn spawn_serve(dir: &Path, args: &[&str]) -> Result<(std::process::Child, String, String), String> {
    use std::io::{BufRead, BufReader, Read};
    let mut child = Command::new(env!("CARGO_BIN_EXE_vox"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    match lines.next() {
        Some(Ok(first)) => {
            let url = first.rsplit(' ').next().unwrap().to_owned();
            let second = lines.next().map(|l| l.unwrap()).unwrap_or_default();
            assert!(url.starts_with("http://127.0.0.1:"), "{first}");
            Ok((child, url, second))
        }
        _ => {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            child.wait().unwrap();
            Err(err)
        }
    }
}

fn stop(mut child: std::process::Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn serve_with_a_genesis_and_the_operator_key() {
    let dir = unique_dir("serve");
    let genesis = make_parties(&dir, "test.vox.invalid/serve");
    let g: vox_protocol::roles::Genesis =
        serde_json::from_str(&std::fs::read_to_string(&genesis).unwrap()).unwrap();
    let db = format!("sqlite://{}", dir.join("serve.db").display());
    let op = dir.join("keys/operator.key").display().to_string();
    let gen = genesis.display().to_string();

    // An empty board needs a genesis.
    let err = spawn_serve(&dir, &["--database-url", &db, "--operator-key", &op]).unwrap_err();
    assert!(err.contains("genesis"), "{err}");
    // The operator key must be the operator's, and the one the genesis names.
    let reg = dir.join("keys/registrar.key").display().to_string();
    let err = spawn_serve(
        &dir,
        &[
            "--database-url",
            &db,
            "--genesis",
            &gen,
            "--operator-key",
            &reg,
        ],
    )
    .unwrap_err();
    assert!(err.contains("operator"), "{err}");
    let other = dir.join("other-operator.key").display().to_string();
    vox_ok(
        &dir,
        &["keys", "new", "--role", "operator", "--out", &other],
    );
    let err = spawn_serve(
        &dir,
        &[
            "--database-url",
            &db,
            "--genesis",
            &gen,
            "--operator-key",
            &other,
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("not the operator key the genesis names"),
        "{err}"
    );
    // An incomplete genesis is refused.
    let mut draft = g.clone();
    draft.signatures.pop();
    let draft_path = dir.join("draft.json");
    std::fs::write(&draft_path, serde_json::to_string(&draft).unwrap()).unwrap();
    let err = spawn_serve(
        &dir,
        &[
            "--database-url",
            &db,
            "--genesis",
            draft_path.to_str().unwrap(),
            "--operator-key",
            &op,
        ],
    )
    .unwrap_err();
    assert!(err.contains("election-authority"), "{err}");

    // Served: leaf 0 is the genesis; no token anywhere.
    let (child, url, second) = spawn_serve(
        &dir,
        &[
            "--database-url",
            &db,
            "--genesis",
            &gen,
            "--operator-key",
            &op,
        ],
    )
    .unwrap();
    assert!(second.contains(&g.log_id().to_hex()), "{second}");
    assert!(!second.to_lowercase().contains("token"), "{second}");
    let board: serde_json::Value = ureq::get(&format!("{url}/api/v1/board"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(board["log_id"], g.log_id().to_hex(), "{board}");
    assert_eq!(board["tree_size"], 1, "{board}");
    assert_eq!(
        board["genesis"],
        serde_json::to_value(&g).unwrap(),
        "{board}"
    );
    assert_eq!(
        board["roles"],
        serde_json::to_value(g.keys).unwrap(),
        "{board}"
    );
    stop(child);

    // Restart without --genesis: leaf 0 is there already.
    let (child, url2, _) =
        spawn_serve(&dir, &["--database-url", &db, "--operator-key", &op]).unwrap();
    let board: serde_json::Value = ureq::get(&format!("{url2}/api/v1/board"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(board["tree_size"], 1, "{board}");
    stop(child);

    // An operator key file that others can read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&op, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = spawn_serve(&dir, &["--database-url", &db, "--operator-key", &op]).unwrap_err();
        assert!(err.contains(&format!("chmod 600 {op}")), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn role_keys_and_the_genesis_round_trip() {
    let dir = unique_dir("keys");
    let key = |r: &str| dir.join(format!("{r}.key")).display().to_string();
    let mut public = std::collections::HashMap::new();
    for role in Role::ALL {
        let out = vox_ok(
            &dir,
            &[
                "keys",
                "new",
                "--role",
                role.name(),
                "--out",
                &key(role.name()),
            ],
        );
        public.insert(role, out.trim().to_owned());
        #[cfg(unix)]
        assert_eq!(mode(&key(role.name())), 0o600);
        let shown = vox_ok(&dir, &["keys", "show", &key(role.name())]);
        assert!(shown.contains(&format!("role: {role}")), "{shown}");
        assert!(shown.contains(out.trim()), "{shown}");
    }
    // Never overwritten.
    let before = std::fs::read(key("registrar")).unwrap();
    let err = vox_fails(
        &dir,
        &[
            "keys",
            "new",
            "--role",
            "registrar",
            "--out",
            &key("registrar"),
        ],
    );
    assert!(err.contains("refusing to overwrite"), "{err}");
    assert_eq!(std::fs::read(key("registrar")).unwrap(), before);
    // Unknown role.
    let err = vox_fails(
        &dir,
        &["keys", "new", "--role", "mayor", "--out", &key("mayor")],
    );
    assert!(err.contains("unknown role"), "{err}");
    // A key file others can read is refused, with the fix in the message.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let loose = key("loose");
        vox_ok(
            &dir,
            &["keys", "new", "--role", "registrar", "--out", &loose],
        );
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = vox_fails(&dir, &["keys", "show", &loose]);
        assert!(err.contains(&format!("chmod 600 {loose}")), "{err}");
        let err = vox_fails(
            &dir,
            &[
                "authority",
                "--key",
                &loose,
                "--server",
                "http://127.0.0.1:9",
                "electorate",
                "create",
                "--requests",
                &dir.join("requests").display().to_string(),
                "--id",
                "e1",
                "--out",
                &dir.join("el").display().to_string(),
            ],
        );
        assert!(err.contains(&format!("chmod 600 {loose}")), "{err}");
        assert!(
            !dir.join("el").exists(),
            "nothing is written before the key is read"
        );
    }

    // Draft with two key files and two public keys: two signatures missing.
    let genesis = dir.join("genesis.json").display().to_string();
    let out = vox_ok(
        &dir,
        &[
            "genesis",
            "new",
            "--log-name",
            "test.vox.invalid/keys",
            "--operator",
            &key("operator"),
            "--registrar",
            &public[&Role::Registrar],
            "--petitions-office",
            &key("petitions-office"),
            "--election-authority",
            &public[&Role::ElectionAuthority],
            "--out",
            &genesis,
        ],
    );
    assert!(out.contains("registrar, election-authority"), "{out}");
    let show = vox_ok(&dir, &["genesis", "show", &genesis]);
    assert!(
        show.contains("NOT SIGNED") && show.contains("valid:       no"),
        "{show}"
    );
    for role in Role::ALL {
        assert!(show.contains(&public[&role]), "{show}");
    }
    let err = vox_fails(&dir, &["genesis", "show", "--check", &genesis]);
    assert!(err.contains("missing"), "{err}");
    // A key that is not in the genesis cannot sign it; a key file for the wrong role
    // cannot be given for another.
    let stranger = key("stranger");
    vox_ok(
        &dir,
        &["keys", "new", "--role", "registrar", "--out", &stranger],
    );
    let err = vox_fails(&dir, &["genesis", "sign", "--key", &stranger, &genesis]);
    assert!(err.contains("another key"), "{err}");
    let err = vox_fails(
        &dir,
        &[
            "genesis",
            "new",
            "--log-name",
            "x",
            "--operator",
            &key("registrar"),
            "--registrar",
            &public[&Role::Registrar],
            "--petitions-office",
            &public[&Role::PetitionsOffice],
            "--election-authority",
            &public[&Role::ElectionAuthority],
            "--out",
            &dir.join("g2.json").display().to_string(),
        ],
    );
    assert!(err.contains("registrar key file"), "{err}");
    // The two missing roles sign.
    vox_ok(
        &dir,
        &["genesis", "sign", "--key", &key("registrar"), &genesis],
    );
    let out = vox_ok(
        &dir,
        &[
            "genesis",
            "sign",
            "--key",
            &key("election-authority"),
            &genesis,
        ],
    );
    assert!(out.contains("complete"), "{out}");
    let show = vox_ok(&dir, &["genesis", "show", "--check", &genesis]);
    assert!(
        show.contains("valid:       yes") && !show.contains("NOT SIGNED"),
        "{show}"
    );
    let g = vox_cli::keys::load_genesis(Path::new(&genesis)).unwrap();
    assert_eq!(g.keys.registrar.to_hex(), public[&Role::Registrar]);
    assert!(show.contains(&g.log_id().to_hex()), "{show}");
    // Re-genesis after a compromise: a new log (new operator key) names this one as its
    // predecessor; naming itself, or a malformed link, is refused.
    let link = format!("{}:7:{}", g.log_id().to_hex(), "ab".repeat(32));
    let new_operator = key("operator-2");
    vox_ok(
        &dir,
        &["keys", "new", "--role", "operator", "--out", &new_operator],
    );
    let regenesis = |operator: &str, replaces: &str, out: &str| {
        vec![
            "genesis".to_owned(),
            "new".into(),
            "--log-name".into(),
            "test.vox.invalid/keys-2".into(),
            "--operator".into(),
            operator.into(),
            "--registrar".into(),
            public[&Role::Registrar].clone(),
            "--petitions-office".into(),
            public[&Role::PetitionsOffice].clone(),
            "--election-authority".into(),
            public[&Role::ElectionAuthority].clone(),
            "--replaces".into(),
            replaces.into(),
            "--out".into(),
            dir.join(out).display().to_string(),
        ]
    };
    let args = regenesis(&new_operator, &link, "g3.json");
    vox_ok(&dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let show3 = vox_ok(
        &dir,
        &[
            "genesis",
            "show",
            &dir.join("g3.json").display().to_string(),
        ],
    );
    assert!(
        show3.contains(&format!(
            "predecessor: log {} at size 7",
            g.log_id().to_hex()
        )),
        "{show3}"
    );
    let args = regenesis(&key("operator"), &link, "g4.json");
    let err = vox_fails(&dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("new operator key"), "{err}");
    let args = regenesis(&new_operator, "nonsense", "g5.json");
    let err = vox_fails(&dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("LOG_ID:SIZE:ROOT"), "{err}");
    // Never overwritten.
    let err = vox_fails(
        &dir,
        &[
            "genesis",
            "new",
            "--log-name",
            "x",
            "--operator",
            &public[&Role::Operator],
            "--registrar",
            &public[&Role::Registrar],
            "--petitions-office",
            &public[&Role::PetitionsOffice],
            "--election-authority",
            &public[&Role::ElectionAuthority],
            "--out",
            &genesis,
        ],
    );
    assert!(err.contains("refusing to overwrite"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn authority_acts_need_their_role_key_and_write_no_secret_elsewhere() {
    let s = TestServer::start("secrets");
    let cred = |i: usize| s.path(&format!("el/credentials/voter-{i:04}.txt"));
    s.enrol("e1", 4, &[]);
    s.set_panel();
    s.ok(&[
        "voter",
        "propose",
        "--credential",
        &cred(1),
        "--id",
        "p1",
        "--action",
        "Open the pool on Sundays",
        "--background",
        "Families.",
        "--sponsors",
        "2",
        "--response-threshold",
        "3",
        "--referendum-threshold",
        "4",
        "--region-min-group",
        "1",
    ]);
    // Ring-signed (the default): the proposer counts only by signing too.
    s.ok(&["voter", "sign", "p1", "--credential", &cred(1)]);
    s.ok(&["voter", "sign", "p1", "--credential", &cred(2)]);

    // The wrong role's key: the server's 403, naming the role whose key is needed.
    let before = s.ok(&["voter", "list"]);
    let err = s.auth_fails("registrar", &["petition", "moderate", "p1", "--publish"]);
    assert!(err.contains("403") && err.contains("Forbidden"), "{err}");
    assert!(err.contains("petitions office"), "{err}");
    assert!(err.contains("registrar key"), "{err}");
    assert_eq!(
        s.ok(&["voter", "list"]),
        before,
        "a refused act changed nothing"
    );
    // VOX_ROLE_KEY works as --key.
    let out = vox_in(
        &s.dir,
        &[
            ("VOX_SERVER", &s.url),
            ("VOX_ROLE_KEY", &s.key("petitions-office")),
        ],
        &["authority", "petition", "moderate", "p1", "--publish"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("open"));
    // A third signature: the response threshold is reached, a response is due.
    s.ok(&["voter", "sign", "p1", "--credential", &cred(3)]);

    // Rotation: the old key is refused afterwards, the new one accepted.
    let new_key = s.path("keys/petitions-office-2.key");
    s.ok(&[
        "keys",
        "new",
        "--role",
        "petitions-office",
        "--out",
        &new_key,
    ]);
    let err = s.auth_fails(
        "petitions-office",
        &["rotate-key", "--role", "registrar", "--new-key", &new_key],
    );
    assert!(err.contains("not the registrar key"), "{err}");
    let out = s.auth(
        "petitions-office",
        &[
            "rotate-key",
            "--role",
            "petitions-office",
            "--new-key",
            &new_key,
        ],
    );
    assert!(out.contains("key rotated"), "{out}");
    let err = s.auth_fails(
        "petitions-office",
        &["petition", "respond", "p1", "--text", "Yes."],
    );
    assert!(
        err.contains("403") && err.contains("not the petitions office's current key"),
        "{err}"
    );
    s.ok(&[
        "authority",
        "--key",
        &new_key,
        "petition",
        "respond",
        "p1",
        "--text",
        "Yes.",
    ]);
    let board: serde_json::Value = ureq::get(&format!("{}/api/v1/board", s.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let new_public = vox_cli::files::load_role_key(Path::new(&new_key))
        .unwrap()
        .public();
    assert_eq!(
        board["roles"]["petitions_office"],
        new_public.to_hex(),
        "{board}"
    );

    // Secrets: each role's secret only in its own key file (in hex and raw), nowhere
    // else the tools wrote, and never on the server; no token file of any kind.
    let mut secrets: Vec<(String, PathBuf, [u8; 32])> = Role::ALL
        .iter()
        .map(|r| {
            let p = PathBuf::from(s.key(r.name()));
            let k = vox_cli::files::load_role_key(&p).unwrap();
            (r.name().to_owned(), p, k.key.to_bytes())
        })
        .collect();
    let k2 = vox_cli::files::load_role_key(Path::new(&new_key)).unwrap();
    secrets.push((
        "petitions-office (new)".into(),
        PathBuf::from(&new_key),
        k2.key.to_bytes(),
    ));
    let written = files_under(&s.dir);
    assert!(written.len() > 8, "{written:?}");
    for f in &written {
        let name = f.file_name().unwrap().to_string_lossy().to_lowercase();
        assert!(!name.contains("token"), "{}", f.display());
        let bytes = std::fs::read(f).unwrap();
        for (role, own, secret) in &secrets {
            if f == own {
                assert!(contains(&bytes, hex::encode(secret).as_bytes()));
                continue;
            }
            assert!(
                !contains(&bytes, hex::encode(secret).as_bytes()) && !contains(&bytes, secret),
                "{role}'s secret key is in {}",
                f.display()
            );
        }
    }
    // Citizens' credentials: each only in its own device's credential file (the
    // registrar's tool saw requests, never a secret), and never on the server.
    let creds: Vec<(PathBuf, String)> = (1..=4)
        .map(|i| {
            let p = PathBuf::from(cred(i));
            let text = std::fs::read_to_string(&p).unwrap();
            let c = text
                .lines()
                .find_map(|l| l.strip_prefix("credential: "))
                .unwrap()
                .trim()
                .replace('-', "");
            (p, c)
        })
        .collect();
    for f in written.iter().chain(files_under(&s.server_dir).iter()) {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).replace('-', "");
        for (own, c) in &creds {
            assert!(
                f == own || !text.contains(c.as_str()),
                "a citizen's credential is in {}",
                f.display()
            );
        }
    }
    for f in files_under(&s.server_dir) {
        let bytes = std::fs::read(&f).unwrap();
        for (role, _, secret) in secrets.iter().filter(|(r, _, _)| r != "operator") {
            assert!(
                !contains(&bytes, hex::encode(secret).as_bytes()) && !contains(&bytes, secret),
                "{role}'s secret key reached the server: {}",
                f.display()
            );
        }
    }
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

/// `vox demo --anonymous`: the ring-signed petition's referendum takes anonymous ballots
/// (04 §4.10); the whole loop verifies and no ballot names a credential.
#[test]
fn demo_anonymous_verifies_and_its_ballots_name_no_credential() {
    let dir = std::env::temp_dir().join(format!("vox-cli-demo-anon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("record");
    let out = vox_in(
        &dir,
        &[],
        &[
            "demo",
            "--voters",
            "20",
            "--clients",
            "4",
            "--anonymous",
            "--out",
            rec.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("anonymous ballots:") && stdout.contains("verification PASSED"),
        "{stdout}"
    );
    let verdict = vox_cli::demo::verify_record(&rec).unwrap();
    assert!(verdict.passed, "{}", verdict.human);
    let entries = std::fs::read_to_string(rec.join("entries.jsonl")).unwrap();
    let ballots: Vec<&str> = entries
        .lines()
        .filter(|l| l.contains("\"type\":\"ballot-cast\""))
        .collect();
    assert!(ballots.len() >= 20, "{} ballots", ballots.len());
    for b in ballots {
        assert!(b.contains("\"ring_signature\"") && !b.contains("\"credential\""));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The (region, code) rows of a letters file written by `vox authority electorate open`
/// or `revoke --replacement-letter` (region and code never need CSV quoting here).
fn letters(path: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "region,code,electorate,instructions");
    lines
        .map(|l| {
            let mut f = l.splitn(3, ',');
            (f.next().unwrap().to_owned(), f.next().unwrap().to_owned())
        })
        .collect()
}

/// The public key a `vox voter enrol` printed.
fn enrolled_key(out: &str) -> String {
    out.split_whitespace()
        .skip_while(|w| *w != "key")
        .nth(1)
        .unwrap_or_else(|| panic!("no public key in {out}"))
        .to_owned()
}

#[test]
fn enrolment_by_code_freeze_revoke_and_a_referendum() {
    let s = TestServer::start("codes");
    let letters_file = s.path("letters.csv");

    // The registrar opens the electorate: letters first (0600, never overwritten).
    let out = s.auth(
        "registrar",
        &[
            "electorate",
            "open",
            "--id",
            "town",
            "--name",
            "Town",
            "--codes",
            "2:north",
            "--codes",
            "3:south",
            "--letters",
            &letters_file,
        ],
    );
    assert!(
        out.contains("opened electorate town") && out.contains("5 codes"),
        "{out}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&letters_file), 0o600);
    let rows = letters(&letters_file);
    assert_eq!(rows.len(), 5);
    assert_eq!(rows.iter().filter(|(r, _)| r == "north").count(), 2);
    let text = std::fs::read_to_string(&letters_file).unwrap();
    assert!(
        text.contains("/enrol.html") && text.contains("vox voter enrol"),
        "{text}"
    );
    let err = s.auth_fails(
        "registrar",
        &[
            "electorate",
            "open",
            "--id",
            "town2",
            "--codes",
            "1",
            "--letters",
            &letters_file,
        ],
    );
    assert!(err.contains("never overwritten"), "{err}");
    // The same id again: refused by the board (after writing its own letters).
    let err = s.auth_fails(
        "registrar",
        &[
            "electorate",
            "open",
            "--id",
            "town",
            "--codes",
            "1",
            "--letters",
            &s.path("letters-again.csv"),
        ],
    );
    assert!(
        err.contains("409") && err.contains("NOT published"),
        "{err}"
    );

    // Three citizens enrol on their devices; one types the code in lower case, without
    // dashes.
    let north: Vec<&(String, String)> = rows.iter().filter(|(r, _)| r == "north").collect();
    let south: Vec<&(String, String)> = rows.iter().filter(|(r, _)| r == "south").collect();
    let enrol = |code: &str, region: &str, out: &str| {
        s.vox(&[
            "voter",
            "enrol",
            "--electorate",
            "town",
            "--code",
            code,
            "--region",
            region,
            "--out",
            &s.path(out),
        ])
    };
    let ok = |o: Output| -> String {
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        stdout
    };
    let fails = |o: Output| -> String {
        assert!(
            !o.status.success(),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let out1 = ok(enrol(
        &north[0].1.to_lowercase().replace('-', ""),
        "north",
        "c1.txt",
    ));
    assert!(out1.contains("enrolled") && out1.contains("leaf"), "{out1}");
    assert!(out1.contains("vox voter check-enrolment"), "{out1}");
    #[cfg(unix)]
    assert_eq!(mode(&s.path("c1.txt")), 0o600);
    let out2 = ok(enrol(&south[0].1, "south", "c2.txt"));
    let key2 = enrolled_key(&out2);
    ok(enrol(&south[1].1, "south", "c3.txt"));

    // A spent code: a clear refusal, and no credential file left behind.
    let err = fails(enrol(&north[0].1, "north", "c1-again.txt"));
    assert!(
        err.contains("already used") && err.contains("registrar"),
        "{err}"
    );
    assert!(!Path::new(&s.path("c1-again.txt")).exists());
    // A code of another region, and a mistyped code.
    let err = fails(enrol(&north[1].1, "south", "c4.txt"));
    assert!(err.contains("not one the registrar issued"), "{err}");
    let err = fails(enrol("ABCDE-FGHJK", "north", "c4.txt"));
    assert!(err.contains("20 characters"), "{err}");
    // No petition or referendum may name an electorate still enrolling.
    let out = s.ok(&[
        "voter",
        "check-enrolment",
        "--credential",
        &s.path("c1.txt"),
    ]);
    assert!(
        out.contains("ENROLLED") && out.contains("region north") && out.contains("still open"),
        "{out}"
    );
    let show = s.ok(&["authority", "electorate", "show", "--id", "town"]);
    assert!(
        show.contains("enrolling")
            && show.contains("3 credentials")
            && show.contains("unused codes: 2"),
        "{show}"
    );

    // Freeze: the registrar's own hash of the list.
    let out = s.auth("registrar", &["electorate", "freeze", "--id", "town"]);
    assert!(out.contains("froze electorate town"), "{out}");
    let err = s.auth_fails("registrar", &["electorate", "freeze", "--id", "town"]);
    assert!(err.contains("not open for enrolment"), "{err}");
    let err = fails(enrol(&north[1].1, "north", "c4.txt"));
    assert!(err.contains("closed"), "{err}");

    // Citizen 2 lost their credential: revoked, with a replacement letter.
    let repl = s.path("replacement.csv");
    let out = s.auth(
        "registrar",
        &[
            "electorate",
            "revoke",
            "--id",
            "town",
            "--credential",
            &key2,
            "--reason",
            "lost",
            "--replacement-letter",
            &repl,
        ],
    );
    assert!(out.contains("revoked credential"), "{out}");
    #[cfg(unix)]
    assert_eq!(mode(&repl), 0o600);
    let new_code = letters(&repl);
    assert_eq!(new_code.len(), 1);
    assert_eq!(new_code[0].0, "south");
    let err = s.auth_fails(
        "registrar",
        &[
            "electorate",
            "revoke",
            "--id",
            "town",
            "--credential",
            &key2,
            "--reason",
            "again",
        ],
    );
    assert!(err.contains("not a current member"), "{err}");
    ok(enrol(&new_code[0].1, "south", "c2b.txt"));
    let err = s.fails(&[
        "voter",
        "check-enrolment",
        "--credential",
        &s.path("c2.txt"),
    ]);
    assert!(err.contains("REVOKED"), "{err}");
    let out = s.ok(&[
        "voter",
        "check-enrolment",
        "--credential",
        &s.path("c2b.txt"),
    ]);
    assert!(out.contains("ENROLLED") && out.contains("frozen"), "{out}");
    let show = s.ok(&["authority", "electorate", "show", "town"]);
    assert!(
        show.contains("frozen") && show.contains("revoked credentials: 1"),
        "{show}"
    );

    // A referendum on the frozen electorate.
    for t in 1..=3 {
        s.ok(&[
            "trustee",
            "keygen",
            "--out",
            &s.path(&format!("t{t}.key")),
            "--name",
            &format!("T{t}"),
        ]);
    }
    s.auth(
        "election-authority",
        &[
            "referendum",
            "create",
            "--electorate",
            "town",
            "--id",
            "r1",
            "--question",
            "Plant trees?",
            "--trustee",
            &s.path("t1.key.pub"),
            "--trustee",
            &s.path("t2.key.pub"),
            "--trustee",
            &s.path("t3.key.pub"),
            "--threshold",
            "2",
            "--voting",
            "25s",
        ],
    );
    s.ceremony("r1", 3);
    // The board opens voting by itself (opens_at is the creation time; the ceremony is
    // complete).
    s.await_state("r1", "open");
    let vote = |cred: &str, choice: &str| {
        s.vox(&[
            "vote",
            "r1",
            "--credential",
            &s.path(cred),
            "--choice",
            choice,
            "--receipt-out",
            &s.path(&format!("rc-{cred}.json")),
        ])
    };
    ok(vote("c1.txt", "q1=yes"));
    let err = fails(vote("c2.txt", "q1=yes"));
    assert!(err.contains("revoked"), "{err}");
    ok(vote("c2b.txt", "q1=no"));
    ok(vote("c3.txt", "q1=no"));
    // The board closes voting at closes_at and tallies by itself.
    s.await_state("r1", "tallied");
    for t in [1, 2] {
        s.ok(&[
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
        ]);
    }
    s.await_state("r1", "published");
    let out = s.ok(&["authority", "referendum", "show", "r1"]);
    assert!(out.contains("counted ballots: 3"), "{out}");
    // Citizen 1 yes; the replacement of citizen 2 and citizen 3 no.
    let count = |option: &str| -> u64 {
        out.lines()
            .map(str::split_whitespace)
            .find_map(|mut w| {
                (w.next() == Some(option)).then(|| w.next().unwrap().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("no {option} in {out}"))
    };
    assert_eq!((count("yes"), count("no")), (1, 2), "{out}");
    let rec = s.path("record");
    s.ok(&["authority", "export", "--referendum", "r1", "--out", &rec]);
    let verdict = vox_cli::demo::verify_record(Path::new(&rec)).unwrap();
    assert!(verdict.passed, "{}", verdict.human);
}

/// An anonymous-participation referendum through the CLI (04 §4.10): ballots carry a ring
/// signature and a per-referendum tag, never a credential; re-voting replaces the tag's
/// ballot; an audit names no credential either; a revoked credential cannot vote again;
/// the record verifies and the board's ballots name no voter.
#[test]
fn an_anonymous_referendum_counts_the_last_ballot_per_tag() {
    let s = TestServer::start("anonymous");
    let letters_file = s.path("letters.csv");
    s.auth(
        "registrar",
        &[
            "electorate",
            "open",
            "--id",
            "town",
            "--codes",
            "2:north",
            "--codes",
            "2:south",
            "--letters",
            &letters_file,
        ],
    );
    let rows = letters(&letters_file);
    let mut keys = Vec::new();
    for (i, (region, code)) in rows.iter().enumerate().take(3) {
        let out = s.ok(&[
            "voter",
            "enrol",
            "--electorate",
            "town",
            "--code",
            code,
            "--region",
            region,
            "--out",
            &s.path(&format!("c{}.txt", i + 1)),
        ]);
        keys.push(enrolled_key(&out));
    }
    s.auth("registrar", &["electorate", "freeze", "--id", "town"]);
    for t in 1..=2 {
        s.ok(&[
            "trustee",
            "keygen",
            "--out",
            &s.path(&format!("t{t}.key")),
            "--name",
            &format!("T{t}"),
        ]);
    }
    s.auth(
        "election-authority",
        &[
            "referendum",
            "create",
            "--electorate",
            "town",
            "--id",
            "r1",
            "--question",
            "Plant trees?",
            "--trustee",
            &s.path("t1.key.pub"),
            "--trustee",
            &s.path("t2.key.pub"),
            "--threshold",
            "2",
            "--voting",
            "30s",
            "--anonymous",
        ],
    );
    s.ceremony("r1", 2);
    s.await_state("r1", "open");
    let vote = |cred: &str, choice: &str, extra: &[&str]| {
        let receipt = s.path(&format!("rc-{cred}-{choice}.json"));
        let mut args = vec![
            "vote",
            "r1",
            "--credential",
            cred,
            "--choice",
            choice,
            "--receipt-out",
            &receipt,
        ];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        s.vox(&args)
    };
    let ok = |o: Output| -> String {
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        stdout
    };
    let (c1, c2, c3) = (s.path("c1.txt"), s.path("c2.txt"), s.path("c3.txt"));
    let out = ok(vote(&c1, "q1=yes", &[]));
    assert!(
        out.contains("anonymous ballot: the board will show one of 3"),
        "{out}"
    );
    // Re-voting: the tag's latest ballot is the one this device cast.
    let out = ok(vote(&c1, "q1=no", &[]));
    assert!(out.contains("You voted before from this device"), "{out}");
    // A Benaloh audit first, then the cast.
    let out = ok(vote(&c2, "q1=yes", &["--audit"]));
    assert!(out.contains("Audit: published opened"), "{out}");
    ok(vote(&c3, "q1=no", &[]));
    // Citizen 3's credential is revoked after it voted: its ballot still counts (no one
    // can tell which it is), but it cannot vote again.
    s.auth(
        "registrar",
        &[
            "electorate",
            "revoke",
            "--id",
            "town",
            "--credential",
            &keys[2],
            "--reason",
            "lost",
        ],
    );
    let o = vote(&c3, "q1=yes", &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("none of the referendum's rings"), "{err}");
    s.await_state("r1", "tallied");
    for t in [1, 2] {
        s.ok(&[
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
        ]);
    }
    s.await_state("r1", "published");
    let out = s.ok(&["authority", "referendum", "show", "r1"]);
    assert!(out.contains("counted ballots: 3"), "{out}");
    let count = |option: &str| -> u64 {
        out.lines()
            .map(str::split_whitespace)
            .find_map(|mut w| {
                (w.next() == Some(option)).then(|| w.next().unwrap().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("no {option} in {out}"))
    };
    // Citizen 1's last ballot (no), citizen 2 (yes), citizen 3 (no).
    assert_eq!((count("yes"), count("no")), (1, 2), "{out}");
    let rec = s.path("record");
    s.ok(&["authority", "export", "--referendum", "r1", "--out", &rec]);
    let verdict = vox_cli::demo::verify_record(Path::new(&rec)).unwrap();
    assert!(verdict.passed, "{}", verdict.human);
    // No ballot or audit on the board names a voter's credential.
    let mut ballots = 0;
    for f in files_under(Path::new(&rec)) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for line in text
            .lines()
            .filter(|l| l.contains("\"ballot-cast\"") || l.contains("\"ballot-audited\""))
        {
            ballots += 1;
            assert!(line.contains("\"ring_signature\"") && !line.contains("\"credential\""));
            for k in &keys {
                assert!(!line.contains(k.as_str()), "a ballot names credential {k}");
            }
        }
    }
    assert_eq!(ballots, 5, "four casts and one audit");
}
