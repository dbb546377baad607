//! The token state machine: one per credential, fed what happened, asked what to do next.
//!
//! # Methods by category
//!
//! - **Asking** (`poll_*`): [`TokenManager::poll_call`] before each API call,
//!   [`TokenManager::poll_token`] when only the token is wanted, [`TokenManager::poll_event`]
//!   after every input until it returns `None`, [`TokenManager::poll_timeout`] for a background
//!   renewer.
//! - **Telling** (`handle_*`): [`TokenManager::handle_token_response`],
//!   [`TokenManager::handle_token_failure`], [`TokenManager::handle_token_abandoned`] for every
//!   [`Step::Fetch`]; [`TokenManager::handle_api_response`] for every API answer.
//! - **Reading**: [`TokenManager::budget`], [`TokenManager::tokens`], [`TokenManager::config`].
//!
//! # The loop a transport runs
//!
//! ```
//! use bearer_protocol::{Config, Step, TokenManager};
//! # use std::time::{Duration, SystemTime};
//! # let config = Config::builder("https://api.example.com/oauth2/token", "ysszm2yk7gp5r9ernuaurgcc", "w9t7t48g7H").build().unwrap();
//! let mut machine = TokenManager::new(config);
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! match machine.poll_call(now) {
//!     Step::Authorized(bearer) => { /* send the call with bearer.header_value() */ }
//!     Step::Fetch(request) => {
//!         // send request.request; then feed the outcome back:
//!         let answer = http::Response::builder()
//!             .status(200)
//!             .body(br#"{"access_token":"66mrpvtv4mvs6bz728nbaqmc","token_type":"bearer","expires_in":3600,"refresh_token":"edcv2npr3furqsnscpn795t9"}"#.to_vec())
//!             .unwrap();
//!         machine.handle_token_response(now, request.id, &answer);
//!         while let Some(event) = machine.poll_event() { /* persist TokensChanged here */ }
//!     }
//!     Step::Wait(wait) => { /* sleep until wait.until (or until woken), then poll again */ }
//!     Step::Fail(error) => { /* report error */ }
//! }
//! assert!(matches!(machine.poll_call(now), Step::Authorized(_)));
//! ```
//!
//! # Time
//!
//! Every input carries `now`, a wall-clock instant the caller read. If the clock jumps forward,
//! tokens simply expire sooner. If it jumps backwards, a token looks younger than it is and may
//! be used past its real expiry: the resource server then answers 401 `invalid_token`, which
//! [`TokenManager::handle_api_response`] turns into a renewal. A pending token request is
//! abandoned after [`Config::token_request_timeout`] measured on the same clock; pacing forgets
//! sends recorded in the future; the quota day starts over when `now` leaves it either way.

mod backoff;
mod budget;
mod governor;
mod pacer;
mod tokens;

pub use budget::BudgetSnapshot;
pub use governor::{GOVERNOR_BURST, GOVERNOR_INTERVAL};
pub use pacer::MAX_QPS;
pub use tokens::{Bearer, MIN_LIFETIME, StoredTokens};

use crate::config::Config;
use crate::error::{Error, Failure, ThrottleCause, TransportFailure};
use crate::secret::{KnownSecrets, RefreshToken};
use crate::wire::challenge::{BearerChallenge, ChallengeError};
use crate::wire::gateway::{GatewayCode, GatewayDenial, RetryAfter};
use crate::wire::oauth_error::{ErrorCode, OAuthError};
use crate::wire::quota::QuotaHeaders;
use crate::wire::request::{client_credentials_request, refresh_token_request};
use crate::wire::token::{TokenEndpointError, parse_token_response};
use backoff::Backoff;
use budget::{Budget, Spent};
use governor::Governor;
use http::{HeaderMap, StatusCode};
use pacer::Pacer;
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, SystemTime};
use tokens::Held;

/// Identifies one token request, to match its outcome to it, and says which grant it used.
/// Later requests of a machine have larger numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId {
    number: u64,
    grant: Grant,
}

impl RequestId {
    /// The request's number: 1 for a machine's first, then counting up.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The grant the request used.
    pub fn grant(&self) -> Grant {
        self.grant
    }
}

