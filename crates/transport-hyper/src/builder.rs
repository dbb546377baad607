//! [`ClientBuilder`]: the transport settings around a protocol [`Config`].

use crate::client::Client;
use crate::flight::Shared;
use crate::net;
use bearer_client_core::{Checked, Error, Settings};
use bearer_protocol::Config;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("bearer/", env!("CARGO_PKG_VERSION"), " (hyper)");
pub use bearer_client_core::DEFAULT_RENEWAL_CHECK_INTERVAL;

/// Builds a [`Client`]: the protocol configuration plus transport settings, each with a
/// default.
///
/// On this async client, waits are `tokio::time` sleeps for the time the client's clock says is
/// left; the store and the event callback are called synchronously, on the runtime's thread.
///
/// ```no_run
/// # fn main() -> Result<(), bearer_transport_hyper::Error> {
/// use bearer_transport_hyper::{Client, ClientEvent, bearer_protocol::Config};
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
    proactive_renewal: bool,
    renewal_check_interval: Duration,
}

impl ClientBuilder {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            settings: Settings::new(config, DEFAULT_USER_AGENT),
            proactive_renewal: false,
            renewal_check_interval: DEFAULT_RENEWAL_CHECK_INTERVAL,
        }
    }

    bearer_client_core::settings_methods!(settings);

    /// Renews the token in a background task shortly before it expires (at the configuration's
    /// `refresh_leeway`), so that no call waits on the token endpoint (default off). The task
    /// starts on the current Tokio runtime when the client is built, renews only once a first
    /// token is held, and stops when the last client handle is dropped.
    pub fn proactive_renewal(mut self, on: bool) -> Self {
        self.proactive_renewal = on;
        self
    }

    /// The longest the background renewer sleeps before it looks at the clock again (default
    /// [`DEFAULT_RENEWAL_CHECK_INTERVAL`]): a wall clock that jumps is noticed within it.
    pub fn renewal_check_interval(mut self, interval: Duration) -> Self {
        self.renewal_check_interval = interval;
        self
    }

    /// Checks the settings, loads saved tokens and returns the client. No request is sent yet.
    /// With [`proactive_renewal`](Self::proactive_renewal), it must run inside a Tokio runtime.
    pub fn build(self) -> Result<Client, Error> {
        let Checked { http, state } = self.settings.check()?;
        let client =
            net::http_client(&http.root_certificates, http.connect_timeout, &http.proxies)?;
        let shared = Arc::new(Shared::new(state.load(), client, http));
        if self.proactive_renewal {
            let guard = bearer_client_core::spawn_renewer(&shared, self.renewal_check_interval)?;
            let _ = shared.renewer.set(guard);
        }
        Ok(Client::from_shared(shared))
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.settings
            .debug_struct(f, "ClientBuilder")
            .field("proactive_renewal", &self.proactive_renewal)
            .finish_non_exhaustive()
    }
}
