//! What the root tests share: a client of any transport, built and called the same way, a
//! sandbox on 127.0.0.1 with one active application, a recorder of the client's events and a
//! token store in memory.
//!
//! A scenario is a function of a [`Transport`]; [`over_every_transport!`] makes one `#[test]`
//! a transport of each, so that a failure names the transport.

#![allow(dead_code)]

use bearer_client::blocking::{ClientEvent, Response, WaitCause};
use bearer_client::protocol::{
    Bearer, BudgetSnapshot, Config, ConfigBuilder, RetryPolicy, StoredTokens,
};
use bearer_client::{StoreError, TokenStore};
use bearer_sandbox::{AppCounters, AppKeys, PlanLimits, Sandbox, SandboxClock, SandboxConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The one error type every transport re-exports.
pub type Error = bearer_client::blocking::Error;

/// The token lifetime at the provider.
pub const HOUR: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Ureq,
    Hyper,
    Reqwest,
}

pub const TRANSPORTS: [Transport; 3] = [Transport::Ureq, Transport::Hyper, Transport::Reqwest];

/// One `#[test]` a scenario and a transport: `ureq::NAME`, `hyper::NAME` and `reqwest::NAME`,
/// each calling the scenario function `NAME(Transport)` of the including file.
#[macro_export]
macro_rules! over_every_transport {
    ($($name:ident),* $(,)?) => {
        mod ureq {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::support::Transport::Ureq);
                }
            )*
        }
        mod hyper {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::support::Transport::Hyper);
                }
            )*
        }
        mod reqwest {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::support::Transport::Reqwest);
                }
            )*
        }
    };
}

/// A builder of any transport; the methods are the ones all builders share.
#[must_use]
pub enum Builder {
    Ureq(bearer_client::blocking::ClientBuilder),
    Hyper(
        bearer_client::asynchronous::ClientBuilder,
        Arc<tokio::runtime::Runtime>,
    ),
    Reqwest(
        bearer_client::reqwest_client::ClientBuilder,
        Arc<tokio::runtime::Runtime>,
    ),
}

/// Applies the same builder method to any transport's builder.
macro_rules! either {
    ($self:expr, $builder:ident => $then:expr) => {
        match $self {
            Builder::Ureq($builder) => Builder::Ureq($then),
            Builder::Hyper($builder, runtime) => Builder::Hyper($then, runtime),
            Builder::Reqwest($builder, runtime) => Builder::Reqwest($then, runtime),
        }
    };
}

/// The runtime an async client's calls run on in the tests.
fn runtime() -> Arc<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    Arc::new(runtime)
}

impl Builder {
    pub fn new(transport: Transport, config: Config) -> Builder {
        match transport {
            Transport::Ureq => Builder::Ureq(bearer_client::blocking::Client::builder(config)),
            Transport::Hyper => Builder::Hyper(
                bearer_client::asynchronous::Client::builder(config),
                runtime(),
            ),
            Transport::Reqwest => Builder::Reqwest(
                bearer_client::reqwest_client::Client::builder(config),
                runtime(),
            ),
        }
    }

    pub fn clock(self, clock: SandboxClock) -> Self {
        either!(self, b => b.clock(clock))
    }

    pub fn max_wait(self, max_wait: Duration) -> Self {
        either!(self, b => b.max_wait(max_wait))
    }

    pub fn timeout(self, timeout: Duration) -> Self {
        either!(self, b => b.timeout(timeout))
    }

    pub fn root_certificates_pem(self, pem: &str) -> Self {
        either!(self, b => b.root_certificates_pem(pem))
    }

    pub fn proxy(self, url: &str) -> Self {
        either!(self, b => b.proxy(url))
    }

    pub fn shared_store(self, store: Arc<dyn TokenStore>) -> Self {
        either!(self, b => b.shared_store(store))
    }

    pub fn on_event(self, callback: impl Fn(&ClientEvent) + Send + Sync + 'static) -> Self {
        either!(self, b => b.on_event(callback))
    }

    /// Records every event in `recorder`.
    pub fn recorded(self, recorder: &Recorder) -> Self {
        self.on_event(recorder.callback())
    }

