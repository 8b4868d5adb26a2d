//! `vox_server::integrity`: an honest board passes at both depths; each kind of damage a
//! non-atomic write (or a hand edit) could leave is named, and the server refuses to
//! start on it. SQLite always; PostgreSQL when `VOX_TEST_POSTGRES_ADMIN_URL` is set
//! (each damaged copy is a database created from the honest one as a template).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use vox_protocol::petition::SignatureAction;
use vox_server::integrity::{check, Depth, IntegrityError};
use vox_server::ServerError;

/// An honest board: an electorate, a published petition with signatures (one with an
/// Idempotency-Key), an open referendum with ballots (a re-vote, keys on some).
fn honest_board(url: &str) {
    let h = Harness::start(config(url));
    let c = &h.client;
    let voters = Voters::new("e", 6, |_| None);
    let eh = voters.register(c);
    let p = published_petition(c, &voters, "p", 600_000);
    let body =
        serde_json::to_string(&signature(&p, &voters.creds[2], SignatureAction::Sign)).unwrap();
    c.request(
        "POST",
        "/api/v1/petitions/p/signatures",
        Some(&body),
        &[("Idempotency-Key", "k-sig")],
    )
    .expect(201);
    let trustees = Trustees::new(3);
    let m = manifest("r", eh, &trustees, 2, None);
    let (_, key) = open_referendum(c, &m, &trustees);
    let mut latest = std::collections::HashMap::new();
    for (i, v) in [0usize, 1, 2, 0].into_iter().enumerate() {
        let previous = latest.get(&v).copied();
        let (b, _) = encrypt_after(
            &m,
            key,
            &voters.creds[v],
            &choices(&m, i % 2 == 0, i % 3),
            previous,
        );
        latest.insert(v, b.hash());
        let body = serde_json::to_string(&b).unwrap();
        let k = format!("k-ballot-{i}");
        c.request(
            "POST",
            "/api/v1/referendums/r/ballots",
            Some(&body),
            &[("Idempotency-Key", &k)],
        )
        .expect(201);
    }
    h.stop();
}

/// A copy of a database to damage.
trait Copies {
    fn copy(&self, n: usize) -> String;
}

struct SqliteCopies {
    base: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl Copies for SqliteCopies {
    fn copy(&self, n: usize) -> String {
        let d = self.dir.path().join(format!("copy{n}"));
        std::fs::create_dir_all(&d).unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let from = format!("{}{suffix}", self.base.display());
            if std::path::Path::new(&from).exists() {
                std::fs::copy(&from, d.join(format!("vox.db{suffix}"))).unwrap();
            }
        }
        format!("sqlite://{}", d.join("vox.db").display())
    }
}

struct PostgresCopies {
    admin: String,
    base: String,
    rt: tokio::runtime::Runtime,
}

impl PostgresCopies {
    fn admin_sql(&self, sql: &str) {
        self.rt.block_on(async {
            use sqlx::{Connection, Executor};
            let mut c = sqlx::PgConnection::connect(&self.admin).await.unwrap();
            c.execute(sql).await.unwrap();
            c.close().await.unwrap();
        })
    }
    fn url(&self, db: &str) -> String {
        let (prefix, _) = self.admin.rsplit_once('/').unwrap();
        format!("{prefix}/{db}")
    }
}

impl Copies for PostgresCopies {
    fn copy(&self, n: usize) -> String {
        let db = format!("{}_copy{n}", self.base);
        self.admin_sql(&format!("CREATE DATABASE {db} TEMPLATE {}", self.base));
        self.url(&db)
    }
}

fn exec(rt: &tokio::runtime::Runtime, url: &str, sql: &str) {
    rt.block_on(async {
        use sqlx::{AnyConnection, Connection, Executor};
        sqlx::any::install_default_drivers();
        let mut c = AnyConnection::connect(url).await.unwrap();
        let r = c.execute(sql).await.unwrap();
        assert!(r.rows_affected() > 0, "{sql}: changed nothing");
        c.close().await.unwrap();
    })
}

