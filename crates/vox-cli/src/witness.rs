//! `vox witness …`: a tlog witness (c2sp.org/tlog-witness) as a service, and its keys
//! (protocol-spec/12-witnesses.md §12.8).
//!
//! A witness remembers the last checkpoint it cosigned for each log it follows and
//! cosigns a new one only if it is proven to extend it. The rules are
//! `vox_protocol::tlog::Witness` (no I/O); this module adds what a real witness needs
//! around them:
//!
//! - a key file (`vox witness keygen`): the Ed25519 cosigning key *and* the witness's
//!   name, because a cosignature/v1 does not sign the name (§12.4) and one key must never
//!   serve two names;
//! - the HTTP service (`vox witness serve`): `POST /add-checkpoint`,
//!   `GET /<hex SHA-256(origin)>/checkpoint` and `GET /evidence`;
//! - the state file: loaded at start (missing = a new witness, unreadable = refuse to
//!   start, never a silent reset: a witness that forgot what it cosigned would cosign a
//!   rolled-back log), and written durably (temporary file, fsync, rename, fsync of the
//!   directory) **before** any answer that depends on it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vox_protocol::tlog::{
    Evidence, KeyName, KeyType, Origin, VerifierKey, Witness, WitnessError, WitnessState,
    MAX_REQUEST_SIZE, TLOG_SIZE_CONTENT_TYPE,
};
use zeroize::{Zeroize, Zeroizing};

use crate::files;

/// `vox witness …`
#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Make a witness key and print its verifier key (vkey).
    ///
    /// Writes the key file (mode 0600, never overwritten) and `FILE.vkey`, and prints the
    /// witness's verifier key on stdout. The vkey is what a log's genesis and its
    /// observers pin to check this witness's cosignatures.
    Keygen {
        /// The witness's name, as it appears in its cosignature lines: no spaces, no
        /// `+`, e.g. `witness.example.org/w1`. It is bound to the key for good.
        #[arg(long)]
        name: String,
        /// The key file to create; if this is an existing directory, `witness.key` in it.
        #[arg(long, value_name = "FILE_OR_DIR")]
        out: PathBuf,
    },
    /// Run the witness service (c2sp.org/tlog-witness over HTTP).
    ///
    /// Cosigns the checkpoints of the logs it follows, each only if it is proven to
    /// extend the last one cosigned, and keeps that memory in its state file.
    Serve(ServeArgs),
    /// Print the evidence of log misbehaviour kept in a witness's state file.
    ///
    /// Evidence is a pair of checkpoints of one size with different roots, both signed
    /// by the log: proof, checkable by anyone with the log's vkey, that it showed two
    /// histories.
    Evidence {
        /// The witness's state file.
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
    },
}

/// Arguments of `vox witness serve`. Every option can also be given in the `--config`
/// file (TOML: `listen`, `key`, `name`, `state` and `logs = ["VKEY", …]`); the command line
/// wins over the file, and `--log`s are added to the file's `logs`.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// A TOML file with any of the options below; relative paths in it are taken from the
    /// file's own directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port) [default: 127.0.0.1:7380].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The witness key file (`vox witness keygen`; mode 0600).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The witness's name. Optional: the key file holds it; if given, it must be the
    /// same (a check against starting the wrong witness).
    #[arg(long)]
    pub name: Option<String>,
    /// The state file: what the witness has cosigned and the evidence it keeps. Created
    /// on first start; an unreadable one stops the witness (restore it from a backup: a
    /// witness that forgets what it cosigned could cosign a rolled-back log).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// A log to follow: its note verifier key (`<origin>+<key id>+<base64>`, type 0x01),
    /// whose name is the log's origin. Repeat for several logs, or for several keys of
    /// one log (key rotation).
    #[arg(long = "log", value_name = "VKEY")]
    pub logs: Vec<String>,
}

/// The `--config` file of `vox witness serve`; an unknown key is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<SocketAddr>,
    key: Option<PathBuf>,
    name: Option<String>,
    state: Option<PathBuf>,
    #[serde(default)]
    logs: Vec<String>,
}

/// What `vox witness serve` runs with.
#[derive(Debug)]
struct Settings {
    listen: SocketAddr,
    key: PathBuf,
    name: Option<String>,
    state: PathBuf,
    logs: BTreeMap<Origin, Vec<VerifierKey>>,
}