/// Which grant a token request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grant {
    /// `grant_type=client_credentials`
    ClientCredentials,
    /// `grant_type=refresh_token`
    RefreshToken,
}

/// A token request for the caller to send.
///
/// `Debug` shows the id, the grant, the method, the URI, the header names (the value of
/// `Authorization` masked, the others shown) and the body's length, never the body: it holds
/// the client secret and the refresh token.
#[must_use = "a token request must be sent and its outcome fed back"]
pub struct TokenRequest {
    /// Pass it back with the outcome.
    pub id: RequestId,
    /// The grant it uses.
    pub grant: Grant,
    /// The request, ready to send.
    pub request: http::Request<Vec<u8>>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("id", &self.id)
            .field("grant", &self.grant)
            .field("method", self.request.method())
            .field("uri", &shown_uri(self.request.uri()))
            .field("headers", &ShownHeaders(self.request.headers()))
            .field("body_len", &self.request.body().len())
            .finish()
    }
}

/// Scheme, host, port and path of a URI: no user information, no query (either may hold a
/// secret).
fn shown_uri(uri: &http::Uri) -> String {
    let mut shown = String::new();
    if let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) {
        shown.push_str(scheme);
        shown.push_str("://");
        shown.push_str(host);
        if let Some(port) = uri.port_u16() {
            shown.push_str(&format!(":{port}"));
        }
    }
    shown.push_str(uri.path());
    if uri.query().is_some() {
        shown.push_str("?[redacted]");
    }
    shown
}

/// Header names with their values, the value of every header that carries credentials
/// (`Authorization`, `Proxy-Authorization`, `Cookie`) masked.
struct ShownHeaders<'a>(&'a http::HeaderMap);

impl fmt::Debug for ShownHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE].contains(name) {
                map.entry(&name.as_str(), &crate::wire::support::REDACTED);
            } else {
                map.entry(
                    &name.as_str(),
                    &crate::wire::support::sanitize(&String::from_utf8_lossy(value.as_bytes()), 80),
                );
            }
        }
        map.finish()
    }
}

/// What the caller should do next.
#[derive(Debug)]
#[must_use]
pub enum Step {
    /// Go ahead: attach this bearer token (for [`TokenManager::poll_call`], the call is counted).
    Authorized(Bearer),
    /// Send this token request, feed its outcome back, then ask again.
    Fetch(TokenRequest),
    /// Ask again at `until`, or sooner when a token request in flight ends.
    Wait(Wait),
    /// Give up on this call with this error.
    Fail(Error),
}

/// A wait the machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Ask again no later than this.
    pub until: SystemTime,
    /// Why.
    pub reason: WaitReason,
}

/// Why the machine asks to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// Another caller's token request is in flight: wait to be woken by its outcome; `until` is
    /// when it counts as abandoned.
    TokenInFlight,
    /// Backing off after a transient failure of the token endpoint.
    Backoff,
    /// Pacing under the queries-per-second limit.
    Pacing,
    /// The gateway answered "over queries per second" with this `Retry-After`.
    RetryAfter,
}

/// What the caller should do with an API answer.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum ApiVerdict {
    /// Hand the answer to the application.
    Deliver,
    /// The token was refused (401): ask again for a token and replay the call, once.
    Replay,
    /// The gateway said "over QPS": replay the call at this time.
    RetryAt(SystemTime),
    /// The gateway refused the call for good, or until the quota resets.
    Fail(Error),
}

/// Something the caller should know about; drain with [`TokenManager::poll_event`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// New tokens were adopted. Persist them before using the new access token: the previous
    /// refresh token is now void at the provider.
    TokensChanged {
        /// The tokens, as a store persists them.
        tokens: StoredTokens,
        /// The request that brought them (its grant: [`RequestId::grant`]).
        request: RequestId,
    },
    /// The refresh token was refused (`invalid_grant`); the next token request uses client
    /// credentials.
    RefreshTokenRefused,
    /// Token requests today went past what the plan accounts for; each costs an API call.
    TokenAllowanceExceeded {
        /// Token requests sent in the quota day.
        token_requests: u32,
        /// What the plan accounts for.
        accounted: u32,
    },
    /// An answer arrived for a token request that had been abandoned or overtaken; its tokens
    /// were not adopted.
    LateAnswerIgnored(RequestId),
    /// A token request brought no tokens. The machine has already decided what follows (a
    /// backoff, the fallback to client credentials, or a quiet period with an error); this is
    /// for logs and metrics.
    TokenRequestFailed {
        /// The request.
        id: RequestId,
        /// The grant it used.
        grant: Grant,
        /// What went wrong.
        failure: Failure,
    },
}

