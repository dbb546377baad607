//! [`TokenState`]: the one [`TokenManager`] all clones of a client share, behind a std mutex,
//! with what surrounds it whatever the transport: the clock, the store, the event queue and the
//! waiting limits.
//!
//! Invariants, held by the types (the machine is never handed out: [`Locked`] and the methods
//! here are the only ways to feed it):
//! - every input to the machine is followed by draining its events under the same lock: new
//!   tokens are saved to the store right after the machine adopts them, so no caller can be
//!   handed a token before it is saved;
//! - events are queued under the lock and delivered after it is released ([`Locked`] delivers
//!   them when dropped).
//!
//! How a caller blocks or awaits (a condition variable, a `Notify`, sleeps) is the transport's.

use crate::clock::Clock;
use crate::delivery::{Callback, Events};
use crate::error::Error;
use crate::events::{ClientEvent, StoreOperation};
use crate::fetch::Fetch;
use crate::fleet::Fleet;
use crate::fleet_store::FleetStore;
use crate::store::TokenStore;
use crate::telemetry::{self, CallSpan, Meters, RequestOutcome, TokenEnd, TokenRequestTelemetry};
use bearer_protocol::fleet::{Coordinator, TokenOutcome};
use bearer_protocol::{
    AccessToken, ApiVerdict, Bearer, BudgetSnapshot, Config, Event, PendingToken, Step,
    StoredTokens, TokenManager, TokenRequest, TransportFailure, TransportFailureKind, Wait,
    WaitCause,
};
use http::{HeaderMap, StatusCode};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// What a token is wanted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An API call: counted against the budget and paced.
    Call,
    /// Only the token, for another library: not counted.
    Token,
    /// A background renewal: renews a token in use only, and is not a use itself.
    Renewal,
}

/// What a caller asking for a token does next (see [`Locked::next`]).
#[derive(Debug)]
pub enum Next {
    /// Go ahead with this bearer token.
    Authorized(Bearer),
    /// Send this token request: start it with [`TokenState::fetch`], then ask again.
    Fetch(TokenRequest),
    /// Another caller's token request is in flight: wait to be woken by its end, at most this
    /// long, then ask again.
    AwaitFlight(Duration),
    /// Sleep until `until` on the client's clock (announce it with
    /// [`TokenState::announce_wait`]), then ask again.
    Sleep {
        /// Until when.
        until: SystemTime,
        /// Why.
        cause: WaitCause,
    },
}

/// What a [`TokenState`] starts from: the checked settings it needs (see
/// [`Settings::check`](crate::Settings::check)).
pub struct StateSettings {
    pub(crate) config: Config,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Option<Arc<dyn TokenStore>>,
    pub(crate) fleet_store: Option<Arc<dyn FleetStore>>,
    pub(crate) on_event: Option<Box<Callback>>,
    pub(crate) max_wait: Duration,
    pub(crate) over_qps_retries: u32,
    pub(crate) token_timeout: Duration,
}

impl StateSettings {
    /// Starts the token state: loads saved tokens from the store, if any (a failed load is
    /// reported as [`ClientEvent::StoreFailed`] and the state starts without tokens), and
    /// delivers what that reported. A configuration without a jitter seed gets one from the
    /// operating system's randomness, so that clients failing together do not retry in
    /// lockstep.
    pub fn load(self) -> TokenState {
        let events = Events::new(self.on_event).with_clock(Arc::clone(&self.clock));
        let client_id = self.config.client_id().expose().into();
        let config = match self.config.seed() {
            Some(_) => self.config,
            None => self.config.with_seed(RandomState::new().hash_one(0_u64)),
        };
        // Lease ids differ between processes even when their jitter seeds are the same.
        let fleet = self.fleet_store.map(|store| {
            let seed = RandomState::new().hash_one(config.seed());
            Fleet::new(store, &config, self.token_timeout, seed)
        });
        let machine = match &self.store {
            None => TokenManager::new(config),
            Some(store) => match store.load() {
                Ok(Some(tokens)) => match TokenManager::with_tokens(config.clone(), tokens) {
                    Ok(machine) => machine,
                    Err(foreign) => {
                        events.push(ClientEvent::StoreFailed {
                            operation: StoreOperation::Load,
                            message: foreign.to_string(),
                        });
                        TokenManager::new(config)
                    }
                },
                Ok(None) => TokenManager::new(config),
                Err(error) => {
                    events.push(ClientEvent::StoreFailed {
                        operation: StoreOperation::Load,
                        message: error.to_string(),
                    });
                    TokenManager::new(config)
                }
            },
        };
        let state = TokenState {
            machine: Mutex::new(machine),
            client_id,
            failures: AtomicU32::new(0),
            meters: Meters::new(),
            clock: self.clock,
            store: self.store,
            fleet,
            events,
            max_wait: self.max_wait,
            over_qps_retries: self.over_qps_retries,
            token_timeout: self.token_timeout,
        };
        state.events.deliver();
        state
    }
}

