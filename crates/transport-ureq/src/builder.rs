//! [`ClientBuilder`]: the transport settings around a protocol [`Config`].

use crate::client::Client;
use crate::exchange::Exchange;
use crate::flight::Shared;
use bearer_client_core::Error;
use bearer_client_core::{Checked, Settings};
use bearer_protocol::Config;
use std::fmt;
use std::sync::Arc;

/// Default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("bearer/", env!("CARGO_PKG_VERSION"), " (ureq)");

/// Builds a [`Client`]: the protocol configuration plus transport settings, each with a
/// default.
///
/// ```no_run
/// # fn main() -> Result<(), bearer_transport_ureq::Error> {
/// use bearer_transport_ureq::{Client, ClientEvent, bearer_protocol::Config};
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

    /// Checks the settings, loads saved tokens and returns the client. No request is sent yet.
    pub fn build(self) -> Result<Client, Error> {
        let Checked { http, state } = self.settings.check()?;
        let exchange = Exchange::new(http);
        let shared = Shared::new(state.load(), exchange);
        Ok(Client::from_shared(Arc::new(shared)))
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.settings
            .debug_struct(f, "ClientBuilder")
            .finish_non_exhaustive()
    }
}
