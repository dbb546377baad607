//! [`Attempts`]: what a call does with each answer the machine has judged — deliver it, replay
//! it once with a renewed token, wait out "over queries per second" a bounded number of times —
//! and the typed errors when it may not.

use crate::error::Error;
use crate::request::challenge;
use crate::state::TokenState;
use bearer_protocol::ApiVerdict;
use http::HeaderMap;
use std::time::{Duration, SystemTime};

/// What a call does with an answer (see [`Attempts::follow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Hand the answer to the caller.
    Deliver,
    /// Send the call again now, with a fresh token.
    Replay,
    /// Sleep until then (announcing a [`WaitCause::RetryAfter`](crate::WaitCause::RetryAfter)),
    /// then send the call again.
    RetryAt(SystemTime),
}

/// What to do after an answer, for a call sent again only from a copy of its request (a
/// middleware's or a layer's, whose request may have a body that cannot be sent twice): see
/// [`Attempts::follow_spare`].
#[derive(Debug)]
pub enum Resend<T> {
    /// Hand the answer to the caller.
    Deliver,
    /// Send the copy now, with a fresh token.
    Now(T),
    /// Sleep until then (announcing a [`WaitCause::RetryAfter`](crate::WaitCause::RetryAfter)),
    /// then send the copy.
    At(T, SystemTime),
}

/// The replays and over-QPS waits one call has made.
#[derive(Debug, Clone, Default)]
pub struct Attempts {
    replayed: bool,
    over_qps: u32,
}

impl Attempts {
    /// A call not sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// What a call whose body can be sent again does with an answer judged `verdict` (the
    /// answer's headers give the challenge of a refused token).
    pub fn follow(
        &mut self,
        state: &TokenState,
        verdict: ApiVerdict,
        headers: &HeaderMap,
    ) -> Result<Answer, Error> {
        match verdict {
            ApiVerdict::Deliver => Ok(Answer::Deliver),
            ApiVerdict::Replay => self.replay(headers).map(|()| Answer::Replay),
            ApiVerdict::RetryAt(retry_at) => self
                .retry_at(state, retry_at)
                .map(|()| Answer::RetryAt(retry_at)),
            ApiVerdict::Fail(error) => Err(error.into()),
        }
    }

    /// As [`follow`](Self::follow), for a call sent again only from `spare`, the copy of its
    /// request if one could be made: without it a refused token is
    /// [`Error::TokenRefusedNotReplayable`], and an over-QPS answer is delivered as it came (as
    /// it is when no more waits are allowed).
    pub fn follow_spare<T>(
        &mut self,
        state: &TokenState,
        verdict: ApiVerdict,
        headers: &HeaderMap,
        spare: Option<T>,
    ) -> Result<Resend<T>, Error> {
        match verdict {
            ApiVerdict::Deliver => Ok(Resend::Deliver),
            ApiVerdict::Replay => {
                self.replay(headers)?;
                spare
                    .map(Resend::Now)
                    .ok_or_else(|| Error::TokenRefusedNotReplayable {
                        challenge: challenge(headers),
                    })
            }
            ApiVerdict::RetryAt(retry_at) => match spare {
                Some(spare) if self.retry_at(state, retry_at).is_ok() => {
                    Ok(Resend::At(spare, retry_at))
                }
                _ => Ok(Resend::Deliver),
            },
            ApiVerdict::Fail(error) => Err(error.into()),
        }
    }

    /// Counts a replay for a refused token: only the first is allowed; a second refusal is
    /// [`Error::TokenRefusedAfterRenewal`].
    pub fn replay(&mut self, headers: &HeaderMap) -> Result<(), Error> {
        if self.replayed {
            return Err(Error::TokenRefusedAfterRenewal {
                challenge: challenge(headers),
            });
        }
        self.replayed = true;
        crate::telemetry::replayed();
        Ok(())
    }

    /// How many times the call was sent before the next send (a replay after a stale token,
    /// an over-QPS retry): its span's `http.request.resend_count`.
    pub fn resends(&self) -> u32 {
        u32::from(self.replayed).saturating_add(self.over_qps)
    }

    /// Counts a wait for "over queries per second" until `retry_at`: allowed up to the
    /// client's `over_qps_retries` ([`Error::OverQps`] after that), and only within its
    /// `max_wait` ([`Error::WaitTimedOut`]).
    pub fn retry_at(&mut self, state: &TokenState, retry_at: SystemTime) -> Result<(), Error> {
        if self.over_qps >= state.over_qps_retries() {
            return Err(Error::OverQps {
                attempts: self.over_qps,
                retry_at,
            });
        }
        self.over_qps += 1;
        let wait = retry_at.duration_since(state.now()).unwrap_or_default();
        if wait > state.max_wait() {
            return Err(Error::wait_timed_out(
                crate::WaitCause::RetryAfter,
                Duration::ZERO,
                wait,
                state.max_wait(),
            ));
        }
        Ok(())
    }
}
