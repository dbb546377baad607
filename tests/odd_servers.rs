//! Servers that answer oddly, over loopback, through every transport: whatever the sandbox is
//! told to answer, a client never aborts, never loops on the token endpoint, counts what the
//! gateway counts, and fails with a typed error that says what is wrong.
//!
//! Each test runs the same scenario over the blocking client (ureq) and the async ones (hyper,
//! reqwest).

#![cfg(all(feature = "ureq", feature = "hyper", feature = "reqwest"))]

mod support;

use bearer_client::protocol::{
    CertificateProblem, Config, Error as TokenError, GOVERNOR_BURST, MAX_QPS, Plan, ThrottleCause,
};
use bearer_sandbox::{Fault, FaultTarget, Sandbox, SandboxClock, SandboxConfig};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::{Builder, Client, Error, TRANSPORTS, Transport, fast_retry};

/// 2023-11-14 07:30:00 UTC.
fn half_past_seven() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_699_947_000)
}

/// What a client is built with, beyond the configuration.
#[derive(Clone, Copy)]
struct Limits {
    max_wait: Duration,
    timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A sandbox with one active application, and clients of it.
struct Odd {
    sandbox: Sandbox,
    client_id: String,
    client_secret: String,
}

impl Odd {
    fn start(config: SandboxConfig) -> Odd {
        let sandbox = Sandbox::start_blocking(config).expect("the sandbox starts");
        let keys = sandbox.create_app().expect("an application");
        Odd {
            sandbox,
            client_id: keys.client_id,
            client_secret: keys.client_secret,
        }
    }

    /// A sandbox on a clock that stands still unless moved, with an unlimited plan.
    fn fixed() -> Odd {
        Odd::start(
            SandboxConfig::default()
                .plan(bearer_sandbox::PlanLimits {
                    calls_per_day: 1_000_000,
                    queries_per_second: 0,
                })
                .clock(SandboxClock::fixed(half_past_seven())),
        )
    }

    fn config(&self) -> bearer_client::protocol::ConfigBuilder {
        Config::builder(
            self.sandbox.token_url(),
            self.client_id.as_str(),
            self.client_secret.as_str(),
        )
        .retry(fast_retry())
        .seed(7)
    }

    fn client(&self, transport: Transport) -> Client {
        self.client_with(transport, self.config(), Limits::default())
    }

    fn client_with(
        &self,
        transport: Transport,
        config: bearer_client::protocol::ConfigBuilder,
        limits: Limits,
    ) -> Client {
        let config = config.build().expect("a valid configuration");
        Builder::new(transport, config)
            .clock(self.sandbox.clock())
            .max_wait(limits.max_wait)
            .timeout(limits.timeout)
            .build()
            .expect("the client builds")
    }

    fn url(&self) -> String {
        self.sandbox.url("/v1/searchoauth")
    }

    fn token_requests(&self) -> u64 {
        self.sandbox.counters().token_requests
    }

