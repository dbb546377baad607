//! Conformance with an independent OAuth 2.0 server: every transport against
//! `@node-oauth/oauth2-server` (tests/conformance/server.js), configured like the provider.
//!
//! Each test starts its own server as a child process on 127.0.0.1 (port 0, read from its first
//! line of output). Time moves by `/admin/advance`, which shifts the server's clock, and by the
//! same shift of the client's clock: nothing sleeps to wait for an expiry.
//!
//! Needs `node` and `(cd tests/conformance && npm ci)`, so every test is ignored by default:
//! run them with `cargo test -p bearer-client --all-features --test conformance -- --include-ignored`
//! (as `.ci/run` does). Run so without Node.js or `node_modules`, they fail with that message.
//!
//! The ureq scenarios run with the default features; the hyper ones need `--features hyper`, the
//! reqwest ones `--features reqwest`.
//! Deviations of that server from the provider, and what the client does about each, are in
//! tests/conformance/README.md.

#![cfg(any(feature = "ureq", feature = "hyper"))]
#![allow(missing_docs)]

use bearer_client::protocol::Grant;
use bearer_client::protocol::{RetryPolicy, StoredTokens};
use bearer_client::{ClientAuth, Config};
use bearer_client::{Clock, StoreError, TokenStore};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

// Both transports re-export the same answer, error and event types (bearer-client-core's).
#[cfg(not(feature = "ureq"))]
use bearer_client::asynchronous::{ClientEvent, Error, Response};
#[cfg(feature = "ureq")]
use bearer_client::blocking::{ClientEvent, Error, Response};

// ---- the server ---------------------------------------------------------------------------

/// The access-token lifetime the server is told to use: short, as the issue asks (the provider's
/// is 3600 s); the client renews at `lifetime - refresh_leeway` (60 s by default).
const LIFETIME: Duration = Duration::from_secs(300);
/// A 24-character id and a 10-character secret, the provider's documented shapes.
const CLIENT_ID: &str = "conformanceclient0000001";
const SECRET: &str = "Secret0001";
/// A second application whose secret has characters that form-encoding changes.
const ODD_ID: &str = "conformanceclient0000002";
const ODD_SECRET: &str = "Se+cr/t=1%";

/// What the suite needs, as its ignore reason and its failures say.
const NEEDS: &str = "needs the Node.js conformance server: (cd tests/conformance && npm ci)";

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

/// The client's clock: the system clock plus the offset the server was told to advance by.
#[derive(Clone, Default)]
struct SharedOffset(Arc<AtomicU64>);

