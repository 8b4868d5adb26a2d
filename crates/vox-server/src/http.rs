//! The HTTP/1.1 accept loop: hyper's connection handling with what `axum::serve` does
//! not expose. A client that opens a connection and never finishes its headers is cut
//! off after `header_read_timeout_ms` (hyper's header read timer); at most
//! `max_http_connections` connections are served at once (the rest wait in the kernel's
//! accept queue); on shutdown the loop stops accepting, every connection finishes its
//! request in flight and closes. The body deadline is the body middleware's
//! (`idempotency.rs`), which answers 408.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Limits of the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// See [`crate::ServerConfig::header_read_timeout_ms`].
    pub header_read_timeout: Duration,
    /// See [`crate::ServerConfig::max_http_connections`].
    pub max_connections: usize,
}

/// Serve `app` on `listener` until `shutdown` turns true, then wait for the open
/// connections to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), std::io::Error> {
    // u32: `acquire_many` below takes every permit at once.
    let max = limits
        .max_connections
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let slots = Arc::new(Semaphore::new(max));
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Per-connection errors (a client that reset before accept, too many
                // open files): log, breathe, go on.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        // The client's address for the rate limiter (`ConnectInfo`, as
        // `into_make_service_with_connect_info` gives it); the router is an `Arc` clone.
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(addr));
                req
            },
        ));
        let mut stop = shutdown.clone();
        let header_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, %addr, "connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
        });
    }
    // Every connection holds a permit until it closes: taking them all waits for them.
    let _all = slots
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
    Ok(())
}
