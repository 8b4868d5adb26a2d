//! Group commit of ballots.
//!
//! Handlers verify ballot proofs in parallel, outside any lock or transaction, and queue
//! the verified ballots here. One writer task per process takes every ballot waiting
//! (up to `max_ballot_batch`) into one transaction: lock the board, re-check what may
//! have changed (state and window of the referendum, the credential's standing at the
//! ballot's leaf, ballots already cast or audited, that the ballot extends its
//! credential's latest one, Idempotency-Keys), append one entry
//! per ballot, sign one tree head, build and sign a receipt per ballot, upsert
//! `latest_ballot` (last ballot per credential counts) and commit. Each request gets its
//! receipt only after its own commit; a slow fsync makes the next batch bigger rather
//! than making every ballot wait for its own.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot, watch};
use vox_crypto::Hash32;
use vox_protocol::ballot::Ballot;
use vox_protocol::board::{unsigned, Payload, Receipt};
use vox_protocol::encoding::human_code;

use crate::board::{insert_rows, to_i64, Board, Val};
use crate::error::AppError;
use crate::extract::{Idem, JsonResponse};
use crate::metrics::{BatchSizes, Metrics};

/// A verified ballot waiting for its transaction.
#[derive(Debug)]
pub struct PendingBallot {
    /// The ballot (structure and proofs checked).
    pub ballot: Ballot,
    /// Its hash.
    pub hash: Hash32,
    /// Every (a, b) in tally order, 64 bytes each.
    pub ciphertexts: Vec<u8>,
    /// Idempotency-Key context.
    pub idem: Option<Idem>,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Result<JsonResponse, AppError>>,
}

/// What the writer works with: the board and the counters it feeds, nothing of the HTTP
/// layer (the handlers sit above the writer and hand it verified ballots).
#[derive(Debug, Clone)]
pub struct WriterEnv {
    /// The board.
    pub board: Arc<Board>,
    /// Ballots accepted, batches, time committing.
    pub metrics: Arc<Metrics>,
    /// Ballots per transaction.
    pub batch_sizes: Arc<BatchSizes>,
    /// Most ballots per transaction.
    pub max_batch: usize,
}

