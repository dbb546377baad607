//! bearer-client-core: what the bearer transports share and that needs neither a socket nor a
//! runtime — and, with the feature `tokio`, the one piece the async transports share that does
//! need one: how a task waits for the token state.
//!
//! `bearer-transport-ureq` (blocking), `bearer-transport-hyper` and `bearer-transport-reqwest`
//! (async) all run the sans-IO [`bearer_protocol::TokenManager`]; everything around it that does not depend on how a
//! transport sends, blocks or awaits lives here, once: the builder [`Settings`] and their
//! defaults, the shared [`TokenState`] (the machine behind a mutex, its events drained into the
//! store and the observer's queue), the decisions on each answer ([`Attempts`]), the
//! [`ClientEvent`]s, the one [`Error`] type, the response [`Body`] and the [`SystemClock`].
//! Each transport re-exports the public types under its own name, so users never name this
//! crate.
//!
//! # How a transport uses it
//!
//! - its builder embeds a [`Settings`] (setters from [`settings_methods!`]), checks it with
//!   [`Settings::check`], sets up its HTTP side from the [`HttpSettings`], then starts the
//!   [`TokenState`] with [`StateSettings::load`];
//! - to authorize a call it asks [`Locked::next`] of [`TokenState::lock`], and does what
//!   the [`Next`] says: a token request through [`TokenState::fetch`] and [`Fetch::finish`], a
//!   wait for another caller's request (its own condition variable or `Notify`), a sleep;
//! - it feeds every API answer to [`TokenState::judge`] and follows [`Attempts::follow`].
//!
//! # Modules, one job each
//!
//! - `settings`: [`Settings`], the `DEFAULT_*` constants, [`settings_methods!`];
//! - `http_settings`: [`HttpSettings`], the headers a transport adds;
//! - `state`: [`TokenState`], [`StateSettings`], [`Purpose`], [`Next`];
//! - `fetch`: [`Fetch`], one token request on its way, abandoned if dropped;
//! - `attempts`: [`Attempts`], replays and over-QPS waits of one call;
//! - `request`: building calls, redacting targets, reading challenges;
//! - `events`: [`ClientEvent`]s; `delivery`: the [`Events`] queue; `body`: [`Body`];
//!   `clock`: [`SystemClock`]; `error`: [`Error`];
//! - `flight` (feature `tokio`): `Flight`, how a task of an async transport (hyper, reqwest)
//!   waits for the token state — a `Notify`, `tokio::time` sleeps, cancellation safety — and
//!   their background renewer.
//! - `telemetry`: `tracing` spans and events (feature `tracing`) and `metrics` (feature
//!   `metrics`), fed from the state, the fetches and the fleet steps; [`CallSpan`] for the
//!   transports' API calls, [`url_full`] for a URL safe to record.

mod attempts;
mod body;
mod clock;
mod delivery;
mod error;
mod events;
mod failure;
mod fetch;
mod fleet;
mod fleet_store;
#[cfg(feature = "tokio")]
mod flight;
mod http_settings;
mod proxy;
mod request;
mod settings;
mod state;
mod store;
mod telemetry;

pub use bearer_protocol;

pub use attempts::{Answer, Attempts, Resend};
pub use body::{Body, Response};
pub use clock::{Clock, SystemClock};
pub use delivery::{Callback, Events};
pub use error::{BoxError, Error};
pub use events::{ClientEvent, StoreOperation, WaitCause};
pub use failure::{io_failure_kind, kind_of as tls_kind_of, tls_failure_kind};
pub use fetch::Fetch;
pub use fleet_store::{FleetStore, WriteOutcome};
#[cfg(feature = "tokio")]
pub use flight::{
    DEFAULT_RENEWAL_CHECK_INTERVAL, Flight, Renewable, RenewerGuard, TokenAnswer, sleep_until,
    spawn_renewer,
};
pub use http_settings::{HttpSettings, X_ORIGINATING_IP};
pub use proxy::{Proxies, Proxy, ProxySetting, ProxySource};
pub use request::{challenge, get_request, target, with_bearer};
pub use settings::{
    Checked, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_WAIT,
    DEFAULT_OVER_QPS_RETRIES, DEFAULT_TIMEOUT, Settings,
};
pub use state::{Locked, Next, Purpose, StateSettings, TokenState};
pub use store::{StoreError, TokenStore};
pub use telemetry::{CallSpan, url_full};

/// The examples of this crate's README.md, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
