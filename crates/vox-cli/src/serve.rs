//! `vox serve`: run the vox server (SQLite `./vox.db` by default) with the operator's
//! key; on an empty board it first appends the genesis as leaf 0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::Args;

use crate::files;
use crate::keys::load_genesis;

/// Arguments of `vox serve`. Every option can also be given in the `--config` file
/// (TOML, the same names without the dashes' prefix: `listen = "127.0.0.1:8080"`); an
/// option on the command line wins over the file, the file over the default.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// A TOML file with any of the options below (see docs/operate-a-server.md);
    /// relative paths in it are taken from the file's own directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port) [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Database: `sqlite://PATH` (created on first start, mode 0600) or `postgres://…`
    /// [default: sqlite://vox.db]. A SQLite database (or its `-wal`/`-shm` file) that
    /// other users can read or write is refused: `chmod 600` it, as the message says.
    #[arg(long)]
    pub database_url: Option<String>,
    /// The log's genesis (JSON, signed by all four roles: `vox genesis new` / `sign`).
    /// Needed to start an empty board, where it becomes leaf 0; on a board that has
    /// one it must equal leaf 0 [default: none: the board must already have one].
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// The board operator's key file (`vox keys new --role operator`; mode 0600, refused
    /// if other users can read it): signs tree heads and receipts, and must be the
    /// operator key of the genesis. It is the only key the server holds, and it is never
    /// printed or logged [default: the key stored in the database by an earlier
    /// version].
    #[arg(long, value_name = "FILE")]
    pub operator_key: Option<PathBuf>,
    /// Per client address limit on every request, as `BURST/PER_SECOND` (e.g. `200/50`),
    /// or `off`. Loopback clients are exempt unless `--limit-loopback` [default: 200/50].
    #[arg(long, value_parser = parse_limit)]
    pub rate_limit_address: Option<Limit>,
    /// Per credential limit on ballots and petition signatures, as `BURST/PER_SECOND`
    /// (e.g. `20/2`), or `off` [default: 20/2].
    #[arg(long, value_parser = parse_limit)]
    pub rate_limit_credential: Option<Limit>,
    /// Apply the per-address limit to loopback clients too. Set it when a reverse proxy
    /// on this machine forwards the public traffic: otherwise every client looks like
    /// the proxy and is exempt.
    #[arg(long)]
    pub limit_loopback: bool,
    /// Database connections in the pool [default: 16].
    #[arg(long)]
    pub max_connections: Option<u32>,
    /// Close a connection whose request headers have not all arrived after this many
    /// seconds (slow or idle clients) [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub header_timeout: Option<u64>,
    /// Answer 408 and close the connection when a request body has not all arrived
    /// this many seconds after its headers [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub body_timeout: Option<u64>,
    /// Most HTTP connections served at once; others wait in the accept queue
    /// [default: 4096].
    #[arg(long, value_name = "N")]
    pub max_http_connections: Option<usize>,
    /// The citizens' web pages to serve at `/` (a directory built by
    /// `scripts/build-web.sh`) [default: the pages built into this binary by
    /// `scripts/dist.sh`, else `$VOX_WEB_DIR`, else `target/vox-web-dist` if present].
    #[arg(long, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    /// Log lines as `text` (for people) or `json` (one JSON object per line, for a log
    /// collector); the level comes from `RUST_LOG` [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// A witness to ask for cosignatures (C2SP tlog-witness), as `VKEY@URL`: its
    /// verifier key (`vox witness keygen` prints it) and its base URL, e.g.
    /// `w1.example+1a2b3c4d+BK…@http://127.0.0.1:7380`. Repeat for each witness (the
    /// config file takes a list, `witness = ["…", "…"]`). A close, tally or result waits
    /// until the quorum of the log's witness policy in force has cosigned the head before
    /// it [default: none]. While a witness policy change is pending, list the old
    /// witnesses and the new ones.
    #[arg(long = "witness", value_name = "VKEY@URL")]
    pub witnesses: Vec<String>,
    /// How long a close, tally or result waits for the witness quorum before it is
    /// answered 503 with what each witness said [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub witness_wait: Option<u64>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (time, level, target, message and fields).
    Json,
}

