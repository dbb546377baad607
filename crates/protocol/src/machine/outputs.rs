//! What the machine hands its caller: token requests to send, steps to take, waits, verdicts
//! on API answers, and events.

use super::tokens::{Bearer, StoredTokens};
use crate::error::{Error, Failure};
use std::fmt;
use std::time::SystemTime;

/// Identifies one token request, to match its outcome to it, and says which grant it used.
/// Later requests of a machine have larger numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId {
    pub(super) number: u64,
    pub(super) grant: Grant,
}

impl RequestId {
    /// The request's number: 1 for a machine's first, then counting up.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The grant the request used.
    pub fn grant(&self) -> Grant {
        self.grant
    }
}

/// Which grant a token request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grant {
    /// `grant_type=client_credentials`
    ClientCredentials,
    /// `grant_type=refresh_token`
    RefreshToken,
}

impl Grant {
    /// The `grant_type` it sends.
    pub fn as_str(&self) -> &'static str {
        match self {
            Grant::ClientCredentials => "client_credentials",
            Grant::RefreshToken => "refresh_token",
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token request for the caller to send: the HTTP request, and the [`PendingToken`] its
/// outcome is fed back with ([`into_parts`](Self::into_parts)).
///
/// `Debug` shows the id, the grant, the method, the URI, the header names (the value of
/// `Authorization` masked, the others shown) and the body's length, never the body: it holds
/// the client secret and the refresh token.
#[must_use = "a token request must be sent and its outcome fed back"]
pub struct TokenRequest {
    pub(super) pending: PendingToken,
    pub(super) request: http::Request<Vec<u8>>,
}

/// A token request on its way: the handle its one outcome is fed back with, by value, to
/// exactly one of [`handle_token_response`], [`handle_token_failure`],
/// [`handle_token_abandoned`] or [`handle_token_unsent`]. It cannot be copied, so no request
/// is answered twice; one dropped unanswered counts as abandoned once the configuration's
/// `token_request_timeout` has passed (a runtime reports it at once with
/// [`handle_token_abandoned`], from a drop guard).
///
/// [`handle_token_response`]: super::TokenManager::handle_token_response
/// [`handle_token_failure`]: super::TokenManager::handle_token_failure
/// [`handle_token_abandoned`]: super::TokenManager::handle_token_abandoned
/// [`handle_token_unsent`]: super::TokenManager::handle_token_unsent
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a token request's outcome must be fed back"]
pub struct PendingToken {
    pub(super) id: RequestId,
}

impl PendingToken {
    /// The request it stands for.
    pub fn id(&self) -> RequestId {
        self.id
    }
}

impl TokenRequest {
    /// The request's id (its grant: [`RequestId::grant`]).
    pub fn id(&self) -> RequestId {
        self.pending.id
    }

    /// The grant it uses.
    pub fn grant(&self) -> Grant {
        self.pending.id.grant
    }

    /// The HTTP request to send.
    pub fn request(&self) -> &http::Request<Vec<u8>> {
        &self.request
    }

    /// The handle to feed the outcome back with, and the HTTP request to send.
    pub fn into_parts(self) -> (PendingToken, http::Request<Vec<u8>>) {
        (self.pending, self.request)
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("id", &self.id())
            .field("grant", &self.grant())
            .field("method", self.request.method())
            .field("uri", &shown_uri(self.request.uri()))
            .field("headers", &ShownHeaders(self.request.headers()))
            .field("body_len", &self.request.body().len())
            .finish()
    }
}

/// Scheme, host, port and path of a URI: no user information, no query (either may hold a
/// secret).
fn shown_uri(uri: &http::Uri) -> String {
    let mut shown = String::new();
    if let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) {
        shown.push_str(scheme);
        shown.push_str("://");
        shown.push_str(host);
        if let Some(port) = uri.port_u16() {
            shown.push_str(&format!(":{port}"));
        }
    }
    shown.push_str(uri.path());
    if uri.query().is_some() {
        shown.push_str("?[redacted]");
    }
    shown
}

/// Header names with their values, the value of every header that carries credentials
/// (`Authorization`, `Proxy-Authorization`, `Cookie`) masked.
struct ShownHeaders<'a>(&'a http::HeaderMap);