/// (what, SQL, caught by the quick check too, words the report must contain)
const DAMAGE: &[(&str, &str, bool, &str)] = &[
    (
        "the last entry lost, head not",
        "DELETE FROM board_entries WHERE seq = (SELECT MAX(seq) FROM board_entries)",
        true,
        "board_head.size is",
    ),
    (
        "a ballot row moved off its leaf",
        "UPDATE ballots SET seq = 999999 WHERE seq = (SELECT MIN(seq) FROM ballots)",
        true,
        "ballots rows without their ballot-cast entry",
    ),
    (
        "a ballot entry without its row",
        "DELETE FROM ballots WHERE seq = (SELECT MAX(seq) FROM ballots)",
        true,
        "ballot-cast entries without their ballots row",
    ),
    (
        "a leaf node that is not its entry's",
        "UPDATE merkle_nodes SET hash = (SELECT m2.hash FROM merkle_nodes m2 WHERE m2.level = 0 AND m2.idx = 0) \
         WHERE level = 0 AND idx = (SELECT MAX(m3.idx) FROM merkle_nodes m3 WHERE m3.level = 0)",
        true,
        "leaf hash is not their tree leaf",
    ),
    (
        "an inner node missing",
        "DELETE FROM merkle_nodes WHERE level = 1 AND idx = 0",
        true,
        "merkle level 1",
    ),
    (
        "the latest signed tree head missing",
        "DELETE FROM tree_heads WHERE tree_size = (SELECT MAX(tree_size) FROM tree_heads)",
        true,
        "latest signed tree head",
    ),
    (
        "a head root that is not the tree's",
        "UPDATE board_head SET root_hash = (SELECT hash FROM merkle_nodes WHERE level = 0 AND idx = 0)",
        true,
        "frontier does not hash to the head's root",
    ),
    (
        "latest_ballot pointing at no ballot",
        "UPDATE latest_ballot SET seq = seq + 1",
        true,
        "latest_ballot rows not matching a stored ballot",
    ),
    (
        "an entry body edited (leaf hash kept)",
        "UPDATE board_entries SET body = REPLACE(body, '\"timestamp_ms\":', '\"timestamp_ms\":1') WHERE seq = 0",
        false,
        "stored leaf hash is not its body's",
    ),
    (
        "a second genesis",
        "UPDATE board_entries SET kind = 'genesis' WHERE seq = 1",
        true,
        "genesis entries after leaf 0, at positions 1",
    ),
    (
        "an act whose signed time was edited (leaf hash kept)",
        "UPDATE board_entries SET body = REPLACE(body, '\"issued_at_ms\":', '\"issued_at_ms\":1') \
         WHERE kind = 'electorate-registered'",
        false,
        "registrar signature on this electorate-registered does not verify",
    ),
    (
        "an idempotency answer naming another leaf",
        "UPDATE idempotency SET body = REPLACE(body, '\"leaf_index\":', '\"leaf_index\":9') WHERE key = 'k-sig'",
        false,
        "idempotency record \"k-sig\"",
    ),
];

fn damage_is_named(label: &str, base_url: &str, copies: &dyn Copies) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    honest_board(base_url);
    let quick = rt.block_on(check(base_url, Depth::Quick)).unwrap();
    let full = rt.block_on(check(base_url, Depth::Full)).unwrap();
    assert_eq!(quick.ballots, 4);
    assert_eq!(full.signatures, 2);
    assert!(full.idempotency_checked >= 5, "{full:?}");
    assert_eq!(full.bodies_checked, full.tree_size);
    // The registrar's electorate, the moderation, the referendum's creation and opening.
    assert_eq!(full.acts, 4);
    eprintln!("{label}: honest board passes: {full:?}");

    for (n, (what, sql, quick_catches, words)) in DAMAGE.iter().enumerate() {
        let url = copies.copy(n);
        exec(&rt, &url, sql);
        let full = rt.block_on(check(&url, Depth::Full));
        match &full {
            Err(IntegrityError::Inconsistent(p)) => assert!(
                p.iter().any(|m| m.contains(words)),
                "{label}: {what}: full check said {p:?}"
            ),
            other => panic!("{label}: {what}: full check: {other:?}"),
        }
        let quick = rt.block_on(check(&url, Depth::Quick));
        match (&quick, quick_catches) {
            (Err(IntegrityError::Inconsistent(p)), true) => {
                assert!(
                    p.iter().any(|m| m.contains(words)),
                    "{label}: {what}: quick check said {p:?}"
                );
                // The server refuses to start on it.
                match Harness::try_start(config(&url)) {
                    Err(ServerError::Corrupt(m)) => {
                        assert!(m.contains("refusing to start"), "{m}");
                        assert!(m.contains(words), "{m}");
                    }
                    Err(e) => panic!("{label}: {what}: wrong error {e}"),
                    Ok(_) => panic!("{label}: {what}: the server started on a damaged board"),
                }
            }
            (Ok(_), false) => {}
            (other, _) => panic!("{label}: {what}: quick check: {other:?}"),
        }
        eprintln!(
            "{label}: {what}: named{}",
            if *quick_catches {
                " and refused at start"
            } else {
                " by the full check"
            }
        );
    }
}

