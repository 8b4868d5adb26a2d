//! Integrity of the stored board: the log, its Merkle tree, its head and the side tables
//! written in the same transactions agree.
//!
//! Every state change is one transaction, so a crash can never leave half of one; this
//! check is how that is verified rather than assumed. It runs at every start
//! ([`Depth::Quick`]: the server refuses to start on an inconsistent database) and from
//! the crash test after every kill ([`Depth::Full`]), and [`check`] runs it on any
//! database URL without writing anything.
//!
//! Both depths check, in one read-only snapshot:
//! - the genesis: leaf 0 is a valid genesis (protocol-spec/11-roles.md §11.2) naming the
//!   operator key that signed the latest tree head (and, at server start, the server's
//!   own key); no other entry is a genesis;
//! - the head: `board_head.size` is the number of entries, which are exactly the
//!   positions `0..size`; the latest signed tree head has that size and the head's root;
//! - the tree: every level of stored perfect-subtree nodes holds exactly the nodes a tree
//!   of `size` leaves has; the frontier (peaks) exists and hashes to the head's root;
//! - the side tables against the log (index-only anti-joins): every `ballots` row is at
//!   the position of a `ballot-cast` entry and every `ballot-cast` entry has its row; the
//!   same for `audited_ballots` and `ballot-audited`; every `latest_ballot` row points
//!   at a stored ballot of its credential at the same position;
//! - the leaves: an entry's `leaf_hash` is its level-0 node (for the last
//!   [`QUICK_TAIL`] entries in quick mode — the transactions a crash could have touched
//!   — and for all of them in full mode).
//!
//! [`Depth::Full`] also reads everything, page by page: every entry's leaf hash is
//! recomputed from its body; the genesis and every authority act are replayed
//! ([`Authorities`]: each act signed by its role's current key, none twice); every ballot row's ballot, stored receipt and entry agree
//! (hash, position, leaf hash); every audited row matches its entry; every signed tree
//! head ever issued has the root the stored nodes give for its size; every stored
//! Idempotency-Key answer that names a leaf points at a committed entry (and, when it
//! carries a tree head and inclusion proof, the proof verifies against that head, which
//! must be one the board issued). Petition signatures have no side table: they live only
//! in the log, so for them the check is the log itself and the idempotency answers.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row, Transaction};
use vox_crypto::Hash32;
use vox_protocol::board::{
    BoardEntry, BoardPublicKey, Payload, Receipt, Sig, SignedTreeHead, TreeHead,
};
use vox_protocol::merkle::{node_hash, verify_inclusion, NodeHash, EMPTY_ROOT};
use vox_protocol::merkle_nodes::{peaks, root_from_nodes, NodeId};
use vox_protocol::roles::Authorities;

use crate::board::{to_i64, to_u64};
use crate::db::Backend;

/// Entries whose leaves the quick check compares with the tree (the most recent ones).
pub const QUICK_TAIL: u64 = 10_000;

/// Rows read per query in the full check.
const PAGE: i64 = 500;

/// At most this many problems are reported (the first ones found).
const MAX_PROBLEMS: usize = 20;

/// How much to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Counts, index-only anti-joins and the tail of the log: cheap on large boards
    /// (run at every start).
    Quick,
    /// Everything, including every entry body, receipt, tree head and idempotency answer.
    Full,
}

/// What a passing check saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Entries in the log (= `board_head.size`).
    pub tree_size: u64,
    /// Stored Merkle nodes (all levels).
    pub merkle_nodes: u64,
    /// `ballots` rows (each matched with its `ballot-cast` entry).
    pub ballots: u64,
    /// `audited_ballots` rows (each matched with its `ballot-audited` entry).
    pub audited: u64,
    /// `latest_ballot` rows (each matched with its ballot).
    pub latest: u64,
    /// `petition-signed` entries (full check only; signatures have no side table).
    pub signatures: u64,
    /// Entries whose leaf hash was compared with the stored tree.
    pub leaves_checked: u64,
    /// Entries whose leaf hash was recomputed from the body (full check).
    pub bodies_checked: u64,
    /// Signed tree heads whose root was recomputed (full check).
    pub tree_heads_checked: u64,
    /// Authority acts whose signature and rules were replayed (full check).
    pub acts: u64,
    /// Idempotency-Key records (full check).
    pub idempotency_records: u64,
    /// Idempotency-Key answers naming a leaf, checked against the log (full check).
    pub idempotency_checked: u64,
    /// How long the check took.
    pub elapsed: Duration,
}