impl ServeArgs {
    fn settings(&self) -> Result<Settings> {
        let (file, base) = match &self.config {
            Some(path) => {
                let text = fs::read_to_string(path)
                    .with_context(|| format!("reading the config file {}", path.display()))?;
                let file: ConfigFile = toml::from_str(&text)
                    .map_err(|e| anyhow!("the config file {}: {e}", path.display()))?;
                let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                (file, base)
            }
            None => (ConfigFile::default(), PathBuf::new()),
        };
        let rel = |p: Option<PathBuf>| p.map(|p| if p.is_relative() { base.join(p) } else { p });
        let key = self
            .key
            .clone()
            .or(rel(file.key))
            .ok_or_else(|| anyhow!("no witness key: give --key FILE (`vox witness keygen`)"))?;
        let state = self
            .state
            .clone()
            .or(rel(file.state))
            .ok_or_else(|| anyhow!("no state file: give --state FILE"))?;
        let mut logs: BTreeMap<Origin, Vec<VerifierKey>> = BTreeMap::new();
        for s in file.logs.iter().chain(&self.logs) {
            let (origin, vkey) = parse_log_key(s)?;
            let keys = logs.entry(origin).or_default();
            if !keys.contains(&vkey) {
                keys.push(vkey);
            }
        }
        if logs.is_empty() {
            bail!("no log to follow: give --log VKEY (the log's note verifier key) at least once");
        }
        Ok(Settings {
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 7380))),
            key,
            name: self.name.clone().or(file.name),
            state,
            logs,
        })
    }
}

/// A `--log` value: a log's note verifier key (type 0x01); its name is the origin.
fn parse_log_key(s: &str) -> Result<(Origin, VerifierKey)> {
    let vkey = VerifierKey::parse(s.trim()).map_err(|e| anyhow!("--log {s:?}: {e}"))?;
    if vkey.key_type() != KeyType::Ed25519 {
        bail!(
            "--log {s:?} is a witness (cosignature) key; a log is followed by its note \
             verifier key (type 0x01, e.g. from the log's genesis)"
        );
    }
    let origin = Origin::new(vkey.name().as_str()).map_err(|e| anyhow!("--log {s:?}: {e}"))?;
    Ok((origin, vkey))
}

/// Run `vox witness …`.
pub fn run(cmd: WitnessCommand) -> Result<()> {
    match cmd {
        WitnessCommand::Keygen { name, out } => keygen(&name, &out),
        WitnessCommand::Serve(a) => serve(&a),
        WitnessCommand::Evidence { state } => {
            let file = load_state(&state)?
                .ok_or_else(|| anyhow!("no state file at {}", state.display()))?;
            print!("{}", render_evidence(&file.state.evidence));
            Ok(())
        }
    }
}

// ---- key file ------------------------------------------------------------------------

/// `format` field of a witness key file.
pub const WITNESS_KEY_FORMAT: &str = "vox-witness-key";

/// A witness key file (JSON, mode 0600). The name is stored with the key: the vkey and
/// every cosignature line depend on it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessKeyJson {
    format: String,
    version: u32,
    name: String,
    vkey: String,
    secret_key: String,
}

impl Drop for WitnessKeyJson {
    fn drop(&mut self) {
        self.secret_key.zeroize();
    }
}

/// A witness's name and cosigning key, read from its key file.
pub struct WitnessKey {
    /// The witness's name.
    pub name: KeyName,
    /// The Ed25519 key (wiped on drop by ed25519-dalek).
    pub key: SigningKey,
}

impl WitnessKey {
    /// The witness's cosignature verifier key (type 0x04).
    pub fn vkey(&self) -> VerifierKey {
        VerifierKey::new(
            self.name.clone(),
            KeyType::CosignatureV1,
            self.key.verifying_key(),
        )
    }
}

fn keygen(name: &str, out: &Path) -> Result<()> {
    let name = KeyName::new(name).map_err(|e| {
        anyhow!("--name: {e}: a witness name has no spaces and no `+`, e.g. witness.example.org/w1")
    })?;
    let path = if out.is_dir() {
        out.join("witness.key")
    } else {
        out.to_path_buf()
    };
    let wk = WitnessKey {
        name,
        key: SigningKey::generate(&mut OsRng),
    };
    let vkey = wk.vkey().to_string();
    let secret = Zeroizing::new(wk.key.to_bytes());
    let file = WitnessKeyJson {
        format: WITNESS_KEY_FORMAT.into(),
        version: 1,
        name: wk.name.to_string(),
        vkey: vkey.clone(),
        secret_key: hex::encode(secret.as_ref()),
    };
    let text = Zeroizing::new(serde_json::to_string_pretty(&file)? + "\n");
    drop(file);
    files::write_private(&path, text.as_bytes(), false)?;
    let public = vkey_path(&path);
    files::write_public(&public, format!("{vkey}\n").as_bytes())?;
    eprintln!(
        "wrote witness {}'s key to {} (mode 0600; keep it there) and its verifier key to {}; \
         verifier key (give it to the logs and observers that rely on this witness):",
        wk.name,
        path.display(),
        public.display()
    );
    println!("{vkey}");
    Ok(())
}

