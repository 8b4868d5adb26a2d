//! Batched verification of ring signatures (07 §7.10, 13 §13.8).
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

use tokio::sync::{mpsc, oneshot, Mutex};
use vox_crypto::Hash32;
use vox_protocol::petition::{verify_ring_batch, RingCheck, RingPetitionSignature};
use vox_protocol::rings::RingSet;
use vox_protocol::ProtocolError;

use crate::error::AppError;
use crate::metrics::BatchSizes;

/// The most signatures checked as one batch. A batch's weights and decoded proofs are a
/// few KB per signature; past a few dozen the shared ring points are amortised already.
pub const MAX_BATCH: usize = 64;

/// How many signatures may wait for a worker before [`RingVerifier::verify`] waits for room.
const QUEUE: usize = 4096;

struct Request {
    signature: RingPetitionSignature,
    petition_hash: Hash32,
    rings: Arc<RingSet>,
    reply: oneshot::Sender<Result<RingPetitionSignature, ProtocolError>>,
}

/// The queue in front of the verification workers; cheap to share (`Arc` inside).
#[derive(Debug, Clone)]
pub struct RingVerifier {
    tx: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("petition", &self.signature.petition_id)
            .finish_non_exhaustive()
    }
}

impl RingVerifier {
    /// Start `workers` verification workers (at least one) on the current runtime. They
    /// stop when the last [`RingVerifier`] is dropped.
    pub fn start(workers: usize, batch_sizes: Arc<BatchSizes>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            tokio::spawn(worker(Arc::clone(&rx), Arc::clone(&batch_sizes)));
        }
        Self { tx }
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
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request {
                signature,
                petition_hash,
                rings,
                reply,
            })
            .await
            .map_err(|_| AppError::internal("the ring-signature verifier has stopped"))?;
        Ok(answer
            .await
            .map_err(|_| AppError::internal("the ring-signature verifier has stopped"))??)
    }
}

/// Take one request (waiting), then every request already queued up to [`MAX_BATCH`]
/// (not waiting), check them as one batch on a blocking thread, answer each.
async fn worker(rx: Arc<Mutex<mpsc::Receiver<Request>>>, batch_sizes: Arc<BatchSizes>) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            batch
        };
        batch_sizes.observe(batch.len());
        let checked = tokio::task::spawn_blocking(move || {
            let results = {
                let items: Vec<RingCheck<'_>> = batch
                    .iter()
                    .map(|r| RingCheck {
                        signature: &r.signature,
                        petition_hash: &r.petition_hash,
                        rings: &r.rings,
                    })
                    .collect();
                verify_ring_batch(&items, &mut rand::rngs::OsRng)
            };
            for (r, result) in batch.into_iter().zip(results) {
                // A caller that went away (client disconnected) no longer needs the answer.
                let _ = r.reply.send(result.map(|()| r.signature));
            }
        })
        .await;
        if let Err(e) = checked {
            // A panic in the check drops the batch's reply senders: each caller gets
            // "stopped" (500) rather than an answer; the worker goes on.
            tracing::error!(error = %e, "ring-signature batch check panicked");
        }
    }
}
