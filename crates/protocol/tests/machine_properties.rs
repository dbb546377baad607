//! Properties of the token state machine over random sequences of inputs and clock moves.

mod common;

use bearer_protocol::{
    Config, Event, Grant, Plan, Step, TokenManager, TransportFailure, TransportFailureKind,
};
use common::*;
use http::{Response, StatusCode};
use proptest::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
enum Answer {
    Issue { with_refresh: bool, expires_in: u16 },
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
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => (any::<bool>(), 0u16..7200).prop_map(|(with_refresh, expires_in)| Answer::Issue { with_refresh, expires_in }),
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
    ]
}

struct Outstanding {
    id: bearer_protocol::RequestId,
    sent_at: SystemTime,
    closed: bool,
}

fn issue(n: u32, with_refresh: bool, expires_in: u16) -> Response<Vec<u8>> {
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
                            serde_urlencoded::from_bytes(request.request.body()).unwrap();
                        if request.grant == Grant::RefreshToken {
                            prop_assert_eq!(form.get("refresh_token"), latest_refresh.as_ref());
                        }
                        outstanding.push(Outstanding {
                            id: request.id,
                            sent_at: now,
                            closed: false,
                        });
                        if let Some(limit) = plan {
                            prop_assert!(machine.budget(now).calls_used <= limit);
                        }
                    }
                    Step::Authorized(bearer) => {
                        prop_assert!(now < bearer.expires_at(), "expired token handed out");
                        if counted {
                            if let Some(limit) = plan {
                                let used = machine.budget(now).calls_used;
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
            Op::Forward(secs) => now += Duration::from_secs(secs.into()),
            Op::Back(secs) => now -= Duration::from_secs(secs.into()),
            Op::Answer(index, answer) => {
                let Some(target) = outstanding.iter_mut().rev().nth(index) else {
                    continue;
                };
                target.closed = true;
                let id = target.id;
                let response = match answer {
                    Answer::Issue {
                        with_refresh,
                        expires_in,
                    } => {
                        issued += 1;
                        issue(issued, with_refresh, expires_in)
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
        }
        while let Some(event) = machine.poll_event() {
            if let Event::TokensChanged(tokens) = event {
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
    fn invariants_hold_with_a_small_plan(ops in prop::collection::vec(op(), 1..120), plan in 1u64..40) {
        run(ops, Some(plan))?;
    }
}
