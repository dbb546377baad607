//! What a client reports to an observer: [`ClientEvent`], with [`StoreOperation`] and
//! [`WaitCause`].

use bearer_protocol::{Grant, StoredTokens};
use std::time::SystemTime;

/// Something worth logging or counting, passed to the callback given to a client builder's
/// `on_event`.
///
/// Tokens appear only inside [`StoredTokens`], whose `Debug` hides them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A token request is being sent.
    TokenRequested {
        /// The grant it uses.
        grant: Grant,
    },
    /// New tokens were adopted (and saved, when the client has a store).
    TokensRenewed {
        /// The grant that brought them.
        grant: Grant,
        /// The tokens; a rotated refresh token replaces the previous one, which is now void.
        tokens: StoredTokens,
    },
    /// A token request did not bring tokens; the client backs off, falls back or reports.
    TokenRequestFailed {
        /// The grant it used.
        grant: Grant,
        /// What went wrong, as a sentence.
        reason: String,
    },
    /// The refresh token was refused (`invalid_grant`); the next request uses client credentials.
    RefreshTokenRefused,
    /// Token requests today went past what the plan accounts for; each one costs an API call.
    TokenAllowanceExceeded {
        /// Token requests sent in the quota day.
        token_requests: u32,
        /// What the plan accounts for.
        accounted: u32,
    },
    /// An answer came for a token request that had been abandoned; it was not adopted.
    LateAnswerIgnored,
    /// The token store failed; the client keeps working with the tokens it holds in memory.
    StoreFailed {
        /// What the client asked of the store.
        operation: StoreOperation,
        /// The store's error message.
        message: String,
    },
    /// A call is sleeping before it goes on.
    Waiting {
        /// Why.
        cause: WaitCause,
        /// Until when (on the client's clock).
        until: SystemTime,
    },
}

/// What the client asked of its token store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOperation {
    /// Loading saved tokens when the client was built.
    Load,
    /// Saving new tokens before their first use.
    Save,
}

/// Why a call sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitCause {
    /// Backing off after a transient failure of the token endpoint.
    Backoff,
    /// Pacing under the plan's queries-per-second limit.
    Pacing,
    /// The gateway answered "over queries per second" and said when to retry.
    RetryAfter,
    /// Another caller's token request is in flight.
    TokenInFlight,
    /// A token request of its own, which may take up to the token time-out.
    TokenRequest,
}

impl WaitCause {
    /// The wait in a few words, as [`Error::WaitTimedOut`](crate::Error::WaitTimedOut) names it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Backoff => "backing off after token endpoint failures",
            Self::Pacing => "pacing under the queries-per-second limit",
            Self::RetryAfter => "the gateway's Retry-After",
            Self::TokenInFlight => "another caller's token request",
            Self::TokenRequest => "a token request",
        }
    }
}