#[derive(Debug)]
struct InFlight {
    id: RequestId,
    sent_at: SystemTime,
}

/// Why the machine is not asking the token endpoint right now, from `since` until `until`.
#[derive(Debug)]
struct Hold {
    since: SystemTime,
    until: SystemTime,
    kind: HoldKind,
}

#[derive(Debug)]
enum HoldKind {
    /// Retry once the hold ends.
    Backoff,
    /// Repeat this error to callers until the hold ends.
    Quiet(Error),
}

/// The token state machine for one credential. See the [module docs](self).
#[derive(Debug)]
pub struct TokenManager {
    config: Config,
    held: Option<Held>,
    generation: u64,
    /// When the API refused the current token (401): it is renewed at once.
    stale_since: Option<SystemTime>,
    in_flight: Option<InFlight>,
    next_id: u64,
    hold: Option<Hold>,
    attempts: u32,
    budget: Budget,
    pacer: Pacer,
    backoff: Backoff,
    governor: Governor,
    /// Whether the current token was handed out since it arrived (a background renewal is
    /// for tokens in use only).
    used: bool,
    /// Refresh tokens refused in a row; from [`REFUSALS_BEFORE_CLIENT_CREDENTIALS`] on, renewals
    /// use client credentials.
    refresh_refusals: u32,
    events: VecDeque<Event>,
}

/// After this many refresh tokens refused in a row, the machine renews with client credentials
/// only: each refused refresh costs a token request for nothing.
const REFUSALS_BEFORE_CLIENT_CREDENTIALS: u32 = 2;

/// The machine's timers: [`TokenManager::poll_timeout`] is the earliest armed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// The token request in flight counts as abandoned.
    Abandon,
    /// A backoff or quiet period ends.
    HoldEnd,
    /// The token in use is due for renewal (at once when the API refused it).
    Renew,
    /// The pacer lets a due renewal go.
    Pace,
}

impl Timer {
    const ALL: [Timer; 4] = [Timer::Abandon, Timer::HoldEnd, Timer::Renew, Timer::Pace];
}

/// Jitter seed of a configuration without one.
const DEFAULT_SEED: u64 = 0x5eed;

/// Who asks the machine for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asker {
    /// An API call: counted and paced.
    Call,
    /// A program that wants the token alone.
    Token,
    /// A background renewer: renews a token in use, never counts as a use.
    Renewal,
}

/// Why a token request cannot go now.
enum NotNow {
    /// Pacing says wait.
    Wait(Wait),
    /// The budget or the governor refuses (boxed: errors are large, and rare).
    Refused(Box<Error>),
}
impl TokenManager {
    /// A machine with no tokens yet.
    pub fn new(config: Config) -> Self {
        Self {
            budget: Budget::new(config.plan(), config.budget_mode()),
            pacer: Pacer::new(config.plan().queries_per_second),
            backoff: Backoff::new(*config.retry(), config.seed().unwrap_or(DEFAULT_SEED)),
            governor: Governor::default(),
            used: false,
            refresh_refusals: 0,
            config,
            held: None,
            generation: 0,
            stale_since: None,
            in_flight: None,
            next_id: 0,
            hold: None,
            attempts: 0,
            events: VecDeque::new(),
        }
    }

