//! The token state machine, path by path, against the pure fake provider.

mod common;

use bearer_protocol::wire::quota::next_quota_reset;
use bearer_protocol::{
    ApiVerdict, BudgetMode, Config, Credential, Error, Event, Grant, Plan, Step, StoredTokens,
    TokenManager, TransportFailure, TransportFailureKind, WaitCause,
};
use common::*;
use http::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::time::Duration;

fn form(request: &http::Request<Vec<u8>>) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(request.body()).unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn first_call_fetches_a_token_and_later_calls_reuse_it() {
    let mut machine = TokenManager::new(config());
    let mut provider = FakeProvider::new(3600);
    let now = start();
    let request = expect_fetch(machine.poll_call(now));
    assert_eq!(request.grant(), Grant::ClientCredentials);
    let id = request.id();
    provider.answer(&mut machine, now, request);
    let Some(Event::TokensChanged {
        tokens,
        request: by,
        first,
    }) = machine.poll_event()
    else {
        panic!("no TokensChanged event");
    };
    assert!(first, "the machine's first tokens are not a renewal");
    assert_eq!(by, id);
    assert_eq!(by.grant(), Grant::ClientCredentials);
    assert_eq!(tokens.access_token.expose(), "at0000000000000000000001");
    assert_eq!(tokens.expires_at, now + secs(3600));
    for n in 0..100 {
        assert_eq!(
            call(&mut machine, &mut provider, now + secs(n)),
            Ok(StatusCode::OK)
        );
    }
    assert_eq!(provider.token_requests(), 1);
    assert_eq!(provider.api_calls, 100);
    assert_eq!(machine.budget(now).calls_used, 101);
}

#[test]
fn renewal_uses_the_refresh_token_and_adopts_the_rotated_one() {
    let (mut machine, mut provider, now) = with_a_token();
    let first_refresh = provider.refresh_token.clone().unwrap();

    // Inside the 60 s leeway: renew with the refresh token.
    let later = now + secs(3545);
    let request = expect_fetch(machine.poll_call(later));
    assert_eq!(request.grant(), Grant::RefreshToken);
    assert_eq!(form(request.request())["refresh_token"], first_refresh);
    provider.answer(&mut machine, later, request);
    let rotated = machine.tokens().unwrap().refresh_token.unwrap();
    assert_ne!(rotated.expose(), first_refresh);

    let next = expect_fetch(machine.poll_call(later + secs(3600)));
    assert_eq!(form(next.request())["refresh_token"], rotated.expose());
    assert_eq!(provider.refused_refresh_tokens, 0);
}

#[test]
fn callers_keep_the_valid_token_while_a_renewal_is_in_flight() {
    let (mut machine, _, now) = with_a_token();
    let due = now + secs(3580);
    let _renewal = expect_fetch(machine.poll_call(due));
    assert!(matches!(machine.poll_call(due), Step::Authorized(_)));
    // Past expiry nobody gets the old token: they wait for the renewal.
    let Step::Wait(wait) = machine.poll_call(now + secs(3600)) else {
        panic!("expected a wait");
    };
    assert_eq!(wait.cause, WaitCause::TokenInFlight);
}

#[test]
fn a_refused_refresh_token_falls_back_to_client_credentials_once() {
    let (mut machine, mut provider, now) = with_a_token();
    provider.refresh_token = None; // the provider forgot it
    let later = now + secs(4000);
    let refresh = expect_fetch(machine.poll_call(later));
    provider.answer(&mut machine, later, refresh);
    let events: Vec<Event> = std::iter::from_fn(|| machine.poll_event()).collect();
    assert!(matches!(
        &events[..],
        [
            Event::TokenRequestFailed { request, .. },
            Event::RefreshTokenRefused
        ] if request.grant() == Grant::RefreshToken
    ));
    let fallback = expect_fetch(machine.poll_call(later));
    assert_eq!(fallback.grant(), Grant::ClientCredentials);
    provider.answer(&mut machine, later, fallback);
    assert!(matches!(machine.poll_call(later), Step::Authorized(_)));
    assert_eq!(provider.client_credentials_grants, 2);
    assert_eq!(provider.refresh_grants, 1);
}

