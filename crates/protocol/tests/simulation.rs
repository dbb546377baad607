//! A deterministic week of steady traffic against the pure fake provider, on a virtual clock,
//! with seeded faults at the token endpoint.

mod common;

use bearer_protocol::{
    ApiVerdict, Error, Step, TokenManager, TransportFailure, TransportFailureKind,
};
use common::*;
use std::time::Duration;

#[test]
fn a_week_of_steady_traffic_costs_the_minimum_of_token_requests() {
    let mut machine = TokenManager::new(config());
    let mut provider = FakeProvider::new(3600);
    let mut rng = fastrand::Rng::with_seed(42);
    let mut now = start();
    let end = start() + Duration::from_secs(7 * 86_400);
    let mut per_day = [0u32; 7];
    let mut faults_per_day = [0u32; 7];
    let mut calls = 0u32;
    let mut failed = 0u32;

    while now < end {
        let day = (now.duration_since(start()).unwrap().as_secs() / 86_400) as usize;
        match machine.poll_call(now) {
            Step::Authorized(bearer) => {
                let answer = provider.api(now, bearer.header_value());
                let verdict =
                    machine.handle_api_response(now, &bearer, answer.status(), answer.headers());
                assert_eq!(verdict, ApiVerdict::Deliver, "call refused at {now:?}");
                assert_eq!(answer.status(), 200);
                calls += 1;
                now += Duration::from_secs(30);
            }
            Step::Fetch(request) => {
                per_day[day] += 1;
                match rng.u8(0..100) {
                    // The connection fails before the provider sees the request.
                    0..=1 => {
                        faults_per_day[day] += 1;
                        machine.handle_token_failure(
                            now,
                            request.id,
                            TransportFailure::new(TransportFailureKind::Connect, "refused"),
                        );
                    }
                    // The provider answers with a fault.
                    2..=3 => {
                        faults_per_day[day] += 1;
                        provider.faults.push(Fault::HtmlBadGateway);
                        let answer = provider.token(now, &request.request);
                        machine.handle_token_response(now, request.id, &answer);
                    }
                    _ => {
                        let answer = provider.token(now, &request.request);
                        machine.handle_token_response(now, request.id, &answer);
                    }
                }
                while machine.poll_event().is_some() {}
            }
            Step::Wait(wait) => now = wait.until,
            // Four failures in a row: the call fails with a clear error, and the next one retries.
            Step::Fail(error) => {
                assert!(matches!(error, Error::Unavailable { .. }), "{error}");
                failed += 1;
                now += Duration::from_secs(30);
            }
        }
    }

    assert_eq!(calls + failed, 7 * 2880);
    assert!(failed <= 2, "{failed} calls failed");
    assert_eq!(
        provider.refused_refresh_tokens, 0,
        "a refresh token went stale"
    );
    assert_eq!(provider.api_refused, 0);
    for day in 0..7 {
        // Tokens last 3600 s and are renewed 60 s early: 86400 / 3540 = 24.4 renewals a day.
        let clean = per_day[day] - faults_per_day[day];
        assert!(
            (24..=25).contains(&clean),
            "day {day}: {per_day:?} {faults_per_day:?}"
        );
    }
    assert_eq!(provider.client_credentials_grants, 1);
}
