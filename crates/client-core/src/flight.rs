//! [`Flight`] (feature `tokio`): how a task of an async transport waits for the shared
//! [`TokenState`] — a [`Notify`] that wakes the tasks waiting for a token request in flight, and
//! `tokio::time` sleeps measured on the client's clock for backoff, pacing and `Retry-After`.
//! The async transports (hyper, reqwest) share it; each passes how it sends a token request.
//! Also their optional background renewer ([`spawn_renewer`]).
//!
//! Invariants:
//! - one token request at a time (the machine's single flight); the task that gets
//!   [`Next::Fetch`] sends it, the others await the notification, bounded by the machine's
//!   deadline: no polling, no spinning;
//! - cancellation safe: the fetching future holds a [`Fetch`](crate::Fetch); if the future is
//!   dropped mid-request, it reports the request abandoned and wakes the waiters, and the
//!   first of them to poll the machine sends the next one;
//! - the state's lock is never held across an `.await`; events are delivered after it is
//!   released.

use crate::error::Error;
use crate::events::WaitCause;
use crate::state::{Next, Purpose, TokenState};
use bearer_protocol::{Bearer, TokenRequest, TransportFailure};
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

/// What an async transport sends a token request with: the request in, its answer (body read,
/// at most the protocol's `MAX_BODY_BYTES` + 1 bytes) or how the transport failed out, within
/// the token time-out.
pub type TokenAnswer = Result<http::Response<Vec<u8>>, TransportFailure>;

/// The waiting side of an async client's token state: one per client, shared by its clones.
#[derive(Debug, Default)]
pub struct Flight {
    changed: Notify,
}

impl Flight {
    /// No task waiting yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A bearer token for `purpose` from `state`: sends the token request with `send` when
    /// this task is the one to, awaits another task's, sleeps through backoff and pacing, at
    /// most the state's `max_wait` in all.
    pub async fn authorize<S, F>(
        &self,
        state: &TokenState,
        purpose: Purpose,
        send: S,
    ) -> Result<Bearer, Error>
    where
        S: Fn(http::Request<Vec<u8>>) -> F,
        F: Future<Output = TokenAnswer>,
    {
        // The hot path (a valid token) asks the machine once: no clock read for the wait, no
        // registration with the `Notify`, and a future of a few words, which a caller that
        // boxes its futures (reqwest-middleware, tower) allocates on every call. The waits
        // and the token request are a future of their own, boxed, made only when needed.
        // (Released, and its events delivered, before any await.)
        let next = state.lock().next(purpose, Duration::ZERO)?;
        match next {
            Next::Authorized(bearer) => Ok(bearer),
            first => Box::pin(self.settle(state, purpose, send, first)).await,
        }
    }

    /// Follows the machine from its `first` answer (asked unregistered) until it authorizes.
    async fn settle<S, F>(
        &self,
        state: &TokenState,
        purpose: Purpose,
        send: S,
        first: Next,
    ) -> Result<Bearer, Error>
    where
        S: Fn(http::Request<Vec<u8>>) -> F,
        F: Future<Output = TokenAnswer>,
    {
        let started = Instant::now();
        let mut first = Some(first);
        loop {
            // Registered before the machine is asked, so that a request ending between the
            // answer and the await still wakes this task; not for the first answer, which only
            // awaits after asking again, registered.
            let mut woken = pin!(self.changed.notified());
            let registered = first.is_none();
            let next = match first.take() {
                Some(next) => next,
                None => {
                    woken.as_mut().enable();
                    // Released, and its events delivered, before any await.
                    state.lock().next(purpose, started.elapsed())?
                }
            };
            match next {
                Next::Authorized(bearer) => return Ok(bearer),
                Next::Fetch(request) => self.fetch(state, request, &send).await,
                // Not registered yet: ask again, registered.
                Next::AwaitFlight(_) if !registered => {}
                Next::AwaitFlight(timeout) => {
                    let _ = tokio::time::timeout(timeout, woken).await;
                }
                Next::Sleep { until, cause } => sleep_until(state, until, cause).await,
            }
        }
    }

