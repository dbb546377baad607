//! bearer-protocol: the sans-IO core of the bearer client.
//!
//! It holds everything about OAuth 2.0 client credentials at an API-key-and-secret developer
//! platform that is not I/O: the wire formats ([`wire`]), secret types ([`secret`]),
//! configuration ([`config`]) and the token state machine ([`TokenManager`]), which keeps the
//! tokens, renews them with rotation, keeps one token request in flight at most, backs off,
//! and keeps the daily quota budget. It performs no I/O, reads no clock (time is always an
//! argument), spawns nothing and takes no lock; a transport crate does those.

pub mod config;
pub mod error;
pub mod fleet;
pub mod machine;
pub mod secret;
pub mod wire;

pub use config::{
    BudgetMode, ClientAuth, Config, ConfigBuilder, ConfigError, ConfigHint, Plan, RetryPolicy,
};
pub use error::{
    CertificateProblem, Error, Failure, ThrottleCause, TransportFailure, TransportFailureKind,
};
pub use machine::{
    ApiVerdict, Bearer, BudgetSnapshot, Credential, Event, ForeignTokens, GOVERNOR_BURST,
    GOVERNOR_INTERVAL, Grant, MAX_QPS, MIN_LIFETIME, PendingToken, RequestId, Step, StoredTokens,
    TokenManager, TokenRequest, Wait, WaitCause,
};
pub use secret::{AccessToken, ClientId, ClientSecret, RefreshToken};

/// The examples of this crate's README.md, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
