//! The bulletin board sequencer: an append-only RFC 9162 log in the database.
//!
//! A write is one transaction:
//! 1. [`Board::begin`] waits for its turn among this process's writers (in memory, in
//!    order, holding no database connection), then locks the one `board_head` row
//!    (`UPDATE … RETURNING`: a row lock on PostgreSQL, the write lock on SQLite), so
//!    appends are serialized by the database across processes, and several processes
//!    can share one log;
//! 2. it folds into the in-memory [`Derived`] state whatever other processes appended
//!    since this process last looked, so validation sees exactly the committed board;
//! 3. the caller validates and [`WriteTx::push`]es entries: each leaf's hash and the
//!    perfect-subtree nodes it completes are computed in memory from the stored peaks
//!    (O(log n), never all leaves);
//! 4. [`WriteTx::seal`] signs the new tree head, against which receipts and inclusion
//!    proofs are built before anything is returned;
//! 5. [`Board::commit`] writes entries, nodes, the head and the signed tree head, commits,
//!    and only then folds the new entries into memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ed25519_dalek::SigningKey;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};
use vox_crypto::Hash32;
use vox_protocol::board::{
    BoardEntry, BoardPublicKey, Cosignature, Payload, Sig, SignedTreeHead, TreeHead,
};
use vox_protocol::merkle::{MerkleError, NodeHash};
use vox_protocol::merkle_nodes::{
    consistency_proof_from_nodes, inclusion_proof_from_nodes, nodes_completed_by, peaks,
    required_nodes, root_from_nodes, NodeId,
};
use vox_protocol::roles::Genesis;

use crate::config::Clock;
use crate::db::Db;
use crate::error::{AppError, ServerError};
use crate::state::{Derived, UNFOLDED_KINDS};

/// A value bound into a bulk insert.
#[derive(Debug, Clone)]
pub enum Val {
    /// BIGINT / INTEGER.
    I(i64),
    /// BLOB / BYTEA.
    B(Vec<u8>),
    /// TEXT.
    S(String),
    /// Nullable TEXT.
    OptS(Option<String>),
}

/// `INSERT INTO {table} ({cols}) VALUES (…), (…) {suffix}` in chunks, with `$n`
/// placeholders in ascending order (as SQLite and PostgreSQL both require here).
pub async fn insert_rows(
    conn: &mut AnyConnection,
    table: &str,
    cols: &[&str],
    suffix: &str,
    rows: Vec<Vec<Val>>,
) -> Result<(), sqlx::Error> {
    let per_chunk = (900 / cols.len().max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(per_chunk).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
        let mut n = 0usize;
        for (r, row) in chunk.iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..row.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(suffix);
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    Val::I(i) => q.bind(i),
                    Val::B(b) => q.bind(b),
                    Val::S(s) => q.bind(s),
                    Val::OptS(s) => q.bind(s),
                };
            }
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// u64 ↔ BIGINT (sizes and indices stay far below 2^63).
pub fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// BIGINT ↔ u64.
pub fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn node_from(bytes: &[u8]) -> Result<NodeHash, AppError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| AppError::internal("stored hash is not 32 bytes"))?;
    Ok(NodeHash(arr))
}

/// The perfect subtrees of the current tree, cached between transactions (valid while
/// `size` matches the locked head).
#[derive(Clone, Debug, Default)]
struct Frontier {
    size: u64,
    peaks: Vec<(NodeId, NodeHash)>,
}

/// An entry staged in a transaction.
#[derive(Debug)]
pub struct Staged {
    /// Its index.
    pub index: u64,
    /// The entry.
    pub entry: BoardEntry,
    /// Its leaf hash.
    pub leaf_hash: NodeHash,
    json: String,
}