impl fmt::Debug for StateSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSettings")
            .field("store", &self.store.is_some())
            .field("fleet_store", &self.fleet_store.is_some())
            .field("on_event", &self.on_event.is_some())
            .field("max_wait", &self.max_wait)
            .field("over_qps_retries", &self.over_qps_retries)
            .finish_non_exhaustive()
    }
}

/// The token state every clone of a client (and its middleware) shares.
pub struct TokenState {
    machine: Mutex<TokenManager>,
    /// The credential's client id (not a secret), naming it in the telemetry.
    client_id: Box<str>,
    /// Token requests that brought no tokens since the last that did (the telemetry's
    /// `attempt` is one more).
    failures: AtomicU32,
    /// The per-call metrics' handles.
    meters: Meters,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn TokenStore>>,
    fleet: Option<Fleet>,
    events: Events,
    max_wait: Duration,
    over_qps_retries: u32,
    token_timeout: Duration,
}

impl TokenState {
    /// Locks the token state for a caller that wants a token: ask [`Locked::next`] what to do,
    /// wait on it with [`Locked::wait`]; releasing it delivers the events queued meanwhile.
    pub fn lock(&self) -> Locked<'_> {
        Locked {
            state: self,
            guard: Some(self.machine()),
        }
    }

    /// The machine itself, locked: only this module feeds it, and drains what it reports.
    fn machine(&self) -> MutexGuard<'_, TokenManager> {
        // A panic under the lock (a store or a clock panicking) leaves the machine consistent:
        // every machine method runs to completion before the lock is released.
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The time on the client's clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The event queue; deliver it holding no lock.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The longest a call waits in all.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// How many times a call waits out "over queries per second" and is sent again.
    pub fn over_qps_retries(&self) -> u32 {
        self.over_qps_retries
    }

    /// See [`Locked::next`].
    fn next(
        &self,
        machine: &mut TokenManager,
        purpose: Purpose,
        waited: Duration,
    ) -> Result<Next, Error> {
        let now = self.clock.now();
        let step = match purpose {
            Purpose::Call => machine.poll_call(now),
            Purpose::Token => machine.poll_token(now),
            Purpose::Renewal => machine.poll_renewal(now),
        };
        let next = match step {
            Step::Authorized(bearer) => Ok(Next::Authorized(bearer)),
            Step::Fail(error) => {
                if let bearer_protocol::Error::QuotaExhausted {
                    calls_used,
                    calls_allowed,
                    ..
                } = &error
                {
                    telemetry::quota_refused(*calls_used, *calls_allowed);
                }
                Err(error.into())
            }
            Step::Fetch(request) => {
                if let Some(fleet) = &self.fleet {
                    let held = machine.tokens().map(|t| t.access_token);
                    fleet.asked(request.id().number(), held);
                }
                self.plan_fetch(machine, request, now, waited)
            }
            Step::Wait(wait) => self.plan_wait(wait, now, waited),
        };
        self.drain(machine);
        next
    }

    /// Sends the token request only if its answer can arrive within the caller's `max_wait`;
    /// the first try of a call always may (the token time-out bounds it).
    fn plan_fetch(
        &self,
        machine: &mut TokenManager,
        request: TokenRequest,
        now: SystemTime,
        waited: Duration,
    ) -> Result<Next, Error> {
        if !waited.is_zero() && waited + self.token_timeout > self.max_wait {
            machine.handle_token_unsent(now, request.into_parts().0);
            return Err(Error::wait_timed_out(
                WaitCause::TokenRequest,
                waited,
                self.token_timeout,
                self.max_wait,
            ));
        }
        Ok(Next::Fetch(request))
    }

    fn plan_wait(&self, wait: Wait, now: SystemTime, waited: Duration) -> Result<Next, Error> {
        let needed = wait.until.duration_since(now).unwrap_or(Duration::ZERO);
        let left = self.max_wait.saturating_sub(waited);
        let cause = wait.cause;
        if cause == WaitCause::TokenInFlight {
            if left.is_zero() {
                return Err(Error::wait_timed_out(cause, waited, needed, self.max_wait));
            }
            // Woken when the request in flight ends; `until` is when it counts as abandoned
            // and this caller may send the next one.
            return Ok(Next::AwaitFlight(
                needed.min(left).max(Duration::from_millis(1)),
            ));
        }
        if needed > left {
            return Err(Error::wait_timed_out(cause, waited, needed, self.max_wait));
        }
        Ok(Next::Sleep {
            until: wait.until,
            cause,
        })
    }

    /// Whether the client shares its tokens through a fleet store, whose steps block: an
    /// async transport then calls [`fetch`](Self::fetch) and [`Fetch::finish`] off its
    /// reactor.
    pub fn has_fleet(&self) -> bool {
        self.fleet.is_some()
    }

    /// Starts sending `request` (announcing it): returns the HTTP request to send, holding no
    /// lock, and the [`Fetch`] to finish with its outcome. `wake` wakes the callers waiting
    /// for it; it is called when the fetch finishes or is dropped unfinished.
    ///
    /// With a fleet store, the processes sharing it are consulted first, which may block: the
    /// request may be replaced by tokens another process wrote, or by a request built from
    /// them; `None` then says to ask [`Locked::next`] again.
    pub fn fetch<W: Fn()>(
        &self,
        request: TokenRequest,
        wake: W,
    ) -> Option<(Fetch<'_, W>, http::Request<Vec<u8>>)> {
        let request = match &self.fleet {
            None => request,
            Some(fleet) => {
                let request = self.share(fleet, request);
                self.events.deliver();
                request?
            }
        };
        let attempt = self.failures.load(Ordering::Relaxed).saturating_add(1);
        let telemetry = TokenRequestTelemetry::start(request.id(), &self.client_id, attempt);
        telemetry.in_scope(|| {
            self.events.push(ClientEvent::TokenRequested {
                request: request.id(),
            });
        });
        self.events.deliver();
        let (pending, request) = request.into_parts();
        Some((Fetch::new(self, pending, telemetry, wake), request))
    }

    /// One round with the fleet before a token request: `Some` request to send (under the
    /// lease, or alone while the store is unreachable), or `None` when the machine now holds
    /// what another process wrote and should be asked again.
    fn share(&self, fleet: &Fleet, request: TokenRequest) -> Option<TokenRequest> {
        let mut coordinator = fleet.lock();
        let replacing = {
            let mut machine = self.machine();
            let held = machine.tokens().map(|t| t.access_token);
            let asked = fleet.replacing(request.id().number());
            let same = |a: &Option<AccessToken>, b: &Option<AccessToken>| {
                a.as_ref().map(AccessToken::expose) == b.as_ref().map(AccessToken::expose)
            };
            if asked.is_some_and(|asked| !same(&asked, &held)) {
                // Another caller's round replaced the token meanwhile: ask the machine again.
                machine.handle_token_unsent(self.clock.now(), request.into_parts().0);
                self.drain(&mut machine);
                return None;
            }
            held
        };
        coordinator.renew(replacing.as_ref());
        let mut pending = Some(request);
        let round = fleet.advance(&mut coordinator, &*self.clock, &self.events, || {
            // Another process is renewing: the machine's request is given back while this
            // caller waits (the wait may outlast the request's time-out).
            if let Some(request) = pending.take() {
                let mut machine = self.machine();
                machine.handle_token_unsent(self.clock.now(), request.into_parts().0);
                self.drain(&mut machine);
            }
        });
        let mut machine = self.machine();
        let now = self.clock.now();
        let changed = round.adopted && self.adopt_shared(&mut machine, &coordinator, now);
        let send = round.send;
        // Kept when built from the very tokens the coordinator renews from; otherwise given
        // back before the fleet's counts are taken (giving back refunds this process's own).
        let kept = pending.take().and_then(|request| {
            if send && !changed {
                return Some(request);
            }
            machine.handle_token_unsent(now, request.into_parts().0);
            None
        });
        if let Some(day) = coordinator.day() {
            machine.observe_shared_day(now, &day);
        }
        if kept.is_some() {
            return kept;
        }
        if changed && !send {
            // Another process's tokens: the machine decides whether they serve.
            self.drain(&mut machine);
            return None;
        }
        // A request from the tokens held now.
        let step = machine.poll_token(now);
        match step {
            Step::Fetch(request) if send => {
                self.drain(&mut machine);
                Some(request)
            }
            Step::Fetch(request) => {
                // The store neither renewed nor had tokens to adopt (it answers oddly): the
                // request fails as if never sent, and the machine's backoff paces the next.
                let failure = TransportFailure::new(
                    TransportFailureKind::Connect,
                    "the fleet store gave neither tokens nor the lease",
                );
                machine.handle_token_failure(now, request.into_parts().0, failure);
                self.drain(&mut machine);
                None
            }
            _ => {
                self.drain(&mut machine);
                drop(machine);
                if send {
                    coordinator.handle_token(now, TokenOutcome::Abandoned);
                    fleet.advance(&mut coordinator, &*self.clock, &self.events, || {});
                }
                None
            }
        }
    }

    /// Gives the machine the tokens the coordinator took from the store; whether the
    /// machine's tokens changed.
    fn adopt_shared(
        &self,
        machine: &mut TokenManager,
        coordinator: &Coordinator,
        now: SystemTime,
    ) -> bool {
        let Some(tokens) = coordinator.tokens() else {
            return false;
        };
        match machine.adopt_shared(now, tokens.clone()) {
            Ok(changed) => changed,
            Err(foreign) => {
                self.events.push(ClientEvent::StoreFailed {
                    operation: StoreOperation::Share,
                    message: foreign.to_string(),
                });
                false
            }
        }
    }

    /// Announces a sleep until `until` and says how long it is from now on the client's clock.
    pub fn announce_wait(&self, until: SystemTime, cause: WaitCause) -> Duration {
        self.events.push(ClientEvent::Waiting { cause, until });
        self.events.deliver();
        until
            .duration_since(self.clock.now())
            .unwrap_or(Duration::ZERO)
    }

    /// The span of an API call of `method` to `uri` about to be sent, after `resend_count`
    /// sends of the same call (see [`Attempts::resends`](crate::Attempts::resends)): any
    /// transport runs its exchange in it and records the outcome (see [`CallSpan`]). Without
    /// the `tracing` feature it costs nothing.
    #[inline]
    pub fn call_span(&self, method: &http::Method, uri: &http::Uri, resend_count: u32) -> CallSpan {
        CallSpan::new(method, uri, resend_count)
    }

    /// [`call_span`](Self::call_span) for a URL as text (a reqwest `Url`), parsed only when a
    /// subscriber may want the span.
    #[inline]
    pub fn call_span_url(&self, method: &http::Method, url: &str, resend_count: u32) -> CallSpan {
        CallSpan::for_url(method, url, resend_count)
    }

    /// Feeds an API answer's status and headers, for a call made with `bearer`, to the machine
    /// and returns its verdict; delivers what it reported.
    pub fn judge(&self, bearer: &Bearer, status: StatusCode, headers: &HeaderMap) -> ApiVerdict {
        if let Some(fleet) = &self.fleet {
            fleet.count_call();
        }
        if TokenManager::answer_changes_nothing(status, headers) {
            // Nothing to learn from it: no lock, no event (the metrics take the lock only for
            // the quota gauge, at most once a second).
            #[cfg(feature = "metrics")]
            {
                let now = self.clock.now();
                self.meters.answered(
                    Some(status),
                    now,
                    || quota_left(&mut self.machine(), now),
                    || token_left(bearer, now),
                );
            }
            return ApiVerdict::Deliver;
        }
        let verdict = {
            let mut machine = self.machine();
            let now = self.clock.now();
            let verdict = machine.handle_api_response(now, bearer, status, headers);
            self.drain(&mut machine);
            self.answered(&mut machine, Some(status), bearer, now);
            verdict
        };
        self.events.deliver();
        verdict
    }

    /// Marks the token of `bearer` as no good: the next caller renews it, unless it was
    /// already replaced (see [`TokenManager::invalidate`]).
    pub fn invalidate(&self, bearer: &Bearer) {
        let mut machine = self.machine();
        machine.invalidate(self.clock.now(), bearer);
        self.drain(&mut machine);
    }

    /// Feeds a transport failure of an API call made with `bearer` (a call that never left is
    /// not counted against the quota).
    pub fn judge_failure(&self, bearer: &Bearer, failure: &TransportFailure) {
        let mut machine = self.machine();
        let now = self.clock.now();
        machine.handle_api_failure(now, bearer, failure);
        self.answered(&mut machine, None, bearer, now);
    }

    /// Records an API answer (`None`: the transport failed) in the metrics: the calls counter,
    /// the quota left and the token's remaining life.
    #[inline]
    fn answered(
        &self,
        machine: &mut TokenManager,
        status: Option<StatusCode>,
        bearer: &Bearer,
        now: SystemTime,
    ) {
        self.meters.answered(
            status,
            now,
            || quota_left(machine, now),
            || token_left(bearer, now),
        );
    }

    /// Feeds the outcome of an API call made with `bearer`: the answer's status and headers
    /// are judged ([`judge`](Self::judge)), a transport failure is reported
    /// ([`judge_failure`](Self::judge_failure)) and handed back.
    pub fn judge_outcome<B>(
        &self,
        bearer: &Bearer,
        outcome: Result<http::Response<B>, Error>,
    ) -> Result<(http::Response<B>, ApiVerdict), Error> {
        match outcome {
            Ok(response) => {
                let verdict = self.judge(bearer, response.status(), response.headers());
                Ok((response, verdict))
            }
            Err(error) => {
                if let Error::Transport { failure, .. } = &error {
                    self.judge_failure(bearer, failure);
                }
                Err(error)
            }
        }
    }

    /// The quota budget now.
    pub fn budget(&self) -> BudgetSnapshot {
        let now = self.clock.now();
        self.machine().budget(now)
    }

    /// The tokens held now.
    pub fn tokens(&self) -> Option<StoredTokens> {
        self.machine().tokens()
    }

    /// When the machine next wants attention unasked, and whether it holds tokens.
    pub fn next_timeout(&self) -> (Option<SystemTime>, bool) {
        let machine = self.machine();
        (machine.poll_timeout(), machine.tokens().is_some())
    }

    /// Feeds the outcome of the token request `pending` and drains what the machine reports.
    pub(crate) fn finish(
        &self,
        pending: PendingToken,
        telemetry: TokenRequestTelemetry,
        outcome: Result<http::Response<Vec<u8>>, TransportFailure>,
    ) {
        self.end_request(pending, telemetry, Some(outcome));
    }

    /// Reports the token request `pending` abandoned, drains, and delivers what followed.
    pub(crate) fn abandon(&self, pending: PendingToken, telemetry: TokenRequestTelemetry) {
        self.end_request(pending, telemetry, None);
        self.events.deliver();
    }

    /// Feeds how the token request `pending` ended (`None`: abandoned) to the machine, and to
    /// the fleet: new tokens are written to the shared record before any caller is handed them
    /// (the machine stays locked meanwhile), and the lease is released.
    fn end_request(
        &self,
        pending: PendingToken,
        telemetry: TokenRequestTelemetry,
        outcome: Option<Result<http::Response<Vec<u8>>, TransportFailure>>,
    ) {
        let mut coordinator = self.fleet.as_ref().map(Fleet::lock);
        let mut machine = self.machine();
        let now = self.clock.now();
        let before = machine.tokens();
        let abandoned = outcome.is_none();
        let (status, failure_type) = match &outcome {
            Some(Ok(response)) => (Some(response.status()), None),
            Some(Err(failure)) => (None, Some(telemetry::error_type_of(&failure.kind))),
            None => (None, Some("abandoned")),
        };
        let drained = telemetry.in_scope(|| {
            match outcome {
                Some(Ok(response)) => machine.handle_token_response(now, pending, &response),
                Some(Err(failure)) => machine.handle_token_failure(now, pending, failure),
                None => machine.handle_token_abandoned(now, pending),
            }
            self.drain(&mut machine)
        });
        let outcome = if drained.tokens_changed {
            RequestOutcome::Success
        } else if drained.late {
            RequestOutcome::Ignored
        } else if abandoned {
            RequestOutcome::Abandoned
        } else if status.is_some_and(|status| status.is_client_error()) {
            RequestOutcome::Refused
        } else {
            RequestOutcome::Failed
        };
        if outcome == RequestOutcome::Success {
            self.failures.store(0, Ordering::Relaxed);
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        let error_type = match outcome {
            RequestOutcome::Success | RequestOutcome::Ignored => None,
            _ => failure_type
                .or_else(|| status.and_then(telemetry::status_error_type))
                .or(Some("invalid_response")),
        };
        telemetry.end(TokenEnd {
            outcome,
            status,
            error_type,
        });
        let (Some(fleet), Some(coordinator)) = (&self.fleet, coordinator.as_mut()) else {
            return;
        };
        let after = machine.tokens();
        let access =
            |t: &Option<StoredTokens>| t.as_ref().map(|t| t.access_token.expose().to_owned());
        let shared = if abandoned {
            TokenOutcome::Abandoned
        } else if access(&after) != access(&before) {
            after.map_or(TokenOutcome::Failed, TokenOutcome::Tokens)
        } else if before.as_ref().is_some_and(|t| t.refresh_token.is_some())
            && after.as_ref().is_some_and(|t| t.refresh_token.is_none())
        {
            TokenOutcome::InvalidGrant
        } else {
            TokenOutcome::Failed
        };
        coordinator.handle_token(now, shared);
        if fleet
            .advance(coordinator, &*self.clock, &self.events, || {})
            .adopted
        {
            self.adopt_shared(&mut machine, coordinator, self.clock.now());
        }
    }

    /// Drains the machine's events: saves new tokens to the store (under the lock, before any
    /// caller can be handed them) and queues what the observer should hear.
    pub(crate) fn drain(&self, machine: &mut TokenManager) -> Drained {
        let mut drained = Drained::default();
        while let Some(event) = machine.poll_event() {
            let event = match event {
                Event::TokensChanged {
                    tokens,
                    request,
                    first,
                } => {
                    drained.tokens_changed = true;
                    self.save(&tokens);
                    ClientEvent::TokensChanged {
                        request,
                        tokens,
                        first,
                    }
                }
                Event::TokenRequestFailed { request, failure } => {
                    ClientEvent::TokenRequestFailed { request, failure }
                }
                Event::RefreshTokenRefused => ClientEvent::RefreshTokenRefused,
                Event::TokenAllowanceExceeded {
                    token_requests,
                    accounted,
                } => ClientEvent::TokenAllowanceExceeded {
                    token_requests,
                    accounted,
                },
                Event::LateAnswerIgnored { request } => {
                    drained.late = true;
                    ClientEvent::LateAnswerIgnored { request }
                }
                // Passed on as it is, never dropped.
                other => ClientEvent::Other(other),
            };
            self.events.push(event);
        }
        drained
    }

    fn save(&self, tokens: &StoredTokens) {
        if let Some(store) = &self.store {
            match store.save(tokens) {
                Ok(()) => telemetry::saved(),
                Err(error) => self.events.push(ClientEvent::StoreFailed {
                    operation: StoreOperation::Save,
                    message: error.to_string(),
                }),
            }
        }
    }
}

