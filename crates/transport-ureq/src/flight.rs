//! How a thread waits for the shared token state: a condition variable that wakes the threads
//! waiting for a token request in flight, and real sleeps for backoff, pacing and
//! `Retry-After`. The state itself, and what it decides, is [`TokenState`]'s.
//!
//! Invariants:
//! - one token request at a time (the machine's single flight); the thread that sends it holds
//!   no lock while it waits for the answer, and its [`Fetch`](bearer_client_core::Fetch)
//!   reports the request abandoned (and wakes the waiters) if that thread unwinds;
//! - events are delivered after the lock is released.

use crate::exchange::Exchange;
use bearer_client_core::Error;
use bearer_client_core::{Locked, Next, Purpose, TokenState, WaitCause};
use bearer_protocol::{Bearer, TokenRequest};
use std::sync::Condvar;
use std::time::{Duration, Instant, SystemTime};

/// Everything clones of a client share.
pub(crate) struct Shared {
    pub(crate) state: TokenState,
    changed: Condvar,
    pub(crate) exchange: Exchange,
}

impl Shared {
    pub(crate) fn new(state: TokenState, exchange: Exchange) -> Self {
        Self {
            state,
            changed: Condvar::new(),
            exchange,
        }
    }

    /// A bearer token for `purpose`: sends the token request when this caller is the one to,
    /// waits for another caller's, sleeps through backoff and pacing, at most `max_wait` in all.
    pub(crate) fn authorize(&self, purpose: Purpose) -> Result<Bearer, Error> {
        let started = Instant::now();
        let mut first = true;
        let mut locked = self.state.lock();
        loop {
            // The first ask has waited nothing: its token request may always go.
            let waited = if first {
                Duration::ZERO
            } else {
                started.elapsed()
            };
            first = false;
            let next = locked.next(purpose, waited);
            if let Ok(Next::AwaitFlight(timeout)) = next {
                // Woken when the request in flight ends.
                locked = locked.wait(&self.changed, timeout);
                continue;
            }
            // Released (and its events delivered) before anything else happens.
            drop(locked);
            locked = match next? {
                Next::Authorized(bearer) => return Ok(bearer),
                Next::Fetch(request) => self.fetch(request),
                Next::Sleep { until, cause } => {
                    self.sleep_until(until, cause);
                    self.state.lock()
                }
                // Waited for above, holding the lock.
                Next::AwaitFlight(_) => self.state.lock(),
            };
        }
    }

    /// Sleeps (holding no lock) until `until` on the client's clock.
    pub(crate) fn sleep_until(&self, until: SystemTime, cause: WaitCause) {
        std::thread::sleep(self.state.announce_wait(until, cause));
    }

    /// Sends one token request (holding no lock) and feeds its outcome; returns the lock. With
    /// a fleet store the request may be settled by another process's tokens instead.
    fn fetch(&self, request: TokenRequest) -> Locked<'_> {
        let Some((fetch, request)) = self.state.fetch(request, || self.changed.notify_all()) else {
            self.changed.notify_all();
            return self.state.lock();
        };
        let outcome = fetch.in_scope(|| self.exchange.token(request));
        fetch.finish(outcome)
    }
}
