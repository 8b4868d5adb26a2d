//! The voter's device checks what it encrypts to (protocol-spec/04-ballots.md §4.7,
//! D1–D7), against a real server on 127.0.0.1 and, for the attack, a man-in-the-middle
//! proxy on 127.0.0.1 that rewrites the server's JSON: the `vox` binary must pin the
//! board key (trust on first use), refuse a changed key with an alarm, and refuse to
//! encrypt to an election key the board's signed ceremony does not define, posting
//! nothing. No traffic leaves 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use vox_cli::client::Client;
use vox_crypto::threshold::{CeremonyParams, Dealer, JointPublicKeys, TrusteeIndex};
use vox_protocol::ceremony::completed_payload;
use vox_protocol::roles::Role;

fn unique_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vox-device-test-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn vox_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vox"));
    c.args(args)
        .current_dir(dir)
        .env_remove("VOX_SERVER")
        .env_remove("VOX_ROLE_KEY")
        .env_remove("VOX_HOME")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn check_ok(args: &[&str], out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "vox {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn check_fails(args: &[&str], out: &Output) -> String {
    assert!(
        !out.status.success(),
        "vox {args:?} should have failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A real server with a genesis from `vox keys new` / `vox genesis new`, an electorate
/// of two voters and an open referendum `r1` whose key ceremony three `vox trustee`
/// processes ran.
struct TestServer {
    rt: tokio::runtime::Runtime,
    server: Option<vox_server::RunningServer>,
    url: String,
    dir: PathBuf,
}

impl TestServer {
    fn start(name: &str) -> Self {
        let root = unique_dir(name);
        let server_dir = root.join("server");
        let dir = root.join("work");
        std::fs::create_dir_all(&server_dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let home = dir.display().to_string();
        let run = |args: &[&str]| check_ok(args, &vox_in(&dir, &[("HOME", &home)], args));
        let key = |r: &str| {
            dir.join("keys")
                .join(format!("{r}.key"))
                .display()
                .to_string()
        };
        for role in Role::ALL {
            run(&[
                "keys",
                "new",
                "--role",
                role.name(),
                "--out",
                &key(role.name()),
            ]);
        }
        let genesis = dir.join("genesis.json");
        run(&[
            "genesis",
            "new",
            "--log-name",
            &format!("test.vox.invalid/{name}"),
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
        ]);
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
            vox_cli::files::load_role_key(&dir.join("keys/operator.key"))
                .unwrap()
                .key
                .clone(),
        );
        let server = rt.block_on(vox_server::start(config)).unwrap();
        let url = format!("http://{}", server.local_addr());
        let s = Self {
            rt,
            server: Some(server),
            url,
            dir,
        };
        s.setup_referendum();
        s
    }

    fn path(&self, p: &str) -> String {
        self.dir.join(p).display().to_string()
    }

    /// `vox ARGS` against `server`, with HOME in the working directory and VOX_HOME as
    /// given (where the known-boards file is).
    fn vox_via(&self, server: &str, vox_home: &Path, args: &[&str]) -> Output {
        vox_in(
            &self.dir,
            &[
                ("VOX_SERVER", server),
                ("HOME", self.dir.to_str().unwrap()),
                ("VOX_HOME", vox_home.to_str().unwrap()),
            ],
            args,
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let home = self.dir.join("setup-home");
        check_ok(args, &self.vox_via(&self.url, &home, args))
    }

    fn auth(&self, role: &str, args: &[&str]) -> String {
        let mut v = vec![
            "authority".to_owned(),
            "--key".to_owned(),
            self.path(&format!("keys/{role}.key")),
        ];
        v.extend(args.iter().map(|a| (*a).to_owned()));
        self.ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn setup_referendum(&self) {
        std::fs::create_dir_all(self.dir.join("el/requests")).unwrap();
        for i in 1..=2 {
            self.ok(&[
                "voter",
                "keygen",
                "--electorate",
                "e1",
                "--out",
                &self.path(&format!("c{i}.txt")),
                "--request-out",
                &self.path(&format!("el/requests/c{i}.json")),
            ]);
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
                "e1",
                "--name",
                "Test town",
            ],
        );
        for t in 1..=3 {
            self.ok(&[
                "trustee",
                "keygen",
                "--out",
                &self.path(&format!("t{t}.key")),
                "--name",
                &format!("T{t}"),
            ]);
        }
        self.auth(
            "election-authority",
            &[
                "referendum",
                "create",
                "--electorate",
                "e1",
                "--id",
                "r1",
                "--question",
                "Plant trees?",
                "--trustee",
                &self.path("t1.key.pub"),
                "--trustee",
                &self.path("t2.key.pub"),
                "--trustee",
                &self.path("t3.key.pub"),
                "--threshold",
                "2",
            ],
        );
        let children: Vec<_> = (1..=3)
            .map(|t| {
                Command::new(env!("CARGO_BIN_EXE_vox"))
                    .args([
                        "trustee",
                        "ceremony",
                        "--server",
                        &self.url,
                        "--referendum",
                        "r1",
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
                    .current_dir(&self.dir)
                    .env("HOME", &self.dir)
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
                "ceremony failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // The board opens voting by itself once the ceremony is complete (opens_at is
        // the creation time).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let show = self.ok(&["authority", "referendum", "show", "r1"]);
            if show.contains("state open") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "not opened: {show}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn vote_args(&self, cred: &str) -> Vec<String> {
        [
            "vote",
            "r1",
            "--credential",
            &self.path(cred),
            "--choice",
            "q1=yes",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([
            "--receipt-out".to_owned(),
            self.path(&format!("receipt-{cred}-{}.json", rand::random::<u32>())),
        ])
        .collect()
    }

    /// (ballots cast in r1, board size), read from the real server.
    fn counts(&self) -> (u64, u64) {
        let c = Client::new(&self.url);
        (
            c.referendum("r1").unwrap().ballots_cast,
            c.board().unwrap().tree_size,
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

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn honest_server_pins_the_board_key_and_a_changed_key_is_refused() {
    let s = TestServer::start("tofu");
    let home = s.dir.join("device-home");
    let board_key = Client::new(&s.url).board().unwrap().board_public_key;

    // First vote: the board key is pinned (TOFU notice), the manifest fingerprint shown.
    let args = s.vote_args("c1.txt");
    let out = check_ok(&strs(&args), &s.vox_via(&s.url, &home, &strs(&args)));
    assert!(out.contains("First contact"), "{out}");
    assert!(out.contains(&board_key.to_hex()), "{out}");
    assert!(out.contains("manifest hash"), "{out}");
    assert!(out.contains("fingerprint"), "{out}");
    assert!(out.contains("Tracking code"), "{out}");
    let manifest_hash = Client::new(&s.url).referendum("r1").unwrap().manifest_hash;
    assert!(
        out.contains(&vox_cli::device::fingerprint(&manifest_hash)),
        "{out}"
    );
    let known = home.join("known_boards");
    let text = std::fs::read_to_string(&known).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains(&s.url) && text.contains(&board_key.to_hex()),
        "{text}"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&known), 0o600);
        assert_eq!(mode(&home), 0o700);
    }

    // Second vote, same server: the pin holds, no notice, still one line.
    let args = s.vote_args("c2.txt");
    let out = check_ok(&strs(&args), &s.vox_via(&s.url, &home, &strs(&args)));
    assert!(!out.contains("First contact"), "{out}");
    assert_eq!(std::fs::read_to_string(&known).unwrap().lines().count(), 1);
    let before = s.counts();
    assert_eq!(before.0, 2);
    // The receipt is checked under the pinned key too.
    let receipt = args.last().unwrap().clone();
    let check = ["voter", "check-receipt", receipt.as_str()];
    let out = check_ok(&check, &s.vox_via(&s.url, &home, &check));
    assert!(out.contains("receipt signed by the board"), "{out}");

    // The pin now names another key (as if the first contact had been with another
    // board at this address): the alarm, naming the file and the line; nothing sent.
    let other = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let other = vox_protocol::board::BoardPublicKey(other.verifying_key());
    std::fs::write(
        &known,
        format!(
            "# pinned earlier\n{} {} {}\n",
            s.url,
            other.log_id().to_hex(),
            other.to_hex()
        ),
    )
    .unwrap();
    let args = s.vote_args("c1.txt");
    let err = check_fails(&strs(&args), &s.vox_via(&s.url, &home, &strs(&args)));
    assert!(err.contains("HAS CHANGED"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains(&known.display().to_string()), "{err}");
    assert!(err.contains(&board_key.to_hex()), "{err}");
    assert_eq!(s.counts(), before, "nothing may be posted after the alarm");
    // A receipt check does not take the server's word for its key either.
    let err = check_fails(&check, &s.vox_via(&s.url, &home, &check));
    assert!(err.contains("HAS CHANGED"), "{err}");
    let with_key = [
        "voter",
        "check-receipt",
        receipt.as_str(),
        "--board-key",
        &board_key.to_hex(),
    ];
    check_ok(&with_key, &s.vox_via(&s.url, &home, &with_key));
    let with_other = [
        "voter",
        "check-receipt",
        receipt.as_str(),
        "--board-key",
        &other.to_hex(),
    ];
    let err = check_fails(&with_other, &s.vox_via(&s.url, &home, &with_other));
    assert!(err.contains("RECEIPT INVALID"), "{err}");

    // An explicit --board-key that is not the board's: the signed tree head is refused.
    let mut args = s.vote_args("c1.txt");
    args.extend(["--board-key".to_owned(), other.to_hex()]);
    let err = check_fails(&strs(&args), &s.vox_via(&s.url, &home, &strs(&args)));
    assert!(err.contains("pinned board key"), "{err}");
    assert_eq!(s.counts(), before);

    // The right --board-key (as the town publishes it) votes despite the stale pin.
    let mut args = s.vote_args("c1.txt");
    args.extend(["--board-key".to_owned(), board_key.to_hex()]);
    let out = check_ok(&strs(&args), &s.vox_via(&s.url, &home, &strs(&args)));
    assert!(out.contains("Tracking code"), "{out}");
    assert_eq!(s.counts().0, before.0 + 1);
}

/// A man in the middle on 127.0.0.1: forwards every request to `upstream` and lets
/// `rewrite` change the JSON of GET answers (by path). Records every request line.
struct Proxy {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

type Rewrite = dyn Fn(&str, serde_json::Value) -> serde_json::Value + Send + Sync;

impl Proxy {
    fn start(upstream: String, rewrite: Arc<Rewrite>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let upstream = upstream.clone();
                let rewrite = Arc::clone(&rewrite);
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let _ = serve_one(conn, &upstream, &*rewrite, &log);
                });
            }
        });
        Self { url, requests }
    }
}

fn serve_one(
    conn: TcpStream,
    upstream: &str,
    rewrite: &Rewrite,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    log.lock().unwrap().push(format!("{method} {target}"));
    let mut len = 0usize;
    let mut content_type = None;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_owned());
            }
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let req = ureq::request(&method, &format!("{upstream}{target}"));
    let req = match &content_type {
        Some(ct) => req.set("Content-Type", ct),
        None => req,
    };
    let answer = if method == "GET" {
        req.call()
    } else {
        req.send_bytes(&body)
    };
    let (status, text) = match answer {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => (502, format!("{{\"detail\":\"{e}\"}}")),
    };
    let text = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) if method == "GET" && status == 200 => {
            let path = target.split('?').next().unwrap_or("");
            serde_json::to_string(&rewrite(path, v)).unwrap()
        }
        _ => text,
    };
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    )?;
    conn.flush()
}

