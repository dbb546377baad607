//! The daily quota and the QPS limit, token requests included, and the quota headers.

mod common;

use bearer_sandbox::{PlanLimits, SandboxConfig};
use common::*;
use insta::assert_snapshot;
use std::time::Duration;

fn plan(calls_per_day: u64, queries_per_second: u32) -> SandboxConfig {
    SandboxConfig::default().plan(PlanLimits {
        calls_per_day,
        queries_per_second,
    })
}

#[test]
fn token_requests_and_api_calls_share_the_daily_quota_until_00_00_utc() {
    let sandbox = sandbox_with(plan(10, 0));
    let first = client_credentials(&sandbox);
    let token = first.access_token();
    for _ in 0..8 {
        assert_eq!(search(&sandbox, &token, "cyber").status, 200);
    }
    // The 10th call of the day is a refresh: still fine.
    let second = refresh(&sandbox, &first.refresh_token());
    assert_eq!(second.status, 200);
    let over = search(&sandbox, &second.access_token(), "cyber");
    assert_snapshot!("over_rate_api", over.snapshot());
    // The token endpoint too: no fresh token while over.
    let over = refresh(&sandbox, &second.refresh_token());
    assert_snapshot!("over_rate_token", over.snapshot());
    // Denied calls are not counted; the refresh token is still good after the reset.
    let counters = sandbox.counters();
    assert_eq!(counters.applications[CLIENT_ID].quota_current, 10);
    assert_eq!(counters.applications[CLIENT_ID].denied_over_rate, 2);
    // 10:00 -> 23:59:59 is still the same quota day.
    sandbox.advance(Duration::from_secs(14 * 3600 - 1));
    assert_eq!(client_credentials(&sandbox).status, 403);
    sandbox.advance(Duration::from_secs(1));
    let renewed = refresh(&sandbox, &second.refresh_token());
    assert_eq!(renewed.status, 200);
    assert_eq!(
        search(&sandbox, &renewed.access_token(), "cyber").status,
        200
    );
    assert_eq!(sandbox.counters().applications[CLIENT_ID].quota_current, 2);
}

#[test]
fn qps_is_per_second_of_the_sandbox_clock() {
    let sandbox = sandbox_with(plan(1000, 3));
    let token = client_credentials(&sandbox).access_token();
    assert_eq!(search(&sandbox, &token, "cyber").status, 200);
    assert_eq!(search(&sandbox, &token, "cyber").status, 200);
    let over = search(&sandbox, &token, "cyber");
    assert_snapshot!("over_qps_api", over.snapshot());
    let over = client_credentials(&sandbox);
    assert_eq!(over.status, 403);
    assert_eq!(
        over.header("x-mashery-error-code"),
        Some("ERR_403_DEVELOPER_OVER_QPS")
    );
    assert_eq!(over.header("retry-after"), Some("1"));
    sandbox.advance(Duration::from_secs(1));
    assert_eq!(search(&sandbox, &token, "cyber").status, 200);
    let counters = sandbox.counters();
    assert_eq!(counters.applications[CLIENT_ID].denied_over_qps, 2);
    assert_eq!(counters.applications[CLIENT_ID].quota_current, 4);
}

#[test]
fn quota_headers_when_switched_on() {
    let sandbox = sandbox_with(plan(5000, 10).quota_headers(true));
    let issued = client_credentials(&sandbox);
    assert_snapshot!("quota_headers_token", issued.snapshot());
    let answer = search(&sandbox, &issued.access_token(), "cyber");
    assert_eq!(answer.header("x-plan-quota-current"), Some("2"));
    assert_eq!(answer.header("x-plan-qps-current"), Some("2"));
    assert_eq!(
        answer.header("x-plan-quota-reset"),
        Some("Friday, June 7, 2024 12:00:00 AM GMT")
    );
    // Errors attributed to the application carry them too.
    let stale = refresh(&sandbox, "6mh3cgqvc6d992fd45zc88ue");
    assert_eq!(stale.status, 400);
    assert_eq!(stale.header("x-plan-quota-current"), Some("3"));
    // Answers not attributed to an application do not.
    let unknown = search(&sandbox, "66mrpvtv4mvs6bz728nbaqmc", "cyber");
    assert_eq!(unknown.header("x-plan-quota-current"), None);
    // Off again.
    sandbox.set_quota_headers(false);
    let answer = search(&sandbox, &issued.access_token(), "cyber");
    assert_eq!(answer.header("x-plan-quota-allotted"), None);
}

#[test]
fn quota_headers_on_an_over_rate_answer() {
    let sandbox = sandbox_with(plan(1, 10).quota_headers(true));
    let issued = client_credentials(&sandbox);
    let over = search(&sandbox, &issued.access_token(), "cyber");
    assert_snapshot!("over_rate_with_quota_headers", over.snapshot());
}

#[test]
fn the_plan_is_shown_with_the_keys_and_can_change() {
    let sandbox = sandbox_with(plan(3, 0));
    sandbox.set_plan(PlanLimits {
        calls_per_day: 4,
        queries_per_second: 0,
    });
    let token = client_credentials(&sandbox).access_token();
    for _ in 0..3 {
        assert_eq!(search(&sandbox, &token, "cyber").status, 200);
    }
    assert_eq!(search(&sandbox, &token, "cyber").status, 403);
}
