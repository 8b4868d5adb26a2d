//! Server configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use vox_protocol::board::BoardPublicKey;
use vox_protocol::roles::Genesis;

/// A token bucket: up to `burst` requests at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Bucket capacity (requests allowed in a burst).
    pub burst: u32,
    /// Sustained rate (requests per second).
    pub per_second: f64,
}

/// The wall clock in Unix milliseconds. Injectable so tests can move time.
#[derive(Clone)]
pub struct Clock(pub Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(now_ms))
    }

    /// Read the clock.
    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The system time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Everything `vox serve` can be told.
///
/// Its `Debug` form never shows the operator's secret key (only its public key).
#[derive(Clone)]
pub struct ServerConfig {
    /// `sqlite://PATH` (default `sqlite://vox.db`, created on first run) or
    /// `postgres://…`. SQLite URLs may carry `synchronous=` and `journal_mode=`, which
    /// are applied and then checked: anything that could lose an acknowledged write
    /// (synchronous below FULL, a journal other than WAL, an in-memory database) is
    /// refused at start.
    pub database_url: Option<String>,
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Largest request body in bytes (413 above, checked before parsing).
    pub max_body_bytes: usize,
    /// Largest electorate registration or enrolment opening body (they list every
    /// credential, or every code's hash).
    pub max_electorate_body_bytes: usize,
    /// Per client address limit; `None` disables it.
    pub rate_limit_per_address: Option<RateLimit>,
    /// Whether loopback clients (demo, tests, a local reverse proxy) skip the
    /// per-address limit.
    pub rate_limit_exempt_loopback: bool,
    /// Per credential limit on ballots and petition signatures; `None` disables it.
    pub rate_limit_per_credential: Option<RateLimit>,
    /// Witness keys whose cosignatures the board accepts (besides the genesis's).
    pub witnesses: Vec<BoardPublicKey>,
    /// Witnesses the board asks to cosign its heads (C2SP tlog-witness, 12 §12.5); their
    /// keys are accepted as [`ServerConfig::witnesses`] are.
    pub witness_endpoints: Vec<crate::witness_client::WitnessEndpoint>,
    /// How long a close, tally or result waits for the witness quorum in force before it
    /// is answered 503 (ms).
    pub witness_wait_ms: u64,
    /// How often the board asks its witnesses to cosign a grown board (ms).
    pub witness_interval_ms: u64,
    /// Database connections in the pool.
    pub max_connections: u32,
    /// Most ballots committed in one transaction (group commit).
    pub max_ballot_batch: usize,
    /// How often the server closes petitions past their deadline (ms).
    pub sweep_interval_ms: u64,
    /// A connection whose request headers have not all arrived this long after it
    /// opened (or after its previous response) is closed (ms).
    pub header_read_timeout_ms: u64,
    /// A request whose body has not all arrived this long after its headers is answered
    /// 408 and its connection closed (ms).
    pub body_read_timeout_ms: u64,
    /// Most HTTP connections open at once; further clients wait in the kernel's accept
    /// queue until one closes.
    pub max_http_connections: usize,
    /// The clock.
    pub clock: Clock,
    /// Directory of the built web pages served at `/` (see `web`); `None` serves the API
    /// only. Defaults to `$VOX_WEB_DIR`, else `target/vox-web-dist` if it has an index.
    pub web_dir: Option<PathBuf>,
    /// The log's genesis (protocol-spec/11-roles.md §11.2), signed by all four roles.
    /// Required when the board is empty: it is appended as leaf 0. On a board that has
    /// entries it is optional, and must then equal leaf 0.
    pub genesis: Option<Genesis>,
    /// The board operator's signing key (tree heads, receipts): the only secret the
    /// server holds, given from a key file and never written to the database. Without
    /// it, a key stored in the database by an earlier version is used, if there is one.
    pub operator_key: Option<SigningKey>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("database_url", &self.database_url)
            .field("listen", &self.listen)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_electorate_body_bytes", &self.max_electorate_body_bytes)
            .field("rate_limit_per_address", &self.rate_limit_per_address)
            .field(
                "rate_limit_exempt_loopback",
                &self.rate_limit_exempt_loopback,
            )
            .field("rate_limit_per_credential", &self.rate_limit_per_credential)
            .field("witnesses", &self.witnesses)
            .field("witness_endpoints", &self.witness_endpoints)
            .field("witness_wait_ms", &self.witness_wait_ms)
            .field("witness_interval_ms", &self.witness_interval_ms)
            .field("max_connections", &self.max_connections)
            .field("max_ballot_batch", &self.max_ballot_batch)
            .field("sweep_interval_ms", &self.sweep_interval_ms)
            .field("header_read_timeout_ms", &self.header_read_timeout_ms)
            .field("body_read_timeout_ms", &self.body_read_timeout_ms)
            .field("max_http_connections", &self.max_http_connections)
            .field("clock", &self.clock)
            .field("web_dir", &self.web_dir)
            .field(
                "genesis",
                &self
                    .genesis
                    .as_ref()
                    .map(|g| (&g.log_name, g.log_id().to_hex())),
            )
            .field(
                "operator_key",
                &self.operator_key.as_ref().map(|k| {
                    format!(
                        "<secret; public {}>",
                        hex::encode(k.verifying_key().as_bytes())
                    )
                }),
            )
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1 << 20,
            max_electorate_body_bytes: 64 << 20,
            rate_limit_per_address: Some(RateLimit {
                burst: 200,
                per_second: 50.0,
            }),
            rate_limit_exempt_loopback: true,
            rate_limit_per_credential: Some(RateLimit {
                burst: 20,
                per_second: 2.0,
            }),
            witnesses: Vec::new(),
            witness_endpoints: Vec::new(),
            witness_wait_ms: 10_000,
            witness_interval_ms: 1_000,
            max_connections: 16,
            max_ballot_batch: 512,
            sweep_interval_ms: 1000,
            header_read_timeout_ms: 30_000,
            body_read_timeout_ms: 30_000,
            max_http_connections: 4096,
            clock: Clock::system(),
            web_dir: crate::web::default_web_dir(),
            genesis: None,
            operator_key: None,
        }
    }
}

impl ServerConfig {
    /// Defaults with another database and listen address.
    pub fn new(database_url: Option<String>, listen: SocketAddr) -> Self {
        Self {
            database_url,
            listen,
            ..Self::default()
        }
    }
}
