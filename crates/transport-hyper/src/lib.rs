//! bearer-transport-hyper: the async bearer client, on hyper 1 and tokio, and a tower layer.
//!
//! It runs the sans-IO state machine of [`bearer_protocol`] with hyper-util's client over
//! rustls (no OpenSSL), `tokio::time` sleeps measured on the client's clock, and a std mutex
//! that is never held across an `.await`: a [`Client`] gets an access token with
//! `grant_type=client_credentials`, attaches `Authorization: Bearer …` to every call, renews the
//! token before it expires with the rotated refresh token, sends one token request however many
//! tasks need one (the others await its outcome, woken by a [`tokio::sync::Notify`]), paces
//! itself under the plan's queries per second, keeps the daily quota budget, and turns every
//! failure into an [`Error`] that says what to do. Its API mirrors the blocking
//! `bearer-transport-ureq` client, name for name.
//!
//! ```no_run
//! use bearer_transport_hyper::{Client, bearer_protocol::Config};
//!
//! # async fn run() -> Result<(), bearer_transport_hyper::Error> {
//! let config = Config::builder(
//!     "https://api.example.com/oauth2/token",
//!     "ysszm2yk7gp5r9ernuaurgcc",
//!     "w9t7t48g7H",
//! )
//! .build()?;
//! let client = Client::new(config)?;
//! let response = client.get("https://api.example.com/v1/searchoauth", [("query", "privacy")]).await?;
//! println!("{} {}", response.status(), response.body().text()?);
//! # Ok(()) }
//! ```
//!
//! A program with its own hyper-util client, or any tower stack, adds bearer auth with
//! [`Client::layer`] (see [`BearerLayer`]).
//!
//! # Cancellation
//!
//! Every future is cancellation safe. If the task sending the token request is dropped
//! mid-request, the request is reported abandoned to the state machine and the tasks waiting
//! for it are woken: the first to ask sends the next one, and no waiter hangs.
//!
//! # Modules, one job each
//!
//! - `builder`: [`ClientBuilder`], the transport settings around a [`bearer_protocol::Config`];
//! - `client`: [`Client`], calls with the bearer attached, one replay on a stale token;
//! - `flight`: how tasks wait on the shared token state (client-core's `Flight`: a `Notify`,
//!   `tokio::time` sleeps, cancellation), with this crate's token exchange;
//! - `net`: hyper-util over rustls, capped body reads, naming transport failures;
//! - `layer`: [`BearerLayer`] and [`BearerService`]; `replay`: [`ReplayBody`].
//!
//! The optional background renewal task is client-core's (`spawn_renewer`), shared with the
//! reqwest transport.
//!
//! What does not depend on hyper or tokio — the settings and their defaults, the token state
//! behind its lock, [`ClientEvent`]s, [`Body`], [`SystemClock`], [`Error`] — comes from
//! `bearer-client-core`, shared with the blocking transport, and is re-exported here.

mod builder;
mod client;
mod flight;
mod layer;
mod net;
mod proxy;
mod replay;

pub use bearer_protocol;

pub use bearer_client_core::{
    Body, BoxError, ClientEvent, Clock, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_WAIT, DEFAULT_OVER_QPS_RETRIES, DEFAULT_TIMEOUT, Error, Response, StoreError,
    StoreOperation, SystemClock, TokenStore, WaitCause,
};
pub use bearer_client_core::{FleetStore, WriteOutcome};
pub use builder::{ClientBuilder, DEFAULT_RENEWAL_CHECK_INTERVAL, DEFAULT_USER_AGENT};
pub use client::Client;
pub use layer::{BearerLayer, BearerService};
pub use replay::ReplayBody;

/// The examples of this crate's README.md, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
