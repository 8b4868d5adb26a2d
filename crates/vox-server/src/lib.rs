//! # vox-server
//!
//! The vox HTTP API (protocol-spec/api.md) over a bulletin board kept in SQL: SQLite by
//! default, PostgreSQL for `postgres://` URLs, with several server processes sharing
//! one PostgreSQL.
//!
//! ## Layout
//! - [`config`]: [`ServerConfig`] and its defaults.
//! - `db`: backend choice, durability checks (the server refuses settings that could
//!   lose acknowledged writes), embedded migrations, the operator key.
//! - `board`: the sequencer. Appends are serialized by a row lock in the database; the
//!   Merkle tree is kept as stored perfect-subtree hashes; tree heads are signed per
//!   transaction.
//! - `state`: the in-memory fold of the board (the roles' keys and acts, petition and
//!   ceremony trackers, referendum states), caught up inside every write transaction.
//! - `acts`: authority acts as request bodies (the signed payload itself); each handler
//!   checks the act's signature against the roles' current keys under the board lock.
//! - `writer`: group commit of verified ballots.
//! - [`integrity`]: the log, its tree and the side tables agree (checked at every start;
//!   the server refuses an inconsistent database).
//! - `api`: one router per resource (`board`, `electorates`, `petitions`,
//!   `referendums`, `service`), merged in `api::router`.
//! - `extract`, `error`, `idempotency`, `limiter`: JSON with field paths, RFC 9457
//!   problems, Idempotency-Key, body limits and rate limits.
//! - [`bodies`]: every JSON request body through the handlers' parser and stateless
//!   checks, without a database (driven by the fuzz targets in `crates/vox-fuzz`).
//! - `metrics`, `middleware`: counters and their Prometheus text at `GET /metrics`;
//!   the per-address limit and the request counting middleware.
//! - `web`: the citizens' pages (built by `scripts/build-web.sh`) served at `/`.
//! - [`witness_client`]: asks tlog witnesses to cosign a checkpoint and verifies their
//!   cosignatures (protocol-spec/12-witnesses.md §12.5).
//!
//! ## Trust
//! The server holds one secret, the board operator's key (tree heads, receipts). Every
//! discretionary decision is an authority act signed by its role's own key
//! (protocol-spec/11-roles.md); the server checks the signature and appends the act
//! unchanged, and cannot make one itself. Steps without discretion (closing a petition at
//! its deadline, the tally, the result) need no authentication: their rules decide.
//!
//! ## Invariants
//! - The board is the source of truth; every state change is one transaction that
//!   appends its entries, and an answer (receipt) is only returned after the commit.
//! - Rejected input changes nothing: validation happens before anything is staged, and
//!   in-memory state only moves when committed entries are folded.
//! - Lifecycle rules are `vox_protocol`'s trackers, the code the verifier replays.

mod acts;
mod api;
mod app;
mod batch_queue;
mod board;
pub mod bodies;
pub mod config;
mod db;
pub mod error;
mod extract;
mod failpoint;
mod http;
mod idempotency;
pub mod integrity;
mod limiter;
mod metrics;
mod middleware;
mod proof_verifier;
mod ring_verifier;
mod rules;
mod schedule;
mod state;
pub mod web;
pub mod witness_client;
mod witnessing;
mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use config::{now_ms, Clock, RateLimit, ServerConfig};
pub use error::ServerError;
pub use metrics::MetricsSnapshot;
use vox_protocol::board::BoardPublicKey;

use crate::app::{AppState, Inner};
use crate::board::Board;
use crate::limiter::RateLimiter;
use crate::metrics::Metrics;

/// A server started by [`start`].
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    shutdown_http: watch::Sender<bool>,
    shutdown_tasks: watch::Sender<bool>,
    http: JoinHandle<Result<(), std::io::Error>>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The board's public key.
    pub fn board_public_key(&self) -> BoardPublicKey {
        self.state.board.public
    }

    /// Run the referendum schedule once now (what the sweeper does every
    /// `sweep_interval_ms`): open, close and tally, publish, name overdue trustees —
    /// whatever is due at the server's clock. Errors are the board's (a step that is not
    /// due any more is not one).
    pub async fn run_schedule(&self) -> Result<(), String> {
        schedule::run_schedule(&self.state)
            .await
            .map_err(|e| e.detail)
    }

    /// Counters (ballots accepted, batches, time verifying and committing).
    pub fn metrics(&self) -> MetricsSnapshot {
        self.state.metrics.snapshot()
    }

    /// Stop accepting connections, finish requests in flight, stop the background
    /// tasks and close the database pool.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        let _ = self.shutdown_http.send(true);
        let served = self.http.await;
        let _ = self.shutdown_tasks.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.state.board.db.pool.close().await;
        match served {
            Ok(r) => r.map_err(ServerError::Io),
            Err(e) => Err(ServerError::Io(std::io::Error::other(e))),
        }
    }
}

