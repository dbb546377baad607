//! bearer-transport-reqwest: the async bearer client on reqwest, and a reqwest-middleware
//! middleware.
//!
//! It runs the sans-IO state machine of [`bearer_protocol`] with a reqwest client over rustls
//! (no native-tls, no OpenSSL; HTTP/2 when the server offers it by ALPN), `tokio::time` sleeps measured on the client's clock, and a std
//! mutex that is never held across an `.await`: a [`Client`] gets an access token with
//! `grant_type=client_credentials`, attaches `Authorization: Bearer …` to every call, renews the
//! token before it expires with the rotated refresh token, sends one token request however many
//! tasks need one (the others await its outcome, woken by a [`tokio::sync::Notify`]), paces
//! itself under the plan's queries per second, keeps the daily quota budget (renewing in the
//! background too, with [`ClientBuilder::proactive_renewal`]), and turns every
//! failure into an [`Error`] that says what to do. Its API mirrors the other transports',
//! name for name.
//!
//! ```no_run
//! use bearer_transport_reqwest::{Client, bearer_protocol::Config};
//!
//! # async fn run() -> Result<(), bearer_transport_reqwest::Error> {
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
//! A program with its own `reqwest_middleware::ClientWithMiddleware` adds bearer auth with
//! [`Client::middleware`] (see [`BearerMiddleware`]).
//!
//! # Proxies
//!
//! The client's own requests go through the proxy client-core names, the same on every
//! transport (the environment as curl reads it, or the builder's `proxy` / `no_proxy`), never
//! reqwest's own reading of it; loopback never goes through one, and a proxy that cannot be
//! reached is named in the error. An `https` target is tunnelled with `CONNECT`; a plain `http`
//! one (off loopback only with `allow_plain_http`) is forwarded to the proxy, as reqwest does.
//! A program's own client behind [`BearerMiddleware`] keeps its own proxy settings.
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
//! - `client`: [`Client`], calls with the bearer attached, one replay on a stale token; what
//!   its clones share (the token state and client-core's `Flight`, how tasks wait for it);
//! - `net`: the reqwest client over rustls, the token exchange, capped body reads, naming
//!   transport failures;
//! - `middleware`: [`BearerMiddleware`].
//!
//! What does not depend on reqwest — the settings and their defaults, the token state behind
//! its lock and how tasks wait for it, [`ClientEvent`]s, [`Body`], [`SystemClock`], [`Error`] —
//! comes from `bearer-client-core`, shared with the other transports, and is re-exported here.

mod builder;
mod client;
mod middleware;
mod net;

pub use bearer_protocol;

pub use bearer_client_core::{
    Body, BoxError, ClientEvent, Clock, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_WAIT, DEFAULT_OVER_QPS_RETRIES, DEFAULT_TIMEOUT, Error, Response, StoreError,
    StoreOperation, SystemClock, TokenStore, WaitCause,
};
pub use bearer_client_core::{DEFAULT_RENEWAL_CHECK_INTERVAL, FleetStore, WriteOutcome};
pub use builder::{ClientBuilder, DEFAULT_USER_AGENT};
pub use client::Client;
pub use middleware::BearerMiddleware;

/// The examples of this crate's README.md, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