    pub fn build(self) -> Result<Client, Error> {
        match self {
            Builder::Ureq(builder) => builder.build().map(Client::Ureq),
            Builder::Hyper(builder, runtime) => {
                let client = {
                    let _entered = runtime.enter();
                    builder.build()
                };
                client.map(|client| Client::Hyper(client, runtime))
            }
            Builder::Reqwest(builder, runtime) => {
                let client = {
                    let _entered = runtime.enter();
                    builder.build()
                };
                client.map(|client| Client::Reqwest(client, runtime))
            }
        }
    }
}

/// A client of any transport, called the same way (the async ones on their own runtime).
#[derive(Clone)]
pub enum Client {
    Ureq(bearer_client::blocking::Client),
    Hyper(
        bearer_client::asynchronous::Client,
        Arc<tokio::runtime::Runtime>,
    ),
    Reqwest(
        bearer_client::reqwest_client::Client,
        Arc<tokio::runtime::Runtime>,
    ),
}

/// A call running on another thread (ureq) or task (hyper, reqwest).
pub enum Pending {
    Thread(std::thread::JoinHandle<Result<u16, Error>>),
    Task(
        tokio::task::JoinHandle<Result<u16, Error>>,
        Arc<tokio::runtime::Runtime>,
    ),
}

impl Pending {
    /// Waits for the call: its status, or its error.
    pub fn join(self) -> Result<u16, Error> {
        match self {
            Pending::Thread(thread) => thread.join().expect("the caller does not panic"),
            Pending::Task(task, runtime) => {
                runtime.block_on(task).expect("the caller does not panic")
            }
        }
    }
}

impl Client {
    pub fn transport(&self) -> Transport {
        match self {
            Client::Ureq(_) => Transport::Ureq,
            Client::Hyper(..) => Transport::Hyper,
            Client::Reqwest(..) => Transport::Reqwest,
        }
    }

    /// One GET of `url` with `query=privacy`: the answer, or the error.
    pub fn call(&self, url: &str) -> Result<Response, Error> {
        self.call_with(url, [("query", "privacy")])
    }

    /// One GET of `url` with `query`.
    pub fn call_with(&self, url: &str, query: [(&str, &str); 1]) -> Result<Response, Error> {
        match self {
            Client::Ureq(client) => client.get(url, query),
            Client::Hyper(client, runtime) => runtime.block_on(client.get(url, query)),
            Client::Reqwest(client, runtime) => runtime.block_on(client.get(url, query)),
        }
    }

    /// One GET of `url`: the status, or the error.
    pub fn get(&self, url: &str) -> Result<u16, Error> {
        self.call(url).map(|answer| answer.status().as_u16())
    }

    /// Any request, with the bearer attached.
    pub fn send(&self, request: http::Request<Vec<u8>>) -> Result<Response, Error> {
        match self {
            Client::Ureq(client) => client.send(request),
            Client::Hyper(client, runtime) => runtime.block_on(client.send(request)),
            Client::Reqwest(client, runtime) => runtime.block_on(client.send(request)),
        }
    }

    /// One GET of `url` started on another thread (ureq) or task (hyper, reqwest).
    pub fn spawn_get(&self, url: &str) -> Pending {
        let url = url.to_owned();
        match self.clone() {
            Client::Ureq(client) => Pending::Thread(std::thread::spawn(move || {
                client
                    .get(&url, [("query", "privacy")])
                    .map(|answer| answer.status().as_u16())
            })),
            Client::Hyper(client, runtime) => {
                let task = runtime.spawn(async move {
                    client
                        .get(&url, [("query", "privacy")])
                        .await
                        .map(|answer| answer.status().as_u16())
                });
                Pending::Task(task, runtime)
            }
            Client::Reqwest(client, runtime) => {
                let task = runtime.spawn(async move {
                    client
                        .get(&url, [("query", "privacy")])
                        .await
                        .map(|answer| answer.status().as_u16())
                });
                Pending::Task(task, runtime)
            }
        }
    }

