//! The thin server: serves a [`Provider`] over HTTP/1.1 and HTTP/2 (hyper 1 on tokio), plain or
//! TLS, and carries out the [`Effect`]s a pure function cannot (reset, delay, truncated body,
//! moving the clock).

use crate::clock::SandboxClock;
use crate::counters::Counters;
use crate::error::{ProviderError, SandboxError};
use crate::faults::{Effect, Fault, FaultTarget};
use crate::hold::{self, Changes};
use crate::limits::{
    self, Activity, ConnCounters, ConnectionLimits, ConnectionStats, OpenConnection,
};
use crate::platform::{AppKeys, ApplicationInfo, PlanLimits};
use crate::provider::{Provider, ProviderConfig, SEARCH_PATH, TOKEN_PATH};
use crate::{respond, tls};
use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long a stopping server waits for requests in progress.
const GRACE: Duration = Duration::from_secs(2);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a truncated body's connection stays open after the partial body, so it is flushed.
const TRUNCATE_LINGER: Duration = Duration::from_millis(50);

/// How to start a [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen; default `127.0.0.1:0` (a free port).
    pub addr: SocketAddr,
    /// The provider's settings.
    pub provider: ProviderConfig,
    /// Applications that are active from the start, with these keys.
    pub apps: Vec<AppKeys>,
    /// Serve HTTPS with a generated test CA ([`Sandbox::ca_pem`]).
    pub tls: bool,
    /// The clock the sandbox runs on; default the system clock.
    pub clock: SandboxClock,
    /// Time-outs and the cap on open connections.
    pub limits: ConnectionLimits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            provider: ProviderConfig::default(),
            apps: Vec::new(),
            tls: false,
            clock: SandboxClock::system(),
            limits: ConnectionLimits::default(),
        }
    }
}

impl SandboxConfig {
    /// Listens on `addr` instead of `127.0.0.1:0`.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Starts with an active application holding these keys.
    pub fn app(mut self, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        self.apps.push(AppKeys::new(client_id, client_secret));
        self
    }

    /// Serves HTTPS with a generated test CA.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Runs on this clock (e.g. [`SandboxClock::fixed`]).
    pub fn clock(mut self, clock: SandboxClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the access tokens' lifetime.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.provider.token_ttl = ttl;
        self
    }

    /// Sets the plan.
    pub fn plan(mut self, plan: PlanLimits) -> Self {
        self.provider.plan = plan;
        self
    }

    /// Switches the quota headers on or off.
    pub fn quota_headers(mut self, on: bool) -> Self {
        self.provider.quota_headers = on;
        self
    }

    /// Sets the admin key.
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.provider.admin_key = Some(key.into());
        self
    }

    /// Sets the connection time-outs and cap.
    pub fn limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the seed of generated keys and tokens.
    pub fn seed(mut self, seed: u64) -> Self {
        self.provider.seed = seed;
        self
    }
}

/// What the server's tasks share.
pub(crate) struct Shared {
    provider: Mutex<Provider>,
    clock: SandboxClock,
    max_body: usize,
    /// Wakes held answers and the tests waiting for them.
    pub(crate) changes: Changes,
    limits: ConnectionLimits,
    connections: Arc<ConnCounters>,
    /// Connections are TLS: requests carry [`http::uri::Scheme::HTTPS`] in their extensions.
    tls: bool,
}

impl Shared {
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Provider) -> R) -> R {
        // The provider never panics on input; if it did, its state is still usable.
        let mut provider = self.provider.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut provider)
    }
}

enum Runner {
    Task(tokio::task::JoinHandle<()>),
    Thread(std::thread::JoinHandle<()>),
}