    /// A machine that starts from tokens a store saved. Tokens whose access token cannot be a
    /// header value are ignored (the machine then starts without tokens).
    pub fn with_tokens(config: Config, tokens: StoredTokens) -> Self {
        let mut machine = Self::new(config);
        let lifetime = machine.config.default_lifetime();
        machine.held = Held::new(
            tokens,
            1,
            lifetime,
            machine.config.refresh_leeway(),
            None,
            None,
        );
        machine.generation = 1;
        machine
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The tokens held now, as a store would persist them.
    pub fn tokens(&self) -> Option<StoredTokens> {
        self.held.as_ref().map(Held::stored)
    }

    /// The quota budget as of `now`.
    pub fn budget(&mut self, now: SystemTime) -> BudgetSnapshot {
        self.budget.roll(now);
        let reserve = self.reserve(now);
        self.budget.snapshot(reserve, self.pacer.limit())
    }

    /// What to do for one API call. On [`Step::Authorized`] the call is counted against the
    /// budget and the QPS window: send it, then report its answer to
    /// [`handle_api_response`](Self::handle_api_response).
    pub fn poll_call(&mut self, now: SystemTime) -> Step {
        self.poll(now, Asker::Call)
    }

    /// What to do to get the current token without making a counted call (for a program that
    /// calls through another library).
    pub fn poll_token(&mut self, now: SystemTime) -> Step {
        self.poll(now, Asker::Token)
    }

    /// What a background renewer does at [`poll_timeout`](Self::poll_timeout): as
    /// [`poll_token`](Self::poll_token), but handing the token out here is not a use of it.
    /// Since `poll_timeout` names a renewal only for a token used since it arrived, an idle
    /// client's renewer stops after one renewal; its next call fetches a token when it needs
    /// one.
    pub fn poll_renewal(&mut self, now: SystemTime) -> Step {
        self.poll(now, Asker::Renewal)
    }

    /// The next event, if any. Drain after every `handle_*` call.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When the machine next wants attention without being asked: a renewal of a token in
    /// use falling due, a backoff or quiet period ending, a token request to count as
    /// abandoned. A background renewer calls [`poll_renewal`](Self::poll_renewal) then.
    /// `None` while no token is held or the one held has not been used since it arrived.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        Timer::ALL
            .into_iter()
            .filter_map(|timer| self.timer(timer))
            .min()
    }

    /// When `timer` fires, if it is armed.
    fn timer(&self, timer: Timer) -> Option<SystemTime> {
        match timer {
            Timer::Abandon => self
                .in_flight
                .as_ref()
                .map(|flight| flight.sent_at + self.config.token_request_timeout()),
            Timer::HoldEnd => self.hold.as_ref().map(|hold| hold.until),
            // Armed while a renewal may be sent: a token in use, nothing in flight or held.
            Timer::Renew if self.in_flight.is_some() || self.hold.is_some() || !self.used => None,
            Timer::Renew => {
                let held = self.held.as_ref()?;
                Some(self.stale_since.unwrap_or(held.renew_at))
            }
            // A renewal that is due waits for the pacer's next slot.
            Timer::Pace => {
                let renew = self.timer(Timer::Renew)?;
                self.pacer.peek_slot().filter(|slot| *slot > renew)
            }
        }
    }

    fn poll(&mut self, now: SystemTime, asker: Asker) -> Step {
        self.budget.roll(now);
        self.expire_flight(now);
        self.expire_hold(now);

        let usable = self
            .held
            .as_ref()
            .is_some_and(|held| self.stale_since.is_none() && now < held.usable_until);
        let due = self.held.as_ref().is_none_or(|held| now >= held.renew_at) || !usable;
        let fetching_allowed = self.in_flight.is_none() && self.hold.is_none();

        if usable && !(due && fetching_allowed) {
            return self.authorize(now, asker);
        }
        if let Some(flight) = &self.in_flight {
            return Step::Wait(Wait {
                until: flight.sent_at + self.config.token_request_timeout(),
                reason: WaitReason::TokenInFlight,
            });
        }
        if let Some(hold) = &self.hold {
            return match &hold.kind {
                HoldKind::Quiet(error) => Step::Fail(error.clone()),
                HoldKind::Backoff => Step::Wait(Wait {
                    until: hold.until,
                    reason: WaitReason::Backoff,
                }),
            };
        }
        match self.start_token_request(now) {
            Ok(request) => Step::Fetch(request),
            // A renewal that cannot go now does not stop calls while the token still works.
            Err(_) if usable => self.authorize(now, asker),
            Err(NotNow::Wait(wait)) => Step::Wait(wait),
            Err(NotNow::Refused(error)) => Step::Fail(*error),
        }
    }

