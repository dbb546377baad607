//! [`Fetch`]: one token request on its way, from [`TokenState::fetch`] until its outcome is fed
//! back — or until it is dropped unfinished (its thread unwound, its future was cancelled), in
//! which case it is reported abandoned, so that the machine is never wedged.

use crate::state::{Locked, TokenState};
use crate::telemetry::TokenRequestTelemetry;
use bearer_protocol::{PendingToken, TransportFailure};

/// A token request being sent. Finish it with [`Fetch::finish`]; dropped unfinished, it reports
/// the request abandoned and wakes the waiters. It holds the protocol's [`PendingToken`], which
/// only one outcome can consume.
#[must_use = "a fetch reports its request abandoned unless it is finished"]
pub struct Fetch<'a, W: Fn()> {
    state: &'a TokenState,
    /// `None` once finished.
    pending: Option<PendingToken>,
    /// The request's span and start time; `None` once finished.
    telemetry: Option<TokenRequestTelemetry>,
    wake: W,
}

impl<'a, W: Fn()> Fetch<'a, W> {
    pub(crate) fn new(
        state: &'a TokenState,
        pending: PendingToken,
        telemetry: TokenRequestTelemetry,
        wake: W,
    ) -> Self {
        Self {
            state,
            pending: Some(pending),
            telemetry: Some(telemetry),
            wake,
        }
    }

    /// Runs `f` (the blocking exchange) inside the token request's span (`bearer::token`,
    /// `token_request`, with the `tracing` feature), so that what the transport logs meanwhile
    /// is attributed to it.
    #[inline]
    pub fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        if let Some(telemetry) = &self.telemetry {
            return telemetry.span().in_scope(f);
        }
        f()
    }

    /// `future` (the async exchange), entering the token request's span each time it is
    /// polled (with the `tracing` feature; as it is without).
    #[inline]
    pub fn instrument<F: std::future::Future>(
        &self,
        future: F,
    ) -> impl std::future::Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        {
            let span = self
                .telemetry
                .as_ref()
                .map_or_else(tracing::Span::none, |t| t.span().clone());
            tracing::Instrument::instrument(future, span)
        }
        #[cfg(not(feature = "tracing"))]
        future
    }

    /// Feeds the request's outcome (its answer, or how the transport failed) to the machine,
    /// saves and queues what it reports, wakes the waiters, and returns the token state still
    /// locked (the events are delivered once it is released).
    pub fn finish(
        mut self,
        outcome: Result<http::Response<Vec<u8>>, TransportFailure>,
    ) -> Locked<'a> {
        let state = self.state;
        if let (Some(pending), Some(telemetry)) = (self.pending.take(), self.telemetry.take()) {
            state.finish(pending, telemetry, outcome);
        }
        (self.wake)();
        state.lock()
    }
}

impl<W: Fn()> Drop for Fetch<'_, W> {
    fn drop(&mut self) {
        if let (Some(pending), Some(telemetry)) = (self.pending.take(), self.telemetry.take()) {
            self.state.abandon(pending, telemetry);
            (self.wake)();
        }
    }
}
