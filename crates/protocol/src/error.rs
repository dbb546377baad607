//! The state machine's errors, typed by what the caller can do about each.

use crate::machine::{GOVERNOR_BURST, MIN_LIFETIME};
use crate::wire::gateway::GatewayDenial;
use crate::wire::oauth_error::OAuthError;
use crate::wire::support::http_date;
use crate::wire::token::TokenEndpointError;
use std::fmt;
use std::time::{Duration, SystemTime};

/// Why the machine cannot hand out a token or let a call go. `Display` is a sentence a user can
/// act on, and never shows a secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token endpoint refused the client (`invalid_client`, `unauthorized_client`, or the
    /// application is inactive). Not retried until the quiet period ends.
    #[error("{}", credentials_message(.0))]
    CredentialsRejected(OAuthError),
    /// The token endpoint gave a permanent answer other than refusing the credentials
    /// (`invalid_request`, `invalid_scope`, a non-bearer token, a 4xx page, an unknown service).
    #[error("the token request was refused and will not succeed if repeated: {0}")]
    TokenRequestRefused(TokenEndpointError),
    /// The token endpoint stayed unreachable or failing through every retry, or asked (with
    /// `Retry-After`) for a longer wait than the retry policy allows.
    #[error(
        "no token could be obtained in {attempts} attempt(s); the last one failed: {last}. The provider may be down: bearer asks again after {}",
        http_date(*.retry_at)
    )]
    Unavailable {
        /// Attempts made (the first one and its retries).
        attempts: u32,
        /// What the last attempt ran into (boxed, to keep the error small).
        last: Box<Failure>,
        /// No token request is sent before this.
        retry_at: SystemTime,
    },
    /// The token endpoint could not be reached over a trusted connection: its certificate was
    /// refused (untrusted issuer, another host's name, expired) or TLS could not be set up.
    /// Retrying cannot help; not retried until the quiet period ends.
    #[error(
        "no trusted connection to the token endpoint: {0}. bearer does not retry this: fix the URL or the trusted certificates"
    )]
    Untrusted(TransportFailure),
    /// The provider's answers made the client ask for tokens again and again (tokens that
    /// expire at once, an API refusing every new token, refused refresh tokens, failures):
    /// the governor holds further token requests until `retry_at`.
    #[error(
        "bearer sent {GOVERNOR_BURST} token requests in quick succession and sends no more before {}, to save the plan's daily quota: {cause}",
        http_date(*.retry_at)
    )]
    TokenRequestsThrottled {
        /// The next token request goes no earlier than this.
        retry_at: SystemTime,
        /// What the provider is doing that made the client ask so often.
        cause: ThrottleCause,
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
        matches!(
            self,
            Self::Unavailable { .. }
                | Self::QuotaExhausted { .. }
                | Self::TokenRequestsThrottled { .. }
        )
    }
}

/// Why the client kept asking for tokens until the governor stopped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThrottleCause {
    /// The token endpoint issues tokens that expire (almost) at once: `expires_in` was this.
    ShortLifetime(Duration),
    /// The API answered 401 to tokens just issued.
    TokensRefusedByApi,
    /// The token endpoint kept failing, or refusing refresh tokens it had issued.
    RepeatedFailures,
}

impl fmt::Display for ThrottleCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShortLifetime(lifetime) => write!(
                f,
                "the token endpoint issues tokens that expire {} s after they are issued (`expires_in`); bearer uses each for at least {} s, so ask the provider why its tokens are so short-lived",
                lifetime.as_secs_f64(),
                MIN_LIFETIME.as_secs()
            ),
            Self::TokensRefusedByApi => f.write_str(
                "the API refuses (401) the tokens the token endpoint has just issued; check on the developer platform that the application is active and its plan includes this API",
            ),
            Self::RepeatedFailures => f.write_str(
                "the token endpoint keeps failing or refusing the refresh tokens it issued; check the provider's status",
            ),
        }
    }
}

fn credentials_message(error: &OAuthError) -> String {
    if error.is_refresh_token_refused() {
        // `invalid_grant` to a client credentials request: the credentials themselves.
        format!(
            "the token endpoint refused the client credentials ({}): check the client id and secret on the developer platform's Keys page and that the application may use the client credentials grant; bearer does not ask again until the quiet period ends",
            error.details()
        )
    } else {
        error.to_string()
    }
}

fn quota_message(resets_at: SystemTime, used: u64, allowed: Option<u64>) -> String {
    let count = match allowed {
        Some(allowed) if used < allowed => format!(
            "{used} of {allowed} calls used: what is left cannot pay for both a token request and the call it is for"
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

/// Kinds of transport failure. All are retried with backoff except the
/// [permanent](TransportFailureKind::is_permanent) ones: a refused certificate or TLS set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportFailureKind {
    /// No connection could be made (refused, DNS, unreachable); the request never left.
    Connect,
    /// The server's certificate was refused: retrying cannot help.
    Certificate(CertificateProblem),
    /// TLS could not be set up for another reason (no common protocol version or cipher, a
    /// handshake the server refused): retrying cannot help.
    Tls,
    /// The request or the answer took longer than the transport's time-out.
    TimedOut,
    /// The connection broke before the whole answer arrived.
    Interrupted,
    /// Anything else.
    Other,
}

impl TransportFailureKind {
    /// Whether retrying cannot help: the certificate or the TLS set-up was refused.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Certificate(_) | Self::Tls)
    }

    /// Whether the request surely never reached the server (so the gateway did not count it).
    pub fn never_sent(&self) -> bool {
        matches!(self, Self::Connect | Self::Certificate(_) | Self::Tls)
    }
}

/// Why a server's certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// Issued by an authority the client does not trust (a private or test CA, a proxy
    /// intercepting TLS).
    UnknownIssuer,
    /// Issued for another host name.
    NameMismatch,
    /// Expired, or not valid yet.
    Expired,
    /// Refused for another reason (revoked, malformed, wrong usage).
    Other,
}

impl fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownIssuer => {
                "the server's certificate is issued by an authority this client does not trust (add its CA to the client's root certificates, or check that no proxy intercepts TLS)"
            }
            Self::NameMismatch => {
                "the server's certificate is for another host name (check the host in the URL)"
            }
            Self::Expired => {
                "the server's certificate has expired or is not valid yet (check this machine's clock, or tell the provider)"
            }
            Self::Other => "the server's certificate was refused",
        })
    }
}

impl fmt::Display for TransportFailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Certificate(problem) => return problem.fmt(f),
            Self::Tls => "TLS could not be set up with the server",
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
            let error = Error::TokenRequestsThrottled {
                retry_at: resets_at,
                cause: ThrottleCause::TokensRefusedByApi,
            };
            assert!(error.to_string().contains("sends no more before"));
        }
    }
}