/// Why the check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The database could not be read.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Not a `sqlite://` or `postgres://` URL.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    Url(String),
    /// The stored board is inconsistent; the first problems found.
    #[error("the stored board is inconsistent: {}", .0.join("; "))]
    Inconsistent(Vec<String>),
}

/// Open `url` without writing (SQLite: an existing file, `PRAGMA query_only`; PostgreSQL:
/// a read-only transaction), run the check and close. Creates nothing and migrates
/// nothing: the database must be one a vox server has opened.
///
/// SQLite is not opened with `mode=ro`: a read-only connection cannot rebuild or grow
/// the WAL index that a killed process leaves behind with a large WAL. Reading it the
/// normal way changes no row; the last connection to close may checkpoint the WAL into
/// the main file, as any SQLite reader would.
pub async fn check(url: &str, depth: Depth) -> Result<IntegrityReport, IntegrityError> {
    sqlx::any::install_default_drivers();
    let (url, backend) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        (url.to_owned(), Backend::Postgres)
    } else if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = rest.split_once('?').map_or(rest, |(p, _)| p);
        if path.is_empty() {
            return Err(IntegrityError::Url(url.to_owned()));
        }
        (format!("sqlite://{path}?mode=rw"), Backend::Sqlite)
    } else {
        return Err(IntegrityError::Url(url.to_owned()));
    };
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute("PRAGMA busy_timeout = 30000").await?;
                    conn.execute("PRAGMA query_only = ON").await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    let r = check_pool(&pool, backend, depth, None).await;
    pool.close().await;
    r
}

/// Run the check in one read-only snapshot of `pool`'s database; with `operator`, leaf 0
/// must be a genesis naming that key (the server's own).
pub(crate) async fn check_pool(
    pool: &AnyPool,
    backend: Backend,
    depth: Depth,
    operator: Option<&BoardPublicKey>,
) -> Result<IntegrityReport, IntegrityError> {
    let t0 = Instant::now();
    let mut tx: Transaction<'static, Any> = pool.begin().await?;
    if backend == Backend::Postgres {
        // One snapshot for every query, even while other processes append.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let mut c = Checker {
        problems: Vec::new(),
        report: IntegrityReport::default(),
    };
    c.run(&mut tx, depth, operator).await?;
    tx.rollback().await?;
    c.report.elapsed = t0.elapsed();
    if c.problems.is_empty() {
        Ok(c.report)
    } else {
        Err(IntegrityError::Inconsistent(c.problems))
    }
}

struct Checker {
    problems: Vec<String>,
    report: IntegrityReport,
}