/// A running sandbox: the provider served on a local address.
///
/// Dropping it stops the server: the accept loop ends, requests in progress get up to 2 s, and
/// the background thread of [`Sandbox::start_blocking`] is joined. From async code,
/// [`Sandbox::shutdown`] does the same without blocking.
pub struct Sandbox {
    addr: SocketAddr,
    tls: bool,
    ca_pem: Option<String>,
    admin_key: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    runner: Option<Runner>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// Everything prepared before the server runs: the bound socket, the provider, TLS.
struct Prepared {
    listener: StdListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<TlsAcceptor>,
    ca_pem: Option<String>,
    admin_key: String,
    tls: bool,
}

impl Prepared {
    fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        let mut provider = Provider::new(config.provider.clone());
        for keys in config.apps {
            provider.create_app(Some(keys))?;
        }
        let (acceptor, ca_pem) = if config.tls {
            let tls = tls::generate()?;
            (Some(TlsAcceptor::from(tls.server_config)), Some(tls.ca_pem))
        } else {
            (None, None)
        };
        let bind_error = |source| SandboxError::Bind {
            addr: config.addr,
            source,
        };
        let listener = StdListener::bind(config.addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            listener,
            addr,
            admin_key: provider.admin_key().to_owned(),
            shared: Arc::new(Shared {
                provider: Mutex::new(provider),
                clock: config.clock,
                max_body: config.provider.max_body_bytes,
                changes: Changes::default(),
                limits: config.limits,
                connections: Arc::default(),
                tls: config.tls,
            }),
            acceptor,
            ca_pem,
            tls: config.tls,
        })
    }

    fn into_sandbox(self, stop: oneshot::Sender<()>, runner: Runner) -> Sandbox {
        Sandbox {
            addr: self.addr,
            tls: self.tls,
            ca_pem: self.ca_pem,
            admin_key: self.admin_key,
            shared: self.shared,
            stop: Some(stop),
            runner: Some(runner),
        }
    }
}

