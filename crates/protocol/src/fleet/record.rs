//! What the fleet shares in its store, and what the store answers.

use crate::machine::StoredTokens;
use crate::machine::tokens::unix_seconds;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One credential's shared record: its tokens, a generation number and the quota day's counts.
///
/// The store keeps one per credential (keyed by [`Credential`](crate::Credential): token URL
/// and client id). Every write that changes it carries a generation one above the one it
/// replaces, and the store applies it only if its generation is still the expected one.
///
/// Stores keep it as JSON: `{"tokens":{…StoredTokens…},"generation":3,
/// "day":{"resets_at":1700006400,"calls":120,"token_requests":2}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The fleet's current tokens, if any process has obtained some.
    pub tokens: Option<StoredTokens>,
    /// Counts the writes: 0 for a record never written.
    pub generation: u64,
    /// The quota day's counts.
    pub day: QuotaDay,
}

/// The counts of one quota day (a UTC day), fleet-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaDay {
    /// When the day ends: the next 00:00 UTC after it began (seconds since the epoch in JSON).
    #[serde(with = "unix_seconds")]
    pub resets_at: SystemTime,
    /// API calls made in the day, as flushed by the processes.
    pub calls: u64,
    /// Token requests sent in the day.
    pub token_requests: u32,
}

impl QuotaDay {
    /// An empty day containing `now`.
    pub fn starting(now: SystemTime) -> Self {
        Self {
            resets_at: next_midnight(now),
            calls: 0,
            token_requests: 0,
        }
    }

    /// This day, or an empty one if `now` is past its reset.
    pub fn current(self, now: SystemTime) -> Self {
        if now >= self.resets_at {
            Self::starting(now)
        } else {
            self
        }
    }
}

const DAY: u64 = 86_400;

fn next_midnight(now: SystemTime) -> SystemTime {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs((secs / DAY).saturating_add(1).saturating_mul(DAY))
}

/// Who holds a renewal lease: a random id drawn from the coordinator's seed for each lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseId(pub u64);

/// What the store answered to a [`Step`](super::Step). Feed it to
/// [`Coordinator::handle_store`](super::Coordinator::handle_store).
#[derive(Debug, Clone)]
pub enum StoreAnswer {
    /// To [`Step::Read`](super::Step::Read): the record (`None`: none yet).
    Record(Option<Record>),
    /// To [`Step::TakeLease`](super::Step::TakeLease): the record read atomically with the
    /// attempt, and whether the lease was won.
    Lease {
        /// The record as it was when the lease was taken or refused.
        record: Option<Record>,
        /// Won, or held by another holder.
        outcome: LeaseOutcome,
    },
    /// To [`Step::Write`](super::Step::Write): the record was replaced.
    Written,
    /// To [`Step::Write`](super::Step::Write): refused, because the generation moved or a
    /// lease the write required is no longer the caller's; the record as it now is.
    Conflict(Option<Record>),
    /// To [`Step::Release`](super::Step::Release): done (whether or not it was still ours).
    Released,
    /// To [`Step::Wait`](super::Step::Wait): the record changed, or the wait ended.
    Woken,
    /// To any store step: the store did not answer (refused, timed out, unreachable).
    Unreachable,
}

/// How a lease attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The caller holds the lease now.
    Won,
    /// Another holder has it, for `remaining` more (as the store measures it).
    Held {
        /// The lease's remaining time to live.
        remaining: Duration,
    },
}

/// How a token request sent on [`Step::Send`](super::Step::Send) ended. Feed it to
/// [`Coordinator::handle_token`](super::Coordinator::handle_token).
#[derive(Debug, Clone)]
pub enum TokenOutcome {
    /// New tokens (with `expires_at` computed on the caller's clock).
    Tokens(StoredTokens),
    /// The refresh token was refused (`invalid_grant`).
    InvalidGrant,
    /// Any other failure: transport, 5xx, a refusal that is not `invalid_grant`.
    Failed,
    /// No answer by the step's `abandon_at`, or the caller gave up.
    Abandoned,
}
