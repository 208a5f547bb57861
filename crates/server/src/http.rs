//! Serving connections. `axum::serve` gives hyper no timer, so hyper's header-read timeout never
//! applies and a client that never finishes its request headers holds its connection forever
//! (slowloris). This accept loop serves each connection with hyper-util's builder, with a timer
//! and a header-read timeout, WebSocket upgrades, and a graceful shutdown that stops accepting
//! and lets the requests in flight finish.
//!
//! Beckon speaks HTTP/1.1 (browsers reach it over HTTP/2 through a TLS-terminating proxy, which
//! speaks HTTP/1.1 to it). Before a connection is handed to hyper, its first bytes must arrive
//! within the same time limit and must not be HTTP/2's connection preface: hyper-util waits for
//! them with no timer, and HTTP/2 connections have no idle limit, so either would let a client
//! hold a connection forever.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Serves `app` on `listener` until `shutdown` is cancelled, then waits for open requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: CancellationToken,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone().layer(axum::Extension(ConnectInfo::<
            SocketAddr,
        >(
            remote
        ))));
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let stopping = shutdown.clone();
        tokio::spawn(async move {
            // A connection that has not begun a request is not waited for at shutdown.
            let began = tokio::select! {
                began = opens_http1(&stream, header_timeout) => began,
                () = stopping.cancelled() => return,
            };
            if !began {
                tracing::debug!(%remote, "closed: no HTTP/1.1 request began in time");
                return;
            }
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// HTTP/2's connection preface, which a client sends first.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the client begins an HTTP/1.1 request within `limit`: its first bytes arrive, and
/// they are not (a beginning of) HTTP/2's preface. Reads nothing: hyper reads them again.
async fn opens_http1(stream: &TcpStream, limit: Duration) -> bool {
    let mut first = [0u8; HTTP2_PREFACE.len()];
    let began = async {
        loop {
            let n = stream.peek(&mut first).await.unwrap_or(0);
            if n == 0 || n == first.len() || !HTTP2_PREFACE.starts_with(&first[..n]) {
                return n > 0 && !HTTP2_PREFACE.starts_with(&first[..n]);
            }
            // A beginning of the preface: `peek` would answer at once with the same bytes.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(limit, began).await.unwrap_or(false)
}