#[test]
fn damage_is_named_sqlite() {
    let db = sqlite_db();
    let base = std::path::PathBuf::from(db.url.strip_prefix("sqlite://").unwrap());
    let copies = SqliteCopies {
        base,
        dir: tempfile::tempdir().unwrap(),
    };
    damage_is_named("sqlite", &db.url, &copies);
}

#[test]
fn damage_is_named_postgres() {
    let Ok(admin) = std::env::var("VOX_TEST_POSTGRES_ADMIN_URL") else {
        eprintln!("skipped: VOX_TEST_POSTGRES_ADMIN_URL not set");
        return;
    };
    let base = format!(
        "vox_integrity_{}_{}",
        std::process::id(),
        now_ms() % 1_000_000
    );
    let copies = PostgresCopies {
        admin,
        base: base.clone(),
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    };
    copies.admin_sql(&format!("CREATE DATABASE {base}"));
    let url = copies.url(&base);
    damage_is_named("postgres", &url, &copies);
    for n in 0..DAMAGE.len() {
        copies.admin_sql(&format!("DROP DATABASE {base}_copy{n} WITH (FORCE)"));
    }
    copies.admin_sql(&format!("DROP DATABASE {base} WITH (FORCE)"));
}

/// How long the start-up (quick) check takes on a large board: `VOX_INTEGRITY_ENTRIES`
/// ballots (1,000,000 by default) written straight into a fresh SQLite database (and a
/// PostgreSQL one when `VOX_TEST_POSTGRES_ADMIN_URL` is set) with bodies and receipts of
/// realistic size, then checked. Not run by default (minutes, gigabytes):
/// `cargo test -p vox-server --test integrity -- --ignored --nocapture large_board`.
#[test]
#[ignore]
fn quick_check_on_a_large_board() {
    let n: u64 = std::env::var("VOX_INTEGRITY_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let measure = |label: &str, url: &str| {
        Harness::start(config(url)).stop();
        let t0 = std::time::Instant::now();
        rt.block_on(fill(url, n));
        eprintln!("{label}: wrote {n} ballots in {:.1?}", t0.elapsed());
        for _ in 0..2 {
            let r = rt.block_on(check(url, Depth::Quick)).unwrap();
            eprintln!(
                "{label}: quick check of {n} entries: {:.2?} ({r:?})",
                r.elapsed
            );
        }
        let t0 = std::time::Instant::now();
        Harness::start(config(url)).stop();
        eprintln!("{label}: server start and stop: {:.2?}", t0.elapsed());
    };
    {
        // Removed before the PostgreSQL copy is written.
        let sqlite = sqlite_db();
        measure("sqlite", &sqlite.url);
    }
    let pg = std::env::var("VOX_TEST_POSTGRES_ADMIN_URL")
        .ok()
        .map(|admin| {
            let db = format!("vox_large_{}", std::process::id());
            let copies = PostgresCopies {
                admin,
                base: db.clone(),
                rt: tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap(),
            };
            copies.admin_sql(&format!("CREATE DATABASE {db}"));
            (copies, db)
        });
    if let Some((c, db)) = &pg {
        measure("postgres", &c.url(db));
    }
    if let Some((c, db)) = pg {
        c.admin_sql(&format!("DROP DATABASE {db} WITH (FORCE)"));
    }
}

