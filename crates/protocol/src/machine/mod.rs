//! The token state machine: one per credential, fed what happened, asked what to do next.
//!
//! **After every `&mut self` call, drain the events: [`TokenManager::poll_event`] until it
//! returns `None`.** That includes the `poll_*` calls, which count calls, pace them and may
//! queue events; new tokens must be persisted before they are used.
//!
//! # Methods, and when to call them
//!
//! - [`poll_call`](TokenManager::poll_call): before each API call. Then send it and call
//!   [`handle_api_response`](TokenManager::handle_api_response) (or
//!   [`handle_api_failure`](TokenManager::handle_api_failure)).
//! - [`poll_token`](TokenManager::poll_token): when only the token is wanted (another library
//!   sends the call).
//! - [`poll_renewal`](TokenManager::poll_renewal): from a background renewer, at
//!   [`poll_timeout`](TokenManager::poll_timeout).
//! - On [`Step::Fetch`]: split it with [`TokenRequest::into_parts`], send the request, and feed
//!   its [`PendingToken`] back to exactly one of
//!   [`handle_token_response`](TokenManager::handle_token_response) (an answer),
//!   [`handle_token_failure`](TokenManager::handle_token_failure) (the transport failed),
//!   [`handle_token_abandoned`](TokenManager::handle_token_abandoned) (the caller gave up) or
//!   [`handle_token_unsent`](TokenManager::handle_token_unsent) (it was never sent).
//! - [`poll_timeout`](TokenManager::poll_timeout): after any call, for when to look again
//!   unasked.
//! - Reading, at any time: [`budget`](TokenManager::budget), [`tokens`](TokenManager::tokens),
//!   [`config`](TokenManager::config).
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
//!         // send the HTTP request; then feed the outcome back with its pending handle:
//!         let (pending, _http) = request.into_parts();
//!         let answer = http::Response::builder()
//!             .status(200)
//!             .body(br#"{"access_token":"66mrpvtv4mvs6bz728nbaqmc","token_type":"bearer","expires_in":3600,"refresh_token":"edcv2npr3furqsnscpn795t9"}"#.to_vec())
//!             .unwrap();
//!         machine.handle_token_response(now, pending, &answer);
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

mod answers;
mod backoff;
mod budget;
mod governor;
mod outputs;
mod pacer;
pub(crate) mod tokens;

pub use budget::BudgetSnapshot;
pub use governor::{GOVERNOR_BURST, GOVERNOR_INTERVAL};
pub use outputs::{
    ApiVerdict, Event, Grant, PendingToken, RequestId, Step, TokenRequest, Wait, WaitCause,
};
pub use pacer::MAX_QPS;
pub use tokens::{Bearer, Credential, ForeignTokens, MIN_LIFETIME, StoredTokens};

use crate::config::Config;
use crate::error::{Error, Failure, ThrottleCause, TransportFailure};
use crate::secret::{KnownSecrets, RefreshToken};
use crate::wire::challenge::{BearerChallenge, ChallengeError};
use crate::wire::gateway::{GatewayCode, GatewayDenial, RetryAfter};
use crate::wire::oauth_error::{ErrorCode, OAuthError};
use crate::wire::quota::QuotaHeaders;
use crate::wire::request::{client_credentials_request, refresh_token_request};
use crate::wire::token::{TokenEndpointError, parse_token_response};
use answers::quota_error;
use backoff::Backoff;
use budget::{Budget, Spent};
use governor::Governor;
use http::{HeaderMap, StatusCode};
use pacer::Pacer;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};
use tokens::Held;

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

    /// A machine that starts from tokens a store saved, or an error when they were issued to
    /// another credential (another client id or token endpoint). Tokens whose access token
    /// cannot be a header value are ignored (the machine then starts without tokens).
    pub fn with_tokens(config: Config, tokens: StoredTokens) -> Result<Self, ForeignTokens> {
        let expected = Credential::of(&config);
        if tokens.issued_to != expected {
            return Err(ForeignTokens {
                saved: tokens.issued_to,
                expected,
            });
        }
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
        Ok(machine)
    }

    /// Takes tokens another process obtained (read from a store the processes share, see
    /// [`fleet`](crate::fleet)) in place of those held: no token request is counted. Returns
    /// whether anything changed: tokens equal to those held are left alone, and so is a token
    /// request in flight (its answer is still awaited). Tokens issued to another credential
    /// are refused.
    pub fn adopt_shared(
        &mut self,
        now: SystemTime,
        tokens: StoredTokens,
    ) -> Result<bool, ForeignTokens> {
        let expected = Credential::of(&self.config);
        if tokens.issued_to != expected {
            return Err(ForeignTokens {
                saved: tokens.issued_to,
                expected,
            });
        }
        if self.held.as_ref().is_some_and(|held| {
            held.bearer.token.expose() == tokens.access_token.expose()
                && held.refresh_token.as_ref().map(RefreshToken::expose)
                    == tokens.refresh_token.as_ref().map(RefreshToken::expose)
        }) {
            return Ok(false);
        }
        // The lifetime it was issued with is unknown here: what is left of it stands in (it
        // caps the renewal leeway at half of it).
        let lifetime = tokens
            .expires_at
            .duration_since(now)
            .unwrap_or(Duration::ZERO);
        let generation = self.generation + 1;
        let Some(held) = Held::new(
            tokens,
            generation,
            lifetime,
            self.config.refresh_leeway(),
            None,
            None,
        ) else {
            return Ok(false);
        };
        self.held = Some(held);
        self.generation = generation;
        self.stale_since = None;
        self.used = false;
        self.refresh_refusals = 0;
        Ok(true)
    }

    /// Takes the quota day's counts the processes sharing the credential recorded (the
    /// [`fleet`](crate::fleet) record's `day`): the budget counts the fleet's token requests
    /// and calls, never fewer than this process's own. A day other than the current one is
    /// ignored.
    pub fn observe_shared_day(&mut self, now: SystemTime, day: &crate::fleet::QuotaDay) {
        self.budget
            .observe_fleet(now, day.resets_at, day.calls, day.token_requests);
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

    /// The next event, if any. Call it until `None` after every `&mut self` call.
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
                cause: WaitCause::TokenInFlight,
            });
        }
        if let Some(hold) = &self.hold {
            return match &hold.kind {
                HoldKind::Quiet(error) => Step::Fail(error.clone()),
                HoldKind::Backoff => Step::Wait(Wait {
                    until: hold.until,
                    cause: WaitCause::Backoff,
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
        let cause = if self.pacer.blocked(now).is_some() {
            WaitCause::RetryAfter
        } else {
            WaitCause::Pacing
        };
        Some(Wait { until, cause })
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
        Ok(TokenRequest {
            pending: PendingToken { id },
            request,
        })
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
}