#[test]
fn a_401_for_the_current_token_renews_and_one_for_an_old_token_does_not() {
    let (mut machine, mut provider, now) = with_a_token();
    let old = expect_bearer(machine.poll_call(now));
    provider.access.clear(); // revoked
    assert_eq!(call(&mut machine, &mut provider, now), Ok(StatusCode::OK));
    assert_eq!(provider.refresh_grants, 1);
    assert_eq!(provider.api_refused, 1);

    let mut headers = HeaderMap::new();
    headers.insert(
        "www-authenticate",
        r#"Bearer realm="x", error="invalid_token""#.parse().unwrap(),
    );
    let verdict = machine.handle_api_response(now, &old, StatusCode::UNAUTHORIZED, &headers);
    assert_eq!(verdict, ApiVerdict::Replay);
    assert!(matches!(machine.poll_call(now), Step::Authorized(_)));
}

#[test]
fn one_token_request_in_flight_and_recovery_when_it_is_abandoned() {
    let mut machine = TokenManager::new(config());
    let now = start();
    let first = expect_fetch(machine.poll_call(now));
    for _ in 0..10 {
        let Step::Wait(wait) = machine.poll_call(now + secs(5)) else {
            panic!("a second token request went out");
        };
        assert_eq!(wait.cause, WaitCause::TokenInFlight);
        assert_eq!(wait.until, now + secs(30));
    }
    // Its caller went away: the next caller takes over at once.
    machine.handle_token_abandoned(now + secs(5), first.into_parts().0);
    let second = expect_fetch(machine.poll_call(now + secs(5)));
    // Nobody reported anything: after the time-out it counts as abandoned and is retried
    // after a backoff.
    let after = now + secs(40);
    assert!(matches!(
        machine.poll_call(after),
        Step::Wait(w) if w.cause == WaitCause::Backoff
    ));
    let third = expect_fetch(machine.poll_call(after + secs(1)));
    assert!(third.id() != second.id());
}

#[test]
fn a_late_answer_to_an_abandoned_request_is_adopted_when_nothing_newer_arrived() {
    let mut machine = TokenManager::new(config());
    let mut provider = FakeProvider::new(3600);
    let now = start();
    let first = expect_fetch(machine.poll_call(now));
    // Unanswered past the time-out: the machine counts it abandoned and backs off...
    let later = now + secs(31);
    assert!(matches!(machine.poll_call(later), Step::Wait(_)));
    // ...then its answer arrives after all, bringing the only tokens there are.
    provider.answer(&mut machine, later, first);
    let mut adopted = false;
    while let Some(event) = machine.poll_event() {
        adopted |= matches!(event, Event::TokensChanged { .. });
    }
    assert!(adopted, "the late answer's tokens are adopted");
    assert!(matches!(machine.poll_call(later), Step::Authorized(_)));
}

#[test]
fn wrong_secret_fails_once_and_stays_quiet() {
    let mut machine = TokenManager::new(config_with_secret("wrongsecret"));
    let mut provider = FakeProvider::new(3600);
    let now = start();
    let error = call(&mut machine, &mut provider, now).unwrap_err();
    assert!(matches!(error, Error::CredentialsRejected(_)));
    for n in 0..59 {
        assert!(matches!(
            machine.poll_call(now + secs(n)),
            Step::Fail(Error::CredentialsRejected(_))
        ));
    }
    assert_eq!(provider.token_requests(), 1);
    assert!(matches!(machine.poll_call(now + secs(60)), Step::Fetch(_)));
}

#[test]
fn transient_failures_back_off_then_succeed_and_retries_are_bounded() {
    let mut machine = TokenManager::new(config());
    let mut provider = FakeProvider::new(3600);
    provider.faults = vec![Fault::ServerError, Fault::HtmlBadGateway, Fault::Truncated];
    let mut now = start();
    let mut waits = Vec::new();
    loop {
        match machine.poll_call(now) {
            Step::Fetch(request) => {
                provider.answer(&mut machine, now, request);
            }
            Step::Wait(wait) => {
                assert_eq!(wait.cause, WaitCause::Backoff);
                waits.push(wait.until.duration_since(now).unwrap());
                now = wait.until;
            }
            Step::Authorized(_) => break,
            Step::Fail(error) => panic!("{error}"),
        }
    }
    assert_eq!(provider.token_requests(), 4);
    assert_eq!(waits.len(), 3);
    assert!(waits[0] <= secs(1) && waits[2] <= secs(2) && waits[2] >= secs(1));

    // Always failing: the first attempt and three retries, then the error, then quiet.
    let mut machine = TokenManager::new(config());
    let mut provider = FakeProvider::new(3600);
    provider.faults = vec![Fault::ServerError; 10];
    let mut now = start();
    let error = loop {
        match machine.poll_call(now) {
            Step::Fetch(request) => {
                machine.handle_token_failure(
                    now,
                    request.into_parts().0,
                    TransportFailure::new(TransportFailureKind::Interrupted, "connection reset"),
                );
            }
            Step::Wait(wait) => now = wait.until,
            Step::Fail(error) => break error,
            Step::Authorized(_) => panic!("no token was issued"),
        }
    };
    assert!(
        matches!(error, Error::Unavailable { attempts: 4, .. }),
        "{error}"
    );
    assert!(matches!(machine.poll_call(now + secs(1)), Step::Fail(_)));
}