/// Where `keygen --out FILE` puts the verifier key: `FILE.vkey`.
fn vkey_path(key_path: &Path) -> PathBuf {
    let mut s = key_path.as_os_str().to_owned();
    s.push(".vkey");
    PathBuf::from(s)
}

/// Read a witness key file: refuses a file readable by others, another kind of file, and
/// a secret that does not match the vkey written beside it.
pub fn load_witness_key(path: &Path) -> Result<WitnessKey> {
    let text = files::read_private_strict(path, "witness key file")?;
    let file: WitnessKeyJson = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a witness key file (make one with `vox witness keygen`)",
            path.display()
        )
    })?;
    if file.format != WITNESS_KEY_FORMAT || file.version != 1 {
        bail!(
            "{} is not a version 1 witness key file (format {:?}, version {})",
            path.display(),
            file.format,
            file.version
        );
    }
    let name = KeyName::new(&file.name).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let bytes = Zeroizing::new(
        hex::decode(&file.secret_key)
            .map_err(|_| anyhow!("{}: secret_key is not hex", path.display()))?,
    );
    let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
        bytes
            .as_slice()
            .try_into()
            .map_err(|_| anyhow!("{}: secret_key must be 32 bytes", path.display()))?,
    );
    let wk = WitnessKey {
        name,
        key: SigningKey::from_bytes(&secret),
    };
    if wk.vkey().to_string() != file.vkey {
        bail!(
            "{}: the secret key and name do not match its vkey",
            path.display()
        );
    }
    Ok(wk)
}

// ---- state file ----------------------------------------------------------------------

/// `format` field of a witness state file.
pub const WITNESS_STATE_FORMAT: &str = "vox-witness-state";

/// The state file: the [`WitnessState`] with the witness it belongs to, so that a state
/// file is never used by another witness key by mistake.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// [`WITNESS_STATE_FORMAT`].
    pub format: String,
    /// 1.
    pub version: u32,
    /// The witness's verifier key.
    pub witness: String,
    /// What the witness has cosigned, and the evidence it keeps.
    pub state: WitnessState,
}

/// Read a state file: `None` if there is none; an error if it cannot be read or parsed
/// (never treated as empty).
pub fn load_state(path: &Path) -> Result<Option<StateFile>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let file: StateFile = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "the witness state file {} is corrupt ({e}); refusing to start. Restore it from a \
             backup: do not delete it, a witness that forgets what it cosigned could cosign \
             a rolled-back log",
            path.display()
        )
    })?;
    if file.format != WITNESS_STATE_FORMAT || file.version != 1 {
        bail!(
            "{} is not a version 1 witness state file (format {:?}, version {})",
            path.display(),
            file.format,
            file.version
        );
    }
    Ok(Some(file))
}