/// The `--config` file: the options of [`ServeArgs`] (kebab-case or snake_case keys);
/// an unknown key is an error, so a typo never silently falls back to a default.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    listen: Option<SocketAddr>,
    #[serde(alias = "database_url")]
    database_url: Option<String>,
    genesis: Option<PathBuf>,
    #[serde(alias = "operator_key")]
    operator_key: Option<PathBuf>,
    #[serde(alias = "rate_limit_address")]
    rate_limit_address: Option<String>,
    #[serde(alias = "rate_limit_credential")]
    rate_limit_credential: Option<String>,
    #[serde(alias = "limit_loopback")]
    limit_loopback: Option<bool>,
    #[serde(alias = "max_connections")]
    max_connections: Option<u32>,
    #[serde(alias = "header_timeout")]
    header_timeout: Option<u64>,
    #[serde(alias = "body_timeout")]
    body_timeout: Option<u64>,
    #[serde(alias = "max_http_connections")]
    max_http_connections: Option<usize>,
    #[serde(alias = "web_dir")]
    web_dir: Option<PathBuf>,
    #[serde(alias = "log_format")]
    log_format: Option<LogFormat>,
    #[serde(default, alias = "witnesses")]
    witness: Vec<String>,
    #[serde(alias = "witness_wait")]
    witness_wait: Option<u64>,
}

/// What `vox serve` runs with: the command line over the config file over the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Database URL (`None`: `sqlite://vox.db`).
    pub database_url: Option<String>,
    /// Genesis file.
    pub genesis: Option<PathBuf>,
    /// Operator key file.
    pub operator_key: Option<PathBuf>,
    /// Per-address limit.
    pub rate_limit_address: Option<vox_server::RateLimit>,
    /// Per-credential limit.
    pub rate_limit_credential: Option<vox_server::RateLimit>,
    /// Limit loopback clients too.
    pub limit_loopback: bool,
    /// Pool size.
    pub max_connections: u32,
    /// Header read timeout, seconds.
    pub header_timeout: u64,
    /// Body read timeout, seconds.
    pub body_timeout: u64,
    /// Connection limit.
    pub max_http_connections: usize,
    /// Pages directory (`None`: the default choice).
    pub web_dir: Option<PathBuf>,
    /// Log format.
    pub log_format: LogFormat,
    /// Witnesses asked for cosignatures.
    pub witnesses: Vec<vox_server::witness_client::WitnessEndpoint>,
    /// Wait for the witness quorum, seconds.
    pub witness_wait: u64,
}

impl ServeArgs {
    /// Merge the command line, the `--config` file (if any) and the defaults.
    pub fn settings(&self) -> Result<Settings> {
        let (file, base) = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the config file {}", path.display()))?;
                let file: ConfigFile = toml::from_str(&text)
                    .map_err(|e| anyhow!("the config file {}: {e}", path.display()))?;
                let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                (file, base)
            }
            None => (ConfigFile::default(), PathBuf::new()),
        };
        // A path from the file is relative to the file, not to where `vox serve` runs.
        let rel = |p: Option<PathBuf>| p.map(|p| if p.is_relative() { base.join(p) } else { p });
        let limit = |flag: Option<Limit>, file: Option<String>, name: &str, default: &str| {
            let l = match (flag, file) {
                (Some(l), _) => l,
                (None, Some(s)) => {
                    parse_limit(&s).map_err(|e| anyhow!("the config file's {name}: {e}"))?
                }
                (None, None) => parse_limit(default).map_err(|e| anyhow!(e))?,
            };
            Ok::<_, anyhow::Error>(l.0)
        };
        let listen_default: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
        Ok(Settings {
            listen: self.listen.or(file.listen).unwrap_or(listen_default),
            database_url: self.database_url.clone().or_else(|| {
                file.database_url
                    .map(|u| match u.strip_prefix("sqlite://") {
                        // A relative SQLite path in the file is relative to the file too.
                        Some(p) if !p.starts_with('/') && !p.is_empty() => {
                            format!("sqlite://{}", base.join(p).display())
                        }
                        _ => u,
                    })
            }),
            genesis: self.genesis.clone().or(rel(file.genesis)),
            operator_key: self.operator_key.clone().or(rel(file.operator_key)),
            rate_limit_address: limit(
                self.rate_limit_address,
                file.rate_limit_address,
                "rate-limit-address",
                "200/50",
            )?,
            rate_limit_credential: limit(
                self.rate_limit_credential,
                file.rate_limit_credential,
                "rate-limit-credential",
                "20/2",
            )?,
            limit_loopback: self.limit_loopback || file.limit_loopback.unwrap_or(false),
            max_connections: self.max_connections.or(file.max_connections).unwrap_or(16),
            header_timeout: self.header_timeout.or(file.header_timeout).unwrap_or(30),
            body_timeout: self.body_timeout.or(file.body_timeout).unwrap_or(30),
            max_http_connections: self
                .max_http_connections
                .or(file.max_http_connections)
                .unwrap_or(4096),
            web_dir: self.web_dir.clone().or(rel(file.web_dir)),
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            witnesses: if self.witnesses.is_empty() {
                &file.witness
            } else {
                &self.witnesses
            }
            .iter()
            .map(|w| vox_server::witness_client::parse_witness_arg(w).map_err(|e| anyhow!("{e}")))
            .collect::<Result<_>>()?,
            witness_wait: self.witness_wait.or(file.witness_wait).unwrap_or(10),
        })
    }
}

