//! A small pure fake of the provider's token endpoint and protected API, for the state machine's
//! tests: rotation (only the latest refresh token works), expiry, and a few injectable faults.
//! Also a machine that holds a token, for the hot path's measurements (`tests/allocations.rs`,
//! and `benches/hot_path.rs`, which includes this file).

#![allow(dead_code)]

use bearer_protocol::{
    Bearer, Config, ConfigBuilder, Plan, RetryPolicy, Step, TokenManager, TokenRequest,
};
use http::{Response, StatusCode};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const CLIENT_ID: &str = "ysszm2yk7gp5r9ernuaurgcc";
pub const CLIENT_SECRET: &str = "w9t7t48g7H";
pub const TOKEN_URL: &str = "https://api.example.com/oauth2/token";

/// Monday 2023-11-13 00:00:00 UTC.
pub fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_699_833_600)
}

/// The test application's configuration, still to be completed.
pub fn builder() -> ConfigBuilder {
    Config::builder(TOKEN_URL, CLIENT_ID, CLIENT_SECRET)
}

pub fn config() -> Config {
    builder().build().unwrap()
}

pub fn config_with_plan(calls_per_day: u64) -> Config {
    builder()
        .plan(Plan {
            calls_per_day: Some(calls_per_day),
            ..Plan::default()
        })
        .build()
        .unwrap()
}