impl Clock for SharedOffset {
    fn now(&self) -> SystemTime {
        SystemTime::now() + Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// A running server.js, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    clock: SharedOffset,
}

impl Server {
    /// Starts server.js with extra arguments (such as `--no-rotation`); panics with what to
    /// install when Node.js or the server's dependencies are missing.
    fn start_with(extra: &[&str]) -> Self {
        let dir = conformance_dir();
        if !dir.join("node_modules/@node-oauth/oauth2-server").is_dir() {
            panic!("tests/conformance/node_modules is missing: {NEEDS}");
        }
        let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
        let lifetime = LIFETIME.as_secs().to_string();
        let mut child = Command::new(&node)
            .current_dir(&dir)
            .args([
                "server.js",
                "--port",
                "0",
                "--access-token-lifetime",
                &lifetime,
            ])
            .args(["--client", &format!("{CLIENT_ID}:{SECRET}")])
            .args(["--client", &format!("{ODD_ID}:{ODD_SECRET}")])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {node:?}: {e}; {NEEDS}"));
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut first)
            .expect("the server's first line");
        let port = first.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("server.js did not print its port (got {first:?}); see its stderr above")
        });
        Self {
            child,
            port,
            clock: SharedOffset::default(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn token_url(&self) -> String {
        self.url("/oauth2/token")
    }

    fn search_url(&self) -> String {
        self.url("/v1/searchoauth")
    }

    /// A configuration for `CLIENT_ID` with fast retries.
    fn config(&self, auth: ClientAuth) -> Config {
        self.config_for(CLIENT_ID, SECRET, auth)
    }

    fn config_for(&self, id: &str, secret: &str, auth: ClientAuth) -> Config {
        Config::builder(self.token_url(), id, secret)
            .client_auth(auth)
            .retry(RetryPolicy {
                max_retries: 3,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(80),
            })
            .build()
            .expect("a valid configuration")
    }

    /// One admin request, over a plain socket (no HTTP client dependency).
    fn admin(&self, method: &str, path_and_query: &str) -> Value {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to server.js");
        write!(
            stream,
            "{method} {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(
            head.starts_with("HTTP/1.1 200"),
            "{method} {path_and_query}: {head}"
        );
        serde_json::from_str(body).expect("a JSON answer")
    }

    /// Moves the server's clock and the client's together.
    fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap();
        self.advance_server_only(by);
        self.clock.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Moves the server's clock only: the client's clock is then behind the server's.
    fn advance_server_only(&self, by: Duration) {
        self.admin(
            "POST",
            &format!("/admin/advance?seconds={}", by.as_secs_f64()),
        );
    }

    fn revoke_access_tokens(&self) -> u64 {
        self.for_client("revoke-access-tokens", "revoked")
    }

    fn forget_refresh_tokens(&self) -> u64 {
        self.for_client("forget-refresh-tokens", "forgotten")
    }

    /// One admin action on `CLIENT_ID`'s tokens: how many its answer says it touched.
    fn for_client(&self, action: &str, touched: &str) -> u64 {
        self.admin("POST", &format!("/admin/{action}?client_id={CLIENT_ID}"))[touched]
            .as_u64()
            .unwrap()
    }

    fn counters(&self) -> Counters {
        Counters(self.admin("GET", "/admin/counters"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's counters.
struct Counters(Value);

impl Counters {
    fn n(&self, pointer: &str) -> u64 {
        self.0.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
    }
    /// Token requests sent: (client_credentials, refresh_token).
    fn grants(&self) -> (u64, u64) {
        (
            self.n("/token_requests/client_credentials"),
            self.n("/token_requests/refresh_token"),
        )
    }
    fn token_requests(&self) -> u64 {
        let (cc, rt) = self.grants();
        cc + rt + self.n("/token_requests/other")
    }
    fn api_calls(&self) -> u64 {
        self.n("/api_calls")
    }
    fn token_refusals(&self, code: &str) -> u64 {
        self.n(&format!("/token_refusals/{code}"))
    }
    fn api_refusals(&self) -> &serde_json::Map<String, Value> {
        self.0["api_refusals"].as_object().unwrap()
    }
    fn auth(&self, method: &str) -> u64 {
        self.n(&format!("/token_client_auth/{method}"))
    }
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

// ---- what the scenarios see of a transport --------------------------------------------------

/// A client event, as the scenarios count them.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Requested(Grant),
    Renewed(Grant),
    Failed(Grant),
    RefreshTokenRefused,
    Other,
}

impl Ev {
    fn of(event: &ClientEvent) -> Self {
        match event {
            ClientEvent::TokenRequested { request } => Ev::Requested(request.grant()),
            ClientEvent::TokensChanged { request, .. } => Ev::Renewed(request.grant()),
            ClientEvent::TokenRequestFailed { request, .. } => Ev::Failed(request.grant()),
            ClientEvent::RefreshTokenRefused => Ev::RefreshTokenRefused,
            _ => Ev::Other,
        }
    }
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Ev>>>);

impl Recorder {
    /// The client's `on_event` callback.
    fn callback(&self) -> impl Fn(&ClientEvent) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event: &ClientEvent| events.lock().unwrap().push(Ev::of(event))
    }
    fn count(&self, event: &Ev) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| *e == event)
            .count()
    }
}

/// A store shared by clients, as two processes sharing a token file would.
#[derive(Default)]
struct MemoryStore(Mutex<Option<StoredTokens>>);

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.0.lock().unwrap().clone())
    }
    fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        *self.0.lock().unwrap() = Some(tokens.clone());
        Ok(())
    }
}