#[test]
fn a_server_substituting_the_election_key_is_refused_and_nothing_is_posted() {
    let s = TestServer::start("mitm");
    let detail = Client::new(&s.url).referendum("r1").unwrap();
    let mh = detail.manifest_hash;
    let n = detail.manifest.trustees.len() as u32;
    let params = CeremonyParams::new(n, detail.manifest.threshold).unwrap();
    // The attacker's own polynomials, one per trustee, with valid proofs: reveals and an
    // election key consistent with each other, so the old check (K from the server's
    // reveals) would pass, while the attacker knows the secret key.
    let reveals: Vec<_> = (1..=n)
        .map(|i| {
            Dealer::new(
                &params,
                TrusteeIndex::new(i).unwrap(),
                &mh,
                &mut rand::rngs::OsRng,
            )
            .unwrap()
            .coefficients()
            .clone()
        })
        .collect();
    let joint = JointPublicKeys::from_commitments(&params, &mh, &reveals).unwrap();
    let (fake_key, fake_shares) = completed_payload(&joint).unwrap();
    assert_ne!(Some(fake_key), detail.election_key);
    let fake_key_json = serde_json::to_value(fake_key).unwrap();
    let fake_shares_json = serde_json::to_value(&fake_shares).unwrap();
    let reveals_json = serde_json::to_value(&reveals).unwrap();
    // What the proxy forges: 0 the election key and reveals, 1 the ceremony's leaf
    // list (the last message left out), 2 the manifest (another question, its hash
    // recomputed).
    let attack = Arc::new(Mutex::new(0u8));
    let which = Arc::clone(&attack);
    let rewrite: Arc<Rewrite> = Arc::new(move |path, mut v| {
        let which = *which.lock().unwrap();
        match (which, path) {
            (0, "/api/v1/referendums/r1") => {
                v["election_key"] = fake_key_json.clone();
                v["public_shares"] = fake_shares_json.clone();
            }
            (0, "/api/v1/referendums/r1/ceremony") => v["reveals"] = reveals_json.clone(),
            (1, "/api/v1/referendums/r1") => {
                if let Some(leaves) = v["ceremony_leaves"].as_array_mut() {
                    leaves.pop();
                }
            }
            (2, "/api/v1/referendums/r1") => {
                let mut m: vox_protocol::manifest::Manifest =
                    serde_json::from_value(v["manifest"].clone()).unwrap();
                m.questions[0].text = "Cut the trees down?".into();
                v["manifest_hash"] =
                    serde_json::to_value(vox_protocol::encoding::Hashable::canonical_hash(&m))
                        .unwrap();
                v["manifest"] = serde_json::to_value(&m).unwrap();
            }
            _ => {}
        }
        v
    });
    let proxy = Proxy::start(s.url.clone(), rewrite);
    // The forged view is self-consistent (what the old device check accepted).
    let forged = Client::new(&proxy.url).referendum("r1").unwrap();
    let view = Client::new(&proxy.url).ceremony("r1").unwrap();
    let again = JointPublicKeys::from_commitments(&params, &mh, &view.reveals).unwrap();
    assert_eq!(Some(*again.election_key()), forged.election_key);

    let before = s.counts();
    let home = s.dir.join("device-home");
    for audit in [false, true] {
        let mut args = s.vote_args("c1.txt");
        if audit {
            args.push("--audit".to_owned());
        }
        let err = check_fails(&strs(&args), &s.vox_via(&proxy.url, &home, &strs(&args)));
        assert!(err.contains("refusing to encrypt"), "{err}");
        assert!(err.contains("NOT the key"), "{err}");
    }
    *attack.lock().unwrap() = 1;
    let args = s.vote_args("c1.txt");
    let err = check_fails(&strs(&args), &s.vox_via(&proxy.url, &home, &strs(&args)));
    assert!(err.contains("do not complete the ceremony"), "{err}");
    *attack.lock().unwrap() = 2;
    let args = s.vote_args("c1.txt");
    let err = check_fails(&strs(&args), &s.vox_via(&proxy.url, &home, &strs(&args)));
    assert!(err.contains("not the one on the board"), "{err}");
    assert_eq!(s.counts(), before, "no ballot or audit may reach the board");
    assert_eq!(before.0, 0);
    let posted: Vec<String> = proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .cloned()
        .collect();
    assert!(posted.is_empty(), "{posted:?}");

    // The same device against the real server (a first contact at that address): the
    // key checks out and the vote goes through.
    let args = s.vote_args("c1.txt");
    let out = check_ok(&strs(&args), &s.vox_via(&s.url, &home, &strs(&args)));
    assert!(out.contains("Tracking code"), "{out}");
}
