//! What every scenario needs: a sandbox on 127.0.0.1 with one active application, a client
//! sharing the sandbox's clock, and a recorder of the client's events.

#![allow(dead_code)]

use bearer_protocol::{ConfigBuilder, RetryPolicy, StoredTokens, TokenStore, store::StoreError};
use bearer_sandbox::{AppCounters, AppKeys, Plan, Sandbox, SandboxClock, SandboxConfig};
use bearer_transport_ureq::{Client, ClientBuilder, ClientEvent, Error, Response, WaitCause};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The token lifetime at the provider.
pub const HOUR: Duration = Duration::from_secs(3600);

/// A running sandbox and the keys of its one active application.
pub struct Setup {
    pub sandbox: Sandbox,
    pub keys: AppKeys,
}

/// A plan large enough never to get in the way (no QPS limit).
pub fn roomy_plan() -> Plan {
    Plan {
        calls_per_day: 1_000_000,
        queries_per_second: 0,
    }
}

/// A sandbox on the system clock (plus whatever the test advances), with a roomy plan.
pub fn setup() -> Setup {
    setup_with(SandboxConfig::default().plan(roomy_plan()))
}

pub fn setup_with(config: SandboxConfig) -> Setup {
    let sandbox = Sandbox::start_blocking(config).expect("the sandbox starts");
    let keys = sandbox.create_app().expect("an application is created");
    Setup { sandbox, keys }
}

/// A sandbox as [`setup`] gives it, and a client on it recording its events.
pub fn recorded() -> (Setup, Recorder, Client) {
    let setup = setup();
    let events = Recorder::default();
    let client = setup.client(&events);
    (setup, events, client)
}

/// As [`recorded`], after the client's first search (one token request, one call).
pub fn after_first_search() -> (Setup, Recorder, Client) {
    let (setup, events, client) = recorded();
    setup.search(&client);
    (setup, events, client)
}

/// 2023-11-14 23:00:00 UTC: one hour before a quota reset.
pub fn an_hour_before_midnight() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_002_800)
}

/// A sandbox whose clock stands still unless advanced.
pub fn setup_fixed(plan: Plan, at: SystemTime) -> Setup {
    setup_with(
        SandboxConfig::default()
            .plan(plan)
            .clock(SandboxClock::fixed(at)),
    )
}

/// Fast retries, so that backoff scenarios take milliseconds.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(80),
    }
}

impl Setup {
    /// The protocol configuration for the application, with fast retries.
    pub fn config(&self) -> ConfigBuilder {
        self.config_with_secret(&self.keys.client_secret)
    }

    /// The same configuration with another client secret.
    pub fn config_with_secret(&self, secret: &str) -> ConfigBuilder {
        bearer_protocol::Config::builder(
            self.sandbox.token_url(),
            self.keys.client_id.as_str(),
            secret,
        )
        .retry(fast_retry())
    }

    /// A client builder on the sandbox's clock.
    pub fn client_builder(&self, config: ConfigBuilder) -> ClientBuilder {
        Client::builder(config.build().expect("the configuration is valid"))
            .clock(self.sandbox.clock())
    }

    /// A client builder with the default test configuration, saving its tokens in `store`.
    pub fn store_builder(&self, store: &Arc<MemoryStore>) -> ClientBuilder {
        self.client_builder(self.config())
            .shared_store(Arc::clone(store) as Arc<dyn TokenStore>)
    }

    /// A client with the default test configuration, recording its events.
    pub fn client(&self, events: &Recorder) -> Client {
        self.client_builder(self.config())
            .on_event(events.callback())
            .build()
            .expect("the client builds")
    }

    pub fn search_url(&self) -> String {
        self.sandbox.url("/v1/searchoauth")
    }

    /// One search through `client`, as it comes.
    pub fn try_search(&self, client: &Client) -> Result<Response, Error> {
        client.get(&self.search_url(), [("query", "privacy")])
    }

    /// One search through `client`; panics unless it answers 200.
    pub fn search(&self, client: &Client) {
        let answer = self.try_search(client).expect("the call succeeds");
        assert_eq!(answer.status(), 200, "{:?}", answer.body().text());
    }

    /// One search through `client` that must fail: its error.
    pub fn search_error(&self, client: &Client) -> Error {
        self.try_search(client).expect_err("the call fails")
    }

    /// Moves the sandbox clock an hour (a token lifetime) forward, then searches once.
    pub fn search_an_hour_later(&self, client: &Client) {
        self.sandbox.advance(HOUR);
        self.search(client);
    }

    /// Has the sandbox forget the application's refresh token; whether it held one.
    pub fn forget_refresh_token(&self) -> bool {
        self.sandbox
            .forget_refresh_token(&self.keys.client_id)
            .expect("the application exists")
    }

    /// Has the sandbox revoke the application's access token; whether it held one.
    pub fn revoke_access_token(&self) -> bool {
        self.sandbox
            .revoke_access_token(&self.keys.client_id)
            .expect("the application exists")
    }

    /// The sandbox's counters for this application.
    pub fn app(&self) -> AppCounters {
        self.sandbox
            .counters()
            .applications
            .get(&self.keys.client_id)
            .cloned()
            .unwrap_or_default()
    }

    /// `(client_credentials, refresh_token)` token requests the sandbox received.
    pub fn grants(&self) -> (u64, u64) {
        let by_grant = self.sandbox.counters().token_requests_by_grant;
        (by_grant.client_credentials, by_grant.refresh_token)
    }

    pub fn token_requests(&self) -> u64 {
        self.sandbox.counters().token_requests
    }

    pub fn api_calls(&self) -> u64 {
        self.sandbox.counters().api_calls
    }
}

/// Records the client's events.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<ClientEvent>>>);

impl Recorder {
    pub fn callback(&self) -> impl Fn(&ClientEvent) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event: &ClientEvent| events.lock().unwrap().push(event.clone())
    }

    pub fn all(&self) -> Vec<ClientEvent> {
        self.0.lock().unwrap().clone()
    }

    pub fn count(&self, matches: impl Fn(&ClientEvent) -> bool) -> usize {
        self.all().iter().filter(|event| matches(event)).count()
    }

    /// How many times the client waited for `cause`.
    pub fn waits(&self, cause: WaitCause) -> usize {
        self.count(|e| matches!(e, ClientEvent::Waiting { cause: c, .. } if *c == cause))
    }

    /// The refresh tokens of every renewal, in order.
    pub fn renewals(&self) -> Vec<StoredTokens> {
        self.all()
            .into_iter()
            .filter_map(|event| match event {
                ClientEvent::TokensRenewed { tokens, .. } => Some(tokens),
                _ => None,
            })
            .collect()
    }
}

/// A store in memory that records every save, and can be told to fail.
#[derive(Default)]
pub struct MemoryStore {
    pub saved: Mutex<Vec<StoredTokens>>,
    pub fail: std::sync::atomic::AtomicBool,
}

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.saved.lock().unwrap().last().cloned())
    }

    fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("the disk is full".into());
        }
        self.saved.lock().unwrap().push(tokens.clone());
        Ok(())
    }
}

/// Every secret value an application and its tokens have, to look for in messages.
pub fn secrets(keys: &AppKeys, tokens: &[StoredTokens]) -> Vec<String> {
    let mut all = vec![keys.client_secret.clone()];
    for stored in tokens {
        all.push(stored.access_token.expose().to_owned());
        if let Some(refresh) = &stored.refresh_token {
            all.push(refresh.expose().to_owned());
        }
    }
    all
}
