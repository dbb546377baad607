//! [`Client`]: API calls with the bearer token attached, one replay on a stale token, waits on
//! "over queries per second".

use crate::builder::ClientBuilder;
use crate::middleware::BearerMiddleware;
use crate::net;
use bearer_client_core::{
    Answer, Attempts, Body, Error, Flight, HttpSettings, Purpose, Renewable, RenewerGuard,
    TokenState, WaitCause, get_request, target, with_bearer,
};
use bearer_protocol::{Bearer, BudgetSnapshot, Config, StoredTokens};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Everything clones of a client (and its middlewares) share.
pub(crate) struct Shared {
    pub(crate) state: TokenState,
    pub(crate) flight: Flight,
    pub(crate) http: reqwest::Client,
    pub(crate) settings: HttpSettings,
    /// Dropped with the last handle: stops the background renewer, if there is one.
    pub(crate) renewer: OnceLock<RenewerGuard>,
}

impl Shared {
    /// A bearer token for `purpose`: sends the token request with this client's reqwest
    /// client when this task is the one to, awaits another task's, sleeps through backoff and
    /// pacing, at most `max_wait` in all (see [`Flight::authorize`]).
    pub(crate) async fn authorize(&self, purpose: Purpose) -> Result<Bearer, Error> {
        self.flight
            .authorize(&self.state, purpose, |request| {
                net::exchange(&self.http, &self.settings, request)
            })
            .await
    }
}

impl Renewable for Shared {
    fn state(&self) -> &TokenState {
        &self.state
    }

    async fn renew(&self) {
        let _ = self.authorize(Purpose::Renewal).await;
    }
}

/// The async bearer client on reqwest. Cheap to clone (`Clone + Send + Sync`, and its futures
/// are `Send`); clones share one token state, so however many tasks call at once, one token
/// request goes out.
///
/// See the [crate documentation](crate) for an example.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// Starts a client from a protocol configuration; see [`ClientBuilder`] for the transport
    /// settings.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder::new(config)
    }

    /// A client with default transport settings.
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Sends `request` with `Authorization: Bearer …` attached (any `Authorization` it has is
    /// replaced) and returns the answer, whatever its status, with its whole body.
    ///
    /// Gets or renews the token first when needed, waits when the plan's QPS says so, replays
    /// the call once when the API refuses the token as stale (401 `invalid_token`), and waits
    /// out the gateway's "over queries per second" up to the client's `over_qps_retries`.
    /// Redirects are never followed: a 3xx answer is returned as it came.
    /// Errors: the token could not be had, the quota is spent (with the reset time), the
    /// gateway refused the call for good, the transport failed, or a renewed token was refused
    /// too.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Body>, Error> {
        let (parts, body) = request.into_parts();
        self.shared.settings.check_target(&parts.uri)?;
        let state = &self.shared.state;
        let mut attempts = Attempts::new();
        loop {
            let bearer = self.shared.authorize(Purpose::Call).await?;
            let mut call = with_bearer(&parts, body.clone(), &bearer);
            self.shared.settings.add_user_agent(call.headers_mut());
            self.shared.settings.add_originating_ip(call.headers_mut());
            let span = state.call_span(&parts.method, &parts.uri, attempts.resends());
            let outcome = span.instrument(self.api(call, &parts.uri)).await;
            span.outcome(&outcome);
            let (response, verdict) = state.judge_outcome(&bearer, outcome)?;
            match attempts.follow(state, verdict, response.headers())? {
                Answer::Deliver => return Ok(response),
                Answer::Replay => {}
                Answer::RetryAt(retry_at) => {
                    bearer_client_core::sleep_until(state, retry_at, WaitCause::RetryAfter).await;
                }
            }
        }
    }

    /// `GET url?query` with the bearer token attached; the pairs are form-encoded and appended
    /// to any query `url` already has.
    ///
    /// ```no_run
    /// # async fn run(client: &bearer_transport_reqwest::Client) -> Result<(), bearer_transport_reqwest::Error> {
    /// let answer = client.get("https://api.example.com/v1/searchoauth", [("query", "privacy policy")]).await?;
    /// let results: serde_json::Value = answer.body().json()?;
    /// # let _ = results; Ok(()) }
    /// ```
    pub async fn get<I, K, V>(&self, url: &str, query: I) -> Result<http::Response<Body>, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.send(get_request(url, query)?).await
    }

    /// The current bearer token, got or renewed first when needed, for a program that must
    /// call through another library. It is not counted as a call: that library's calls are
    /// not seen by the budget (use [`Client::middleware`] to have them counted).
    pub async fn bearer(&self) -> Result<Bearer, Error> {
        self.shared.authorize(Purpose::Token).await
    }

    /// Tells the client what the API answered to a call made with `bearer` through another
    /// library (its status and headers): the same judgement as the client's own calls — a 401
    /// for the current token renews it once (never for a token already replaced), the
    /// gateway's quota headers and over-QPS denials feed the budget and pacing. The answer
    /// says whether that library should send the call again, and when.
    pub fn report(
        &self,
        bearer: &Bearer,
        status: http::StatusCode,
        headers: &http::HeaderMap,
    ) -> bearer_protocol::ApiVerdict {
        self.shared.state.judge(bearer, status, headers)
    }

    /// Marks the token of `bearer` as no good (for instance when a library that calls through
    /// it saw it refused, without the answer at hand): the next call or
    /// [`bearer`](Self::bearer) renews it, once, unless it was already replaced.
    pub fn invalidate(&self, bearer: &Bearer) {
        self.shared.state.invalidate(bearer);
    }

    /// The quota budget now: calls used today, token requests against the plan's allowance,
    /// the reset time, the QPS limit.
    pub fn budget(&self) -> BudgetSnapshot {
        self.shared.state.budget()
    }

    /// The tokens held now, as a store would save them (their `Debug` hides the values).
    pub fn tokens(&self) -> Option<StoredTokens> {
        self.shared.state.tokens()
    }

    /// A [`reqwest_middleware::Middleware`] that adds this client's bearer token to every
    /// request of a program's own `reqwest_middleware::ClientWithMiddleware`, from this
    /// client's token state (see [`BearerMiddleware`]).
    pub fn middleware(&self) -> BearerMiddleware {
        BearerMiddleware::new(Arc::clone(&self.shared))
    }

    /// Sends an API call to `uri` and reads its whole body, within the client's time-out.
    /// (The target an error names is built only on an error: not on the hot path.)
    async fn api(
        &self,
        call: http::Request<Vec<u8>>,
        uri: &http::Uri,
    ) -> Result<http::Response<Body>, Error> {
        let timeout = self.shared.settings.timeout;
        let limit = self.shared.settings.max_response_bytes;
        let exchange =
            async {
                let call = reqwest::Request::try_from(call).map_err(|_| {
                    Error::InvalidRequest("the URL is not a valid absolute URL".to_owned())
                })?;
                let response =
                    self.shared.http.execute(call).await.map_err(|error| {
                        net::api_error(uri, &self.shared.settings.proxies, &error)
                    })?;
                let (head, body) = net::read_capped(response, limit.saturating_add(1))
                    .await
                    .map_err(|failure| Error::Transport {
                        target: target(uri),
                        failure,
                    })?;
                if body.len() > limit {
                    return Err(Error::ResponseTooLarge { limit });
                }
                Ok(head.body(Body::new(body)).unwrap_or_default())
            };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Transport {
                target: target(uri),
                failure: bearer_protocol::TransportFailure::new(
                    bearer_protocol::TransportFailureKind::TimedOut,
                    format!("no complete answer within {timeout:?}"),
                ),
            }),
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}
