//! The token state machine driven by a structured random sequence of inputs: token answers of
//! any shape (well-formed, real-world, raw bytes), transport failures, abandoned requests,
//! late answers to old requests, API answers with any status and gateway headers, and the
//! clock moving forward and backward. Checks the invariants of
//! crates/protocol/tests/machine_properties.rs on every step:
//!
//! - never two token requests in flight, unless the older one timed out (or was answered,
//!   failed or abandoned);
//! - a refresh request carries the newest refresh token adopted;
//! - no bearer is handed out at or past its expiry;
//! - in enforcing mode the budget's `calls_used` never passes the calls allowed (the plan's,
//!   as long as the gateway has not sent its own quota headers) after a counted call or a
//!   token request;
//! - a wait is in the future and bounded; a retry time is not in the past;
//! - no panic.
#![no_main]

use arbitrary::Arbitrary;
use bearer_protocol::wire::gateway::MAX_RETRY_AFTER;
use bearer_protocol::{
    ApiVerdict, BudgetMode, CertificateProblem, ClientAuth, Config, Event, GOVERNOR_BURST,
    GOVERNOR_INTERVAL, Grant, MIN_LIFETIME, PendingToken, Plan, RetryPolicy, Step, StoredTokens,
    TokenManager, TransportFailure, TransportFailureKind, WaitCause,
};
use http::{HeaderMap, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Arbitrary)]
struct Scenario {
    setup: Setup,
    ops: Vec<Op>,
}

#[derive(Debug, Arbitrary)]
struct Setup {
    calls_per_day: Option<u16>,
    queries_per_second: Option<u8>,
    auth_requests_per_day: u8,
    observe: bool,
    basic: bool,
    leeway_secs: u16,
    default_lifetime_secs: u16,
    timeout_secs: u8,
    max_retries: u8,
    base_delay_ms: u16,
    max_delay_secs: u8,
    quiet_secs: u16,
    seed: u64,
    start_offset_secs: u32,
    stored: Option<Stored>,
}

#[derive(Debug, Arbitrary)]
struct Stored {
    access_token: u8,
    refresh: bool,
    expires_in_secs: i32,
}

#[derive(Debug, Arbitrary)]
enum Op {
    PollCall,
    PollToken,
    PollTimeout,
    Forward(u16),
    ForwardFar(u32),
    Back(u16),
    BackFar(u32),
    /// Answer the outstanding request picked by index, newest first (possibly a stale one).
    Answer(u8, Answer),
    Fail(u8, u8),
    Abandon(u8),
    /// An API answer to the call made with a bearer handed out earlier (newest first).
    Api(u8, ApiAnswer),
    Budget,
    PollRenewal,
    /// The caller decides not to send the request just fetched after all.
    Unsent,
    /// An API call made with a bearer handed out earlier failed in the transport.
    ApiFailure(u8, u8),
}