/// Run the writer until `shutdown` flips; ballots still queued then get 503.
pub async fn run(
    inner: WriterEnv,
    mut rx: mpsc::Receiver<PendingBallot>,
    mut shutdown: watch::Receiver<bool>,
) {
    let max = inner.max_batch.max(1);
    loop {
        let first = tokio::select! {
            m = rx.recv() => match m {
                Some(m) => m,
                None => break,
            },
            _ = shutdown.changed() => break,
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        commit_batch(&inner, batch).await;
    }
    rx.close();
    while let Ok(p) = rx.try_recv() {
        let _ = p
            .reply
            .send(Err(AppError::unavailable("the server is shutting down")));
    }
}

enum Decision {
    /// Answered without appending.
    Done(Result<JsonResponse, AppError>),
    /// Same as item `j` (a duplicate in this batch); `repost` answers 200.
    SameAs { j: usize, repost: bool },
    /// Appended (its receipt is in `receipts`).
    Accept,
}

async fn commit_batch(inner: &WriterEnv, batch: Vec<PendingBallot>) {
    let t0 = Instant::now();
    let mut replies = Vec::with_capacity(batch.len());
    let mut work = Vec::with_capacity(batch.len());
    for p in batch {
        replies.push(p.reply);
        work.push((p.ballot, p.hash, p.ciphertexts, p.idem));
    }
    let n = work.len();
    match try_commit(inner, work).await {
        Ok((answers, accepted)) => {
            inner
                .metrics
                .ballots_accepted
                .fetch_add(accepted, Ordering::Relaxed);
            for (reply, a) in replies.into_iter().zip(answers) {
                let _ = reply.send(a);
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
    inner.metrics.ballot_batches.fetch_add(1, Ordering::Relaxed);
    inner.batch_sizes.observe(n);
    let nanos = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
    inner
        .metrics
        .commit_nanos
        .fetch_add(nanos, Ordering::Relaxed);
    tracing::debug!(ballots = n, micros = nanos / 1000, "ballot batch committed");
}

/// 409 `ballot-not-latest`: the ballot does not extend its credential's latest ballot.
fn not_latest(previous: Option<Hash32>, latest: Option<Hash32>) -> AppError {
    let name = |h: Option<Hash32>| match h {
        Some(h) => format!("ballot {}", human_code(&h)),
        None => "no ballot".to_owned(),
    };
    AppError::conflict(
        "ballot-not-latest",
        format!(
            "this ballot extends {} but the credential's latest ballot on the board is {}: \
             the device must fetch the latest and sign again (a ballot signed before a later \
             one can never be posted after it)",
            name(previous),
            name(latest)
        ),
    )
    .with_field("previous")
}

/// Placeholders `$1, …, $n` for an IN list.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

type Work = (Ballot, Hash32, Vec<u8>, Option<Idem>);

async fn try_commit(
    inner: &WriterEnv,
    work: Vec<Work>,
) -> Result<(Vec<Result<JsonResponse, AppError>>, u64), AppError> {
    let board = &inner.board;
    let mut w = board.begin().await?;

    // What the database already knows about these ballots and keys.
    let mut stored_keys = HashMap::new();
    for (_, _, _, idem) in &work {
        if let Some(i) = idem {
            if let Some(s) = w.idempotency_lookup(&i.key).await? {
                stored_keys.insert(i.key.clone(), s);
            }
        }
    }
    let hashes: Vec<Vec<u8>> = work.iter().map(|(_, h, _, _)| h.0.to_vec()).collect();
    let mut existing: HashMap<Vec<u8>, String> = HashMap::new();
    let mut audited: HashSet<Vec<u8>> = HashSet::new();
    // One round trip: cast ballots (with their receipts) and audited ones.
    for chunk in hashes.chunks(400) {
        let n = chunk.len();
        let cast_ph = placeholders(n);
        let audited_ph = (n + 1..=2 * n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT ballot_hash, receipt FROM ballots WHERE ballot_hash IN ({cast_ph}) \
             UNION ALL SELECT ballot_hash, NULL FROM audited_ballots WHERE ballot_hash IN ({audited_ph})"
        );
        let mut q = sqlx::query(&sql);
        for h in chunk.iter().chain(chunk.iter()) {
            q = q.bind(h.clone());
        }
        for r in q.fetch_all(w.conn()).await? {
            let hash: Vec<u8> = r.try_get(0)?;
            match r.try_get::<Option<String>, _>(1)? {
                Some(receipt) => {
                    existing.insert(hash, receipt);
                }
                None => {
                    audited.insert(hash);
                }
            }
        }
    }

    // The latest ballot of each credential in the batch: a ballot must extend it (its
    // signed `previous`, 04 §4.3, 10 V10.6), so no one can post an older ballot after a
    // newer one. Read under the board lock, so another process cannot move it meanwhile.
    let mut latest_before: HashMap<(String, [u8; 32]), Hash32> = HashMap::new();
    let mut by_referendum: HashMap<&str, Vec<Vec<u8>>> = HashMap::new();
    for (ballot, _, _, _) in &work {
        by_referendum
            .entry(ballot.referendum_id.as_str())
            .or_default()
            .push(ballot.credential.to_bytes().to_vec());
    }
    for (rid, creds) in by_referendum {
        for chunk in creds.chunks(400) {
            let sql = format!(
                "SELECT credential, ballot_hash FROM latest_ballot \
                 WHERE referendum_id = $1 AND credential IN ({})",
                (2..=chunk.len() + 1)
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut q = sqlx::query(&sql).bind(rid);
            for c in chunk {
                q = q.bind(c.clone());
            }
            for r in q.fetch_all(w.conn()).await? {
                let cred: Vec<u8> = r.try_get(0)?;
                let hash: Vec<u8> = r.try_get(1)?;
                let (Ok(cred), Ok(hash)) = (<[u8; 32]>::try_from(cred), <[u8; 32]>::try_from(hash))
                else {
                    return Err(AppError::internal("a stored latest ballot is malformed"));
                };
                latest_before.insert((rid.to_owned(), cred), Hash32(hash));
            }
        }
    }

    // Decide each ballot against the caught-up state, and stage the accepted ones.
    let mut decisions = Vec::with_capacity(work.len());
    let mut first_by_key: HashMap<String, (usize, Vec<u8>)> = HashMap::new();
    let mut first_by_hash: HashMap<Hash32, usize> = HashMap::new();
    let mut accepted_meta = Vec::new();
    {
        let st = board.read();
        for (i, (ballot, hash, cts, idem)) in work.into_iter().enumerate() {
            if let Some(id) = &idem {
                if let Some(stored) = stored_keys.get(&id.key) {
                    decisions.push(Decision::Done(id.replay(stored.clone())));
                    continue;
                }
                if let Some((j, h)) = first_by_key.get(&id.key) {
                    decisions.push(if *h == id.hash {
                        Decision::SameAs {
                            j: *j,
                            repost: false,
                        }
                    } else {
                        Decision::Done(Err(AppError::conflict(
                            "idempotency-key-reused",
                            "this Idempotency-Key was used for a different request",
                        )))
                    });
                    continue;
                }
            }
            if let Some(receipt) = existing.get(hash.0.as_slice()) {
                decisions.push(Decision::Done(Ok(JsonResponse {
                    status: StatusCode::OK,
                    body: receipt.clone(),
                })));
                continue;
            }
            if audited.contains(hash.0.as_slice()) {
                decisions.push(Decision::Done(Err(AppError::conflict(
                    "ballot-audited",
                    "this ballot was opened for a Benaloh audit and can never be cast",
                ))));
                continue;
            }
            if let Some(j) = first_by_hash.get(&hash) {
                decisions.push(Decision::SameAs {
                    j: *j,
                    repost: true,
                });
                continue;
            }
            // The window, and the credential's standing at the leaf the ballot gets: a
            // revocation appended since the handler's check refuses it here.
            let window = match st.referendums.get(&ballot.referendum_id) {
                None => Err(AppError::not_found("referendum", &ballot.referendum_id)),
                Some(r) => crate::rules::voting_window(r, w.ts)
                    .and_then(|()| crate::rules::ballot_standing(&st, r, &ballot, w.size())),
            };
            if let Err(e) = window {
                decisions.push(Decision::Done(Err(e)));
                continue;
            }
            let referendum_id = ballot.referendum_id.clone();
            let credential = ballot.credential.to_bytes();
            let key = (referendum_id.clone(), credential);
            let latest = latest_before.get(&key).copied();
            if ballot.previous != latest {
                decisions.push(Decision::Done(Err(not_latest(ballot.previous, latest))));
                continue;
            }
            latest_before.insert(key, hash);
            let leaf = w.push(Payload::BallotCast { ballot })?;
            first_by_hash.insert(hash, i);
            if let Some(id) = &idem {
                first_by_key.insert(id.key.clone(), (i, id.hash.clone()));
            }
            accepted_meta.push((i, leaf, hash, referendum_id, credential, cts, idem));
            decisions.push(Decision::Accept);
        }
    }

    // Receipts against the tree head that includes the whole batch.
    let mut receipts: HashMap<usize, String> = HashMap::new();
    let mut ballot_rows = Vec::with_capacity(accepted_meta.len());
    let mut latest: HashMap<(String, [u8; 32]), (Vec<u8>, u64)> = HashMap::new();
    let mut idem_rows = Vec::new();
    if !accepted_meta.is_empty() {
        let sth = w.seal(board.key())?;
        let ts = w.ts;
        for (i, leaf, hash, referendum_id, credential, cts, idem) in accepted_meta {
            let leaf_hash = usize::try_from(leaf - w.start_size)
                .ok()
                .and_then(|i| w.staged.get(i))
                .filter(|s| s.index == leaf)
                .map(|s| s.leaf_hash)
                .ok_or_else(|| AppError::internal("staged ballot vanished"))?;
            let receipt = Receipt {
                referendum_id: referendum_id.clone(),
                tracking_code: human_code(&hash),
                ballot_hash: hash,
                leaf_index: leaf,
                entry_timestamp_ms: ts,
                leaf_hash,
                tree_head: sth.clone(),
                inclusion_proof: w.inclusion_proof(leaf)?,
                signature: unsigned(),
            }
            .sign(board.key());
            let body = serde_json::to_string(&receipt).map_err(AppError::internal)?;
            ballot_rows.push(vec![
                Val::B(hash.0.to_vec()),
                Val::S(referendum_id.clone()),
                Val::B(credential.to_vec()),
                Val::I(to_i64(leaf)),
                Val::B(cts),
                Val::S(body.clone()),
            ]);
            latest.insert((referendum_id, credential), (hash.0.to_vec(), leaf));
            if let Some(id) = idem {
                idem_rows.push(vec![
                    Val::S(id.key),
                    Val::B(id.hash),
                    Val::I(201),
                    Val::S(body.clone()),
                    Val::I(ts),
                ]);
            }
            receipts.insert(i, body);
        }
    }
    let accepted = receipts.len() as u64;
    if !ballot_rows.is_empty() {
        insert_rows(
            w.conn(),
            "ballots",
            &[
                "ballot_hash",
                "referendum_id",
                "credential",
                "seq",
                "ciphertexts",
                "receipt",
            ],
            "",
            ballot_rows,
        )
        .await?;
        crate::failpoint::hit("after-insert");
        let latest_rows = latest
            .into_iter()
            .map(|((rid, cred), (hash, seq))| {
                vec![
                    Val::S(rid),
                    Val::B(cred.to_vec()),
                    Val::B(hash),
                    Val::I(to_i64(seq)),
                ]
            })
            .collect();
        insert_rows(
            w.conn(),
            "latest_ballot",
            &["referendum_id", "credential", "ballot_hash", "seq"],
            "ON CONFLICT (referendum_id, credential) DO UPDATE SET ballot_hash = excluded.ballot_hash, seq = excluded.seq WHERE latest_ballot.seq < excluded.seq",
            latest_rows,
        )
        .await?;
        insert_rows(
            w.conn(),
            "idempotency",
            &["key", "request_hash", "status", "body", "created_ms"],
            "",
            idem_rows,
        )
        .await?;
    }
    board.commit(w).await?;
    crate::failpoint::hit("after-commit");

    // Answers, duplicates resolved to their first occurrence.
    let mut answers: Vec<Result<JsonResponse, AppError>> = Vec::with_capacity(decisions.len());
    for d in &decisions {
        let a = match d {
            Decision::Done(r) => r.clone(),
            Decision::Accept => Ok(JsonResponse {
                status: StatusCode::CREATED,
                body: receipts.get(&answers.len()).cloned().unwrap_or_default(),
            }),
            Decision::SameAs { j, repost } => match answers.get(*j).cloned() {
                Some(Ok(mut r)) => {
                    if *repost {
                        r.status = StatusCode::OK;
                    }
                    Ok(r)
                }
                Some(Err(e)) => Err(e),
                None => Err(AppError::internal("duplicate refers forward")),
            },
        };
        answers.push(a);
    }
    Ok((answers, accepted))
}