/// Take the exclusive lock of `state` (on `STATE.lock` beside it, created if needed),
/// or say which file another process holds.
pub fn lock_state(state: &Path) -> Result<File> {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another witness process is using the state file {} (it holds {}): one \
             process per state file, or two could cosign two forks of one log",
            state.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Write the state durably: a temporary file in the same directory, fsync, rename over
/// the state file, fsync of the directory (so that the rename itself survives a power
/// cut). When this returns `Ok`, a restart reads this state.
fn save_state(path: &Path, file: &StateFile) -> Result<()> {
    let mut text = serde_json::to_string_pretty(file)?;
    text.push('\n');
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let result = (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing the witness state {}", path.display()))
}

// ---- the service ---------------------------------------------------------------------

/// The witness and what is needed to persist it. One mutex holds the witness across
/// check, update and write, so that two requests can never both pass the check against
/// the same old state (tlog-witness: the check-and-update is atomic).
struct Service {
    witness: Mutex<Witness>,
    state_path: PathBuf,
    vkey: VerifierKey,
    /// To rebuild the witness from its previous state when a write fails.
    name: KeyName,
    key: SigningKey,
    logs: BTreeMap<Origin, Vec<VerifierKey>>,
    /// hex SHA-256(origin) → origin, for the monitoring endpoint.
    by_hash: BTreeMap<String, Origin>,
}

/// An HTTP answer built outside the async handlers.
struct Answer {
    status: StatusCode,
    content_type: &'static str,
    body: String,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response()
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

fn text(status: StatusCode, body: String) -> Answer {
    Answer {
        status,
        content_type: TEXT,
        body,
    }
}

impl Service {
    /// One add-checkpoint request: check, update, persist, then answer (blocking: it
    /// fsyncs).
    fn add_checkpoint(&self, body: &[u8], now: u64) -> Answer {
        let Ok(mut w) = self.witness.lock() else {
            // A panic while holding the lock: the state in memory is not trusted.
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "witness state unavailable; restart the witness\n".into(),
            );
        };
        let before = w.state().clone();
        let result = w.add_checkpoint(body, now);
        if *w.state() != before {
            let file = StateFile {
                format: WITNESS_STATE_FORMAT.into(),
                version: 1,
                witness: self.vkey.to_string(),
                state: w.state().clone(),
            };
            if let Err(e) = save_state(&self.state_path, &file) {
                tracing::error!("{e:#}; the request is refused");
                // Nothing was answered from the new state: forget it, so that memory and
                // disk agree again.
                *w = Witness::new(
                    self.name.clone(),
                    self.key.clone(),
                    self.logs.clone(),
                    before,
                );
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the witness could not save its state\n".into(),
                );
            }
        }
        drop(w);
        match result {
            Ok(c) => {
                tracing::info!("cosigned a checkpoint at {now}");
                text(StatusCode::OK, c.body())
            }
            Err(e) => refusal(&e),
        }
    }
}

/// The answer to a refused request: the status tlog-witness prescribes, the size for a
/// 409, else the reason in words.
fn refusal(e: &WitnessError) -> Answer {
    if let Some(ev) = e.evidence() {
        tracing::warn!(
            "log {} submitted a checkpoint that does not extend the cosigned one ({:?}): {e}",
            ev.origin,
            ev.kind
        );
    } else {
        tracing::info!("refused: {e}");
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e.conflict_body() {
        Some(body) => Answer {
            status,
            content_type: TLOG_SIZE_CONTENT_TYPE,
            body,
        },
        None => text(status, format!("{e}\n")),
    }
}

/// POSIX seconds now (0 if the clock is before 1970, which the witness refuses).
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn add_checkpoint(State(svc): State<Arc<Service>>, body: Bytes) -> Answer {
    let now = now_secs();
    match tokio::task::spawn_blocking(move || svc.add_checkpoint(&body, now)).await {
        Ok(a) => a,
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}\n"),
        ),
    }
}

/// `GET /<hex SHA-256(origin)>/checkpoint`: the last cosigned note of that log.
async fn checkpoint(State(svc): State<Arc<Service>>, UrlPath(hash): UrlPath<String>) -> Answer {
    let note = svc.by_hash.get(&hash).and_then(|origin| {
        let w = svc.witness.lock().ok()?;
        w.latest(origin).map(|s| s.note.clone())
    });
    match note {
        Some(n) => text(StatusCode::OK, n),
        None => text(
            StatusCode::NOT_FOUND,
            "no checkpoint cosigned for this origin\n".into(),
        ),
    }
}