/// The board: database, signing key and the folded state.
pub struct Board {
    /// The database.
    pub db: Db,
    key: SigningKey,
    /// The board's public key.
    pub public: BoardPublicKey,
    /// The log's checkpoint origin (the genesis `log_name`), known once [`init_genesis`]
    /// has checked the genesis; every tree head is signed under it (08 §8.3).
    origin: std::sync::OnceLock<String>,
    state: RwLock<Derived>,
    frontier: Mutex<Frontier>,
    /// This process's writers take turns here before they take a database connection.
    write_turn: Arc<tokio::sync::Mutex<()>>,
    /// The clock.
    pub clock: Clock,
    /// What this process committed, by entry kind (`/metrics`).
    pub appended: crate::metrics::AppendCounters,
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Board")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A write transaction holding the board lock.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    /// Board size when the lock was taken.
    pub start_size: u64,
    /// Timestamp of every entry of this transaction (never before the last one).
    pub ts: i64,
    nodes: HashMap<NodeId, NodeHash>,
    new_nodes: Vec<(NodeId, NodeHash)>,
    /// Entries staged so far.
    pub staged: Vec<Staged>,
    sth: Option<SignedTreeHead>,
    /// The log's origin, under which [`WriteTx::seal`] signs (`None` before the genesis
    /// is known: sealing then fails).
    origin: Option<String>,
    /// This process's write turn, released with the transaction (declared after `tx`,
    /// so dropped after it).
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx")
            .field("start_size", &self.start_size)
            .field("staged", &self.staged.len())
            .finish_non_exhaustive()
    }
}

impl WriteTx {
    /// The connection, for side tables written in the same transaction.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Board size including staged entries.
    pub fn size(&self) -> u64 {
        self.start_size + self.staged.len() as u64
    }

    /// Stage one entry (timestamped with [`WriteTx::ts`]); returns its leaf index.
    pub fn push(&mut self, payload: Payload) -> Result<u64, AppError> {
        let index = self.size();
        let entry = BoardEntry {
            timestamp_ms: self.ts,
            payload,
        };
        let leaf_hash = entry.leaf_hash();
        let nodes = &self.nodes;
        let completed = nodes_completed_by(index, leaf_hash, &mut |id| {
            nodes
                .get(&id)
                .copied()
                .ok_or_else(|| AppError::internal(format!("missing merkle node {id:?}")))
        })?;
        for (id, h) in completed {
            self.nodes.insert(id, h);
            self.new_nodes.push((id, h));
        }
        let json = serde_json::to_string(&entry).map_err(AppError::internal)?;
        self.staged.push(Staged {
            index,
            entry,
            leaf_hash,
            json,
        });
        self.sth = None;
        Ok(index)
    }

    /// Sign the tree head including everything staged (idempotent until the next push).
    pub fn seal(&mut self, key: &SigningKey) -> Result<SignedTreeHead, AppError> {
        if let Some(sth) = &self.sth {
            return Ok(sth.clone());
        }
        let nodes = &self.nodes;
        let root = root_from_nodes(self.size(), &mut |id| {
            nodes
                .get(&id)
                .copied()
                .ok_or_else(|| AppError::internal(format!("missing merkle node {id:?}")))
        })?;
        let origin = self
            .origin
            .as_deref()
            .ok_or_else(|| AppError::internal("the board's genesis is not known yet"))?;
        let sth = SignedTreeHead::sign(
            TreeHead {
                tree_size: self.size(),
                root_hash: root,
                timestamp_ms: self.ts,
            },
            origin,
            key,
        )
        .map_err(|e| AppError::internal(format!("signing the tree head: {e}")))?;
        self.sth = Some(sth.clone());
        Ok(sth)
    }

    /// Inclusion proof of a staged leaf in the tree including everything staged.
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<NodeHash>, AppError> {
        let nodes = &self.nodes;
        inclusion_proof_from_nodes(index, self.size(), &mut |id| {
            nodes
                .get(&id)
                .copied()
                .ok_or_else(|| AppError::internal(format!("missing merkle node {id:?}")))
        })
    }

