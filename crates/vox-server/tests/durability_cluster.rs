//! The server refuses a PostgreSQL server that could lose acknowledged writes because of
//! server-wide settings (`fsync=off`, `full_page_writes=off`). These cannot be set per
//! session, so the test runs its own throw-away cluster: `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port with the setting, `vox_server::start`
//! must fail naming it; the same cluster with the settings on must be accepted. As root,
//! PostgreSQL runs as the `postgres` user (like scripts/with-postgres.sh). Skipped, with
//! the reason printed, when the PostgreSQL server binaries are not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::*;
use vox_server::ServerError;

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// A throw-away PostgreSQL cluster; stopped (immediately) and removed on drop.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
    port: u16,
    running: bool,
}

impl Cluster {
    /// `initdb` a new cluster, or `None` (with the reason) without the server binaries.
    fn init() -> Result<Self, String> {
        let out = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .map_err(|e| format!("pg_config not found ({e})"))?;
        let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if !bin.join("initdb").is_file() || !bin.join("pg_ctl").is_file() {
            return Err(format!("no initdb/pg_ctl in {}", bin.display()));
        }
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = id(&["-u"]) == Some(0);
        if as_postgres {
            // initdb refuses root: the cluster belongs to the postgres user.
            let uid = id(&["-u", "postgres"]).ok_or("running as root without a postgres user")?;
            let gid = id(&["-g", "postgres"]).ok_or("no postgres group")?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let c = Self {
            bin,
            dir,
            as_postgres,
            port: 0,
            running: false,
        };
        let data = c.data();
        run(c.cmd("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
        ]));
        Ok(c)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn cmd(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// Start on a free loopback port with `-c setting` (e.g. `fsync=off`).
    fn start(&mut self, setting: &str) {
        self.port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c {setting}",
            self.port,
            self.dir.path().display()
        );
        let (data, log) = (self.data(), self.dir.path().join("server.log"));
        run(self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-o", &opts, "start"]));
        self.running = true;
    }

    fn stop(&mut self, mode: &str) {
        if self.running {
            let data = self.data();
            let _ = self
                .cmd("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-m", mode, "-w", "stop"])
                .output();
            self.running = false;
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop("immediate");
    }
}

#[test]
fn refuses_postgres_without_fsync_or_full_page_writes() {
    let mut c = match Cluster::init() {
        Ok(c) => c,
        Err(reason) => {
            eprintln!("skipped: PostgreSQL server binaries unavailable: {reason}");
            return;
        }
    };
    for (setting, name) in [
        ("fsync=off", "fsync"),
        ("full_page_writes=off", "full_page_writes"),
        ("synchronous_commit=off", "synchronous_commit"),
    ] {
        c.start(setting);
        match Harness::try_start(config(&c.url())) {
            Err(ServerError::Durability(reason)) => {
                assert!(
                    reason.contains(&format!("{name}=off")),
                    "{setting}: the refusal does not name the setting: {reason}"
                );
                eprintln!("{setting} (server-wide): refused: {reason}");
            }
            Err(e) => panic!("{setting}: wrong error {e}\n{}", c.log()),
            Ok(_) => panic!("{setting}: started on a server that can lose acknowledged writes"),
        }
        c.stop("fast");
    }
    // The same cluster with the durable defaults is accepted.
    c.start("fsync=on");
    Harness::start(config(&c.url())).stop();
    c.stop("fast");
    let data = c.data();
    drop(c);
    assert!(!data.exists(), "the cluster directory was not removed");
}