/// `n` ballot entries after the genesis (leaf 0, appended by the server) with their tree,
/// head, signed head (signed with the test operator key: the check verifies the latest),
/// ballot rows and latest_ballot rows.
async fn fill(url: &str, total: u64) {
    use sha2::{Digest, Sha256};
    use sqlx::{AnyConnection, Connection, Executor};
    use std::collections::HashMap;
    use vox_protocol::merkle::NodeHash;
    use vox_protocol::merkle_nodes::{nodes_completed_by, root_from_nodes, NodeId};

    sqlx::any::install_default_drivers();
    let mut c = AnyConnection::connect(url).await.unwrap();
    let h =
        |tag: &str, i: u64| -> [u8; 32] { Sha256::digest(format!("{tag}{i}").as_bytes()).into() };
    let body = format!("{{\"filler\":\"{}\"}}", "b".repeat(1500));
    let receipt = format!("{{\"filler\":\"{}\"}}", "r".repeat(1500));
    let credentials = (total * 2 / 3).max(1);
    let mut nodes: HashMap<NodeId, NodeHash> = HashMap::new();
    // Leaf 0 is the genesis.
    let genesis_leaf: Vec<u8> = sqlx::Row::get(
        &sqlx::query("SELECT hash FROM merkle_nodes WHERE level = 0 AND idx = 0")
            .fetch_one(&mut c)
            .await
            .unwrap(),
        0,
    );
    nodes.insert(
        NodeId { level: 0, index: 0 },
        NodeHash(genesis_leaf.try_into().unwrap()),
    );
    let n = total + 1;
    let mut tx = c.begin().await.unwrap();
    let chunk = 100u64;
    let (mut i, mut committed) = (1u64, 1u64);
    while i < n {
        let end = (i + chunk).min(n);
        let mut e_sql = String::from(
            "INSERT INTO board_entries (seq, kind, scope, timestamp_ms, leaf_hash, body) VALUES ",
        );
        let mut b_sql = String::from(
            "INSERT INTO ballots (ballot_hash, referendum_id, credential, seq, ciphertexts, receipt) VALUES ",
        );
        let mut n_rows: Vec<(NodeId, NodeHash)> = Vec::new();
        for s in i..end {
            let leaf = NodeHash(h("leaf", s));
            for (id, hash) in
                nodes_completed_by(s, leaf, &mut |id| nodes.get(&id).copied().ok_or(())).unwrap()
            {
                nodes.insert(id, hash);
                n_rows.push((id, hash));
            }
            let sep = if s > i { "," } else { "" };
            e_sql.push_str(&format!(
                "{sep}({s}, 'ballot-cast', 'r', {s}, {}, '{body}')",
                hex_lit(url, &leaf.0)
            ));
            b_sql.push_str(&format!(
                "{sep}({}, 'r', {}, {s}, {}, '{receipt}')",
                hex_lit(url, &h("ballot", s)),
                hex_lit(url, &h("cred", s % credentials)),
                hex_lit(url, &[7u8; 128]),
            ));
        }
        tx.execute(e_sql.as_str()).await.unwrap();
        tx.execute(b_sql.as_str()).await.unwrap();
        // Each credential's last ballot is among the last `credentials` ones.
        let latest: Vec<String> = (i.max(n - credentials)..end)
            .map(|s| {
                format!(
                    "('r', {}, {}, {s})",
                    hex_lit(url, &h("cred", s % credentials)),
                    hex_lit(url, &h("ballot", s))
                )
            })
            .collect();
        if !latest.is_empty() {
            tx.execute(
                format!(
                    "INSERT INTO latest_ballot (referendum_id, credential, ballot_hash, seq) VALUES {}",
                    latest.join(",")
                )
                .as_str(),
            )
            .await
            .unwrap();
        }
        let mut m_sql = String::from("INSERT INTO merkle_nodes (level, idx, hash) VALUES ");
        for (k, (id, hash)) in n_rows.iter().enumerate() {
            let sep = if k > 0 { "," } else { "" };
            m_sql.push_str(&format!(
                "{sep}({}, {}, {})",
                id.level,
                id.index,
                hex_lit(url, &hash.0)
            ));
        }
        tx.execute(m_sql.as_str()).await.unwrap();
        i = end;
        // Commit every 10,000 entries (keeps SQLite's WAL small).
        if i - committed >= 10_000 && i < n {
            committed = i;
            tx.commit().await.unwrap();
            tx = c.begin().await.unwrap();
        }
    }
    let root = root_from_nodes(n, &mut |id| nodes.get(&id).copied().ok_or(())).unwrap();
    let sth = vox_protocol::board::SignedTreeHead::sign(
        vox_protocol::board::TreeHead {
            tree_size: n,
            root_hash: root,
            timestamp_ms: now_ms(),
        },
        &vox_testkit::genesis().log_name,
        &roles().operator,
    )
    .unwrap();
    let ts = sth.head.timestamp_ms;
    tx.execute(
        format!(
            "UPDATE board_head SET size = {n}, last_timestamp_ms = {ts}, root_hash = {}",
            hex_lit(url, &root.0)
        )
        .as_str(),
    )
    .await
    .unwrap();
    tx.execute(
        format!(
            "INSERT INTO tree_heads (tree_size, root_hash, timestamp_ms, signature) VALUES ({n}, {}, {ts}, {})",
            hex_lit(url, &root.0),
            hex_lit(url, &sth.signature.0.to_bytes())
        )
        .as_str(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    if url.starts_with("postgres") {
        c.execute("VACUUM ANALYZE").await.unwrap();
    }
    c.close().await.unwrap();
}

fn hex_lit(url: &str, b: &[u8]) -> String {
    if url.starts_with("postgres") {
        format!("'\\x{}'::bytea", hex::encode(b))
    } else {
        format!("x'{}'", hex::encode(b))
    }
}
