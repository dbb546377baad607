//! Properties of the token state machine over random sequences of inputs and clock moves.

mod common;

use bearer_protocol::{
    Config, Event, GOVERNOR_BURST, GOVERNOR_INTERVAL, Grant, MAX_QPS, MIN_LIFETIME, Plan, Step,
    TokenManager, TransportFailure, TransportFailureKind,
};
use common::*;
use http::{Response, StatusCode};
use proptest::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
enum Answer {
    Issue {
        with_refresh: bool,
        expires_in: u16,
    },
    /// A token whose `expires_in` is this raw JSON: zero in every spelling, a duplicate key.
    OddLifetime(&'static str),
    InvalidGrant,
    InvalidClient,
    Fault(Fault),
    TransportFailure,
    Abandon,
}

#[derive(Debug, Clone)]
enum Op {
    PollCall,
    PollToken,
    Forward(u32),
    Back(u16),
    /// Answer the outstanding request chosen by index (oldest first), possibly a stale one.
    Answer(usize, Answer),
    ApiAnswer(u16),
    /// An API answer carrying quota, QPS and `Retry-After` headers at extreme values.
    ApiHeaders(usize),
}

/// Headers a gateway (or anything echoing input) might send, at the edges of their ranges.
const EXTREME_HEADERS: &[(&str, &str)] = &[
    ("x-plan-qps-allotted", "4294967295"),
    ("x-plan-qps-allotted", "18446744073709551615"),
    ("x-plan-qps-allotted", "0"),
    ("x-plan-quota-allotted", "18446744073709551615"),
    ("x-plan-quota-allotted", "0"),
    ("x-plan-quota-current", "18446744073709551615"),
    ("x-plan-quota-reset", "Fri, 31 Dec 9999 23:59:59 GMT"),
    ("x-plan-quota-reset", "Thu, 01 Jan 1970 00:00:00 GMT"),
    ("retry-after", "18446744073709551615"),
];

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => (any::<bool>(), 0u16..7200).prop_map(|(with_refresh, expires_in)| Answer::Issue { with_refresh, expires_in }),
        2 => prop_oneof![
            Just("0"), Just(r#""0""#), Just("0.5"), Just(r#"3600,"expires_in":0"#), Just("1"),
        ].prop_map(Answer::OddLifetime),
        1 => Just(Answer::InvalidGrant),
        1 => Just(Answer::InvalidClient),
        1 => prop_oneof![
            Just(Fault::ServerError),
            Just(Fault::HtmlBadGateway),
            Just(Fault::OverQps),
            Just(Fault::OverRate),
            Just(Fault::Truncated),
        ].prop_map(Answer::Fault),
        1 => Just(Answer::TransportFailure),
        1 => Just(Answer::Abandon),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::PollCall),
        1 => Just(Op::PollToken),
        3 => (0u32..8000).prop_map(Op::Forward),
        1 => (0u16..4000).prop_map(Op::Back),
        5 => (0usize..3, answer()).prop_map(|(i, a)| Op::Answer(i, a)),
        2 => prop_oneof![Just(200u16), Just(401), Just(403), Just(500)].prop_map(Op::ApiAnswer),
        2 => (0..EXTREME_HEADERS.len()).prop_map(Op::ApiHeaders),
    ]
}