/// Open (or create) the database, check durability, migrate, take the operator key
/// (`config.operator_key`, else one stored by an earlier version), make sure the log
/// starts with its genesis (appended as leaf 0 on an empty board, else checked: see
/// [`ServerConfig::genesis`]), check the stored board's integrity ([`integrity`], quick
/// depth; an inconsistent database is refused), fold the board, and serve on
/// `config.listen`.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let db = db::connect(config.database_url.as_deref(), config.max_connections).await?;
    let key = db::operator_key(&db, config.operator_key.as_ref()).await?;
    db::ensure_head_row(&db).await?;
    let board = Board::new(db, key, config.clock.clone());
    board::init_genesis(&board, config.genesis.as_ref()).await?;
    let report = integrity::check_pool(
        &board.db.pool,
        board.db.backend,
        integrity::Depth::Quick,
        Some(&board.public),
    )
    .await
    .map_err(|e| match e {
        integrity::IntegrityError::Database(e) => ServerError::Database(e),
        other => ServerError::Corrupt(format!("refusing to start: {other}")),
    })?;
    tracing::info!(
        entries = report.tree_size,
        ballots = report.ballots,
        millis = report.elapsed.as_millis() as u64,
        "integrity check passed"
    );
    board
        .catch_up()
        .await
        .map_err(|e| ServerError::Corrupt(e.detail))?;

    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel(8192);
    let board = Arc::new(board);
    let metrics = Arc::new(Metrics::default());
    let batch_sizes = Arc::new(metrics::BatchSizes::default());
    let writer_env = writer::WriterEnv {
        board: Arc::clone(&board),
        metrics: Arc::clone(&metrics),
        batch_sizes: Arc::clone(&batch_sizes),
        max_batch: config.max_ballot_batch,
    };
    let ring_batch_sizes = Arc::new(metrics::BatchSizes::default());
    let ring_verifier = ring_verifier::RingVerifier::start(
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        Arc::clone(&ring_batch_sizes),
    );
    let proof_batch_sizes = Arc::new(metrics::BatchSizes::default());
    let proof_verifier = proof_verifier::ProofVerifier::start(
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        Arc::clone(&proof_batch_sizes),
        Arc::clone(&metrics),
    );
    let inner = Arc::new(Inner {
        board,
        proof_verifier,
        proof_batch_sizes,
        ring_verifier,
        ring_batch_sizes,
        writer: tx,
        address_limiter: config.rate_limit_per_address.map(RateLimiter::new),
        credential_limiter: config.rate_limit_per_credential.map(RateLimiter::new),
        metrics,
        http_metrics: metrics::HttpMetrics::default(),
        batch_sizes,
        config,
    });
    let state = AppState(Arc::clone(&inner));
    let (shutdown_tasks, tasks_rx) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(writer::run(writer_env, rx, tasks_rx.clone()))];
    tasks.push(tokio::spawn(sweeper(state.clone(), tasks_rx.clone())));
    tasks.push(tokio::spawn(witnessing::run(
        Arc::clone(&state.board),
        state.config.witness_endpoints.clone(),
        Duration::from_millis(state.config.witness_interval_ms.max(10)),
        tasks_rx,
    )));

    let (shutdown_http, http_rx) = watch::channel(false);
    let app = api::router(state.clone())
        .merge(
            api::openapi::metrics_routes()
                .split_for_parts()
                .0
                .with_state(state.clone()),
        )
        // Outside the API's own middleware, so rate-limited and refused requests are
        // counted too; `Router::layer` runs after routing, so the route template is known.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::track,
        ));
    let limits = http::HttpLimits {
        header_read_timeout: Duration::from_millis(state.config.header_read_timeout_ms.max(1)),
        max_connections: state.config.max_http_connections,
    };
    let http = tokio::spawn(http::serve(listener, app, limits, http_rx));
    tracing::info!(
        %addr,
        backend = ?state.board.db.backend,
        board = %state.board.public.to_hex(),
        "vox server listening"
    );
    Ok(RunningServer {
        addr,
        state,
        shutdown_http,
        shutdown_tasks,
        http,
        tasks,
    })
}

/// Close overdue petitions and run the referendum schedule periodically.
async fn sweeper(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config.sweep_interval_ms.max(10));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = api::petitions::close_overdue(&state).await {
            tracing::warn!(detail = %e.detail, "petition sweep failed");
        }
        if let Err(e) = api::deadlines::ceremony_deadlines(&state).await {
            tracing::warn!(detail = %e.detail, "ceremony deadline sweep failed");
        }
        if let Err(e) = schedule::run_schedule(&state).await {
            tracing::warn!(detail = %e.detail, "referendum schedule failed");
        }
    }
}

/// Start and serve until Ctrl-C.
pub async fn run(config: ServerConfig) -> Result<(), ServerError> {
    let server = start(config).await?;
    eprintln!("vox listening on http://{}", server.local_addr());
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await
}