impl Sandbox {
    /// Starts the sandbox on the current tokio runtime (it must be awaited on one) and returns
    /// once it listens.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let prepared = Prepared::new(config)?;
        let listener = TcpListener::from_std(prepared.listener.try_clone().map_err(|source| {
            SandboxError::Bind {
                addr: prepared.addr,
                source,
            }
        })?)
        .map_err(|source| SandboxError::Bind {
            addr: prepared.addr,
            source,
        })?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(
            listener,
            prepared.shared.clone(),
            prepared.acceptor.clone(),
            stopped,
        ));
        Ok(prepared.into_sandbox(stop, Runner::Task(task)))
    }

    /// Starts the sandbox on its own runtime (two worker threads, on a background thread), for
    /// sync code and tests; returns once it listens.
    pub fn start_blocking(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let prepared = Prepared::new(config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bearer-sandbox")
            .enable_all()
            .build()
            .map_err(SandboxError::Runtime)?;
        let listener = prepared
            .listener
            .try_clone()
            .map_err(|source| SandboxError::Bind {
                addr: prepared.addr,
                source,
            })?;
        let shared = prepared.shared.clone();
        let acceptor = prepared.acceptor.clone();
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("bearer-sandbox".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, shared, acceptor, stopped).await,
                        Err(error) => eprintln!("bearer-sandbox: cannot listen: {error}"),
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(SandboxError::Runtime)?;
        Ok(prepared.into_sandbox(stop, Runner::Thread(thread)))
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` or `https://ADDR`.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The URL of `path` (which starts with `/`, and may have a query) on the sandbox.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The token endpoint's URL.
    pub fn token_url(&self) -> String {
        self.url(TOKEN_PATH)
    }

    /// The protected API's URL for a search of `query`.
    pub fn search_url(&self, query: &str) -> String {
        self.url(&format!("{SEARCH_PATH}?query={}", percent_encode(query)))
    }

    /// The admin key (`X-Admin-Key`).
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// The sandbox's clock; give it to the client under test so both share time.
    pub fn clock(&self) -> SandboxClock {
        self.shared.clock.clone()
    }

    /// The sandbox's current time.
    pub fn now(&self) -> SystemTime {
        self.shared.clock.now()
    }

    /// Moves the sandbox's clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// What the server did with connections so far: open now, accepted, refused over the cap,
    /// closed by each time-out.
    pub fn connections(&self) -> ConnectionStats {
        self.shared.connections.stats()
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The PEM of the test CA that signed the server certificate, when it serves HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Runs `f` on the provider, under its lock (for anything the helpers below do not cover).
    pub fn with_provider<R>(&self, f: impl FnOnce(&mut Provider) -> R) -> R {
        self.shared.with(f)
    }

    /// Creates an active application with generated keys.
    pub fn create_app(&self) -> Result<AppKeys, ProviderError> {
        self.with_provider(|p| p.create_app(None))
    }

    /// Creates an active application with these keys.
    pub fn create_app_with_keys(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<AppKeys, ProviderError> {
        self.with_provider(|p| p.create_app(Some(AppKeys::new(client_id, client_secret))))
    }

    /// Every application, with its keys.
    pub fn applications(&self) -> Vec<ApplicationInfo> {
        self.with_provider(|p| p.applications())
    }

    /// Approves a pending or disabled application (by id or client id).
    pub fn approve_app(&self, app: &str) -> Result<AppKeys, ProviderError> {
        self.with_provider(|p| p.approve_app(app))
    }

    /// Disables an active application (by id or client id).
    pub fn disable_app(&self, app: &str) -> Result<(), ProviderError> {
        self.with_provider(|p| p.disable_app(app))
    }

    /// The counters now.
    pub fn counters(&self) -> Counters {
        let now = self.now();
        self.with_provider(|p| p.counters(now))
    }

    /// Sets the counters to zero.
    pub fn reset_counters(&self) {
        self.with_provider(Provider::reset_counters);
    }

    /// Queues `fault` for the next `count` answers of `target`; returns how many were queued.
    pub fn inject(&self, target: FaultTarget, fault: Fault, count: usize) -> usize {
        self.with_provider(|p| p.inject(target, fault, count))
    }

    /// Drops every queued fault; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        self.with_provider(Provider::clear_faults)
    }

    /// Forgets the application's refresh token, so the next refresh gets `invalid_grant`.
    pub fn forget_refresh_token(&self, app: &str) -> Result<bool, ProviderError> {
        self.with_provider(|p| p.forget_refresh_token(app))
    }

    /// Revokes the application's latest access token, so the API answers `invalid_token`.
    pub fn revoke_access_token(&self, app: &str) -> Result<bool, ProviderError> {
        self.with_provider(|p| p.revoke_access_token(app))
    }

    /// Switches the quota headers on or off.
    pub fn set_quota_headers(&self, on: bool) {
        self.with_provider(|p| p.set_quota_headers(on));
    }

    /// Changes the plan.
    pub fn set_plan(&self, plan: PlanLimits) {
        self.with_provider(|p| p.set_plan(plan));
    }

    /// Changes the lifetime of access tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.with_provider(|p| p.set_token_ttl(ttl));
    }

    /// Stops accepting, lets requests in progress finish (up to 2 s), and waits until the server
    /// has stopped.
    pub async fn shutdown(mut self) {
        self.release_all();
        self.stop.take();
        match self.runner.take() {
            Some(Runner::Task(task)) => {
                let _ = task.await;
            }
            Some(Runner::Thread(thread)) => {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            }
            None => {}
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Held answers go, so their connections can finish; dropping the sender stops the
        // accept loop.
        self.release_all();
        self.stop.take();
        if let Some(Runner::Thread(thread)) = self.runner.take() {
            let _ = thread.join();
        }
    }
}

/// Percent-encodes everything but the URL-unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The accept loop; ends when `stop` fires or its sender is dropped.
async fn serve(
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
    let io = ConnIo {
        _open: open,
        tcp,
        control: control.clone(),
    };
    let served = {
        let (shared, control) = (shared.clone(), control.clone());
        async move {
            match acceptor {
                None => serve_connection(io, shared, control, watcher).await,
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await
                    {
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

/// Answers one request: reads the body (capped), asks the provider, carries out the effect.
async fn answer(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    control: Arc<ConnControl>,
) -> Result<Response<SandboxBody>, Abort> {
    let _in_flight = control.activity.request();
    let max = shared.max_body;
    // Read past the cap (discarding) up to a drain limit, so the client finishes sending
    // and reads the 413 instead of a reset; beyond that, give up on the connection.
    let drain_limit = max.saturating_mul(64).max(1 << 20);
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, mut body) = request.into_parts();
    let mut bytes = Vec::new();
    let close = if declared.is_some_and(|n| n > drain_limit as u64) {
        // Do not read at all: answer 413 from the declared length.
        bytes.resize(max + 1, 0);
        true
    } else {
        let read = read_body(&mut body, &mut bytes, max, drain_limit);
        match tokio::time::timeout(shared.limits.body_read_timeout, read).await {
            Ok(read) => read?,
            Err(_) => {
                shared.connections.body_timed_out();
                return Err(Abort);
            }
        }
    };
    let oversized = bytes.len() > max;
    let mut request = Request::from_parts(parts, bytes);
    if shared.tls {
        // The pages write absolute URLs (sample code); HTTP/1.1 requests do not carry a scheme.
        request.extensions_mut().insert(http::uri::Scheme::HTTPS);
    }
    let now = shared.clock.now();
    let response = shared.with(|provider| provider.handle(now, request));
    let (mut parts, body) = response.into_parts();
    if let Some(date) = crate::admin::http_date(now).and_then(|d| HeaderValue::from_str(&d).ok()) {
        parts.headers.entry(DATE).or_insert(date);
    }
    if parts.status.as_u16() == respond::SERVICE_NOT_FOUND {
        parts
            .extensions
            .insert(hyper::ext::ReasonPhrase::from_static(b"Service Not Found"));
    }
    if oversized || close {
        parts
            .headers
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    let mut body = SandboxBody::full(body);
    match parts.extensions.remove::<Effect>() {
        None => {}
        Some(Effect::AdvanceClock(by)) => shared.clock.advance(by),
        Some(Effect::Hold(id)) => hold::wait_released(&shared, id).await,
        Some(Effect::Release) => shared.changes.notify(),
        Some(Effect::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Effect::Reset) => {
            control.reset.store(true, Ordering::SeqCst);
            return Err(Abort);
        }
        Some(Effect::Truncate) => {
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            body = body.truncated();
        }
    }
    if parts.status == StatusCode::SWITCHING_PROTOCOLS {
        // The provider never upgrades; never let a 101 through.
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
    }
    Ok(Response::from_parts(parts, body))
}

/// Reads a request body into `bytes`, keeping at most `max + 1` bytes and discarding the rest up
/// to `drain_limit`; whether the connection must close (more than that was sent). An error when
/// the client broke off mid-body.
async fn read_body(
    body: &mut Incoming,
    bytes: &mut Vec<u8>,
    max: usize,
    drain_limit: usize,
) -> Result<bool, Abort> {
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Abort);
        };
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            let room = (max + 1).saturating_sub(bytes.len());
            bytes.extend_from_slice(&data[..data.len().min(room)]);
            if seen > drain_limit {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The error that makes hyper drop a connection (a reset, a truncated body, a broken request).
#[derive(Debug)]
pub(crate) struct Abort;

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection aborted by the sandbox")
    }
}

impl std::error::Error for Abort {}

/// A response body: all of it, or the first half followed by an error (truncation).
pub(crate) struct SandboxBody {
    data: Option<Bytes>,
    len: usize,
    cut: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SandboxBody {
    fn full(body: Vec<u8>) -> Self {
        Self {
            len: body.len(),
            data: Some(Bytes::from(body)),
            cut: None,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn truncated(self) -> Self {
        let data = self.data.unwrap_or_default();
        let half = data.slice(..data.len() / 2);
        Self {
            len: half.len(),
            data: Some(half),
            cut: Some(Box::pin(tokio::time::sleep(TRUNCATE_LINGER))),
        }
    }
}

impl Body for SandboxBody {
    type Data = Bytes;
    type Error = Abort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Abort>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take() {
            if !data.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
        }
        match &mut this.cut {
            // Wait so the partial body is flushed, then fail so the connection is cut.
            Some(sleep) => match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.cut = None;
                    Poll::Ready(Some(Err(Abort)))
                }
                Poll::Pending => Poll::Pending,
            },
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.cut.is_none() && self.data.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        if self.cut.is_some() {
            SizeHint::default()
        } else {
            SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
        }
    }
}

/// Per-connection state shared between the service and the socket wrapper.
#[derive(Debug, Default)]
struct ConnControl {
    reset: AtomicBool,
    /// Bytes and requests, for the connection's watchdog.
    activity: Arc<Activity>,
}

/// The TCP stream, able to reset itself: once `reset` is set, every operation fails and the
/// socket is closed with `SO_LINGER` 0, which sends a TCP RST. Its slot among the open
/// connections is given back before the socket closes (fields drop in order).
struct ConnIo {
    _open: OpenConnection,
    tcp: TcpStream,
    control: Arc<ConnControl>,
}

impl ConnIo {
    fn is_reset(&self) -> bool {
        self.control.reset.load(Ordering::SeqCst)
    }

    /// Notes bytes sent, for the watchdog.
    fn sent(&self, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &poll {
            if *n > 0 {
                self.control.activity.sent();
            }
        }
        poll
    }
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "reset by the sandbox")
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.is_reset() {
            let _ = self.tcp.set_zero_linger();
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.control.activity.received();
        }
        poll
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        let poll = Pin::new(&mut this.tcp).poll_write(cx, buf);
        this.sent(poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        let poll = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        this.sent(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(percent_encode("privacy"), "privacy");
    }
}
