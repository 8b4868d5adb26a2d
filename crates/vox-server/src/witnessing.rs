//! The board asks its witnesses to cosign (protocol-spec 08 §8.4, 12 §12.5), and waits
//! for the quorum of the witness policy in force before an entry that ends a phase
//! (10 V3.6, 11 §11.6).
//!
//! A round sends the latest signed head, as a C2SP checkpoint note, to every configured
//! witness with the consistency proof from the largest size that witness cosigned on
//! this board (a 409 tells the real size: one retry from there). Each cosignature that
//! verifies is stored with the head, so the exports and `GET /api/v1/board/checkpoint`
//! carry it. Rounds run in the background after the board grows, and on demand when a
//! close, tally or result must wait for the quorum.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use vox_protocol::board::{BoardPublicKey, Cosignature, Sig, SignedTreeHead};
use vox_protocol::roles::{WitnessPolicies, WitnessPolicy};
use vox_protocol::tlog::Note;

use crate::board::{cosigners_between, store_cosignature, Board};
use crate::error::AppError;
use crate::state::DeclaredWitnessPolicies;
use crate::witness_client::{request_cosignature_with_retry, WitnessClientError, WitnessEndpoint};

/// What one witness answered in a round.
#[derive(Debug)]
pub struct Outcome {
    /// The witness's URL.
    pub url: String,
    /// Its key name.
    pub name: String,
    /// `Ok(size)` cosigned, or why not.
    pub result: Result<u64, String>,
}

/// Ask every endpoint, concurrently, to cosign the latest head; store every cosignature
/// that verifies. Never fails as a whole: each witness's fate is in its [`Outcome`].
pub async fn round(board: &Arc<Board>, endpoints: &[WitnessEndpoint]) -> Vec<Outcome> {
    let sth = match board.latest_sth().await {
        Ok(s) => s,
        Err(e) => {
            return endpoints
                .iter()
                .map(|ep| outcome(ep, Err(format!("reading the latest head: {}", e.detail))))
                .collect()
        }
    };
    let mut set = JoinSet::new();
    for ep in endpoints {
        let (board, ep, sth) = (Arc::clone(board), ep.clone(), sth.clone());
        set.spawn(async move {
            let result = ask(&board, &ep, &sth).await;
            outcome(&ep, result)
        });
    }
    let mut out = Vec::with_capacity(endpoints.len());
    while let Some(r) = set.join_next().await {
        match r {
            Ok(o) => out.push(o),
            Err(e) => tracing::warn!(error = %e, "witness task failed"),
        }
    }
    out
}

fn outcome(ep: &WitnessEndpoint, result: Result<u64, String>) -> Outcome {
    Outcome {
        url: ep.url().to_owned(),
        name: ep.vkey().name().as_str().to_owned(),
        result,
    }
}

/// One witness: the largest size it cosigned here, the proof from there (one retry from
/// the witness's own size on a 409, by the client's `request_cosignature_with_retry`),
/// then verify and store.
async fn ask(
    board: &Arc<Board>,
    ep: &WitnessEndpoint,
    sth: &SignedTreeHead,
) -> Result<u64, String> {
    let key = BoardPublicKey(*ep.vkey().verifying_key());
    let size = sth.head.tree_size;
    let old = crate::board::largest_cosigned_size_by(board, &key)
        .await
        .map_err(|e| e.detail)?
        .min(size);
    let bare = SignedTreeHead {
        cosignatures: Vec::new(),
        ..sth.clone()
    };
    let note = bare
        .to_note(&board.public)
        .map_err(|e| format!("the head as a note: {e}"))?;
    let note = Note::parse(note.as_bytes()).map_err(|e| format!("the head as a note: {e}"))?;
    let proof = if old == 0 || old == size {
        Vec::new()
    } else {
        board.consistency(old, size).await.map_err(|e| e.detail)?
    };
    // The retry's proof is read from the board on the client's blocking thread.
    let (b, rt) = (Arc::clone(board), tokio::runtime::Handle::current());
    let proof_from = move |theirs: u64| match theirs {
        0 => Some(Vec::new()),
        t => rt.block_on(b.consistency(t, size)).ok(),
    };
    let cosig = match request_cosignature_with_retry(ep, &note, old, &proof, proof_from).await {
        Ok(c) => c,
        Err(WitnessClientError::Conflict { size: theirs, .. }) if theirs > size => {
            return Err(format!(
                "the witness has cosigned size {theirs}, larger than this board's head \
                 ({size}): it saw another history of this log"
            ))
        }
        Err(e) => return Err(e.to_string()),
    };
    let c = Cosignature {
        witness: key,
        name: ep.vkey().name().as_str().to_owned(),
        timestamp: cosig.cosignature.timestamp,
        signature: Sig(cosig.cosignature.signature),
    };
    // The client verified the line on the note; check it again as the board reads it.
    sth.verify_cosignature(&c)
        .map_err(|e| format!("the cosignature does not verify: {e}"))?;
    store_cosignature(board, size, &c)
        .await
        .map_err(|e| e.detail)?;
    Ok(size)
}

/// How many distinct witnesses of `policy` validly cosigned `sth`.
pub fn cosigners_in(policy: &WitnessPolicy, sth: &SignedTreeHead) -> usize {
    policy
        .keys
        .iter()
        .filter(|k| {
            sth.cosignatures
                .iter()
                .any(|c| c.witness == **k && sth.verify_cosignature(c).is_ok())
        })
        .count()
}

