//! What every test of the hyper transport shares: a sandbox started in-process on
//! 127.0.0.1:0, an active application, and a client on the sandbox's clock.

#![allow(dead_code)]

use bearer_protocol::store::StoreError;
use bearer_protocol::{Config, ConfigBuilder, RetryPolicy, StoredTokens, TokenStore};
use bearer_sandbox::{AppKeys, Counters, Plan, Sandbox, SandboxConfig};
use bearer_transport_hyper::{Client, ClientBuilder, ClientEvent, Error, Response};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A sandbox with no QPS limit (unless a test sets one) and one active application.
pub async fn sandbox() -> (Sandbox, AppKeys) {
    sandbox_with_plan(100_000, 0).await
}

/// A sandbox whose plan allows `calls_per_day` and `queries_per_second` (0: no limit).
pub async fn sandbox_with_plan(calls_per_day: u64, queries_per_second: u32) -> (Sandbox, AppKeys) {
    sandbox_with(SandboxConfig::default().plan(Plan {
        calls_per_day,
        queries_per_second,
    }))
    .await
}

pub async fn sandbox_with(config: SandboxConfig) -> (Sandbox, AppKeys) {
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    let keys = sandbox.create_app().expect("an active application");
    (sandbox, keys)
}

/// Fast, bounded retries, so that backoff tests take milliseconds.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(80),
    }
}

pub fn config(sandbox: &Sandbox, keys: &AppKeys) -> ConfigBuilder {
    config_with_secret(sandbox, keys, keys.client_secret.as_str()).seed(7)
}

/// The application's configuration with another client secret, and fast retries.
pub fn config_with_secret(sandbox: &Sandbox, keys: &AppKeys, secret: &str) -> ConfigBuilder {
    Config::builder(sandbox.token_url(), keys.client_id.as_str(), secret).retry(fast_retry())
}

/// A client builder on the sandbox's clock.
pub fn builder(sandbox: &Sandbox, keys: &AppKeys) -> ClientBuilder {
    builder_with(sandbox, config(sandbox, keys))
}

/// A client builder for `config`, on the sandbox's clock.
pub fn builder_with(sandbox: &Sandbox, config: ConfigBuilder) -> ClientBuilder {
    Client::builder(config.build().expect("a valid configuration")).clock(sandbox.clock())
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

/// Collects the client's events.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<ClientEvent>>>);

impl Recorder {
    pub fn attach(&self, builder: ClientBuilder) -> ClientBuilder {
        let events = Arc::clone(&self.0);
        builder.on_event(move |event| events.lock().unwrap().push(event.clone()))
    }

    /// A client on the sandbox's clock that records its events here.
    pub fn client(&self, sandbox: &Sandbox, keys: &AppKeys) -> Client {
        self.attach(builder(sandbox, keys))
            .build()
            .expect("the client builds")
    }

    pub fn events(&self) -> Vec<ClientEvent> {
        self.0.lock().unwrap().clone()
    }

    /// How many events so far match.
    pub fn count(&self, matches: impl Fn(&ClientEvent) -> bool) -> usize {
        self.events().iter().filter(|event| matches(event)).count()
    }
}

/// Called with every save, before it is recorded.
pub type SaveHook = Arc<dyn Fn(&StoredTokens) + Send + Sync>;

/// A store that remembers every save, and what the sandbox had seen of the API at that moment.
#[derive(Clone, Default)]
pub struct MemoryStore {
    pub saved: Arc<Mutex<Vec<StoredTokens>>>,
    pub initial: Option<StoredTokens>,
    pub fail_saves: bool,
    pub on_save: Option<SaveHook>,
}

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.initial.clone())
    }

    fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        if let Some(hook) = &self.on_save {
            hook(tokens);
        }
        if self.fail_saves {
            return Err("the disk is full".into());
        }
        self.saved.lock().unwrap().push(tokens.clone());
        Ok(())
    }
}