    /// `callers` GETs of `url` let go at once (threads for ureq, tasks for hyper and reqwest,
    /// released by one barrier): their results.
    pub fn get_at_once(&self, callers: usize, url: &str) -> Vec<Result<u16, Error>> {
        match self {
            Client::Ureq(client) => {
                let barrier = Barrier::new(callers);
                std::thread::scope(|scope| {
                    let threads: Vec<_> = (0..callers)
                        .map(|_| {
                            let (client, barrier) = (client.clone(), &barrier);
                            scope.spawn(move || {
                                barrier.wait();
                                client
                                    .get(url, [("query", "privacy")])
                                    .map(|answer| answer.status().as_u16())
                            })
                        })
                        .collect();
                    threads
                        .into_iter()
                        .map(|thread| thread.join().expect("the caller does not panic"))
                        .collect()
                })
            }
            Client::Hyper(client, runtime) => runtime.block_on(async {
                let barrier = Arc::new(tokio::sync::Barrier::new(callers));
                let tasks: Vec<_> = (0..callers)
                    .map(|_| {
                        let (client, barrier, url) =
                            (client.clone(), Arc::clone(&barrier), url.to_owned());
                        tokio::spawn(async move {
                            barrier.wait().await;
                            client
                                .get(&url, [("query", "privacy")])
                                .await
                                .map(|answer| answer.status().as_u16())
                        })
                    })
                    .collect();
                let mut results = Vec::with_capacity(callers);
                for task in tasks {
                    results.push(task.await.expect("the caller does not panic"));
                }
                results
            }),
            Client::Reqwest(client, runtime) => runtime.block_on(async {
                let barrier = Arc::new(tokio::sync::Barrier::new(callers));
                let tasks: Vec<_> = (0..callers)
                    .map(|_| {
                        let (client, barrier, url) =
                            (client.clone(), Arc::clone(&barrier), url.to_owned());
                        tokio::spawn(async move {
                            barrier.wait().await;
                            client
                                .get(&url, [("query", "privacy")])
                                .await
                                .map(|answer| answer.status().as_u16())
                        })
                    })
                    .collect();
                let mut results = Vec::with_capacity(callers);
                for task in tasks {
                    results.push(task.await.expect("the caller does not panic"));
                }
                results
            }),
        }
    }

    pub fn bearer(&self) -> Result<Bearer, Error> {
        match self {
            Client::Ureq(client) => client.bearer(),
            Client::Hyper(client, runtime) => runtime.block_on(client.bearer()),
            Client::Reqwest(client, runtime) => runtime.block_on(client.bearer()),
        }
    }

    pub fn report(
        &self,
        bearer: &Bearer,
        status: http::StatusCode,
        headers: &http::HeaderMap,
    ) -> bearer_client::protocol::ApiVerdict {
        match self {
            Client::Ureq(client) => client.report(bearer, status, headers),
            Client::Hyper(client, _) => client.report(bearer, status, headers),
            Client::Reqwest(client, _) => client.report(bearer, status, headers),
        }
    }

    pub fn invalidate(&self, bearer: &Bearer) {
        match self {
            Client::Ureq(client) => client.invalidate(bearer),
            Client::Hyper(client, _) => client.invalidate(bearer),
            Client::Reqwest(client, _) => client.invalidate(bearer),
        }
    }

    pub fn tokens(&self) -> Option<StoredTokens> {
        match self {
            Client::Ureq(client) => client.tokens(),
            Client::Hyper(client, _) => client.tokens(),
            Client::Reqwest(client, _) => client.tokens(),
        }
    }

    pub fn budget(&self) -> BudgetSnapshot {
        match self {
            Client::Ureq(client) => client.budget(),
            Client::Hyper(client, _) => client.budget(),
            Client::Reqwest(client, _) => client.budget(),
        }
    }

    /// `Debug` of the client itself.
    pub fn debug(&self) -> String {
        match self {
            Client::Ureq(client) => format!("{client:?}"),
            Client::Hyper(client, _) => format!("{client:?}"),
            Client::Reqwest(client, _) => format!("{client:?}"),
        }
    }

    /// `Debug` of what the client hands a program's own HTTP stack: the ureq middleware, or
    /// the tower layer, or the reqwest middleware.
    pub fn attachment_debug(&self) -> String {
        match self {
            Client::Ureq(client) => format!("{:?}", client.middleware()),
            Client::Hyper(client, _) => format!("{:?}", client.layer()),
            Client::Reqwest(client, _) => format!("{:?}", client.middleware()),
        }
    }
}

/// A running sandbox and the keys of its one active application.
pub struct Setup {
    pub transport: Transport,
    pub sandbox: Arc<Sandbox>,
    pub keys: AppKeys,
}

