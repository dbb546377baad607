//! bearer-transport-ureq: the blocking, thread-safe bearer client, on ureq 3.
//!
//! It runs the sans-IO state machine of [`bearer_protocol`] with real sockets, real sleeps and a
//! lock: a [`Client`] gets an access token with `grant_type=client_credentials`, attaches
//! `Authorization: Bearer …` to every call, renews the token before it expires with the rotated
//! refresh token, sends one token request however many threads need one, paces itself under the
//! plan's queries per second, keeps the daily quota budget, and turns every failure into an
//! [`Error`] that says what to do.
//!
//! ```no_run
//! use bearer_transport_ureq::{Client, bearer_protocol::Config};
//!
//! # fn main() -> Result<(), bearer_transport_ureq::Error> {
//! let config = Config::builder(
//!     "https://api.example.com/oauth2/token",
//!     "ysszm2yk7gp5r9ernuaurgcc",
//!     "w9t7t48g7H",
//! )
//! .build()?;
//! let client = Client::new(config)?;
//! let response = client.get("https://api.example.com/v1/searchoauth", [("query", "privacy")])?;
//! println!("{} {}", response.status(), response.body().text()?);
//! # Ok(()) }
//! ```
//!
//! A program with its own [`ureq::Agent`] adds bearer auth in one line with
//! [`Client::middleware`]:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let client: bearer_transport_ureq::Client = todo!();
//! let agent: ureq::Agent = ureq::Agent::config_builder().middleware(client.middleware()).build().into();
//! let body = agent.get("https://api.example.com/v1/searchoauth?query=privacy").call()?.body_mut().read_to_string()?;
//! # let _ = body; Ok(()) }
//! ```
//!
//! # Modules, one job each
//!
//! - `builder`: [`ClientBuilder`], the transport settings around a [`bearer_protocol::Config`];
//! - `client`: [`Client`], calls with the bearer attached, one replay on a stale token;
//! - `flight`: how threads wait on the shared token state (a condition variable, sleeps);
//! - `exchange`: sending over ureq, reading capped bodies, naming transport failures;
//! - `middleware`: [`BearerMiddleware`] for a program's own agent.
//!
//! What does not depend on ureq — the settings and their defaults, the token state behind its
//! lock, [`ClientEvent`]s, [`Body`], [`SystemClock`], [`Error`] — comes from
//! `bearer-client-core`, shared with the async transport, and is re-exported here.

mod builder;
mod client;
mod exchange;
mod flight;
mod middleware;

pub use bearer_protocol;
pub use ureq;

pub use bearer_client_core::{
    Body, ClientEvent, Clock, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_WAIT, DEFAULT_OVER_QPS_RETRIES, DEFAULT_TIMEOUT, Error, Response, StoreError,
    StoreOperation, SystemClock, TokenStore, WaitCause,
};
pub use bearer_client_core::{FleetStore, WriteOutcome};
pub use builder::{ClientBuilder, DEFAULT_USER_AGENT};
pub use client::Client;
pub use middleware::BearerMiddleware;

/// The examples of this crate's README.md, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
