//! [`ClientBuilder`]: the transport settings around a protocol [`Config`].

use crate::client::{Client, Shared};
use crate::net;
use bearer_client_core::{Checked, Error, Flight, Settings};
use bearer_protocol::Config;
use std::fmt;
use std::sync::Arc;

/// Default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("bearer/", env!("CARGO_PKG_VERSION"), " (reqwest)");

/// Builds a [`Client`]: the protocol configuration plus transport settings, each with a
/// default.
///
/// On this async client, waits are `tokio::time` sleeps for the time the client's clock says is
/// left; the store and the event callback are called synchronously, on the runtime's thread.
///
/// ```no_run
/// # fn main() -> Result<(), bearer_transport_reqwest::Error> {
/// use bearer_transport_reqwest::{Client, ClientEvent, bearer_protocol::Config};
/// use std::time::Duration;
///
/// let config = Config::builder("https://api.example.com/oauth2/token", "ysszm2yk7gp5r9ernuaurgcc", "w9t7t48g7H").build()?;
/// let client = Client::builder(config)
///     .timeout(Duration::from_secs(10))
///     .originating_ip("203.0.113.7".parse().unwrap())
///     .on_event(|event: &ClientEvent| eprintln!("bearer: {event:?}"))
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[must_use]
pub struct ClientBuilder {
    settings: Settings,
}

impl ClientBuilder {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            settings: Settings::new(config, DEFAULT_USER_AGENT),
        }
    }

    bearer_client_core::settings_methods!(settings);

    /// Checks the settings, sets up the reqwest client, loads saved tokens and returns the
    /// client. No request is sent yet; no runtime is needed until the first call.
    pub fn build(self) -> Result<Client, Error> {
        let Checked { http, state } = self.settings.check()?;
        let client = net::http_client(&http)?;
        Ok(Client::from_shared(Arc::new(Shared {
            state: state.load(),
            flight: Flight::new(),
            http: client,
            settings: http,
        })))
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.settings
            .debug_struct(f, "ClientBuilder")
            .finish_non_exhaustive()
    }
}