fn hash32(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

fn seqs(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// Count and the first few positions returned by an anti-join.
async fn sample(
    conn: &mut AnyConnection,
    sql: &str,
    binds: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect()
}

async fn count(conn: &mut AnyConnection, sql: &str) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query(sql).fetch_one(&mut *conn).await?.try_get(0)?;
    Ok(to_u64(n))
}

impl Checker {
    fn fail(&mut self, msg: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(msg.into());
        }
    }

    async fn run(
        &mut self,
        conn: &mut AnyConnection,
        depth: Depth,
        operator: Option<&BoardPublicKey>,
    ) -> Result<(), sqlx::Error> {
        // The head.
        let head = sqlx::query("SELECT size, root_hash FROM board_head WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?;
        let Some(head) = head else {
            self.fail("no board_head row");
            return Ok(());
        };
        let size = to_u64(head.try_get::<i64, _>(0)?);
        let root_bytes: Vec<u8> = head.try_get(1)?;
        let Some(root) = hash32(&root_bytes).map(NodeHash) else {
            self.fail("board_head.root_hash is not 32 bytes");
            return Ok(());
        };
        self.report.tree_size = size;

        // Entries are exactly 0..size.
        let r = sqlx::query("SELECT COUNT(*), MIN(seq), MAX(seq) FROM board_entries")
            .fetch_one(&mut *conn)
            .await?;
        let n = to_u64(r.try_get::<i64, _>(0)?);
        let min: Option<i64> = r.try_get(1)?;
        let max: Option<i64> = r.try_get(2)?;
        let expected_bounds = (size > 0).then(|| (0, to_i64(size) - 1));
        if n != size || min.zip(max) != expected_bounds {
            self.fail(format!(
                "board_head.size is {size} but board_entries holds {n} entries (positions {min:?}..={max:?})"
            ));
        }

        // The latest signed tree head is the head.
        let r = sqlx::query(
            "SELECT tree_size, root_hash, timestamp_ms, signature FROM tree_heads \
             ORDER BY tree_size DESC LIMIT 1",
        )
        .fetch_optional(&mut *conn)
        .await?;
        let mut latest = None;
        match r {
            None => self.fail("no signed tree head"),
            Some(r) => {
                let ts = to_u64(r.try_get::<i64, _>(0)?);
                let rh: Vec<u8> = r.try_get(1)?;
                if ts != size || rh != root_bytes {
                    self.fail(format!(
                        "the latest signed tree head (size {ts}) is not the board head (size {size})"
                    ));
                }
                let sig: Vec<u8> = r.try_get(3)?;
                if let (Some(root), Ok(sig)) = (hash32(&rh), <[u8; 64]>::try_from(sig.as_slice())) {
                    latest = Some(SignedTreeHead {
                        // The origin is the genesis's log name, set once leaf 0 is read.
                        origin: String::new(),
                        head: TreeHead {
                            tree_size: ts,
                            root_hash: NodeHash(root),
                            timestamp_ms: r.try_get(2)?,
                        },
                        signature: Sig(ed25519_dalek::Signature::from_bytes(&sig)),
                        cosignatures: Vec::new(),
                    });
                } else {
                    self.fail("the latest signed tree head is malformed");
                }
            }
        }

        // The log starts with its genesis, which names the key that signs its heads.
        if size > 0 {
            self.genesis(conn, operator, latest.as_ref()).await?;
        }

        // The tree: every level holds exactly the nodes of a tree of `size` leaves.
        let mut total_nodes = 0u64;
        for level in 0..64u32 {
            let want = size >> level;
            let r = sqlx::query(
                "SELECT COUNT(*), MIN(idx), MAX(idx) FROM merkle_nodes WHERE level = $1",
            )
            .bind(i64::from(level))
            .fetch_one(&mut *conn)
            .await?;
            let n = to_u64(r.try_get::<i64, _>(0)?);
            let min: Option<i64> = r.try_get(1)?;
            let max: Option<i64> = r.try_get(2)?;
            total_nodes += n;
            let bounds = (want > 0).then(|| (0, to_i64(want) - 1));
            if n != want || min.zip(max) != bounds {
                self.fail(format!(
                    "merkle level {level}: {n} nodes (indices {min:?}..={max:?}), a tree of {size} leaves has {want}"
                ));
            }
            if want == 0 {
                break;
            }
        }
        let stray = count(
            conn,
            "SELECT COUNT(*) FROM merkle_nodes WHERE level < 0 OR level >= 64",
        )
        .await?;
        if stray > 0 {
            self.fail(format!("{stray} merkle nodes at impossible levels"));
        }
        self.report.merkle_nodes = total_nodes + stray;

        // The frontier hashes to the head's root.
        let mut frontier: HashMap<NodeId, NodeHash> = HashMap::new();
        let mut missing = Vec::new();
        for id in peaks(size) {
            let r = sqlx::query("SELECT hash FROM merkle_nodes WHERE level = $1 AND idx = $2")
                .bind(i64::from(id.level))
                .bind(to_i64(id.index))
                .fetch_optional(&mut *conn)
                .await?;
            match r.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()? {
                Some(h) => match hash32(&h) {
                    Some(h) => {
                        frontier.insert(id, NodeHash(h));
                    }
                    None => self.fail(format!("merkle node {id:?} is not 32 bytes")),
                },
                None => missing.push(id),
            }
        }
        if !missing.is_empty() {
            self.fail(format!("frontier nodes missing: {missing:?}"));
        } else {
            let computed = root_from_nodes(size, &mut |id| frontier.get(&id).copied().ok_or(()));
            if computed != Ok(root) {
                self.fail(format!(
                    "the stored frontier does not hash to the head's root (size {size})"
                ));
            }
        }
        if size == 0 && root != EMPTY_ROOT {
            self.fail("an empty board with a non-empty root");
        }

        // Leaves: an entry's leaf hash is its level-0 node.
        let from = match depth {
            Depth::Quick => size.saturating_sub(QUICK_TAIL),
            Depth::Full => 0,
        };
        let bad = sample(
            conn,
            "SELECT e.seq FROM board_entries e LEFT JOIN merkle_nodes n \
             ON n.level = 0 AND n.idx = e.seq \
             WHERE e.seq >= $1 AND (n.hash IS NULL OR n.hash <> e.leaf_hash) \
             ORDER BY e.seq LIMIT 5",
            &[to_i64(from)],
        )
        .await?;
        if !bad.is_empty() {
            self.fail(format!(
                "entries whose leaf hash is not their tree leaf: {}",
                seqs(&bad)
            ));
        }
        self.report.leaves_checked = size - from.min(size);

        // Side tables against the log (index-only).
        for (table, kind) in [
            ("ballots", "ballot-cast"),
            ("audited_ballots", "ballot-audited"),
        ] {
            let orphans = sample(
                conn,
                &format!(
                    "SELECT b.seq FROM {table} b WHERE NOT EXISTS (SELECT 1 FROM board_entries e \
                     WHERE e.kind = '{kind}' AND e.seq = b.seq) ORDER BY b.seq LIMIT 5"
                ),
                &[],
            )
            .await?;
            if !orphans.is_empty() {
                self.fail(format!(
                    "{table} rows without their {kind} entry, at positions {}",
                    seqs(&orphans)
                ));
            }
            let bare = sample(
                conn,
                &format!(
                    "SELECT e.seq FROM board_entries e WHERE e.kind = '{kind}' AND NOT EXISTS \
                     (SELECT 1 FROM {table} b WHERE b.seq = e.seq) ORDER BY e.seq LIMIT 5"
                ),
                &[],
            )
            .await?;
            if !bare.is_empty() {
                self.fail(format!(
                    "{kind} entries without their {table} row, at positions {}",
                    seqs(&bare)
                ));
            }
            let rows = count(conn, &format!("SELECT COUNT(*) FROM {table}")).await?;
            match table {
                "ballots" => self.report.ballots = rows,
                _ => self.report.audited = rows,
            }
        }
        let latest_from = match depth {
            Depth::Quick => to_i64(from),
            Depth::Full => 0,
        };
        let dangling = sample(
            conn,
            "SELECT l.seq FROM latest_ballot l WHERE l.seq >= $1 AND NOT EXISTS \
             (SELECT 1 FROM ballots b WHERE b.ballot_hash = l.ballot_hash AND b.seq = l.seq \
              AND b.referendum_id = l.referendum_id AND b.credential = l.credential) \
             ORDER BY l.seq LIMIT 5",
            &[latest_from],
        )
        .await?;
        if !dangling.is_empty() {
            self.fail(format!(
                "latest_ballot rows not matching a stored ballot, at positions {}",
                seqs(&dangling)
            ));
        }
        self.report.latest = count(conn, "SELECT COUNT(*) FROM latest_ballot").await?;
        if depth == Depth::Full {
            self.report.idempotency_records =
                count(conn, "SELECT COUNT(*) FROM idempotency").await?;
            self.full(conn, size).await?;
        }
        Ok(())
    }

    /// Leaf 0 is a valid genesis naming the operator key (the server's, when known) that
    /// signed the latest tree head; no other entry is a genesis.
    async fn genesis(
        &mut self,
        conn: &mut AnyConnection,
        operator: Option<&BoardPublicKey>,
        latest: Option<&SignedTreeHead>,
    ) -> Result<(), sqlx::Error> {
        let r = sqlx::query("SELECT kind, body FROM board_entries WHERE seq = 0")
            .fetch_optional(&mut *conn)
            .await?;
        let Some(r) = r else {
            return Ok(()); // reported with the positions
        };
        let kind: String = r.try_get(0)?;
        let body: String = r.try_get(1)?;
        let genesis = match serde_json::from_str::<BoardEntry>(&body) {
            Ok(BoardEntry {
                payload: Payload::Genesis { genesis },
                ..
            }) => genesis,
            Ok(e) => {
                self.fail(format!(
                    "leaf 0 is a {} entry, not a genesis",
                    e.payload.kind()
                ));
                return Ok(());
            }
            Err(e) => {
                self.fail(format!("leaf 0 ({kind}) does not parse: {e}"));
                return Ok(());
            }
        };
        if let Err(e) = genesis.validate() {
            self.fail(format!("the genesis (leaf 0) is not valid: {e}"));
        }
        let named = genesis.keys.operator;
        if let Some(op) = operator {
            if *op != named {
                self.fail(format!(
                    "the genesis (leaf 0) names operator key {}, not this server's key {}",
                    named.to_hex(),
                    op.to_hex()
                ));
            }
        }
        if let Some(sth) = latest {
            let sth = SignedTreeHead {
                origin: genesis.log_name.clone(),
                ..sth.clone()
            };
            if sth.verify(&named).is_err() {
                self.fail(
                    "the latest signed tree head is not a checkpoint of this log signed by the \
                     genesis operator key (a board whose heads predate C2SP checkpoints cannot be \
                     served: start a new log)",
                );
            }
        }
        let others = sample(
            conn,
            "SELECT seq FROM board_entries WHERE kind = 'genesis' AND seq > 0 ORDER BY seq LIMIT 5",
            &[],
        )
        .await?;
        if !others.is_empty() {
            self.fail(format!(
                "genesis entries after leaf 0, at positions {}",
                seqs(&others)
            ));
        }
        Ok(())
    }

    /// Everything that reads bodies, page by page.
    async fn full(&mut self, conn: &mut AnyConnection, size: u64) -> Result<(), sqlx::Error> {
        // Every ballot's credential has a latest_ballot row, and it is its last ballot.
        let stale = sample(
            conn,
            "SELECT b.seq FROM ballots b WHERE b.seq > COALESCE((SELECT l.seq FROM latest_ballot l \
             WHERE l.referendum_id = b.referendum_id AND l.credential = b.credential), -1) \
             ORDER BY b.seq LIMIT 5",
            &[],
        )
        .await?;
        if !stale.is_empty() {
            self.fail(format!(
                "ballots later than their credential's latest_ballot row, at positions {}",
                seqs(&stale)
            ));
        }

        // Entries: bodies hash to their leaves; ballots and audits match their rows; the
        // genesis and every authority act replay (signatures by the roles' current keys,
        // no act twice, rotations by the rules).
        let mut authorities: Option<Authorities> = None;
        let mut next = 0i64;
        let mut leaf_of: Vec<NodeHash> = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        loop {
            let rows = sqlx::query(
                "SELECT e.seq, e.kind, e.leaf_hash, e.body, b.ballot_hash, b.receipt, a.ballot_hash \
                 FROM board_entries e \
                 LEFT JOIN ballots b ON b.seq = e.seq \
                 LEFT JOIN audited_ballots a ON a.seq = e.seq \
                 WHERE e.seq >= $1 ORDER BY e.seq LIMIT $2",
            )
            .bind(next)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
            let Some(last) = rows.last() else { break };
            next = last.try_get::<i64, _>(0)? + 1;
            for r in &rows {
                let seq: i64 = r.try_get(0)?;
                let kind: String = r.try_get(1)?;
                let stored: Vec<u8> = r.try_get(2)?;
                let body: String = r.try_get(3)?;
                let ballot_hash: Option<Vec<u8>> = r.try_get(4)?;
                let receipt: Option<String> = r.try_get(5)?;
                let audited_hash: Option<Vec<u8>> = r.try_get(6)?;
                let entry: BoardEntry = match serde_json::from_str(&body) {
                    Ok(e) => e,
                    Err(e) => {
                        self.fail(format!("entry {seq} does not parse: {e}"));
                        leaf_of.push(NodeHash([0; 32]));
                        continue;
                    }
                };
                let leaf = entry.leaf_hash();
                leaf_of.push(leaf);
                if stored != leaf.0 {
                    self.fail(format!("entry {seq}: stored leaf hash is not its body's"));
                }
                if entry.payload.kind() != kind {
                    self.fail(format!(
                        "entry {seq}: stored kind {kind:?} is not its body's"
                    ));
                }
                self.report.bodies_checked += 1;
                match (&entry.payload, &mut authorities) {
                    (Payload::Genesis { genesis }, None) if seq == 0 => {
                        match Authorities::from_genesis(genesis) {
                            Ok(a) => authorities = Some(a),
                            Err(e) => self.fail(format!("entry 0: {e}")),
                        }
                    }
                    (p, Some(a)) => match a.accept(p) {
                        Ok(()) => {
                            if p.act().is_some() {
                                self.report.acts += 1;
                            }
                        }
                        Err(e) => self.fail(format!("entry {seq}: {e}")),
                    },
                    _ => {} // leaf 0 is not a genesis: reported by the quick part
                }
                match &entry.payload {
                    Payload::BallotCast { ballot } => {
                        let h = ballot.hash();
                        if ballot_hash.as_deref() != Some(h.0.as_slice()) {
                            self.fail(format!("entry {seq}: the ballots row is another ballot"));
                        }
                        self.check_receipt(seq, &h, leaf, receipt.as_deref());
                    }
                    Payload::BallotAudited { audited }
                        if audited_hash.as_deref() != Some(audited.ballot.hash().0.as_slice()) =>
                    {
                        self.fail(format!(
                            "entry {seq}: the audited_ballots row is another ballot"
                        ));
                    }
                    Payload::PetitionSigned { .. } => self.report.signatures += 1,
                    _ => {}
                }
            }
        }

        // Every stored node is the hash of its children (level 0: checked above against
        // the recomputed leaf hashes), so the stored tree is the log's tree.
        let mut nodes: HashMap<NodeId, NodeHash> = HashMap::new();
        let (mut level, mut idx) = (0i64, -1i64);
        loop {
            let rows = sqlx::query(
                "SELECT level, idx, hash FROM merkle_nodes WHERE level > $1 OR (level = $2 AND idx > $3) \
                 ORDER BY level, idx LIMIT $4",
            )
            .bind(level)
            .bind(level)
            .bind(idx)
            .bind(PAGE * 4)
            .fetch_all(&mut *conn)
            .await?;
            let Some(last) = rows.last() else { break };
            (level, idx) = (last.try_get(0)?, last.try_get(1)?);
            for r in &rows {
                let id = NodeId {
                    level: u32::try_from(r.try_get::<i64, _>(0)?).unwrap_or(u32::MAX),
                    index: to_u64(r.try_get::<i64, _>(1)?),
                };
                match hash32(&r.try_get::<Vec<u8>, _>(2)?) {
                    Some(h) => {
                        nodes.insert(id, NodeHash(h));
                    }
                    None => self.fail(format!("merkle node {id:?} is not 32 bytes")),
                }
            }
        }
        let mut wrong = Vec::new();
        for (id, h) in &nodes {
            if id.level == 0 {
                continue;
            }
            let child = |index| NodeId {
                level: id.level - 1,
                index,
            };
            let (l, r) = (child(id.index * 2), child(id.index * 2 + 1));
            match (nodes.get(&l), nodes.get(&r)) {
                (Some(l), Some(r)) if node_hash(l, r) == *h => {}
                _ => wrong.push(*id),
            }
        }
        if !wrong.is_empty() {
            wrong.sort();
            wrong.truncate(5);
            self.fail(format!(
                "merkle nodes that are not the hash of their children: {wrong:?}"
            ));
        }

        // Every signed tree head has the root the stored tree gives for its size.
        let mut since = -1i64;
        loop {
            let rows = sqlx::query(
                "SELECT tree_size, root_hash FROM tree_heads WHERE tree_size > $1 \
                 ORDER BY tree_size LIMIT $2",
            )
            .bind(since)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
            let Some(last) = rows.last() else { break };
            since = last.try_get(0)?;
            for r in &rows {
                let ts = to_u64(r.try_get::<i64, _>(0)?);
                let rh: Vec<u8> = r.try_get(1)?;
                if ts > size {
                    self.fail(format!(
                        "a signed tree head of size {ts} > board size {size}"
                    ));
                    continue;
                }
                let root = root_from_nodes(ts, &mut |id: NodeId| nodes.get(&id).copied().ok_or(()));
                if root.map(|h| h.0.to_vec()).ok() != Some(rh) {
                    self.fail(format!(
                        "signed tree head {ts}: its root is not the log's first {ts} leaves"
                    ));
                }
                self.report.tree_heads_checked += 1;
            }
        }

        // Idempotency answers that name a leaf point at committed entries.
        let mut heads: HashMap<u64, Vec<u8>> = HashMap::new();
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT key, body FROM idempotency WHERE key > $1 ORDER BY key LIMIT $2",
            )
            .bind(after.clone())
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0)?;
            for r in &rows {
                let key: String = r.try_get(0)?;
                let body: String = r.try_get(1)?;
                self.check_answer(conn, &key, &body, size, &leaf_of, &mut heads)
                    .await?;
            }
        }
        Ok(())
    }

    fn check_receipt(&mut self, seq: i64, hash: &Hash32, leaf: NodeHash, receipt: Option<&str>) {
        let Some(text) = receipt else {
            return; // reported by the anti-join
        };
        match serde_json::from_str::<Receipt>(text) {
            Err(e) => self.fail(format!("entry {seq}: stored receipt does not parse: {e}")),
            Ok(r) => {
                if r.ballot_hash != *hash || to_i64(r.leaf_index) != seq || r.leaf_hash != leaf {
                    self.fail(format!(
                        "entry {seq}: the stored receipt is for another leaf"
                    ));
                }
            }
        }
    }

    async fn check_answer(
        &mut self,
        conn: &mut AnyConnection,
        key: &str,
        body: &str,
        size: u64,
        leaf_of: &[NodeHash],
        heads: &mut HashMap<u64, Vec<u8>>,
    ) -> Result<(), sqlx::Error> {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
            self.fail(format!(
                "idempotency record {key:?}: the stored answer is not JSON"
            ));
            return Ok(());
        };
        let Some(index) = v.get("leaf_index").and_then(serde_json::Value::as_u64) else {
            return Ok(()); // an answer without a leaf (a summary)
        };
        self.report.idempotency_checked += 1;
        let Some(leaf) = usize::try_from(index).ok().and_then(|i| leaf_of.get(i)) else {
            self.fail(format!(
                "idempotency record {key:?} answers leaf {index}, beyond the board ({size})"
            ));
            return Ok(());
        };
        if let Some(h) = v.get("leaf_hash") {
            if serde_json::from_value::<NodeHash>(h.clone()).ok() != Some(*leaf) {
                self.fail(format!(
                    "idempotency record {key:?}: leaf {index} now holds another entry"
                ));
            }
        }
        let (Some(th), Some(proof)) = (v.get("tree_head"), v.get("inclusion_proof")) else {
            return Ok(());
        };
        let (Ok(sth), Ok(proof)) = (
            serde_json::from_value::<SignedTreeHead>(th.clone()),
            serde_json::from_value::<Vec<NodeHash>>(proof.clone()),
        ) else {
            self.fail(format!(
                "idempotency record {key:?}: tree head or proof does not parse"
            ));
            return Ok(());
        };
        let ts = sth.head.tree_size;
        let issued = match heads.get(&ts) {
            Some(r) => Some(r.clone()),
            None => {
                let r = sqlx::query("SELECT root_hash FROM tree_heads WHERE tree_size = $1")
                    .bind(to_i64(ts))
                    .fetch_optional(&mut *conn)
                    .await?;
                match r {
                    Some(r) => {
                        let root: Vec<u8> = r.try_get(0)?;
                        heads.insert(ts, root.clone());
                        Some(root)
                    }
                    None => None,
                }
            }
        };
        if issued.as_deref() != Some(sth.head.root_hash.0.as_slice()) {
            self.fail(format!(
                "idempotency record {key:?}: its tree head (size {ts}) is not one the board issued"
            ));
        } else if verify_inclusion(leaf, index, ts, &proof, &sth.head.root_hash).is_err() {
            self.fail(format!(
                "idempotency record {key:?}: leaf {index} is not included in its tree head"
            ));
        }
        Ok(())
    }
}