#[test]
fn over_qps_at_the_token_endpoint_waits_retry_after() {
    let mut machine = TokenManager::new(config());
    let mut provider = FakeProvider::new(3600);
    provider.faults = vec![Fault::OverQps];
    let now = start();
    let request = expect_fetch(machine.poll_call(now));
    provider.answer(&mut machine, now, request);
    let Step::Wait(wait) = machine.poll_call(now) else {
        panic!()
    };
    assert_eq!(wait.until, now + secs(1));
    assert!(matches!(machine.poll_call(wait.until), Step::Fetch(_)));
}

#[test]
fn the_budget_refuses_calls_once_spent_and_never_for_the_reserve_alone() {
    // 30 calls a day with one-hour tokens, starting at 23:00: one more renewal would be needed
    // before midnight, but a renewal is of use only with calls after it, so the reserve shrinks
    // with the calls left and every call the plan holds is made.
    let mut machine = TokenManager::new(config_with_plan(30));
    let mut provider = FakeProvider::new(3600);
    let now = start() + secs(23 * 3600);
    let mut ok = 0;
    let error = loop {
        match call(&mut machine, &mut provider, now) {
            Ok(_) => ok += 1,
            Err(error) => break error,
        }
    };
    let Error::QuotaExhausted {
        resets_at,
        calls_used,
        calls_allowed,
    } = error
    else {
        panic!("{error}")
    };
    assert_eq!(resets_at, next_quota_reset(now));
    assert_eq!(calls_allowed, Some(30));
    assert_eq!(ok, 29);
    assert_eq!(calls_used, 30);
    assert_eq!(provider.api_calls + provider.token_requests(), 30);
    // The next day the count starts over.
    assert_eq!(
        call(&mut machine, &mut provider, resets_at),
        Ok(StatusCode::OK)
    );
}

#[test]
fn observing_mode_counts_but_does_not_refuse() {
    let config = builder()
        .plan(Plan {
            calls_per_day: Some(3),
            ..Plan::default()
        })
        .budget_mode(BudgetMode::Observe)
        .build()
        .unwrap();
    let mut machine = TokenManager::new(config);
    let mut provider = FakeProvider::new(3600);
    for _ in 0..10 {
        call(&mut machine, &mut provider, start()).unwrap();
    }
    assert_eq!(machine.budget(start()).calls_used, 11);
}

#[test]
fn the_gateways_quota_headers_are_adopted() {
    let (mut machine, _, now) = with_a_token();
    let bearer = expect_bearer(machine.poll_call(now));
    let mut headers = HeaderMap::new();
    headers.insert("x-plan-quota-allotted", "5000".parse().unwrap());
    headers.insert("x-plan-quota-current", "4321".parse().unwrap());
    headers.insert(
        "x-plan-quota-reset",
        "Tuesday, November 14, 2023 12:00:00 AM GMT"
            .parse()
            .unwrap(),
    );
    headers.insert("x-plan-qps-allotted", "2".parse().unwrap());
    let verdict = machine.handle_api_response(now, &bearer, StatusCode::OK, &headers);
    assert_eq!(verdict, ApiVerdict::Deliver);
    let budget = machine.budget(now);
    assert_eq!(budget.calls_used, 4321);
    assert_eq!(budget.calls_allowed, Some(5000));
    assert_eq!(budget.queries_per_second, Some(2));
    assert_eq!(budget.resets_at, start() + secs(86_400));
}

#[test]
fn pacing_keeps_calls_under_the_qps_limit() {
    let config = builder()
        .plan(Plan {
            queries_per_second: Some(2),
            ..Plan::default()
        })
        .build()
        .unwrap();
    let mut machine = TokenManager::new(config);
    let mut provider = FakeProvider::new(3600);
    let now = start();
    // The token request took the first slot of this second, one call the second.
    call(&mut machine, &mut provider, now).unwrap();
    let Step::Wait(wait) = machine.poll_call(now + Duration::from_millis(500)) else {
        panic!("a third send in one second was allowed")
    };
    assert_eq!(wait.cause, WaitCause::Pacing);
    assert_eq!(wait.until, now + secs(1));
    assert!(matches!(machine.poll_call(wait.until), Step::Authorized(_)));
}

