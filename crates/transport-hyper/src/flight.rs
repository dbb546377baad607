//! How a task waits for the shared token state: a [`Notify`] that wakes the tasks waiting for
//! a token request in flight, and `tokio::time` sleeps measured on the client's clock for
//! backoff, pacing and `Retry-After`. The state itself, behind a std mutex never held across an
//! `.await`, and what it decides, is [`TokenState`]'s.
//!
//! Invariants:
//! - one token request at a time (the machine's single flight); the task that gets
//!   [`Next::Fetch`] sends it, the others await the notification, bounded by the machine's
//!   deadline: no polling, no spinning;
//! - cancellation safe: the fetching future holds a [`Fetch`](bearer_client_core::Fetch); if
//!   the future is dropped mid-request, it reports the request abandoned and wakes the waiters,
//!   and the first of them to poll the machine sends the next one;
//! - events are delivered after the lock is released.

use crate::net::{self, HttpClient};
use bearer_client_core::{Error, HttpSettings, Next, Purpose, TokenState, WaitCause};
use bearer_protocol::{Bearer, TokenRequest};
use std::pin::pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Everything clones of a client (and its layers) share.
pub(crate) struct Shared {
    pub(crate) state: TokenState,
    changed: Notify,
    pub(crate) http: HttpClient,
    pub(crate) settings: HttpSettings,
    /// Dropped with the last handle: tells the background renewer to stop.
    pub(crate) renewer_stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl Shared {
    pub(crate) fn new(state: TokenState, http: HttpClient, settings: HttpSettings) -> Self {
        Self {
            state,
            changed: Notify::new(),
            http,
            settings,
            renewer_stop: Mutex::new(None),
        }
    }

    /// A bearer token for `purpose`: sends the token request when this task is the one to,
    /// awaits another task's, sleeps through backoff and pacing, at most `max_wait` in all.
    pub(crate) async fn authorize(&self, purpose: Purpose) -> Result<Bearer, Error> {
        // The hot path (a valid token) asks the machine once: no clock read for the wait, no
        // registration with the `Notify`. Anything else goes round the loop below.
        let mut started = None;
        loop {
            // Registered before the machine is asked, so that a request ending between the
            // answer and the await still wakes this task; not on the first try, which only
            // awaits after asking again, registered.
            let mut woken = pin!(self.changed.notified());
            if started.is_some() {
                woken.as_mut().enable();
            }
            let waited = started.map_or(Duration::ZERO, |at: Instant| at.elapsed());
            // Released, and its events delivered, before any await.
            let next = self.state.lock().next(purpose, waited);
            let first = started.is_none();
            if first {
                started = Some(Instant::now());
            }
            match next? {
                Next::Authorized(bearer) => return Ok(bearer),
                Next::Fetch(request) => self.fetch(request).await,
                // Not registered yet: ask again, registered.
                Next::AwaitFlight(_) if first => {}
                Next::AwaitFlight(timeout) => {
                    let _ = tokio::time::timeout(timeout, woken).await;
                }
                Next::Sleep { until, cause } => self.sleep_until(until, cause).await,
            }
        }
    }

    /// Sleeps (holding no lock) until `until` on the client's clock, at least a millisecond so
    /// that a clock standing still cannot make a caller spin.
    pub(crate) async fn sleep_until(&self, until: SystemTime, cause: WaitCause) {
        let left = self.state.announce_wait(until, cause);
        tokio::time::sleep(left.max(Duration::from_millis(1))).await;
    }

    /// Sends one token request (holding no lock) and feeds its outcome. If this future is
    /// dropped before the answer, the request is reported abandoned and the waiters are woken.
    ///
    /// With a fleet store, whose steps block, those steps run off the reactor
    /// ([`tokio::task::block_in_place`] on a multi-threaded runtime), and the request may be
    /// settled by another process's tokens instead.
    async fn fetch(&self, request: TokenRequest) {
        let wake = || self.changed.notify_waiters();
        let Some((fetch, request)) = self.blocking(|| self.state.fetch(request, wake)) else {
            self.changed.notify_waiters();
            return;
        };
        let outcome = fetch
            .instrument(net::exchange(&self.http, &self.settings, request))
            .await;
        self.blocking(|| drop(fetch.finish(outcome)));
    }

    /// Runs `f`, which may block on the fleet store, without stalling the other tasks of a
    /// multi-threaded runtime; without a fleet store it runs in place.
    fn blocking<R>(&self, f: impl FnOnce() -> R) -> R {
        let multi_thread = self.state.has_fleet()
            && tokio::runtime::Handle::try_current().is_ok_and(|handle| {
                handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
            });
        if multi_thread {
            tokio::task::block_in_place(f)
        } else {
            f()
        }
    }
}