/// A server gone wrong, asked again and again with little time passing: tokens that expire at
/// once, refused refresh tokens, an API refusing every token, failures, extreme headers.
fn hostile_op() -> impl Strategy<Value = Op> {
    let answer = prop_oneof![
        3 => prop_oneof![Just("0"), Just(r#""0""#), Just("0.5"), Just(r#"3600,"expires_in":0"#)]
            .prop_map(Answer::OddLifetime),
        2 => Just(Answer::InvalidGrant),
        1 => Just(Answer::Fault(Fault::ServerError)),
        1 => Just(Answer::TransportFailure),
        1 => Just(Answer::Abandon),
        1 => (any::<bool>(), 0u16..3).prop_map(|(with_refresh, expires_in)| Answer::Issue { with_refresh, expires_in }),
    ];
    prop_oneof![
        6 => Just(Op::PollCall),
        2 => Just(Op::PollToken),
        2 => (0u32..40).prop_map(Op::Forward),
        6 => (0usize..2, answer).prop_map(|(i, a)| Op::Answer(i, a)),
        3 => Just(Op::ApiAnswer(401)),
        1 => (0..EXTREME_HEADERS.len()).prop_map(Op::ApiHeaders),
    ]
}

struct Outstanding {
    /// `None` once answered: a request's outcome is fed back once.
    pending: Option<bearer_protocol::PendingToken>,
    sent_at: SystemTime,
    closed: bool,
}

fn issue(n: u32, with_refresh: bool, expires_in: &str) -> Response<Vec<u8>> {
    let refresh = if with_refresh {
        format!(r#","refresh_token":"rt{n:022}""#)
    } else {
        String::new()
    };
    json(
        StatusCode::OK,
        &format!(
            r#"{{"access_token":"at{n:022}","token_type":"Bearer","expires_in":{expires_in}{refresh}}}"#
        ),
    )
}

fn run(ops: Vec<Op>, plan: Option<u64>) -> Result<(), TestCaseError> {
    let timeout = Duration::from_secs(30);
    let config = Config::builder(TOKEN_URL, CLIENT_ID, CLIENT_SECRET)
        .plan(Plan {
            calls_per_day: plan,
            queries_per_second: Some(5),
            ..Plan::default()
        })
        .build()
        .unwrap();
    let mut machine = TokenManager::new(config);
    let mut now = start();
    let mut outstanding: Vec<Outstanding> = Vec::new();
    let mut latest_refresh: Option<String> = None;
    let mut issued = 0u32;
    let mut last_bearer = None;
    // Every token request sent, with the time the clock had moved forward in all by then.
    let mut sends: Vec<Duration> = Vec::new();
    let mut forward = Duration::ZERO;

    for op in ops {
        match op {
            Op::PollCall | Op::PollToken => {
                let counted = matches!(op, Op::PollCall);
                // A request unanswered for the time-out (either way the clock moved) is abandoned.
                for other in outstanding.iter_mut() {
                    let timed_out = now >= other.sent_at + timeout
                        || other
                            .sent_at
                            .duration_since(now)
                            .is_ok_and(|d| d >= timeout);
                    other.closed |= timed_out;
                }
                let step = if counted {
                    machine.poll_call(now)
                } else {
                    machine.poll_token(now)
                };
                match step {
                    Step::Fetch(request) => {
                        // Never two token requests in flight.
                        prop_assert!(
                            outstanding.iter().all(|o| o.closed),
                            "two token requests in flight"
                        );
                        // A refresh request carries the newest refresh token adopted.
                        let form: HashMap<String, String> =
                            serde_urlencoded::from_bytes(request.request().body()).unwrap();
                        if request.grant() == Grant::RefreshToken {
                            prop_assert_eq!(form.get("refresh_token"), latest_refresh.as_ref());
                        }
                        outstanding.push(Outstanding {
                            pending: Some(request.into_parts().0),
                            sent_at: now,
                            closed: false,
                        });
                        // A call is left for the call the token is for.
                        let budget = machine.budget(now);
                        if let Some(limit) = budget.calls_allowed {
                            prop_assert!(budget.calls_used < limit, "{:?}", budget);
                        }
                        // The governor: over any span of forward time, at most a burst plus
                        // one request per interval, whatever the answers.
                        sends.push(forward);
                        for (k, earlier) in sends.iter().enumerate() {
                            let span = forward - *earlier;
                            let allowed = u64::from(GOVERNOR_BURST)
                                + span.as_secs() / GOVERNOR_INTERVAL.as_secs();
                            let sent = (sends.len() - k) as u64;
                            prop_assert!(
                                sent <= allowed,
                                "{} token requests within {:?}",
                                sent,
                                span
                            );
                        }
                    }
                    Step::Authorized(bearer) => {
                        // Tokens are handed out until they expire, or for the floor of a
                        // token that expires at once.
                        prop_assert!(
                            now < bearer.expires_at() + MIN_LIFETIME,
                            "expired token handed out"
                        );
                        if counted {
                            let budget = machine.budget(now);
                            if let Some(limit) = budget.calls_allowed {
                                let used = budget.calls_used;
                                prop_assert!(used <= limit, "budget passed: {} > {}", used, limit);
                            }
                        }
                        last_bearer = Some(bearer);
                    }
                    Step::Wait(wait) => {
                        prop_assert!(wait.until >= now);
                        prop_assert!(wait.until <= now + Duration::from_secs(120), "{:?}", wait);
                    }
                    Step::Fail(error) => {
                        let _ = error.to_string();
                    }
                }
            }
            Op::Forward(secs) => {
                now += Duration::from_secs(secs.into());
                forward += Duration::from_secs(secs.into());
            }
            Op::Back(secs) => now -= Duration::from_secs(secs.into()),
            Op::Answer(index, answer) => {
                let Some(target) = outstanding.iter_mut().rev().nth(index) else {
                    continue;
                };
                target.closed = true;
                let Some(id) = target.pending.take() else {
                    continue;
                };
                let response = match answer {
                    Answer::Issue {
                        with_refresh,
                        expires_in,
                    } => {
                        issued += 1;
                        issue(issued, with_refresh, &expires_in.to_string())
                    }
                    Answer::OddLifetime(expires_in) => {
                        issued += 1;
                        issue(issued, true, expires_in)
                    }
                    Answer::InvalidGrant => json(
                        StatusCode::BAD_REQUEST,
                        r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#,
                    ),
                    Answer::InvalidClient => {
                        json(StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#)
                    }
                    Answer::Fault(fault) => fault_answer(fault),
                    Answer::TransportFailure => {
                        machine.handle_token_failure(
                            now,
                            id,
                            TransportFailure::new(TransportFailureKind::TimedOut, "t"),
                        );
                        continue;
                    }
                    Answer::Abandon => {
                        machine.handle_token_abandoned(now, id);
                        continue;
                    }
                };
                machine.handle_token_response(now, id, &response);
            }
            Op::ApiAnswer(status) => {
                let Some(bearer) = &last_bearer else { continue };
                let response = match status {
                    401 => Response::builder()
                        .status(401)
                        .header("www-authenticate", r#"Bearer error="invalid_token""#)
                        .body(Vec::new())
                        .unwrap(),
                    403 => fault_answer(Fault::OverRate),
                    other => json(StatusCode::from_u16(other).unwrap(), "{}"),
                };
                let _ =
                    machine.handle_api_response(now, bearer, response.status(), response.headers());
            }
            Op::ApiHeaders(index) => {
                let Some(bearer) = &last_bearer else { continue };
                let (name, value) = EXTREME_HEADERS[index];
                let response = Response::builder()
                    .status(200)
                    .header(name, value)
                    .body(Vec::<u8>::new())
                    .unwrap();
                let _ =
                    machine.handle_api_response(now, bearer, response.status(), response.headers());
                let qps = machine.budget(now).queries_per_second;
                prop_assert!(qps.is_none_or(|qps| qps <= MAX_QPS), "{:?}", qps);
            }
        }
        while let Some(event) = machine.poll_event() {
            if let Event::TokensChanged { tokens, .. } = event {
                latest_refresh = tokens.refresh_token.map(|t| t.expose().to_owned());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_without_a_plan(ops in prop::collection::vec(op(), 1..120)) {
        run(ops, None)?;
    }

    #[test]
    fn the_governor_bounds_token_requests_whatever_the_answers(ops in prop::collection::vec(hostile_op(), 1..400)) {
        run(ops, None)?;
    }

    #[test]
    fn invariants_hold_with_a_small_plan(ops in prop::collection::vec(op(), 1..120), plan in 1u64..40) {
        run(ops, Some(plan))?;
    }
}

/// The shortcut a client takes for the common answer (no lock): whenever
/// `answer_changes_nothing` says so, `handle_api_response` delivers it and changes nothing the
/// machine shows (budget, timers, the next step).
mod answer_shortcut {
    use super::*;
    use http::HeaderMap;

    const HEADERS: [(&str, &str); 7] = [
        ("content-type", "application/json"),
        ("x-plan-quota-current", "17"),
        ("x-plan-qps-allotted", "2"),
        ("x-mashery-error-code", "ERR_403_DEVELOPER_OVER_QPS"),
        ("x-mashery-error-code", "ERR_401_INVALID_OR_EXPIRED_TOKEN"),
        ("www-authenticate", "Bearer error=\"invalid_token\""),
        ("retry-after", "3"),
    ];

    proptest! {
        #[test]
        fn a_skipped_answer_is_one_the_machine_would_deliver_unchanged(
            status in prop::sample::select(vec![200u16, 201, 204, 302, 400, 401, 403, 404, 429, 500, 503]),
            which in prop::collection::vec(0..HEADERS.len(), 0..4),
        ) {
            let mut headers = HeaderMap::new();
            for i in which {
                let (name, value) = HEADERS[i];
                headers.append(
                    http::HeaderName::from_static(name),
                    http::HeaderValue::from_static(value),
                );
            }
            let status = StatusCode::from_u16(status).unwrap();
            prop_assume!(TokenManager::answer_changes_nothing(status, &headers));
            let mut machine = machine_with_token(Plan::default());
            let now = start() + Duration::from_secs(1);
            let Step::Authorized(bearer) = machine.poll_call(now) else {
                panic!("a valid token");
            };
            while machine.poll_event().is_some() {}
            let before = (machine.budget(now), machine.poll_timeout());
            let verdict = machine.handle_api_response(now, &bearer, status, &headers);
            prop_assert!(matches!(verdict, bearer_protocol::ApiVerdict::Deliver), "{verdict:?}");
            prop_assert!(machine.poll_event().is_none());
            prop_assert_eq!(before, (machine.budget(now), machine.poll_timeout()));
        }
    }
}