    fn authorize(&mut self, now: SystemTime, asker: Asker) -> Step {
        let Some(held) = &self.held else {
            unreachable!("authorize is only called while a token is held");
        };
        let bearer = held.bearer.clone();
        match asker {
            Asker::Renewal => return Step::Authorized(bearer),
            Asker::Token => {
                self.used = true;
                return Step::Authorized(bearer);
            }
            Asker::Call => {}
        }
        if let Some(wait) = self.pace(now) {
            return Step::Wait(wait);
        }
        let reserve = self.reserve(now);
        if let Err(spent) = self.budget.take_call(reserve) {
            return Step::Fail(quota_error(spent));
        }
        self.pacer.record(now);
        self.used = true;
        Step::Authorized(bearer)
    }

    /// The wait pacing asks for before the next send, if any.
    fn pace(&mut self, now: SystemTime) -> Option<Wait> {
        let until = self.pacer.next_slot(now)?;
        let reason = if self.pacer.blocked(now).is_some() {
            WaitReason::RetryAfter
        } else {
            WaitReason::Pacing
        };
        Some(Wait { until, reason })
    }

    /// Token requests still needed before the quota day ends, if calls go on all day.
    fn reserve(&self, now: SystemTime) -> u64 {
        let (valid_until, lifetime) = match &self.held {
            Some(held) if self.stale_since.is_none() => (Some(held.renew_at), held.lifetime),
            _ => (None, self.config.default_lifetime()),
        };
        self.budget.reserve(now, valid_until, lifetime)
    }

    /// Builds and counts the next token request, unless pacing, the governor or the budget
    /// says not now.
    fn start_token_request(&mut self, now: SystemTime) -> Result<TokenRequest, NotNow> {
        if let Some(wait) = self.pace(now) {
            return Err(NotNow::Wait(wait));
        }
        if let Some(retry_at) = self.governor.next_allowed(now) {
            return Err(NotNow::Refused(Box::new(Error::TokenRequestsThrottled {
                retry_at,
                cause: self.throttle_cause(),
            })));
        }
        let exceeded = self
            .budget
            .take_token_request()
            .map_err(|spent| NotNow::Refused(Box::new(quota_error(spent))))?;
        if exceeded {
            self.events.push_back(Event::TokenAllowanceExceeded {
                token_requests: self.budget.token_requests(),
                accounted: self.budget.accounted(),
            });
        }
        self.pacer.record(now);
        self.governor.record(now);
        self.next_id += 1;
        let refresh = self
            .held
            .as_ref()
            .and_then(|held| held.refresh_token.as_ref())
            .filter(|_| self.refresh_refusals < REFUSALS_BEFORE_CLIENT_CREDENTIALS);
        let (grant, request) = match refresh {
            Some(token) => (
                Grant::RefreshToken,
                refresh_token_request(&self.config, token),
            ),
            None => (
                Grant::ClientCredentials,
                client_credentials_request(&self.config),
            ),
        };
        let id = RequestId {
            number: self.next_id,
            grant,
        };
        self.in_flight = Some(InFlight { id, sent_at: now });
        Ok(TokenRequest { id, grant, request })
    }

    /// The client's own secrets, to clean server text of (built only when an error needs it).
    fn known_secrets(&self) -> KnownSecrets {
        let held = self.held.as_ref();
        let access = held.map(|held| held.bearer.token.expose());
        let refresh = held
            .and_then(|held| held.refresh_token.as_ref())
            .map(RefreshToken::expose);
        let tokens: Vec<&str> = access.into_iter().chain(refresh).collect();
        KnownSecrets::new(
            self.config.client_id().expose(),
            self.config.client_secret().expose(),
            &tokens,
        )
    }

    /// What made the machine ask for tokens so often, as far as it can tell.
    fn throttle_cause(&self) -> ThrottleCause {
        // A short lifetime first: tokens that expire at once are also refused by the API.
        match &self.held {
            Some(held) if held.lifetime < GOVERNOR_INTERVAL => {
                ThrottleCause::ShortLifetime(held.lifetime)
            }
            _ if self.stale_since.is_some() => ThrottleCause::TokensRefusedByApi,
            _ => ThrottleCause::RepeatedFailures,
        }
    }

