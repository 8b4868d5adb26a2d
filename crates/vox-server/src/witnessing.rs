//! The board asks its witnesses to cosign (protocol-spec 08 §8.4, 12 §12.5), and waits
//! for the genesis quorum before an entry that ends a phase (10 V3.6).
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
use vox_protocol::roles::WitnessPolicy;
use vox_protocol::tlog::Note;

use crate::board::{store_cosignature, Board};
use crate::error::AppError;
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

/// Wait until the latest head is cosigned by the genesis quorum, asking the witnesses
/// (at most `wait`); returns the size of that head. With a quorum of 0 there is nothing
/// to wait for.
///
/// # Errors
/// 503 `witness-quorum` naming what each witness answered, when `wait` runs out.
pub async fn await_quorum(
    board: &Arc<Board>,
    policy: &WitnessPolicy,
    endpoints: &[WitnessEndpoint],
    wait: Duration,
) -> Result<u64, AppError> {
    let quorum = usize::try_from(policy.quorum).unwrap_or(usize::MAX);
    let deadline = tokio::time::Instant::now() + wait;
    let mut last_round: Vec<Outcome> = Vec::new();
    loop {
        let sth = board.latest_sth().await?;
        let have = cosigners_in(policy, &sth);
        if have >= quorum {
            return Ok(sth.head.tree_size);
        }
        if tokio::time::Instant::now() >= deadline {
            let mut detail = format!(
                "the board appends nothing that ends a phase before its witnesses cosign the \
                 head before it: the head of size {} is cosigned by {have} of the {} genesis \
                 witnesses, {quorum} are required",
                sth.head.tree_size,
                policy.keys.len()
            );
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
