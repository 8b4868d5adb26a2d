//! Group commit of ballots, petition signatures and Benaloh audits.
//!
//! Handlers check everything that needs no board lock (ballot proofs, signatures,
//! audit openings) in parallel, outside any lock or transaction, and queue the checked
//! writes here. One writer task per process takes every write waiting (up to
//! `max_ballot_batch`, whatever their kinds) into one transaction: lock the board,
//! re-check what may have changed (state and window of the referendum, the credential's
//! standing at the item's leaf, ballots already cast or audited, that a ballot extends
//! its credential's latest one, the petition's rules on a working copy of its tracker,
//! Idempotency-Keys), append one entry per accepted item (plus the threshold entries a
//! signature makes its petition cross), sign one tree head, build and sign the answers
//! (receipts, inclusion proofs), write the side tables and commit. Each request gets its
//! answer only after its own commit; a slow fsync makes the next batch bigger rather
//! than making every write wait for its own.
//!
//! Before, every signature and audit was its own durable commit, so at a realistic mix
//! the signatures, not the ballots, filled the board's commit rate. A rejected item
//! stages nothing (decisions are made in memory before anything is written), so it
//! never fails the others; only a database or internal error fails the whole batch.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot, watch};
use vox_crypto::Hash32;
use vox_protocol::api::{AuditPosted, SignatureAccepted};
use vox_protocol::ballot::{AuditedBallot, Ballot};
use vox_protocol::board::{unsigned, Payload, Receipt};
use vox_protocol::encoding::human_code;
use vox_protocol::petition::{
    PetitionSignature, PetitionTracker, RingPetitionSignature, SignatureAction,
};

use crate::board::{insert_rows, to_i64, to_u64, Board, Val, WriteTx};
use crate::error::{rule_error, standing_error, took_part_error, AppError};
use crate::extract::{Idem, JsonResponse};
use crate::metrics::{BatchSizes, Metrics};
use crate::state::Derived;

/// A checked write waiting for its transaction.
#[derive(Debug)]
pub enum Job {
    /// A ballot (structure and proofs checked).
    Ballot {
        /// The ballot.
        ballot: Box<Ballot>,
        /// Its hash.
        hash: Hash32,
        /// Every (a, b) in tally order, 64 bytes each.
        ciphertexts: Vec<u8>,
    },
    /// A petition signature or withdrawal (its credential signature checked).
    Signature {
        /// The signature.
        signature: Box<PetitionSignature>,
    },
    /// A ring signature or withdrawal (its proof checked against the rings then; the
    /// writer checks again that its ring is still one of the petition's).
    RingSignature {
        /// The signature.
        signature: Box<RingPetitionSignature>,
    },
    /// A Benaloh-audited ballot (its opening and the credential's signature checked).
    Audit {
        /// The opened ballot.
        audited: Box<AuditedBallot>,
        /// The ballot's hash.
        hash: Hash32,
    },
}

/// A checked write and where its answer goes.
#[derive(Debug)]
pub struct PendingWrite {
    /// What to append.
    pub job: Job,
    /// Idempotency-Key context.
    pub idem: Option<Idem>,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Result<JsonResponse, AppError>>,
}

impl PendingWrite {
    /// Queue `job` on `writer` and wait for its answer (sent after its commit).
    pub async fn submit(
        writer: &mpsc::Sender<PendingWrite>,
        job: Job,
        idem: Option<Idem>,
    ) -> Result<JsonResponse, AppError> {
        let (reply, answer) = oneshot::channel();
        writer
            .send(PendingWrite { job, idem, reply })
            .await
            .map_err(|_| AppError::unavailable("the writer is not running"))?;
        answer
            .await
            .map_err(|_| AppError::unavailable("the writer stopped"))?
    }
}

/// What the writer works with: the board and the counters it feeds, nothing of the HTTP
/// layer (the handlers sit above the writer and hand it checked writes).
#[derive(Debug, Clone)]
pub struct WriterEnv {
    /// The board.
    pub board: Arc<Board>,
    /// Ballots accepted, batches, time committing.
    pub metrics: Arc<Metrics>,
    /// Writes (of every kind) per transaction.
    pub batch_sizes: Arc<BatchSizes>,
    /// Most writes per transaction.
    pub max_batch: usize,
}

