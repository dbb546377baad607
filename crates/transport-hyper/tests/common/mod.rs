//! What the hyper-only tests share: a sandbox started in-process on 127.0.0.1:0, an active
//! application, and a client on the sandbox's clock. The scenario list both transports share
//! is written once, in the root package's `tests/scenarios.rs`.

#![allow(dead_code)]

use bearer_protocol::{Config, ConfigBuilder, RetryPolicy};
use bearer_sandbox::{AppKeys, Counters, PlanLimits, Sandbox, SandboxConfig};
use bearer_transport_hyper::{Client, ClientBuilder, Error, Response};
use std::time::Duration;

/// A sandbox with no QPS limit and one active application.
pub async fn sandbox() -> (Sandbox, AppKeys) {
    let config = SandboxConfig::default().plan(PlanLimits {
        calls_per_day: 100_000,
        queries_per_second: 0,
    });
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    let keys = sandbox.create_app().expect("an active application");
    (sandbox, keys)
}

/// The application's configuration, with fast, bounded retries.
pub fn config(sandbox: &Sandbox, keys: &AppKeys) -> ConfigBuilder {
    Config::builder(
        sandbox.token_url(),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .retry(RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(80),
    })
    .seed(7)
}

/// A client builder on the sandbox's clock.
pub fn builder(sandbox: &Sandbox, keys: &AppKeys) -> ClientBuilder {
    let config = config(sandbox, keys)
        .build()
        .expect("a valid configuration");
    Client::builder(config).clock(sandbox.clock())
}

pub fn client(sandbox: &Sandbox, keys: &AppKeys) -> Client {
    builder(sandbox, keys).build().expect("the client builds")
}

pub fn search(sandbox: &Sandbox) -> String {
    sandbox.url(bearer_sandbox::SEARCH_PATH)
}

/// One search (`query=a`) through `client`.
pub async fn search_once(client: &Client, sandbox: &Sandbox) -> Result<Response, Error> {
    client.get(&search(sandbox), [("query", "a")]).await
}

pub const HOUR: Duration = Duration::from_secs(3600);

pub fn token_requests(counters: &Counters) -> (u64, u64) {
    let grants = counters.token_requests_by_grant;
    (grants.client_credentials, grants.refresh_token)
}
