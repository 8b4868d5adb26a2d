//! Safe defaults and honest errors (issue 17), against a real `vox serve` on 127.0.0.1
//! (a free port, a fresh SQLite database):
//! - the database and its -wal/-shm files, role keys, trustee keys and credentials are
//!   0600; `vox serve` refuses an operator key file or a database others can read, with
//!   the `chmod 600` that fixes it;
//! - `referendum create` without `--threshold` asks a majority of the trustees
//!   (⌊n/2⌋+1), as the manifest the server stores shows, and prints the voting period;
//!   `referendum open` warns when the announced opening is long past;
//! - a request the server refuses exits non-zero with the problem's title and detail; a
//!   mistyped credential is a typo, a valid one off the electorate is said to be so;
//! - nothing secret is printed: not by `vox serve` (stdout, stderr, default log level),
//!   not by `voter keygen`;
//! - `authority petition show` prints the thresholds and deadlines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vox_protocol::roles::Role;

fn unique_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vox-hygiene-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn vox(dir: &Path, server: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vox"));
    c.args(args)
        .current_dir(dir)
        .env_remove("VOX_SERVER")
        .env_remove("VOX_ROLE_KEY")
        .env_remove("RUST_LOG")
        .env("HOME", dir)
        .stdin(Stdio::null());
    if let Some(s) = server {
        c.env("VOX_SERVER", s);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(dir: &Path, server: Option<&str>, args: &[&str]) -> String {
    let out = vox(dir, server, args);
    assert!(
        out.status.success(),
        "vox {args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A command expected to fail: its (stdout, stderr).
fn fails(dir: &Path, server: Option<&str>, args: &[&str]) -> (String, String) {
    let out = vox(dir, server, args);
    assert!(
        !out.status.success(),
        "vox {args:?} should have failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    (text(&out.stdout), text(&out.stderr))
}

#[cfg(unix)]
fn mode(p: impl AsRef<Path>) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
fn chmod(p: impl AsRef<Path>, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// `vox serve` with the default log level, stdout and stderr going to files in `dir`:
/// the child and its URL once it listens, or everything it wrote if it exited.
fn serve(dir: &Path, args: &[&str], tag: &str) -> Result<(Child, String), String> {
    let out_path = dir.join(format!("serve-{tag}.out"));
    let err_path = dir.join(format!("serve-{tag}.err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_vox"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let out = std::fs::read_to_string(&out_path).unwrap_or_default();
        if let Some(line) = out.lines().find(|l| l.contains("listening on")) {
            let url = line.rsplit(' ').next().unwrap().to_owned();
            return Ok((child, url));
        }
        if child.try_wait().unwrap().is_some() {
            let err = std::fs::read_to_string(&err_path).unwrap_or_default();
            return Err(format!("{out}{err}"));
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "vox serve did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every secret in a private JSON key file (`secret_key`), as hex.
fn secret_hex(path: &Path) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["secret_key"].as_str().unwrap().to_owned()
}

/// The credential text of a credential file.
fn credential_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("credential: "))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn safe_defaults_and_honest_errors() {
    let dir = unique_dir("all");
    let d = dir.as_path();
    let p = |f: &str| d.join(f).display().to_string();

    // The parties' keys: 0600.
    for role in Role::ALL {
        ok(
            d,
            None,
            &[
                "keys",
                "new",
                "--role",
                role.name(),
                "--out",
                &p(&format!("{role}.key")),
            ],
        );
        #[cfg(unix)]
        assert_eq!(mode(p(&format!("{role}.key"))), 0o600, "{role}");
    }
    ok(
        d,
        None,
        &[
            "genesis",
            "new",
            "--log-name",
            "test.vox.invalid/hygiene",
            "--operator",
            &p("operator.key"),
            "--registrar",
            &p("registrar.key"),
            "--petitions-office",
            &p("petitions-office.key"),
            "--election-authority",
            &p("election-authority.key"),
            "--out",
            &p("genesis.json"),
        ],
    );
    let db_path = p("vox.db");
    let db = format!("sqlite://{db_path}");
    let serve_args = [
        "--database-url",
        db.as_str(),
        "--genesis",
        &p("genesis.json"),
        "--operator-key",
        &p("operator.key"),
    ];

    // An operator key file others can read: refused, with the fix, and no database made.
    #[cfg(unix)]
    {
        chmod(p("operator.key"), 0o644);
        let err = serve(d, &serve_args, "loose-key").unwrap_err();
        assert!(
            err.contains(&format!("chmod 600 {}", p("operator.key"))),
            "{err}"
        );
        assert!(!Path::new(&db_path).exists());
        chmod(p("operator.key"), 0o600);
    }

    let (mut server, url) = serve(d, &serve_args, "main").unwrap();
    let s = Some(url.as_str());

    // The database and its WAL and shared-memory files: 0600.
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        assert_eq!(mode(format!("{db_path}{suffix}")), 0o600, "vox.db{suffix}");
    }

    // Citizens make credentials (0600, never printed by default); the registrar
    // registers the electorate.
    std::fs::create_dir_all(d.join("requests")).unwrap();
    for i in 1..=3 {
        let out = ok(
            d,
            s,
            &[
                "voter",
                "keygen",
                "--electorate",
                "e1",
                "--region",
                "north",
                "--out",
                &p(&format!("c{i}.txt")),
                "--request-out",
                &p(&format!("requests/r{i}.json")),
            ],
        );
        let cred = credential_text(&d.join(format!("c{i}.txt")));
        assert!(!out.contains(&cred), "keygen printed the credential: {out}");
        #[cfg(unix)]
        assert_eq!(mode(p(&format!("c{i}.txt"))), 0o600);
    }
    let out = ok(
        d,
        s,
        &[
            "voter",
            "keygen",
            "--electorate",
            "e1",
            "--out",
            &p("shown.txt"),
            "--show-credential",
        ],
    );
    assert!(
        out.contains(&credential_text(&d.join("shown.txt"))),
        "{out}"
    );
    ok(
        d,
        s,
        &[
            "authority",
            "--key",
            &p("registrar.key"),
            "electorate",
            "create",
            "--requests",
            &p("requests"),
            "--out",
            &p("el"),
            "--id",
            "e1",
        ],
    );

    // A petition; `petition show` (no key) prints its sponsors, thresholds, deadlines
    // and regions.
    ok(
        d,
        s,
        &[
            "voter",
            "propose",
            "--credential",
            &p("c1.txt"),
            "--id",
            "p1",
            "--action",
            "Build a cycle lane",
            "--background",
            "Safety",
            "--sponsors",
            "2",
            "--response-threshold",
            "3",
            "--referendum-threshold",
            "7",
            "--days",
            "20",
            "--response-days",
            "9",
            "--region-min-group",
            "4",
        ],
    );
    let shown = ok(d, s, &["authority", "petition", "show", "p1"]);
    for want in [
        "petition p1: proposed",
        "Build a cycle lane",
        // Ring-signed by default: the proposer is not counted.
        "sponsors:    0 of 2 required",
        "signed by:   ring signatures",
        "response at 3 signatures, referendum at 7 signatures",
        "20 days once published",
        "9 days after the response threshold",
        "UTC",
        "under 4 signers",
    ] {
        assert!(shown.contains(want), "{want:?} missing from:\n{shown}");
    }
    let (_, err) = fails(d, s, &["authority", "petition", "show", "nope"]);
    assert!(err.contains("404") && err.contains("Not Found"), "{err}");

    // A valid credential that is not on the electorate: the server's refusal (status,
    // title, detail) and a plain explanation; exit status non-zero.
    let outsider = vox_crypto::credential::Credential::generate(&mut rand::rngs::OsRng);
    std::fs::write(
        d.join("outsider.txt"),
        format!("credential: {}\n", outsider.text()),
    )
    .unwrap();
    // On the ring-signed p1 the device finds no ring for it and sends nothing.
    let (_, err) = fails(
        d,
        s,
        &["voter", "sign", "p1", "--credential", &p("outsider.txt")],
    );
    assert!(
        err.contains("in none of the petition's rings") && err.contains("nothing was sent"),
        "{err}"
    );
    // On a petition with public signatures, the server refuses it.
    ok(
        d,
        s,
        &[
            "voter",
            "propose",
            "--credential",
            &p("c1.txt"),
            "--id",
            "p2",
            "--action",
            "Open the pool on Sundays",
            "--background",
            "Families",
            "--sponsors",
            "2",
            "--response-threshold",
            "3",
            "--referendum-threshold",
            "7",
            "--region-min-group",
            "4",
            "--public-signatures",
        ],
    );
    let shown = ok(d, s, &["authority", "petition", "show", "p2"]);
    assert!(shown.contains("sponsors:    1 of 2 required"), "{shown}");
    assert!(shown.contains("signed by:   credentials"), "{shown}");
    let (_, err) = fails(
        d,
        s,
        &["voter", "sign", "p2", "--credential", &p("outsider.txt")],
    );
    for want in [
        "422",
        "Unprocessable Entity",
        "not in the electorate",
        "this valid credential is not on electorate \"e1\"",
    ] {
        assert!(err.contains(want), "{want:?} missing from:\n{err}");
    }
    assert!(!err.contains("typo"), "{err}");

    // A mistyped credential: a typo, found before anything is sent, and not repeated.
    let good = credential_text(&d.join("c2.txt"));
    for (name, typo) in [
        ("short", good[..good.len() - 1].to_owned()),
        ("letter-o", format!("O{}", &good[1..])),
    ] {
        let f = d.join(format!("typo-{name}.txt"));
        std::fs::write(&f, format!("electorate: e1\ncredential: {typo}\n")).unwrap();
        let (_, err) = fails(
            d,
            s,
            &[
                "voter",
                "sign",
                "p1",
                "--credential",
                &f.display().to_string(),
            ],
        );
        assert!(
            err.contains("this is not a valid credential") && err.contains("check for a typo"),
            "{err}"
        );
        assert!(!err.contains("not on electorate"), "{err}");
        assert!(!err.contains(&typo) && !err.contains(&good[1..]), "{err}");
    }

    // Trustees (secret key files 0600). Without --threshold a referendum asks a majority:
    // 3 of 4 (not half, not all), in the manifest the server stores; the voting period is
    // printed with absolute UTC times before anything is sent.
    let mut trustee_args = Vec::new();
    for t in 1..=4 {
        ok(
            d,
            None,
            &[
                "trustee",
                "keygen",
                "--out",
                &p(&format!("t{t}.key")),
                "--name",
                &format!("T{t}"),
            ],
        );
        #[cfg(unix)]
        assert_eq!(mode(p(&format!("t{t}.key"))), 0o600);
        trustee_args.push("--trustee".to_owned());
        trustee_args.push(p(&format!("t{t}.key.pub")));
    }
    let mut create: Vec<String> = [
        "authority",
        "--key",
        &p("election-authority.key"),
        "referendum",
        "create",
        "--id",
        "r1",
        "--electorate",
        "e1",
        "--question",
        "Build it?",
        "--days",
        "3",
        "--save-manifest",
        &p("r1.json"),
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    create.extend(trustee_args.iter().cloned());
    let out = ok(d, s, &create.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.contains("voting period of r1: 3 days")
            && out.contains("opens  ")
            && out.contains("closes "),
        "{out}"
    );
    assert!(
        out.contains("UTC (in 3 days)") || out.contains("UTC (in 2 days"),
        "{out}"
    );
    let stored: serde_json::Value = ureq::get(&format!("{url}/api/v1/referendums/r1"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(stored["manifest"]["threshold"], 3, "{stored}");
    assert_eq!(stored["manifest"]["trustees"].as_array().unwrap().len(), 4);
    let help = ok(d, None, &["authority", "referendum", "create", "--help"]);
    assert!(
        help.contains("[default: majority of the trustees, ⌊n/2⌋+1]"),
        "{help}"
    );
    // An absolute closing time: in the past refused (nothing sent), in the future fixed
    // in the manifest exactly.
    let create_at = |id: &str, at: &str| -> Vec<String> {
        let mut v: Vec<String> = [
            "authority",
            "--key",
            &p("election-authority.key"),
            "referendum",
            "create",
            "--id",
            id,
            "--electorate",
            "e1",
            "--question",
            "Build it?",
            "--closes-at",
            at,
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        v.extend(trustee_args.iter().cloned());
        v
    };
    let past = create_at("r-past", "2020-01-01T00:00:00Z");
    let (_, err) = fails(d, s, &past.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains("--closes-at") && err.contains("not in the future"),
        "{err}"
    );
    let at = vox_cli::clock::now_ms() + 5 * vox_cli::clock::DAY_MS;
    let future = create_at("r-at", &at.to_string());
    ok(d, s, &future.iter().map(String::as_str).collect::<Vec<_>>());
    let stored: serde_json::Value = ureq::get(&format!("{url}/api/v1/referendums/r-at"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(stored["manifest"]["closes_at"], at, "{stored}");
    assert_eq!(
        ureq::get(&format!("{url}/api/v1/referendums/r-past"))
            .call()
            .map(|_| 200)
            .unwrap_or_else(|e| match e {
                ureq::Error::Status(code, _) => code,
                other => panic!("{other}"),
            }),
        404
    );

    // A referendum whose announced opening is two days past: `open` warns (stderr) with
    // the voting time left, before the server refuses it (the key ceremony has not run):
    // non-zero exit, the problem's status, title and detail.
    let now = vox_cli::clock::now_ms();
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r1.json")).unwrap()).unwrap();
    m["referendum_id"] = "r2".into();
    m["opens_at"] = (now - 2 * vox_cli::clock::DAY_MS).into();
    m["closes_at"] = (now + 3 * vox_cli::clock::DAY_MS).into();
    std::fs::write(d.join("r2.json"), m.to_string()).unwrap();
    ok(
        d,
        s,
        &[
            "authority",
            "--key",
            &p("election-authority.key"),
            "referendum",
            "create",
            "--manifest",
            &p("r2.json"),
        ],
    );
    let (_, err) = fails(
        d,
        s,
        &[
            "authority",
            "--key",
            &p("election-authority.key"),
            "referendum",
            "open",
            "r2",
        ],
    );
    for want in [
        "warning: referendum r2 was announced to open at",
        "(2 days",
        "not from this command",
        "leaving 2 days 23 h",
        "409",
        "Conflict",
    ] {
        assert!(err.contains(want), "{want:?} missing from:\n{err}");
    }

    // Nothing secret in what `vox serve` printed or logged (default level).
    let _ = server.kill();
    let _ = server.wait();
    let served = std::fs::read_to_string(d.join("serve-main.out")).unwrap()
        + &std::fs::read_to_string(d.join("serve-main.err")).unwrap();
    assert!(served.contains("listening on"), "{served}");
    let mut secrets: Vec<String> = Role::ALL
        .iter()
        .map(|r| secret_hex(&d.join(format!("{r}.key"))))
        .collect();
    secrets.extend((1..=4).map(|t| secret_hex(&d.join(format!("t{t}.key")))));
    secrets.extend((1..=3).map(|i| credential_text(&d.join(format!("c{i}.txt")))));
    for secret in &secrets {
        assert!(secret.len() >= 25);
        assert!(
            !served.to_lowercase().contains(&secret.to_lowercase()),
            "vox serve printed a secret"
        );
    }

    // A database others can read: refused, with the fix.
    let op = p("operator.key");
    let restart_args = ["--database-url", db.as_str(), "--operator-key", &op];
    #[cfg(unix)]
    {
        chmod(&db_path, 0o644);
        let err = serve(d, &restart_args, "loose-db").unwrap_err();
        assert!(err.contains("other users"), "{err}");
        assert!(err.contains(&format!("chmod 600 {db_path}")), "{err}");
        chmod(&db_path, 0o600);
        let (mut again, _) = serve(d, &restart_args, "again").unwrap();
        let _ = again.kill();
        let _ = again.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `vox … | head`: a reader that closes the pipe early does not make `vox` print a panic;
/// it exits quietly with 141, as a C tool killed by SIGPIPE would (without the hook:
/// a "failed printing to stdout" panic and status 101).
#[test]
fn a_closed_pipe_is_not_a_panic() {
    use std::process::{Command, Stdio};
    let dir = unique_dir("pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vox"))
        .args(["keys", "new", "--role", "registrar", "--out"])
        .arg(dir.join("registrar.key"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end at once: `vox` draws and writes the key file before it prints
    // the public key to stdout, long after this.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    // The work before the broken pipe was done.
    assert_eq!(mode(dir.join("registrar.key")), 0o600);
}