    /// Sends one token request (holding no lock) and feeds its outcome. If this future is
    /// dropped before the answer, the request is reported abandoned and the waiters are woken.
    ///
    /// With a fleet store, whose steps block, those steps run off the reactor
    /// ([`tokio::task::block_in_place`] on a multi-threaded runtime), and the request may be
    /// settled by another process's tokens instead.
    async fn fetch<S, F>(&self, state: &TokenState, request: TokenRequest, send: &S)
    where
        S: Fn(http::Request<Vec<u8>>) -> F,
        F: Future<Output = TokenAnswer>,
    {
        let wake = || self.changed.notify_waiters();
        let Some((fetch, request)) = blocking(state, || state.fetch(request, wake)) else {
            self.changed.notify_waiters();
            return;
        };
        let outcome = fetch.instrument(send(request)).await;
        blocking(state, || drop(fetch.finish(outcome)));
    }
}

/// Sleeps (holding no lock) until `until` on the client's clock, announced to the observer, at
/// least a millisecond so that a clock standing still cannot make a caller spin.
pub async fn sleep_until(state: &TokenState, until: SystemTime, cause: WaitCause) {
    let left = state.announce_wait(until, cause);
    tokio::time::sleep(left.max(Duration::from_millis(1))).await;
}

/// Runs `f`, which may block on the fleet store, without stalling the other tasks of a
/// multi-threaded runtime; without a fleet store it runs in place.
fn blocking<R>(state: &TokenState, f: impl FnOnce() -> R) -> R {
    let multi_thread = state.has_fleet()
        && tokio::runtime::Handle::try_current().is_ok_and(|handle| {
            handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        });
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// Default longest sleep of the background renewer between two looks at the clock.
pub const DEFAULT_RENEWAL_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// An async client's shared side as its background renewer sees it (see [`spawn_renewer`]).
pub trait Renewable: Send + Sync + 'static {
    /// The token state.
    fn state(&self) -> &TokenState;
    /// Renews a token in use (a token for [`Purpose::Renewal`]); errors are the callers' to
    /// see.
    fn renew(&self) -> impl Future<Output = ()> + Send;
}

/// Stops the background renewer when dropped: keep it in the state the client's handles share,
/// so that it goes with the last of them.
#[derive(Debug)]
pub struct RenewerGuard {
    _stop: oneshot::Sender<()>,
}

/// Starts a background renewer on the current Tokio runtime: a task that renews the token
/// shortly before it expires (at the machine's `poll_timeout`), so that no call waits on the
/// token endpoint, and renews only once a first token is held.
///
/// It holds only a [`Weak`] reference between renewals and stops as soon as the returned guard
/// is dropped. Its sleeps are `tokio::time` sleeps measured on the client's clock, and last at
/// most `check_interval`, so a wall clock that jumps (a laptop waking, a test moving the
/// sandbox clock) is noticed within that interval.
pub fn spawn_renewer<T: Renewable>(
    shared: &Arc<T>,
    check_interval: Duration,
) -> Result<RenewerGuard, Error> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::settings(
            "proactive_renewal",
            "needs a Tokio runtime: build the client from async code running on Tokio (inside #[tokio::main], say)",
        )
    })?;
    let (stop, stopped) = oneshot::channel();
    runtime.spawn(run_renewer(Arc::downgrade(shared), check_interval, stopped));
    Ok(RenewerGuard { _stop: stop })
}

async fn run_renewer<T: Renewable>(
    shared: Weak<T>,
    check_interval: Duration,
    mut stopped: oneshot::Receiver<()>,
) {
    let check_interval = check_interval.max(Duration::from_millis(1));
    loop {
        let pause = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            next_pause(&*shared, check_interval).await
        };
        // Ends when the pause is over, or at once when the guard is dropped.
        if tokio::time::timeout(pause, &mut stopped).await.is_ok() {
            return;
        }
    }
}

/// Renews if due, and says how long to sleep before looking again.
async fn next_pause<T: Renewable>(shared: &T, check_interval: Duration) -> Duration {
    let state = shared.state();
    let (next, holds_tokens) = state.next_timeout();
    let now = state.now();
    let Some(at) = next else {
        return check_interval;
    };
    if !holds_tokens {
        // Nothing to renew: the first token is fetched by the first call.
        return check_interval;
    }
    if at > now {
        return at
            .duration_since(now)
            .unwrap_or_default()
            .min(check_interval)
            .max(Duration::from_millis(1));
    }
    // Due: renew a token in use (not counted as a call).
    shared.renew().await;
    match state.next_timeout().0 {
        // Still due (the budget refused the renewal while the token works): look again later.
        Some(at) if at <= state.now() => check_interval,
        _ => Duration::from_millis(1),
    }
}