    /// Feeds the answer to a token request.
    pub fn handle_token_response(
        &mut self,
        now: SystemTime,
        id: RequestId,
        response: &http::Response<Vec<u8>>,
    ) {
        self.budget
            .observe(&QuotaHeaders::from_headers(response.headers()), now);
        let parsed =
            parse_token_response(response, self.config.default_lifetime()).map_err(|mut error| {
                error.scrub(&self.known_secrets());
                error
            });
        let Some(grant) = self.take_flight(id) else {
            self.handle_late_answer(now, id, parsed);
            return;
        };
        match parsed {
            Ok(token) => {
                if grant == Grant::RefreshToken {
                    self.refresh_refusals = 0;
                }
                self.adopt(now, id, token);
            }
            Err(error) => {
                if error.is_over_qps() {
                    // Denied before the token endpoint: the gateway does not count it.
                    self.budget.refund_token_request();
                }
                self.events.push_back(Event::TokenRequestFailed {
                    id,
                    grant,
                    failure: Failure::Answer(error.clone()),
                });
                self.handle_refusal(now, grant, error, response.headers());
            }
        }
    }

    /// Feeds a transport failure of a token request. It is retried with backoff, except a
    /// refused certificate or TLS set-up, which is reported as [`Error::Untrusted`] until the
    /// quiet period ends. A request that never left (no connection) is not counted.
    pub fn handle_token_failure(
        &mut self,
        now: SystemTime,
        id: RequestId,
        failure: TransportFailure,
    ) {
        if let Some(grant) = self.take_flight(id) {
            if failure.kind.never_sent() {
                self.budget.refund_token_request();
            }
            let permanent = failure.kind.is_permanent();
            let failure = Failure::Transport(failure);
            self.events.push_back(Event::TokenRequestFailed {
                id,
                grant,
                failure: failure.clone(),
            });
            match failure {
                Failure::Transport(failure) if permanent => {
                    self.quiet(now, Error::Untrusted(failure));
                }
                failure => self.back_off(now, failure, None),
            }
        }
    }

    /// The caller gave up on a token request (its task was cancelled, its thread timed out):
    /// another caller may send the next one at once. The request still counts in the budget.
    pub fn handle_token_abandoned(&mut self, now: SystemTime, id: RequestId) {
        let _ = now;
        self.take_flight(id);
    }

    /// The caller decided not to send a token request after all (it had no time left to wait
    /// for the answer): the request is forgotten, in the budget and the governor too.
    pub fn handle_token_unsent(&mut self, now: SystemTime, id: RequestId) {
        if self.take_flight(id).is_some() {
            self.budget.refund_token_request();
            self.governor.unrecord(now);
        }
    }

    /// Feeds a transport failure of an API call made with `bearer`: a call that never left
    /// (no connection, a refused certificate) is not counted against the quota.
    pub fn handle_api_failure(
        &mut self,
        now: SystemTime,
        bearer: &Bearer,
        failure: &TransportFailure,
    ) {
        let _ = (now, bearer);
        if failure.kind.never_sent() {
            self.budget.refund_call();
        }
    }

