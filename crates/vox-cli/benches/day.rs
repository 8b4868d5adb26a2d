//! "A realistic day": a load benchmark of real `vox serve` processes (not a test).
//!
//! Starts one or more `vox serve` processes (the binary built with this bench) on
//! 127.0.0.1 and free ports, on a fresh SQLite file or a fresh PostgreSQL database that
//! they all share; registers an electorate, publishes a few petitions and opens a yes/no
//! referendum after a 3-trustee key ceremony (all over HTTP, as `vox demo` does); then
//! `--clients` threads act as citizens for `--secs` seconds, round-robin over the
//! servers, each on its own keep-alive connection(s), with no think time (closed loop;
//! see "Open loop" below for a fixed offered load):
//!
//! - vote: encrypt a yes/no ballot *on the fly* (proofs included) for the next
//!   credential that has not voted yet, or (a share `--revote-share`) re-vote with a
//!   credential that already voted; cast it; check the receipt (board signature,
//!   inclusion proof, that it is for this ballot);
//! - sign: sign one of the petitions with a credential that has not signed it yet;
//!   check the signed tree head of the answer. With `--ring-signatures N` the petitions
//!   are ring-signed (07 §7.10): N linkable ring signatures are proved on all cores
//!   before the timed period (on the rings a device derives from the board; `--regions`
//!   sets their size) and the clients send them, so the server's side — the batched
//!   ring checks and the writer — is what is timed;
//! - check: re-check the last receipt against the live board like a citizen's device
//!   (latest tree head, consistency and inclusion proofs, counted/superseded status);
//! - read: fetch a petition page and the referendum page;
//! - audit: Benaloh audit (encrypt, publish the opened ballot, check the opening), then
//!   cast a fresh encryption;
//! - `--rapid` of the clients are deliberate rapid re-voters: every `--rapid-pause`
//!   seconds each fires `--rapid-burst` fresh ballots of one credential at once at one
//!   server, so the per-credential rate limit (left at its default, 20 burst / 2 per s
//!   per process) answers 429 to the excess. Those 429s are counted as intended; any
//!   other non-2xx answer, transport error or failed client-side check is an error.
//!
//! Progress every 10 s on stderr. At the end: the board closes voting by itself at the
//! manifest's closes_at (the timed period and 30 s) and tallies, two of three trustees
//! decrypt, the board publishes; the result must equal the last accepted ballot of every credential
//! as the clients saw them; the record is exported and checked by the verifier library
//! with every receipt the clients got; every accepted signature and audit must be at its
//! leaf in the record. Exits non-zero on any error or failed check.
//!
//! Closed loop measures saturation: its latencies are mostly queueing (≈ clients / rate).
//! **Open loop** (any `--rate-*` option, like wrk2): each request kind is offered at a
//! fixed rate, the i-th request of a kind being due at `start + i / rate`; a pool of
//! worker threads per kind (the `--clients` split in proportion to the rates) prepares
//! the next due request (a ballot is encrypted beforehand), waits for its due time and
//! sends it, and its latency is counted **from its due time**, not from when it was
//! actually sent, so a stall of the server (or of the workers) shows in the figures
//! instead of silently lowering the offered load. A check starts with the tree head and
//! goes on with the proofs of a recent receipt; an audit is not followed by a cast (casts
//! have their own rate). The rapid re-voters run as in closed loop.
//!
//! ```text
//! cargo bench -p vox-cli --bench day -- --backend sqlite --clients 300 --secs 150
//! cargo bench -p vox-cli --bench day -- --backend sqlite --secs 60 --rate-cast 800 --rate-sign 200 --rate-check 130 --rate-read 30 --rate-audit 8
//! scripts/with-postgres.sh cargo bench -p vox-cli --bench day -- --backend postgres --servers 2 --clients 300 --secs 150
//! ```
//!
//! `cargo bench` adds `--bench`; without it the program only prints how to run it (so a
//! `cargo test --benches` does not start a long run). `--help` lists every option.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::too_many_arguments
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::Rng;
use vox_cli::authority;
use vox_cli::client::{AuditPosted, Client, ConsistencyProof, InclusionProof, SignatureAccepted};
use vox_cli::trustee::{Step, TrusteeSession};
use vox_cli::voter::VotingContext;
use vox_crypto::credential::Credential;
use vox_crypto::threshold::TrusteeKeys;
use vox_crypto::Hash32;
use vox_protocol::ballot::{encrypt_ballot, AuditedBallot, BallotContext};
use vox_protocol::board::{BoardPublicKey, Payload, Receipt, SignedTreeHead};
use vox_protocol::manifest::{
    Manifest, Question, QuestionKind, TrusteeInfo, TrusteePanel, MANIFEST_VERSION,
};
use vox_protocol::merkle::{verify_consistency, verify_inclusion, NodeHash};
use vox_protocol::petition::{
    Moderation, Petition, PetitionProposal, PetitionSignature, ReferendumTerms,
    RingPetitionSignature, SignatureAction, SignatureScheme,
};
use vox_protocol::roles::{Role, RoleSigners, WitnessPolicy};

const DAY_MS: i64 = 24 * 3600 * 1000;
const WINDOW: Duration = Duration::from_secs(10);
const RID: &str = "day-referendum";

// ---- options -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
struct Args {
    backend: Backend,
    servers: usize,
    clients: usize,
    secs: u64,
    voters: usize,
    petitions: usize,
    sign_share: f64,
    check_share: f64,
    read_share: f64,
    audit_share: f64,
    revote_share: f64,
    rapid: usize,
    rapid_burst: usize,
    rapid_pause: u64,
    max_connections: u32,
    keep: Option<PathBuf>,
    /// Offered requests per second by kind (open loop when any is positive).
    rates: Rates,
    /// Ring-signed petitions, with this many signatures proved before the timed period
    /// (0: credential-signed petitions, signed on the fly).
    ring_signatures: usize,
    /// Regions of the electorate (each region's credentials form its rings).
    regions: usize,
}

/// Offered rates of the open loop, per second.
#[derive(Debug, Clone, Copy, Default)]
struct Rates {
    cast: f64,
    sign: f64,
    check: f64,
    read: f64,
    audit: f64,
}

impl Rates {
    fn open_loop(&self) -> bool {
        self.lanes().iter().any(|(_, r)| *r > 0.0)
    }
    fn lanes(&self) -> [(Lane, f64); 5] {
        [
            (Lane::Cast, self.cast),
            (Lane::Sign, self.sign),
            (Lane::Check, self.check),
            (Lane::Read, self.read),
            (Lane::Audit, self.audit),
        ]
    }
}

/// A kind of action offered at its own rate in the open loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Cast,
    Sign,
    Check,
    Read,
    Audit,
}