/// `GET /evidence`: the kept evidence, as JSON.
async fn evidence(State(svc): State<Arc<Service>>) -> Answer {
    let list = match svc.witness.lock() {
        Ok(w) => serde_json::to_string_pretty(&w.state().evidence),
        Err(_) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "witness state unavailable\n".into(),
            )
        }
    };
    match list {
        Ok(body) => Answer {
            status: StatusCode::OK,
            content_type: "application/json",
            body: body + "\n",
        },
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

/// `GET /`: who this witness is and which logs it follows, for people.
async fn index(State(svc): State<Arc<Service>>) -> Answer {
    let mut s = format!("vox witness {}\nvkey: {}\nlogs:\n", svc.name, svc.vkey);
    for (hash, origin) in &svc.by_hash {
        s.push_str(&format!("  {origin}  (GET /{hash}/checkpoint)\n"));
    }
    text(StatusCode::OK, s)
}

fn router(svc: Arc<Service>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/evidence", get(evidence))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_SIZE))
        .with_state(svc)
}

/// hex SHA-256 of an origin: its path segment in the monitoring endpoint.
pub fn origin_hash(origin: &Origin) -> String {
    hex::encode(Sha256::digest(origin.as_str().as_bytes()))
}

fn serve(a: &ServeArgs) -> Result<()> {
    let s = a.settings()?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
    let wk = load_witness_key(&s.key)?;
    if let Some(n) = &s.name {
        if n != wk.name.as_str() {
            bail!(
                "--name {n:?}, but the key file {} is the key of witness {:?} (a key serves \
                 one name only)",
                s.key.display(),
                wk.name.as_str()
            );
        }
    }
    let vkey = wk.vkey();
    // One process per state file: two witnesses writing one state would each cosign
    // from their own memory and could cosign two forks of one log. The lock is held
    // until this process exits (the OS releases it even on SIGKILL).
    let _lock = lock_state(&s.state)?;
    let state = match load_state(&s.state)? {
        Some(file) => {
            if file.witness != vkey.to_string() {
                bail!(
                    "the state file {} belongs to witness {}, not to this key ({vkey})",
                    s.state.display(),
                    file.witness
                );
            }
            file.state
        }
        None => {
            // Create it now: a directory we cannot write to should stop the start, not
            // the first request.
            let file = StateFile {
                format: WITNESS_STATE_FORMAT.into(),
                version: 1,
                witness: vkey.to_string(),
                state: WitnessState::default(),
            };
            save_state(&s.state, &file)?;
            eprintln!(
                "no state file at {}: starting a new witness (created it)",
                s.state.display()
            );
            file.state
        }
    };
    let by_hash = s.logs.keys().map(|o| (origin_hash(o), o.clone())).collect();
    let svc = Arc::new(Service {
        witness: Mutex::new(Witness::new(
            wk.name.clone(),
            wk.key.clone(),
            s.logs.clone(),
            state,
        )),
        state_path: s.state.clone(),
        vkey: vkey.clone(),
        name: wk.name.clone(),
        key: wk.key.clone(),
        logs: s.logs.clone(),
        by_hash,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(s.listen)
            .await
            .with_context(|| format!("listening on {}", s.listen))?;
        let addr = listener.local_addr().context("the bound address")?;
        println!("vox witness listening on http://{addr}");
        println!("witness vkey: {vkey}");
        for origin in s.logs.keys() {
            println!("following log {origin}");
        }
        axum::serve(listener, router(svc))
            .with_graceful_shutdown(async {
                if let Err(e) = crate::serve::wait_for_shutdown_signal().await {
                    tracing::error!("{e:#}");
                }
            })
            .await
            .context("serving")?;
        eprintln!("witness stopped");
        Ok(())
    })
}

// ---- evidence for people ---------------------------------------------------------------

/// The kept evidence, for a person: for each, what it proves and both notes.
pub fn render_evidence(list: &[Evidence]) -> String {
    if list.is_empty() {
        return "no evidence kept: no log this witness follows was seen equivocating\n".into();
    }
    let mut s = format!("{} piece(s) of evidence\n", list.len());
    for (i, e) in list.iter().enumerate() {
        let what = match e.kind {
            vox_protocol::tlog::EvidenceKind::Equivocation => {
                "equivocation: two checkpoints of the same size with different roots, both \
                 signed by the log (proof on its own that the log showed two histories)"
            }
            vox_protocol::tlog::EvidenceKind::UnprovenConsistency => {
                "unproven consistency: a larger checkpoint whose proof did not verify (not \
                 conclusive alone: fetch the real proof from the log)"
            }
        };
        s.push_str(&format!("\n#{} log {}\n{what}\n", i + 1, e.origin));
        s.push_str("--- the checkpoint the witness had cosigned ---\n");
        s.push_str(&e.cosigned_note);
        s.push_str("--- the checkpoint submitted later ---\n");
        s.push_str(&e.submitted_note);
        if e.kind == vox_protocol::tlog::EvidenceKind::UnprovenConsistency {
            s.push_str(&format!(
                "--- old size {}, proof of {} hashes ---\n",
                e.old_size,
                e.proof.len()
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn log_keys_must_be_note_keys() {
        let k = SigningKey::from_bytes(&[7; 32]);
        let name = KeyName::new("log.example/a").unwrap();
        let note = VerifierKey::new(name.clone(), KeyType::Ed25519, k.verifying_key());
        let (origin, back) = parse_log_key(&note.to_string()).unwrap();
        assert_eq!(origin.as_str(), "log.example/a");
        assert_eq!(back, note);
        let cosig = VerifierKey::new(name, KeyType::CosignatureV1, k.verifying_key());
        let e = parse_log_key(&cosig.to_string()).unwrap_err().to_string();
        assert!(e.contains("witness (cosignature) key"), "{e}");
        assert!(parse_log_key("nonsense").is_err());
    }
}
