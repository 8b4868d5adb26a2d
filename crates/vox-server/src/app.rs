//! The shared application state and the one way to change it.

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use tokio::sync::mpsc;

use crate::board::{Board, WriteTx};
use crate::config::ServerConfig;
use crate::error::AppError;
use crate::extract::{Idem, JsonResponse};
use crate::limiter::RateLimiter;
use crate::metrics::{BatchSizes, HttpMetrics, Metrics};
use crate::state::Derived;
use crate::writer::PendingWrite;

/// Everything handlers share.
#[derive(Debug)]
pub struct Inner {
    /// The board (database, key, folded state); shared with the ballot writer.
    pub board: Arc<Board>,
    /// Configuration.
    pub config: ServerConfig,
    /// Queue of checked ballots, signatures and audits for the group-commit writer.
    pub writer: mpsc::Sender<PendingWrite>,
    /// Per-address limiter.
    pub address_limiter: Option<RateLimiter<IpAddr>>,
    /// Per-credential limiter.
    pub credential_limiter: Option<RateLimiter<[u8; 32]>>,
    /// Counters (shared with the ballot writer).
    pub metrics: Arc<Metrics>,
    /// Requests by route template: counts and latencies (`/metrics`).
    pub http_metrics: HttpMetrics,
    /// Ballots per group-commit transaction (`/metrics`; shared with the writer).
    pub batch_sizes: Arc<BatchSizes>,
    /// Batched checks of ballot proofs and credential signatures on petitions.
    pub proof_verifier: crate::proof_verifier::ProofVerifier,
    /// Items per batch check of `proof_verifier` (`/metrics`).
    pub proof_batch_sizes: Arc<BatchSizes>,
    /// Batched checks of ring signatures (07 §7.10).
    pub ring_verifier: crate::ring_verifier::RingVerifier,
    /// Ring signatures per batch check (`/metrics`; shared with the verifier's workers).
    pub ring_batch_sizes: Arc<BatchSizes>,
}

/// Cheap to clone; passed to the router with `with_state`.
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Run one state change: lock the board, replay a known Idempotency-Key, let `plan`
    /// validate against the caught-up state and stage entries, store the answer under
    /// the key, commit. `plan` runs with the state read-locked and must not block.
    pub async fn write<F>(&self, idem: Option<&Idem>, plan: F) -> Result<JsonResponse, AppError>
    where
        F: FnOnce(&mut WriteTx, &Derived, &SigningKey) -> Result<JsonResponse, AppError>,
    {
        let mut w = self.board.begin().await?;
        if let Some(i) = idem {
            if let Some(stored) = w.idempotency_lookup(&i.key).await? {
                return i.replay(stored);
            }
        }
        let resp = {
            let st = self.board.read();
            plan(&mut w, &st, self.board.key())?
        };
        if let Some(i) = idem {
            w.idempotency_store(&i.key, &i.hash, resp.status.as_u16(), &resp.body)
                .await?;
        }
        self.board.commit(w).await?;
        crate::failpoint::hit("after-commit");
        Ok(resp)
    }

    /// [`AppState::write`] for an entry that ends a phase (close, early close, tally,
    /// result): first wait until the latest head is cosigned by the quorum of the witness
    /// policy in force (08 §8.4, 10 V3.6, 11 §11.6), asking the configured witnesses; then
    /// write, only if the board has not grown meanwhile (503 `witness-quorum` otherwise:
    /// retry). When no witness policy of the log asks for a cosignature this is
    /// [`AppState::write`].
    pub async fn write_ending_phase<F>(
        &self,
        idem: Option<&Idem>,
        plan: F,
    ) -> Result<JsonResponse, AppError>
    where
        F: FnOnce(&mut WriteTx, &Derived, &SigningKey) -> Result<JsonResponse, AppError>,
    {
        let declared = {
            let st = self.board.read();
            st.witness_policies().map_err(AppError::internal)?.clone()
        };
        if declared.never_required() {
            return self.write(idem, plan).await;
        }
        let size = crate::witnessing::await_quorum(
            &self.board,
            &declared,
            &self.config.witness_endpoints,
            std::time::Duration::from_millis(self.config.witness_wait_ms),
        )
        .await?;
        self.write(idem, move |w, st, key| {
            if w.start_size != size {
                return Err(AppError::witness_quorum(
                    format!(
                        "the board grew from {size} to {} entries while its witnesses cosigned \
                         the head before this entry; retry",
                        w.start_size
                    ),
                    1,
                ));
            }
            plan(w, st, key)
        })
        .await
    }

    /// Check the per-credential limit.
    pub fn limit_credential(&self, credential: &[u8; 32]) -> Result<(), AppError> {
        match &self.credential_limiter {
            Some(l) => l.check(credential, "credential"),
            None => Ok(()),
        }
    }
}