impl fmt::Debug for ShownHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE].contains(name) {
                map.entry(&name.as_str(), &crate::wire::support::REDACTED);
            } else {
                map.entry(
                    &name.as_str(),
                    &crate::wire::support::sanitize(&String::from_utf8_lossy(value.as_bytes()), 80),
                );
            }
        }
        map.finish()
    }
}

/// What the caller should do next.
#[derive(Debug)]
#[must_use]
pub enum Step {
    /// Go ahead: attach this bearer token (for [`TokenManager::poll_call`](super::TokenManager::poll_call), the call is counted).
    Authorized(Bearer),
    /// Send this token request, feed its outcome back, then ask again.
    Fetch(TokenRequest),
    /// Ask again at `until`, or sooner when a token request in flight ends.
    Wait(Wait),
    /// Give up on this call with this error.
    Fail(Error),
}

/// A wait the machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Ask again no later than this.
    pub until: SystemTime,
    /// Why.
    pub cause: WaitCause,
}

/// Why a caller waits: the machine's reasons (the first four), and the time a caller's own
/// token request may take (a runtime's, when it decides whether a retry can still be answered
/// within its caller's limit). One name for the clients' events and errors too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitCause {
    /// Another caller's token request is in flight: wait to be woken by its outcome; `until` is
    /// when it counts as abandoned.
    TokenInFlight,
    /// Backing off after a transient failure of the token endpoint.
    Backoff,
    /// Pacing under the queries-per-second limit.
    Pacing,
    /// The gateway answered "over queries per second" with this `Retry-After`.
    RetryAfter,
    /// A token request of the caller's own, which may take up to the token time-out.
    TokenRequest,
}

impl WaitCause {
    /// The wait in a few words, as errors name it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::TokenInFlight => "another caller's token request",
            Self::Backoff => "backing off after token endpoint failures",
            Self::Pacing => "pacing under the queries-per-second limit",
            Self::RetryAfter => "the gateway's Retry-After",
            Self::TokenRequest => "a token request",
        }
    }
}

/// What the caller should do with an API answer.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum ApiVerdict {
    /// Hand the answer to the application.
    Deliver,
    /// The token was refused (401): ask again for a token and replay the call, once.
    Replay,
    /// The gateway said "over QPS": replay the call at this time.
    RetryAt(SystemTime),
    /// The gateway refused the call for good, or until the quota resets.
    Fail(Error),
}

/// Something the caller should know about; drain with [`TokenManager::poll_event`](super::TokenManager::poll_event).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// New tokens were adopted. Persist them before using the new access token: the previous
    /// refresh token is now void at the provider.
    TokensChanged {
        /// The tokens, as a store persists them.
        tokens: StoredTokens,
        /// The request that brought them (its grant: [`RequestId::grant`]).
        request: RequestId,
        /// Whether they are the machine's first tokens (none were held before): not a renewal.
        first: bool,
    },
    /// The refresh token was refused (`invalid_grant`); the next token request uses client
    /// credentials.
    RefreshTokenRefused,
    /// Token requests today went past what the plan accounts for; each costs an API call.
    TokenAllowanceExceeded {
        /// Token requests sent in the quota day.
        token_requests: u32,
        /// What the plan accounts for.
        accounted: u32,
    },
    /// An answer arrived for a token request that had been abandoned or overtaken; its tokens
    /// were not adopted.
    LateAnswerIgnored {
        /// The request answered late.
        request: RequestId,
    },
    /// A token request brought no tokens. The machine has already decided what follows (a
    /// backoff, the fallback to client credentials, or a quiet period with an error); this is
    /// for logs and metrics.
    TokenRequestFailed {
        /// The request (its grant: [`RequestId::grant`]).
        request: RequestId,
        /// What went wrong.
        failure: Failure,
    },
}