const USAGE: &str = "\
day: a realistic day of load on real `vox serve` processes (a benchmark, not a test)

  cargo bench -p vox-cli --bench day -- [OPTIONS]
  scripts/with-postgres.sh cargo bench -p vox-cli --bench day -- --backend postgres --servers 2 [OPTIONS]
  (or the built binary: target/release/deps/day-<hash> --bench [OPTIONS])

  --backend sqlite|postgres  storage (postgres needs DATABASE_URL; a fresh database is
                             created on that server and dropped at the end) [sqlite]
  --servers N                server processes sharing the database [1]
  --clients N                concurrent client threads [300]
  --secs S                   length of the timed period [120]
  --voters N                 credentials in the electorate [50000]
  --petitions N              petitions open for signing [4]
  --sign-share X             share of client actions that sign a petition [0.15]
  --check-share X            share that re-check their last receipt [0.10]
  --read-share X             share that read a petition and the referendum page [0.04]
  --audit-share X            share that audit a ballot, then cast [0.01]
                             (the rest vote)
  --revote-share X           share of votes that are re-votes [0.10]
  --rapid N                  of the clients, deliberate rapid re-voters [3]
  --rapid-burst N            ballots each fires at once [30]
  --rapid-pause S            seconds between bursts [15]
  --max-connections N        database pool size per server [16]
  --ring-signatures N        ring-signed petitions (07 §7.10): N signatures are proved
                             before the timed period (proving costs the clients'
                             cores ≈ 20 ms on a 256-member ring, ≈ 300 ms on 4,096),
                             and the clients send them; signing stops when they run out
                             [0: credential-signed petitions]
  --regions N                regions of the electorate; a region's credentials make its
                             rings (at most 4,096 each), so more regions, smaller rings [4]
  --keep DIR                 keep the working files (database, logs, record) in DIR
  --rate-cast R, --rate-sign R, --rate-check R, --rate-read R, --rate-audit R
                             open loop: offer each kind at R per second (latency from
                             each request's due time); the shares above are then unused

  VOX_DAY_SERVER_BIN=PATH runs another `vox` binary as the servers (A/B comparisons).
";

fn parse_args() -> Result<Option<Args>> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return Ok(None);
    }
    if !raw.iter().any(|a| a == "--bench") {
        println!(
            "day: a load benchmark; run it with `cargo bench -p vox-cli --bench day -- …` \
             (or pass --bench to the built binary); --help lists the options"
        );
        return Ok(None);
    }
    let mut a = Args {
        backend: Backend::Sqlite,
        servers: 1,
        clients: 300,
        secs: 120,
        voters: 50_000,
        petitions: 4,
        sign_share: 0.15,
        check_share: 0.10,
        read_share: 0.04,
        audit_share: 0.01,
        revote_share: 0.10,
        rapid: 3,
        rapid_burst: 30,
        rapid_pause: 15,
        max_connections: 16,
        keep: None,
        rates: Rates::default(),
        ring_signatures: 0,
        regions: 4,
    };
    let mut it = raw.into_iter();
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue;
        }
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow!("{flag} needs a value (see --help)"))
        };
        fn num<T: std::str::FromStr>(flag: &str, v: String) -> Result<T> {
            v.parse()
                .map_err(|_| anyhow!("{flag}: {v:?} is not a valid number"))
        }
        match flag.as_str() {
            "--backend" => {
                a.backend = match value()?.as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" | "postgresql" => Backend::Postgres,
                    other => bail!("--backend {other}: use sqlite or postgres"),
                }
            }
            "--servers" => a.servers = num(&flag, value()?)?,
            "--clients" => a.clients = num(&flag, value()?)?,
            "--secs" => a.secs = num(&flag, value()?)?,
            "--voters" => a.voters = num(&flag, value()?)?,
            "--petitions" => a.petitions = num(&flag, value()?)?,
            "--sign-share" => a.sign_share = num(&flag, value()?)?,
            "--check-share" => a.check_share = num(&flag, value()?)?,
            "--read-share" => a.read_share = num(&flag, value()?)?,
            "--audit-share" => a.audit_share = num(&flag, value()?)?,
            "--revote-share" => a.revote_share = num(&flag, value()?)?,
            "--rapid" => a.rapid = num(&flag, value()?)?,
            "--rapid-burst" => a.rapid_burst = num(&flag, value()?)?,
            "--rapid-pause" => a.rapid_pause = num(&flag, value()?)?,
            "--max-connections" => a.max_connections = num(&flag, value()?)?,
            "--keep" => a.keep = Some(PathBuf::from(value()?)),
            "--ring-signatures" => a.ring_signatures = num(&flag, value()?)?,
            "--regions" => a.regions = num(&flag, value()?)?,
            "--rate-cast" => a.rates.cast = num(&flag, value()?)?,
            "--rate-sign" => a.rates.sign = num(&flag, value()?)?,
            "--rate-check" => a.rates.check = num(&flag, value()?)?,
            "--rate-read" => a.rates.read = num(&flag, value()?)?,
            "--rate-audit" => a.rates.audit = num(&flag, value()?)?,
            other => bail!("unknown option {other} (see --help)"),
        }
    }
    let shares = a.sign_share + a.check_share + a.read_share + a.audit_share;
    if !(0.0..=1.0).contains(&shares) || !(0.0..=1.0).contains(&a.revote_share) {
        bail!("the action shares must add up to at most 1");
    }
    if a.servers == 0 || a.clients == 0 || a.petitions == 0 || a.secs == 0 || a.regions == 0 {
        bail!("--servers, --clients, --petitions, --regions and --secs must be positive");
    }
    if a.rates
        .lanes()
        .iter()
        .any(|(_, r)| !(0.0..=100_000.0).contains(r))
    {
        bail!("the --rate-* options must be between 0 and 100000 per second");
    }
    if a.rapid >= a.clients {
        bail!("--rapid must be below --clients");
    }
    if a.voters < 2 * a.petitions + a.rapid + 100 {
        bail!("--voters is too small for the petitions and rapid re-voters");
    }
    Ok(Some(a))
}

// ---- server processes --------------------------------------------------------------

/// Process ids of the servers, killed on Ctrl-C / SIGTERM of the bench.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn signal_pid(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(sig)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Kill the servers if the bench itself is interrupted (drops do not run then).
fn kill_children_on_signal() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        });
        for pid in CHILDREN.lock().unwrap().iter() {
            signal_pid(*pid, "-KILL");
        }
        eprintln!("day: interrupted; servers killed");
        std::process::exit(130);
    });
}

/// A `vox serve` child, killed when dropped.
struct ServerProc {
    child: Child,
    pid: u32,
    url: String,
    log: PathBuf,
}

impl ServerProc {
    fn start(bin: &Path, db_url: &str, work: &Path, i: usize, args: &Args) -> Result<Self> {
        let log = work.join(format!("server-{}.log", i + 1));
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", db_url])
            .arg("--genesis")
            .arg(work.join(GENESIS_FILE))
            .arg("--operator-key")
            .arg(work.join(OPERATOR_KEY_FILE))
            .args(["--max-connections", &args.max_connections.to_string()])
            .env("RUST_LOG", "info")
            .env_remove("VOX_WEB_DIR")
            // Benches build `vox` with the crash test's failpoints (a dev-dependency
            // feature); they stay inert unless this is set.
            .env_remove("VOX_FAILPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log)?)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        CHILDREN.lock().unwrap().push(pid);
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no stdout from the server"))?;
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut server = ServerProc {
            child,
            pid,
            url: String::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while server.url.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("vox server listening on ") {
                        server.url = rest.trim().to_owned();
                    }
                }
                Err(_) => bail!(
                    "server {} did not start; its log ({}):\n{}",
                    i + 1,
                    server.log.display(),
                    tail(&server.log, 30)
                ),
            }
        }
        Ok(server)
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after 20 s.
    fn stop(mut self) -> Result<()> {
        signal_pid(self.pid, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    eprintln!(
                        "day: server pid {} exited with {status}; log tail:\n{}",
                        self.pid,
                        tail(&self.log, 15)
                    );
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("server pid {} did not stop within 20 s", self.pid)
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        CHILDREN.lock().unwrap().retain(|p| *p != self.pid);
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---- databases ---------------------------------------------------------------------

/// A fresh database for the run; PostgreSQL databases are dropped at the end.
struct Database {
    url: String,
    pg_admin: Option<(String, String)>,
}

fn fresh_database(backend: Backend, work: &Path) -> Result<Database> {
    match backend {
        Backend::Sqlite => Ok(Database {
            url: format!("sqlite://{}", work.join("vox.db").display()),
            pg_admin: None,
        }),
        Backend::Postgres => {
            let base = std::env::var("DATABASE_URL").map_err(|_| {
                anyhow!(
                    "--backend postgres needs DATABASE_URL (run under scripts/with-postgres.sh)"
                )
            })?;
            if !base.starts_with("postgres") {
                bail!("DATABASE_URL is not a postgres:// URL");
            }
            let admin = std::env::var("VOX_TEST_POSTGRES_ADMIN_URL").unwrap_or(base);
            let admin = admin
                .split_once('?')
                .map_or(admin.clone(), |(u, _)| u.to_owned());
            let name = format!("vox_day_{}_{}", std::process::id(), authority::now_ms());
            pg_exec(&admin, &format!("CREATE DATABASE {name}"))?;
            let (prefix, _) = admin
                .rsplit_once('/')
                .ok_or_else(|| anyhow!("cannot find the database name in DATABASE_URL"))?;
            Ok(Database {
                url: format!("{prefix}/{name}"),
                pg_admin: Some((admin, name)),
            })
        }
    }
}

fn pg_exec(url: &str, sql: &str) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        use sqlx::{Connection, Executor};
        let mut c = sqlx::PgConnection::connect(url).await?;
        c.execute(sql).await?;
        c.close().await?;
        Ok::<_, sqlx::Error>(())
    })
    .with_context(|| format!("PostgreSQL: {sql}"))
}

/// The port of the PostgreSQL server in a URL, to find its processes.
fn pg_port(url: &str) -> Option<String> {
    let after_at = url.rsplit_once('@').map_or(url, |(_, r)| r);
    let host_port = after_at.split('/').next()?;
    Some(
        host_port
            .rsplit_once(':')
            .map_or("5432", |(_, p)| p)
            .to_owned(),
    )
}

// ---- CPU accounting ----------------------------------------------------------------

fn ticks_per_sec() -> f64 {
    100.0 // USER_HZ on Linux
}

/// (utime + stime, cutime + cstime, ppid) of a process, in seconds.
fn proc_cpu(pid: u32) -> Option<(f64, f64, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let ppid = f.get(1)?.parse().ok()?;
    Some((
        (n(11) + n(12)) / ticks_per_sec(),
        (n(13) + n(14)) / ticks_per_sec(),
        ppid,
    ))
}

/// (busy, total) jiffies of the whole machine.
fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or("");
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle, total)
}

/// CPU seconds of the PostgreSQL server listening on `port` and its children.
fn postgres_cpu(port: &str) -> Option<f64> {
    let mut postmaster = None;
    let mut all = Vec::new();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let args: Vec<String> = cmd
                .split(|b| *b == 0)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            if args.first().is_some_and(|a| a.ends_with("/postgres"))
                && args.windows(2).any(|w| w[0] == "-p" && w[1] == port)
            {
                postmaster = Some(pid);
            }
        }
        if let Some(c) = proc_cpu(pid) {
            all.push((pid, c));
        }
    }
    let pm = postmaster?;
    let mut sum = 0.0;
    for (pid, (own, children, ppid)) in all {
        if pid == pm {
            sum += own + children;
        } else if ppid == pm {
            sum += own;
        }
    }
    Some(sum)
}

struct CpuSnap {
    machine: (f64, f64),
    me: f64,
    servers: Vec<f64>,
    postgres: Option<f64>,
}

