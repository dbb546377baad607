//! [`Fetch`]: one token request on its way, from [`TokenState::fetch`] until its outcome is fed
//! back — or until it is dropped unfinished (its thread unwound, its future was cancelled), in
//! which case it is reported abandoned, so that the machine is never wedged.

use crate::state::{Locked, TokenState};
use bearer_protocol::{PendingToken, TransportFailure};

/// A token request being sent. Finish it with [`Fetch::finish`]; dropped unfinished, it reports
/// the request abandoned and wakes the waiters. It holds the protocol's [`PendingToken`], which
/// only one outcome can consume.
#[must_use = "a fetch reports its request abandoned unless it is finished"]
pub struct Fetch<'a, W: Fn()> {
    state: &'a TokenState,
    /// `None` once finished.
    pending: Option<PendingToken>,
    wake: W,
}

impl<'a, W: Fn()> Fetch<'a, W> {
    pub(crate) fn new(state: &'a TokenState, pending: PendingToken, wake: W) -> Self {
        Self {
            state,
            pending: Some(pending),
            wake,
        }
    }

    /// Feeds the request's outcome (its answer, or how the transport failed) to the machine,
    /// saves and queues what it reports, wakes the waiters, and returns the token state still
    /// locked (the events are delivered once it is released).
    pub fn finish(
        mut self,
        outcome: Result<http::Response<Vec<u8>>, TransportFailure>,
    ) -> Locked<'a> {
        let state = self.state;
        if let Some(pending) = self.pending.take() {
            state.finish(pending, outcome);
        }
        (self.wake)();
        state.lock()
    }
}

impl<W: Fn()> Drop for Fetch<'_, W> {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            self.state.abandon(pending);
            (self.wake)();
        }
    }
}