/// Calls left in the quota day, less those kept back for renewals, when the allowance is known
/// (the `bearer_quota_remaining` gauge).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
fn quota_left(machine: &mut TokenManager, now: SystemTime) -> Option<u64> {
    let budget = machine.budget(now);
    budget.calls_allowed.map(|allowed| {
        allowed
            .saturating_sub(budget.calls_used)
            .saturating_sub(budget.reserved_for_tokens)
    })
}

/// Seconds the token of `bearer` has left (the `bearer_token_remaining_seconds` gauge).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
fn token_left(bearer: &Bearer, now: SystemTime) -> f64 {
    bearer
        .expires_at()
        .duration_since(now)
        .unwrap_or_default()
        .as_secs_f64()
}

/// What a [`TokenState::drain`] saw, for the telemetry of a token request's end.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Drained {
    /// New tokens were adopted.
    tokens_changed: bool,
    /// An answer came too late to be adopted.
    late: bool,
}

/// The token state, locked by a caller that wants a token ([`TokenState::lock`]). It never
/// hands out the machine, so everything fed to it is drained into the store and the event
/// queue; the events are delivered when it is released (dropped), holding no lock.
#[must_use = "the token state stays locked until this is dropped"]
pub struct Locked<'a> {
    state: &'a TokenState,
    /// `None` only while [`wait`](Self::wait) has handed it to the condition variable.
    guard: Option<MutexGuard<'a, TokenManager>>,
}