#[test]
fn gateway_denials_on_api_calls() {
    let (mut machine, _, now) = with_a_token();
    let bearer = expect_bearer(machine.poll_call(now));
    let qps = fault_answer(Fault::OverQps);
    assert_eq!(
        machine.handle_api_response(now, &bearer, qps.status(), qps.headers()),
        ApiVerdict::RetryAt(now + secs(1))
    );
    assert!(matches!(
        machine.poll_call(now),
        Step::Wait(w) if w.cause == WaitCause::RetryAfter && w.until == now + secs(1)
    ));
    let rate = fault_answer(Fault::OverRate);
    let verdict = machine.handle_api_response(now, &bearer, rate.status(), rate.headers());
    assert!(matches!(
        verdict,
        ApiVerdict::Fail(Error::QuotaExhausted { .. })
    ));
    assert!(matches!(
        machine.poll_call(now + secs(2)),
        Step::Fail(Error::QuotaExhausted { .. })
    ));
    let tomorrow = next_quota_reset(now);
    assert!(matches!(
        machine.poll_call(tomorrow),
        Step::Fetch(_) | Step::Authorized(_)
    ));
}

#[test]
fn token_requests_beyond_the_plans_allowance_are_reported() {
    let mut machine = TokenManager::new(config());
    let mut provider = FakeProvider::new(3600);
    let mut now = start();
    let mut exceeded = Vec::new();
    for _ in 0..8 {
        let request = expect_fetch(machine.poll_call(now));
        provider.answer(&mut machine, now, request);
        while let Some(event) = machine.poll_event() {
            if let Event::TokenAllowanceExceeded {
                token_requests,
                accounted,
            } = event
            {
                exceeded.push((token_requests, accounted));
            }
        }
        now += secs(3600);
    }
    assert_eq!(exceeded, vec![(7, 6), (8, 6)]);
}

