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
//!
//! Open connections are bounded by `limits.max_connections`, so that a client opening sockets
//! cannot use up the process's file descriptors (after which `accept` and SQLite's `open` would
//! fail for everyone). Each connection holds a permit from its accept until its socket is
//! closed. The permit travels inside the connection's I/O (`Permitted`): hyper hands an upgraded
//! connection's I/O over to the WebSocket's own task and its connection future ends, so a permit
//! kept by that future would be given back while the WebSocket still lives. A live stream keeps
//! its permit for as long as its response. With every permit taken, a new connection is
//! accepted and closed at once, unanswered, rather than left to wait in the listen backlog.
//! Refusals are counted (`beckon_connections_refused_total`) and logged at most once per
//! [`WARN_EVERY`].

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// The shortest time between two warnings that connections are being refused.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` is cancelled, then waits for open requests. At
/// most `max_connections` connections are open at once (at least one).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    max_connections: usize,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let places = Arc::new(Semaphore::new(
        max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut refusals = Refusals::default();
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
        let Ok(permit) = places.clone().try_acquire_owned() else {
            // Closed before anything is read: the client sees the connection end, unanswered.
            drop(stream);
            metrics.connections_refused.inc();
            refusals.refused(max_connections, remote);
            continue;
        };
        let place = Place::new(permit, &metrics.connections);
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
            let stream = Permitted {
                io: stream,
                _place: place,
            };
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

/// The warnings about refused connections: the first at once, then at most one per
/// [`WARN_EVERY`], with the number refused since the last one.
#[derive(Default)]
struct Refusals {
    warned: Option<Instant>,
    unwarned: u64,
}

impl Refusals {
    fn refused(&mut self, max_connections: usize, remote: SocketAddr) {
        self.unwarned += 1;
        if self.warned.is_some_and(|at| at.elapsed() < WARN_EVERY) {
            return;
        }
        tracing::warn!(
            max_connections,
            refused = self.unwarned,
            last = %remote,
            "limits.max_connections connections are open: new connections are closed unanswered"
        );
        self.warned = Some(Instant::now());
        self.unwarned = 0;
    }
}

/// One connection's place under `max_connections`, given back when dropped; keeps the gauge of
/// open connections true.
struct Place {
    _permit: OwnedSemaphorePermit,
    open: Gauge,
}

impl Place {
    fn new(permit: OwnedSemaphorePermit, open: &Gauge) -> Place {
        open.inc();
        Place {
            _permit: permit,
            open: open.clone(),
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.open.dec();
    }
}

/// A connection's socket with its [`Place`]: whoever ends up owning the socket (hyper's
/// connection, or the task of the WebSocket it was upgraded to) holds the place until the socket
/// is dropped, which closes it.
struct Permitted {
    io: TcpStream,
    _place: Place,
}

impl AsyncRead for Permitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Permitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
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
