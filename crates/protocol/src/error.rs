//! The state machine's errors, typed by what the caller can do about each.

use crate::wire::gateway::GatewayDenial;
use crate::wire::oauth_error::OAuthError;
use crate::wire::support::http_date;
use crate::wire::token::TokenEndpointError;
use std::fmt;
use std::time::SystemTime;

/// Why the machine cannot hand out a token or let a call go. `Display` is a sentence a user can
/// act on, and never shows a secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token endpoint refused the client (`invalid_client`, `unauthorized_client`, or the
    /// application is inactive). Not retried until the quiet period ends.
    #[error("{0}")]
    CredentialsRejected(OAuthError),
    /// The token endpoint gave a permanent answer other than refusing the credentials
    /// (`invalid_request`, `invalid_scope`, a non-bearer token, a 4xx page, an unknown service).
    #[error("the token request was refused and will not succeed if repeated: {0}")]
    TokenRequestRefused(TokenEndpointError),
    /// The token endpoint stayed unreachable or failing through every retry.
    #[error(
        "no token could be obtained in {attempts} attempt(s); the last one failed: {last}. The provider may be down: try again later"
    )]
    Unavailable {
        /// Attempts made (the first one and its retries).
        attempts: u32,
        /// What the last attempt ran into.
        last: Failure,
    },
    /// The day's call quota is spent (as counted here, or as the gateway said), or what is left
    /// is kept for the token renewals still needed before the reset.
    #[error("{}", quota_message(*.resets_at, *.calls_used, *.calls_allowed))]
    QuotaExhausted {
        /// When the quota resets.
        resets_at: SystemTime,
        /// Calls counted in the quota day.
        calls_used: u64,
        /// Calls allowed in the quota day, if known.
        calls_allowed: Option<u64>,
    },
    /// The gateway refused an API call for a reason that waiting will not fix (for example the
    /// application is inactive, or the path maps to no service).
    #[error("the gateway refused the call: {0}")]
    Denied(GatewayDenial),
}

impl Error {
    /// Whether the same call may succeed if simply tried again later.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::QuotaExhausted { .. })
    }
}

fn quota_message(resets_at: SystemTime, used: u64, allowed: Option<u64>) -> String {
    let count = match allowed {
        Some(allowed) if used < allowed => format!(
            "{used} of {allowed} calls used, the rest kept for the token renewals still needed today"
        ),
        Some(allowed) => format!("{used} of {allowed} calls used"),
        None => format!("{used} calls used"),
    };
    format!(
        "the plan's daily call quota is spent ({count}); calls resume at the reset, {}",
        http_date(resets_at)
    )
}

/// What went wrong with one token request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Failure {
    /// The transport failed before an answer arrived.
    Transport(TransportFailure),
    /// An answer came, and it was a transient failure (5xx, 429, over QPS, a truncated body).
    Answer(TokenEndpointError),
    /// Nobody reported an outcome within the token request time-out.
    Abandoned,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(failure) => failure.fmt(f),
            Self::Answer(answer) => answer.fmt(f),
            Self::Abandoned => {
                f.write_str("no outcome was reported within the token request time-out")
            }
        }
    }
}

/// A transport failure, as the transport reports it to the machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct TransportFailure {
    /// What kind of failure.
    pub kind: TransportFailureKind,
    /// The transport's own description (must not contain secrets).
    pub message: String,
}

impl TransportFailure {
    /// A failure of the given kind with the transport's description.
    pub fn new(kind: TransportFailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Kinds of transport failure; all are retried with backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportFailureKind {
    /// No connection could be made (refused, DNS, TLS handshake).
    Connect,
    /// The request or the answer took longer than the transport's time-out.
    TimedOut,
    /// The connection broke before the whole answer arrived.
    Interrupted,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportFailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "could not connect",
            Self::TimedOut => "the request timed out",
            Self::Interrupted => "the connection broke before the answer was complete",
            Self::Other => "the request failed",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// Found by fuzz/token_machine: with the caller's clock before 1970 (or past 9999) the
    /// quota day's reset is too, and `Display` panicked in `httpdate::fmt_http_date`.
    #[test]
    fn quota_error_displays_a_reset_outside_the_http_date_range() {
        let far = Duration::from_secs(5_852_995_200);
        for resets_at in [UNIX_EPOCH - far, UNIX_EPOCH + far * 50] {
            let error = Error::QuotaExhausted {
                resets_at,
                calls_used: 3,
                calls_allowed: Some(3),
            };
            assert!(error.to_string().contains("calls resume at the reset"));
        }
    }
}