#[test]
fn starts_from_saved_tokens() {
    let saved = StoredTokens {
        access_token: "at0000000000000000000009".into(),
        refresh_token: Some("rt0000000000000000000010".into()),
        expires_at: start() + secs(1800),
        scope: None,
        issued_to: Credential::of(&config()),
    };
    let json = serde_json::to_string(&saved).unwrap();
    assert!(
        json.contains(r#""client_id":"ysszm2yk7gp5r9ernuaurgcc""#),
        "{json}"
    );
    let saved: StoredTokens = serde_json::from_str(&json).unwrap();
    // Tokens saved for another application are refused, saying which.
    let other = Config::builder(TOKEN_URL, "aaaaaaaaaaaaaaaaaaaaaaaa", CLIENT_SECRET)
        .build()
        .unwrap();
    let foreign = TokenManager::with_tokens(other, saved.clone()).unwrap_err();
    assert!(
        foreign
            .to_string()
            .contains("issued to client id ysszm2yk7gp5r9ernuaurgcc"),
        "{foreign}"
    );
    let mut machine = TokenManager::with_tokens(config(), saved).unwrap();
    let bearer = expect_bearer(machine.poll_call(start()));
    assert_eq!(bearer.header_value(), "Bearer at0000000000000000000009");
    assert!(bearer.header_value().is_sensitive());
    let renewal = expect_fetch(machine.poll_call(start() + secs(1800)));
    assert_eq!(renewal.grant(), Grant::RefreshToken);
    assert_eq!(
        form(renewal.request())["refresh_token"],
        "rt0000000000000000000010"
    );
}

#[test]
fn a_clock_that_goes_back_does_not_wedge_the_machine() {
    let mut machine = TokenManager::new(config());
    let now = start() + secs(7200);
    let _lost = expect_fetch(machine.poll_call(now));
    // The clock jumps back by an hour: the request in flight must not block for an hour.
    let back = now - secs(3600);
    let step = machine.poll_call(back);
    assert!(
        matches!(step, Step::Wait(ref w) if w.until <= back + secs(30)),
        "{step:?}"
    );
}

#[test]
fn retry_policy_zero_reports_the_first_failure() {
    let mut machine = TokenManager::new(config_without_retries());
    let mut provider = FakeProvider::new(3600);
    provider.faults = vec![Fault::ServerError];
    let error = call(&mut machine, &mut provider, start()).unwrap_err();
    assert!(matches!(error, Error::Unavailable { attempts: 1, .. }));
}

#[test]
fn error_messages() {
    let mut machine = TokenManager::new(config_with_plan(2));
    let mut provider = FakeProvider::new(3600);
    let quota = loop {
        if let Err(error) = call(&mut machine, &mut provider, start()) {
            break error;
        }
    };
    let wrong = config_with_secret("wrongsecret");
    let rejected = call(&mut TokenManager::new(wrong), &mut provider, start()).unwrap_err();
    let mut machine = TokenManager::new(config_without_retries());
    provider.faults = vec![Fault::HtmlBadGateway];
    let unavailable = call(&mut machine, &mut provider, start()).unwrap_err();
    let timed_out = Error::Unavailable {
        attempts: 4,
        last: Box::new(bearer_protocol::Failure::Transport(TransportFailure::new(
            TransportFailureKind::TimedOut,
            "no answer in 30 s",
        ))),
        retry_at: start() + Duration::from_secs(30),
    };
    let untrusted = Error::Untrusted(TransportFailure::new(
        TransportFailureKind::Certificate(bearer_protocol::CertificateProblem::UnknownIssuer),
        "invalid peer certificate: UnknownIssuer",
    ));
    let throttled = [
        bearer_protocol::ThrottleCause::ShortLifetime(Duration::ZERO),
        bearer_protocol::ThrottleCause::TokensRefusedByApi,
        bearer_protocol::ThrottleCause::RepeatedFailures,
    ]
    .map(|cause| Error::TokenRequestsThrottled {
        retry_at: start() + Duration::from_secs(60),
        cause,
    });
    let inactive = fault_answer(Fault::OverRate);
    let mut headers = inactive.headers().clone();
    headers.insert(
        "x-mashery-error-code",
        "ERR_403_DEVELOPER_INACTIVE".parse().unwrap(),
    );
    headers.insert("x-error-detail-header", "Account Inactive".parse().unwrap());
    let denied = Error::Denied(
        bearer_protocol::wire::gateway::GatewayDenial::from_parts(StatusCode::FORBIDDEN, &headers)
            .unwrap(),
    );
    let refused = Error::TokenRequestRefused(
        bearer_protocol::wire::token::TokenEndpointError::UnsupportedTokenType("mac".into()),
    );
    insta::assert_snapshot!(
        [
            quota,
            rejected,
            unavailable,
            timed_out,
            denied,
            refused,
            untrusted
        ]
        .iter()
        .chain(&throttled)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
    );
}

#[test]
fn a_background_renewer_renews_only_tokens_in_use() {
    let (mut machine, mut provider, now) = with_a_token();
    // The token was used by a call: its renewal is due shortly before it expires.
    let due = machine
        .poll_timeout()
        .expect("a renewal of the token in use");
    let request = expect_fetch(machine.poll_renewal(due));
    provider.answer(&mut machine, due, request);
    assert_eq!(provider.token_requests(), 2);
    // Handing the renewed token to the renewer is not a use of it: nobody has used it, so
    // there is nothing more to renew, however long the client idles (the renewer asks only
    // when `poll_timeout` names a time).
    expect_bearer(machine.poll_renewal(due));
    assert_eq!(machine.poll_timeout(), None);
    assert_eq!(machine.budget(due + secs(3600)).token_requests, 2);
    // A call uses a token (fetching one: the last has expired), and renewals resume.
    let later = now + secs(48 * 3600);
    assert_eq!(call(&mut machine, &mut provider, later), Ok(StatusCode::OK));
    assert_eq!(provider.token_requests(), 3);
    assert!(machine.poll_timeout().is_some());
}

#[test]
fn a_token_the_api_refused_is_due_for_renewal_at_once() {
    let (mut machine, mut provider, now) = with_a_token();
    let bearer = expect_bearer(machine.poll_call(now));
    let renew_at = machine
        .poll_timeout()
        .expect("a renewal of the token in use");
    assert!(renew_at > now + secs(3000));
    let later = now + secs(60);
    let refused = http::Response::builder()
        .status(401)
        .header("www-authenticate", r#"Bearer error="invalid_token""#)
        .body(Vec::<u8>::new())
        .unwrap();
    let verdict = machine.handle_api_response(later, &bearer, refused.status(), refused.headers());
    assert_eq!(verdict, bearer_protocol::ApiVerdict::Replay);
    // A background renewer wakes now, not at the old renewal time.
    assert_eq!(machine.poll_timeout(), Some(later));
    let request = expect_fetch(machine.poll_renewal(later));
    provider.answer(&mut machine, later, request);
    assert_eq!(provider.token_requests(), 2);
    assert!(
        machine.poll_timeout().is_none(),
        "the new token is not in use yet"
    );
}
