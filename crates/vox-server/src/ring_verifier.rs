//! Batched verification of ring signatures (07 §7.10, 04 §4.10, 13 §13.8): petition
//! signatures and anonymous ballots, in the same batches.
//!
//! A lone Triptych proof on a ring of N members costs one N-point multiscalar
//! multiplication (≈ 15 ms at N = 4,096); checked as a batch, the ring's points enter one
//! multiplication once for every signature of the batch that uses the ring, and the
//! per-signature cost falls to the proof's own terms (≈ 1 ms; BENCHMARKS.md "Ring
//! signatures"). So the handlers do not verify: they queue the signature here, and a few
//! workers (one per core) take whatever has queued while they were busy — one signature
//! when the server is quiet, so a quiet server answers as fast as before; up to
//! [`MAX_BATCH`] under load — and check them as one batch
//! ([`vox_protocol::petition::verify_ring_batch`]). The answer for each signature is
//! exactly its own: a bad one in a batch makes the batch fall back to checking each alone,
//! so it fails and the others pass.

use std::sync::Arc;

use tokio::sync::oneshot;
use vox_crypto::ring::TagGenerator;
use vox_crypto::Hash32;
use vox_protocol::ballot::Ballot;
use vox_protocol::petition::RingPetitionSignature;
use vox_protocol::rings::{verify_ring_statements, RingSet};
use vox_protocol::ProtocolError;

use crate::batch_queue::{BatchQueue, QueueShape};
use crate::error::AppError;
use crate::metrics::BatchSizes;

/// The most signatures checked as one batch. A batch's weights and decoded proofs are a
/// few KB per signature; past a few dozen the shared ring points are amortised already.
pub const MAX_BATCH: usize = 64;

/// How many signatures may wait for a worker before [`RingVerifier::verify`] waits for room.
const QUEUE: usize = 4096;

/// What is checked: a petition's ring signature, or an anonymous ballot's.
enum Item {
    Petition {
        signature: RingPetitionSignature,
        petition_hash: Hash32,
    },
    Ballot {
        ballot: Box<Ballot>,
        generator: TagGenerator,
    },
}

struct Request {
    item: Item,
    rings: Arc<RingSet>,
    reply: oneshot::Sender<Result<Item, ProtocolError>>,
}

/// The queue in front of the verification workers; cheap to share (`Arc` inside).
#[derive(Debug, Clone)]
pub struct RingVerifier {
    queue: BatchQueue<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match &self.item {
            Item::Petition { signature, .. } => format!("petition {}", signature.petition_id),
            Item::Ballot { ballot, .. } => format!("ballot of {}", ballot.referendum_id),
        };
        f.debug_struct("Request")
            .field("item", &what)
            .finish_non_exhaustive()
    }
}

impl RingVerifier {
    /// Start `workers` verification workers (at least one) on the current runtime. They
    /// stop when the last [`RingVerifier`] is dropped.
    pub fn start(workers: usize, batch_sizes: Arc<BatchSizes>) -> Self {
        let shape = QueueShape {
            workers,
            capacity: QUEUE,
            max_batch: MAX_BATCH,
        };
        Self {
            queue: BatchQueue::start(shape, batch_sizes, "ring signatures", check_batch),
        }
    }

    /// Check `signature` against the petition's hash and its rings as the server derived
    /// them (the scope rules and the proof: what [`RingPetitionSignature::verify`] checks),
    /// batched with whatever else is waiting. Returns the signature if it holds.
    pub async fn verify(
        &self,
        signature: RingPetitionSignature,
        petition_hash: Hash32,
        rings: Arc<RingSet>,
    ) -> Result<RingPetitionSignature, AppError> {
        let item = Item::Petition {
            signature,
            petition_hash,
        };
        match self.check(item, rings).await?? {
            Item::Petition { signature, .. } => Ok(signature),
            Item::Ballot { .. } => Err(AppError::internal("the verifier answered another item")),
        }
    }

    /// Check an anonymous ballot's ring signature (04 §4.10 B10–B11: its ring among
    /// `rings`, the server's derivation; the referendum's tag generator `generator`),
    /// batched with whatever else is waiting. Returns the ballot if it holds; the ballot's
    /// answers' proofs are the caller's to check.
    pub async fn verify_ballot(
        &self,
        ballot: Ballot,
        generator: TagGenerator,
        rings: Arc<RingSet>,
    ) -> Result<Ballot, AppError> {
        let item = Item::Ballot {
            ballot: Box::new(ballot),
            generator,
        };
        // A refusal names the ballot's field (B10 `ring`, B11 `ring_signature`).
        match self.check(item, rings).await? {
            Ok(Item::Ballot { ballot, .. }) => Ok(*ballot),
            Ok(Item::Petition { .. }) => {
                Err(AppError::internal("the verifier answered another item"))
            }
            Err(ProtocolError::Invalid { field, reason }) => Err(AppError::invalid(field, reason)),
            Err(e) => Err(AppError::invalid("ring_signature", e.to_string())),
        }
    }

    /// Queue `item` and wait for its answer. Outer error: the verifier stopped; inner:
    /// the item's own verdict.
    async fn check(
        &self,
        item: Item,
        rings: Arc<RingSet>,
    ) -> Result<Result<Item, ProtocolError>, AppError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Request { item, rings, reply })
            .await
            .map_err(|_| AppError::internal("the ring-signature verifier has stopped"))?;
        answer
            .await
            .map_err(|_| AppError::internal("the ring-signature verifier has stopped"))
    }
}

/// Check a batch as one (one multiscalar multiplication per ring) and answer each
/// request.
fn check_batch(batch: Vec<Request>) {
    // One batch for both kinds: petition signatures through the petition's own statement
    // (scope rules, U_p), ballots through theirs (B10, U_r).
    let results = {
        let statements = batch
            .iter()
            .map(|r| match &r.item {
                Item::Petition {
                    signature,
                    petition_hash,
                } => signature.statement(petition_hash, &r.rings),
                Item::Ballot { ballot, generator } => ballot.ring_statement(&r.rings, generator),
            })
            .collect();
        verify_ring_statements(statements, &mut rand::rngs::OsRng)
    };
    for (r, result) in batch.into_iter().zip(results) {
        // A caller that went away (client disconnected) no longer needs the answer.
        let _ = r.reply.send(result.map(|()| r.item));
    }
}