/// A rate limit from the command line (`None` = off).
#[derive(Clone, Copy, Debug)]
pub struct Limit(pub Option<vox_server::RateLimit>);

/// `BURST/PER_SECOND` or `off`.
fn parse_limit(s: &str) -> Result<Limit, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(Limit(None));
    }
    let (burst, rate) = s
        .split_once('/')
        .ok_or_else(|| format!("expected BURST/PER_SECOND (e.g. 20/2) or off, got {s:?}"))?;
    let burst: u32 = burst
        .trim()
        .parse()
        .map_err(|_| format!("burst {burst:?} is not a whole number"))?;
    let per_second: f64 = rate
        .trim()
        .parse()
        .map_err(|_| format!("rate {rate:?} is not a number"))?;
    if burst == 0 || !(per_second.is_finite() && per_second > 0.0) {
        return Err("burst and rate must be positive (use `off` to disable)".into());
    }
    Ok(Limit(Some(vox_server::RateLimit { burst, per_second })))
}

/// Run the server until Ctrl-C or SIGTERM.
pub fn run(a: ServeArgs) -> Result<()> {
    let s = a.settings()?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = match s.log_format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // Read the files before anything starts: a clear error for each.
    let genesis = s.genesis.as_deref().map(load_genesis).transpose()?;
    let operator = match s.operator_key.as_deref() {
        Some(path) => {
            let k = files::load_role_key(path)?;
            if k.role != vox_protocol::roles::Role::Operator {
                anyhow::bail!(
                    "{} is a {} key; the server needs the operator's key (`vox keys new --role \
                     operator`)",
                    path.display(),
                    k.role
                );
            }
            if let Some(g) = &genesis {
                if g.keys.operator != k.public() {
                    anyhow::bail!(
                        "{} is not the operator key the genesis names ({}; this key is {})",
                        path.display(),
                        g.keys.operator.to_hex(),
                        k.public().to_hex()
                    );
                }
            }
            Some(k.key.clone())
        }
        None => None,
    };
    if let Some(dir) = &s.web_dir {
        if !dir.join("index.html").is_file() {
            anyhow::bail!(
                "--web-dir {}: no index.html there (build the pages with scripts/build-web.sh)",
                dir.display()
            );
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let mut config = vox_server::ServerConfig::new(s.database_url.clone(), s.listen);
        config.rate_limit_per_address = s.rate_limit_address;
        config.rate_limit_per_credential = s.rate_limit_credential;
        config.rate_limit_exempt_loopback = !s.limit_loopback;
        config.max_connections = s.max_connections.max(1);
        config.header_read_timeout_ms = s.header_timeout.max(1).saturating_mul(1000);
        config.body_read_timeout_ms = s.body_timeout.max(1).saturating_mul(1000);
        config.max_http_connections = s.max_http_connections.max(1);
        if let Some(dir) = s.web_dir {
            config.web_dir = Some(dir);
        }
        config.genesis = genesis;
        config.operator_key = operator;
        config.witness_endpoints = s.witnesses.clone();
        config.witness_wait_ms = s.witness_wait.saturating_mul(1000);
        let server = vox_server::start(config)
            .await
            .map_err(|e| anyhow!("the server did not start: {e}"))?;
        println!("vox server listening on http://{}", server.local_addr());
        let addr = server.local_addr().to_string();
        if let Ok(Ok(board)) = tokio::task::spawn_blocking(move || server_board(&addr)).await {
            println!("{board}");
        }
        wait_for_shutdown_signal().await?;
        eprintln!("shutting down…");
        server
            .shutdown()
            .await
            .map_err(|e| anyhow!("shutting down: {e}"))?;
        Ok(())
    })
}

/// One line about the log being served (name, log id, size), from the server's own API.
fn server_board(addr: &str) -> Result<String> {
    let b = crate::client::Client::new(&format!("http://{addr}")).board()?;
    let name = b
        .genesis
        .as_ref()
        .map(|g| g.log_name.clone())
        .unwrap_or_else(|| "?".into());
    Ok(format!(
        "log {name} (log id {}), {} entries, board key {}",
        b.log_id.to_hex(),
        b.tree_size,
        b.board_public_key.to_hex()
    ))
}

