//! The clients' one error type: the state machine's typed errors, transport failures, and what
//! a client itself decides (a token refused twice, a wait too long, an oversized body).
//!
//! Every transport returns it, so a program moving between them matches on the same names. Two
//! variants come only from the middlewares that wrap a program's own HTTP stack:
//! [`Error::TokenRefusedNotReplayable`] (the tower layer of `bearer-transport-hyper` and the
//! reqwest-middleware middleware of `bearer-transport-reqwest`) and [`Error::Service`] (the
//! tower layer).
//!
//! Every `Display` is a sentence that says what happened and what to do; none shows a token, a
//! secret or a query string.

use crate::events::WaitCause;
use bearer_protocol::{ConfigError, TransportFailure};
use std::time::{Duration, SystemTime};

/// An error of a service wrapped by a transport's middleware (see [`Error::Service`]).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a call, or building a client, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token state machine refused: credentials rejected, token endpoint unavailable
    /// through every retry, the day's quota spent, or the gateway refusing the call for good.
    #[error(transparent)]
    Token(#[from] bearer_protocol::Error),
    /// The protocol configuration is invalid (the message names the field).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A transport setting is invalid (the message names the setting).
    #[error("invalid client setting: `{setting}` {fix}")]
    Settings {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong and what to do.
        fix: String,
    },
    /// The API call failed before a complete answer arrived.
    #[error(
        "the call to {target} failed before a complete answer arrived ({failure}); {}",
        if failure.kind.is_permanent() { "retrying cannot help: fix the URL or the trusted certificates" } else { "check the URL and the network, then try again" }
    )]
    Transport {
        /// Scheme, host and path of the call (never its query).
        target: String,
        /// What the transport ran into.
        failure: TransportFailure,
    },
    /// The call would have sent the bearer token over plain `http` to a host that is not this
    /// machine, where anyone on the way can read and reuse it. Nothing was sent.
    #[error(
        "the call to {target} would send the bearer token unencrypted over plain http; use https, or allow it explicitly with the client builder's `allow_plain_http(true)`"
    )]
    PlainHttp {
        /// Scheme, host and path of the call (never its query).
        target: String,
    },
    /// The API answered 401 for the token, and again for the renewed token.
    #[error(
        "the API refused the access token again after it was renewed ({}); check on the developer platform that the application is active and its plan includes this API",
        .challenge.as_deref().unwrap_or("401 with no challenge")
    )]
    TokenRefusedAfterRenewal {
        /// The `WWW-Authenticate` challenge of the last answer, if any.
        challenge: Option<String>,
    },
    /// The API answered 401 for the token, and the call could not be replayed with a renewed
    /// token because its body cannot be sent twice. The token is renewed for the next call.
    /// (Only from the tower layer of `bearer-transport-hyper` and the middleware of
    /// `bearer-transport-reqwest`.)
    #[error(
        "the API refused the access token ({}) and the call was not replayed because its body cannot be sent twice; the token will be renewed, so send the call again",
        .challenge.as_deref().unwrap_or("401 with no challenge")
    )]
    TokenRefusedNotReplayable {
        /// The `WWW-Authenticate` challenge of the answer, if any.
        challenge: Option<String>,
    },
    /// The gateway kept answering "over queries per second" after every wait it asked for.
    #[error(
        "the gateway still answered 'over queries per second' after {attempts} wait(s); slow the calls down or ask the provider for a higher QPS limit"
    )]
    OverQps {
        /// Waits made before giving up.
        attempts: u32,
        /// When the gateway said to try again.
        retry_at: SystemTime,
    },
    /// The call would have waited longer than the client's `max_wait` in all (for another
    /// caller's token request, a token request of its own, a backoff, pacing or
    /// `Retry-After`). Nothing more was sent for it.
    #[error(
        "gave up waiting: {} would take {} more after {} already, beyond the client's max_wait of {}; try again later, or raise `max_wait`",
        .cause.describe(), seconds(*.needed), seconds(*.waited), seconds(*.limit)
    )]
    WaitTimedOut {
        /// How long the call had waited.
        waited: Duration,
        /// How much longer it would have had to wait (at most, for a token request).
        needed: Duration,
        /// The client's `max_wait`.
        limit: Duration,
        /// What it was waiting for.
        cause: WaitCause,
    },
    /// The request could not be built or sent as given.
    #[error("the request cannot be sent: {0}")]
    InvalidRequest(String),
    /// The response body was larger than the client accepts.
    #[error(
        "the response body is larger than {limit} bytes; raise the client's `max_response_bytes` if this is expected"
    )]
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The response body could not be read as asked.
    #[error("the response body is not {expected}: {reason}")]
    Decode {
        /// What it was read as.
        expected: &'static str,
        /// Why it is not.
        reason: String,
    },
    /// The service wrapped by the tower layer of `bearer-transport-hyper` failed.
    #[error("the wrapped service failed: {0}")]
    Service(BoxError),
}

impl Error {
    /// Whether the same call may succeed if simply tried again later.
    pub fn is_temporary(&self) -> bool {
        match self {
            Self::Token(error) => error.is_temporary(),
            Self::Transport { failure, .. } => !failure.kind.is_permanent(),
            Self::OverQps { .. }
            | Self::WaitTimedOut { .. }
            | Self::TokenRefusedNotReplayable { .. } => true,
            _ => false,
        }
    }

    /// When the day's quota resets, for a quota error.
    pub fn quota_resets_at(&self) -> Option<SystemTime> {
        match self {
            Self::Token(bearer_protocol::Error::QuotaExhausted { resets_at, .. }) => {
                Some(*resets_at)
            }
            _ => None,
        }
    }

    /// The state machine's error, if this is one.
    pub fn token_error(&self) -> Option<&bearer_protocol::Error> {
        match self {
            Self::Token(error) => Some(error),
            _ => None,
        }
    }

    /// A [`Error::WaitTimedOut`] for a caller that waited `waited` of `limit` and would need
    /// `needed` more for `cause`.
    pub fn wait_timed_out(
        cause: WaitCause,
        waited: Duration,
        needed: Duration,
        limit: Duration,
    ) -> Self {
        Self::WaitTimedOut {
            waited,
            needed,
            limit,
            cause,
        }
    }

    /// A [`Error::Settings`] naming `setting`, with what is wrong and what to do.
    pub fn settings(setting: &'static str, fix: impl Into<String>) -> Self {
        Self::Settings {
            setting,
            fix: fix.into(),
        }
    }
}

/// A duration in seconds, to a tenth: "0.5 s", "100000 s".
fn seconds(duration: Duration) -> String {
    let tenths = duration.as_millis().div_ceil(100);
    if tenths % 10 == 0 {
        format!("{} s", tenths / 10)
    } else {
        format!("{}.{} s", tenths / 10, tenths % 10)
    }
}