fn cpu_snap(servers: &[ServerProc], pg: Option<&str>) -> CpuSnap {
    CpuSnap {
        machine: machine_cpu(),
        me: proc_cpu(std::process::id()).map_or(0.0, |c| c.0),
        servers: servers
            .iter()
            .map(|s| proc_cpu(s.pid).map_or(0.0, |c| c.0))
            .collect(),
        postgres: pg.and_then(postgres_cpu),
    }
}

// ---- HTTP --------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Cast,
    RapidCast,
    Sign,
    Audit,
    TreeHead,
    Consistency,
    Inclusion,
    BallotStatus,
    PetitionPage,
    ReferendumPage,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Cast => "cast ballot",
            Kind::RapidCast => "cast (rapid re-voter)",
            Kind::Sign => "sign petition",
            Kind::Audit => "post Benaloh audit",
            Kind::TreeHead => "GET tree head",
            Kind::Consistency => "GET consistency proof",
            Kind::Inclusion => "GET inclusion proof",
            Kind::BallotStatus => "GET ballot status",
            Kind::PetitionPage => "GET petition",
            Kind::ReferendumPage => "GET referendum",
        }
    }
}

fn http(agent: &ureq::Agent, method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let req = agent.request(method, url);
    let res = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    match res {
        Ok(r) => {
            let s = r.status();
            (s, r.into_string().unwrap_or_default())
        }
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

// ---- shared state and per-client results -------------------------------------------

#[derive(Default)]
struct Counters {
    ballots: AtomicU64,
    signatures: AtomicU64,
    audits: AtomicU64,
    checks: AtomicU64,
    reads: AtomicU64,
    requests: AtomicU64,
    intended_429: AtomicU64,
    /// Casts refused because another ballot of the same credential landed first (the
    /// ballot's `previous` was no longer the latest, 409 `ballot-not-latest`): what a
    /// device sees when two of its casts race, as rapid bursts do on purpose.
    stale_409: AtomicU64,
    /// Open loop: requests sent more than 10 ms after their due time (every worker of
    /// the kind was still busy): their latency counts the wait.
    late_sends: AtomicU64,
    errors: AtomicU64,
}

struct Shared<'a> {
    urls: Vec<String>,
    creds: &'a [Credential],
    manifest: &'a Manifest,
    election_key: vox_crypto::elgamal::ElectionPublicKey,
    board_key: BoardPublicKey,
    petitions: &'a [Petition],
    /// Ring mode: the signatures proved before the timed period, in signing order, with
    /// their request bodies.
    ring_signed: &'a [(RingPetitionSignature, String)],
    /// Pool credentials in voting order (first votes), and in signing order.
    vote_order: Vec<u32>,
    sign_order: Vec<u32>,
    next_vote: AtomicUsize,
    next_sign: AtomicUsize,
    /// Credentials of the rapid re-voters.
    rapid_creds: Vec<u32>,
    args: &'a Args,
    stop: AtomicBool,
    c: Counters,
    error_samples: Mutex<Vec<String>>,
    signing_exhausted: AtomicBool,
    /// The latest accepted ballot (leaf, hash) of each credential, as the clients saw
    /// their receipts: what a device names as its next ballot's `previous`.
    latest: Mutex<HashMap<u32, (u64, Hash32)>>,
    /// Recent receipts (a ring), for the open loop's checks.
    recent: Mutex<Vec<Receipt>>,
}

/// Receipts kept for the open loop's checks.
const RECENT: usize = 256;

/// An accepted signature, for the record check.
struct SignedRec {
    leaf: u64,
    signature: Signed,
    tree_size: u64,
    root: NodeHash,
}

/// A petition signature as sent.
#[derive(PartialEq)]
enum Signed {
    Credential(Box<PetitionSignature>),
    Ring(RingPetitionSignature),
}

#[derive(Default)]
struct ClientOut {
    lat: HashMap<Kind, Vec<u32>>,
    status: BTreeMap<(Kind, u16), u64>,
    /// (credential index, leaf, voted yes) of every accepted ballot.
    ballots: Vec<(u32, u64, bool)>,
    receipts: Vec<Receipt>,
    signatures: Vec<SignedRec>,
    audits: Vec<u64>,
    /// Open loop: the due time of the next request, taken by the next [`Shared::call`]
    /// (which waits for it and counts the latency from it).
    due: Option<Instant>,
}

impl Shared<'_> {
    fn error(&self, what: String) {
        self.c.errors.fetch_add(1, Ordering::Relaxed);
        let mut s = self.error_samples.lock().unwrap();
        if s.len() < 40 {
            s.push(what);
        }
    }

    /// One timed request; non-2xx answers are errors unless `ok_429`.
    fn call(
        &self,
        out: &mut ClientOut,
        agent: &ureq::Agent,
        kind: Kind,
        method: &str,
        url: &str,
        body: Option<&str>,
    ) -> Option<(u16, String)> {
        let t = match out.due.take() {
            Some(due) => {
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                } else if now - due > Duration::from_millis(10) {
                    self.c.late_sends.fetch_add(1, Ordering::Relaxed);
                }
                due
            }
            None => Instant::now(),
        };
        let (status, text) = http(agent, method, url, body);
        let micros = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
        out.lat.entry(kind).or_default().push(micros);
        *out.status.entry((kind, status)).or_default() += 1;
        self.c.requests.fetch_add(1, Ordering::Relaxed);
        if (200..300).contains(&status) {
            return Some((status, text));
        }
        if status == 429 && kind == Kind::RapidCast {
            self.c.intended_429.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        if status == 409
            && matches!(kind, Kind::Cast | Kind::RapidCast)
            && text.contains("ballot-not-latest")
        {
            self.c.stale_409.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let short: String = text.chars().take(300).collect();
        self.error(format!("{} {method} {url}: {status} {short}", kind.name()));
        None
    }
}

fn yes_no(yes: bool) -> Vec<Vec<u64>> {
    vec![if yes { vec![1, 0] } else { vec![0, 1] }]
}

// ---- client actions ----------------------------------------------------------------

/// Encrypt and cast a ballot for credential `ci`; check the receipt.
fn vote(
    sh: &Shared<'_>,
    out: &mut ClientOut,
    agent: &ureq::Agent,
    base: &str,
    ctx: &BallotContext<'_>,
    ci: u32,
    kind: Kind,
    last: &mut Option<Receipt>,
) {
    let yes = rand::thread_rng().gen_bool(0.55);
    let cred = &sh.creds[ci as usize];
    let previous = sh.latest.lock().unwrap().get(&ci).map(|(_, hash)| *hash);
    let ballot = match encrypt_ballot(ctx, cred, &yes_no(yes), previous, &mut OsRng) {
        Ok((b, _)) => b,
        Err(e) => return sh.error(format!("encrypting: {e}")),
    };
    let body = serde_json::to_string(&ballot).unwrap();
    let url = format!("{base}/api/v1/referendums/{RID}/ballots");
    let Some((status, text)) = sh.call(out, agent, kind, "POST", &url, Some(&body)) else {
        return;
    };
    let receipt: Receipt = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => return sh.error(format!("cast: the receipt does not parse: {e}")),
    };
    if let Err(e) = receipt.verify(&sh.board_key) {
        return sh.error(format!("cast: receipt does not verify: {e}"));
    }
    if let Err(e) = receipt.matches_ballot(&ballot) {
        return sh.error(format!("cast: receipt is for another ballot: {e}"));
    }
    if status != 201 {
        return sh.error(format!("cast: a fresh ballot answered {status}, not 201"));
    }
    sh.c.ballots.fetch_add(1, Ordering::Relaxed);
    {
        let mut latest = sh.latest.lock().unwrap();
        let e = latest
            .entry(ci)
            .or_insert((receipt.leaf_index, receipt.ballot_hash));
        if receipt.leaf_index >= e.0 {
            *e = (receipt.leaf_index, receipt.ballot_hash);
        }
    }
    out.ballots.push((ci, receipt.leaf_index, yes));
    {
        let mut recent = sh.recent.lock().unwrap();
        if recent.len() < RECENT {
            recent.push(receipt.clone());
        } else {
            let i = rand::thread_rng().gen_range(0..RECENT);
            recent[i] = receipt.clone();
        }
    }
    out.receipts.push(receipt.clone());
    *last = Some(receipt);
}

fn next_voter(sh: &Shared<'_>) -> u32 {
    let mut rng = rand::thread_rng();
    if !rng.gen_bool(sh.args.revote_share) {
        let i = sh.next_vote.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = sh.vote_order.get(i) {
            return *c;
        }
    }
    let voted = sh
        .next_vote
        .load(Ordering::Relaxed)
        .clamp(1, sh.vote_order.len());
    sh.vote_order[rng.gen_range(0..voted)]
}

/// The k-th (credential, petition) pair of the signing order: petitions in turn, each
/// petition's signers a different stretch of `sign_order`.
fn sign_pair(sign_order: &[u32], petitions: usize, k: usize) -> Option<(usize, u32)> {
    let m = sign_order.len();
    if k >= m * petitions {
        return None;
    }
    let pi = k % petitions;
    Some((pi, sign_order[(k / petitions + pi * (m / petitions)) % m]))
}