impl Locked<'_> {
    /// What a caller wanting a token for `purpose`, which has waited `waited` so far, does
    /// next; saves and queues whatever the machine reports. Fails when the machine does, or
    /// when the wait it asks for, or a token request of the caller's own (which may take up to
    /// the token time-out), would take the caller past `max_wait`.
    pub fn next(&mut self, purpose: Purpose, waited: Duration) -> Result<Next, Error> {
        let Some(machine) = self.guard.as_mut() else {
            unreachable!("the guard is back once wait returns");
        };
        self.state.next(machine, purpose, waited)
    }

    /// Releases the lock until `changed` is notified or `timeout` passes, then takes it again
    /// (for a thread waiting on another's token request).
    pub fn wait(mut self, changed: &Condvar, timeout: Duration) -> Self {
        if let Some(guard) = self.guard.take() {
            let (guard, _) = changed
                .wait_timeout(guard, timeout)
                .unwrap_or_else(PoisonError::into_inner);
            self.guard = Some(guard);
        }
        self
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.state.events.deliver();
    }
}

impl fmt::Debug for Locked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locked").finish_non_exhaustive()
    }
}

impl Drop for TokenState {
    /// With a fleet store, writes the calls counted since the record's last write, so that
    /// the fleet's count of the day holds this process's calls (a short store step; a store
    /// that does not answer only loses the count).
    fn drop(&mut self) {
        if let Some(fleet) = &self.fleet {
            let mut coordinator = fleet.lock();
            coordinator.flush();
            fleet.advance(&mut coordinator, &*self.clock, &self.events, || {});
        }
        self.events.deliver();
    }
}

impl fmt::Debug for TokenState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenState").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use crate::Settings;
    use bearer_protocol::Config;

    fn seed_of(config: Config) -> Option<u64> {
        let checked = Settings::new(config, "test")
            .check()
            .expect("valid settings");
        checked.state.load().machine().config().seed()
    }

    #[test]
    fn each_client_draws_its_own_jitter_seed_unless_one_is_given() {
        let config = || {
            Config::builder(
                "https://api.example.com/oauth2/token",
                "ysszm2yk7gp5r9ernuaurgcc",
                "w9t7t48g7H",
            )
            .build()
            .expect("valid configuration")
        };
        let (a, b) = (seed_of(config()), seed_of(config()));
        assert!(a.is_some() && b.is_some());
        assert_ne!(a, b, "two clients retry on different schedules");
        assert_eq!(seed_of(config().with_seed(7)), Some(7));
    }
}