    fn api_calls(&self) -> u64 {
        self.sandbox.counters().api_calls
    }
}

fn token_error(result: Result<u16, Error>) -> TokenError {
    match result {
        Err(Error::Token(error)) => error,
        other => panic!("expected an error of the token state, got {other:?}"),
    }
}

#[test]
fn a_huge_qps_allotment_is_clamped_not_allocated() {
    for transport in TRANSPORTS {
        let odd = Odd::fixed();
        let headers = [("X-Plan-QPS-Allotted", "4294967295")];
        let fault = Fault::headers(headers).expect("valid headers");
        odd.sandbox.inject(FaultTarget::Api, fault, 3);
        let client = odd.client(transport);
        for _ in 0..3 {
            assert_eq!(client.get(&odd.url()).ok(), Some(200), "{transport:?}");
        }
        let qps = client.budget().queries_per_second;
        assert_eq!(qps, Some(MAX_QPS), "{transport:?}");
    }
}

#[test]
fn tokens_that_expire_at_once_serve_their_call_and_the_governor_stops_the_loop() {
    for raw in ["0", r#""0""#, "0.5", r#"3600,"expires_in":0"#] {
        for transport in TRANSPORTS {
            let odd = Odd::fixed();
            let fault = Fault::expires_in(raw).expect("valid JSON");
            odd.sandbox.inject(FaultTarget::Token, fault, 100);
            let client = odd.client(transport);
            // Ten calls at once share the token fetched for the first.
            for _ in 0..10 {
                assert_eq!(
                    client.get(&odd.url()).ok(),
                    Some(200),
                    "{raw} {transport:?}"
                );
            }
            assert_eq!(odd.token_requests(), 1, "{raw} {transport:?}");
            // Ten more, two seconds apart: each finds the token expired.
            let mut throttled = 0;
            for _ in 0..10 {
                odd.sandbox.advance(Duration::from_secs(2));
                match client.get(&odd.url()) {
                    Ok(200) => {}
                    Err(Error::Token(TokenError::TokenRequestsThrottled { cause, .. })) => {
                        assert!(
                            matches!(cause, ThrottleCause::ShortLifetime(_)),
                            "{cause:?}"
                        );
                        throttled += 1;
                    }
                    other => panic!("{raw} {transport:?}: {other:?}"),
                }
            }
            assert!(
                odd.token_requests() <= u64::from(GOVERNOR_BURST),
                "{raw} {transport:?}: {} token requests",
                odd.token_requests()
            );
            assert!(throttled > 0, "{raw} {transport:?}");
        }
    }
}

#[test]
fn a_sandbox_issuing_tokens_that_really_expire_at_once_costs_a_bounded_few() {
    for transport in TRANSPORTS {
        let odd = Odd::fixed();
        odd.sandbox.set_token_ttl(Duration::ZERO);
        let client = odd.client(transport);
        let mut failures = Vec::new();
        for _ in 0..10 {
            if let Err(error) = client.get(&odd.url()) {
                failures.push(error.to_string());
            }
        }
        assert!(
            odd.token_requests() <= 6,
            "{transport:?}: {} token requests for 10 calls",
            odd.token_requests()
        );
        assert!(!failures.is_empty(), "{transport:?}");
    }
}

#[test]
fn an_api_refusing_every_token_costs_a_burst_of_token_requests_not_two_per_call() {
    for transport in TRANSPORTS {
        let odd = Odd::fixed();
        odd.sandbox
            .inject(FaultTarget::Api, Fault::InvalidToken, 10_000);
        let client = odd.client(transport);
        let mut throttled = 0;
        for _ in 0..200 {
            match client.get(&odd.url()) {
                Err(Error::TokenRefusedAfterRenewal { .. }) => {}
                Err(Error::Token(TokenError::TokenRequestsThrottled { cause, .. })) => {
                    assert_eq!(cause, ThrottleCause::TokensRefusedByApi);
                    throttled += 1;
                }
                other => panic!("{transport:?}: {other:?}"),
            }
        }
        assert!(
            odd.token_requests() <= u64::from(GOVERNOR_BURST),
            "{transport:?}: {}",
            odd.token_requests()
        );
        assert!(throttled >= 190, "{transport:?}: {throttled}");
    }
}

#[test]
fn refused_refresh_tokens_twice_in_a_row_switch_renewals_to_client_credentials() {
    for transport in TRANSPORTS {
        let odd = Odd::fixed();
        let client = odd.client(transport);
        assert_eq!(client.get(&odd.url()).ok(), Some(200));
        for hour in 0..5 {
            odd.sandbox
                .forget_refresh_token(&odd.client_id)
                .expect("the application");
            odd.sandbox.advance(Duration::from_secs(3600));
            assert_eq!(client.get(&odd.url()).ok(), Some(200), "hour {hour}");
        }
        let grants = odd.sandbox.counters().token_requests_by_grant;
        // Two refreshes refused (each followed by client credentials), then client credentials
        // straight away: 1 + 2 + 2 + 1 + 1 + 1.
        assert_eq!(grants.refresh_token, 2, "{transport:?}: {grants:?}");
        assert_eq!(grants.client_credentials, 6, "{transport:?}: {grants:?}");
    }
}

#[test]
fn a_plan_of_17_calls_serves_16_at_half_past_seven() {
    for transport in TRANSPORTS {
        let odd = Odd::start(
            SandboxConfig::default()
                .plan(bearer_sandbox::PlanLimits {
                    calls_per_day: 17,
                    queries_per_second: 0,
                })
                .clock(SandboxClock::fixed(half_past_seven())),
        );
        let config = odd.config().plan(Plan {
            calls_per_day: Some(17),
            ..Plan::default()
        });
        let client = odd.client_with(transport, config, Limits::default());
        for call in 0..16 {
            assert_eq!(client.get(&odd.url()).ok(), Some(200), "call {call}");
        }
        let error = token_error(client.get(&odd.url()));
        assert!(
            matches!(
                error,
                TokenError::QuotaExhausted {
                    calls_used: 17,
                    calls_allowed: Some(17),
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("17 of 17 calls used"), "{error}");
        assert_eq!((odd.token_requests(), odd.api_calls()), (1, 16));
    }
}

#[test]
fn over_qps_denials_and_calls_that_never_left_are_not_counted() {
    for transport in TRANSPORTS {
        let odd = Odd::fixed();
        let client = odd.client(transport);
        assert_eq!(client.get(&odd.url()).ok(), Some(200));
        let over_qps = Fault::OverQps {
            retry_after: Some(0),
        };
        odd.sandbox.inject(FaultTarget::Api, over_qps, 2);
        assert_eq!(client.get(&odd.url()).ok(), Some(200), "{transport:?}");
        // The gateway counted the token request and two calls; so does the budget.
        assert_eq!(client.budget().calls_used, 3, "{transport:?}");
        // A call to a port nobody listens on never reached any gateway.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/searchoauth", closed.local_addr().unwrap());
        drop(closed);
        assert!(matches!(client.get(&url), Err(Error::Transport { .. })));
        assert_eq!(client.budget().calls_used, 3, "{transport:?}");
    }
}

#[test]
fn a_429_with_retry_after_is_transient_and_a_long_one_fails_at_once() {
    for transport in TRANSPORTS {
        let odd = Odd::fixed();
        let short = Fault::TooManyRequests {
            retry_after: Some(0),
        };
        odd.sandbox.inject(FaultTarget::Token, short, 1);
        let client = odd.client(transport);
        assert_eq!(client.get(&odd.url()).ok(), Some(200), "{transport:?}");
        assert_eq!(odd.token_requests(), 2, "the 429, then the retry");

        let odd = Odd::fixed();
        let long = Fault::TooManyRequests {
            retry_after: Some(100),
        };
        odd.sandbox.inject(FaultTarget::Token, long, 1);
        let client = odd.client(transport);
        let error = token_error(client.get(&odd.url()));
        let TokenError::Unavailable { retry_at, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(*retry_at, half_past_seven() + Duration::from_secs(100));
        assert!(error.to_string().contains("asks again after"), "{error}");
        // Nothing is sent before the time the server asked for.
        assert!(client.get(&odd.url()).is_err());
        assert_eq!(odd.token_requests(), 1, "{transport:?}");
    }
}

#[test]
fn an_over_qps_retry_after_beyond_max_wait_fails_at_once_and_holds_later_calls() {
    for transport in TRANSPORTS {
        let odd = Odd::fixed();
        let client = odd.client(transport);
        assert_eq!(client.get(&odd.url()).ok(), Some(200));
        let fault = Fault::OverQps {
            retry_after: Some(100_000),
        };
        odd.sandbox.inject(FaultTarget::Api, fault, 1);
        for attempt in 0..2 {
            match client.get(&odd.url()) {
                Err(Error::WaitTimedOut {
                    needed,
                    limit,
                    cause,
                    ..
                }) => {
                    assert_eq!(cause, bearer_client::blocking::WaitCause::RetryAfter);
                    assert_eq!(needed, Duration::from_secs(100_000), "attempt {attempt}");
                    assert_eq!(limit, Duration::from_secs(60));
                }
                other => panic!("{transport:?} attempt {attempt}: {other:?}"),
            }
        }
        // The second call was not sent.
        assert_eq!(odd.api_calls(), 2, "{transport:?}");
        let message = client.get(&odd.url()).unwrap_err().to_string();
        assert!(message.contains("100000 s"), "{message}");
        assert!(message.contains("max_wait of 60 s"), "{message}");
    }
}

#[test]
fn invalid_grant_to_client_credentials_says_the_credentials_are_refused() {
    for transport in TRANSPORTS {
        let odd = Odd::fixed();
        odd.sandbox
            .inject(FaultTarget::Token, Fault::InvalidGrant, 1);
        let client = odd.client(transport);
        let error = token_error(client.get(&odd.url()));
        assert!(
            matches!(error, TokenError::CredentialsRejected(_)),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("client credentials"), "{message}");
        assert!(!message.contains("falls back"), "{message}");
        assert_eq!(odd.token_requests(), 1);
    }
}

#[test]
fn a_token_endpoint_that_never_answers_costs_no_more_than_max_wait() {
    for transport in TRANSPORTS {
        // On the real clock: backoff ends as time passes.
        let odd = Odd::start(SandboxConfig::default());
        let hold = odd.sandbox.hold(FaultTarget::Token, 10);
        let limits = Limits {
            max_wait: Duration::from_millis(300),
            timeout: Duration::from_millis(200),
        };
        let client = odd.client_with(transport, odd.config(), limits);
        // The first request times out after 200 ms; a retry could not be answered within
        // what is left of the 300 ms, so it is not sent.
        match client.get(&odd.url()) {
            Err(Error::WaitTimedOut { cause, limit, .. }) => {
                assert_eq!(
                    cause,
                    bearer_client::blocking::WaitCause::TokenRequest,
                    "{transport:?}"
                );
                assert_eq!(limit, limits.max_wait);
            }
            other => panic!("{transport:?}: {other:?}"),
        }
        assert_eq!(hold.arrivals(), 1, "{transport:?}");
        assert_eq!(
            client.budget().token_requests,
            1,
            "the unsent retry is not counted"
        );
        hold.release();
    }
}

#[test]
fn an_untrusted_certificate_is_permanent_and_says_why() {
    for transport in TRANSPORTS {
        let odd = Odd::start(SandboxConfig::default().tls(true));
        let client = odd.client(transport);
        let error = token_error(client.get(&odd.url()));
        let TokenError::Untrusted(failure) = &error else {
            panic!("{transport:?}: {error:?}");
        };
        assert_eq!(
            failure.kind,
            bearer_client::protocol::TransportFailureKind::Certificate(
                CertificateProblem::UnknownIssuer
            )
        );
        // Not retried: the next call repeats the error without connecting.
        assert!(client.get(&odd.url()).is_err());
        assert_eq!(odd.sandbox.connections().accepted, 1, "{transport:?}");
    }
}
