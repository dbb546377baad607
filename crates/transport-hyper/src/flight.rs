//! How a task waits for the shared token state: the [`Flight`] of `bearer-client-core` (a
//! `Notify` that wakes the tasks waiting for a token request in flight, `tokio::time` sleeps
//! measured on the client's clock, cancellation safety), sending token requests with this
//! crate's hyper-util client. The state itself, behind a std mutex never held across an
//! `.await`, and what it decides, is [`TokenState`]'s.

use crate::net::{self, HttpClient};
use bearer_client_core::{
    Error, Flight, HttpSettings, Purpose, Renewable, RenewerGuard, TokenState, WaitCause,
};
use bearer_protocol::Bearer;
use std::sync::OnceLock;
use std::time::SystemTime;

/// Everything clones of a client (and its layers) share.
pub(crate) struct Shared {
    pub(crate) state: TokenState,
    flight: Flight,
    pub(crate) http: HttpClient,
    pub(crate) settings: HttpSettings,
    /// Dropped with the last handle: tells the background renewer to stop.
    pub(crate) renewer: OnceLock<RenewerGuard>,
}

impl Shared {
    pub(crate) fn new(state: TokenState, http: HttpClient, settings: HttpSettings) -> Self {
        Self {
            state,
            flight: Flight::new(),
            http,
            settings,
            renewer: OnceLock::new(),
        }
    }

    /// A bearer token for `purpose`: sends the token request when this task is the one to,
    /// awaits another task's, sleeps through backoff and pacing, at most `max_wait` in all.
    pub(crate) async fn authorize(&self, purpose: Purpose) -> Result<Bearer, Error> {
        self.flight
            .authorize(&self.state, purpose, |request| {
                net::exchange(&self.http, &self.settings, request)
            })
            .await
    }

    /// Sleeps (holding no lock) until `until` on the client's clock, at least a millisecond so
    /// that a clock standing still cannot make a caller spin.
    pub(crate) async fn sleep_until(&self, until: SystemTime, cause: WaitCause) {
        bearer_client_core::sleep_until(&self.state, until, cause).await;
    }
}

impl Renewable for Shared {
    fn state(&self) -> &TokenState {
        &self.state
    }

    async fn renew(&self) {
        let _ = self.authorize(Purpose::Renewal).await;
    }
}
