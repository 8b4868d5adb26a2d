//! A queue in front of a few workers that check whatever has queued as one batch: what
//! the ring-signature verifier (`ring_verifier`) and the proof verifier
//! (`proof_verifier`) share.
//!
//! A worker takes one request (waiting), then every request already queued up to the
//! batch limit (not waiting), and hands the batch to the check on a blocking thread. So
//! a quiet server checks batches of one, as fast as a check alone, and a busy one checks
//! bigger batches, whose shared costs (a ring's points, the generators and election
//! keys) are paid once. The check answers each request itself (each request carries its
//! own reply channel).

use std::sync::Arc;

use tokio::sync::{mpsc, Mutex};

use crate::metrics::BatchSizes;

/// The sending side; cheap to clone. The workers stop when the last clone is dropped.
#[derive(Debug)]
pub struct BatchQueue<T> {
    tx: mpsc::Sender<T>,
}

impl<T> Clone for BatchQueue<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

/// How a queue is set up.
#[derive(Debug, Clone, Copy)]
pub struct QueueShape {
    /// Workers (at least one is started).
    pub workers: usize,
    /// Requests that may wait before a sender waits for room.
    pub capacity: usize,
    /// The most requests in one batch.
    pub max_batch: usize,
}

impl<T: Send + 'static> BatchQueue<T> {
    /// Start the workers on the current runtime. Each batch's size goes to
    /// `batch_sizes`; `check` gets the batch on a blocking thread. A panic in `check`
    /// drops the batch's requests (their callers see their reply channels closed) and is
    /// logged under `what`; the worker goes on.
    pub fn start<F>(
        shape: QueueShape,
        batch_sizes: Arc<BatchSizes>,
        what: &'static str,
        check: F,
    ) -> Self
    where
        F: Fn(Vec<T>) + Send + Sync + 'static,
    {
        let (tx, rx) = mpsc::channel(shape.capacity.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let check = Arc::new(check);
        for _ in 0..shape.workers.max(1) {
            tokio::spawn(worker(
                Arc::clone(&rx),
                Arc::clone(&batch_sizes),
                shape.max_batch.max(1),
                what,
                Arc::clone(&check),
            ));
        }
        Self { tx }
    }

    /// Queue `request`; `Err` gives it back if the workers have stopped.
    pub async fn send(&self, request: T) -> Result<(), T> {
        self.tx.send(request).await.map_err(|e| e.0)
    }
}

async fn worker<T, F>(
    rx: Arc<Mutex<mpsc::Receiver<T>>>,
    batch_sizes: Arc<BatchSizes>,
    max_batch: usize,
    what: &'static str,
    check: Arc<F>,
) where
    T: Send + 'static,
    F: Fn(Vec<T>) + Send + Sync + 'static,
{
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            batch
        };
        batch_sizes.observe(batch.len());
        let check = Arc::clone(&check);
        if let Err(e) = tokio::task::spawn_blocking(move || check(batch)).await {
            tracing::error!(error = %e, what, "batch check panicked");
        }
    }
}