/// Run the writer until `shutdown` flips; writes still queued then get 503.
pub async fn run(
    inner: WriterEnv,
    mut rx: mpsc::Receiver<PendingWrite>,
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

/// What became of one item of a batch.
enum Decision {
    /// Answered without appending.
    Done(Result<JsonResponse, AppError>),
    /// Same as item `j` (a duplicate in this batch); `repost` answers 200.
    SameAs { j: usize, repost: bool },
    /// Appended; its answer is built once the batch's tree head is signed.
    Accept(Accepted),
}

/// An appended item, with what its answer needs.
enum Accepted {
    Ballot {
        leaf: u64,
        hash: Hash32,
        referendum_id: String,
        credential: [u8; 32],
        ciphertexts: Vec<u8>,
    },
    Signature {
        leaf: u64,
        count: u64,
    },
    Audit {
        leaf: u64,
        hash: Hash32,
        referendum_id: String,
    },
}

async fn commit_batch(inner: &WriterEnv, batch: Vec<PendingWrite>) {
    let t0 = Instant::now();
    let mut replies = Vec::with_capacity(batch.len());
    let mut work = Vec::with_capacity(batch.len());
    for p in batch {
        replies.push(p.reply);
        work.push((p.job, p.idem));
    }
    let n = work.len();
    // The ballot metrics keep their meaning (ballots per transaction that holds any).
    let ballots = work
        .iter()
        .filter(|(job, _)| matches!(job, Job::Ballot { .. }))
        .count();
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
    let nanos = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
    if ballots > 0 {
        inner.metrics.ballot_batches.fetch_add(1, Ordering::Relaxed);
        inner.batch_sizes.observe(ballots);
        inner
            .metrics
            .commit_nanos
            .fetch_add(nanos, Ordering::Relaxed);
    }
    tracing::debug!(
        writes = n,
        ballots,
        micros = nanos / 1000,
        "write batch committed"
    );
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

/// `$from, …, $(from + n - 1)`: the placeholders of an IN list.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Values per IN list of one lookup statement.
const LOOKUP_CHUNK: usize = 256;

type Work = (Job, Option<Idem>);

/// What the database says about the ballots and voters of a batch, read under the board
/// lock so that no other process can change it meanwhile.
#[derive(Default)]
struct Known {
    /// Cast ballots, with their stored receipts.
    cast: HashMap<Vec<u8>, String>,
    /// Audited ballots, with their leaf.
    audited: HashMap<Vec<u8>, u64>,
    /// The latest ballot of each voter key (credential or tag) casting in the batch, per
    /// referendum: a ballot must extend it (its signed `previous`, 04 §4.3, 10 V10.6), so
    /// no one can post an older ballot after a newer one.
    latest: HashMap<(String, [u8; 32]), Hash32>,
}

/// Cast and audited ballots among `hashes`, and the latest ballots of the batch's voter
/// keys, in one round trip per 256 of each. Every statement under the board lock is a
/// wait that all the board's writers share, so the lookups go together.
async fn lookups(w: &mut WriteTx, hashes: &[Vec<u8>], work: &[Work]) -> Result<Known, AppError> {
    let mut by_referendum: Vec<(&str, Vec<Vec<u8>>)> = Vec::new();
    for (job, _) in work {
        if let Job::Ballot { ballot, .. } = job {
            let rid = ballot.referendum_id.as_str();
            let key = ballot.voter_key().unwrap_or_default().to_vec();
            match by_referendum.iter_mut().find(|(r, _)| *r == rid) {
                Some((_, keys)) => keys.push(key),
                None => by_referendum.push((rid, vec![key])),
            }
        }
    }
    let mut known = Known::default();
    // Round k looks up the k-th chunk of the hashes and of each referendum's keys.
    let rounds = by_referendum
        .iter()
        .map(|(_, keys)| keys.len())
        .chain([hashes.len()])
        .map(|n| n.div_ceil(LOOKUP_CHUNK))
        .max()
        .unwrap_or(0);
    for k in 0..rounds {
        // Not padded to a few fixed sizes on purpose: PostgreSQL plans a prepared
        // statement it has run five times with a generic plan, and for these IN lists
        // that plan scans whole tables (measured: the batch rate fell by a third
        // within a minute as the tables grew). A text per batch size is planned afresh.
        let chunk_of = |v: &[Vec<u8>]| -> Vec<Vec<u8>> {
            v.chunks(LOOKUP_CHUNK)
                .nth(k)
                .map(<[Vec<u8>]>::to_vec)
                .unwrap_or_default()
        };
        let mut arms = Vec::new();
        let mut binds: Vec<(Option<&str>, Vec<Vec<u8>>)> = Vec::new();
        let mut next = 1usize;
        let hs = chunk_of(hashes);
        if !hs.is_empty() {
            let cast = placeholders(next, hs.len());
            let audited = placeholders(next + hs.len(), hs.len());
            next += 2 * hs.len();
            arms.push(format!(
                "SELECT CAST(0 AS BIGINT) AS what, ballot_hash AS a, CAST(NULL AS BYTEA) AS b, \
                 receipt AS t, seq FROM ballots WHERE ballot_hash IN ({cast})"
            ));
            arms.push(format!(
                "SELECT CAST(1 AS BIGINT), ballot_hash, CAST(NULL AS BYTEA), CAST(NULL AS TEXT), \
                 seq FROM audited_ballots WHERE ballot_hash IN ({audited})"
            ));
            binds.push((None, hs.clone()));
            binds.push((None, hs));
        }
        for (rid, keys) in &by_referendum {
            let ks = chunk_of(keys);
            if ks.is_empty() {
                continue;
            }
            let list = placeholders(next + 1, ks.len());
            arms.push(format!(
                "SELECT CAST(2 AS BIGINT), credential, ballot_hash, referendum_id, seq \
                 FROM latest_ballot WHERE referendum_id = ${next} AND credential IN ({list})"
            ));
            next += 1 + ks.len();
            binds.push((Some(*rid), ks));
        }
        if arms.is_empty() {
            continue;
        }
        let sql = arms.join(" UNION ALL ");
        let mut q = sqlx::query(&sql);
        for (rid, values) in binds {
            if let Some(rid) = rid {
                q = q.bind(rid);
            }
            for v in values {
                q = q.bind(v);
            }
        }
        for r in q.fetch_all(w.conn()).await? {
            let what: i64 = r.try_get(0)?;
            let a: Vec<u8> = r.try_get(1)?;
            match what {
                0 => {
                    let receipt: Option<String> = r.try_get(3)?;
                    known.cast.insert(a, receipt.unwrap_or_default());
                }
                1 => {
                    known.audited.insert(a, to_u64(r.try_get::<i64, _>(4)?));
                }
                _ => {
                    let hash: Option<Vec<u8>> = r.try_get(2)?;
                    let rid: Option<String> = r.try_get(3)?;
                    let (Ok(cred), Some(Ok(hash)), Some(rid)) =
                        (<[u8; 32]>::try_from(a), hash.map(<[u8; 32]>::try_from), rid)
                    else {
                        return Err(AppError::internal("a stored latest ballot is malformed"));
                    };
                    known.latest.insert((rid, cred), Hash32(hash));
                }
            }
        }
    }
    Ok(known)
}

async fn try_commit(
    inner: &WriterEnv,
    work: Vec<Work>,
) -> Result<(Vec<Result<JsonResponse, AppError>>, u64), AppError> {
    let board = &inner.board;
    let mut w = board.begin().await?;

    // What the database already knows about these keys and ballots.
    let keys: Vec<&str> = work
        .iter()
        .filter_map(|(_, idem)| idem.as_ref().map(|i| i.key.as_str()))
        .collect();
    let stored_keys = w.idempotency_lookup_many(&keys).await?;
    let hashes: Vec<Vec<u8>> = work
        .iter()
        .filter_map(|(job, _)| match job {
            Job::Ballot { hash, .. } | Job::Audit { hash, .. } => Some(hash.0.to_vec()),
            Job::Signature { .. } | Job::RingSignature { .. } => None,
        })
        .collect();
    let mut known = lookups(&mut w, &hashes, &work).await?;
    let mut latest_before = std::mem::take(&mut known.latest);

    // Decide each item in order against the caught-up state plus the items before it,
    // and stage the accepted ones.
    let mut decisions = Vec::with_capacity(work.len());
    let mut first_by_key: HashMap<String, (usize, Vec<u8>)> = HashMap::new();
    let mut cast_in_batch: HashMap<Hash32, usize> = HashMap::new();
    let mut audited_in_batch: HashMap<Hash32, usize> = HashMap::new();
    // Working copies of the trackers of the petitions signed in this batch: one copy per
    // petition per batch (not per signature), each signature applied to it in turn so
    // the next one sees it; the live tracker moves only when the commit is folded.
    let mut trackers: HashMap<String, PetitionTracker> = HashMap::new();
    let mut idem_of: Vec<Option<Idem>> = Vec::with_capacity(work.len());
    {
        let st = board.read();
        for (i, (job, idem)) in work.into_iter().enumerate() {
            let decision = 'decide: {
                if let Some(id) = &idem {
                    if let Some(stored) = stored_keys.get(&id.key) {
                        break 'decide Decision::Done(id.replay(stored.clone()));
                    }
                    if let Some((j, h)) = first_by_key.get(&id.key) {
                        break 'decide if *h == id.hash {
                            Decision::SameAs {
                                j: *j,
                                repost: false,
                            }
                        } else {
                            Decision::Done(Err(AppError::conflict(
                                "idempotency-key-reused",
                                "this Idempotency-Key was used for a different request",
                            )))
                        };
                    }
                }
                match job {
                    Job::Ballot {
                        ballot,
                        hash,
                        ciphertexts,
                    } => {
                        if let Some(receipt) = known.cast.get(hash.0.as_slice()) {
                            break 'decide Decision::Done(Ok(JsonResponse {
                                status: StatusCode::OK,
                                body: receipt.clone(),
                            }));
                        }
                        if known.audited.contains_key(hash.0.as_slice())
                            || audited_in_batch.contains_key(&hash)
                        {
                            break 'decide Decision::Done(Err(AppError::conflict(
                                "ballot-audited",
                                "this ballot was opened for a Benaloh audit and can never be cast",
                            )));
                        }
                        if let Some(j) = cast_in_batch.get(&hash) {
                            break 'decide Decision::SameAs {
                                j: *j,
                                repost: true,
                            };
                        }
                        // The window, and the credential's standing at the leaf the
                        // ballot gets: a revocation appended since the handler's check
                        // refuses it here.
                        let window = match st.referendums.get(&ballot.referendum_id) {
                            None => Err(AppError::not_found("referendum", &ballot.referendum_id)),
                            Some(r) => crate::rules::voting_window(r, w.ts).and_then(|()| {
                                crate::rules::ballot_standing(&st, r, &ballot, w.size())
                            }),
                        };
                        if let Err(e) = window {
                            break 'decide Decision::Done(Err(e));
                        }
                        let referendum_id = ballot.referendum_id.clone();
                        // The voter key: the credential, or an anonymous ballot's tag.
                        let credential = ballot.voter_key().unwrap_or_default();
                        let key = (referendum_id.clone(), credential);
                        let latest = latest_before.get(&key).copied();
                        if ballot.previous != latest {
                            break 'decide Decision::Done(Err(not_latest(ballot.previous, latest)));
                        }
                        latest_before.insert(key, hash);
                        let leaf = w.push(Payload::BallotCast { ballot: *ballot })?;
                        cast_in_batch.insert(hash, i);
                        Decision::Accept(Accepted::Ballot {
                            leaf,
                            hash,
                            referendum_id,
                            credential,
                            ciphertexts,
                        })
                    }
                    Job::Signature { signature } => {
                        // Outer error: staging failed (the batch fails); inner: this
                        // signature is refused (the others go on).
                        match stage_signature(&mut w, &st, &mut trackers, *signature)? {
                            Ok((leaf, count)) => {
                                Decision::Accept(Accepted::Signature { leaf, count })
                            }
                            Err(e) => Decision::Done(Err(e)),
                        }
                    }
                    Job::RingSignature { signature } => {
                        match stage_ring_signature(&mut w, &st, &mut trackers, *signature)? {
                            Ok((leaf, count)) => {
                                Decision::Accept(Accepted::Signature { leaf, count })
                            }
                            Err(e) => Decision::Done(Err(e)),
                        }
                    }
                    Job::Audit { audited, hash } => {
                        if known.cast.contains_key(hash.0.as_slice())
                            || cast_in_batch.contains_key(&hash)
                        {
                            break 'decide Decision::Done(Err(AppError::conflict(
                                "ballot-cast",
                                "this ballot was cast; opening it would reveal a counted vote",
                            )));
                        }
                        if let Some(leaf_index) = known.audited.get(hash.0.as_slice()) {
                            break 'decide Decision::Done(JsonResponse::ok(&AuditPosted {
                                leaf_index: *leaf_index,
                            }));
                        }
                        if let Some(j) = audited_in_batch.get(&hash) {
                            break 'decide Decision::SameAs {
                                j: *j,
                                repost: true,
                            };
                        }
                        let referendum_id = audited.ballot.referendum_id.clone();
                        let allowed = crate::rules::get_ref(&st, &referendum_id)
                            .and_then(crate::rules::audits_allowed);
                        if let Err(e) = allowed {
                            break 'decide Decision::Done(Err(e));
                        }
                        let leaf = w.push(Payload::BallotAudited { audited: *audited })?;
                        audited_in_batch.insert(hash, i);
                        Decision::Accept(Accepted::Audit {
                            leaf,
                            hash,
                            referendum_id,
                        })
                    }
                }
            };
            if let (Decision::Accept(_), Some(id)) = (&decision, &idem) {
                first_by_key.insert(id.key.clone(), (i, id.hash.clone()));
            }
            decisions.push(decision);
            idem_of.push(idem);
        }
    }

    // Answers against the tree head that includes the whole batch.
    let mut bodies: HashMap<usize, String> = HashMap::new();
    let mut ballot_rows = Vec::new();
    let mut audit_rows = Vec::new();
    let mut latest: HashMap<(String, [u8; 32]), (Vec<u8>, u64)> = HashMap::new();
    let mut idem_rows = Vec::new();
    let mut ballots_accepted = 0u64;
    if decisions.iter().any(|d| matches!(d, Decision::Accept(_))) {
        let sth = w.seal(board.key())?;
        let ts = w.ts;
        for (i, (d, idem)) in decisions.iter_mut().zip(idem_of).enumerate() {
            let Decision::Accept(accepted) = d else {
                continue;
            };
            let body = match accepted {
                Accepted::Ballot {
                    leaf,
                    hash,
                    referendum_id,
                    credential,
                    ciphertexts,
                } => {
                    let leaf_hash = usize::try_from(*leaf - w.start_size)
                        .ok()
                        .and_then(|i| w.staged.get(i))
                        .filter(|s| s.index == *leaf)
                        .map(|s| s.leaf_hash)
                        .ok_or_else(|| AppError::internal("staged ballot vanished"))?;
                    let receipt = Receipt {
                        referendum_id: referendum_id.clone(),
                        tracking_code: human_code(hash),
                        ballot_hash: *hash,
                        leaf_index: *leaf,
                        entry_timestamp_ms: ts,
                        leaf_hash,
                        tree_head: sth.clone(),
                        inclusion_proof: w.inclusion_proof(*leaf)?,
                        signature: unsigned(),
                    }
                    .sign(board.key());
                    let body = serde_json::to_string(&receipt).map_err(AppError::internal)?;
                    ballot_rows.push(vec![
                        Val::B(hash.0.to_vec()),
                        Val::S(referendum_id.clone()),
                        Val::B(credential.to_vec()),
                        Val::I(to_i64(*leaf)),
                        Val::B(std::mem::take(ciphertexts)),
                        Val::S(body.clone()),
                    ]);
                    latest.insert(
                        (referendum_id.clone(), *credential),
                        (hash.0.to_vec(), *leaf),
                    );
                    ballots_accepted += 1;
                    body
                }
                Accepted::Signature { leaf, count } => {
                    let answer = SignatureAccepted {
                        leaf_index: *leaf,
                        inclusion_proof: w.inclusion_proof(*leaf)?,
                        tree_head: sth.clone(),
                        count: *count,
                    };
                    serde_json::to_string(&answer).map_err(AppError::internal)?
                }
                Accepted::Audit {
                    leaf,
                    hash,
                    referendum_id,
                } => {
                    audit_rows.push(vec![
                        Val::B(hash.0.to_vec()),
                        Val::S(referendum_id.clone()),
                        Val::I(to_i64(*leaf)),
                    ]);
                    serde_json::to_string(&AuditPosted { leaf_index: *leaf })
                        .map_err(AppError::internal)?
                }
            };
            if let Some(id) = idem {
                idem_rows.push(vec![
                    Val::S(id.key),
                    Val::B(id.hash),
                    Val::I(201),
                    Val::S(body.clone()),
                    Val::I(ts),
                ]);
            }
            bodies.insert(i, body);
        }
    }
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
    }
    if !audit_rows.is_empty() {
        insert_rows(
            w.conn(),
            "audited_ballots",
            &["ballot_hash", "referendum_id", "seq"],
            "",
            audit_rows,
        )
        .await?;
    }
    if !idem_rows.is_empty() {
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
            Decision::Accept(_) => Ok(JsonResponse {
                status: StatusCode::CREATED,
                body: bodies.get(&answers.len()).cloned().unwrap_or_default(),
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
    Ok((answers, ballots_accepted))
}

/// Validate a signature (already checked against its credential) at the locked board
/// state plus the items staged before it in this batch, and stage its entry and the
/// threshold entries it makes the petition cross. `trackers` holds the batch's working
/// copies: a petition's tracker is cloned once per batch, at its first signature, and
/// every later signature of the batch is applied to that copy, so it sees the earlier
/// ones. Returns the outer error when staging itself failed (the whole batch fails),
/// the inner one when only this signature is refused; on the inner error nothing was
/// staged or changed.
fn stage_signature(
    w: &mut WriteTx,
    st: &Derived,
    trackers: &mut HashMap<String, PetitionTracker>,
    sig: PetitionSignature,
) -> Result<Result<(u64, u64), AppError>, AppError> {
    let id = sig.petition_id.clone();
    let Some(p) = st.petitions.get(&id) else {
        return Ok(Err(AppError::not_found("petition", &id)));
    };
    let Some(electorate) = st.electorates.get(&p.tracker.petition.electorate_hash) else {
        return Ok(Err(AppError::internal("petition without its electorate")));
    };
    let t = trackers
        .entry(id.clone())
        .or_insert_with(|| p.tracker.clone());
    // At the leaf this signature gets: the revocations folded up to it count.
    if let Err(e) = electorate.standing(&sig.credential, w.size()) {
        return Ok(Err(standing_error(e, "credential")));
    }
    if matches!(sig.action, SignatureAction::Sign)
        && electorate
            .index
            .predecessors(&sig.credential)
            .iter()
            .any(|p| t.has_taken_part(p))
    {
        return Ok(Err(took_part_error("credential", "signed this petition")));
    }
    let region = match sig.action {
        SignatureAction::Sign => electorate.region_of(&sig.credential),
        SignatureAction::Withdraw => None,
    };
    let crossed = match t.apply_signature(&sig, region, w.ts) {
        Ok(c) => c,
        Err(e) => return Ok(Err(rule_error(e))),
    };
    let count = t.count();
    let leaf_index = w.push(Payload::PetitionSigned { signature: sig })?;
    // The thresholds it made the petition cross, as their entries (and the referendum
    // the referendum threshold obliges, right after its entry).
    crate::rules::push_thresholds(w, st, t, crossed)?;
    Ok(Ok((leaf_index, count)))
}

/// Stage a ring signature (07 §7.10) like [`stage_signature`]: its ring must still be one
/// of the petition's rings at the leaf it gets (a revocation or replacement between the
/// proof check and now changes them: 409, derive again), and its tag is counted.
fn stage_ring_signature(
    w: &mut WriteTx,
    st: &Derived,
    trackers: &mut HashMap<String, PetitionTracker>,
    sig: RingPetitionSignature,
) -> Result<Result<(u64, u64), AppError>, AppError> {
    let id = sig.petition_id.clone();
    let Some(p) = st.petitions.get(&id) else {
        return Ok(Err(AppError::not_found("petition", &id)));
    };
    let rings = match st.petition_rings(&id) {
        Ok(r) => r,
        Err(e) => return Ok(Err(rule_error(e))),
    };
    let Some(ring) = rings
        .position_of(&sig.ring)
        .and_then(|i| rings.rings().get(i))
    else {
        return Ok(Err(AppError::conflict(
            "rings-changed",
            "the petition's rings changed since the signature was made (a credential was \
             revoked or replaced): derive them again and sign again",
        )));
    };
    let t = trackers
        .entry(id.clone())
        .or_insert_with(|| p.tracker.clone());
    let region = match sig.action {
        SignatureAction::Sign => ring.region.as_deref(),
        SignatureAction::Withdraw => None,
    };
    let crossed = match t.apply_ring_signature(&sig, region, w.ts) {
        Ok(c) => c,
        Err(e) => return Ok(Err(rule_error(e))),
    };
    let count = t.count();
    let leaf_index = w.push(Payload::PetitionRingSigned {
        signature: Box::new(sig),
    })?;
    crate::rules::push_thresholds(w, st, t, crossed)?;
    Ok(Ok((leaf_index, count)))
}