/// The test configuration without retries: the first failure is reported.
pub fn config_without_retries() -> Config {
    builder()
        .retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

/// The test configuration with another client secret.
pub fn config_with_secret(secret: &str) -> Config {
    Config::builder(TOKEN_URL, CLIENT_ID, secret)
        .build()
        .unwrap()
}

/// A machine on [`config`], a fake issuing one-hour tokens, and [`start`], after one call: the
/// machine holds a token.
pub fn with_a_token() -> (TokenManager, FakeProvider, SystemTime) {
    let mut machine = TokenManager::new(config());
    let mut provider = FakeProvider::new(3600);
    let now = start();
    call(&mut machine, &mut provider, now).unwrap();
    (machine, provider, now)
}

/// A machine under `plan` holding the provider's token (24-character access and refresh
/// tokens), valid for an hour from [`start`].
pub fn machine_with_token(plan: Plan) -> TokenManager {
    let mut machine = TokenManager::new(builder().plan(plan).build().expect("valid configuration"));
    let request = expect_fetch(machine.poll_call(start()));
    let answer = Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .body(br#"{"access_token":"66mrpvtv4mvs6bz728nbaqmc","token_type":"bearer","expires_in":3600,"refresh_token":"edcv2npr3furqsnscpn795t9"}"#.to_vec())
        .expect("valid response");
    machine.handle_token_response(start(), request.into_parts().0, &answer);
    while machine.poll_event().is_some() {}
    machine
}

/// A fault the fake answers the next token request with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ServerError,
    HtmlBadGateway,
    OverQps,
    OverRate,
    Truncated,
}

#[derive(Debug, Default)]
pub struct FakeProvider {
    pub ttl: u64,
    pub issued: u64,
    pub refresh_token: Option<String>,
    pub access: HashMap<String, SystemTime>,
    pub client_credentials_grants: u32,
    pub refresh_grants: u32,
    pub refused_refresh_tokens: u32,
    pub api_calls: u32,
    pub api_refused: u32,
    pub faults: Vec<Fault>,
}

impl FakeProvider {
    pub fn new(ttl: u64) -> Self {
        Self {
            ttl,
            ..Self::default()
        }
    }

    pub fn token_requests(&self) -> u32 {
        self.client_credentials_grants + self.refresh_grants
    }

    fn next_token(&mut self, prefix: &str) -> String {
        self.issued += 1;
        format!("{prefix}{:022}", self.issued)
    }

    /// Answers a token request built by the machine.
    pub fn token(
        &mut self,
        now: SystemTime,
        request: &http::Request<Vec<u8>>,
    ) -> Response<Vec<u8>> {
        let form: HashMap<String, String> = serde_urlencoded::from_bytes(request.body()).unwrap();
        match form.get("grant_type").map(String::as_str) {
            Some("client_credentials") => self.client_credentials_grants += 1,
            Some("refresh_token") => self.refresh_grants += 1,
            other => panic!("unexpected grant {other:?}"),
        }
        if !self.faults.is_empty() {
            return fault_answer(self.faults.remove(0));
        }
        if form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) {
            return json(StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#);
        }
        if form["grant_type"] == "refresh_token"
            && form.get("refresh_token") != self.refresh_token.as_ref()
        {
            self.refused_refresh_tokens += 1;
            return json(
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#,
            );
        }
        let access = self.next_token("at");
        let refresh = self.next_token("rt");
        self.access
            .insert(access.clone(), now + Duration::from_secs(self.ttl));
        self.refresh_token = Some(refresh.clone());
        json(
            StatusCode::OK,
            &format!(
                r#"{{"access_token":"{access}","token_type":"bearer","expires_in":{},"refresh_token":"{refresh}"}}"#,
                self.ttl
            ),
        )
    }

    /// Answers the machine's token `request` and hands the answer back to it.
    pub fn answer(&mut self, machine: &mut TokenManager, now: SystemTime, request: TokenRequest) {
        let (pending, request) = request.into_parts();
        let answer = self.token(now, &request);
        machine.handle_token_response(now, pending, &answer);
    }

    /// Answers an API call carrying `Authorization: <header>`.
    pub fn api(&mut self, now: SystemTime, header: &http::HeaderValue) -> Response<Vec<u8>> {
        self.api_calls += 1;
        let token = header.to_str().unwrap().strip_prefix("Bearer ").unwrap();
        match self.access.get(token) {
            Some(expiry) if now < *expiry => json(StatusCode::OK, r#"{"results":[]}"#),
            _ => {
                self.api_refused += 1;
                Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .header(
                        "www-authenticate",
                        r#"Bearer realm="api.example.com", error="invalid_token""#,
                    )
                    .body(Vec::new())
                    .unwrap()
            }
        }
    }
}

pub fn json(status: StatusCode, body: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

pub fn fault_answer(fault: Fault) -> Response<Vec<u8>> {
    let gateway = |code: &str, detail: &str, body: &str| {
        Response::builder()
            .status(StatusCode::FORBIDDEN)
            .header("content-type", "text/xml")
            .header("x-mashery-error-code", code)
            .header("x-error-detail-header", detail)
            .header("retry-after", "1")
            .body(body.as_bytes().to_vec())
            .unwrap()
    };
    match fault {
        Fault::ServerError => json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"message":"boom"}"#),
        Fault::HtmlBadGateway => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .header("content-type", "text/html")
            .body(b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec())
            .unwrap(),
        Fault::OverQps => gateway(
            "ERR_403_DEVELOPER_OVER_QPS",
            "Account Over Queries Per Second Limit",
            "<h1>Developer Over Qps</h1>",
        ),
        Fault::OverRate => gateway(
            "ERR_403_DEVELOPER_OVER_RATE",
            "Account Over Rate Limit",
            "<h1>Developer Over Rate</h1>",
        ),
        Fault::Truncated => json(StatusCode::OK, r#"{"access_token":"abc","tok"#),
    }
}

/// Expects a token request, or panics with what came instead.
pub fn expect_fetch(step: Step) -> TokenRequest {
    match step {
        Step::Fetch(request) => request,
        other => panic!("expected a token request, got {other:?}"),
    }
}

/// Expects the bearer of an authorized call, or panics with what came instead.
pub fn expect_bearer(step: Step) -> Bearer {
    match step {
        Step::Authorized(bearer) => bearer,
        other => panic!("expected a bearer, got {other:?}"),
    }
}

/// Drives one API call to completion against the fake, with the clock standing at `now`.
/// Returns the status the application would see, or the machine's error.
pub fn call(
    machine: &mut TokenManager,
    provider: &mut FakeProvider,
    now: SystemTime,
) -> Result<StatusCode, bearer_protocol::Error> {
    let mut replayed = false;
    for _ in 0..16 {
        match machine.poll_call(now) {
            Step::Authorized(bearer) => {
                let answer = provider.api(now, bearer.header_value());
                match machine.handle_api_response(now, &bearer, answer.status(), answer.headers()) {
                    bearer_protocol::ApiVerdict::Replay if !replayed => replayed = true,
                    bearer_protocol::ApiVerdict::Fail(error) => return Err(error),
                    _ => return Ok(answer.status()),
                }
            }
            Step::Fetch(request) => {
                provider.answer(machine, now, request);
                while machine.poll_event().is_some() {}
            }
            Step::Wait(wait) => panic!("unexpected wait {wait:?}"),
            Step::Fail(error) => return Err(error),
        }
    }
    panic!("a call took more than 16 steps")
}
