//! Accepting connections so that no client can hold the server: every
//! connection must send its request headers within `header_read_timeout`
//! (also between requests on a kept-alive connection), must keep reading
//! its responses (a write blocked for `response_write_timeout` closes the
//! connection, see `write_deadline.rs`), at most
//! `max_connections` are open at once (more wait in the kernel's backlog),
//! a failed `accept` (out of file descriptors) is retried after a pause
//! instead of ending the server, and shutdown stops accepting, lets
//! in-flight requests finish and closes idle connections.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::write_deadline::WriteDeadline;

/// How long an `accept` that failed (e.g. EMFILE) waits before the next.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Limits applied to every connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionLimits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) response_write_timeout: Duration,
    pub(crate) max_connections: usize,
    /// Longest wait for in-flight requests at shutdown.
    pub(crate) drain_timeout: Duration,
}

/// Serves `app` on `listener` (over TLS when `tls` is set) until `shutdown`
/// completes, then drains.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Shutdown wins over waiting for a slot as over waiting for a client.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed; retrying");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let stream = WriteDeadline::new(stream, limits.response_write_timeout);
        let (app, watcher) = (app.clone(), graceful.watcher());
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = {
                let mut b = http1::Builder::new();
                b.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
                b
            };
            let service = TowerToHyperService::new(app);
            let result = match tls {
                None => watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await,
                // The handshake is bounded like the headers that follow it.
                Some(acceptor) => match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await
                {
                    Ok(Ok(stream)) => watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        Ok(())
                    }
                    Err(_) => Ok(()),
                },
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!(timeout = ?limits.drain_timeout, "connections still open after the drain timeout; closing");
    }
}