/// The witness policies as of a head of `size`, exactly as the verifier replays them
/// (11 §11.6, 10 V3.6/V3.7): the genesis policy, then each change declared at a leaf
/// below `size` in log order, a pending change taking effect at the first stored head
/// covering it (and no larger than `size`, nor than the next change's leaf) whose
/// cosignatures meet the quorum of the policy in force.
///
/// # Errors
/// The database's.
pub async fn policies_at(
    board: &Board,
    declared: &DeclaredWitnessPolicies,
    size: u64,
) -> Result<WitnessPolicies, AppError> {
    let mut policies = WitnessPolicies::new(declared.genesis.clone());
    for (leaf, policy) in declared.changes.iter().filter(|(l, _)| *l < size) {
        resolve_pending(board, &mut policies, *leaf).await?;
        if policies.declare(*leaf, policy.clone()).is_err() {
            // The server accepted this change only once the one before was in force;
            // a store without those cosignatures (restored from elsewhere) is trusted.
            policies.replay(*leaf, policy.clone());
        }
    }
    resolve_pending(board, &mut policies, size).await?;
    Ok(policies)
}

/// Let a pending change take effect at the first stored head of a size ≤ `upto` that
/// covers it and carries the quorum of the policy in force.
async fn resolve_pending(
    board: &Board,
    policies: &mut WitnessPolicies,
    upto: u64,
) -> Result<(), AppError> {
    let Some((leaf, _)) = policies.pending() else {
        return Ok(());
    };
    let from = leaf.saturating_add(1);
    if from > upto {
        return Ok(());
    }
    for (s, set) in cosigners_between(board, from, upto).await? {
        if policies.observe(s, |k| set.contains(k.0.as_bytes())) {
            break;
        }
    }
    Ok(())
}

/// The size of the latest signed head that carries the quorum of the witness policy in
/// force for it (where an exported record ends, 08 §8.4: V3.4 fails a record whose
/// covering head lacks it); the latest head when no policy of the log requires a
/// cosignature, or when no head has the quorum yet (the record then fails V3.4, truly).
///
/// # Errors
/// The database's.
pub async fn latest_witnessed_size(
    board: &Board,
    declared: &DeclaredWitnessPolicies,
) -> Result<u64, AppError> {
    let latest = board.latest_sth().await?.head.tree_size;
    if declared.never_required() {
        return Ok(latest);
    }
    let mut candidates = vec![latest];
    candidates.extend(
        crate::board::cosigned_sizes_desc(board, latest, 64)
            .await?
            .into_iter()
            .filter(|s| *s < latest),
    );
    for size in candidates {
        let policy = policies_at(board, declared, size).await?.in_force().clone();
        if policy.quorum == 0 {
            return Ok(size);
        }
        let cosigned = cosigners_between(board, size, size).await?;
        if let Some(set) = cosigned.get(&size) {
            if policy.is_met_by(|k| set.contains(k.0.as_bytes())) {
                return Ok(size);
            }
        }
    }
    Ok(latest)
}

/// Wait until the latest head is cosigned by the quorum of the witness policy in force
/// for it (`declared`, resolved by [`policies_at`]), asking the witnesses (at most
/// `wait`); returns the size of that head. With a quorum of 0 there is nothing to wait
/// for.
///
/// # Errors
/// 503 `witness-quorum` naming what each witness answered, when `wait` runs out.
pub async fn await_quorum(
    board: &Arc<Board>,
    declared: &DeclaredWitnessPolicies,
    endpoints: &[WitnessEndpoint],
    wait: Duration,
) -> Result<u64, AppError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut last_round: Vec<Outcome> = Vec::new();
    loop {
        let sth = board.latest_sth().await?;
        let policies = policies_at(board, declared, sth.head.tree_size).await?;
        let policy = policies.in_force();
        let quorum = policy.quorum();
        let have = cosigners_in(policy, &sth);
        if have >= quorum {
            return Ok(sth.head.tree_size);
        }
        if tokio::time::Instant::now() >= deadline {
            let mut detail = format!(
                "the board appends nothing that ends a phase before its witnesses cosign the \
                 head before it: the head of size {} is cosigned by {have} of the {} witnesses \
                 of {}, {quorum} are required",
                sth.head.tree_size,
                policy.keys.len(),
                policies.in_force_name()
            );
            if let Some((leaf, _)) = policies.pending() {
                detail.push_str(&format!(
                    " (the witness policy set at leaf {leaf} takes effect once the witnesses \
                     of the policy before it cosign a head covering it)"
                ));
            }
            if endpoints.is_empty() {
                detail.push_str("; this server asks no witness (start it with --witness)");
            }
            for o in &last_round {
                if let Err(why) = &o.result {
                    detail.push_str(&format!("; witness {} ({}): {why}", o.name, o.url));
                }
            }
            return Err(AppError::witness_quorum(detail, 5));
        }
        if endpoints.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        } else {
            last_round = round(board, endpoints).await;
            if last_round.iter().all(|o| o.result.is_err()) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Background rounds: whenever the board has grown since the last round, ask the
/// witnesses (every `every`), so that receipts can soon be upgraded to cosigned heads.
pub async fn run(
    board: Arc<Board>,
    endpoints: Vec<WitnessEndpoint>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if endpoints.is_empty() {
        return;
    }
    let mut asked_at = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let size = board.known_size();
        if asked_at == Some(size) {
            continue;
        }
        let mut all = true;
        for o in round(&board, &endpoints).await {
            if let Err(why) = o.result {
                all = false;
                tracing::warn!(witness = %o.name, url = %o.url, %why, "witness did not cosign");
            }
        }
        // A witness that did not answer is asked again at the next tick.
        if all {
            asked_at = Some(size);
        }
    }
}