/// An API answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    json: Value,
}

/// A failed call.
#[derive(Debug)]
struct Failure {
    credentials_rejected: bool,
    message: String,
}

/// The query every scenario searches for.
const QUERY: [(&str, &str); 1] = [("query", "privacy policy")];

/// What the scenarios see of a call's outcome.
fn outcome(result: Result<Response, Error>) -> Result<Answer, Failure> {
    match result {
        Ok(answer) => Ok(Answer {
            status: answer.status().as_u16(),
            json: answer.body().json().unwrap_or(Value::Null),
        }),
        Err(error) => Err(Failure {
            credentials_rejected: matches!(
                error.token_error(),
                Some(bearer_client::protocol::Error::CredentialsRejected(_))
            ),
            message: error.to_string(),
        }),
    }
}

trait Transport {
    type Client: Clone + Send + Sync + 'static;
    fn build(
        config: Config,
        clock: SharedOffset,
        events: &Recorder,
        store: Option<Arc<dyn TokenStore>>,
    ) -> Self::Client;
    fn search(client: &Self::Client, url: &str) -> Result<Answer, Failure>;
    /// `callers` searches at once (threads or tasks released together).
    fn search_concurrently(
        client: &Self::Client,
        url: &str,
        callers: usize,
    ) -> Vec<Result<Answer, Failure>>;
    fn tokens(client: &Self::Client) -> Option<StoredTokens>;
    fn calls_used(client: &Self::Client) -> u64;

    /// One search that must answer 200.
    fn search_ok(client: &Self::Client, server: &Server) -> Answer {
        ok(Self::search(client, &server.search_url()))
    }

    /// Moves both clocks a token lifetime forward, then one search that must answer 200.
    fn search_after_expiry(client: &Self::Client, server: &Server) -> Answer {
        server.advance(LIFETIME);
        Self::search_ok(client, server)
    }
}

#[cfg(feature = "ureq")]
struct Ureq;

#[cfg(feature = "ureq")]
impl Transport for Ureq {
    type Client = bearer_client::blocking::Client;

    fn build(
        config: Config,
        clock: SharedOffset,
        events: &Recorder,
        store: Option<Arc<dyn TokenStore>>,
    ) -> Self::Client {
        let mut builder = bearer_client::blocking::Client::builder(config)
            .clock(clock)
            .on_event(events.callback());
        if let Some(store) = store {
            builder = builder.shared_store(store);
        }
        builder.build().expect("the client builds")
    }

    fn search(client: &Self::Client, url: &str) -> Result<Answer, Failure> {
        outcome(client.get(url, QUERY))
    }

