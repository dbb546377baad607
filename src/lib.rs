#![doc = include_str!("../README.md")]
//!
//! # What this crate exports
//!
//! - At the root, what does not depend on a transport: the [`Config`] and its [`Plan`] and
//!   [`RetryPolicy`], the secrets, the [`Bearer`] handed out, the [`BudgetSnapshot`], the
//!   [`TokenStore`] seam and its [`StoredTokens`], the [`Clock`]; with either transport
//!   feature, also the one [`Error`] type, the [`ClientEvent`]s and their [`WaitCause`], the
//!   response [`Body`] and the [`SystemClock`].
//! - [`blocking`] (feature `ureq`, on by default): the blocking `Client`, its `ClientBuilder`
//!   and the ureq middleware, with everything of the root again, so one `use` line serves.
//! - [`asynchronous`] (feature `hyper`): the async `Client`, its `ClientBuilder` and the tower
//!   layer, with everything of the root again.
//! - [`reqwest_client`] (feature `reqwest`): the async `Client` on reqwest, its `ClientBuilder`
//!   and the reqwest-middleware middleware, with everything of the root again.
//! - [`protocol`]: the sans-IO core itself, its state machine and its pure wire formats.
//!
//! # Telemetry
//!
//! - feature `tracing`: a `bearer::token` span per token request (grant, outcome, HTTP status,
//!   attempt, duration; the credential named by its client id), a `bearer::call` span per API
//!   call with OpenTelemetry's HTTP client attributes (`url.full` with every query value
//!   redacted), and events for renewals, fallbacks, waits, budget warnings, store saves and
//!   failures and the fleet's coordination (`RUST_LOG=bearer=debug`); never a token or a
//!   secret in any field;
//! - feature `metrics`: `bearer_token_requests_total{grant,outcome}`,
//!   `bearer_api_calls_total{status_class}`, `bearer_replays_total`, `bearer_waits_total{cause}`,
//!   the gauges `bearer_quota_remaining` and `bearer_token_remaining_seconds`, the histogram
//!   `bearer_token_request_duration_seconds`, through the `metrics` facade.
//!
//! The spans, events and metrics are listed in bearer-client-core's README; their cost on the
//! hot path, with nothing installed, in BENCHMARKS.md.
//!
//! The transport modules are named for how they wait, not for the HTTP crate under them, so
//! that `use bearer_client::blocking;` leaves the names `ureq` and `hyper` to those crates in
//! the program that uses both (`ureq::Agent` still resolves to the `ureq` crate). The reqwest
//! one, a second async client, is named `reqwest_client`, so that `reqwest::Client` still means
//! reqwest's own.

pub use bearer_protocol as protocol;

/// What every user needs whichever transport they pick; glob re-exported at the root and in
/// each transport module.
mod common {
    pub use bearer_client_core::{Clock, FleetStore, StoreError, TokenStore, WriteOutcome};
    pub use bearer_protocol::{
        AccessToken, Bearer, BudgetMode, BudgetSnapshot, CertificateProblem, ClientAuth, ClientId,
        ClientSecret, Config, ConfigBuilder, ConfigError, ConfigHint, Credential, Failure,
        ForeignTokens, Grant, Plan, RefreshToken, RetryPolicy, StoredTokens, ThrottleCause,
        TransportFailure, TransportFailureKind,
    };

    // The runtime types are the same in every transport (they share them); take them from
    // whichever is built.
    #[cfg(feature = "ureq")]
    pub use bearer_transport_ureq::{
        Body, ClientEvent, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_WAIT,
        DEFAULT_OVER_QPS_RETRIES, DEFAULT_TIMEOUT, Error, Response, StoreOperation, SystemClock,
        WaitCause,
    };

    #[cfg(all(feature = "hyper", not(feature = "ureq")))]
    pub use bearer_transport_hyper::{
        Body, ClientEvent, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_WAIT,
        DEFAULT_OVER_QPS_RETRIES, DEFAULT_TIMEOUT, Error, Response, StoreOperation, SystemClock,
        WaitCause,
    };

    #[cfg(all(feature = "reqwest", not(any(feature = "ureq", feature = "hyper"))))]
    pub use bearer_transport_reqwest::{
        Body, ClientEvent, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_WAIT,
        DEFAULT_OVER_QPS_RETRIES, DEFAULT_TIMEOUT, Error, Response, StoreOperation, SystemClock,
        WaitCause,
    };
}

pub use common::*;

/// Fleet stores: tokens, renewals and the day's counts shared by the processes using one
/// credential, across restarts (feature `store`, on by default). Give one to a client builder's
/// `fleet_store`; [`store::StoreSpec`] parses `file:DIR` or `redis://HOST:PORT/DB`.
#[cfg(feature = "store")]
pub use bearer_store as store;