#[derive(Debug, Arbitrary)]
enum Answer {
    Issue {
        access: Shape,
        token_type: u8,
        expires_in: Expires,
        refresh: Option<Shape>,
        scope: Option<u8>,
        quota: Option<Quota>,
    },
    /// One of the real-world token endpoint answers in the seed corpus.
    Known(u8),
    /// Raw bytes in the seed format (status line, headers, body).
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum Shape {
    Fresh,
    Empty,
    Weird(String),
}

#[derive(Debug, Arbitrary)]
enum Expires {
    Absent,
    Null,
    Secs(u32),
    Negative(i32),
    Float(f64),
    Text(String),
}

#[derive(Debug, Arbitrary)]
struct Quota {
    allotted: Option<u32>,
    current: Option<u32>,
    /// Reset in this many seconds from now (negative: in the past).
    reset_in: Option<i32>,
    qps: Option<u8>,
}

#[derive(Debug, Arbitrary)]
enum ApiAnswer {
    Ok(Option<Quota>),
    Unauthorized(u8),
    Gateway {
        status: u16,
        code: u8,
        retry_after: Option<RetryAfter>,
        quota: Option<Quota>,
    },
    Status(u16),
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum RetryAfter {
    Secs(u32),
    DateIn(i32),
    Text(String),
}

const KNOWN: &[&[u8]] = &[
    include_bytes!("../seeds/token_response/mashery_v3_client_credentials"),
    include_bytes!("../seeds/token_response/tibco_local_86400"),
    include_bytes!("../seeds/token_response/text_plain_json"),
    include_bytes!("../seeds/token_response/form_encoded"),
    include_bytes!("../seeds/token_response/invalid_grant_refresh"),
    include_bytes!("../seeds/token_response/invalid_client_not_authorized"),
    include_bytes!("../seeds/token_response/invalid_client_developer_inactive"),
    include_bytes!("../seeds/token_response/invalid_request_no_client_id"),
    include_bytes!("../seeds/token_response/over_rate"),
    include_bytes!("../seeds/token_response/over_qps"),
    include_bytes!("../seeds/token_response/service_not_found_596"),
    include_bytes!("../seeds/token_response/bad_gateway_html"),
    include_bytes!("../seeds/token_response/truncated"),
    include_bytes!("../seeds/token_response/error_in_200"),
    include_bytes!("../seeds/token_response/mac_token"),
    include_bytes!("../seeds/token_response/maintenance_503"),
];

const GATEWAY_CODES: &[&str] = &[
    "ERR_403_DEVELOPER_OVER_QPS",
    "ERR_403_SERVICE_OVER_QPS",
    "ERR_403_DEVELOPER_OVER_RATE",
    "ERR_403_DEVELOPER_INACTIVE",
    "ERR_403_NOT_AUTHORIZED",
    "ERR_401_INVALID_OR_EXPIRED_TOKEN",
    "ERR_596_SERVICE_NOT_FOUND",
    "ERR_502_BAD_GATEWAY",
    "ERR_503_SERVICE_UNAVAILABLE",
    "ERR_504_GATEWAY_TIMEOUT",
    "ERR_400_BAD_REQUEST",
    "ERR_414_REQUEST_URI_TOO_LONG",
    " err_403_developer_over_qps ",
];

const CHALLENGES: &[&str] = &[
    r#"Bearer realm="api.example.com", error="invalid_token""#,
    r#"Bearer realm="api.example.com""#,
    r#"Bearer realm="api.example.com", error="invalid_request""#,
    r#"Bearer error="insufficient_scope", scope="read""#,
    r#"Basic realm="api.example.com""#,
    "",
];

/// One token request the harness knows about.
struct Outstanding {
    /// `None` once its outcome was fed back: each request takes one outcome.
    pending: Option<PendingToken>,
    sent_at: SystemTime,
    closed: bool,
}

struct Harness {
    machine: TokenManager,
    now: SystemTime,
    timeout: Duration,
    wait_bound: Duration,
    enforce: bool,
    plan: Option<u64>,
    /// The gateway sent quota figures: the plan may no longer be what the budget allows.
    gateway_quota: bool,
    outstanding: Vec<Outstanding>,
    latest_refresh: Option<String>,
    bearers: Vec<bearer_protocol::Bearer>,
    issued: u64,
    /// The number of the last token request handed out.
    issued_requests: u64,
    /// The time the clock moved forward in all (backward moves do not count).
    forward: Duration,
    /// `forward` at each token request sent.
    sends: Vec<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asker {
    Call,
    Token,
    Renewal,
}

fn failure_kind(kind: u8) -> TransportFailureKind {
    match kind % 7 {
        0 => TransportFailureKind::TimedOut,
        1 => TransportFailureKind::Interrupted,
        2 => TransportFailureKind::Connect,
        3 => TransportFailureKind::Tls,
        4 => TransportFailureKind::Certificate(CertificateProblem::UnknownIssuer),
        5 => TransportFailureKind::Certificate(CertificateProblem::Expired),
        _ => TransportFailureKind::Other,
    }
}

fuzz_target!(|scenario: Scenario| run(scenario));

fn run(Scenario { setup, ops }: Scenario) {
    let Some(mut h) = Harness::new(&setup) else {
        return;
    };
    for op in ops.into_iter().take(400) {
        h.step(op);
        h.drain_events();
    }
}

impl Harness {
    fn new(setup: &Setup) -> Option<Harness> {
        let plan = setup.calls_per_day.map(|n| u64::from(n).max(1));
        let timeout = Duration::from_secs(u64::from(setup.timeout_secs.max(1)));
        let max_delay = Duration::from_secs(u64::from(setup.max_delay_secs.max(1)));
        let base_delay =
            Duration::from_millis(u64::from(setup.base_delay_ms.max(1))).min(max_delay);
        let config = Config::builder(
            "https://api.example.com/oauth2/token",
            "ysszm2yk7gp5r9ernuaurgcc",
            "w9t7t48g7H",
        )
        .client_auth(if setup.basic {
            ClientAuth::Basic
        } else {
            ClientAuth::Body
        })
        .plan(Plan {
            calls_per_day: plan,
            auth_requests_per_day: u32::from(setup.auth_requests_per_day),
            queries_per_second: setup.queries_per_second.map(|q| u32::from(q.max(1))),
        })
        .budget_mode(if setup.observe {
            BudgetMode::Observe
        } else {
            BudgetMode::Enforce
        })
        .refresh_leeway(Duration::from_secs(u64::from(setup.leeway_secs)))
        .default_lifetime(Duration::from_secs(u64::from(
            setup.default_lifetime_secs.max(1),
        )))
        .token_request_timeout(timeout)
        .retry(RetryPolicy {
            max_retries: u32::from(setup.max_retries % 12),
            base_delay,
            max_delay,
        })
        .quiet_period(Duration::from_secs(u64::from(setup.quiet_secs)))
        .seed(setup.seed)
        .build()
        .ok()?;
        // Monday 2023-11-13 00:00:00 UTC, plus up to 136 years.
        let now = UNIX_EPOCH
            + Duration::from_secs(1_699_833_600)
            + Duration::from_secs(u64::from(setup.start_offset_secs));
        let mut latest_refresh = None;
        let machine = match &setup.stored {
            None => TokenManager::new(config),
            Some(stored) => {
                let secs = Duration::from_secs(u64::from(stored.expires_in_secs.unsigned_abs()));
                let expires_at = if stored.expires_in_secs >= 0 {
                    now + secs
                } else {
                    now - secs
                };
                let refresh = stored
                    .refresh
                    .then(|| "storedrefresh00000000000".to_owned());
                latest_refresh = refresh.clone();
                let access = match stored.access_token % 4 {
                    0 => "storedaccess000000000000".to_owned(),
                    1 => String::new(),
                    2 => "with space".to_owned(),
                    _ => "caf\u{e9}\n".to_owned(),
                };
                let tokens = StoredTokens {
                    access_token: access.into(),
                    refresh_token: refresh.map(Into::into),
                    expires_at,
                    scope: None,
                    issued_to: bearer_protocol::Credential::of(&config),
                };
                TokenManager::with_tokens(config, tokens).expect("tokens of this credential")
            }
        };
        // A wait is never longer than: a request in flight seen from a clock moved back by
        // less than the time-out, the longest backoff, a gateway "over QPS" block.
        let wait_bound = (timeout * 2).max(max_delay).max(Duration::from_secs(61));
        let mut harness = Harness {
            machine,
            now,
            timeout,
            wait_bound,
            enforce: !setup.observe,
            plan,
            gateway_quota: false,
            outstanding: Vec::new(),
            latest_refresh,
            bearers: Vec::new(),
            forward: Duration::ZERO,
            sends: Vec::new(),
            issued_requests: 0,
            issued: 0,
        };
        if harness.machine.tokens().is_none() {
            // A stored access token that cannot be a header value is dropped, with its
            // refresh token.
            harness.latest_refresh = None;
        }
        Some(harness)
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::PollCall => self.poll(Asker::Call),
            Op::PollToken => self.poll(Asker::Token),
            Op::PollRenewal => self.poll(Asker::Renewal),
            Op::Unsent => {
                let Some(last) = self.outstanding.last_mut().filter(|o| !o.closed) else {
                    return;
                };
                last.closed = true;
                let Some(pending) = last.pending.take() else {
                    return;
                };
                self.machine.handle_token_unsent(self.now, pending);
                // Never sent: it is not part of the governor's count.
                self.sends.pop();
            }
            Op::ApiFailure(pick, kind) => {
                let Some(bearer) = self.bearer(pick) else {
                    return;
                };
                let failure = TransportFailure::new(failure_kind(kind), "fuzz");
                self.machine.handle_api_failure(self.now, &bearer, &failure);
            }
            Op::PollTimeout => {
                let _ = self.machine.poll_timeout();
            }
            Op::Forward(secs) => self.forward(Duration::from_secs(secs.into())),
            Op::ForwardFar(secs) => self.forward(Duration::from_secs(secs.into()) * 16),
            Op::Back(secs) => self.back(Duration::from_secs(secs.into())),
            Op::BackFar(secs) => self.back(Duration::from_secs(secs.into())),
            Op::Answer(pick, answer) => {
                let Some(id) = self.close(pick) else { return };
                let response = self.token_answer(answer);
                if !bearer_protocol::wire::quota::QuotaHeaders::from_headers(response.headers())
                    .is_empty()
                {
                    self.gateway_quota = true;
                }
                self.machine.handle_token_response(self.now, id, &response);
            }
            Op::Fail(pick, kind) => {
                let Some(id) = self.close(pick) else { return };
                self.machine.handle_token_failure(
                    self.now,
                    id,
                    TransportFailure::new(failure_kind(kind), "fuzz"),
                );
            }
            Op::Abandon(pick) => {
                let Some(id) = self.close(pick) else { return };
                self.machine.handle_token_abandoned(self.now, id);
            }
            Op::Api(pick, answer) => {
                let Some(bearer) = self.bearer(pick) else {
                    return;
                };
                let response = self.api_answer(answer);
                if !bearer_protocol::wire::quota::QuotaHeaders::from_headers(response.headers())
                    .is_empty()
                {
                    self.gateway_quota = true;
                }
                let verdict = self.machine.handle_api_response(
                    self.now,
                    &bearer,
                    response.status(),
                    response.headers(),
                );
                match verdict {
                    ApiVerdict::RetryAt(at) => assert!(at >= self.now, "retry in the past"),
                    ApiVerdict::Fail(error) => {
                        let _ = error.to_string();
                    }
                    ApiVerdict::Deliver | ApiVerdict::Replay => {}
                }
            }
            Op::Budget => {
                let budget = self.machine.budget(self.now);
                assert!(budget.resets_at > self.now || budget.resets_at == UNIX_EPOCH);
            }
        }
    }

