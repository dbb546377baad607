//! The fleet coordinator driven by a structured random sequence of inputs: store answers of
//! any shape (records parsed from raw bytes as a store would read them, well-formed records of
//! any generation and expiry, foreign tokens, leases won or held, writes refused, the store
//! unreachable, answers that do not fit the step), token outcomes, renewals asked, flushes,
//! and the clock moving forward and backward. Checks on every step:
//!
//! - no panic, and every poll answers at once (no step loops);
//! - one token request at a time: no second `Send` before the first is answered or its
//!   `abandon_at` has passed;
//! - a `Write` always carries the generation after the one it expects;
//! - a `Send` of the refresh grant carries a refresh token, and it is one a record held;
//! - the event queue stays bounded.
#![no_main]

use arbitrary::Arbitrary;
use bearer_protocol::fleet::{
    Coordinator, FleetConfig, LeaseOutcome, QuotaDay, Record, Step, StoreAnswer, TokenOutcome,
};
use bearer_protocol::{AccessToken, Credential, Grant, RefreshToken, StoredTokens};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Arbitrary)]
struct Scenario {
    renew_when_asked: bool,
    lease_ms: u16,
    ops: Vec<Op>,
}

#[derive(Debug, Arbitrary)]
enum Op {
    Poll,
    Advance(u16),
    Back(u8),
    Renew(bool),
    Flush,
    Calls(u8),
    Store(Answer),
    Token(Outcome),
}

#[derive(Debug, Arbitrary)]
enum Answer {
    Raw(Vec<u8>),
    Record(Option<Rec>),
    Lease(Option<Rec>, bool, u16),
    Written,
    Conflict(Option<Rec>),
    Released,
    Woken,
    Unreachable,
}

#[derive(Debug, Arbitrary)]
struct Rec {
    generation: u8,
    token: u8,
    refresh: Option<u8>,
    expires_in: i16,
    foreign: bool,
}

#[derive(Debug, Arbitrary)]
enum Outcome {
    Tokens(u8, Option<u8>, u16),
    InvalidGrant,
    Failed,
    Abandoned,
}

fn credential(foreign: bool) -> Credential {
    Credential {
        token_url: "https://api.example.com/oauth2/token".into(),
        client_id: if foreign {
            "another"
        } else {
            "ysszm2yk7gp5r9ernuaurgcc"
        }
        .into(),
    }
}

fn record(now: SystemTime, rec: &Rec, seen: &mut HashSet<String>) -> Record {
    let refresh = rec.refresh.map(|r| format!("refresh{r}"));
    if let Some(r) = &refresh {
        seen.insert(r.clone());
    }
    let expires_at = if rec.expires_in >= 0 {
        now + Duration::from_secs(rec.expires_in as u64)
    } else {
        now.checked_sub(Duration::from_secs(u64::from(
            rec.expires_in.unsigned_abs(),
        )))
        .unwrap_or(UNIX_EPOCH)
    };
    Record {
        tokens: Some(StoredTokens {
            access_token: AccessToken::new(format!("access{}", rec.token)),
            refresh_token: refresh.map(RefreshToken::new),
            expires_at,
            scope: None,
            issued_to: credential(rec.foreign),
        }),
        generation: u64::from(rec.generation),
        day: QuotaDay::starting(now),
    }
}

fuzz_target!(|scenario: Scenario| {
    let config = FleetConfig {
        lease_ttl: Duration::from_millis(u64::from(scenario.lease_ms) + 1),
        renew_when_asked: scenario.renew_when_asked,
        ..FleetConfig::default()
    };
    let mut fleet = Coordinator::new(credential(false), config, 7);
    let mut now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut seen = HashSet::new();
    // The outstanding token request's `abandon_at`.
    let mut sending: Option<SystemTime> = None;
    for op in scenario.ops.iter().take(256) {
        match op {
            Op::Poll => match fleet.poll(now) {
                Step::Send {
                    grant,
                    refresh_token,
                    abandon_at,
                    ..
                } => {
                    assert!(
                        sending.is_none_or(|until| now >= until),
                        "a second token request while one is outstanding"
                    );
                    if grant == Grant::RefreshToken {
                        let token = refresh_token.expect("a refresh request carries its token");
                        assert!(
                            seen.contains(token.expose()),
                            "a refresh token no record held"
                        );
                    }
                    sending = Some(abandon_at);
                }
                Step::Write {
                    expected, record, ..
                } => assert_eq!(record.generation, expected.saturating_add(1)),
                _ => {}
            },
            Op::Advance(secs) => now += Duration::from_secs(u64::from(*secs)),
            Op::Back(secs) => now -= Duration::from_secs(u64::from(*secs)),
            Op::Renew(replacing) => {
                let current = fleet.tokens().map(|t| t.access_token.clone());
                fleet.renew(current.as_ref().filter(|_| *replacing));
            }
            Op::Flush => fleet.flush(),
            Op::Calls(n) => fleet.count_calls(u64::from(*n)),
            Op::Store(answer) => {
                let answer = match answer {
                    Answer::Raw(bytes) => match serde_json::from_slice::<Record>(bytes) {
                        Ok(record) => {
                            if let Some(r) = record
                                .tokens
                                .as_ref()
                                .and_then(|t| t.refresh_token.as_ref())
                            {
                                seen.insert(r.expose().to_owned());
                            }
                            StoreAnswer::Record(Some(record))
                        }
                        Err(_) => StoreAnswer::Unreachable,
                    },
                    Answer::Record(rec) => {
                        StoreAnswer::Record(rec.as_ref().map(|r| record(now, r, &mut seen)))
                    }
                    Answer::Lease(rec, won, remaining) => StoreAnswer::Lease {
                        record: rec.as_ref().map(|r| record(now, r, &mut seen)),
                        outcome: if *won {
                            LeaseOutcome::Won
                        } else {
                            LeaseOutcome::Held {
                                remaining: Duration::from_millis(u64::from(*remaining)),
                            }
                        },
                    },
                    Answer::Written => StoreAnswer::Written,
                    Answer::Conflict(rec) => {
                        StoreAnswer::Conflict(rec.as_ref().map(|r| record(now, r, &mut seen)))
                    }
                    Answer::Released => StoreAnswer::Released,
                    Answer::Woken => StoreAnswer::Woken,
                    Answer::Unreachable => StoreAnswer::Unreachable,
                };
                fleet.handle_store(now, answer);
            }
            Op::Token(outcome) => {
                let outcome = match outcome {
                    Outcome::Tokens(token, refresh, secs) => {
                        let refresh = refresh.map(|r| format!("refresh{r}"));
                        if let Some(r) = &refresh {
                            seen.insert(r.clone());
                        }
                        TokenOutcome::Tokens(StoredTokens {
                            access_token: AccessToken::new(format!("access{token}")),
                            refresh_token: refresh.map(RefreshToken::new),
                            expires_at: now + Duration::from_secs(u64::from(*secs)),
                            scope: None,
                            issued_to: credential(false),
                        })
                    }
                    Outcome::InvalidGrant => TokenOutcome::InvalidGrant,
                    Outcome::Failed => TokenOutcome::Failed,
                    Outcome::Abandoned => TokenOutcome::Abandoned,
                };
                fleet.handle_token(now, outcome);
                sending = None;
            }
        }
        let mut events = 0;
        while fleet.poll_event().is_some() {
            events += 1;
        }
        assert!(events <= 32, "the event queue is bounded");
    }
});