    fn search_concurrently(
        client: &Self::Client,
        url: &str,
        callers: usize,
    ) -> Vec<Result<Answer, Failure>> {
        let barrier = Arc::new(std::sync::Barrier::new(callers));
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                let (client, url, barrier) = (client.clone(), url.to_owned(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Self::search(&client, &url)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    }

    fn tokens(client: &Self::Client) -> Option<StoredTokens> {
        client.tokens()
    }

    fn calls_used(client: &Self::Client) -> u64 {
        client.budget().calls_used
    }
}

#[cfg(feature = "hyper")]
struct Hyper;

/// The async client with the runtime that drives it.
#[cfg(feature = "hyper")]
#[derive(Clone)]
struct HyperClient {
    client: bearer_client::asynchronous::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

#[cfg(feature = "hyper")]
impl Hyper {
    async fn search_async(
        client: &bearer_client::asynchronous::Client,
        url: &str,
    ) -> Result<Answer, Failure> {
        outcome(client.get(url, QUERY).await)
    }
}

#[cfg(feature = "hyper")]
impl Transport for Hyper {
    type Client = HyperClient;

    fn build(
        config: Config,
        clock: SharedOffset,
        events: &Recorder,
        store: Option<Arc<dyn TokenStore>>,
    ) -> Self::Client {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut builder = bearer_client::asynchronous::Client::builder(config)
            .clock(clock)
            .on_event(events.callback());
        if let Some(store) = store {
            builder = builder.shared_store(store);
        }
        let client = {
            let _entered = runtime.enter();
            builder.build().expect("the client builds")
        };
        HyperClient {
            client,
            runtime: Arc::new(runtime),
        }
    }

    fn search(client: &Self::Client, url: &str) -> Result<Answer, Failure> {
        client
            .runtime
            .block_on(Self::search_async(&client.client, url))
    }

    fn search_concurrently(
        client: &Self::Client,
        url: &str,
        callers: usize,
    ) -> Vec<Result<Answer, Failure>> {
        client.runtime.block_on(async {
            let barrier = Arc::new(tokio::sync::Barrier::new(callers));
            let tasks: Vec<_> = (0..callers)
                .map(|_| {
                    let (client, url, barrier) =
                        (client.client.clone(), url.to_owned(), barrier.clone());
                    tokio::spawn(async move {
                        barrier.wait().await;
                        Self::search_async(&client, &url).await
                    })
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        })
    }

    fn tokens(client: &Self::Client) -> Option<StoredTokens> {
        client.client.tokens()
    }

    fn calls_used(client: &Self::Client) -> u64 {
        client.client.budget().calls_used
    }
}

#[cfg(feature = "reqwest")]
struct Reqwest;

/// The async client on reqwest with the runtime that drives it.
#[cfg(feature = "reqwest")]
#[derive(Clone)]
struct ReqwestClient {
    client: bearer_client::reqwest_client::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

#[cfg(feature = "reqwest")]
impl Reqwest {
    async fn search_async(
        client: &bearer_client::reqwest_client::Client,
        url: &str,
    ) -> Result<Answer, Failure> {
        outcome(client.get(url, QUERY).await)
    }
}

#[cfg(feature = "reqwest")]
impl Transport for Reqwest {
    type Client = ReqwestClient;

    fn build(
        config: Config,
        clock: SharedOffset,
        events: &Recorder,
        store: Option<Arc<dyn TokenStore>>,
    ) -> Self::Client {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut builder = bearer_client::reqwest_client::Client::builder(config)
            .clock(clock)
            .on_event(events.callback());
        if let Some(store) = store {
            builder = builder.shared_store(store);
        }
        let client = {
            let _entered = runtime.enter();
            builder.build().expect("the client builds")
        };
        ReqwestClient {
            client,
            runtime: Arc::new(runtime),
        }
    }

    fn search(client: &Self::Client, url: &str) -> Result<Answer, Failure> {
        client
            .runtime
            .block_on(Self::search_async(&client.client, url))
    }

    fn search_concurrently(
        client: &Self::Client,
        url: &str,
        callers: usize,
    ) -> Vec<Result<Answer, Failure>> {
        client.runtime.block_on(async {
            let barrier = Arc::new(tokio::sync::Barrier::new(callers));
            let tasks: Vec<_> = (0..callers)
                .map(|_| {
                    let (client, url, barrier) =
                        (client.client.clone(), url.to_owned(), barrier.clone());
                    tokio::spawn(async move {
                        barrier.wait().await;
                        Self::search_async(&client, &url).await
                    })
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        })
    }

    fn tokens(client: &Self::Client) -> Option<StoredTokens> {
        client.client.tokens()
    }

    fn calls_used(client: &Self::Client) -> u64 {
        client.client.budget().calls_used
    }
}

// ---- the scenarios, generic over the transport ----------------------------------------------

fn client<T: Transport>(server: &Server, auth: ClientAuth, events: &Recorder) -> T::Client {
    T::build(server.config(auth), server.clock.clone(), events, None)
}

/// A client with body authentication recording its events, after its first search.
fn after_first_search<T: Transport>(server: &Server) -> (Recorder, T::Client) {
    let events = Recorder::default();
    let client = client::<T>(server, ClientAuth::Body, &events);
    T::search_ok(&client, server);
    (events, client)
}

fn ok(result: Result<Answer, Failure>) -> Answer {
    let answer = result.unwrap_or_else(|f| panic!("the call failed: {}", f.message));
    assert_eq!(answer.status, 200, "{answer:?}");
    answer
}

/// First token: one client_credentials request; the server's shapes (64-hex tokens,
/// `token_type: "Bearer"`, `expires_in` floored) are all accepted. Reuse: later calls and
/// clones send no token request.
fn first_token_and_reuse<T: Transport>(server: &Server) {
    let events = Recorder::default();
    let client = client::<T>(server, ClientAuth::Body, &events);
    let answer = T::search_ok(&client, server);
    assert_eq!(answer.json["query"], "privacy policy");
    assert_eq!(answer.json["client_id"], CLIENT_ID);

    let tokens = T::tokens(&client).expect("tokens are held");
    assert_eq!(
        tokens.access_token.expose().len(),
        64,
        "the server's token length"
    );
    assert_eq!(tokens.refresh_token.as_ref().unwrap().expose().len(), 64);
    let left = tokens
        .expires_at
        .duration_since(server.clock.now())
        .expect("expires in the future");
    assert!(
        left <= LIFETIME && left >= LIFETIME - Duration::from_secs(3),
        "expires_in {left:?} read as the server's lifetime (floored)"
    );

    for _ in 0..4 {
        T::search_ok(&client, server);
    }
    T::search_ok(&client.clone(), server);
    let counters = server.counters();
    assert_eq!(counters.grants(), (1, 0), "{counters:?}");
    assert_eq!(counters.api_calls(), 6);
    assert!(counters.api_refusals().is_empty(), "{counters:?}");
    assert_eq!(T::calls_used(&client), 7, "six calls and one token request");
    assert_eq!(events.count(&Ev::Requested(Grant::ClientCredentials)), 1);
}

/// Renewal after expiry uses the refresh token and adopts each rotated one: the server voids a
/// refresh token once used, so three refreshes in a row succeed only if each rotation was
/// adopted.
fn renewal_adopts_rotation<T: Transport>(server: &Server) {
    let (events, client) = after_first_search::<T>(server);
    let mut seen = vec![T::tokens(&client).unwrap()];
    for round in 1..=3 {
        T::search_after_expiry(&client, server);
        T::search_ok(&client, server);
        assert_eq!(server.counters().grants(), (1, round));
        let now = T::tokens(&client).unwrap();
        for before in &seen {
            assert!(!now.access_token.same_as(&before.access_token));
            assert!(
                !now.refresh_token
                    .as_ref()
                    .unwrap()
                    .same_as(before.refresh_token.as_ref().unwrap()),
                "the rotated refresh token was adopted"
            );
        }
        seen.push(now);
    }
    let counters = server.counters();
    assert_eq!(counters.token_refusals("invalid_grant"), 0, "{counters:?}");
    assert!(
        counters.api_refusals().is_empty(),
        "an expired token was never sent: {counters:?}"
    );
    assert_eq!(counters.api_calls(), 7);
    assert_eq!(events.count(&Ev::Renewed(Grant::RefreshToken)), 3);
    assert_eq!(events.count(&Ev::RefreshTokenRefused), 0);
}

/// A refresh token the server no longer knows is refused with `invalid_grant` (400, this
/// server's own description); the client falls back to client credentials once, and the
/// fallback's refresh token rotates normally afterwards.
fn forgotten_refresh_token_falls_back<T: Transport>(server: &Server) {
    let (events, client) = after_first_search::<T>(server);
    assert_eq!(server.forget_refresh_tokens(), 1);
    T::search_after_expiry(&client, server);
    T::search_ok(&client, server);
    let counters = server.counters();
    assert_eq!(counters.grants(), (2, 1), "{counters:?}");
    assert_eq!(counters.token_refusals("invalid_grant"), 1);
    assert_eq!(events.count(&Ev::RefreshTokenRefused), 1);
    assert_eq!(counters.api_calls(), 3);

    T::search_after_expiry(&client, server);
    assert_eq!(server.counters().grants(), (2, 2));
    assert_eq!(server.counters().token_refusals("invalid_grant"), 1);
}

/// A stale refresh token, rotated away by someone else: two clients start from one saved pair
/// of tokens (two processes sharing a token file); the first renews, which voids the refresh
/// token the second still holds, so the second's renewal is refused and falls back.
fn rotated_away_refresh_token_falls_back<T: Transport>(server: &Server) {
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let (first_events, second_events) = (Recorder::default(), Recorder::default());
    let config = server.config(ClientAuth::Body);
    let first = T::build(
        config.clone(),
        server.clock.clone(),
        &first_events,
        Some(store.clone()),
    );
    T::search_ok(&first, server);
    let second = T::build(config, server.clock.clone(), &second_events, Some(store));
    T::search_ok(&second, server);
    assert_eq!(
        server.counters().grants(),
        (1, 0),
        "the second reused the saved token"
    );

    T::search_after_expiry(&first, server);
    T::search_ok(&second, server);
    let counters = server.counters();
    assert_eq!(counters.grants(), (2, 2), "{counters:?}");
    assert_eq!(counters.token_refusals("invalid_grant"), 1);
    assert_eq!(first_events.count(&Ev::RefreshTokenRefused), 0);
    assert_eq!(second_events.count(&Ev::RefreshTokenRefused), 1);
    assert_eq!(
        second_events.count(&Ev::Renewed(Grant::ClientCredentials)),
        1
    );
    assert!(counters.api_refusals().is_empty(), "{counters:?}");
}

/// A revoked access token: the API answers 401 with
/// `WWW-Authenticate: Bearer realm="Service",error="invalid_token"`; the client renews (with
/// the refresh token) and replays the call once.
fn revoked_access_token_renewed_and_replayed<T: Transport>(server: &Server) {
    let (_, client) = after_first_search::<T>(server);
    assert_eq!(server.revoke_access_tokens(), 1);
    T::search_ok(&client, server);
    let counters = server.counters();
    assert_eq!(counters.api_calls(), 3, "first call, refused call, replay");
    assert_eq!(counters.n("/api_refusals/invalid_token"), 1, "{counters:?}");
    assert_eq!(counters.grants(), (1, 1), "renewed with the refresh token");
    T::search_ok(&client, server);
    assert_eq!(server.counters().api_calls(), 4);
    assert_eq!(server.counters().token_requests(), 2);
}

/// The server's clock runs ahead of the client's (skew): the client still thinks its token
/// fresh, the server answers 401 `invalid_token` ("access token has expired"); the client
/// renews and replays once.
fn server_clock_ahead_expired_token_renewed<T: Transport>(server: &Server) {
    let (_, client) = after_first_search::<T>(server);
    server.advance_server_only(LIFETIME);
    T::search_ok(&client, server);
    let counters = server.counters();
    assert_eq!(counters.api_calls(), 3, "first call, refused call, replay");
    assert_eq!(counters.n("/api_refusals/invalid_token"), 1, "{counters:?}");
    assert_eq!(counters.grants(), (1, 1));
    T::search_ok(&client, server);
    assert_eq!(server.counters().api_calls(), 4);
}

/// A server that does not rotate (`--no-rotation`): refresh answers carry no `refresh_token`;
/// the client keeps the one it has (RFC 6749 section 6) and uses it again.
fn no_rotation_keeps_the_refresh_token<T: Transport>(server: &Server) {
    let (events, client) = after_first_search::<T>(server);
    let first = T::tokens(&client)
        .unwrap()
        .refresh_token
        .expect("a refresh token");
    for round in 1..=2 {
        T::search_after_expiry(&client, server);
        assert_eq!(server.counters().grants(), (1, round));
        let held = T::tokens(&client)
            .unwrap()
            .refresh_token
            .expect("still held");
        assert!(held.same_as(&first), "the refresh token was kept");
    }
    let counters = server.counters();
    assert_eq!(counters.token_refusals("invalid_grant"), 0, "{counters:?}");
    assert_eq!(events.count(&Ev::RefreshTokenRefused), 0);
}

/// Many callers at once, with no token and then at expiry: one token request each time.
fn concurrent_callers_one_token_request<T: Transport>(server: &Server) {
    const CALLERS: usize = 32;
    let client = client::<T>(server, ClientAuth::Body, &Recorder::default());
    for result in T::search_concurrently(&client, &server.search_url(), CALLERS) {
        ok(result);
    }
    assert_eq!(server.counters().grants(), (1, 0));
    server.advance(LIFETIME);
    for result in T::search_concurrently(&client, &server.search_url(), CALLERS) {
        ok(result);
    }
    let counters = server.counters();
    assert_eq!(counters.grants(), (1, 1), "{counters:?}");
    assert_eq!(counters.token_refusals("invalid_grant"), 0);
    assert_eq!(counters.api_calls(), 2 * CALLERS as u64);
    assert!(counters.api_refusals().is_empty(), "{counters:?}");
}

/// A wrong secret is refused (`invalid_client`: 400 with body authentication, 401 with
/// `WWW-Authenticate: Basic realm="Service"` with Basic); the client reports it as rejected
/// credentials and sends no further token request until its quiet period is over.
fn wrong_secret_no_retry_storm<T: Transport>(server: &Server, auth: ClientAuth) {
    let events = Recorder::default();
    let config = server.config_for(CLIENT_ID, "WrongSecr1", auth);
    let client = T::build(config, server.clock.clone(), &events, None);
    for _ in 0..5 {
        let failure = T::search(&client, &server.search_url()).expect_err("refused");
        assert!(failure.credentials_rejected, "{failure:?}");
        assert!(
            !failure.message.contains("WrongSecr1"),
            "{}",
            failure.message
        );
    }
    let more: Vec<_> = T::search_concurrently(&client, &server.search_url(), 8);
    assert!(
        more.iter()
            .all(|r| r.as_ref().is_err_and(|f| f.credentials_rejected))
    );
    let counters = server.counters();
    assert_eq!(counters.token_requests(), 1, "no retry storm: {counters:?}");
    assert_eq!(counters.token_refusals("invalid_client"), 1);
    assert_eq!(counters.api_calls(), 0);

    // Not locked out for good: after the quiet period (60 s by default) one more try.
    server.advance(Duration::from_secs(61));
    let failure = T::search(&client, &server.search_url()).expect_err("refused");
    assert!(failure.credentials_rejected, "{failure:?}");
    assert_eq!(server.counters().token_requests(), 2);
}

/// Basic or body client authentication, through a first token and a refresh: exactly the chosen
/// method is used on every token request.
fn client_auth_method<T: Transport>(server: &Server, auth: ClientAuth) {
    let client = client::<T>(server, auth, &Recorder::default());
    T::search_ok(&client, server);
    T::search_after_expiry(&client, server);
    let counters = server.counters();
    assert_eq!(counters.grants(), (1, 1), "{counters:?}");
    let (used, unused) = match auth {
        ClientAuth::Basic => ("basic", "body"),
        _ => ("body", "basic"),
    };
    assert_eq!(counters.auth(used), 2, "{counters:?}");
    assert_eq!(counters.auth(unused), 0, "{counters:?}");
    assert_eq!(counters.auth("none"), 0, "{counters:?}");
}

/// A secret with characters that form-encoding changes (`+ / = %`). In the body it works. With
/// Basic the client form-encodes id and secret first (RFC 6749 2.3.1, Appendix B) and this
/// server does not decode them: it refuses the credentials. Deviation recorded in README.md;
/// the client reports rejected credentials once, without a storm.
fn reserved_characters_in_secret<T: Transport>(server: &Server) {
    let body = T::build(
        server.config_for(ODD_ID, ODD_SECRET, ClientAuth::Body),
        server.clock.clone(),
        &Recorder::default(),
        None,
    );
    T::search_ok(&body, server);
    let basic = T::build(
        server.config_for(ODD_ID, ODD_SECRET, ClientAuth::Basic),
        server.clock.clone(),
        &Recorder::default(),
        None,
    );
    for _ in 0..3 {
        let failure = T::search(&basic, &server.search_url()).expect_err("this server refuses");
        assert!(failure.credentials_rejected, "{failure:?}");
    }
    let counters = server.counters();
    assert_eq!(counters.token_requests(), 2, "{counters:?}");
    assert_eq!(counters.token_refusals("invalid_client"), 1);
}

/// One `#[test]` a line: its name, then what it runs.
macro_rules! tests {
    ($($name:ident: $run:expr;)*) => {$(
        #[test]
        #[ignore = "needs the Node.js conformance server: (cd tests/conformance && npm ci)"]
        fn $name() {
            $run;
        }
    )*};
}

/// One `#[test]` per scenario and transport, each with its own server.
macro_rules! scenarios {
    ($module:ident, $transport:ty, $feature:literal) => {
        #[cfg(feature = $feature)]
        mod $module {
            use super::*;

            type T = $transport;

            fn run(scenario: impl FnOnce(&Server)) {
                run_with(&[], scenario);
            }

            fn run_with(args: &[&str], scenario: impl FnOnce(&Server)) {
                scenario(&Server::start_with(args));
            }

            tests! {
                first_token_and_reuse:
                    run(super::first_token_and_reuse::<T>);
                renewal_after_expiry_adopts_rotation:
                    run(super::renewal_adopts_rotation::<T>);
                forgotten_refresh_token_falls_back_to_client_credentials:
                    run(super::forgotten_refresh_token_falls_back::<T>);
                rotated_away_refresh_token_falls_back_to_client_credentials:
                    run(super::rotated_away_refresh_token_falls_back::<T>);
                revoked_access_token_renewed_and_call_replayed:
                    run(super::revoked_access_token_renewed_and_replayed::<T>);
                server_clock_ahead_expired_token_renewed_and_call_replayed:
                    run(super::server_clock_ahead_expired_token_renewed::<T>);
                server_without_rotation_refresh_token_kept:
                    run_with(&["--no-rotation"], super::no_rotation_keeps_the_refresh_token::<T>);
                concurrent_callers_cause_one_token_request:
                    run(super::concurrent_callers_one_token_request::<T>);
                wrong_secret_in_body_no_retry_storm:
                    run(|s| super::wrong_secret_no_retry_storm::<T>(s, ClientAuth::Body));
                wrong_secret_with_basic_no_retry_storm:
                    run(|s| super::wrong_secret_no_retry_storm::<T>(s, ClientAuth::Basic));
                basic_client_authentication:
                    run(|s| super::client_auth_method::<T>(s, ClientAuth::Basic));
                body_client_authentication:
                    run(|s| super::client_auth_method::<T>(s, ClientAuth::Body));
                reserved_characters_in_secret_body_works_basic_refused:
                    run(super::reserved_characters_in_secret::<T>);
            }
        }
    };
}

scenarios!(ureq, Ureq, "ureq");
scenarios!(hyper, Hyper, "hyper");
scenarios!(reqwest, Reqwest, "reqwest");
