//! `vox serve`: run the vox server (SQLite `./vox.db` by default) with the operator's
//! key; on an empty board it first appends the genesis as leaf 0.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;

use crate::files;
use crate::keys::load_genesis;

/// Arguments of `vox serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
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
    /// or `off`. Loopback clients are exempt unless `--limit-loopback`.
    #[arg(long, value_parser = parse_limit, default_value = "200/50")]
    pub rate_limit_address: Limit,
    /// Per credential limit on ballots and petition signatures, as `BURST/PER_SECOND`
    /// (e.g. `20/2`), or `off`.
    #[arg(long, value_parser = parse_limit, default_value = "20/2")]
    pub rate_limit_credential: Limit,
    /// Apply the per-address limit to loopback clients too. Set it when a reverse proxy
    /// on this machine forwards the public traffic: otherwise every client looks like
    /// the proxy and is exempt.
    #[arg(long)]
    pub limit_loopback: bool,
    /// Database connections in the pool.
    #[arg(long, default_value_t = 16)]
    pub max_connections: u32,
    /// Close a connection whose request headers have not all arrived after this many
    /// seconds (slow or idle clients).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub header_timeout: u64,
    /// Answer 408 and close the connection when a request body has not all arrived
    /// this many seconds after its headers.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub body_timeout: u64,
    /// Most HTTP connections served at once; others wait in the accept queue.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub max_http_connections: usize,
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    // Read the files before anything starts: a clear error for each.
    let genesis = a.genesis.as_deref().map(load_genesis).transpose()?;
    let operator = match a.operator_key.as_deref() {
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let mut config = vox_server::ServerConfig::new(a.database_url.clone(), a.listen);
        config.rate_limit_per_address = a.rate_limit_address.0;
        config.rate_limit_per_credential = a.rate_limit_credential.0;
        config.rate_limit_exempt_loopback = !a.limit_loopback;
        config.max_connections = a.max_connections.max(1);
        config.header_read_timeout_ms = a.header_timeout.max(1).saturating_mul(1000);
        config.body_read_timeout_ms = a.body_timeout.max(1).saturating_mul(1000);
        config.max_http_connections = a.max_http_connections.max(1);
        config.genesis = genesis;
        config.operator_key = operator;
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
async fn wait_for_shutdown_signal() -> Result<()> {
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
}
