//! The server's limits on connections: time-outs for idle connections, request heads and request
//! bodies, and a cap on how many connections are open at once.
//!
//! Each connection has a watchdog that closes it when it has been idle (no request in progress,
//! nothing received) for [`ConnectionLimits::idle_timeout`], or when a request head started
//! arriving and is not complete after [`ConnectionLimits::header_read_timeout`]. A request's
//! body must arrive within [`ConnectionLimits::body_read_timeout`] of its head, or the connection
//! is closed. A connection accepted while [`ConnectionLimits::max_connections`] are open is
//! refused: plain HTTP gets a short `503` with `Connection: close`, TLS is closed at once.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a refused connection is kept to send its `503` and read what the client sent
/// meanwhile (so the close is not a reset that loses the answer).
const REFUSAL_LINGER: Duration = Duration::from_secs(1);
/// Most bytes read from a refused connection before it is closed.
const REFUSAL_DRAIN: usize = 64 * 1024;
/// Most refused connections kept lingering at once; beyond, they are closed at once.
const MAX_LINGERING_REFUSALS: usize = 64;

/// The answer to a connection over the cap.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Content-Length: 48\r\nRetry-After: 1\r\nConnection: close\r\n\r\n\
bearer-sandbox: too many open connections; retry";

/// Limits on the server's connections ([`SandboxConfig::limits`](crate::SandboxConfig::limits),
/// the `--idle-timeout`, `--header-read-timeout`, `--body-read-timeout` and `--max-connections`
/// options of `bearer-sandbox serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A connection with no request in progress that receives nothing for this long is closed
    /// (keep-alive connections included). Default 30 s.
    pub idle_timeout: Duration,
    /// Once the first bytes of a request head arrive, the whole head must arrive within this
    /// time, or the connection is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this time of its head, or the connection is closed
    /// without an answer. Default 30 s.
    pub body_read_timeout: Duration,
    /// Most connections open at once; one more is refused (`503`, `Retry-After: 1`,
    /// `Connection: close` over plain HTTP; closed at once over TLS). Default 512.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 512,
        }
    }
}

/// What the server did with connections so far ([`Sandbox::connections`](crate::Sandbox::connections)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Connections open now.
    pub open: usize,
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections refused because [`ConnectionLimits::max_connections`] were open.
    pub refused: u64,
    /// Connections closed after [`ConnectionLimits::idle_timeout`].
    pub closed_idle: u64,
    /// Connections closed after [`ConnectionLimits::header_read_timeout`].
    pub closed_header_timeout: u64,
    /// Connections closed after [`ConnectionLimits::body_read_timeout`].
    pub closed_body_timeout: u64,
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    Idle,
    HeaderTimeout,
}

/// The server's connection counters.
#[derive(Debug, Default)]
pub(crate) struct ConnCounters {
    open: AtomicUsize,
    lingering: AtomicUsize,
    accepted: AtomicU64,
    refused: AtomicU64,
    closed_idle: AtomicU64,
    closed_header_timeout: AtomicU64,
    closed_body_timeout: AtomicU64,
}

impl ConnCounters {
    /// Counts a new connection as open, unless `max` are; the guard counts it closed.
    pub(crate) fn open(self: &Arc<Self>, max: usize) -> Option<OpenConnection> {
        let admitted = self
            .open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        if admitted {
            self.accepted.fetch_add(1, Ordering::Relaxed);
            Some(OpenConnection(self.clone()))
        } else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            None
        }
    }

    pub(crate) fn closed(&self, why: Closed) {
        let counter = match why {
            Closed::Idle => &self.closed_idle,
            Closed::HeaderTimeout => &self.closed_header_timeout,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn body_timed_out(&self) {
        self.closed_body_timeout.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> ConnectionStats {
        ConnectionStats {
            open: self.open.load(Ordering::SeqCst),
            accepted: self.accepted.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            closed_idle: self.closed_idle.load(Ordering::Relaxed),
            closed_header_timeout: self.closed_header_timeout.load(Ordering::Relaxed),
            closed_body_timeout: self.closed_body_timeout.load(Ordering::Relaxed),
        }
    }

    /// Refuses a connection over the cap: over plain HTTP, a `503` is sent and what the client
    /// sent is read for a moment, so the close does not reset the answer away.
    pub(crate) async fn refuse(self: Arc<Self>, mut tcp: TcpStream, plain: bool) {
        let lingering = self.lingering.fetch_add(1, Ordering::SeqCst);
        if plain && lingering < MAX_LINGERING_REFUSALS {
            let _ = tokio::time::timeout(REFUSAL_LINGER, async {
                tcp.write_all(REFUSAL).await?;
                tcp.shutdown().await?;
                let mut buf = [0u8; 4096];
                let mut drained = 0;
                while drained < REFUSAL_DRAIN {
                    match tcp.read(&mut buf).await? {
                        0 => break,
                        n => drained += n,
                    }
                }
                Ok::<_, std::io::Error>(())
            })
            .await;
        }
        self.lingering.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An open connection; counted closed when dropped.
#[derive(Debug)]
pub(crate) struct OpenConnection(Arc<ConnCounters>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a connection is doing, for its watchdog.
#[derive(Debug)]
pub(crate) struct Activity {
    state: Mutex<ActivityState>,
    /// Wakes the watchdog when its deadline may come earlier (a head starts, a request ends).
    changed: Notify,
}

#[derive(Debug)]
struct ActivityState {
    /// Requests whose head has arrived and whose answer is not given yet.
    in_flight: usize,
    /// The last byte received or sent, or the last request's end.
    last: Instant,
    /// When the first bytes arrived while no request was in progress: a head is coming.
    head_started: Option<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                last: Instant::now(),
                head_started: None,
            }),
            changed: Notify::new(),
        }
    }
}

impl Activity {
    fn state(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes were received.
    pub(crate) fn received(&self) {
        let mut state = self.state();
        let now = Instant::now();
        state.last = now;
        if state.in_flight == 0 && state.head_started.is_none() {
            state.head_started = Some(now);
            drop(state);
            self.changed.notify_one();
        }
    }

    /// Bytes were sent.
    pub(crate) fn sent(&self) {
        self.state().last = Instant::now();
    }

    /// A request's head has arrived; the guard marks its answer given.
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        let mut state = self.state();
        state.in_flight += 1;
        state.head_started = None;
        state.last = Instant::now();
        InFlight(self.clone())
    }

    /// When the connection must be closed if nothing happens, and why; `None` while a request
    /// is in progress.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, Closed)> {
        let state = self.state();
        if state.in_flight > 0 {
            return None;
        }
        Some(match state.head_started {
            Some(started) => (started + limits.header_read_timeout, Closed::HeaderTimeout),
            None => (state.last + limits.idle_timeout, Closed::Idle),
        })
    }
}

/// A request in progress on a connection.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.last = Instant::now();
        drop(state);
        self.0.changed.notify_one();
    }
}

/// Returns when the connection has been idle, or has been reading a request head, too long.
pub(crate) async fn watchdog(activity: &Activity, limits: &ConnectionLimits) -> Closed {
    loop {
        // A change that only moves the deadline later needs no wake-up: it is seen at the old
        // deadline. One that may move it earlier notifies (a permit is kept if none waits).
        match activity.deadline(limits) {
            Some((deadline, why)) if Instant::now() >= deadline => return why,
            Some((deadline, _)) => {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = activity.changed.notified() => {}
                }
            }
            // A request is in progress until it notifies its end.
            None => activity.changed.notified().await,
        }
    }
}