/// A plan large enough never to get in the way (no QPS limit).
pub fn roomy_plan() -> PlanLimits {
    PlanLimits {
        calls_per_day: 1_000_000,
        queries_per_second: 0,
    }
}

/// 2023-11-14 23:00:00 UTC: one hour before a quota reset.
pub fn an_hour_before_midnight() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_002_800)
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
    /// A sandbox on the system clock (plus whatever the test advances), with a roomy plan.
    pub fn new(transport: Transport) -> Setup {
        Setup::with(transport, SandboxConfig::default().plan(roomy_plan()))
    }

    pub fn with(transport: Transport, config: SandboxConfig) -> Setup {
        let sandbox = Sandbox::start_blocking(config).expect("the sandbox starts");
        let keys = sandbox.create_app().expect("an application is created");
        Setup {
            transport,
            sandbox: Arc::new(sandbox),
            keys,
        }
    }

    /// A sandbox whose clock stands still unless advanced.
    pub fn fixed(transport: Transport, plan: PlanLimits, at: SystemTime) -> Setup {
        Setup::with(
            transport,
            SandboxConfig::default()
                .plan(plan)
                .clock(SandboxClock::fixed(at)),
        )
    }

    /// The protocol configuration for the application, with fast retries.
    pub fn config(&self) -> ConfigBuilder {
        self.config_with_secret(&self.keys.client_secret)
    }

    /// The same configuration with another client secret.
    pub fn config_with_secret(&self, secret: &str) -> ConfigBuilder {
        Config::builder(
            self.sandbox.token_url(),
            self.keys.client_id.as_str(),
            secret,
        )
        .retry(fast_retry())
        .seed(7)
    }

    /// A builder of this setup's transport for `config`, on the sandbox's clock.
    pub fn builder(&self, config: ConfigBuilder) -> Builder {
        Builder::new(
            self.transport,
            config.build().expect("the configuration is valid"),
        )
        .clock(self.sandbox.clock())
    }

    /// A builder with the default configuration, saving its tokens in `store`.
    pub fn store_builder(&self, store: &Arc<MemoryStore>) -> Builder {
        self.builder(self.config())
            .shared_store(Arc::clone(store) as Arc<dyn TokenStore>)
    }

    /// A client with the default configuration.
    pub fn client(&self) -> Client {
        self.builder(self.config())
            .build()
            .expect("the client builds")
    }

    /// A client with the default configuration, recording its events.
    pub fn recorded(&self) -> (Recorder, Client) {
        let events = Recorder::default();
        let client = self
            .builder(self.config())
            .recorded(&events)
            .build()
            .expect("the client builds");
        (events, client)
    }

    pub fn search_url(&self) -> String {
        self.sandbox.url(bearer_sandbox::SEARCH_PATH)
    }

    /// One search through `client`, as it comes.
    pub fn try_search(&self, client: &Client) -> Result<Response, Error> {
        client.call(&self.search_url())
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

    /// Two searches through a new `client`: both succeed, on one token request.
    pub fn search_twice_on_one_token(&self, client: &Client) {
        self.search(client);
        self.search(client);
        assert_eq!(self.token_requests(), 1, "one token request");
        assert_eq!(self.api_calls(), 2, "two calls");
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

    /// The tokens the client adopted, in order: its first ones, then every renewal.
    pub fn adopted_tokens(&self) -> Vec<StoredTokens> {
        self.all()
            .into_iter()
            .filter_map(|event| match event {
                ClientEvent::TokensChanged { tokens, .. } => Some(tokens),
                _ => None,
            })
            .collect()
    }
}

/// Called with every save, before it is recorded.
pub type SaveHook = Box<dyn Fn(&StoredTokens) + Send + Sync>;

/// A store in memory that records every save (loading the latest), can be told to fail, and
/// can run a hook at each save.
#[derive(Default)]
pub struct MemoryStore {
    pub saved: Mutex<Vec<StoredTokens>>,
    pub fail: AtomicBool,
    pub on_save: Option<SaveHook>,
}

impl MemoryStore {
    pub fn saved(&self) -> Vec<StoredTokens> {
        self.saved.lock().unwrap().clone()
    }
}

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.saved.lock().unwrap().last().cloned())
    }

    fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        if let Some(hook) = &self.on_save {
            hook(tokens);
        }
        if self.fail.load(Ordering::SeqCst) {
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