fn sign(sh: &Shared<'_>, out: &mut ClientOut, agent: &ureq::Agent, base: &str) -> bool {
    let k = sh.next_sign.fetch_add(1, Ordering::Relaxed);
    let (signed, body, url) = if sh.args.ring_signatures > 0 {
        let Some((sig, body)) = sh.ring_signed.get(k) else {
            sh.signing_exhausted.store(true, Ordering::Relaxed);
            return false;
        };
        let url = format!(
            "{base}/api/v1/petitions/{}/ring-signatures",
            sig.petition_id
        );
        (Signed::Ring(sig.clone()), body.clone(), url)
    } else {
        let Some((pi, ci)) = sign_pair(&sh.sign_order, sh.petitions.len(), k) else {
            sh.signing_exhausted.store(true, Ordering::Relaxed);
            return false;
        };
        let petition = &sh.petitions[pi];
        let sig = PetitionSignature::create(
            petition,
            &sh.creds[ci as usize],
            SignatureAction::Sign,
            &mut OsRng,
        );
        let body = serde_json::to_string(&sig).unwrap();
        let url = format!("{base}/api/v1/petitions/{}/signatures", petition.id);
        (Signed::Credential(Box::new(sig)), body, url)
    };
    let Some((_, text)) = sh.call(out, agent, Kind::Sign, "POST", &url, Some(&body)) else {
        return true;
    };
    let a: SignatureAccepted = match serde_json::from_str(&text) {
        Ok(a) => a,
        Err(e) => {
            sh.error(format!("sign: the answer does not parse: {e}"));
            return true;
        }
    };
    if let Err(e) = a.tree_head.verify(&sh.board_key) {
        sh.error(format!("sign: tree head does not verify: {e}"));
        return true;
    }
    if a.leaf_index >= a.tree_head.head.tree_size {
        sh.error("sign: the leaf is not in the tree head of the answer".into());
        return true;
    }
    sh.c.signatures.fetch_add(1, Ordering::Relaxed);
    out.signatures.push(SignedRec {
        leaf: a.leaf_index,
        signature: signed,
        tree_size: a.tree_head.head.tree_size,
        root: a.tree_head.head.root_hash,
    });
    true
}

/// Re-check `receipt` against the live board (or just fetch the tree head).
fn check(
    sh: &Shared<'_>,
    out: &mut ClientOut,
    agent: &ureq::Agent,
    base: &str,
    receipt: Option<&Receipt>,
) {
    let Some((_, text)) = sh.call(
        out,
        agent,
        Kind::TreeHead,
        "GET",
        &format!("{base}/api/v1/board/tree-head"),
        None,
    ) else {
        return;
    };
    let sth: SignedTreeHead = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => return sh.error(format!("tree head does not parse: {e}")),
    };
    if let Err(e) = sth.verify(&sh.board_key) {
        return sh.error(format!("tree head does not verify: {e}"));
    }
    sh.c.checks.fetch_add(1, Ordering::Relaxed);
    let Some(r) = receipt else { return };
    let old = &r.tree_head.head;
    let new = &sth.head;
    if new.tree_size < old.tree_size {
        return sh.error(format!(
            "check: the board shrank from {} to {}",
            old.tree_size, new.tree_size
        ));
    }
    let url = format!(
        "{base}/api/v1/board/consistency?first={}&second={}",
        old.tree_size, new.tree_size
    );
    let Some((_, text)) = sh.call(out, agent, Kind::Consistency, "GET", &url, None) else {
        return;
    };
    match serde_json::from_str::<ConsistencyProof>(&text) {
        Ok(c) => {
            if let Err(e) = verify_consistency(
                old.tree_size,
                new.tree_size,
                &old.root_hash,
                &new.root_hash,
                &c.proof,
            ) {
                return sh.error(format!("check: consistency proof fails: {e}"));
            }
        }
        Err(e) => return sh.error(format!("consistency proof does not parse: {e}")),
    }
    let url = format!(
        "{base}/api/v1/board/inclusion?index={}&tree_size={}",
        r.leaf_index, new.tree_size
    );
    let Some((_, text)) = sh.call(out, agent, Kind::Inclusion, "GET", &url, None) else {
        return;
    };
    match serde_json::from_str::<InclusionProof>(&text) {
        Ok(p) => {
            if let Err(e) = verify_inclusion(
                &r.leaf_hash,
                r.leaf_index,
                new.tree_size,
                &p.proof,
                &new.root_hash,
            ) {
                return sh.error(format!("check: inclusion proof fails: {e}"));
            }
        }
        Err(e) => return sh.error(format!("inclusion proof does not parse: {e}")),
    }
    let url = format!(
        "{base}/api/v1/referendums/{RID}/ballots/{}",
        r.ballot_hash.to_hex()
    );
    let Some((_, text)) = sh.call(out, agent, Kind::BallotStatus, "GET", &url, None) else {
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let status = v["status"].as_str().unwrap_or("");
    if v["leaf_index"].as_u64() != Some(r.leaf_index) || !matches!(status, "counted" | "superseded")
    {
        sh.error(format!("check: unexpected ballot status {text}"));
    }
}

fn read_pages(sh: &Shared<'_>, out: &mut ClientOut, agent: &ureq::Agent, base: &str) {
    let p = &sh.petitions[rand::thread_rng().gen_range(0..sh.petitions.len())];
    let url = format!("{base}/api/v1/petitions/{}", p.id);
    if sh
        .call(out, agent, Kind::PetitionPage, "GET", &url, None)
        .is_none()
    {
        return;
    }
    let url = format!("{base}/api/v1/referendums/{RID}");
    if sh
        .call(out, agent, Kind::ReferendumPage, "GET", &url, None)
        .is_some()
    {
        sh.c.reads.fetch_add(1, Ordering::Relaxed);
    }
}

/// Benaloh audit with credential `ci`: publish an opened ballot, check its opening.
fn audit(
    sh: &Shared<'_>,
    out: &mut ClientOut,
    agent: &ureq::Agent,
    base: &str,
    ctx: &BallotContext<'_>,
    ci: u32,
) {
    let yes = rand::thread_rng().gen_bool(0.55);
    let (ballot, secrets) =
        match encrypt_ballot(ctx, &sh.creds[ci as usize], &yes_no(yes), None, &mut OsRng) {
            Ok(x) => x,
            Err(e) => return sh.error(format!("encrypting: {e}")),
        };
    let audited = AuditedBallot::new(ballot, secrets);
    let body = serde_json::to_string(&audited).unwrap();
    let url = format!("{base}/api/v1/referendums/{RID}/audits");
    let Some((_, text)) = sh.call(out, agent, Kind::Audit, "POST", &url, Some(&body)) else {
        return;
    };
    match serde_json::from_str::<AuditPosted>(&text) {
        Ok(a) => {
            if let Err(e) = audited.verify_opening(ctx) {
                return sh.error(format!("audit: the opening does not check: {e}"));
            }
            sh.c.audits.fetch_add(1, Ordering::Relaxed);
            out.audits.push(a.leaf_index);
        }
        Err(e) => sh.error(format!("audit: the answer does not parse: {e}")),
    }
}

