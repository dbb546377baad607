//! The hot path allocates nothing: once a valid token is held, handing out the bearer header
//! (`poll_call`, `poll_token`) and reading a plain 200 answer (`handle_api_response`) never touch
//! the heap.
//!
//! A counting global allocator counts every allocation of the process. This binary has no test
//! harness (`harness = false`), so it runs on one thread and the count is exact: a count is
//! deterministic where a time is not.

mod common;

use bearer_protocol::{ApiVerdict, Plan, Step, TokenManager};
use common::{machine_with_token, start};
use http::{HeaderMap, StatusCode};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, SystemTime};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Calls measured per case, after warm-up.
const N: u32 = 10_000;

fn main() {
    counter_is_installed();
    poll_call_with_a_known_plan_allocates_nothing();
    poll_call_with_an_unknown_plan_allocates_nothing();
    poll_token_allocates_nothing();
    println!("allocations: 4 passed, 0 failed");
}

/// One counted call and its plain 200 answer, as a transport runs them.
fn call(machine: &mut TokenManager, now: SystemTime, headers: &HeaderMap) {
    match machine.poll_call(now) {
        Step::Authorized(bearer) => {
            black_box(bearer.header_value());
            let verdict = machine.handle_api_response(now, &bearer, StatusCode::OK, headers);
            assert_eq!(verdict, ApiVerdict::Deliver);
        }
        other => panic!("expected Authorized at {now:?}, got {other:?}"),
    }
}

fn counter_is_installed() {
    let region = Region::new(GLOBAL);
    black_box(Box::new(7_u64));
    assert_eq!(
        region.change().allocations,
        1,
        "the counting allocator is not installed: a zero below would prove nothing"
    );
}

/// The provider's plan: 5000 calls a day, 10 per second (budget and pacing both at work).
fn poll_call_with_a_known_plan_allocates_nothing() {
    let plan = Plan {
        calls_per_day: Some(5_000),
        queries_per_second: Some(10),
        ..Plan::default()
    };
    let mut machine = machine_with_token(plan);
    let headers = HeaderMap::new();
    let step = Duration::from_millis(150);
    let mut now = start();
    for _ in 0..100 {
        now += step;
        call(&mut machine, now, &headers);
    }
    // 100 warm-up calls and N more, 150 ms apart: under the QPS limit, within the hour the token
    // lasts (its renewal falls due at 59 min) and within the day's 5000 calls.
    let n = 2_000.min(N);
    let region = Region::new(GLOBAL);
    for _ in 0..n {
        now += step;
        call(&mut machine, now, &headers);
    }
    let change = region.change();
    assert_eq!(change.allocations, 0, "{n} calls allocated: {change:?}");
    assert_eq!(change.reallocations, 0, "{n} calls reallocated: {change:?}");
    println!("poll_call + handle_api_response, plan 5000/day 10 qps: {n} calls, {change:?}");
}

/// No quota or QPS known: N calls at the same instant.
fn poll_call_with_an_unknown_plan_allocates_nothing() {
    let mut machine = machine_with_token(Plan::default());
    let headers = HeaderMap::new();
    let now = start() + Duration::from_secs(1);
    for _ in 0..100 {
        call(&mut machine, now, &headers);
    }
    let region = Region::new(GLOBAL);
    for _ in 0..N {
        call(&mut machine, now, &headers);
    }
    let change = region.change();
    assert_eq!(change.allocations, 0, "{N} calls allocated: {change:?}");
    assert_eq!(change.reallocations, 0, "{N} calls reallocated: {change:?}");
    println!("poll_call + handle_api_response, unknown plan: {N} calls, {change:?}");
}

fn poll_token_allocates_nothing() {
    let mut machine = machine_with_token(Plan::default());
    let now = start() + Duration::from_secs(1);
    for _ in 0..100 {
        drop(black_box(machine.poll_token(now)));
    }
    let region = Region::new(GLOBAL);
    for _ in 0..N {
        match machine.poll_token(now) {
            Step::Authorized(bearer) => {
                black_box(bearer.header_value());
            }
            other => panic!("expected Authorized, got {other:?}"),
        }
    }
    let change = region.change();
    assert_eq!(change.allocations, 0, "{N} polls allocated: {change:?}");
    println!("poll_token: {N} polls, {change:?}");
}
