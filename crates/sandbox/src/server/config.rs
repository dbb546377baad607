//! [`SandboxConfig`]: how to start a [`Sandbox`](crate::Sandbox).

use crate::clock::SandboxClock;
use crate::limits::ConnectionLimits;
use crate::platform::{AppKeys, PlanLimits};
use crate::provider::ProviderConfig;
use std::net::SocketAddr;
use std::time::Duration;

/// How to start a [`Sandbox`](crate::Sandbox).
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen; default `127.0.0.1:0` (a free port).
    pub addr: SocketAddr,
    /// The provider's settings.
    pub provider: ProviderConfig,
    /// Applications that are active from the start, with these keys.
    pub apps: Vec<AppKeys>,
    /// Serve HTTPS with a generated test CA ([`Sandbox::ca_pem`](crate::Sandbox::ca_pem)).
    pub tls: bool,
    /// The clock the sandbox runs on; default the system clock.
    pub clock: SandboxClock,
    /// Time-outs and the cap on open connections.
    pub limits: ConnectionLimits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            provider: ProviderConfig::default(),
            apps: Vec::new(),
            tls: false,
            clock: SandboxClock::system(),
            limits: ConnectionLimits::default(),
        }
    }
}

impl SandboxConfig {
    /// Listens on `addr` instead of `127.0.0.1:0`.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Starts with an active application holding these keys.
    pub fn app(mut self, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        self.apps.push(AppKeys::new(client_id, client_secret));
        self
    }

    /// Serves HTTPS with a generated test CA.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Runs on this clock (e.g. [`SandboxClock::fixed`]).
    pub fn clock(mut self, clock: SandboxClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the access tokens' lifetime.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.provider.token_ttl = ttl;
        self
    }

    /// Sets the plan.
    pub fn plan(mut self, plan: PlanLimits) -> Self {
        self.provider.plan = plan;
        self
    }

    /// Switches the quota headers on or off.
    pub fn quota_headers(mut self, on: bool) -> Self {
        self.provider.quota_headers = on;
        self
    }

    /// Sets the admin key.
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.provider.admin_key = Some(key.into());
        self
    }

    /// Sets the connection time-outs and cap.
    pub fn limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the seed of generated keys and tokens.
    pub fn seed(mut self, seed: u64) -> Self {
        self.provider.seed = seed;
        self
    }
}