/// A rapid re-voter: `burst` fresh ballots of one credential fired at once.
fn rapid_burst(sh: &Shared<'_>, out: &mut ClientOut, base: &str, ctx: &BallotContext<'_>, ci: u32) {
    let burst = sh.args.rapid_burst;
    let outs: Vec<ClientOut> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..burst)
            .map(|_| {
                s.spawn(move || {
                    let agent = ureq::AgentBuilder::new()
                        .timeout(Duration::from_secs(120))
                        .build();
                    let mut o = ClientOut::default();
                    let mut last = None;
                    vote(
                        sh,
                        &mut o,
                        &agent,
                        base,
                        ctx,
                        ci,
                        Kind::RapidCast,
                        &mut last,
                    );
                    o
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in outs {
        out.merge(o);
    }
}

impl ClientOut {
    fn merge(&mut self, o: ClientOut) {
        for (k, v) in o.lat {
            self.lat.entry(k).or_default().extend(v);
        }
        for (k, n) in o.status {
            *self.status.entry(k).or_default() += n;
        }
        self.ballots.extend(o.ballots);
        self.receipts.extend(o.receipts);
        self.signatures.extend(o.signatures);
        self.audits.extend(o.audits);
    }
}

fn client(sh: &Shared<'_>, index: usize) -> ClientOut {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .max_idle_connections_per_host(2)
        .build();
    let ctx = BallotContext::new(sh.manifest, sh.election_key);
    let mut out = ClientOut::default();
    let mut last: Option<Receipt> = None;
    let mut rr = index;
    let a = sh.args;
    if let Some(&ci) = sh.rapid_creds.get(index) {
        // A deliberate rapid re-voter (first `--rapid` clients), staggered.
        let mut wait = Duration::from_millis(1000 + 1500 * index as u64);
        loop {
            let until = Instant::now() + wait;
            while Instant::now() < until {
                if sh.stop.load(Ordering::Relaxed) {
                    return out;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let base = &sh.urls[rr % sh.urls.len()];
            rr += 1;
            rapid_burst(sh, &mut out, base, &ctx, ci);
            wait = Duration::from_secs(a.rapid_pause);
        }
    }
    let mut rng = rand::thread_rng();
    while !sh.stop.load(Ordering::Relaxed) {
        let base = sh.urls[rr % sh.urls.len()].as_str();
        rr += 1;
        let x: f64 = rng.gen();
        let mut t = a.sign_share;
        if x < t
            && !sh.signing_exhausted.load(Ordering::Relaxed)
            && sign(sh, &mut out, &agent, base)
        {
            continue;
        }
        t += a.check_share;
        if x < t {
            check(sh, &mut out, &agent, base, last.as_ref());
            continue;
        }
        t += a.read_share;
        if x < t {
            read_pages(sh, &mut out, &agent, base);
            continue;
        }
        t += a.audit_share;
        let ci = next_voter(sh);
        if x < t {
            audit(sh, &mut out, &agent, base, &ctx, ci);
        }
        vote(sh, &mut out, &agent, base, &ctx, ci, Kind::Cast, &mut last);
    }
    out
}

/// An open-loop worker of `lane`: takes the next due slot of its kind (`next`), prepares
/// it, waits for its due time, sends it; until the slots run past `end`.
fn open_worker(
    sh: &Shared<'_>,
    lane: Lane,
    rate: f64,
    next: &AtomicU64,
    start: Instant,
    end: Instant,
    index: usize,
) -> ClientOut {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .max_idle_connections_per_host(2)
        .build();
    let ctx = BallotContext::new(sh.manifest, sh.election_key);
    let mut out = ClientOut::default();
    let mut last: Option<Receipt> = None;
    let mut rr = index;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        if due >= end || sh.stop.load(Ordering::Relaxed) {
            return out;
        }
        let base = sh.urls[rr % sh.urls.len()].as_str();
        rr += 1;
        out.due = Some(due);
        match lane {
            Lane::Cast => {
                let ci = next_voter(sh);
                vote(sh, &mut out, &agent, base, &ctx, ci, Kind::Cast, &mut last);
            }
            Lane::Sign => {
                if !sign(sh, &mut out, &agent, base) {
                    out.due = None;
                }
            }
            Lane::Check => {
                let receipt = {
                    let recent = sh.recent.lock().unwrap();
                    (!recent.is_empty())
                        .then(|| recent[rand::thread_rng().gen_range(0..recent.len())].clone())
                };
                check(sh, &mut out, &agent, base, receipt.as_ref());
            }
            Lane::Read => read_pages(sh, &mut out, &agent, base),
            Lane::Audit => {
                let ci = next_voter(sh);
                audit(sh, &mut out, &agent, base, &ctx, ci);
            }
        }
        out.due = None;
    }
}

/// A client thread of the timed period.
fn spawn_client<'scope, F>(
    s: &'scope std::thread::Scope<'scope, '_>,
    f: F,
) -> std::thread::ScopedJoinHandle<'scope, ClientOut>
where
    F: FnOnce() -> ClientOut + Send + 'scope,
{
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn_scoped(s, f)
        .expect("spawning a client thread")
}

// ---- setup -------------------------------------------------------------------------

/// `office`: the petitions office's client (it also proposes and sponsors, as citizens
/// would, over the same connection).
fn setup_petitions(
    office: &Client,
    creds: &[Credential],
    electorate_hash: vox_crypto::Hash32,
    n: usize,
    voters: usize,
    ring: bool,
) -> Result<Vec<Petition>> {
    let topics = [
        (
            "Build a protected cycle lane on the High Street",
            "Safer journeys to school.",
        ),
        (
            "Keep the central library open on Sundays",
            "Students and families need it.",
        ),
        (
            "Plant a tree on every residential street",
            "Shade, cleaner air, less flooding.",
        ),
        (
            "Free public transport for under-18s",
            "Independence and less car traffic.",
        ),
        (
            "A night bus between the stations",
            "Shift workers have no way home.",
        ),
        ("Repair the river footbridge", "Closed for two years."),
    ];
    let mut out = Vec::new();
    for p in 0..n {
        let (action, background) = topics[p % topics.len()];
        let petition = Petition {
            id: format!("day-petition-{}", p + 1),
            action: action.into(),
            background: background.into(),
            details: String::new(),
            electorate_hash,
            sponsor_threshold: 2,
            response_threshold: (voters / 10).max(2) as u32,
            referendum_threshold: (voters / 2).max(2) as u32,
            open_for_ms: 30 * DAY_MS,
            response_due_ms: 14 * DAY_MS,
            region_min_group: 10,
            signatures: if ring {
                SignatureScheme::Ring
            } else {
                SignatureScheme::Credential
            },
        };
        let proposal = PetitionProposal::create(petition.clone(), &creds[2 * p], &mut OsRng);
        office.propose(&proposal)?;
        // The sponsor's signature (the proposer is not counted on a ring-signed petition).
        if ring {
            let key = office.board()?.board_public_key;
            let rings = office.board_view(&key)?.petition_rings(&petition)?;
            for cred in [&creds[2 * p], &creds[2 * p + 1]] {
                let s = RingPetitionSignature::create(
                    &petition,
                    &rings,
                    cred,
                    SignatureAction::Sign,
                    &mut OsRng,
                )?;
                office.ring_sign_petition(&petition.id, &s)?;
            }
        } else {
            let s = PetitionSignature::create(
                &petition,
                &creds[2 * p + 1],
                SignatureAction::Sign,
                &mut OsRng,
            );
            office.sign_petition(&petition.id, &s)?;
        }
        // The referendum its threshold obliges (the CLI's defaults: 7 and 14 days).
        office.moderate(
            &petition.id,
            &Moderation::Publish {
                closes_at: authority::now_ms() + petition.open_for_ms - 1000,
                referendum: ReferendumTerms {
                    referendum_id: authority::default_referendum_id(&petition.id),
                    title: petition.action.clone(),
                    description: petition.background.clone(),
                    questions: authority::yes_no(authority::action_as_question(&petition.action)),
                    opens_after_ms: 7 * DAY_MS,
                    voting_ms: 14 * DAY_MS,
                    participation: Default::default(),
                },
            },
        )?;
        out.push(petition);
    }
    Ok(out)
}

/// Ring mode: prove `n` signatures (on all cores, before the timed period), in the
/// signing order, on the rings a device derives from the board as it stands.
fn prove_ring_signatures(
    public: &Client,
    petitions: &[Petition],
    creds: &[Credential],
    sign_order: &[u32],
    n: usize,
) -> Result<Vec<(RingPetitionSignature, String)>> {
    use rayon::prelude::*;
    let view = public.board_view(&public.board()?.board_public_key)?;
    let rings = petitions
        .iter()
        .map(|p| view.petition_rings(p).map(std::sync::Arc::new))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let largest = rings
        .iter()
        .flat_map(|r| r.rings().iter().map(|d| d.ring.member_count()))
        .max()
        .unwrap_or(0);
    eprintln!("day: proving {n} ring signatures on rings of up to {largest} members (not timed) …");
    let t = Instant::now();
    let done = AtomicUsize::new(0);
    let out = (0..n)
        .into_par_iter()
        .map(|k| {
            let (pi, ci) = sign_pair(sign_order, petitions.len(), k)
                .ok_or_else(|| anyhow!("--ring-signatures {n}: more than the credentials"))?;
            let sig = RingPetitionSignature::create(
                &petitions[pi],
                &rings[pi],
                &creds[ci as usize],
                SignatureAction::Sign,
                &mut OsRng,
            )?;
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if d.is_multiple_of(1000) {
                eprintln!("day:   {d}/{n} proved ({:.0} s)", t.elapsed().as_secs_f64());
            }
            let body = serde_json::to_string(&sig)?;
            Ok((sig, body))
        })
        .collect::<Result<Vec<_>>>()?;
    println!(
        "ring signatures    {} proved before the timed period on rings of up to {largest} members in {:.1} s",
        thousands(n as u64),
        t.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// The election authority's standing trustee panel (needed before any petition is
/// published): three trustees, any two decrypt; returns their keys.
fn setup_panel(authority: &Client) -> Result<Vec<TrusteeKeys>> {
    let keys: Vec<TrusteeKeys> = (0..3).map(|_| TrusteeKeys::generate(&mut OsRng)).collect();
    authority.set_panel(&TrusteePanel {
        trustees: TrusteeInfo::numbered(&keys),
        threshold: 2,
        answer_due_ms: DAY_MS,
        decryption_due_ms: DAY_MS,
    })?;
    Ok(keys)
}

/// `authority`: the election authority's client. Voting opens as soon as the ceremony
/// completes and closes `voting_ms` later (the board closes it by itself then).
fn setup_referendum(
    authority: &Client,
    public: &Client,
    electorate_hash: vox_crypto::Hash32,
    work: &Path,
    keys: Vec<TrusteeKeys>,
    voting_ms: i64,
) -> Result<Vec<TrusteeSession>> {
    let now = authority::now_ms();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        referendum_id: RID.into(),
        title: "Should the city centre be car-free on Sundays?".into(),
        description: "Advisory referendum.".into(),
        questions: vec![Question {
            id: "q1".into(),
            text: "Should the city centre be car-free on Sundays?".into(),
            options: vec!["yes".into(), "no".into()],
            kind: QuestionKind::YesNo,
        }],
        opens_at: now,
        closes_at: now + voting_ms,
        electorate_hash,
        trustees: TrusteeInfo::numbered(&keys),
        threshold: 2,
        answer_due_ms: vox_protocol::manifest::DAY_MS,
        decryption_due_ms: vox_protocol::manifest::DAY_MS,
        source_petition: None,
        participation: Default::default(),
    };
    manifest.validate().map_err(|e| anyhow!("{e}"))?;
    authority.create_referendum(&manifest)?;
    let mut sessions = Vec::new();
    for (i, k) in keys.into_iter().enumerate() {
        let state = work.join(format!("trustee-{}.state.json", i + 1));
        sessions.push(TrusteeSession::open(
            public,
            RID,
            Some(i as u32 + 1),
            k,
            &state,
        )?);
    }
    let mut done = vec![false; sessions.len()];
    for _ in 0..200 {
        let mut progressed = false;
        for (s, d) in sessions.iter_mut().zip(done.iter_mut()) {
            if *d {
                continue;
            }
            match s.advance(public)? {
                Step::Posted(_) => progressed = true,
                Step::Complete => {
                    *d = true;
                    progressed = true;
                }
                Step::Waiting(_) => {}
            }
        }
        if done.iter().all(|d| *d) {
            break;
        }
        if !progressed {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if !done.iter().all(|d| *d) {
        bail!("the key ceremony did not complete");
    }
    await_state(public, &["open"], "open")?;
    Ok(sessions)
}

/// Wait until the referendum is in one of `states`, which the board's scheduler reaches
/// by itself (opens_at, closes_at, k shares); nudges it with `POST …/{nudge}` meanwhile.
fn await_state(public: &Client, states: &[&str], nudge: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let state = public.referendum(RID)?.state_name();
        if states.contains(&state.as_str()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("referendum {RID} is {state}, not {states:?}, after 10 minutes");
        }
        if !nudge.is_empty() {
            let _ = public.referendum_action(RID, nudge);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ---- report ------------------------------------------------------------------------

/// The open loop's lanes: (kind, offered rate, workers), the `--clients` (less the rapid
/// re-voters) split in proportion to the rates, at least 2 workers a lane; empty in
/// closed loop.
fn open_lanes(a: &Args) -> Vec<(Lane, f64, usize)> {
    if !a.rates.open_loop() {
        return Vec::new();
    }
    let total: f64 = a.rates.lanes().iter().map(|(_, r)| r).sum();
    let pool = a.clients.saturating_sub(a.rapid) as f64;
    a.rates
        .lanes()
        .into_iter()
        .filter(|(_, r)| *r > 0.0)
        .map(|(lane, r)| (lane, r, ((pool * r / total).round() as usize).max(2)))
        .collect()
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len() - 1);
    f64::from(sorted[i]) / 1000.0
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let head = match s.len() % 3 {
        0 => 3,
        r => r,
    };
    let (first, rest) = s.split_at(head.min(s.len()));
    let mut out = first.to_owned();
    for chunk in rest.as_bytes().chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
    }
    out
}

// ---- main --------------------------------------------------------------------------

struct WorkDir {
    path: PathBuf,
    remove: bool,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn main() {
    match parse_args() {
        Ok(None) => {}
        Ok(Some(a)) => {
            kill_children_on_signal();
            match run(&a) {
                Ok(true) => println!("\nday: PASS"),
                Ok(false) => {
                    println!("\nday: FAIL");
                    std::process::exit(1);
                }
                Err(e) => {
                    eprintln!("day: error: {e:#}");
                    std::process::exit(2);
                }
            }
        }
        Err(e) => {
            eprintln!("day: {e:#}");
            std::process::exit(2);
        }
    }
}

fn run(a: &Args) -> Result<bool> {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let work = match &a.keep {
        Some(p) => {
            std::fs::create_dir_all(p)?;
            WorkDir {
                path: p.canonicalize()?,
                remove: false,
            }
        }
        None => {
            let p = std::env::temp_dir().join(format!(
                "vox-day-{}-{}",
                std::process::id(),
                authority::now_ms()
            ));
            std::fs::create_dir_all(&p)?;
            WorkDir {
                path: p,
                remove: true,
            }
        }
    };
    let work_path = work.path.clone();
    // Run a private copy of the server binary: the shared target directory may be
    // rebuilt by someone else during a long run.
    // `VOX_DAY_SERVER_BIN` runs another build of `vox` (to compare server versions).
    let source = std::env::var_os("VOX_DAY_SERVER_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_vox")), PathBuf::from);
    let bin = work_path.join("vox");
    std::fs::copy(&source, &bin).with_context(|| format!("copying {}", source.display()))?;
    let db = fresh_database(a.backend, &work_path)?;
    let result = run_with(a, &work_path, &bin, &db, nproc, loadavg.trim());
    if let Some((admin, name)) = &db.pg_admin {
        if a.keep.is_none() {
            if let Err(e) = pg_exec(admin, &format!("DROP DATABASE IF EXISTS {name}")) {
                eprintln!("day: could not drop database {name}: {e:#}");
            }
        } else {
            println!("database kept: {}", db.url);
        }
    }
    result
}

fn run_with(
    a: &Args,
    work: &Path,
    bin: &Path,
    db: &Database,
    nproc: usize,
    loadavg: &str,
) -> Result<bool> {
    let backend = match a.backend {
        Backend::Sqlite => "SQLite (WAL, synchronous=FULL)",
        Backend::Postgres => "PostgreSQL (fsync=on, synchronous_commit=on)",
    };
    println!("vox realistic-day load benchmark");
    println!(
        "machine            {nproc} cores (clients, servers{} share them; other jobs may run)",
        if a.backend == Backend::Postgres {
            " and PostgreSQL"
        } else {
            ""
        }
    );
    println!("load average       {loadavg} (before the run)");
    println!("backend            {backend}");
    if let Some(b) = std::env::var_os("VOX_DAY_SERVER_BIN") {
        println!(
            "server binary      {} (VOX_DAY_SERVER_BIN)",
            Path::new(&b).display()
        );
    }
    println!(
        "servers            {} `vox serve` process(es), pool of {} connections each, default rate limits (per credential 20 burst / 2 per s, per process)",
        a.servers, a.max_connections
    );
    println!(
        "clients            {} threads for {} s, closed loop (no think time), round-robin over the servers",
        a.clients, a.secs
    );

    // The parties' keys and the genesis; servers (the first appends the genesis).
    let t = Instant::now();
    let parties = write_parties(work)?;
    let mut servers = Vec::new();
    for i in 0..a.servers {
        servers.push(ServerProc::start(bin, &db.url, work, i, a)?);
    }
    let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
    eprintln!(
        "day: {} server(s) up in {:.1} s: {}",
        servers.len(),
        t.elapsed().as_secs_f64(),
        urls.join(", ")
    );
    let public = Client::new(&urls[0]);
    let party = |role: Role| Client::new(&urls[0]).with_key(parties.key(role).clone());
    let registrar = party(Role::Registrar);
    let office = party(Role::PetitionsOffice);
    let election_authority = party(Role::ElectionAuthority);
    drop(parties);
    let last_public = Client::new(&urls[urls.len() - 1]);

    // Electorate, petitions, referendum.
    let t = Instant::now();
    let regions: Vec<String> = if a.regions == 4 {
        ["north", "south", "east", "west"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        (1..=a.regions).map(|i| format!("ward-{i}")).collect()
    };
    let (creds, requests) = authority::simulate_devices(a.voters, &regions, "city");
    let electorate = authority::electorate_from_requests("city", "City residents", &requests)?;
    drop(requests);
    let created = registrar.create_electorate(&electorate)?;
    drop(electorate);
    let keys = setup_panel(&election_authority)?;
    let petitions = setup_petitions(
        &office,
        &creds,
        created.electorate_hash,
        a.petitions,
        a.voters,
        a.ring_signatures > 0,
    )?;
    let reserved = 2 * a.petitions + a.rapid;
    let mut rng = rand::thread_rng();
    let mut vote_order: Vec<u32> = (reserved as u32..a.voters as u32).collect();
    vote_order.shuffle(&mut rng);
    let mut sign_order = vote_order.clone();
    sign_order.shuffle(&mut rng);
    // Before the referendum is set up: its voting period starts then.
    let ring_signed = if a.ring_signatures > 0 {
        prove_ring_signatures(&public, &petitions, &creds, &sign_order, a.ring_signatures)?
    } else {
        Vec::new()
    };
    // Voting lasts the timed period and a margin; the board closes it by itself then.
    let voting_ms = i64::try_from(a.secs).unwrap_or(86_400).saturating_add(30) * 1000;
    let mut sessions = setup_referendum(
        &election_authority,
        &public,
        created.electorate_hash,
        work,
        keys,
        voting_ms,
    )?;
    let board_key = public.board()?.board_public_key;
    let vc = VotingContext::fetch(&last_public, RID, &board_key)?;
    let setup_secs = t.elapsed().as_secs_f64();
    eprintln!(
        "day: setup in {setup_secs:.1} s: {} credentials, {} petitions open, referendum `{RID}` open",
        a.voters, a.petitions
    );

    let vote_share = 1.0 - a.sign_share - a.check_share - a.read_share;
    println!(
        "electorate         {} credentials; {} petitions open (response threshold {}, referendum threshold {}); a yes/no referendum open (3 trustees, threshold 2)",
        thousands(a.voters as u64),
        a.petitions,
        (a.voters / 10).max(2),
        (a.voters / 2).max(2)
    );
    println!(
        "client actions     {:.0} % vote (yes/no ballot encrypted with proofs on the fly by the client, receipt checked; {:.0} % of votes are re-votes; {:.0} % of all actions audit a ballot first), {:.0} % sign a petition (fresh credential/petition pair, signed tree head checked), {:.0} % re-check their last receipt (tree head, consistency + inclusion proofs, status), {:.0} % read a petition and the referendum page",
        vote_share * 100.0,
        a.revote_share * 100.0,
        a.audit_share * 100.0,
        a.sign_share * 100.0,
        a.check_share * 100.0,
        a.read_share * 100.0,
    );
    println!(
        "rapid re-voters    {} clients each fire {} ballots of one credential at once every {} s (the excess must get 429)",
        a.rapid, a.rapid_burst, a.rapid_pause
    );
    println!("setup              {setup_secs:.1} s (not timed)");

    let shared = Shared {
        urls: urls.clone(),
        creds: &creds,
        manifest: &vc.manifest,
        election_key: vc.election_key,
        board_key,
        petitions: &petitions,
        ring_signed: &ring_signed,
        vote_order,
        sign_order,
        next_vote: AtomicUsize::new(0),
        next_sign: AtomicUsize::new(0),
        rapid_creds: (2 * a.petitions..reserved).map(|i| i as u32).collect(),
        args: a,
        stop: AtomicBool::new(false),
        c: Counters::default(),
        error_samples: Mutex::new(Vec::new()),
        signing_exhausted: AtomicBool::new(false),
        latest: Mutex::new(HashMap::new()),
        recent: Mutex::new(Vec::new()),
    };
    let pg_port = match a.backend {
        Backend::Postgres => pg_port(&db.url),
        Backend::Sqlite => None,
    };

    // The timed period.
    let cpu0 = cpu_snap(&servers, pg_port.as_deref());
    let start_ms = authority::now_ms();
    let start = Instant::now();
    let mut windows: Vec<(u64, u64)> = Vec::new();
    let deadline = start + Duration::from_secs(a.secs);
    let lanes: Vec<(Lane, f64, usize)> = open_lanes(a);
    let slots: Vec<AtomicU64> = lanes.iter().map(|_| AtomicU64::new(0)).collect();
    let outs: Vec<ClientOut> = std::thread::scope(|s| {
        let sh = &shared;
        let handles: Vec<_> = if lanes.is_empty() {
            (0..a.clients)
                .map(|i| spawn_client(s, move || client(sh, i)))
                .collect()
        } else {
            // The rapid re-voters as in closed loop, then each lane's workers.
            let mut h: Vec<_> = (0..a.rapid)
                .map(|i| spawn_client(s, move || client(sh, i)))
                .collect();
            for ((lane, rate, workers), next) in lanes.iter().zip(&slots) {
                for i in 0..*workers {
                    let (lane, rate) = (*lane, *rate);
                    h.push(spawn_client(s, move || {
                        open_worker(sh, lane, rate, next, start, deadline, i)
                    }));
                }
            }
            h
        };
        let mut prev = (0u64, 0u64, 0u64, 0u64);
        let mut tick = 1u32;
        loop {
            let next = start + WINDOW * tick;
            let until = next.min(deadline);
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            if Instant::now() >= deadline && next > deadline {
                break;
            }
            let c = &shared.c;
            let now = (
                c.ballots.load(Ordering::Relaxed),
                c.signatures.load(Ordering::Relaxed),
                c.checks.load(Ordering::Relaxed),
                c.requests.load(Ordering::Relaxed),
            );
            let w = WINDOW.as_secs_f64();
            eprintln!(
                "day: [{:>4} s] ballots {:>6.0}/s  signatures {:>5.0}/s  checks {:>5.0}/s  requests {:>6.0}/s  | total ballots {} signatures {} audits {}  errors {}  intended 429s {}  stale 409s {}",
                start.elapsed().as_secs(),
                (now.0 - prev.0) as f64 / w,
                (now.1 - prev.1) as f64 / w,
                (now.2 - prev.2) as f64 / w,
                (now.3 - prev.3) as f64 / w,
                now.0,
                now.1,
                c.audits.load(Ordering::Relaxed),
                c.errors.load(Ordering::Relaxed),
                c.intended_429.load(Ordering::Relaxed),
                c.stale_409.load(Ordering::Relaxed),
            );
            windows.push((now.0 - prev.0, now.1 - prev.1));
            prev = now;
            tick += 1;
            if next >= deadline {
                break;
            }
        }
        shared.stop.store(true, Ordering::Relaxed);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed();
    let end_ms = authority::now_ms();
    let cpu1 = cpu_snap(&servers, pg_port.as_deref());
    let mut all = ClientOut::default();
    for o in outs {
        all.merge(o);
    }
    let loadavg_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // Report of the timed period.
    let secs = elapsed.as_secs_f64();
    let c = &shared.c;
    let ballots = c.ballots.load(Ordering::Relaxed);
    let sigs = c.signatures.load(Ordering::Relaxed);
    let errors = c.errors.load(Ordering::Relaxed);
    let intended = c.intended_429.load(Ordering::Relaxed);
    let first_votes = shared
        .next_vote
        .load(Ordering::Relaxed)
        .min(shared.vote_order.len());
    println!();
    println!("timed period       {secs:.1} s (until the last in-flight request answered)");
    println!(
        "requests           {} ({:.0}/s)",
        thousands(c.requests.load(Ordering::Relaxed)),
        c.requests.load(Ordering::Relaxed) as f64 / secs
    );
    println!(
        "accepted ballots   {} = {:.0}/s sustained ({} credentials voted at least once; {} audits)",
        thousands(ballots),
        ballots as f64 / secs,
        thousands(
            all.ballots
                .iter()
                .map(|b| b.0)
                .collect::<HashSet<_>>()
                .len() as u64
        ),
        c.audits.load(Ordering::Relaxed)
    );
    if first_votes >= shared.vote_order.len() {
        println!(
            "                   (every pool credential had voted: later votes were all re-votes)"
        );
    }
    println!(
        "signatures         {} = {:.0}/s sustained{}",
        thousands(sigs),
        sigs as f64 / secs,
        if !shared.signing_exhausted.load(Ordering::Relaxed) {
            ""
        } else if a.ring_signatures > 0 {
            " (ring-signed: the pre-proved signatures ran out, signing stopped; prove more with --ring-signatures)"
        } else {
            " (every credential signed every petition: signing stopped)"
        }
    );
    let full = &windows[..];
    let (bmin, bmax) = full
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), w| (lo.min(w.0), hi.max(w.0)));
    let (smin, smax) = full
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), w| (lo.min(w.1), hi.max(w.1)));
    let ws = WINDOW.as_secs_f64();
    if !full.is_empty() {
        println!(
            "per 10-s window    ballots/s min {:.0} max {:.0}; signatures/s min {:.0} max {:.0} ({} windows)",
            bmin as f64 / ws,
            bmax as f64 / ws,
            smin as f64 / ws,
            smax as f64 / ws,
            full.len()
        );
        let series: Vec<String> = full
            .iter()
            .map(|w| format!("{:.0}", w.0 as f64 / ws))
            .collect();
        println!("ballots/s series   {}", series.join(" "));
    }
    println!(
        "errors             {errors} (any non-2xx answer other than the rapid re-voters' 429s, transport errors, failed client-side checks)"
    );
    println!("intended 429s      {intended} (rapid re-voters over the per-credential limit)");
    println!(
        "stale 409s         {} (a cast raced another ballot of its credential: its `previous` was no longer the latest)",
        c.stale_409.load(Ordering::Relaxed)
    );
    println!();
    if a.rates.open_loop() {
        println!(
            "open loop          offered/s: cast {} sign {} check {} read {} audit {}; latencies from each request's due time (checks: the tree head's; the proofs after it from their send); {} requests sent > 10 ms late (all workers of their kind busy)",
            a.rates.cast,
            a.rates.sign,
            a.rates.check,
            a.rates.read,
            a.rates.audit,
            c.late_sends.load(Ordering::Relaxed)
        );
    }
    println!("| request | count | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | answers |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    let mut kinds: Vec<Kind> = all.lat.keys().copied().collect();
    kinds.sort();
    for k in kinds {
        let v = all.lat.get_mut(&k).unwrap();
        v.sort_unstable();
        let answers: Vec<String> = all
            .status
            .iter()
            .filter(|((kk, _), _)| *kk == k)
            .map(|((_, s), n)| {
                if *s == 0 {
                    format!("transport error ×{n}")
                } else {
                    format!("{s} ×{n}")
                }
            })
            .collect();
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            k.name(),
            thousands(v.len() as u64),
            pct(v, 0.50),
            pct(v, 0.95),
            pct(v, 0.99),
            pct(v, 0.999),
            pct(v, 1.0),
            answers.join(", ")
        );
    }
    println!();
    let (busy0, total0) = cpu0.machine;
    let (busy1, total1) = cpu1.machine;
    let machine = if total1 > total0 {
        (busy1 - busy0) / (total1 - total0) * 100.0
    } else {
        0.0
    };
    let cores = nproc.max(1) as f64;
    let share = |cpu: f64| cpu / secs / cores * 100.0;
    let server_cpu: Vec<String> = cpu0
        .servers
        .iter()
        .zip(&cpu1.servers)
        .map(|(a, b)| format!("{:.0} %", share(b - a)))
        .collect();
    println!(
        "CPU (of {nproc} cores) machine busy {machine:.0} %; clients (this process: encryption, checks, HTTP) {:.0} %; server process(es) {}{}",
        share(cpu1.me - cpu0.me),
        server_cpu.join(" + "),
        match (cpu0.postgres, cpu1.postgres) {
            (Some(p0), Some(p1)) => format!("; PostgreSQL {:.0} %", share(p1 - p0)),
            _ => String::new(),
        }
    );
    println!(
        "load average       {} (after the run)",
        loadavg_after.trim()
    );
    let samples = shared.error_samples.lock().unwrap().clone();
    if !samples.is_empty() {
        println!("first errors:");
        for e in &samples {
            println!("  {e}");
        }
    }

    // Close, tally, decrypt, publish, export, verify.
    println!();
    let mut ok = errors == 0;
    let t = Instant::now();
    // The board closes voting at closes_at (the timed period and a margin) and tallies
    // by itself; nothing closes earlier.
    eprintln!("day: waiting for the board to close voting at closes_at and tally");
    await_state(&public, &["tallied", "published"], "close")?;
    let tally = last_public.tally(RID)?;
    let close_tally = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut decrypting: Vec<&mut TrusteeSession> = sessions
        .iter_mut()
        .filter(|s| s.state.trustee != 2)
        .collect();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = decrypting
            .iter_mut()
            .enumerate()
            .map(|(i, session)| {
                let client = if i % 2 == 0 { &public } else { &last_public };
                s.spawn(move || session.decrypt(client))
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow!("a trustee thread panicked"))??;
        }
        Ok(())
    })?;
    await_state(&public, &["published"], "")?;
    let result = public.result(RID)?;
    let decrypt_secs = t.elapsed().as_secs_f64();
    // The result the clients expect: the last accepted ballot of every credential.
    let mut last: HashMap<u32, (u64, bool)> = HashMap::new();
    for &(ci, leaf, yes) in &all.ballots {
        let e = last.entry(ci).or_insert((leaf, yes));
        if leaf >= e.0 {
            *e = (leaf, yes);
        }
    }
    let yes = last.values().filter(|v| v.1).count() as u64;
    let expected = vec![vec![yes, last.len() as u64 - yes]];
    let tally_ok = result.counts == expected && result.counted_ballots == last.len() as u64;
    println!(
        "close + tally      {close_tally:.1} s ({} ballots counted); 2 of 3 trustees checked the tally against the board and decrypted in {decrypt_secs:.1} s",
        thousands(tally.counted_ballots)
    );
    println!(
        "result             yes {} / no {} — {}",
        result.counts[0][0],
        result.counts[0][1],
        if tally_ok {
            "equal to the last accepted ballot of every credential, as the clients saw them"
        } else {
            "DIFFERS from what the clients cast"
        }
    );
    if !tally_ok {
        println!(
            "                   expected {expected:?}, counted {}",
            result.counted_ballots
        );
        ok = false;
    }

    let t = Instant::now();
    let record_dir = work.join("record");
    let ex = authority::export(&last_public, Some(RID), None, &record_dir)?;
    let export_secs = t.elapsed().as_secs_f64();
    // Every accepted signature and audit is at its leaf; tree heads agree; no leaf is
    // claimed twice; every accepted ballot is in the log.
    let t = Instant::now();
    let mut problems = Vec::new();
    let mut claimed: HashSet<u64> = HashSet::new();
    for leaf in all
        .receipts
        .iter()
        .map(|r| r.leaf_index)
        .chain(all.signatures.iter().map(|s| s.leaf))
        .chain(all.audits.iter().copied())
    {
        if !claimed.insert(leaf) {
            problems.push(format!("two accepted answers claim leaf {leaf}"));
        }
    }
    let heads = vox_protocol::record::read_tree_heads(BufReader::new(File::open(
        record_dir.join(vox_protocol::record::TREE_HEADS_FILE),
    )?))
    .map_err(|e| anyhow!("{e}"))?;
    let commits = heads
        .iter()
        .filter(|h| (start_ms..=end_ms).contains(&h.head.timestamp_ms))
        .count() as u64;
    let roots: HashMap<u64, NodeHash> = heads
        .iter()
        .map(|h| (h.head.tree_size, h.head.root_hash))
        .collect();
    for s in &all.signatures {
        if roots.get(&s.tree_size) != Some(&s.root) {
            problems.push(format!(
                "the tree head of size {} in a signature answer is not the record's",
                s.tree_size
            ));
        }
    }
    let mut sig_at: HashMap<u64, &Signed> = all
        .signatures
        .iter()
        .map(|s| (s.leaf, &s.signature))
        .collect();
    let mut audit_at: HashSet<u64> = all.audits.iter().copied().collect();
    let mut cast_in_record = 0u64;
    for (i, e) in vox_protocol::record::read_entries(BufReader::new(File::open(
        record_dir.join(vox_protocol::record::ENTRIES_FILE),
    )?)) {
        let e = e.map_err(|e| anyhow!("entry {i}: {e}"))?;
        match &e.payload {
            Payload::BallotCast { ballot } if ballot.referendum_id == RID => cast_in_record += 1,
            _ => {}
        }
        if let Some(sig) = sig_at.remove(&i) {
            let same = match (&e.payload, sig) {
                (Payload::PetitionSigned { signature }, Signed::Credential(s)) => signature == &**s,
                (Payload::PetitionRingSigned { signature }, Signed::Ring(s)) => **signature == *s,
                _ => false,
            };
            if !same {
                problems.push(format!("leaf {i} is not the accepted signature"));
            }
        }
        if audit_at.remove(&i) && !matches!(e.payload, Payload::BallotAudited { .. }) {
            problems.push(format!("leaf {i} is not the accepted audit"));
        }
    }
    if !sig_at.is_empty() || !audit_at.is_empty() {
        problems.push(format!(
            "{} signatures and {} audits accepted at leaves missing from the record",
            sig_at.len(),
            audit_at.len()
        ));
    }
    if cast_in_record != all.receipts.len() as u64 {
        problems.push(format!(
            "the record has {cast_in_record} cast ballots, the clients got {} receipts",
            all.receipts.len()
        ));
    }
    let entries_check = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let receipts: Vec<(String, Receipt)> = std::mem::take(&mut all.receipts)
        .into_iter()
        .map(|r| (format!("receipt {}", r.tracking_code), r))
        .collect();
    let n_receipts = receipts.len();
    let verdict = vox_cli::demo::verify_record_with(&record_dir, receipts)?;
    let verify_secs = t.elapsed().as_secs_f64();
    println!(
        "export             {} entries, {} signed tree heads in {export_secs:.1} s",
        thousands(ex.entries),
        thousands(ex.tree_heads)
    );
    println!(
        "board commits      {} in the timed period = {:.0}/s (one signed tree head each; ballots, signatures and audits are group-committed together: {:.1} of them per commit on average; other acts commit alone)",
        thousands(commits),
        commits as f64 / secs,
        (ballots + sigs + c.audits.load(Ordering::Relaxed)) as f64 / commits.max(1) as f64
    );
    println!(
        "record check       {} signatures and {} audits at their leaves, {} cast ballots in the log = receipts, no leaf claimed twice, every answered tree head in the record: {} ({entries_check:.1} s)",
        thousands(all.signatures.len() as u64),
        all.audits.len(),
        thousands(cast_in_record),
        if problems.is_empty() { "ok" } else { "FAILED" }
    );
    for p in problems.iter().take(20) {
        println!("  {p}");
    }
    ok &= problems.is_empty();
    println!(
        "verifier           {} with all {} receipts (V14) in {verify_secs:.1} s",
        if verdict.passed { "PASS" } else { "FAIL" },
        thousands(n_receipts as u64)
    );
    print!("{}", verdict.human);
    ok &= verdict.passed;

    for s in servers {
        s.stop()?;
    }
    if a.keep.is_some() {
        println!("working files kept in {}", work.display());
    }
    if !ok {
        println!(
            "FAILED: {errors} errors, tally {}, record checks {}, verifier {}",
            if tally_ok { "ok" } else { "wrong" },
            if problems.is_empty() { "ok" } else { "failed" },
            if verdict.passed { "passed" } else { "failed" }
        );
    }
    Ok(ok)
}

const GENESIS_FILE: &str = "genesis.json";
const OPERATOR_KEY_FILE: &str = "operator.key";

/// The four parties' keys: the genesis and the operator's key file for `vox serve`; the
/// other roles' keys stay in this process and sign their acts through the client.
fn write_parties(work: &Path) -> Result<RoleSigners> {
    let parties = RoleSigners::generate(&mut OsRng);
    let genesis = parties
        .genesis(
            "bench.vox.invalid/day",
            authority::now_ms(),
            WitnessPolicy::default(),
        )
        .map_err(|e| anyhow!("the genesis: {e}"))?;
    vox_cli::files::write_json(&work.join(GENESIS_FILE), &genesis)?;
    // A --keep directory of an earlier run: the database is fresh, so are the keys.
    let _ = std::fs::remove_file(work.join(OPERATOR_KEY_FILE));
    vox_cli::files::save_role_key(
        &work.join(OPERATOR_KEY_FILE),
        Role::Operator,
        &parties.operator,
    )?;
    Ok(parties)
}