    fn forward(&mut self, by: Duration) {
        if let Some(now) = self.now.checked_add(by) {
            self.now = now;
            self.forward += by;
        }
    }

    fn back(&mut self, by: Duration) {
        if let Some(now) = self.now.checked_sub(by) {
            self.now = now;
        }
    }

    /// A bearer handed out earlier, picked newest first.
    fn bearer(&self, pick: u8) -> Option<bearer_protocol::Bearer> {
        self.bearers
            .iter()
            .rev()
            .nth(usize::from(pick) % 4)
            .cloned()
    }

    /// Marks the picked outstanding request (newest first) answered; its handle, unless it
    /// was answered already.
    fn close(&mut self, pick: u8) -> Option<PendingToken> {
        let target = self
            .outstanding
            .iter_mut()
            .rev()
            .nth(usize::from(pick) % 3)?;
        target.closed = true;
        target.pending.take()
    }

    fn poll(&mut self, asker: Asker) {
        let counted = asker == Asker::Call;
        let now = self.now;
        let timeout = self.timeout;
        // A request unanswered for the time-out (either way the clock moved) is abandoned.
        for other in &mut self.outstanding {
            let timed_out = now >= other.sent_at + timeout
                || other
                    .sent_at
                    .duration_since(now)
                    .is_ok_and(|d| d >= timeout);
            other.closed |= timed_out;
        }
        self.outstanding
            .retain(|o| !o.closed || o.sent_at + timeout * 4 > now);
        let step = match asker {
            Asker::Call => self.machine.poll_call(now),
            Asker::Token => self.machine.poll_token(now),
            Asker::Renewal => self.machine.poll_renewal(now),
        };
        match step {
            Step::Fetch(request) => {
                assert!(
                    self.outstanding.iter().all(|o| o.closed),
                    "two token requests in flight"
                );
                let form: Vec<(String, String)> = form_urlencoded::parse(request.request().body())
                    .into_owned()
                    .collect();
                let field = |name: &str| {
                    form.iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.clone())
                };
                match request.grant() {
                    Grant::RefreshToken => {
                        assert_eq!(field("grant_type").as_deref(), Some("refresh_token"));
                        assert_eq!(
                            field("refresh_token"),
                            self.latest_refresh,
                            "refresh request without the newest refresh token"
                        );
                    }
                    Grant::ClientCredentials => {
                        assert_eq!(field("grant_type").as_deref(), Some("client_credentials"));
                    }
                }
                self.issued_requests = request.id().number();
                self.outstanding.push(Outstanding {
                    pending: Some(request.into_parts().0),
                    sent_at: now,
                    closed: false,
                });
                self.check_budget();
                self.check_governor();
            }
            Step::Authorized(bearer) => {
                assert!(
                    now < bearer.expires_at() + MIN_LIFETIME,
                    "bearer handed out past its expiry (and the floor of a token expiring at once)"
                );
                if counted {
                    self.check_budget();
                }
                self.bearers.push(bearer);
                if self.bearers.len() > 8 {
                    self.bearers.remove(0);
                }
            }
            Step::Wait(wait) => {
                assert!(
                    wait.until > now,
                    "a wait that is not in the future: {wait:?}"
                );
                // The gateway's `Retry-After` is believed up to its cap; every other wait is
                // bounded by the configuration.
                let bound = match wait.cause {
                    WaitCause::RetryAfter => MAX_RETRY_AFTER,
                    _ => self.wait_bound,
                };
                assert!(wait.until <= now + bound, "a wait too long: {wait:?}");
            }
            Step::Fail(error) => {
                let _ = (error.to_string(), error.is_temporary());
            }
        }
    }

