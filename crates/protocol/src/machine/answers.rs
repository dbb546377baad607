//! What the machine does with each outcome it is fed: a token answer (adopted, refused,
//! classified as transient or permanent), a transport failure, an abandoned request, an API
//! answer, and the holds (backoff, quiet periods) that follow.

use super::*;
use crate::wire::gateway::X_MASHERY_ERROR_CODE;

impl TokenManager {
    /// Feeds the answer to a token request.
    pub fn handle_token_response(
        &mut self,
        now: SystemTime,
        pending: PendingToken,
        response: &http::Response<Vec<u8>>,
    ) {
        let id = pending.id;
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
                    request: id,
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
        pending: PendingToken,
        failure: TransportFailure,
    ) {
        let id = pending.id;
        if self.take_flight(id).is_some() {
            if failure.kind.never_sent() {
                self.budget.refund_token_request();
            }
            let permanent = failure.kind.is_permanent();
            let failure = Failure::Transport(failure);
            self.events.push_back(Event::TokenRequestFailed {
                request: id,
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
    pub fn handle_token_abandoned(&mut self, now: SystemTime, pending: PendingToken) {
        let _ = now;
        self.take_flight(pending.id);
    }

    /// The caller decided not to send a token request after all (it had no time left to wait
    /// for the answer): the request is forgotten, in the budget and the governor too.
    pub fn handle_token_unsent(&mut self, now: SystemTime, pending: PendingToken) {
        if self.take_flight(pending.id).is_some() {
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

    /// Whether [`handle_api_response`](Self::handle_api_response) of this answer would deliver
    /// it and change nothing: not a 401, and no quota header (`X-Plan-*`) nor gateway error
    /// code (`X-Mashery-Error-Code`). A caller may then skip feeding it — the common answer,
    /// judged without taking the machine's lock. Reads no state, only scans the header names.
    pub fn answer_changes_nothing(status: StatusCode, headers: &HeaderMap) -> bool {
        status != StatusCode::UNAUTHORIZED
            && !headers.keys().any(|name| {
                let name = name.as_str();
                name.starts_with("x-plan-") || name == X_MASHERY_ERROR_CODE.as_str()
            })
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

    /// The token of `bearer` is no good (the API refused it through a library that is not
    /// the client's, or the caller wants a fresh one): if it is still the one held, the next
    /// poll renews it — once, within the governor, however often it is invalidated; an older
    /// token (already replaced) changes nothing.
    pub fn invalidate(&mut self, now: SystemTime, bearer: &Bearer) {
        self.mark_stale(now, bearer);
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

    pub(super) fn expire_flight(&mut self, now: SystemTime) {
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
                    request: flight.id,
                    failure: Failure::Abandoned,
                });
            }
            self.back_off(now, Failure::Abandoned, None);
        }
    }

    /// Ends a hold whose time is up, or that began after `now` (the clock went back: waiting
    /// out the rest could take as long as the jump, so it ends at once).
    pub(super) fn expire_hold(&mut self, now: SystemTime) {
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
        let first = self.held.is_none();
        let previous_refresh = self
            .held
            .as_mut()
            .and_then(|held| held.refresh_token.take());
        let stored = StoredTokens {
            access_token: token.access_token,
            refresh_token: token.refresh_token.or(previous_refresh),
            expires_at: now + token.expires_in,
            scope: token.scope,
            issued_to: Credential::of(&self.config),
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
                    first,
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
            _ => self
                .events
                .push_back(Event::LateAnswerIgnored { request: id }),
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

pub(super) fn quota_error(spent: Spent) -> Error {
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
