//! What a client reports to an observer: [`ClientEvent`], with [`StoreOperation`] and
//! [`WaitCause`].

pub use bearer_protocol::WaitCause;
use bearer_protocol::{Failure, RequestId, StoredTokens};
use std::fmt;
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
        /// The request (its grant: [`RequestId::grant`]).
        request: RequestId,
    },
    /// New tokens were adopted (and saved, when the client has a store): the first ones, or
    /// a renewal.
    TokensChanged {
        /// The request that brought them (its grant: [`RequestId::grant`]).
        request: RequestId,
        /// The tokens; a rotated refresh token replaces the previous one, which is now void.
        tokens: StoredTokens,
        /// Whether they are the client's first tokens (none were held): not a renewal.
        first: bool,
    },
    /// A token request did not bring tokens; the client backs off, falls back or reports.
    TokenRequestFailed {
        /// The request (its grant: [`RequestId::grant`]).
        request: RequestId,
        /// What went wrong (server text in it is cleaned, the client's secrets removed).
        failure: Failure,
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
    LateAnswerIgnored {
        /// The request answered late.
        request: RequestId,
    },
    /// The token store failed; the client keeps working with the tokens it holds in memory.
    StoreFailed {
        /// What the client asked of the store.
        operation: StoreOperation,
        /// The store's error message.
        message: String,
    },
    /// What the fleet coordination did (with a fleet store): the store unreachable or back,
    /// tokens adopted from another process, a renewal for the fleet.
    Fleet(bearer_protocol::fleet::Event),
    /// The fleet store recovered from something (a corrupt record set aside).
    StoreRecovered {
        /// What the store did.
        message: String,
    },
    /// An event of the state machine that this version of the client does not name yet.
    Other(bearer_protocol::Event),
    /// A call is sleeping before it goes on.
    Waiting {
        /// Why.
        cause: WaitCause,
        /// Until when (on the client's clock).
        until: SystemTime,
    },
}

impl fmt::Display for ClientEvent {
    /// One line for a log, never a token: "token request sent (grant_type=refresh_token)",
    /// "new tokens by refresh_token, valid until Tue, 14 Nov 2023 01:00:00 GMT", …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TokenRequested { request } => {
                write!(f, "token request sent (grant_type={})", request.grant())
            }
            Self::TokensChanged {
                request,
                tokens,
                first,
            } => write!(
                f,
                "{} by {}, valid until {}{}",
                if *first {
                    "first tokens"
                } else {
                    "tokens renewed"
                },
                request.grant(),
                date(tokens.expires_at),
                if tokens.refresh_token.is_some() {
                    ", with a refresh token"
                } else {
                    ""
                }
            ),
            Self::TokenRequestFailed { request, failure } => {
                write!(f, "token request ({}) failed: {failure}", request.grant())
            }
            Self::RefreshTokenRefused => f.write_str(
                "the refresh token was refused; the next token request uses client credentials",
            ),
            Self::TokenAllowanceExceeded {
                token_requests,
                accounted,
            } => write!(
                f,
                "{token_requests} token requests today, beyond the {accounted} the plan accounts for"
            ),
            Self::LateAnswerIgnored { .. } => {
                f.write_str("the answer to an abandoned token request was not adopted")
            }
            Self::StoreFailed { operation, message } => {
                let what = match operation {
                    StoreOperation::Load => "load",
                    StoreOperation::Save => "save",
                    StoreOperation::Share => "share tokens with the fleet",
                };
                write!(f, "the token store could not {what}: {message}")
            }
            Self::Fleet(event) => write!(f, "fleet: {event:?}"),
            Self::StoreRecovered { message } => write!(f, "the fleet store recovered: {message}"),
            Self::Other(event) => write!(f, "{event:?}"),
            Self::Waiting { cause, until } => {
                write!(f, "waiting until {} ({})", date(*until), cause.describe())
            }
        }
    }
}

/// An instant as an HTTP date, or the seconds since the epoch when it cannot be one.
fn date(at: SystemTime) -> String {
    match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) if since.as_secs() < 253_402_300_800 => httpdate::fmt_http_date(at),
        _ => format!("{at:?}"),
    }
}

/// What the client asked of its token store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOperation {
    /// Loading saved tokens when the client was built.
    Load,
    /// Saving new tokens before their first use.
    Save,
    /// A step of the fleet coordination (read, lease, write, release, wait).
    Share,
}
