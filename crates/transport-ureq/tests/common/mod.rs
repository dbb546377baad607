//! What the ureq-only tests need: a sandbox on 127.0.0.1 with one active application and a
//! client sharing the sandbox's clock.

use bearer_protocol::RetryPolicy;
use bearer_sandbox::{AppKeys, PlanLimits, Sandbox, SandboxConfig};
use bearer_transport_ureq::Client;
use std::time::Duration;

/// A running sandbox and the keys of its one active application.
pub struct Setup {
    pub sandbox: Sandbox,
    pub keys: AppKeys,
}

/// A sandbox on the system clock (plus whatever the test advances), with a plan large enough
/// never to get in the way (no QPS limit).
pub fn setup() -> Setup {
    let sandbox = Sandbox::start_blocking(SandboxConfig::default().plan(PlanLimits {
        calls_per_day: 1_000_000,
        queries_per_second: 0,
    }))
    .expect("the sandbox starts");
    let keys = sandbox.create_app().expect("an application is created");
    Setup { sandbox, keys }
}

impl Setup {
    /// A client of the application on the sandbox's clock, with fast retries.
    pub fn client(&self) -> Client {
        let config = bearer_protocol::Config::builder(
            self.sandbox.token_url(),
            self.keys.client_id.as_str(),
            self.keys.client_secret.as_str(),
        )
        .retry(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(80),
        })
        .build()
        .expect("the configuration is valid");
        Client::builder(config)
            .clock(self.sandbox.clock())
            .build()
            .expect("the client builds")
    }

    /// Has the sandbox revoke the application's access token; whether it held one.
    pub fn revoke_access_token(&self) -> bool {
        self.sandbox
            .revoke_access_token(&self.keys.client_id)
            .expect("the application exists")
    }
}
