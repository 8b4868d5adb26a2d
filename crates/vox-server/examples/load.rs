//! Ballot-casting load benchmark (not a test).
//!
//! Starts a server in this process (SQLite in a temp dir, or PostgreSQL with
//! `--postgres` and `DATABASE_URL`), registers an electorate, runs a 3-trustee key
//! ceremony and opens a yes/no referendum over HTTP; pre-encrypts one ballot per voter
//! (not timed); then `--clients` threads post them over keep-alive connections and the
//! program reports accepted ballots per second, p50/p99 latency, the group-commit batch
//! size, and the time spent verifying proofs.
//!
//! ```text
//! cargo run --release -p vox-server --example load -- --voters 4000 --clients 32
//! scripts/with-postgres.sh cargo run --release -p vox-server --example load -- --postgres
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn main() {
    let voters_n = arg("--voters", 3000);
    let clients = arg("--clients", 32);
    let postgres = std::env::args().any(|a| a == "--postgres");
    let db = if postgres {
        postgres_db("load").expect("--postgres needs DATABASE_URL (scripts/with-postgres.sh)")
    } else {
        sqlite_db()
    };
    let mut cfg = config(&db.url);
    cfg.rate_limit_per_credential = None;
    cfg.max_connections = 16;
    let h = Harness::start(cfg);
    let c = h.client.clone();

    eprintln!(
        "setup: {voters_n} voters, 3 trustees, yes/no referendum on {}",
        db.label
    );
    let voters = Voters::new("load", voters_n, |_| None);
    let eh = voters.register(&c);
    let trustees = Trustees::new(3);
    let m = yes_no_manifest("load", eh, &trustees, 2);
    let (_, key) = open_referendum(&c, &m, &trustees);

    let t = Instant::now();
    let ballots: Vec<String> = std::thread::scope(|s| {
        let chunks: Vec<_> = voters
            .creds
            .chunks(voters_n.div_ceil(2).max(1))
            .enumerate()
            .map(|(k, chunk)| {
                let m = &m;
                s.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, cred)| {
                            let yes = (k + i) % 2 == 0;
                            serde_json::to_string(&encrypt(m, key, cred, &choices(m, yes, 0)).0)
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        chunks.into_iter().flat_map(|j| j.join().unwrap()).collect()
    });
    eprintln!(
        "encrypted {} ballots in {:.1} s (not timed)",
        ballots.len(),
        t.elapsed().as_secs_f64()
    );

    let before = h.server().metrics();
    let cpu0 = cpu_time();
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(ballots.len()));
    let path = format!("/api/v1/referendums/{}/ballots", m.referendum_id);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let client = Client::new(c.base.clone());
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = ballots.get(i) else { break };
                    let t = Instant::now();
                    let r = client.request("POST", &path, Some(body), &[]);
                    assert_eq!(r.status, 201, "{}", r.body);
                    mine.push(t.elapsed());
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let elapsed = start.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);
    let after = h.server().metrics();
    let mut lat = latencies.into_inner().unwrap();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    let accepted = after.ballots_accepted - before.ballots_accepted;
    let batches = (after.ballot_batches - before.ballot_batches).max(1);
    let verify = Duration::from_nanos(after.verify_nanos - before.verify_nanos);
    let commit = Duration::from_nanos(after.commit_nanos - before.commit_nanos);
    println!("backend            {}", db.label);
    println!("clients            {clients}");
    println!("ballots accepted   {accepted}");
    println!("wall time          {:.2} s", elapsed.as_secs_f64());
    println!(
        "throughput         {:.0} ballots/s",
        accepted as f64 / elapsed.as_secs_f64()
    );
    println!("latency p50        {:.1} ms", pct(0.50).as_secs_f64() * 1e3);
    println!("latency p99        {:.1} ms", pct(0.99).as_secs_f64() * 1e3);
    println!(
        "batches            {batches} (mean {:.1} ballots/commit)",
        accepted as f64 / batches as f64
    );
    println!(
        "verify per ballot  {:.0} µs (proof checks, on a blocking-pool thread)",
        verify.as_secs_f64() * 1e6 / accepted.max(1) as f64
    );
    println!(
        "commit time share  {:.0} % of wall time in ballot transactions",
        commit.as_secs_f64() * 100.0 / elapsed.as_secs_f64()
    );
    println!(
        "process CPU        {:.2} s ({:.0} % of 2 cores; server and load clients together)",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 50.0 / elapsed.as_secs_f64()
    );
    println!(
        "verify share       {:.0} % of process CPU; {:.0} % of the 2 cores' wall capacity",
        verify.as_secs_f64() * 100.0 / cpu.as_secs_f64().max(1e-9),
        verify.as_secs_f64() * 50.0 / elapsed.as_secs_f64()
    );
    h.stop();
}