    /// A stored Idempotency-Key record, read under the board lock.
    pub async fn idempotency_lookup(
        &mut self,
        key: &str,
    ) -> Result<Option<(Vec<u8>, u16, String)>, AppError> {
        let row = sqlx::query("SELECT request_hash, status, body FROM idempotency WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let status: i64 = r.try_get(1)?;
                Ok(Some((
                    r.try_get(0)?,
                    u16::try_from(status).unwrap_or(500),
                    r.try_get(2)?,
                )))
            }
        }
    }

    /// The stored records of many Idempotency-Keys, read under the board lock: one
    /// round trip per 400 keys (the writer's batches), not one per key.
    pub async fn idempotency_lookup_many(
        &mut self,
        keys: &[&str],
    ) -> Result<HashMap<String, (Vec<u8>, u16, String)>, AppError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(400) {
            let sql = format!(
                "SELECT key, request_hash, status, body FROM idempotency WHERE key IN ({})",
                (1..=chunk.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(*k);
            }
            for r in q.fetch_all(&mut *self.tx).await? {
                let status: i64 = r.try_get(2)?;
                found.insert(
                    r.try_get(0)?,
                    (
                        r.try_get(1)?,
                        u16::try_from(status).unwrap_or(500),
                        r.try_get(3)?,
                    ),
                );
            }
        }
        Ok(found)
    }

    /// Record the answer to an Idempotency-Key in this transaction.
    pub async fn idempotency_store(
        &mut self,
        key: &str,
        request_hash: &[u8],
        status: u16,
        body: &str,
    ) -> Result<(), AppError> {
        sqlx::query(
            "INSERT INTO idempotency (key, request_hash, status, body, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key)
        .bind(request_hash.to_vec())
        .bind(i64::from(status))
        .bind(body)
        .bind(self.ts)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl Board {
    /// A board over `db`, with an empty fold (call [`Board::catch_up`] before serving).
    pub fn new(db: Db, key: SigningKey, clock: Clock) -> Self {
        Self {
            public: BoardPublicKey(key.verifying_key()),
            db,
            key,
            origin: std::sync::OnceLock::new(),
            state: RwLock::new(Derived::default()),
            frontier: Mutex::new(Frontier::default()),
            write_turn: Arc::new(tokio::sync::Mutex::new(())),
            clock,
            appended: crate::metrics::AppendCounters::default(),
        }
    }

    /// The log id.
    pub fn log_id(&self) -> Hash32 {
        self.public.log_id()
    }

    /// The log's checkpoint origin (the genesis `log_name`).
    ///
    /// # Errors
    /// Before [`init_genesis`] has run: nothing may be signed before the genesis is known.
    pub fn origin(&self) -> Result<&str, AppError> {
        self.origin
            .get()
            .map(String::as_str)
            .ok_or_else(|| AppError::internal("the board's genesis is not known yet"))
    }

    /// Learn the origin from the genesis (once; the same name again is a no-op).
    fn set_origin(&self, log_name: &str) -> Result<(), ServerError> {
        let set = self.origin.get_or_init(|| log_name.to_owned());
        if set != log_name {
            return Err(ServerError::Genesis(format!(
                "this process serves log {set:?}, not {log_name:?}"
            )));
        }
        Ok(())
    }

    /// The signing key (receipts).
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The board size as this process last saw it (the entries folded so far: its own
    /// commits and its catch-ups), without a database read.
    pub fn known_size(&self) -> u64 {
        self.read().cursor
    }

    /// Read the folded state (never hold across an await).
    pub fn read(&self) -> RwLockReadGuard<'_, Derived> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Derived> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fold committed entries from `cursor` up to `upto` (exclusive) read with `conn`.
    async fn fold_from_db(&self, conn: &mut AnyConnection, upto: u64) -> Result<(), AppError> {
        let cursor = self.read().cursor;
        if cursor >= upto {
            return Ok(());
        }
        // Ballot and audit bodies are not read: their kind and scope are enough.
        let rows = sqlx::query(
            "SELECT seq, kind, scope, CASE WHEN kind = $1 OR kind = $2 THEN NULL ELSE body END \
             FROM board_entries WHERE seq >= $3 AND seq < $4 ORDER BY seq",
        )
        .bind(UNFOLDED_KINDS[0])
        .bind(UNFOLDED_KINDS[1])
        .bind(to_i64(cursor))
        .bind(to_i64(upto))
        .fetch_all(&mut *conn)
        .await?;
        enum Row2 {
            Full(Box<BoardEntry>),
            Light(String, Option<String>),
        }
        let mut parsed = Vec::with_capacity(rows.len());
        for r in rows {
            let seq: i64 = r.try_get(0)?;
            let kind: String = r.try_get(1)?;
            let scope: Option<String> = r.try_get(2)?;
            let body: Option<String> = r.try_get(3)?;
            let item = match body {
                Some(b) => Row2::Full(
                    serde_json::from_str::<Box<BoardEntry>>(&b)
                        .map_err(|e| AppError::internal(format!("stored entry {seq}: {e}")))?,
                ),
                None => Row2::Light(kind, scope),
            };
            parsed.push((to_u64(seq), item));
        }
        let mut st = self.write();
        for (seq, item) in parsed {
            if seq < st.cursor {
                continue;
            }
            match item {
                Row2::Full(entry) => {
                    if let Err(e) = st.fold(seq, &entry) {
                        tracing::error!(error = %e, "board entry does not fold");
                    }
                }
                Row2::Light(kind, scope) => st.note_unfolded(seq, &kind, scope.as_deref()),
            }
        }
        if st.cursor < upto {
            st.cursor = upto;
        }
        Ok(())
    }

    /// Catch up with entries committed by any process (no lock; for reads).
    pub async fn catch_up(&self) -> Result<(), AppError> {
        let mut conn = self.db.pool.acquire().await?;
        let size: i64 = sqlx::query("SELECT size FROM board_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        self.fold_from_db(&mut conn, to_u64(size)).await
    }

    /// Begin a write: wait for this process's turn, lock the head, catch up, load the
    /// peaks.
    ///
    /// Writes are serialized by the head lock anyway; queueing for it in memory (a fair
    /// FIFO mutex) rather than each with a pooled connection keeps the pool free for
    /// reads during a burst of writes, and keeps SQLite's busy handler (which retries by
    /// sleeping, in no order) out of the way between this process's own writers.
    pub async fn begin(&self) -> Result<WriteTx, AppError> {
        let turn = Arc::clone(&self.write_turn).lock_owned().await;
        let mut tx = self.db.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE board_head SET size = size WHERE id = 1 RETURNING size, last_timestamp_ms",
        )
        .fetch_one(&mut *tx)
        .await?;
        let size = to_u64(row.try_get::<i64, _>(0)?);
        let last_ts: i64 = row.try_get(1)?;
        self.fold_from_db(&mut tx, size).await?;

        let cached = {
            let f = self.frontier.lock().unwrap_or_else(PoisonError::into_inner);
            (f.size == size).then(|| f.peaks.clone())
        };
        let peak_nodes = match cached {
            Some(p) => p,
            None => {
                let ids = peaks(size);
                let found = fetch_nodes(&mut tx, &ids).await?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let h = found
                        .get(&id)
                        .copied()
                        .ok_or_else(|| AppError::internal(format!("missing peak {id:?}")))?;
                    out.push((id, h));
                }
                out
            }
        };
        Ok(WriteTx {
            tx,
            start_size: size,
            ts: self.clock.now_ms().max(last_ts),
            nodes: peak_nodes.into_iter().collect(),
            new_nodes: Vec::new(),
            staged: Vec::new(),
            sth: None,
            origin: self.origin.get().cloned(),
            _turn: turn,
        })
    }

    /// Seal (if needed), write and commit; then fold the new entries into memory.
    /// Returns the signed tree head including the new entries (`None` if nothing was
    /// appended).
    pub async fn commit(&self, mut w: WriteTx) -> Result<Option<SignedTreeHead>, AppError> {
        if w.staged.is_empty() {
            w.tx.commit().await?;
            return Ok(None);
        }
        let sth = w.seal(&self.key)?;
        let entry_rows = w
            .staged
            .iter()
            .map(|s| {
                vec![
                    Val::I(to_i64(s.index)),
                    Val::S(s.entry.payload.kind().to_owned()),
                    Val::OptS(s.entry.scope().map(str::to_owned)),
                    Val::I(s.entry.timestamp_ms),
                    Val::B(s.leaf_hash.0.to_vec()),
                    Val::S(s.json.clone()),
                ]
            })
            .collect();
        insert_rows(
            &mut w.tx,
            "board_entries",
            &["seq", "kind", "scope", "timestamp_ms", "leaf_hash", "body"],
            "",
            entry_rows,
        )
        .await?;
        crate::failpoint::hit("after-append");
        let node_rows = w
            .new_nodes
            .iter()
            .map(|(id, h)| {
                vec![
                    Val::I(i64::from(id.level)),
                    Val::I(to_i64(id.index)),
                    Val::B(h.0.to_vec()),
                ]
            })
            .collect();
        insert_rows(
            &mut w.tx,
            "merkle_nodes",
            &["level", "idx", "hash"],
            "",
            node_rows,
        )
        .await?;
        sqlx::query(
            "UPDATE board_head SET size = $1, last_timestamp_ms = $2, root_hash = $3 WHERE id = 1",
        )
        .bind(to_i64(sth.head.tree_size))
        .bind(sth.head.timestamp_ms)
        .bind(sth.head.root_hash.0.to_vec())
        .execute(&mut *w.tx)
        .await?;
        sqlx::query(
            "INSERT INTO tree_heads (tree_size, root_hash, timestamp_ms, signature) VALUES ($1, $2, $3, $4)",
        )
        .bind(to_i64(sth.head.tree_size))
        .bind(sth.head.root_hash.0.to_vec())
        .bind(sth.head.timestamp_ms)
        .bind(sth.signature.0.to_bytes().to_vec())
        .execute(&mut *w.tx)
        .await?;
        crate::failpoint::hit("before-commit");
        w.tx.commit().await?;

        // Committed: now memory may follow.
        let new_size = sth.head.tree_size;
        let new_peaks: Vec<(NodeId, NodeHash)> = peaks(new_size)
            .into_iter()
            .filter_map(|id| w.nodes.get(&id).map(|h| (id, *h)))
            .collect();
        {
            let mut f = self.frontier.lock().unwrap_or_else(PoisonError::into_inner);
            if f.size < new_size {
                *f = Frontier {
                    size: new_size,
                    peaks: new_peaks,
                };
            }
        }
        {
            let mut st = self.write();
            for s in &w.staged {
                if s.index < st.cursor {
                    continue;
                }
                if let Err(e) = st.fold(s.index, &s.entry) {
                    tracing::error!(error = %e, "own entry does not fold");
                }
            }
        }
        self.appended
            .add(w.staged.iter().map(|s| s.entry.payload.kind()));
        for s in &w.staged {
            let kind = s.entry.payload.kind();
            let scope = s.entry.scope().unwrap_or("");
            if kind == "ballot-cast" {
                tracing::debug!(index = s.index, kind, scope, "board entry appended");
            } else {
                tracing::info!(index = s.index, kind, scope, "board entry appended");
            }
        }
        Ok(Some(sth))
    }

    // ---- reads ------------------------------------------------------------------

    /// The latest signed tree head, with its cosignatures.
    pub async fn latest_sth(&self) -> Result<SignedTreeHead, AppError> {
        let row = sqlx::query(
            "SELECT tree_size, root_hash, timestamp_ms, signature FROM tree_heads ORDER BY tree_size DESC LIMIT 1",
        )
        .fetch_one(&self.db.pool)
        .await?;
        let mut sth = sth_from_row(&row, self.origin()?)?;
        sth.cosignatures = self
            .cosignatures(sth.head.tree_size, sth.head.tree_size)
            .await?
            .remove(&sth.head.tree_size)
            .unwrap_or_default();
        Ok(sth)
    }

    /// The signed tree head of exactly `size`, if the board issued one.
    pub async fn sth_at(&self, size: u64) -> Result<Option<SignedTreeHead>, AppError> {
        let row = sqlx::query(
            "SELECT tree_size, root_hash, timestamp_ms, signature FROM tree_heads WHERE tree_size = $1",
        )
        .bind(to_i64(size))
        .fetch_optional(&self.db.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let mut sth = sth_from_row(&r, self.origin()?)?;
                sth.cosignatures = self
                    .cosignatures(size, size)
                    .await?
                    .remove(&size)
                    .unwrap_or_default();
                Ok(Some(sth))
            }
        }
    }

    async fn cosignatures(
        &self,
        from: u64,
        to: u64,
    ) -> Result<HashMap<u64, Vec<Cosignature>>, AppError> {
        let rows = sqlx::query(
            "SELECT tree_size, witness, signature, name, cosigned_at FROM cosignatures WHERE tree_size >= $1 AND tree_size <= $2 ORDER BY tree_size, witness",
        )
        .bind(to_i64(from))
        .bind(to_i64(to))
        .fetch_all(&self.db.pool)
        .await?;
        let mut out: HashMap<u64, Vec<Cosignature>> = HashMap::new();
        for r in rows {
            let size: i64 = r.try_get(0)?;
            let w: Vec<u8> = r.try_get(1)?;
            let s: Vec<u8> = r.try_get(2)?;
            let name: String = r.try_get(3)?;
            let cosigned_at: i64 = r.try_get(4)?;
            let witness = BoardPublicKey::from_hex(&hex::encode(w))
                .map_err(|e| AppError::internal(format!("stored witness: {e}")))?;
            let sig: [u8; 64] = s
                .as_slice()
                .try_into()
                .map_err(|_| AppError::internal("stored cosignature is not 64 bytes"))?;
            out.entry(to_u64(size)).or_default().push(Cosignature {
                witness,
                name,
                timestamp: to_u64(cosigned_at),
                signature: Sig(ed25519_dalek::Signature::from_bytes(&sig)),
            });
        }
        Ok(out)
    }

    /// Signed tree heads with size ≥ `since`, ascending, at most `limit`.
    pub async fn sths_since(
        &self,
        since: u64,
        limit: i64,
    ) -> Result<Vec<SignedTreeHead>, AppError> {
        let rows = sqlx::query(
            "SELECT tree_size, root_hash, timestamp_ms, signature FROM tree_heads WHERE tree_size >= $1 ORDER BY tree_size LIMIT $2",
        )
        .bind(to_i64(since))
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        let origin = self.origin()?;
        let mut out = rows
            .iter()
            .map(|r| sth_from_row(r, origin))
            .collect::<Result<Vec<_>, _>>()?;
        if let (Some(first), Some(last)) = (out.first(), out.last()) {
            let mut cos = self
                .cosignatures(first.head.tree_size, last.head.tree_size)
                .await?;
            for sth in &mut out {
                sth.cosignatures = cos.remove(&sth.head.tree_size).unwrap_or_default();
            }
        }
        Ok(out)
    }

    /// Raw JSON of entries in `[start, end)`.
    pub async fn entries(&self, start: u64, end: u64) -> Result<Vec<(u64, String)>, AppError> {
        let rows = sqlx::query(
            "SELECT seq, body FROM board_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq",
        )
        .bind(to_i64(start))
        .bind(to_i64(end))
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((to_u64(r.try_get::<i64, _>(0)?), r.try_get::<String, _>(1)?)))
            .collect()
    }

    /// The committed board size.
    pub async fn size(&self) -> Result<u64, AppError> {
        let size: i64 = sqlx::query("SELECT size FROM board_head WHERE id = 1")
            .fetch_one(&self.db.pool)
            .await?
            .try_get(0)?;
        Ok(to_u64(size))
    }

    /// Leaf hash and inclusion proof of `index` in the tree of `size` (both committed).
    pub async fn inclusion(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(NodeHash, Vec<NodeHash>), AppError> {
        let mut ids = required_nodes(|l| inclusion_proof_from_nodes::<MerkleErr>(index, size, l))
            .map_err(|e| e.0)?;
        let leaf = NodeId { level: 0, index };
        ids.push(leaf);
        let mut conn = self.db.pool.acquire().await?;
        let found = fetch_nodes(&mut conn, &ids).await?;
        let mut lookup = |id: NodeId| {
            found
                .get(&id)
                .copied()
                .ok_or_else(|| MerkleErr(AppError::internal(format!("missing merkle node {id:?}"))))
        };
        let proof = inclusion_proof_from_nodes(index, size, &mut lookup).map_err(|e| e.0)?;
        let leaf_hash = lookup(leaf).map_err(|e| e.0)?;
        Ok((leaf_hash, proof))
    }

    /// Consistency proof from `first` to `second` (both committed sizes).
    pub async fn consistency(&self, first: u64, second: u64) -> Result<Vec<NodeHash>, AppError> {
        let ids = required_nodes(|l| consistency_proof_from_nodes::<MerkleErr>(first, second, l))
            .map_err(|e| e.0)?;
        let mut conn = self.db.pool.acquire().await?;
        let found = fetch_nodes(&mut conn, &ids).await?;
        consistency_proof_from_nodes(first, second, &mut |id: NodeId| {
            found
                .get(&id)
                .copied()
                .ok_or_else(|| MerkleErr(AppError::internal(format!("missing merkle node {id:?}"))))
        })
        .map_err(|e| e.0)
    }
}

/// An [`AppError`] that Merkle range errors convert into (400: a bad request).
#[derive(Debug)]
struct MerkleErr(AppError);

impl From<MerkleError> for MerkleErr {
    fn from(e: MerkleError) -> Self {
        MerkleErr(AppError::bad_request(None, e.to_string()))
    }
}

impl From<MerkleError> for AppError {
    fn from(e: MerkleError) -> Self {
        AppError::internal(format!("merkle: {e}"))
    }
}

fn sth_from_row(r: &AnyRow, origin: &str) -> Result<SignedTreeHead, AppError> {
    let size: i64 = r.try_get(0)?;
    let root: Vec<u8> = r.try_get(1)?;
    let ts: i64 = r.try_get(2)?;
    let sig: Vec<u8> = r.try_get(3)?;
    let sig: [u8; 64] = sig
        .as_slice()
        .try_into()
        .map_err(|_| AppError::internal("stored tree head signature is not 64 bytes"))?;
    Ok(SignedTreeHead {
        origin: origin.to_owned(),
        head: TreeHead {
            tree_size: to_u64(size),
            root_hash: node_from(&root)?,
            timestamp_ms: ts,
        },
        signature: Sig(ed25519_dalek::Signature::from_bytes(&sig)),
        cosignatures: Vec::new(),
    })
}

/// Fetch stored nodes by id (one query per 100 ids).
async fn fetch_nodes(
    conn: &mut AnyConnection,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, NodeHash>, AppError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(100) {
        let mut sql = String::from("SELECT level, idx, hash FROM merkle_nodes WHERE ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!(
                "(level = ${} AND idx = ${})",
                2 * i + 1,
                2 * i + 2
            ));
        }
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(i64::from(id.level)).bind(to_i64(id.index));
        }
        for r in q.fetch_all(&mut *conn).await? {
            let level: i64 = r.try_get(0)?;
            let idx: i64 = r.try_get(1)?;
            let h: Vec<u8> = r.try_get(2)?;
            out.insert(
                NodeId {
                    level: u32::try_from(level).unwrap_or(u32::MAX),
                    index: to_u64(idx),
                },
                node_from(&h)?,
            );
        }
    }
    Ok(out)
}

