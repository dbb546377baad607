//! [`Sandbox`]: the handle of a running sandbox. It starts the server (on the caller's runtime
//! or on its own thread), gives the URLs, clock and counters, drives the provider for tests,
//! and stops the server when dropped.

use super::accept::serve;
use super::config::SandboxConfig;
use super::shared::{Prepared, Shared};
use crate::clock::SandboxClock;
use crate::counters::Counters;
use crate::error::{ProviderError, SandboxError};
use crate::faults::{Fault, FaultTarget};
use crate::limits::ConnectionStats;
use crate::platform::{AppKeys, ApplicationInfo, PlanLimits};
use crate::provider::{Provider, SEARCH_PATH, TOKEN_PATH};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Where the server runs: a task on the caller's runtime, or a thread with its own.
pub(super) enum Runner {
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

impl Sandbox {
    /// The handle of a server that runs.
    fn running(prepared: Prepared, stop: oneshot::Sender<()>, runner: Runner) -> Sandbox {
        Sandbox {
            addr: prepared.addr,
            tls: prepared.tls,
            ca_pem: prepared.ca_pem,
            admin_key: prepared.admin_key,
            shared: prepared.shared,
            stop: Some(stop),
            runner: Some(runner),
        }
    }

    /// Starts the sandbox on the current tokio runtime (it must be awaited on one) and returns
    /// once it listens.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let prepared = Prepared::new(config)?;
        let listener = TcpListener::from_std(prepared.listener()?)
            .map_err(|source| prepared.bind_error(source))?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(
            listener,
            prepared.shared.clone(),
            prepared.acceptor.clone(),
            stopped,
        ));
        Ok(Self::running(prepared, stop, Runner::Task(task)))
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
        let listener = prepared.listener()?;
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
        Ok(Self::running(prepared, stop, Runner::Thread(thread)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(percent_encode("privacy"), "privacy");
    }
}