    /// Feeds the status and headers of an API answer to a call made with `bearer`, and says what
    /// to do with it. Adopts the gateway's quota headers; a 401 for the current token makes the
    /// next poll renew it, a 401 for an older token just replays with the current one.
    pub fn handle_api_response(
        &mut self,
        now: SystemTime,
        bearer: &Bearer,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> ApiVerdict {
        let quota = QuotaHeaders::from_headers(headers);
        self.budget.observe(&quota, now);
        if let Some(qps) = quota.qps_allotted {
            self.pacer.set_limit(Some(qps));
        }
        if let Some(mut denial) = GatewayDenial::from_parts(status, headers) {
            denial.scrub(&self.known_secrets());
            if denial.code.is_over_qps() && quota.quota_current.is_none() {
                // Over QPS: denied before counting. (A gateway count given with it is kept.)
                self.budget.refund_call();
            }
            return self.handle_api_denial(now, bearer, denial);
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = BearerChallenge::from_headers(headers);
            let refused_token = challenge
                .as_ref()
                .is_none_or(|c| matches!(c.error, None | Some(ChallengeError::InvalidToken)));
            if refused_token {
                self.mark_stale(now, bearer);
                return ApiVerdict::Replay;
            }
        }
        ApiVerdict::Deliver
    }

    fn handle_api_denial(
        &mut self,
        now: SystemTime,
        bearer: &Bearer,
        denial: GatewayDenial,
    ) -> ApiVerdict {
        match denial.code {
            GatewayCode::DeveloperOverQps | GatewayCode::ServiceOverQps => {
                let until = retry_at(now, denial.retry_after, Duration::from_secs(1));
                self.pacer.block_until(until);
                ApiVerdict::RetryAt(until)
            }
            GatewayCode::DeveloperOverRate => {
                let resets_at = self.budget.resets_at();
                ApiVerdict::Fail(self.exhaust_quota(resets_at))
            }
            GatewayCode::InvalidOrExpiredToken => {
                self.mark_stale(now, bearer);
                ApiVerdict::Replay
            }
            GatewayCode::DeveloperInactive
            | GatewayCode::NotAuthorized
            | GatewayCode::ServiceNotFound => ApiVerdict::Fail(Error::Denied(denial)),
            _ => ApiVerdict::Deliver,
        }
    }

    fn mark_stale(&mut self, now: SystemTime, bearer: &Bearer) {
        if bearer.generation == self.generation && self.held.is_some() {
            self.stale_since.get_or_insert(now);
        }
    }

    fn take_flight(&mut self, id: RequestId) -> Option<Grant> {
        match &self.in_flight {
            Some(flight) if flight.id == id => self.in_flight.take().map(|f| f.id.grant),
            _ => None,
        }
    }

    fn expire_flight(&mut self, now: SystemTime) {
        let timeout = self.config.token_request_timeout();
        let abandoned = self.in_flight.as_ref().is_some_and(|flight| {
            now >= flight.sent_at + timeout
                || flight
                    .sent_at
                    .duration_since(now)
                    .is_ok_and(|d| d >= timeout)
        });
        if abandoned {
            if let Some(flight) = self.in_flight.take() {
                self.events.push_back(Event::TokenRequestFailed {
                    id: flight.id,
                    grant: flight.id.grant,
                    failure: Failure::Abandoned,
                });
            }
            self.back_off(now, Failure::Abandoned, None);
        }
    }

    /// Ends a hold whose time is up, or that began after `now` (the clock went back: waiting
    /// out the rest could take as long as the jump, so it ends at once).
    fn expire_hold(&mut self, now: SystemTime) {
        let Some(hold) = &self.hold else { return };
        if now >= hold.until || now < hold.since {
            if matches!(hold.kind, HoldKind::Quiet(_)) {
                self.attempts = 0;
            }
            self.hold = None;
        }
    }

    fn adopt(&mut self, now: SystemTime, id: RequestId, token: crate::wire::token::TokenResponse) {
        self.used = false;
        let previous_refresh = self
            .held
            .as_mut()
            .and_then(|held| held.refresh_token.take());
        let stored = StoredTokens {
            access_token: token.access_token,
            refresh_token: token.refresh_token.or(previous_refresh),
            expires_at: now + token.expires_in,
            scope: token.scope,
        };
        let generation = self.generation + 1;
        let leeway = self.config.refresh_leeway();
        match Held::new(
            stored,
            generation,
            token.expires_in,
            leeway,
            Some(id.number),
            Some(now),
        ) {
            Some(held) => {
                self.generation = generation;
                self.events.push_back(Event::TokensChanged {
                    tokens: held.stored(),
                    request: id,
                });
                self.held = Some(held);
                self.stale_since = None;
                self.hold = None;
                self.attempts = 0;
            }
            None => {
                let refusal = TokenEndpointError::UnsupportedTokenType(
                    "token with characters not allowed in a header".to_owned(),
                );
                self.quiet(now, Error::TokenRequestRefused(refusal));
            }
        }
    }

    fn handle_late_answer(
        &mut self,
        now: SystemTime,
        id: RequestId,
        parsed: Result<crate::wire::token::TokenResponse, TokenEndpointError>,
    ) {
        let newer_than_held = self
            .held
            .as_ref()
            .is_none_or(|held| held.from_request.is_none_or(|from| id.number > from));
        match parsed {
            // The server issued these tokens and voided the refresh token held before them.
            Ok(token) if newer_than_held => self.adopt(now, id, token),
            _ => self.events.push_back(Event::LateAnswerIgnored(id)),
        }
    }

    fn handle_refusal(
        &mut self,
        now: SystemTime,
        grant: Grant,
        error: TokenEndpointError,
        headers: &HeaderMap,
    ) {
        if grant == Grant::RefreshToken && error.is_refresh_token_refused() {
            // The refresh token is void (rotated elsewhere, expired, forgotten): drop it and
            // fall back to client credentials on the next poll, at once.
            if let Some(held) = self.held.as_mut() {
                held.refresh_token = None;
            }
            self.refresh_refusals = self.refresh_refusals.saturating_add(1);
            self.events.push_back(Event::RefreshTokenRefused);
            return;
        }
        if error.is_quota_exhausted() {
            let resets_at = error
                .retry_after()
                .map_or(self.budget.resets_at(), |after| after.resolve(now));
            let error = self.exhaust_quota(resets_at);
            self.hold(now, resets_at, HoldKind::Quiet(error));
            return;
        }
        // A 2xx whose body did not parse was most likely cut short on the way: worth a retry.
        let cut_short =
            matches!(&error, TokenEndpointError::Unexpected(u) if u.status.is_success());
        if error.is_transient() || cut_short {
            let retry_after = error.retry_after().or_else(|| {
                headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(RetryAfter::parse)
            });
            self.back_off(now, Failure::Answer(error), retry_after);
            return;
        }
        let error = match error {
            // To client credentials, `invalid_grant` refuses the credentials themselves.
            TokenEndpointError::OAuth(oauth)
                if oauth.is_permanent() || oauth.is_refresh_token_refused() =>
            {
                Error::CredentialsRejected(oauth)
            }
            TokenEndpointError::Gateway(denial)
                if denial.code == GatewayCode::DeveloperInactive =>
            {
                Error::CredentialsRejected(inactive(&denial))
            }
            other => Error::TokenRequestRefused(other),
        };
        self.quiet(now, error);
    }

    /// The quota is spent until `resets_at`: nothing more is sent before then.
    fn exhaust_quota(&mut self, resets_at: SystemTime) -> Error {
        self.budget.exhaust(resets_at);
        let snapshot = self.budget.snapshot(0, None);
        Error::QuotaExhausted {
            resets_at,
            calls_used: snapshot.calls_used,
            calls_allowed: snapshot.calls_allowed,
        }
    }

    /// A transient failure: back off and retry, or after the last retry report `last` until
    /// the longest backoff has passed.
    fn back_off(&mut self, now: SystemTime, last: Failure, retry_after: Option<RetryAfter>) {
        self.attempts += 1;
        let delay = self.backoff.delay(self.attempts);
        let until = retry_at(now, retry_after, delay);
        let too_long = until
            .duration_since(now)
            .is_ok_and(|wait| wait > self.backoff.max_delay());
        if self.attempts > self.backoff.max_retries() || too_long {
            let attempts = self.attempts;
            let until = until.max(now + self.backoff.max_delay());
            self.hold(
                now,
                until,
                HoldKind::Quiet(Error::Unavailable {
                    attempts,
                    last: Box::new(last),
                    retry_at: until,
                }),
            );
        } else {
            self.hold(now, until, HoldKind::Backoff);
        }
    }

    fn quiet(&mut self, now: SystemTime, error: Error) {
        self.hold(
            now,
            now + self.config.quiet_period(),
            HoldKind::Quiet(error),
        );
    }

    fn hold(&mut self, since: SystemTime, until: SystemTime, kind: HoldKind) {
        self.hold = Some(Hold { since, until, kind });
    }
}

fn retry_at(now: SystemTime, retry_after: Option<RetryAfter>, otherwise: Duration) -> SystemTime {
    retry_after.map_or(now + otherwise, |after| after.resolve(now).max(now))
}

fn quota_error(spent: Spent) -> Error {
    Error::QuotaExhausted {
        resets_at: spent.resets_at,
        calls_used: spent.calls_used,
        calls_allowed: spent.calls_allowed,
    }
}

fn inactive(denial: &GatewayDenial) -> OAuthError {
    OAuthError {
        status: denial.status,
        code: ErrorCode::InvalidClient,
        description: denial.detail.clone(),
        uri: None,
        gateway_code: Some(GatewayCode::DeveloperInactive),
    }
}