/// Store the signed tree head of the empty board if there is none yet (first start).
async fn init_empty_head(board: &Board) -> Result<(), sqlx::Error> {
    let sth = SignedTreeHead::sign(
        TreeHead {
            tree_size: 0,
            root_hash: vox_protocol::merkle::EMPTY_ROOT,
            timestamp_ms: board.clock.now_ms(),
        },
        board
            .origin()
            .map_err(|e| sqlx::Error::Protocol(e.detail.clone()))?,
        &board.key,
    )
    .map_err(|e| sqlx::Error::Protocol(format!("signing the empty tree head: {e}")))?;
    let mut tx = board.db.pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO tree_heads (tree_size, root_hash, timestamp_ms, signature) VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING",
    )
    .bind(0i64)
    .bind(sth.head.root_hash.0.to_vec())
    .bind(sth.head.timestamp_ms)
    .bind(sth.signature.0.to_bytes().to_vec())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        // Later heads and entries are never timestamped before this first head.
        sqlx::query(
            "UPDATE board_head SET last_timestamp_ms = $1 WHERE id = 1 AND last_timestamp_ms < $2",
        )
        .bind(sth.head.timestamp_ms)
        .bind(sth.head.timestamp_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Make sure the log starts with its genesis (protocol-spec/11-roles.md §11.2), before
/// anything else is served.
///
/// - A configured genesis must be valid and name this server's operator key.
/// - Empty board: the genesis is required and is appended as leaf 0, with its signed
///   tree head, in one write transaction under the board lock, so that of several
///   processes starting at once exactly one appends it and the others find it there.
/// - Otherwise leaf 0 must be a valid genesis naming this operator key, and equal the
///   configured genesis if one is given.
pub async fn init_genesis(board: &Board, genesis: Option<&Genesis>) -> Result<(), ServerError> {
    let ours = board.public.to_hex();
    if let Some(g) = genesis {
        g.validate()
            .map_err(|e| ServerError::Genesis(format!("the genesis given is not valid: {e}")))?;
        if g.keys.operator != board.public {
            return Err(ServerError::Genesis(format!(
                "the genesis given names operator key {}, but this server's operator key is \
                 {ours}; start the server with the operator key the genesis names",
                g.keys.operator.to_hex()
            )));
        }
        board.set_origin(&g.log_name)?;
    }
    let db_err = |e: AppError| {
        ServerError::Genesis(format!("could not read or write the board: {}", e.detail))
    };
    if board.size().await.map_err(db_err)? == 0 {
        let Some(g) = genesis else {
            return Err(ServerError::Genesis(
                "the board is empty and no genesis was given: a log starts with a genesis \
                 entry signed by all four roles (make one with `vox genesis new …`, have every \
                 role sign it, then start with `vox serve --genesis FILE --operator-key FILE`)"
                    .into(),
            ));
        };
        init_empty_head(board).await?;
        let mut w = board.begin().await.map_err(db_err)?;
        if w.start_size == 0 {
            w.push(Payload::Genesis { genesis: g.clone() })
                .map_err(db_err)?;
            board.commit(w).await.map_err(db_err)?;
            tracing::info!(log = %g.log_name, log_id = %g.log_id().to_hex(), "genesis appended as leaf 0");
            return Ok(());
        }
        // Another process appended it meanwhile: check it like any stored genesis.
        drop(w);
    }
    let rows = board.entries(0, 1).await.map_err(db_err)?;
    let Some((_, json)) = rows.first() else {
        return Err(ServerError::Corrupt(
            "refusing to start: the board has entries but no leaf 0".into(),
        ));
    };
    let stored = match serde_json::from_str::<BoardEntry>(json) {
        Ok(BoardEntry {
            payload: Payload::Genesis { genesis },
            ..
        }) => genesis,
        Ok(e) => {
            return Err(ServerError::Genesis(format!(
                "leaf 0 of this board is a {} entry, not a genesis (a board made before \
                 protocol v2 cannot be served; start a new log)",
                e.payload.kind()
            )))
        }
        Err(e) => {
            return Err(ServerError::Corrupt(format!(
                "refusing to start: leaf 0 does not parse: {e}"
            )))
        }
    };
    stored.validate().map_err(|e| {
        ServerError::Genesis(format!("the board's genesis (leaf 0) is not valid: {e}"))
    })?;
    if genesis.is_none() {
        board.set_origin(&stored.log_name)?;
    }
    if stored.keys.operator != board.public {
        return Err(ServerError::Genesis(format!(
            "the board's genesis (leaf 0) names operator key {}, but this server's operator \
             key is {ours}; start the server with the operator key of this log",
            stored.keys.operator.to_hex()
        )));
    }
    if let Some(g) = genesis {
        if *g != stored {
            return Err(ServerError::Genesis(format!(
                "the genesis given ({:?}, log id {}) is not this board's genesis (leaf 0: {:?})",
                g.log_name,
                g.log_id().to_hex(),
                stored.log_name
            )));
        }
    }
    Ok(())
}

/// The largest tree size any witness has cosigned (0 when none has).
pub async fn largest_cosigned_size(board: &Board) -> Result<u64, AppError> {
    let row: (Option<i64>,) = sqlx::query_as("SELECT MAX(tree_size) FROM cosignatures")
        .fetch_one(&board.db.pool)
        .await?;
    Ok(row.0.map_or(0, to_u64))
}

/// The largest tree size `witness` has cosigned on this board (0 when none).
pub async fn largest_cosigned_size_by(
    board: &Board,
    witness: &BoardPublicKey,
) -> Result<u64, AppError> {
    let row: (Option<i64>,) =
        sqlx::query_as("SELECT MAX(tree_size) FROM cosignatures WHERE witness = $1")
            .bind(witness.0.as_bytes().to_vec())
            .fetch_one(&board.db.pool)
            .await?;
    Ok(row.0.map_or(0, to_u64))
}

/// The witnesses that cosigned each head of a size in `from..=to` (every stored
/// cosignature was verified before it was stored), by increasing size.
pub async fn cosigners_between(
    board: &Board,
    from: u64,
    to: u64,
) -> Result<std::collections::BTreeMap<u64, std::collections::HashSet<[u8; 32]>>, AppError> {
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT tree_size, witness FROM cosignatures WHERE tree_size >= $1 AND tree_size <= $2",
    )
    .bind(to_i64(from))
    .bind(to_i64(to))
    .fetch_all(&board.db.pool)
    .await?;
    let mut out: std::collections::BTreeMap<u64, std::collections::HashSet<[u8; 32]>> =
        std::collections::BTreeMap::new();
    for (size, key) in rows {
        if let Ok(k) = <[u8; 32]>::try_from(key.as_slice()) {
            out.entry(to_u64(size)).or_default().insert(k);
        }
    }
    Ok(out)
}

/// The sizes of at most `limit` cosigned heads no larger than `upto`, largest first.
pub async fn cosigned_sizes_desc(
    board: &Board,
    upto: u64,
    limit: u32,
) -> Result<Vec<u64>, AppError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT DISTINCT tree_size FROM cosignatures WHERE tree_size <= $1 ORDER BY tree_size DESC LIMIT $2",
    )
    .bind(to_i64(upto))
    .bind(i64::from(limit))
    .fetch_all(&board.db.pool)
    .await?;
    Ok(rows.into_iter().map(|(s,)| to_u64(s)).collect())
}

/// Store a witness cosignature (after the caller verified it).
pub async fn store_cosignature(
    board: &Board,
    tree_size: u64,
    c: &Cosignature,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO cosignatures (tree_size, witness, signature, name, cosigned_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tree_size, witness) DO NOTHING",
    )
    .bind(to_i64(tree_size))
    .bind(c.witness.0.as_bytes().to_vec())
    .bind(c.signature.0.to_bytes().to_vec())
    .bind(c.name.clone())
    .bind(i64::try_from(c.timestamp).unwrap_or(i64::MAX))
    .execute(&board.db.pool)
    .await?;
    Ok(())
}