    /// Over any span of forward time, at most a burst of token requests plus one per
    /// interval, whatever the answers.
    fn check_governor(&mut self) {
        self.sends.push(self.forward);
        for (k, earlier) in self.sends.iter().enumerate() {
            let span = self.forward - *earlier;
            let allowed = u64::from(GOVERNOR_BURST) + span.as_secs() / GOVERNOR_INTERVAL.as_secs();
            let sent = (self.sends.len() - k) as u64;
            assert!(sent <= allowed, "{sent} token requests within {span:?}");
        }
    }

    fn check_budget(&mut self) {
        if !self.enforce {
            return;
        }
        let budget = self.machine.budget(self.now);
        if let Some(allowed) = budget.calls_allowed {
            assert!(
                budget.calls_used <= allowed,
                "budget passed: {} > {allowed}",
                budget.calls_used
            );
        }
        if let (Some(plan), false) = (self.plan, self.gateway_quota) {
            assert_eq!(budget.calls_allowed, Some(plan));
            assert!(
                budget.calls_used <= plan,
                "plan passed: {} > {plan}",
                budget.calls_used
            );
        }
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.machine.poll_event() {
            match event {
                Event::TokensChanged {
                    tokens, request, ..
                } => {
                    assert!(
                        request.number() <= self.issued_requests,
                        "an unknown request"
                    );
                    self.latest_refresh = tokens.refresh_token.map(|t| t.expose().to_owned());
                    let held = self.machine.tokens().expect("tokens just adopted");
                    assert_eq!(held.access_token.expose(), tokens.access_token.expose());
                }
                Event::RefreshTokenRefused => self.latest_refresh = None,
                _ => {}
            }
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.issued += 1;
        format!("{prefix}{:022}", self.issued)
    }

    fn token_answer(&mut self, answer: Answer) -> Response<Vec<u8>> {
        match answer {
            Answer::Known(pick) => bearer_fuzz::response(KNOWN[usize::from(pick) % KNOWN.len()]),
            Answer::Raw(bytes) => bearer_fuzz::response(&bytes),
            Answer::Issue {
                access,
                token_type,
                expires_in,
                refresh,
                scope,
                quota,
            } => {
                let mut body = serde_json::Map::new();
                let access = self.shape(access, "at");
                body.insert("access_token".into(), access.into());
                let token_type = match token_type % 6 {
                    0 | 1 => Some("bearer"),
                    2 => Some("Bearer"),
                    3 => None,
                    4 => Some("mac"),
                    _ => Some(" BEARER "),
                };
                if let Some(token_type) = token_type {
                    body.insert("token_type".into(), token_type.into());
                }
                let expires = match expires_in {
                    Expires::Absent => None,
                    Expires::Null => Some(serde_json::Value::Null),
                    Expires::Secs(secs) => Some(secs.into()),
                    Expires::Negative(secs) => Some(secs.into()),
                    Expires::Float(secs) => serde_json::Number::from_f64(secs).map(Into::into),
                    Expires::Text(text) => Some(text.into()),
                };
                if let Some(expires) = expires {
                    body.insert("expires_in".into(), expires);
                }
                if let Some(refresh) = refresh {
                    let refresh = self.shape(refresh, "rt");
                    body.insert("refresh_token".into(), refresh.into());
                }
                if let Some(scope) = scope {
                    body.insert("scope".into(), format!("scope{scope}").into());
                }
                let mut response =
                    Response::new(serde_json::Value::Object(body).to_string().into_bytes());
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                if let Some(quota) = quota {
                    self.quota_headers(&quota, response.headers_mut());
                }
                response
            }
        }
    }

    fn shape(&mut self, shape: Shape, prefix: &str) -> String {
        match shape {
            Shape::Fresh => self.fresh(prefix),
            Shape::Empty => String::new(),
            Shape::Weird(text) => text,
        }
    }

    fn quota_headers(&self, quota: &Quota, headers: &mut HeaderMap) {
        let q = bearer_protocol::wire::quota::QuotaHeaders {
            quota_allotted: quota.allotted.map(u64::from),
            quota_current: quota.current.map(u64::from),
            quota_reset: quota.reset_in.and_then(|secs| {
                let by = Duration::from_secs(u64::from(secs.unsigned_abs()));
                if secs >= 0 {
                    self.now.checked_add(by)
                } else {
                    self.now.checked_sub(by)
                }
            }),
            qps_allotted: quota.qps.map(u64::from),
            qps_current: None,
        };
        q.write_to(headers);
    }

    fn api_answer(&mut self, answer: ApiAnswer) -> Response<Vec<u8>> {
        let status = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
        let mut response = Response::new(Vec::new());
        match answer {
            ApiAnswer::Ok(quota) => {
                if let Some(quota) = quota {
                    self.quota_headers(&quota, response.headers_mut());
                }
            }
            ApiAnswer::Unauthorized(pick) => {
                *response.status_mut() = StatusCode::UNAUTHORIZED;
                let challenge = CHALLENGES[usize::from(pick) % CHALLENGES.len()];
                if !challenge.is_empty() {
                    response.headers_mut().insert(
                        http::header::WWW_AUTHENTICATE,
                        http::HeaderValue::from_static(challenge),
                    );
                }
            }
            ApiAnswer::Gateway {
                status: code,
                code: pick,
                retry_after,
                quota,
            } => {
                *response.status_mut() = status(code);
                let headers = response.headers_mut();
                headers.insert(
                    "x-mashery-error-code",
                    http::HeaderValue::from_static(
                        GATEWAY_CODES[usize::from(pick) % GATEWAY_CODES.len()],
                    ),
                );
                let retry_after = retry_after.and_then(|r| match r {
                    RetryAfter::Secs(secs) => Some(secs.to_string()),
                    RetryAfter::DateIn(secs) => {
                        let by = Duration::from_secs(u64::from(secs.unsigned_abs()));
                        let at = if secs >= 0 {
                            self.now.checked_add(by)
                        } else {
                            self.now.checked_sub(by)
                        };
                        at.filter(|at| *at >= UNIX_EPOCH).map(httpdate_fmt)
                    }
                    RetryAfter::Text(text) => Some(text),
                });
                if let Some(value) = retry_after.and_then(|v| http::HeaderValue::try_from(v).ok()) {
                    headers.insert(http::header::RETRY_AFTER, value);
                }
                if let Some(quota) = quota {
                    self.quota_headers(&quota, headers);
                }
            }
            ApiAnswer::Status(code) => *response.status_mut() = status(code),
            ApiAnswer::Raw(bytes) => response = bearer_fuzz::response(&bytes),
        }
        response
    }
}

/// An HTTP-date, through the quota module's neighbour: the gateway's `Retry-After` format.
fn httpdate_fmt(at: SystemTime) -> String {
    bearer_protocol::wire::gateway::RetryAfter::At(at).to_string()
}
