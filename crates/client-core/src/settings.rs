//! [`Settings`]: what a client is built from, whatever its transport — the protocol
//! configuration plus the transport-independent settings, each with a default — and what they
//! become once checked: the [`HttpSettings`] a transport sends with, and the [`StateSettings`]
//! the shared token state starts from.

use crate::clock::{Clock, SystemClock};
use crate::delivery::Callback;
use crate::error::Error;
use crate::fleet_store::FleetStore;
use crate::http_settings::HttpSettings;
use crate::proxy::{Proxies, ProxySetting};
use crate::state::StateSettings;
use crate::store::TokenStore;
use bearer_protocol::Config;
use http::HeaderValue;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Default time to set up a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time for a whole request, answer body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default longest time a call waits in all (for another caller's token request, a backoff,
/// pacing or `Retry-After`) before it gives up.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);
/// Default largest API response body read.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Default number of times a call waits out "over queries per second" and is sent again.
pub const DEFAULT_OVER_QPS_RETRIES: u32 = 3;

/// The settings every client builder embeds: the protocol configuration and the transport
/// settings that do not depend on the transport. A builder exposes them with
/// [`settings_methods!`](crate::settings_methods) and turns them into a client with
/// [`Settings::check`].
#[must_use]
pub struct Settings {
    config: Config,
    /// Time to set up a connection, TCP and TLS.
    pub connect_timeout: Duration,
    /// Time for a whole request, answer body included.
    pub timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Sent as `X-Originating-IP` with the client's own calls.
    pub originating_ip: Option<IpAddr>,
    /// The clock the client reads.
    pub clock: Arc<dyn Clock>,
    /// Where tokens are kept across processes.
    pub store: Option<Arc<dyn TokenStore>>,
    /// The store shared with the other processes using the credential.
    pub fleet_store: Option<Arc<dyn FleetStore>>,
    /// Which proxy requests go through (default: the environment's).
    pub proxy: ProxySetting,
    /// The observer's callback.
    pub on_event: Option<Box<Callback>>,
    root_certificates: Vec<CertificateDer<'static>>,
    root_certificate_error: Option<String>,
    /// The longest a call waits in all.
    pub max_wait: Duration,
    /// The largest API response body read.
    pub max_response_bytes: usize,
    /// How many times a call waits out "over queries per second" and is sent again.
    pub over_qps_retries: u32,
    /// Whether API calls may go over plain `http` to a host that is not loopback.
    pub allow_plain_http: bool,
}

/// [`Settings`] that passed [`Settings::check`].
#[derive(Debug)]
pub struct Checked {
    /// What the transport sends with.
    pub http: HttpSettings,
    /// What the shared token state starts from (its saved tokens are loaded only by
    /// [`StateSettings::load`], once the transport is set up).
    pub state: StateSettings,
}

impl Settings {
    /// The defaults around `config`, with `user_agent` (the transport's default).
    pub fn new(config: Config, user_agent: &str) -> Self {
        Self {
            config,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            user_agent: user_agent.to_owned(),
            originating_ip: None,
            clock: Arc::new(SystemClock),
            store: None,
            fleet_store: None,
            proxy: ProxySetting::Environment,
            on_event: None,
            root_certificates: Vec::new(),
            root_certificate_error: None,
            max_wait: DEFAULT_MAX_WAIT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            over_qps_retries: DEFAULT_OVER_QPS_RETRIES,
            allow_plain_http: false,
        }
    }

    /// Adds the root certificates in `pem` (one or more PEM certificates); a problem is
    /// reported by [`Settings::check`] as the setting `root_certificates_pem`.
    pub fn add_root_certificates_pem(&mut self, pem: &[u8]) {
        let mut found = 0;
        for item in CertificateDer::pem_slice_iter(pem) {
            match item {
                Ok(certificate) => {
                    self.root_certificates.push(certificate);
                    found += 1;
                }
                Err(error) => {
                    self.root_certificate_error =
                        Some(format!("could not be read as PEM: {error}"));
                }
            }
        }
        if found == 0 && self.root_certificate_error.is_none() {
            self.root_certificate_error = Some("holds no PEM certificate".to_owned());
        }
    }

    /// Checks the settings, naming the first one that is wrong. Nothing is loaded yet.
    pub fn check(self) -> Result<Checked, Error> {
        if let Some(problem) = self.root_certificate_error {
            return Err(Error::settings("root_certificates_pem", problem));
        }
        let user_agent = HeaderValue::from_str(&self.user_agent).map_err(|_| {
            Error::settings(
                "user_agent",
                "must be visible ASCII text without line breaks",
            )
        })?;
        for (setting, value) in [
            ("connect_timeout", self.connect_timeout),
            ("timeout", self.timeout),
        ] {
            if value.is_zero() {
                return Err(Error::settings(setting, "must be longer than zero"));
            }
        }
        let originating_ip = self
            .originating_ip
            .map(|ip| HeaderValue::from_str(&ip.to_string()))
            .transpose()
            .map_err(|_| Error::settings("originating_ip", "is not a valid header value"))?;
        if self.store.is_some() && self.fleet_store.is_some() {
            return Err(Error::settings(
                "fleet_store",
                "replaces the token store: give one or the other",
            ));
        }
        let token_timeout = self.timeout.min(self.config.token_request_timeout());
        let proxies = Proxies::resolve(&self.proxy, |name| std::env::var(name).ok())?;
        let http = HttpSettings {
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            token_timeout,
            user_agent,
            originating_ip,
            root_certificates: self.root_certificates,
            max_response_bytes: self.max_response_bytes,
            allow_plain_http: self.allow_plain_http,
            proxies,
        };
        let state = StateSettings {
            config: self.config,
            clock: self.clock,
            store: self.store,
            fleet_store: self.fleet_store,
            on_event: self.on_event,
            max_wait: self.max_wait,
            over_qps_retries: self.over_qps_retries,
            token_timeout,
        };
        Ok(Checked { http, state })
    }

    /// A `Debug` of a builder named `name` holding these settings (no secret, no callback):
    /// add the transport's own fields, then finish it.
    pub fn debug_struct<'a, 'b>(
        &self,
        f: &'a mut fmt::Formatter<'b>,
        name: &str,
    ) -> fmt::DebugStruct<'a, 'b> {
        let mut debug = f.debug_struct(name);
        debug
            .field("token_url", self.config.token_url())
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("originating_ip", &self.originating_ip)
            .field("store", &self.store.is_some())
            .field("fleet_store", &self.fleet_store.is_some())
            .field("on_event", &self.on_event.is_some())
            .field("root_certificates", &self.root_certificates.len())
            .field("max_wait", &self.max_wait)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("over_qps_retries", &self.over_qps_retries)
            .field("allow_plain_http", &self.allow_plain_http)
            .field("proxy", &matches!(self.proxy, ProxySetting::Url(_)));
        debug
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug_struct(f, "Settings").finish_non_exhaustive()
    }
}

/// The setter methods of the shared settings, for a client builder that holds a [`Settings`]
/// in the field `$field`: `impl ClientBuilder { bearer_client_core::settings_methods!(settings); }`.
///
/// The documentation they carry links to the invoking crate's root, which must re-export
/// `Error`, `ClientEvent`, `SystemClock` and the `DEFAULT_*` constants of this crate, and
/// define its own `DEFAULT_USER_AGENT`.
#[macro_export]
macro_rules! settings_methods {
    ($field:ident) => {
        /// Time to set up a connection, TCP and TLS (default
        /// [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT)).
        pub fn connect_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$field.connect_timeout = timeout;
            self
        }

        /// Time for a whole request, answer body included (default
        /// [`DEFAULT_TIMEOUT`](crate::DEFAULT_TIMEOUT)). Token requests also stop at the
        /// configuration's `token_request_timeout` if it is shorter.
        pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$field.timeout = timeout;
            self
        }

        /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`](crate::DEFAULT_USER_AGENT)).
        pub fn user_agent(
            mut self,
            user_agent: impl ::std::convert::Into<::std::string::String>,
        ) -> Self {
            self.$field.user_agent = user_agent.into();
            self
        }

        /// Sends `X-Originating-IP: <ip>` with every API call the client sends itself (the end
        /// user's address, as the provider's guide shows), unless the call sets its own.
        pub fn originating_ip(mut self, ip: ::std::net::IpAddr) -> Self {
            self.$field.originating_ip = ::std::option::Option::Some(ip);
            self
        }

        /// The clock the client reads (default: [`SystemClock`](crate::SystemClock)). Tests
        /// pass the sandbox's clock; waits last as long as this clock says is left.
        pub fn clock(mut self, clock: impl $crate::Clock + 'static) -> Self {
            self.$field.clock = ::std::sync::Arc::new(clock);
            self
        }

        /// Where tokens are kept across processes: loaded once when the client is built (a
        /// failed load is reported as [`ClientEvent::StoreFailed`](crate::ClientEvent::StoreFailed)
        /// and the client starts without tokens), saved whenever they change, before the new
        /// access token is used. The store is called with the token state locked: keep it
        /// quick (a small file, a keyring).
        pub fn store(mut self, store: impl $crate::TokenStore + 'static) -> Self {
            self.$field.store = ::std::option::Option::Some(::std::sync::Arc::new(store));
            self
        }

        /// A store already shared with other code.
        pub fn shared_store(mut self, store: ::std::sync::Arc<dyn $crate::TokenStore>) -> Self {
            self.$field.store = ::std::option::Option::Some(store);
            self
        }

        /// Shares tokens, renewals and the day's counts with the other processes using this
        /// credential, through `store` (a `bearer_store::FileStore` on one host, a
        /// `bearer_store::RedisStore` for a fleet): a renewal due in several processes sends
        /// one token request, a rotated refresh token is never lost, and restarts reuse the
        /// token. While the store does not answer the client works alone, and reports it as
        /// [`ClientEvent::Fleet`](crate::ClientEvent::Fleet). Replaces [`store`](Self::store).
        pub fn fleet_store(mut self, store: impl $crate::FleetStore + 'static) -> Self {
            self.$field.fleet_store = ::std::option::Option::Some(::std::sync::Arc::new(store));
            self
        }

        /// Sends every request but those to loopback through the `http://` proxy at `url`
        /// (`http://[user:password@]host:port`; tunnelled with `CONNECT`), instead of the one
        /// the environment names (the default: `https_proxy`, `http_proxy`, `all_proxy`,
        /// `no_proxy`, as curl reads them). A proxy that cannot be reached is named in the
        /// error.
        pub fn proxy(mut self, url: impl ::std::convert::Into<::std::string::String>) -> Self {
            self.$field.proxy = $crate::ProxySetting::Url(url.into());
            self
        }

        /// Sends every request directly, whatever the proxy environment variables say.
        pub fn no_proxy(mut self) -> Self {
            self.$field.proxy = $crate::ProxySetting::None;
            self
        }

        /// Calls `callback` with every [`ClientEvent`](crate::ClientEvent), in order, from the
        /// thread or task that caused it, after the client's lock is released (so it may call
        /// the client, or an async client's non-async methods). Keep it quick.
        pub fn on_event(
            mut self,
            callback: impl Fn(&$crate::ClientEvent)
            + ::std::marker::Send
            + ::std::marker::Sync
            + 'static,
        ) -> Self {
            self.$field.on_event = ::std::option::Option::Some(::std::boxed::Box::new(callback));
            self
        }

        /// Trusts only the root certificates in `pem` (one or more PEM certificates) instead
        /// of the Mozilla roots: for a provider behind a private CA, or the sandbox's test CA.
        pub fn root_certificates_pem(mut self, pem: impl ::std::convert::AsRef<[u8]>) -> Self {
            self.$field.add_root_certificates_pem(pem.as_ref());
            self
        }

        /// The longest a call waits in all before it fails with
        /// [`Error::WaitTimedOut`](crate::Error::WaitTimedOut) (default
        /// [`DEFAULT_MAX_WAIT`](crate::DEFAULT_MAX_WAIT)). Time spent in the call's own token
        /// requests counts: a retry is sent only if its answer can arrive in time.
        pub fn max_wait(mut self, max_wait: ::std::time::Duration) -> Self {
            self.$field.max_wait = max_wait;
            self
        }

        /// The largest API response body read (default
        /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES)); token responses
        /// are capped at [`bearer_protocol::wire::MAX_BODY_BYTES`](crate::bearer_protocol::wire::MAX_BODY_BYTES).
        pub fn max_response_bytes(mut self, limit: usize) -> Self {
            self.$field.max_response_bytes = limit;
            self
        }

        /// How many times a call waits out "over queries per second" and is sent again
        /// (default [`DEFAULT_OVER_QPS_RETRIES`](crate::DEFAULT_OVER_QPS_RETRIES)).
        pub fn over_qps_retries(mut self, retries: u32) -> Self {
            self.$field.over_qps_retries = retries;
            self
        }

        /// Lets API calls carry the bearer token over plain `http` to hosts that are not
        /// loopback (default `false`: such a call fails with
        /// [`Error::PlainHttp`](crate::Error::PlainHttp) and nothing is sent). `http` to
        /// `localhost`, `127.0.0.0/8` and `[::1]` is always allowed. The token URL is checked
        /// by the configuration, which never allows it.
        pub fn allow_plain_http(mut self, allow: bool) -> Self {
            self.$field.allow_plain_http = allow;
            self
        }
    };
}
