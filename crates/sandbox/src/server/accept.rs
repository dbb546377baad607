//! The accept loop and the connections: each accepted socket is counted against the cap, wrapped
//! in a [`ConnIo`], optionally TLS, served by hyper (HTTP/1.1 and HTTP/2) and watched for
//! time-outs.

use super::answer::answer;
use super::conn_io::{ConnControl, ConnIo};
use super::shared::Shared;
use super::tls;
use crate::limits::{self, OpenConnection};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long a stopping server waits for requests in progress.
const GRACE: Duration = Duration::from_secs(2);

/// The accept loop; ends when `stop` fires or its sender is dropped.
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    acceptor: Option<TlsAcceptor>,
    mut stop: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    let _ = tcp.set_nodelay(true);
                    let counters = &shared.connections;
                    match counters.open(shared.limits.max_connections) {
                        Some(open) => connections.spawn(connection(
                            tcp,
                            shared.clone(),
                            acceptor.clone(),
                            graceful.watcher(),
                            open,
                        )),
                        None => connections.spawn(counters.clone().refuse(tcp, acceptor.is_none())),
                    };
                }
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Serves one connection until it ends or its watchdog closes it.
async fn connection(
    tcp: TcpStream,
    shared: Arc<Shared>,
    acceptor: Option<TlsAcceptor>,
    watcher: Watcher,
    open: OpenConnection,
) {
    let control = Arc::new(ConnControl::default());
    let io = ConnIo::new(tcp, open, control.clone());
    let served = {
        let (shared, control) = (shared.clone(), control.clone());
        async move {
            match acceptor {
                None => serve_connection(io, shared, control, watcher).await,
                Some(acceptor) => {
                    if let Some(stream) = tls::handshake(&acceptor, io).await {
                        serve_connection(stream, shared, control, watcher).await;
                    }
                }
            }
        }
    };
    // Counted before the connection is dropped (and closed), so a client that sees the close
    // sees the count.
    let watchdog = async {
        let closed = limits::watchdog(&control.activity, &shared.limits).await;
        shared.connections.closed(closed);
    };
    tokio::select! {
        () = served => {}
        () = watchdog => {}
    }
}

/// Runs hyper on one (plain or TLS) connection, answering each request with [`answer`].
async fn serve_connection<I>(
    io: I,
    shared: Arc<Shared>,
    control: Arc<ConnControl>,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| answer(request, shared.clone(), control.clone()));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The `Date` header comes from the sandbox clock (see `answer`), not from hyper's; the
    // connection's watchdog times heads out (hyper's timer would also close idle connections).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .auto_date_header(false);
    builder
        .http2()
        .timer(TokioTimer::new())
        .auto_date_header(false);
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .into_owned();
    let _ = watcher.watch(connection).await;
}