/// Ctrl-C, or SIGTERM on Unix (service managers stop services with it).
pub(crate) async fn wait_for_shutdown_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn limits_parse_or_explain() {
        let l = parse_limit("20/2").unwrap().0.unwrap();
        assert_eq!((l.burst, l.per_second), (20, 2.0));
        assert!(parse_limit("OFF").unwrap().0.is_none());
        for bad in ["20", "x/2", "20/x", "0/2", "20/0", "20/-1", "20/inf"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }

    fn write_config(text: &str) -> (tempfile_dir::Dir, PathBuf) {
        let dir = tempfile_dir::Dir::new();
        let path = dir.0.join("vox.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// A throw-away directory (removed on drop), without a dependency for it.
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let d = std::env::temp_dir().join(format!(
                    "vox-serve-config-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&d).unwrap();
                Self(d)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn defaults_without_a_file() {
        let s = ServeArgs::default().settings().unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.database_url, None);
        let a = s.rate_limit_address.unwrap();
        assert_eq!((a.burst, a.per_second), (200, 50.0));
        let c = s.rate_limit_credential.unwrap();
        assert_eq!((c.burst, c.per_second), (20, 2.0));
        assert!(!s.limit_loopback);
        assert_eq!(
            (
                s.max_connections,
                s.header_timeout,
                s.body_timeout,
                s.max_http_connections
            ),
            (16, 30, 30, 4096)
        );
        assert_eq!(s.log_format, LogFormat::Text);
    }

    #[test]
    fn the_file_sets_options_and_the_command_line_wins() {
        let (dir, path) = write_config(
            r#"
listen = "127.0.0.1:9999"
database-url = "sqlite://data/vox.db"
operator-key = "keys/operator.key"
genesis = "/etc/vox/genesis.json"
rate-limit-address = "off"
rate_limit_credential = "5/1"
limit-loopback = true
max-connections = 4
header-timeout = 7
body-timeout = 9
max-http-connections = 100
web-dir = "pages"
log-format = "json"
"#,
        );
        let mut a = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        };
        let s = a.settings().unwrap();
        assert_eq!(s.listen, "127.0.0.1:9999".parse().unwrap());
        // Relative paths are taken from the file's directory.
        assert_eq!(
            s.database_url.as_deref(),
            Some(format!("sqlite://{}", dir.0.join("data/vox.db").display()).as_str())
        );
        assert_eq!(s.operator_key, Some(dir.0.join("keys/operator.key")));
        assert_eq!(s.genesis, Some(PathBuf::from("/etc/vox/genesis.json")));
        assert_eq!(s.web_dir, Some(dir.0.join("pages")));
        assert_eq!(s.rate_limit_address, None);
        let c = s.rate_limit_credential.unwrap();
        assert_eq!((c.burst, c.per_second), (5, 1.0));
        assert!(s.limit_loopback);
        assert_eq!(
            (
                s.max_connections,
                s.header_timeout,
                s.body_timeout,
                s.max_http_connections
            ),
            (4, 7, 9, 100)
        );
        assert_eq!(s.log_format, LogFormat::Json);

        // The command line wins over the file.
        a.listen = Some("127.0.0.1:1234".parse().unwrap());
        a.rate_limit_address = Some(parse_limit("10/1").unwrap());
        a.header_timeout = Some(3);
        a.log_format = Some(LogFormat::Text);
        a.operator_key = Some(PathBuf::from("here.key"));
        let s = a.settings().unwrap();
        assert_eq!(s.listen, "127.0.0.1:1234".parse().unwrap());
        assert_eq!(s.rate_limit_address.unwrap().burst, 10);
        assert_eq!(s.header_timeout, 3);
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.operator_key, Some(PathBuf::from("here.key")));
        assert_eq!(s.body_timeout, 9);
    }

    #[test]
    fn a_bad_file_is_refused_with_the_reason() {
        for (text, says) in [
            ("lisen = \"127.0.0.1:1\"\n", "unknown field"),
            ("listen = \"nowhere\"\n", "listen"),
            ("rate-limit-address = \"20\"\n", "rate-limit-address"),
            ("log-format = \"xml\"\n", "log-format"),
            ("max-connections = \"many\"\n", "max-connections"),
            ("listen = \n", "config file"),
        ] {
            let (_dir, path) = write_config(text);
            let a = ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            };
            let e = a.settings().unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
        let a = ServeArgs {
            config: Some(PathBuf::from("/nonexistent/vox.toml")),
            ..ServeArgs::default()
        };
        let e = format!("{:#}", a.settings().unwrap_err());
        assert!(e.contains("/nonexistent/vox.toml"), "{e}");
    }
}
