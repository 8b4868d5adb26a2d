//! `vox serve`: run the vox server (SQLite `./vox.db` by default).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;

use crate::files;

/// Arguments of `vox serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Database: `sqlite://PATH` (created on first start) or `postgres://…`
    /// [default: sqlite://vox.db].
    #[arg(long)]
    pub database_url: Option<String>,
    /// On first start, write the authority token to this file (mode 0600) instead of
    /// printing it.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let config = vox_server::ServerConfig::new(a.database_url.clone(), a.listen);
        let server = vox_server::start(config)
            .await
            .map_err(|e| anyhow!("the server did not start: {e}"))?;
        println!("vox server listening on http://{}", server.local_addr());
        match server.authority_token() {
            Some(token) => match &a.token_file {
                Some(path) => {
                    files::write_private(path, format!("{token}\n").as_bytes(), false)?;
                    println!(
                        "authority token written to {} (mode 0600); it is shown only once",
                        path.display()
                    );
                }
                None => {
                    println!("authority token (shown only this once, keep it safe):");
                    println!("{token}");
                }
            },
            None => println!("the authority token was issued at the first start of this database"),
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
