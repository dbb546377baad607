//! bearer-sandbox: a faithful local stand-in for a Mashery-style "API key + secret" developer
//! platform, so that clients can be tested with no account and no network.
//!
//! - [`Provider`] is the platform's logic as a pure function: `handle(now, request) -> response`
//!   over in-memory state (developers, applications, keys, tokens, quotas, queued faults). No
//!   I/O, no clock, seeded randomness. Simulations call it directly.
//! - [`Sandbox`] serves a provider over real HTTP (hyper 1 on tokio, optionally TLS with a
//!   generated test CA) on `127.0.0.1:0`, with one call: [`Sandbox::start`] from async code,
//!   [`Sandbox::start_blocking`] from sync code. It stops when dropped.
//! - [`SandboxClock`] is the time the sandbox runs on: real time plus an offset tests move
//!   forward, shared with clients under test through [`bearer_client_core::Clock`].
//!
//! ```no_run
//! # fn main() -> Result<(), bearer_sandbox::SandboxError> {
//! use bearer_sandbox::{Sandbox, SandboxConfig};
//! use std::time::Duration;
//!
//! let sandbox = Sandbox::start_blocking(SandboxConfig::default())?;
//! let keys = sandbox.create_app()?;
//! // POST client_id, client_secret and grant_type=client_credentials to sandbox.token_url(),
//! // then GET sandbox.url("/v1/searchoauth?query=privacy") with the bearer token.
//! sandbox.clock().advance(Duration::from_secs(3600)); // the token has expired
//! # let _ = keys; Ok(()) }
//! ```
//!
//! The routes, and the choices made where the provider's behaviour is not documented, are in
//! the crate's README.md (also printed by `bearer-sandbox --help`).

mod admin;
mod api;
pub mod cli;
mod clock;
mod counters;
mod developer;
mod error;
pub mod faults;
mod form;
mod hold;
pub mod keys;
mod limits;
mod platform;
mod portal;
mod provider;
mod quota;
pub mod respond;
mod server;
mod token;

pub use admin::ADMIN_KEY;
pub use api::{CORPUS, Document, search};
pub use clock::SandboxClock;
pub use counters::{Counters, GrantCounts};
pub use developer::DEVELOPER_KEY;
pub use error::{ProviderError, SandboxError};
pub use faults::{Effect, Fault, FaultTarget, PendingFault};
pub use hold::{HOLD_WAIT_LIMIT, Hold, HoldId, HoldInfo, MAX_OPEN_HOLDS};
pub use limits::{ConnectionLimits, ConnectionStats};
pub use platform::{AppCounters, AppKeys, AppStatus, ApplicationInfo, NewApplication, PlanLimits};
pub use provider::{Provider, ProviderConfig, SEARCH_PATH, TOKEN_PATH};
pub use server::{Sandbox, SandboxConfig};

/// The route list shown by `bearer-sandbox --help` (the README documents the same routes).
pub const ROUTES: &str = include_str!("routes.txt");

/// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