#[cfg(feature = "ureq")]
pub mod blocking {
    //! The blocking client, on ureq 3 with rustls (feature `ureq`, on by default).
    //!
    //! A [`Client`] is `Clone + Send + Sync`; its clones share one token, and every method blocks
    //! the calling thread. [`Client::middleware`] adds the bearer to a program's own
    //! `ureq::Agent`. Everything of the crate root is here too, so one `use` line serves:
    //!
    //! ```no_run
    //! use bearer_client::blocking::{Client, ClientEvent, Config, Error};
    //!
    //! # fn main() -> Result<(), Error> {
    //! let config = Config::builder(
    //!     "https://api.example.com/oauth2/token",
    //!     "ysszm2yk7gp5r9ernuaurgcc",
    //!     "w9t7t48g7H",
    //! )
    //! .build()?;
    //! let client = Client::builder(config)
    //!     .on_event(|event: &ClientEvent| eprintln!("{event:?}"))
    //!     .build()?;
    //! let answer = client.get("https://api.example.com/v1/searchoauth", [("query", "privacy")])?;
    //! println!("{}", answer.status());
    //! # Ok(()) }
    //! ```
    //!
    //! Named `blocking` rather than `ureq` so that importing it does not hide the `ureq` crate.

    pub use crate::common::*;
    pub use bearer_transport_ureq::{BearerMiddleware, Client, ClientBuilder, DEFAULT_USER_AGENT};
}

#[cfg(feature = "hyper")]
pub mod asynchronous {
    //! The async client and tower layer, on hyper 1 and tokio (feature `hyper`).
    //!
    //! A [`Client`] is `Clone + Send + Sync`; its clones share one token, and it can renew the
    //! token in the background before it expires ([`ClientBuilder::proactive_renewal`]).
    //! [`Client::layer`] puts the bearer into any tower stack. Everything of the crate root is here
    //! too, so one `use` line serves:
    //!
    //! ```no_run
    //! use bearer_client::asynchronous::{Client, Config, Error};
    //!
    //! # async fn run() -> Result<(), Error> {
    //! let config = Config::builder(
    //!     "https://api.example.com/oauth2/token",
    //!     "ysszm2yk7gp5r9ernuaurgcc",
    //!     "w9t7t48g7H",
    //! )
    //! .build()?;
    //! let client = Client::builder(config).proactive_renewal(true).build()?;
    //! let answer = client
    //!     .get("https://api.example.com/v1/searchoauth", [("query", "privacy")])
    //!     .await?;
    //! println!("{}", answer.status());
    //! # Ok(()) }
    //! ```
    //!
    //! Named `asynchronous` rather than `hyper` so that importing it does not hide the `hyper`
    //! crate (`async` itself is a keyword).

    pub use crate::common::*;
    pub use bearer_transport_hyper::{
        BearerLayer, BearerService, BoxError, Client, ClientBuilder,
        DEFAULT_RENEWAL_CHECK_INTERVAL, DEFAULT_USER_AGENT, ReplayBody,
    };
}

#[cfg(feature = "reqwest")]
pub mod reqwest_client {
    //! The async client on reqwest 0.12 with rustls, and a reqwest-middleware middleware
    //! (feature `reqwest`).
    //!
    //! A [`Client`] is `Clone + Send + Sync`; its clones share one token, and it can renew the
    //! token in the background before it expires ([`ClientBuilder::proactive_renewal`]).
    //! [`Client::middleware`] puts the bearer into a program's own
    //! `reqwest_middleware::ClientWithMiddleware`.
    //! Everything of the crate root is here too, so one `use` line serves:
    //!
    //! ```no_run
    //! use bearer_client::reqwest_client::{Client, Config, Error};
    //!
    //! # async fn run() -> Result<(), Error> {
    //! let config = Config::builder(
    //!     "https://api.example.com/oauth2/token",
    //!     "ysszm2yk7gp5r9ernuaurgcc",
    //!     "w9t7t48g7H",
    //! )
    //! .build()?;
    //! let client = Client::new(config)?;
    //! let answer = client
    //!     .get("https://api.example.com/v1/searchoauth", [("query", "privacy")])
    //!     .await?;
    //! println!("{}", answer.status());
    //! # Ok(()) }
    //! ```
    //!
    //! Named `reqwest_client` rather than `reqwest` so that importing it does not hide the
    //! `reqwest` crate (and `asynchronous` already names the hyper client).

    pub use crate::common::*;
    pub use bearer_transport_reqwest::{
        BearerMiddleware, BoxError, Client, ClientBuilder, DEFAULT_RENEWAL_CHECK_INTERVAL,
        DEFAULT_USER_AGENT,
    };
}
